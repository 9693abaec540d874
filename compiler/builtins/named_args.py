"""getopt() (bpftrace 0.24): named arguments, `kt script.bt -- --name=value --flag`.

Each option is a `.rodata` slot the runtime fills, as positional parameters are
(compiler/positionals.py), so that `kt out.o -- --name=5` runs an object with another value;
its name and default travel in `.kt.meta` "positionals" (runtime/positionals.py). The default's
type is the option's: an integer, a string or a bool (`getopt("name")` alone is a bool flag).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..types import S64, Str, Type, U64
from .records import Function, literal_int

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker


def _bool_literal(node) -> bool | None:
    """`true`/`false` (the parser's integer literals 1 and 0, marked as written)."""
    if isinstance(node, ast.BoolLit):
        return bool(node.value)
    return None


def _option(checker: "Checker", call: ast.Call):
    """(name, kind, default text, size) of a getopt() call, or None after an error."""
    args = call.args
    if not 1 <= len(args) <= 3:
        checker.sink.error(call.span, f"getopt() takes 1 to 3 arguments (name, default, description), got {len(args)}")
        return None
    if not isinstance(args[0], ast.StrLit) or not args[0].value:
        checker.sink.error(args[0].span, "getopt()'s name must be a string literal: getopt(\"name\", default)")
        return None
    name = args[0].value.decode("utf-8", "replace")
    if not all(c.isalnum() or c in "_-" for c in name) or not (name[0].isalpha() or name[0] == "_"):
        checker.sink.error(args[0].span, f"'{name}' is no option name (letters, digits, '_' and '-')")
        return None
    if len(args) == 3 and not isinstance(args[2], ast.StrLit):
        checker.sink.error(args[2].span, "getopt()'s description must be a string literal")
        return None
    if len(args) == 1:
        return name, "opt_bool", "0", 8
    default = args[1]
    flag = _bool_literal(default)
    if flag is not None:
        return name, "opt_bool", "1" if flag else "0", 8
    if isinstance(default, ast.StrLit):
        text = default.value
        return name, "opt_str", text.decode("utf-8", "surrogateescape"), max(checker.options.strlen, len(text) + 1)
    number = literal_int(checker, default) if isinstance(default, (ast.IntLit, ast.Unary)) else None
    if number is not None:
        return name, "opt_int", str(number), 8
    checker.sink.error(default.span, "getopt()'s default must be a literal: an integer, a string, true or false",
                       "the default's type is the option's")
    return None


def _check_getopt(checker: "Checker", call: ast.Call) -> Type | None:
    option = _option(checker, call)
    if option is None:
        return None
    name, kind, default, size = option
    slot = checker.positionals.named(name, kind, default, size)
    if slot is None:
        checker.sink.error(call.span, f"getopt(\"{name}\") is used twice with different defaults")
        return None
    return {"opt_int": S64, "opt_bool": U64, "opt_str": Str(slot.size)}[kind]


def _lower_getopt(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    slot = cg.positional_plan.named(call.args[0].value.decode("utf-8", "replace"))
    return cg.slot_str(slot) if slot.kind == "opt_str" else cg.runtime_value(slot.symbol)


FUNCTIONS = (
    Function("getopt", "a named argument (kt ... -- --name=value): getopt(\"name\"[, default[, description]])",
             _check_getopt, _lower_getopt),
)
