"""C type definitions of a script — struct, union, enum, typedef — as kt types with x86-64
layouts, and the scope that names types for the rest of the compiler.

Why a module: bpftrace scripts declare the structs of the programs they trace (bpftrace hands
them to clang); kt parses the declarations with its own grammar (grammar/kt.lark, `c_*` rules)
and lays them out here as the System V x86-64 ABI does: natural alignment, bitfields packed into
storage units of their declared type without straddling one, unions at offset 0. A `TypeScope`
then resolves every type name a script writes — in a cast, sizeof, offsetof, or a member
declaration — from the script's definitions first, then C's standard names, then the kernel's
BTF (compiler/kernel_types.py), so a script's `struct task_struct { ... }` shadows the
kernel's, as in bpftrace.
"""

from __future__ import annotations

from typing import Iterable

from . import ast, kernel_types
from .diagnostics import DiagnosticSink, did_you_mean
from .types import (Array, Int, Member, Opaque, Ptr, Record, S64, StructDef, Str, Type, U64, Void,
                    align_up, in_space)

# bpftrace's own integer type names.
KT_INTS = {f"{'u' if not s else ''}int{b}": Int(b, s) for b in (8, 16, 32, 64) for s in (True, False)}

# C's standard typedef names (parse.py's C_TYPE_NAMES), as x86-64 Linux defines them.
C_NAMES: dict[str, Type] = {
    **{f"{p}int{b}_t": Int(b, p == "") for p in ("", "u") for b in (8, 16, 32, 64)},
    **{f"{p}{b}": Int(b, p in ("s", "__s")) for p in ("u", "s", "__u", "__s") for b in (8, 16, 32, 64)},
    "size_t": U64, "ssize_t": S64, "pid_t": Int(32), "uid_t": Int(32, False), "gid_t": Int(32, False),
    "off_t": S64, "loff_t": S64, "uintptr_t": U64, "intptr_t": S64, "ptrdiff_t": S64, "time_t": S64,
    "ino_t": U64, "umode_t": Int(16, False), "sector_t": U64, "bool": Int(8, False),
}


class PlainChar(Int):
    """`char` itself (neither signed nor unsigned written): arrays of it are strings."""
    __slots__ = ()


PLAIN_CHAR = PlainChar(8, True)


def c_words_type(words: str) -> Type | None:
    """The type of C's type words: `unsigned long`, `long long int`, `char`, `_Bool`, ..."""
    ws = words.split()
    longs = ws.count("long")
    unsigned = "unsigned" in ws
    rest = set(ws) - {"long", "unsigned", "signed", "int"}
    if not ws or len(rest) > 1 or ws.count("unsigned") + ws.count("signed") > 1 or longs > 2:
        return None
    base = rest.pop() if rest else None
    if base is None:
        return Int(64 if longs else 32, not unsigned)
    if longs and base != "double" or (base in ("void", "_Bool", "float", "double") and
                                      (unsigned or "signed" in ws or "int" in ws)):
        return None
    if base == "char":
        if "int" in ws:
            return None
        if ws == ["char"]:
            return PLAIN_CHAR
        return Int(8, not unsigned)
    if base == "short":
        return Int(16, not unsigned)
    return {"void": Void(), "_Bool": Int(8, False), "float": Opaque(4, "float"),
            "double": Opaque(16 if longs else 8, "long double" if longs else "double")}[base]


def const_eval(e, constants: dict[str, int]) -> int | None:
    """The value of a constant C expression: integers, enumerators, arithmetic."""
    if isinstance(e, ast.IntLit):
        return e.value
    if isinstance(e, ast.Builtin):
        return constants.get(e.name, kernel_types.constant(e.name))
    if isinstance(e, ast.Unary):
        v = const_eval(e.operand, constants)
        if v is None:
            return None
        return {"-": -v, "~": ~v, "!": int(not v)}.get(e.op)
    if isinstance(e, ast.Binary):
        a, b = const_eval(e.lhs, constants), const_eval(e.rhs, constants)
        if a is None or b is None:
            return None
        ops = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
               "/": lambda: int(a / b) if b else None, "%": lambda: a % b if b else None,
               "<<": lambda: a << b, ">>": lambda: a >> b, "&": lambda: a & b, "|": lambda: a | b,
               "^": lambda: a ^ b}
        return ops[e.op]() if e.op in ops else None
    return None


class TypeScope:
    """Every type name a script can use, resolved: its own definitions, C's standard names,
    bpftrace's int names, then the kernel's BTF."""

    def __init__(self) -> None:
        self.structs: dict[tuple[str, str], StructDef] = {}   # ("struct", "Foo") -> layout
        self.typedefs: dict[str, Type] = {}
        self.constants: dict[str, int] = {}                    # enumerators
        self._enums: dict[str, Type] = {}

    # -- lookups -------------------------------------------------------------------------
    def struct(self, kind: str, name: str) -> StructDef | None:
        found = self.structs.get((kind, name))
        if found is not None:
            return found
        return kernel_types.struct_def(kind, name)

    def named(self, name: str) -> Type | None:
        """A type by one word: a typedef of the script, a standard C name, a kt int name, a
        kernel typedef."""
        for table in (self.typedefs, C_NAMES, KT_INTS):
            if name in table:
                return table[name]
        return kernel_types.typedef(name)

    def constant(self, name: str) -> int | None:
        if name in self.constants:
            return self.constants[name]
        return kernel_types.constant(name)

    def type_name(self, node: ast.TypeName, space: str, sink: DiagnosticSink) -> Type | None:
        """The type of a cast, sizeof or offsetof: `uint8`, `unsigned long`, `u32`, `struct Foo
        **`; pointers made by it point into `space`."""
        base = self._base(node.base, node.span, sink)
        if base is None:
            return None
        t: Type = _plain(base)
        for _ in range(node.pointers):
            t = Ptr(t)
        if node.array is not None:   # TYPE[N]; TYPE[] (count 0) only in an array cast
            t = Array(t, node.array)
        return in_space(t, space)

    def _base(self, words: str, span, sink: DiagnosticSink) -> Type | None:
        head, _, tag = words.partition(" ")
        if head in ("struct", "union") and tag:
            found = self.struct(head, tag)
            if found is None:
                known = [n for k, n in self.structs if k == head]
                sink.error(span, f"unknown {head} '{tag}': not defined in the script nor in the kernel's BTF",
                           did_you_mean(tag, known))
                return None
            return Record(found)
        if head == "enum" and tag:
            found = self._enums.get(tag) or kernel_types.enum_type(tag)
            if found is None:
                sink.error(span, f"unknown enum '{tag}'")
                return None
            return found
        t = c_words_type(words) if " " in words or words in _C_WORDS else self.named(words)
        if t is None:
            sink.error(span, f"unknown type '{words}'",
                       did_you_mean(words, [*self.typedefs, *C_NAMES, *KT_INTS]))
        return t

    # -- the script's definitions ----------------------------------------------------------
    def define(self, definitions: Iterable, sink: DiagnosticSink) -> None:
        for d in definitions:
            if isinstance(d, ast.CTypedef):
                base = self._spec(d.spec, sink, any(not x.pointers for x in d.declarators))
                if base is None:
                    continue
                for decl in d.declarators:
                    t = self._declared(base, decl, sink)
                    if t is not None:
                        self.typedefs[decl.name] = t
            else:
                self._spec(ast.CSpec(d.span, d), sink)
        # `struct Bar *` of a struct the script never defines: the kernel's, if it has one
        for (kind, name), s in self.structs.items():
            if not s.complete:
                kernel = kernel_types.struct_def(kind, name)
                if kernel is not None and kernel.complete:
                    s.define(kernel.size, load=lambda k=kernel: k.members)

    def _spec(self, spec: ast.CSpec, sink: DiagnosticSink, by_value: bool = True) -> Type | None:
        """The type a declaration's specifier names. `struct Bar` only pointed to may be
        defined later in the script (it is declared now, completed then, or from the kernel's
        BTF at the end); one held by value must be known here: the script's, else the kernel's."""
        base = spec.base
        if isinstance(base, ast.CStruct):
            return Record(self._struct(base, sink))
        if isinstance(base, ast.CEnum):
            return self._enum(base, sink)
        head, _, tag = base.partition(" ")
        if head in ("struct", "union") and tag:
            found = self.structs.get((head, tag))
            if found is None and by_value:
                found = kernel_types.struct_def(head, tag)
            return Record(found if found is not None else self._declare(head, tag))
        return self._base(base, spec.span, sink)

    def _declare(self, kind: str, name: str) -> StructDef:
        """The script's struct of that name, declared (incomplete) if not yet defined, so that
        pointers to it can come before its definition."""
        s = self.structs.get((kind, name))
        if s is None:
            s = self.structs[(kind, name)] = StructDef(kind, name, 0, (), complete=False)
        return s

    def _struct(self, node: ast.CStruct, sink: DiagnosticSink) -> StructDef:
        members, size, align = self._layout(node, sink)
        if node.name is None:
            return StructDef(node.kind, "", size, tuple(members), align=align)
        s = self._declare(node.kind, node.name)
        if s.complete and s.members:
            sink.error(node.span, f"{node.kind} {node.name} is defined twice")
        s.define(size, tuple(members), align=align)
        return s

    def _layout(self, node: ast.CStruct, sink: DiagnosticSink) -> tuple[list[Member], int, int]:
        """System V x86-64: each member at the next multiple of its alignment; a bitfield in
        the storage unit of its type at the current bit, or the next unit if it would straddle;
        `int :0` closes the unit; unnamed bitfields do not align the struct. Union members all
        start at 0."""
        union = node.kind == "union"
        members: list[Member] = []
        bit, size, align = 0, 0, 1
        for m in node.members:
            by_value = not m.declarators or any(not d.pointers for d in m.declarators)
            base = self._spec(m.spec, sink, by_value)
            if base is None:
                continue
            if not m.declarators:
                if isinstance(base, Record) and not base.struct.name:   # an anonymous member
                    off = 0 if union else align_up((bit + 7) // 8, base.align)
                    members.extend(Member(x.name, x.offset + off, x.type, x.bit_offset, x.bit_size)
                                   for x in base.struct.members)
                    size, align = max(size, off + base.size), max(align, base.align)
                    bit = 0 if union else (off + base.size) * 8
                continue
            for decl in m.declarators:
                t = self._declared(base, decl, sink)
                if t is None:
                    continue
                if decl.bits is not None:
                    width = const_eval(decl.bits, self.constants)
                    if not isinstance(t, Int) or width is None or not 0 <= width <= t.bits:
                        sink.error(decl.span, "a bitfield needs an integer type and a constant width "
                                   f"from 0 to its bits{f' ({t.bits})' if isinstance(t, Int) else ''}")
                        continue
                    unit = t.bits
                    start = 0 if union else bit
                    if width == 0 or start % unit + width > unit:
                        start = align_up(start, unit)
                    if decl.name and width:
                        storage = start // unit * t.size
                        members.append(Member(decl.name, storage, Int(t.bits, t.signed), start - storage * 8, width))
                        align = max(align, t.align)
                    end = start + width
                    size = max(size, (end + 7) // 8)
                    if not union:
                        bit = end
                    continue
                if isinstance(t, Record) and not t.struct.complete:
                    itself = node.name is not None and str(t) == f"{node.kind} {node.name}"
                    sink.error(decl.span, f"{t} cannot contain itself: a member needs a complete type"
                               if itself else f"{t} is only declared, not defined: a member needs its size",
                               f"use a pointer: {t} *{decl.name}" if itself and decl.name else "")
                    continue
                off = 0 if union else align_up((bit + 7) // 8, t.align)
                members.append(Member(decl.name, off, t))
                size, align = max(size, off + t.size), max(align, t.align)
                if not union:
                    bit = (off + t.size) * 8
        return members, align_up(max(size, (bit + 7) // 8), align), align

    def _declared(self, base: Type, decl: ast.CDeclarator, sink: DiagnosticSink) -> Type | None:
        """The type a declarator gives its base: pointers first, then array dimensions (char
        arrays are strings)."""
        t: Type = Void() if decl.funcptr else base
        for _ in range(decl.pointers):
            t = Ptr(_plain(t))
        dims = []
        for d in decl.dims:
            n = 0 if d is None else const_eval(d, self.constants)
            if n is None or n < 0:
                sink.error(d.span if d is not None else decl.span, "an array size must be a non-negative constant")
                return None
            dims.append(n)
        for n in reversed(dims):
            t = Str(n) if isinstance(t, PlainChar) and n else Array(_plain(t), n)
        return _plain(t)

    def _enum(self, node: ast.CEnum, sink: DiagnosticSink) -> Type:
        value = -1
        values = []
        for name, expr, span in node.items:
            if expr is None:
                value += 1
            else:
                v = const_eval(expr, self.constants)
                if v is None:
                    sink.error(expr.span, f"enumerator '{name}' needs a constant value")
                    v = value + 1
                value = v
            self.constants[name] = value
            values.append(value)
        t = Int(32, any(v < 0 for v in values))
        if node.name:
            self._enums[node.name] = t
        return t


_C_WORDS = {"unsigned", "signed", "int", "long", "short", "char", "void", "_Bool", "float", "double"}


def _plain(t: Type) -> Type:
    """A PlainChar is an ordinary int8 once it is not the element of a char array."""
    return Int(8, True) if isinstance(t, PlainChar) else t
