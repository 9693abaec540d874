"""kfunc:/kretfunc: (fentry/fexit) and rawtracepoint: probes: programs attached by BTF id or
raw tracepoint name, with no perf event in between.

Why a module apart from perf events: these attachments are BPF links of their own. An
fentry/fexit program was loaded against its function already (prog_load attach_btf_id, see
loader.attach_btf_id), so attaching only names the attach type: BPF_LINK_CREATE with
attach_type FENTRY/FEXIT and target_fd = target_btf_id = 0 (5.13+; the kernel then uses the
program's own attach_btf_id), or BPF_RAW_TRACEPOINT_OPEN with name = NULL on 5.5-5.12, which
the kernel routes to bpf_tracing_prog_attach for TRACING programs. A RAW_TRACEPOINT program is
attached by name with BPF_RAW_TRACEPOINT_OPEN (4.17+); tp_btf programs (TRACING with
attach type RAW_TP) likewise with name = NULL. Either way, closing the link fd detaches.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os

from ..sys.constants import ENOTSUPP, AttachType, BpfCmd, ProgType
from ..sys.fd import FdLike, OwnedFd, raw_fd
from ..sys.info import LinkInfo, link_info
from ..sys.structs import LinkCreateAttr, ProgLoadAttr, RawTracepointOpenAttr
from ..sys.syscall import SyscallError, bpf, has_bpf_privileges
from . import AttachError, BpfLink


# LINK_CREATE answers meaning "this kernel cannot create a tracing link this way" (before 5.13
# an FENTRY/FEXIT link_create is EINVAL), after which RAW_TRACEPOINT_OPEN is tried.
_NO_TRACING_LINK = {errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS, ENOTSUPP}


def _raw_tracepoint_open(prog: int, name: str | None, cookie: int) -> int:
    buf = ctypes.create_string_buffer(name.encode()) if name is not None else None
    attr = RawTracepointOpenAttr(name=ctypes.addressof(buf) if buf is not None else 0,
                                 prog_fd=prog, cookie=cookie)
    return bpf(BpfCmd.RAW_TRACEPOINT_OPEN, attr)


def _explain(err: SyscallError, what: str) -> str:
    if err.errno == ENOTSUPP or err.errno == errno.EOPNOTSUPP:
        return (f"attach {what}: {err} (this kernel cannot attach BPF trampolines: it needs "
                f"CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS and an x86_64/arm64 JIT)")
    if err.errno == errno.EBUSY:
        return f"attach {what}: {err} (another program is already attached with that cookie?)"
    return f"attach {what}: {err}"


def attach_tracing(prog_fd: FdLike, attach_type: AttachType, func: str = "",
                   cookie: int = 0) -> BpfLink:
    """Attach a TRACING program loaded for ``attach_type`` (TRACE_FENTRY, TRACE_FEXIT or
    TRACE_RAW_TP) to the target it was loaded against. ``func`` only names it in messages.
    A non-zero ``cookie`` needs LINK_CREATE's tracing.cookie (6.0+)."""
    kind = {AttachType.TRACE_FENTRY: "fentry", AttachType.TRACE_FEXIT: "fexit",
            AttachType.TRACE_RAW_TP: "tp_btf"}.get(AttachType(attach_type))
    if kind is None:
        raise ValueError(f"attach_tracing: {attach_type!r} is not a tracing attach type")
    what = f"{kind} {func}".strip()
    prog = raw_fd(prog_fd)
    attr = LinkCreateAttr(prog_fd=prog, target_fd=0, attach_type=int(attach_type))
    attr.tracing.target_btf_id = 0   # 0: the program's own attach_btf_id
    attr.tracing.cookie = cookie
    try:
        fd = bpf(BpfCmd.LINK_CREATE, attr)
    except SyscallError as e:
        if e.errno not in _NO_TRACING_LINK:
            raise AttachError(e.errno, _explain(e, what)) from None
        if cookie:
            raise AttachError(e.errno, f"attach {what}: {e} (a BPF cookie on {kind} links "
                                       f"needs kernel 6.0+)") from None
        try:
            fd = _raw_tracepoint_open(prog, None, 0)
        except SyscallError as e2:
            raise AttachError(e2.errno, _explain(e2, what)) from None
    return BpfLink(OwnedFd(fd, f"link {what}"), what)


def attach_fentry(prog_fd: FdLike, func: str = "", cookie: int = 0) -> BpfLink:
    """kfunc:FUNC — an fentry program (loaded from section ``fentry/FUNC``)."""
    return attach_tracing(prog_fd, AttachType.TRACE_FENTRY, func, cookie)


def attach_fexit(prog_fd: FdLike, func: str = "", cookie: int = 0) -> BpfLink:
    """kretfunc:FUNC — an fexit program (loaded from section ``fexit/FUNC``)."""
    return attach_tracing(prog_fd, AttachType.TRACE_FEXIT, func, cookie)


def attach_raw_tracepoint(prog_fd: FdLike, name: str, cookie: int = 0) -> BpfLink:
    """rawtracepoint:NAME — a RAW_TRACEPOINT program (section ``raw_tp/NAME``) on the raw
    tracepoint ``name`` ("sys_enter", "sched_switch"). A non-zero ``cookie`` needs 6.10+
    (raw_tracepoint.cookie)."""
    if not name or "/" in name or ":" in name:
        raise ValueError(f"invalid raw tracepoint name {name!r}")
    what = f"rawtracepoint {name}"
    try:
        fd = _raw_tracepoint_open(raw_fd(prog_fd), name, cookie)
    except SyscallError as e:
        if e.errno == errno.ENOENT:
            raise AttachError(e.errno, f"attach {what}: {e} (no raw tracepoint '{name}' in "
                                       f"this kernel; raw tracepoints are named without "
                                       f"their category, e.g. sched_switch)") from None
        if cookie and e.errno in (errno.EINVAL, errno.E2BIG):
            raise AttachError(e.errno, f"attach {what}: {e} (a BPF cookie on raw "
                                       f"tracepoints needs kernel 6.10+)") from None
        raise AttachError(e.errno, _explain(e, what)) from None
    return BpfLink(OwnedFd(fd, f"link {what}"), what)


# r0 = 0; exit — the smallest program the verifier accepts.
_RETURN_ZERO = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])
_PROBE_TARGETS = ("vfs_read", "do_sys_openat2", "schedule")


@functools.cache
def fentry_unsupported_reason() -> str | None:
    """None when this kernel loads fentry programs (or when that cannot be told: no
    privileges, no suitable function); else a sentence saying why not. Loads `r0 = 0; exit`
    as an fentry program on a common kernel function and closes it again (cached)."""
    if not has_bpf_privileges():
        return None
    from ...compiler.formats.btf import BtfError, Kind, vmlinux_btf

    try:
        btf = vmlinux_btf()
    except BtfError as e:
        return f"fentry programs need the kernel's BTF: {e}"
    target = next((i for n in _PROBE_TARGETS if (i := btf.find(n, Kind.FUNC))), None)
    if target is None:
        return None
    code = ctypes.create_string_buffer(_RETURN_ZERO, len(_RETURN_ZERO))
    lic = ctypes.create_string_buffer(b"GPL")
    attr = ProgLoadAttr(prog_type=int(ProgType.TRACING), insn_cnt=2,
                        insns=ctypes.addressof(code), license=ctypes.addressof(lic),
                        expected_attach_type=int(AttachType.TRACE_FENTRY),
                        attach_btf_id=target)
    try:
        fd = bpf(BpfCmd.PROG_LOAD, attr)
    except SyscallError as e:
        if e.errno == errno.EPERM:
            # The 6.18 development host: EPERM with an empty log (kernel-facts §2).
            return "this kernel refuses fentry programs (EPERM, lockdown?)"
        return f"this kernel cannot load fentry programs ({e})"
    os.close(fd)
    return None
