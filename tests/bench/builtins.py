"""In-kernel cost of bpftrace 0.20-0.26's task builtins in kt against bpftrace 0.17 spelling the
same value the old way: `ppid` vs `curtask->real_parent->tgid`, `pcomm` vs
`curtask->group_leader->comm`, and strcontains() (both have it) on the getppid() workload of
kernel_cost.py, whose measuring (BPF_ENABLE_STATS run_time_ns / run_cnt of the tracer's own
programs) this reuses. Not a test: nothing asserts.

    sudo python3 tests/bench/builtins.py [--runs N] [--calls N]
"""

from __future__ import annotations

from common import Row, print_rows  # noqa: E402  (run as a script)
from kernel_cost import ENTER, PRED, ns_medians, paired_samples  # noqa: E402

import argparse
import sys

GROUP = "in-kernel"

# (name, kt's script, bpftrace 0.17's script)
PAIRS = [
    ("ppid vs curtask->real_parent->tgid",
     f"{ENTER} {PRED} {{ @[ppid] = count(); }}", f"{ENTER} {PRED} {{ @[curtask->real_parent->tgid] = count(); }}"),
    ("pcomm vs curtask->group_leader->comm",
     f"{ENTER} {PRED} {{ @[pcomm] = count(); }}", f"{ENTER} {PRED} {{ @[curtask->group_leader->comm] = count(); }}"),
    ("strcontains(comm, \"ppid\")",
     f'{ENTER} {PRED} {{ @[strcontains(comm, "ppid")] = count(); }}',
     f'{ENTER} {PRED} {{ @[strcontains(comm, "ppid")] = count(); }}'),
]


def measure(runs: int, calls: int = 200_000) -> list[Row]:
    got = paired_samples([(name, ["-e", ours], ["-e", theirs]) for name, ours, theirs in PAIRS], runs, calls)
    return [Row(GROUP, f"{name}: ns/event", ns_medians(by["kt"]), ns_medians(by["bpftrace"]), "ns/event")
            for name, by in got.items()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--calls", type=int, default=200_000, help="getppid() calls per run")
    args = ap.parse_args()
    print_rows(measure(args.runs, args.calls))


if __name__ == "__main__":
    sys.exit(main())
