"""runtime/attach/tracing and the loader's attach_btf_id: rawtracepoint and tp_btf programs
count this process's syscalls; fentry/fexit load against their FUNC's BTF id, or fail with a
clear error where the kernel refuses them (the 6.18 development host: EPERM, empty log)."""

from __future__ import annotations

import errno
import os

import pytest

from kt.compiler.formats.btf import VMLINUX_PATH, Kind, vmlinux_btf
from kt.runtime.attach import AttachError, tracing
from kt.runtime.attach.tracing import (
    attach_fentry,
    attach_fexit,
    attach_raw_tracepoint,
    attach_tracing,
)
from kt.runtime.loader import ProgramRefusedError, attach_btf_id, load_object
from kt.runtime.spec import parse_object
from kt.runtime.sys.constants import AttachType, BpfCmd, LinkType
from kt.runtime.sys.syscall import SyscallError

from . import objects
from .kernel_state import bpftool_ids, open_fds, wait_until

needs_btf = pytest.mark.skipif(not os.path.exists(VMLINUX_PATH),
                               reason="the kernel has no BTF (/sys/kernel/btf/vmlinux)")

FUNC = "do_sys_openat2"   # every open()/openat() goes through it (5.6+)


def counter(section: str) -> bytes:
    return objects.perf_event_counter_object(os.getpid(), section=section)


def runs(obj) -> int:
    m = obj.maps["by_cpu"]
    return sum(int.from_bytes(m.lookup(c.to_bytes(4, "little")), "little")
               for c in range(objects.MAX_TEST_CPUS))


def opens(n: int) -> None:
    for _ in range(n):
        os.close(os.open("/dev/null", os.O_RDONLY))


# --- attach_btf_id (reads BTF only) --------------------------------------------------------------

@needs_btf
@pytest.mark.parametrize("section,kind,name", [
    (f"fentry/{FUNC}", Kind.FUNC, FUNC),
    (f"fexit/{FUNC}", Kind.FUNC, FUNC),
    ("tp_btf/sched_switch", Kind.TYPEDEF, "btf_trace_sched_switch"),
])
def test_attach_btf_id_from_the_section_name(section, kind, name):
    spec = parse_object(counter(section))
    assert attach_btf_id(spec.program_in(section)) == vmlinux_btf().find(name, kind)


def test_other_programs_have_no_attach_btf_id():
    for section in ("raw_tp/sys_enter", "perf_event", "tracepoint/syscalls/sys_enter_getpid"):
        spec = parse_object(counter(section))
        assert attach_btf_id(spec.program_in(section)) == 0


@needs_btf
def test_unknown_function_is_named():
    spec = parse_object(counter("fentry/no_such_function_kt"))
    with pytest.raises(ProgramRefusedError) as info:
        attach_btf_id(spec.program_in("fentry/no_such_function_kt"))
    assert info.value.errno == errno.ENOENT
    assert str(info.value) == (
        "bpf(BPF_PROG_LOAD) of program 'count_runs' (fentry/no_such_function_kt): the "
        "kernel's BTF has no function 'no_such_function_kt' (not a kernel function, "
        "inlined, or in a module)")


# --- rawtracepoint and tp_btf ----------------------------------------------------------------------

@pytest.mark.kernel
def test_rawtracepoint_counts_own_syscalls():
    fds = open_fds()
    with load_object(parse_object(counter("raw_tp/sys_enter"))) as obj:
        with attach_raw_tracepoint(obj.program_in("raw_tp/sys_enter").fd, "sys_enter") as link:
            info = link.info()
            assert info.type == LinkType.RAW_TRACEPOINT
            assert info.prog_id == obj.program_in("raw_tp/sys_enter").info().id
            assert info.id in bpftool_ids("link")
            for _ in range(100):
                os.getppid()
        n = runs(obj)
        assert 100 <= n <= 200, n
        assert wait_until(lambda: info.id not in bpftool_ids("link"))
        for _ in range(10):
            os.getppid()
        assert runs(obj) == n                                       # detached
    assert open_fds() == fds


@pytest.mark.kernel
def test_unknown_raw_tracepoint():
    fds = open_fds()
    with load_object(parse_object(counter("raw_tp/sys_enter"))) as obj:
        with pytest.raises(AttachError) as info:
            attach_raw_tracepoint(obj.program_in("raw_tp/sys_enter").fd, "sys_enter_getpid")
        assert info.value.errno == errno.ENOENT
        assert "no raw tracepoint 'sys_enter_getpid' in this kernel" in str(info.value)
    assert open_fds() == fds
    with pytest.raises(ValueError):
        attach_raw_tracepoint(0, "syscalls:sys_enter_getpid")


@pytest.mark.kernel
@needs_btf
@pytest.mark.parametrize("link_create_works", [True, False])
def test_tp_btf_counts_own_syscalls(link_create_works, monkeypatch):
    if not link_create_works:   # what kernels before LINK_CREATE for tracing answer
        real = tracing.bpf

        def old_kernel(cmd, attr):
            if cmd == BpfCmd.LINK_CREATE:
                raise SyscallError("bpf(BPF_LINK_CREATE)", errno.EINVAL)
            return real(cmd, attr)

        monkeypatch.setattr(tracing, "bpf", old_kernel)
    fds = open_fds()
    with load_object(parse_object(counter("tp_btf/sys_enter"))) as obj:
        prog = obj.program_in("tp_btf/sys_enter")
        with attach_tracing(prog.fd, AttachType.TRACE_RAW_TP, "sys_enter") as link:
            assert link.info().prog_id == prog.info().id
            for _ in range(50):
                os.getppid()
        assert 50 <= runs(obj) <= 150
    assert open_fds() == fds


def test_attach_tracing_rejects_other_attach_types():
    with pytest.raises(ValueError, match="not a tracing attach type"):
        attach_tracing(0, AttachType.PERF_EVENT)


# --- fentry / fexit -------------------------------------------------------------------------------

def _load_or_refusal(section: str):
    """The loaded object, or the ProgramRefusedError of a kernel that refuses fentry."""
    try:
        return load_object(parse_object(counter(section))), None
    except ProgramRefusedError as e:
        if e.errno != errno.EPERM:
            raise
        return None, e


@pytest.mark.kernel
@needs_btf
@pytest.mark.parametrize("kind,attach", [("fentry", attach_fentry), ("fexit", attach_fexit)])
def test_fentry_counts_own_opens_or_is_refused_clearly(kind, attach):
    """Both answers a kernel can give are checked: this project's 6.18 host refuses fentry
    programs (EPERM, empty log); Debian's 6.1 in the guest (tests/vm) loads and runs them."""
    fds = open_fds()
    obj, refusal = _load_or_refusal(f"{kind}/{FUNC}")
    if obj is None:
        assert str(refusal) == (f"bpf(BPF_PROG_LOAD) of program 'count_runs' ({kind}/{FUNC}): "
                                f"this kernel refuses {kind} programs (EPERM, lockdown?)")
        assert open_fds() == fds
        return
    with obj:
        prog = obj.program_in(f"{kind}/{FUNC}")
        with attach(prog.fd, FUNC) as link:
            assert link.info().type == LinkType.TRACING
            opens(20)
        assert 20 <= runs(obj) <= 40
        n = runs(obj)
        opens(5)
        assert runs(obj) == n                                       # detached
    assert open_fds() == fds
