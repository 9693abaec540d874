"""Helpers only some kernel probes may call: override(rc) and path(p).

override(rc) makes the probed kernel function return rc without running it
(bpf_override_return): kprobes only, with --unsafe, and the kernel allows it only for functions
on its error-injection list (ALLOW_ERROR_INJECTION, /sys/kernel/debug/error_injection/list) in
a kernel built with CONFIG_BPF_KPROBE_OVERRIDE; the attach or the load fails otherwise.

path(p) is the full path of a `struct path` (bpf_d_path): kfunc/kretfunc only, and the kernel
allows the helper only in functions of its d_path allow-list (kernel/trace/bpf_trace.c
btf_allowlist_d_path: filp_close, vfs_truncate, vfs_fallocate, dentry_open, vfs_getattr,
security_file_open, ...); elsewhere its verifier refuses the program.

Which probe kinds may call these is their record's business (compiler/probes.py `allows`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast, probes
from ..helpers import Helper
from ..types import KERNEL, Int, Ptr, Record, Str, Type, Void
from .records import Function, I64

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker


# The errors are bpftrace 0.17's words (its semantic analyser), which wrappers may test for.

def _argument(checker: "Checker", call: ast.Call, refusal: str) -> tuple[bool, Type | None]:
    """(whether to go on, the argument's type): one argument, in a probe kind that allows
    the call (else `refusal`)."""
    n = len(call.args)
    if n != 1:
        checker.sink.error(call.span, f"{call.name}() requires at least one argument (0 provided)" if n == 0
                           else f"{call.name}() takes up to one argument ({n} provided)")
        return False, None
    t = checker.check(call.args[0])
    if not probes.allows(checker.current_probe.kind, call.name):
        checker.sink.error(call.span, refusal)
        return False, None
    return True, t


def kind_name(t: Type) -> str:
    """A type as 0.17 names it in these messages (its Type enum: integer, string, ...)."""
    return {Int: "integer", Str: "string", Ptr: "pointer", Record: "record"}.get(type(t), str(t))


def _check_override(checker: "Checker", call: ast.Call) -> Type | None:
    ok, t = _argument(checker, call, "override can only be used with kprobes.")
    if not ok:
        return None
    if not checker.options.unsafe:
        checker.sink.error(call.span, "override() is an unsafe function being used in safe mode",
                           "it makes a kernel function fail: run kt with --unsafe")
        return None
    if t is not None and not isinstance(t, Int):
        checker.sink.error(call.span, f"override() only supports integer arguments ({kind_name(t)} provided)")
        return None
    return Void()


def _lower_override(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.helper(Helper.override_return, cg.ctx, cg.expr(call.args[0]))
    return None


def _check_path(checker: "Checker", call: ast.Call) -> Type | None:
    ok, t = _argument(checker, call, "The path function can only be used with 'kfunc', 'kretfunc', 'iter' probes")
    if not ok or t is None:
        return None
    # A `struct path` member is passed by its address (`path(args->filp->f_path)`, as in
    # bpftrace's docs), a pointer as it is; the verifier checks it is a struct path in BTF.
    if not (isinstance(t, Ptr) and t.space == KERNEL) and not (isinstance(t, Record) and t.space == KERNEL):
        checker.sink.error(call.span, f"path() only supports pointer or record argument ({kind_name(t)} provided)")
        return None
    return Str(checker.options.strlen)


def _lower_path(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    arg = call.args[0]
    size = cg.types[call].size
    addr = cg.place(arg).addr if isinstance(cg.types[arg], Record) else cg.expr(arg)
    out = cg.stack(size, "path")
    cg.memset0(out, size)
    cg.helper(Helper.d_path, cg.b.inttoptr(addr, out.type), out, ir.Constant(I64, size))
    return out


FUNCTIONS = (
    Function("override", "make the probed kernel function return rc at once (kprobe, --unsafe): "
             "override(rc)", _check_override, _lower_override),
    Function("path", "the full path of a struct path (kfunc/kretfunc, bpf_d_path): path(p)",
             _check_path, _lower_path),
)
