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

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

__all__ = [
    "Symbol", "ElfSymbolError", "BinaryNotFound",
    "resolve_binary", "function_symbols", "match_functions", "find_function", "find_symbol", "file_offset",
    "symbolize", "elf_type", "cxx_sort", "library_search_dirs", "ld_so_cache",
]

STT_FUNC = 2
STT_GNU_IFUNC = 10
SHN_UNDEF = 0
PT_LOAD = 1
PF_X = 1
ET_EXEC = 2
ET_DYN = 3

DEBUG_ROOT = "/usr/lib/debug"


class ElfSymbolError(ValueError):
    """A file is not a readable ELF file, or holds no such symbol/address."""


class BinaryNotFound(ElfSymbolError, LookupError):
    """`resolve_binary` found no file for the name; the message says where it looked."""


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
    # Sort (key, item) pairs: the algorithm only ever compares keys.
    a = [(key(x), x) for x in items]
    _introsort(a, 0, n, 2 * (n.bit_length() - 1))
    if n > _THRESHOLD:
        _insertion_sort(a, 0, _THRESHOLD)
        _unguarded_insertion_sort(a, _THRESHOLD, n)
    else:
        _insertion_sort(a, 0, n)
    items[:] = [x for _, x in a]
    return items


def _introsort(a: list, first: int, last: int, depth: int) -> None:
    while last - first > _THRESHOLD:
        if depth == 0:
            _heap_sort(a, first, last)
            return
        depth -= 1
        mid = first + (last - first) // 2
        # __move_median_to_first(first, first + 1, mid, last - 1)
        x, y, z = a[first + 1][0], a[mid][0], a[last - 1][0]
        if x < y:
            m = mid if y < z else (last - 1 if x < z else first + 1)
        elif x < z:
            m = first + 1
        elif y < z:
            m = last - 1
        else:
            m = mid
        a[first], a[m] = a[m], a[first]
        # __unguarded_partition(first + 1, last, first)
        pivot = a[first][0]
        lo, hi = first + 1, last
        while True:
            while a[lo][0] < pivot:
                lo += 1
            hi -= 1
            while pivot < a[hi][0]:
                hi -= 1
            if not lo < hi:
                break
            a[lo], a[hi] = a[hi], a[lo]
            lo += 1
        _introsort(a, lo, last, depth)
        last = lo


def _adjust_heap(a: list, first: int, hole: int, length: int, value: tuple) -> None:
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if a[first + child][0] < a[first + child - 1][0]:
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and a[first + parent][0] < value[0]:
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value


def _heap_sort(a: list, first: int, last: int) -> None:
    # __partial_sort(first, last, last): __make_heap then __sort_heap
    length = last - first
    if length >= 2:
        parent = (length - 2) // 2
        while True:
            _adjust_heap(a, first, parent, length, a[first + parent])
            if parent == 0:
                break
            parent -= 1
    while last - first > 1:
        last -= 1
        value = a[last]
        a[last] = a[first]
        _adjust_heap(a, first, 0, last - first, value)


def _insertion_sort(a: list, first: int, last: int) -> None:
    for i in range(first + 1, last):
        v = a[i]
        if v[0] < a[first][0]:
            a[first + 1:i + 1] = a[first:i]
            a[first] = v
        else:
            j = i - 1
            while v[0] < a[j][0]:
                a[j + 1] = a[j]
                j -= 1
            a[j + 1] = v


def _unguarded_insertion_sort(a: list, first: int, last: int) -> None:
    for i in range(first, last):
        v = a[i]
        j = i - 1
        while v[0] < a[j][0]:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


# ---------------------------------------------------------------------------------------------
# Reading one ELF file (cached per path and file identity)

@dataclass(frozen=True, slots=True)
class _RawSym:
    name: str
    value: int
    size: int
    type: int
    shndx: int


@dataclass(frozen=True, slots=True)
class _Segment:
    vaddr: int
    offset: int
    filesz: int
    memsz: int
    flags: int


@dataclass(frozen=True, slots=True)
class _ElfInfo:
    path: str
    type: int                      # e_type: ET_EXEC, ET_DYN, ...
    symbols: tuple[_RawSym, ...]   # .symtab and .dynsym entries, section order
    segments: tuple[_Segment, ...]  # PT_LOAD
    build_id: str | None
    debuglink: tuple[str, int] | None   # (file name, crc32)


def file_identity(path: str) -> tuple:
    """What a cache of a file's contents is keyed by: a changed file is read again."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ElfSymbolError(f"cannot read {path}: {e.strerror}") from None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _read_elf(path: str) -> _ElfInfo:
    return _read_elf_cached(path, file_identity(path))


@functools.lru_cache(maxsize=64)
def _read_elf_cached(path: str, ident: tuple) -> _ElfInfo:
    try:
        with open(path, "rb") as f:
            return _parse_elf(path, f)
    except ELFError as e:
        raise ElfSymbolError(f"{path} is not a valid ELF file: {e}") from None
    except OSError as e:
        raise ElfSymbolError(f"cannot read {path}: {e.strerror}") from None


def _parse_elf(path: str, f) -> _ElfInfo:
    elf = ELFFile(f)
    endian = "<" if elf.little_endian else ">"
    is64 = elf.elfclass == 64
    symbols: list[_RawSym] = []
    build_id = None
    debuglink = None
    for sec in elf.iter_sections():
        stype = sec["sh_type"]
        if stype in ("SHT_SYMTAB", "SHT_DYNSYM"):
            strtab = elf.get_section(sec["sh_link"]).data()
            symbols.extend(_symbols(sec.data(), strtab, endian, is64))
        elif sec.name == ".note.gnu.build-id":
            data = sec.data()
            # Elf_Nhdr {namesz, descsz, type} + "GNU\0" + the id
            if len(data) > 16 and data[12:16] == b"GNU\0":
                build_id = data[16:].hex()
        elif sec.name == ".gnu_debuglink":
            data = sec.data()
            nul = data.find(b"\0")
            if nul > 0 and len(data) >= 8:
                (crc,) = struct.unpack_from(endian + "I", data, len(data) - 4)
                debuglink = (data[:nul].decode("utf-8", "surrogateescape"), crc)
    segments = tuple(
        _Segment(s["p_vaddr"], s["p_offset"], s["p_filesz"], s["p_memsz"], s["p_flags"])
        for s in elf.iter_segments() if s["p_type"] == "PT_LOAD")
    etype = {"ET_EXEC": ET_EXEC, "ET_DYN": ET_DYN}.get(elf["e_type"], 0)
    return _ElfInfo(path, etype, tuple(symbols), segments, build_id, debuglink)


def _symbols(data: bytes, strtab: bytes, endian: str, is64: bool) -> list[_RawSym]:
    out = []
    if is64:
        fmt = struct.Struct(endian + "IBBHQQ")   # st_name, st_info, st_other, st_shndx, value, size
        for name, info, _other, shndx, value, size in fmt.iter_unpack(data[:len(data) - len(data) % 24]):
            if name:
                out.append(_RawSym(_cstr(strtab, name), value, size, info & 0xF, shndx))
    else:
        fmt = struct.Struct(endian + "IIIBBH")   # st_name, value, size, st_info, st_other, shndx
        for name, value, size, info, _other, shndx in fmt.iter_unpack(data[:len(data) - len(data) % 16]):
            if name:
                out.append(_RawSym(_cstr(strtab, name), value, size, info & 0xF, shndx))
    return out


def _cstr(strtab: bytes, off: int) -> str:
    end = strtab.find(b"\0", off)
    return strtab[off:end if end >= 0 else len(strtab)].decode("utf-8", "surrogateescape")


def elf_type(path: str) -> int:
    """e_type of the file: ET_EXEC (2) for a fixed-address executable, ET_DYN (3) for a PIE or
    shared object."""
    return _read_elf(path).type


# ---------------------------------------------------------------------------------------------
# Attach targets

def function_symbols(path: str) -> list[Symbol]:
    """The defined functions (STT_FUNC, STT_GNU_IFUNC) of .symtab and .dynsym, one per
    (name, address), ordered by address then name."""
    return list(_function_symbols(path, file_identity(path)))


@functools.lru_cache(maxsize=64)
def _function_symbols(path: str, ident: tuple) -> tuple[Symbol, ...]:
    seen: dict[tuple[str, int], int] = {}
    for s in _read_elf_cached(path, ident).symbols:
        if s.type in (STT_FUNC, STT_GNU_IFUNC) and s.shndx != SHN_UNDEF and s.value:
            k = (s.name, s.value)
            seen[k] = max(seen.get(k, 0), s.size)
    return tuple(sorted((Symbol(n, a, sz) for (n, a), sz in seen.items()),
                        key=lambda s: (s.addr, s.name)))


def _glob_regex(glob: str) -> re.Pattern:
    # bpftrace's wildcards: only '*' is special.
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in glob), re.DOTALL)


def match_functions(path: str, glob: str) -> list[Symbol]:
    """Functions whose name matches `glob` (`*` matches any text, nothing else is special),
    ordered by name then address."""
    rx = _glob_regex(glob)
    return sorted((s for s in function_symbols(path) if rx.fullmatch(s.name)),
                  key=lambda s: (s.name, s.addr))


def find_function(path: str, name: str) -> Symbol:
    """The function called `name`; the lowest address when several (static functions of the
    same name in different files). ElfSymbolError when there is none."""
    for s in function_symbols(path):
        if s.name == name:
            return s
    raise ElfSymbolError(f"function '{name}' not found in {path}")


def find_symbol(path: str, name: str) -> Symbol | None:
    """A defined symbol of any type (a variable, a function) called `name`: what uaddr()
    resolves. The file's own tables, in section order (.symtab before .dynsym)."""
    for s in _read_elf(path).symbols:
        if s.name == name and s.value and s.shndx != SHN_UNDEF:
            return Symbol(s.name, s.value, s.size)
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
    return [(s.value, s.size, s.name) for s in info.symbols if s.value]


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
    import io

    try:
        info = _parse_elf("[image]", io.BytesIO(data))
    except ELFError as e:
        raise ElfSymbolError(f"not a valid ELF image: {e}") from None
    syms = _all_symbols(info)
    cxx_sort(syms, key=lambda s: s[0])
    return syms, [s[0] for s in syms]


# ---------------------------------------------------------------------------------------------
# Finding binaries

_LIB_DIRS_DEFAULT = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
                     "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib")

# /etc/ld.so.cache entry flags (glibc elf/cache.c): type ELF libc6, and the ABI of 64-bit
# x86-64 libraries; other 64-bit ABIs for the machines kt may run on.
_FLAG_TYPE_MASK = 0x00FF
_FLAG_ELF_LIBC6 = 0x0003
_FLAG_ABI_MASK = 0xFF00
_ABI_64 = {0x0300: "x86_64", 0x0A00: "aarch64", 0x0500: "ppc64", 0x0400: "s390x",
           0x0B00: "riscv64", 0x1000: "riscv64"}


def library_search_dirs() -> tuple[str, ...]:
    """Where a library is looked for when ld.so.cache does not know it."""
    import platform

    arch = platform.machine()
    dirs = [f"/lib/{arch}-linux-gnu", f"/usr/lib/{arch}-linux-gnu"]
    dirs += [d for d in _LIB_DIRS_DEFAULT if d not in dirs and "x86_64" not in d]
    return tuple(dirs)


@functools.lru_cache(maxsize=4)
def _ld_so_cache(path: str, ident: tuple) -> tuple[tuple[str, str], ...]:
    with open(path, "rb") as f:
        data = f.read()
    return tuple(_parse_ld_so_cache(data))


def ld_so_cache(path: str = "/etc/ld.so.cache") -> list[tuple[str, str]]:
    """(soname, path) of every native 64-bit library in ld.so.cache, in cache order (what
    `ldconfig -p` lists); [] when the cache is missing or unreadable."""
    try:
        return list(_ld_so_cache(path, file_identity(path)))
    except (ElfSymbolError, OSError, struct.error, ValueError):
        return []


_OLD_MAGIC = b"ld.so-1.7.0"
_NEW_MAGIC = b"glibc-ld.so.cache1.1"


def _parse_ld_so_cache(data: bytes):
    """glibc's cache formats (elf/cache.c): the new format alone ("glibc-ld.so.cache1.1",
    entries of 24 bytes, string offsets from the file start), or after an old-format table
    ("ld.so-1.7.0", 12-byte entries)."""
    base = 0
    if data.startswith(_OLD_MAGIC):
        (n,) = struct.unpack_from("<I", data, 12)
        base = (16 + 12 * n + 7) & ~7
    if not data[base:].startswith(_NEW_MAGIC):
        return
    nlibs, _strlen = struct.unpack_from("<II", data, base + 20)
    entries = base + 48
    for i in range(nlibs):
        flags, key, value = struct.unpack_from("<iII", data, entries + 24 * i)
        if flags & _FLAG_TYPE_MASK != _FLAG_ELF_LIBC6:
            continue
        if (flags & _FLAG_ABI_MASK) not in _ABI_64:
            continue
        # new-format offsets are relative to the new header (which is the file start
        # unless an old table precedes it)
        yield _cstr_b(data, base + key), _cstr_b(data, base + value)


def _cstr_b(data: bytes, off: int) -> str:
    end = data.find(b"\0", off)
    return data[off:end].decode("utf-8", "surrogateescape")


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _looks_like_library(name: str) -> bool:
    return name.startswith("lib") or ".so" in name


def _find_library(name: str) -> str | None:
    """`libc`, `libc.so`, `libc.so.6` (or bcc's bare `c`) -> the library's path."""
    n = name if _looks_like_library(name) else f"lib{name}"
    # exact soname first (libc.so.6), then a longer version of it: libc -> libc.so.6,
    # libc.so -> libc.so.6 (libc.so itself is often a linker script, not a library)
    prefixes = (n + ".",) if ".so" in n else (n + ".so",)
    cache = ld_so_cache()
    for soname, path in cache:
        if soname == n and _is_elf(path):
            return path
    for soname, path in cache:
        if soname.startswith(prefixes) and _is_elf(path):
            return path
    for d in library_search_dirs():
        if _is_elf(f"{d}/{n}"):
            return f"{d}/{n}"
        try:
            entries = sorted(os.listdir(d))
        except OSError:
            continue
        for e in entries:
            if e.startswith(prefixes) and _is_elf(f"{d}/{e}"):
                return f"{d}/{e}"
    return None


def _find_program(name: str) -> str | None:
    for d in os.environ.get("PATH", os.defpath).split(":"):
        if not d:
            continue
        cand = os.path.join(d, name)
        if os.path.isfile(cand) and os.access(cand, os.X_OK) and _is_elf(cand):
            return os.path.abspath(cand)
    return None


def _in_process(name: str, pid: int) -> str | None:
    """A file mapped by process `pid` whose base name is `name`, or a library of that name
    (`libc` matches /usr/lib/x86_64-linux-gnu/libc.so.6), or the executable itself."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    lib = name if _looks_like_library(name) else f"lib{name}"
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[5].startswith("/"):
            continue
        path = parts[5]
        base = os.path.basename(path)
        if base == name or (".so" in base and (base.startswith(lib + ".") or base.startswith(lib + "-"))):
            return _through_root(pid, path)
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    return _through_root(pid, exe) if os.path.basename(exe) == name else None


def _through_root(pid: int, path: str) -> str:
    # The process may live in another mount namespace (a container): its files are reachable
    # under /proc/PID/root when our view has no such file.
    if os.path.exists(path):
        return path
    return f"/proc/{pid}/root{path}"


def resolve_binary(name_or_path: str, pid: int | None = None) -> str:
    """The file a uprobe target names: a path (made absolute), else with `pid` a file that
    process maps (library or program), else a library (`libc`, `libc.so.6`) through
    /etc/ld.so.cache and the standard library directories, else a program on PATH (or, as bcc
    does, `c` for libc). BinaryNotFound says where it looked."""
    name = name_or_path
    if not name:
        raise BinaryNotFound("empty binary name")
    if "/" in name:
        path = os.path.abspath(name)
        if not os.path.exists(path):
            raise BinaryNotFound(f"{path}: no such file")
        return path
    if pid is not None:
        found = _in_process(name, pid)
        if found:
            return found
    if _looks_like_library(name):
        found = _find_library(name) or _find_program(name)
    else:
        found = _find_program(name) or _find_library(name)
    if found is None:
        where = "in /etc/ld.so.cache, the library directories or PATH"
        if pid is not None:
            where = f"mapped by process {pid}, " + where
        raise BinaryNotFound(f"'{name}' not found {where}")
    return found
