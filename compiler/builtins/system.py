"""bpftrace 0.20-0.25's builtins about the machine and the task: nsecs(clock), jiffies, ncpus,
ppid, pcomm, usermode and probetype.

ppid and pcomm read the current task's parent and group leader through
bpf_get_current_task_btf() (a BTF pointer the verifier lets programs load from, as `comm`
does), at the offsets of the kernel's BTF; ncpus is a `.rodata` value the runtime writes (the
machine that runs the object, not the one that compiled it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast, kernel_types
from ..contexts import RegsContext
from ..helpers import Helper
from ..objects import RUNTIME_VALUES
from ..types import S64, Str, Type, U64
from .records import BuiltinVar, Function, I64, check_arity

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker

I32 = ir.IntType(32)

# nsecs(CLOCK): the clock's helper (bpftrace 0.25). Without a clock nsecs stays monotonic, as
# in 0.17 (0.26's docs say boot: see docs/language.md).
CLOCKS = {"monotonic": Helper.ktime_get_ns, "boot": Helper.ktime_get_boot_ns, "tai": Helper.ktime_get_tai_ns}

# probetype's names: bpftrace 0.26's (BEGIN and END are "special"; kfunc is fentry there).
_PROBE_TYPES = {"begin": "special", "end": "special", "kfunc": "fentry", "kretfunc": "fexit"}
PROBETYPE_SIZE = 16   # every probe's value has one type, whatever the probe (an attach list)

# x86-64 struct pt_regs: cs is its 18th u64 (arch/x86/include/asm/ptrace.h)
_PT_REGS_CS = 17 * 8


def _check_nsecs(checker: "Checker", call: ast.Call) -> Type | None:
    if not check_arity(checker, call, 0, 1):
        return None
    if call.args:
        clock = call.args[0]
        name = clock.name if isinstance(clock, ast.Builtin) else None
        if name == "sw_tai":
            checker.sink.error(clock.span, "nsecs(sw_tai) (bpftrace 0.25) is not supported: kt reads CLOCK_TAI "
                               "directly", "write nsecs(tai) (kernels 6.1+)")
            return None
        if name not in CLOCKS:
            checker.sink.error(clock.span, "nsecs() takes a clock: monotonic, boot or tai")
            return None
    return U64


def _lower_nsecs(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return cg.helper(CLOCKS[call.args[0].name] if call.args else Helper.ktime_get_ns)


@kernel_types.btf_cached
def _task_offsets() -> dict[str, int] | None:
    """Offsets in the kernel's task_struct (its BTF): real_parent, group_leader, tgid, comm;
    None without BTF."""
    try:
        b = kernel_types.btf()
        task = b.struct("task_struct").id
        fields = {name: b.field(task, name) for name in ("real_parent", "group_leader", "tgid", "comm")}
    except (OSError, ValueError, LookupError):
        return None
    if any(f.bitfield_size for f in fields.values()):
        return None
    return {name: f.offset for name, f in fields.items()}


def _task_type(result: Type):
    def type_rule(checker: "Checker", node) -> Type | None:
        if isinstance(node, ast.Call):
            checker.sink.error(node.span, f"{node.name}(task) (bpftrace 0.25) is not supported",
                               f"write {node.name} for the current task, or task->"
                               + ("real_parent->tgid" if node.name == "ppid" else "group_leader->comm"))
            return None
        if _task_offsets() is None:
            checker.sink.error(node.span, f"{node.name} needs the kernel's BTF for struct task_struct, and this "
                               "kernel has none (/sys/kernel/btf/vmlinux: CONFIG_DEBUG_INFO_BTF)")
            return None
        return result
    return type_rule


def _related_task(cg: "ProbeCodegen", member: str) -> ir.Value:
    """current->real_parent or current->group_leader: a BTF pointer, loaded directly."""
    offsets = _task_offsets()
    task = cg.helper_ptr(Helper.get_current_task_btf)
    slot = cg.b.bitcast(cg.offset(task, offsets[member]), task.type.as_pointer())
    return cg.b.load(slot)


def _lower_ppid(cg: "ProbeCodegen", node) -> ir.Value:
    parent = _related_task(cg, "real_parent")
    tgid = cg.b.load(cg.b.bitcast(cg.offset(parent, _task_offsets()["tgid"]), I32.as_pointer()))
    return cg.b.sext(tgid, I64)


def _lower_pcomm(cg: "ProbeCodegen", node) -> ir.Value:
    leader = _related_task(cg, "group_leader")
    off = _task_offsets()["comm"]
    buf = cg.stack(16, "pcomm")
    for i in (0, 8):
        word = cg.b.load(cg.b.bitcast(cg.offset(leader, off + i), I64.as_pointer()))
        cg.b.store(word, cg.b.bitcast(cg.offset(buf, i), I64.as_pointer()))
    return buf


def _usermode_type(checker: "Checker", node) -> Type | None:
    """usermode (bpftrace 0.24): 1 when the probe interrupted user mode, from the saved cs's
    privilege level; only probes with registers have one (kprobe, uprobe, USDT, profile,
    interval, software, hardware, watchpoint)."""
    probe = checker.current_probe
    if not isinstance(probe.context, RegsContext):
        checker.sink.error(node.span, f"usermode is not available in {probe.name}",
                           "it reads the interrupted registers: kprobe, uprobe, usdt, profile, interval, "
                           "software, hardware")
        return None
    return U64


def _lower_usermode(cg: "ProbeCodegen", node) -> ir.Value:
    cs = cg.ctx_u64(_PT_REGS_CS)
    is_user = cg.b.icmp_unsigned("==", cg.b.and_(cs, ir.Constant(I64, 3)), ir.Constant(I64, 3))
    return cg.b.zext(is_user, I64)


def probe_type_name(kind: str) -> str:
    return _PROBE_TYPES.get(kind, kind)


def _lower_probetype(cg: "ProbeCodegen", node) -> ir.Value:
    name = probe_type_name(cg.resolved.kind).encode()
    return cg.const_str(name + b"\0" * (PROBETYPE_SIZE - 1 - len(name)))


FUNCTIONS = (
    Function("nsecs", "nanoseconds of a clock: nsecs(monotonic), nsecs(boot), nsecs(tai)", _check_nsecs, _lower_nsecs),
    Function("ppid", "the parent's pid: ppid (not ppid(task))", _task_type(S64), None),
    Function("pcomm", "the process's name (its group leader's comm): pcomm (not pcomm(task))", _task_type(Str(16)),
             None),
)

VARIABLES = (
    BuiltinVar("jiffies", "the kernel's jiffies (bpf_jiffies64)", lambda c, n: U64,
               lambda cg, n: cg.helper(Helper.jiffies64)),
    BuiltinVar("ncpus", "the number of possible CPUs of the machine that runs the trace", lambda c, n: U64,
               lambda cg, n: cg.runtime_value(RUNTIME_VALUES["ncpus"])),
    BuiltinVar("ppid", "the parent's pid (current->real_parent->tgid)", _task_type(S64), _lower_ppid),
    BuiltinVar("pcomm", "the process's name: its group leader's comm (16 bytes)", _task_type(Str(16)), _lower_pcomm),
    BuiltinVar("usermode", "1 when the probe interrupted user mode (probes with registers)", _usermode_type,
               _lower_usermode),
    BuiltinVar("probetype", "the probe's type: kprobe, tracepoint, special (BEGIN/END), ...",
               lambda c, n: Str(PROBETYPE_SIZE), _lower_probetype),
)
