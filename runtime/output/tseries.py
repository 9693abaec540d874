"""tseries() maps printed as bpftrace 0.26 prints them: an ASCII chart per key, and JSON.

    @:
                 -5                                                  5
    hh:mm:ss.ms  |___________________________________________________|
    10:39:49.300 *                         .                         | -5
    10:39:49.400 |    *                    .                         | -4
    ...
                 v___________________________________________________v
                 -5                                                  5

One row per interval (runtime/tseries.py shown_intervals): its start in local wall-clock time
(seconds, then the fraction in the unit of the interval: ms, μs or ns; none for >= 1 s), the
53-column graph with `*` at (v - min) * 52 / (max - min) (single precision, truncated), a `.`
on the zero column when min < 0 < max, and the value (`-` for an interval without one). When
every value is equal the scale is min - 1 .. max + 1. Each key's chart is followed by a blank
line; keys print as `@name[key]:` (bpftrace 0.26's header, without 0.17's trailing space).
"""

from __future__ import annotations

import struct
import time
from typing import Any, Callable

from ..layout import MapMeta
from ..tseries import TimeSeries, shown_intervals

__all__ = ["format_text", "format_json", "tai_to_wall_ns"]

GRAPH = 53
PADDING = 21
_UNITS = ((1_000_000_000, "s", 0), (1_000_000, "ms", 3), (1_000, "μs", 6), (1, "ns", 9))


def tai_to_wall_ns(tai_ns: int) -> int:
    """CLOCK_TAI ns as CLOCK_REALTIME ns. They differ by the kernel's TAI offset, whole seconds
    (adjtimex's tai): the two clocks, read one after the other, give it rounded."""
    diff = time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_TAI)
    return tai_ns + round(diff / 1e9) * 1_000_000_000


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _offset(width: int, num: int, den: int) -> int:
    """(float)width * (float)num / (float)den, truncated: bpftrace's single-precision column."""
    return int(_f32(_f32(_f32(float(width)) * _f32(float(num))) / _f32(float(den))))


def _unit(rows: list) -> tuple[int, str, int]:
    """The display unit of the interval between the rows' starts (ns for a single row)."""
    interval = (rows[-1][0] - rows[0][0]) // (len(rows) - 1 if len(rows) > 1 else 1)
    for scale, name, digits in _UNITS:
        if interval >= scale:
            return scale, name, digits
    return 1, "ns", 9


def _stamp(wall_ns: int, scale: int, digits: int) -> str:
    s, ns = divmod(wall_ns, 1_000_000_000)
    text = time.strftime("%H:%M:%S", time.localtime(s))
    return text + (f".{ns // scale:0{digits}d}" if digits else "")


def _chart(rows: list, interval_ns: int, wall: Callable[[int], int]) -> str:
    """One key's chart; rows are (epoch, value or None)."""
    values = [v for _, v in rows if v is not None]
    lo, hi = (min(values), max(values)) if values else (0, 0)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    starts = [(wall(e * interval_ns), v) for e, v in rows]
    scale, unit, digits = _unit(starts)
    fmt = "hh:mm:ss" + (f".{unit}" if digits else "")
    size = 8 + (1 + digits if digits else 0)
    pad = lambda text, width: text + " " * max(0, width - len(text.encode()))  # noqa: E731  (bytes, as setw)
    scale_line = " " * (size + 1) + f"{lo:<{PADDING}}" + f"{hi:>{GRAPH - PADDING}}" + "\n"
    out = [scale_line, pad(fmt, size + 1) + "|" + "_" * (GRAPH - 2) + "|\n"]
    zero = _offset(GRAPH, -lo, hi - lo) if lo < 0 < hi else 0
    for wall_ns, v in starts:
        line = [" "] * GRAPH
        line[0] = line[-1] = "|"
        if zero > 0:
            line[zero] = "."
        if v is None:
            out.append(f"{_stamp(wall_ns, scale, digits)} {''.join(line)} -\n")
            continue
        col = _offset(GRAPH - 1, v - lo, hi - lo)
        line[max(0, min(GRAPH - 1, col))] = "*"
        out.append(f"{_stamp(wall_ns, scale, digits)} {''.join(line)} {v}\n")
    out.append(" " * size + " v" + "_" * (GRAPH - 2) + "v\n")
    out.append(scale_line)
    return "".join(out)


def format_text(meta: MapMeta, entries: list[tuple[Any, TimeSeries]],
                format_key: Callable[[MapMeta, Any], str]) -> str:
    """Every key's `@name[key]:` line, chart and blank line ("" for an empty map)."""
    assert meta.tseries is not None
    offset = tai_to_wall_ns(0)
    wall = lambda ns: ns + offset  # noqa: E731
    return "".join(f"{meta.name}{format_key(meta, k)}:\n{_chart(rows, meta.tseries.interval_ns, wall)}\n"
                   for k, rows in shown_intervals(meta, entries))


def _utc(wall_ns: int) -> str:
    s, ns = divmod(wall_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s)) + f".{ns:09d}"


def format_json(meta: MapMeta, entries: list[tuple[Any, TimeSeries]]) -> list[tuple[Any, str]]:
    """Each key's JSON array of {"interval_start": "YYYY-MM-DD HH:MM:SS.nnnnnnnnn" (UTC),
    "value": v or null}, in print order."""
    assert meta.tseries is not None
    offset = tai_to_wall_ns(0)
    step = meta.tseries.interval_ns
    return [(k, "[" + ",".join(
        f'{{"interval_start": "{_utc(e * step + offset)}", "value": {"null" if v is None else v}}}'
        for e, v in rows) + "]") for k, rows in shown_intervals(meta, entries)]
