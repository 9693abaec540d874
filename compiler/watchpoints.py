"""watchpoint:/asyncwatchpoint: probes: hardware breakpoints on user memory, as in bpftrace 0.17.

Two forms. `watchpoint:ADDR:LEN:MODE` watches a fixed address (of the -p/-c process, or of
every process without one): one PERF_TYPE_BREAKPOINT event runs the probe's PERF_EVENT
program. `watchpoint:FUNC+argN:LEN:MODE` (needs -p or -c) watches what a function is given: the
runtime puts a uprobe on FUNC whose small program reports argN and stops the process
(SIGSTOP); user space arms a breakpoint at that address and lets the process go on (SIGCONT),
so not one access is missed. `asyncwatchpoint:` is the same without stopping the process:
accesses made before the breakpoint is armed are not seen. The probe's own program is the same
PERF_EVENT program in both forms (runtime/attach/watchpoint.py arms it).

The checks and their words are 0.17's (semantic_analyser.cpp, AttachPoint), except where 0.17
says nothing useful ("stoull" for an address that is not a number).
"""

from __future__ import annotations

import re

from . import ast
from .contexts import RegsContext
from .diagnostics import DiagnosticSink, did_you_mean
from .formats.inputs import note_run_dependent

# HW_BREAKPOINT_R/W/X (include/uapi/linux/hw_breakpoint.h)
_BP_BITS = {"r": 1, "w": 2, "x": 4}
# x86-64 debug registers cannot trap reads alone, nor mix execution with data accesses
# (arch/x86/kernel/hw_breakpoint.c); 0.17 refuses these modes before trying (arch/x86_64.cpp).
_INVALID_MODES = ("r", "rx", "wx", "rwx")
_ARG_REGS = 6   # x86-64 passes arg0..arg5 in registers


class WatchpointContext(RegsContext):
    """bpf_perf_event_data, whose first member is the task's pt_regs at the access: reg(),
    ustack and kstack work; a memory access has no arguments and no return value."""

    def __init__(self) -> None:
        super().__init__("user")

    def arg_type(self, checker, node, index):
        checker.sink.error(node.span, f"The {node.name} builtin can only be used with 'kprobes', "
                           "'uprobes' and 'usdt' probes")
        return None


def watchpoint_target(async_: bool):
    """The attach point's checks: returns (probe name, .kt.meta attach entry), or None after
    reporting what is wrong. compiler/probes.py makes the ResolvedProbe."""
    kind = "asyncwatchpoint" if async_ else "watchpoint"

    def resolve(ap: ast.AttachPoint, env, sink: DiagnosticSink):
        if len(ap.parts) != 3:
            sink.error(ap.span, f"{kind} probe type requires 3 arguments")
            return None
        where, len_text, mode = ap.parts
        ok = True
        func, plus, arg_text = where.partition("+")
        arg = -1
        addr = 0
        pid = env.cpid or env.pid
        if env.cpid:   # the watchpoint's target pid is written into the object
            note_run_dependent("a watchpoint on the -c child")
        if plus:
            m = re.fullmatch(r"arg(\d+)", arg_text)
            if not func or m is None:
                sink.error(ap.span, "Invalid function argument",
                           f"the function form is '{kind}:FUNCTION+argN:LEN:MODE'")
                return None
            arg = int(m.group(1))
            if not pid:
                sink.error(ap.span, "-p PID or -c CMD required for watchpoint")
                ok = False
            if arg >= _ARG_REGS:
                sink.error(ap.span, f"x86_64 doesn't support arg{arg}")
                ok = False
        else:
            try:
                addr = int(where, 0)
            except ValueError:
                sink.error(ap.span, f"invalid watchpoint address '{where}'",
                           f"use a number like 0x404040, or '{kind}:FUNCTION+argN:LEN:MODE'")
                return None
            if async_:
                sink.error(ap.span, "asyncwatchpoint requires a function name")
                ok = False
            elif addr == 0:
                sink.error(ap.span, "watchpoint must be attached to a non-zero address")
                ok = False
        try:
            length = int(len_text, 0)
        except ValueError:
            length = 0
        if length not in (1, 2, 4, 8):
            sink.error(ap.span, "watchpoint length must be one of (1,2,4,8)")
            ok = False
        mode = "".join(sorted(mode))
        if not mode or any(c not in _BP_BITS for c in mode):
            sink.error(ap.span, "watchpoint mode must be combination of (r,w,x)")
            ok = False
        elif len(set(mode)) != len(mode):
            sink.error(ap.span, "watchpoint modes may not be duplicated")
            ok = False
        elif mode in _INVALID_MODES:
            sink.error(ap.span, f"invalid watchpoint mode: {mode}",
                       "x86-64 watches w, rw (reads and writes) or x (execution, length 8)")
            ok = False
        if not ok:
            return None
        bp_type = sum(_BP_BITS[c] for c in mode)
        attach = {"addr": addr, "len": length, "bp_type": bp_type, "pid": pid or -1}
        if arg < 0:
            # bpftrace's name: the address in decimal, the mode sorted.
            return f"{kind}:{addr}:{length}:{mode}", attach
        return _function_form(ap, env, sink, kind, func, arg, length, mode, attach, async_)
    return resolve


def _function_form(ap, env, sink, kind, func, arg, length, mode, attach, async_):
    from .formats import elfsyms

    # The uprobe goes into the traced program: the -c command, or /proc/PID/exe with -p
    # (the kernel follows the link to the file); 0.17 names the probe by that path.
    path = env.command if env.cpid and env.command else f"/proc/{env.pid}/exe"
    try:
        syms = elfsyms.functions_named(path, func)
        if not syms:
            names = elfsyms.function_names(path)
            sink.error(ap.span, f"no function '{func}' in {path}", did_you_mean(func, names))
            return None
        offset = elfsyms.file_offset(path, syms[0].addr)
    except (OSError, ValueError) as err:
        sink.error(ap.span, f"cannot read {path}: {err}")
        return None
    attach.update({"path": path, "func": func, "offset": offset, "arg": arg, "async": async_})
    return f"{kind}:{path}:{func}:{length}:{mode}", attach
