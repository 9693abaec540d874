"""unwatch(addr): stop watching an address that a `watchpoint:FUNC+argN` probe armed.

The breakpoints of function watchpoints are armed by user space (runtime/attach/watchpoint.py),
so unwatch() is an event: the session hands the address to every function-watchpoint link,
which closes its breakpoint at that address, as 0.17 detaches it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..formats.events import EventId
from ..types import Int, Ptr, Type, Void
from .kernel import kind_name
from .records import I64, Function

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker


def _check_unwatch(checker: "Checker", call: ast.Call) -> Type | None:
    if len(call.args) != 1:   # 0.17's words
        checker.sink.error(call.span, f"unwatch() requires one argument ({len(call.args)} provided)")
        return None
    t = checker.check(call.args[0])
    if t is not None and not isinstance(t, (Int, Ptr)):
        checker.sink.error(call.span, f"unwatch() only supports integer arguments ({kind_name(t)} provided)")
        return None
    return Void()


def _lower_unwatch(cg: "ProbeCodegen", call: ast.Call) -> None:
    rec = cg.stack(16, "unwatch")
    rec64 = cg.b.bitcast(rec, I64.as_pointer())
    cg.b.store(ir.Constant(I64, EventId.UNWATCH), rec64)
    cg.b.store(cg.expr(call.args[0]), cg.b.gep(rec64, [ir.Constant(ir.IntType(32), 1)]))   # an i64
    cg.emit_event(rec, 16, control=True)
    return None


FUNCTIONS = (
    Function("unwatch", "stop watching an address armed by a watchpoint:FUNC+argN probe: unwatch(addr)",
             _check_unwatch, _lower_unwatch),
)
