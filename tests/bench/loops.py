"""In-kernel cost of `for` loops and map queries (compiler/codegen/loops.py): kt's new syntax
next to bpftrace 0.17 doing the same work in its own language (a while loop for a range, the
elements' lookups written out for a map loop, a lookup for has_key()), on the workload of
kernel_cost.py (sys_enter_getppid of a -c child in a tight loop). ns/event from the kernel's
run-time stats, as kernel_cost.py measures them. Not a test: nothing asserts.

    sudo python3 tests/bench/loops.py [--runs N] [--calls N]
"""

from __future__ import annotations

import argparse
import tempfile

from common import Row, median, print_rows  # noqa: E402  (run as a script)
from kernel_cost import ENTER, PRED, build_workload, run_once  # noqa: E402
from tracers import bpftrace_binary, kt_binary  # noqa: E402

from kt.runtime.sys.info import enable_run_time_stats

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
    kt, bpftrace = kt_binary(), bpftrace_binary()
    ns: dict[str, dict[str, list[float]]] = {name: {"kt": [], "bpftrace": []} for name in PAIRS}
    with tempfile.TemporaryDirectory() as tmp, enable_run_time_stats():
        exe = build_workload(tmp)
        child = f"{exe} {calls}"
        for _ in range(runs):   # alternately, so both see the same machine
            for name, (ours, theirs) in PAIRS.items():
                ns[name]["kt"].append(run_once([kt, "-e", ours, "-c", child]).ns_per_event)
                if theirs is not None:
                    ns[name]["bpftrace"].append(run_once([bpftrace, "-e", theirs, "-c", child]).ns_per_event)
    out = []
    for name, by in ns.items():
        detail = "" if PAIRS[name][1] else "0.17 has no len(); kt alone"
        out.append(Row(GROUP, f"{name}: ns/event", median(by["kt"]), median(by["bpftrace"]), "ns/event",
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
