"""tracefs dynamic events: the kprobe_events and uprobe_events entries kt makes.

Why one module: kernels without the kprobe/uprobe PMU (before 4.17), and kt when told to
(`legacy=True`), make probes by writing a command to tracefs: `p:GROUP/NAME TARGET` (or `r:`
for a return probe), attach `events/GROUP/NAME/id` as a tracepoint perf event, and write
`-:GROUP/NAME` when done. Both files take the same commands, are written the same way and
list their entries the same way; above all such an entry outlives the process that made it,
unlike a PMU event, which dies with its fd. So every entry kt writes:

- is owned by a DynamicEventLink, which removes it on close() (and from a finalizer);
- is named `kt_<pid>_<start>_<n>`: the creating kt's pid, its start time (field 22 of
  /proc/PID/stat, which tells it from a later process reusing the pid) and a counter. A later
  kt's `sweep_stale()` removes the entries whose creator is gone (a SIGKILLed kt) and never
  those of a live kt or of another tool.

Writes are one O_APPEND write(2): Python's buffered append mode seeks to the end, which
tracefs refuses with EINVAL (kernel-facts §2). A rejected command's explanation is in
tracefs `error_log` (5.4+) and is quoted in the error. Removing an entry right after its last
perf fd closed may answer EBUSY (the event is released asynchronously): retried for 2 s.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import re
import threading
import time
import weakref
from pathlib import Path

from ..sys.constants import PerfAttrFlag, PerfFlag, PerfType
from ..sys.fd import FdLike, OwnedFd
from ..sys.info import LinkInfo
from ..sys.structs import PerfEventAttr
from ..sys.syscall import SyscallError, errno_name, perf_event_open
from ..tracefs import TracefsError, event_id, tracefs_root
from . import AttachError
from .perf_link import PerfEventLink, attach_perf_event

KPROBE_EVENTS = "kprobe_events"
UPROBE_EVENTS = "uprobe_events"

_counter = itertools.count()
_counter_lock = threading.Lock()
_KT_NAME = re.compile(r"kt_(\d+)_(\d+)_\d+")
_EVENT_LINE = re.compile(r"([pr])\d*:([^/\s]+)/(\S+)")   # "p:kprobes/kt_1_2_0 vfs_read", "r10:..."
_BUSY_RETRY_S = 2.0


class TracefsWriteError(OSError):
    """A write to a tracefs control file failed; the message quotes the command and the
    kernel's error_log explanation."""

    def __str__(self) -> str:
        return str(self.strerror)


# --- names -------------------------------------------------------------------------------------

def start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat: the process's start time in clock ticks since boot. None if
    there is no such pid, or only its zombie: a SIGKILLed kt whose parent has not reaped it yet
    holds no file descriptors any more, so what it attached is already orphaned."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):   # field 3, the state: zombie, dead
        return None
    return int(fields[19])


def new_event_name() -> str:
    """A name no other entry has: kt_<pid>_<start>_<n>."""
    pid = os.getpid()
    with _counter_lock:
        n = next(_counter)
    return f"kt_{pid}_{start_time(pid) or 0}_{n}"


def is_stale_event_name(name: str) -> bool:
    """True for a kt entry name whose creating process is gone: no process has that pid, or
    the one that has it started at another time (pid reuse). Start time 0 means unknown."""
    owner = _KT_NAME.fullmatch(name)
    if not owner:
        return False
    pid, start = int(owner.group(1)), int(owner.group(2))
    now = start_time(pid)
    if now is None:
        return True
    return start != 0 and now != start


# --- the control files ---------------------------------------------------------------------------

def events_path(file: str) -> Path:
    """tracefs `kprobe_events` or `uprobe_events` (TracefsError without tracefs)."""
    return tracefs_root() / file


def write_command(file: str, line: str) -> None:
    """Append one command to `file` (KPROBE_EVENTS or UPROBE_EVENTS); TracefsWriteError."""
    path = events_path(file)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except OSError as e:
        raise TracefsWriteError(e.errno, f"open({path}): {e.strerror} ({errno_name(e.errno)})") from None
    try:
        os.write(fd, line.encode() + b"\n")
    except OSError as e:
        detail = _last_error_log_line()
        raise TracefsWriteError(e.errno, f"write({path}, {line!r}): {e.strerror} "
                                         f"({errno_name(e.errno)})"
                                         + (f": {detail}" if detail else "")) from None
    finally:
        os.close(fd)


def _last_error_log_line() -> str:
    try:
        lines = (tracefs_root() / "error_log").read_text().strip().splitlines()
    except (OSError, TracefsError):
        return ""
    # "[  12.3] trace_kprobe: error: Invalid symbol" followed by the command and a caret line.
    for line in reversed(lines):
        if "error:" in line:
            return line.split("error:", 1)[1].strip()
    return ""


def remove_event(file: str, group: str, name: str) -> None:
    """Delete an entry; ENOENT (already gone) is fine, EBUSY is retried for a while."""
    deadline = time.monotonic() + _BUSY_RETRY_S
    while True:
        try:
            write_command(file, f"-:{group}/{name}")
            return
        except OSError as e:
            if e.errno == errno.ENOENT:
                return
            if e.errno == errno.EBUSY and time.monotonic() < deadline:
                time.sleep(0.02)
                continue
            raise


def _entries(file: str) -> list[tuple[str, str]]:
    """(group, name) of every entry of `file`; [] without tracefs or the file."""
    try:
        text = events_path(file).read_text()
    except (OSError, TracefsError):
        return []
    out = []
    for line in text.splitlines():
        m = _EVENT_LINE.match(line.strip())
        if m:
            out.append((m.group(2), m.group(3)))
    return out


def kt_events(file: str) -> list[str]:
    """`group/name` of every entry of `file` that a kt made (any kt, live or not)."""
    return [f"{g}/{n}" for g, n in _entries(file) if _KT_NAME.fullmatch(n)]


def sweep_stale(file: str) -> list[str]:
    """Delete the entries of `file` whose kt is gone; returns their `group/name`. Entries of
    live kt processes and everybody else's stay; one that cannot be removed (still busy) is
    skipped."""
    removed = []
    for group, name in _entries(file):
        if not is_stale_event_name(name):
            continue
        try:
            remove_event(file, group, name)
        except OSError:
            continue
        removed.append(f"{group}/{name}")
    return removed


# --- one entry, one link ---------------------------------------------------------------------------

def _cleanup(link: PerfEventLink, file: str, group: str, name: str) -> None:
    """The finalizer: detach, then remove the entry (quietly: it may run at interpreter exit)."""
    try:
        link.close()
        remove_event(file, group, name)
    except Exception:
        pass


class DynamicEventLink:
    """A program attached to a kprobe_events/uprobe_events entry. Owns the perf event link and
    the entry: ``close()`` detaches, then deletes the entry."""

    def __init__(self, link: PerfEventLink, file: str, group: str, name: str, description: str) -> None:
        self.link = link
        self.file = file
        self.group = group
        self.event_name = name
        self.description = description
        self._closed = False
        self._finalizer = weakref.finalize(self, _cleanup, link, file, group, name)

    @property
    def event(self) -> str:
        """"group/name", as tracefs lists it."""
        return f"{self.group}/{self.event_name}"

    @property
    def uses_bpf_link(self) -> bool:
        return self.link.uses_bpf_link

    def info(self) -> LinkInfo | None:
        return self.link.info()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        try:
            self.link.close()
        finally:
            try:
                remove_event(self.file, self.group, self.event_name)
            except OSError as e:
                raise AttachError(e.errno, f"detach {self.description}: cannot remove "
                                           f"{self.event} from {self.file}: {e}") from None

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> DynamicEventLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<DynamicEventLink {self.description} as {self.event}>"


def attach_dynamic_event(prog_fd: FdLike, file: str, group: str, retprobe: bool, target: str,
                         what: str, cookie: int = 0, pid: int = -1) -> DynamicEventLink:
    """Write `p:GROUP/NAME TARGET` (`r:` with `retprobe`) to `file`, open the event for `pid`
    (-1: every process, opened on cpu 0 like every tracepoint; the program runs from the
    probe handler whatever the CPU) and attach program `prog_fd` with `cookie`. `what` names
    the probe in errors. Raises TracefsWriteError (an OSError, for the caller's hints) when
    the kernel refuses the command, AttachError after that; a failure leaves nothing behind."""
    name = new_event_name()
    write_command(file, f"{'r' if retprobe else 'p'}:{group}/{name} {target}")
    try:
        pfd = _open_event(group, name, what, pid)
        link = attach_perf_event(prog_fd, pfd, what, cookie)   # closes pfd if it fails
    except BaseException as e:
        try:
            remove_event(file, group, name)
        except OSError as e2:
            raise AttachError(e2.errno, f"attach {what} failed ({e}), and removing "
                                        f"{group}/{name} failed too: {e2}") from None
        if isinstance(e, OSError) and not isinstance(e, AttachError):
            raise AttachError(e.errno, f"attach {what}: {e}") from None
        raise
    return DynamicEventLink(link, file, group, name, what)


def _open_event(group: str, name: str, what: str, pid: int) -> OwnedFd:
    attr = PerfEventAttr(type=int(PerfType.TRACEPOINT), size=ctypes.sizeof(PerfEventAttr),
                         config=event_id(group, name), sample_period=1, wakeup_events=1,
                         flags=int(PerfAttrFlag.DISABLED))
    try:
        fd = perf_event_open(attr, pid=pid, cpu=0 if pid < 0 else -1, group_fd=-1,
                             flags=PerfFlag.FD_CLOEXEC)
    except SyscallError as e:
        raise AttachError(e.errno, f"attach {what}: {e}") from None
    return OwnedFd(fd, f"perf_event {group}/{name}")
