"""Strings compared in the program: strncmp(), strcontains(); and pton(), an address literal
turned into its bytes at compile time.

Both are bounded loops (kernels since 5.3 take them): unrolled over two 64-byte strings read
from memory, the comparisons spill past the 512-byte BPF stack. What lies after a string's NUL
never counts.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..types import Array, Int, S64, Str, Type, U64
from .records import Function, I64, check_arity, literal_int, literal_text

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker

I1 = ir.IntType(1)
I8 = ir.IntType(8)


def _string_args(checker: "Checker", call: ast.Call, count: int) -> bool:
    """The first `count` arguments are strings, else 0.17's message."""
    ok = True
    for a in call.args[:count]:
        t = checker.check(a)
        if t is not None and not isinstance(t, Str):
            checker.sink.error(a.span, f"{call.name}() only supports string arguments "
                               f"({'integer' if isinstance(t, Int) else t} provided)")
            ok = False
        ok = ok and t is not None
    return ok


def _check_strncmp(checker: "Checker", call: ast.Call) -> Type | None:
    """strncmp(a, b, n): 0 when the strings agree in their first n characters, else 1."""
    if len(call.args) != 3:
        checker.sink.error(call.span, f"strncmp() requires 3 arguments ({len(call.args)} provided)")
        return None
    ok = _string_args(checker, call, 2)
    checker.check(call.args[2])
    n = literal_int(checker, call.args[2])
    if n is None:
        checker.sink.error(call.args[2].span, "strncmp() expects an integer literal as its length")
        return None
    if n < 0:
        checker.sink.error(call.args[2].span, "Builtin strncmp requires a non-negative size")
        return None
    return U64 if ok else None


def _byte(cg: "ProbeCodegen", s: ir.Value, size: int, i: int) -> ir.Value:
    """Byte i of a string buffer of `size` bytes (0 past its end)."""
    return cg.b.load(cg.offset(s, i)) if i < size else ir.Constant(I8, 0)


def _byte_at(cg: "ProbeCodegen", s: ir.Value, size: int, i: ir.Value) -> ir.Value:
    """Byte i (a variable index) of a buffer of `size` bytes, 0 past its end: the bounds check
    comes first, for the verifier."""
    b = cg.b
    slot = b.bitcast(cg.stack(8, "byte"), I8.as_pointer())
    b.store(ir.Constant(I8, 0), slot)
    with b.if_then(b.icmp_unsigned("<", i, ir.Constant(I64, size))):
        b.store(b.load(b.gep(s, [i])), slot)
    return b.load(slot)


def strings_equal(cg: "ProbeCodegen", a: ir.Value, asize: int, c: ir.Value, csize: int, n: int) -> ir.Value:
    """An i1: the strings agree up to their NUL, in their first n bytes. A bounded loop, which
    stops at the first difference or NUL: unrolled, two 64-byte strings read from memory spill
    past the 512-byte stack."""
    b = cg.b
    count = min(n, max(asize, csize))
    if count == 0:
        return ir.Constant(I1, 1)
    equal = b.bitcast(cg.stack(8, "equal"), I64.as_pointer())
    index = b.bitcast(cg.stack(8, "i"), I64.as_pointer())
    b.store(ir.Constant(I64, 1), equal)
    b.store(ir.Constant(I64, 0), index)
    head, body, differ, done = (b.function.append_basic_block(f"streq.{n}") for n in ("head", "body", "differ", "done"))
    b.branch(head)
    b.position_at_end(head)
    i = b.load(index)
    b.cbranch(b.icmp_unsigned("<", i, ir.Constant(I64, count)), body, done)
    b.position_at_end(body)
    x, y = _byte_at(cg, a, asize, i), _byte_at(cg, c, csize, i)
    b.store(b.add(i, ir.Constant(I64, 1)), index)
    with b.if_then(b.icmp_unsigned("!=", x, y)):
        b.branch(differ)
    b.cbranch(b.icmp_unsigned("==", x, ir.Constant(I8, 0)), done, head)
    b.position_at_end(differ)
    b.store(ir.Constant(I64, 0), equal)
    b.branch(done)
    b.position_at_end(done)
    return b.trunc(b.load(equal), I1)


def _lower_strncmp(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    a, c = call.args[0], call.args[1]
    equal = strings_equal(cg, cg.expr(a), cg.types[a].size, cg.expr(c), cg.types[c].size,
                          literal_int(cg, call.args[2]))
    return cg.b.zext(cg.b.not_(equal), I64)


def _check_strcontains(checker: "Checker", call: ast.Call) -> Type | None:
    """strcontains(haystack, needle): 1 when needle occurs in haystack (an empty one always)."""
    if len(call.args) != 2:
        checker.sink.error(call.span, f"strcontains() requires 2 arguments ({len(call.args)} provided)")
        return None
    return U64 if _string_args(checker, call, 2) else None


def _lower_strcontains(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return _search(cg, call)[0]


def _check_strstr(checker: "Checker", call: ast.Call) -> Type | None:
    """strstr(haystack, needle) (bpftrace 0.24): the index of needle's first occurrence, -1
    when there is none (0 for an empty needle)."""
    if len(call.args) != 2:
        checker.sink.error(call.span, f"strstr() requires 2 arguments ({len(call.args)} provided)")
        return None
    return S64 if _string_args(checker, call, 2) else None


def _lower_strstr(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    found, start = _search(cg, call)
    return cg.b.select(cg.b.icmp_unsigned("!=", found, ir.Constant(I64, 0)), start, ir.Constant(I64, -1))


def _check_strlen(checker: "Checker", call: ast.Call) -> Type | None:
    """strlen(s) (bpftrace 0.24): the bytes before the string's NUL (its size without one)."""
    if len(call.args) != 1:
        checker.sink.error(call.span, f"strlen() requires 1 argument ({len(call.args)} provided)")
        return None
    t = checker.check(call.args[0])
    if t is not None and not isinstance(t, Str) and not (isinstance(t, Array) and t.elem.size == 1):
        checker.sink.error(call.args[0].span, f"strlen() needs a string or a char array, this is {t}",
                           "read a string from a pointer with str()" if isinstance(t, Int) else "")
        return None
    return U64 if t is not None else None


def _lower_strlen(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    """A bounded loop up to the NUL or the end of the buffer."""
    b = cg.b
    s, size = cg.expr(call.args[0]), cg.types[call.args[0]].size
    index = b.bitcast(cg.stack(8, "len"), I64.as_pointer())
    b.store(ir.Constant(I64, 0), index)
    head, body, done = (b.function.append_basic_block(f"strlen.{n}") for n in ("head", "body", "done"))
    b.branch(head)
    b.position_at_end(head)
    i = b.load(index)
    b.cbranch(b.icmp_unsigned("<", i, ir.Constant(I64, size)), body, done)
    b.position_at_end(body)
    byte = b.load(b.gep(s, [i]))
    with b.if_then(b.icmp_unsigned("==", byte, ir.Constant(I8, 0))):
        b.branch(done)
    b.store(b.add(i, ir.Constant(I64, 1)), index)
    b.branch(head)
    b.position_at_end(done)
    return b.load(index)


def _search(cg: "ProbeCodegen", call: ast.Call) -> tuple[ir.Value, ir.Value]:
    """(found, start): whether the needle occurs in the haystack, and where (when found).
    A bounded loop over the start positions, and in it one over the needle's bytes, each
    stopping at the first difference or NUL. Unrolled, the search of two 64-byte values spills
    past the 512-byte stack (bpftrace 0.17's does); as loops, the verifier walks each
    iteration once (kernels since 5.3 take bounded loops), the counters known at every step."""
    b = cg.b
    hay_node, needle_node = call.args
    hay, hsize = cg.expr(hay_node), cg.types[hay_node].size
    text = literal_text(needle_node)
    if text is not None:
        needle, nsize = cg.const_str(text), len(text) + 1
    else:
        needle, nsize = cg.expr(needle_node), cg.types[needle_node].size
    zero8, zero, one = ir.Constant(I8, 0), ir.Constant(I64, 0), ir.Constant(I64, 1)
    slot = lambda name: b.bitcast(cg.stack(8, name), I64.as_pointer())   # noqa: E731
    found, start, j = slot("found"), slot("start"), slot("j")
    b.store(zero, found)
    b.store(zero, start)
    # The haystack byte under comparison. Zeroed here too, not only in `compare`: otherwise
    # its value entering the loop is undefined to LLVM, which may then store that undefined
    # register when the slot is reused, and the verifier refuses the read (R3 !read_ok;
    # found by tests/fuzz).
    h_slot = b.bitcast(cg.stack(8, "h"), I8.as_pointer())
    b.store(zero8, h_slot)
    func = b.function
    outer, inner, compare, matched, advance, done = (func.append_basic_block(n) for n in (
        "sc.outer", "sc.inner", "sc.compare", "sc.matched", "sc.advance", "sc.done"))
    b.branch(outer)
    # outer: start <= hsize; j = 0
    b.position_at_end(outer)
    b.store(zero, j)
    b.cbranch(b.icmp_unsigned("<=", b.load(start), ir.Constant(I64, hsize)), inner, done)
    # inner: the needle's byte j (j < nsize); its end is a match
    b.position_at_end(inner)
    jv = b.load(j)
    in_needle = b.icmp_unsigned("<", jv, ir.Constant(I64, nsize))
    with b.if_else(in_needle) as (then, otherwise):
        with then:
            x = b.load(b.gep(needle, [jv]))
            at_end = b.icmp_unsigned("==", x, zero8)
            then_block = b.block
        with otherwise:
            otherwise_block = b.block
    ended = b.phi(ir.IntType(1))
    ended.add_incoming(at_end, then_block)
    ended.add_incoming(ir.Constant(ir.IntType(1), 1), otherwise_block)
    b.cbranch(ended, matched, compare)
    # compare: the haystack's byte start + j (0 past its end) against the needle's
    b.position_at_end(compare)
    k = b.add(b.load(start), b.load(j))
    b.store(zero8, h_slot)
    with b.if_then(b.icmp_unsigned("<", k, ir.Constant(I64, hsize))):
        b.store(b.load(b.gep(hay, [k])), h_slot)
    x = b.load(b.gep(needle, [b.load(j)]))
    b.store(b.add(b.load(j), one), j)
    b.cbranch(b.icmp_unsigned("==", b.load(h_slot), x), inner, advance)
    # matched: found; stop
    b.position_at_end(matched)
    b.store(one, found)
    b.branch(done)
    # advance: the next start, unless the haystack ended at this one
    b.position_at_end(advance)
    sv = b.load(start)
    b.store(b.add(sv, one), start)
    last = b.icmp_unsigned(">=", sv, ir.Constant(I64, hsize))
    with b.if_then(b.not_(last)):
        hay_ended = b.icmp_unsigned("==", b.load(b.gep(hay, [sv])), zero8)
        with b.if_then(hay_ended):
            b.store(ir.Constant(I64, hsize + 1), start)
    b.branch(outer)
    b.position_at_end(done)
    return b.load(found), b.load(start)


def _pton_bytes(text: bytes) -> bytes | None:
    try:
        return ipaddress.ip_address(text.decode("ascii")).packed
    except (UnicodeDecodeError, ValueError):
        return None


def _check_pton(checker: "Checker", call: ast.Call) -> Type | None:
    """pton("addr"): an IPv4 (4 bytes) or IPv6 (16 bytes) address literal in network order,
    a uint8 array (print() shows `[127,0,0,1]`, ntop() turns it back into text). Unlike 0.17,
    IPv6 with an embedded IPv4 part (`::ffff:1.2.3.4`) is taken: it is a valid address."""
    if not check_arity(checker, call, 1, 1):
        return None
    arg = call.args[0]
    checker.check(arg)
    text = literal_text(arg, checker)
    if text is None:
        checker.sink.error(arg.span, "pton() expects a string literal argument of an IPv4/IPv6 address")
        return None
    data = _pton_bytes(text)
    if data is None:
        checker.sink.error(call.span, f"pton() expects a valid IPv4/IPv6 address, got {text.decode('utf-8', 'replace')}")
        return None
    return Array(Int(8, False), len(data))


def _lower_pton(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    data = _pton_bytes(literal_text(call.args[0], cg))
    buf = cg.stack(len(data), "pton")
    arr_t = ir.ArrayType(I8, len(data))
    cg.b.store(ir.Constant(arr_t, bytearray(data)), cg.b.bitcast(buf, arr_t.as_pointer()))
    return buf


FUNCTIONS = (
    Function("strncmp", "compare the first n characters of two strings: 0 when equal, else 1",
             _check_strncmp, _lower_strncmp),
    Function("strcontains", "1 when a string contains another: strcontains(haystack, needle)",
             _check_strcontains, _lower_strcontains),
    Function("strstr", "the index of a string in another, -1 when absent: strstr(haystack, needle)",
             _check_strstr, _lower_strstr),
    Function("strlen", "the length of a string (before its NUL): strlen(s)", _check_strlen, _lower_strlen),
    Function("pton", "an IPv4/IPv6 address literal as bytes (network order): pton(\"127.0.0.1\")",
             _check_pton, _lower_pton),
)
