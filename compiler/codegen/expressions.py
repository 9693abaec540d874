"""Lowering of expressions: values, places in memory, conversions between layouts.

Values: an integer or pointer lowers to an i64; anything larger (a string, tuple, C array or
struct) to a pointer to bytes on the BPF stack. A C value that lies in kernel or user memory is
first a `Place` (places.py), so that `$f->inner.x` or `curtask->real_parent->pid` reads only the
bytes it names, never the whole struct; `load` reads a place into a value, `store_value` writes
a value into a destination of a possibly larger layout (tuples of strings of different lengths
share a map, as bpftrace resizes them).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..builtins import BUILTIN_VARS, FUNCTIONS
from ..builtins.memory import read_str
from ..builtins.records import literal_text
from ..builtins.strings import strings_equal
from ..helpers import Helper
from ..positionals import COUNT
from ..types import PACKET, Args, Array, Buf, Int, Ptr, Record, Str, Sym, Tuple, Type, USER, Void, is_word
from . import maps
from .places import CTX, LOCAL, Place

if TYPE_CHECKING:  # pragma: no cover
    from .probe import ProbeCodegen

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
I8P = I8.as_pointer()
_MASK = 0xFFFFFFFFFFFFFFFF


def _words(size: int, start: int = 0):
    """(offset, width) of the widest loads that cover `size` bytes: 8s, then 4, 2, 1, each
    aligned to its width counted from `start` (the bytes' offset in an aligned object)."""
    off = 0
    while off < size:
        width = next(w for w in (8, 4, 2, 1) if size - off >= w and (start + off) % w == 0)
        yield off, width
        off += width


def _ctx_offset(addr: ir.Value, ctx: ir.Value) -> int:
    """The constant byte offset of a context place from the context pointer (a chain of
    constant GEPs from it); 0 when it cannot be told, as if aligned."""
    total = 0
    while addr is not ctx:
        if not isinstance(addr, ir.GEPInstr) or len(addr.indices) != 1 or not isinstance(addr.indices[0], ir.Constant):
            return 0
        total += addr.indices[0].constant
        addr = addr.pointer
    return total


class VolatileLoad(ir.LoadInstr):
    """`load volatile`, which llvmlite's builder does not offer."""

    def descr(self, buf):
        [ptr] = self.operands
        buf.append(f"load volatile {self.type}, {ptr.type} {ptr.get_reference()}"
                   f"{self._stringify_metadata(leading_comma=True)}\n")


class ExpressionLowering:
    """Expressions of one probe; ProbeCodegen (probe.py) adds statements and events."""

    # ---- places and loads ----------------------------------------------------------------
    def read_memory(self: "ProbeCodegen", dst: ir.Value, size: int, place: Place) -> None:
        """Copy `size` bytes at a place into dst. Kernel and user memory may fault: the
        helpers then leave dst as it was (zeroed by the caller)."""
        if size <= 0:
            return
        if place.space == CTX:
            # Word by word, each a load at a constant offset from the context: the verifier
            # refuses a context pointer moved and then dereferenced (what memcpy becomes), and
            # a load not aligned to its size (a tracepoint's `char comm[16]` at offset 12).
            for off, width in _words(size, _ctx_offset(place.addr, self.ctx)):
                t = ir.IntType(width * 8).as_pointer()
                word = VolatileLoad(self.b.block, self.b.bitcast(self.offset(place.addr, off), t))
                self.b._insert(word)
                self.b.store(word, self.b.bitcast(self.offset(dst, off), t))
            return
        if place.space == LOCAL:
            self.memcpy(dst, place.addr, size)
            return
        if place.space == PACKET:   # `pkt`: an offset into the packet (compiler/packet_probes.py)
            self.resolved.context.read_packet(self, dst, size, place.addr)
            return
        helper = Helper.probe_read_user if place.space == USER else Helper.probe_read_kernel
        self.helper(helper, dst, ir.Constant(I64, size), self.b.inttoptr(place.addr, I8P))

    def load(self: "ProbeCodegen", place: Place, t: Type) -> ir.Value:
        """The value of type t at a place: an i64 for words (extended per t's sign), else a
        pointer to its bytes (a local place is used where it is: callers copy)."""
        b = self.b
        if is_word(t):
            width = ir.IntType(t.size * 8)
            if place.space == LOCAL:
                raw = b.load(b.bitcast(place.addr, width.as_pointer()))
            elif place.space == CTX:
                raw = VolatileLoad(b.block, b.bitcast(place.addr, width.as_pointer()))
                b._insert(raw)
            else:
                slot = self.stack(8, "mem")
                self.memset0(slot, 8)
                self.read_memory(slot, t.size, place)
                raw = b.load(b.bitcast(slot, width.as_pointer()))
            if t.size == 8:
                return raw
            return b.sext(raw, I64) if isinstance(t, Int) and t.signed else b.zext(raw, I64)
        if place.space == LOCAL:
            return place.addr
        buf = self.stack(t.size, "mem")
        self.memset0(buf, t.size)
        self.read_memory(buf, t.size, place)
        return buf

    def place(self: "ProbeCodegen", e) -> Place:
        """Where the value of `e` lies, without reading it."""
        b = self.b
        if isinstance(e, ast.Var):
            return Place(LOCAL, self._vars[e.name])
        if isinstance(e, ast.Unary) and e.op == "*":
            t = self.types[e.operand]
            return Place(t.space if isinstance(t, Ptr) else self.resolved.context.space, self.expr(e.operand))
        if isinstance(e, ast.Field):
            base_t = self.types[e.base]
            if isinstance(base_t, Args):
                found = self.resolved.context.field_place(self, e)
                if found is not None:
                    return found
            elif isinstance(base_t, Ptr):
                member = base_t.pointee.member(e.name)
                return Place(base_t.space, b.add(self.expr(e.base), ir.Constant(I64, member.offset)))
            elif isinstance(base_t, Record):
                return self.place(e.base).plus(self, base_t.member(e.name).offset)
        if isinstance(e, ast.Index):
            base_t = self.types[e.base]
            if isinstance(base_t, Ptr):
                step = b.mul(self.expr(e.index), ir.Constant(I64, base_t.stride))
                return Place(base_t.space, b.add(self.expr(e.base), step))
            if isinstance(base_t, Str):   # a string's bytes: an int8 array of its size
                base_t = Array(Int(8, True), base_t.size)
            if isinstance(base_t, Array) and isinstance(e.index, ast.IntLit):
                return self.place(e.base).plus(self, e.index.value * base_t.elem.size)
            if isinstance(base_t, Array):
                return self._checked_element(e, base_t)
        if isinstance(e, ast.TupleField):
            base_t = self.types[e.base]
            return Place(LOCAL, self.offset(self.expr(e.base), base_t.offsets[e.index]))
        if isinstance(e, ast.Index) and e.element is not None:   # a tuple's constant index
            base_t = self.types[e.base]
            return Place(LOCAL, self.offset(self.expr(e.base), base_t.offsets[e.element]))
        v = self.expr(e)
        if is_word(self.types[e]):
            slot = self.stack(8, "val")
            b.store(v, b.bitcast(slot, I64.as_pointer()))
            return Place(LOCAL, slot)
        return Place(LOCAL, v)

    def _checked_element(self: "ProbeCodegen", e: ast.Index, base_t: Array) -> Place:
        """arr[i] with i known only at run time: the element, copied when 0 <= i < count and
        zero otherwise (0.17 takes only literal indexes; the bound also lets the verifier check
        an index into the BPF stack)."""
        b = self.b
        base = self.place(e.base)
        if base.space == CTX:   # the verifier takes context loads at constant offsets only
            base = Place(LOCAL, self.load(base, base_t))
        elem = base_t.elem
        size = max(elem.size, 8)
        out = self.stack(size, "elem")
        self.memset0(out, size)
        index = self.expr(e.index)
        inside = b.icmp_unsigned("<", index, ir.Constant(I64, base_t.count)) if base_t.count else ir.Constant(I1, 1)
        with b.if_then(inside):
            self.read_memory(out, elem.size, base.plus(self, b.mul(index, ir.Constant(I64, elem.size))))
        return Place(LOCAL, out)

    # ---- storing -------------------------------------------------------------------------
    def store_value(self: "ProbeCodegen", dst: ir.Value, t: Type, e) -> None:
        """Store expression e, converted to type t, at dst (a zeroed buffer of t.size)."""
        outer, self.span = self.span, e.span   # as in expr(): where -k reports
        self._store_value(dst, t, e)
        self.span = outer

    def _store_value(self: "ProbeCodegen", dst: ir.Value, t: Type, e) -> None:
        et = self.types[e]
        if isinstance(e, ast.Call) and e.name == "str" and isinstance(self.types.get(e.args[0]), (Int, Ptr)):
            # Read the string straight into its destination: no second buffer on the stack.
            read_str(self, e, dst, min(et.size, t.size))
            return
        if isinstance(e, ast.TupleLit) and isinstance(t, Tuple):
            for sub, st, off in zip(e.elems, t.elems, t.offsets):
                self.store_value(self.offset(dst, off), st, sub)
            return
        if isinstance(e, ast.RecordLit) and isinstance(t, Record):   # field by field, by name
            for name, sub in zip(e.names, e.elems):
                m = t.struct.member(name)
                self.store_value(self.offset(dst, m.offset), m.type, sub)
            return
        if is_word(t):
            self._store_word(self.expr(e), dst, t.size)
            return
        if et == t and self._in_place(e):
            # A C value in memory is read straight into its destination.
            self.read_memory(dst, t.size, self.place(e))
            return
        self.copy_converted(dst, t, self.expr(e), et)

    def _in_place(self: "ProbeCodegen", e) -> bool:
        if isinstance(e, ast.Unary):
            return e.op == "*"
        if isinstance(e, ast.Field):
            base_t = self.types[e.base]
            return not isinstance(base_t, Args)
        return isinstance(e, (ast.Var, ast.Index, ast.TupleField))

    def _store_word(self: "ProbeCodegen", v: ir.Value, dst: ir.Value, size: int) -> None:
        width = ir.IntType(size * 8)
        self.b.store(v if size == 8 else self.b.trunc(v, width), self.b.bitcast(dst, width.as_pointer()))

    def copy_converted(self: "ProbeCodegen", dst: ir.Value, t: Type, src: ir.Value, st: Type) -> None:
        """Copy a value of layout st at src into layout t at dst: strings cut or padded, tuple
        fields moved to their offsets in t."""
        if isinstance(t, Tuple) and isinstance(st, Tuple) and t != st:
            for te, to, se, so in zip(t.elems, t.offsets, st.elems, st.offsets):
                self.copy_converted(self.offset(dst, to), te, self.offset(src, so), se)
            return
        if is_word(t) and is_word(st):
            self._store_word(self.load(Place(LOCAL, src), st), dst, t.size)
            return
        self.memcpy(dst, src, min(t.size, st.size))

    # ---- expressions ---------------------------------------------------------------------
    def expr(self: "ProbeCodegen", e) -> ir.Value:
        # The innermost expression being lowered: where -k reports a failing helper call.
        outer, self.span = self.span, e.span
        value = self._expr(e)
        self.span = outer
        return value

    def _expr(self: "ProbeCodegen", e) -> ir.Value:
        b = self.b
        if isinstance(e, ast.IntLit):
            return ir.Constant(I64, e.value & _MASK)
        if isinstance(e, ast.StrLit):
            return self.const_str(e.value)
        if isinstance(e, ast.Positional):   # compiler/positionals.py: slots, or text baked in
            if isinstance(self.types[e], Str):
                return self.const_str(self.options.positional[e.index - 1].encode("utf-8", "surrogateescape"))
            if e.is_count:
                return self.positional_int(COUNT, "count")
            return self.positional_int(e.index) if e.index >= 1 else ir.Constant(I64, 0)
        if isinstance(e, (ast.Sizeof, ast.Offsetof)) or (isinstance(e, ast.Builtin) and e in self.constants):
            return ir.Constant(I64, self.constants[e] & _MASK)
        if isinstance(e, ast.Builtin):
            return BUILTIN_VARS[e.name].lower(self, e)
        if isinstance(e, ast.Var):
            return self.load(Place(LOCAL, self._vars[e.name]), self.types[e])
        if isinstance(e, ast.MapRef):
            return maps.read_map(self, self.plan.maps[e.name], e.keys)
        if isinstance(e, ast.Call):
            return FUNCTIONS[e.name].lower(self, e)
        if isinstance(e, ast.Field):
            return self._field(e)
        if isinstance(e, (ast.Index, ast.TupleField)):
            return self.load(self.place(e), self.types[e])
        if isinstance(e, (ast.TupleLit, ast.RecordLit)):
            t = self.types[e]
            buf = self.stack(t.size, "tuple")
            self.memset0(buf, t.size)
            self.store_value(buf, t, e)
            return buf
        if isinstance(e, ast.Unary):
            if e.op == "*":
                return self.load(self.place(e), self.types[e])
            v = self.expr(e.operand)
            if e.op == "!":
                return b.zext(b.icmp_unsigned("==", v, ir.Constant(I64, 0)), I64)
            if e.op == "-":
                return b.neg(v)
            return b.not_(v)
        if isinstance(e, ast.AddrOf):
            place = self.place(e.operand)   # &$x: the slot's address, as an integer
            return b.ptrtoint(place.addr, I64) if place.space == LOCAL else place.addr
        if isinstance(e, ast.Binary):
            return self._binary(e)
        if isinstance(e, ast.Conditional):
            return self._conditional(e)
        if isinstance(e, ast.Cast) and isinstance(self.types[e], Array):   # (int8[8])x: its bytes
            slot = self.stack(8, "array_cast")
            b.store(self.expr(e.operand), b.bitcast(slot, I64.as_pointer()))
            return slot
        if isinstance(e, ast.Cast) and isinstance(self.types[e.operand], Array):   # (uint64)$arr
            return self.load(Place(LOCAL, self.expr(e.operand)), self.types[e])
        if isinstance(e, ast.Cast):
            t = self.types[e]
            v = self.expr(e.operand)
            if isinstance(t, Ptr) or t.bits == 64:
                return v
            narrow = b.trunc(v, ir.IntType(t.bits))
            return b.sext(narrow, I64) if t.signed else b.zext(narrow, I64)
        if isinstance(e, ast.IncDec):
            return self.incdec(e)
        raise TypeError(e)

    def _field(self: "ProbeCodegen", e: ast.Field) -> ir.Value:
        base_t = self.types[e.base]
        if isinstance(base_t, Args):
            return self.resolved.context.lower_field(self, e)
        record = base_t.pointee if isinstance(base_t, Ptr) else base_t
        member = record.member(e.name)
        if not member.is_bitfield:
            return self.load(self.place(e), self.types[e])
        # A bitfield: its storage unit read whole, then its bits shifted down and extended.
        b = self.b
        unit = self.load(self.place(e), Int(member.type.bits, False))
        width = member.bit_size
        up = b.shl(unit, ir.Constant(I64, 64 - member.bit_offset - width))
        shift = ir.Constant(I64, 64 - width)
        return b.ashr(up, shift) if member.type.signed else b.lshr(up, shift)

    def _conditional(self: "ProbeCodegen", e: ast.Conditional) -> ir.Value | None:
        """Only the chosen branch runs (it may read memory or call helpers)."""
        b = self.b
        t = self.types[e]
        cond = self.truth(self.expr(e.cond))
        if isinstance(t, Void):
            with b.if_else(cond) as (then, otherwise):
                with then:
                    self.expr(e.then)
                with otherwise:
                    self.expr(e.orelse)
            return None
        if is_word(t):
            slot = b.bitcast(self.stack(8, "cond"), I64.as_pointer())
            with b.if_else(cond) as (then, otherwise):
                with then:
                    b.store(self.expr(e.then), slot)
                with otherwise:
                    b.store(self.expr(e.orelse), slot)
            return b.load(slot)
        buf = self.stack(t.size, "cond")
        self.memset0(buf, t.size)
        with b.if_else(cond) as (then, otherwise):
            with then:
                self.store_value(buf, t, e.then)
            with otherwise:
                self.store_value(buf, t, e.orelse)
        return buf

    def const_str(self: "ProbeCodegen", data: bytes) -> ir.Value:
        size = len(data) + 1
        buf = self.stack(size, "strlit")
        arr_t = ir.ArrayType(I8, size)
        self.b.store(ir.Constant(arr_t, bytearray(data + b"\0")), self.b.bitcast(buf, arr_t.as_pointer()))
        return buf

    def step(self: "ProbeCodegen", t: Type, n: ir.Value) -> ir.Value:
        """n elements of a pointer's pointee in bytes (n itself for an integer)."""
        return self.b.mul(n, ir.Constant(I64, t.stride)) if isinstance(t, Ptr) else n

    def _binary(self: "ProbeCodegen", e: ast.Binary) -> ir.Value:
        lt, rt = self.types[e.lhs], self.types[e.rhs]
        if isinstance(lt, Str):
            a, c = self.expr(e.lhs), self.expr(e.rhs)
            eq = self._str_equal_literal(e, a, c) or self._str_equal(a, lt.size, c, rt.size)
            return eq if e.op == "==" else self.b.xor(eq, ir.Constant(I64, 1))
        if Sym("inet") in (lt, rt):   # {u64 family; 16 bytes}: pton()'s bytes made one first
            eq = self._bytes_equal(self._inet(e.lhs), self._inet(e.rhs), lt.size if lt == rt else 24)
            return eq if e.op == "==" else self.b.xor(eq, ir.Constant(I64, 1))
        if isinstance(lt, Array):
            eq = self._bytes_equal(self.expr(e.lhs), self.expr(e.rhs), lt.size)
            return eq if e.op == "==" else self.b.xor(eq, ir.Constant(I64, 1))
        if isinstance(lt, Buf):   # {u64 length; bytes}, zero past the length: both compared
            eq = self._bytes_equal(self.expr(e.lhs), self.expr(e.rhs), min(lt.size, rt.size))
            return eq if e.op == "==" else self.b.xor(eq, ir.Constant(I64, 1))
        if e.op in ("&&", "||"):
            return self._logical(e)
        lhs, rhs = self.expr(e.lhs), self.expr(e.rhs)
        if e.op == "+" and isinstance(rt, Ptr) and not isinstance(lt, Ptr):
            return self.b.add(self.step(rt, lhs), rhs)
        if e.op in ("+", "-") and isinstance(lt, Ptr):
            return self._arith(e.op, lhs, self.step(lt, rhs), False)
        signed = isinstance(lt, Int) and isinstance(rt, Int) and lt.signed and rt.signed
        if e.op in ("==", "!=", "<", ">", "<=", ">="):
            cmp = self.b.icmp_signed if signed else self.b.icmp_unsigned
            return self.b.zext(cmp(e.op, lhs, rhs), I64)
        return self._arith(e.op, lhs, rhs, signed)

    def _inet(self: "ProbeCodegen", e) -> ir.Value:
        """An inet value, or 4/16 address bytes as the inet value ntop() makes of them."""
        t = self.types[e]
        if t == Sym("inet"):
            return self.expr(e)
        buf = self.stack(24, "inet")
        self.memset0(buf, 24)
        family = socket.AF_INET6 if t.size == 16 else socket.AF_INET
        self.b.store(ir.Constant(I64, family), self.b.bitcast(buf, I64.as_pointer()))
        self.memcpy(self.offset(buf, 8), self.expr(e), t.size)
        return buf

    def _arith(self: "ProbeCodegen", op: str, lhs: ir.Value, rhs: ir.Value, signed: bool) -> ir.Value:
        b = self.b
        simple = {"+": b.add, "-": b.sub, "*": b.mul, "&": b.and_, "|": b.or_, "^": b.xor}
        if op in simple:
            return simple[op](lhs, rhs)
        if op in ("<<", ">>"):
            # An LLVM shift by 64 or more (or a negative amount) is poison, which LLVM may
            # fold into anything, stack garbage included. The amount is taken mod 64, as BPF's
            # instructions (and so 0.17 at run time) take it: `1 << 65` is 2.
            amount = b.and_(rhs, ir.Constant(I64, 63))
            if op == "<<":
                return b.shl(lhs, amount)
            return b.ashr(lhs, amount) if signed else b.lshr(lhs, amount)
        if op in ("/", "%"):
            return self._divmod(op, lhs, rhs, signed)
        raise ValueError(op)

    def _divmod(self: "ProbeCodegen", op: str, lhs: ir.Value, rhs: ir.Value, signed: bool) -> ir.Value:
        """x / 0 and x % 0 are 0, as bpftrace's docs promise. LLVM's udiv by zero is undefined
        behaviour, which LLVM folds to poison when it can prove the zero (uninitialized stack
        then reached a map: kernel memory in the output), so the divisor is never zero: 1 in
        its place, and the result replaced by 0. BPF's own rule (x % 0 is x) is not used.
        BPF's division is unsigned (signed division needs cpu v4): signed operands divide
        their magnitudes and fix the sign (C's truncation toward zero; INT64_MIN / -1 wraps
        to INT64_MIN, no trap)."""
        b = self.b
        zero, one = ir.Constant(I64, 0), ir.Constant(I64, 1)
        is_zero = b.icmp_unsigned("==", rhs, zero)
        divisor = b.select(is_zero, one, rhs)
        if signed:
            lneg = b.icmp_signed("<", lhs, zero)
            rneg = b.icmp_signed("<", divisor, zero)
            la = b.select(lneg, b.neg(lhs), lhs)
            ra = b.select(rneg, b.neg(divisor), divisor)
            if op == "/":
                q = b.udiv(la, ra)
                value = b.select(b.xor(lneg, rneg), b.neg(q), q)
            else:
                r = b.urem(la, ra)
                value = b.select(lneg, b.neg(r), r)
        else:
            value = b.udiv(lhs, divisor) if op == "/" else b.urem(lhs, divisor)
        return b.select(is_zero, zero, value)

    def _logical(self: "ProbeCodegen", e: ast.Binary) -> ir.Value:
        slot = self.stack(8, "logic")
        p = self.b.bitcast(slot, I64.as_pointer())
        lhs = self.truth(self.expr(e.lhs))
        short_value = 1 if e.op == "||" else 0
        self.b.store(ir.Constant(I64, short_value), p)
        go_on = lhs if e.op == "&&" else self.b.not_(lhs)
        with self.b.if_then(go_on):
            self.b.store(self.b.zext(self.truth(self.expr(e.rhs)), I64), p)
        return self.b.load(p)

    def _str_equal_literal(self: "ProbeCodegen", e: ast.Binary, a: ir.Value, c: ir.Value) -> ir.Value | None:
        """`s == "lit"` (either side) as a few whole-word compares, when s is a fresh 8-aligned
        stack buffer (the verifier refuses misaligned stack loads) at least as long as the
        literal with its NUL: equal up to the first NUL (0.17's semantics) is then equal in
        the literal's bytes and its NUL, the bytes of s past them masked off. None otherwise
        (the byte-wise comparison)."""
        lit = literal_text(e.rhs, self)
        other, s = e.lhs, a
        if lit is None or isinstance(e.lhs, ast.StrLit):
            lit = literal_text(e.lhs, self)
            other, s = e.rhs, c
        if lit is None or isinstance(other, ast.StrLit):
            return None
        want = lit.split(b"\0")[0] + b"\0"
        size = self.types[other].size
        if size < len(want) or not (isinstance(s, ir.CastInstr) and isinstance(s.operands[0], ir.AllocaInstr)
                                     and (s.operands[0].align or 0) >= 8):
            return None
        b = self.b
        acc = ir.Constant(I1, 1)
        off = 0
        while off < len(want):
            # An 8-byte load reads bytes of s past the literal only inside s's `size` bytes.
            width = 8 if off + 8 <= size else next(w for w in (4, 2, 1) if len(want) - off >= w)
            count = min(width, len(want) - off)
            t = ir.IntType(width * 8)
            x = b.load(b.bitcast(self.offset(s, off), t.as_pointer()))
            if count < width:
                x = b.and_(x, ir.Constant(t, (1 << 8 * count) - 1))
            word = int.from_bytes(want[off:off + count], "little")
            acc = b.and_(acc, b.icmp_unsigned("==", x, ir.Constant(t, word)))
            off += count
        return b.zext(acc, I64)

    def _str_equal(self: "ProbeCodegen", a: ir.Value, asize: int, c: ir.Value, csize: int) -> ir.Value:
        """1 when the strings are equal up to their first NUL (or their ends), else 0."""
        b = self.b
        n = min(asize, csize)
        if n > 16:   # two long strings: a loop (unrolled, str(a) == str(b) spills past the stack)
            return b.zext(strings_equal(self, a, asize, c, csize, max(asize, csize)), I64)
        # Branch-free: BPF has no set-on-condition, so a select per byte became two branches
        # per byte, and the verifier walked every path (comm == curtask->group_leader->comm
        # passed its 1M-instruction limit). `alive` is all ones until the first NUL of a;
        # any differing byte while alive makes `diff` non-zero.
        alive = ir.Constant(I64, -1)
        diff = ir.Constant(I64, 0)
        for i in range(n):
            x = b.zext(b.load(self.offset(a, i)), I64)
            y = b.zext(b.load(self.offset(c, i)), I64)
            diff = b.or_(diff, b.and_(b.xor(x, y), alive))
            nonzero = b.lshr(b.add(x, ir.Constant(I64, 255)), ir.Constant(I64, 8))   # 1 if x != 0
            alive = b.and_(alive, b.neg(nonzero))
        if asize != csize:   # past the shorter buffer, the longer string must end too
            longer = a if asize > csize else c
            diff = b.or_(diff, b.and_(b.zext(b.load(self.offset(longer, n)), I64), alive))
        return b.zext(b.icmp_unsigned("==", diff, ir.Constant(I64, 0)), I64)

    def _bytes_equal(self: "ProbeCodegen", a: ir.Value, c: ir.Value, size: int) -> ir.Value:
        """1 when `size` bytes at a and c are equal (arrays: every element), else 0."""
        b = self.b
        acc = ir.Constant(I1, 1)
        for off, width in _words(size):
            t = ir.IntType(width * 8).as_pointer()
            x = b.load(b.bitcast(self.offset(a, off), t))
            y = b.load(b.bitcast(self.offset(c, off), t))
            acc = b.and_(acc, b.icmp_unsigned("==", x, y))
        return b.zext(acc, I64)
