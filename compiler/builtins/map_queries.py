"""Questions about a map, asked in the kernel: has_key(@m, k) (bpftrace 0.22) and len(@m)
(0.21).

has_key is one lookup. len counts the map's elements with bpf_for_each_map_elem (5.13),
which returns how many elements it visited: its callback returns 0 and does nothing else.
(0.26 uses the bpf_map_sum_elem_count kfunc where the kernel has it, 6.6+; the guest's 6.1
has not, and the walk gives the same number on both.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..formats.bpf_helpers import Helper
from ..types import Agg, S64, Sym, Type, U64
from .records import Function, check_arity

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker

I8 = ir.IntType(8)
I64 = ir.IntType(64)
I8P = I8.as_pointer()

COUNT_CALLBACK = "kt_count_element"


def _whole_map(checker: "Checker", call: ast.Call, what: str):
    """The map info of call.args[0], a map named whole (`@m`, no keys), or None (reported)."""
    target = call.args[0]
    if not isinstance(target, ast.MapRef) or target.keys:
        checker.sink.error(target.span, f"{call.name}()'s first argument is a whole map: {what}")
        return None
    info = checker.maps.get(target.name)
    if info is None:
        if checker.mode == "final":
            checker.sink.error(target.span, f"map '{target.name}' is used but never assigned")
        return None
    if info.key is None:
        checker.sink.error(target.span, f"map '{target.name}' has no keys: {call.name}() needs a map "
                           f"with keys (@m[k] = ...), as in bpftrace")
        return None
    return info


def _check_has_key(checker: "Checker", call: ast.Call) -> Type | None:
    if not check_arity(checker, call, 2, 2):
        return None
    if _whole_map(checker, call, "has_key(@name, key)") is None:
        return None
    ref = call.args[0]
    if checker.check_map_element(ast.MapRef(ref.span, ref.name, [call.args[1]])) is None:
        return None
    return U64


def _lower_has_key(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    ref = call.args[0]
    return cg.has_element(ast.MapRef(ref.span, ref.name, [call.args[1]]))


def _check_len(checker: "Checker", call: ast.Call) -> Type | None:
    if not check_arity(checker, call, 1, 1):
        return None
    arg = call.args[0]
    if not isinstance(arg, ast.MapRef):
        t = checker.check(arg)
        if isinstance(t, Sym) and t.kind in ("kstack", "ustack"):
            checker.sink.error(call.span, "len() of a stack (its depth, newer bpftrace) is not supported")
        elif t is not None:
            checker.sink.error(arg.span, f"len() takes a map: len(@name), this is {t}")
        return None
    info = _whole_map(checker, call, "len(@name)")
    if info is None:
        return None
    if isinstance(info.value, Agg) and info.value.kind in ("hist", "lhist"):
        checker.sink.error(arg.span, f"map '{arg.name}' holds {info.value}, whose elements are its buckets: "
                           f"len() counts maps of values and of count(), sum(), min(), max(), avg(), stats()")
        return None
    return S64


def _count_callback(module: ir.Module, cg: "ProbeCodegen") -> ir.Function:
    """`long kt_count_element(map, key, value, data) { return 0; }`: one per object."""
    if COUNT_CALLBACK in module.globals:
        return module.globals[COUNT_CALLBACK]
    fn = ir.Function(module, ir.FunctionType(I64, [I8P, I8P, I8P, I8P]), COUNT_CALLBACK)
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    fn.attributes.add("nounwind")
    for arg, name in zip(fn.args, ("map", "key", "value", "data")):
        arg.name = name
    if cg._new_scope is not None:
        cg._new_scope(fn, 0, ("map", "key", "value", "data"))
    ir.IRBuilder(fn.append_basic_block("entry")).ret(ir.Constant(I64, 0))
    return fn


def _lower_len(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    plan = cg.plan.maps[call.args[0].name]
    fn = _count_callback(cg.module, cg)
    return cg.helper(Helper.for_each_map_elem, cg.map_ptr(plan.bpf_name), cg.b.bitcast(fn, I8P),
                     ir.Constant(I8P, None), ir.Constant(I64, 0))


FUNCTIONS = (
    Function("has_key", "whether a map has a key: has_key(@name, key) (bpftrace 0.22)", _check_has_key,
             _lower_has_key),
    Function("len", "the number of elements of a map: len(@name) (bpftrace 0.21)", _check_len, _lower_len),
)
