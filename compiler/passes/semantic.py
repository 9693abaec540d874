"""Semantic analysis: resolve probes, builtins and functions; infer every expression's type.

Why a pass of its own: codegen must know each value's type and size (strings vs integers, map
key and value layouts) before emitting anything, and users must get every name and type error
at once, with spans, before any kernel work. The result is immutable: a TypeMap side table
(node -> Type) plus what each map holds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from .. import ast, kernel_types, probes
from ..builtins import BUILTIN_VARS, FUNCTIONS
from ..diagnostics import DiagnosticSink, did_you_mean
from ..options import CompileOptions
from ..probes import ProbeEnv, ResolvedProbe
from ..source import Span
from ..types import Agg, Args, Int, Ptr, Record, S64, Str, Sym, Tuple, Type, U64, Void, unify, widen

_ARITH = {"+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"}
_COMPARE = {"==", "!=", "<", ">", "<=", ">="}
_LOGIC = {"&&", "||"}


@dataclass(frozen=True, slots=True)
class MapInfo:
    name: str
    key: Type | None        # None: a scalar map (@x = ...)
    value: Type             # Int, Str or Agg
    span: Span              # first assignment, for messages


@dataclass(frozen=True, slots=True)
class Semantics:
    program: ast.Program
    probes: tuple[tuple[ast.Probe, tuple[ResolvedProbe, ...]], ...]
    types: Mapping[ast.Node, Type]
    maps: Mapping[str, MapInfo]
    positional: tuple[str, ...]


def positional_value(options: CompileOptions, node: ast.Positional) -> int | bytes:
    """What $N (or $#) stands for: an int when the argument is numeric, else its bytes."""
    if node.is_count:
        return len(options.positional)
    if node.index < 1 or node.index > len(options.positional):
        return 0
    text = options.positional[node.index - 1]
    try:
        return int(text, 0)
    except ValueError:
        return text.encode()


class Checker:
    """Types one probe body at a time; builtin records call back into check()."""

    def __init__(self, sink: DiagnosticSink, options: CompileOptions, maps: dict[str, MapInfo],
                 mode: str = "final"):
        # mode: "learn" and "guess" are the quiet rounds that learn map types; "final" reports.
        # A map read before any assignment is taken as an integer while guessing
        # (`@n = @n + 1`), but "learn" defines no map from a value that used such a guess.
        self.mode = mode
        self._guessed = False
        self.sink = sink
        self.options = options
        self.maps = maps
        self.types: dict[ast.Node, Type] = {}
        self.current_probe: ResolvedProbe = None  # type: ignore[assignment]
        self._vars: dict[str, Type] = {}
        self._map_value_node: ast.Node | None = None
        self._loops = 0
        self.enum_constants: dict[ast.Node, int] = {}

    # -- entry points --------------------------------------------------------------------
    def check_probe(self, probe: ast.Probe, resolved: ResolvedProbe) -> None:
        self.current_probe = resolved
        self._vars = {}
        if probe.predicate is not None:
            t = self.check(probe.predicate)
            if t is not None and not isinstance(t, Int):
                self.sink.error(probe.predicate.span, f"a predicate must be an integer condition, this is {t}")
        self._block(probe.body)

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
        elif isinstance(stmt, ast.IncDec):
            self._incdec(stmt)
        elif isinstance(stmt, ast.Unroll):
            if not 1 <= stmt.count <= 100:
                self.sink.error(stmt.span, f"unroll count must be from 1 to 100, not {stmt.count}")
            self._block(stmt.body)
        elif isinstance(stmt, ast.While):
            t = self.check(stmt.cond)
            if t is not None and not isinstance(t, Int):
                self.sink.error(stmt.cond.span, f"a while condition must be an integer, this is {t}")
            self._loops += 1
            self._block(stmt.body)
            self._loops -= 1
        elif isinstance(stmt, ast.Jump):
            if not self._loops:
                self.sink.error(stmt.span, f"'{stmt.kind}' outside of a while loop")
        elif isinstance(stmt, ast.If):
            t = self.check(stmt.cond)
            if t is not None and not isinstance(t, Int):
                self.sink.error(stmt.cond.span, f"an if condition must be an integer, this is {t}")
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
            if stmt.op != "=" and not isinstance(value_t, Int):
                self.sink.error(stmt.value.span, f"'{stmt.op}' needs an integer, this is {value_t}")
                return
            self._define_map(stmt.target, value_t, stmt.value.span)
            return
        # scratch variable
        value_t = self.check(stmt.value)
        if value_t is None:
            return
        if isinstance(value_t, (Void, Args, Tuple)):
            self.sink.error(stmt.value.span, f"cannot assign {value_t} to a variable")
            return
        name = stmt.target.name
        old = self._vars.get(name)
        if stmt.op != "=":
            if old is None:
                self.sink.error(stmt.target.span, f"variable '{name}' is used before it is assigned")
                return
            if not isinstance(old, Int) or not isinstance(value_t, Int):
                self.sink.error(stmt.span, f"'{stmt.op}' needs integers")
                return
        if old is not None:
            new = unify(old, value_t)
            if new is None:
                self.sink.error(stmt.value.span, f"variable '{name}' holds {old}; cannot assign {value_t}")
                return
            value_t = new
        self._vars[name] = value_t
        self.types[stmt.target] = value_t

    def _incdec(self, stmt: ast.IncDec) -> None:
        target = stmt.target
        if isinstance(target, ast.MapRef):
            self._define_map(target, S64, stmt.span)
            return
        old = self._vars.get(target.name)
        if old is None:
            self.sink.error(target.span, f"variable '{target.name}' is used before it is assigned")
        elif not isinstance(old, Int):
            self.sink.error(stmt.span, f"'{stmt.op}' needs an integer variable, '{target.name}' is {old}")
        else:
            self.types[target] = old

    # -- maps ----------------------------------------------------------------------------
    def _map_keys(self, ref: ast.MapRef) -> Type | None:
        if not ref.keys:
            return None
        ts = [self.check(k) for k in ref.keys]
        for k, t in zip(ref.keys, ts):
            if t is not None and not isinstance(t, (Int, Str, Sym, Ptr)):
                self.sink.error(k.span, f"a map key must be an integer, a string or a symbol, this is {t}")
                return None
        if any(t is None for t in ts):
            return None
        ts = [U64 if isinstance(t, Ptr) else widen(t) for t in ts]   # keyed by the address
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

    # -- expressions ---------------------------------------------------------------------
    def check(self, e, value_used: bool = True) -> Type | None:
        t = self._expr(e)
        if t is not None:
            if isinstance(t, Void) and value_used:
                self.sink.error(e.span, f"{getattr(e, 'name', 'this')}() returns no value")
                return None
            self.types[e] = t
        return t

    def _expr(self, e) -> Type | None:
        if isinstance(e, ast.IntLit):
            if not -(1 << 63) <= e.value < (1 << 64):
                self.sink.error(e.span, "integer literal does not fit in 64 bits")
                return None
            return S64 if e.value < (1 << 63) else U64
        if isinstance(e, ast.StrLit):
            return Str(len(e.value) + 1)
        if isinstance(e, ast.Positional):
            v = positional_value(self.options, e)
            return S64 if isinstance(v, int) else Str(len(v) + 1)
        if isinstance(e, ast.Builtin):
            rec = BUILTIN_VARS.get(e.name)
            if rec is None and e.name not in FUNCTIONS:
                value = kernel_types.constant(e.name)
                if value is not None:   # a kernel enumerator (BTF) or a well-known header macro
                    self.enum_constants[e] = value
                    return S64
            if rec is None:
                hint = did_you_mean(e.name, list(BUILTIN_VARS))
                if e.name in FUNCTIONS:
                    hint = f"{e.name} is a function: {e.name}(...)"
                self.sink.error(e.span, f"unknown builtin '{e.name}'", hint)
                return None
            return rec.type(self, e)
        if isinstance(e, ast.Var):
            t = self._vars.get(e.name)
            if t is None:
                self.sink.error(e.span, f"variable '{e.name}' is used before it is assigned",
                                did_you_mean(e.name, list(self._vars)))
            return t
        if isinstance(e, ast.MapRef):
            return self._map_read(e)
        if isinstance(e, ast.Call):
            rec = FUNCTIONS.get(e.name)
            if rec is None and e.name in BUILTIN_VARS:
                self.sink.error(e.span, f"'{e.name}' takes no arguments", f"write it as {e.name}")
                return None
            if rec is None:
                self.sink.error(e.name_span, f"unknown function '{e.name}'", did_you_mean(e.name, list(FUNCTIONS)))
                for a in e.args:
                    self.check(a)
                return None
            return rec.check(self, e)
        if isinstance(e, ast.Field):
            return self._field(e)
        if isinstance(e, ast.Unary):
            t = self.check(e.operand)
            if t is None:
                return None
            if not isinstance(t, (Int, Ptr)):
                self.sink.error(e.span, f"'{e.op}' needs an integer, this is {t}")
                return None
            if e.op == "*":   # *addr: the 8 bytes at a kernel address
                return S64
            if isinstance(t, Ptr):
                self.sink.error(e.span, f"'{e.op}' needs an integer, this is {t}")
                return None
            return S64 if e.op in ("!", "-") else t
        if isinstance(e, ast.Binary):
            return self._binary(e)
        if isinstance(e, ast.StructCast):
            t = self.check(e.operand)
            if t is None:
                return None
            if not isinstance(t, (Int, Ptr)):
                self.sink.error(e.operand.span, f"only an address can be cast to {e.kind} {e.name} *, this is {t}")
                return None
            try:
                return kernel_types.struct_pointer(e.name, e.kind)
            except kernel_types.KernelTypeError as err:
                self.sink.error(e.span, str(err))
                return None
            except (OSError, ValueError) as err:
                self.sink.error(e.span, f"cannot read the kernel's BTF: {err}")
                return None
        if isinstance(e, ast.Cast):
            t = self.check(e.operand)
            if t is None:
                return None
            if not isinstance(t, Int):
                self.sink.error(e.span, f"only integers can be cast to {e.type_name}, this is {t}")
                return None
            # computed in 64 bits; the width is kept for bswap()
            return Int(int(e.type_name.lstrip("uint")), not e.type_name.startswith("u"))
        if isinstance(e, ast.Conditional):
            c = self.check(e.cond)
            if c is not None and not isinstance(c, Int):
                self.sink.error(e.cond.span, f"a condition must be an integer, this is {c}")
            a, b = self.check(e.then), self.check(e.orelse)
            if a is None or b is None:
                return None
            t = unify(a, b)
            if t is None or not isinstance(t, (Int, Str)):
                self.sink.error(e.span, f"both branches of '?:' must be integers or both strings, not {a} and {b}")
                return None
            return t
        raise TypeError(f"unexpected node {e!r}")

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
        if isinstance(info.value, Agg):
            self.sink.error(e.span, f"map '{e.name}' holds {info.value}; its value is only printed, not read")
            return None
        return info.value

    def _field(self, e: ast.Field) -> Type | None:
        base_t = self.check(e.base)
        if base_t is None:
            return None
        if isinstance(base_t, (Ptr, Record)):
            try:
                return kernel_types.member_access(base_t, e.name).type
            except kernel_types.KernelTypeError as err:
                names = err.args[1] if len(err.args) > 1 else []
                self.sink.error(e.name_span, str(err.args[0]), did_you_mean(e.name, names))
                return None
        if not isinstance(base_t, Args):
            self.sink.error(e.span, f"'{e.name}' is not a field of {base_t}")
            return None
        return self.current_probe.context.field_type(self, e)

    def _binary(self, e: ast.Binary) -> Type | None:
        lt, rt = self.check(e.lhs), self.check(e.rhs)
        if lt is None or rt is None:
            return None
        # a struct pointer is an address: it compares and computes as an unsigned integer
        lt, rt = (U64 if isinstance(lt, Ptr) else lt), (U64 if isinstance(rt, Ptr) else rt)
        if e.op in ("==", "!=") and isinstance(lt, Str) and isinstance(rt, Str):
            return S64
        if not isinstance(lt, Int) or not isinstance(rt, Int):
            bad = e.lhs if not isinstance(lt, Int) else e.rhs
            bad_t = lt if not isinstance(lt, Int) else rt
            extra = "strings compare only with == and !=" if isinstance(bad_t, Str) else ""
            self.sink.error(bad.span, f"'{e.op}' needs integers, this is {bad_t}", extra)
            return None
        if e.op in _COMPARE or e.op in _LOGIC:
            return S64
        return Int(64, lt.signed and rt.signed)


def _key_desc(t: Type | None) -> str:
    return "nothing (a scalar map)" if t is None else f"[{t}]"


def _unique_sections(resolved):
    """Give every program its own section: a second `tracepoint/a/b` (or `perf_event`) gets
    a `/2` suffix. The runtime keys programs by section; .kt.meta says how each attaches."""
    seen: dict[str, int] = {}
    out = []
    for probe, rs in resolved:
        fixed = []
        for r in rs:
            n = seen.get(r.section, 0) + 1
            seen[r.section] = n
            fixed.append(r if n == 1 else dataclasses.replace(r, section=f"{r.section}/{n}"))
        out.append((probe, tuple(fixed)))
    return out


def analyse(program: ast.Program, options: CompileOptions, sink: DiagnosticSink) -> Semantics:
    env = ProbeEnv(options.tracefs, options.kernel_functions, options.pid)
    resolved: list[tuple[ast.Probe, tuple[ResolvedProbe, ...]]] = []
    for probe in program.probes:
        rs: list[ResolvedProbe] = []
        for ap in probe.attach_points:
            kind = probes.lookup(ap.provider)
            if kind is None:
                sink.error(ap.span, f"unknown probe type '{ap.provider}'",
                           did_you_mean(ap.provider, probes.provider_names()))
                continue
            got = kind.resolve(ap, env, sink)
            if got:
                rs.extend(got)
        resolved.append((probe, tuple(rs)))
    if sink.errors:
        return Semantics(program, tuple(resolved), {}, {}, options.positional)
    resolved = _unique_sections(resolved)

    # The quiet rounds learn every map's type (a map may be read before the statement or the
    # probe that assigns it); the final round reports with the full map table.
    maps: dict[str, MapInfo] = {}
    for mode, round_sink in (("learn", DiagnosticSink()), ("guess", DiagnosticSink()), ("final", sink)):
        checker = Checker(round_sink, options, maps, mode)
        for probe, rs in resolved:
            for r in rs:
                checker.check_probe(probe, r)
    return Semantics(program, tuple(resolved), MappingProxyType(checker.types), MappingProxyType(dict(maps)),
                     options.positional)
