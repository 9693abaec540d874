"""kt's decoded values (runtime/values.py, runtime/layout.py) as plain Python values.

Why a module: the printers take decoded values with their types (KSym, Stack, Avg,
Histogram, bytes up to a NUL); API users want `int`, `str`, tuples and dicts they can compare
and key on. The rules are docs/api.md's tables: strings -> str, buf -> bytes, tuples and C
arrays -> tuple, structs -> dict, symbols and formatted values -> their printed text, stacks
-> a tuple of frames' text; avg -> its average, stats -> Stats, hist/lhist -> the Buckets
bpftrace prints, keyed maps -> dicts in bpftrace's print order.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import hist_buckets
from ..formatted import Formatted
from ..layout import Avg, Histogram, MapMeta
from ..layout import Stats as _Stats
from ..output.text import nonempty_range, sort_entries
from ..values import ArrayValue, BufValue, KSym, RecordValue, Stack, USym

_U64 = (1 << 64) - 1


class Stats(NamedTuple):
    """A stats() value, as bpftrace prints it: `count C, average A, total T`."""
    count: int
    average: int
    total: int


class Bucket(NamedTuple):
    """One hist()/lhist() bucket: low <= v < high (None: unbounded), and its count."""
    low: int | None
    high: int | None
    count: int


def python_value(v: Any) -> Any:
    """One decoded value (runtime/values.py decode) as a Python value."""
    if isinstance(v, bool) or isinstance(v, int):
        return v
    if isinstance(v, BufValue):
        return bytes(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "surrogateescape")
    if isinstance(v, str):
        return v
    if isinstance(v, tuple):
        return tuple(python_value(x) for x in v)
    if isinstance(v, ArrayValue):
        return tuple(python_value(x) for x in v.items)
    if isinstance(v, RecordValue):
        return {name: python_value(x) for name, x in v.fields}
    if isinstance(v, (KSym, USym, Formatted)):
        return v.text
    if isinstance(v, Stack):
        return tuple(text for _, text in v.frames or ())
    if isinstance(v, Avg):
        return v.value
    if isinstance(v, _Stats):
        count = v.count & _U64   # read as 0.17's int64, as the text printer does
        return Stats(count - (1 << 64) if count >> 63 else count, v.average, v.total)
    if v is None:
        return None
    raise TypeError(f"no Python value for {type(v).__name__}")


def buckets(meta: MapMeta, hist: Histogram, span: tuple[int, int] | None = None) -> list[Bucket]:
    """The buckets bpftrace prints for one histogram (runtime/output/text.py's range), or the
    indexes first..last of `span`, with their bounds: hist bucket 0 is (..., 0), 1 is [0], 2 is
    [1], i is [2^(i-2), 2^(i-1)); lhist bucket 0 is (..., min), i is [min + (i-1)*step,
    min + i*step), last [max, ...)."""
    if span is None:
        printed = nonempty_range(meta, hist.counts)
        if printed is None:
            return []
        span = printed[:2]
    first, last = span
    lh = meta.lhist
    out = []
    for i in range(first, last + 1):
        if lh is None and meta.hist_bits is not None:
            low, high = hist_buckets.bounds(i, meta.hist_bits)
        elif lh is None:
            low, high = ((None, 0) if i == 0 else (0, 1) if i == 1 else
                         (1 << (i - 2), 1 << (i - 1)))
        elif i == 0:
            low, high = None, lh.min
        elif i == lh.last:
            low, high = lh.max, None
        else:
            low, high = lh.min + (i - 1) * lh.step, lh.min + i * lh.step
        out.append(Bucket(low, high, hist.counts[i] & _U64))
    return out


class Interval(NamedTuple):
    """One tseries() interval: its start (CLOCK_REALTIME ns) and value (None: no value)."""
    start_ns: int
    value: int | None


def _tseries_value(meta: MapMeta, entries: list) -> Any:
    """A tseries() map: the intervals bpftrace prints for each key, as Interval lists."""
    from ..output.tseries import tai_to_wall_ns
    from ..tseries import shown_intervals
    step = meta.tseries.interval_ns
    offset = tai_to_wall_ns(0)
    shown = {python_value(k): [Interval(e * step + offset, v) for e, v in rows]
             for k, rows in shown_intervals(meta, entries)}
    if meta.key is None:
        if not shown:
            raise KeyError(meta.name)
        return shown[None]
    return shown


def map_value(meta: MapMeta, entries: list) -> Any:
    """A map's (key, value) entries (runtime/layout.py map_entries) as its Python value: the
    value of a scalar map (KeyError when it has none, as bpftrace prints nothing then; a
    count() map reads 0, as 0.17 prints `@: 0`), else a dict in bpftrace's print order."""
    items = list(entries)
    if meta.agg == "tseries":
        return _tseries_value(meta, items)
    if meta.key is None and meta.agg == "count" and not items:
        items = [(None, 0)]

    def value(v: Any) -> Any:
        return buckets(meta, v) if isinstance(v, Histogram) else python_value(v)

    if meta.key is None:
        if not items:
            raise KeyError(meta.name)
        return value(items[0][1])
    return {python_value(k): value(v) for k, v in sort_entries(meta, items)}


__all__ = ["Stats", "Bucket", "Interval", "python_value", "buckets", "map_value"]
