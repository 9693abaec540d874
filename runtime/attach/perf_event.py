"""profile:, interval:, software: and hardware: probes: a PERF_EVENT program on sampling events.

Why one event per CPU: unlike a tracepoint (where the program hangs on the tracepoint itself),
a sampling event only overflows on the CPU it counts on, so `profile:hz:99` needs one event on
every online CPU (a CPU that is offline now cannot be opened: ENODEV). `interval:` fires on CPU
0 only (bpftrace does the same): one timer is enough for periodic output. The program runs from
the event's overflow handler (perf_event_output -> bpf_overflow_handler), so it can be linked
with BPF_LINK_CREATE(BPF_PERF_EVENT) like any perf event (perf_link.attach_perf_event; the
SET_BPF ioctl on kernels before 5.15). All of a probe's events are owned by one Link.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterable

from ...compiler.formats.perf_events import PERF_TYPE_HARDWARE, describe
from ..sys.constants import PerfAttrFlag, PerfFlag
from ..sys.cpus import online_cpus
from ..sys.fd import FdLike, OwnedFd
from ..sys.info import LinkInfo
from ..sys.structs import PerfEventAttr
from ..sys.syscall import SyscallError, perf_event_open
from . import AttachError
from .perf_link import PerfEventLink, attach_perf_event


class PerfEventUnavailable(AttachError):
    """The machine cannot count this event at all (no hardware PMU, or an event the PMU
    does not have). Not a bug in the script or in kt; the message says which event."""


class PerfEventGroupLink:
    """One probe's perf events (one per CPU) with the program attached to each. ``close()``
    detaches every one (newest first); it is idempotent."""

    def __init__(self, links: list[PerfEventLink], description: str) -> None:
        self.links = links
        self.description = description

    @property
    def cpus(self) -> int:
        return len(self.links)

    @property
    def uses_bpf_link(self) -> bool:
        return all(link.uses_bpf_link for link in self.links)

    @property
    def closed(self) -> bool:
        return all(link.closed for link in self.links)

    def infos(self) -> list[LinkInfo]:
        """Kernel link info of each CPU's BPF link (empty for ioctl attachments)."""
        return [i for link in self.links if (i := link.info()) is not None]

    def close(self) -> None:
        first: BaseException | None = None
        while self.links:
            link = self.links.pop()
            try:
                link.close()
            except Exception as e:  # keep closing the others
                first = first or e
        if first is not None:
            raise first

    def __enter__(self) -> PerfEventGroupLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PerfEventGroupLink {self.description} on {len(self.links)} CPU(s)>"


def _cpus_for(cpus: str | Iterable[int]) -> list[int]:
    if cpus == "all":
        return online_cpus()
    if cpus == "one":
        return [0]
    if isinstance(cpus, str):
        raise ValueError(f"cpus must be 'all', 'one' or a list of CPU numbers, not {cpus!r}")
    return list(cpus)


def _explain(err: SyscallError, perf_type: int, what: str, freq: int | None) -> AttachError:
    e = err.errno
    if perf_type == PERF_TYPE_HARDWARE and e in (errno.ENOENT, errno.ENODEV):
        # kernel/events/core.c perf_init_event(): no PMU takes PERF_TYPE_HARDWARE -> ENOENT.
        return PerfEventUnavailable(e, f"attach {what}: this machine has no hardware PMU "
                                       f"({err}); virtual machines often have none: use a "
                                       f"software event or profile: instead")
    if perf_type == PERF_TYPE_HARDWARE and e == errno.EOPNOTSUPP:
        # A PMU without a sampling interrupt refuses a sample period (x86 "no PMU IRQ").
        return PerfEventUnavailable(e, f"attach {what}: this machine's hardware PMU cannot "
                                       f"sample this event ({err})")
    if e == errno.ENOENT:
        return PerfEventUnavailable(e, f"attach {what}: the kernel does not know this event "
                                       f"({err})")
    if e == errno.EINVAL and freq is not None:
        return AttachError(e, f"attach {what}: {err} (a frequency above "
                              f"/proc/sys/kernel/perf_event_max_sample_rate is refused)")
    if e in (errno.EACCES, errno.EPERM):
        return AttachError(e, f"attach {what}: {err} (needs root or CAP_PERFMON; "
                              f"/proc/sys/kernel/perf_event_paranoid may forbid it)")
    return AttachError(e, f"attach {what}: {err}")


def open_sampling_event(perf_type: int, config: int, cpu: int, *, period: int | None = None,
                        freq: int | None = None, pid: int = -1,
                        description: str | None = None) -> OwnedFd:
    """perf_event_open one sampling event on ``cpu`` (for task ``pid``, or every task with
    -1), created disabled so that it only starts once a program is attached. Exactly one of
    ``period`` (sample every N events / ns) and ``freq`` (N samples a second; the kernel
    adjusts the period) is given."""
    what = description or describe(perf_type, config)
    if (period is None) == (freq is None):
        raise ValueError(f"{what}: give exactly one of period and freq")
    flags = PerfAttrFlag.DISABLED
    if freq is not None:
        flags |= PerfAttrFlag.FREQ
    value = freq if freq is not None else period
    if value is None or value <= 0:
        raise ValueError(f"{what}: the sample period or frequency must be positive, "
                         f"not {value}")
    attr = PerfEventAttr(type=perf_type, size=ctypes.sizeof(PerfEventAttr), config=config,
                         sample_period=value, flags=int(flags))
    try:
        fd = perf_event_open(attr, pid=pid, cpu=cpu, group_fd=-1, flags=PerfFlag.FD_CLOEXEC)
    except SyscallError as e:
        if e.errno == errno.ENODEV:
            raise AttachError(e.errno, f"attach {what}: cpu {cpu} is not online ({e})") \
                from None
        raise _explain(e, perf_type, what, freq) from None
    return OwnedFd(fd, f"perf_event {what} cpu {cpu}")


def attach_perf_event_prog(prog_fd: FdLike, type: int, config: int,
                           period: int | None = None, freq: int | None = None,
                           cpus: str | Iterable[int] = "all", pid: int = -1, cookie: int = 0,
                           description: str | None = None) -> PerfEventGroupLink:
    """Run PERF_EVENT program ``prog_fd`` on every sample of event (type, config), on every
    online CPU (``cpus="all"``), on CPU 0 only (``"one"``) or on the CPUs listed; ``pid``
    restricts the events to one task (-1: every task). ``cookie`` is the BPF cookie of every
    link (needs perf_event links, 5.15+). Returns one Link owning all the events; when any
    CPU fails, the events opened so far are closed again and AttachError is raised
    (PerfEventUnavailable when the machine cannot count the event at all)."""
    what = description or describe(type, config)
    cpu_list = _cpus_for(cpus)
    if not cpu_list:
        raise AttachError(errno.ENODEV, f"attach {what}: no CPU to open the event on")
    links: list[PerfEventLink] = []
    try:
        for cpu in cpu_list:
            pfd = open_sampling_event(type, config, cpu, period=period, freq=freq, pid=pid,
                                      description=what)
            # attach_perf_event owns pfd from here on (closes it when it fails).
            links.append(attach_perf_event(prog_fd, pfd, f"{what} cpu {cpu}", cookie))
    except BaseException:
        for link in reversed(links):
            link.close()
        raise
    return PerfEventGroupLink(links, what)
