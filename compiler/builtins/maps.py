"""Map functions: the aggregations (count, sum, min, max, avg, stats, hist, lhist), whose
lowering is the map update in codegen/maps.py because what they compute depends on the map they
are assigned to, and delete(), clear(), zero()."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..formats.meta import TSERIES_FUNCS, TSERIES_MAX_INTERVALS
from ..types import Agg, Int, Type, U64, Void
from .records import Function, check_arity, literal_int, literal_text

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker


def _agg_value(checker: "Checker", call: ast.Call, kind: str, value) -> Type | None:
    """The Agg an aggregation call makes: it must be the value of a map assignment, and what
    it aggregates (`value`, None for count()) must be an integer."""
    if not checker.in_map_assignment(call):
        checker.sink.error(call.span, f"{kind}() can only be assigned to a map: @name[keys] = {kind}(...)")
        return None
    if value is None:
        return Agg(kind, U64)
    t = checker.check(value)
    if t is None:
        return None
    if not isinstance(t, Int):
        checker.sink.error(value.span, f"{kind}() needs an integer, this is {t}")
        return None
    return Agg(kind, Int(64, t.signed))


def _check_agg(kind: str, nargs: int):
    def check(checker: "Checker", call: ast.Call) -> Type | None:
        if not check_arity(checker, call, nargs, nargs):
            return None
        return _agg_value(checker, call, kind, call.args[0] if nargs else None)
    return check


LHIST_MAX_BUCKETS = 1000
HIST_MAX_BITS = 5    # bpftrace 0.20's hist(n, k): 2^k buckets per power of two, 0 <= k <= 5


def _check_hist(checker: "Checker", call: ast.Call) -> Type | None:
    """hist(value) is 0.17's; hist(value, k) (bpftrace 0.20) splits each power of two into
    2^k buckets, k an integer literal from 0 to 5 (params=(k,) tells the two apart)."""
    if not check_arity(checker, call, 1, 2):
        return None
    agg = _agg_value(checker, call, "hist", call.args[0])
    if agg is None or len(call.args) == 1:
        return agg
    k = literal_int(checker, call.args[1])
    if k is None or not 0 <= k <= HIST_MAX_BITS:
        checker.sink.error(call.args[1].span,
                           f"hist()'s k (buckets per power of two: 2^k) must be an integer literal from 0 to {HIST_MAX_BITS}")
        return None
    return Agg("hist", agg.value, params=(k,))


def _check_lhist(checker: "Checker", call: ast.Call) -> Type | None:
    """lhist(value, min, max, step): min, max and step are integer literals, max > min."""
    if not check_arity(checker, call, 4, 4):
        return None
    agg = _agg_value(checker, call, "lhist", call.args[0])
    if agg is None:
        return None
    params = []
    for arg, what in zip(call.args[1:], ("min", "max", "step")):
        value = literal_int(checker, arg)   # a literal, or a positional parameter
        if value is None:
            checker.sink.error(arg.span, f"lhist()'s {what} must be an integer literal")
            return None
        params.append(value)
    lo, hi, step = params
    if lo < 0 or hi <= lo or step <= 0:
        checker.sink.error(call.span, "lhist(value, min, max, step) needs 0 <= min < max and step > 0")
        return None
    if (hi - lo) // step > LHIST_MAX_BUCKETS:
        checker.sink.error(call.span, f"lhist() with {(hi - lo) // step} buckets: at most {LHIST_MAX_BUCKETS}")
        return None
    return Agg("lhist", agg.value, params=(lo, hi, step))


def _check_tseries(checker: "Checker", call: ast.Call) -> Type | None:
    """tseries(value, interval_ns, intervals[, "avg"|"max"|"min"|"sum"]) (bpftrace 0.24): the
    interval and the count are integer literals, the aggregation a string literal."""
    if not check_arity(checker, call, 3, 4):
        return None
    agg = _agg_value(checker, call, "tseries", call.args[0])
    if agg is None:
        return None
    params = []
    for arg, what, hi in ((call.args[1], "interval (nanoseconds)", None),
                          (call.args[2], "number of intervals", TSERIES_MAX_INTERVALS)):
        value = literal_int(checker, arg)
        if value is None or value <= 0 or (hi is not None and value > hi):
            bound = f" from 1 to {hi}" if hi is not None else " above 0"
            checker.sink.error(arg.span, f"tseries()'s {what} must be an integer literal{bound}")
            return None
        params.append(value)
    func = "none"
    if len(call.args) == 4:
        text = literal_text(call.args[3])
        func = text.decode("utf-8", "surrogateescape") if text is not None else ""
        if func not in TSERIES_FUNCS[1:]:
            checker.sink.error(call.args[3].span,
                               'tseries()\'s aggregation must be "avg", "max", "min" or "sum"')
            return None
    return Agg("tseries", agg.value, params=(*params, TSERIES_FUNCS.index(func)))


def deleted_element(call: ast.Call) -> ast.MapRef | None:
    """The element delete() removes: delete(@m[k]), delete(@m, k) (the newer spelling, which
    0.17 refuses), or delete(@m) of a scalar map."""
    if not call.args or not isinstance(call.args[0], ast.MapRef):
        return None
    target = call.args[0]
    if len(call.args) == 1:
        return target
    if len(call.args) == 2 and not target.keys:
        return ast.MapRef(target.span, target.name, [call.args[1]])
    return None


def _check_delete(checker: "Checker", call: ast.Call) -> Type | None:
    if not check_arity(checker, call, 1, 2):
        return None
    target = deleted_element(call)
    if target is None:
        checker.sink.error(call.span, "delete() takes one map element: delete(@name[key]) or delete(@name, key)")
        return None
    checker.check_map_element(target)
    return U64   # 0.26: whether an element was deleted (0.17's returned nothing)


def _lower_delete(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    ret = cg.delete_element(deleted_element(call))
    return cg.b.zext(cg.b.icmp_signed("==", ret, ir.Constant(ret.type, 0)), ir.IntType(64))


def _check_whole_map(checker: "Checker", call: ast.Call) -> Type | None:
    if not check_arity(checker, call, 1, 1):
        return None
    target = call.args[0]
    if not isinstance(target, ast.MapRef) or target.keys:
        checker.sink.error(target.span, f"{call.name}() takes a whole map: {call.name}(@name)")
        return None
    if target.name not in checker.maps:
        checker.sink.error(target.span, f"map '{target.name}' is used but never assigned")
        return None
    return Void()


def _lower_map_event(cg: "ProbeCodegen", call: ast.Call) -> None:
    # The kernel has no helper that empties a whole map: user space does it when the event
    # arrives (as bpftrace does), between the events before and after it.
    cg.emit_map_event(call.name, call.args[0].name)
    return None


FUNCTIONS = (
    Function("delete", "remove one element of a map: delete(@name[key]), delete(@name, key)", _check_delete,
             _lower_delete),
    Function("clear", "remove every element of a map: clear(@name)", _check_whole_map, _lower_map_event),
    Function("zero", "set every value of a map to zero, keeping its keys: zero(@name)", _check_whole_map,
             _lower_map_event),
    Function("count", "count calls", _check_agg("count", 0), None, agg="count"),
    Function("sum", "sum of the values", _check_agg("sum", 1), None, agg="sum"),
    Function("min", "smallest value", _check_agg("min", 1), None, agg="min"),
    Function("max", "largest value", _check_agg("max", 1), None, agg="max"),
    Function("avg", "average of the values (integer)", _check_agg("avg", 1), None, agg="avg"),
    Function("stats", "count, average and total of the values", _check_agg("stats", 1), None, agg="stats"),
    Function("hist", "power-of-two histogram of the values: hist(value[, k]), 2^k buckets per power of two",
             _check_hist, None, agg="hist"),
    Function("lhist", "linear histogram: lhist(value, min, max, step)", _check_lhist, None, agg="lhist"),
    Function("tseries", "time series: tseries(value, interval_ns, intervals[, \"avg\"|\"max\"|\"min\"|\"sum\"])",
             _check_tseries, None, agg="tseries"),
)
