"""The one place where kt enters the kernel: bpf(2), perf_event_open(2), ioctl(2), mount(2).

Why one module: every failure then has the same shape — ``SyscallError`` naming the call and
the errno ("bpf(BPF_PROG_LOAD): Permission denied (EPERM)") — and there is one spot to audit
for what kt asks of the kernel. Callers pass ctypes structs from ``structs``; this module never
interprets them beyond copying them to the kernel.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import fcntl
import os
from dataclasses import dataclass

from . import constants as C
from .structs import MapCreateAttr, PerfEventAttr

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_void_p]
_libc.mount.restype = ctypes.c_int

# Kernel-internal errno values that reach user space (include/linux/errno.h); Python's
# errno.errorcode and os.strerror() do not know them ("Unknown error 524").
_EXTRA_ERRNO: dict[int, tuple[str, str]] = {
    512: ("ERESTARTSYS", "Interrupted system call (restart)"),
    C.ENOTSUPP: ("ENOTSUPP", "Operation is not supported"),
}

# Aliases for which Python picks the name the kernel source does not use: 95 is ENOTSUP in
# errno.errorcode, but the kernel returns -EOPNOTSUPP (e.g. LINK_CREATE of a kprobe_multi link
# without CONFIG_FPROBE), and that is the name to grep for.
_PREFERRED_NAME: dict[int, str] = {_errno.EOPNOTSUPP: "EOPNOTSUPP"}


def errno_name(err: int) -> str:
    """Symbolic name of an errno value ("EPERM"), or "errno N" if unknown."""
    if err in _EXTRA_ERRNO:
        return _EXTRA_ERRNO[err][0]
    if err in _PREFERRED_NAME:
        return _PREFERRED_NAME[err]
    return _errno.errorcode.get(err, f"errno {err}")


def errno_text(err: int) -> str:
    """strerror() text for ``err``, knowing the kernel-internal values too."""
    if err in _EXTRA_ERRNO:
        return _EXTRA_ERRNO[err][1]
    return os.strerror(err)


class SyscallError(OSError):
    """A system call failed. ``call`` names it with its command ("bpf(BPF_MAP_CREATE)");
    ``errno`` is the error number. ``str()`` reads "call: Text (ENAME)"."""

    def __init__(self, call: str, err: int, detail: str = "") -> None:
        super().__init__(err, errno_text(err))
        self.call = call
        self.detail = detail

    def __str__(self) -> str:
        msg = f"{self.call}: {errno_text(self.errno)} ({errno_name(self.errno)})"
        return f"{msg}: {self.detail}" if self.detail else msg

    def __reduce__(self):  # keep picklable despite the custom __init__
        return (type(self), (self.call, self.errno, self.detail))


def _raw_syscall(number: int, *args: object) -> int:
    ctypes.set_errno(0)
    ret = _libc.syscall(ctypes.c_long(number), *args)
    if ret < 0:
        return -ctypes.get_errno()
    return ret


def _number(name: str) -> int:
    nr = C.syscall_number(name)
    if nr is None:
        import platform

        raise SyscallError(f"{name}()", _errno.ENOSYS,
                           f"kt does not know the {name} syscall number on {platform.machine()}")
    return nr


def bpf(cmd: C.BpfCmd, attr: ctypes.Structure) -> int:
    """bpf(cmd, &attr, sizeof(attr)); returns the non-negative result (often a new fd).

    The kernel writes results back into ``attr`` (log_true_size, retval, count, ...), also
    when the call fails, so callers read ``attr`` after catching the error too.
    """
    # Every argument is passed as a full register (long): glibc's syscall() reads longs.
    ret = _raw_syscall(_number("bpf"), ctypes.c_long(int(cmd)), ctypes.byref(attr),
                       ctypes.c_long(ctypes.sizeof(attr)))
    if ret < 0:
        raise SyscallError(f"bpf(BPF_{C.BpfCmd(cmd).name})", -ret)
    return ret


def perf_event_open(attr: PerfEventAttr, pid: int, cpu: int, group_fd: int = -1,
                    flags: int = C.PerfFlag.FD_CLOEXEC) -> int:
    """perf_event_open(&attr, pid, cpu, group_fd, flags); returns the new fd."""
    if attr.size == 0:
        attr.size = ctypes.sizeof(attr)
    ret = _raw_syscall(_number("perf_event_open"), ctypes.byref(attr), ctypes.c_long(pid),
                       ctypes.c_long(cpu), ctypes.c_long(group_fd), ctypes.c_ulong(int(flags)))
    if ret < 0:
        raise SyscallError("perf_event_open()", -ret)
    return ret


def ioctl(fd: int, request: C.PerfIoctl, arg: int = 0) -> int:
    """ioctl(fd, request, arg) with an integer argument (PERF_EVENT_IOC_SET_BPF takes the
    program fd by value, ENABLE/DISABLE take 0)."""
    try:
        return fcntl.ioctl(fd, int(request), arg)
    except OSError as e:
        raise SyscallError(f"ioctl({request.call_name})", e.errno or _errno.EIO) from None


def mount(source: str, target: str, fstype: str, flags: int = 0) -> None:
    """mount(2), for tracefs when it is not mounted yet."""
    ctypes.set_errno(0)
    ret = _libc.mount(source.encode(), target.encode(), fstype.encode(), flags, None)
    if ret != 0:
        raise SyscallError(f"mount({fstype} on {target})", ctypes.get_errno())


# --- capability checks the CLI and the tests use to explain failures ------------------------

_CAP_SYS_ADMIN = 21
_CAP_PERFMON = 38
_CAP_BPF = 39


def _effective_caps() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def is_root() -> bool:
    """True when running with euid 0."""
    return os.geteuid() == 0


def has_bpf_privileges() -> bool:
    """True when this process may load tracing programs: root, CAP_SYS_ADMIN, or
    CAP_BPF + CAP_PERFMON (5.8+)."""
    if is_root():
        return True
    caps = _effective_caps()
    if caps & (1 << _CAP_SYS_ADMIN):
        return True
    return bool(caps & (1 << _CAP_BPF)) and bool(caps & (1 << _CAP_PERFMON))


@dataclass(frozen=True, slots=True)
class BpfSupport:
    """Whether bpf() can be used here, and if not, a sentence a user can act on."""

    ok: bool
    reason: str = ""


def bpf_support() -> BpfSupport:
    """Probe the bpf() syscall with a deliberately invalid MAP_CREATE (map_type 0).

    EINVAL means the syscall exists and we got past the permission check; ENOSYS means the
    kernel has no bpf() (CONFIG_BPF_SYSCALL=n, or seccomp); EPERM means not privileged.
    """
    if C.syscall_number("bpf") is None:
        import platform

        return BpfSupport(False, f"kt does not know the bpf() syscall number on "
                                 f"{platform.machine()}")
    try:
        fd = bpf(C.BpfCmd.MAP_CREATE, MapCreateAttr())
    except SyscallError as e:
        if e.errno == _errno.ENOSYS:
            return BpfSupport(False, "the kernel has no bpf() syscall (ENOSYS): it was built "
                                     "without CONFIG_BPF_SYSCALL, or a seccomp filter blocks it")
        if e.errno == _errno.EPERM:
            return BpfSupport(False, "bpf() is not permitted (EPERM): kt needs root, or "
                                     "CAP_BPF and CAP_PERFMON")
        return BpfSupport(True)
    os.close(fd)  # cannot happen for map_type 0, but never leak
    return BpfSupport(True)


def bpf_available() -> bool:
    """True when bpf() exists and this process may use it."""
    return bpf_support().ok
