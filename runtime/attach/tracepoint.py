"""tracepoint:CATEGORY:NAME probes.

Why one perf event: a BPF program attached through a tracepoint perf event is hooked onto the
tracepoint itself (trace_event_call->prog_array, run by perf_trace_run_bpf_submit before any
per-CPU/per-task event matching), so an event opened with pid=-1 on cpu 0 runs the program for
every task on every CPU; one fd per tracepoint suffices (kernel-facts §2, verified).
"""

from __future__ import annotations

import ctypes

from ..sys.constants import PerfAttrFlag, PerfFlag, PerfType
from ..sys.fd import FdLike, OwnedFd
from ..sys.structs import PerfEventAttr
from ..sys.syscall import SyscallError, perf_event_open
from ..tracefs import event_id
from . import AttachError
from .perf_link import PerfEventLink, attach_perf_event


def open_tracepoint_event(category: str, name: str) -> OwnedFd:
    """perf_event_open(PERF_TYPE_TRACEPOINT, config=<tracefs id>), created disabled so it only
    starts once a program is attached."""
    tp_id = event_id(category, name)
    attr = PerfEventAttr(type=int(PerfType.TRACEPOINT), size=ctypes.sizeof(PerfEventAttr),
                         config=tp_id, sample_period=1, wakeup_events=1,
                         flags=int(PerfAttrFlag.DISABLED))
    try:
        fd = perf_event_open(attr, pid=-1, cpu=0, group_fd=-1, flags=PerfFlag.FD_CLOEXEC)
    except SyscallError as e:
        raise AttachError(e.errno, f"attach tracepoint {category}:{name}: {e}") from None
    return OwnedFd(fd, f"perf_event tracepoint {category}:{name}")


def attach_tracepoint(prog_fd: FdLike, category: str, name: str,
                      cookie: int = 0) -> PerfEventLink:
    """Attach a TRACEPOINT program to ``category:name``; ``close()`` the result to detach."""
    pfd = open_tracepoint_event(category, name)
    return attach_perf_event(prog_fd, pfd, f"tracepoint {category}:{name}", cookie)
