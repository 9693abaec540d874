"""The AST: typed dataclasses, span first, identity-hashed.

`eq=False` keeps identity hashing so passes can key side tables (TypeMap) by node instead of
writing attributes onto nodes. Parser tests compare trees with `same_tree`, which ignores spans.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields, is_dataclass

from .source import Span


@dataclass(slots=True, eq=False)
class Node:
    span: Span


# ---- expressions -------------------------------------------------------------------------

@dataclass(slots=True, eq=False)
class IntLit(Node):
    value: int


@dataclass(slots=True, eq=False)
class BoolLit(IntLit):
    """`true`/`false`: kt's bools are the integers 1 and 0; getopt() types its option by it."""


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
class TypeName(Node):
    """A type as an expression names it: `uint8`, `unsigned long`, `u32`, `struct Foo`, with
    `pointers` stars (`struct Foo **` has 2)."""
    base: str        # the words as written, one space between: "unsigned int", "struct Foo"
    pointers: int = 0
    array: int | None = None   # `TYPE[N]` (N, or 0 for `TYPE[]`), an array cast's target


@dataclass(slots=True, eq=False)
class Cast(Node):
    """(TYPE)expr: an integer cast keeps the low bits and extends as the type says; a pointer
    cast makes an address a typed pointer."""
    type: TypeName
    operand: "Expr"


@dataclass(slots=True, eq=False)
class Index(Node):
    """base[index]: an element of a C array or of the memory a pointer points to, or of a tuple
    when index is a constant expression (then `element` is its value, set by the checker)."""
    base: "Expr"
    index: "Expr"
    element: int | None = None


@dataclass(slots=True, eq=False)
class TupleLit(Node):
    """(a, b, ...), (a,) or (): a tuple of any number of values."""
    elems: list["Expr"]


@dataclass(slots=True, eq=False)
class RecordLit(Node):
    """(x = 1, y = 2) (bpftrace 0.25): a record, a struct value with the fields' layout that
    a tuple of the same values has; `.x` reads a field, and it prints as a struct."""
    names: list[str]
    elems: list["Expr"]
    name_spans: list[Span]


@dataclass(slots=True, eq=False)
class TupleField(Node):
    """tuple.N: the tuple's element N (from 0)."""
    base: "Expr"
    index: int
    index_span: Span


@dataclass(slots=True, eq=False)
class Sizeof(Node):
    """sizeof(TYPE) or sizeof(expr): a compile-time constant."""
    type: TypeName | None
    operand: "Expr | None"


@dataclass(slots=True, eq=False)
class Offsetof(Node):
    """offsetof(struct Foo, member[.member...]): a compile-time constant."""
    type: TypeName
    path: list[str]


@dataclass(slots=True, eq=False)
class AddrOf(Node):
    """&expr: the address of a struct member or array element in kernel or user memory."""
    operand: "Expr"


@dataclass(slots=True, eq=False)
class IncDec(Node):
    """x++, ++x, x--, --x on a variable or a map element: the value is the old one (postfix)
    or the new one (prefix)."""
    target: "MapRef | Var"
    op: str          # "++" | "--"
    prefix: bool = False


@dataclass(slots=True, eq=False)
class Conditional(Node):
    """cond ? then : orelse"""
    cond: "Expr"
    then: "Expr"
    orelse: "Expr"


Expr = (IntLit | StrLit | Builtin | Positional | Var | MapRef | Call | Field | Unary | Binary | Conditional
        | Cast | Index | TupleLit | RecordLit | TupleField | Sizeof | Offsetof | AddrOf | IncDec)


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
    count_param: "Positional | None" = None   # unroll($1): the count, read by the checker


@dataclass(slots=True, eq=False)
class ForMap(Node):
    """`for ($kv : @m) { ... }` (bpftrace 0.21): $kv is (key, value) of each element."""
    var: Var
    map: MapRef
    body: Block


@dataclass(slots=True, eq=False)
class ForRange(Node):
    """`for ($i : start..end) { ... }` (bpftrace 0.24): start <= $i < end, bounds read once."""
    var: Var
    start: Expr
    end: Expr
    body: Block


@dataclass(slots=True, eq=False)
class Jump(Node):
    kind: str  # "break" | "continue" | "return"


@dataclass(slots=True, eq=False)
class Let(Node):
    """`let $x[: type] [= value];` (bpftrace 0.22): a variable of the enclosing block. The
    scopes pass (compiler/scopes.py) turns each into an assignment; what reaches the later
    passes is only `let $x;` with neither type nor value: its slot is zeroed there, and its
    type is what its assignments give it."""
    var: Var
    type: "TypeName | None" = None
    value: "Expr | None" = None


Stmt = ExprStmt | Assign | If | While | Unroll | ForMap | ForRange | Jump | Let


# ---- C type definitions (between probes) -------------------------------------------------

@dataclass(slots=True, eq=False)
class CDeclarator(Node):
    """What one C declaration declares: `*name[2][3]`, a bitfield `name : 4`, or padding."""
    name: str | None
    pointers: int = 0
    dims: list["Expr | None"] = field(default_factory=list)   # [N] as written; None for []
    bits: "Expr | None" = None
    funcptr: bool = False        # `(*name)(...)`: a function pointer, held as a void *


@dataclass(slots=True, eq=False)
class CSpec(Node):
    """A C declaration's type specifier: type words (`unsigned long`), a typedef or kt type
    name, a tagged reference (`struct Foo`), or an inline struct/union/enum definition."""
    base: "str | CStruct | CEnum"


@dataclass(slots=True, eq=False)
class CMember(Node):
    spec: CSpec
    declarators: list[CDeclarator]     # none: an anonymous struct/union member


@dataclass(slots=True, eq=False)
class CStruct(Node):
    kind: str                          # "struct" | "union"
    name: str | None
    members: list[CMember]


@dataclass(slots=True, eq=False)
class CEnum(Node):
    name: str | None
    items: list[tuple[str, "Expr | None", Span]]


@dataclass(slots=True, eq=False)
class CTypedef(Node):
    spec: CSpec
    declarators: list[CDeclarator]


CDefinition = CStruct | CEnum | CTypedef


# ---- macros (bpftrace 0.24+) ----------------------------------------------------------

@dataclass(slots=True, eq=False)
class MacroDef(Node):
    """`macro name(x, $v, @m) { stmts; value }`: expanded where it is called, before the
    passes (compiler/macros.py). `value` is the body's last statement when that is an
    expression without a `;` after it."""
    name: str
    params: list[str]            # as written: "x", "$v", "@m"
    body: Block
    has_value: bool
    name_span: Span


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


# ---- the preamble: config block, map declarations (bpftrace 0.20+, compiler/config.py) ------

@dataclass(slots=True, eq=False)
class ConfigItem(Node):
    key: str                  # as written: "max_strlen", "BPFTRACE_MAX_STRLEN"
    key_span: Span
    value: int | str          # an integer, a string literal's text, or a bare word (perf, true)
    value_span: Span
    quoted: bool = False      # the value was a string literal


@dataclass(slots=True, eq=False)
class MapDecl(Node):
    name: str                 # "@m"
    kind: str                 # as written: "hash", "lruhash", "percpuhash", ...
    kind_span: Span
    max_entries: int
    entries_span: Span


@dataclass(slots=True, eq=False)
class Program(Node):
    probes: list[Probe]
    definitions: list[CDefinition] = field(default_factory=list)   # in source order
    macros: list[MacroDef] = field(default_factory=list)
    config: list[ConfigItem] = field(default_factory=list)         # `config = { k = v; ... }`
    map_decls: list[MapDecl] = field(default_factory=list)         # `let @m = hash(N);`


def same_tree(a: object, b: object) -> bool:
    """Structural equality that ignores spans (for parser tests)."""
    if is_dataclass(a) and is_dataclass(b):
        if type(a) is not type(b):
            return False
        return all(
            same_tree(getattr(a, f.name), getattr(b, f.name))
            for f in fields(a)
            if f.name not in ("span", "name_span", "index_span", "name_spans")
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b))
    return a == b


def walk(node: object, skip: type | tuple[type, ...] = ()):
    """Every AST node under (and including) `node`, parents first, children in field order;
    nodes of a `skip` type are yielded, but not what is under them. An explicit stack, not
    recursive generators: those cost the depth at every node (a 10,000-term `a + a + ...`
    chain took minutes) and hit Python's recursion limit."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Node):
            yield item
            if not isinstance(item, skip):
                stack.extend(getattr(item, f.name) for f in reversed(_fields(type(item))))
        elif isinstance(item, list):
            stack.extend(reversed(item))


@functools.cache
def _fields(cls: type) -> tuple:
    return fields(cls)
