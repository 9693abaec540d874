"""Resource planning: every kernel object and event format a program needs, decided once.

Why a pass: codegen and the runtime must agree on map names, key/value layouts, printf ids
and record layouts. This pass fixes them from the Semantics, and its plan is written into the
object's `.kt.meta` (docs/object-format.md) so the runtime decodes exactly what codegen wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from .. import ast
from ..formats.events import JOIN_ARG_SIZE, JOIN_ARGS, JOIN_HEADER
from ..objects import CONTROL_MAP, EVENTS_MAP, EXIT_FLAG, FULL_MAP, LOST_MAP, READ_ERRORS_MAP, STACK_RECORD_MAX, stack_map_name
from ..options import DEFAULT_RINGBUF_PAGES, MAX_MAP_KEYS, QUIET_RINGBUF_PAGES
from ..builtins.formats import call_literal
from ..formats import meta
from ..formats.value_types import type_from_json
from ..builtins.output import whole_map_print
from ..source import SourceFile
from ..types import Agg, Sym, Type, U64, to_json, widen
from .key_names import map_key_names
from .semantic import Semantics

MAX_MAP_ENTRIES = MAX_MAP_KEYS   # bpftrace 0.17's BPFTRACE_MAP_KEYS_MAX
PAGE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class MapPlan:
    name: str                # "@x"
    bpf_name: str            # "AT_x"
    agg: str                 # "none" | "count" | "sum" | "min" | "max" | "avg" | "stats" | "hist" | "lhist"
    key: Type | None         # None: scalar map, BPF key is a u64 0
    value: Type              # user-visible value type (Int or Str)
    percpu: bool
    max_entries: int
    lhist: tuple[int, int, int] = ()   # (min, max, step)
    value_signed: bool = True          # hist/lhist: whether the histogrammed values are signed
    # A keyless aggregation no delete() names is a PERCPU_ARRAY (the verifier inlines array
    # lookups: no helper call): one entry, or one per bucket for hist/lhist; the u32 key is
    # the bucket index (0 otherwise). sum() then keeps {sum, set}: every entry of an array
    # exists, so the `set` word tells a sum that was never updated from a sum of 0.
    array: bool = False
    hist_bits: int | None = None       # hist(v, k)'s k (bpftrace 0.20); None: 0.17's hist(v)
    tseries: tuple[int, int, str] = ()  # tseries(v, interval_ns, intervals, agg) (bpftrace 0.24)
    lru: bool = False        # declared lruhash/percpulruhash (bpftrace 0.20+): an LRU_* map type
    key_names: tuple[str, ...] = ()   # a label name per key part (passes/key_names.py)

    @property
    def bucketed(self) -> bool:
        """hist/lhist/tseries: the BPF key is the user key followed by a u64 bucket index."""
        return self.agg in ("hist", "lhist", "tseries")

    @property
    def bucket_offset(self) -> int:
        return 0 if self.key is None else (self.key.size + 7) // 8 * 8

    @property
    def key_size(self) -> int:
        if self.array:
            return 4
        if self.bucketed:
            return self.bucket_offset + 8
        return 8 if self.key is None else self.key.size

    @property
    def value_size(self) -> int:
        """Bytes of one BPF value (per CPU for per-CPU maps)."""
        if self.agg in ("min", "max", "avg", "stats") or (self.array and self.agg == "sum"):
            return 16
        if self.agg == "tseries":
            return 24     # {value, meta, epoch}
        return self.value.size


@dataclass(frozen=True, slots=True)
class PrintfPlan:
    id: int
    format: str
    args: tuple[tuple[int, Type], ...]   # (offset in the record, type)
    size: int                             # whole record, 8-byte multiple
    action: str = "printf"                # "printf" prints the text; "system" runs it in a shell


@dataclass(frozen=True, slots=True)
class ResourcePlan:
    maps: Mapping[str, MapPlan]
    printfs: Mapping[ast.Call, PrintfPlan]
    ringbuf_bytes: int      # a power of two and a multiple of the page size (kernel-facts §3)
    # For each program, in the order of Semantics.probes flattened: the index of its first
    # target in probe_names/func_names (what `probe`/`func` evaluate to, plus the cookie).
    probe_bases: tuple[int, ...]
    stack_limits: tuple[int, ...]   # depth limits of the kstack/ustack used: a map for each
    time_formats: Mapping[ast.Call, int]   # time() call -> index in .kt.meta "time_formats"
    join_delims: Mapping[ast.Call, int]    # join() call -> index in .kt.meta "join_delims"
    # print(value) call -> (index in .kt.meta "print_values", the value's type)
    print_values: Mapping[ast.Call, tuple[int, Type]] = field(default_factory=dict)
    # strftime()/cgroup_path() call -> index in .kt.meta "strftime_formats"/"cgroup_path_filters"
    strftime_formats: Mapping[ast.Call, int] = field(default_factory=dict)
    cgroup_path_filters: Mapping[ast.Call, int] = field(default_factory=dict)
    control: bool = False   # the script sends control records: a CONTROL_MAP ring takes them
                            # when the event ring is full (runtime/pump.py)
    run_config: tuple[tuple[str, int | bool | str], ...] = ()   # .kt.meta "config" (compiler/config.py)

    @property
    def full_maps(self) -> tuple[str, ...]:
        """The maps that can fill (keyed hash maps), in the order of their FULL_MAP slots: a
        scalar map has one key, and an array every entry, so neither refuses a new key."""
        return tuple(name for name, m in self.maps.items() if m.key is not None and not m.array and not m.lru)

    def full_slot(self, name: str) -> int | None:
        """The FULL_MAP slot counting the new keys map `name` refused, or None."""
        full = self.full_maps
        return full.index(name) if name in full else None

    def map_index(self, name: str) -> int:
        """A map's position in .kt.meta's "maps" list (which follows self.maps' order)."""
        return list(self.maps).index(name)

    @property
    def scratch_size(self) -> int:
        """Bytes of the per-CPU scratch record (0: no record needs it)."""
        big = [p.size for p in self.printfs.values() if p.size > STACK_RECORD_MAX]
        big += [16 + _align(t.size, 8) for _, t in self.print_values.values() if 16 + t.size > STACK_RECORD_MAX]
        if self.join_delims:
            big.append(JOIN_HEADER.size + JOIN_ARGS * JOIN_ARG_SIZE)
        return max(big, default=0)

    def to_meta(self, sema: Semantics, source_name: str, helper_errors: tuple = (),
                kernel_btf: meta.KernelBtf | None = None,
                tracepoint_layouts: tuple[tuple[str, str], ...] = (), read_errors: bool = False) -> meta.ObjectMeta:
        """The object's `.kt.meta` (kt.compiler.formats.meta), from this plan; `helper_errors`
        are codegen's checked helper sites (-k), `kernel_btf` the BTF the compilation read;
        `read_errors`: -k counts failed probe reads (READ_ERRORS_MAP)."""
        probes, probe_names, func_names = [], [], []
        for i, (r, base) in enumerate(zip(flat_probes(sema), self.probe_bases)):
            probes.append(meta.ProbeMeta(r.section, r.kind, r.name, r.target,
                                         meta.attach_from_json(r.kind, r.attach, f"probes[{i}]"),
                                         base, r.optional, r.program))
            probe_names.extend(r.probe_names)
            func_names.extend(r.func_names or ("",) * len(r.probe_names))
        by_index = lambda items: [c for c, _ in sorted(items, key=lambda kv: kv[1])]
        return meta.ObjectMeta(
            version=meta.FORMAT_VERSION,
            kt_version=meta.KT_VERSION,
            source=source_name,
            probes=tuple(probes),
            probe_names=tuple(probe_names),
            func_names=tuple(func_names),
            maps=tuple(_map_meta(m) for m in self.maps.values()),
            events=meta.EventsMeta(EVENTS_MAP, LOST_MAP, EXIT_FLAG, CONTROL_MAP if self.control else None,
                                   FULL_MAP if self.full_maps else None, self.full_maps,
                                   READ_ERRORS_MAP if read_errors else None),
            printf=tuple(meta.PrintfMeta(p.id, p.format, tuple(meta.PrintfArg(off, _value_type(t)) for off, t in p.args),
                                         p.size, p.action)
                         for p in sorted(self.printfs.values(), key=lambda p: p.id)),
            join_arg_size=JOIN_ARG_SIZE if self.join_delims else 0,
            join_delims=tuple(c.args[1].value.decode("utf-8", "surrogateescape") if len(c.args) > 1 else " "
                              for c in by_index(self.join_delims.items())),
            print_values=tuple(_value_type(t) for _, t in sorted(self.print_values.values(), key=lambda v: v[0])),
            time_formats=tuple(_time_format(c) for c in by_index(self.time_formats.items())),
            strftime_formats=tuple(call_literal(c, 0, "") for c in self.strftime_formats),
            cgroup_path_filters=tuple(call_literal(c, 1, "*") for c in self.cgroup_path_filters),
            stacks=tuple((limit, stack_map_name(limit)) for limit in self.stack_limits),
            helper_errors=tuple(meta.HelperErrorSite(**s) for s in helper_errors),
            kernel_btf=kernel_btf,
            tracepoint_layouts=tracepoint_layouts,
            positionals=_positionals(sema.positionals.to_meta()),
            config=self.run_config,
        )


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def _time_format(call: ast.Call) -> str:
    from ..helpers import DEFAULT_TIME_FORMAT
    return call.args[0].value.decode("utf-8", "surrogateescape") if call.args else DEFAULT_TIME_FORMAT


def _positionals(entry: dict | None) -> meta.Positionals | None:
    """compiler/positionals.py's plan as the schema's record."""
    return None if entry is None else meta.Positionals.from_json(entry, "positionals")


def _value_type(t: Type) -> meta.Type:
    """A kt type as the object format's value type (the JSON form is their common ground)."""
    return type_from_json(to_json(t))


def _map_meta(m: MapPlan) -> meta.MapMeta:
    return meta.MapMeta(m.name, m.bpf_name, m.agg, None if m.key is None else _value_type(m.key),
                        _value_type(m.value), m.bucket_offset if m.bucketed else None,
                        meta.Lhist(*m.lhist) if m.agg == "lhist" else None, m.hist_bits,
                        meta.Tseries(*m.tseries) if m.tseries else None, m.key_names)


def flat_probes(sema: Semantics) -> list:
    """Every program's ResolvedProbe, in program order."""
    return [r for _, rs in sema.probes for r in rs]


def bpf_map_name(name: str) -> str:
    return "AT_" + name[1:]


# The calls whose records are control records (never lost behind printf records).
CONTROL_CALLS = ("exit", "clear", "zero", "print", "time", "unwatch")
RING_RECORDS = 1 << 15          # records of the largest printf the event ring holds at least
MAX_RING_PAGES = 1 << 14        # 64 MiB


PRINT_CALLS = ("printf", "time", "print", "join", "system", "cat", "errorf", "warnf")
PRINTF_CALLS = ("printf", "system", "cat", "errorf", "warnf")   # records of a format and its values
# Probes that fire a bounded number of times (once, or at a timer's rate): what they print
# fits a small ring.
LOW_RATE_KINDS = ("begin", "end", "self", "interval")
LOW_RATE_RING_PAGES = 256       # 1 MiB


def _ring_pages(sema: Semantics, printfs: Mapping) -> int:
    """The event ring's size. A script that prints in probes that may fire at any rate gets
    DEFAULT_RINGBUF_PAGES, or room for RING_RECORDS of its largest printf record (at most
    64 MiB): the pump takes records out in blocks (runtime/pump.py), so the ring only holds
    what arrives while one block is decoded. One that prints only in BEGIN, END and interval
    probes gets 1 MiB, one that only aggregates 64 KiB (it sends a few control records). The
    ring's pages are mapped into kt twice (runtime/events.py), so its size is kt's memory."""
    rate = None
    for probe, resolved in sema.probes:
        if any(isinstance(n, ast.Call) and n.name in PRINT_CALLS for n in ast.walk(probe)):
            low = all(r.kind in LOW_RATE_KINDS for r in resolved)
            rate = "low" if low and rate != "high" else "high"
    if rate is None:
        return QUIET_RINGBUF_PAGES
    if rate == "low":
        return LOW_RATE_RING_PAGES
    largest = max((p.size + 8 for p in printfs.values()), default=0)
    pages = DEFAULT_RINGBUF_PAGES
    while pages * PAGE_SIZE < largest * RING_RECORDS and pages < MAX_RING_PAGES:
        pages *= 2
    return pages


def _deleted_maps(sema: Semantics) -> set[str]:
    """Maps some delete() removes an element of (an array's elements cannot be deleted)."""
    from ..builtins.maps import deleted_element
    return {ref.name for n in ast.walk(sema.program)
            if isinstance(n, ast.Call) and n.name == "delete" and (ref := deleted_element(n)) is not None}


def _located_message(call: ast.Call, fmt: str, source: SourceFile | None) -> str:
    """errorf()/warnf() (bpftrace 0.24): the message after the call's place and its level, as
    0.26 prints them: `stdin:1:9-62: ERROR: text` (the end column is past the call's last)."""
    level = "ERROR" if call.name == "errorf" else "WARNING"
    where = "stdin"
    if source is not None:
        line, col = source.line_col(call.span.start)
        end_line, end_col = source.line_col(max(call.span.end - 1, call.span.start))
        name = source.name.replace("%", "%%")
        where = f"{name}:{line}:{col}-{end_col + 1}" if end_line == line else f"{name}:{line}-{end_line}"
    return f"{where}: {level}: {fmt}\n"


def plan(sema: Semantics, ringbuf_pages: int | None = None, map_keys_max: int = MAX_MAP_ENTRIES,
         source: SourceFile | None = None, decls: Mapping[str, "DeclaredMap"] | None = None,
         run_config: tuple[tuple[str, int | bool | str], ...] = ()) -> ResourcePlan:
    """`decls`: the maps a `let @m = KIND(N);` declares (compiler/map_decls.py), whose N
    replaces max_map_keys and whose kind may make the map LRU."""
    decls = decls or {}
    maps = {}
    deleted = _deleted_maps(sema)
    key_names = map_key_names(sema.program, {name: info.key for name, info in sema.maps.items()})
    for name in sorted(sema.maps):
        info = sema.maps[name]
        if isinstance(info.value, Agg):
            agg, value, percpu = info.value.kind, info.value.value, True
            if agg in ("count", "hist", "lhist"):
                value = U64
        else:
            agg, value, percpu = "none", info.value, False
        lhist = info.value.params if agg == "lhist" else ()
        bits = info.value.params[0] if agg == "hist" and info.value.params else None
        tseries = ()
        if agg == "tseries":
            interval, intervals, func = info.value.params
            tseries = (interval, intervals, meta.TSERIES_FUNCS[func])
        decl = decls.get(name)
        keys = decl.max_entries if decl is not None and info.key is not None else \
            1 if info.key is None else map_keys_max
        size = keys * meta.entries_per_key(agg, lhist, bits, tseries[1] if tseries else None)
        signed = isinstance(info.value, Agg) and info.value.value.signed
        array = agg != "none" and info.key is None and name not in deleted and \
            (decl is None or decl.kind == "percpuarray")
        maps[name] = MapPlan(name, bpf_map_name(name), agg, info.key, value, percpu,
                             size if decl is not None else min(size, 1 << 20), lhist, signed, array, bits, tseries,
                             lru=decl is not None and decl.lru, key_names=key_names.get(name, ()))

    printfs: dict[ast.Call, PrintfPlan] = {}
    for node in ast.walk(sema.program):
        if isinstance(node, ast.Call) and node.name in PRINTF_CALLS and node in sema.types:
            offset = 8
            args = []
            for arg in node.args[1:]:
                t = widen(sema.types[arg])   # integers travel in 64 bits
                offset = _align(offset, t.align)
                args.append((offset, t))
                offset += t.size
            fmt = node.args[0].value.decode("utf-8", "surrogateescape")
            if node.name in ("errorf", "warnf"):
                fmt = _located_message(node, fmt, source)
            printfs[node] = PrintfPlan(len(printfs), fmt, tuple(args), _align(offset, 8), node.name)
    if ringbuf_pages is None:
        ringbuf_pages = _ring_pages(sema, printfs)
    if ringbuf_pages < 1 or ringbuf_pages & (ringbuf_pages - 1):
        raise ValueError(f"the ring buffer size must be a power of two pages, not {ringbuf_pages}")
    bases, base = [], 0
    for r in flat_probes(sema):
        bases.append(base)
        base += len(r.probe_names)
    limits = sorted({t.limit for t in sema.types.values() if isinstance(t, Sym) and t.kind in ("kstack", "ustack")})
    times = [n for n in ast.walk(sema.program) if isinstance(n, ast.Call) and n.name == "time" and n in sema.types]
    joins = [n for n in ast.walk(sema.program) if isinstance(n, ast.Call) and n.name == "join" and n in sema.types]
    values = [n for n in ast.walk(sema.program) if isinstance(n, ast.Call) and n.name == "print" and n in sema.types
              and not whole_map_print(n)]
    strftimes = [n for n in ast.walk(sema.program) if isinstance(n, ast.Call) and n.name == "strftime" and n in sema.types]
    cgroup_paths = [n for n in ast.walk(sema.program)
                    if isinstance(n, ast.Call) and n.name == "cgroup_path" and n in sema.types]
    return ResourcePlan(MappingProxyType(maps), MappingProxyType(printfs), ringbuf_pages * PAGE_SIZE,
                        tuple(bases), tuple(limits), MappingProxyType({c: i for i, c in enumerate(times)}),
                        MappingProxyType({c: i for i, c in enumerate(joins)}),
                        # a value travels in its event as it would in a variable: integers in 64 bits
                        MappingProxyType({c: (i, widen(sema.types[c.args[0]])) for i, c in enumerate(values)}),
                        MappingProxyType({c: i for i, c in enumerate(strftimes)}),
                        MappingProxyType({c: i for i, c in enumerate(cgroup_paths)}),
                        control=any(isinstance(n, ast.Call) and n.name in CONTROL_CALLS and n in sema.types
                                    and (n.name != "print" or whole_map_print(n))
                                    for n in ast.walk(sema.program)),
                        run_config=run_config)
