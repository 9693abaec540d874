"""Many syscalls:sys_enter_X / sys_exit_X tracepoints served by one raw_syscalls program.

Why: a perf event on a syscall tracepoint costs little to open, but closing it costs the kernel
a tracepoint_synchronize_unregister() (perf_trace_event_unreg, under event_mutex, so closes
cannot overlap): ~55 ms each on the development machine, 20-30 s to detach
`tracepoint:syscalls:sys_enter_*`'s 360 events (bpftrace 0.17 pays the same). The syscall
events are fired by one raw tracepoint, sys_enter (sys_exit), and their records have the
layout of raw_syscalls:sys_enter (sys_exit): the common fields, the number at 8 (`int
__syscall_nr`; raw_syscalls has `long id`), argument i at 16 + 8*i, 8 bytes whatever its type
(raw_syscalls: `unsigned long args[6]`), and `long ret` at 16 for the exits. Both are filled
from the same syscall_get_arguments(). So a program written against sys_enter_X's fields reads
the same values from raw_syscalls:sys_enter, given that it
  - runs only for the syscall numbers of the events it serves (a switch on the id, which also
    gives `probe` its target: the index into the program's probe names), and
  - skips compat (32-bit) syscalls, which the syscall events never see
    (trace_get_syscall_nr() is -1 when arch_trace_is_compat_syscall(): TS_COMPAT in current's
    thread_info.status on x86-64); x32 ids carry __X32_SYSCALL_BIT and match no case.

Programs are grouped by the layout of what the body reads: the fields of `args` it names (all
of them if it uses `args` whole), so `args->fd` is at one offset in each program. Bodies that
read `ctx` (the record's raw bytes, common_type differs) or `kstack` (the kernel stack starts in
another handler), or `args->common_type`, keep one perf event per tracepoint, as do events with
fields outside the shared layout and syscalls missing from compiler/syscall_table.py.

Only when a probe has more than MERGE_THRESHOLD syscall events of one direction: a few
attach and detach quickly anyway, and keep their own (bpftrace's) stacks and ctx.
"""

from __future__ import annotations

import dataclasses

from llvmlite import ir

from . import ast, kernel_types
from .contexts import TracepointContext
from .helpers import Helper
from .probes import ResolvedProbe
from .syscall_table import event_numbers
from .formats.tracepoints import TracepointField, TracepointFormat
from .types import KERNEL, Int
from .codegen.places import CTX, Place

MERGE_THRESHOLD = 8
_DIRECTIONS = ("sys_enter", "sys_exit")
TS_COMPAT = 0x0002   # arch/x86/include/asm/thread_info.h: a 32-bit syscall is running
_READS_RAW_RECORD = frozenset({"ctx", "kstack"})

I32 = ir.IntType(32)
I64 = ir.IntType(64)


class SyscallDispatchContext(TracepointContext):
    """sys_enter_X's (sys_exit_X's) fields, read from raw_syscalls:sys_enter (sys_exit)
    for the syscall numbers of each target."""

    def __init__(self, fmt: TracepointFormat, numbers: tuple[tuple[int, ...], ...], status_offset: int):
        super().__init__(fmt)
        self.numbers = numbers              # target i fires for these syscall numbers
        self.status_offset = status_offset  # of thread_info.status in task_struct

    def prologue(self, cg) -> None:
        b = cg.b
        syscall_id = cg.load(Place(CTX, cg.offset(cg.ctx, 8)), Int(64, True))
        skip = cg.func.append_basic_block("other_syscall")
        found = cg.func.append_basic_block("traced_syscall")
        switch = b.switch(syscall_id, skip)
        b.position_at_end(skip)
        b.ret(ir.Constant(I32, 0))
        cases = []
        for index, nrs in enumerate(self.numbers):
            block = cg.func.append_basic_block(f"syscall_{index}")
            for nr in nrs:
                switch.add_case(ir.Constant(I64, nr), block)
            b.position_at_end(block)
            b.branch(found)
            cases.append((index, block))
        b.position_at_end(found)
        target = b.phi(I64, "target")
        for index, block in cases:
            target.add_incoming(ir.Constant(I64, index), block)
        # compat syscalls number differently (i386's 3 is close, x86-64's 3 is read)
        task = cg.helper(Helper.get_current_task)
        status = cg.load(Place(KERNEL, b.add(task, ir.Constant(I64, self.status_offset))), Int(32, False))
        with b.if_then(b.icmp_unsigned("!=", b.and_(status, ir.Constant(I64, TS_COMPAT)), ir.Constant(I64, 0))):
            b.ret(ir.Constant(I32, 0))
        cg.target_index = target


def _thread_status_offset() -> int | None:
    """Offset of current->thread_info.status (x86-64 keeps thread_info in task_struct), from
    kernel BTF; None without BTF: then no dispatch (compat syscalls could not be told apart)."""
    task = kernel_types.struct_def("struct", "task_struct")
    info = kernel_types.struct_def("struct", "thread_info")
    if task is None or info is None:
        return None
    ti, status = task.member("thread_info"), info.member("status")
    if ti is None or status is None or status.type.size != 4:
        return None
    return ti.offset + status.offset


def _used_fields(probe: ast.Probe) -> frozenset[str] | None:
    """Names of the `args` fields the probe reads; None when it uses `args` whole."""
    nodes = list(ast.walk(probe.predicate)) + list(ast.walk(probe.body))
    bases = {id(n.base) for n in nodes if isinstance(n, ast.Field) and isinstance(n.base, ast.Builtin)
             and n.base.name == "args"}
    if any(isinstance(n, ast.Builtin) and n.name == "args" and id(n) not in bases for n in nodes):
        return None
    return frozenset(n.name for n in nodes if isinstance(n, ast.Field) and id(n.base) in bases)


def _reads_raw_record(probe: ast.Probe) -> bool:
    nodes = list(ast.walk(probe.predicate)) + list(ast.walk(probe.body))
    return any(isinstance(n, (ast.Builtin, ast.Call)) and n.name in _READS_RAW_RECORD for n in nodes)


def _shared_layout(direction: str, f: TracepointField) -> bool:
    """Whether raw_syscalls:<direction> has this field's bytes at its offset."""
    if f.name.startswith("common_"):
        return f.name != "common_type" and f.offset + f.size <= 8
    if f.name == "__syscall_nr":
        return f.offset == 8 and f.size == 4
    if f.data_loc or f.size != 8:
        return False
    if direction == "sys_enter":
        return 16 <= f.offset <= 56 and f.offset % 8 == 0
    return f.name == "ret" and f.offset == 16


def _direction(r: ResolvedProbe) -> str | None:
    if r.kind != "tracepoint" or r.attach.get("category") != "syscalls":
        return None
    return next((d for d in _DIRECTIONS if r.attach["name"].startswith(d + "_")), None)


def merge_syscall_tracepoints(probe: ast.Probe, rs: tuple[ResolvedProbe, ...]) -> tuple[ResolvedProbe, ...]:
    """The probe's resolved attach points, with more than MERGE_THRESHOLD syscall events of a
    direction replaced by raw_syscalls programs (one per layout group, where the first of
    the group was)."""
    by_direction: dict[str, list[ResolvedProbe]] = {}
    for r in rs:
        d = _direction(r)
        if d is not None:
            by_direction.setdefault(d, []).append(r)
    if not any(len(v) > MERGE_THRESHOLD for v in by_direction.values()) or _reads_raw_record(probe):
        return rs
    status_offset = _thread_status_offset()
    if status_offset is None:
        return rs
    used = _used_fields(probe)
    numbers = event_numbers()
    replaced: dict[int, ResolvedProbe | None] = {}   # id(original) -> its group's program, once
    for direction, candidates in by_direction.items():
        if len(candidates) <= MERGE_THRESHOLD:
            continue
        groups: dict[tuple, list[ResolvedProbe]] = {}
        for r in candidates:
            fmt: TracepointFormat = r.context.format
            event = r.attach["name"][len(direction) + 1:]
            fields = {**fmt.common, **fmt.fields}
            names = sorted(fields) if used is None else sorted(used)
            if event not in numbers or not all(n in fields and _shared_layout(direction, fields[n]) for n in names):
                continue
            key = tuple((n, fields[n]) for n in names)
            groups.setdefault(key, []).append(r)
        for members in groups.values():
            first = members[0]
            merged = ResolvedProbe(
                "tracepoint", f"tracepoint:raw_syscalls:{direction}", f"tracepoint/raw_syscalls/{direction}",
                f"raw_syscalls:{direction}", {"category": "raw_syscalls", "name": direction},
                tuple(name for m in members for name in m.probe_names), (),
                SyscallDispatchContext(first.context.format,
                                       tuple(numbers[m.attach["name"][len(direction) + 1:]] for m in members),
                                       status_offset),
                optional=any(m.optional for m in members))
            replaced[id(first)] = merged
            for m in members[1:]:
                replaced[id(m)] = None
    out = []
    for r in rs:
        if id(r) not in replaced:
            out.append(r)
        elif replaced[id(r)] is not None:
            out.append(replaced[id(r)])
    return tuple(out)
