"""Shared pieces of the guest tests: the loaded counter object, a workload, kernel state."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from functools import cache

from kt.runtime.attach.kprobe import KprobeError, attach_kprobe, kprobe_events_path
from kt.runtime.loader import LoadedObject, load_object
from kt.runtime.spec import parse_object

from .. import objects

FUNC = "do_sys_openat2"       # every open(2)/openat(2) goes through it on 6.1


def load_counter(section: str = objects.SECTION) -> LoadedObject:
    return load_object(parse_object(objects.kprobe_counter_object(os.getpid(), section)))


def counts(obj: LoadedObject) -> list[int]:
    m = obj.maps["counts"]
    return [int.from_bytes(m.lookup(i.to_bytes(4, "little")), "little")
            for i in range(objects.SLOTS)]


def last_ax(obj: LoadedObject) -> int:
    return int.from_bytes(obj.maps["last_ax"].lookup(bytes(4)), "little")


def opens(n: int) -> int:
    """open+close /dev/null ``n`` times; returns the fd the opens returned (the same each
    time: close frees it)."""
    fd = -1
    for _ in range(n):
        fd = os.open("/dev/null", os.O_RDONLY)
        os.close(fd)
    return fd


def kprobe_events() -> str:
    return kprobe_events_path().read_text()


@cache
def instruction_offset(prog_fd: int) -> int:
    """The first offset > 0 into FUNC that the kernel accepts for a kprobe: the kernel decodes
    the function and answers EILSEQ for an offset inside an instruction (or inside the ftrace
    call site), so it finds the instruction boundary for us."""
    for off in range(1, 64):
        try:
            link = attach_kprobe(prog_fd, FUNC, off)
        except KprobeError as e:
            if e.errno in (errno.EILSEQ, errno.EINVAL):
                continue
            raise
        link.close()
        return off
    raise AssertionError(f"no kprobe-able offset in the first 64 bytes of {FUNC}")


def kt(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the `kt` command (as users do) and collect its output."""
    exe = shutil.which("kt")
    cmd = ([exe] if exe else [sys.executable, "-m", "kt.runtime.cli"])
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def bpftrace(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bpftrace", *args], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def same_maps_as_bpftrace(script: str, command: str, *flags: str,
                          normalize=lambda line: line) -> subprocess.CompletedProcess:
    """The script's map lines under bpftrace 0.17 and kt, tracing one -c child, are the same
    (each line passed through ``normalize`` first); returns kt's run."""
    env = {"LC_ALL": "C"}
    theirs = bpftrace(*flags, "-e", script, "-c", command, env=env)
    assert theirs.returncode == 0, theirs.stderr
    ours = kt(*flags, "-e", script, "-c", command, env=env)
    assert ours.returncode == 0, ours.stderr
    pick = lambda text: sorted(normalize(l) for l in text.splitlines() if l.startswith("@"))  # noqa: E731
    assert pick(theirs.stdout) and pick(ours.stdout) == pick(theirs.stdout), \
        f"bpftrace:\n{theirs.stdout}\nkt:\n{ours.stdout}"
    return ours
