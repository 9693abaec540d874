"""What the newer variables syntax costs in the kernel: kt running a script written with `let`,
macros, records and `&$x` (string indexing has no 0.17 spelling), next to bpftrace 0.17 running the same script in
0.17's spelling (no such syntax there), on kernel_cost.py's workload and accounting
(BPF_ENABLE_STATS run time per event, xlated instructions). These constructs are rewritten in
kt's AST before the passes (docs/architecture.md), so the ratios should be kernel_cost.py's for
the same work. Not a test: nothing asserts.

    sudo python3 tests/bench/scopes_cost.py [--runs N] [--calls N]
"""

from __future__ import annotations

from common import Row, print_rows  # noqa: E402  (run as a script)
from kernel_cost import ENTER, PRED, ns_medians, paired_samples  # noqa: E402

import argparse
import sys
from dataclasses import dataclass

GROUP = "in-kernel (new syntax)"


@dataclass(frozen=True)
class Pair:
    name: str
    new: str      # kt, in bpftrace 0.22-0.25's syntax
    old: str      # bpftrace 0.17, the same work in its syntax


CORPUS = [
    Pair("let + typed let",
         f"{ENTER} {PRED} {{ let $n: uint32 = args->__syscall_nr; let $m; $m = $n * 2; @ = sum($m); }}",
         f"{ENTER} {PRED} {{ $n = (uint32)args->__syscall_nr; $m = $n * 2; @ = sum($m); }}"),
    Pair("macro with a map parameter",
         f"macro twice(x) {{ x * 2 }} macro add(@m, v) {{ @m = sum(v); }} "
         f"{ENTER} {PRED} {{ add(@, twice(args->__syscall_nr)); }}",
         f"{ENTER} {PRED} {{ @ = sum(args->__syscall_nr * 2); }}"),
    Pair("record key",
         f"{ENTER} {PRED} {{ @[(p = pid, n = args->__syscall_nr)] = count(); }}",
         f"{ENTER} {PRED} {{ @[pid, args->__syscall_nr] = count(); }}"),
    Pair("&$x and *$p",
         f"{ENTER} {PRED} {{ $x = args->__syscall_nr; $p = &$x; @ = sum(*$p); }}",
         f"{ENTER} {PRED} {{ $x = args->__syscall_nr; @ = sum($x); }}"),
]


def measure(runs: int, calls: int = 300_000) -> list[Row]:
    results = paired_samples([(p.name, ["-e", p.new], ["-e", p.old]) for p in CORPUS], runs, calls)
    out = []
    for name, by in results.items():
        k, b = ns_medians(by["kt"]), ns_medians(by["bpftrace"])
        out.append(Row(GROUP, f"{name}: ns/event", k, b, "ns/event",
                       detail="bpftrace runs the 0.17 spelling"))
        out.append(Row(GROUP, f"{name}: instructions", by["kt"][0].insns, by["bpftrace"][0].insns, "insns",
                       detail="xlated_prog_len / 8"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--calls", type=int, default=300_000, help="getppid() calls per run")
    args = ap.parse_args()
    print_rows(measure(args.runs, args.calls))


if __name__ == "__main__":
    sys.exit(main())
