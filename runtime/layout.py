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

from .values import (
    STACK_LIMIT, STACK_MODES, ArrayType, ArrayValue, Bits, BufType, DecodeContext, InetType,
    IntType, KSym, KsymType, ProbeType, RecordField, RecordType, RecordValue, Stack, StackType,
    StrType, TupleType, Type, USym, UsymType, Value, decode, encode, required, type_from_json,
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
    "Avg", "Stats", "Histogram", "reduce_percpu", "split_percpu", "percpu_value_size",
    "hist_buckets", "group_buckets", "map_entries",
]

_U64 = (1 << 64) - 1


def _u64(buf, offset: int) -> int:
    return int.from_bytes(buf[offset:offset + 8], "little")


# ---------------------------------------------------------------------------------------------
# Maps

AGGS = ("none", "count", "sum", "min", "max", "avg", "stats", "hist", "lhist")
HIST_AGGS = ("hist", "lhist")

# hist(): bpftrace 0.17 keeps 65 buckets per key (index 0 .. 64) in user space; its BPF log2
# only ever produces 0 .. 33 (see docs/object-format.md), the printers accept all 65.
HIST_MAX_INDEX = 64


@dataclass(frozen=True, slots=True)
class Lhist:
    """lhist(v, min, max, step)'s parameters (the meta's "lhist" object)."""
    min: int
    max: int
    step: int

    def __post_init__(self) -> None:
        for f in ("min", "max", "step"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool):
                raise ValueError(f"lhist {f} must be an integer, not {v!r}")
        if self.step <= 0 or self.max <= self.min:
            raise ValueError(f"lhist needs min < max and step > 0, not "
                             f"({self.min}, {self.max}, {self.step})")

    @property
    def buckets(self) -> int:
        """The in-range buckets, [min, min+step) ...: (max - min) / step (0.17's `buckets`)."""
        return (self.max - self.min) // self.step

    @property
    def last(self) -> int:
        """The index of the overflow bucket [max, ...); 0 is the underflow (..., min)."""
        return self.buckets + 1


@dataclass(frozen=True, slots=True)
class MapMeta:
    name: str              # "@x", "@" — as the user wrote it; also the print order key
    bpf_name: str          # symbol in .maps ("AT_x")
    agg: str               # one of AGGS
    key: Type | None       # None: a scalar map (BPF key is a u64 0)
    value: Type            # the user-visible value (for aggs: the integer's signedness)
    # hist/lhist: the byte offset of the u64 bucket index in the BPF key (the user key's size
    # rounded up to 8; 0 for a scalar map, whose BPF key is only the bucket index)
    bucket_offset: int | None = None
    lhist: Lhist | None = None   # lhist: min, max, step

    def __post_init__(self) -> None:
        if self.agg not in AGGS:
            raise ValueError(f"map {self.name}: unknown agg '{self.agg}'")
        if self.agg != "none" and not isinstance(self.value, IntType):
            raise ValueError(f"map {self.name}: {self.agg}() maps hold integers, not {self.value}")
        if self.agg in HIST_AGGS:
            off = self.bucket_offset
            if not isinstance(off, int) or isinstance(off, bool):
                raise ValueError(f"map {self.name}: {self.agg}() maps need a bucket_offset")
            user = 0 if self.key is None else self.key.size
            if off < user or off % 8:
                raise ValueError(f"map {self.name}: bucket_offset {off} must be a multiple of 8 "
                                 f"at or past the key's {user} bytes")
        elif self.bucket_offset is not None:
            raise ValueError(f"map {self.name}: only hist/lhist maps have a bucket_offset")
        if (self.agg == "lhist") != (self.lhist is not None):
            raise ValueError(f"map {self.name}: an lhist() map, and only it, has 'lhist' parameters")

    @property
    def percpu(self) -> bool:
        return self.agg != "none"

    @property
    def bucketed(self) -> bool:
        """hist/lhist: the BPF key is the user key, then a u64 bucket index."""
        return self.agg in HIST_AGGS

    @property
    def key_size(self) -> int:
        """Bytes of the BPF key."""
        if self.agg in HIST_AGGS:
            return self.bucket_offset + 8   # type: ignore[operator]  # checked in __post_init__
        return 8 if self.key is None else self.key.size

    @property
    def value_size(self) -> int:
        """Bytes of one BPF value (one CPU's slot for per-CPU maps, before 8-byte rounding)."""
        return percpu_value_size(self.agg, self.value)


def percpu_value_size(agg: str, value: Type) -> int:
    if agg in ("min", "max", "avg", "stats"):
        return 16          # {i64 value|total; u64 set|count}
    if agg in ("count", "sum", "hist", "lhist"):
        return 8
    return value.size


def map_meta_from_json(d: Mapping[str, Any]) -> MapMeta:
    name = required(d, "name", str, "map")
    what = f"map {name}"
    key = d.get("key") if isinstance(d, Mapping) else None
    if key is not None and not isinstance(key, Mapping):
        raise ValueError(f"{what}: 'key' must be a type object or null")
    agg = required(d, "agg", str, what)
    lhist = None
    if "lhist" in d:
        p = required(d, "lhist", dict, what)
        lhist = Lhist(*(required(p, f, int, f"{what} lhist") for f in ("min", "max", "step")))
    return MapMeta(
        name=name,
        bpf_name=required(d, "bpf_name", str, what),
        agg=agg,
        key=None if key is None else type_from_json(key),
        value=type_from_json(required(d, "value", dict, what)),
        bucket_offset=required(d, "bucket_offset", int, what) if "bucket_offset" in d else None,
        lhist=lhist,
    )


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
        return HIST_MAX_INDEX + 1
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

@dataclass(frozen=True, slots=True)
class PrintfMeta:
    id: int
    format: str
    args: tuple[tuple[int, Type], ...]   # (offset from the record start, type)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "PrintfMeta":
        pid = required(d, "id", int, "printf")
        what = f"printf {pid}"
        return cls(pid, required(d, "format", str, what), tuple(
            (required(a, "offset", int, f"{what} argument"),
             type_from_json(required(a, "type", dict, f"{what} argument")))
            for a in required(d, "args", list, what)))

    def decode_args(self, record: bytes | bytearray | memoryview,
                    ctx: DecodeContext | None = None) -> list[Value]:
        """The argument values of one event record (which starts with the u64 event id).
        Symbolic values come back as KSym/USym/Stack/str, which kt.runtime.output.printf
        renders with `%s` as bpftrace does; decode when the record arrives, so user symbols
        are read while the process still exists."""
        return [decode(t, record, off, ctx) for off, t in self.args]
