"""Byte layouts of map keys, map values and printf records, as `.kt.meta` describes them.

Why a module: the compiler decides every layout and writes it into `.kt.meta`
(docs/object-format.md); user space must decode exactly those bytes — map keys and values read
with bpf() and printf records read from the ring buffer — and nothing else in the runtime should
know how. Everything here is pure: bytes in, Python values out.

The value types themselves (int, str, tuple, array, record, ksym, usym, stacks, probe) and
their decode/encode are kt.runtime.values; this module builds maps and printf records from
them and re-exports those names, so `from kt.runtime.layout import IntType, decode` keeps
working.

Per-CPU aggregations are reduced by `reduce_percpu` following the agg table of
docs/object-format.md; hist()/lhist() maps, whose entries span one BPF key per bucket, are
grouped by `group_buckets` (`map_entries` does either, for any map).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..compiler.formats.meta import (
    AGGS, HIST_AGGS, Lhist, MapMeta, PrintfArg, PrintfMeta, hist_k_buckets, percpu_value_size,
)
from .values import (
    STACK_LIMIT, STACK_MODES, ArrayType, ArrayValue, Bits, BufType, DecodeContext, InetType,
    IntType, KSym, KsymType, ProbeType, RecordField, RecordType, RecordValue, Stack, StackType,
    StrType, TupleType, Type, USym, UsymType, Value, decode, encode, type_from_json,
    type_to_json,
)

__all__ = [
    # re-exported from kt.runtime.values
    "IntType", "StrType", "TupleType", "ArrayType", "RecordType", "RecordField", "Bits",
    "KsymType", "UsymType", "StackType", "ProbeType", "InetType", "BufType",
    "Type", "Value", "KSym", "USym", "Stack", "ArrayValue", "RecordValue", "DecodeContext",
    "STACK_LIMIT", "STACK_MODES", "type_from_json", "type_to_json", "decode", "encode",
    # maps and printf records
    "AGGS", "HIST_AGGS", "HIST_MAX_INDEX", "Lhist", "MapMeta", "map_meta_from_json", "PrintfMeta",
    "PrintfArg", "printf_args",
    "Avg", "Stats", "Histogram", "reduce_percpu", "split_percpu", "percpu_value_size",
    "hist_buckets", "group_buckets", "map_entries",
]

_U64 = (1 << 64) - 1


def _u64(buf, offset: int) -> int:
    return int.from_bytes(buf[offset:offset + 8], "little")


# ---------------------------------------------------------------------------------------------
# Maps

# hist(): bpftrace 0.17 keeps 65 buckets per key (index 0 .. 64) in user space; its BPF log2
# only ever produces 0 .. 33 (see docs/object-format.md), the printers accept all 65.
HIST_MAX_INDEX = 64


def map_meta_from_json(d: Mapping[str, Any]) -> MapMeta:
    """A map's record of `.kt.meta` (kt.compiler.formats.meta.MapMeta.from_json)."""
    return MapMeta.from_json(d)


@dataclass(frozen=True, slots=True)
class Avg:
    """An avg() map value: the sums over all CPUs. `value` is what bpftrace prints."""
    total: int
    count: int

    @property
    def value(self) -> int:
        # bpftrace 0.17: `int64_t average = count ? total / count : 0` — C division,
        # truncated toward zero (avg(5), avg(-8) prints -1, not -2).
        if self.count == 0:
            return 0
        q = abs(self.total) // self.count
        return q if self.total >= 0 else -q


@dataclass(frozen=True, slots=True)
class Stats:
    """A stats() map value: the sums over all CPUs. 0.17 prints `count C, average A, total T`
    with count read as an int64 and A = T / C in C division (0 when C is 0)."""
    total: int
    count: int

    @property
    def value(self) -> int:
        """The average (what the entries are sorted by)."""
        count = _wrap(self.count, True)
        if count == 0:
            return 0
        q = abs(self.total) // abs(count)
        return q if (self.total >= 0) == (count > 0) else -q

    average = value


@dataclass(frozen=True, slots=True)
class Histogram:
    """A hist()/lhist() value of one user key: `counts[i]` is bucket i's count summed over CPUs.

    hist: 65 buckets (index 0 (..., 0), 1 [0], 2 [1], i >= 3 [2^(i-2), 2^(i-1))); lhist:
    Lhist.last + 1 buckets (0 (..., min), i [min + (i-1)*step, min + i*step), last [max, ...)).
    Buckets never written count 0."""
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        """The sum of all buckets, what 0.17 sorts the keys of a hist map by (as a u64)."""
        return sum(self.counts) & _U64


def hist_buckets(meta: MapMeta) -> int:
    """How many buckets a Histogram of this hist/lhist map has."""
    if meta.agg == "hist":
        return HIST_MAX_INDEX + 1 if meta.hist_bits is None else hist_k_buckets(meta.hist_bits)
    if meta.agg == "lhist" and meta.lhist is not None:
        return meta.lhist.last + 1
    raise ValueError(f"map {meta.name} is not a hist()/lhist() map")


_U64_TYPE = IntType(8, False)


def _slots(per_cpu: Iterable[bytes] | bytes) -> list:
    if isinstance(per_cpu, (bytes, bytearray, memoryview)):
        return [per_cpu]
    return list(per_cpu)


def group_buckets(meta: MapMeta, raw_items: Iterable[tuple[bytes, Iterable[bytes] | bytes]],
                  ctx: DecodeContext | None = None) -> list[tuple[Value | None, Histogram]]:
    """A hist()/lhist() map's raw entries as (user key, Histogram) pairs.

    `raw_items` are what the kernel hands back for the map (kt.runtime.maps.Map.items()): the
    BPF key (the user key, padding up to `meta.bucket_offset`, the u64 bucket index) and the
    per-CPU u64 counts. Entries are grouped by user key, CPUs summed (wrapping at 64 bits), the
    user key decoded with `decode(meta.key, key, ctx=ctx)` (None for a scalar map). The result
    is in the order of the user keys' bytes, as 0.17's std::map holds them before sorting."""
    nbuckets = hist_buckets(meta)
    off = meta.bucket_offset or 0
    user = 0 if meta.key is None else meta.key.size
    grouped: dict[bytes, list[int]] = {}
    for key, per_cpu in raw_items:
        key = bytes(key)
        if len(key) < off + 8:
            raise ValueError(f"map {meta.name}: a {len(key)}-byte key has no bucket index at "
                             f"offset {off}")
        bucket = _u64(key, off)
        if bucket >= nbuckets:
            raise ValueError(f"map {meta.name}: bucket index {bucket} out of range "
                             f"(0..{nbuckets - 1} for {meta.agg}())")
        count = sum(decode(_U64_TYPE, s) for s in _slots(per_cpu)) & _U64
        grouped.setdefault(key[:user], [0] * nbuckets)[bucket] = count
    return [(None if meta.key is None else decode(meta.key, k, ctx=ctx), Histogram(tuple(c)))
            for k, c in sorted(grouped.items())]


def map_entries(meta: MapMeta, raw_items: Iterable[tuple[bytes, Iterable[bytes] | bytes]],
                ctx: DecodeContext | None = None) -> list[tuple[Any, Any]]:
    """Any map's raw (key, per-CPU values) items as the (key, value) pairs the printers take
    (kt.runtime.output.text/json.format_map): hist/lhist through group_buckets, every other map
    key by key, the key decoded (None for a scalar map) and the value from reduce_percpu."""
    if meta.agg in HIST_AGGS:
        return group_buckets(meta, raw_items, ctx)
    if meta.agg == "tseries":
        from .tseries import group_intervals
        return group_intervals(meta, raw_items, ctx)
    return [(None if meta.key is None else decode(meta.key, k, ctx=ctx), reduce_percpu(meta, v, ctx))
            for k, v in raw_items]


def _wrap(v: int, signed: bool) -> int:
    """Reduce to 64 bits, as the C accumulators do when they overflow."""
    v &= _U64
    return v - (1 << 64) if signed and v >> 63 else v


def split_percpu(raw: bytes | bytearray | memoryview, value_size: int) -> list[bytes]:
    """Split a per-CPU lookup result into one slot per CPU.

    The kernel returns `ncpus_possible` slots, each `value_size` rounded up to 8 bytes."""
    stride = (value_size + 7) // 8 * 8
    if stride == 0 or len(raw) % stride:
        raise ValueError(f"per-CPU buffer of {len(raw)} bytes is not a multiple of {stride}")
    return [bytes(raw[i:i + value_size]) for i in range(0, len(raw), stride)]


def reduce_percpu(meta: MapMeta, per_cpu: Iterable[bytes] | bytes,
                  ctx: DecodeContext | None = None) -> Any:
    """The user-visible value of one map entry from its per-CPU slots (docs/object-format.md).

    - none: `decode(meta.value, slot, ctx)` of the single (not per-CPU) value,
    - count, sum: the sum over CPUs, wrapped to 64 bits (signed per `meta.value` for sum),
    - min, max: the min/max over CPUs whose `set` word is non-zero, or None if none is set,
    - avg: `Avg(total, count)` summed over CPUs; stats: `Stats(total, count)` the same way,
    - hist, lhist: not here, their entries span several BPF keys: see group_buckets.
    """
    if isinstance(per_cpu, (bytes, bytearray, memoryview)):
        per_cpu = [per_cpu]
    slots = list(per_cpu)
    agg = meta.agg
    if agg == "none":
        if len(slots) != 1:
            raise ValueError(f"map {meta.name} is not per-CPU; got {len(slots)} values")
        return decode(meta.value, slots[0], ctx=ctx)
    if not slots:
        raise ValueError(f"map {meta.name}: no per-CPU values")
    signed = meta.value.signed  # type: ignore[union-attr]  # MapMeta checked it is an IntType
    word = IntType(8, signed)
    if agg == "count":
        return _wrap(sum(decode(IntType(8, False), s) for s in slots), False)
    if agg == "sum":
        return _wrap(sum(decode(word, s) for s in slots), signed)
    if agg in ("min", "max"):
        vals = [decode(word, s) for s in slots if decode(IntType(8, False), s, 8) != 0]
        if not vals:
            return None
        return min(vals) if agg == "min" else max(vals)
    if agg in HIST_AGGS:
        raise ValueError(f"map {meta.name}: {agg}() entries span several keys; use group_buckets")
    # avg, stats
    total = _wrap(sum(decode(word, s) for s in slots), signed)
    count = _wrap(sum(decode(IntType(8, False), s, 8) for s in slots), False)
    return Avg(total, count) if agg == "avg" else Stats(total, count)


# ---------------------------------------------------------------------------------------------
# printf records

def printf_args(pf: PrintfMeta, record: bytes | bytearray | memoryview,
                ctx: DecodeContext | None = None) -> list[Value]:
    """The argument values of one printf record (which starts with the u64 event id).
    Symbolic values come back as KSym/USym/Stack/str, which kt.runtime.output.printf renders
    with `%s` as bpftrace does; decode when the record arrives, so user symbols are read
    while the process still exists."""
    return [decode(a.type, record, a.offset, ctx) for a in pf.args]
