"""The shape of a builtin record, and the checks several families share.

A record holds its type rule (called by passes/semantic.py with the `Checker`) and its lowering
(called by codegen/probe.py with the probe's code generator `cg`). Records reach the passes and
codegen only through those two objects, so this package imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from llvmlite import ir

from .. import ast
from ..types import Type

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker

I64 = ir.IntType(64)


@dataclass(frozen=True, slots=True)
class BuiltinVar:
    name: str
    doc: str
    type: Callable[["Checker", ast.Builtin], Type | None]
    lower: Callable[["ProbeCodegen", ast.Builtin], ir.Value]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    doc: str
    check: Callable[["Checker", ast.Call], Type | None]
    lower: Callable[["ProbeCodegen", ast.Call], ir.Value | None] | None
    agg: str | None = None  # aggregating function: the map's value kind


def fixed(t: Type):
    """A type rule that always gives `t`."""
    return lambda checker, node: t


def check_arity(checker: "Checker", call: ast.Call, lo: int, hi: int) -> bool:
    n = len(call.args)
    if lo <= n <= hi:
        return True
    want = str(lo) if lo == hi else f"{lo} to {hi}"
    checker.sink.error(call.span, f"{call.name}() takes {want} argument{'s' if hi != 1 else ''}, got {n}")
    return False


def require_unsafe(checker: "Checker", call: ast.Call) -> bool:
    if checker.options.unsafe:
        return True
    checker.sink.error(call.span, f"{call.name}() changes the system, not just observes it: it needs --unsafe")
    return False


def positional_text(checker_or_cg, node) -> bytes | None:
    """str($N) is the parameter's text even when it looks like a number (as in bpftrace)."""
    if isinstance(node, ast.Positional) and not node.is_count:
        params = checker_or_cg.options.positional
        return params[node.index - 1].encode() if 1 <= node.index <= len(params) else b""
    return None
