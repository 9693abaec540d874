"""Values user space formats: username, strerror(), macaddr(), strftime(), cgroup_path().

The kernel side only keeps the raw value (a uid, an errno, six bytes, a timestamp, a cgroup id);
the runtime turns it into text when it prints it (runtime/formatted.py, runtime/lookups.py),
the way bpftrace 0.17 does: in printf's %s, print(), map keys and values and `-f json`.
strftime()'s format and cgroup_path()'s filter are literals: the value carries their index in
`.kt.meta` ("strftime_formats", "cgroup_path_filters"; compiler/passes/resources.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..helpers import Helper
from ..types import Array, Int, Ptr, Str, Sym, Type
from .records import BuiltinVar, Function, I64, check_arity, fixed

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker

I32 = ir.IntType(32)
MAC_BYTES = 6


def _two_words(cg: "ProbeCodegen", first: ir.Value, second: ir.Value, name: str) -> ir.Value:
    buf = cg.stack(16, name)
    p64 = cg.b.bitcast(buf, I64.as_pointer())
    cg.b.store(first, p64)
    cg.b.store(second, cg.b.gep(p64, [ir.Constant(I32, 1)]))
    return buf


def _lower_username(cg: "ProbeCodegen", node) -> ir.Value:
    return cg.b.and_(cg.helper(Helper.get_current_uid_gid), ir.Constant(I64, 0xFFFFFFFF))


def _check_int_arg(checker: "Checker", call: ast.Call, what: str) -> bool:
    t = checker.check(call.args[0])
    if t is not None and not isinstance(t, Int):
        checker.sink.error(call.args[0].span, f"{call.name}() needs {what} (an integer), this is {t}")
        return False
    return t is not None


def _check_strerror(checker: "Checker", call: ast.Call) -> Type | None:
    """strerror(errno): the C library's message for an error number."""
    if not check_arity(checker, call, 1, 1) or not _check_int_arg(checker, call, "an error number"):
        return None
    return Sym("strerror")


def _lower_first_arg(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return cg.expr(call.args[0])


def _check_macaddr(checker: "Checker", call: ast.Call) -> Type | None:
    """macaddr(addr): six bytes printed as XX:XX:XX:XX:XX:XX — an array (`$skb->mac`) or the
    address they are at."""
    if not check_arity(checker, call, 1, 1):
        return None
    t = checker.check(call.args[0])
    if t is None:
        return None
    if isinstance(t, (Array, Str)):
        if t.size < MAC_BYTES:
            checker.sink.error(call.args[0].span, f"macaddr() needs at least {MAC_BYTES} bytes, this is {t}")
            return None
        return Sym("macaddr")
    if not isinstance(t, (Int, Ptr)):
        checker.sink.error(call.args[0].span, f"macaddr() needs an array of {MAC_BYTES} bytes or their address, "
                                              f"this is {t}")
        return None
    return Sym("macaddr")


def _lower_macaddr(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    """The six bytes in the low bytes of a u64 (the two others zero)."""
    b = cg.b
    buf = cg.stack(8, "macaddr")
    cg.memset0(buf, 8)
    arg = call.args[0]
    t = cg.types[arg]
    if isinstance(t, (Array, Str)):
        cg.memcpy(buf, cg.expr(arg), MAC_BYTES)
    else:
        # bpf_probe_read reads kernel or user addresses on x86-64 (as buf() does)
        addr = cg.expr(arg)
        src = b.inttoptr(addr, buf.type) if isinstance(addr.type, ir.IntType) else addr
        cg.helper(Helper.probe_read, buf, ir.Constant(I64, MAC_BYTES), src)
    return b.load(b.bitcast(buf, I64.as_pointer()))


def _check_strftime(checker: "Checker", call: ast.Call) -> Type | None:
    """strftime(fmt, nsecs): a boot-time timestamp (nsecs) as wall-clock time, formatted with
    strftime(3); `%f` is the microseconds."""
    if not check_arity(checker, call, 2, 2):
        return None
    if not isinstance(call.args[0], ast.StrLit):
        checker.sink.error(call.args[0].span, "strftime()'s format must be a string literal")
        checker.check(call.args[1])
        return None
    t = checker.check(call.args[1])
    if t is not None and not isinstance(t, Int):
        checker.sink.error(call.args[1].span, f"strftime() needs a timestamp in nanoseconds (nsecs), this is {t}")
        return None
    return None if t is None else Sym("strftime")


def _lower_strftime(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return _two_words(cg, ir.Constant(I64, cg.plan.strftime_formats[call]), cg.expr(call.args[1]), "strftime")


def _check_cgroup_path(checker: "Checker", call: ast.Call) -> Type | None:
    """cgroup_path(id[, "filter"]): the cgroup's path in every mounted hierarchy whose name
    matches the filter (a wildcard; every hierarchy without one)."""
    if not check_arity(checker, call, 1, 2):
        return None
    if len(call.args) == 2 and not isinstance(call.args[1], ast.StrLit):
        checker.sink.error(call.args[1].span, "cgroup_path()'s filter must be a string literal")
        return None
    if not _check_int_arg(checker, call, "a cgroup id"):
        return None
    return Sym("cgroup_path")


def _lower_cgroup_path(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return _two_words(cg, cg.expr(call.args[0]), ir.Constant(I64, cg.plan.cgroup_path_filters[call]), "cgroup_path")


def call_literal(call: ast.Call, index: int, default: str) -> str:
    """The text of a literal argument (strftime's format, cgroup_path's filter), for the meta."""
    if len(call.args) > index and isinstance(call.args[index], ast.StrLit):
        return call.args[index].value.decode("utf-8", "surrogateescape")
    return default


VARIABLES = (
    BuiltinVar("username", "the current task's user name", fixed(Sym("username")), _lower_username),
)

FUNCTIONS = (
    Function("strerror", "the C library's message for an error number: strerror(errno)", _check_strerror,
             _lower_first_arg),
    Function("macaddr", "six bytes as a MAC address XX:XX:XX:XX:XX:XX: macaddr(addr)", _check_macaddr,
             _lower_macaddr),
    Function("strftime", "a timestamp as local time: strftime(fmt, nsecs), %f for microseconds",
             _check_strftime, _lower_strftime),
    Function("cgroup_path", "a cgroup id's path in each cgroup hierarchy: cgroup_path(id[, \"filter\"])",
             _check_cgroup_path, _lower_cgroup_path),
)
