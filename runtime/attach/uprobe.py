"""uprobe:PATH:FUNC and uretprobe probes.

Why the PMU: since 4.17 a uprobe is one perf_event_open on the dynamic "uprobe" PMU — type
from /sys/bus/event_source/devices/uprobe/type, config1 = a pointer to the path (the kernel
copies it during the call), config2 = the file offset, the retprobe bit from format/retprobe
("config:0"), a USDT semaphore's offset in config bits 32-63 (format/ref_ctr_offset)
(kernel-facts §2, verified on the 6.18 host: 5/5 hits). The probe disappears with the fd, so
nothing can be left behind. Kernels without the PMU get the tracefs interface instead: a line
`p:uprobes/kt_<pid>_<n> PATH:0xOFF` in uprobe_events, attached as a tracepoint and removed
again when the link closes (`remove_stale_uprobe_events` clears what a killed kt left).

Which processes: pid -1 is every process that runs the file (opened on cpu 0: a uprobe event
runs its BPF programs from the probe handler whatever CPU it was opened for, as tracepoints,
and libbpf does the same); a pid restricts the breakpoint to that process's memory (`-p`).
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import re
from pathlib import Path

from ..sys.constants import PerfAttrFlag, PerfFlag, PerfType
from ..sys.fd import FdLike, OwnedFd
from ..sys.structs import PerfEventAttr
from ..sys.syscall import SyscallError, perf_event_open
from ..tracefs import TracefsError, tracefs_root
from . import AttachError
from .perf_link import PerfEventLink, attach_perf_event

__all__ = ["attach_uprobe", "uprobe_pmu_type", "UprobeEventLink", "remove_stale_uprobe_events",
           "UPROBE_PMU"]

UPROBE_PMU = Path("/sys/bus/event_source/devices/uprobe")
EVENT_GROUP = "uprobes"            # the kernel's default group for uprobe_events
_NAME_RE = re.compile(r"^kt_(\d+)_\d+$")
_counter = itertools.count()


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
                  legacy: bool | None = None) -> PerfEventLink | UprobeEventLink:
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
# tracefs uprobe_events (kernels without the uprobe PMU, before 4.17)

class UprobeEventLink:
    """A program attached to a uprobe made in tracefs: owns the perf link and the
    uprobe_events entry, which `close()` removes after detaching."""

    def __init__(self, link: PerfEventLink, event: str, events_file: Path) -> None:
        self.link = link
        self.event = event                 # "uprobes/kt_<pid>_<n>"
        self.events_file = events_file
        self._removed = False

    @property
    def uses_bpf_link(self) -> bool:
        return self.link.uses_bpf_link

    @property
    def description(self) -> str:
        return self.link.description

    def info(self):
        return self.link.info()

    def close(self) -> None:
        try:
            self.link.close()
        finally:
            if not self._removed:
                self._removed = True
                _remove_event(self.events_file, self.event)

    @property
    def closed(self) -> bool:
        return self._removed

    def __enter__(self) -> UprobeEventLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<UprobeEventLink {self.event} {self.link!r}>"


def _write_events(events_file: Path, line: str) -> None:
    # tracefs rejects Python's buffered append mode (EINVAL): one O_APPEND write (kernel-facts §2)
    fd = os.open(events_file, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    try:
        os.write(fd, line.encode() + b"\n")
    finally:
        os.close(fd)


def _remove_event(events_file: Path, event: str) -> None:
    try:
        _write_events(events_file, f"-:{event}")
    except FileNotFoundError:
        pass
    except OSError as e:
        if e.errno != errno.ENOENT:   # already gone
            raise


def _attach_tracefs(prog_fd: FdLike, path: str, offset: int, retprobe: bool, pid: int,
                    cookie: int) -> UprobeEventLink:
    what = _describe(path, offset, retprobe, pid)
    if any(c.isspace() for c in path):
        raise AttachError(errno.EINVAL, f"attach {what}: uprobe_events cannot name a path "
                                        f"with white space")
    try:
        root = tracefs_root()
    except TracefsError as e:
        raise AttachError(e.errno or errno.ENOENT, f"attach {what}: no uprobe PMU and {e}") from None
    events_file = root / "uprobe_events"
    name = f"kt_{os.getpid()}_{next(_counter)}"
    event = f"{EVENT_GROUP}/{name}"
    try:
        _write_events(events_file, f"{'r' if retprobe else 'p'}:{event} {path}:0x{offset:x}")
    except OSError as e:
        raise AttachError(e.errno or errno.EIO,
                          f"attach {what}: writing {events_file}: {os.strerror(e.errno or errno.EIO)}"
                          f"{_hint(e.errno or 0, path)}") from None
    try:
        event_id = int((root / "events" / EVENT_GROUP / name / "id").read_text().strip())
        attr = PerfEventAttr(type=int(PerfType.TRACEPOINT), size=ctypes.sizeof(PerfEventAttr),
                             config=event_id, sample_period=1, wakeup_events=1,
                             flags=int(PerfAttrFlag.DISABLED))
        try:
            fd = perf_event_open(attr, pid=pid, cpu=0 if pid < 0 else -1, group_fd=-1,
                                 flags=PerfFlag.FD_CLOEXEC)
        except SyscallError as e:
            raise AttachError(e.errno, f"attach {what}: {e}") from None
        link = attach_perf_event(prog_fd, OwnedFd(fd, f"perf_event {event}"), what, cookie)
    except BaseException:
        _remove_event(events_file, event)
        raise
    return UprobeEventLink(link, event, events_file)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_uprobe_events() -> list[str]:
    """Remove uprobe_events entries a kt process that no longer runs left behind (killed
    before it could clean up); returns their names. Entries of live kt processes and of other
    tools are kept."""
    try:
        events_file = tracefs_root() / "uprobe_events"
        lines = events_file.read_text().splitlines()
    except (TracefsError, OSError):
        return []
    removed = []
    for line in lines:
        head = line.split(None, 1)[0] if line.strip() else ""
        if ":" not in head:
            continue
        event = head.split(":", 1)[1]            # "uprobes/kt_123_0"
        name = event.rsplit("/", 1)[-1]
        m = _NAME_RE.match(name)
        if m is None or _alive(int(m.group(1))):
            continue
        try:
            _remove_event(events_file, event)
            removed.append(event)
        except OSError:
            pass    # busy (still attached elsewhere?): leave it
    return removed
