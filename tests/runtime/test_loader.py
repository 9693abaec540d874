"""runtime/loader: BTF, maps and programs go into the kernel, and errors explain themselves."""

from __future__ import annotations

import dataclasses
import os

import pytest

from kt.runtime import loader
from kt.runtime.loader import VerifierError, load_object, relocate
from kt.runtime.spec import parse_object
from kt.runtime.sys.constants import MapType, ProgType

from . import objects
from .kernel_state import open_fds

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def counter_spec():
    return parse_object(objects.counter_object(os.getpid()))


def test_relocate_sets_pseudo_map_fd():
    spec = parse_object(objects.counter_object(1))
    p = spec.program_in("tracepoint/syscalls/sys_enter_getpid")
    out = relocate(p, {"counts": 77})
    for i, *_ in p.relocations:
        insn = out[i * 8:(i + 2) * 8]
        assert insn[0] == 0x18 and insn[1] >> 4 == 1
        assert int.from_bytes(insn[4:8], "little", signed=True) == 77
        assert int.from_bytes(insn[12:16], "little") == 0


def test_load_counter_object(counter_spec):
    with load_object(counter_spec) as obj:
        assert obj.btf_fd is not None and obj.btf_error == ""
        assert set(obj.maps) == {"counts", "pcounts", "table"}
        assert set(obj.programs) == set(counter_spec.programs)
        info = obj.maps["counts"].info()
        assert (info.type, info.key_size, info.value_size, info.max_entries, info.name) == \
            (MapType.HASH, 4, 8, 1024, "counts")
        assert info.btf_id > 0  # created with its BTF key/value types
        p = obj.program_in("tracepoint/syscalls/sys_enter_getpid")
        pinfo = p.info()
        assert pinfo.type == ProgType.TRACEPOINT and pinfo.name == "count_getpid"
        assert pinfo.btf_id > 0 and pinfo.id > 0
    assert all(m.closed for m in obj.maps.values())
    assert all(p.fd.closed for p in obj.programs.values())
    assert obj.btf_fd.closed


def test_ringbuf_map_created(counter_spec):
    spec = parse_object(objects.ringbuf_object(os.getpid()))
    with load_object(spec) as obj:
        info = obj.maps["kt_events"].info()
        assert (info.type, info.key_size, info.value_size, info.max_entries) == \
            (MapType.RINGBUF, 0, 0, objects.RINGBUF_SIZE)


def test_continues_without_btf_when_btf_is_rejected(counter_spec):
    broken = bytearray(counter_spec.btf)
    broken[4:8] = (0xFFFF).to_bytes(4, "little")  # hdr_len nonsense: BTF_LOAD fails
    spec = dataclasses.replace(counter_spec, btf=bytes(broken))
    with load_object(spec) as obj:
        assert obj.btf_fd is None
        assert obj.btf_error.startswith("bpf(BPF_BTF_LOAD): ")
        assert obj.maps["counts"].info().btf_id == 0
        assert obj.program_in("tracepoint/syscalls/sys_enter_getpid").info().btf_id == 0


def test_no_btf_at_all(counter_spec):
    spec = dataclasses.replace(counter_spec, btf=None)
    with load_object(spec) as obj:
        assert obj.btf_fd is None and obj.btf_error == ""
        assert len(obj.programs) == 2


def test_verifier_error_carries_log():
    spec = parse_object(objects.bad_object())
    before = open_fds()
    with pytest.raises(VerifierError) as info:
        load_object(spec)  # log_level=0: the loader reloads with a log to explain
    e = info.value
    assert e.program == "bad_prog"
    assert e.section == "tracepoint/syscalls/sys_enter_getpid"
    assert e.errno == 13  # EACCES
    assert str(e).startswith("bpf(BPF_PROG_LOAD) of program 'bad_prog'")
    assert "(EACCES)" in str(e)
    assert "invalid mem access 'map_value_or_null'" in e.log
    assert "processed" in e.log  # the complete log, up to the verifier's summary
    assert open_fds() == before  # the map and BTF created before the failure are closed


def test_log_level_keeps_log_and_grows_buffer(monkeypatch, counter_spec):
    # A tiny first buffer: the kernel answers ENOSPC (log truncated) and the loader retries
    # with a bigger one.
    monkeypatch.setattr(loader, "LOG_SIZE_INITIAL", 64)
    with load_object(counter_spec, log_level=2) as obj:
        log = obj.program_in("tracepoint/syscalls/sys_enter_getpid").verifier_log
    assert len(log) > 64
    assert "processed" in log.splitlines()[-1] or "processed" in log


def test_failure_in_second_program_closes_first(counter_spec):
    bad = parse_object(objects.bad_object()).program_in("tracepoint/syscalls/sys_enter_getpid")
    bad = dataclasses.replace(bad, section="tracepoint/zz/bad", name="bad")
    programs = dict(counter_spec.programs)
    programs["bad"] = bad
    spec = dataclasses.replace(counter_spec, programs=programs)
    before = open_fds()
    with pytest.raises(VerifierError):
        load_object(spec)
    assert open_fds() == before


def test_log_cap_reports_the_real_outcome(monkeypatch, counter_spec):
    # When even the largest buffer is too small, the kernel answers ENOSPC instead of the
    # verifier's verdict; the loader then loads without a log to find the real outcome.
    monkeypatch.setattr(loader, "LOG_SIZE_INITIAL", 64)
    monkeypatch.setattr(loader, "LOG_SIZE_MAX", 128)
    with load_object(counter_spec, log_level=2) as obj:
        log = obj.program_in("tracepoint/syscalls/sys_enter_getpid").verifier_log
        assert log.startswith("[verifier log truncated to its last 128 bytes]")
    with pytest.raises(VerifierError) as info:
        load_object(parse_object(objects.bad_object()), log_level=1)
    assert info.value.errno == 13  # EACCES, not ENOSPC
    assert info.value.log.startswith("[verifier log truncated")


def test_two_programs_of_one_section_load_and_run_on_their_own():
    """Both programs in tracepoint/syscalls/sys_enter_getpid: each loads with its own
    instructions, relocations and BTF func/line info (rebased to its start), and both count."""
    from kt.runtime.attach.tracepoint import attach_tracepoint

    section = "tracepoint/syscalls/sys_enter_getpid"
    spec = parse_object(objects.counter_object(os.getpid(), one_section=section))
    assert [(p.name, p.section) for p in spec.programs.values()] == [
        ("count_getpid", section), ("count_getppid", section)]
    second = spec.programs["count_getppid"]
    assert second.func_info.count == 1 and second.func_info.data[:4] == bytes(4)
    assert {r.symbol for r in second.relocations} == {"pcounts"}
    with load_object(spec) as obj:
        links = [attach_tracepoint(p.fd, "syscalls", "sys_enter_getpid") for p in obj.programs.values()]
        try:
            for _ in range(3):
                os.getpid()
        finally:
            for link in links:
                link.close()
        key = os.getpid().to_bytes(4, "little")
        assert int.from_bytes(obj.maps["counts"].lookup(key), "little") == 3
        assert sum(int.from_bytes(v, "little") for v in obj.maps["pcounts"].lookup(key)) == 3
