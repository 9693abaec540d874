"""The host's exit paths (tests/e2e/test_exit_paths.py) with kprobes, in the guest: the kprobe
PMU, tracefs kprobe_events (KT_KPROBE_TRACEFS=1) and a wildcard kprobe (a kprobe_multi link
where the kernel has CONFIG_FPROBE; Debian's 6.1 has none: one kprobe per function). After
each, none of the run's program, map or link ids is in the kernel and no kprobe_events entry
of it is left; after SIGKILL only its entries are, and the next kt removes them. Kept to six
kt runs: each costs ~20 s under TCG."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kt.runtime.attach.kprobe import kt_kprobe_events

from ...e2e.fifos import Fifos
from ...runtime.kernel_state import bpftool_ids, wait_until
from .helpers import kt as _kt

pytestmark = pytest.mark.kernel

N = 3
SCRIPT = """
BEGIN { @begin = 1; }
kprobe:__x64_sys_getppid /pid == cpid/ { @calls = count(); }
kprobe:__x64_sys_openat* /pid == cpid/ { @opens[probe] = count(); }
kretprobe:__x64_sys_getppid /pid == cpid/ { @rets = count(); }
kprobe:__x64_sys_getsid /pid == cpid/ { exit(); }
END { @end = 1; }
"""
MAPS = ["@begin: 1", f"@calls: {N}", "@end: 1", f"@rets: {N}"]   # and @opens: python's start-up

# N getppid() calls, then "ready"; waits for "go"; then getsid() (the script's exit(); python calls getuid() at startup) or a pause
CHILD = f"""
import os, sys, time
for _ in range({N}):
    os.getppid()
with open(sys.argv[1], "w") as f:
    f.write(f"{{os.getpid()}}\\n")
if sys.argv[3] == "finish":
    open(sys.argv[2]).read()
    os.getsid(0)
time.sleep(600)
"""


def _held_ids(pid: int) -> dict[str, set[int]]:
    held: dict[str, set[int]] = {"prog": set(), "map": set(), "link": set()}
    for entry in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = entry.read_text()
        except OSError:
            continue
        for kind in held:
            m = re.search(rf"^{kind}_id:\s*(\d+)$", text, re.M)
            if m:
                held[kind].add(int(m.group(1)))
    return held


def _mine(pid: int) -> list[str]:
    return [e for e in kt_kprobe_events() if f"/kt_{pid}_" in e]


def _trace(tmp_path: Path, mode: str, end, env: dict | None = None, stdout=subprocess.PIPE):
    """Run kt on the child, call end(proc) once the child made its calls; returns (status,
    stdout, stderr, the ids kt held, its kprobe_events entries while tracing)."""
    fifos = Fifos(tmp_path / "fifos")
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    exe = [sys.executable, "-m", "kt.runtime.cli"]
    proc = subprocess.Popen(exe + ["-e", SCRIPT, "-c", f"{sys.executable} {child} {fifos.ready} {fifos.go} {mode}"],
                            stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    try:
        child_pid = fifos.wait_ready(proc, timeout=600)
        held = _held_ids(proc.pid)
        entries = _mine(proc.pid)
        assert held["prog"] and held["link"], held
        end(proc, fifos)
        if proc.wait(timeout=300) == -signal.SIGKILL:
            os.kill(child_pid, signal.SIGKILL)   # a SIGKILLed kt leaves its child, which holds the pipes
        out, err = proc.communicate(timeout=60)
        return proc.returncode, (out or b"").decode(), err.decode(), held, entries, proc.pid
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _released(held: dict[str, set[int]]) -> None:
    for kind, ids in held.items():
        assert wait_until(lambda: not ids & bpftool_ids(kind), timeout=10), kind


def _maps(text: str) -> list[str]:
    """The map lines; @opens (python's start-up opens, a wildcard's targets) only exists."""
    lines = text.splitlines()
    assert any(line.startswith("@opens[kprobe:__x64_sys_openat]: ") for line in lines), text
    return [line for line in lines if line.startswith("@") and not line.startswith("@opens[")]


def _go(proc, fifos) -> None:
    fifos.release(proc)


@pytest.mark.parametrize("how,env", [
    ("SIGTERM", {}),                              # kprobe PMU
    ("SIGHUP", {"KT_KPROBE_TRACEFS": "1"}),       # kprobe_events entries
    ("exit", {}),
])
def test_the_trace_ends_and_nothing_is_left(tmp_path, how, env):
    end = _go if how == "exit" else (lambda proc, fifos: proc.send_signal(getattr(signal, how)))
    rc, out, err, held, entries, pid = _trace(tmp_path, "finish" if how == "exit" else "pause", end, env)
    assert rc == 0, err
    assert _maps(out) == MAPS
    assert bool(entries) == bool(env), entries   # tracefs: the getp* functions and the kretprobe
    assert _mine(pid) == []
    _released(held)


def test_a_closed_stdout_detaches_and_prints_the_maps_on_stderr(tmp_path):
    read_end, write_end = os.pipe()

    def end(proc, fifos):
        os.close(read_end)
        _go(proc, fifos)
    try:
        rc, _, err, held, entries, pid = _trace(tmp_path, "finish", end, {"KT_KPROBE_TRACEFS": "1"}, write_end)
    finally:
        os.close(write_end)
    assert rc == 1 and "Traceback" not in err, err
    assert err.splitlines()[-1].startswith("kt: error: the output was closed (Broken pipe)")
    assert _maps(err) == MAPS
    assert entries and _mine(pid) == []
    _released(held)


def test_after_sigkill_only_kprobe_events_entries_survive_and_the_next_kt_removes_them(tmp_path):
    rc, _, _, held, entries, pid = _trace(tmp_path, "pause", lambda proc, fifos: proc.kill(), {"KT_KPROBE_TRACEFS": "1"})
    assert rc == -signal.SIGKILL
    _released(held)
    assert entries and _mine(pid) == entries      # the guest runs no other kt
    nxt = _kt("-e", "BEGIN { exit(); }")
    assert nxt.returncode == 0, nxt.stderr
    assert _mine(pid) == []
    assert sum(f"/kt_{pid}_" in line for line in nxt.stderr.splitlines()
               if line.startswith("Removed a probe left by an earlier kt: ")) == len(entries)
