"""compiler/formats/elfsyms: binaries found by name, function symbols, file offsets and symbolization,
on this machine's bash and libc and on a C program built here (PIE, non-PIE, stripped)."""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from kt.compiler.formats import elfsyms
from kt.compiler.formats.elfsyms import (
    BinaryNotFound, ElfSymbolError, Symbol, cxx_sort, file_offset, find_function,
    function_symbols, match_functions, resolve_binary, symbolize,
)
from tests.runtime import uprobe_target

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    return uprobe_target.build(tmp_path_factory.mktemp("elfsyms"))


def libc() -> str:
    return resolve_binary("libc.so.6")


def readelf_functions(path: Path, dynamic: bool = False) -> dict[str, int]:
    """What binutils says: defined FUNC/IFUNC symbols with a value, name -> value."""
    out = subprocess.run(["readelf", "-W", "--dyn-syms" if dynamic else "--syms", str(path)],
                         check=True, capture_output=True, text=True).stdout
    funcs = {}
    for line in out.splitlines():
        parts = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(parts) >= 8 and parts[3] in ("FUNC", "IFUNC") and parts[6] != "UND":
            value = int(parts[1], 16)
            if value:
                funcs[parts[7].split("@")[0]] = value
    return funcs


def readelf_loads(path: Path) -> list[tuple[int, int, int]]:
    """(p_offset, p_vaddr, p_filesz) of each PT_LOAD, from readelf."""
    out = subprocess.run(["readelf", "-lW", str(path)], check=True, capture_output=True,
                         text=True).stdout
    loads = []
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            loads.append((int(parts[1], 16), int(parts[2], 16), int(parts[4], 16)))
    return loads


# --- resolve_binary ------------------------------------------------------------------------

def test_absolute_path_as_is():
    assert resolve_binary("/usr/bin/bash") == "/usr/bin/bash"


def test_relative_path_with_slash_is_made_absolute(tmp_path, monkeypatch):
    (tmp_path / "x").write_bytes(b"\x7fELF")
    monkeypatch.chdir(tmp_path)
    assert resolve_binary("./x") == str(tmp_path / "x")


def test_missing_path():
    with pytest.raises(BinaryNotFound, match="no such file"):
        resolve_binary("/nonexistent/kt-binary")


@pytest.mark.parametrize("name", ["libc", "libc.so.6", "libc.so", "c"])
def test_library_names_find_libc(name):
    path = resolve_binary(name)
    assert os.path.basename(path).startswith("libc.so")
    assert os.path.samefile(path, _ldconfig("libc.so.6"))


def _ldconfig(soname: str) -> str:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith(soname + " ") and "x86-64" in line:
            return line.rsplit("=> ", 1)[1]
    raise AssertionError(f"ldconfig -p has no {soname}")


def test_ld_so_cache_agrees_with_ldconfig():
    ours = dict(elfsyms.ld_so_cache())
    assert ours["libc.so.6"] == _ldconfig("libc.so.6")
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    native = [ln for ln in out.splitlines() if "x86-64" in ln]
    assert len(elfsyms.ld_so_cache()) == len(native)


def test_program_on_path(monkeypatch, tmp_path):
    assert resolve_binary("bash") == shutil.which("bash")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFound, match="'bash' not found"):
        resolve_binary("bash")


def test_through_a_process(programs):
    with uprobe_target.Running(programs.pie, 1) as child:
        assert resolve_binary("target_pie", pid=child.pid) == str(programs.pie)
        assert os.path.samefile(resolve_binary("libc", pid=child.pid), libc())
        child.finish()


# --- function symbols ----------------------------------------------------------------------

@pytest.mark.parametrize("which", ["pie", "nopie"])
def test_functions_agree_with_nm(programs, which):
    path = getattr(programs, which)
    ours = {s.name: s.addr for s in function_symbols(str(path))}
    assert ours == readelf_functions(path)
    leaf = find_function(str(path), "leaf")
    assert leaf.size > 0
    assert "hidden" in ours                 # static: only in .symtab


def test_stripped_binary_keeps_dynsym_only(programs):
    names = {s.name for s in function_symbols(str(programs.stripped))}
    assert "leaf" not in names and "hidden" not in names
    with pytest.raises(ElfSymbolError, match="'leaf' not found"):
        find_function(str(programs.stripped), "leaf")


def test_libc_functions_deduplicated():
    syms = function_symbols(libc())
    assert len(syms) == len({(s.name, s.addr) for s in syms})
    malloc = find_function(libc(), "malloc")
    assert malloc.addr == readelf_functions(Path(libc()), dynamic=True)["malloc"]


def test_match_functions_glob(programs):
    path = str(programs.pie)
    assert [s.name for s in match_functions(path, "leaf")] == ["leaf"]
    assert [s.name for s in match_functions(path, "*dle")] == ["middle"]
    names = [s.name for s in match_functions(path, "*")]
    assert names == sorted(names) and {"leaf", "middle", "hidden", "main"} <= set(names)
    assert match_functions(path, "lea?") == []          # only '*' is a wildcard
    assert [s.name for s in match_functions("/usr/bin/bash", "readline")] == ["readline"]


def test_cache_follows_the_file(tmp_path, programs):
    copy = tmp_path / "t"
    shutil.copy(programs.pie, copy)
    assert any(s.name == "leaf" for s in function_symbols(str(copy)))
    shutil.copy(programs.stripped, copy)
    assert not any(s.name == "leaf" for s in function_symbols(str(copy)))


def test_not_elf(tmp_path):
    p = tmp_path / "text"
    p.write_text("hello")
    with pytest.raises(ElfSymbolError, match="not a valid ELF"):
        function_symbols(str(p))
    with pytest.raises(ElfSymbolError, match="cannot read"):
        function_symbols(str(tmp_path / "missing"))


# --- file offsets --------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["pie", "nopie"])
def test_file_offset_from_program_headers(programs, which):
    path = getattr(programs, which)
    leaf = find_function(str(path), "leaf")
    off = file_offset(str(path), leaf.addr)
    # the segment readelf shows holding it gives the same offset
    seg = [s for s in readelf_loads(path) if s[1] <= leaf.addr < s[1] + s[2]]
    assert off == leaf.addr - seg[0][1] + seg[0][0]
    # and the bytes there are leaf's first instruction bytes as objdump shows them
    with open(path, "rb") as f:
        f.seek(off)
        code = f.read(3)
    assert code == _objdump_first_bytes(path, "leaf")


def _objdump_first_bytes(path: Path, func: str) -> bytes:
    out = subprocess.run(["objdump", "-d", f"--disassemble={func}", str(path)], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip().endswith(":") and parts[1].strip():
            return bytes.fromhex(parts[1].replace(" ", ""))[:3]
    raise AssertionError("no instructions")


def test_nopie_offset_differs_from_address(programs):
    leaf = find_function(str(programs.nopie), "leaf")
    assert leaf.addr >= 0x400000
    assert file_offset(str(programs.nopie), leaf.addr) < 0x100000


def test_file_offset_outside_segments(programs):
    with pytest.raises(ElfSymbolError, match="no loadable segment"):
        file_offset(str(programs.pie), 1 << 40)


def test_libc_offset_round_trip():
    malloc = find_function(libc(), "malloc")
    off = file_offset(libc(), malloc.addr)
    assert elfsyms.vaddr_of_file_offset(libc(), off) == malloc.addr


# --- symbolization -------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["pie", "nopie"])
def test_symbolize_inside_functions(programs, which):
    path = str(getattr(programs, which))
    leaf = find_function(path, "leaf")
    assert symbolize(path, leaf.addr) == ("leaf", 0)
    assert symbolize(path, leaf.addr + leaf.size - 1) == ("leaf", leaf.size - 1)
    hidden = find_function(path, "hidden")
    assert symbolize(path, hidden.addr + 4) == ("hidden", 4)


def test_symbolize_outside_any_symbol(programs):
    assert symbolize(str(programs.pie), 1) is None
    assert symbolize(str(programs.pie), 1 << 40) is None


def test_symbolize_stripped_uses_dynsym_only(programs):
    leaf = find_function(str(programs.pie), "leaf")
    assert symbolize(str(programs.stripped), leaf.addr) is None


def test_symbolize_bash_and_libc():
    bash = "/usr/bin/bash"
    rl = find_function(bash, "readline")
    assert symbolize(bash, rl.addr + 1) == ("readline", 1)
    malloc = find_function(libc(), "malloc")
    name, off = symbolize(libc(), malloc.addr + 3)
    assert off == 3
    # libc's malloc has aliases (and libc6-dbg adds __GI_ names): any name at that address
    assert name in _names_at(libc(), malloc.addr)


def _names_at(path: str, addr: int) -> set[str]:
    info = elfsyms._read_elf(path)
    names = {n for n, v in zip(info.symbols.names, info.symbols.values) if v == addr}
    debug = elfsyms._debug_file(info)
    if debug:
        cols = elfsyms._read_elf(debug).symbols
        names |= {n for n, v in zip(cols.names, cols.values) if v == addr}
    return names


def test_nested_symbols_walk_back():
    # bcc's example: goo [0,6), foo [6,0x16), bar [8,0xc) nested in foo, baz [0x16,0x26)
    table = [(0x0, 0x6, "goo"), (0x6, 0x10, "foo"), (0x8, 0x4, "bar"), (0x16, 0x10, "baz")]
    starts = [t[0] for t in table]
    look = elfsyms.symbol_table_lookup
    assert look(table, starts, 0x12) == ("foo", 0xC)
    assert look(table, starts, 0x9) == ("bar", 1)
    assert look(table, starts, 0x17) == ("baz", 1)
    assert look(table, starts, 0x30) is None
    # a size-0 symbol never covers anything
    assert look([(0x10, 0, "z")], [0x10], 0x10) is None


# --- libstdc++'s std::sort -----------------------------------------------------------------

CXX_SORT = r"""
#include <algorithm>
#include <cstdio>
#include <vector>
struct E { unsigned long long k; int i; bool operator<(const E &o) const { return k < o.k; } };
int main() {
    std::vector<E> v; unsigned long long k; int i = 0;
    while (scanf("%llu", &k) == 1) v.push_back(E{k, i++});
    std::sort(v.begin(), v.end());
    for (auto &e : v) printf("%d\n", e.i);
}
"""


@pytest.fixture(scope="module")
def cxx_sorter(tmp_path_factory):
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ is not installed")
    d = tmp_path_factory.mktemp("cxxsort")
    (d / "s.cc").write_text(CXX_SORT)
    subprocess.run([gxx, "-O2", "-o", str(d / "s"), str(d / "s.cc")], check=True)
    return d / "s"


@pytest.mark.parametrize("n,distinct,seed", [
    (0, 1, 0), (1, 1, 0), (5, 2, 1), (16, 3, 2), (17, 3, 3), (100, 5, 4), (1000, 40, 5),
    (5000, 3, 6), (20000, 20000, 7), (3000, 1, 8),
])
def test_cxx_sort_matches_libstdcxx(cxx_sorter, n, distinct, seed):
    rng = random.Random(seed)
    keys = [rng.randrange(distinct) for _ in range(n)]
    if seed == 7:
        keys.sort()                      # mostly sorted input, like kallsyms
        for _ in range(50):
            a, b = rng.randrange(n), rng.randrange(n)
            keys[a], keys[b] = keys[b], keys[a]
    out = subprocess.run([str(cxx_sorter)], input="\n".join(map(str, keys)), capture_output=True,
                         text=True, check=True).stdout.split()
    ours = cxx_sort(list(range(n)), key=lambda i: keys[i])
    assert ours == [int(x) for x in out]


def test_cxx_sort_adversarial_depth_limit(cxx_sorter):
    """An input that drives introsort into its heap-sort fallback (median-of-3 killer)."""
    n = 4096
    keys = _median_of_three_killer(n)
    out = subprocess.run([str(cxx_sorter)], input="\n".join(map(str, keys)), capture_output=True,
                         text=True, check=True).stdout.split()
    assert cxx_sort(list(range(n)), key=lambda i: keys[i]) == [int(x) for x in out]


def _median_of_three_killer(n: int) -> list[int]:
    # Musser's sequence, with many equal keys mixed in to exercise ties in the heap too
    k = n // 2
    seq = [0] * n
    for i in range(1, k + 1):
        if i % 2:
            seq[i - 1] = i
            seq[i] = k + i
        seq[k + i - 1] = 2 * i
    return [v // 3 for v in seq]
