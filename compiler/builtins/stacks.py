"""Stacks and symbols: kstack/ustack (as variables and as calls with a mode and a depth),
ksym(), usym(). The kernel gives stack ids and addresses; user space prints the text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast, probes
from ..diagnostics import did_you_mean
from ..helpers import BPF_F_USER_STACK, Helper
from ..objects import STACK_DEPTH, stack_map_name
from ..types import Int, Ptr, Sym, Type
from .records import BuiltinVar, Function, I64, check_arity, literal_int

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker

I32 = ir.IntType(32)
STACK_MODES = ("bpftrace", "perf", "raw")


def _stack_allowed(checker: "Checker", node) -> bool:
    """Stacks in this probe: not in packet programs, which the kernel gives no
    bpf_get_stackid (a located error instead of the verifier's refusal)."""
    probe = checker.current_probe
    if not probes.allows(probe.kind, "packet"):
        return True
    checker.sink.error(node.span, f"{node.name} is not available in packet probes ({probe.name})",
                       "the kernel does not let tc and xdp programs walk stacks (bpf_get_stackid)")
    return False


def _stack_type(kind: str):
    def type_rule(checker: "Checker", node: ast.Builtin) -> Type | None:
        return Sym(kind) if _stack_allowed(checker, node) else None
    return type_rule


def _with_pid(cg: "ProbeCodegen", word: ir.Value, name: str) -> ir.Value:
    """{u64 word; u64 pid}: a user address or stack id is only meaningful in its process."""
    buf = cg.stack(16, name)
    p64 = cg.b.bitcast(buf, I64.as_pointer())
    cg.b.store(word, p64)
    cg.b.store(cg.b.lshr(cg.helper(Helper.get_current_pid_tgid), ir.Constant(I64, 32)),
               cg.b.gep(p64, [ir.Constant(I32, 1)]))
    return buf


def _lower_stack(user: bool):
    def lower(cg: "ProbeCodegen", node) -> ir.Value:
        stack_id = cg.helper(Helper.get_stackid, cg.ctx, cg.map_ptr(stack_map_name(cg.types[node].limit)),
                             ir.Constant(I64, BPF_F_USER_STACK if user else 0))
        return _with_pid(cg, stack_id, "ustack") if user else stack_id
    return lower


def _check_stack_call(checker: "Checker", call: ast.Call) -> Type | None:
    """kstack(MODE), kstack(N), kstack(MODE, N): MODE is bpftrace, perf or raw; N frames."""
    if not check_arity(checker, call, 1, 2) or not _stack_allowed(checker, call):
        return None
    mode, limit = "bpftrace", STACK_DEPTH
    args = list(call.args)
    if isinstance(args[0], ast.Builtin) and args[0].name in STACK_MODES:
        mode = args.pop(0).name
    elif isinstance(args[0], ast.Builtin):
        checker.sink.error(args[0].span, f"unknown stack mode '{args[0].name}'",
                           did_you_mean(args[0].name, STACK_MODES) or f"modes are {', '.join(STACK_MODES)}")
        return None
    if args:
        n = args.pop(0)
        depth = literal_int(checker, n)   # a literal or a positional parameter, as in 0.17
        if depth is None or not 1 <= depth <= STACK_DEPTH:
            checker.sink.error(n.span, f"{call.name}()'s depth must be an integer literal from 1 to {STACK_DEPTH}")
            return None
        limit = depth
    if args:
        checker.sink.error(args[0].span, f"{call.name}(MODE, N): the mode comes first")
        return None
    return Sym(call.name, mode, limit)


def _check_sym(kind: str):
    def check(checker: "Checker", call: ast.Call) -> Type | None:
        if not check_arity(checker, call, 1, 1):
            return None
        t = checker.check(call.args[0])
        if t is not None and not isinstance(t, (Int, Ptr)):
            checker.sink.error(call.args[0].span, f"{call.name}() needs an address (an integer), this is {t}")
            return None
        return Sym(kind)
    return check


def _lower_ksym(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return cg.expr(call.args[0])


def _lower_usym(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return _with_pid(cg, cg.expr(call.args[0]), "usym")


VARIABLES = (
    BuiltinVar("kstack", "the kernel stack", _stack_type("kstack"), _lower_stack(False)),
    BuiltinVar("ustack", "the user stack", _stack_type("ustack"), _lower_stack(True)),
)

FUNCTIONS = (
    Function("kstack", "the kernel stack: kstack([bpftrace|perf|raw][, N frames])", _check_stack_call,
             _lower_stack(False)),
    Function("ustack", "the user stack: ustack([bpftrace|perf|raw][, N frames])", _check_stack_call,
             _lower_stack(True)),
    Function("ksym", "the kernel symbol at an address", _check_sym("ksym"), _lower_ksym),
    Function("usym", "the user symbol at an address, in the current process", _check_sym("usym"), _lower_usym),
)
