"""Where tracefs lives, and tracepoint ids.

Why: tracepoint attachment needs the event id from ``events/<category>/<name>/id`` and the
compiler reads ``.../format`` from the same tree. Modern kernels mount tracefs at
/sys/kernel/tracing; older setups only have it under debugfs at /sys/kernel/debug/tracing; a
freshly booted minimal system (a VM, a container) may have neither mounted. One function
decides, for both compiler and runtime.
"""

from __future__ import annotations

import errno
from pathlib import Path

from .sys.syscall import SyscallError, mount

TRACEFS = Path("/sys/kernel/tracing")
DEBUGFS_TRACING = Path("/sys/kernel/debug/tracing")

_root: Path | None = None


class TracefsError(OSError):
    """tracefs is missing or an event does not exist; the message says which path."""

    def __str__(self) -> str:
        return str(self.strerror)


def _is_mounted(path: Path) -> bool:
    # An unmounted /sys/kernel/tracing is an empty directory; mounted, it has "events".
    return (path / "events").is_dir()


def tracefs_root() -> Path:
    """The tracefs mount point, mounting tracefs at /sys/kernel/tracing if none is mounted.

    Prefers /sys/kernel/tracing (4.1+), then the debugfs path. The result is cached once found.
    """
    global _root
    if _root is not None and _is_mounted(_root):
        return _root
    for candidate in (TRACEFS, DEBUGFS_TRACING):
        if _is_mounted(candidate):
            _root = candidate
            return candidate
    if TRACEFS.is_dir():
        try:
            mount("tracefs", str(TRACEFS), "tracefs")
        except SyscallError as e:
            raise TracefsError(e.errno, f"tracefs is not mounted and mounting it at {TRACEFS} "
                                        f"failed: {e}") from None
        if _is_mounted(TRACEFS):
            _root = TRACEFS
            return TRACEFS
    raise TracefsError(errno.ENOENT, f"neither {TRACEFS} nor {DEBUGFS_TRACING} is mounted, and "
                                     f"there is no {TRACEFS} to mount it on (a kernel without "
                                     f"CONFIG_TRACING?)")


def _check_component(kind: str, value: str) -> None:
    if not value or "/" in value or value in (".", ".."):
        raise ValueError(f"invalid tracepoint {kind} {value!r}")


def event_dir(category: str, name: str) -> Path:
    """``events/<category>/<name>`` under tracefs (not checked for existence)."""
    _check_component("category", category)
    _check_component("name", name)
    return tracefs_root() / "events" / category / name


def event_id(category: str, name: str) -> int:
    """The perf event id of tracepoint ``category:name`` (perf_event_attr.config)."""
    path = event_dir(category, name) / "id"
    try:
        return int(path.read_text().strip())
    except FileNotFoundError:
        raise TracefsError(errno.ENOENT,
                           f"tracepoint {category}:{name} does not exist (no {path})") from None
    except OSError as e:
        raise TracefsError(e.errno or errno.EIO,
                           f"cannot read tracepoint id {path}: {e.strerror}") from None
