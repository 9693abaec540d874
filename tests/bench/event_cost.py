"""In-kernel cost per event: kt's programs next to bpftrace's on the same scripts and workload.

The kernel's own accounting (kernel.bpf_stats_enabled: run_time_ns and run_cnt per program,
read with bpftool while the trace runs) gives nanoseconds per run. Both tracers trace only
their -c child, a dd copying byte by byte (a read and a write syscall per byte). Not a test:
nothing asserts; it prints ns per event and the ratio kt/bpftrace.

    sudo python3 tests/bench/event_cost.py [--bytes N]
"""

from __future__ import annotations

from tracers import bpftrace_binary, kt_binary  # noqa: E402  (run as a script)

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SCRIPTS = {
    "count by comm": 'tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @[comm] = count(); }',
    "sum/min/max/avg": 'tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @s = sum(args->id); '
                       '@lo = min(args->id); @hi = max(args->id); @a = avg(args->id); }',
    "tuple key sum": 'tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @[comm, args->id] = sum(1); }',
    "predicate only": 'tracepoint:raw_syscalls:sys_enter /pid == cpid/ { }',
}


def prog_stats() -> dict[int, tuple[int, int]]:
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True).stdout
    return {p["id"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0)) for p in json.loads(out or "[]")
            if p.get("type") == "tracepoint"}


def measure(argv: list[str]) -> float:
    """ns per run of the tracepoint program the tracer loaded, sampled until it exits."""
    before = set(prog_stats())
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last: tuple[int, int] = (0, 0)
    while proc.poll() is None:
        for pid, st in prog_stats().items():
            if pid not in before and st[1] >= last[1]:
                last = st
        time.sleep(0.05)
    if last[1] == 0:
        raise SystemExit(f"no runs recorded for {argv[0]}")
    return last[0] / last[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bytes", type=int, default=300_000, help="bytes dd copies, one per read+write")
    args = ap.parse_args()
    kt = kt_binary()
    bpftrace = bpftrace_binary()
    workload = f"/usr/bin/dd if=/dev/zero of=/dev/null bs=1 count={args.bytes}"
    stats = Path("/proc/sys/kernel/bpf_stats_enabled")
    old = stats.read_text().strip()
    stats.write_text("1")
    try:
        print(f"{'script':18} {'kt ns/event':>12} {'bpftrace':>10} {'kt/bpftrace':>12}")
        for name, script in SCRIPTS.items():
            ours = measure([kt, "-q", "-e", script, "-c", workload])
            theirs = measure([bpftrace, "-e", script, "-c", workload])
            print(f"{name:18} {ours:12.0f} {theirs:10.0f} {ours / theirs:11.2f}x")
    finally:
        stats.write_text(old)


if __name__ == "__main__":
    main()
