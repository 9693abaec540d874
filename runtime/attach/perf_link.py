"""Attaching a program to a perf event fd (tracepoints, kprobe/uprobe PMUs, software events).

Why shared: tracepoint, kprobe, uprobe and profile/interval probes all end the same way — a
perf event fd plus "run this program on it". Kernels 5.15+ offer a BPF link for that
(BPF_LINK_CREATE with attach_type BPF_PERF_EVENT, visible in ``bpftool link``); older ones only
the PERF_EVENT_IOC_SET_BPF ioctl. Either way the result owns both fds.
"""

from __future__ import annotations

import errno

from ..sys.constants import AttachType, BpfCmd, PerfIoctl
from ..sys.fd import FdLike, OwnedFd, raw_fd
from ..sys.info import LinkInfo, link_info
from ..sys.structs import LinkCreateAttr
from ..sys.syscall import SyscallError, bpf, ioctl
from . import AttachError


class PerfEventLink:
    """A program attached to a perf event. Owns the perf event fd and, when BPF links were
    available, the link fd. ``close()`` detaches (link first, then the event)."""

    def __init__(self, perf_fd: OwnedFd, link_fd: OwnedFd | None, description: str) -> None:
        self.perf_fd = perf_fd
        self.link_fd = link_fd
        self.description = description

    @property
    def uses_bpf_link(self) -> bool:
        return self.link_fd is not None

    def info(self) -> LinkInfo | None:
        """Kernel link info (id, prog_id), or None for an ioctl attachment."""
        return link_info(self.link_fd) if self.link_fd is not None else None

    def close(self) -> None:
        if self.link_fd is not None:
            self.link_fd.close()
        self.perf_fd.close()

    @property
    def closed(self) -> bool:
        return self.perf_fd.closed

    def __enter__(self) -> PerfEventLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        how = "bpf_link" if self.link_fd is not None else "ioctl"
        return f"<PerfEventLink {self.description} via {how}>"


# LINK_CREATE errors meaning "this kernel cannot make a perf_event link" (before 5.15 the
# attach type is unknown: EINVAL); anything else (EPERM, EBADF, ...) is a real error.
_NO_PERF_LINK = {errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS, 524}


def attach_perf_event(prog_fd: FdLike, perf_fd: OwnedFd, description: str,
                      cookie: int = 0) -> PerfEventLink:
    """Run ``prog_fd`` on every hit of ``perf_fd`` and enable the event. Takes ownership of
    ``perf_fd``: on failure it is closed, so a failed attach leaves nothing behind."""
    prog = raw_fd(prog_fd)
    link_fd: OwnedFd | None = None
    try:
        attr = LinkCreateAttr(prog_fd=prog, target_fd=perf_fd.fd,
                              attach_type=int(AttachType.PERF_EVENT))
        attr.perf_event.bpf_cookie = cookie
        try:
            link_fd = OwnedFd(bpf(BpfCmd.LINK_CREATE, attr), f"link {description}")
        except SyscallError as e:
            if e.errno not in _NO_PERF_LINK:
                raise
            if cookie:
                raise AttachError(e.errno, f"attach {description}: {e} (a BPF cookie needs "
                                           f"perf_event links, kernel 5.15+)") from None
            ioctl(perf_fd.fd, PerfIoctl.SET_BPF, prog)
        ioctl(perf_fd.fd, PerfIoctl.ENABLE, 0)
    except SyscallError as e:
        if link_fd is not None:
            link_fd.close()
        perf_fd.close()
        raise AttachError(e.errno, f"attach {description}: {e}") from None
    except BaseException:
        if link_fd is not None:
            link_fd.close()
        perf_fd.close()
        raise
    return PerfEventLink(perf_fd, link_fd, description)
