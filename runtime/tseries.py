"""tseries() maps (bpftrace 0.24): their BPF entries as one TimeSeries per user key.

A BPF key is the user key, padding to `bucket_offset`, then the ring bucket (epoch % intervals);
each CPU's slot is {i64 value, u64 meta, u64 epoch} (compiler/codegen/maps.py tseries_update),
epoch = CLOCK_TAI ns / interval_ns, 0 for a slot this CPU never wrote. A bucket's value is that
of its latest epoch, its CPUs combined as bpftrace does: none, the value with the latest write
time (meta); avg, the sums of values and counts divided (C division); min, max, sum.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Iterable

from ..compiler.formats.meta import MapMeta
from .values import DecodeContext, decode

__all__ = ["TimeSeries", "group_intervals", "shown_intervals"]

_SLOT = struct.Struct("<qQQ")
_U64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class TimeSeries:
    """One user key's intervals: epoch -> value (epochs of interval_ns since the TAI epoch)."""
    values: tuple[tuple[int, int], ...]   # (epoch, value), by epoch

    @property
    def latest(self) -> int:
        return self.values[-1][0] if self.values else 0


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _bucket_value(per_cpu: Iterable[bytes], agg: str, signed: bool) -> tuple[int, int] | None:
    """(epoch, value) of one ring bucket over its CPUs' slots; None if no CPU wrote it."""
    latest: dict[int, list[int]] = {}   # epoch -> [value, meta]
    for slot in per_cpu:
        value, meta, epoch = _SLOT.unpack_from(bytes(slot))
        if epoch == 0:
            continue
        if not signed:
            value &= _U64
        cur = latest.get(epoch)
        if cur is None:
            latest[epoch] = [value, meta]
        elif agg == "none":
            if meta > cur[1]:
                cur[0], cur[1] = value, meta
        elif agg == "avg":
            cur[0] += value
            cur[1] += meta
        elif agg == "sum":
            cur[0] += value
        else:
            cur[0] = min(cur[0], value) if agg == "min" else max(cur[0], value)
    if not latest:
        return None
    epoch = max(latest)
    value, meta = latest[epoch]
    if agg == "avg":
        value = _cdiv(value, meta) if meta else 0
    value &= _U64
    if signed and value >> 63:
        value -= 1 << 64
    return epoch, value


def group_intervals(meta: MapMeta, raw_items: Iterable[tuple[bytes, Any]],
                    ctx: DecodeContext | None = None) -> list[tuple[Any, TimeSeries]]:
    """A tseries() map's raw items as (user key, TimeSeries) pairs, by the user key's bytes."""
    assert meta.tseries is not None
    agg = meta.tseries.agg
    signed = bool(getattr(meta.value, "signed", True))
    user = 0 if meta.key is None else meta.key.size
    grouped: dict[bytes, dict[int, int]] = {}
    for key, per_cpu in raw_items:
        key = bytes(key)
        slots = [per_cpu] if isinstance(per_cpu, (bytes, bytearray, memoryview)) else list(per_cpu)
        got = _bucket_value(slots, agg, signed)
        series = grouped.setdefault(key[:user], {})
        if got is not None:
            series[got[0]] = got[1]
    return [(None if meta.key is None else decode(meta.key, k, ctx=ctx), TimeSeries(tuple(sorted(v.items()))))
            for k, v in sorted(grouped.items()) if v]


def shown_intervals(meta: MapMeta, entries: list[tuple[Any, TimeSeries]]) -> list[tuple[Any, list]]:
    """What bpftrace prints of each key: the last `intervals` epochs up to the latest epoch
    of the whole map, from the key's first epoch among them; [(epoch, value or None), ...].
    Keys go from the least to the most recently updated (ties: by key)."""
    assert meta.tseries is not None
    if not entries:
        return []
    last = max(ts.latest for _, ts in entries)
    first = last - meta.tseries.intervals + 1
    out = []
    for key, ts in sorted(entries, key=lambda e: e[1].latest):   # stable: key order within ties
        values = dict(ts.values)
        inside = [e for e in values if e >= first]
        start = min(inside) if inside else last
        out.append((key, [(e, values.get(e)) for e in range(max(start, first), last + 1)]))
    return out
