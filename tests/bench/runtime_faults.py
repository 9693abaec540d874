"""What kt's run-time fault counters cost in the kernel: keyed map updates (a full map counts
its refused new keys) and -k's counted probe reads, in ns/event against bpftrace 0.17, which
counts nothing (it drops a full map's keys silently; its -k leaves reads unchecked).

The same method as kernel_cost.py (BPF_ENABLE_STATS run_time_ns / run_cnt of the tracer's own
programs, the getppid() workload of workloads/kernel_getppid.c); "full" scripts put a new key
in every event, so after the first 4,096 every update is refused. Not a test: nothing asserts.

    sudo python3 tests/bench/runtime_faults.py [--runs N] [--calls N]
"""

from __future__ import annotations

from common import Row, print_rows  # noqa: E402  (run as a script)
from kernel_cost import ENTER, PRED, Script, ns_medians, paired_samples  # noqa: E402

import argparse
import sys

GROUP = "run-time faults"

# (script, tracer flags)
CORPUS = [
    (Script("@[pid] = 1 (fits)", f"{ENTER} {PRED} {{ @m[pid] = 1; }}"), ()),
    (Script("@[nsecs] = 1 (full: refused keys)", f"{ENTER} {PRED} {{ @m[nsecs] = 1; }}"), ()),
    (Script("@[nsecs] = count() (full)", f"{ENTER} {PRED} {{ @m[nsecs] = count(); }}"), ()),
    (Script("-k: a read that fails", f"{ENTER} {PRED} {{ @ = sum(*(int64*)8); }}"), ("-k",)),
    (Script("-k: a read that works", f"{ENTER} {PRED} {{ @ = sum(curtask->pid); }}"), ("-k",)),
]


def measure(runs: int, calls: int = 300_000) -> list[Row]:
    got = paired_samples([(s.name, [*flags, "-e", s.text], [*flags, "-e", s.text]) for s, flags in CORPUS],
                         runs, calls)
    return [Row(GROUP, f"{name}: ns/event", ns_medians(by["kt"]), ns_medians(by["bpftrace"]), "ns/event",
                detail="kt counts refused keys / failed reads; bpftrace does not")
            for name, by in got.items()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--calls", type=int, default=300_000, help="getppid() calls per run")
    args = ap.parse_args()
    print_rows(measure(args.runs, args.calls))


if __name__ == "__main__":
    sys.exit(main())
