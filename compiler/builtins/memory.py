"""Memory and values: str(), buf(), ntop(), bswap(), kaddr(): reading kernel and user memory and
turning values into what printf and maps show."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..helpers import Helper
from ..types import PACKET, USER, Array, Buf, Int, Ptr, Str, Sym, Type, U64
from .records import Function, I64, check_arity, literal_int, literal_text, positional_text

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker


def _check_str(checker: "Checker", call: ast.Call) -> Type | None:
    """str(ptr[, n]): a NUL-terminated string at ptr, at most n bytes (a literal or, unlike
    0.17, any integer: then the buffer is the default size and n is applied when reading)."""
    if not check_arity(checker, call, 1, 2):
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Positional) and not arg.is_count and arg.index >= 1:
        # str($N): the parameter's text, read from its slot (compiler/positionals.py)
        t = checker.types[arg] = Str(checker.positionals.slot(arg.index, "str").size)
    else:
        text = positional_text(checker, arg)
        if text is not None:
            return Str(len(text) + 1)
        t = checker.check(arg)
    size = checker.options.strlen
    if len(call.args) == 2:
        n = call.args[1]
        nt = checker.check(n)
        if isinstance(n, ast.IntLit):
            if n.value <= 0:
                checker.sink.error(n.span, "str()'s length must be positive")
                return None
            size = min(n.value + 1, checker.options.strlen)
        elif nt is not None and not isinstance(nt, Int):
            checker.sink.error(n.span, f"str()'s length must be an integer, this is {nt}")
            return None
    if isinstance(t, Str):
        if len(call.args) == 2 and not isinstance(call.args[1], ast.IntLit):
            checker.sink.error(call.args[1].span, "str() of a string takes a literal length")
            return None
        return Str(min(t.size, size)) if len(call.args) == 2 else t
    if not isinstance(t, (Int, Ptr)):
        if t is not None:
            checker.sink.error(call.args[0].span, f"str() reads from a pointer or an integer address, not {t}")
        return None
    if isinstance(t, Ptr) and t.space == PACKET:
        checker.sink.error(call.args[0].span, "str() does not read the packet",
                           "read its bytes with buf(pkt + OFFSET, N) (printf %r) or pkt[i]")
        return None
    return Str(size)


def read_str(cg: "ProbeCodegen", call: ast.Call, dst: ir.Value, size: int) -> None:
    """Read str(ptr[, n])'s string into dst (`size` zeroed bytes): at most n + 1 bytes with the
    NUL, n bounded by the buffer so the verifier can check the helper's size."""
    src_t = cg.types[call.args[0]]
    # A kernel pointer may hold a user address all the same (`const char __user *filename` of
    # a kfunc: kernel BTF rarely marks __user): bpf_probe_read_str reads either on x86-64.
    helper = Helper.probe_read_user_str if isinstance(src_t, Ptr) and src_t.space == USER else Helper.probe_read_str
    length: ir.Value = ir.Constant(I64, size)
    if len(call.args) == 2 and not isinstance(call.args[1], ast.IntLit):
        b = cg.b
        length = cg.helper_size(b.add(cg.expr(call.args[1]), ir.Constant(I64, 1)), size)
    cg.helper(helper, dst, length, cg.expr(call.args[0]))


def _lower_str(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    size = cg.types[call].size
    arg = call.args[0]
    slot = isinstance(arg, ast.Positional) and not arg.is_count and arg.index >= 1
    text = None if slot else positional_text(cg, arg)
    if text is not None:
        return cg.const_str(text)
    if isinstance(cg.types[arg], Str):
        src = cg.positional_str(arg.index) if slot else cg.expr(arg)
        if cg.types[arg].size == size:
            return src
        buf = cg.stack(size, "str")
        cg.memset0(buf, size)
        cg.memcpy(buf, src, size - 1)
        return buf
    buf = cg.stack(size, "str")
    cg.memset0(buf, size)
    read_str(cg, call, buf, size)
    return buf


def _check_kaddr(checker: "Checker", call: ast.Call) -> Type | None:
    if not check_arity(checker, call, 1, 1):
        return None
    arg = call.args[0]
    name = _symbol_name(checker, arg)
    if name is None:
        checker.sink.error(arg.span, "kaddr() takes a symbol name as a string literal: kaddr(\"jiffies\")")
        return None
    lookup = checker.options.kernel_symbol
    if lookup is None:
        checker.sink.error(arg.span, "kernel symbols are not readable here (/proc/kallsyms)")
        return None
    if lookup(name) is None:
        checker.sink.error(arg.span, f"no kernel symbol '{name}' in /proc/kallsyms")
        return None
    return U64


def _symbol_name(checker_or_cg, arg) -> str | None:
    """A symbol named by a literal: "jiffies", or a positional parameter, $1 or str($1)."""
    if isinstance(arg, ast.Call) and arg.name == "str" and len(arg.args) == 1:
        arg = arg.args[0]
    text = literal_text(arg, checker_or_cg)
    return None if text is None else text.decode("utf-8", "replace")


def _lower_kaddr(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return ir.Constant(I64, cg.options.kernel_symbol(_symbol_name(cg, call.args[0])))


def _check_ntop(checker: "Checker", call: ast.Call) -> Type | None:
    """ntop([family, ]addr): an IPv4 address (an integer, or 4 bytes) or IPv6 (16 bytes)."""
    if not check_arity(checker, call, 1, 2):
        return None
    types = [checker.check(a) for a in call.args]
    if any(t is None for t in types):
        return None
    if len(types) == 2 and not isinstance(types[0], Int):
        checker.sink.error(call.args[0].span, "ntop()'s family must be an integer (AF_INET, AF_INET6)")
        return None
    addr = types[-1]
    if addr == Sym("inet") and len(types) == 1:   # already one (saddr/daddr of packet probes)
        return addr
    if not isinstance(addr, Int) and not (isinstance(addr, (Str, Array)) and addr.size in (4, 16)):
        checker.sink.error(call.args[-1].span, f"ntop() needs an IPv4 address (an integer) or 4 or 16 bytes, this is {addr}")
        return None
    return Sym("inet")


def _lower_ntop(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    b = cg.b
    addr_node = call.args[-1]
    addr_t = cg.types[addr_node]
    if addr_t == Sym("inet"):
        return cg.expr(addr_node)
    buf = cg.stack(24, "inet")
    cg.memset0(buf, 24)
    if len(call.args) == 2:
        family = cg.expr(call.args[0])
    else:
        family = ir.Constant(I64, socket.AF_INET6 if addr_t.size == 16 else socket.AF_INET)
    b.store(family, b.bitcast(buf, I64.as_pointer()))
    dst = cg.offset(buf, 8)
    if isinstance(addr_t, Int):   # the address as it lies in memory (network order), 4 bytes
        b.store(b.trunc(cg.expr(addr_node), ir.IntType(32)), b.bitcast(dst, ir.IntType(32).as_pointer()))
    else:
        cg.memcpy(dst, cg.expr(addr_node), addr_t.size)
    return buf


def _check_bswap(checker: "Checker", call: ast.Call) -> Type | None:
    if not check_arity(checker, call, 1, 1):
        return None
    t = checker.check(call.args[0])
    if t is not None and not isinstance(t, Int):
        checker.sink.error(call.args[0].span, f"bswap() needs an integer, this is {t}")
        return None
    return None if t is None else Int(t.bits, False)


def _lower_bswap(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    bits = cg.types[call].bits
    v = cg.expr(call.args[0])
    if bits == 8:
        return cg.b.and_(v, ir.Constant(I64, 0xFF))
    narrow = cg.b.trunc(v, ir.IntType(bits)) if bits < 64 else v
    swapped = cg.b.bswap(narrow)
    return cg.b.zext(swapped, I64) if bits < 64 else swapped


BUF_MAX = 64   # bytes buf() reads at most (bpftrace 0.17: BPFTRACE_STRLEN, 64)


def _check_buf(checker: "Checker", call: ast.Call) -> Type | None:
    """buf(ptr, n): n bytes at ptr (at most 64), printed by printf's %r, %rx, %rh."""
    if not check_arity(checker, call, 1, 2):
        return None
    types = [checker.check(a) for a in call.args]
    if any(t is None for t in types):
        return None
    n = literal_int(checker, call.args[1]) if len(call.args) == 2 else None   # a literal or $N
    if isinstance(types[0], Str):   # a string value: its bytes
        if len(call.args) == 2 and n is None:
            checker.sink.error(call.args[1].span, "buf() of a string needs a literal length")
            return None
        n = n if len(call.args) == 2 else types[0].size
        return Buf(max(1, min(n, types[0].size, BUF_MAX)))
    if not isinstance(types[0], (Int, Ptr)) or len(call.args) != 2 or not isinstance(types[1], Int):
        checker.sink.error(call.span, "buf() takes an address and a length: buf(ptr, n)")
        return None
    if n is not None:
        return Buf(max(1, min(n, BUF_MAX)))
    return Buf(BUF_MAX)


def _lower_buf(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    b = cg.b
    cap = cg.types[call].capacity
    out = cg.stack(8 + cap, "buf")
    cg.memset0(out, 8 + cap)
    data = cg.offset(out, 8)
    src_t = cg.types[call.args[0]]
    if isinstance(src_t, Str):
        b.store(ir.Constant(I64, cap), b.bitcast(out, I64.as_pointer()))
        cg.memcpy(data, cg.expr(call.args[0]), cap)
        return out
    if isinstance(src_t, Ptr) and src_t.space == PACKET:   # the packet's bytes, up to its end
        return _packet_buf(cg, call, out, cap)
    ptr = b.inttoptr(cg.expr(call.args[0]), cg.stack(8).type)
    n = cg.expr(call.args[1])
    length = cg.helper_size(n, cap)   # at most `cap` bytes: the verifier needs the size bounded
    b.store(length, b.bitcast(out, I64.as_pointer()))
    with b.if_then(b.icmp_unsigned("!=", length, ir.Constant(I64, 0))):
        cg.helper(Helper.probe_read, data, length, ptr)
    return out


def _packet_buf(cg: "ProbeCodegen", call: ast.Call, out: ir.Value, cap: int) -> ir.Value:
    """buf(pkt + off, n) in a tc/xdp probe: min(n, the bytes left in the packet) bytes from
    off (compiler/packet_probes.py reads them; a read the packet cannot fill fails whole)."""
    b = cg.b
    off = cg.expr(call.args[0])
    end = cg.resolved.context.lower_len(cg)
    left = b.select(b.icmp_unsigned("<", off, end), b.sub(end, off), ir.Constant(I64, 0))
    n = cg.expr(call.args[1])
    length = cg.helper_size(b.select(b.icmp_unsigned("<", n, left), n, left), cap)
    b.store(length, b.bitcast(out, I64.as_pointer()))
    with b.if_then(b.icmp_unsigned("!=", length, ir.Constant(I64, 0))):
        cg.resolved.context.read_packet(cg, cg.offset(out, 8), length, off)
    return out


FUNCTIONS = (
    Function("str", "read a NUL-terminated string: str(ptr[, len])", _check_str, _lower_str),
    Function("buf", "bytes from memory, for printf's %r/%rx/%rh: buf(ptr, n)", _check_buf, _lower_buf),
    Function("ntop", "an IP address as text: ntop([family, ]addr)", _check_ntop, _lower_ntop),
    Function("bswap", "reverse the bytes of an integer (of its width)", _check_bswap, _lower_bswap),
    Function("kaddr", "the address of a kernel symbol: kaddr(\"name\")", _check_kaddr, _lower_kaddr),
)
