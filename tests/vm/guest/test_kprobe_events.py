"""kprobe_events entries are owned: close() and the finalizer remove them, and entries of a kt
process that was killed before it could clean up are removed by the next kt
(dynamic_events.sweep_stale, which the session calls at startup)."""

from __future__ import annotations

import gc
import shutil
import signal
import subprocess
import sys

import pytest

from kt.runtime.attach.dynamic_events import KPROBE_EVENTS, sweep_stale
from kt.runtime.attach.kprobe import attach_kprobe, kt_kprobe_events

from .. import objects
from .helpers import FUNC, kprobe_events, load_counter

pytestmark = pytest.mark.kernel

# A kt stand-in that attaches a legacy kprobe with the program fd it inherited, says which
# entry it made, and waits to be killed.
CREATOR = """
import sys, time
from kt.runtime.attach.kprobe import attach_kprobe
link = attach_kprobe(int(sys.argv[1]), sys.argv[2], legacy=True)
print(f"{link.group}/{link.event_name}", flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def prog_fd():
    with load_counter() as obj:
        yield obj.program_in(objects.SECTION).fd.fd


def start_creator(prog_fd: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", CREATOR, str(prog_fd), FUNC],
                            pass_fds=(prog_fd,), stdout=subprocess.PIPE, text=True)
    entry = proc.stdout.readline().strip()
    assert entry.startswith("kprobes/kt_"), proc.communicate(timeout=5)
    return proc, entry


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()


def test_finalizer_removes_the_entry(prog_fd):
    link = attach_kprobe(prog_fd, FUNC, legacy=True)
    name = f"{link.group}/{link.event_name}"
    assert kt_kprobe_events() == [name]
    del link
    gc.collect()
    assert kt_kprobe_events() == []


def test_stale_entries_of_killed_kt_are_removed(prog_fd):
    proc, entry = start_creator(prog_fd)
    try:
        _, pid, _start, _n = entry.split("/")[1].split("_")
        assert int(pid) == proc.pid
        assert kt_kprobe_events() == [entry]
        assert sweep_stale(KPROBE_EVENTS) == []      # its creator is alive: keep it
        assert kt_kprobe_events() == [entry]
    finally:
        kill(proc)
    assert kt_kprobe_events() == [entry]               # SIGKILL: nobody cleaned up
    assert sweep_stale(KPROBE_EVENTS) == [entry]
    assert kprobe_events() == ""


def test_kt_start_removes_stale_entries(prog_fd):
    proc, entry = start_creator(prog_fd)
    kill(proc)
    assert kt_kprobe_events() == [entry]
    kt = shutil.which("kt")
    cmd = [kt] if kt else [sys.executable, "-m", "kt.runtime.cli"]
    done = subprocess.run(cmd + ["-e", "BEGIN { exit(); }"], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    stale = kt_kprobe_events()
    sweep_stale(KPROBE_EVENTS)                        # leave the guest clean either way
    assert stale == []
    assert kprobe_events() == ""
