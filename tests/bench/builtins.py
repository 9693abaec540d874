"""In-kernel cost of bpftrace 0.20-0.26's task builtins in kt against bpftrace 0.17 spelling the
same value the old way: `ppid` vs `curtask->real_parent->tgid`, `pcomm` vs
`curtask->group_leader->comm`, and strcontains() (both have it) on the getppid() workload of
kernel_cost.py, whose measuring (BPF_ENABLE_STATS run_time_ns / run_cnt of the tracer's own
programs) this reuses. Not a test: nothing asserts.

    sudo python3 tests/bench/builtins.py [--runs N] [--calls N]
"""

from __future__ import annotations

from common import Row, median, print_rows  # noqa: E402  (run as a script)
from tracers import bpftrace_binary, kt_binary  # noqa: E402
from kernel_cost import ENTER, PRED, build_workload, run_once  # noqa: E402

import argparse
import sys
import tempfile

from kt.runtime.sys.info import enable_run_time_stats

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
    kt, bpftrace = kt_binary(), bpftrace_binary()
    ns = {name: {"kt": [], "bpftrace": []} for name, _, _ in PAIRS}
    with tempfile.TemporaryDirectory() as tmp, enable_run_time_stats():
        exe = build_workload(tmp)
        child = f"{exe} {calls}"
        for _ in range(runs):
            for name, ours, theirs in PAIRS:
                ns[name]["kt"].append(run_once([kt, "-e", ours, "-c", child]).ns_per_event)
                ns[name]["bpftrace"].append(run_once([bpftrace, "-e", theirs, "-c", child]).ns_per_event)
    return [Row(GROUP, f"{name}: ns/event", median(by["kt"]), median(by["bpftrace"]), "ns/event")
            for name, by in ns.items()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--calls", type=int, default=200_000, help="getppid() calls per run")
    args = ap.parse_args()
    print_rows(measure(args.runs, args.calls))


if __name__ == "__main__":
    sys.exit(main())
