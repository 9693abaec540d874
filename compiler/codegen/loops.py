"""`for` loops as callback subprograms: bpf_for_each_map_elem over a map (bpftrace 0.21),
bpf_loop over a range (0.24).

Why callbacks: a map cannot be walked by a loop the verifier can bound, and a range's bounds
are known only at run time; both helpers call a static function of the program once per
element (for_each_map_elem, 5.13) or index (loop, 5.17, at most 1 << 23 iterations), which
returns 0 to go on and 1 to stop (the kernel refuses any other value). The function's address
is an ld_imm64 that LLVM relocates against `.text` and the loader turns into a
BPF_PSEUDO_FUNC (runtime/subprograms.py).

The body sees the probe as it is (bpftrace 0.26's rule, "variables shared by pointer"): the
caller passes one pointer to an array on its stack holding
  [0] the loop's result (GO_ON, or chunks.ENDED when the body ended the probe: `return`,
      exit()), [1] the probe's context, [2] the target index, [3] the range's start,
  [4..] a pointer to each variable the body shares with the rest of the probe,
and the callback reads and writes those variables in the caller's frame (the verifier follows
pointers into the caller's stack). Variables only the body uses are the callback's own. The
probe's context is passed too, so args, argN, retval and stacks work in the body (bpftrace
0.26 refuses them there).

count() and sum() elements are read as their total over the CPUs, min() and max() as their
extreme over the CPUs that set them (bpf_map_lookup_percpu_elem, CPU by CPU until it returns
NULL past the last possible CPU), as 0.26 prints them.
"""

from __future__ import annotations

from llvmlite import ir

from .. import ast
from ..formats.bpf_helpers import Helper
from ..types import Tuple
from .chunks import BREAK, ENDED, GO_ON, VERDICT_BASE, Chunker

I8 = ir.IntType(8)
I1 = ir.IntType(1)
I64 = ir.IntType(64)
I8P = I8.as_pointer()
I64P = I64.as_pointer()

RESULT, CTX, TARGET, START, FIRST_VAR = 0, 1, 2, 3, 4
# bpf_loop's limit (kernel/bpf/bpf_iter.c BPF_MAX_LOOPS): more iterations run none.
MAX_RANGE = 1 << 23
# CPUs a per-CPU element is read on at most; the lookup ends the walk earlier (nr_cpu_ids).
MAX_CPUS = 4096

_STATE = Chunker._STATE + ("_return_code",)


def _names(nodes) -> set[str]:
    return {n.name for n in nodes if isinstance(n, ast.Var)}


def shared_variables(probe: ast.Probe, loop) -> dict[str, ast.Var]:
    """Variables of the loop's body also used elsewhere in the probe, each with a use outside
    (its type); the loop's own variable is the loop's alone (passes/loop_checks.py)."""
    inside = {id(n) for n in ast.walk(loop.body)} | {id(loop.var)}
    body_names = _names(ast.walk(loop.body)) - {loop.var.name}
    out: dict[str, ast.Var] = {}
    for n in ast.walk(probe):
        if isinstance(n, ast.Var) and id(n) not in inside and n.name in body_names:
            out.setdefault(n.name, n)
    return dict(sorted(out.items()))


def lower_for(cg, s) -> None:
    """Lower a ForMap or ForRange statement where the builder is."""
    b = cg.b
    shared = shared_variables(cg.probe, s)
    data = cg._alloca_builder.alloca(ir.ArrayType(I64, FIRST_VAR + len(shared)), name="loop_data")
    data.align = 8
    cg.stack_bytes += (FIRST_VAR + len(shared)) * 8
    words = cg._alloca_builder.bitcast(data, I64P)

    def word(i):
        return b.gep(words, [ir.Constant(I64, i)])

    b.store(ir.Constant(I64, GO_ON), word(RESULT))
    b.store(b.ptrtoint(cg.ctx, I64), word(CTX))
    b.store(cg.target_index if cg.target_index is not None else ir.Constant(I64, 0), word(TARGET))
    for i, name in enumerate(shared):
        slot = cg._vars[name] if name in cg._vars else cg._var_slot(name, cg.types[shared[name]])
        b.store(b.ptrtoint(slot, I64), word(FIRST_VAR + i))
    if isinstance(s, ast.ForRange):
        start = cg.expr(s.start)
        end = cg.expr(s.end)
        b.store(start, word(START))
        count = b.select(b.icmp_signed("<", start, end), b.sub(end, start), ir.Constant(I64, 0))
        fn = _callback(cg, s, shared, ("index", "data"), [I64, I8P])
        # No call for an empty range: the verifier skips the callback of a bpf_loop it knows
        # runs 0 times, removes it as dead code and then fails on its address (6.18: "verifier
        # bug: No program to jit"); behind this branch the address is dead code too.
        with b.if_then(b.icmp_signed(">", count, ir.Constant(I64, 0))):
            cg.helper(Helper.loop, count, b.bitcast(fn, I8P), b.bitcast(words, I8P), ir.Constant(I64, 0))
    else:
        plan = cg.plan.maps[s.map.name]
        fn = _callback(cg, s, shared, ("map", "key", "value", "data"), [I8P, I8P, I8P, I8P])
        cg.helper(Helper.for_each_map_elem, cg.map_ptr(plan.bpf_name), b.bitcast(fn, I8P),
                  b.bitcast(words, I8P), ir.Constant(I64, 0))
    result = b.load(word(RESULT))
    ended = b.icmp_unsigned("==", result, ir.Constant(I64, ENDED))
    if cg.uses_verdicts:   # drop()/pass() in the body: VERDICT_BASE + the verdict
        ended = b.or_(ended, b.icmp_unsigned(">=", result, ir.Constant(I64, VERDICT_BASE)))
    with b.if_then(ended, likely=False):
        if cg.uses_verdicts:
            cg.end_with_code(result)
        else:
            cg.ret()
        b.position_at_end(cg.func.append_basic_block("after_loop_ended"))


def _callback(cg, s, shared: dict[str, ast.Var], arg_names: tuple[str, ...], arg_types: list) -> ir.Function:
    fn = ir.Function(cg.module, ir.FunctionType(I64, arg_types),
                     cg.module.get_unique_name(f"{cg.main_func.name}__for"))
    fn.linkage = "internal"      # a static function: the kernel calls back only those
    fn.attributes.add("noinline")
    fn.attributes.add("nounwind")
    for arg, name in zip(fn.args, arg_names):
        arg.name = name
    saved = {k: getattr(cg, k) for k in _STATE}
    chunker_inside = cg.chunker.inside if cg.chunker is not None else None
    had_target = cg.target_index is not None
    line = cg.source.line_col(s.span.start)[0] if cg.source is not None else 0
    cg.func = fn
    cg.entry = fn.append_basic_block("entry")
    body = fn.append_basic_block("body")
    cg._alloca_builder = ir.IRBuilder(cg.entry)
    cg.b = b = ir.IRBuilder(body)
    cg._location = cg._new_scope(fn, line, arg_names) if cg._new_scope is not None else (lambda span: None)
    b.debug_metadata = cg._location(s.span)
    cg._alloca_builder.debug_metadata = b.debug_metadata
    words = cg._alloca_builder.bitcast(fn.args[-1], I64P)

    def word(i):
        return cg._alloca_builder.load(cg._alloca_builder.gep(words, [ir.Constant(I64, i)]))

    cg.ctx = cg._alloca_builder.inttoptr(word(CTX), I8P)
    cg.target_index = word(TARGET) if had_target else None
    cg._vars = {name: cg._alloca_builder.inttoptr(word(FIRST_VAR + i), I8P) for i, name in enumerate(shared)}
    cg._task_words, cg._free, cg._live = {}, {}, []
    cg._helper_error_rec = None
    cg._loop_targets = []
    cg.end_code = ENDED
    cg._run_counts, cg._exit_block, cg._exit_code = {}, None, None
    cg.stack_bytes = 0
    result_ptr = cg._alloca_builder.gep(words, [ir.Constant(I64, RESULT)])

    def return_code(code):   # BREAK and ENDED stop the helper's walk; ENDED also tells the caller
        ended = b.icmp_unsigned("==", code, ir.Constant(code.type, ENDED))
        if cg.uses_verdicts:     # so does drop()/pass()'s VERDICT_BASE + verdict
            ended = b.or_(ended, b.icmp_unsigned(">=", code, ir.Constant(code.type, VERDICT_BASE)))
        stop = b.or_(b.icmp_unsigned("==", code, ir.Constant(code.type, BREAK)), ended)
        with b.if_then(ended):
            b.store(b.zext(code, I64) if cg.uses_verdicts else ir.Constant(I64, ENDED), result_ptr)
        b.ret(b.zext(stop, I64))

    cg._return_code = return_code
    if cg.chunker is not None:
        cg.chunker.inside = True
    t = cg.types[s.var]
    slot = cg._var_slot(s.var.name, t)
    if isinstance(s, ast.ForRange):
        start = word(START)
        b.store(b.add(start, fn.args[0]), b.bitcast(slot, I64P))
    else:
        _load_element(cg, cg.plan.maps[s.map.name], t, slot, fn.args[1], fn.args[2])
    cg.block(s.body)
    if not b.block.is_terminated:
        cg.leave(GO_ON)
    cg._finish_exit_block()
    cg._alloca_builder.branch(body)
    callback_stack = cg.stack_bytes
    for k, v in saved.items():
        setattr(cg, k, v)
    if chunker_inside is not None:
        cg.chunker.inside = chunker_inside
    cg.stack_bytes += callback_stack    # the callback's frame sits on the caller's
    return fn


def _load_element(cg, plan, t: Tuple, slot, key, value) -> None:
    """$kv = (key, value) from the element the helper passes (its key and this CPU's value)."""
    key_t, value_t = t.elems
    key_off, value_off = t.offsets
    cg.memset0(slot, t.size)
    cg.memcpy(cg.offset(slot, key_off), key, key_t.size)
    if plan.agg == "none":
        cg.memcpy(cg.offset(slot, value_off), value, value_t.size)
        return
    # A per-CPU element: every CPU's value, found by the key (the copy on the stack).
    percpu_total(cg, plan, cg.offset(slot, key_off), cg.offset(slot, value_off))


def percpu_total(cg, plan, key, out) -> None:
    """Write to `out` (an i64 slot, zero) the count()/sum() total or the min()/max() extreme
    over the CPUs of the element under `key`: a bpf_loop of its own (a plain loop over 4096
    CPUs is too many jumps for the verifier). Also how `@c` of a count() map is read in an
    expression (bpftrace 0.2x's "PERCPU types": `(int64)@c`, `@s == 12`)."""
    b = cg.b
    state = cg._alloca_builder.alloca(ir.ArrayType(I64, 3), name="cpu_walk")
    state.align = 8
    cg.stack_bytes += 24
    words = b.bitcast(state, I64P)
    b.store(b.ptrtoint(key, I64), words)
    b.store(b.ptrtoint(out, I64), b.gep(words, [ir.Constant(I64, 1)]))
    b.store(ir.Constant(I64, 0), b.gep(words, [ir.Constant(I64, 2)]))
    walk = _cpu_walk(cg, plan)
    cg.helper(Helper.loop, ir.Constant(I64, MAX_CPUS), b.bitcast(walk, I8P), b.bitcast(words, I8P),
              ir.Constant(I64, 0))


def _cpu_walk(cg, plan) -> ir.Function:
    """`long walk(u64 cpu, u64 *state)`, state = {key*, value*, found}: adds (count, sum) or
    compares (min, max: only CPUs that set it) this CPU's value; stops past the last CPU."""
    fn = ir.Function(cg.module, ir.FunctionType(I64, [I64, I8P]),
                     cg.module.get_unique_name(f"{cg.main_func.name}__cpus"))
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    fn.attributes.add("nounwind")
    fn.args[0].name, fn.args[1].name = "index", "data"
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    if cg._new_scope is not None:
        b.debug_metadata = cg._new_scope(fn, 0, ("index", "data"))(cg.span)
    state = b.bitcast(fn.args[1], I64P)
    key = b.inttoptr(b.load(state), I8P)
    out = b.inttoptr(b.load(b.gep(state, [ir.Constant(I64, 1)])), I64P)
    found = b.gep(state, [ir.Constant(I64, 2)])
    lookup = b.inttoptr(ir.Constant(I64, int(Helper.map_lookup_percpu_elem)),
                        ir.FunctionType(I8P, [I8P, I8P, I64]).as_pointer())
    p = b.call(lookup, [b.bitcast(cg._maps[plan.bpf_name], I8P), key, fn.args[0]])
    with b.if_then(b.icmp_unsigned("==", p, ir.Constant(I8P, None)), likely=False):
        b.ret(ir.Constant(I64, 1))
    words = b.bitcast(p, I64P)
    v = b.load(words)
    if plan.agg in ("count", "sum"):
        b.store(b.add(b.load(out), v), out)
    else:
        is_set = b.icmp_unsigned("!=", b.load(b.gep(words, [ir.Constant(I64, 1)])), ir.Constant(I64, 0))
        with b.if_then(is_set):
            old = b.load(out)
            better = b.icmp_signed("<" if plan.agg == "min" else ">", v, old)
            take = b.or_(b.icmp_unsigned("==", b.load(found), ir.Constant(I64, 0)), better)
            b.store(b.select(take, v, old), out)
            b.store(ir.Constant(I64, 1), found)
    b.ret(ir.Constant(I64, 0))
    return fn
