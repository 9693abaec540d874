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
from ..formats.numbers import c_integer
from ..positionals import COUNT, PositionalUses
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


def _bake(checker_or_cg, index: int) -> None:
    """A parameter read as a literal is compiled in: the Checker records it (codegen reads the
    same parameters again and has nothing to record), so that running the object with
    another value there is an error (compiler/positionals.py)."""
    uses = getattr(checker_or_cg, "positionals", None)
    if isinstance(uses, PositionalUses):
        uses.bake(index)


def positional_text(checker_or_cg, node) -> bytes | None:
    """str($N) is the parameter's text even when it looks like a number (as in bpftrace);
    str($N + k) of a parameter that is not a number is its text from byte k on."""
    if isinstance(node, ast.Positional) and not node.is_count:
        params = checker_or_cg.options.positional
        _bake(checker_or_cg, node.index)
        return params[node.index - 1].encode("utf-8", "surrogateescape") if 1 <= node.index <= len(params) else b""
    if (isinstance(node, ast.Binary) and node.op == "+" and isinstance(node.lhs, ast.Positional)
            and not node.lhs.is_count):
        params = checker_or_cg.options.positional
        index = node.lhs.index
        text = params[index - 1] if 1 <= index <= len(params) else ""
        skip = literal_int(checker_or_cg, node.rhs)
        if skip is not None and skip >= 0 and c_integer(text) is None:
            _bake(checker_or_cg, index)   # text from byte k, or an address: the value decides
            return text.encode("utf-8", "surrogateescape")[skip:]
    return None


def literal_int(checker_or_cg, node) -> int | None:
    """The value of an integer literal argument: `8`, `-1`, or a numeric positional parameter
    (`$1` given as 8, 0x10 or 0775, as bpftrace takes it where it wants a literal)."""
    if isinstance(node, ast.IntLit):
        return node.value
    if isinstance(node, ast.Unary) and node.op == "-" and isinstance(node.operand, ast.IntLit):
        return -node.operand.value
    if isinstance(node, ast.Positional):
        _bake(checker_or_cg, COUNT if node.is_count else node.index)
        if node.is_count:
            return len(checker_or_cg.options.positional)
        params = checker_or_cg.options.positional
        return c_integer(params[node.index - 1]) if 1 <= node.index <= len(params) else 0
    return None


def literal_text(node, checker_or_cg=None) -> bytes | None:
    """The bytes of a string literal argument, or of a positional parameter used as one
    (`$1`, or `str($1)` as 0.17 wants it written)."""
    if isinstance(node, ast.Call) and node.name == "str" and len(node.args) == 1:
        node = node.args[0]
    if isinstance(node, ast.StrLit):
        return node.value
    if isinstance(node, ast.Positional) and checker_or_cg is not None:
        return positional_text(checker_or_cg, node)
    return None
