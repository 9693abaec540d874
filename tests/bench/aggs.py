"""In-kernel cost of hist(v, k) (bpftrace 0.20) and tseries() (0.24) per event.

bpftrace 0.17 has neither, so each kt script is set beside the 0.17 script closest to it,
measured in the same run: hist(v) for hist(v, k), `@ = max(v)`-style last-value maps for
tseries (a lookup and a store per event). The method is kernel_cost.py's (BPF_ENABLE_STATS
run time per event, sys_enter_getppid of a -c child in a tight loop). Not a test.

    sudo python3 tests/bench/aggs.py [--runs N] [--calls N]
"""

from __future__ import annotations

from common import Row, print_rows  # noqa: E402  (run as a script)
from kernel_cost import ENTER, PRED, ns_medians, paired_samples  # noqa: E402

import argparse
import sys

GROUP = "in-kernel"
V = "(nsecs & 0xfffff)"

# (what, kt's script, bpftrace 0.17's script)
PAIRS = [
    ("hist(v, 0) vs 0.17 hist(v)", f"@ = hist({V}, 0);", f"@ = hist({V});"),
    ("hist(v, 3) vs 0.17 hist(v)", f"@ = hist({V}, 3);", f"@ = hist({V});"),
    ("hist(v, 5) vs 0.17 hist(v)", f"@ = hist({V}, 5);", f"@ = hist({V});"),
    ("@[pid] = hist(v, 3) vs 0.17 @[pid] = hist(v)", f"@[pid] = hist({V}, 3);", f"@[pid] = hist({V});"),
    ("tseries(v, 10ms, 100) vs 0.17 @ = max(v)", f"@ = tseries({V}, 10000000, 100);", f"@ = max({V});"),
    ('tseries(v, 10ms, 100, "sum") vs 0.17 @ = sum(v)', f'@ = tseries({V}, 10000000, 100, "sum");',
     f"@ = sum({V});"),
]


def measure(runs: int, calls: int = 300_000) -> list[Row]:
    got = paired_samples([(name, ["-e", f"{ENTER} {PRED} {{ {ours} }}"], ["-e", f"{ENTER} {PRED} {{ {theirs} }}"])
                          for name, ours, theirs in PAIRS], runs, calls)
    return [Row(GROUP, f"{name}: ns/event", ns_medians(by["kt"]), ns_medians(by["bpftrace"]), "ns/event",
                detail="bpftrace 0.17 has no such function: its closest script")
            for name, by in got.items()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--calls", type=int, default=300_000, help="getppid() calls per run")
    args = ap.parse_args()
    print_rows(measure(args.runs, args.calls))


if __name__ == "__main__":
    sys.exit(main())
