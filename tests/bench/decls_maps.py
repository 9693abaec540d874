"""In-kernel cost of declared maps (bpftrace 0.20's `let @m = lruhash(N);`): kt's declared LRU
and per-CPU maps next to bpftrace 0.17 running the same script without the declaration (its
default hash / per-CPU hash maps), on kernel_cost.py's workload and accounting (BPF_ENABLE_STATS
run_time_ns / run_cnt of the tracer's own programs). Not a test: nothing asserts.

    sudo python3 tests/bench/decls_maps.py [--runs N] [--calls N]
"""

from __future__ import annotations

from common import Row, print_rows  # noqa: E402  (run as a script)
from kernel_cost import ENTER, EXIT, PRED, ns_medians, paired_samples  # noqa: E402

import argparse
import sys

GROUP = "in-kernel"

# (name, kt's declarations, the script both run: args->x, which both tracers read)
CORPUS = [
    ("@[tid] = nsecs in lruhash(4096)", "let @m = lruhash(4096);", f"{ENTER} {PRED} {{ @m[tid] = nsecs; }}"),
    ("@[pid] = count() in percpulruhash(4096)", "let @m = percpulruhash(4096);",
     f"{ENTER} {PRED} {{ @m[pid] = count(); }}"),
    ("@ = count() in percpuhash(1)", "let @m = percpuhash(1);", f"{ENTER} {PRED} {{ @m = count(); }}"),
    ("latency pair, @start in lruhash(1024)", "let @start = lruhash(1024);",
     f"{ENTER} {PRED} {{ @start[tid] = nsecs; }} {EXIT} /pid == cpid && @start[tid]/ "
     f"{{ @ = hist(nsecs - @start[tid]); delete(@start[tid]); }}"),
]


def measure(runs: int, calls: int = 300_000) -> list[Row]:
    got = paired_samples([(name, ["-e", f"{decl} {text}"], ["-e", text]) for name, decl, text in CORPUS], runs, calls)
    return [Row(GROUP, f"{name}: ns/event", ns_medians(by["kt"]), ns_medians(by["bpftrace"]), "ns/event",
                detail="bpftrace 0.17: the same script, undeclared (its default map)")
            for name, by in got.items()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--calls", type=int, default=300_000, help="getppid() calls per run")
    args = ap.parse_args()
    print_rows(measure(args.runs, args.calls))


if __name__ == "__main__":
    sys.exit(main())
