"""The AST: typed dataclasses, span first, identity-hashed.

`eq=False` keeps identity hashing so passes can key side tables (TypeMap) by node instead of
writing attributes onto nodes. Parser tests compare trees with `same_tree`, which ignores spans.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass

from .source import Span


@dataclass(slots=True, eq=False)
class Node:
    span: Span


# ---- expressions -------------------------------------------------------------------------

@dataclass(slots=True, eq=False)
class IntLit(Node):
    value: int


@dataclass(slots=True, eq=False)
class StrLit(Node):
    value: bytes  # escapes already decoded, no terminating NUL


@dataclass(slots=True, eq=False)
class Builtin(Node):
    name: str


@dataclass(slots=True, eq=False)
class Positional(Node):
    index: int  # $1 -> 1; $# -> 0 means "count"
    is_count: bool = False


@dataclass(slots=True, eq=False)
class Var(Node):
    name: str  # with the '$'


@dataclass(slots=True, eq=False)
class MapRef(Node):
    name: str  # with the '@'
    keys: list["Expr"]


@dataclass(slots=True, eq=False)
class Call(Node):
    name: str
    args: list["Expr"]
    name_span: Span


@dataclass(slots=True, eq=False)
class Field(Node):
    base: "Expr"
    name: str
    name_span: Span


@dataclass(slots=True, eq=False)
class Unary(Node):
    op: str
    operand: "Expr"


@dataclass(slots=True, eq=False)
class Binary(Node):
    op: str
    lhs: "Expr"
    rhs: "Expr"


@dataclass(slots=True, eq=False)
class Cast(Node):
    """(uint8)expr: keep the low bits, then extend as the type says."""
    type_name: str
    operand: "Expr"


@dataclass(slots=True, eq=False)
class StructCast(Node):
    """(struct NAME *)expr: an address seen as a pointer to a kernel struct (BTF)."""
    kind: str   # "struct" | "union"
    name: str
    operand: "Expr"


@dataclass(slots=True, eq=False)
class Conditional(Node):
    """cond ? then : orelse"""
    cond: "Expr"
    then: "Expr"
    orelse: "Expr"


Expr = IntLit | StrLit | Builtin | Positional | Var | MapRef | Call | Field | Unary | Binary | Conditional | Cast | StructCast


# ---- statements --------------------------------------------------------------------------

@dataclass(slots=True, eq=False)
class ExprStmt(Node):
    expr: Expr


@dataclass(slots=True, eq=False)
class Assign(Node):
    target: MapRef | Var
    op: str  # "=", "+=", ...
    value: Expr


@dataclass(slots=True, eq=False)
class IncDec(Node):
    target: MapRef | Var
    op: str  # "++" | "--"


@dataclass(slots=True, eq=False)
class Block(Node):
    stmts: list["Stmt"]


@dataclass(slots=True, eq=False)
class If(Node):
    cond: Expr
    then: Block
    orelse: Block | None


@dataclass(slots=True, eq=False)
class While(Node):
    cond: Expr
    body: Block


@dataclass(slots=True, eq=False)
class Unroll(Node):
    count: int
    body: Block


@dataclass(slots=True, eq=False)
class Jump(Node):
    kind: str  # "break" | "continue"


Stmt = ExprStmt | Assign | IncDec | If | While | Unroll | Jump


# ---- probes ------------------------------------------------------------------------------

@dataclass(slots=True, eq=False)
class AttachPoint(Node):
    raw: str           # as written: "t:syscalls:sys_enter_openat"
    provider: str      # as written: "t"
    parts: list[str]   # after the provider: ["syscalls", "sys_enter_openat"]


@dataclass(slots=True, eq=False)
class Probe(Node):
    attach_points: list[AttachPoint]
    predicate: Expr | None
    body: Block


@dataclass(slots=True, eq=False)
class Program(Node):
    probes: list[Probe]


def same_tree(a: object, b: object) -> bool:
    """Structural equality that ignores spans (for parser tests)."""
    if is_dataclass(a) and is_dataclass(b):
        if type(a) is not type(b):
            return False
        return all(
            same_tree(getattr(a, f.name), getattr(b, f.name))
            for f in fields(a)
            if f.name not in ("span", "name_span")
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b))
    return a == b


def walk(node: object):
    """Every AST node under (and including) `node`, parents first."""
    if isinstance(node, Node):
        yield node
        for f in fields(node):
            yield from walk(getattr(node, f.name))
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)
