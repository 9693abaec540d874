"""compiler/dwarf and compiler/formats/binaries without the kernel: a uprobe's parameters from DWARF
(names, bpftrace's type spellings, kt types, ABI slots) on tests/e2e/targets/dwarf_target.c built
here, and which files a uprobe target names (wildcard paths, DT_NEEDED, a process's files)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kt.compiler import dwarf
from kt.compiler.formats import binaries, elfsyms
from kt.compiler.types import USER, Int, Ptr, Record, Void

TARGET_C = Path(__file__).parents[1] / "e2e" / "targets" / "dwarf_target.c"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, str]:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed (README's test command installs it)")
    d = tmp_path_factory.mktemp("dwarf_unit")
    out = {}
    for name, flags in (("g", ["-g"]), ("plain", [])):
        subprocess.run(["gcc", "-O0", *flags, "-o", str(d / name), str(TARGET_C)], check=True)
        out[name] = str(d / name)
    return out


def _params(path: str, func: str) -> list[tuple]:
    return [(p.name, p.type_name, p.slot, p.stack) for p in dwarf.function_params(path, func)]


def test_parameter_names_type_spellings_and_registers(built):
    assert _params(built["g"], "takes_ints") == [
        ("a", "int", 0, -1), ("b", "short unsigned int", 1, -1), ("c", "long int", 2, -1),
        ("d", "char", 3, -1), ("e", "myuint", 4, -1)]
    assert _params(built["g"], "takes_str") == [("s", "const char*", 0, -1), ("len", "int", 1, -1)]
    assert _params(built["g"], "takes_ptrs") == [("arr", "int*", 0, -1), ("names", "char**", 1, -1),
                                                ("v", "void*", 2, -1)]
    assert _params(built["g"], "no_args") == []


def test_a_small_struct_by_value_takes_a_register_and_later_ones_follow(built):
    pt, c, u = dwarf.function_params(built["g"], "takes_struct")
    assert (pt.type_name, pt.by_value, c.type_name, c.slot, u.type_name, u.slot) == \
        ("struct Point", True, "enum Color", 1, "union U*", 2)


def test_structs_by_value_take_registers_or_the_stack(built):
    w, big, after = dwarf.function_params(built["g"], "takes_by_value")
    assert [(p.by_value, p.slot, p.stack) for p in (w, big, after)] == [(True, 0, -1), (True, -1, 0), (False, 2, -1)]


def test_integer_parameters_past_the_sixth_are_on_the_stack(built):
    assert [(p.slot, p.stack) for p in dwarf.function_params(built["g"], "takes_many")] == \
        [(0, -1), (1, -1), (2, -1), (3, -1), (4, -1), (5, -1), (-1, 0)]


def test_kt_types_of_parameters(built):
    a, b, c, d, e = (p.type for p in dwarf.function_params(built["g"], "takes_ints"))
    assert (a, b, c, d, e) == (Int(32, True), Int(16, False), Int(64, True), Int(8, True), Int(32, False))
    box, pt = (p.type for p in dwarf.function_params(built["g"], "takes_ptr"))
    assert isinstance(box, Ptr) and box.space == USER and isinstance(box.pointee, Record)
    members = {m.name: (m.offset, m.type) for m in box.pointee.struct.members}
    assert members["n"] == (32, Int(64, True))
    assert members["label"][0] == 16 and members["label"][1] == Ptr(Int(8, True), USER)
    assert members["p"][1].pointee.struct is pt.pointee.struct        # one StructDef per DIE
    v = dwarf.function_params(built["g"], "takes_ptrs")[2].type
    assert v == Ptr(Void(), USER)
    u = dwarf.function_params(built["g"], "takes_struct")[2].type
    assert u.pointee.struct.kind == "union" and {m.name for m in u.pointee.struct.members} == {"i", "c"}


def test_no_debug_info_is_bpftraces_message(built):
    with pytest.raises(dwarf.NoDebugInfo, match=f"No debuginfo found for {built['plain']}"):
        dwarf.function_params(built["plain"], "takes_ints")
    assert not dwarf.has_debug_info(built["plain"]) and dwarf.has_debug_info(built["g"])
    with pytest.raises(dwarf.DwarfError, match="no debug info for function 'nope'"):
        dwarf.function_params(built["g"], "nope")


def test_wildcard_paths_keep_elf_files_as_written(built, tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    shutil.copy(built["g"], tmp_path / "bin" / "x1")
    shutil.copy(built["plain"], tmp_path / "bin" / "x2")
    (tmp_path / "bin" / "xtext").write_text("text\n")
    monkeypatch.chdir(tmp_path)
    assert binaries.expand_binary("./bin/x*") == [("./bin/x1", str(tmp_path / "bin/x1")),
                                                 ("./bin/x2", str(tmp_path / "bin/x2"))]
    with pytest.raises(binaries.BinaryNotFound, match="no ELF file matches"):
        binaries.expand_binary("./bin/xt*")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))     # a name with `*`: here and on PATH
    assert [shown for shown, _ in binaries.expand_binary("x*")] == [str(tmp_path / "bin/x1"),
                                                                   str(tmp_path / "bin/x2")]


def test_libpthread_stub_needs_libc():
    stub = binaries.resolve_binary("libpthread")
    assert not any(s.name == "pthread_create" for s in elfsyms.function_symbols(stub))
    needed = binaries.needed_libraries(stub)
    assert any(os.path.basename(p) == "libc.so.6" for p in needed)


def test_process_objects_are_under_proc_root():
    exe, libs = binaries.process_objects(os.getpid())
    root = f"/proc/{os.getpid()}/root"
    assert exe == root + os.readlink("/proc/self/exe")
    assert any(p.startswith(root) and os.path.basename(p) == "libc.so.6" for p in libs)
    with pytest.raises(LookupError):
        binaries.process_objects(2 ** 22 + 12345)
