"""Semantic analysis: resolve probes, builtins and functions; infer every expression's type.

Why a pass of its own: codegen must know each value's type and size (strings vs integers, map
key and value layouts) before emitting anything, and users must get every name and type error
at once, with spans, before any kernel work. The result is immutable: a TypeMap side table
(node -> Type), the compile-time constants (sizeof, offsetof, enumerators), plus what each map
holds. Expressions are typed by passes/expressions.py; this module adds statements and maps.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from .. import ast, probes
from ..attach_positionals import attach_point_parameters, expand_attach_point, explain_missing
from ..positionals import PositionalPlan, PositionalUses
from ..syscall_dispatch import merge_syscall_tracepoints
from ..builtins import FUNCTIONS
from ..builtins.records import literal_int
from ..cdecl import TypeScope
from ..diagnostics import DiagnosticSink, did_you_mean
from ..options import CompileOptions
from ..probes import ProbeEnv, ResolvedProbe
from ..source import Span
from ..types import (Agg, Args, Array, Buf, Int, Opaque, Ptr, Record, S64, PACKET, STACK, Str, Sym, Tuple, Type, Void,
                     record_layout, unify, widen)
from .expressions import ExpressionChecker
from .loop_checks import check_for_map, check_for_range

__all__ = ["MapInfo", "Semantics", "Checker", "analyse"]


@dataclass(frozen=True, slots=True)
class MapInfo:
    name: str
    key: Type | None        # None: a scalar map (@x = ...)
    value: Type             # a value type or an Agg
    span: Span              # first assignment, for messages


@dataclass(frozen=True, slots=True)
class Semantics:
    program: ast.Program
    probes: tuple[tuple[ast.Probe, tuple[ResolvedProbe, ...]], ...]
    types: Mapping[ast.Node, Type]
    maps: Mapping[str, MapInfo]
    positional: tuple[str, ...]
    constants: Mapping[ast.Node, int] = dataclasses.field(default_factory=dict)   # sizeof, offsetof, enums
    positionals: PositionalPlan = PositionalPlan()   # $N's slots and baked values



# Probe types of newer bpftrace that kt does not provide: run modes of bpftrace itself.
REFUSED_PROBE_TYPES = {
    "test": "'test:' probes (bpftrace 0.25, run by 'bpftrace --test') are not supported",
    "bench": "'bench:' probes (bpftrace 0.24, run by 'bpftrace --bench') are not supported",
}

def _keyable(t: Type) -> bool:
    if isinstance(t, Tuple):
        return all(_keyable(e) for e in t.elems)
    if isinstance(t, Record):
        return t.struct.complete and t.size > 0
    if isinstance(t, Array):
        return t.count > 0 and _keyable(t.elem)
    return isinstance(t, (Int, Str, Sym, Ptr, Buf))


def _storable(t: Type) -> bool:
    """What a variable or map can hold."""
    if isinstance(t, (Void, Args, Agg, Opaque)):
        return False
    if isinstance(t, Record):
        return t.struct.complete
    return True


class Checker(ExpressionChecker):
    """Types one probe body at a time; builtin records call back into check()."""

    def __init__(self, sink: DiagnosticSink, options: CompileOptions, maps: dict[str, MapInfo],
                 scope: TypeScope, mode: str = "final"):
        # mode: "learn" and "guess" are the quiet rounds that learn map types; "final" reports.
        # A map read before any assignment is taken as an integer while guessing
        # (`@n = @n + 1`), but "learn" defines no map from a value that used such a guess.
        self.mode = mode
        self._guessed = False
        self.sink = sink
        self.options = options
        self.maps = maps
        self.scope = scope
        self.types: dict[ast.Node, Type] = {}
        self.constants: dict[ast.Node, int] = {}
        self.positionals = PositionalUses(options.positional, options.strlen)
        self.current_probe: ResolvedProbe = None  # type: ignore[assignment]
        self._vars: dict[str, Type] = {}
        self._var_nodes: dict[str, list[ast.Node]] = {}
        self._map_value_node: ast.Node | None = None
        self._loops = 0
        self._failed_vars: set[str] = set()          # an assignment already reported wrong
        self._earlier_vars: dict[str, str] = {}      # variable -> a probe checked before that set it
        self._probe_assigns: set[str] = set()        # variables the current probe assigns somewhere

    # -- entry points --------------------------------------------------------------------
    def check_probe(self, probe: ast.Probe, resolved: ResolvedProbe) -> None:
        if self.current_probe is not None:
            for name in self._vars:
                self._earlier_vars.setdefault(name, self.current_probe.name)
        self.current_probe = resolved
        self._vars = {}
        self._var_nodes = {}
        self._failed_vars = set()
        self._probe_assigns = {n.target.name for n in ast.walk(probe.body)   # for "never assigned"
                               if isinstance(n, ast.Assign) and isinstance(n.target, ast.Var)}
        if probe.predicate is not None:
            self.check_condition(probe.predicate, "a predicate")
        self._block(probe.body)
        # A variable has one type in its probe, what all its assignments unify to (`$s = "a";
        # ...; $s = "longer"`): every use of it sees that type, so codegen gives it one slot.
        for name, nodes in self._var_nodes.items():
            final = self._vars.get(name)
            if final is not None:
                for node in nodes:
                    self.types[node] = final

    def saw_variable(self, node: ast.Node, name: str) -> None:
        self._var_nodes.setdefault(name, []).append(node)

    def in_map_assignment(self, node: ast.Node) -> bool:
        return node is self._map_value_node

    # -- statements ----------------------------------------------------------------------
    def _block(self, block: ast.Block) -> None:
        for stmt in block.stmts:
            self._stmt(stmt)

    def _stmt(self, stmt) -> None:
        if isinstance(stmt, ast.ExprStmt):
            if isinstance(stmt.expr, ast.Call) and stmt.expr.name in FUNCTIONS and FUNCTIONS[stmt.expr.name].agg:
                self.sink.error(stmt.expr.span, f"{stmt.expr.name}() can only be assigned to a map: "
                                f"@name = {stmt.expr.name}(...)")
                return
            self.check(stmt.expr, value_used=False)
        elif isinstance(stmt, ast.Assign):
            self._assign(stmt)
        elif isinstance(stmt, ast.Let):   # `let $x;` (compiler/scopes.py): typed by its assignments
            name = stmt.var.name
            if name not in self._vars and name not in self._probe_assigns:
                self._vars[name] = S64    # never assigned: an int64 0, as bpftrace's
            self.saw_variable(stmt.var, name)
        elif isinstance(stmt, ast.Unroll):
            if stmt.count_param is not None:
                count = literal_int(self, stmt.count_param)
                if count is None:
                    given = self.options.positional[stmt.count_param.index - 1]
                    self.sink.error(stmt.count_param.span, f'${stmt.count_param.index} used numerically '
                                    f'but given "{given}"')
                    return
                stmt.count = count
            if not 1 <= stmt.count <= 100:
                self.sink.error(stmt.span, f"unroll count must be from 1 to 100, not {stmt.count}")
            self._block(stmt.body)
        elif isinstance(stmt, ast.While):
            self.check_condition(stmt.cond, "a while condition")
            self._loops += 1
            self._block(stmt.body)
            self._loops -= 1
        elif isinstance(stmt, ast.ForMap):
            check_for_map(self, stmt)
        elif isinstance(stmt, ast.ForRange):
            check_for_range(self, stmt)
        elif isinstance(stmt, ast.Jump):
            if stmt.kind != "return" and not self._loops:
                self.sink.error(stmt.span, f"'{stmt.kind}' outside of a loop")
        elif isinstance(stmt, ast.If):
            self.check_condition(stmt.cond, "an if condition")
            self._block(stmt.then)
            if stmt.orelse is not None:
                self._block(stmt.orelse)

    def _assign(self, stmt: ast.Assign) -> None:
        if isinstance(stmt.target, ast.MapRef):
            self._map_value_node = stmt.value
            self._guessed = False
            value_t = self.check(stmt.value)
            self._map_value_node = None
            if self._guessed and self.mode == "learn":
                return
            if value_t is None:
                self._map_keys(stmt.target)
                return
            if isinstance(value_t, Agg) and stmt.op != "=":
                self.sink.error(stmt.span, f"use '=' to assign {value_t}, not '{stmt.op}'")
                return
            if stmt.op != "=":
                old = self.maps.get(stmt.target.name)
                if not self._compound_ok(stmt, old.value if old is not None else S64, value_t):
                    return
            if not self._storable_value(stmt.value, value_t) or _holds_stack_pointer(self.sink, stmt.value, value_t):
                return
            self._define_map(stmt.target, value_t, stmt.value.span)
            return
        # scratch variable
        value_t = self.check(stmt.value)
        if value_t is None or not self._storable_value(stmt.value, value_t):
            self._failed_vars.add(stmt.target.name)   # its uses are not reported again
            return
        name = stmt.target.name
        old = self._vars.get(name)
        if stmt.op != "=":
            if old is None:
                self.sink.error(stmt.target.span, f"variable '{name}' is used before it is assigned")
                return
            if not self._compound_ok(stmt, old, value_t):
                return
            value_t = old
        if old is not None:
            new = unify(old, value_t)
            if new is None:
                self.sink.error(stmt.value.span, f"variable '{name}' holds {old}; cannot assign {value_t}")
                return
            value_t = new
        self._vars[name] = value_t
        self.types[stmt.target] = value_t
        self.saw_variable(stmt.target, name)

    def _storable_value(self, node, t: Type) -> bool:
        if isinstance(t, Agg) or _storable(t):
            return True
        self.sink.error(node.span, f"cannot store {t} in a variable or a map")
        return False

    def _compound_ok(self, stmt: ast.Assign, old: Type, value_t: Type) -> bool:
        """`x OP= v`: integers, or a pointer moved by `+=`/`-=` (by elements)."""
        if isinstance(old, Ptr) and stmt.op in ("+=", "-=") and isinstance(value_t, Int):
            return True
        if isinstance(old, Int) and isinstance(value_t, Int):
            return True
        self.sink.error(stmt.span, f"'{stmt.op}' needs integers (or a pointer and an integer for += and -=), "
                        f"not {old} and {value_t}")
        return False

    def incdec(self, e: ast.IncDec) -> Type | None:
        """x++, ++x, x--, --x: integers and pointers (which step by their pointee's size)."""
        target = e.target
        if isinstance(target, ast.MapRef):
            info = self.maps.get(target.name)
            if info is not None and isinstance(info.value, Ptr):
                self._map_keys(target)
                self.types[target] = info.value
                return info.value
            if info is not None and not isinstance(info.value, Int):
                self.sink.error(e.span, f"'{e.op}' needs an integer or a pointer; map '{target.name}' holds {info.value}")
                return None
            self._define_map(target, S64, e.span)
            return self.maps[target.name].value if target.name in self.maps else None
        old = self._vars.get(target.name)
        if old is None:
            self.sink.error(target.span, f"variable '{target.name}' is used before it is assigned")
            return None
        if not isinstance(old, (Int, Ptr)):
            self.sink.error(e.span, f"'{e.op}' needs an integer or a pointer variable, '{target.name}' is {old}")
            return None
        self.types[target] = old
        self.saw_variable(target, target.name)
        self.saw_variable(e, target.name)
        return old

    # -- maps ----------------------------------------------------------------------------
    def _map_keys(self, ref: ast.MapRef) -> Type | None:
        """The key type: one value, or a tuple of several (`@m[a, b]`); a tuple value as the
        only key is the same key as its elements written out (`@m[(a, b)]` is `@m[a, b]`)."""
        if not ref.keys:
            return None
        ts = [self.check(k) for k in ref.keys]
        for k, t in zip(ref.keys, ts):
            if _holds_stack_pointer(self.sink, k, t):
                return None
            if t is not None and not _keyable(t):
                self.sink.error(k.span, f"a map key must be an integer, a string, a symbol, a tuple, an array "
                                f"or a struct, this is {t}")
                return None
        if any(t is None for t in ts):
            return None
        ts = [t if isinstance(t, Ptr) else widen(t) for t in ts]   # keyed by the address
        return ts[0] if len(ts) == 1 else Tuple(tuple(ts))

    def _define_map(self, ref: ast.MapRef, value_t: Type, value_span: Span) -> None:
        value_t = widen(value_t)
        key_t = self._map_keys(ref)
        if ref.keys and key_t is None:
            return
        info = self.maps.get(ref.name)
        if info is None:
            self.maps[ref.name] = MapInfo(ref.name, key_t, value_t, ref.span)
        else:
            if (info.key is None) != (key_t is None) or (key_t is not None and unify(info.key, key_t) is None):
                self.sink.error(ref.span, f"map '{ref.name}' is keyed by {_key_desc(info.key)} elsewhere; "
                                f"here by {_key_desc(key_t)}")
                return
            new_value = unify(info.value, value_t)
            if new_value is None:
                self.sink.error(value_span, f"map '{ref.name}' holds {info.value} elsewhere; cannot assign {value_t}")
                return
            new_key = None if key_t is None else unify(info.key, key_t)
            self.maps[ref.name] = MapInfo(ref.name, new_key, new_value, info.span)
        self.types[ref] = self.maps[ref.name].value

    def check_map_element(self, e: ast.MapRef) -> MapInfo | None:
        """Check a use of an existing map's element (a read, delete()): keys must fit."""
        key_t = self._map_keys(e)
        info = self.maps.get(e.name)
        if info is None:
            self.sink.error(e.span, f"map '{e.name}' is used but never assigned", did_you_mean(e.name, list(self.maps)))
            return None
        if (info.key is None) != (key_t is None) or (key_t is not None and unify(info.key, key_t) is None):
            self.sink.error(e.span, f"map '{e.name}' is keyed by {_key_desc(info.key)}; here by {_key_desc(key_t)}")
            return None
        return info

    def _map_read(self, e: ast.MapRef) -> Type | None:
        if e.name not in self.maps and self.mode != "final":
            self._guessed = True
            self._map_keys(e)
            return S64
        info = self.check_map_element(e)
        if info is None:
            return None
        if isinstance(info.value, Agg) and info.value.kind in ("count", "sum", "min", "max"):
            return S64   # its total (extreme) over the CPUs, read with bpf_loop (Linux 5.19+)
        if isinstance(info.value, Agg):
            self.sink.error(e.span, f"map '{e.name}' holds {info.value}; its value is only printed, not read",
                            "count(), sum(), min() and max() maps can be read")
            return None
        return info.value


def _holds_stack_pointer(sink: DiagnosticSink, node: ast.Node, t: Type | None) -> bool:
    """Report a map key or value holding `&$x` (a BPF stack address: gone when the probe ends)."""
    def inside(t) -> bool:
        if isinstance(t, Ptr):
            return t.space in (STACK, PACKET)
        if isinstance(t, Tuple):
            return any(inside(e) for e in t.elems)
        if isinstance(t, Record) and record_layout(t) is not None:
            return inside(record_layout(t)[1])
        return False
    if t is not None and inside(t):
        if PACKET in _spaces(t):
            sink.error(node.span, "a map cannot hold a pointer into the packet (pkt): the packet is gone when "
                       "the probe returns", "store the bytes: pkt[i], *(uint16 *)(pkt + i)")
            return True
        sink.error(node.span, "a map cannot hold the address of a scratch variable (&$x): it points into the "
                   "probe's stack, which is gone when the probe returns", "store the value itself")
        return True
    return False


def _spaces(t) -> set[str]:
    if isinstance(t, Ptr):
        return {t.space}
    if isinstance(t, Tuple):
        return set().union(*(_spaces(e) for e in t.elems))
    if isinstance(t, Record) and record_layout(t) is not None:
        return _spaces(record_layout(t)[1])
    return set()


def _key_desc(t: Type | None) -> str:
    return "nothing (a scalar map)" if t is None else f"[{t}]"


def _program_names(resolved):
    """Give every program its function name (its ELF symbol, the program's name for libbpf,
    `program` in .kt.meta). Programs may share a section, as libbpf allows (BEGIN and END in
    `raw_tp`, every perf event in `perf_event`), so the runtime finds them by this name."""
    used: set[str] = set()
    out = []
    for probe, rs in resolved:
        out.append((probe, tuple(dataclasses.replace(r, program=_program_name(r.name, used)) for r in rs)))
    return out


def _program_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", name.replace("tracepoint:", "tp_"))
    candidate, i = base, 1
    while candidate in used:
        i += 1
        candidate = f"{base}_{i}"
    used.add(candidate)
    return candidate


def analyse(program: ast.Program, options: CompileOptions, sink: DiagnosticSink) -> Semantics:
    scope = TypeScope()
    scope.define(program.definitions, sink)
    env = ProbeEnv(options.tracefs, options.kernel_functions, options.pid, options.cpid, options.command)
    resolved: list[tuple[ast.Probe, tuple[ResolvedProbe, ...]]] = []
    in_attach_points: set[int] = set()   # $N expanded at compile time: baked
    first_note = len(sink.items)
    for probe in program.probes:
        rs: list[ResolvedProbe] = []
        alone_reported = False
        for written in probe.attach_points:
            mark = len(sink.items)
            ap = expand_attach_point(written, options.positional, sink)
            in_attach_points |= attach_point_parameters(written)
            if ap is None:
                continue
            kind = probes.lookup(ap.provider)
            if kind is None and ap.provider in REFUSED_PROBE_TYPES:
                sink.error(ap.span, REFUSED_PROBE_TYPES[ap.provider])
            elif kind is None:
                sink.error(ap.span, f"unknown probe type '{ap.provider}'",
                           did_you_mean(ap.provider, probes.provider_names()) if ap.provider else "")
            elif kind.alone and len(probe.attach_points) > 1:
                if not alone_reported:   # 0.17 reports the first and stops checking the probe
                    sink.error(ap.span, f"Only single {kind.name} attach point is allowed.")
                alone_reported = True
            else:
                rs.extend(kind.resolve(ap, env, sink) or ())
            explain_missing(written, options.positional, sink, mark)
        if len(probe.attach_points) > 1:   # one of several: skipped if it cannot attach
            rs = [dataclasses.replace(r, optional=True) for r in rs]
        resolved.append((probe, tuple(rs)))
    if not sink.errors and program.probes and not any(rs for _, rs in resolved):
        # Nothing to attach (0.17: "No probes to attach"): the attach points skipped with a
        # warning (a wildcard matching nothing) are then the errors.
        skipped = [d for d in sink.items[first_note:] if d.severity == "warning"]
        for d in skipped:
            sink.error(d.span, d.message.removesuffix(": skipped"), *d.hints)
        if not skipped:
            sink.error(program.probes[0].span, "No probes to attach")
    if sink.errors:
        return Semantics(program, tuple(resolved), {}, {}, options.positional)

    # The quiet rounds learn every map's type (a map may be read before the statement or the
    # probe that assigns it); the final round reports with the full map table.
    maps: dict[str, MapInfo] = {}
    for mode, round_sink in (("learn", DiagnosticSink()), ("guess", DiagnosticSink()), ("final", sink)):
        checker = Checker(round_sink, options, maps, scope, mode)
        for probe, rs in resolved:
            for r in rs:
                checker.check_probe(probe, r)
    for index in in_attach_points:
        checker.positionals.bake(index)
    # Each syscall event is checked on its own (errors name it, as 0.17's do); many of them
    # then become raw_syscalls programs (compiler/syscall_dispatch.py).
    if not sink.errors:
        resolved = [(p, merge_syscall_tracepoints(p, rs)) for p, rs in resolved]
    resolved = _program_names(resolved)
    return Semantics(program, tuple(resolved), MappingProxyType(checker.types), MappingProxyType(dict(maps)),
                     options.positional, MappingProxyType(checker.constants), checker.positionals.plan())
