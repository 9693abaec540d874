"""Builtin variables: who is running (pid, comm, ...), when (nsecs, elapsed), where (cpu) and
what the probe sees (argN, retval, args: asked of the probe's context, compiler/contexts.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast, kernel_types
from ..helpers import Helper
from ..objects import RUNTIME_VALUES
from ..types import KERNEL, Ptr, Record, Str, Sym, Type, U64
from .records import BuiltinVar, I64, fixed

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker


def _pid_tgid(cg: "ProbeCodegen") -> ir.Value:
    return cg.current_task_word(Helper.get_current_pid_tgid)


def _uid_gid(cg: "ProbeCodegen") -> ir.Value:
    return cg.current_task_word(Helper.get_current_uid_gid)


@kernel_types.btf_cached
def _task_comm_offset() -> int | None:
    """Where `char comm[16]` lies in the kernel's task_struct (its BTF); None without BTF."""
    try:
        b = kernel_types.btf()
        f = b.field(b.struct("task_struct").id, "comm")
    except (OSError, ValueError, LookupError):
        return None
    return f.offset if not f.bitfield_size else None


def _lower_comm(cg: "ProbeCodegen", node) -> ir.Value:
    """The task's comm: two 8-byte loads through bpf_get_current_task_btf() (a BTF pointer,
    which the verifier lets programs read directly) instead of bpf_get_current_comm(), which
    costs a call and a strscpy; the kernel keeps comm NUL-padded (__set_task_comm uses
    strscpy_pad), so the bytes are the helper's. Without kernel BTF, the helper."""
    buf = cg.stack(16, "comm")
    off = _task_comm_offset()
    if off is None:
        cg.memset0(buf, 16)
        cg.helper(Helper.get_current_comm, buf, ir.Constant(I64, 16))
        return buf
    task = cg.helper_ptr(Helper.get_current_task_btf)
    for i in (0, 8):
        word = cg.b.load(cg.b.bitcast(cg.offset(task, off + i), I64.as_pointer()))
        cg.b.store(word, cg.b.bitcast(cg.offset(buf, i), I64.as_pointer()))
    return buf


def _args_type(checker: "Checker", node: ast.Builtin) -> Type | None:
    return checker.current_probe.context.args_type(checker, node)


def _lower_args(cg: "ProbeCodegen", node) -> ir.Value:
    return cg.ctx


def _arg_type(index: int):
    def type_rule(checker: "Checker", node: ast.Builtin) -> Type | None:
        return checker.current_probe.context.arg_type(checker, node, index)
    return type_rule


def _lower_arg(index: int):
    def lower(cg: "ProbeCodegen", node) -> ir.Value:
        return cg.resolved.context.lower_arg(cg, index)
    return lower


def _retval_type(checker: "Checker", node: ast.Builtin) -> Type | None:
    return checker.current_probe.context.retval_type(checker, node)


def _lower_retval(cg: "ProbeCodegen", node) -> ir.Value:
    return cg.resolved.context.lower_retval(cg)


def _name_index_type(what: str):
    def type_rule(checker: "Checker", node: ast.Builtin) -> Type | None:
        probe = checker.current_probe
        if what == "func" and not probe.func_names:
            checker.sink.error(node.span, f"'func' is not available in {probe.name}",
                               "func names the traced function of a kprobe, uprobe or kfunc")
            return None
        return Sym(what)
    return type_rule


def _lower_name_index(cg: "ProbeCodegen", node) -> ir.Value:
    # Index into .kt.meta's probe_names/func_names: this program's first target plus the
    # attach cookie when the program serves several targets (a wildcard).
    base = ir.Constant(I64, cg.probe_base)
    if cg.target_index is not None:   # the context knows (a syscall dispatch's switch)
        return cg.b.add(base, cg.target_index)
    if not cg.resolved.multi:
        return base
    return cg.b.add(base, cg.helper(Helper.get_attach_cookie, cg.ctx))


def _curtask_type(checker: "Checker", node: ast.Builtin) -> Type:
    """`struct task_struct *` (the script's own task_struct if it defines one, as in bpftrace),
    an address where the kernel has no BTF."""
    task = checker.scope.struct("struct", "task_struct")
    return Ptr(Record(task, KERNEL), KERNEL) if task is not None else U64


def _ctx_type(checker: "Checker", node: ast.Builtin) -> Type:
    return checker.current_probe.context.ctx_type(checker)


def _lower_ctx(cg: "ProbeCodegen", node) -> ir.Value:
    return cg.b.ptrtoint(cg.ctx, I64)


def _runtime_value(cg: "ProbeCodegen", builtin: str) -> ir.Value:
    """A value the runtime writes into `.rodata` before attaching (objects.RUNTIME_VALUES),
    so that the object does not depend on the run: a volatile load LLVM keeps."""
    return cg.runtime_value(RUNTIME_VALUES[builtin])


def _lower_elapsed(cg: "ProbeCodegen", node) -> ir.Value:
    now = cg.helper(Helper.ktime_get_ns)
    return cg.b.sub(now, _runtime_value(cg, "elapsed"))


VARIABLES = (
    BuiltinVar("pid", "process id (thread group id) of the current task", fixed(U64),
               lambda cg, n: cg.b.lshr(_pid_tgid(cg), ir.Constant(I64, 32))),
    BuiltinVar("tid", "thread id of the current task", fixed(U64),
               lambda cg, n: cg.b.and_(_pid_tgid(cg), ir.Constant(I64, 0xFFFFFFFF))),
    BuiltinVar("uid", "user id of the current task", fixed(U64),
               lambda cg, n: cg.b.and_(_uid_gid(cg), ir.Constant(I64, 0xFFFFFFFF))),
    BuiltinVar("gid", "group id of the current task", fixed(U64),
               lambda cg, n: cg.b.lshr(_uid_gid(cg), ir.Constant(I64, 32))),
    BuiltinVar("comm", "name of the current task (16 bytes)", fixed(Str(16)), _lower_comm),
    BuiltinVar("nsecs", "nanoseconds since boot (CLOCK_MONOTONIC)", fixed(U64),
               lambda cg, n: cg.helper(Helper.ktime_get_ns)),
    BuiltinVar("elapsed", "nanoseconds since kt started", fixed(U64), _lower_elapsed),
    BuiltinVar("cpu", "the CPU the probe runs on", fixed(U64),
               lambda cg, n: cg.helper(Helper.get_smp_processor_id)),
    BuiltinVar("rand", "a pseudo-random 32-bit number", fixed(U64),
               lambda cg, n: cg.helper(Helper.get_prandom_u32)),
    BuiltinVar("cgroup", "the current task's cgroup v2 id", fixed(U64),
               lambda cg, n: cg.helper(Helper.get_current_cgroup_id)),
    BuiltinVar("curtask", "the current task: a struct task_struct *", _curtask_type,
               lambda cg, n: cg.helper(Helper.get_current_task)),
    BuiltinVar("ctx", "the probe's context: struct pt_regs * in kprobes and uprobes", _ctx_type, _lower_ctx),
    BuiltinVar("cpid", "pid of the child started with -c (0 without -c)", fixed(U64),
               lambda cg, n: _runtime_value(cg, "cpid")),
    BuiltinVar("args", "the tracepoint's record or the kfunc's arguments: args->field or args.field",
               _args_type, _lower_args),
    *(BuiltinVar(f"arg{i}", f"argument {i} of the probed function (kprobe, uprobe, rawtracepoint, kfunc)",
                 _arg_type(i), _lower_arg(i)) for i in range(6)),
    BuiltinVar("retval", "the return value (kretprobe, uretprobe, kretfunc)", _retval_type, _lower_retval),
    BuiltinVar("func", "the traced function's name", _name_index_type("func"), _lower_name_index),
    BuiltinVar("probe", "the probe's full name", _name_index_type("probe"), _lower_name_index),
)
