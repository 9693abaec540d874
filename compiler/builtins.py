"""The builtin registry: ONE record per builtin variable and per function.

A record holds its type rule (used by passes/semantic.py) and its lowering (called by
codegen/probe.py with the probe's code generator `cg`). Aggregating functions (count, sum, min,
max, avg) carry `agg`: their lowering is the map update in codegen/maps.py, because what they
compute depends on the map they are assigned to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from llvmlite import ir

from . import ast
from .events import EventId
from .helpers import BPF_F_USER_STACK, Helper
from .types import Agg, Args, Buf, Int, Ptr, S64, Str, Sym, Type, U64, Void

if TYPE_CHECKING:  # pragma: no cover
    from .codegen.probe import ProbeCodegen
    from .passes.semantic import Checker

I64 = ir.IntType(64)
STRLEN = 64  # bpftrace 0.17's default BPFTRACE_STRLEN


@dataclass(frozen=True, slots=True)
class BuiltinVar:
    name: str
    doc: str
    type: Callable[["Checker", ast.Builtin], Type | None]
    lower: Callable[["ProbeCodegen", ast.Builtin], ir.Value]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    doc: str
    check: Callable[["Checker", ast.Call], Type | None]
    lower: Callable[["ProbeCodegen", ast.Call], ir.Value | None] | None
    agg: str | None = None  # aggregating function: the map's value kind


def _fixed(t: Type):
    return lambda checker, node: t


def _pid_tgid(cg: "ProbeCodegen") -> ir.Value:
    return cg.helper(Helper.get_current_pid_tgid)


def _uid_gid(cg: "ProbeCodegen") -> ir.Value:
    return cg.helper(Helper.get_current_uid_gid)


def _lower_comm(cg: "ProbeCodegen", node) -> ir.Value:
    buf = cg.stack(16, "comm")
    cg.memset0(buf, 16)
    cg.helper(Helper.get_current_comm, buf, ir.Constant(I64, 16))
    return buf


def _args_type(checker: "Checker", node: ast.Builtin) -> Type | None:
    probe = checker.current_probe
    if probe.tracepoint is None and not probe.func_args and probe.kind not in ("kfunc", "kretfunc"):
        checker.sink.error(node.span, f"'args' is not available in {probe.name}",
                           "args is the record of a tracepoint, or a kfunc's arguments; "
                           "kprobes and uprobes have arg0..arg5")
        return None
    return Args(probe.name)


# x86-64 struct pt_regs offsets (kernel-facts §5): the first six integer arguments and the
# return value, as kprobes, uprobes and perf events see the registers.
PT_REGS_ARGS = (112, 104, 96, 88, 72, 64)   # di, si, dx, cx, r8, r9
PT_REGS_RET = 80                            # ax
PT_REGS_IP = 128


def _arg_type(index: int):
    def type_rule(checker: "Checker", node: ast.Builtin) -> Type | None:
        probe = checker.current_probe
        if probe.usdt_args:
            sites = [args for args, _pc in probe.usdt_args]
            bad = next((a for a in sites if isinstance(a, str)), None)
            if bad is not None:
                checker.sink.error(node.span, f"cannot read the arguments of {probe.name}: {bad}")
                return None
            if any(a.symbol and a.symbol_vaddr is None for site in sites for a in site):
                checker.sink.error(node.span, f"an argument of {probe.name} names a symbol the binary does not define")
                return None
            count = min(len(a) for a in sites)
            if index >= count:
                checker.sink.error(node.span, f"{probe.name} has {count} argument{'s' if count != 1 else ''}"
                                   f"; '{node.name}' is not one of them")
                return None
            return Int(64, all(a[index].signed for a in sites))
        if probe.ctx not in ("pt_regs", "u64_array"):
            checker.sink.error(node.span, f"'{node.name}' is not available in {probe.name}",
                               "use args->FIELD in tracepoints")
            return None
        return S64  # signed, as in bpftrace: arg0 of do_sys_openat2 prints -100 (AT_FDCWD)
    return type_rule


def _lower_arg(index: int):
    def lower(cg: "ProbeCodegen", node) -> ir.Value:
        if cg.resolved.usdt_args:
            return cg.usdt_arg(index)
        if cg.resolved.ctx == "pt_regs":
            return cg.ctx_u64(PT_REGS_ARGS[index])
        return cg.ctx_u64(8 * index)
    return lower


def _retval_type(checker: "Checker", node: ast.Builtin) -> Type | None:
    probe = checker.current_probe
    if not probe.retprobe:
        checker.sink.error(node.span, f"'retval' is only available in return probes, not in {probe.name}",
                           "kretprobe, uretprobe and kretfunc see the return value")
        return None
    return S64


def _lower_retval(cg: "ProbeCodegen", node) -> ir.Value:
    if cg.resolved.ctx == "pt_regs":
        return cg.ctx_u64(PT_REGS_RET)
    return cg.ctx_u64(8 * cg.resolved.retval_index)


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
    if not cg.resolved.multi:
        return base
    return cg.b.add(base, cg.helper(Helper.get_attach_cookie, cg.ctx))


def _stack_type(kind: str):
    def type_rule(checker: "Checker", node: ast.Builtin) -> Type | None:
        return Sym(kind)
    return type_rule


def _lower_stack(user: bool):
    def lower(cg: "ProbeCodegen", node) -> ir.Value:
        from .passes.resources import stack_map_name

        stack_id = cg.helper(Helper.get_stackid, cg.ctx, cg.map_ptr(stack_map_name(cg.types[node].limit)),
                             ir.Constant(I64, BPF_F_USER_STACK if user else 0))
        if not user:
            return stack_id
        buf = cg.stack(16, "ustack")
        p64 = cg.b.bitcast(buf, I64.as_pointer())
        cg.b.store(stack_id, p64)
        cg.b.store(cg.b.lshr(cg.helper(Helper.get_current_pid_tgid), ir.Constant(I64, 32)),
                   cg.b.gep(p64, [ir.Constant(ir.IntType(32), 1)]))
        return buf
    return lower


STACK_MODES = ("bpftrace", "perf", "raw")


def _check_stack_call(checker: "Checker", call: ast.Call) -> Type | None:
    """kstack(MODE), kstack(N), kstack(MODE, N): MODE is bpftrace, perf or raw; N frames."""
    if not _check_arity(checker, call, 1, 2):
        return None
    mode, limit = "bpftrace", 127
    args = list(call.args)
    if isinstance(args[0], ast.Builtin) and args[0].name in STACK_MODES:
        mode = args.pop(0).name
    elif isinstance(args[0], ast.Builtin):
        checker.sink.error(args[0].span, f"unknown stack mode '{args[0].name}'",
                           did_you_mean_mode(args[0].name))
        return None
    if args:
        n = args.pop(0)
        if not isinstance(n, ast.IntLit) or not 1 <= n.value <= 127:
            checker.sink.error(n.span, f"{call.name}()'s depth must be an integer literal from 1 to 127")
            return None
        limit = n.value
    if args:
        checker.sink.error(args[0].span, f"{call.name}(MODE, N): the mode comes first")
        return None
    return Sym(call.name, mode, limit)


def did_you_mean_mode(name: str) -> str:
    from .diagnostics import did_you_mean
    return did_you_mean(name, STACK_MODES) or f"modes are {', '.join(STACK_MODES)}"




def _lower_args(cg: "ProbeCodegen", node) -> ir.Value:
    return cg.ctx


def _lower_elapsed(cg: "ProbeCodegen", node) -> ir.Value:
    now = cg.helper(Helper.ktime_get_ns)
    return cg.b.sub(now, ir.Constant(I64, cg.options.start_ns))


BUILTIN_VARS: dict[str, BuiltinVar] = {b.name: b for b in (
    BuiltinVar("pid", "process id (thread group id) of the current task", _fixed(U64),
               lambda cg, n: cg.b.lshr(_pid_tgid(cg), ir.Constant(I64, 32))),
    BuiltinVar("tid", "thread id of the current task", _fixed(U64),
               lambda cg, n: cg.b.and_(_pid_tgid(cg), ir.Constant(I64, 0xFFFFFFFF))),
    BuiltinVar("uid", "user id of the current task", _fixed(U64),
               lambda cg, n: cg.b.and_(_uid_gid(cg), ir.Constant(I64, 0xFFFFFFFF))),
    BuiltinVar("gid", "group id of the current task", _fixed(U64),
               lambda cg, n: cg.b.lshr(_uid_gid(cg), ir.Constant(I64, 32))),
    BuiltinVar("comm", "name of the current task (16 bytes)", _fixed(Str(16)), _lower_comm),
    BuiltinVar("nsecs", "nanoseconds since boot (CLOCK_MONOTONIC)", _fixed(U64),
               lambda cg, n: cg.helper(Helper.ktime_get_ns)),
    BuiltinVar("elapsed", "nanoseconds since kt started", _fixed(U64), _lower_elapsed),
    BuiltinVar("cpu", "the CPU the probe runs on", _fixed(U64),
               lambda cg, n: cg.helper(Helper.get_smp_processor_id)),
    BuiltinVar("rand", "a pseudo-random 32-bit number", _fixed(U64),
               lambda cg, n: cg.helper(Helper.get_prandom_u32)),
    BuiltinVar("cgroup", "the current task's cgroup v2 id", _fixed(U64),
               lambda cg, n: cg.helper(Helper.get_current_cgroup_id)),
    BuiltinVar("curtask", "address of the current task_struct", _fixed(U64),
               lambda cg, n: cg.helper(Helper.get_current_task)),
    BuiltinVar("cpid", "pid of the child started with -c (0 without -c)", _fixed(U64),
               lambda cg, n: ir.Constant(I64, cg.options.cpid)),
    BuiltinVar("args", "the tracepoint's record or the kfunc's arguments: args->field or args.field",
               _args_type, _lower_args),
    *(BuiltinVar(f"arg{i}", f"argument {i} of the probed function (kprobe, uprobe, rawtracepoint, kfunc)",
                 _arg_type(i), _lower_arg(i)) for i in range(6)),
    BuiltinVar("retval", "the return value (kretprobe, uretprobe, kretfunc)", _retval_type, _lower_retval),
    BuiltinVar("func", "the traced function's name", _name_index_type("func"), _lower_name_index),
    BuiltinVar("probe", "the probe's full name", _name_index_type("probe"), _lower_name_index),
    BuiltinVar("kstack", "the kernel stack", _stack_type("kstack"), _lower_stack(False)),
    BuiltinVar("ustack", "the user stack", _stack_type("ustack"), _lower_stack(True)),
)}


# ---- functions ---------------------------------------------------------------------------

def _check_arity(checker: "Checker", call: ast.Call, lo: int, hi: int) -> bool:
    n = len(call.args)
    if lo <= n <= hi:
        return True
    want = str(lo) if lo == hi else f"{lo} to {hi}"
    checker.sink.error(call.span, f"{call.name}() takes {want} argument{'s' if hi != 1 else ''}, got {n}")
    return False


def _check_printf(checker: "Checker", call: ast.Call) -> Type | None:
    from .printf_format import FormatError, conversions

    if not call.args or not isinstance(call.args[0], ast.StrLit):
        checker.sink.error(call.span, f"{call.name}() needs a string literal as its first argument")
        for a in call.args:
            checker.check(a)
        return Void()
    fmt_node = call.args[0]
    try:
        wanted = conversions(fmt_node.value.decode("utf-8", "surrogateescape"))
    except FormatError as err:
        checker.sink.error(fmt_node.span, f"invalid printf format: {err}")
        return Void()
    args = call.args[1:]
    arg_types = [checker.check(a) for a in args]
    if len(wanted) != len(args):
        checker.sink.error(call.span, f"printf() format has {len(wanted)} conversion"
                           f"{'s' if len(wanted) != 1 else ''} but {len(args)} argument"
                           f"{'s were' if len(args) != 1 else ' was'} given")
        return Void()
    for want, arg, t in zip(wanted, args, arg_types):
        if t is None:
            continue
        if want == "buf" and not isinstance(t, Buf):
            checker.sink.error(arg.span, f"%r, %rx and %rh print a buf(), this is {t}")
        elif want == "str" and not isinstance(t, (Str, Sym)):
            checker.sink.error(arg.span, f"%s needs a string, this is {t}",
                               "use str() to read a string from a pointer" if isinstance(t, Int) else "")
        elif want == "int" and not isinstance(t, Int):
            checker.sink.error(arg.span, f"this conversion needs an integer, this is {t}")
    return Void()


def _unsafe(checker: "Checker", call: ast.Call) -> bool:
    if checker.options.unsafe:
        return True
    checker.sink.error(call.span, f"{call.name}() changes the system, not just observes it: it needs --unsafe")
    return False


def _check_system(checker: "Checker", call: ast.Call) -> Type | None:
    """system(fmt, args...): run a shell command (formatted like printf) in user space."""
    _check_printf(checker, call)
    _unsafe(checker, call)
    return Void()


SIGNALS = {"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7,
           "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13,
           "SIGALRM": 14, "SIGTERM": 15, "SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20}


def _signal_number(node) -> int | None:
    if isinstance(node, ast.IntLit):
        return node.value if 1 <= node.value <= 64 else None
    if isinstance(node, ast.StrLit):
        name = node.value.decode().upper()
        return SIGNALS.get(name) or SIGNALS.get("SIG" + name)
    return None


def _check_signal(checker: "Checker", call: ast.Call) -> Type | None:
    """signal(SIG): send a signal to the current task (bpf_send_signal, 5.3+)."""
    if not _check_arity(checker, call, 1, 1):
        return None
    if _signal_number(call.args[0]) is None:
        checker.sink.error(call.args[0].span, "signal() takes a signal number (1-64) or name (\"SIGKILL\", \"KILL\")")
        return None
    if checker.current_probe.ctx == "none":
        checker.sink.error(call.span, f"signal() in {checker.current_probe.name} would signal kt itself")
        return None
    _unsafe(checker, call)
    return Void()


def _lower_signal(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.helper(Helper.send_signal, ir.Constant(I64, _signal_number(call.args[0])))
    return None


def _lower_printf(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.emit_printf(call)
    return None


def _positional_text(checker_or_cg, node) -> bytes | None:
    """str($N) is the parameter's text even when it looks like a number (as in bpftrace)."""
    if isinstance(node, ast.Positional) and not node.is_count:
        params = checker_or_cg.options.positional
        return params[node.index - 1].encode() if 1 <= node.index <= len(params) else b""
    return None


def _check_str(checker: "Checker", call: ast.Call) -> Type | None:
    if not _check_arity(checker, call, 1, 2):
        return None
    text = _positional_text(checker, call.args[0])
    if text is not None:
        return Str(len(text) + 1)
    t = checker.check(call.args[0])
    size = STRLEN
    if len(call.args) == 2:
        n = call.args[1]
        checker.check(n)
        if not isinstance(n, ast.IntLit) or n.value <= 0:
            checker.sink.error(n.span, "str()'s length must be a positive integer literal")
            return None
        size = min(n.value + 1, STRLEN)
    if isinstance(t, Str):
        return Str(min(t.size, size)) if len(call.args) == 2 else t
    if not isinstance(t, Int):
        if t is not None:
            checker.sink.error(call.args[0].span, f"str() reads from a pointer or an integer address, not {t}")
        return None
    return Str(size)


def _lower_str(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    size = cg.types[call].size
    arg = call.args[0]
    text = _positional_text(cg, arg)
    if text is not None:
        return cg.const_str(text)
    if isinstance(cg.types[arg], Str):
        src = cg.expr(arg)
        if cg.types[arg].size == size:
            return src
        buf = cg.stack(size, "str")
        cg.memset0(buf, size)
        cg.memcpy(buf, src, size - 1)
        return buf
    ptr = cg.expr(arg)
    buf = cg.stack(size, "str")
    cg.memset0(buf, size)
    cg.helper(Helper.probe_read_str, buf, ir.Constant(I64, size), ptr)
    return buf


def _check_exit(checker: "Checker", call: ast.Call) -> Type | None:
    _check_arity(checker, call, 0, 0)
    return Void()


def _lower_exit(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.emit_exit()
    return None


def _agg_value(checker: "Checker", call: ast.Call, kind: str, value) -> Type | None:
    """The Agg an aggregation call makes: it must be the value of a map assignment, and what
    it aggregates (`value`, None for count()) must be an integer."""
    if not checker.in_map_assignment(call):
        checker.sink.error(call.span, f"{kind}() can only be assigned to a map: @name[keys] = {kind}(...)")
        return None
    if value is None:
        return Agg(kind, U64)
    t = checker.check(value)
    if t is None:
        return None
    if not isinstance(t, Int):
        checker.sink.error(value.span, f"{kind}() needs an integer, this is {t}")
        return None
    return Agg(kind, Int(64, t.signed))


def _check_agg(kind: str, nargs: int):
    def check(checker: "Checker", call: ast.Call) -> Type | None:
        if not _check_arity(checker, call, nargs, nargs):
            return None
        return _agg_value(checker, call, kind, call.args[0] if nargs else None)
    return check


def _check_lhist(checker: "Checker", call: ast.Call) -> Type | None:
    """lhist(value, min, max, step): min, max and step are integer literals, max > min."""
    if not _check_arity(checker, call, 4, 4):
        return None
    agg = _agg_value(checker, call, "lhist", call.args[0])
    if agg is None:
        return None
    params = []
    for arg, what in zip(call.args[1:], ("min", "max", "step")):
        if not isinstance(arg, ast.IntLit):
            checker.sink.error(arg.span, f"lhist()'s {what} must be an integer literal")
            return None
        params.append(arg.value)
    lo, hi, step = params
    if lo < 0 or hi <= lo or step <= 0:
        checker.sink.error(call.span, "lhist(value, min, max, step) needs 0 <= min < max and step > 0")
        return None
    if (hi - lo) // step > 1000:
        checker.sink.error(call.span, f"lhist() with {(hi - lo) // step} buckets: at most 1000")
        return None
    return Agg("lhist", agg.value, params=(lo, hi, step))


def _check_delete(checker: "Checker", call: ast.Call) -> Type | None:
    if not _check_arity(checker, call, 1, 1):
        return None
    target = call.args[0]
    if not isinstance(target, ast.MapRef) or not target.keys:
        checker.sink.error(target.span, "delete() takes one map element: delete(@name[key])")
        return None
    checker.check_map_element(target)
    return Void()


def _lower_delete(cg: "ProbeCodegen", call: ast.Call) -> None:
    from .codegen import maps

    target = call.args[0]
    plan = cg.plan.maps[target.name]
    key = maps.build_key(cg, plan, target.keys)
    cg.helper(Helper.map_delete_elem, cg.map_ptr(plan.bpf_name), key)
    return None


def _check_whole_map(checker: "Checker", call: ast.Call) -> Type | None:
    if not _check_arity(checker, call, 1, 1):
        return None
    target = call.args[0]
    if not isinstance(target, ast.MapRef) or target.keys:
        checker.sink.error(target.span, f"{call.name}() takes a whole map: {call.name}(@name)")
        return None
    if target.name not in checker.maps:
        checker.sink.error(target.span, f"map '{target.name}' is used but never assigned")
        return None
    return Void()


def _lower_map_event(cg: "ProbeCodegen", call: ast.Call) -> None:
    # The kernel has no helper that empties a whole map: user space does it when the event
    # arrives (as bpftrace does), between the events before and after it.
    cg.emit_map_event(call.name, call.args[0].name)
    return None


def _check_sym(kind: str):
    def check(checker: "Checker", call: ast.Call) -> Type | None:
        if not _check_arity(checker, call, 1, 1):
            return None
        t = checker.check(call.args[0])
        if t is not None and not isinstance(t, Int):
            checker.sink.error(call.args[0].span, f"{call.name}() needs an address (an integer), this is {t}")
            return None
        return Sym(kind)
    return check


def _lower_ksym(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return cg.expr(call.args[0])


def _lower_usym(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    buf = cg.stack(16, "usym")
    p64 = cg.b.bitcast(buf, I64.as_pointer())
    cg.b.store(cg.expr(call.args[0]), p64)
    cg.b.store(cg.b.lshr(cg.helper(Helper.get_current_pid_tgid), ir.Constant(I64, 32)),
               cg.b.gep(p64, [ir.Constant(ir.IntType(32), 1)]))
    return buf


def _check_kaddr(checker: "Checker", call: ast.Call) -> Type | None:
    if not _check_arity(checker, call, 1, 1):
        return None
    arg = call.args[0]
    if not isinstance(arg, ast.StrLit):
        checker.sink.error(arg.span, "kaddr() takes a symbol name as a string literal: kaddr(\"jiffies\")")
        return None
    lookup = checker.options.kernel_symbol
    if lookup is None:
        checker.sink.error(arg.span, "kernel symbols are not readable here (/proc/kallsyms)")
        return None
    name = arg.value.decode("utf-8", "replace")
    if lookup(name) is None:
        checker.sink.error(arg.span, f"no kernel symbol '{name}' in /proc/kallsyms")
        return None
    return U64


def _lower_kaddr(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return ir.Constant(I64, cg.options.kernel_symbol(call.args[0].value.decode("utf-8", "replace")))


def _check_print(checker: "Checker", call: ast.Call) -> Type | None:
    """print(@m[, top[, div]]): print a map now; top keeps the largest entries, div divides."""
    if not _check_arity(checker, call, 1, 3):
        return None
    target = call.args[0]
    if not isinstance(target, ast.MapRef) or target.keys:
        checker.sink.error(target.span, "print() takes a whole map: print(@name[, top[, div]])",
                           "printing other values is not supported yet: use printf()")
        return None
    if target.name not in checker.maps:
        checker.sink.error(target.span, f"map '{target.name}' is used but never assigned")
        return None
    for arg in call.args[1:]:
        if not isinstance(arg, ast.IntLit) or arg.value < 0:
            checker.sink.error(arg.span, "print()'s top and div must be non-negative integer literals")
            return None
    return Void()


def _lower_print(cg: "ProbeCodegen", call: ast.Call) -> None:
    top, div = ([a.value for a in call.args[1:]] + [0, 0])[:2]
    cg.emit_map_event("print", call.args[0].name, top, div)
    return None


def _check_time(checker: "Checker", call: ast.Call) -> Type | None:
    """time([fmt]): print the wall-clock time with strftime(3) in user space."""
    if not _check_arity(checker, call, 0, 1):
        return None
    if call.args and not isinstance(call.args[0], ast.StrLit):
        checker.sink.error(call.args[0].span, "time() takes a strftime format as a string literal")
        return None
    return Void()


def _lower_time(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.emit_words(EventId.TIME, cg.plan.time_formats[call])
    return None


JOIN_ARGS = 16        # bpftrace 0.17 joins at most 16 arguments
JOIN_ARG_SIZE = 256   # bytes read of each (0.17 reads 1024; kt keeps events small)


def _check_join(checker: "Checker", call: ast.Call) -> Type | None:
    """join(argv[, delim]): print a NULL-terminated array of strings (execve's argv)."""
    if not _check_arity(checker, call, 1, 2):
        return None
    t = checker.check(call.args[0])
    if t is not None and not isinstance(t, Int):
        checker.sink.error(call.args[0].span, f"join() needs the address of a char *[] array, this is {t}")
        return None
    if len(call.args) == 2 and not isinstance(call.args[1], ast.StrLit):
        checker.sink.error(call.args[1].span, "join()'s delimiter must be a string literal")
        return None
    return Void()


def _lower_join(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.emit_join(call, JOIN_ARGS, JOIN_ARG_SIZE)
    return None


def _check_ntop(checker: "Checker", call: ast.Call) -> Type | None:
    """ntop([family, ]addr): an IPv4 address (an integer, or 4 bytes) or IPv6 (16 bytes)."""
    if not _check_arity(checker, call, 1, 2):
        return None
    types = [checker.check(a) for a in call.args]
    if any(t is None for t in types):
        return None
    if len(types) == 2 and not isinstance(types[0], Int):
        checker.sink.error(call.args[0].span, "ntop()'s family must be an integer (AF_INET, AF_INET6)")
        return None
    addr = types[-1]
    if not isinstance(addr, Int) and not (isinstance(addr, Str) and addr.size in (4, 16)):
        checker.sink.error(call.args[-1].span, f"ntop() needs an IPv4 address (an integer) or 4 or 16 bytes, this is {addr}")
        return None
    return Sym("inet")


def _lower_ntop(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    import socket
    b = cg.b
    buf = cg.stack(24, "inet")
    cg.memset0(buf, 24)
    addr_node = call.args[-1]
    addr_t = cg.types[addr_node]
    if len(call.args) == 2:
        family = cg.expr(call.args[0])
    else:
        family = ir.Constant(I64, socket.AF_INET6 if isinstance(addr_t, Str) and addr_t.size == 16 else socket.AF_INET)
    b.store(family, b.bitcast(buf, I64.as_pointer()))
    dst = cg.offset(buf, 8)
    if isinstance(addr_t, Int):   # the address as it lies in memory (network order), 4 bytes
        b.store(b.trunc(cg.expr(addr_node), ir.IntType(32)), b.bitcast(dst, ir.IntType(32).as_pointer()))
    else:
        cg.memcpy(dst, cg.expr(addr_node), addr_t.size)
    return buf


def _check_bswap(checker: "Checker", call: ast.Call) -> Type | None:
    if not _check_arity(checker, call, 1, 1):
        return None
    t = checker.check(call.args[0])
    if t is not None and not isinstance(t, Int):
        checker.sink.error(call.args[0].span, f"bswap() needs an integer, this is {t}")
        return None
    return None if t is None else Int(t.bits, False)


def _lower_bswap(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    bits = cg.types[call].bits
    v = cg.expr(call.args[0])
    if bits == 8:
        return cg.b.and_(v, ir.Constant(I64, 0xFF))
    narrow = cg.b.trunc(v, ir.IntType(bits)) if bits < 64 else v
    swapped = cg.b.bswap(narrow)
    return cg.b.zext(swapped, I64) if bits < 64 else swapped


def _check_cat(checker: "Checker", call: ast.Call) -> Type | None:
    """cat(fmt, args...): print a file's contents (the path formatted like printf)."""
    return _check_printf(checker, call)


BUF_MAX = 64   # bytes buf() reads at most (bpftrace 0.17: BPFTRACE_STRLEN, 64)


def _check_buf(checker: "Checker", call: ast.Call) -> Type | None:
    """buf(ptr, n): n bytes at ptr (at most 64), printed by printf's %r, %rx, %rh."""
    if not _check_arity(checker, call, 1, 2):
        return None
    types = [checker.check(a) for a in call.args]
    if any(t is None for t in types):
        return None
    if isinstance(types[0], Str):   # a string value: its bytes
        if len(call.args) == 2 and not isinstance(call.args[1], ast.IntLit):
            checker.sink.error(call.args[1].span, "buf() of a string needs a literal length")
            return None
        n = call.args[1].value if len(call.args) == 2 else types[0].size
        return Buf(max(1, min(n, types[0].size, BUF_MAX)))
    if not isinstance(types[0], (Int, Ptr)) or len(call.args) != 2 or not isinstance(types[1], Int):
        checker.sink.error(call.span, "buf() takes an address and a length: buf(ptr, n)")
        return None
    if isinstance(call.args[1], ast.IntLit):
        return Buf(max(1, min(call.args[1].value, BUF_MAX)))
    return Buf(BUF_MAX)


def _lower_buf(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    b = cg.b
    cap = cg.types[call].capacity
    out = cg.stack(8 + cap, "buf")
    cg.memset0(out, 8 + cap)
    data = cg.offset(out, 8)
    src_t = cg.types[call.args[0]]
    if isinstance(src_t, Str):
        b.store(ir.Constant(I64, cap), b.bitcast(out, I64.as_pointer()))
        cg.memcpy(data, cg.expr(call.args[0]), cap)
        return out
    ptr = b.inttoptr(cg.expr(call.args[0]), cg.stack(8).type)
    n = cg.expr(call.args[1])
    # at most `cap` bytes: the verifier needs the size bounded
    length = b.select(b.icmp_unsigned(">", n, ir.Constant(I64, cap)), ir.Constant(I64, cap), n)
    b.store(length, b.bitcast(out, I64.as_pointer()))
    with b.if_then(b.icmp_unsigned("!=", length, ir.Constant(I64, 0))):
        cg.helper(Helper.probe_read, data, length, ptr)
    return out


FUNCTIONS: dict[str, Function] = {f.name: f for f in (
    Function("printf", "print formatted text: printf(fmt, args...)", _check_printf, _lower_printf),
    Function("system", "run a shell command (needs --unsafe): system(fmt, args...)", _check_system, _lower_printf),
    Function("signal", "send a signal to the current task (needs --unsafe): signal(SIG)", _check_signal,
             _lower_signal),
    Function("str", "read a NUL-terminated string: str(ptr[, len])", _check_str, _lower_str),
    Function("exit", "end the trace: print maps and exit", _check_exit, _lower_exit),
    Function("delete", "remove one element of a map: delete(@name[key])", _check_delete, _lower_delete),
    Function("clear", "remove every element of a map: clear(@name)", _check_whole_map, _lower_map_event),
    Function("print", "print a map now: print(@name[, top[, div]])", _check_print, _lower_print),
    Function("buf", "bytes from memory, for printf's %r/%rx/%rh: buf(ptr, n)", _check_buf, _lower_buf),
    Function("ntop", "an IP address as text: ntop([family, ]addr)", _check_ntop, _lower_ntop),
    Function("bswap", "reverse the bytes of an integer (of its width)", _check_bswap, _lower_bswap),
    Function("cat", "print a file: cat(fmt, args...)", _check_cat, _lower_printf),
    Function("join", "print an array of strings: join(argv[, delim])", _check_join, _lower_join),
    Function("time", "print the time: time([strftime format]), default \"%H:%M:%S\\n\"", _check_time, _lower_time),
    Function("zero", "set every value of a map to zero, keeping its keys: zero(@name)", _check_whole_map,
             _lower_map_event),
    Function("kstack", "the kernel stack: kstack([bpftrace|perf|raw][, N frames])", _check_stack_call,
             _lower_stack(False)),
    Function("ustack", "the user stack: ustack([bpftrace|perf|raw][, N frames])", _check_stack_call,
             _lower_stack(True)),
    Function("ksym", "the kernel symbol at an address", _check_sym("ksym"), _lower_ksym),
    Function("usym", "the user symbol at an address, in the current process", _check_sym("usym"), _lower_usym),
    Function("kaddr", "the address of a kernel symbol: kaddr(\"name\")", _check_kaddr, _lower_kaddr),
    Function("count", "count calls", _check_agg("count", 0), None, agg="count"),
    Function("sum", "sum of the values", _check_agg("sum", 1), None, agg="sum"),
    Function("min", "smallest value", _check_agg("min", 1), None, agg="min"),
    Function("max", "largest value", _check_agg("max", 1), None, agg="max"),
    Function("avg", "average of the values (integer)", _check_agg("avg", 1), None, agg="avg"),
    Function("stats", "count, average and total of the values", _check_agg("stats", 1), None, agg="stats"),
    Function("hist", "power-of-two histogram of the values", _check_agg("hist", 1), None, agg="hist"),
    Function("lhist", "linear histogram: lhist(value, min, max, step)", _check_lhist, None, agg="lhist"),
)}
