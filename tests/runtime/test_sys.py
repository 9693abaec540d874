"""runtime/sys: struct layouts, error messages, owned fds, CPU lists (pure), bpf() probe."""

from __future__ import annotations

import ctypes
import errno
import os
import pickle

import pytest

from kt.runtime.attach import Links
from kt.runtime.sys import structs
from kt.runtime.sys.constants import BpfCmd, PerfIoctl
from kt.runtime.sys.cpus import num_possible_cpus, parse_cpu_list
from kt.runtime.sys.fd import OwnedFd, raw_fd
from kt.runtime.sys.syscall import (
    SyscallError, bpf, bpf_support, errno_name, has_bpf_privileges, ioctl,
)


@pytest.mark.parametrize("cls,size", [
    (structs.MapCreateAttr, 72), (structs.MapElemAttr, 32), (structs.MapBatchAttr, 56),
    (structs.ProgLoadAttr, 152), (structs.BtfLoadAttr, 32), (structs.ObjInfoAttr, 16),
    (structs.LinkCreateAttr, 64), (structs.ProgTestRunAttr, 80),
    (structs.PerfEventAttr, 136), (structs.BpfProgInfo, 232), (structs.BpfMapInfo, 88),
])
def test_struct_sizes(cls, size):
    assert ctypes.sizeof(cls) == size


def test_prog_test_run_offsets():
    t = structs.ProgTestRunAttr
    got = {f: getattr(t, f).offset for f in ("prog_fd", "retval", "data_size_in",
                                            "data_size_out", "data_in", "data_out", "repeat",
                                            "duration", "ctx_size_in", "ctx_size_out",
                                            "ctx_in", "ctx_out", "flags", "cpu",
                                            "batch_size")}
    assert got == {"prog_fd": 0, "retval": 4, "data_size_in": 8, "data_size_out": 12,
                   "data_in": 16, "data_out": 24, "repeat": 32, "duration": 36,
                   "ctx_size_in": 40, "ctx_size_out": 44, "ctx_in": 48, "ctx_out": 56,
                   "flags": 64, "cpu": 68, "batch_size": 72}


def test_link_create_union_offsets():
    a = structs.LinkCreateAttr()
    base = ctypes.addressof(a)
    assert ctypes.addressof(a.perf_event) - base == 16
    assert ctypes.addressof(a.kprobe_multi) - base == 16
    assert structs.LinkCreateAttr.u.offset + type(a.kprobe_multi).syms.offset == 24


def test_syscall_error_message():
    e = SyscallError("bpf(BPF_PROG_LOAD)", errno.EPERM)
    assert str(e) == "bpf(BPF_PROG_LOAD): Operation not permitted (EPERM)"
    assert isinstance(e, OSError) and e.errno == errno.EPERM
    assert str(pickle.loads(pickle.dumps(e))) == str(e)


def test_kernel_internal_errno_is_named():
    assert errno_name(524) == "ENOTSUPP"
    assert "ENOTSUPP" in str(SyscallError("bpf(BPF_PROG_TEST_RUN)", 524))


def test_errno_95_has_the_kernel_name():
    # Python calls 95 ENOTSUP; the kernel source returns -EOPNOTSUPP (e.g. kprobe_multi links
    # without CONFIG_FPROBE), which is what users will search for.
    assert errno_name(errno.EOPNOTSUPP) == "EOPNOTSUPP"


def test_bpf_error_names_command():
    # An fd that is not a map: the kernel answers EBADF/EINVAL; either way the message names
    # the command.
    with pytest.raises(SyscallError, match=r"^bpf\(BPF_MAP_LOOKUP_ELEM\): "):
        bpf(BpfCmd.MAP_LOOKUP_ELEM, structs.MapElemAttr(map_fd=2**31 - 1))


def test_ioctl_error_names_request():
    r, w = os.pipe()
    try:
        with pytest.raises(SyscallError, match=r"ioctl\(PERF_EVENT_IOC_ENABLE\): .*\(ENOTTY\)"):
            ioctl(r, PerfIoctl.ENABLE)
    finally:
        os.close(r)
        os.close(w)


def test_owned_fd_closes_once():
    r, w = os.pipe()
    fr, fw = OwnedFd(r, "pipe r"), OwnedFd(w, "pipe w")
    with fr:
        assert raw_fd(fr) == r and fr.fileno() == r
    assert fr.closed
    fr.close()  # idempotent
    with pytest.raises(ValueError, match="pipe r is closed"):
        _ = fr.fd
    with pytest.raises(OSError):
        os.fstat(r)
    fw.close()


def test_owned_fd_finalizer_closes():
    r, w = os.pipe()
    OwnedFd(r)  # dropped immediately
    OwnedFd(w)
    with pytest.raises(OSError):
        os.fstat(r)
    with pytest.raises(OSError):
        os.fstat(w)


def test_parse_cpu_list():
    assert parse_cpu_list("0-1\n") == [0, 1]
    assert parse_cpu_list("0-3,5,7-8") == [0, 1, 2, 3, 5, 7, 8]
    assert parse_cpu_list("0") == [0]
    assert num_possible_cpus() >= 1


def test_links_close_in_reverse_order_and_continue_on_error():
    closed = []

    class Fake:
        def __init__(self, n, fail=False):
            self.n, self.fail = n, fail

        def close(self):
            closed.append(self.n)
            if self.fail:
                raise OSError(self.n, "boom")

    links = Links()
    for i in range(3):
        links.add(Fake(i, fail=(i == 1)))
    with pytest.raises(OSError, match="boom"):
        links.close()
    assert closed == [2, 1, 0]
    assert len(links) == 0
    links.close()  # nothing left, no error


@pytest.mark.kernel
def test_bpf_support_as_root():
    assert has_bpf_privileges()
    assert bpf_support().ok
