"""runtime/attach: tracepoint programs run for this process's syscalls; failures undo."""

from __future__ import annotations

import errno
import os

import pytest

from kt.runtime.attach import AttachError, Links
from kt.runtime.attach import perf_link
from kt.runtime.attach.tracepoint import attach_tracepoint
from kt.runtime.loader import load_object
from kt.runtime.maps import sum_u64
from kt.runtime.spec import parse_object
from kt.runtime.sys.constants import BpfCmd, LinkType
from kt.runtime.sys.syscall import SyscallError
from kt.runtime.tracefs import TracefsError

from . import objects
from .kernel_state import open_fds

pytestmark = pytest.mark.kernel

GETPID = "tracepoint/syscalls/sys_enter_getpid"
GETPPID = "tracepoint/syscalls/sys_enter_getppid"


@pytest.fixture
def obj():
    with load_object(parse_object(objects.counter_object(os.getpid()))) as o:
        yield o


def my_key() -> bytes:
    return os.getpid().to_bytes(4, "little")


def test_counts_own_calls_via_bpf_link(obj):
    n = 100
    with Links() as links:
        link = links.add(attach_tracepoint(obj.program_in(GETPID).fd, "syscalls",
                                           "sys_enter_getpid"))
        links.add(attach_tracepoint(obj.program_in(GETPPID).fd, "syscalls", "sys_enter_getppid"))
        assert link.uses_bpf_link  # 6.18 has perf_event links (5.15+)
        info = link.info()
        assert info.type == LinkType.PERF_EVENT
        assert info.prog_id == obj.program_in(GETPID).info().id
        for _ in range(n):
            os.getpid()
            os.getppid()
    count = int.from_bytes(obj.maps["counts"].lookup(my_key()), "little")
    assert n <= count <= n + 10
    per_cpu = obj.maps["pcounts"].lookup(my_key())
    assert isinstance(per_cpu, list)
    assert n <= sum_u64(per_cpu) <= n + 10
    # Detached: more calls are not counted.
    for _ in range(10):
        os.getpid()
    assert int.from_bytes(obj.maps["counts"].lookup(my_key()), "little") == count


def test_ioctl_fallback_when_links_are_unavailable(obj, monkeypatch):
    real_bpf = perf_link.bpf

    def old_kernel_bpf(cmd, attr):
        if cmd == BpfCmd.LINK_CREATE:  # what kernels before 5.15 answer
            raise SyscallError("bpf(BPF_LINK_CREATE)", errno.EINVAL)
        return real_bpf(cmd, attr)

    monkeypatch.setattr(perf_link, "bpf", old_kernel_bpf)
    with attach_tracepoint(obj.program_in(GETPID).fd, "syscalls", "sys_enter_getpid") as link:
        assert not link.uses_bpf_link and link.info() is None
        for _ in range(20):
            os.getpid()
    assert int.from_bytes(obj.maps["counts"].lookup(my_key()), "little") >= 20


def test_failed_attach_leaves_nothing(obj):
    # A raw_tp program cannot run on a tracepoint perf event: LINK_CREATE and the SET_BPF
    # fallback both refuse it, and the perf event fd opened first must be closed again.
    raw = load_object(parse_object(objects.ringbuf_object(os.getpid())))
    try:
        before = open_fds()
        with pytest.raises(AttachError) as info:
            attach_tracepoint(raw.program_in("raw_tp/BEGIN").fd, "syscalls", "sys_enter_getpid")
        assert str(info.value).startswith("attach tracepoint syscalls:sys_enter_getpid: ")
        assert "PERF_EVENT_IOC_SET_BPF" in str(info.value)
        assert open_fds() == before
    finally:
        raw.close()


def test_unknown_tracepoint(obj):
    before = open_fds()
    with pytest.raises(TracefsError, match="tracepoint syscalls:sys_enter_nope does not exist"):
        attach_tracepoint(obj.program_in(GETPID).fd, "syscalls", "sys_enter_nope")
    assert open_fds() == before
