"""Lowering of one probe (one resolved attach point) to one BPF program function.

Values: an integer expression lowers to an i64; a string expression lowers to a pointer to a
stack buffer of its type's size. Every stack slot is an alloca in the entry block (LLVM's BPF
backend rejects dynamic stack allocation), 8-byte aligned.
"""

from __future__ import annotations

from llvmlite import ir

from .. import ast, kernel_types
from ..builtins import BUILTIN_VARS, FUNCTIONS
from ..helpers import Helper
from ..options import CompileOptions
from ..events import JOIN_HEADER, MAP_EVENTS, EventId
from ..objects import EVENTS_MAP, LOST_MAP, SCRATCH_MAP, STACK_RECORD_MAX
from ..passes.resources import ResourcePlan
from ..passes.semantic import Semantics, positional_value
from ..probes import ResolvedProbe
from ..types import Int, Ptr, Record, Str, Type, is_word
from . import maps

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
I8P = I8.as_pointer()


class _VolatileLoad(ir.LoadInstr):
    """`load volatile`, which llvmlite's builder does not offer."""

    def descr(self, buf):
        [ptr] = self.operands
        buf.append(f"load volatile {self.type}, {ptr.type} {ptr.get_reference()}"
                   f"{self._stringify_metadata(leading_comma=True)}\n")


class ProbeCodegen:
    def __init__(self, module: ir.Module, func: ir.Function, probe: ast.Probe, resolved: ResolvedProbe,
                 sema: Semantics, plan: ResourcePlan, options: CompileOptions,
                 map_globals: dict[str, ir.GlobalVariable], intrinsics: dict[str, ir.Function],
                 location=None, probe_base: int = 0):
        self.module = module
        self.func = func
        self.probe = probe
        self.resolved = resolved
        self.types = sema.types
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
        # span -> DILocation: instructions carry the line of the statement they come from, so
        # BTF line info (and the verifier's log) can name the kt line.
        self._location = location or (lambda span: None)
        self._vars: dict[str, ir.Value] = {}
        self._loop_targets: list[tuple[ir.Block, ir.Block]] = []   # (continue, break) of each loop
        self.stack_bytes = 0                                # buffers on the BPF stack, estimated
        self._live: list[tuple[int, ir.Value]] = []        # temporaries of unfinished statements
        self._free: dict[int, list[ir.Value]] = {}          # reusable temporaries by size

    # ---- the program ---------------------------------------------------------------------
    def generate(self) -> None:
        self.b.debug_metadata = self._location(self.probe.span)
        self._alloca_builder.debug_metadata = self.b.debug_metadata
        if self.probe.predicate is not None:
            self.b.debug_metadata = self._location(self.probe.predicate.span)
            cond = self.truth(self.expr(self.probe.predicate))
            self._release_since(0)
            with self.b.if_then(self.b.not_(cond)):
                self.b.ret(ir.Constant(I32, 0))
        self.block(self.probe.body)
        self.b.debug_metadata = self._location(self.probe.body.span)
        self.b.ret(ir.Constant(I32, 0))
        self._alloca_builder.branch(self.func.blocks[1])

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

    def memset0(self, ptr: ir.Value, size: int) -> None:
        self.b.call(self._intr["memset"], [ptr, ir.Constant(I8, 0), ir.Constant(I64, size), ir.Constant(I1, 0)])

    def memcpy(self, dst: ir.Value, src: ir.Value, size: int) -> None:
        if size > 0:
            self.b.call(self._intr["memcpy"], [dst, src, ir.Constant(I64, size), ir.Constant(I1, 0)])

    def offset(self, ptr: ir.Value, off: int) -> ir.Value:
        return self.b.gep(ptr, [ir.Constant(I64, off)]) if off else ptr

    def map_ptr(self, bpf_name: str) -> ir.Value:
        return self.b.bitcast(self._maps[bpf_name], I8P)

    def _call_helper(self, helper: Helper, ret: ir.Type, args) -> ir.Value:
        vals = [a if isinstance(a.type, ir.PointerType) or a.type == I64 else self.b.zext(a, I64) for a in args]
        fnty = ir.FunctionType(ret, [v.type for v in vals])
        fn = self.b.inttoptr(ir.Constant(I64, int(helper)), fnty.as_pointer())
        return self.b.call(fn, vals)

    def helper(self, helper: Helper, *args: ir.Value) -> ir.Value:
        return self._call_helper(helper, I64, args)

    def helper_ptr(self, helper: Helper, *args: ir.Value) -> ir.Value:
        return self._call_helper(helper, I8P, args)

    def ctx_u64(self, offset: int) -> ir.Value:
        """The u64 at a byte offset of the context (a pt_regs slot, a u64 argument).

        Volatile: the verifier only accepts context loads at constant offsets, and LLVM would
        otherwise merge loads from two branches into one load at a selected offset
        ("dereference of modified ctx ptr")."""
        load = _VolatileLoad(self.b.block, self.b.bitcast(self.offset(self.ctx, offset), I64.as_pointer()))
        self.b._insert(load)
        return load

    def truth(self, v: ir.Value) -> ir.Value:
        return self.b.icmp_unsigned("!=", v, ir.Constant(I64, 0))

    def store_value(self, dst: ir.Value, t: Type, e) -> None:
        """Store expression e, converted to type t, at dst (a zeroed buffer of t.size)."""
        if isinstance(e, ast.Call) and e.name == "str" and isinstance(self.types.get(e.args[0]), Int):
            # Read the string straight into its destination: no second buffer on the stack.
            size = min(self.types[e].size, t.size)
            self.helper(Helper.probe_read_str, dst, ir.Constant(I64, size), self.expr(e.args[0]))
            return
        v = self.expr(e)
        if is_word(t):
            self.b.store(v, self.b.bitcast(dst, I64.as_pointer()))
        else:
            self.memcpy(dst, v, min(self.types[e].size, t.size))

    # ---- events --------------------------------------------------------------------------
    def emit_event(self, record: ir.Value, size: int) -> None:
        ret = self.helper(Helper.ringbuf_output, self.map_ptr(EVENTS_MAP), record,
                          ir.Constant(I64, size), ir.Constant(I64, 0))
        failed = self.b.icmp_unsigned("!=", ret, ir.Constant(I64, 0))
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
            key = self.stack(4, "zero")
            self.b.store(ir.Constant(I32, 0), self.b.bitcast(key, I32.as_pointer()))
            rec = self.helper_ptr(Helper.map_lookup_elem, self.map_ptr(SCRATCH_MAP), key)
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

    def emit_map_event(self, action: str, map_name: str, *extra: int) -> None:
        """{u64 id; u64 map index; u64 extra...}: user space acts on the map in event order."""
        self.emit_words(MAP_EVENTS[action], self.plan.map_index(map_name), *extra)

    def emit_words(self, *words: int) -> None:
        """An event record of constant u64 words (the first is the event id)."""
        rec = self.stack(8 * len(words), "event")
        rec64 = self.b.bitcast(rec, I64.as_pointer())
        for i, w in enumerate(words):
            self.b.store(ir.Constant(I64, w), self.b.gep(rec64, [ir.Constant(I32, i)]))
        self.emit_event(rec, 8 * len(words))

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
                        self.memset0(dst, arg_size)
                        self.helper(Helper.probe_read_str, dst, ir.Constant(I64, arg_size), b.inttoptr(arg, I8P))
                        b.store(ir.Constant(I64, i + 1), count)
            self.emit_event(rec, size)

    def delete_element(self, ref: ast.MapRef) -> None:
        plan = self.plan.maps[ref.name]
        self.helper(Helper.map_delete_elem, self.map_ptr(plan.bpf_name), maps.build_key(self, plan, ref.keys))

    def emit_exit(self) -> None:
        rec = self.stack(8, "exit")
        self.b.store(ir.Constant(I64, EventId.EXIT), self.b.bitcast(rec, I64.as_pointer()))
        self.emit_event(rec, 8)

    # ---- statements ----------------------------------------------------------------------
    def block(self, block: ast.Block) -> None:
        for stmt in block.stmts:
            self.stmt(stmt)

    def stmt(self, s) -> None:
        self.b.debug_metadata = self._location(s.span)
        mark = len(self._live)
        self._stmt(s)
        self._release_since(mark)

    def _stmt(self, s) -> None:
        if isinstance(s, ast.ExprStmt):
            self.expr(s.expr)
        elif isinstance(s, ast.Assign):
            self._assign(s)
        elif isinstance(s, ast.IncDec):
            one = ast.IntLit(s.span, 1)
            self._assign(ast.Assign(s.span, s.target, "+=" if s.op == "++" else "-=", one), synthetic_value=True)
        elif isinstance(s, ast.Unroll):
            for _ in range(s.count):
                self.block(s.body)
        elif isinstance(s, ast.While):
            self._while(s)
        elif isinstance(s, ast.Jump):
            cont, done = self._loop_targets[-1]
            self.b.branch(done if s.kind == "break" else cont)
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

    def _assign(self, s: ast.Assign, synthetic_value: bool = False) -> None:
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
                rhs = ir.Constant(I64, s.value.value) if synthetic_value else self.expr(s.value)
                maps.store_int_map(self, plan, target.keys, self._arith(s.op[:-1], old, rhs, plan.value.signed))
            return
        t = self.types.get(target) or self.types[s.value]
        slot = self._var_slot(target.name, t)
        if s.op == "=":
            if is_word(t):
                self.b.store(self.expr(s.value), self.b.bitcast(slot, I64.as_pointer()))
            else:
                self.memset0(slot, t.size)
                self.memcpy(slot, self.expr(s.value), self.types[s.value].size)
            return
        p64 = self.b.bitcast(slot, I64.as_pointer())
        rhs = ir.Constant(I64, s.value.value) if synthetic_value else self.expr(s.value)
        self.b.store(self._arith(s.op[:-1], self.b.load(p64), rhs, t.signed), p64)

    def _var_slot(self, name: str, t: Type) -> ir.Value:
        if name not in self._vars:  # lives as long as the probe: never reused
            self._vars[name] = self._alloca_builder.bitcast(self._new_alloca((t.size + 7) // 8, name[1:]), I8P)
        return self._vars[name]

    # ---- expressions ---------------------------------------------------------------------
    def expr(self, e) -> ir.Value:
        if isinstance(e, ast.IntLit):
            return ir.Constant(I64, e.value & 0xFFFFFFFFFFFFFFFF)
        if isinstance(e, ast.StrLit):
            return self.const_str(e.value)
        if isinstance(e, ast.Positional):
            v = positional_value(self.options, e)
            return ir.Constant(I64, v & 0xFFFFFFFFFFFFFFFF) if isinstance(v, int) else self.const_str(v)
        if isinstance(e, ast.Builtin):
            if e.name not in BUILTIN_VARS:   # a kernel enumerator
                return ir.Constant(I64, kernel_types.constant(e.name) & 0xFFFFFFFFFFFFFFFF)
            return BUILTIN_VARS[e.name].lower(self, e)
        if isinstance(e, ast.Var):
            t = self.types[e]
            slot = self._vars[e.name]
            return self.b.load(self.b.bitcast(slot, I64.as_pointer())) if is_word(t) else slot
        if isinstance(e, ast.MapRef):
            return maps.read_map(self, self.plan.maps[e.name], e.keys)
        if isinstance(e, ast.Call):
            return FUNCTIONS[e.name].lower(self, e)
        if isinstance(e, ast.Field):
            return self._field(e)
        if isinstance(e, ast.Unary):
            v = self.expr(e.operand)
            if e.op == "!":
                return self.b.zext(self.b.icmp_unsigned("==", v, ir.Constant(I64, 0)), I64)
            if e.op == "-":
                return self.b.neg(v)
            if e.op == "*":
                slot = self.stack(8, "deref")
                self.memset0(slot, 8)
                self.helper(Helper.probe_read_kernel, slot, ir.Constant(I64, 8), self.b.inttoptr(v, I8P))
                return self.b.load(self.b.bitcast(slot, I64.as_pointer()))
            return self.b.not_(v)
        if isinstance(e, ast.Binary):
            return self._binary(e)
        if isinstance(e, ast.Conditional):
            return self._conditional(e)
        if isinstance(e, ast.StructCast):
            return self.expr(e.operand)
        if isinstance(e, ast.Cast):
            bits = int(e.type_name.lstrip("uint"))
            v = self.expr(e.operand)
            if bits == 64:
                return v
            narrow = self.b.trunc(v, ir.IntType(bits))
            return self.b.zext(narrow, I64) if e.type_name.startswith("u") else self.b.sext(narrow, I64)
        raise TypeError(e)

    def _conditional(self, e: ast.Conditional) -> ir.Value:
        """Only the chosen branch runs (it may read memory or call helpers)."""
        t = self.types[e]
        cond = self.truth(self.expr(e.cond))
        if is_word(t):
            slot = self.b.bitcast(self.stack(8, "cond"), I64.as_pointer())
            with self.b.if_else(cond) as (then, otherwise):
                with then:
                    self.b.store(self.expr(e.then), slot)
                with otherwise:
                    self.b.store(self.expr(e.orelse), slot)
            return self.b.load(slot)
        buf = self.stack(t.size, "cond")
        self.memset0(buf, t.size)
        with self.b.if_else(cond) as (then, otherwise):
            with then:
                self.memcpy(buf, self.expr(e.then), self.types[e.then].size)
            with otherwise:
                self.memcpy(buf, self.expr(e.orelse), self.types[e.orelse].size)
        return buf

    def const_str(self, data: bytes) -> ir.Value:
        size = len(data) + 1
        buf = self.stack(size, "strlit")
        arr_t = ir.ArrayType(I8, size)
        self.b.store(ir.Constant(arr_t, bytearray(data + b"\0")), self.b.bitcast(buf, arr_t.as_pointer()))
        return buf

    def _field(self, e: ast.Field) -> ir.Value:
        base_t = self.types[e.base]
        if isinstance(base_t, (Ptr, Record)):
            return self._kernel_member(e, base_t)
        return self.resolved.context.lower_field(self, e)

    def _kernel_member(self, e: ast.Field, base_t) -> ir.Value:
        """p->member: kernel memory is read with bpf_probe_read_kernel (it may fault)."""
        acc = kernel_types.member_access(base_t, e.name)
        addr = self.b.add(self.expr(e.base), ir.Constant(I64, acc.offset))
        if isinstance(acc.type, Record):
            return addr
        ptr = self.b.inttoptr(addr, I8P)
        if isinstance(acc.type, Str):
            buf = self.stack(acc.size, e.name)
            self.memset0(buf, acc.size)
            self.helper(Helper.probe_read_kernel, buf, ir.Constant(I64, acc.size), ptr)
            return buf
        slot = self.stack(8, e.name)
        self.memset0(slot, 8)
        self.helper(Helper.probe_read_kernel, slot, ir.Constant(I64, acc.size), ptr)
        raw = self.b.load(self.b.bitcast(slot, ir.IntType(acc.size * 8).as_pointer()))
        if acc.size == 8:
            return raw
        signed = isinstance(acc.type, Int) and acc.type.signed
        return self.b.sext(raw, I64) if signed else self.b.zext(raw, I64)

    def _binary(self, e: ast.Binary) -> ir.Value:
        lt, rt = self.types[e.lhs], self.types[e.rhs]
        if isinstance(lt, Str):
            eq = self._str_equal(self.expr(e.lhs), lt.size, self.expr(e.rhs), rt.size)
            return eq if e.op == "==" else self.b.xor(eq, ir.Constant(I64, 1))
        if e.op in ("&&", "||"):
            return self._logical(e)
        lhs, rhs = self.expr(e.lhs), self.expr(e.rhs)
        signed = lt.signed and rt.signed
        if e.op in ("==", "!=", "<", ">", "<=", ">="):
            cmp = self.b.icmp_signed if signed else self.b.icmp_unsigned
            return self.b.zext(cmp(e.op, lhs, rhs), I64)
        return self._arith(e.op, lhs, rhs, signed)

    def _arith(self, op: str, lhs: ir.Value, rhs: ir.Value, signed: bool) -> ir.Value:
        b = self.b
        simple = {"+": b.add, "-": b.sub, "*": b.mul, "&": b.and_, "|": b.or_, "^": b.xor, "<<": b.shl}
        if op in simple:
            return simple[op](lhs, rhs)
        if op == ">>":
            return b.ashr(lhs, rhs) if signed else b.lshr(lhs, rhs)
        if op in ("/", "%"):
            # BPF's division is unsigned (signed division needs cpu v4); a zero divisor gives 0
            # in BPF, and we keep that instead of trapping.
            if signed:
                return self._signed_divmod(op, lhs, rhs)
            return b.udiv(lhs, rhs) if op == "/" else b.urem(lhs, rhs)
        raise ValueError(op)

    def _signed_divmod(self, op: str, lhs: ir.Value, rhs: ir.Value) -> ir.Value:
        b = self.b
        zero = ir.Constant(I64, 0)
        lneg = b.icmp_signed("<", lhs, zero)
        rneg = b.icmp_signed("<", rhs, zero)
        la = b.select(lneg, b.neg(lhs), lhs)
        ra = b.select(rneg, b.neg(rhs), rhs)
        if op == "/":
            q = b.udiv(la, ra)
            return b.select(b.xor(lneg, rneg), b.neg(q), q)
        r = b.urem(la, ra)
        return b.select(lneg, b.neg(r), r)

    def _logical(self, e: ast.Binary) -> ir.Value:
        slot = self.stack(8, "logic")
        p = self.b.bitcast(slot, I64.as_pointer())
        lhs = self.truth(self.expr(e.lhs))
        short_value = 1 if e.op == "||" else 0
        self.b.store(ir.Constant(I64, short_value), p)
        go_on = lhs if e.op == "&&" else self.b.not_(lhs)
        with self.b.if_then(go_on):
            self.b.store(self.b.zext(self.truth(self.expr(e.rhs)), I64), p)
        return self.b.load(p)

    def _str_equal(self, a: ir.Value, asize: int, c: ir.Value, csize: int) -> ir.Value:
        """1 when the strings are equal up to their first NUL (or their ends), else 0."""
        b = self.b
        n = min(asize, csize)
        if asize == csize:
            acc = ir.Constant(I1, 1)
        else:  # past the shorter buffer, the longer string must end too
            longer = a if asize > csize else c
            acc = b.icmp_unsigned("==", b.load(self.offset(longer, n)), ir.Constant(I8, 0))
        for i in reversed(range(n)):
            x = b.load(self.offset(a, i))
            y = b.load(self.offset(c, i))
            ended = b.icmp_unsigned("==", x, ir.Constant(I8, 0))
            acc = b.select(b.icmp_unsigned("==", x, y), b.select(ended, ir.Constant(I1, 1), acc), ir.Constant(I1, 0))
        return b.zext(acc, I64)
