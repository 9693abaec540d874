"""compiler/formats/usdt: SDT notes of C programs built here with <sys/sdt.h> (at -O0 and -O2, PIE and
not, stripped), compared with what binutils' readelf says about the same files; and the
argument-spec parser on a table of specs as GCC and Clang write them.

Building needs gcc and <sys/sdt.h> (Debian package systemtap-sdt-dev); without them those
tests skip and the parser tests still run."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from kt.compiler.formats.elfsyms import ElfSymbolError
from kt.compiler.formats.usdt import (
    PT_REGS_OFFSET, UsdtArg, UsdtError, UsdtProbe, find_usdt, parse_arg, parse_args,
    usdt_probes,
)

# Probes in one translation unit without semaphores and one with (_SDT_HAS_SEMAPHORES is read
# when sys/sdt.h is included, so it is per file). Argument types are chosen so that the sizes
# and signs in the notes do not depend on the compiler: int, long, negative constant, string
# and struct pointers, short, char, unsigned char, double; a global and a thread-local.
MAIN_C = r"""
#include <sys/sdt.h>
#include <stdio.h>

long counter = 7;
__thread int tls_v = 3;
struct s { int a; long b[4]; };

__attribute__((noinline)) void work(int i, long l, const char *str, struct s *sp, double d,
                                    long *arr, int idx) {
    DTRACE_PROBE(kt, noargs);
    DTRACE_PROBE1(kt, one, i);
    STAP_PROBE2(kt, two, i, l);
    STAP_PROBE3(kt, three, -i, (long)-5, str);
    STAP_PROBE3(kt, ptr, sp, sp->b[2], (short)i);
    STAP_PROBE1(kt, glob, counter);
    STAP_PROBE1(kt, tls, tls_v);
    STAP_PROBE2(kt, flt, d, (char)i);
    STAP_PROBE2(kt, idx, arr[idx], (unsigned char)l);
}

void gate(long l);

int main(int argc, char **argv) {
    struct s x = {1, {2, 3, 4, 5}};
    long arr[4] = {1, 2, 3, 4};
    tls_v = argc;
    for (int j = 0; j < 2; j++)
        work(argc + j, 1234567890123L * argc, argv[0], &x, 1.5 * argc, arr, argc);
    STAP_PROBE1(kt, one, argc);
    gate(argc);
    printf("%ld\n", counter);
    return 0;
}
"""

GATE_C = r"""
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

unsigned short kt_gated_semaphore __attribute__((unused)) __attribute__((section(".probes")));

__attribute__((noinline)) void gate(long l) {
    if (kt_gated_semaphore)
        STAP_PROBE1(kt, gated, l);
}
"""

PLAIN_C = "int main(void) { return 0; }\n"

# (size, signed) of each probe's arguments, from the C types above
EXPECTED_SIZES = {
    "noargs": [],
    "one": [(4, True)],
    "two": [(4, True), (8, True)],
    "three": [(4, True), (8, True), (8, False)],
    "ptr": [(8, False), (8, True), (2, True)],
    "glob": [(8, True)],
    "tls": [(4, True)],
    "flt": [(8, False), (1, True)],        # sdt.h: a double is unsigned "8f"
    "idx": [(8, True), (1, False)],
    "gated": [(8, True)],
}


def _sdt_missing() -> str | None:
    gcc = shutil.which("gcc")
    if gcc is None:
        return "gcc is not installed (Debian package gcc)"
    r = subprocess.run([gcc, "-E", "-x", "c", "-"], input="#include <sys/sdt.h>\n", check=False,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "<sys/sdt.h> is missing (Debian package systemtap-sdt-dev)"
    return None


@dataclass(frozen=True)
class Built:
    o0: Path
    o2: Path
    nopie: Path
    stripped: Path
    plain: Path

    def all(self) -> list[Path]:
        return [self.o0, self.o2, self.nopie, self.stripped]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    why = _sdt_missing()
    if why:
        pytest.skip(why)
    d = tmp_path_factory.mktemp("usdt")
    (d / "main.c").write_text(MAIN_C)
    (d / "gate.c").write_text(GATE_C)
    (d / "plain.c").write_text(PLAIN_C)
    srcs = [str(d / "main.c"), str(d / "gate.c")]

    def cc(out: str, *flags: str, src=srcs) -> Path:
        subprocess.run(["gcc", *flags, "-g", "-o", str(d / out), *src], check=True)
        return d / out

    b = Built(o0=cc("p_O0", "-O0"), o2=cc("p_O2", "-O2"),
              nopie=cc("p_nopie", "-O2", "-fno-pie", "-no-pie"),
              stripped=cc("p_stripped", "-O2"), plain=cc("plain", "-O2", src=[str(d / "plain.c")]))
    subprocess.run(["strip", str(b.stripped)], check=True)
    return b


# --- what binutils says --------------------------------------------------------------------

@dataclass(frozen=True)
class ReadelfNote:
    provider: str
    name: str
    pc: int
    base: int
    semaphore: int
    args: str


def readelf_notes(path: Path) -> list[ReadelfNote]:
    out = subprocess.run(["readelf", "-n", str(path)], check=True, capture_output=True,
                         text=True).stdout
    notes, cur = [], {}
    for line in out.splitlines():
        s = line.strip()
        if s.startswith("Provider:"):
            cur = {"provider": s.split(":", 1)[1].strip()}
        elif s.startswith("Name:") and "provider" in cur:
            cur["name"] = s.split(":", 1)[1].strip()
        elif s.startswith("Location:") and "name" in cur:
            m = re.match(r"Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)", s)
            assert m, s
            cur["pc"], cur["base"], cur["semaphore"] = (int(g, 16) for g in m.groups())
        elif s.startswith("Arguments:") and "pc" in cur:
            cur["args"] = line.split("Arguments:", 1)[1].strip()
            notes.append(ReadelfNote(**cur))
            cur = {}
    return notes


def readelf_loads(path: Path) -> list[tuple[int, int, int, str]]:
    """(p_offset, p_vaddr, p_filesz, flags) of each PT_LOAD."""
    out = subprocess.run(["readelf", "-lW", str(path)], check=True, capture_output=True,
                         text=True).stdout
    loads = []
    for line in out.splitlines():
        p = line.split()
        if p and p[0] == "LOAD":
            loads.append((int(p[1], 16), int(p[2], 16), int(p[4], 16), " ".join(p[6:-1])))
    return loads


def readelf_symbol(path: Path, name: str) -> int:
    out = subprocess.run(["readelf", "-sW", str(path)], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 8 and p[7] == name:
            return int(p[1], 16)
    raise AssertionError(f"no symbol {name} in {path}")


def section_addr(path: Path, name: str) -> int:
    out = subprocess.run(["readelf", "-SW", str(path)], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        p = line.replace("[ ", "[").split()
        if len(p) > 3 and p[1] == name:
            return int(p[3], 16)
    raise AssertionError(f"no section {name} in {path}")


def offset_in(loads, vaddr: int, want_exec: bool) -> int:
    for off, va, filesz, flags in loads:
        if va <= vaddr < va + filesz and ("E" in flags) == want_exec:
            return vaddr - va + off
    raise AssertionError(f"0x{vaddr:x} in no {'exec' if want_exec else 'data'} PT_LOAD")


# --- probes compared with readelf ----------------------------------------------------------

@pytest.mark.parametrize("which", ["o0", "o2", "nopie", "stripped"])
def test_notes_match_readelf(built, which):
    path = getattr(built, which)
    ours = usdt_probes(str(path))
    theirs = readelf_notes(path)
    assert len(theirs) == 11
    assert [(p.provider, p.name, p.pc, p.base, p.semaphore, p.arg_specs) for p in ours] == \
        [(n.provider, n.name, n.pc, n.base, n.semaphore, n.args) for n in theirs]


@pytest.mark.parametrize("which", ["o0", "o2", "nopie", "stripped"])
def test_offsets_match_program_headers(built, which):
    path = getattr(built, which)
    loads = readelf_loads(path)
    probes = usdt_probes(str(path))
    for p in probes:
        assert p.offset == offset_in(loads, p.pc, want_exec=True), p
        if p.semaphore:
            assert p.semaphore_offset == offset_in(loads, p.semaphore, want_exec=False)
        else:
            assert p.semaphore_offset == 0
    gated = [p for p in probes if p.name == "gated"]
    assert len(gated) == 1 and gated[0].semaphore
    if which != "stripped":
        assert gated[0].semaphore == readelf_symbol(path, "kt_gated_semaphore")
    # the semaphore lives in the data segment, whose file offset differs from its address
    # (the case where using the vaddr as ref_ctr_offset would be wrong)
    assert gated[0].semaphore_offset != gated[0].semaphore


def test_non_pie_offsets_are_not_addresses(built):
    for p in usdt_probes(str(built.nopie)):
        assert p.pc >= 0x400000 and p.offset < 0x400000


@pytest.mark.parametrize("which", ["o0", "o2", "nopie", "stripped"])
def test_argument_sizes_follow_the_c_types(built, which):
    for p in usdt_probes(str(getattr(built, which))):
        try:
            args = p.args
        except UsdtError as e:
            # only a thread-local (%fs:) operand is expected to be unreadable
            assert "%fs:" in p.arg_specs and "%fs:" in str(e) and p.name == "tls"
            assert p.nargs == 1
            continue
        assert [(a.size, a.signed) for a in args] == EXPECTED_SIZES[p.name], p
        assert p.nargs == len(args)
        assert all(a.text in p.arg_specs.split() for a in args)


def test_register_and_memory_operands_both_appear(built):
    kinds = {}
    for which in ("o0", "o2"):
        kinds[which] = set()
        for p in usdt_probes(str(getattr(built, which))):
            try:
                kinds[which] |= {(a.kind, a.reg) for a in p.args}
            except UsdtError:
                pass
    assert ("mem", "rbp") in kinds["o0"]                 # -O0 spills to the frame
    assert any(k == "reg" for k, _ in kinds["o2"])        # -O2 keeps values in registers
    assert ("imm", None) in kinds["o2"]                  # (long)-5


def test_each_parsed_operand_matches_its_text(built):
    """An independent reading of each spec: register names widened by hand."""
    widen = {"eax": "rax", "ax": "rax", "al": "rax", "edi": "rdi", "dil": "rdi", "esi": "rsi",
             "sil": "rsi", "edx": "rdx", "dx": "rdx", "dl": "rdx", "ecx": "rcx", "cl": "rcx",
             "ebp": "rbp", "ebx": "rbx", "bl": "rbx"}
    for n in range(8, 16):
        widen.update({f"r{n}d": f"r{n}", f"r{n}w": f"r{n}", f"r{n}b": f"r{n}"})
    seen = 0
    for path in built.all():
        for p in usdt_probes(str(path)):
            try:
                args = p.args
            except UsdtError:
                continue
            for a in args:
                op = a.text.split("@", 1)[1]
                regs = [widen.get(r, r) for r in re.findall(r"%(\w+)", op)]
                if a.kind == "reg":
                    assert regs == [a.reg]
                elif a.kind == "imm":
                    assert op == f"${a.value}"
                else:
                    assert regs == [r for r in (a.reg, a.index_reg) if r]
                    if a.index_reg:
                        assert op.endswith(f",{a.scale})")
                    if a.symbol is None:
                        disp = op.split("(", 1)[0]
                        assert a.value == (int(disp, 0) if disp else 0)
                seen += 1
    assert seen > 40


def test_global_operand_resolves_its_symbol(built):
    (glob,) = find_usdt(str(built.o2), "kt", "glob")
    if "counter(%rip)" not in glob.arg_specs:
        pytest.skip(f"this gcc wrote {glob.arg_specs!r} for a global")
    (arg,) = glob.args
    assert (arg.kind, arg.reg, arg.symbol, arg.value) == ("mem", "rip", "counter", 0)
    assert arg.symbol_vaddr == readelf_symbol(built.o2, "counter")


def test_thread_local_operand_is_reported_with_its_spec(built):
    (tls,) = find_usdt(str(built.nopie), "kt", "tls")
    if "%fs:" not in tls.arg_specs:
        pytest.skip(f"this gcc wrote {tls.arg_specs!r} for a thread-local")
    with pytest.raises(UsdtError, match=re.escape(tls.arg_specs)):
        _ = tls.args
    assert tls.nargs == 1


# --- find_usdt -----------------------------------------------------------------------------

def test_find_by_globs(built):
    path = str(built.o2)
    ones = find_usdt(path, "kt", "one")
    assert len(ones) == 2 and len({p.pc for p in ones}) == 2      # work() and main()
    assert [p.name for p in find_usdt(path, "kt", "t*")] == ["two", "three", "tls"]
    assert len(find_usdt(path, "*", "*")) == 11
    assert find_usdt(path, "KT", "*") == []                          # case-sensitive
    assert find_usdt(path, "kt", "nosuch") == []
    assert [p.name for p in find_usdt(path, "k?", "g[al]*")] == ["glob", "gated"]


def test_file_without_probes(built):
    assert usdt_probes(str(built.plain)) == []


def test_not_an_elf_file(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(b"not an elf file at all" * 4)
    with pytest.raises(UsdtError, match="not a valid ELF"):
        usdt_probes(str(f))
    with pytest.raises(ElfSymbolError):
        usdt_probes(str(tmp_path / "missing"))


def test_cache_follows_the_file(built, tmp_path):
    f = tmp_path / "prog"
    shutil.copy(built.o2, f)
    assert len(usdt_probes(str(f))) == 11
    shutil.copy(built.plain, f)
    st = os.stat(f)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert usdt_probes(str(f)) == []


def test_prelink_adjustment(built, tmp_path):
    """A prelinked file's allocated sections moved but its notes did not: pc and semaphore
    move by .stapsdt.base's new address minus the note's base. Made here by rewriting the
    section header's sh_addr (readelf still prints the notes' own values)."""
    f = tmp_path / "prelinked"
    shutil.copy(built.o2, f)
    before = usdt_probes(str(built.o2))
    data = bytearray(f.read_bytes())
    assert data[4] == 2 and data[5] == 1                           # ELF64, little endian
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    strtab_off, = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 0x18)
    delta = -0x20                                    # pcs stay in .text
    for i in range(shnum):
        hdr = shoff + i * shentsize
        name_off, = struct.unpack_from("<I", data, hdr)
        end = data.index(b"\0", strtab_off + name_off)
        if data[strtab_off + name_off:end] == b".stapsdt.base":
            addr, = struct.unpack_from("<Q", data, hdr + 0x10)
            struct.pack_into("<Q", data, hdr + 0x10, addr + delta)
            break
    else:
        raise AssertionError("no .stapsdt.base")
    f.write_bytes(bytes(data))
    assert section_addr(f, ".stapsdt.base") == section_addr(built.o2, ".stapsdt.base") + delta
    after = usdt_probes(str(f))
    assert [n.pc for n in readelf_notes(f)] == [p.pc for p in before]   # notes unchanged
    assert [p.pc for p in after] == [p.pc + delta for p in before]
    assert [p.semaphore for p in after] == [p.semaphore + delta if p.semaphore else 0
                                            for p in before]
    assert [p.base for p in after] == [p.base for p in before]


# --- argument specs ------------------------------------------------------------------------

@pytest.mark.parametrize("spec,expected", [
    ("-4@%edi", UsdtArg(4, True, "reg", reg="rdi")),
    ("8@-16(%rbp)", UsdtArg(8, False, "mem", reg="rbp", value=-16)),
    ("8@%rax", UsdtArg(8, False, "reg", reg="rax")),
    ("-4@$5", UsdtArg(4, True, "imm", value=5)),
    ("1@%al", UsdtArg(1, False, "reg", reg="rax")),
    ("8@0x10(%rip)", UsdtArg(8, False, "mem", reg="rip", value=16)),
    ("4@(%rdx)", UsdtArg(4, False, "mem", reg="rdx")),
    ("8@8(%rax,%rbx,8)", UsdtArg(8, False, "mem", reg="rax", value=8, index_reg="rbx", scale=8)),
    ("-8@(%r8,%r9,8)", UsdtArg(8, True, "mem", reg="r8", index_reg="r9", scale=8)),
    ("8@-0x10(%rbx,%rcx)", UsdtArg(8, False, "mem", reg="rbx", value=-16, index_reg="rcx")),
    ("8@(,%rax,4)", UsdtArg(8, False, "mem", index_reg="rax", scale=4)),
    ("-8@$-5", UsdtArg(8, True, "imm", value=-5)),
    ("8@$0xff", UsdtArg(8, False, "imm", value=255)),
    ("-8@$-0x10", UsdtArg(8, True, "imm", value=-16)),
    ("2@%dx", UsdtArg(2, False, "reg", reg="rdx")),
    ("1@%sil", UsdtArg(1, False, "reg", reg="rsi")),
    ("1@%dil", UsdtArg(1, False, "reg", reg="rdi")),
    ("-4@%r10d", UsdtArg(4, True, "reg", reg="r10")),
    ("2@%r15w", UsdtArg(2, False, "reg", reg="r15")),
    ("1@%r8b", UsdtArg(1, False, "reg", reg="r8")),
    ("-4@%ebp", UsdtArg(4, True, "reg", reg="rbp")),
    ("8@%rsp", UsdtArg(8, False, "reg", reg="rsp")),
    ("8@24(%rsp)", UsdtArg(8, False, "mem", reg="rsp", value=24)),
    ("8f@%rdi", UsdtArg(8, False, "reg", reg="rdi", is_float=True)),
    ("-8f@-40(%rbp)", UsdtArg(8, True, "mem", reg="rbp", value=-40, is_float=True)),
    ("-8@counter(%rip)", UsdtArg(8, True, "mem", reg="rip", symbol="counter")),
    ("4@table+12(%rip)", UsdtArg(4, False, "mem", reg="rip", symbol="table", value=12)),
    ("8@counter", UsdtArg(8, False, "mem", symbol="counter")),
    ("8@0x601040", UsdtArg(8, False, "mem", value=0x601040)),
])
def test_parse_arg(spec, expected):
    from dataclasses import replace
    assert parse_arg(spec) == replace(expected, text=spec)


@pytest.mark.parametrize("spec", [
    "-4@%fs:tls_v@tpoff",      # thread-local: segment base not in pt_regs
    "8@%fs:0x28",
    "8@%xmm0",                 # not in pt_regs
    "4@%ah",                   # high byte
    "3@%eax",                  # no such size
    "16@%rax",
    "%eax",                    # no SIZE@ (SDT v1 notes)
    "8@()",
    "8@(%rax,%rbx,3)",         # bad scale
    "8@(%rax,%rsp,2)",         # rsp is no index
    "8@foo@GOTPCREL(%rip)",
    "8@$sym",
    "8@%nosuch",
])
def test_unsupported_specs_name_the_spec(spec):
    with pytest.raises(UsdtError, match=re.escape(f"'{spec}'")):
        parse_arg(spec)


def test_parse_args_string():
    assert parse_args("") == ()
    args = parse_args("-4@%eax -8@$-5 8@-24(%rbp)")
    assert [a.kind for a in args] == ["reg", "imm", "mem"]
    assert [a.text for a in args] == ["-4@%eax", "-8@$-5", "8@-24(%rbp)"]


def test_pt_regs_offsets():
    assert PT_REGS_OFFSET["r15"] == 0 and PT_REGS_OFFSET["rdi"] == 112
    assert PT_REGS_OFFSET["rip"] == 128 and PT_REGS_OFFSET["rsp"] == 152
    assert PT_REGS_OFFSET["ss"] == 160 and len(PT_REGS_OFFSET) == 21
    assert sorted(PT_REGS_OFFSET.values()) == list(range(0, 168, 8))
    a = parse_arg("8@8(%rax,%rbx,8)")
    assert (a.reg_offset, a.index_offset) == (80, 40)
    assert parse_arg("-4@$5").reg_offset is None


def test_probe_with_unsupported_argument_still_lists():
    p = UsdtProbe("/x", "kt", "glob", 0x10, 0x10, 0, 0, 0, "-8@%rax -4@%fs:tls@tpoff",
                  None, "USDT argument '-4@%fs:tls@tpoff': segment-relative")
    assert p.nargs == 2
    with pytest.raises(UsdtError, match="tls@tpoff"):
        _ = p.args
