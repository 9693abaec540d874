"""Attach benchmark: `tracepoint:syscalls:sys_enter_*` (360 events on Linux 6.18) under kt and
bpftrace 0.17, alternately, medians. Not a test: nothing here asserts.

    sudo python3 tests/bench/attach.py [--runs N]

Measured from the tracer's start to the line its BEGIN prints (both run BEGIN once every probe
is attached: 0.17 prints "Attaching N probes..." before attaching, then attaches, then runs
BEGIN), then from SIGINT to its exit: closing a syscall event's perf event costs the kernel a
tracepoint_synchronize_unregister() each, which is where 0.17 spends its ~30 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, main_for, median  # noqa: E402
from tracers import ENV, bpftrace_binary, kt_binary  # noqa: E402

SCRIPT = 'tracepoint:syscalls:sys_enter_* { @[probe] = count(); } BEGIN { printf("go\\n"); }'
TIMEOUT = 300


def _one(argv: list[str]) -> tuple[float, float]:
    """(seconds to BEGIN's line, seconds from SIGINT to exit)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV, text=True)
    try:
        for line in proc.stdout:
            if line.strip() == "go":
                break
        else:
            raise SystemExit(f"{argv[0]} exited before BEGIN ran: {proc.wait()}")
        attached = time.perf_counter() - t0
        t1 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.stdout.read()
        proc.wait(TIMEOUT)
        return attached, time.perf_counter() - t1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def measure(runs: int) -> list[Row]:
    kt = [kt_binary(), "-e", SCRIPT]
    bt = [bpftrace_binary(), "-e", SCRIPT]
    results: dict[str, list[tuple[float, float]]] = {"kt": [], "bpftrace": []}
    for _ in range(runs):
        results["kt"].append(_one(kt))
        results["bpftrace"].append(_one(bt))

    def med(who: str, i: int) -> float:
        return median([r[i] for r in results[who]])
    to_attached = med("kt", 0)
    return [
        Row("attach", "sys_enter_* (360): start to attached", to_attached, med("bpftrace", 0), "s",
            target="< 3 s", met=to_attached < 3.0,
            detail="kt: one raw_syscalls program dispatching on the id"),
        Row("attach", "sys_enter_* (360): SIGINT to exit (detach)", med("kt", 1), med("bpftrace", 1), "s",
            detail="0.17 closes 360 perf events, each a tracepoint_synchronize_unregister()"),
    ]


def main() -> None:
    main_for(measure, default_runs=3)


if __name__ == "__main__":
    main()
