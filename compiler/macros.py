"""Macros (bpftrace 0.24+): `macro name(x, $v, @m) { stmts; value }`, expanded in the AST
before any pass, so the passes and codegen never see a macro.

Why a pass of its own, first: a macro is "semantic aware text replacement" (bpftrace's docs);
once expanded, its statements are ordinary statements of the probe that calls it, typed and
lowered like any other.

The rules (bpftrace 0.26's docs, "Macros"):
- A parameter `x` takes any expression, inserted (a fresh copy) wherever `x` is used; `$v`
  takes a scratch variable and `@m` a map (without keys), which the body may change.
- The body sees only its parameters: a map it names that is not a parameter is an error, and
  its own variables are its own (renamed per expansion: `$t` becomes `$t#name.N`, hygiene).
- A call with no arguments may be written without parentheses (`one` for `one()`).
- The value is the body's last expression when no `;` follows it; a macro without one is
  only a statement.
- A macro may call other macros, never itself (directly or through others).

kt has no block expressions: a macro used in an expression puts its statements just before
the statement that holds the call, and its value where the call was. Where that would run
them at another time than the call (a while condition, the right of `&&`, `||`, `?:`, a
predicate), a macro with statements is an error.

Errors inside an expansion point at the macro's text, with a hint naming the call
(ExpandedSpan carries it; the driver adds the hint to later passes' errors too).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from . import ast
from .diagnostics import DiagnosticSink
from .source import SourceFile, Span

__all__ = ["ExpandedSpan", "expand_macros", "expansion_hint"]


@dataclass(frozen=True, slots=True)
class ExpandedSpan(Span):
    """A span in a macro's body, as copied into one expansion: `call` is the call's span."""
    macro: str = ""
    call: Span | None = None


def expansion_hint(source: SourceFile, span: Span) -> str:
    """'in the expansion of macro NAME called at LINE:COL' for a span in an expansion."""
    if not isinstance(span, ExpandedSpan) or span.call is None:
        return ""
    line, col = source.line_col(span.call.start)
    return f"in the expansion of macro '{span.macro}' called at line {line}, column {col}"


class _Expander:
    def __init__(self, macros: dict[str, ast.MacroDef], sink: DiagnosticSink, source: SourceFile):
        self.macros, self.sink, self.source = macros, sink, source
        self.count = 0
        self.active: list[str] = []     # macros being expanded: recursion is an error

    # -- statements ------------------------------------------------------------------
    def block(self, block: ast.Block) -> None:
        out: list = []
        for stmt in block.stmts:
            out.extend(self.stmt(stmt))
        block.stmts = out

    def stmt(self, stmt) -> list:
        """The statement with its macros expanded: the statements to put in its place."""
        if isinstance(stmt, ast.ExprStmt):
            call = self._macro_call(stmt.expr)
            if call is not None:
                before: list = []
                stmts, value = self.expand(call, want_value=False, before=before)
                return before + stmts + ([ast.ExprStmt(value.span, value)] if value is not None else [])
        before: list = []
        if isinstance(stmt, ast.ExprStmt):
            stmt.expr = self.expr(stmt.expr, before)
        elif isinstance(stmt, ast.Assign):
            stmt.value = self.expr(stmt.value, before)
            stmt.target = self._target(stmt.target, before)
        elif isinstance(stmt, ast.Let):
            if stmt.value is not None:
                stmt.value = self.expr(stmt.value, before)
        elif isinstance(stmt, ast.If):
            stmt.cond = self.expr(stmt.cond, before)
            self.block(stmt.then)
            if stmt.orelse is not None:
                self.block(stmt.orelse)
        elif isinstance(stmt, ast.While):
            stmt.cond = self.expr(stmt.cond, None)
            self.block(stmt.body)
        elif isinstance(stmt, ast.Unroll):
            self.block(stmt.body)
        else:   # a statement kind that holds no expression of its own (jumps), or one
            self._other(stmt, before)   # another pass added: its expressions, in place
        return before + [stmt]

    def _other(self, stmt, before) -> None:
        for f in dataclasses.fields(stmt):
            value = getattr(stmt, f.name)
            if isinstance(value, ast.Block):
                self.block(value)
            elif isinstance(value, ast.Node) and f.name != "span" and not isinstance(value, ast.Var):
                setattr(stmt, f.name, self.expr(value, None))

    def _target(self, target, before):
        if isinstance(target, ast.MapRef):
            target.keys = [self.expr(k, before) for k in target.keys]
        return target

    # -- expressions -----------------------------------------------------------------
    def expr(self, e, before: list | None):
        """`e` with its macro calls replaced by their values; their statements go to `before`
        (None where statements cannot be placed: a macro with statements is an error)."""
        call = self._macro_call(e)
        if call is not None:
            stmts, value = self.expand(call, want_value=True, before=before)
            if stmts:
                if before is None:
                    self.sink.error(call.span, f"macro '{call.name}' has statements: kt cannot use it here "
                                    "(a while condition, the right of &&, || or ?:, a predicate)",
                                    "assign its value to a variable before, and use the variable")
                else:
                    before.extend(stmts)
            return value if value is not None else ast.IntLit(call.span, 0)
        if isinstance(e, ast.Binary) and e.op in ("&&", "||"):
            e.lhs = self.expr(e.lhs, before)
            e.rhs = self.expr(e.rhs, None)
            return e
        if isinstance(e, ast.Conditional):
            e.cond = self.expr(e.cond, before)
            e.then = self.expr(e.then, None)
            e.orelse = self.expr(e.orelse, None)
            return e
        for f in dataclasses.fields(e):
            value = getattr(e, f.name)
            if isinstance(value, ast.Node) and f.name not in ("span", "name_span", "index_span"):
                setattr(e, f.name, self.expr(value, before))
            elif isinstance(value, list):
                setattr(e, f.name, [self.expr(v, before) if isinstance(v, ast.Node) else v for v in value])
        return e

    def _macro_call(self, e) -> ast.Call | None:
        if isinstance(e, ast.Call) and e.name in self.macros:
            return e
        if isinstance(e, ast.Builtin) and e.name in self.macros:   # `one` for `one()`
            return ast.Call(e.span, e.name, [], e.span)
        return None

    # -- one expansion ---------------------------------------------------------------
    def expand(self, call: ast.Call, want_value: bool, before: list | None):
        """(statements, value) of one call; the value is None for a macro without one. Macros
        in the arguments are the caller's: expanded first, their statements into `before`."""
        m = self.macros[call.name]
        call.args = [self.expr(a, before) for a in call.args]
        if call.name in self.active:
            chain = " -> ".join([*self.active[self.active.index(call.name):], call.name])
            self.sink.error(call.span, f"macro '{call.name}' calls itself ({chain}): macros cannot recurse")
            return [], None
        if len(call.args) != len(m.params):
            self.sink.error(call.span, f"macro '{m.name}' takes {len(m.params)} argument"
                            f"{'' if len(m.params) == 1 else 's'} ({', '.join(m.params)}), not {len(call.args)}")
            return [], None
        if want_value and not m.has_value:
            self.sink.error(call.span, f"macro '{m.name}' has no value: its body does not end with an expression",
                            "end the body with an expression and no ';' after it")
            return [], None
        self.count += 1
        exprs, variables, maps = {}, {}, {}
        ok = True
        for param, arg in zip(m.params, call.args):
            if param.startswith("$"):
                if not isinstance(arg, ast.Var):
                    self.sink.error(arg.span, f"macro '{m.name}' takes a scratch variable for '{param}'")
                    ok = False
                variables[param] = arg.name if isinstance(arg, ast.Var) else param
            elif param.startswith("@"):
                if not isinstance(arg, ast.MapRef) or arg.keys:
                    self.sink.error(arg.span, f"macro '{m.name}' takes a map (without keys) for '{param}'")
                    ok = False
                maps[param] = arg.name if isinstance(arg, ast.MapRef) else param
            else:
                exprs[param] = arg
        if not ok:
            return [], None
        body = _Copy(m, call, exprs, variables, maps, f"#{m.name}.{self.count}", self.sink).block(m.body)
        self.active.append(call.name)
        try:
            self.block(body)   # the macros it calls
        finally:
            self.active.pop()
        stmts = list(body.stmts)
        value = None
        if m.has_value and stmts:
            value = stmts.pop().expr
        return stmts, value


class _Copy:
    """A fresh copy of a macro's body for one call: parameters replaced, its own variables
    renamed, every span an ExpandedSpan naming the call."""

    def __init__(self, m: ast.MacroDef, call: ast.Call, exprs, variables, maps, suffix: str, sink):
        self.m, self.call, self.exprs, self.variables, self.maps = m, call, exprs, variables, maps
        self.suffix, self.sink = suffix, sink

    def span(self, s: Span) -> Span:
        return ExpandedSpan(s.start, s.end, self.m.name, self.call.span)

    def block(self, b: ast.Block) -> ast.Block:
        return self.node(b)

    def node(self, n):
        if isinstance(n, list):
            return [self.node(x) for x in n]
        if not isinstance(n, ast.Node):
            return n
        if isinstance(n, ast.Builtin) and n.name in self.exprs:
            return _plain_copy(self.exprs[n.name], self.span)
        if isinstance(n, ast.Var):
            if n.name in self.variables:
                return ast.Var(self.span(n.span), self.variables[n.name])
            return ast.Var(self.span(n.span), n.name + self.suffix)
        if isinstance(n, ast.MapRef):
            name = self.maps.get(n.name)
            if name is None:
                self.sink.error(self.span(n.span), f"macro '{self.m.name}' uses map '{n.name}', which is not one of "
                                "its parameters", f"pass it in: macro {self.m.name}(..., {n.name})")
                name = n.name
            return ast.MapRef(self.span(n.span), name, self.node(n.keys))
        values = {f.name: (self.span(getattr(n, f.name)) if f.name in ("span", "name_span", "index_span")
                           else self.node(getattr(n, f.name)))
                  for f in dataclasses.fields(n)}
        return type(n)(**values)


def _plain_copy(n, span):
    """A deep copy of an argument's expression (nodes are keyed by identity: never shared),
    its spans still the argument's text, naming the call (`span`) unless they name one."""
    if isinstance(n, list):
        return [_plain_copy(x, span) for x in n]
    if isinstance(n, Span):
        return n if isinstance(n, ExpandedSpan) else span(n)
    if not isinstance(n, ast.Node):
        return n
    return type(n)(**{f.name: _plain_copy(getattr(n, f.name), span) for f in dataclasses.fields(n)})


def expand_macros(program: ast.Program, sink: DiagnosticSink, source: SourceFile) -> None:
    """Expand every macro call in the program's probes, in place."""
    macros: dict[str, ast.MacroDef] = {}
    for m in program.macros:
        if m.name in macros:
            sink.error(m.name_span, f"macro '{m.name}' is defined twice")
        seen = set()
        for p in m.params:
            if p in seen:
                sink.error(m.name_span, f"macro '{m.name}' has two parameters named '{p}'")
            seen.add(p)
        macros[m.name] = m
    if not macros:
        return
    expander = _Expander(macros, sink, source)
    for probe in program.probes:
        if probe.predicate is not None:
            probe.predicate = expander.expr(probe.predicate, None)
        expander.block(probe.body)
