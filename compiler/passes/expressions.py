"""The type rules of expressions: the half of the semantic pass (passes/semantic.py) that says
what each expression is — integers and their widths, strings, tuples, C arrays, structs and
pointers — and refuses, with a span, what cannot be computed.

The rules follow bpftrace 0.17 (pointer arithmetic scaled by the pointee's size, `*p` reading the
pointee's width and sign, char arrays as strings), with the places where kt does better said
where they are: variable array indexes (0.17 takes only literals), pointers as conditions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ast
from ..builtins import BUILTIN_VARS, FUNCTIONS
from ..builtins.refused import REFUSED_FUNCTIONS
from ..diagnostics import did_you_mean
from ..positionals import COUNT
from ..cdecl import const_eval
from ..formats.numbers import c_integer
from ..types import (Agg, Args, Array, Buf, Int, Opaque, Ptr, Record, S64, Str, Sym, Tuple, Type, U64, Void, record_type, STACK,
                     printable, unify, widen)

if TYPE_CHECKING:  # pragma: no cover
    from .semantic import Checker

INET = Sym("inet")   # ntop()'s value, and saddr/daddr of packet probes
_COMPARE = {"==", "!=", "<", ">", "<=", ">="}
_LOGIC = {"&&", "||"}


def is_condition(t: Type) -> bool:
    """What if, while, ?:, && and predicates test: an integer, or a pointer (true when not NULL;
    bpftrace 0.17 refuses pointers in if and ?:, but takes them in predicates)."""
    return isinstance(t, (Int, Ptr))


class ExpressionChecker:
    """Expression typing; the Checker (passes/semantic.py) adds statements and maps."""

    def check(self: "Checker", e, value_used: bool = True) -> Type | None:
        t = self._expr(e, value_used)
        if t is not None:
            if isinstance(t, Void) and value_used:
                self.sink.error(e.span, f"{getattr(e, 'name', 'this')}() returns no value")
                return None
            self.types[e] = t
        return t

    def check_condition(self: "Checker", e, what: str) -> None:
        t = self.check(e)
        if t is not None and not is_condition(t):
            self.sink.error(e.span, f"{what} must be an integer or a pointer, this is {t}")

    def _expr(self: "Checker", e, value_used: bool) -> Type | None:
        if isinstance(e, ast.IntLit):
            if not -(1 << 63) <= e.value < (1 << 64):
                self.sink.error(e.span, "integer literal does not fit in 64 bits")
                return None
            return S64 if e.value < (1 << 63) else U64
        if isinstance(e, ast.StrLit):
            return Str(len(e.value) + 1)
        if isinstance(e, ast.Positional):
            return self._positional(e)
        if isinstance(e, ast.Builtin):
            return self._builtin(e)
        if isinstance(e, ast.Var):
            t = self._vars.get(e.name)
            if t is None and e.name in self._failed_vars:
                return None
            if t is None:
                elsewhere = self._earlier_vars.get(e.name)
                when = "used before it is assigned" if e.name in self._probe_assigns else \
                    "never assigned in this probe"
                self.sink.error(e.span, f"variable '{e.name}' is {when}",
                                did_you_mean(e.name, list(self._vars)),
                                f"'{e.name}' is set in {elsewhere}, but a variable lives in one probe: "
                                f"use a map (@{e.name[1:]}) to share it between probes" if elsewhere else "")
            else:
                self.saw_variable(e, e.name)
            return t
        if isinstance(e, ast.MapRef):
            return self._map_read(e)
        if isinstance(e, ast.Call):
            return self._call(e)
        if isinstance(e, ast.Field):
            return self._field(e)
        if isinstance(e, ast.Index):
            return self._index(e)
        if isinstance(e, ast.TupleLit):
            return self._tuple(e)
        if isinstance(e, ast.RecordLit):
            return self._record(e)
        if isinstance(e, ast.TupleField):
            return self._tuple_field(e)
        if isinstance(e, ast.Unary):
            return self._unary(e)
        if isinstance(e, ast.Binary):
            return self._binary(e)
        if isinstance(e, ast.Cast):
            return self._cast(e)
        if isinstance(e, ast.Conditional):
            return self._conditional(e, value_used)
        if isinstance(e, ast.Sizeof):
            return self._sizeof(e)
        if isinstance(e, ast.Offsetof):
            return self._offsetof(e)
        if isinstance(e, ast.AddrOf):
            return self._addr_of(e)
        if isinstance(e, ast.IncDec):
            return self.incdec(e)
        raise TypeError(f"unexpected node {e!r}")

    # -- names ---------------------------------------------------------------------------
    def _positional(self: "Checker", e: ast.Positional) -> Type:
        """$N as an integer and $# are run-time slots (compiler/positionals.py); a $N given as
        text is, as kt takes it, that string literal, baked in; $0 is 0."""
        uses = self.positionals
        if e.is_count:
            uses.slot(COUNT, "count")
            return S64
        if e.index < 1:
            return S64
        if uses.is_text(e.index):
            text = uses.text(e.index)
            if c_integer(text) is not None:   # a number past int64: it wrapped once, silently
                self.sink.error(e.span, f"${e.index} is {text.strip()}, too large for a 64-bit integer "
                                f"(the range is -2^63 to 2^63-1)", f"str(${e.index}) takes it as text")
                return S64
            uses.bake(e.index)
            return Str(len(uses.text(e.index).encode("utf-8", "surrogateescape")) + 1)
        uses.slot(e.index, "int")
        return S64

    def _builtin(self: "Checker", e: ast.Builtin) -> Type | None:
        rec = BUILTIN_VARS.get(e.name)
        if rec is not None:
            return rec.type(self, e)
        if e.name not in FUNCTIONS:
            value = self.scope.constant(e.name)
            if value is not None:   # an enumerator of the script or the kernel, a header macro
                self.constants[e] = value
                return S64
        hint = did_you_mean(e.name, list(BUILTIN_VARS))
        if e.name in FUNCTIONS:
            hint = f"{e.name} is a function: {e.name}(...)"
        self.sink.error(e.span, f"unknown builtin '{e.name}'", hint)
        return None

    def _call(self: "Checker", e: ast.Call) -> Type | None:
        rec = FUNCTIONS.get(e.name)
        if rec is None and e.name in BUILTIN_VARS:
            self.sink.error(e.span, f"'{e.name}' takes no arguments", f"write it as {e.name}")
            return None
        if rec is None and e.name in REFUSED_FUNCTIONS:   # bpftrace's newer stdlib
            release, hint = REFUSED_FUNCTIONS[e.name]
            self.sink.error(e.name_span, f"{e.name}() (bpftrace {release}) is not supported", hint)
            return None
        if rec is None:
            self.sink.error(e.name_span, f"unknown function '{e.name}'", did_you_mean(e.name, list(FUNCTIONS)))
            for a in e.args:
                self.check(a)
            return None
        return rec.check(self, e)

    # -- members, elements, tuples -------------------------------------------------------
    def _field(self: "Checker", e: ast.Field) -> Type | None:
        base_t = self.check(e.base)
        if base_t is None:
            return None
        if isinstance(base_t, Args):
            return self.current_probe.context.field_type(self, e)
        record = base_t.pointee if isinstance(base_t, Ptr) else base_t
        if not isinstance(record, Record):
            if isinstance(e.base, ast.Builtin) and e.base.name == "curtask":
                # curtask is an address when the kernel has no BTF (as in 0.17)
                self.sink.error(e.span, f"curtask->{e.name} needs the kernel's BTF for struct task_struct, "
                                "and this kernel has none (/sys/kernel/btf/vmlinux: CONFIG_DEBUG_INFO_BTF)",
                                "define struct task_struct (the members you read) in the script")
                return None
            what = "a struct or a pointer to one"
            self.sink.error(e.span, f"'{e.name}' is not a member of {base_t}: '.' and '->' need {what}",
                            "cast an address first: ((struct NAME *)addr)->member" if isinstance(base_t, Int) else "")
            return None
        if not record.struct.complete:
            self.sink.error(e.span, f"{record} is only declared, not defined: its members are unknown")
            return None
        member = record.member(e.name)
        if member is None:
            names = [m.name for m in record.struct.members]
            self.sink.error(e.name_span, f"{record} has no member '{e.name}'", did_you_mean(e.name, names))
            return None
        if isinstance(member.type, Opaque):
            self.sink.error(e.name_span, f"{record}.{e.name} is a {member.type}: kt computes only with integers")
            return None
        return member.type

    def _index(self: "Checker", e: ast.Index) -> Type | None:
        base_t, index_t = self.check(e.base), self.check(e.index)
        if base_t is None or index_t is None:
            return None
        if not isinstance(index_t, Int):
            self.sink.error(e.index.span, f"an index must be an integer, this is {index_t}")
            return None
        if isinstance(base_t, Tuple):   # (1, "a")[1 - 1] (bpftrace 0.23): a constant index
            n = const_eval(e.index, {})
            if n is None:
                self.sink.error(e.index.span, "a tuple's index must be a constant expression",
                                "write $t.N, or an integer expression of literals")
                return None
            if not 0 <= n < len(base_t.elems):
                self.sink.error(e.index.span, f"index {n} is out of bounds for a tuple of "
                                f"{len(base_t.elems)} elements")
                return None
            e.element = n
            return base_t.elems[n]
        if isinstance(base_t, Array):
            if isinstance(e.index, ast.IntLit) and base_t.count and not 0 <= e.index.value < base_t.count:
                self.sink.error(e.index.span, f"index {e.index.value} is out of bounds for {base_t} "
                                f"(0 to {base_t.count - 1})")
                return None
            return base_t.elem
        if isinstance(base_t, Str):   # string indexing (newer bpftrace): one byte, an int8
            if isinstance(e.index, ast.IntLit) and not 0 <= e.index.value < base_t.size:
                self.sink.error(e.index.span, f"index {e.index.value} is out of bounds for {base_t} "
                                f"(0 to {base_t.size - 1})")
                return None
            return Int(8, True)
        if isinstance(base_t, Ptr):
            if isinstance(base_t.pointee, (Void, Opaque)):
                self.sink.error(e.span, f"cannot index a {base_t}: cast it to a typed pointer first")
                return None
            return base_t.pointee
        self.sink.error(e.base.span, f"only arrays and pointers can be indexed, this is {base_t}",
                        "cast an address first: ((uint8 *)addr)[i]" if isinstance(base_t, Int) else "")
        return None

    def _tuple(self: "Checker", e: ast.TupleLit) -> Type | None:
        ts = [self.check(x) for x in e.elems]
        if any(t is None for t in ts):
            return None
        for x, t in zip(e.elems, ts):
            if not printable(t):
                self.sink.error(x.span, f"a tuple cannot hold {t}")
                return None
        return Tuple(tuple(widen(t) for t in ts))

    def _record(self: "Checker", e: ast.RecordLit) -> Type | None:
        """A record: its fields laid out as a tuple of the same values is; records with the
        same names and field types are one type (one StructDef), so they assign and compare."""
        for i, name in enumerate(e.names):
            if name in e.names[:i]:
                self.sink.error(e.name_spans[i], f"the record has two fields named '{name}'")
                return None
        layout = self._tuple(ast.TupleLit(e.span, e.elems))
        if layout is None:
            return None
        return record_type(tuple(e.names), layout)

    def _tuple_field(self: "Checker", e: ast.TupleField) -> Type | None:
        base_t = self.check(e.base)
        if base_t is None:
            return None
        if not isinstance(base_t, Tuple):
            self.sink.error(e.span, f".{e.index} needs a tuple, this is {base_t}")
            return None
        if not 0 <= e.index < len(base_t.elems):
            self.sink.error(e.index_span, f"index {e.index} is out of bounds for a tuple of "
                            f"{len(base_t.elems)} elements")
            return None
        return base_t.elems[e.index]

    # -- operators -----------------------------------------------------------------------
    def _unary(self: "Checker", e: ast.Unary) -> Type | None:
        t = self.check(e.operand)
        if t is None:
            return None
        if e.op == "*":
            if isinstance(t, Ptr):
                if isinstance(t.pointee, (Void, Opaque)) or (isinstance(t.pointee, Record)
                                                             and not t.pointee.struct.complete):
                    self.sink.error(e.span, f"cannot dereference a {t}")
                    return None
                return t.pointee
            if isinstance(t, Int):   # *addr: the 8 bytes at an address
                return S64
            self.sink.error(e.span, f"'*' needs a pointer or an address, this is {t}")
            return None
        if e.op == "!" and is_condition(t):
            return S64
        if not isinstance(t, Int):
            self.sink.error(e.span, f"'{e.op}' needs an integer, this is {t}")
            return None
        return S64 if e.op in ("!", "-") else t

    def _binary(self: "Checker", e: ast.Binary) -> Type | None:
        lt, rt = self.check(e.lhs), self.check(e.rhs)
        if lt is None or rt is None:
            return None
        op = e.op
        if op in _LOGIC:
            for side, t in ((e.lhs, lt), (e.rhs, rt)):
                if not is_condition(t):
                    self.sink.error(side.span, f"'{op}' needs integers or pointers, this is {t}")
                    return None
            return S64
        if op in ("==", "!=") and isinstance(lt, Str) and isinstance(rt, Str):
            return S64
        if op in ("==", "!=") and isinstance(lt, Buf) and isinstance(rt, Buf):
            return S64   # the same length and bytes (0.17 fails an LLVM assertion here)
        if op in ("==", "!=") and INET in (lt, rt):   # saddr == pton("10.0.0.1"), saddr == daddr
            other = rt if lt == INET else lt
            if other == INET or (isinstance(other, Array) and other.size in (4, 16)):
                return S64
            self.sink.error(e.span, f"'{op}' compares an address (inet) with an address or pton()'s bytes, "
                            f"not {other}")
            return None
        if op in ("==", "!=") and isinstance(lt, Array) and isinstance(rt, Array):
            if lt != rt:
                self.sink.error(e.span, f"'{op}' compares arrays of one type, not {lt} and {rt}")
                return None
            return S64
        if isinstance(lt, Ptr) or isinstance(rt, Ptr):
            return self._pointer_binary(e, lt, rt)
        if not isinstance(lt, Int) or not isinstance(rt, Int):
            bad, bad_t = (e.lhs, lt) if not isinstance(lt, Int) else (e.rhs, rt)
            if op in ("==", "!=") and isinstance(bad_t, Str):
                self.sink.error(e.span, f"'{op}' compares {lt} with {rt}: a string equals only a string",
                                "compare strings with strings (comm == \"bash\"), integers with integers")
                return None
            extra = "strings compare only with == and !=" if isinstance(bad_t, Str) else ""
            self.sink.error(bad.span, f"'{op}' needs integers, this is {bad_t}", extra)
            return None
        if op in _COMPARE:
            return S64
        if op in ("/", "%") and isinstance(e.rhs, ast.IntLit) and e.rhs.value == 0:
            self.sink.warning(e.rhs.span, f"'{op}' by zero: the result is 0")
        return Int(64, lt.signed and rt.signed)

    def _pointer_binary(self: "Checker", e: ast.Binary, lt: Type, rt: Type) -> Type | None:
        """p + n, n + p, p - n step by the pointee's size; pointers compare as addresses."""
        op = e.op
        if op in _COMPARE:
            for side, t in ((e.lhs, lt), (e.rhs, rt)):
                if not isinstance(t, (Int, Ptr)):
                    self.sink.error(side.span, f"'{op}' compares a pointer with a pointer or an integer, not {t}")
                    return None
            return S64
        ptr, other = (lt, rt) if isinstance(lt, Ptr) else (rt, lt)
        if op == "+" or (op == "-" and isinstance(lt, Ptr)):
            if isinstance(other, Int):
                return ptr
            self.sink.error(e.span, f"'{op}' takes a pointer and an integer, not {lt} and {rt}",
                            "cast the pointers to uint64 to subtract addresses" if op == "-" else "")
            return None
        if isinstance(lt, (Int, Ptr)) and isinstance(rt, (Int, Ptr)):   # bit operations: on the address
            return U64
        self.sink.error(e.span, f"'{op}' cannot be used on {lt} and {rt}")
        return None

    def _cast(self: "Checker", e: ast.Cast) -> Type | None:
        t = self.check(e.operand)
        if t is None:
            return None
        space = t.space if isinstance(t, Ptr) else self.current_probe.context.space
        target = self.scope.type_name(e.type, space, self.sink)
        if target is None:
            return None
        if e.type.array is not None or isinstance(t, Array):
            return self._array_cast(e, t, target)
        if not isinstance(t, (Int, Ptr)):
            self.sink.error(e.operand.span, f"only integers and pointers can be cast, this is {t}")
            return None
        if isinstance(target, (Int, Ptr)):
            return target   # integers are computed in 64 bits; the width is kept for bswap()
        self.sink.error(e.type.span, f"cannot cast to {target}",
                        f"cast to a pointer and dereference: *({target} *)addr" if isinstance(target, Record) else "")
        return None

    def _array_cast(self: "Checker", e: ast.Cast, t: Type, target: Type) -> Type | None:
        """`(int8[8])x` / `(uint64)$arr` (bpftrace 0.20): an integer's bytes as an array of
        integers, or such an array as one integer; both sides have one size."""
        if isinstance(target, Array):
            elem = target.elem
            if not isinstance(elem, Int):
                self.sink.error(e.type.span, f"an array cast makes an array of integers, not of {elem}")
                return None
            if not isinstance(t, Int):
                self.sink.error(e.operand.span, f"only an integer casts to an array, this is {t}")
                return None
            count = target.count or t.size // elem.size
            if count * elem.size != t.size:
                self.sink.error(e.span, f"cannot cast {t} ({t.size} bytes) to {elem}[{target.count or ''}] "
                                f"({count * elem.size} bytes): an array cast keeps the size")
                return None
            return Array(elem, count)
        if not isinstance(target, Int) or not isinstance(t.elem, Int) or t.size != target.size:
            self.sink.error(e.span, f"cannot cast {t} ({t.size} bytes) to {target}"
                            + (f" ({target.size} bytes)" if isinstance(target, Int) else "")
                            + ": an array of integers casts to an integer of its size")
            return None
        return target

    def _conditional(self: "Checker", e: ast.Conditional, value_used: bool) -> Type | None:
        self.check_condition(e.cond, "a condition")
        a, b = self.check(e.then, value_used), self.check(e.orelse, value_used)
        if a is None or b is None:
            return None
        if not value_used and (isinstance(a, Void) or isinstance(b, Void)):
            return Void()   # `c ? printf("a") : printf("b")`: a statement
        t = unify(a, b)
        if t is None or not isinstance(t, (Int, Str, Ptr, Tuple, Record, Array)):
            self.sink.error(e.span, f"both branches of '?:' must have one type, not {a} and {b}")
            return None
        return t

    # -- compile-time constants ----------------------------------------------------------
    def _sizeof(self: "Checker", e: ast.Sizeof) -> Type | None:
        if e.type is not None:
            t = self.scope.type_name(e.type, self.current_probe.context.space, self.sink)
        else:
            t = self.check(e.operand)
        if t is None:
            return None
        if isinstance(t, (Void, Args, Agg)) or (isinstance(t, Record) and not t.struct.complete):
            self.sink.error(e.span, f"{t} has no size")
            return None
        self.constants[e] = t.size
        return U64

    def _offsetof(self: "Checker", e: ast.Offsetof) -> Type | None:
        t = self.scope.type_name(e.type, self.current_probe.context.space, self.sink)
        if t is None:
            return None
        offset = 0
        for name in e.path:
            if not isinstance(t, Record) or not t.struct.complete:
                self.sink.error(e.type.span, f"offsetof() needs a struct or union, this is {t}")
                return None
            m = t.member(name)
            if m is None:
                self.sink.error(e.span, f"{t} has no member '{name}'",
                                did_you_mean(name, [x.name for x in t.struct.members]))
                return None
            if m.is_bitfield:
                self.sink.error(e.span, f"{t}.{name} is a bitfield: it has no byte offset")
                return None
            offset += m.offset
            t = m.type
        self.constants[e] = offset
        return U64

    def memory_space(self: "Checker", e) -> str | None:
        """Where the value of `e` lies when it is in kernel or user memory (what `&` takes the
        address of), None when it is a value in the program (a variable, a map value)."""
        if isinstance(e, ast.Unary) and e.op == "*":
            t = self.types.get(e.operand)
            return t.space if isinstance(t, Ptr) else self.current_probe.context.space
        if isinstance(e, (ast.Field, ast.Index)):
            t = self.types.get(e.base)
            if isinstance(t, Ptr):
                return t.space
            if isinstance(t, (Record, Array)):
                return self.memory_space(e.base)
        if isinstance(e, ast.Var):   # its slot on the BPF stack (bpftrace 0.25's &$x)
            return STACK
        return None

    def _addr_of(self: "Checker", e: ast.AddrOf) -> Type | None:
        t = self.check(e.operand)
        if t is None:
            return None
        space = self.memory_space(e.operand)
        if space is None:
            self.sink.error(e.span, "'&' takes the address of a scratch variable, or of a struct member or "
                            "array element in memory", "map values live in BPF maps: kt gives them no address")
            return None
        if isinstance(e.operand, ast.Field) and isinstance(self.types.get(e.operand.base), (Ptr, Record)):
            base = self.types[e.operand.base]
            record = base.pointee if isinstance(base, Ptr) else base
            m = record.member(e.operand.name)
            if m is not None and m.is_bitfield:
                self.sink.error(e.span, f"{record}.{m.name} is a bitfield: it has no address")
                return None
        return Ptr(t, space)
