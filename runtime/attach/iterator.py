"""iter: probes: BPF iterators, linked with BPF_LINK_CREATE(BPF_TRACE_ITER) and run by reading.

Why a link and then a read: an iterator program is loaded against `bpf_iter_NAME` (the loader's
attach_btf_id) and linked with no target (target_fd 0, no iter_info: iter:task walks every task
of the machine). Nothing runs it until user space creates an iterator fd from the link
(BPF_ITER_CREATE, 5.8+) and reads it: each read() runs the program over the next batch of
objects, and read() returns 0 once all were seen. kt's printf() goes through its ring buffer as
in any probe, so the iterator's own text (bpf_seq_printf) is empty; whatever it holds is still
copied to stdout. The session runs `iterate()` once after BEGIN, as 0.17 does, then ends the
trace.
"""

from __future__ import annotations

import errno
import os
import sys

from ..sys.constants import ENOTSUPP, AttachType, BpfCmd
from ..sys.fd import FdLike, OwnedFd, raw_fd
from ..sys.structs import IterCreateAttr, LinkCreateAttr
from ..sys.syscall import SyscallError, bpf
from . import AttachError, BpfLink


def _explain(err: SyscallError, what: str) -> str:
    if err.errno == errno.EPERM:
        return f"the kernel refused {what}: {err} (BPF iterators need CAP_BPF and CAP_PERFMON, or root)"
    if err.errno in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP):
        return f"attach {what}: {err} (BPF iterators need kernel 5.8+)"
    return f"attach {what}: {err}"


class IterLink(BpfLink):
    """The iterator's link; ``iterate()`` runs the program over every object once."""

    def iterate(self, out=None) -> int:
        """Create an iterator and read it to the end; returns the bytes it produced (copied
        to ``out``, stdout by default)."""
        attr = IterCreateAttr(link_fd=self.link_fd.fd)
        try:
            fd = OwnedFd(bpf(BpfCmd.ITER_CREATE, attr), f"iterator {self.description}")
        except SyscallError as e:
            raise AttachError(e.errno, f"run {self.description}: {e}") from None
        total = 0
        with fd:
            while True:
                try:
                    chunk = os.read(fd.fd, 1 << 16)
                except OSError as e:
                    if e.errno == errno.EINTR:
                        continue
                    raise AttachError(e.errno, f"read {self.description}: {os.strerror(e.errno)}") from None
                if not chunk:
                    return total
                total += len(chunk)
                stream = out or sys.stdout.buffer
                stream.write(chunk)
                stream.flush()


def attach_iter(prog_fd: FdLike, name: str) -> IterLink:
    """iter:NAME — link the iterator program (loaded from section ``iter/NAME``)."""
    what = f"iter:{name}"
    attr = LinkCreateAttr(prog_fd=raw_fd(prog_fd), target_fd=0, attach_type=int(AttachType.TRACE_ITER))
    try:
        fd = bpf(BpfCmd.LINK_CREATE, attr)
    except SyscallError as e:
        raise AttachError(e.errno, _explain(e, what)) from None
    return IterLink(OwnedFd(fd, f"link {what}"), what)
