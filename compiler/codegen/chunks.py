"""Large probe bodies as a chain of BPF-to-BPF subprograms ("chunks").

Why: a BPF jump has a 16-bit offset, and LLVM's BPF backend aborts the whole process
("Branch target out of insn range", SIGABRT) when a branch spans more than 32,767
instructions. In a long body some branch always does (the cold blocks of every printf and
map update are placed at the end), so 3,000 printf()s or ten join()s killed kt. A body whose
estimated size passes CHUNK_THRESHOLD is lowered as calls, from the program, to static
`noinline` functions of about CHUNK_BUDGET estimated instructions each; every jump then stays
inside one function. The kernel verifies static subprograms in their caller's context, so
they may take the context and a pointer into the caller's stack.

The rules this follows (kernel/bpf/verifier.c, 6.1 and 6.18 alike):
- at most 5 arguments: (ctx, frame, target index);
- the stack of a call chain is at most MAX_BPF_STACK (512) bytes in all, each frame rounded
  up to 32: a chunked probe's variables live in one frame in the program's stack, passed by
  pointer, and each chunk has its own temporaries; their sum is checked (codegen/module.py);
- at most BPF_MAX_SUBPROGS (256) functions per program: the budget grows with the body so
  that no program has more than MAX_CHUNKS chunks; the call chain is two deep (MAX_CALL_FRAMES
  is 8): a chunk holds whole statements that are each below the budget, and a larger `if`,
  `while` or `unroll` is lowered where it is, its own body chunked;
- no tail calls, so the 256-byte stack limit for mixing them with calls does not apply.

A chunk returns 0 to go on, or why its caller must stop: the probe ended (`return`,
`exit()`), or `break`/`continue` of a loop outside the chunk.
"""

from __future__ import annotations

from llvmlite import ir

from .. import ast
from ..types import Str

I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
I8P = I8.as_pointer()

# Estimated BPF instructions (see estimate()): a body above CHUNK_THRESHOLD is chunked, into
# chunks of about CHUNK_BUDGET each. 32,767 is the hard limit of one function; the estimate is
# rough (a factor of 2 either way on the scripts measured), so the budget leaves room.
CHUNK_THRESHOLD = 6000
CHUNK_BUDGET = 3000
MAX_CHUNKS = 200

GO_ON, ENDED, BREAK, CONTINUE = 0, 1, 2, 3
# A packet program's drop()/pass() in a chunk or a loop's callback: VERDICT_BASE + the verdict
# (small and not negative), passed up to the program, which returns the verdict.
VERDICT_BASE = 16

# Measured on kt's output (BPF instructions per statement / AST nodes per statement): 2-5
# instructions a node; join() unrolls 16 reads of up to 256 bytes (~750 instructions).
_NODE_COST = 6
_CALL_COST = {"join": 800}


def estimate(node, types) -> int:
    """A rough count of the BPF instructions `node` lowers to (unroll bodies counted N
    times): enough to decide where to split, not how big the program is."""
    total = 0
    for n in ast.walk(node, skip=ast.Unroll):
        if isinstance(n, ast.Unroll):
            total += n.count * estimate(n.body, types)
            continue
        total += _NODE_COST
        if isinstance(n, ast.Call):
            total += _CALL_COST.get(n.name, 0)
        t = types.get(n) if hasattr(types, "get") else None
        if isinstance(t, Str):
            total += t.size // 4       # zeroing and copying its bytes
    return total


def _loose_jumps(stmts) -> set[str]:
    """break/continue in `stmts` that leave them (not inside a while of their own)."""
    return {n.kind for n in ast.walk(stmts, skip=(ast.While, ast.ForMap, ast.ForRange))
            if isinstance(n, ast.Jump) and n.kind != "return"}


def frame_layout(body: ast.Block, types) -> tuple[dict[str, int], int]:
    """Each variable's byte offset in the frame, and the frame's size in u64 slots."""
    slots: dict[str, int] = {}
    for n in ast.walk(body):
        if isinstance(n, ast.Var):
            t = types.get(n)
            if t is not None:
                slots[n.name] = max(slots.get(n.name, 1), (t.size + 7) // 8)
    offsets, at = {}, 0
    for name in sorted(slots):
        offsets[name] = at * 8
        at += slots[name]
    return offsets, max(at, 1)


class FrameVars(dict):
    """name -> i8* of a variable in the frame, made in the current function's entry block
    on first use (the dict is replaced when codegen enters another function)."""

    def __init__(self, cg, frame: ir.Value, offsets: dict[str, int]):
        super().__init__()
        self._cg, self._frame, self._offsets = cg, frame, offsets

    def __contains__(self, name) -> bool:
        return name in self._offsets or dict.__contains__(self, name)

    def __missing__(self, name):
        b = self._cg._alloca_builder
        ptr = b.gep(self._frame, [ir.Constant(I64, self._offsets[name])]) if self._offsets[name] else self._frame
        self[name] = ptr
        return ptr


class Chunker:
    """The chunking of one probe: the frame, the chunk functions and their calls. Lives on
    its ProbeCodegen (`cg.chunker`), which asks it to lower each statement list."""

    _STATE = ("func", "entry", "_alloca_builder", "b", "ctx", "_task_words", "_free", "_live",
              "_helper_error_rec", "_loop_targets", "_vars", "target_index", "_location",
              "end_code", "stack_bytes", "_run_counts", "_exit_block", "_exit_code")

    def __init__(self, cg, new_scope, total: int):
        self.cg = cg
        self.new_scope = new_scope          # (fn, line) -> span -> DILocation
        self.budget = max(CHUNK_BUDGET, total // MAX_CHUNKS + 1)
        self.offsets, slots = frame_layout(cg.probe.body, cg.types)
        frame = cg._alloca_builder.alloca(ir.ArrayType(I64, slots), name="frame")
        frame.align = 8
        self.frame = cg._alloca_builder.bitcast(frame, I8P)
        self.frame_bytes = slots * 8
        cg._vars = FrameVars(cg, self.frame, self.offsets)
        self.count = 0
        self.max_chunk_stack = 0
        self.inside = False        # lowering a chunk: its statements are all below the budget

    def statements(self, stmts: list) -> None:
        """Lower `stmts` in the current function: in place when small, else as groups of
        whole statements, each group a chunk, a statement larger than the budget in place
        (its own bodies chunked when they are large)."""
        cg = self.cg
        costs = [] if self.inside else [estimate(s, cg.types) for s in stmts]
        if self.inside or sum(costs) <= self.budget:
            for s in stmts:
                cg.stmt(s)
            return
        group: list = []
        size = 0
        for s, c in zip(stmts, costs):
            if c > self.budget and isinstance(s, (ast.If, ast.While, ast.Unroll)):
                self._flush(group)
                group, size = [], 0
                if isinstance(s, ast.Unroll):
                    cg.b.debug_metadata = cg._location(s.span)
                    self.statements(list(s.body.stmts) * s.count)
                else:
                    cg.stmt(s)
                continue
            if group and size + c > self.budget:
                self._flush(group)
                group, size = [], 0
            group.append(s)
            size += c
        self._flush(group)

    def _flush(self, group: list) -> None:
        if not group:
            return
        cg = self.cg
        if cg.b.block.is_terminated:   # after a return/exit: nothing of it runs
            return
        fn = self._chunk(group)
        cg.b.debug_metadata = cg._location(group[0].span)
        target = cg.target_index if cg.target_index is not None else ir.Constant(I64, 0)
        result = cg.b.call(fn, [cg.ctx, self.frame_in_current(), target])
        go_on = cg.func.append_basic_block("after_chunk")
        stop = cg.func.append_basic_block("chunk_stopped")
        cg.b.cbranch(cg.b.icmp_unsigned("==", result, ir.Constant(I32, GO_ON)), go_on, stop)
        cg.b.position_at_end(stop)
        jumps = _loose_jumps(group)
        if jumps:
            cases = {}
            for kind, code in (("break", BREAK), ("continue", CONTINUE)):
                if kind in jumps:
                    cases[code] = cg.func.append_basic_block(f"chunk_{kind}")
            ended = cg.func.append_basic_block("chunk_ended")
            switch = cg.b.switch(result, ended)
            for code, block in cases.items():
                switch.add_case(ir.Constant(I32, code), block)
                cg.b.position_at_end(block)
                cg.jump("break" if code == BREAK else "continue")
            cg.b.position_at_end(ended)
        if cg.uses_verdicts:
            cg.end_with_code(result)
        else:
            cg.ret()
        cg.b.position_at_end(go_on)

    def frame_in_current(self) -> ir.Value:
        return self.cg._vars._frame

    def _chunk(self, group: list) -> ir.Function:
        cg = self.cg
        self.count += 1
        fn = ir.Function(cg.module, ir.FunctionType(I32, [I8P, I8P, I64]), cg.module.get_unique_name(f"{cg.main_func.name}__chunk{self.count}"))
        fn.linkage = "internal"
        fn.attributes.add("noinline")
        fn.attributes.add("nounwind")
        for arg, name in zip(fn.args, ("ctx", "frame", "target")):
            arg.name = name
        saved = {k: getattr(cg, k) for k in self._STATE}
        had_target = cg.target_index is not None
        line = cg.source.line_col(group[0].span.start)[0] if cg.source is not None else 0
        cg.func = fn
        cg.entry = fn.append_basic_block("entry")
        body = fn.append_basic_block("body")
        cg._alloca_builder = ir.IRBuilder(cg.entry)
        cg.b = ir.IRBuilder(body)
        cg.ctx = fn.args[0]
        cg._task_words, cg._free, cg._live = {}, {}, []
        cg._helper_error_rec = None
        cg._loop_targets = []
        cg._vars = FrameVars(cg, fn.args[1], self.offsets)
        cg.target_index = fn.args[2] if had_target else None
        cg._location = self.new_scope(fn, line)
        cg.end_code = ENDED
        cg._run_counts, cg._exit_block, cg._exit_code = {}, None, None   # its own counters
        cg.stack_bytes = 0
        cg.b.debug_metadata = cg._location(group[0].span)
        cg._alloca_builder.debug_metadata = cg.b.debug_metadata
        self.inside = True
        for s in group:
            cg.stmt(s)
        self.inside = False
        if not cg.b.block.is_terminated:
            cg.leave(GO_ON)
        cg._finish_exit_block()
        cg._alloca_builder.branch(body)
        self.max_chunk_stack = max(self.max_chunk_stack, cg.stack_bytes)
        for k, v in saved.items():
            setattr(cg, k, v)
        return fn
