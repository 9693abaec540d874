"""The probe-kind registry: ONE record per kind of probe.

Everything that differs between probe kinds lives in its record: the names users write, how an
attach point is resolved and validated, the ELF section (which fixes the BPF program type, see
docs/object-format.md), what the runtime needs to attach it, and how the program reads its
context (compiler/contexts.py: where arg0..argN, retval and `args` come from). No other module asks "is this
a kprobe?".
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Callable

from . import ast
from .diagnostics import DiagnosticSink, did_you_mean
from .formats.durations import duration_ns
from .formats.numbers import attach_count
from .contexts import ArgsArrayContext, FuncArg, RegsContext, TracepointContext
from .formats.probe_kinds import PROBE_KIND_ALIASES, canonical_kind
from .formats.tracepoints import TracepointNotFound, all_tracepoints, read_format
from .watchpoints import WatchpointContext, watchpoint_target
from .iterators import IterContext, iter_target
from .packet_probes import resolve_tc, resolve_xdp
from .probe_records import GLOB as _GLOB, ProbeEnv, ResolvedProbe
from .user_probes import resolve_uprobe, resolve_usdt



@dataclass(frozen=True, slots=True)
class ProbeKind:
    name: str
    aliases: tuple[str, ...]
    # Resolve an attach point, reporting problems to the sink; None when it cannot be resolved.
    resolve: Callable[[ast.AttachPoint, ProbeEnv, DiagnosticSink], list[ResolvedProbe] | None]
    doc: str = ""
    run_once: bool = False  # BEGIN/END: run by user space with BPF_PROG_TEST_RUN
    # Builtins that only some kinds may call, as bpftrace 0.17 allows them: "override"
    # (bpf_override_return: kprobes), "path" (bpf_d_path: kfunc/kretfunc).
    allows: frozenset[str] = frozenset()
    # The only attach point its probe may have (0.17: "Only single iter attach point is allowed.").
    alone: bool = False


def _resolve_special(label: str):
    def resolve(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
        if ap.parts:
            sink.error(ap.span, f"{label} takes no arguments")
            return None
        # A bare `raw_tp` section: libbpf loads it as a raw tracepoint program (kt test-runs
        # it) and leaves attaching to the loader, where `raw_tp/BEGIN` made it attach to a
        # raw tracepoint named BEGIN, which fails. BEGIN and END share the section.
        return [ResolvedProbe(label.lower(), label, "raw_tp", "", {}, (label,), ())]
    return resolve


# Signals a `self:signal:SIG` probe may name: bpftrace 0.26 documents SIGUSR1 only (kt's other
# signals end the trace).
SELF_SIGNALS = ("SIGUSR1",)


def _resolve_self(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
    """`self:signal:SIGUSR1` (bpftrace 0.22): run by the session, as BEGIN is, each time kt
    receives the signal; it shares BEGIN/END's bare `raw_tp` section."""
    if len(ap.parts) != 2 or ap.parts[0] != "signal":
        sink.error(ap.span, f"a self probe is 'self:signal:SIGNAL', got '{ap.raw}'")
        return None
    sig = ap.parts[1]
    if sig not in SELF_SIGNALS:
        sink.error(ap.span, f"self:signal takes {', '.join(SELF_SIGNALS)}, not '{sig}'",
                   "SIGINT, SIGTERM and SIGHUP end the trace (END probes run then)")
        return None
    name = f"self:signal:{sig}"
    return [ResolvedProbe("self", name, "raw_tp", "", {}, (name,), ())]


# ---- tracepoint ----------------------------------------------------------------------------

def _resolve_tracepoint(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
    if len(ap.parts) != 2 or not all(ap.parts):
        sink.error(ap.span, f"tracepoint needs a category and a name: 'tracepoint:CATEGORY:NAME', got '{ap.raw}'")
        return None
    cat, name = ap.parts
    if _GLOB.search(cat + name):
        matches = [tp for tp in all_tracepoints(env.tracefs) if fnmatch.fnmatchcase(tp, f"{cat}:{name}")]
        if not matches:
            sink.error(ap.span, f"no tracepoint matches '{cat}:{name}'")
            return None
        return [_tracepoint_probe(env, *tp.split(":")) for tp in matches]
    try:
        return [_tracepoint_probe(env, cat, name)]
    except TracepointNotFound:
        hint = did_you_mean(f"{cat}:{name}", all_tracepoints(env.tracefs))
        sink.error(ap.span, f"unknown tracepoint '{cat}:{name}'", hint.replace("did you mean '", "did you mean 'tracepoint:"))
        return None


def _tracepoint_probe(env: ProbeEnv, cat: str, name: str) -> ResolvedProbe:
    fmt = read_format(env.tracefs, cat, name)
    full = f"tracepoint:{cat}:{name}"
    return ResolvedProbe("tracepoint", full, f"tracepoint/{cat}/{name}", f"{cat}:{name}",
                         {"category": cat, "name": name}, (full,), (), TracepointContext(fmt))


# ---- kprobe / kretprobe --------------------------------------------------------------------

# bpftrace 0.17's banned_kretprobes (src/attached_probe.cpp): not marked notrace, yet a
# kretprobe on them can lock the machine up. Refused before anything is loaded or attached.
BANNED_KRETPROBES = frozenset({"_raw_spin_lock", "_raw_spin_lock_irqsave",
                               "_raw_spin_unlock_irqrestore", "queued_spin_lock_slowpath"})


def _resolve_kprobe(retprobe: bool):
    kind = "kretprobe" if retprobe else "kprobe"

    def resolve(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
        if len(ap.parts) == 2 and ap.parts[0] and ap.parts[1]:
            # kprobe:MODULE:FUNC (bpftrace 0.17 accepts it): the function name is what attaches
            spec = ap.parts[1]
        elif len(ap.parts) == 1 and ap.parts[0]:
            spec = ap.parts[0]
        else:
            sink.error(ap.span, f"{kind} needs a function: '{kind}:FUNCTION'")
            return None
        func, _, off_text = spec.partition("+")
        offset = 0
        if off_text:
            if retprobe:
                sink.error(ap.span, "kretprobe takes no offset: it fires when the function returns")
                return None
            try:
                offset = int(off_text, 0)
            except ValueError:
                sink.error(ap.span, f"invalid offset '{off_text}': use a number like +0x10")
                return None
        wildcard = bool(_GLOB.search(func))
        if wildcard:
            if offset:
                sink.error(ap.span, "a wildcard kprobe cannot have an offset")
                return None
            if env.kernel_functions is None:
                sink.error(ap.span, f"cannot expand '{func}': the kernel's function list is not readable here")
                return None
            try:
                funcs = sorted(set(env.kernel_functions(func)))
            except OSError as err:
                sink.error(ap.span, f"cannot expand '{func}': {err}")
                return None
            if not funcs:
                # 0.17 drops such an attach point silently (dcsnoop's lookup_fast.constprop.*
                # where the kernel has no such clone); kt says so. Nothing at all to attach is
                # an error (passes/semantic.py).
                sink.warning(ap.span, f"no kernel function that can be probed matches '{func}': skipped")
                return []
        else:
            # A function this kernel lacks is found when attaching (0.17 also warns here that
            # it "is not traceable"; reading the kernel's function list for that costs seconds
            # under emulation, and the attach names the probe it skips anyway).
            funcs = [func]
        if retprobe:
            banned = [f for f in funcs if f in BANNED_KRETPROBES]
            if banned:
                sink.error(ap.span, f"kretprobe:{banned[0]} can't be used as it might lock up your system.")
                return None
        names = tuple(f"{kind}:{f}" + (f"+{offset}" if offset else "") for f in funcs)
        # libbpf attaches `kprobe/FUNC[+0xOFF]` by its name alone: a wildcard's section names
        # its first function (kt attaches every one, from .kt.meta).
        section = f"{kind}/{funcs[0]}" + (f"+{offset:#x}" if offset else "")
        return [ResolvedProbe(kind, f"{kind}:{spec}", section, spec,
                              {"funcs": funcs, "offset": offset, "retprobe": retprobe},
                              names, tuple(funcs), RegsContext("kernel", retprobe, stack_args=True), optional=wildcard)]
    return resolve


# ---- interval / profile / software / hardware ----------------------------------------------

def _timer(kind: str):
    def resolve(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
        from .formats.perf_events import PerfEventSpecError, timer_event

        if len(ap.parts) == 1 and duration_ns(ap.parts[0]) is not None:
            return _timer_duration(kind, ap, sink)
        if len(ap.parts) != 2:
            sink.error(ap.span, f"{kind} needs a unit and a count: '{kind}:s|ms|us|hz:N' or '{kind}:DURATION' "
                       "(100ms, 1s, ...)")
            return None
        unit, count_text = ap.parts
        if attach_count(count_text) is None:
            sink.error(ap.span, f"{kind}'s count must be a number (decimal, 0x hex or 0 octal), not '{count_text}'")
            return None
        try:
            event = timer_event(kind, unit, _positive(count_text))
        except PerfEventSpecError as err:
            sink.error(ap.span, str(err))
            return None
        name = f"{kind}:{unit}:{_positive(count_text)}"   # as 0.17: interval:ms:0x10 is interval:ms:16
        return [ResolvedProbe(kind, name, "perf_event", name, event.attach(), (name,), (), RegsContext())]
    return resolve


def _timer_duration(kind: str, ap: ast.AttachPoint, sink: DiagnosticSink):
    """`interval:1s`, `profile:100ms` (bpftrace 0.26's durations): the period in the largest
    of 0.17's units (s, ms, us) that holds it whole; the probe is named as written."""
    from .formats.perf_events import TIME_UNITS, PerfEventSpecError, timer_event

    period = duration_ns(ap.parts[0])
    unit = next((u for u, ns in TIME_UNITS.items() if period and period % ns == 0), None)
    if unit is None:
        sink.error(ap.span, f"{kind}:{ap.parts[0]}: a timer's period must be a positive whole number of "
                   "microseconds")
        return None
    try:
        event = timer_event(kind, unit, period // TIME_UNITS[unit])
    except PerfEventSpecError as err:
        sink.error(ap.span, str(err))
        return None
    name = f"{kind}:{ap.parts[0]}"
    return [ResolvedProbe(kind, name, "perf_event", name, event.attach(), (name,), (), RegsContext())]


def _positive(text: str) -> int:
    """An attach point's count, 0 when it is no number (the event's check then refuses it)."""
    value = attach_count(text)
    return value if value is not None else 0


def _perf_counter(kind: str):
    def resolve(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
        from .formats.perf_events import PerfEventSpecError, counter_event, event_names, lookup

        if len(ap.parts) not in (1, 2) or not ap.parts[0]:
            sink.error(ap.span, f"{kind} needs an event: '{kind}:EVENT[:COUNT]'")
            return None
        if lookup(kind, ap.parts[0]) is None:
            sink.error(ap.span, f"unknown {kind} event '{ap.parts[0]}'", did_you_mean(ap.parts[0], event_names(kind)))
            return None
        if len(ap.parts) == 2 and attach_count(ap.parts[1]) is None:
            sink.error(ap.span, f"{kind}:{ap.parts[0]} count '{ap.parts[1]}' is not a number",
                       f"'{kind}:{ap.parts[0]}:N' samples every N events")
            return None
        try:
            event = counter_event(kind, ap.parts[0], _positive(ap.parts[1]) if len(ap.parts) == 2 else None)
        except PerfEventSpecError as err:
            sink.error(ap.span, str(err))
            return None
        count = f":{_positive(ap.parts[1])}" if len(ap.parts) == 2 else ""
        name = f"{kind}:{ap.parts[0]}{count}"
        return [ResolvedProbe(kind, name, "perf_event", name, event.attach(), (name,), (), RegsContext())]
    return resolve


# ---- kfunc / kretfunc / rawtracepoint ------------------------------------------------------

def _resolve_kfunc(retprobe: bool):
    kind = "kretfunc" if retprobe else "kfunc"

    def resolve(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
        from .formats import btf as kbtf

        parts = [p for p in ap.parts if p]
        if len(parts) >= 2 and parts[0] == "bpf":
            sink.error(ap.span, f"{ap.provider}:bpf:... (tracing running BPF programs, bpftrace 0.24) "
                       "is not supported", f"trace kernel functions: {ap.provider}:FUNCTION")
            return None
        if len(parts) not in (1, 2):
            sink.error(ap.span, f"{kind} needs a function: '{kind}:FUNCTION'")
            return None
        func = parts[-1]
        if _GLOB.search(func):
            sink.error(ap.span, f"{kind} wildcards are not supported yet: name one function")
            return None
        try:
            params = kbtf.vmlinux_btf().func_params(func)
        except LookupError:
            sink.error(ap.span, f"no kernel function '{func}' in BTF")
            return None
        except (OSError, ValueError) as err:
            sink.error(ap.span, f"{ap.provider} probes need the kernel's BTF: {err}")
            return None
        args = tuple(FuncArg(p.name, p.slot, p.size, p.signed, p.is_pointer, p.type) for p in params)
        nslots = sum(p.slots for p in params)
        section = f"{'fexit' if retprobe else 'fentry'}/{func}"
        name = f"{kind}:{func}"
        return [ResolvedProbe(kind, name, section, func, {"func": func}, (name,), (func,),
                              ArgsArrayContext(args, nslots if retprobe else -1))]
    return resolve


def _resolve_rawtracepoint(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
    parts = [p for p in ap.parts if p]
    if len(parts) not in (1, 2):
        sink.error(ap.span, "rawtracepoint needs a tracepoint name: 'rawtracepoint:NAME'")
        return None
    name = parts[-1]
    full = f"rawtracepoint:{name}"
    return [ResolvedProbe("rawtracepoint", full, f"raw_tp/{name}", name, {"name": name}, (full,), (),
                          ArgsArrayContext(_raw_tracepoint_args(name)))]


def _raw_tracepoint_args(name: str) -> tuple[FuncArg, ...] | None:
    """`args.NAME` of a raw tracepoint (bpftrace 0.24) from the kernel's `btf_trace_NAME`
    typedef; None (argN only, as 0.17) without BTF or without the typedef."""
    from .formats import btf as kbtf

    try:
        params = kbtf.vmlinux_btf().raw_tracepoint_params(name)
    except (LookupError, OSError, ValueError):
        return None
    return tuple(FuncArg(p.name, p.slot, p.size, p.signed, p.is_pointer, p.type) for p in params)


# ---- watchpoint / asyncwatchpoint (compiler/watchpoints.py) --------------------------------

def _resolve_watchpoint(async_: bool):
    target = watchpoint_target(async_)

    def resolve(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
        got = target(ap, env, sink)
        if got is None:
            return None
        name, attach = got
        kind = "asyncwatchpoint" if async_ else "watchpoint"
        return [ResolvedProbe(kind, name, "perf_event", name, attach, (name,), (), WatchpointContext())]
    return resolve


# ---- iter (compiler/iterators.py) ----------------------------------------------------------

def _resolve_iter(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
    name = iter_target(ap, env, sink)
    if name is None:
        return None
    full = f"iter:{name}"
    return [ResolvedProbe("iter", full, f"iter/{name}", name, {"name": name}, (full,), (), IterContext(name))]


PROBE_KINDS: tuple[ProbeKind, ...] = (
    ProbeKind("BEGIN", PROBE_KIND_ALIASES["BEGIN"], _resolve_special("BEGIN"), "once, before every other probe", run_once=True),
    ProbeKind("END", PROBE_KIND_ALIASES["END"], _resolve_special("END"), "once, when the trace ends", run_once=True),
    ProbeKind("self", PROBE_KIND_ALIASES["self"], _resolve_self, "each time kt receives a signal (self:signal:SIGUSR1)",
              run_once=True),
    ProbeKind("tracepoint", PROBE_KIND_ALIASES["tracepoint"], _resolve_tracepoint, "a kernel tracepoint"),
    ProbeKind("kprobe", PROBE_KIND_ALIASES["kprobe"], _resolve_kprobe(False), "entry of a kernel function (+offset)",
              allows=frozenset({"override"})),
    ProbeKind("kretprobe", PROBE_KIND_ALIASES["kretprobe"], _resolve_kprobe(True), "return of a kernel function"),
    ProbeKind("uprobe", PROBE_KIND_ALIASES["uprobe"], resolve_uprobe(False), "entry of a user function"),
    ProbeKind("uretprobe", PROBE_KIND_ALIASES["uretprobe"], resolve_uprobe(True), "return of a user function"),
    ProbeKind("usdt", PROBE_KIND_ALIASES["usdt"], resolve_usdt, "a user statically defined tracepoint (SystemTap SDT)"),
    ProbeKind("interval", PROBE_KIND_ALIASES["interval"], _timer("interval"), "a timer on one CPU"),
    ProbeKind("profile", PROBE_KIND_ALIASES["profile"], _timer("profile"), "a timer on every CPU"),
    ProbeKind("software", PROBE_KIND_ALIASES["software"], _perf_counter("software"), "a software perf event"),
    ProbeKind("hardware", PROBE_KIND_ALIASES["hardware"], _perf_counter("hardware"), "a hardware perf event"),
    ProbeKind("kfunc", PROBE_KIND_ALIASES["kfunc"], _resolve_kfunc(False), "entry of a kernel function (BTF)",
              allows=frozenset({"path"})),
    ProbeKind("kretfunc", PROBE_KIND_ALIASES["kretfunc"], _resolve_kfunc(True), "return of a kernel function (BTF)",
              allows=frozenset({"path"})),
    ProbeKind("rawtracepoint", PROBE_KIND_ALIASES["rawtracepoint"], _resolve_rawtracepoint, "a raw kernel tracepoint"),
    ProbeKind("watchpoint", PROBE_KIND_ALIASES["watchpoint"], _resolve_watchpoint(False), "a hardware watchpoint on user memory"),
    ProbeKind("asyncwatchpoint", PROBE_KIND_ALIASES["asyncwatchpoint"], _resolve_watchpoint(True),
              "a watchpoint on a function's argument, armed without stopping the process"),
    ProbeKind("iter", PROBE_KIND_ALIASES["iter"], _resolve_iter, "a BPF iterator over kernel objects (tasks, open files)",
              alone=True),
    ProbeKind("tc", PROBE_KIND_ALIASES["tc"], resolve_tc, "packets an interface receives or sends (tc:DEV:ingress|egress)",
              allows=frozenset({"drop", "pass", "packet"})),
    ProbeKind("xdp", PROBE_KIND_ALIASES["xdp"], resolve_xdp, "packets an interface receives, before the stack (xdp:DEV)",
              allows=frozenset({"drop", "pass", "packet"})),
)

_BY_NAME = {alias: k for k in PROBE_KINDS for alias in (k.name, *k.aliases)}


def lookup(provider: str) -> ProbeKind | None:
    return _BY_NAME.get(provider) or _BY_NAME.get(canonical_kind(provider) or "")


def allows(kind: str, what: str) -> bool:
    """Whether probes of `kind` (a record's name) may call builtin `what` (see ProbeKind.allows)."""
    record = _BY_NAME.get(kind)
    return record is not None and what in record.allows


def provider_names() -> list[str]:
    return list(_BY_NAME)
