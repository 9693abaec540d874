"""Symbols of user-space ELF files: where a uprobe goes, and what an address is called.

Why one module for both directions: the compiler turns `uprobe:/bin/bash:readline` into a file
offset (what the uprobe PMU wants, kernel-facts §2: st_value - p_vaddr + p_offset of the PT_LOAD
holding the symbol), and the runtime turns a user address back into `readline+12` for usym()
and ustack. Both read the same tables of the same files, so the reading and the caching live
here, pure (files in, values out; no /proc/PID/* beyond resolving a binary for a pid).

Symbolization follows bcc 0.26, which bpftrace 0.17 prints through (bcc_syms.cc ProcSyms), so
that kt prints the same names:
- symbols of every type (bpftrace asks for BCC_SYM_ALL_TYPES) with a name and a non-zero value,
  from the separate debug file (build-id, then .gnu_debuglink with its CRC) and then from the
  file's own .symtab and .dynsym, in section order;
- sorted by start address with libstdc++'s std::sort (`cxx_sort`): it is not stable, and which
  of several aliases at one address wins (`memset` or `__memset`) is whatever that sort leaves
  last, so kt runs the same algorithm on the same input order;
- an address belongs to the symbol found by walking back from the last start <= address while
  symbols can still contain it (nested symbols), only if start <= address < start + size.

Attach targets (`function_symbols`, `match_functions`) are defined STT_FUNC/STT_GNU_IFUNC
symbols only, deduplicated by (name, address) (a name is usually in both .symtab and .dynsym).
"""

from __future__ import annotations

import bisect
import functools
import os
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

# Finding binaries lives in compiler/formats/binaries.py; these names stay importable from here.
from .binaries import (BinaryNotFound, ElfSymbolError, file_identity, ld_so_cache,  # noqa: F401
                       library_search_dirs, resolve_binary)
from .elffile import ElfError, ElfFile, Segment, SymbolColumns, read_file

__all__ = [
    "Symbol", "ElfSymbolError", "BinaryNotFound",
    "resolve_binary", "function_symbols", "functions_named", "function_names", "match_functions", "find_function", "find_symbol", "file_offset",
    "symbolize", "elf_type", "cxx_sort", "library_search_dirs", "ld_so_cache",
]

STT_OBJECT = 1
STT_FUNC = 2
STT_GNU_IFUNC = 10
SHN_UNDEF = 0
PT_LOAD = 1
PF_X = 1
ET_EXEC = 2
ET_DYN = 3

DEBUG_ROOT = "/usr/lib/debug"


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    addr: int      # st_value: the virtual address in the file's own address space
    size: int


# ---------------------------------------------------------------------------------------------
# libstdc++'s std::sort, step for step (bits/stl_algo.h, GCC 12): introsort with median of
# three, unguarded partition, depth limit 2*lg(n) then heap sort, final insertion sort in runs
# of 16. Only the comparisons of keys matter; equal keys end where that algorithm puts them.

T = TypeVar("T")
_THRESHOLD = 16


def cxx_sort(items: list[T], key: Callable[[T], int]) -> list[T]:
    """Sort `items` in place by `key` exactly as libstdc++'s std::sort orders them (also the
    relative order of equal keys), and return the list."""
    n = len(items)
    if n < 2:
        return items
    # The algorithm only ever compares keys: they live in a list of their own (`k`), moved in
    # step with the items (`v`), so a comparison is one list index (kallsyms: 120,000 keys).
    k = [key(x) for x in items]
    v = list(items)
    _introsort(k, v, 0, n, 2 * (n.bit_length() - 1))
    if n > _THRESHOLD:
        _insertion_sort(k, v, 0, _THRESHOLD)
        _unguarded_insertion_sort(k, v, _THRESHOLD, n)
    else:
        _insertion_sort(k, v, 0, n)
    items[:] = v
    return items


def _introsort(k: list, v: list, first: int, last: int, depth: int) -> None:
    while last - first > _THRESHOLD:
        if depth == 0:
            _heap_sort(k, v, first, last)
            return
        depth -= 1
        mid = first + (last - first) // 2
        # __move_median_to_first(first, first + 1, mid, last - 1)
        x, y, z = k[first + 1], k[mid], k[last - 1]
        if x < y:
            m = mid if y < z else (last - 1 if x < z else first + 1)
        elif x < z:
            m = first + 1
        elif y < z:
            m = last - 1
        else:
            m = mid
        k[first], k[m] = k[m], k[first]
        v[first], v[m] = v[m], v[first]
        # __unguarded_partition(first + 1, last, first)
        pivot = k[first]
        lo, hi = first + 1, last
        while True:
            while k[lo] < pivot:
                lo += 1
            hi -= 1
            while pivot < k[hi]:
                hi -= 1
            if not lo < hi:
                break
            k[lo], k[hi] = k[hi], k[lo]
            v[lo], v[hi] = v[hi], v[lo]
            lo += 1
        _introsort(k, v, lo, last, depth)
        last = lo


def _adjust_heap(k: list, v: list, first: int, hole: int, length: int, vk, vv) -> None:
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if k[first + child] < k[first + child - 1]:
            child -= 1
        k[first + hole] = k[first + child]
        v[first + hole] = v[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        k[first + hole] = k[first + child - 1]
        v[first + hole] = v[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and k[first + parent] < vk:
        k[first + hole] = k[first + parent]
        v[first + hole] = v[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    k[first + hole] = vk
    v[first + hole] = vv


def _heap_sort(k: list, v: list, first: int, last: int) -> None:
    # __partial_sort(first, last, last): __make_heap then __sort_heap
    length = last - first
    if length >= 2:
        parent = (length - 2) // 2
        while True:
            _adjust_heap(k, v, first, parent, length, k[first + parent], v[first + parent])
            if parent == 0:
                break
            parent -= 1
    while last - first > 1:
        last -= 1
        vk, vv = k[last], v[last]
        k[last] = k[first]
        v[last] = v[first]
        _adjust_heap(k, v, first, 0, last - first, vk, vv)


def _insertion_sort(k: list, v: list, first: int, last: int) -> None:
    for i in range(first + 1, last):
        vk, vv = k[i], v[i]
        if vk < k[first]:
            k[first + 1:i + 1] = k[first:i]
            v[first + 1:i + 1] = v[first:i]
            k[first] = vk
            v[first] = vv
        else:
            j = i - 1
            while vk < k[j]:
                k[j + 1] = k[j]
                v[j + 1] = v[j]
                j -= 1
            k[j + 1] = vk
            v[j + 1] = vv


def _unguarded_insertion_sort(k: list, v: list, first: int, last: int) -> None:
    for i in range(first, last):
        vk = k[i]
        if not vk < k[i - 1]:       # already in place: the common case of sorted input
            continue
        vv = v[i]
        j = i - 1
        while vk < k[j]:
            k[j + 1] = k[j]
            v[j + 1] = v[j]
            j -= 1
        k[j + 1] = vk
        v[j + 1] = vv


# ---------------------------------------------------------------------------------------------
# Reading one ELF file (cached per path and file identity)

@dataclass(frozen=True, slots=True)
class _ElfInfo:
    path: str
    type: int                      # e_type: ET_EXEC, ET_DYN, ...
    symbols: SymbolColumns         # named .symtab and .dynsym entries, section order
    segments: tuple[Segment, ...]  # PT_LOAD
    build_id: str | None
    debuglink: tuple[str, int] | None   # (file name, crc32)


def _read_elf(path: str) -> _ElfInfo:
    return _read_elf_cached(path, file_identity(path))


@functools.lru_cache(maxsize=64)
def _read_elf_cached(path: str, ident: tuple) -> _ElfInfo:
    try:
        return read_file(path, lambda elf: _parse_elf(path, elf))
    except ElfError as e:
        raise ElfSymbolError(f"{path} is not a valid ELF file: {e}") from None
    except OSError as e:
        raise ElfSymbolError(f"cannot read {path}: {e.strerror}") from None


def _parse_elf(path: str, elf: ElfFile) -> _ElfInfo:
    segments = tuple(s for s in elf.segments if s.type == PT_LOAD)
    return _ElfInfo(path, elf.type, elf.symbols(), segments, elf.build_id(), elf.debuglink())


def elf_type(path: str) -> int:
    """e_type of the file: ET_EXEC (2) for a fixed-address executable, ET_DYN (3) for a PIE or
    shared object."""
    return _read_elf(path).type


# ---------------------------------------------------------------------------------------------
# Attach targets

def function_symbols(path: str) -> list[Symbol]:
    """The functions (STT_FUNC, STT_GNU_IFUNC) of .symtab and .dynsym with an address, one
    per (name, address), ordered by address then name: those the file defines, and those it
    imports whose PLT entry is their address (an executable that is not PIE gives an imported
    function the address of its PLT entry; bcc lists and attaches there, and so does 0.17)."""
    return list(_functions(path, file_identity(path)).symbols)


@dataclass(frozen=True, slots=True)
class _Functions:
    symbols: tuple[Symbol, ...]            # by (address, name)
    by_name: dict[str, tuple[Symbol, ...]]  # each name's symbols, by address


@functools.lru_cache(maxsize=64)
def _functions(path: str, ident: tuple) -> _Functions:
    cols = _read_elf_cached(path, ident).symbols
    seen: dict[tuple[str, int], int] = {}
    for name, value, size, typ in zip(cols.names, cols.values, cols.sizes, cols.types):
        if (typ == STT_FUNC or typ == STT_GNU_IFUNC) and value:
            k = (name, value)
            if seen.get(k, -1) < size:
                seen[k] = size
    syms = tuple(sorted((Symbol(n, a, sz) for (n, a), sz in seen.items()),
                        key=lambda s: (s.addr, s.name)))
    by_name: dict[str, list[Symbol]] = {}
    for sym in syms:
        by_name.setdefault(sym.name, []).append(sym)
    return _Functions(syms, {n: tuple(v) for n, v in by_name.items()})


def functions_named(path: str, name: str) -> list[Symbol]:
    """The functions called `name` (several for static functions of one name in different
    source files), by address: function_symbols filtered by name, from an index."""
    return list(_functions(path, file_identity(path)).by_name.get(name, ()))


def function_names(path: str) -> list[str]:
    """The distinct function names, in the order of function_symbols (for hints)."""
    return list(_functions(path, file_identity(path)).by_name)


def _glob_regex(glob: str) -> re.Pattern:
    # bpftrace's wildcards: only '*' is special.
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in glob), re.DOTALL)


def match_functions(path: str, glob: str) -> list[Symbol]:
    """Functions whose name matches `glob` (`*` matches any text, nothing else is special),
    ordered by name then address."""
    fns = _functions(path, file_identity(path))
    if "*" not in glob:
        return list(fns.by_name.get(glob, ()))
    match = _glob_regex(glob).fullmatch
    return [s for name in sorted(n for n in fns.by_name if match(n)) for s in fns.by_name[name]]


def find_function(path: str, name: str) -> Symbol:
    """The function called `name`; the lowest address when several (static functions of the
    same name in different files). ElfSymbolError when there is none."""
    found = _functions(path, file_identity(path)).by_name.get(name)
    if not found:
        raise ElfSymbolError(f"function '{name}' not found in {path}")
    return found[0]


def find_symbol(path: str, name: str, types: tuple[int, ...] = (STT_OBJECT,)) -> Symbol | None:
    """A defined symbol called `name` of one of `types` (a variable by default: what uaddr()
    resolves, as 0.17, which finds no functions). The file's own tables, in section order."""
    cols = _read_elf(path).symbols
    for i, n in enumerate(cols.names):
        if (n == name and cols.types[i] in types and cols.values[i]
                and cols.shndx[i] != SHN_UNDEF):
            return Symbol(n, cols.values[i], cols.sizes[i])
    return None


def file_offset(path: str, vaddr: int) -> int:
    """The file offset of virtual address `vaddr` (st_value) of `path`: vaddr - p_vaddr +
    p_offset of the PT_LOAD segment that holds it (what the uprobe PMU's config2 is). Holds for
    PIE and shared objects (p_vaddr near 0) and fixed-address executables alike."""
    info = _read_elf(path)
    # Executable segments first, as bcc does; then any loaded segment with file bytes.
    for seg in sorted(info.segments, key=lambda s: not s.flags & PF_X):
        if seg.vaddr <= vaddr < seg.vaddr + seg.filesz:
            return vaddr - seg.vaddr + seg.offset
    raise ElfSymbolError(f"address 0x{vaddr:x} is in no loadable segment of {path}")


# ---------------------------------------------------------------------------------------------
# Address -> symbol (bcc's ProcSyms::Module::find_addr)

@dataclass(frozen=True, slots=True)
class _SymTable:
    starts: list[int]
    syms: list[tuple[int, int, str]]    # (start, size, name), in cxx_sort order


def _debug_file(info: _ElfInfo) -> str | None:
    """bcc's find_debug_file: by build id, then by .gnu_debuglink (CRC checked)."""
    if info.build_id and len(info.build_id) > 2:
        p = f"{DEBUG_ROOT}/.build-id/{info.build_id[:2]}/{info.build_id[2:]}.debug"
        if os.access(p, os.F_OK):
            return p
    if info.debuglink is None:
        return None
    name, crc = info.debuglink
    bindir = os.path.dirname(info.path)
    found = None
    candidate = os.path.join(bindir, name)
    try:
        same = os.path.samefile(candidate, info.path)
    except OSError:
        same = False
    if not same and os.access(candidate, os.F_OK):
        found = candidate
    else:
        for c in (os.path.join(bindir, ".debug", name), f"{DEBUG_ROOT}{bindir}/{name}"):
            if os.access(c, os.F_OK):
                found = c
                break
    if found is None:
        return None
    try:
        with open(found, "rb") as f:
            if zlib.crc32(f.read()) != crc:
                return None
    except OSError:
        return None
    return found


def _all_symbols(info: _ElfInfo) -> list[tuple[int, int, str]]:
    cols = info.symbols
    return [t for t in zip(cols.values, cols.sizes, cols.names) if t[0]]


@functools.lru_cache(maxsize=64)
def _symtable(path: str, ident: tuple) -> _SymTable:
    info = _read_elf_cached(path, ident)
    syms: list[tuple[int, int, str]] = []
    debug = _debug_file(info)
    if debug is not None:
        try:
            syms.extend(_all_symbols(_read_elf(debug)))
        except ElfSymbolError:
            pass
    syms.extend(_all_symbols(info))
    cxx_sort(syms, key=lambda s: s[0])
    return _SymTable([s[0] for s in syms], syms)


def symbol_table_lookup(table: Sequence[tuple[int, int, str]], starts: Sequence[int],
                        addr: int) -> tuple[str, int] | None:
    """bcc's find_addr over `table` sorted by start (with `starts` its start column)."""
    i = bisect.bisect_right(starts, addr)
    if i == 0:
        return None
    i -= 1
    limit = table[i][0]
    while addr >= table[i][0]:
        start, size, name = table[i]
        if addr < start + size:
            return name, addr - start
        if limit > start + size:
            break
        if i == 0:
            break
        i -= 1
    return None


def symbolize(path: str, vaddr: int) -> tuple[str, int] | None:
    """(symbol, offset) of virtual address `vaddr` in `path` (st_value space, not a runtime
    address), or None when no symbol covers it."""
    table = _symtable(path, file_identity(path))
    return symbol_table_lookup(table.syms, table.starts, vaddr)


def vaddr_of_file_offset(path: str, offset: int) -> int | None:
    """The virtual address at file offset `offset` (the inverse of `file_offset`), through
    the PT_LOAD segment holding it; None if no segment maps that offset."""
    for seg in _read_elf(path).segments:
        if seg.offset <= offset < seg.offset + seg.filesz:
            return offset - seg.offset + seg.vaddr
    return None


def symbols_from_image(data: bytes) -> tuple[list[tuple[int, int, str]], list[int]]:
    """Symbols of an in-memory ELF image (the vDSO), sorted as `symbolize` sorts; returns
    (table, starts) for `symbol_table_lookup`."""
    try:
        info = _parse_elf("[image]", ElfFile(data))
    except (ElfError, struct.error) as e:
        raise ElfSymbolError(f"not a valid ELF image: {e}") from None
    syms = _all_symbols(info)
    cxx_sort(syms, key=lambda s: s[0])
    return syms, [s[0] for s in syms]
