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
