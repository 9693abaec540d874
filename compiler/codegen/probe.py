"""Lowering of one probe (one resolved attach point) to one BPF program function.

Values: an integer expression lowers to an i64; a string expression lowers to a pointer to a
stack buffer of its type's size. Every stack slot is an alloca in the entry block (LLVM's BPF
backend rejects dynamic stack allocation), 8-byte aligned.
"""

from __future__ import annotations

import contextlib

from llvmlite import ir

from .. import ast
from ..helpers import Helper
from ..options import CompileOptions
from ..formats.events import JOIN_HEADER, MAP_EVENTS, EventId
from ..objects import (CONTROL_MAP, EVENTS_MAP, EXIT_FLAG, FULL_MAP, LOST_MAP, READ_ERRORS_MAP, READ_ERRORS_SITES,
                       SCRATCH_MAP, STACK_RECORD_MAX)
from ..passes.resources import ResourcePlan
from ..passes.semantic import Semantics
from ..probes import ResolvedProbe
from ..types import Ptr, Type, U64, is_word
from . import maps
from .loops import lower_for
from .chunks import BREAK, CHUNK_THRESHOLD, CONTINUE, VERDICT_BASE, Chunker, estimate
from .expressions import ExpressionLowering, VolatileLoad
from .places import CTX, Place

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
I8P = I8.as_pointer()

# What -k (1) and -kk (2) check, as bpftrace 0.17: -k the helpers whose failure a script
# cannot see; -kk also the reads, which leave zeros (and map reads, checked in maps.read_map).
# -k counts the failed reads per site without an event each (count_failed_read): the session
# warns once per site and gives the totals at the end.
_READS = frozenset({Helper.probe_read, Helper.probe_read_str, Helper.probe_read_user, Helper.probe_read_kernel,
                    Helper.probe_read_user_str, Helper.probe_read_kernel_str})
_NOT_READS = frozenset({Helper.map_update_elem, Helper.map_delete_elem, Helper.get_stackid, Helper.send_signal})
CHECKED_HELPERS = {1: _NOT_READS, 2: _NOT_READS | _READS}


class ProbeCodegen(ExpressionLowering):
    def __init__(self, module: ir.Module, func: ir.Function, probe: ast.Probe, resolved: ResolvedProbe,
                 sema: Semantics, plan: ResourcePlan, options: CompileOptions,
                 map_globals: dict[str, ir.GlobalVariable], intrinsics: dict[str, ir.Function],
                 location=None, probe_base: int = 0, source=None, helper_sites: list | None = None,
                 new_scope=None):
        self.module = module
        self.func = self.main_func = func
        self.probe = probe
        self.resolved = resolved
        self.types = sema.types
        self.constants = sema.constants
        self.positional_plan = sema.positionals
        self.plan = plan
        self.options = options
        self._maps = map_globals
        self._intr = intrinsics
        self.entry = func.append_basic_block("entry")
        body = func.append_basic_block("body")
        self._alloca_builder = ir.IRBuilder(self.entry)
        self.b = ir.IRBuilder(body)
        self.ctx = func.args[0]
        self.probe_base = probe_base
        # Which of the program's targets fired, when its context's prologue computes it instead
        # of the attach cookie telling (compiler/syscall_dispatch.py); None: the cookie.
        self.target_index: ir.Value | None = None
        # -k/-kk: the checked helper call sites of the whole object, for `.kt.meta`
        # "helper_errors"; `span` is the innermost expression (or statement) being lowered.
        self.source = source
        self.helper_sites = helper_sites if helper_sites is not None else []
        self.span = probe.span
        self._helper_error_rec: ir.Value | None = None
        # span -> DILocation: instructions carry the line of the statement they come from, so
        # BTF line info (and the verifier's log) can name the kt line.
        self._location = location or (lambda span: None)
        # A large body is lowered as subprograms (codegen/chunks.py): new_scope(fn, line)
        # gives a chunk function its debug scope; end_code is what `return`/exit() return
        # (0 from the program, chunks.ENDED from a chunk).
        self._new_scope = new_scope
        self.chunker: Chunker | None = None
        self.end_code = resolved.context.default_return   # a packet program's verdict
        # drop()/pass() somewhere in the probe: chunks and loop callbacks pass their verdict up
        self.uses_verdicts = bool(resolved.context.verdicts) and any(
            isinstance(n, ast.Call) and n.name in resolved.context.verdicts for n in ast.walk(probe))
        self._vars: dict[str, ir.Value] = {}
        self._task_words: dict[Helper, ir.Value] = {}       # see current_task_word
        # builtins/packet.py: the packet headers each function (program, chunk, callback) read
        self.packet_headers: dict[ir.Function, object] = {}
        self._loop_targets: list[tuple[ir.Block, ir.Block]] = []   # (continue, break) of each loop
        self.stack_bytes = 0                                # buffers on the BPF stack, estimated
        self._live: list[tuple[int, ir.Value]] = []        # temporaries of unfinished statements
        self._free: dict[int, list[ir.Value]] = {}          # reusable temporaries by size
        # After exit() no probe runs but END (the trace ends at once, as with 0.17, whose
        # user space detaches its probes sooner than kt does): exit() sets a flag they test.
        self._after_exit_stops = resolved.kind != "end" and any(
            isinstance(n, ast.Call) and n.name == "exit" for n in ast.walk(sema.program))
        # Counters of this run, added to their ARRAY map slot once, in the exit block (ret()):
        # (map name, slot) -> i64 alloca: new keys a full map refused (count_refused), and
        # -k's failed reads per helper site (count_failed_read)
        self._run_counts: dict[tuple[str, int], ir.Value] = {}
        self._exit_block: ir.Block | None = None
        self._exit_code: ir.Value | None = None             # i32 slot: what the exit block returns
        # How the exit block returns its code: None, `ret` it; a for loop's callback maps it
        # to the 0/1 the kernel wants (codegen/loops.py).
        self._return_code = None

    # ---- the program ---------------------------------------------------------------------
    def generate(self) -> None:
        self.b.debug_metadata = self._location(self.probe.span)
        self._alloca_builder.debug_metadata = self.b.debug_metadata
        if self._after_exit_stops:
            self._return_if_exited()
        self.resolved.context.prologue(self)
        total = estimate(self.probe.body, self.types) if self._new_scope is not None else 0
        if total > CHUNK_THRESHOLD:
            self.chunker = Chunker(self, self._new_scope, total)
        if self.probe.predicate is not None:
            self.b.debug_metadata = self._location(self.probe.predicate.span)
            cond = self.truth(self.expr(self.probe.predicate))
            self._release_since(0)
            with self.b.if_then(self.b.not_(cond)):
                self.b.ret(ir.Constant(I32, self.end_code))
        self.block(self.probe.body)
        self.b.debug_metadata = self._location(self.probe.body.span)
        self.ret()
        self._finish_exit_block()
        self._alloca_builder.branch(self.func.blocks[1])
        if self.chunker is not None:   # the call chain's stack: the program's, then a chunk's
            self.stack_bytes += self.chunker.frame_bytes + self.chunker.max_chunk_stack

    def ret(self) -> None:
        """Return after the body ran (its end, `return`, exit()): `end_code` (0; a chunk's
        ENDED, which tells its caller to end the probe) through the exit block."""
        self.leave(self.end_code)

    def leave(self, code: int | ir.Value) -> None:
        """Return `code` (a constant, or an i32/i64 computed at run time) from the current
        function through its exit block, which _finish_exit_block fills last, once every
        counter of the function is known."""
        if self._exit_block is None:
            self._exit_block = self.func.append_basic_block("exit")
            self._exit_code = self._alloca_builder.alloca(I32, name="exit_code")
        if isinstance(code, int):
            code = ir.Constant(I32, code)
        elif code.type != I32:
            code = self.b.trunc(code, I32)
        self.b.store(code, self._exit_code)
        self.b.branch(self._exit_block)

    def end_with_verdict(self, verdict: int) -> None:
        """drop()/pass(): end the probe returning `verdict` from the program; a chunk or a
        loop's callback returns VERDICT_BASE + verdict, which its caller passes on."""
        self.leave(verdict if self.func is self.main_func else VERDICT_BASE + verdict)
        self.b.position_at_end(self.func.append_basic_block("after_verdict"))

    def end_with_code(self, code: ir.Value) -> None:
        """End after a chunk or a loop callback ended the probe with `code` (ENDED, or
        VERDICT_BASE + a verdict): the program returns the verdict or its default; a
        subprogram passes the code on."""
        if self.func is not self.main_func:
            self.leave(code)
            return
        b = self.b
        base = ir.Constant(code.type, VERDICT_BASE)
        verdict = b.select(b.icmp_unsigned(">=", code, base), b.sub(code, base),
                           ir.Constant(code.type, self.end_code))
        self.leave(verdict)

    def _finish_exit_block(self) -> None:
        """The exit block: each counter of the run that is not zero is added to its slot (a
        branch per counter, here only: a loop of map updates has none), then the code given
        to leave(). A chunk has its own counters and exit block (codegen/chunks.py)."""
        if self._exit_block is None:
            return
        b = self.b
        b.position_at_end(self._exit_block)
        for (map_name, slot), var in self._run_counts.items():
            n = b.load(var)
            with b.if_then(b.icmp_unsigned("!=", n, ir.Constant(I64, 0)), likely=False):
                index = self.stack(4, "count_slot")
                b.store(ir.Constant(I32, slot), b.bitcast(index, I32.as_pointer()))
                p = self.helper_ptr(Helper.map_lookup_elem, self.map_ptr(map_name), index)
                with b.if_then(b.icmp_unsigned("!=", p, ir.Constant(p.type, None))):
                    b.atomic_rmw("add", b.bitcast(p, I64.as_pointer()), n, "monotonic")
        code = b.load(self._exit_code)
        if self._return_code is None:
            b.ret(code)
        else:
            self._return_code(code)

    def _run_count(self, map_name: str, slot: int) -> ir.Value:
        var = self._run_counts.get((map_name, slot))
        if var is None:   # zeroed in the entry block, which runs before any use
            var = self._run_counts[(map_name, slot)] = self._alloca_builder.alloca(I64, name=f"count{slot}")
            self._alloca_builder.store(ir.Constant(I64, 0), var)
        return var

    def _add_count(self, map_name: str, slot: int, one: ir.Value) -> None:
        var = self._run_count(map_name, slot)
        self.b.store(self.b.add(self.b.load(var), one), var)

    def count_refused(self, slot: int, ret: ir.Value, code: int) -> None:
        """One more refused key for FULL_MAP `slot` when the helper's `ret` is `code`,
        without a branch.

        Why no branch: the verifier explores both sides of every branch on a value it cannot
        know, and a loop of 5,000 map updates with one more such branch each exceeded its
        8,192 pending branches ("The sequence of 8193 jumps is too complex"), where bpftrace
        0.17 and kt without the check pass. So the run adds (ret == code) as arithmetic,
        ((x - 1) & ~x) >> 63 with x = ret - code (1 only for x == 0), and the exit block
        stores the sum once. The empty inline asm keeps LLVM from folding it back into a
        compare, which the BPF backend would lower to a branch (BPF has no setcc)."""
        b = self.b
        x = b.sub(ret, ir.Constant(I64, code))
        mixed = b.and_(b.sub(x, ir.Constant(I64, 1)), b.xor(x, ir.Constant(I64, -1)))
        opaque = b.asm(ir.FunctionType(I64, [I64]), "", "=r,0", [mixed], side_effect=False)
        self._add_count(FULL_MAP, slot, b.lshr(opaque, ir.Constant(I64, 63)))

    def count_failed_read(self, helper: Helper, ret: ir.Value) -> None:
        """-k: one more failed read at this site when `ret` is negative (`ret >> 63`,
        logical), without a branch (count_refused says why); READ_ERRORS_MAP slot i counts
        helper site i (the sites past its size are not counted)."""
        site = self._helper_site(helper)
        if site < READ_ERRORS_SITES:
            self._add_count(READ_ERRORS_MAP, site, self.b.lshr(ret, ir.Constant(I64, 63)))

    # ---- low-level helpers used by builtins and maps -------------------------------------
    def stack(self, size: int, name: str = "") -> ir.Value:
        """A temporary stack buffer, live until the end of the current statement.

        Temporaries of finished statements are reused: LLVM gets no lifetime markers from us,
        so without reuse every printf of a long probe would add to the 512-byte BPF stack.
        """
        slots = (max(size, 1) + 7) // 8
        pool = self._free.get(slots)
        a = pool.pop() if pool else self._new_alloca(slots, name)
        self._live.append((slots, a))
        return self.b.bitcast(a, I8P)

    def _new_alloca(self, slots: int, name: str) -> ir.Value:
        if slots > 1:  # single words become registers after mem2reg; buffers stay on the stack
            self.stack_bytes += slots * 8
        a = self._alloca_builder.alloca(ir.ArrayType(I64, slots), name=name)
        a.align = 8
        return a

    def _release_since(self, mark: int) -> None:
        for slots, a in self._live[mark:]:
            self._free.setdefault(slots, []).append(a)
        del self._live[mark:]

    # LLVM's BPF backend expands memset/memcpy into at most 128 stores (8 bytes each); a larger
    # one would be a call to a libc function BPF does not have. Large ones go in volatile pieces,
    # which the optimizer does not merge back into one.
    _MEM_CHUNK = 1024

    def memset0(self, ptr: ir.Value, size: int, align8: bool = False) -> None:
        """Zero `size` bytes. `align8`: ptr is 8-byte aligned (a map value at an offset that
        is a multiple of 8), which LLVM cannot see through a helper's result: the store
        sequence is then of u64s, not of single bytes (join()'s 256-byte slots were 256
        stores each, 4,500 instructions a join)."""
        pieces = size > self._MEM_CHUNK
        for off in range(0, size, self._MEM_CHUNK):
            n = min(self._MEM_CHUNK, size - off)
            call = self.b.call(self._intr["memset"], [self.offset(ptr, off), ir.Constant(I8, 0), ir.Constant(I64, n),
                                                      ir.Constant(I1, pieces)])
            if align8:
                call.arg_attributes[0] = ir.ArgumentAttributes()
                call.arg_attributes[0].align = 8

    def memcpy(self, dst: ir.Value, src: ir.Value, size: int) -> None:
        pieces = size > self._MEM_CHUNK
        for off in range(0, size, self._MEM_CHUNK):
            n = min(self._MEM_CHUNK, size - off)
            self.b.call(self._intr["memcpy"], [self.offset(dst, off), self.offset(src, off), ir.Constant(I64, n),
                                               ir.Constant(I1, pieces)])

    def offset(self, ptr: ir.Value, off: int) -> ir.Value:
        return self.b.gep(ptr, [ir.Constant(I64, off)]) if off else ptr

    def map_ptr(self, bpf_name: str) -> ir.Value:
        return self.b.bitcast(self._maps[bpf_name], I8P)

    def _call_helper(self, helper: Helper, ret: ir.Type, args) -> ir.Value:
        vals = [a if isinstance(a.type, ir.PointerType) or a.type == I64 else self.b.zext(a, I64) for a in args]
        fnty = ir.FunctionType(ret, [v.type for v in vals])
        fn = self.b.inttoptr(ir.Constant(I64, int(helper)), fnty.as_pointer())
        return self.b.call(fn, vals)

    def runtime_value(self, name: str) -> ir.Value:
        """A `.rodata` u64 the runtime fills (codegen/module.py `_runtime_values`): a volatile
        load, since the global's initializer (0) is not the value the program sees."""
        value = VolatileLoad(self.b.block, self._maps[name])
        self.b._insert(value)
        return value

    def positional_int(self, index: int, kind: str = "int") -> ir.Value:
        """$N (kind "int") or $# ("count") from its `.rodata` slot (compiler/positionals.py)."""
        return self.runtime_value(self.positional_plan.slot(index, kind).symbol)

    def positional_str(self, index: int) -> ir.Value:
        """str($N): a stack copy of its `.rodata` char slot. The copy is volatile for the reason
        runtime_value's load is: the global's initializer (zeros) is not what the program sees."""
        return self.slot_str(self.positional_plan.slot(index, "str"))

    def slot_str(self, slot) -> ir.Value:
        """A stack copy of a `.rodata` char slot (str($N), getopt()'s strings)."""
        buf = self.stack(slot.size, "arg")
        src = self.b.bitcast(self._maps[slot.symbol], I8P)
        for off in range(0, slot.size, self._MEM_CHUNK):
            n = min(self._MEM_CHUNK, slot.size - off)
            self.b.call(self._intr["memcpy"], [self.offset(buf, off), self.offset(src, off), ir.Constant(I64, n),
                                               ir.Constant(I1, 1)])
        return buf

    def helper(self, helper: Helper, *args: ir.Value) -> ir.Value:
        ret = self._call_helper(helper, I64, args)
        if helper in CHECKED_HELPERS.get(self.options.helper_checks, ()):
            self.check_helper(helper, ret)
        elif helper in _READS and self.options.helper_checks == 1 and self.source is not None:
            self.count_failed_read(helper, ret)
        return ret

    @contextlib.contextmanager
    def at_entry(self):
        """`self.b` emits at the end of the current function's entry block meanwhile: values
        every run computes once, which dominate every use (current_task_word's, the packet
        builtins' header fields)."""
        saved, self.b = self.b, self._alloca_builder
        try:
            yield self.b
        finally:
            self.b = saved

    def current_task_word(self, helper: Helper) -> ir.Value:
        """get_current_pid_tgid()/get_current_uid_gid(): the same during one run of the program,
        so called once, in the entry block (LLVM cannot merge helper calls; `/pid == cpid/ {
        @[tid] = ... }` made two)."""
        value = self._task_words.get(helper)
        if value is None:
            b = self._alloca_builder
            fn = b.inttoptr(ir.Constant(I64, int(helper)), ir.FunctionType(I64, []).as_pointer())
            value = self._task_words[helper] = b.call(fn, [])
        return value

    def helper_ptr(self, helper: Helper, *args: ir.Value) -> ir.Value:
        return self._call_helper(helper, I8P, args)

    def check_helper(self, helper: Helper, ret: ir.Value) -> None:
        """-k/-kk: when the helper failed (a negative result, or NULL from map_lookup_elem),
        send {HELPER_ERROR; site; result}; user space prints bpftrace's warning for the site."""
        if self.source is None:
            return
        site = self._helper_site(helper)
        b = self.b
        if isinstance(ret.type, ir.PointerType):
            failed = b.icmp_unsigned("==", ret, ir.Constant(ret.type, None))
            code = ir.Constant(I64, 0)
        else:
            failed = b.icmp_signed("<", ret, ir.Constant(ret.type, 0))
            code = ret
        with b.if_then(failed, likely=False):
            # One record for every check of the program: each is filled and sent at once
            # (join() under -kk checks 32 reads in one statement).
            if self._helper_error_rec is None:
                self._helper_error_rec = self._new_alloca(3, "helper_error")
            rec = b.bitcast(self._helper_error_rec, I8P)
            rec64 = b.bitcast(rec, I64.as_pointer())
            b.store(ir.Constant(I64, EventId.HELPER_ERROR), rec64)
            b.store(ir.Constant(I64, site), b.gep(rec64, [ir.Constant(I32, 1)]))
            b.store(code, b.gep(rec64, [ir.Constant(I32, 2)]))
            self.emit_event(rec, 24)

    def _helper_site(self, helper: Helper) -> int:
        """A new entry of `.kt.meta` "helper_errors" for the expression being lowered."""
        site = len(self.helper_sites)
        line, col = self.source.line_col(self.span.start)
        end_line, end_col = self.source.line_col(self.span.end)
        text = self.source.text.split("\n")[line - 1]
        self.helper_sites.append({"helper": helper.name, "file": self.options.source_name, "line": line,
                                  "col": col, "end_col": end_col if end_line == line else len(text) + 1,
                                  "text": text})
        return site

    def helper_size(self, n: ir.Value, cap: int) -> ir.Value:
        """min(n, cap) as a helper's size argument, in a form every verifier can bound.

        Why not a plain select: for a zero-extended u32 (`$skb->len`) LLVM's alu32 code
        compares the 32-bit subregister and passes a copy made by a 32-bit mov (`w2 = w1; if
        w1 < 64 ...`). 6.1's verifier does not carry a bound to a register copied by a 32-bit
        mov, so it saw an unbounded size and refused the program (undump.bt: "R2 unbounded
        memory access", EACCES); 6.18 accepts it. An empty inline asm (libbpf's
        barrier_var()) makes n an opaque 64-bit value, so the compare and the size passed are
        one 64-bit register, or copies of it the verifier links."""
        opaque = self.b.asm(ir.FunctionType(I64, [I64]), "", "=r,0", [n], side_effect=False)
        limit = ir.Constant(I64, cap)
        return self.b.select(self.b.icmp_unsigned(">", opaque, limit), limit, opaque)

    def ctx_u64(self, offset: int) -> ir.Value:
        """The u64 at a byte offset of the context (a pt_regs slot, a u64 argument).

        Volatile: the verifier only accepts context loads at constant offsets, and LLVM would
        otherwise merge loads from two branches into one load at a selected offset
        ("dereference of modified ctx ptr")."""
        return self.load(Place(CTX, self.offset(self.ctx, offset)), U64)

    def truth(self, v: ir.Value) -> ir.Value:
        """An integer or a pointer as a condition: not zero (not NULL)."""
        return self.b.icmp_unsigned("!=", v, ir.Constant(I64, 0))

    # ---- events --------------------------------------------------------------------------
    def emit_event(self, record: ir.Value, size: int, control: bool = False) -> None:
        """Send a record to the event ring; a control record (exit, clear, zero, print of a
        map, time, unwatch) that finds it full goes to the control ring (runtime/pump.py).
        A record neither takes is counted in entry 0 of the lost map."""
        ret = self.helper(Helper.ringbuf_output, self.map_ptr(EVENTS_MAP), record,
                          ir.Constant(I64, size), ir.Constant(I64, 0))
        failed = self.b.icmp_unsigned("!=", ret, ir.Constant(I64, 0))
        if control and self.plan.control:
            sent = self.b.bitcast(self.stack(8, "sent"), I64.as_pointer())
            self.b.store(ret, sent)
            with self.b.if_then(failed, likely=False):
                self.b.store(self.helper(Helper.ringbuf_output, self.map_ptr(CONTROL_MAP), record,
                                         ir.Constant(I64, size), ir.Constant(I64, 0)), sent)
            failed = self.b.icmp_unsigned("!=", self.b.load(sent), ir.Constant(I64, 0))
        with self.b.if_then(failed, likely=False):
            key = self.stack(4, "lostkey")
            self.b.store(ir.Constant(I32, 0), self.b.bitcast(key, I32.as_pointer()))
            p = self.helper_ptr(Helper.map_lookup_elem, self.map_ptr(LOST_MAP), key)
            with self.b.if_then(self.b.icmp_unsigned("!=", p, ir.Constant(I8P, None))):
                self.b.atomic_rmw("add", self.b.bitcast(p, I64.as_pointer()), ir.Constant(I64, 1), "monotonic")

    def emit_printf(self, call: ast.Call) -> None:
        pf = self.plan.printfs[call]
        if pf.size > STACK_RECORD_MAX:
            # Large records (several strings) would overflow the 512-byte BPF stack: build
            # them in this CPU's slot of the scratch map instead.
            rec = self._scratch_record()
            have = self.b.icmp_unsigned("!=", rec, ir.Constant(I8P, None))
            with self.b.if_then(have):
                self._fill_printf(call, pf, rec)
        else:
            self._fill_printf(call, pf, self.stack(pf.size, "printf"))

    def _fill_printf(self, call: ast.Call, pf, rec: ir.Value) -> None:
        self.memset0(rec, pf.size)
        self.b.store(ir.Constant(I64, pf.id), self.b.bitcast(rec, I64.as_pointer()))
        for (off, t), arg in zip(pf.args, call.args[1:]):
            self.store_value(self.offset(rec, off), t, arg)
        self.emit_event(rec, pf.size)

    def emit_print_value(self, call: ast.Call) -> None:
        """print(value): {u64 id; u64 index into print_values; the value}."""
        index, t = self.plan.print_values[call]
        size = 16 + (t.size + 7) // 8 * 8
        rec = self._scratch_record() if size > STACK_RECORD_MAX else self.stack(size, "print")
        with self.b.if_then(self.b.icmp_unsigned("!=", rec, ir.Constant(I8P, None))):
            self.memset0(rec, size)
            rec64 = self.b.bitcast(rec, I64.as_pointer())
            self.b.store(ir.Constant(I64, EventId.PRINT_VALUE), rec64)
            self.b.store(ir.Constant(I64, index), self.b.gep(rec64, [ir.Constant(I32, 1)]))
            self.store_value(self.offset(rec, 16), t, call.args[0])
            self.emit_event(rec, size)

    def emit_map_event(self, action: str, map_name: str, *extra: int) -> None:
        """{u64 id; u64 map index; u64 extra...}: user space acts on the map in event order."""
        self.emit_words(MAP_EVENTS[action], self.plan.map_index(map_name), *extra)

    def emit_words(self, *words: int) -> None:
        """An event record of constant u64 words (the first is the event id)."""
        rec = self.stack(8 * len(words), "event")
        rec64 = self.b.bitcast(rec, I64.as_pointer())
        for i, w in enumerate(words):
            self.b.store(ir.Constant(I64, w), self.b.gep(rec64, [ir.Constant(I32, i)]))
        self.emit_event(rec, 8 * len(words), control=True)

    def _scratch_record(self) -> ir.Value:
        """This CPU's scratch record (kt_scratch), or NULL (never, for a per-CPU array)."""
        key = self.stack(4, "zero")
        self.b.store(ir.Constant(I32, 0), self.b.bitcast(key, I32.as_pointer()))
        return self.helper_ptr(Helper.map_lookup_elem, self.map_ptr(SCRATCH_MAP), key)

    def emit_join(self, call: ast.Call, nargs: int, arg_size: int) -> None:
        """join(argv): read up to nargs strings of a NULL-terminated char *[] into one event."""
        b = self.b
        size = JOIN_HEADER.size + nargs * arg_size
        rec = self._scratch_record()
        with b.if_then(b.icmp_unsigned("!=", rec, ir.Constant(I8P, None))):
            self.memset0(rec, JOIN_HEADER.size)
            rec64 = b.bitcast(rec, I64.as_pointer())
            b.store(ir.Constant(I64, EventId.JOIN), rec64)
            b.store(ir.Constant(I64, self.plan.join_delims[call]), b.gep(rec64, [ir.Constant(I32, 1)]))
            count = b.gep(rec64, [ir.Constant(I32, 2)])
            argv = self.expr(call.args[0])
            slot = self.stack(8, "argp")
            for i in range(nargs):  # unrolled: the verifier sees straight-line code
                going = b.icmp_unsigned("==", b.load(count), ir.Constant(I64, i))
                with b.if_then(going):
                    self.memset0(slot, 8)
                    src = b.inttoptr(b.add(argv, ir.Constant(I64, 8 * i)), I8P)
                    self.helper(Helper.probe_read, slot, ir.Constant(I64, 8), src)
                    arg = b.load(b.bitcast(slot, I64.as_pointer()))
                    with b.if_then(b.icmp_unsigned("!=", arg, ir.Constant(I64, 0))):
                        dst = self.offset(rec, JOIN_HEADER.size + i * arg_size)
                        self.memset0(dst, arg_size, align8=JOIN_HEADER.size % 8 == 0 and arg_size % 8 == 0)
                        self.helper(Helper.probe_read_str, dst, ir.Constant(I64, arg_size), b.inttoptr(arg, I8P))
                        b.store(ir.Constant(I64, i + 1), count)
            self.emit_event(rec, size)

    def has_element(self, ref: ast.MapRef) -> ir.Value:
        """1 when the map has the element (has_key()), else 0: one lookup."""
        plan = self.plan.maps[ref.name]
        p = maps.lookup(self, plan, maps.build_key(self, plan, ref.keys))
        return self.b.zext(self.b.icmp_unsigned("!=", p, ir.Constant(p.type, None)), I64)

    def delete_element(self, ref: ast.MapRef) -> ir.Value:
        plan = self.plan.maps[ref.name]
        return self.helper(Helper.map_delete_elem, self.map_ptr(plan.bpf_name), maps.build_key(self, plan, ref.keys))

    def _exit_flag(self) -> ir.Value:
        """The flag exit() sets: entry EXIT_FLAG of the LOST_MAP array, as an i64* (NULL
        only for the verifier: an array's entries always exist)."""
        key = self.stack(4, "exitkey")
        self.b.store(ir.Constant(I32, EXIT_FLAG), self.b.bitcast(key, I32.as_pointer()))
        return self.b.bitcast(self.helper_ptr(Helper.map_lookup_elem, self.map_ptr(LOST_MAP), key),
                              I64.as_pointer())

    def _return_if_exited(self) -> None:
        flag = self._exit_flag()
        with self.b.if_then(self.b.icmp_unsigned("!=", flag, ir.Constant(I64.as_pointer(), None))):
            with self.b.if_then(self.b.icmp_unsigned("!=", self.b.load(flag), ir.Constant(I64, 0))):
                self.b.ret(ir.Constant(I32, self.end_code))
                self.b.position_at_end(self.func.append_basic_block("after_exited"))
        self._release_since(0)

    def emit_exit(self, code: ir.Value | None = None) -> None:
        """exit([code]): the flag holds the code plus one (bpftrace 0.26's exit(code); the
        runtime's exit status is the flag minus one, its low 8 bits)."""
        flag_value = ir.Constant(I64, 1) if code is None else \
            self.b.add(self.b.and_(code, ir.Constant(I64, 0xFF)), ir.Constant(I64, 1))
        rec = self.stack(8, "exit")
        self.b.store(ir.Constant(I64, EventId.EXIT), self.b.bitcast(rec, I64.as_pointer()))
        self.emit_event(rec, 8, control=True)
        # The flag after the record: user space that sees the flag finds the record in the
        # ring buffer, or it was lost (a full ring), and ends the trace either way.
        flag = self._exit_flag()
        with self.b.if_then(self.b.icmp_unsigned("!=", flag, ir.Constant(I64.as_pointer(), None))):
            self.b.store(flag_value, flag)
        # exit() also ends the action, as in 0.17: what follows it in the probe does not run.
        # The rest is unreachable; it goes in a block of its own, as after `return`.
        self.ret()
        self.b.position_at_end(self.func.append_basic_block("after_exit"))

    # ---- statements ----------------------------------------------------------------------
    def block(self, block: ast.Block) -> None:
        if self.chunker is not None:
            self.chunker.statements(block.stmts)
            return
        for stmt in block.stmts:
            self.stmt(stmt)

    def jump(self, kind: str) -> None:
        """break/continue: to the innermost loop, or out of a chunk whose caller has it."""
        if self._loop_targets:
            cont, done = self._loop_targets[-1]
            self.b.branch(done if kind == "break" else cont)
        else:
            self.leave(BREAK if kind == "break" else CONTINUE)

    def stmt(self, s) -> None:
        self.b.debug_metadata = self._location(s.span)
        self.span = s.span
        mark = len(self._live)
        self._stmt(s)
        self._release_since(mark)

    def _stmt(self, s) -> None:
        if isinstance(s, ast.ExprStmt):
            self.expr(s.expr)
        elif isinstance(s, ast.Assign):
            self._assign(s)
        elif isinstance(s, ast.Let):   # `let $x;`: the variable starts as 0 here
            t = self.types.get(s.var)
            if t is not None:
                self.memset0(self._var_slot(s.var.name, t), t.size)
        elif isinstance(s, ast.Unroll):
            for _ in range(s.count):
                self.block(s.body)
        elif isinstance(s, ast.While):
            self._while(s)
        elif isinstance(s, (ast.ForMap, ast.ForRange)):
            lower_for(self, s)
        elif isinstance(s, ast.Jump):
            if s.kind == "return":   # the probe ends here
                self.ret()
            else:
                self.jump(s.kind)
            # code after a jump is unreachable; it goes in a block of its own
            self.b.position_at_end(self.func.append_basic_block("after_" + s.kind))
        elif isinstance(s, ast.If):
            cond = self.truth(self.expr(s.cond))
            if s.orelse is None:
                with self.b.if_then(cond):
                    self.block(s.then)
            else:
                with self.b.if_else(cond) as (then, otherwise):
                    with then:
                        self.block(s.then)
                    with otherwise:
                        self.block(s.orelse)
        else:
            raise TypeError(s)

    def _while(self, s: ast.While) -> None:
        """A bounded loop for the verifier (5.3+) to prove: it explores every iteration."""
        check = self.func.append_basic_block("while_cond")
        body = self.func.append_basic_block("while_body")
        done = self.func.append_basic_block("while_end")
        self.b.branch(check)
        self.b.position_at_end(check)
        self.b.cbranch(self.truth(self.expr(s.cond)), body, done)
        self.b.position_at_end(body)
        self._loop_targets.append((check, done))
        self.block(s.body)
        self._loop_targets.pop()
        if not self.b.block.is_terminated:
            self.b.branch(check)
        self.b.position_at_end(done)

    def _assign(self, s: ast.Assign) -> None:
        target = s.target
        if isinstance(target, ast.MapRef):
            plan = self.plan.maps[target.name]
            if plan.agg != "none":
                call = s.value
                arg = self.expr(call.args[0]) if call.args else None
                maps.aggregate(self, plan, target.keys, arg)
            elif s.op == "=":
                maps.write_map(self, plan, target.keys, s.value)
            else:
                old = maps.read_map(self, plan, target.keys)
                new = self._compound(s.op[:-1], plan.value, old, s.value)
                maps.store_int_map(self, plan, target.keys, new)
            return
        t = self.types[target]
        slot = self._var_slot(target.name, t)
        if s.op != "=":
            p64 = self.b.bitcast(slot, I64.as_pointer())
            self.b.store(self._compound(s.op[:-1], t, self.b.load(p64), s.value), p64)
        elif is_word(t):
            self.b.store(self.expr(s.value), self.b.bitcast(slot, I64.as_pointer()))
        elif any(isinstance(n, ast.Var) and n.name == target.name for n in ast.walk(s.value)):
            # `$t = ($t.1, $t.0)`: build the new value aside, then replace the old one
            tmp = self.stack(t.size, "new")
            self.memset0(tmp, t.size)
            self.store_value(tmp, t, s.value)
            self.memcpy(slot, tmp, t.size)
        else:
            self.memset0(slot, t.size)
            self.store_value(slot, t, s.value)

    def _compound(self, op: str, t: Type, old: ir.Value, value) -> ir.Value:
        """`x OP= v` on an integer, or on a pointer moved by v elements (`+=`, `-=`)."""
        rhs = self.expr(value)
        if isinstance(t, Ptr):
            return self._arith(op, old, self.step(t, rhs), False)
        signed = t.signed and self.types[value].signed
        return self._arith(op, old, rhs, signed)

    def incdec(self, e: ast.IncDec) -> ir.Value:
        """x++ / ++x / x-- / --x: the old value (postfix) or the new one (prefix); a pointer
        steps by its pointee's size."""
        t = self.types[e]
        one = self.step(t, ir.Constant(I64, 1))
        target = e.target
        if isinstance(target, ast.MapRef):
            plan = self.plan.maps[target.name]
            old = maps.read_map(self, plan, target.keys)
            new = self.b.add(old, one) if e.op == "++" else self.b.sub(old, one)
            maps.store_int_map(self, plan, target.keys, new)
        else:
            p64 = self.b.bitcast(self._var_slot(target.name, t), I64.as_pointer())
            old = self.b.load(p64)
            new = self.b.add(old, one) if e.op == "++" else self.b.sub(old, one)
            self.b.store(new, p64)
        return new if e.prefix else old

    def _var_slot(self, name: str, t: Type) -> ir.Value:
        if name not in self._vars:  # lives as long as the probe: never reused
            self._vars[name] = self._alloca_builder.bitcast(self._new_alloca((t.size + 7) // 8, name[1:]), I8P)
        return self._vars[name]
