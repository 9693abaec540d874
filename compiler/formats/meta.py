"""The `.kt.meta` section as typed records: what the compiler writes and the runtime reads.

Why one schema module: `.kt.meta` is the contract between compiler and runtime (and any other
reader of kt's objects; docs/object-format.md). The compiler builds an `ObjectMeta` and
serializes it with `to_json()`; the runtime parses it with `ObjectMeta.from_json()`, which
checks every field and raises one `MetaError` naming the first bad one
(`.kt.meta: maps[2].agg: unknown aggregation 'foo'`), and then reads attributes only. Every
record is frozen. Optional fields are left out of the JSON when they hold their default, so
objects stay small.

Versioning: `version` is the object format. A reader takes every version up to
FORMAT_VERSION (older objects lack the fields added since, which have defaults) and refuses a
newer one with a message saying to rebuild or upgrade. Change the shape of `.kt.meta` (a new
field, a changed meaning) and FORMAT_VERSION goes up by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

from .meta_probes import (
    ATTACH_KINDS, Attach, FuncAttach, KprobeAttach, NameAttach, PerfEventAttach, ProbeMeta, SpecialAttach,
    TracepointAttach, UprobeAttach, UprobeTarget, WatchpointAttach, PacketAttach, attach_from_json,
)
from .meta_read import MetaError, _at, _checked, _get, _json_name, _list, _obj, _only, _strs, _type
from .value_types import IntType, TupleType, Type, type_to_json

__all__ = [
    "FORMAT_VERSION", "KT_VERSION", "MetaError", "ObjectMeta", "ProbeMeta", "MapMeta", "Lhist", "PrintfMeta",
    "PrintfArg", "EventsMeta", "HelperErrorSite", "KernelBtf", "Attach", "SpecialAttach",
    "TracepointAttach", "KprobeAttach", "UprobeAttach", "UprobeTarget", "PerfEventAttach",
    "FuncAttach", "NameAttach", "WatchpointAttach", "PacketAttach", "Positionals", "PositionalSlot", "ATTACH_KINDS", "AGGS", "HIST_AGGS", "BUCKETED_AGGS", "Tseries",
    "PRINTF_ACTIONS", "attach_from_json", "percpu_value_size", "tracepoint_layout_digest",
]

FORMAT_VERSION = 3   # 1: untyped; 2: kt_version, kernel_btf, printf sizes, typed attach records;
                     # 3: events.full/full_maps (new keys a full map refused), read_errors
KT_VERSION = "0.1.0"   # pyproject.toml's version (tests/compiler/test_meta_schema.py checks)
VMLINUX_BTF = "/sys/kernel/btf/vmlinux"


# ---- maps -------------------------------------------------------------------------------------

AGGS = ("none", "count", "sum", "min", "max", "avg", "stats", "hist", "lhist", "tseries")
HIST_AGGS = ("hist", "lhist")
BUCKETED_AGGS = ("hist", "lhist", "tseries")   # BPF key: the user key, then a u64 bucket index
TSERIES_FUNCS = ("none", "avg", "max", "min", "sum")   # tseries()'s 4th argument ("none": absent)
TSERIES_MAX_INTERVALS = 1000


@dataclass(frozen=True, slots=True)
class Tseries:
    """tseries(v, interval_ns, intervals[, agg])'s parameters (bpftrace 0.24; the map's
    "tseries" object). Bucket i of a key holds epoch e = TAI ns / interval_ns, i = e % intervals,
    as {i64 value, u64 meta (the last write's TAI ns; avg: the count), u64 epoch} per CPU."""
    interval_ns: int
    intervals: int
    agg: str = "none"

    def __post_init__(self) -> None:
        for f in ("interval_ns", "intervals"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"tseries {f} must be a positive integer, not {v!r}")
        if self.intervals > TSERIES_MAX_INTERVALS:
            raise ValueError(f"tseries intervals must be at most {TSERIES_MAX_INTERVALS}")
        if self.agg not in TSERIES_FUNCS:
            raise ValueError(f"tseries agg must be one of {', '.join(TSERIES_FUNCS)}, not {self.agg!r}")


@dataclass(frozen=True, slots=True)
class Lhist:
    """lhist(v, min, max, step)'s parameters (the map's "lhist" object)."""
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


HIST_MAX_BITS = 5


def hist_k_buckets(bits: int) -> int:
    """Buckets of hist(v, k) with k = `bits` (bpftrace 0.20): index 0 (..., 0), then one per
    value 0 .. 2^(k+1) - 1, then 2^k per power of two up to 2^63: the largest index, of
    2^63 - 1, is (64 - k) * 2^k."""
    return (64 - bits) * (1 << bits) + 1


def entries_per_key(agg: str, lhist: tuple[int, int, int] | None, hist_bits: int | None = None,
                    intervals: int | None = None) -> int:
    """BPF entries one user key of a map may take: a bucket each for hist (its (..., 0)
    entry, [0], then 64 powers of two; hist(v, k): hist_k_buckets) and lhist (below min,
    each step, above max); else 1.
    The compiler sizes maps by it, the session counts a full map's keys by it."""
    if agg == "hist":
        return 66 if hist_bits is None else hist_k_buckets(hist_bits)
    if agg == "lhist":
        lo, hi, step = lhist
        return (hi - lo) // step + 2
    if agg == "tseries":
        return intervals or 1   # one ring bucket per interval
    return 1


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
    # hist(v, k)'s k, 0 .. 5 (bpftrace 0.20: 2^k buckets per power of two); None: 0.17's hist(v)
    hist_bits: int | None = None
    tseries: Tseries | None = None   # tseries: interval, intervals, aggregation
    # A label name per part of the key (compiler/passes/key_names.py; the Prometheus
    # exporter's labels): () for a scalar map, and in objects from before the field
    key_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.agg not in AGGS:
            raise ValueError(f"map {self.name}: unknown aggregation '{self.agg}'")
        if self.agg != "none" and not isinstance(self.value, IntType):
            raise ValueError(f"map {self.name}: {self.agg}() maps hold integers, not {self.value}")
        if self.agg in BUCKETED_AGGS:
            off = self.bucket_offset
            if not isinstance(off, int) or isinstance(off, bool):
                raise ValueError(f"map {self.name}: {self.agg}() maps need a bucket_offset")
            user = 0 if self.key is None else self.key.size
            if off < user or off % 8:
                raise ValueError(f"map {self.name}: bucket_offset {off} must be a multiple of 8 "
                                 f"at or past the key's {user} bytes")
        elif self.bucket_offset is not None:
            raise ValueError(f"map {self.name}: only hist/lhist/tseries maps have a bucket_offset")
        if (self.agg == "tseries") != (self.tseries is not None):
            raise ValueError(f"map {self.name}: a tseries() map, and only it, has 'tseries' parameters")
        _check_key_names(self)
        if (self.agg == "lhist") != (self.lhist is not None):
            raise ValueError(f"map {self.name}: an lhist() map, and only it, has 'lhist' parameters")
        if self.hist_bits is not None:
            if self.agg != "hist":
                raise ValueError(f"map {self.name}: only hist() maps have hist_bits")
            if (not isinstance(self.hist_bits, int) or isinstance(self.hist_bits, bool)
                    or not 0 <= self.hist_bits <= HIST_MAX_BITS):
                raise ValueError(f"map {self.name}: hist_bits must be an integer from 0 to {HIST_MAX_BITS}")

    @property
    def percpu(self) -> bool:
        return self.agg != "none"

    @property
    def bucketed(self) -> bool:
        """hist/lhist/tseries: the BPF key is the user key, then a u64 bucket index."""
        return self.agg in BUCKETED_AGGS

    @property
    def key_size(self) -> int:
        """Bytes of the BPF key."""
        if self.agg in BUCKETED_AGGS:
            return self.bucket_offset + 8   # type: ignore[operator]  # checked in __post_init__
        return 8 if self.key is None else self.key.size

    @property
    def value_size(self) -> int:
        """Bytes of one BPF value (one CPU's slot for per-CPU maps, before 8-byte rounding)."""
        return percpu_value_size(self.agg, self.value)

    _KEYS = ("name", "bpf_name", "agg", "key", "value", "bucket_offset", "lhist", "hist_bits", "tseries",
             "key_names")

    @classmethod
    def from_json(cls, v: Any, where: str = "map") -> "MapMeta":
        d = _obj(v, where)
        _only(d, cls._KEYS, where)
        name = _get(d, "name", str, where)
        key = _get(d, "key", (dict, type(None)), where, None)
        agg = _get(d, "agg", str, where)
        if agg not in AGGS:
            raise MetaError(_at(where, "agg"), f"unknown aggregation '{agg}'")
        lhist = None
        if "lhist" in d:
            p = _get(d, "lhist", dict, where)
            w = _at(where, "lhist")
            _only(p, ("min", "max", "step"), w)
            lhist = _checked(w, lambda: Lhist(*(_get(p, f, int, w) for f in ("min", "max", "step"))))
        tseries = None
        if "tseries" in d:
            t = _get(d, "tseries", dict, where)
            w = _at(where, "tseries")
            _only(t, ("interval_ns", "intervals", "agg"), w)
            tseries = _checked(w, lambda: Tseries(_get(t, "interval_ns", int, w), _get(t, "intervals", int, w),
                                                  _get(t, "agg", str, w)))
        return _checked(where, lambda: cls(
            name=name, bpf_name=_get(d, "bpf_name", str, where), agg=agg,
            key=None if key is None else _type(key, _at(where, "key")),
            value=_type(_get(d, "value", dict, where), _at(where, "value")),
            bucket_offset=_get(d, "bucket_offset", int, where, None), lhist=lhist,
            hist_bits=_get(d, "hist_bits", int, where, None), tseries=tseries,
            key_names=_strs(d, "key_names", where) if "key_names" in d else ()))

    def to_json(self) -> dict:
        d: dict = {"name": self.name, "bpf_name": self.bpf_name, "agg": self.agg,
                   "key": None if self.key is None else type_to_json(self.key),
                   "value": type_to_json(self.value)}
        if self.bucket_offset is not None:
            d["bucket_offset"] = self.bucket_offset
        if self.lhist is not None:
            d["lhist"] = {"min": self.lhist.min, "max": self.lhist.max, "step": self.lhist.step}
        if self.hist_bits is not None:
            d["hist_bits"] = self.hist_bits
        if self.tseries is not None:
            d["tseries"] = {"interval_ns": self.tseries.interval_ns, "intervals": self.tseries.intervals,
                            "agg": self.tseries.agg}
        if self.key_names:
            d["key_names"] = list(self.key_names)
        return d


_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def _check_key_names(m: MapMeta) -> None:
    """key_names: Prometheus label names (no leading `__`), distinct, one per key part."""
    if not m.key_names:
        return
    if not isinstance(m.key_names, tuple) or not all(isinstance(n, str) for n in m.key_names):
        raise ValueError(f"map {m.name}: key_names must be a tuple of strings")
    parts = 0 if m.key is None else len(m.key.fields) if isinstance(m.key, TupleType) else 1
    if len(m.key_names) != parts:
        raise ValueError(f"map {m.name}: {len(m.key_names)} key_names for a key of {parts} parts")
    for n in m.key_names:
        if not _LABEL_NAME.match(n) or n.startswith("__"):
            raise ValueError(f"map {m.name}: key name {n!r} is not a label name")
    if len(set(m.key_names)) != len(m.key_names):
        raise ValueError(f"map {m.name}: key_names repeat a name")


def percpu_value_size(agg: str, value: Type) -> int:
    if agg in ("min", "max", "avg", "stats"):
        return 16          # {i64 value|total; u64 set|count}
    if agg in ("count", "sum", "hist", "lhist"):
        return 8
    if agg == "tseries":
        return 24          # {i64 value; u64 meta; u64 epoch}
    return value.size


# ---- events -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class EventsMeta:
    ringbuf: str                 # the RINGBUF map every event goes to
    lost: str                    # ARRAY map: [0] records refused, [exit_flag] set by exit()
    exit_flag: int | None = None
    control: str | None = None   # the RINGBUF control records go to when `ringbuf` is full
    # ARRAY map of u64: [i] counts the new keys map full_maps[i] (a user name, "@m") refused
    # because it was full (map_update_elem's -E2BIG); None: no map can fill (format 3)
    full: str | None = None
    full_maps: tuple[str, ...] = ()
    # -k: ARRAY map of u64: [i] counts the failed probe reads at helper_errors[i] (format 3)
    read_errors: str | None = None

    @classmethod
    def from_json(cls, v: Any, where: str) -> "EventsMeta":
        d = _obj(v, where)
        _only(d, ("ringbuf", "lost", "exit_flag", "control", "full", "full_maps", "read_errors"), where)
        full = _get(d, "full", (str, type(None)), where, None)
        full_maps = _strs(d, "full_maps", where)
        if full_maps and full is None:
            raise MetaError(_at(where, "full_maps"), "needs the 'full' map that counts them")
        return cls(_get(d, "ringbuf", str, where), _get(d, "lost", str, where),
                   _get(d, "exit_flag", (int, type(None)), where, None),
                   _get(d, "control", (str, type(None)), where, None), full, full_maps,
                   _get(d, "read_errors", (str, type(None)), where, None))

    def to_json(self) -> dict:
        d: dict = {"ringbuf": self.ringbuf, "lost": self.lost}
        if self.exit_flag is not None:
            d["exit_flag"] = self.exit_flag
        if self.control is not None:
            d["control"] = self.control
        if self.full is not None:
            d["full"] = self.full
            d["full_maps"] = list(self.full_maps)
        if self.read_errors is not None:
            d["read_errors"] = self.read_errors
        return d


PRINTF_ACTIONS = ("printf", "system", "cat", "errorf", "warnf")   # errorf/warnf: to stderr


class PrintfArg(NamedTuple):
    """(offset, type): a tuple, so `for off, t in pf.args` reads it."""
    offset: int     # from the record's start (the u64 id is at 0, so the first is at 8)
    type: Type


@dataclass(frozen=True, slots=True)
class PrintfMeta:
    """A printf (system, cat) record: id, format, where each argument lies; `size` is the
    whole record's (an 8-byte multiple, at least 8: the id)."""
    id: int
    format: str
    args: tuple[PrintfArg, ...]
    size: int = 0          # 0: not given (format 1); from_json computes it then
    action: str = "printf"

    def __post_init__(self) -> None:
        if self.action not in PRINTF_ACTIONS:
            raise ValueError(f"unknown action '{self.action}'")
        end = max((a.offset + a.type.size for a in self.args), default=8)
        if self.size < end or self.size % 8:
            raise ValueError(f"record size {self.size} must be a multiple of 8 holding the "
                             f"arguments' {end} bytes")

    @classmethod
    def from_json(cls, v: Any, where: str = "printf") -> "PrintfMeta":
        d = _obj(v, where)
        _only(d, ("id", "format", "args", "size", "action"), where)

        def arg(a: Any, w: str) -> PrintfArg:
            a = _obj(a, w)
            _only(a, ("offset", "type"), w)
            return PrintfArg(_get(a, "offset", int, w), _type(_get(a, "type", dict, w), _at(w, "type")))
        args = _list(d, "args", where, arg)
        end = max((a.offset + a.type.size for a in args), default=8)
        size = _get(d, "size", int, where, (end + 7) & ~7)
        return _checked(where, lambda: cls(_get(d, "id", int, where), _get(d, "format", str, where), args,
                                           size, _get(d, "action", str, where, "printf")))

    def to_json(self) -> dict:
        return {"id": self.id, "format": self.format, "action": self.action, "size": self.size,
                "args": [{"offset": a.offset, "type": type_to_json(a.type)} for a in self.args]}


@dataclass(frozen=True, slots=True)
class HelperErrorSite:
    """-k/-kk: where a checked helper call is (bpftrace 0.17's warning quotes it)."""
    helper: str
    file: str
    line: int
    col: int
    end_col: int
    text: str

    _KEYS = ("helper", "file", "line", "col", "end_col", "text")

    @classmethod
    def from_json(cls, v: Any, where: str) -> "HelperErrorSite":
        d = _obj(v, where)
        _only(d, cls._KEYS, where)
        return cls(*(_get(d, k, int if k in ("line", "col", "end_col") else str, where) for k in cls._KEYS))

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self._KEYS}


@dataclass(frozen=True, slots=True)
class KernelBtf:
    """The kernel BTF a compilation read (struct member offsets, comm's offset, TS_COMPAT,
    kfunc signatures): the object is only right on a kernel with that BTF."""
    sha256: str      # of /sys/kernel/btf/vmlinux
    release: str     # uname -r, for the message

    @classmethod
    def of_running_kernel(cls, path: str = VMLINUX_BTF) -> "KernelBtf | None":
        """This kernel's BTF identity; None when it has no BTF. (sha256 of ~5 MB: ~10 ms.)"""
        import hashlib
        import os
        try:
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        except OSError:
            return None
        return cls(digest, os.uname().release)

    @classmethod
    def from_json(cls, v: Any, where: str) -> "KernelBtf":
        d = _obj(v, where)
        _only(d, ("sha256", "release"), where)
        return cls(_get(d, "sha256", str, where), _get(d, "release", str, where, ""))

    def to_json(self) -> dict:
        return {"sha256": self.sha256, "release": self.release}


def tracepoint_layout_digest(format_text: str) -> str:
    """A tracepoint record's layout as a digest: its tracefs format's `field:` lines (names,
    offsets, sizes, signedness), not its ID or print fmt, which differ without moving a field."""
    import hashlib
    import re
    lines = re.findall(r"^\s*field:.*$", format_text, re.M)
    return hashlib.sha256("\n".join(line.strip() for line in lines).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PositionalSlot:
    """A `.rodata` global the runtime fills from the run's arguments: `$N` as an integer
    ("int", u64), `str($N)` ("str", char[size]) or `$#` ("count", u64; index 0)."""
    index: int
    kind: str
    size: int
    symbol: str
    name: str = ""       # getopt()'s slots ("opt_int", "opt_bool", "opt_str"): the option's name
    default: str = ""    # and its default as text ("1"/"0" for a bool)

    def __post_init__(self) -> None:
        if self.kind not in ("int", "str", "count", "opt_int", "opt_bool", "opt_str"):
            raise ValueError(f"unknown slot kind '{self.kind}'")
        if self.size < 1 or (self.kind not in ("str", "opt_str") and self.size != 8):
            raise ValueError(f"a {self.kind} slot of {self.size} bytes")

    @classmethod
    def from_json(cls, v: Any, where: str) -> "PositionalSlot":
        d = _obj(v, where)
        _only(d, ("index", "kind", "size", "symbol", "name", "default"), where)
        return _checked(where, lambda: cls(_get(d, "index", int, where), _get(d, "kind", str, where),
                                           _get(d, "size", int, where), _get(d, "symbol", str, where),
                                           _get(d, "name", str, where, ""), _get(d, "default", str, where, "")))

    def to_json(self) -> dict:
        d = {"index": self.index, "kind": self.kind, "size": self.size, "symbol": self.symbol}
        if self.kind.startswith("opt_"):
            d.update(name=self.name, default=self.default)
        return d


@dataclass(frozen=True, slots=True)
class Positionals:
    """Which positional parameters the object reads at run time (`slots`) and which it was
    compiled with (`baked`: (index, the compile's text or None); index 0 is `$#`)."""
    slots: tuple[PositionalSlot, ...] = ()
    baked: tuple[tuple[int, str | None], ...] = ()

    @classmethod
    def from_json(cls, v: Any, where: str) -> "Positionals":
        d = _obj(v, where)
        _only(d, ("slots", "baked"), where)

        def baked(b: Any, w: str) -> tuple[int, str | None]:
            b = _obj(b, w)
            _only(b, ("index", "value"), w)
            return _get(b, "index", int, w), _get(b, "value", (str, type(None)), w)
        return cls(_list(d, "slots", where, PositionalSlot.from_json), _list(d, "baked", where, baked))

    def to_json(self) -> dict:
        return {"slots": [s.to_json() for s in self.slots],
                "baked": [{"index": i, "value": v} for i, v in self.baked]}


# ---- the object -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ObjectMeta:
    version: int = FORMAT_VERSION
    kt_version: str = ""
    source: str = ""
    probes: tuple[ProbeMeta, ...] = ()
    probe_names: tuple[str, ...] = ()
    func_names: tuple[str, ...] = ()
    maps: tuple[MapMeta, ...] = ()
    events: EventsMeta | None = None
    printf: tuple[PrintfMeta, ...] = ()
    join_arg_size: int = 0
    join_delims: tuple[str, ...] = ()
    print_values: tuple[Type, ...] = ()
    time_formats: tuple[str, ...] = ()
    strftime_formats: tuple[str, ...] = ()
    cgroup_path_filters: tuple[str, ...] = ()
    stacks: tuple[tuple[int, str], ...] = ()     # (frame limit, STACK_TRACE map name)
    helper_errors: tuple[HelperErrorSite, ...] = ()
    kernel_btf: KernelBtf | None = None
    # ("CAT:NAME", tracepoint_layout_digest of its format) for each tracepoint a program is
    # attached to: its args->field offsets were compiled from that format
    tracepoint_layouts: tuple[tuple[str, str], ...] = ()
    positionals: Positionals | None = None   # None: the script uses no $N or $#
    # A config block's run-time settings (compiler/config.py), which the session applies where
    # the environment does not set them: (key, value) in key order.
    config: tuple[tuple[str, int | bool | str], ...] = ()

    def stack_maps(self) -> dict[int, str]:
        return dict(self.stacks)

    @classmethod
    def from_json(cls, v: Any) -> "ObjectMeta":
        d = _obj(v, "")
        version = _get(d, "version", int, "")
        if version > FORMAT_VERSION:
            raise MetaError("", f"object format {version} is newer than this kt reads ({FORMAT_VERSION}): "
                                "rebuild with this kt or upgrade kt")
        if version < 1:
            raise MetaError("version", f"unknown object format {version}")
        _only(d, _OBJECT_KEYS, "")
        stacks_d = _get(d, "stacks", dict, "", {})
        stacks = []
        for limit, name in stacks_d.items():
            w = _at("stacks", limit)
            if not str(limit).isdigit() or not 1 <= int(limit) <= 127:
                raise MetaError(w, "a stack map's key is its frame limit, 1..127")
            if not isinstance(name, str):
                raise MetaError(w, f"must be a string, not {_json_name(name)}")
            stacks.append((int(limit), name))
        events = _get(d, "events", (dict, type(None)), "", None)
        meta = cls(
            version=version,
            kt_version=_get(d, "kt_version", str, "", ""),
            source=_get(d, "source", str, "", ""),
            probes=_list(d, "probes", "", ProbeMeta.from_json),
            probe_names=_strs(d, "probe_names", ""),
            func_names=_strs(d, "func_names", ""),
            maps=_list(d, "maps", "", MapMeta.from_json),
            events=None if events is None else EventsMeta.from_json(events, "events"),
            printf=_list(d, "printf", "", PrintfMeta.from_json),
            join_arg_size=_get(d, "join_arg_size", int, "", 0),
            join_delims=_strs(d, "join_delims", ""),
            print_values=_list(d, "print_values", "", _type),
            time_formats=_strs(d, "time_formats", ""),
            strftime_formats=_strs(d, "strftime_formats", ""),
            cgroup_path_filters=_strs(d, "cgroup_path_filters", ""),
            stacks=tuple(sorted(stacks)),
            helper_errors=_list(d, "helper_errors", "", HelperErrorSite.from_json),
            kernel_btf=None if d.get("kernel_btf") is None else KernelBtf.from_json(d["kernel_btf"], "kernel_btf"),
            tracepoint_layouts=tuple(sorted(_string_map(d, "tracepoint_layouts"))),
            positionals=None if d.get("positionals") is None else Positionals.from_json(d["positionals"], "positionals"),
            config=_run_config(d),
        )
        meta._check()
        return meta

    def _check(self) -> None:
        """What holds across fields: printf ids index the printf list, probe names cover
        every program's targets."""
        for i, p in enumerate(self.printf):
            if p.id != i:
                raise MetaError(f"printf[{i}].id", f"must be {i} (ids index the list), not {p.id}")
        for i, p in enumerate(self.probes):
            if self.probe_names and not 0 <= p.probe_base < len(self.probe_names):
                raise MetaError(f"probes[{i}].probe_base",
                                f"{p.probe_base} is not an index of probe_names ({len(self.probe_names)})")
        if self.func_names and len(self.func_names) != len(self.probe_names):
            raise MetaError("func_names", f"has {len(self.func_names)} names for "
                                          f"{len(self.probe_names)} probe_names")
        if self.join_delims and self.join_arg_size <= 0:
            raise MetaError("join_arg_size", "must be positive when join_delims are given")

    def to_json(self) -> dict:
        d: dict = {"version": self.version, "kt_version": self.kt_version, "source": self.source,
                   "probes": [p.to_json() for p in self.probes],
                   "probe_names": list(self.probe_names), "func_names": list(self.func_names),
                   "maps": [m.to_json() for m in self.maps]}
        if self.events is not None:
            d["events"] = self.events.to_json()
        d["printf"] = [p.to_json() for p in self.printf]
        if self.join_delims:
            d["join_arg_size"] = self.join_arg_size
            d["join_delims"] = list(self.join_delims)
        for key in ("time_formats", "strftime_formats", "cgroup_path_filters"):
            if getattr(self, key):
                d[key] = list(getattr(self, key))
        if self.print_values:
            d["print_values"] = [type_to_json(t) for t in self.print_values]
        if self.stacks:
            d["stacks"] = {str(limit): name for limit, name in self.stacks}
        if self.helper_errors:
            d["helper_errors"] = [s.to_json() for s in self.helper_errors]
        if self.kernel_btf is not None:
            d["kernel_btf"] = self.kernel_btf.to_json()
        if self.tracepoint_layouts:
            d["tracepoint_layouts"] = dict(self.tracepoint_layouts)
        if self.positionals is not None:
            d["positionals"] = self.positionals.to_json()
        if self.config:
            d["config"] = dict(self.config)
        return d


# The environment variables (KT_X/BPFTRACE_X, as X) that set what a config block's compile-time
# keys set (max_strlen, max_map_keys, perf_rb_pages): the CLI passes those that are set to the
# compiler (CompileOptions.env_set, part of the cache key).
COMPILE_CONFIG_ENV = frozenset({"STRLEN", "MAP_KEYS_MAX", "PERF_RB_PAGES", "RB_PAGES"})

# The run-time config keys (compiler/config.py KEYS with where="run"): their JSON types and the
# environment variables kt reads for the same setting (KT_X/BPFTRACE_X, as X: runtime/cli_env.py),
# which win over them (bpftrace 0.26's rule).
RUN_CONFIG: dict[str, tuple[type, tuple[str, ...]]] = {
    "log_size": (int, ("LOG_SIZE",)),
    "max_probes": (int, ("MAX_PROBES",)),
    "max_bpf_progs": (int, ("MAX_BPF_PROGS",)),
    "max_cat_bytes": (int, ("CAT_BYTES_MAX",)),
    "print_maps_on_exit": (bool, ()),
    "cpp_demangle": (bool, ("NO_CPP_DEMANGLE",)),
    "cache_user_symbols": (str, ("CACHE_USER_SYMBOLS",)),
}


def _run_config(d: Mapping[str, Any]) -> tuple[tuple[str, int | bool | str], ...]:
    out = []
    for k, v in _get(d, "config", dict, "", {}).items():
        want = RUN_CONFIG.get(k, (None,))[0]
        if want is None:
            raise MetaError(_at("config", k), f"unknown run-time config key (known: {', '.join(RUN_CONFIG)})")
        if type(v) is not want:
            raise MetaError(_at("config", k), f"must be {want.__name__}, not {_json_name(v)}")
        out.append((k, v))
    return tuple(sorted(out))


def _string_map(d: Mapping[str, Any], key: str) -> list[tuple[str, str]]:
    out = []
    for k, v in _get(d, key, dict, "", {}).items():
        if not isinstance(v, str):
            raise MetaError(_at(key, k), f"must be a string, not {_json_name(v)}")
        out.append((k, v))
    return out


_OBJECT_KEYS = tuple(f for f in ObjectMeta.__dataclass_fields__)
