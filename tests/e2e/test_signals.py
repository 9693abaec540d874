"""SIGUSR1 prints every map and tracing goes on, as in bpftrace 0.17 (SIGINT/SIGTERM end the
trace: tests/e2e/test_cli.py).

The workload is a child that calls getppid() three times, then waits on a FIFO the test holds,
then calls it twice more and exits. The test sends SIGUSR1 while the child waits, reads the
tracer's output up to the end of the maps it prints, then lets the child go on. Observed with
0.17: the maps print as at exit, in name order, but without the "\\n\\n" before them (text:
`@calls: 3` then the next map; json: one object per map).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from .conftest import kt_command
from .test_differential import BPFTRACE
from .test_types_differential import NEEDS_BPFTRACE

pytestmark = [pytest.mark.kernel]

SCRIPT = ('tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @calls = count(); @k["getppid"] = sum(2); '
          '@h = hist(5); printf("EV call\\n"); }')

CHILD = """
import os, sys
for _ in range(3):
    os.getppid()
open(sys.argv[1], "w").close()   # tells the test: three calls made
open(sys.argv[2]).read()         # waits until the test has seen the maps
for _ in range(2):
    os.getppid()
"""

HIST = "[4, 8)                 {n} |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|"


def _text_maps(n: int) -> list[str]:
    return [f"@calls: {n}", "@h: ", HIST.format(n=n), "", f"@k[getppid]: {2 * n}"]


def _json_maps(n: int) -> list[dict]:
    return [{"type": "map", "data": {"@calls": n}},
            {"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": n}]}},
            {"type": "map", "data": {"@k": {"getppid": 2 * n}}}]


def _usr1_session(tracer: list[str], tmp_path, last_line: str, *flags: str) -> tuple[list[str], list[str]]:
    """Run the workload under `tracer`, SIGUSR1 it during the pause: (the output lines up to
    `last_line`, which ends the maps SIGUSR1 printed; all output lines at the end)."""
    ready, go = tmp_path / "ready", tmp_path / "go"
    os.mkfifo(ready)
    os.mkfifo(go)
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    command = f"{sys.executable} {child} {ready} {go}"
    proc = subprocess.Popen([*tracer, *flags, "-e", SCRIPT, "-c", command], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    try:
        with open(ready) as f:          # returns once the child has made its three calls
            f.read()
        proc.send_signal(signal.SIGUSR1)
        seen = []
        while not seen or seen[-1] != last_line:
            line = proc.stdout.readline()
            assert line, f"the tracer ended before printing {last_line!r}: {seen}"
            seen.append(line.rstrip("\n"))
        with open(go, "w"):
            pass                        # the child goes on: two more calls, then it exits
        rest = proc.stdout.read().splitlines()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return seen, seen + rest


def _tracer_lines(lines: list[str]) -> list[str]:
    return [l for l in lines if not l.startswith("Attaching ")]


def test_sigusr1_prints_the_maps_and_tracing_goes_on(tmp_path):
    before, lines = _usr1_session(kt_command(), tmp_path, "@k[getppid]: 6", "-q")
    assert before == ["EV call"] * 3 + _text_maps(3)
    assert lines == before + ["EV call"] * 2 + ["", ""] + _text_maps(5)


def test_sigusr1_in_json(tmp_path):
    last = '{"type": "map", "data": {"@k": {"getppid": 6}}}'
    before, lines = _usr1_session(kt_command(), tmp_path, last, "-q", "-f", "json")
    printf = {"type": "printf", "data": "EV call\n"}
    assert [json.loads(l) for l in before] == [printf] * 3 + _json_maps(3)
    assert [json.loads(l) for l in lines if l.startswith("{")] == \
        [printf] * 3 + _json_maps(3) + [printf] * 2 + _json_maps(5)
    assert lines[len(before) + 2:len(before) + 4] == ["", ""]   # the exit's separator


@NEEDS_BPFTRACE
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_sigusr1_as_bpftrace(fmt, tmp_path):
    """The same output as 0.17, but for where its printf lines fall around the maps (its perf
    buffer may be read after the signal's maps are printed)."""
    last = "@k[getppid]: 6" if fmt == "text" else '{"type": "map", "data": {"@k": {"getppid": 6}}}'
    outs = []
    for name, tracer in (("bpftrace", [BPFTRACE]), ("kt", kt_command())):
        d = tmp_path / name
        d.mkdir()
        _, lines = _usr1_session(tracer, d, last, "-f", fmt)
        outs.append([l for l in _tracer_lines(lines) if "EV call" not in l])
    assert outs[1] == outs[0]
    assert last in outs[0]
