"""The progress line while many probes attach (runtime/attach/progress.py): pure, a fake clock."""

from __future__ import annotations

import io

from kt.runtime.attach.progress import AttachProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _attach(progress: AttachProgress, clock: Clock, n: int, seconds_each: float) -> None:
    for _ in range(n):
        clock.now += seconds_each
        progress.advance()
    progress.finish()


def test_quick_attaches_print_nothing():
    clock, err = Clock(), io.StringIO()
    _attach(AttachProgress(361, err, clock=clock), clock, 361, 0.001)
    assert err.getvalue() == ""


def test_few_targets_print_nothing_however_slow():
    clock, err = Clock(), io.StringIO()
    _attach(AttachProgress(20, err, clock=clock), clock, 20, 1.0)
    assert err.getvalue() == ""


def test_quiet_prints_nothing():
    clock, err = Clock(), io.StringIO()
    _attach(AttachProgress(300, err, enabled=False, clock=clock), clock, 300, 0.1)
    assert err.getvalue() == ""


def test_not_a_terminal_gets_a_line_now_and_then():
    clock, err = Clock(), io.StringIO()
    _attach(AttachProgress(200, err, clock=clock), clock, 200, 0.125)   # 25 s
    lines = err.getvalue().splitlines()
    assert lines[0] == "Attaching 200 probes... 8/200"
    assert len(lines) == 5 and all(l.startswith("Attaching 200 probes... ") for l in lines)


def test_a_terminal_line_is_rewritten_and_erased():
    clock, err = Clock(), Tty()
    _attach(AttachProgress(200, err, clock=clock), clock, 200, 0.125)
    out = err.getvalue()
    assert "\n" not in out
    assert out.startswith("\rAttaching 200 probes... 8/200")
    assert "200/200" in out
    assert out.endswith("\r" + " " * len("Attaching 200 probes... 200/200") + "\r")
