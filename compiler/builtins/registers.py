"""Registers and the machine: reg("name"), sarg0..sargN (stack arguments) and numaid.

Which probes have registers, and where a stack argument lies, is the probe's context's
business (compiler/contexts.py: `reg_type`, `sarg_type`); this module names the registers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..helpers import Helper
from ..types import Type, U64
from .records import BuiltinVar, Function, fixed, literal_text

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker

# x86-64 struct pt_regs, in order (arch/x86/include/asm/ptrace.h), by bpftrace 0.17's names
# (arch/x86_64.cpp): a register's offset is 8 times its index.
PT_REGS = ("r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx",
           "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss")
SARG_COUNT = 16   # sarg0..sarg15: bpftrace takes any sargN; 16 covers calls of 22 arguments


def reg_offset(name: str) -> int | None:
    return 8 * PT_REGS.index(name) if name in PT_REGS else None


def _check_reg(checker: "Checker", call: ast.Call) -> Type | None:
    """reg("name"): a register of the probe's pt_regs, as a uint64."""
    if len(call.args) != 1:
        checker.sink.error(call.span, f"reg() requires 1 argument ({len(call.args)} provided)")
        return None
    arg = call.args[0]
    checker.check(arg)
    name = literal_text(arg, checker)
    if name is None:
        checker.sink.error(call.span, "reg() expects a string literal")
        return None
    if reg_offset(name.decode("utf-8", "replace")) is None:
        checker.sink.error(call.span, f"'{name.decode('utf-8', 'replace')}' is not a valid register on this "
                           "architecture (x86_64)", f"registers: {', '.join(PT_REGS)}")
        return None
    return checker.current_probe.context.reg_type(checker, call)


def _lower_reg(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    name = literal_text(call.args[0], cg).decode("utf-8", "replace")
    return cg.resolved.context.lower_reg(cg, reg_offset(name))


def _sarg_type(index: int):
    def type_rule(checker: "Checker", node: ast.Builtin) -> Type | None:
        return checker.current_probe.context.sarg_type(checker, node, index)
    return type_rule


def _lower_sarg(index: int):
    def lower(cg: "ProbeCodegen", node) -> ir.Value:
        return cg.resolved.context.lower_sarg(cg, index)
    return lower


FUNCTIONS = (
    Function("reg", "a register of the probe's context: reg(\"ip\"), reg(\"sp\"), reg(\"di\"), ...",
             _check_reg, _lower_reg),
)

VARIABLES = (
    BuiltinVar("numaid", "the NUMA node the probe runs on", fixed(U64),
               lambda cg, n: cg.helper(Helper.get_numa_node_id)),
    *(BuiltinVar(f"sarg{i}", f"stack argument {i} of the probed function (kprobe, uprobe): the u64 at sp + {8 * (i + 1)}",
                 _sarg_type(i), _lower_sarg(i)) for i in range(SARG_COUNT)),
)
