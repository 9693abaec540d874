"""Byte layouts of map keys, map values and printf records, as `.kt.meta` describes them.

Why a module: the compiler decides every layout and writes it into `.kt.meta`
(docs/object-format.md); user space must decode exactly those bytes — map keys and values read
with bpf() and printf records read from the ring buffer — and nothing else in the runtime should
know how. Everything here is pure: bytes in, Python values out.

Decoded values:
- `IntType`  -> `int` (sign per the type; little-endian),
- `StrType`  -> `bytes` up to the first NUL (or all `size` bytes when there is none), the way
  bpftrace 0.17 reads a string (`strnlen(p, size)`),
- `TupleType` -> `tuple` of the decoded fields, in field order,
- `KsymType` -> `KSym`, `UsymType` -> `USym`, `StackType` (kstack/ustack) -> `Stack`: the raw
  address/stack id with the text to print, resolved at decode time through a `DecodeContext`
  (kt.runtime.symbols.ValueContext reads /proc/kallsyms, the process's mappings and the
  STACK_TRACE map); without a context addresses print as hex and stacks as unreadable,
- `ProbeType` -> `str`, the probe's name from the meta's `probe_names` (through the context).

Per-CPU aggregations are reduced by `reduce_percpu` following the agg table of
docs/object-format.md; hist()/lhist() maps, whose entries span one BPF key per bucket, are
grouped by `group_buckets` (`map_entries` does either, for any map).
"""

from __future__ import annotations

import socket

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol, Union

__all__ = [
    "IntType", "StrType", "TupleType", "KsymType", "UsymType", "StackType", "ProbeType",
    "Type", "Value", "KSym", "USym", "Stack", "DecodeContext", "STACK_LIMIT",
    "type_from_json", "type_to_json", "decode", "encode",
    "AGGS", "HIST_AGGS", "HIST_MAX_INDEX", "Lhist", "MapMeta", "map_meta_from_json", "PrintfMeta",
    "Avg", "Stats", "Histogram", "reduce_percpu", "split_percpu", "percpu_value_size",
    "hist_buckets", "group_buckets", "map_entries",
]

_INT_SIZES = (1, 2, 4, 8)
_U64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class IntType:
    size: int        # bytes: 1, 2, 4 or 8
    signed: bool

    def __post_init__(self) -> None:
        if self.size not in _INT_SIZES:
            raise ValueError(f"integer size must be one of {_INT_SIZES}, not {self.size}")

    def __str__(self) -> str:
        return f"{'' if self.signed else 'u'}int{self.size * 8}"


@dataclass(frozen=True, slots=True)
class StrType:
    size: int        # bytes, NUL included when the string is shorter

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError(f"string size must be positive, not {self.size}")

    def __str__(self) -> str:
        return f"string[{self.size}]"


@dataclass(frozen=True, slots=True)
class TupleType:
    size: int
    fields: tuple[tuple[int, "Type"], ...]   # (offset, type), in order

    def __post_init__(self) -> None:
        end = 0
        for off, t in self.fields:
            if off < end:
                raise ValueError(f"tuple field at offset {off} overlaps the previous field")
            end = off + t.size
        if end > self.size:
            raise ValueError(f"tuple fields end at {end}, past the tuple size {self.size}")

    def __str__(self) -> str:
        return "(" + ", ".join(str(t) for _, t in self.fields) + ")"


@dataclass(frozen=True, slots=True)
class KsymType:
    """ksym(addr): a u64 kernel address."""
    size: int = 8

    def __post_init__(self) -> None:
        _fixed_size("ksym", self.size, 8)

    def __str__(self) -> str:
        return "ksym"


@dataclass(frozen=True, slots=True)
class BufType:
    """buf(): {u64 length; `size - 8` bytes}; decodes to the `length` bytes."""
    size: int

    def __str__(self) -> str:
        return "buf"


@dataclass(frozen=True, slots=True)
class InetType:
    """ntop(): {u64 address family; 16 bytes of address}, printed as inet_ntop(3) does."""
    size: int = 24

    def __post_init__(self) -> None:
        _fixed_size("inet", self.size, 24)

    def __str__(self) -> str:
        return "inet"


@dataclass(frozen=True, slots=True)
class UsymType:
    """usym(addr): {u64 addr; u64 pid}."""
    size: int = 16

    def __post_init__(self) -> None:
        _fixed_size("usym", self.size, 16)

    def __str__(self) -> str:
        return "usym"


STACK_LIMIT = 127          # frames in a kt_stacks value (PERF_MAX_STACK_DEPTH)
STACK_MODES = ("bpftrace", "perf")


@dataclass(frozen=True, slots=True)
class StackType:
    """kstack: {s64 stack id}; ustack: {s64 stack id; u64 pid}. `mode` is bpftrace's stack
    mode (`ustack(perf)`), `limit` the frame count asked for (`kstack(3)`)."""
    user: bool
    mode: str = "bpftrace"
    limit: int = STACK_LIMIT

    def __post_init__(self) -> None:
        if self.mode not in STACK_MODES:
            raise ValueError(f"stack mode must be one of {STACK_MODES}, not {self.mode!r}")
        if not 1 <= self.limit <= STACK_LIMIT:
            raise ValueError(f"stack limit must be 1..{STACK_LIMIT}, not {self.limit}")

    @property
    def size(self) -> int:
        return 16 if self.user else 8

    def __str__(self) -> str:
        return "ustack" if self.user else "kstack"


@dataclass(frozen=True, slots=True)
class ProbeType:
    """probe (or func): a u64 index into the meta's `probe_names` (or `func_names`)."""
    size: int = 8
    names: str = "probe"   # "probe" | "func": which list the index reads

    def __post_init__(self) -> None:
        _fixed_size(self.names, self.size, 8)

    def __str__(self) -> str:
        return self.names


def _fixed_size(kind: str, size: int, want: int) -> None:
    if size != want:
        raise ValueError(f"{kind} values are {want} bytes, not {size}")


Type = Union[IntType, StrType, TupleType, KsymType, UsymType, StackType, ProbeType, InetType]


@dataclass(frozen=True, slots=True)
class KSym:
    """A decoded ksym(): the address and what bpftrace prints for it (`vfs_read`, `0x11`)."""
    addr: int
    text: str


@dataclass(frozen=True, slots=True)
class USym:
    """A decoded usym(): address, process and the printed symbol (`malloc`, `0x7f3a...`)."""
    addr: int
    pid: int
    text: str


@dataclass(frozen=True, slots=True)
class Stack:
    """A decoded kstack/ustack. `frames` are (address, printed symbol) up to the first zero
    address, or None when the stack id could not be read (bpftrace prints nothing then)."""
    user: bool
    stack_id: int
    pid: int | None
    frames: tuple[tuple[int, str], ...] | None
    mode: str = "bpftrace"


Value = Union[int, bytes, tuple, KSym, USym, Stack, str]


class DecodeContext(Protocol):
    """What decode() asks about symbolic values; kt.runtime.symbols.ValueContext is the real
    one (it reads the kernel and /proc, which this module never does)."""

    def ksym(self, addr: int) -> KSym: ...
    def usym(self, addr: int, pid: int) -> USym: ...
    def stack(self, user: bool, stack_id: int, pid: int | None, mode: str, limit: int) -> Stack: ...
    def probe(self, index: int) -> str: ...


def _hex(addr: int) -> str:
    return "0" if addr == 0 else f"0x{addr:x}"


class _NoContext:
    """decode() without a context: hex addresses, unreadable stacks, probe numbers."""

    def ksym(self, addr: int) -> KSym:
        return KSym(addr, _hex(addr))

    def usym(self, addr: int, pid: int) -> USym:
        return USym(addr, pid, _hex(addr))

    def stack(self, user: bool, stack_id: int, pid: int | None, mode: str, limit: int) -> Stack:
        return Stack(user, stack_id, pid, None, mode)

    def probe(self, index: int) -> str:
        return f"<probe {index}>"


_NO_CONTEXT = _NoContext()


def _req(d: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    if not isinstance(d, Mapping) or key not in d:
        raise ValueError(f"{what}: missing '{key}'")
    v = d[key]
    # bool is an int subclass; keep "size": true out
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise ValueError(f"{what}: '{key}' must be {kind.__name__}, not {type(v).__name__}")
    return v


def type_from_json(d: Mapping[str, Any]) -> Type:
    """Parse a `.kt.meta` type object; ValueError on anything malformed."""
    kind = _req(d, "kind", str, "type")
    if kind in _SYMBOLIC:
        # the size is implied by the kind; when given it must agree
        size = _req(d, "size", int, f"{kind} type") if "size" in d else None
        if kind in ("kstack", "ustack"):
            mode = d.get("mode", "bpftrace")
            limit = d.get("limit", STACK_LIMIT)
            if not isinstance(mode, str) or not isinstance(limit, int) or isinstance(limit, bool):
                raise ValueError(f"{kind} type: 'mode' must be str and 'limit' int")
            t: Type = StackType(kind == "ustack", mode, limit)
            if size is not None and size != t.size:
                raise ValueError(f"{kind} values are {t.size} bytes, not {size}")
            return t
        if kind == "inet":
            return InetType()
        if kind == "buf":
            return BufType(size if size is not None else 72)
        if kind == "func":
            return ProbeType(8 if size is None else size, "func")
        cls = _SYMBOLIC[kind]
        return cls() if size is None else cls(size)
    size = _req(d, "size", int, f"{kind} type")
    if kind == "int":
        return IntType(size, _req(d, "signed", bool, "int type"))
    if kind == "str":
        return StrType(size)
    if kind == "tuple":
        fields = _req(d, "fields", list, "tuple type")
        return TupleType(size, tuple(
            (_req(f, "offset", int, "tuple field"), type_from_json(_req(f, "type", dict, "tuple field")))
            for f in fields))
    raise ValueError(f"unknown type kind '{kind}'")


_SYMBOLIC: dict[str, Any] = {"ksym": KsymType, "usym": UsymType, "probe": ProbeType, "func": ProbeType,
                              "inet": InetType, "buf": BufType,
                              "kstack": StackType, "ustack": StackType}


def type_to_json(t: Type) -> dict:
    if isinstance(t, StackType):
        d: dict = {"kind": str(t), "size": t.size}
        if t.mode != "bpftrace":
            d["mode"] = t.mode
        if t.limit != STACK_LIMIT:
            d["limit"] = t.limit
        return d
    if isinstance(t, (KsymType, UsymType, ProbeType)):
        return {"kind": str(t), "size": t.size}
    if isinstance(t, IntType):
        return {"kind": "int", "size": t.size, "signed": t.signed}
    if isinstance(t, StrType):
        return {"kind": "str", "size": t.size}
    return {"kind": "tuple", "size": t.size,
            "fields": [{"offset": o, "type": type_to_json(f)} for o, f in t.fields]}


def _u64(buf, offset: int, signed: bool = False) -> int:
    return int.from_bytes(buf[offset:offset + 8], "little", signed=signed)


def decode(t: Type, buf: bytes | bytearray | memoryview, offset: int = 0,
           ctx: DecodeContext | None = None) -> Value:
    """Decode the value of type `t` stored at `buf[offset:]`; symbolic values (ksym, usym,
    stacks, probe) are resolved through `ctx`."""
    end = offset + t.size
    if offset < 0 or end > len(buf):
        raise ValueError(f"{t} at offset {offset} needs {end} bytes, buffer has {len(buf)}")
    if isinstance(t, IntType):
        return int.from_bytes(buf[offset:end], "little", signed=t.signed)
    if isinstance(t, StrType):
        raw = bytes(buf[offset:end])
        nul = raw.find(b"\0")
        return raw if nul < 0 else raw[:nul]
    if isinstance(t, TupleType):
        return tuple(decode(f, buf, offset + o, ctx) for o, f in t.fields)
    c = ctx if ctx is not None else _NO_CONTEXT
    if isinstance(t, BufType):
        length = min(int.from_bytes(buf[offset:offset + 8], "little"), t.size - 8)
        return bytes(buf[offset + 8:offset + 8 + length])
    if isinstance(t, InetType):
        family = int.from_bytes(buf[offset:offset + 8], "little")
        raw = bytes(buf[offset + 8:offset + 24])
        if family == socket.AF_INET6:
            return socket.inet_ntop(socket.AF_INET6, raw)
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    if isinstance(t, KsymType):
        return c.ksym(_u64(buf, offset))
    if isinstance(t, UsymType):
        return c.usym(_u64(buf, offset), _u64(buf, offset + 8))
    if isinstance(t, StackType):
        pid = _u64(buf, offset + 8) if t.user else None
        return c.stack(t.user, _u64(buf, offset, signed=True), pid, t.mode, t.limit)
    if isinstance(t, ProbeType):
        return c.func(_u64(buf, offset)) if t.names == "func" else c.probe(_u64(buf, offset))
    raise TypeError(f"cannot decode {t!r}")


def encode(t: Type, value: Value) -> bytes:
    """The inverse of `decode` (strings are NUL-padded; ints wrap to the type's width).

    Used by tests and by anything that must build a key (lookups, deletes). Symbolic types
    take their raw values: ksym/probe an int (or KSym), usym (addr, pid) (or USym), stacks
    a stack id (kstack) or (stack id, pid) (ustack), or a Stack."""
    if isinstance(t, (KsymType, ProbeType)):
        v = value.addr if isinstance(value, KSym) else value
        return encode(IntType(8, False), v)
    if isinstance(t, UsymType):
        addr, pid = (value.addr, value.pid) if isinstance(value, USym) else value
        return encode(IntType(8, False), addr) + encode(IntType(8, False), pid)
    if isinstance(t, StackType):
        if isinstance(value, Stack):
            value = (value.stack_id, value.pid or 0) if t.user else value.stack_id
        if t.user:
            sid, pid = value
            return encode(IntType(8, True), sid) + encode(IntType(8, False), pid)
        return encode(IntType(8, True), value)
    if isinstance(t, IntType):
        if not isinstance(value, int):
            raise TypeError(f"{t} needs an int, not {type(value).__name__}")
        return (value & ((1 << (8 * t.size)) - 1)).to_bytes(t.size, "little")
    if isinstance(t, StrType):
        if isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        if not isinstance(value, (bytes, bytearray)):
            raise TypeError(f"{t} needs bytes, not {type(value).__name__}")
        if len(value) > t.size:
            raise ValueError(f"{len(value)} bytes do not fit {t}")
        return bytes(value).ljust(t.size, b"\0")
    if not isinstance(value, tuple) or len(value) != len(t.fields):
        raise TypeError(f"{t} needs a tuple of {len(t.fields)} values")
    out = bytearray(t.size)
    for (off, ft), v in zip(t.fields, value):
        out[off:off + ft.size] = encode(ft, v)
    return bytes(out)


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
    name = _req(d, "name", str, "map")
    what = f"map {name}"
    key = d.get("key") if isinstance(d, Mapping) else None
    if key is not None and not isinstance(key, Mapping):
        raise ValueError(f"{what}: 'key' must be a type object or null")
    agg = _req(d, "agg", str, what)
    lhist = None
    if "lhist" in d:
        p = _req(d, "lhist", dict, what)
        lhist = Lhist(*(_req(p, f, int, f"{what} lhist") for f in ("min", "max", "step")))
    return MapMeta(
        name=name,
        bpf_name=_req(d, "bpf_name", str, what),
        agg=agg,
        key=None if key is None else type_from_json(key),
        value=type_from_json(_req(d, "value", dict, what)),
        bucket_offset=_req(d, "bucket_offset", int, what) if "bucket_offset" in d else None,
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
        pid = _req(d, "id", int, "printf")
        what = f"printf {pid}"
        return cls(pid, _req(d, "format", str, what), tuple(
            (_req(a, "offset", int, f"{what} argument"), type_from_json(_req(a, "type", dict, f"{what} argument")))
            for a in _req(d, "args", list, what)))

    def decode_args(self, record: bytes | bytearray | memoryview,
                    ctx: DecodeContext | None = None) -> list[Value]:
        """The argument values of one event record (which starts with the u64 event id).
        Symbolic values come back as KSym/USym/Stack/str, which kt.runtime.output.printf
        renders with `%s` as bpftrace does; decode when the record arrives, so user symbols
        are read while the process still exists."""
        return [decode(t, record, off, ctx) for off, t in self.args]
