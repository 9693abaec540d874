"""What every benchmark module returns to tests/bench/bench.py: one Row per measure.

Each module (startup, events, attach, kernel_cost, symbols) has `measure(runs: int) -> list[Row]`;
it runs kt and bpftrace 0.17 alternately in the same process, `runs` times each, and reports
medians. bench.py prints the rows as one table, writes docs/performance.md and the chart.
Benchmarks print; nothing here asserts.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    group: str            # "events", "startup", "attach", "in-kernel", "symbols"
    measure: str          # what was measured, e.g. "1M printf events: wall"
    kt: float             # kt's median
    bpftrace: float       # bpftrace 0.17's median in the same run (nan: it cannot do this)
    unit: str             # "s", "ms", "MiB", "ns/event", "lines", "events lost", "insns"
    target: str = ""      # the target as text, e.g. "<= 1.0x", "0 lost", "< 3 s"
    met: bool | None = None   # whether kt reached the target (None: no target)
    detail: str = ""      # anything a reader needs (lost counts, versions, why not met)

    @property
    def ratio(self) -> float:
        return self.kt / self.bpftrace if self.bpftrace else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_rows(rows: list[Row]) -> None:
    """The rows as one benchmark prints them when run on its own."""
    print(f"{'measure':46} {'kt':>12} {'bpftrace':>12} {'unit':12} {'kt/bt':>7}  target")
    for r in rows:
        status = "" if r.met is None else ("met" if r.met else "NOT met")
        print(f"{r.measure[:46]:46} {r.kt:12.4g} {r.bpftrace:12.4g} {r.unit[:12]:12} {r.ratio:6.2f}x  "
              f"{r.target} {status}  {r.detail}")


def main_for(measure, default_runs: int = 3) -> None:
    """`python3 tests/bench/NAME.py [--runs N]`: one module's rows."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=default_runs)
    print_rows(measure(ap.parse_args().runs))
