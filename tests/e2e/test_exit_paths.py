"""Every way a trace ends leaves nothing of it in the kernel, and prints what users expect.

One script over a uprobe, a tracepoint, a perf event (interval), BEGIN and END traces a
child (targets/exit_paths_target.c) that makes N calls, says so through a FIFO and waits. The
test reads, while kt traces, the ids of the programs, maps and links kt holds (its fdinfo),
ends the trace one way, then checks that none of those ids is left in the kernel (only ids
of this run: other tests load programs meanwhile) and what kt printed:

- SIGINT, SIGTERM, SIGHUP: END runs, the maps print, status 0. SIGHUP: bpftrace 0.17 dies of
  it (status 129) and its maps are lost; kt ends the trace as for SIGTERM, because a trace
  whose terminal went away (an ssh session dropped, output redirected to a file) is one whose
  maps the user still wants.
- SIGUSR1: the maps print and the trace goes on (everything still attached), then SIGTERM.
- exit() in a probe, the -c child's exit: END, maps, status 0.
- stdout closed (the reader went away): the trace stops, the maps go to stderr, one error
  line, status 1.
- a Python exception inside kt (KT_TEST_FAULT=events, the path a decoder's bug takes): the
  same, the maps on stdout, which still works.
- SIGKILL: nothing runs in kt; the kernel drops programs, maps, links and perf events with
  its descriptors; only tracefs uprobe_events entries (KT_UPROBE_TRACEFS=1) survive, and the
  next kt removes them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from kt.runtime.tracefs import tracefs_root

from ..runtime.kernel_state import bpftool_ids, wait_until
from .conftest import kt_command
from .fifos import Fifos

pytestmark = [pytest.mark.kernel]

TARGETS = Path(__file__).parent / "targets"
N = 5
SCRIPT = """
BEGIN {{ @begin = 1; }}
uprobe:{exe}:tick /pid == cpid/ {{ @ticks = count(); printf("tick\\n"); }}
uprobe:{exe}:finish /pid == cpid/ {{ exit(); }}
tracepoint:syscalls:sys_enter_getppid /pid == cpid/ {{ @calls = count(); }}
interval:s:3600 {{ @never = 1; }}
END {{ @end = 1; }}
"""
ALL_MAPS = ["@begin: 1", f"@calls: {N}", "@end: 1", f"@ticks: {N}"]


@pytest.fixture(scope="module")
def exe(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("exit_paths") / "exit_paths_target"
    subprocess.run(["gcc", "-O1", "-g", "-o", str(path), str(TARGETS / "exit_paths_target.c")], check=True)
    return str(path)


class Run:
    """kt tracing the target; `ready()` returns once the child made its N calls, with the
    ids kt holds then."""

    def __init__(self, exe: str, tmp_path: Path, mode: str, env: dict | None = None, stdout=subprocess.PIPE):
        self.fifos = Fifos(tmp_path)
        self.child_pid = 0
        command = f"{exe} {self.fifos.ready} {self.fifos.go} {N} {mode}"
        self.proc = subprocess.Popen(kt_command() + ["-e", SCRIPT.format(exe=exe), "-c", command],
                                     stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     env={**os.environ, **(env or {})})

    def ready(self) -> dict[str, set[int]]:
        self.child_pid = self.fifos.wait_ready(self.proc)
        held = _held_ids(self.proc.pid)
        assert held["prog"] and held["map"] and held["link"], held
        return held

    def go(self) -> None:
        self.fifos.release(self.proc)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, (out or b"").decode(), err.decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.child_pid:   # a SIGKILLed kt leaves its -c child running
            try:
                os.kill(self.child_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _held_ids(pid: int) -> dict[str, set[int]]:
    """The BPF object ids a process holds descriptors of (its /proc fdinfo)."""
    held: dict[str, set[int]] = {"prog": set(), "map": set(), "link": set()}
    fdinfo = Path(f"/proc/{pid}/fdinfo")
    for entry in fdinfo.iterdir():
        try:
            text = entry.read_text()
        except OSError:
            continue
        for kind in held:
            m = re.search(rf"^{kind}_id:\s*(\d+)$", text, re.M)
            if m:
                held[kind].add(int(m.group(1)))
    return held


def _assert_released(held: dict[str, set[int]]) -> None:
    for kind, ids in held.items():
        assert wait_until(lambda: not ids & bpftool_ids(kind), timeout=5), \
            f"{kind} ids of the run still in the kernel: {ids & bpftool_ids(kind)}"


def _maps(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("@")]


@pytest.fixture
def run(exe, tmp_path):
    runs = []

    def start(mode: str, **kw) -> Run:
        r = Run(exe, tmp_path / f"r{len(runs)}", mode, **kw)
        runs.append(r)
        return r
    yield start
    for r in runs:
        r.kill()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_ends_the_trace_with_end_and_the_maps(run, sig):
    r = run("pause")
    held = r.ready()
    r.proc.send_signal(sig)
    rc, out, err = r.finish()
    assert rc == 0, err
    assert _maps(out) == ALL_MAPS
    assert out.count("tick\n") == N
    _assert_released(held)


def test_sigusr1_prints_the_maps_and_the_trace_goes_on(run):
    r = run("finish")
    held = r.ready()
    r.proc.send_signal(signal.SIGUSR1)
    seen = []
    while len(_maps("\n".join(seen))) < 3:     # @begin, @calls, @ticks: no END yet
        line = r.proc.stdout.readline().decode()
        assert line, f"kt's output ended before the maps SIGUSR1 prints: {seen}"
        seen.append(line.rstrip("\n"))
    assert _maps("\n".join(seen)) == ["@begin: 1", f"@calls: {N}", f"@ticks: {N}"]
    assert held == _held_ids(r.proc.pid)       # still attached, nothing closed
    r.go()                                      # finish(): exit()
    rc, out, err = r.finish()
    assert rc == 0, err
    assert _maps(out) == ALL_MAPS
    _assert_released(held)


@pytest.mark.parametrize("child", ["finish", "return"], ids=["exit_in_a_probe", "the_child_exiting"])
def test_the_trace_ending_by_itself(run, child):
    """exit() in a probe (the child's "finish" call fires it), or the -c child returning."""
    r = run(child)
    held = r.ready()
    r.go()
    rc, out, err = r.finish()
    assert rc == 0, err
    assert _maps(out) == ALL_MAPS
    _assert_released(held)


def test_stdout_closed(run):
    read_end, write_end = os.pipe()
    r = run("finish", stdout=write_end)
    os.close(write_end)
    held = r.ready()
    with os.fdopen(read_end, "rb") as reader:   # the ticks' lines first, so that the write
        for _ in range(N):                      # that fails is the one of the maps
            assert reader.readline() == b"tick\n"
    # the reader went away; then exit() ends the trace: END runs, its maps meet the closed pipe
    r.go()
    rc, _, err = r.finish()
    assert rc == 1 and "Traceback" not in err, err
    assert err.splitlines()[-1] == ("kt: error: the output was closed (Broken pipe): the trace stopped; "
                                    "the maps went to stderr")
    assert _maps(err) == ALL_MAPS
    _assert_released(held)


def test_an_exception_inside_kt(run):
    r = run("pause", env={"KT_TEST_FAULT": "events"})
    held = r.ready()
    rc, out, err = r.finish()
    assert rc == 1 and "Traceback" not in err, err
    assert err.splitlines()[-1] == (
        "kt: error: internal error: RuntimeError: KT_TEST_FAULT=events: a fault injected in the event loop: "
        "the trace stopped, every probe is detached (KT_DEBUG=1 shows the traceback)")
    # what was counted when the fault came (the first events' block), END not run
    maps = _maps(out)
    assert maps[0] == "@begin: 1" and "@end: 1" not in maps
    _assert_released(held)


def test_sigkill_leaves_only_tracefs_entries_and_the_next_kt_removes_them(run):
    uprobe_events = Path(tracefs_root()) / "uprobe_events"
    r = run("pause", env={"KT_UPROBE_TRACEFS": "1"})
    held = r.ready()
    mine = [line for line in uprobe_events.read_text().splitlines() if f"/kt_{r.proc.pid}_" in line]
    assert len(mine) == 2, mine                # tick and finish
    r.proc.kill()
    r.proc.wait()
    _assert_released(held)
    left = [line for line in uprobe_events.read_text().splitlines() if f"/kt_{r.proc.pid}_" in line]
    # Any kt that starts meanwhile sweeps them (other tests run kt in parallel): then they
    # are gone already; else the next kt removes them and says so.
    assert left in (mine, []), left
    nxt = subprocess.run(kt_command() + ["-e", "BEGIN { exit(); }"], capture_output=True, text=True, timeout=60)
    assert nxt.returncode == 0, nxt.stderr
    removed = [line for line in nxt.stderr.splitlines() if line.startswith("Removed a probe left by an earlier kt: ")]
    if left:
        assert sum(f"/kt_{r.proc.pid}_" in line for line in removed) == 2, removed
    assert not [line for line in uprobe_events.read_text().splitlines() if f"/kt_{r.proc.pid}_" in line]


def test_an_output_that_refuses_writes():
    """-o on a full disk (/dev/full: every write is ENOSPC): the same as a closed stdout."""
    r = subprocess.run(kt_command() + ["-o", "/dev/full", "-e", 'BEGIN { @a[1] = 5; printf("hi\\n"); exit(); }'],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.splitlines()[-2:] == [
        "@a[1]: 5", "kt: error: writing the output failed (No space left on device): the trace stopped; "
        "the maps went to stderr"]
