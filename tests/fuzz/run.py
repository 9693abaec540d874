"""The long fuzzing run: `python3 -m tests.fuzz.run [--examples N] [--seed S] [--only KIND]`.

Generates programs and mutations as the tests do, but many more, and never stops at a finding:
it prints the figures (programs generated, accepted, rejected with a diagnostic, verified and
run, compared with bpftrace 0.17, differences) and every finding with its program. What it
finds becomes a regression test (tests/fuzz/test_regressions.py). Needs root and bpftrace.
"""

from __future__ import annotations

import argparse
import sys
import time

from hypothesis import HealthCheck, given, seed, settings

from .harness import Figures, Worker, check_compare, check_compile, check_run
from .mutations import mutants, seeds
from .strategies import programs

KINDS = ("compile", "run", "compare", "mutate")


def run_kind(kind: str, examples: int, the_seed: int, figures: Figures, worker: Worker) -> None:
    strategy = {"compile": programs("run"), "run": programs("run"), "compare": programs("compare"),
                "mutate": mutants(seeds())}[kind]
    check = {"compile": check_compile, "run": check_run, "compare": check_compare,
             "mutate": lambda w, s, f: check_compile(w, s, f, "mutant")}[kind]

    @seed(the_seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def body(src):
        check(worker, src, figures)

    body()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--only", choices=KINDS, action="append")
    ap.add_argument("--findings", help="append each finding to this file as a JSON line, as found")
    args = ap.parse_args(argv)
    total = Figures()
    for kind in args.only or KINDS:
        figures = Figures(log=args.findings)
        with Worker() as worker:
            run_kind(kind, args.examples, args.seed, figures, worker)
        print(figures.report(f"{kind}: seed {args.seed}, {args.examples} examples"), flush=True)
        for k, v in figures.counts.items():
            total.counts[f"{kind}: {k}"] += v
        total.findings += [(kind + ": " + k, s, d) for k, s, d in figures.findings]
    for kind, src, detail in total.findings:
        print(f"\n=== {kind}\n{src}\n--- {detail[-2000:]}")
    return 1 if total.findings else 0


if __name__ == "__main__":
    sys.exit(main())
