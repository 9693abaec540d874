"""Probe kinds in the compiler: resolution, sections, attach data and context builtins."""

import json

from kt.compiler.types import Sym, U64, S64

FUNCS = ["vfs_read", "vfs_readv", "vfs_write", "vfs_writev", "do_sys_openat2"]


def kernel_functions(pattern):
    import fnmatch
    return [f for f in FUNCS if fnmatch.fnmatchcase(f, pattern)]


def meta_of(compiled):
    from kt.runtime.spec import parse_object
    return parse_object(compiled.elf).meta.to_json()


def test_kprobe_sections_and_attach(compile_text):
    c = compile_text("kprobe:vfs_read { @[func] = count(); } kretprobe:vfs_read { @r = sum(retval); }"
                     " k:do_sys_openat2+0x10 { @a = sum(arg0 + arg5); }")
    probes = meta_of(c)["probes"]
    assert [(p["section"], p["kind"], p["attach"]) for p in probes] == [
        ("kprobe/vfs_read", "kprobe", {"funcs": ["vfs_read"], "offset": 0, "retprobe": False}),
        ("kretprobe/vfs_read", "kretprobe", {"funcs": ["vfs_read"], "offset": 0, "retprobe": True}),
        ("kprobe/do_sys_openat2+0x10", "kprobe", {"funcs": ["do_sys_openat2"], "offset": 16, "retprobe": False}),
    ]


def test_kprobe_wildcard_is_one_program_with_a_name_per_cookie(compile_text):
    c = compile_text("kprobe:vfs_read* { @[probe] = count(); }", kernel_functions=kernel_functions)
    meta = meta_of(c)
    (p,) = meta["probes"]
    assert p["attach"]["funcs"] == ["vfs_read", "vfs_readv"]
    assert p["section"] == "kprobe/vfs_read"   # libbpf attaches the first from the name
    assert meta["probe_names"][p["probe_base"]:] == ["kprobe:vfs_read", "kprobe:vfs_readv"]
    assert meta["func_names"][p["probe_base"]:] == ["vfs_read", "vfs_readv"]
    assert "call 174" in c.assembly()  # bpf_get_attach_cookie


def test_func_and_probe_are_name_indexes(analyse):
    _, sema, _ = analyse("kprobe:vfs_read { @f[func] = count(); @p[probe] = count(); @k[kstack] = count(); "
                         "@u[ustack] = count(); @s = ksym(arg0); @t = usym(arg1); }")
    assert sema.maps["@f"].key == Sym("func")
    assert sema.maps["@p"].key == Sym("probe")
    assert sema.maps["@k"].key == Sym("kstack") and sema.maps["@u"].key == Sym("ustack")
    assert sema.maps["@s"].value == Sym("ksym") and sema.maps["@t"].value == Sym("usym")


def test_context_builtins_belong_to_their_kinds(errors):
    assert "'retval' is only available in return probes, not in kprobe:vfs_read" in errors(
        "kprobe:vfs_read { @ = sum(retval); }")
    assert "'arg0' is not available in tracepoint:syscalls:sys_enter_openat" in errors(
        "tracepoint:syscalls:sys_enter_openat { @ = sum(arg0); }")
    assert "'func' is not available in BEGIN" in errors("BEGIN { @[func] = count(); }")
    assert "kretprobe takes no offset" in errors("kretprobe:vfs_read+8 { }")
    assert "no kernel function that can be probed matches 'nope_*'" in errors(
        "kprobe:nope_* { }", kernel_functions=kernel_functions)


def test_rawtracepoint_args_are_u64s(compile_text):
    c = compile_text("rawtracepoint:sched_switch { @[arg1] = count(); }")
    (p,) = meta_of(c)["probes"]
    assert (p["section"], p["attach"]) == ("raw_tp/sched_switch", {"name": "sched_switch"})


def test_programs_share_a_section_and_have_their_own_names(compile_text):
    c = compile_text("tracepoint:syscalls:sys_enter_openat { @a = count(); } "
                     "tracepoint:syscalls:sys_enter_openat { @b = count(); } "
                     "BEGIN { @c = count(); } END { @d = count(); } interval:s:1 { exit(); } profile:hz:9 { }")
    from kt.runtime.spec import parse_object
    probes = meta_of(c)["probes"]
    assert [(p["section"], p["program"]) for p in probes] == [
        ("tracepoint/syscalls/sys_enter_openat", "tp_syscalls_sys_enter_openat"),
        ("tracepoint/syscalls/sys_enter_openat", "tp_syscalls_sys_enter_openat_2"),
        ("raw_tp", "BEGIN"), ("raw_tp", "END"),
        ("perf_event", "interval_s_1"), ("perf_event", "profile_hz_9")]
    spec = parse_object(c.elf)
    assert {n: p.section for n, p in spec.programs.items()} == {p["program"]: p["section"] for p in probes}
    # each program has its own instructions, relocations and line info, from 0
    for p in spec.programs.values():
        assert p.func_info.count == 1 and p.line_info.count >= 1
        assert all(0 <= r.insn_index < p.insn_count for r in p.relocations)


def test_the_registry_has_exactly_the_kinds_of_the_name_table():
    # kt -l resolves names through compiler/formats/probe_kinds.py, the compiler through its
    # registry: both must mean the same kinds by the same words.
    from kt.compiler import probes
    from kt.compiler.formats.probe_kinds import PROBE_KIND_ALIASES, canonical_kind

    assert {k.name: k.aliases for k in probes.PROBE_KINDS} == PROBE_KIND_ALIASES
    for word in probes.provider_names():
        assert canonical_kind(word) == probes.lookup(word).name
