"""printf event streaming: kt next to bpftrace on the same burst of events.

A dd child copies N bytes one at a time (two syscalls a byte); the script prints a line per
syscall of the child. Printed: wall time, lines delivered, events reported lost, and the child's
own run time (how much tracing slowed the workload). Not a test: nothing asserts.

    sudo python3 tests/bench/event_stream.py [--bytes N]
"""

from __future__ import annotations

from tracers import ENV, bpftrace_binary, kt_binary  # noqa: E402  (run as a script)

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

SCRIPT = 'tracepoint:raw_syscalls:sys_enter /pid == cpid/ { printf("%d %s\\n", args->id, comm); }'


def run(argv: list[str]) -> tuple[float, int, int, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t0
    lines = sum(1 for line in proc.stdout.splitlines() if line.endswith(" dd"))
    lost = sum(int(n) for n in re.findall(r"Lost (\d+) events", proc.stderr + proc.stdout))
    copied = re.search(r"copied, ([\d.]+) s", proc.stderr)
    return wall, lines, lost, float(copied.group(1)) if copied else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bytes", type=int, default=100_000)
    args = ap.parse_args()
    kt = kt_binary()
    bpftrace = bpftrace_binary()
    workload = f"/usr/bin/dd if=/dev/zero of=/dev/null bs=1 count={args.bytes}"
    print(f"{'':10} {'wall':>8} {'lines':>9} {'lost':>9} {'dd time':>9}")
    for name, argv in (("kt", [kt, "-q", "-e", SCRIPT, "-c", workload]),
                       ("bpftrace", [bpftrace, "-e", SCRIPT, "-c", workload])):
        wall, lines, lost, dd = run(argv)
        print(f"{name:10} {wall:7.2f}s {lines:9d} {lost:9d} {dd:8.2f}s")


if __name__ == "__main__":
    main()
