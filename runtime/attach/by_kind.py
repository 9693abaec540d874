"""From a `.kt.meta` probe entry to links: ONE adapter per probe kind.

Each adapter reads the entry's typed `attach` record (kt.compiler.formats.meta) (docs/object-format.md, "Probe kinds") and calls
its kind's attach module. With several targets, target i's link carries bpf_cookie i, which the
program reads for `probe` and `func`. Adapters return every link they made; if one target
fails, the links made so far are closed before the error propagates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...compiler.formats.meta import (
    FuncAttach, KprobeAttach, NameAttach, PacketAttach, PerfEventAttach, TracepointAttach, UprobeAttach,
    UprobeTarget, WatchpointAttach,
)
from . import Link


@dataclass(frozen=True, slots=True)
class AttachContext:
    pid: int = -1                 # -p PID: uprobes only fire in this process
    use_kprobe_multi: bool = False
    # KT_KPROBE_TRACEFS=1: kprobes through tracefs kprobe_events even where the kprobe PMU
    # exists (the interface of kernels without the PMU; the guest tests use it to check that
    # entries of a SIGKILLed kt are removed by the next run).
    kprobe_tracefs: bool = False
    # KT_UPROBE_TRACEFS=1: the same for uprobes (uprobe_events; not for a USDT semaphore,
    # which needs the PMU): the host's exit-path tests SIGKILL a kt holding such entries.
    uprobe_tracefs: bool = False
    # KT_TC_NETLINK=1: tc programs as clsact bpf filters through netlink even where tcx links
    # exist (the interface of kernels before 6.6; tests SIGKILL a kt holding such filters).
    tc_netlink: bool = False
    # KT_XDP_GENERIC=1: XDP links in generic (skb) mode, for a driver that refuses native XDP.
    xdp_generic: bool = False
    # Prints a line among the trace's output while it runs (text or JSON, as the session
    # prints); watchpoints report 0.17's "out of watchpoint registers" message through it.
    notice: Callable[[str], None] = print
    # Set for an entry whose targets are optional (.kt.meta "optional": one of several attach
    # points, or a wildcard's expansion): called with (target name, error) for a target that
    # cannot attach, which is then skipped as bpftrace 0.17 skips it. None: a failure is fatal.
    skip: Callable[[str, OSError], None] | None = None
    # Called with 1 after each target of a many-target entry attaches (the progress line of
    # runtime/attach/progress.py; the session counts the other entries' targets itself).
    attached: Callable[[int], None] = lambda n: None


def _all_or_nothing(make: list[Callable[[], Link]]) -> list[Link]:
    links: list[Link] = []
    try:
        for m in make:
            links.append(m())
    except BaseException:
        for link in reversed(links):
            link.close()
        raise
    return links


def _tracepoint(fd: int, a: TracepointAttach, ctx: AttachContext) -> list[Link]:
    from .tracepoint import attach_tracepoint
    return [attach_tracepoint(fd, a.category, a.name)]


def _kprobe(fd: int, a: KprobeAttach, ctx: AttachContext) -> list[Link]:
    from .kprobe import KprobeError, attach_kprobe, attach_kprobe_multi
    funcs = list(a.funcs)
    if ctx.use_kprobe_multi and len(funcs) > 1:
        return [attach_kprobe_multi(fd, funcs, a.retprobe, list(range(len(funcs))))]
    kind = "kretprobe" if a.retprobe else "kprobe"
    links: list[Link] = []
    try:
        for i, f in enumerate(funcs):
            try:
                links.append(attach_kprobe(fd, f, a.offset, a.retprobe, cookie=i,
                                           legacy=ctx.kprobe_tracefs))
                ctx.attached(1)
            except KprobeError as err:
                if ctx.skip is None:
                    raise
                ctx.skip(f"{kind}:{f}" + (f"+{a.offset}" if a.offset else ""), err)
    except BaseException:
        for link in reversed(links):
            link.close()
        raise
    return links


def _uprobe(fd: int, a: UprobeAttach, ctx: AttachContext) -> list[Link]:
    from .uprobe import attach_uprobe

    def one(t: UprobeTarget, i: int) -> Link:
        link = attach_uprobe(fd, a.path, t.offset, a.retprobe, pid=ctx.pid, cookie=i,
                             ref_ctr_offset=t.ref_ctr_offset,
                             legacy=True if ctx.uprobe_tracefs and not t.ref_ctr_offset else None)
        ctx.attached(1)
        return link
    return _all_or_nothing([(lambda t=t, i=i: one(t, i)) for i, t in enumerate(a.targets)])


def _perf_event(fd: int, a: PerfEventAttach, ctx: AttachContext) -> list[Link]:
    from .perf_event import attach_perf_event_prog
    return [attach_perf_event_prog(fd, a.type, a.config, period=a.period, freq=a.freq, cpus=a.cpus)]


def _fentry(fd: int, a: FuncAttach, ctx: AttachContext) -> list[Link]:
    from .tracing import attach_fentry
    return [attach_fentry(fd, a.func)]


def _fexit(fd: int, a: FuncAttach, ctx: AttachContext) -> list[Link]:
    from .tracing import attach_fexit
    return [attach_fexit(fd, a.func)]


def _rawtracepoint(fd: int, a: NameAttach, ctx: AttachContext) -> list[Link]:
    from .tracing import attach_raw_tracepoint
    return [attach_raw_tracepoint(fd, a.name)]


def _watchpoint(fd: int, a: WatchpointAttach, ctx: AttachContext) -> list[Link]:
    from .watchpoint import attach_function_watchpoint, attach_watchpoint
    if a.func is not None:   # FUNC+argN: armed at run time from a uprobe on FUNC
        return [attach_function_watchpoint(fd, a, a.pid, ctx.notice)]
    return [attach_watchpoint(fd, a.addr, a.len, a.bp_type, pid=a.pid)]


def _iter(fd: int, a: NameAttach, ctx: AttachContext) -> list[Link]:
    from .iterator import attach_iter
    return [attach_iter(fd, a.name)]


def _tc(fd: int, a: PacketAttach, ctx: AttachContext) -> list[Link]:
    from .packet import attach_tc
    return [attach_tc(fd, a.ifname, a.direction, netlink=ctx.tc_netlink)]


def _xdp(fd: int, a: PacketAttach, ctx: AttachContext) -> list[Link]:
    from .packet import attach_xdp
    return [attach_xdp(fd, a.ifname, generic=ctx.xdp_generic)]


ATTACH: dict[str, Callable[[int, object, AttachContext], list[Link]]] = {
    "tracepoint": _tracepoint,
    "kprobe": _kprobe,
    "kretprobe": _kprobe,
    "uprobe": _uprobe,
    "uretprobe": _uprobe,
    "usdt": _uprobe,   # a USDT site is a uprobe; a semaphore is the probe's ref_ctr_offset
    "interval": _perf_event,
    "profile": _perf_event,
    "software": _perf_event,
    "hardware": _perf_event,
    "kfunc": _fentry,
    "kretfunc": _fexit,
    "rawtracepoint": _rawtracepoint,
    "watchpoint": _watchpoint,
    "asyncwatchpoint": _watchpoint,
    "iter": _iter,
    "tc": _tc,
    "xdp": _xdp,
}
