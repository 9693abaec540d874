"""runtime/spec: reading objects is pure; these tests need no kernel."""

from __future__ import annotations

import io
import struct
import sys

import pytest
from elftools.elf.elffile import ELFFile

from kt.compiler.formats.btf import Btf
from kt.runtime.spec import ObjectFormatError, parse_object, section_rule
from kt.runtime.sys.constants import AttachType, BtfKind, MapType, ProgType

from . import objects
from .objects import ObjectBuilder

PID = 4242  # baked into the programs' pid filter; nothing is loaded here


@pytest.fixture(scope="module")
def counter_bytes() -> bytes:
    return objects.counter_object(PID, meta={"version": 1, "source": "t.kt"})


@pytest.fixture(scope="module")
def counter(counter_bytes):
    return parse_object(counter_bytes)


def test_programs(counter):
    assert [(n, p.section) for n, p in counter.programs.items()] == [
        ("count_getpid", "tracepoint/syscalls/sys_enter_getpid"),
        ("count_getppid", "tracepoint/syscalls/sys_enter_getppid")]
    p = counter.program_in("tracepoint/syscalls/sys_enter_getpid")
    assert p.name == "count_getpid"
    assert p.prog_type == ProgType.TRACEPOINT
    assert p.expected_attach_type == AttachType.NONE
    assert p.attach_target == "syscalls/sys_enter_getpid"
    assert p.insn_count == len(p.insns) // 8 > 0


def test_relocations_point_at_ld_imm64(counter):
    p = counter.program_in("tracepoint/syscalls/sys_enter_getpid")
    assert p.relocations and {r.symbol for r in p.relocations} == {"counts"}
    for insn_index, *_ in p.relocations:
        assert p.insns[insn_index * 8] == 0x18
    q = counter.program_in("tracepoint/syscalls/sys_enter_getppid")
    assert {r.symbol for r in q.relocations} == {"pcounts"}


def test_maps_from_btf(counter):
    m = counter.maps
    assert list(m) == ["counts", "pcounts", "table"]
    assert (m["counts"].map_type, m["counts"].key_size, m["counts"].value_size,
            m["counts"].max_entries, m["counts"].flags) == (MapType.HASH, 4, 8, 1024, 0)
    assert m["pcounts"].map_type == MapType.PERCPU_HASH
    assert (m["table"].map_type, m["table"].value_size, m["table"].max_entries) == \
        (MapType.ARRAY, 24, 4)
    btf = Btf(counter.btf)
    # key/value ids are the pointees of the key/value members, with the right sizes.
    assert btf.size_of(m["counts"].btf_key_type_id) == 4
    assert btf.size_of(m["counts"].btf_value_type_id) == 8
    assert btf.size_of(m["table"].btf_value_type_id) == 24


def test_license_and_meta(counter):
    assert counter.license == "GPL"
    assert (counter.meta.version, counter.meta.source) == (1, "t.kt")


def test_meta_absent_is_none():
    spec = parse_object(objects.bad_object())
    assert spec.meta is None


def test_datasec_fixup(counter_bytes, counter):
    elf = ELFFile(io.BytesIO(counter_bytes))
    raw = Btf(elf.get_section_by_name(".BTF").data())
    raw_maps = raw.find_type(".maps", BtfKind.DATASEC)
    assert raw_maps.size == 0 and {o for _t, o, _s in raw_maps.items} == {0}  # as LLVM left it

    fixed = Btf(counter.btf)
    ds = fixed.find_type(".maps", BtfKind.DATASEC)
    assert ds.size == elf.get_section_by_name(".maps")["sh_size"] == 96
    symvals = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}
    got = [(fixed[t].name, off, size) for t, off, size in ds.items]
    assert got == [("counts", symvals["counts"], 32), ("pcounts", symvals["pcounts"], 32),
                   ("table", symvals["table"], 32)]
    assert [o for _n, o, _s in got] == sorted(o for _n, o, _s in got)
    lic = fixed.find_type("license", BtfKind.DATASEC)
    assert lic.size == 4


def test_ext_info_in_instructions(counter):
    p = counter.program_in("tracepoint/syscalls/sys_enter_getpid")
    assert p.func_info is not None and p.func_info.count == 1 and p.func_info.rec_size == 8
    insn_off, type_id = struct.unpack_from("<II", p.func_info.data)
    assert insn_off == 0
    btf = Btf(counter.btf)
    assert btf[type_id].kind == BtfKind.FUNC and btf[type_id].name == "count_getpid"
    assert p.line_info is not None and p.line_info.rec_size == 16
    offs = [struct.unpack_from("<I", p.line_info.data, i * 16)[0]
            for i in range(p.line_info.count)]
    assert all(o < p.insn_count for o in offs)


def test_ringbuf_and_raw_tp():
    spec = parse_object(objects.ringbuf_object(PID))
    rb = spec.maps["kt_events"]
    assert (rb.map_type, rb.key_size, rb.value_size, rb.max_entries) == \
        (MapType.RINGBUF, 0, 0, objects.RINGBUF_SIZE)
    assert rb.btf_key_type_id == rb.btf_value_type_id == 0
    begin = spec.program_in("raw_tp/BEGIN")
    assert begin.prog_type == ProgType.RAW_TRACEPOINT and begin.attach_target == "BEGIN"
    assert spec.meta.events.to_json() == {"ringbuf": "kt_events", "lost": "kt_lost"}


@pytest.mark.parametrize("section,ptype,attach", [
    ("tracepoint/syscalls/sys_enter_openat", ProgType.TRACEPOINT, AttachType.NONE),
    ("tp/sched/sched_switch", ProgType.TRACEPOINT, AttachType.NONE),
    ("raw_tp/BEGIN", ProgType.RAW_TRACEPOINT, AttachType.NONE),
    ("kprobe/do_sys_openat2", ProgType.KPROBE, AttachType.NONE),
    ("kretprobe/do_sys_openat2", ProgType.KPROBE, AttachType.NONE),
    ("uprobe/bin/bash:readline", ProgType.KPROBE, AttachType.NONE),
    ("kprobe.multi/vfs_*", ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI),
    ("perf_event", ProgType.PERF_EVENT, AttachType.NONE),
    ("fentry/do_sys_openat2", ProgType.TRACING, AttachType.TRACE_FENTRY),
])
def test_section_rules(section, ptype, attach):
    rule = section_rule(section)
    assert rule is not None and (rule.prog_type, rule.expected_attach_type) == (ptype, attach)


def test_unknown_sections_are_not_programs():
    assert section_rule("tracepointx/a/b") is None
    assert section_rule("socket_thing") is None


def _ret0() -> str:
    return "entry:\n  ret i32 0{dbg}\n"


def test_not_elf():
    with pytest.raises(ObjectFormatError, match="not a valid ELF"):
        parse_object(b"hello")


def test_wrong_machine():
    with open(sys.executable, "rb") as f:
        data = f.read()
    with pytest.raises(ObjectFormatError, match="not EM_BPF"):
        parse_object(data)


def test_unknown_program_section():
    b = ObjectBuilder().program("p", "bogus/thing", _ret0())
    with pytest.raises(ObjectFormatError, match="section 'bogus/thing': unknown program type"):
        parse_object(b.build())


def test_global_variable_in_data_is_a_one_entry_array_map():
    b = ObjectBuilder(extra_ir="@g = dso_local global i64 5, align 8\n"
                               "@r = dso_local constant i64 7, section \".rodata\", align 8\n")
    b.program("p", "tracepoint/a/b", """
entry:
  %x = load volatile i64, ptr @g, align 8
  %y = load volatile i64, ptr @r, align 8
  %s = add i64 %x, %y
  %t = trunc i64 %s to i32
  ret i32 %t{dbg}
""")
    spec = parse_object(b.build())
    data, rodata = spec.maps[".data"], spec.maps[".rodata"]
    assert (data.map_type, data.key_size, data.value_size, data.max_entries) == (MapType.ARRAY, 4, 8, 1)
    assert data.data == (5).to_bytes(8, "little") and data.flags == 0
    assert rodata.data == (7).to_bytes(8, "little") and rodata.flags == 1 << 7   # BPF_F_RDONLY_PROG
    assert spec.globals["g"] == (".data", 0, 8) and spec.globals["r"] == (".rodata", 0, 8)
    relocs = {r.symbol: r.value_offset for r in spec.program_in("tracepoint/a/b").relocations}
    assert relocs == {".data": 0, ".rodata": 0}


def test_zeroed_global_in_bss_is_rejected():
    b = ObjectBuilder(extra_ir="@g = dso_local global i64 0, align 8\n")
    b.program("p", "tracepoint/a/b", """
entry:
  %x = load volatile i64, ptr @g, align 8
  %t = trunc i64 %x to i32
  ret i32 %t{dbg}
""")
    with pytest.raises(ObjectFormatError, match=r"reference to 'g' in '\.bss'; only maps"):
        parse_object(b.build())


def test_bpf_to_bpf_call_links_the_text_subprogram():
    """A call into .text (a static noinline function) is linked as libbpf does: the
    subprogram appended after the program, the call's imm the distance to it."""
    b = ObjectBuilder(extra_ir="""
define internal i64 @helper(i64 %x) #1 {
  %y = mul i64 %x, 7
  ret i64 %y
}
attributes #1 = { noinline nounwind }
""")
    b.program("p", "tracepoint/a/b", """
entry:
  %x = ptrtoint ptr %ctx to i64
  %r = call i64 @helper(i64 %x)
  %t = trunc i64 %r to i32
  ret i32 %t{dbg}
""")
    spec = parse_object(b.build())
    insns = spec.programs["p"].insns
    calls = [i for i in range(len(insns) // 8) if insns[8 * i] == 0x85 and insns[8 * i + 1] >> 4 == 1]
    assert len(calls) == 1
    (imm,) = struct.unpack_from("<i", insns, 8 * calls[0] + 4)
    target = calls[0] + 1 + imm
    exits = [i for i in range(len(insns) // 8) if insns[8 * i] == 0x95]
    assert exits[0] < target <= exits[-1]   # after the program's own exit, inside the program


def test_call_into_another_section_is_rejected():
    b = ObjectBuilder(extra_ir="""
define internal i64 @helper(i64 %x) #1 section "tracepoint/c/d" {
  %y = mul i64 %x, 7
  ret i64 %y
}
attributes #1 = { noinline nounwind }
""")
    b.program("p", "tracepoint/a/b", """
entry:
  %x = ptrtoint ptr %ctx to i64
  %r = call i64 @helper(i64 %x)
  %t = trunc i64 %r to i32
  ret i32 %t{dbg}
""")
    with pytest.raises(ObjectFormatError, match="bpf-to-bpf calls must go to functions in .text"):
        parse_object(b.build())


def test_bad_meta_json():
    b = ObjectBuilder(meta=b"{not json")
    b.program("p", "tracepoint/a/b", _ret0())
    with pytest.raises(ObjectFormatError, match=r"'\.kt\.meta' is not UTF-8 JSON"):
        parse_object(b.build())


def test_object_without_maps_or_license():
    b = ObjectBuilder(license="")
    b.program("p", "raw_tp/BEGIN", _ret0())
    spec = parse_object(b.build())
    assert spec.maps == {} and spec.license == ""
    assert list(spec.programs) == ["p"]


@pytest.mark.parametrize("patch,message", [
    (lambda btf: b"\x00\x00" + btf[2:], r"\.BTF: bad magic"),
    # type_len one word longer than the types: the last record runs into the strings
    (lambda btf: btf[:12] + struct.pack("<I", struct.unpack_from("<I", btf, 12)[0] + 4) + btf[16:],
     r"\.BTF: "),
])
def test_a_broken_object_btf_is_one_format_error(counter_bytes, patch, message):
    # The object's .BTF is read by kt's one BTF reader (compiler/formats/btf.py); what it
    # refuses is an ObjectFormatError naming .BTF, not a BtfError from deep inside.
    elf = ELFFile(io.BytesIO(counter_bytes))
    sec = elf.get_section_by_name(".BTF")
    start, size = sec["sh_offset"], sec["sh_size"]
    btf = counter_bytes[start:start + size]
    broken = counter_bytes[:start] + patch(btf) + counter_bytes[start + size:]
    with pytest.raises(ObjectFormatError, match=message):
        parse_object(broken)
