"""The rules of `for` loops (bpftrace 0.21's over maps, 0.24's over ranges), for the Checker.

Why a module of its own: a for body is lowered as a callback subprogram
(compiler/codegen/loops.py), so what may be iterated and what the loop variable holds are
decided here, once, and codegen only follows: a map loop's variable is the tuple (key, value)
of each element (the key a tuple of its own for multi-key maps), a range's is an int64.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ast
from ..types import Agg, Int, S64, Tuple, Type

if TYPE_CHECKING:  # pragma: no cover
    from .semantic import Checker

# Aggregations whose per-CPU values a loop reads summed (count, sum) or reduced (min, max)
# over the CPUs, as bpftrace 0.26 does; the others (avg, stats, hist, lhist) keep several
# words per element, and 0.26 refuses to iterate them too.
ITERABLE_AGGS = ("count", "sum", "min", "max")


def loop_value_type(value: Type) -> Type:
    """What `$kv.1` holds for a map of `value`."""
    return value.value if isinstance(value, Agg) else value


def check_for_map(checker: "Checker", stmt: ast.ForMap) -> None:
    ref = stmt.map
    info = checker.maps.get(ref.name)
    t = None
    if ref.keys:
        checker.sink.error(ref.span, f"a for loop iterates a whole map: for ($kv : {ref.name}), "
                           f"not one element")
    elif info is None:
        if checker.mode == "final":
            checker.sink.error(ref.span, f"map '{ref.name}' is used but never assigned")
    elif info.key is None:
        checker.sink.error(ref.span, f"map '{ref.name}' has no keys: a for loop iterates maps with keys "
                           f"(@m[k] = ...), as in bpftrace")
    elif isinstance(info.value, Agg) and info.value.kind not in ITERABLE_AGGS:
        checker.sink.error(ref.span, f"map '{ref.name}' holds {info.value}: a for loop iterates maps of "
                           f"values, count(), sum(), min() and max() (bpftrace 0.26's rule)")
    else:
        checker.types[ref] = info.value
        t = Tuple((info.key, loop_value_type(info.value)))
    _scoped_body(checker, stmt, t)


def check_for_range(checker: "Checker", stmt: ast.ForRange) -> None:
    ok = True
    for bound, what in ((stmt.start, "start"), (stmt.end, "end")):
        t = checker.check(bound)
        if t is not None and not isinstance(t, Int):
            checker.sink.error(bound.span, f"a range's {what} must be an integer, this is {t}")
            ok = False
        elif t is None:
            ok = False
    _scoped_body(checker, stmt, S64 if ok else None)


def _scoped_body(checker: "Checker", stmt, t: Type | None) -> None:
    """The body, with the loop's variable bound to `t` inside it only (bpftrace's scope: each
    loop has its own, and it may not shadow a variable of the probe)."""
    var = stmt.var
    name = var.name
    if name in checker._vars:
        checker.sink.error(var.span, f"the loop variable '{name}' shadows a variable of the probe: "
                           f"give the loop another name")
        t = None
    nodes = checker._var_nodes.setdefault(name, [])
    mark = len(nodes)
    if t is not None:
        checker._vars[name] = t
        checker.types[var] = t
        checker.saw_variable(var, name)
    else:
        checker._failed_vars.add(name)   # its uses are not reported again
    checker._loops += 1
    checker._block(stmt.body)
    checker._loops -= 1
    if t is None:
        return
    # Its uses get the loop's type here; the probe's final unification (check_probe) never
    # sees them, so a variable of the same name after the loop is another variable.
    final = checker._vars.pop(name, t)
    for node in nodes[mark:]:
        checker.types[node] = final
    del nodes[mark:]
