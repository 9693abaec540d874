"""iter: probes: BPF iterators (BPF_TRACE_ITER programs), as in bpftrace 0.17.

An iterator program runs once per kernel object (iter:task once per task, iter:task_file once
per open file of every task) when user space reads the iterator; its context is the kernel's
`struct bpf_iter__NAME` (`ctx->task`, `ctx->file`, `ctx->fd`), typed from the kernel's BTF.
The program is loaded against the kernel function `bpf_iter_NAME` (section `iter/NAME`, see
runtime/loader.py); runtime/attach/iter.py links it and reads it after BEGIN, and the trace
then ends as a BEGIN-only one does (0.17 runs the iterator once and exits).
"""

from __future__ import annotations

import re

from . import ast
from llvmlite import ir

from .contexts import ProbeContext
from .diagnostics import DiagnosticSink, did_you_mean
from .formats.probe_kinds import ITERATORS  # the iterators 0.17 knows
from .types import KERNEL, Ptr, Record, Void


class IterContext(ProbeContext):
    """`ctx` is a `struct bpf_iter__NAME *` (kernel memory); no arguments, no return value."""

    kind = "iter"

    def __init__(self, name: str) -> None:
        self.struct_name = f"bpf_iter__{name}"

    def prologue(self, cg) -> None:
        # The kernel calls the program once more when the walk ends, with NULL objects
        # (bpf_iter's in_stop call); 0.17 skips it, and so does kt: ctx->task (after meta) is
        # NULL then. (0.17 tests every member, so it also skips task_file's fd 0: kt does not.)
        task = cg.ctx_u64(8)
        with cg.b.if_then(cg.b.icmp_unsigned("==", task, ir.Constant(ir.IntType(64), 0))):
            cg.b.ret(ir.Constant(ir.IntType(32), 0))

    def ctx_type(self, checker):
        struct = checker.scope.struct("struct", self.struct_name)
        return Ptr(Record(struct, KERNEL) if struct is not None else Void(), KERNEL)


def iter_target(ap: ast.AttachPoint, env, sink: DiagnosticSink) -> str | None:
    """The iterator's name, or None after reporting what is wrong (0.17's words)."""
    parts = [p for p in ap.parts if p]
    if len(parts) == 2 and parts[0] in ITERATORS:
        sink.error(ap.span, "pinning an iterator to a file (iter:NAME:PIN) is "
                   "not supported: kt leaves nothing pinned behind", f"write iter:{parts[0]}")
        return None
    if len(parts) != 1:
        sink.error(ap.span, "iter should specify a iterator's name")
        return None
    name = parts[0]
    if re.search(r"[*?\[]", name):
        sink.error(ap.span, "iter probe type does not support wildcards",
                   f"iterators: {', '.join(ITERATORS)}")
        return None
    if name not in ITERATORS:
        sink.error(ap.span, f"unknown iterator 'iter:{name}'",
                   did_you_mean(name, ITERATORS) or f"kt has {', '.join('iter:' + i for i in ITERATORS)}")
        return None
    return name
