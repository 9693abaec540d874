"""Block scoping of scratch variables (bpftrace 0.22's `let`), bool casts, in the AST.

Why a pass of its own, before semantic analysis: the later passes and codegen know a variable
by its name (one type and one frame slot per name in a probe). Here each `let $x` gets a name
of its own when it needs one (`$x#2`: a second `let $x` in a sibling block, or a `let $x`
beside a `$x` used without `let`), so the passes after see distinct variables and give them
distinct slots, and nothing after this pass knows about scopes.

The rules, from bpftrace 0.26's docs ("Variables and Maps"):
- `let $x [: type] [= value];` declares `$x` in the enclosing block, from there to the block's
  end; without a value it starts as 0, and without a type its type is its assignments'.
- Declaring a name that is visible already (an enclosing block's `let`, the same block's, or a
  variable the probe used before without `let`) is an error: no shadowing.
- A variable used outside the block of its `let` is an error.
- A typed `let $x: uint32` converts every value assigned to `$x` to that type.
kt keeps bpftrace 0.17's rule for variables used without `let`: they live as long as the probe
(0.26 limits them to their block), so 0.17 scripts mean what they meant.

Also here: `(bool)x` is `!!x` (true is 1, false 0; the parser reads `true`/`false` as 1/0).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from . import ast
from .diagnostics import DiagnosticSink
from .source import SourceFile

__all__ = ["resolve_scopes"]


@dataclass(eq=False, slots=True)
class _Decl:
    """One `let`: its nodes (the declaration's and every use's Var) and its end."""
    name: str
    let: ast.Let
    uses: list[ast.Var] = field(default_factory=list)
    ended: bool = False


class _Probe:
    def __init__(self, sink: DiagnosticSink, source: SourceFile):
        self.sink, self.source = sink, source
        self.scopes: list[dict[str, _Decl]] = []
        self.decls: list[_Decl] = []
        self.implicit: dict[str, list[ast.Var]] = {}     # name -> uses without a let
        self.implicit_assigned: set[str] = set()
        self.gone: dict[str, _Decl] = {}                 # name -> a let whose block ended

    # -- statements ------------------------------------------------------------------
    def block(self, block: ast.Block, new_scope: bool = True) -> None:
        if new_scope:
            self.scopes.append({})
        out = []
        for stmt in block.stmts:
            out.append(self.stmt(stmt))
        block.stmts = out
        if new_scope:
            for decl in self.scopes.pop().values():
                decl.ended = True
                self.gone[decl.name] = decl

    def stmt(self, stmt):
        if isinstance(stmt, ast.Let):
            return self._let(stmt)
        if isinstance(stmt, ast.Assign):
            stmt.value = self.expr(stmt.value)
            if isinstance(stmt.target, ast.Var):
                decl = self.var(stmt.target, assigned=True)
                if decl is not None and decl.let.type is not None:
                    return self._typed_assign(stmt, decl)
            else:
                self.expr(stmt.target)
            return stmt
        if isinstance(stmt, ast.ExprStmt):
            stmt.expr = self.expr(stmt.expr)
        elif isinstance(stmt, ast.If):
            stmt.cond = self.expr(stmt.cond)
            self.block(stmt.then)
            if stmt.orelse is not None:
                self.block(stmt.orelse)
        elif isinstance(stmt, (ast.While, ast.Unroll)):
            if isinstance(stmt, ast.While):
                stmt.cond = self.expr(stmt.cond)
            self.block(stmt.body)
        else:   # jumps; a statement another pass added: its parts in order, blocks scoped
            for f in dataclasses.fields(stmt):
                value = getattr(stmt, f.name)
                if isinstance(value, ast.Block):
                    self.block(value)
                elif isinstance(value, ast.Var):
                    self.var(value, assigned=True)
                elif isinstance(value, ast.Node) and f.name != "span":
                    setattr(stmt, f.name, self.expr(value))
        return stmt

    def _let(self, let: ast.Let):
        name = let.var.name
        if let.value is not None:
            let.value = self.expr(let.value)
        visible = self._visible(name)
        if visible is not None:
            where = "in this block" if name in self.scopes[-1] else "in an enclosing block"
            self.sink.error(let.var.span, f"variable '{name}' is already declared {where}",
                            "bpftrace does not allow shadowing: give the new variable another name")
        elif name in self.implicit:
            self.sink.error(let.var.span, f"variable '{name}' is already used in this probe without 'let'",
                            "bpftrace does not allow shadowing: give the new variable another name")
        decl = _Decl(name, let, [let.var])
        self.decls.append(decl)
        self.scopes[-1][name] = decl
        if let.value is None and let.type is None:
            return let                          # zeroed where it stands (codegen)
        value = let.value if let.value is not None else ast.IntLit(let.span, 0)
        return ast.Assign(let.span, let.var, "=", _convert(let.type, value))

    def _typed_assign(self, stmt: ast.Assign, decl: _Decl) -> ast.Assign:
        """`$x = v` or `$x OP= v` for a typed `let $x: T`: `$x = (T)v`, `$x = (T)($x OP v)`."""
        value = stmt.value
        if stmt.op != "=":
            reread = ast.Var(stmt.target.span, stmt.target.name)
            decl.uses.append(reread)
            value = ast.Binary(stmt.span, stmt.op[:-1], reread, value)
        return ast.Assign(stmt.span, stmt.target, "=", _convert(decl.let.type, value))

    # -- expressions -----------------------------------------------------------------
    def expr(self, e):
        if isinstance(e, ast.Var):
            self.var(e, assigned=False)
            return e
        if isinstance(e, ast.IncDec):
            if isinstance(e.target, ast.Var):
                self.var(e.target, assigned=True)
            else:
                self.expr(e.target)
            return e
        if isinstance(e, ast.Cast) and e.type.base == "bool" and e.type.pointers == 0 and e.type.array is None:
            operand = self.expr(e.operand)
            return ast.Unary(e.span, "!", ast.Unary(e.span, "!", operand))
        for f in dataclasses.fields(e):
            value = getattr(e, f.name)
            if isinstance(value, ast.Node) and f.name not in ("span", "name_span", "index_span"):
                setattr(e, f.name, self.expr(value))
            elif isinstance(value, list):
                setattr(e, f.name, [self.expr(v) if isinstance(v, ast.Node) else v for v in value])
        return e

    def var(self, v: ast.Var, assigned: bool) -> _Decl | None:
        decl = self._visible(v.name)
        if decl is not None:
            decl.uses.append(v)
            return decl
        self.implicit.setdefault(v.name, []).append(v)
        if assigned:
            self.implicit_assigned.add(v.name)
        return None

    def _visible(self, name: str) -> _Decl | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    # -- names -----------------------------------------------------------------------
    def finish(self) -> None:
        """Report lets used out of their block; give every let a name no other variable of
        the probe has."""
        for name, uses in self.implicit.items():
            gone = self.gone.get(name)
            if gone is not None and name not in self.implicit_assigned:
                line, _ = self.source.line_col(gone.let.span.start)
                self.sink.error(uses[0].span, f"variable '{name}' is not in scope here: its 'let' (line {line}) "
                                "is in a block that has ended", "declare it with let before that block")
        taken = set(self.implicit)
        for decl in self.decls:
            name, n = decl.name, 1
            while name in taken:
                n += 1
                name = f"{decl.name}#{n}"
            taken.add(name)
            for use in decl.uses:
                use.name = name


def _convert(type_name: ast.TypeName | None, value):
    if type_name is None:
        return value
    if type_name.base == "bool" and type_name.pointers == 0 and type_name.array is None:
        return ast.Unary(value.span, "!", ast.Unary(value.span, "!", value))
    return ast.Cast(value.span, type_name, value)


def resolve_scopes(program: ast.Program, sink: DiagnosticSink, source: SourceFile) -> None:
    """Resolve `let` scopes and bool casts in every probe, in place."""
    for probe in program.probes:
        p = _Probe(sink, source)
        p.scopes.append({})
        if probe.predicate is not None:
            probe.predicate = p.expr(probe.predicate)
        p.block(probe.body, new_scope=False)
        p.scopes.pop()
        p.finish()
