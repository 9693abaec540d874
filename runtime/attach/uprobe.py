"""uprobe:PATH:FUNC and uretprobe probes.

Why the PMU: since 4.17 a uprobe is one perf_event_open on the dynamic "uprobe" PMU — type
from /sys/bus/event_source/devices/uprobe/type, config1 = a pointer to the path (the kernel
copies it during the call), config2 = the file offset, the retprobe bit from format/retprobe
("config:0"), a USDT semaphore's offset in config bits 32-63 (format/ref_ctr_offset)
(kernel-facts §2, verified on the 6.18 host: 5/5 hits). The probe disappears with the fd, so
nothing can be left behind. Kernels without the PMU get the tracefs interface instead: a line
`p:uprobes/kt_<pid>_<start>_<n> PATH:0xOFF` in uprobe_events, attached as a tracepoint and
removed again when the link closes (runtime/attach/dynamic_events.py, shared with
kprobe_events: its `sweep_stale` clears what a killed kt left).

Which processes: pid -1 is every process that runs the file (opened on cpu 0: a uprobe event
runs its BPF programs from the probe handler whatever CPU it was opened for, as tracepoints,
and libbpf does the same); a pid restricts the breakpoint to that process's memory (`-p`).
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
from pathlib import Path

from ..sys.constants import PerfAttrFlag, PerfFlag
from ..sys.fd import FdLike, OwnedFd
from ..sys.structs import PerfEventAttr
from ..sys.syscall import SyscallError, perf_event_open
from ..tracefs import TracefsError
from . import AttachError, dynamic_events
from .dynamic_events import UPROBE_EVENTS, DynamicEventLink
from .perf_link import PerfEventLink, attach_perf_event

__all__ = ["attach_uprobe", "uprobe_pmu_type", "UPROBE_PMU"]

UPROBE_PMU = Path("/sys/bus/event_source/devices/uprobe")
EVENT_GROUP = "uprobes"            # the kernel's default group for uprobe_events


def uprobe_pmu_type(pmu: Path = UPROBE_PMU) -> int | None:
    """The uprobe PMU's perf type (8 on the host), or None when the kernel has none."""
    try:
        return int((pmu / "type").read_text().strip())
    except (OSError, ValueError):
        return None


def _format_bit(pmu: Path, name: str, default: int) -> int:
    """First bit of a PMU format field: format/retprobe reads "config:0"."""
    try:
        text = (pmu / "format" / name).read_text().strip()
    except OSError:
        return default
    m = re.fullmatch(r"config:(\d+)(?:-\d+)?", text)
    return int(m.group(1)) if m else default


def _describe(path: str, offset: int, retprobe: bool, pid: int) -> str:
    kind = "uretprobe" if retprobe else "uprobe"
    return f"{kind} {path}:0x{offset:x}" + (f" (pid {pid})" if pid >= 0 else "")


def _check_args(path: str, offset: int) -> None:
    if not path.startswith("/"):
        raise ValueError(f"uprobe path must be absolute, not {path!r}")
    if offset < 0:
        raise ValueError(f"uprobe offset must not be negative: {offset}")


def attach_uprobe(prog_fd: FdLike, path: str, offset: int, retprobe: bool = False,
                  pid: int = -1, cookie: int = 0, ref_ctr_offset: int = 0,
                  legacy: bool | None = None) -> PerfEventLink | DynamicEventLink:
    """Run KPROBE program `prog_fd` when `path` executes its byte at file `offset` (on return
    from the function there, with `retprobe`), in process `pid` or in all (-1); the link
    carries `cookie` (bpf_get_attach_cookie). `legacy` forces (True) or forbids (False) the
    tracefs interface; by default it is used only without the uprobe PMU. `close()` the
    result to detach; a failure leaves nothing attached."""
    _check_args(path, offset)
    pmu_type = uprobe_pmu_type()
    if legacy is None:
        legacy = pmu_type is None
    if not legacy:
        if pmu_type is None:
            raise AttachError(errno.ENOENT, f"attach {_describe(path, offset, retprobe, pid)}: "
                                            f"this kernel has no uprobe PMU ({UPROBE_PMU})")
        pfd = _open_pmu_event(pmu_type, path, offset, retprobe, pid, ref_ctr_offset)
        return attach_perf_event(prog_fd, pfd, _describe(path, offset, retprobe, pid), cookie)
    if ref_ctr_offset:
        raise AttachError(errno.EOPNOTSUPP, f"attach {_describe(path, offset, retprobe, pid)}: "
                                            f"a USDT semaphore needs the uprobe PMU (4.20+)")
    return _attach_tracefs(prog_fd, path, offset, retprobe, pid, cookie)


def _open_pmu_event(pmu_type: int, path: str, offset: int, retprobe: bool, pid: int,
                    ref_ctr_offset: int) -> OwnedFd:
    config = 0
    if retprobe:
        config |= 1 << _format_bit(UPROBE_PMU, "retprobe", 0)
    if ref_ctr_offset:
        config |= ref_ctr_offset << _format_bit(UPROBE_PMU, "ref_ctr_offset", 32)
    cpath = ctypes.create_string_buffer(os.fsencode(path))
    attr = PerfEventAttr(type=pmu_type, size=ctypes.sizeof(PerfEventAttr), config=config,
                         sample_period=1, wakeup_events=1, flags=int(PerfAttrFlag.DISABLED),
                         config1=ctypes.addressof(cpath), config2=offset)
    try:
        fd = perf_event_open(attr, pid=pid, cpu=0 if pid < 0 else -1, group_fd=-1,
                             flags=PerfFlag.FD_CLOEXEC)
    except SyscallError as e:
        raise AttachError(e.errno, f"attach {_describe(path, offset, retprobe, pid)}: "
                                   f"{e}{_hint(e.errno, path)}") from None
    return OwnedFd(fd, f"perf_event {_describe(path, offset, retprobe, pid)}")


def _hint(err: int, path: str) -> str:
    if err == errno.ENOENT:
        return f" ({path} does not exist)"
    if err == errno.EINVAL:
        return " (the offset is not inside the file's code, or not an instruction boundary)"
    if err == errno.ESRCH:
        return " (no such process)"
    return ""


# ---------------------------------------------------------------------------------------------
# tracefs uprobe_events (kernels without the uprobe PMU, before 4.17): dynamic_events.py

def _attach_tracefs(prog_fd: FdLike, path: str, offset: int, retprobe: bool, pid: int,
                    cookie: int) -> DynamicEventLink:
    what = _describe(path, offset, retprobe, pid)
    if any(c.isspace() for c in path):
        raise AttachError(errno.EINVAL, f"attach {what}: uprobe_events cannot name a path "
                                        f"with white space")
    try:
        return dynamic_events.attach_dynamic_event(prog_fd, UPROBE_EVENTS, EVENT_GROUP, retprobe,
                                                   f"{path}:0x{offset:x}", what, cookie, pid)
    except TracefsError as e:
        raise AttachError(e.errno or errno.ENOENT, f"attach {what}: no uprobe PMU and {e}") from None
    except dynamic_events.TracefsWriteError as e:
        raise AttachError(e.errno or errno.EIO, f"attach {what}: {e}{_hint(e.errno or 0, path)}") from None
