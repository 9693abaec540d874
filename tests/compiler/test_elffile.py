"""compiler/formats/elffile: kt's own ELF reader against pyelftools (the reference) on this machine's
system libraries, a separate debug file and executables: the same symbols in the same order,
the same PT_LOAD segments, build id, debuglink and DT_NEEDED."""

from __future__ import annotations

import glob
import os
import subprocess

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from kt.compiler.formats import elffile
from kt.compiler.formats.binaries import resolve_binary


def _files() -> list[str]:
    out = []
    for name in ("libc.so.6", "libcrypto.so.3", "libssl.so.3", "libstdc++.so.6"):
        try:
            out.append(os.path.realpath(resolve_binary(name)))
        except LookupError:
            pass
    out += ["/usr/bin/bash", os.path.realpath("/usr/bin/python3")]
    # separate debug files (libc6-dbg): .symtab present, .dynsym SHT_NOBITS
    out += sorted(glob.glob("/usr/lib/debug/.build-id/*/*.debug"))[:2]
    # 32-bit shared objects (valgrind's i386 preloads), where there are any
    out += sorted(glob.glob("/usr/libexec/valgrind/vgpreload_*-x86-linux.so"))[:1]
    return [p for p in out if os.path.exists(p)]


FILES = _files()


def _reference_symbols(path: str) -> list[tuple]:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        out = []
        for sec in elf.iter_sections():
            if sec["sh_type"] in ("SHT_SYMTAB", "SHT_DYNSYM"):
                for sym in sec.iter_symbols():
                    if sym["st_name"]:
                        shndx = sym["st_shndx"]
                        shndx = {"SHN_UNDEF": 0, "SHN_ABS": 0xFFF1, "SHN_COMMON": 0xFFF2}.get(shndx, shndx)
                        out.append((sym.name, sym["st_value"], sym["st_size"],
                                    sym["st_info"]["type"], shndx))
        return out


_STT = {"STT_NOTYPE": 0, "STT_OBJECT": 1, "STT_FUNC": 2, "STT_SECTION": 3, "STT_FILE": 4,
        "STT_COMMON": 5, "STT_TLS": 6, "STT_GNU_IFUNC": 10, "STT_LOOS": 10}


@pytest.mark.parametrize("path", FILES)
def test_symbols_as_pyelftools_reads_them(path):
    ours = elffile.read_file(path, lambda e: e.symbols())
    ref = _reference_symbols(path)
    assert len(ours) == len(ref) and len(ours) > 0
    got = list(zip(ours.names, ours.values, ours.sizes, ours.types, ours.shndx))
    want = [(n, v, s, _STT.get(t, t) if isinstance(t, str) else t, x) for n, v, s, t, x in ref]
    assert got == want


@pytest.mark.parametrize("path", FILES)
def test_headers_as_pyelftools_reads_them(path):
    with open(path, "rb") as f:
        ours = elffile.ElfFile(f.read())      # from bytes, as the vDSO image is read
    with open(path, "rb") as f:
        elf = ELFFile(f)
        assert ours.bits == elf.elfclass and ours.little_endian == elf.little_endian
        assert [s.name for s in ours.sections] == [s.name for s in elf.iter_sections()]
        assert [(s.offset, s.size, s.link) for s in ours.sections] == [
            (s["sh_offset"], s["sh_size"], s["sh_link"]) for s in elf.iter_sections()]
        loads = [(s.offset, s.vaddr, s.filesz, s.memsz, s.flags) for s in ours.segments if s.type == elffile.PT_LOAD]
        assert loads == [(s["p_offset"], s["p_vaddr"], s["p_filesz"], s["p_memsz"], s["p_flags"])
                         for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        needed = []
        for sec in elf.iter_sections():
            if isinstance(sec, DynamicSection) and sec["sh_type"] != "SHT_NOBITS":
                needed = [t.needed for t in sec.iter_tags("DT_NEEDED")]
                break
        assert ours.needed() == needed


@pytest.fixture(scope="module")
def object32(tmp_path_factory):
    """A 32-bit relocatable object (gcc -m32 -c needs no 32-bit libraries)."""
    d = tmp_path_factory.mktemp("elf32")
    (d / "t.c").write_text("static int hidden(int x) { return x + 1; }\nint visible;\n"
                           "int f(int x) { return hidden(x) + visible; }\n")
    r = subprocess.run(["gcc", "-m32", "-c", "-o", str(d / "t.o"), str(d / "t.c")], capture_output=True)
    if r.returncode != 0:
        pytest.skip("gcc cannot build 32-bit objects here")
    return str(d / "t.o")


def test_32_bit_object(object32):
    cols = elffile.read_file(object32, lambda e: (e.bits, e.symbols()))
    assert cols[0] == 32
    ours = list(zip(cols[1].names, cols[1].values, cols[1].sizes, cols[1].types, cols[1].shndx))
    ref = [(n, v, s, _STT.get(t, t), x) for n, v, s, t, x in _reference_symbols(object32)]
    assert ours == ref
    assert {"hidden", "f", "visible"} <= set(cols[1].names)


def test_needed_build_id_and_debuglink():
    libssl = os.path.realpath(resolve_binary("libssl.so.3"))

    def facts(e):
        return e.needed(), e.build_id(), e.debuglink()
    needed, build_id, link = elffile.read_file(libssl, facts)
    assert "libcrypto.so.3" in needed and "libc.so.6" in needed
    with open(libssl, "rb") as f:
        elf = ELFFile(f)
        dyn = next(s for s in elf.iter_sections() if isinstance(s, DynamicSection))
        assert needed == [t.needed for t in dyn.iter_tags("DT_NEEDED")]
        note = elf.get_section_by_name(".note.gnu.build-id")
        if note is not None:
            assert build_id == next(iter(note.iter_notes()))["n_desc"]
        if elf.get_section_by_name(".gnu_debuglink") is None:
            assert link is None


def test_not_elf(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"#!/bin/sh\n")
    with pytest.raises(elffile.ElfError):
        elffile.read_file(str(p), lambda e: e)
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(elffile.ElfError):
        elffile.read_file(str(tmp_path / "empty"), lambda e: e)
    # a valid header whose section table points past the end
    with open(FILES[0], "rb") as f:
        head = f.read(64)
    (tmp_path / "cut").write_bytes(head)
    with pytest.raises(elffile.ElfError):
        elffile.read_file(str(tmp_path / "cut"), lambda e: e.symbols())
