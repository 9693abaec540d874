"""In-kernel cost of `for` loops and map queries (compiler/codegen/loops.py): kt's new syntax
next to bpftrace 0.17 doing the same work in its own language (a while loop for a range, the
elements' lookups written out for a map loop, a lookup for has_key()), on the workload of
kernel_cost.py (sys_enter_getppid of a -c child in a tight loop). ns/event from the kernel's
run-time stats, as kernel_cost.py measures them. Not a test: nothing asserts.

    sudo python3 tests/bench/loops.py [--runs N] [--calls N]
"""

from __future__ import annotations

import argparse

from common import Row, print_rows  # noqa: E402  (run as a script)
from kernel_cost import ENTER, PRED, ns_medians, paired_samples  # noqa: E402

GROUP = "in-kernel"
SETUP = "BEGIN { " + " ".join(f"@m[{i}] = {i * 3};" for i in range(8)) + " }"
SUM8 = " + ".join(f"@m[{i}]" for i in range(8))

# name -> (kt's script, bpftrace 0.17's script)
PAIRS = {
    "for range 0..16": (
        f"{ENTER} {PRED} {{ $t = 0; for ($i : 0..16) {{ $t += $i; }} @ = sum($t); }}",
        f"{ENTER} {PRED} {{ $t = 0; $i = 0; while ($i < 16) {{ $t += $i; $i++; }} @ = sum($t); }}"),
    "for over an 8-element map": (
        f"{SETUP} {ENTER} {PRED} {{ $t = 0; for ($kv : @m) {{ $t += $kv.1; }} @ = sum($t); }}",
        f"{SETUP} {ENTER} {PRED} {{ $t = {SUM8}; @ = sum($t); }}"),
    "has_key": (
        f"{SETUP} {ENTER} {PRED} {{ if (has_key(@m, 3)) {{ @ = count(); }} }}",
        f"{SETUP} {ENTER} {PRED} {{ if (@m[3]) {{ @ = count(); }} }}"),
    "len of an 8-element map": (
        f"{SETUP} {ENTER} {PRED} {{ @ = sum(len(@m)); }}",
        None),
}


def measure(runs: int, calls: int = 200_000) -> list[Row]:
    got = paired_samples([(name, ["-e", ours], None if theirs is None else ["-e", theirs])
                          for name, (ours, theirs) in PAIRS.items()], runs, calls)
    out = []
    for name, by in got.items():
        detail = "" if PAIRS[name][1] else "0.17 has no len(); kt alone"
        out.append(Row(GROUP, f"{name}: ns/event", ns_medians(by["kt"]), ns_medians(by["bpftrace"]), "ns/event",
                       detail=detail))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--calls", type=int, default=200_000)
    args = ap.parse_args()
    print_rows(measure(args.runs, args.calls))


if __name__ == "__main__":
    main()
