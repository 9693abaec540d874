"""Owned file descriptors.

Why: every kernel object kt creates (BTF, map, program, perf event, link) lives exactly as long
as some fd refers to it. Wrapping each fd in an object with ``close()``, a context manager and a
``weakref.finalize`` fallback means an exception or a forgotten reference cannot leave a program
attached after kt is gone, and tests can check that nothing is left behind.
"""

from __future__ import annotations

import os
import weakref


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class OwnedFd:
    """Sole owner of one file descriptor. ``close()`` is idempotent; the finalizer closes the
    fd if the owner is garbage-collected (or at interpreter exit) without ``close()``."""

    __slots__ = ("_fd", "what", "_finalizer", "__weakref__")

    def __init__(self, fd: int, what: str = "fd") -> None:
        if fd < 0:
            raise ValueError(f"invalid fd {fd} for {what}")
        self._fd = fd
        self.what = what
        self._finalizer = weakref.finalize(self, _close_quietly, fd)

    @property
    def fd(self) -> int:
        """The descriptor number; raises ValueError once closed (catches use-after-close)."""
        if self._fd < 0:
            raise ValueError(f"{self.what} is closed")
        return self._fd

    def fileno(self) -> int:
        """So that select/epoll/mmap accept an OwnedFd directly."""
        return self.fd

    def __int__(self) -> int:
        return self.fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        if self._fd >= 0:
            self._fd = -1
            self._finalizer()  # runs os.close exactly once, then detaches

    def __enter__(self) -> OwnedFd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._fd < 0 else f"fd={self._fd}"
        return f"<OwnedFd {self.what} {state}>"


FdLike = OwnedFd | int


def raw_fd(fd: FdLike) -> int:
    """The integer behind an OwnedFd or a plain int (for APIs that borrow an fd)."""
    return fd.fd if isinstance(fd, OwnedFd) else int(fd)
