"""Startup benchmark: wall time and peak memory of `kt -e 'BEGIN { exit(); }'` next to
bpftrace's, measured in the same run, printed as ratios. Not a test: nothing here asserts.

    sudo python3 tests/bench/startup.py [--runs N]
"""

from __future__ import annotations

from tracers import ENV, bpftrace_binary, kt_binary  # noqa: E402  (run as a script)

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

PROGRAM = "BEGIN { exit(); }"




def measure(argv: list[str], runs: int) -> tuple[float, float]:
    """(median wall seconds, max peak RSS MiB) over `runs` runs."""
    walls, rss = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - t0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{argv[0]} failed: exit {os.waitstatus_to_exitcode(status)}")
        rss.append(usage.ru_maxrss / 1024)
    return statistics.median(walls), max(rss)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    kt = kt_binary()
    bpftrace = bpftrace_binary()
    measure([kt, "-e", PROGRAM], 1)          # warm the page cache for both
    measure([bpftrace, "-e", PROGRAM], 1)
    kt_wall, kt_rss = measure([kt, "-e", PROGRAM], args.runs)
    bt_wall, bt_rss = measure([bpftrace, "-e", PROGRAM], args.runs)
    print(f"{'':10} {'wall (median)':>14} {'peak RSS':>10}")
    print(f"{'kt':10} {kt_wall * 1000:11.0f} ms {kt_rss:7.1f} MiB")
    print(f"{'bpftrace':10} {bt_wall * 1000:11.0f} ms {bt_rss:7.1f} MiB")
    print(f"{'kt/bpftrace':10} {kt_wall / bt_wall:13.2f}x {kt_rss / bt_rss:9.2f}x")


if __name__ == "__main__":
    main()
