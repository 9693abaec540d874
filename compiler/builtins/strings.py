"""Strings compared in the program: strncmp(), strcontains(); and pton(), an address literal
turned into its bytes at compile time.

The comparisons are unrolled over the strings' fixed sizes (at most BPFTRACE_STRLEN, 64 bytes,
for values read from memory): straight-line selects, no loop for the verifier to walk, and what
lies after a string's NUL never counts.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..types import Array, Int, Str, Type, U64
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
            checker.sink.error(call.span, f"{call.name}() only supports string arguments "
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


def strings_equal(cg: "ProbeCodegen", a: ir.Value, asize: int, c: ir.Value, csize: int, n: int) -> ir.Value:
    """An i1: the strings agree up to their NUL, in their first n bytes."""
    b = cg.b
    acc = ir.Constant(I1, 1)
    for i in reversed(range(min(n, max(asize, csize)))):
        x, y = _byte(cg, a, asize, i), _byte(cg, c, csize, i)
        ended = b.icmp_unsigned("==", x, ir.Constant(I8, 0))
        acc = b.select(b.icmp_unsigned("==", x, y), b.select(ended, ir.Constant(I1, 1), acc), ir.Constant(I1, 0))
    return acc


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
    """One block per start position, entered only while nothing is found and the haystack
    has not ended: each block's bytes are dead at its end, so LLVM does not spill a whole
    unrolled search onto the 512-byte stack (bpftrace 0.17 does, for two str() values)."""
    b = cg.b
    hay_node, needle_node = call.args
    hay, hsize = cg.expr(hay_node), cg.types[hay_node].size
    needle, nsize = cg.expr(needle_node), cg.types[needle_node].size
    text = literal_text(needle_node)
    zero = ir.Constant(I8, 0)
    found = b.bitcast(cg.stack(8, "found"), I64.as_pointer())
    going = b.bitcast(cg.stack(8, "going"), I64.as_pointer())   # not found, haystack not ended
    b.store(ir.Constant(I64, 0), found)
    b.store(ir.Constant(I64, 1), going)
    nlen = len(text) + 1 if text is not None else nsize
    for start in range(hsize + 1):
        with b.if_then(b.icmp_unsigned("!=", b.load(going), ir.Constant(I64, 0))):
            match = ir.Constant(I1, 1)
            for j in reversed(range(nlen)):
                x = ir.Constant(I8, text[j] if j < len(text) else 0) if text is not None else _byte(cg, needle, nsize, j)
                h = _byte(cg, hay, hsize, start + j)
                here = b.select(b.icmp_unsigned("==", x, h), match, ir.Constant(I1, 0))
                match = b.select(b.icmp_unsigned("==", x, zero), ir.Constant(I1, 1), here)
            b.store(b.zext(match, I64), found)
            ended = b.icmp_unsigned("==", _byte(cg, hay, hsize, start), zero)
            b.store(b.zext(b.not_(b.or_(match, ended)), I64), going)
    return b.load(found)


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
    Function("pton", "an IPv4/IPv6 address literal as bytes (network order): pton(\"127.0.0.1\")",
             _check_pton, _lower_pton),
)
