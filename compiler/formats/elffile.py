"""The parts of an ELF file kt reads, decoded straight from its bytes.

Why kt's own reader: pyelftools builds a Python object per section (and parses hash tables,
notes and symbol tables through `construct`) before it answers anything; for sslsnoop.bt's
libssl and libcrypto that was most of the time before attaching. Here the file is mmap'ed,
the headers are read with struct.unpack_from, and a symbol table is unpacked in one
`iter_unpack` pass into columns (no object per symbol): names, values, sizes, types and
section indices, in table order.

Imports nothing of kt and neither llvmlite nor lark: the compiler (uprobe offsets, function
lists) and the runtime (usym, ustack) both read through it (DESIGN rule 7).

Facts used (the System V gABI and elf.h): e_ident[EI_CLASS] 1 = 32-bit, 2 = 64-bit;
[EI_DATA] 1 = little-endian; e_shnum 0 with the count in section 0's sh_size and
e_shstrndx SHN_XINDEX with the index in section 0's sh_link (files with >= 0xff00 sections);
e_phnum PN_XNUM (0xffff) with the count in section 0's sh_info. SHT_NOBITS sections (what a
separate debug file keeps of .dynsym) have no bytes in the file.
"""

from __future__ import annotations

import mmap
import struct
from array import array
from dataclasses import dataclass
from typing import Callable, TypeVar

T = TypeVar("T")

__all__ = ["ElfError", "ElfFile", "Section", "Segment", "Symbol", "SymbolColumns", "read_file",
           "SHT_SYMTAB", "SHT_DYNSYM", "SHT_NOTE", "SHT_DYNAMIC", "SHT_NOBITS", "SHT_REL", "PT_LOAD", "PT_NOTE",
           "SHF_EXECINSTR", "STT_OBJECT", "STT_FUNC", "STB_GLOBAL"]

SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_DYNAMIC = 6
SHT_NOTE = 7
SHT_NOBITS = 8
SHT_REL = 9
SHT_DYNSYM = 11
SHF_EXECINSTR = 0x4
STT_OBJECT, STT_FUNC = 1, 2
STB_GLOBAL = 1
SHN_LORESERVE = 0xFF00
PT_LOAD = 1
PT_NOTE = 4
DT_NULL = 0
DT_NEEDED = 1
SHN_XINDEX = 0xFFFF
PN_XNUM = 0xFFFF


class ElfError(ValueError):
    """Not an ELF file, or one whose headers point outside it."""


@dataclass(frozen=True, slots=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int


@dataclass(frozen=True, slots=True)
class Segment:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True, slots=True)
class Symbol:
    """One symbol table entry (ElfFile.symbol_list: small tables, such as a BPF object's)."""
    name: str
    type: int             # STT_*
    bind: int             # STB_*
    shndx: int | None     # a section index; None for SHN_UNDEF and the reserved ones (SHN_ABS...)
    value: int
    size: int


@dataclass(frozen=True, slots=True)
class SymbolColumns:
    """The named symbols of one or more symbol tables, one column per field, in table order.
    `types` holds st_info & 0xf (STT_*)."""

    names: list[str]
    values: array
    sizes: array
    types: bytes
    shndx: array

    def __len__(self) -> int:
        return len(self.names)

    @staticmethod
    def concat(parts: list[SymbolColumns]) -> SymbolColumns:
        if len(parts) == 1:
            return parts[0]
        names: list[str] = []
        values, sizes, shndx = array("Q"), array("Q"), array("H")
        types = bytearray()
        for p in parts:
            names += p.names
            values += p.values
            sizes += p.sizes
            types += p.types
            shndx += p.shndx
        return SymbolColumns(names, values, sizes, bytes(types), shndx)


_EHDR = {  # after e_ident: type machine version entry phoff shoff flags ehsize phentsize phnum shentsize shnum shstrndx
    64: "HHIQQQIHHHHHH",
    32: "HHIIIIIHHHHHH",
}
_SHDR = {64: ("IIQQQQIIQQ", 64), 32: ("IIIIIIIIII", 40)}
# 64-bit Phdr: type flags offset vaddr paddr filesz memsz align; 32-bit: type offset vaddr
# paddr filesz memsz flags align
_PHDR = {64: ("IIQQQQQQ", 56), 32: ("IIIIIIII", 32)}
_SYM = {64: ("IBBHQQ", 24), 32: ("IIIBBH", 16)}


class ElfFile:
    """An ELF image in memory (bytes, an mmap, or the vDSO read from /proc/self/mem)."""

    def __init__(self, data) -> None:
        self.data = data
        ident = bytes(data[:16])
        if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise ElfError("bad ELF magic or class")
        self.bits = 64 if ident[4] == 2 else 32
        self.endian = "<" if ident[5] == 1 else ">"
        try:
            (self.type, self.machine, _version, _entry, self._phoff, self._shoff, _flags, _ehsize,
             self._phentsize, phnum, self._shentsize, shnum, shstrndx) = struct.unpack_from(
                self.endian + _EHDR[self.bits], data, 16)
        except struct.error:
            raise ElfError("truncated ELF header") from None
        self.sections: tuple[Section, ...] = ()
        raw = self._section_headers(shnum, shstrndx)
        if raw and phnum == PN_XNUM:
            phnum = raw[0][7]
        self.segments = self._program_headers(phnum)
        if raw:
            strndx = raw[0][6] if shstrndx == SHN_XINDEX else shstrndx
            names = self._bytes_of(raw[strndx][4], raw[strndx][5]) if strndx < len(raw) else b""
            self.sections = tuple(
                Section(i, _cstr(names, r[0]) if names else "", r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[9])
                for i, r in enumerate(raw))

    @property
    def little_endian(self) -> bool:
        return self.endian == "<"

    def _section_headers(self, shnum: int, shstrndx: int) -> list[tuple]:
        if self._shoff == 0:
            return []
        fmt, size = _SHDR[self.bits]
        st = struct.Struct(self.endian + fmt)
        if self._shentsize and self._shentsize < size:
            raise ElfError("section headers too small")
        step = self._shentsize or size
        try:
            first = st.unpack_from(self.data, self._shoff)
            if shnum == 0:
                shnum = first[5]
            out = [first] + [st.unpack_from(self.data, self._shoff + i * step) for i in range(1, shnum)]
        except struct.error:
            raise ElfError("section headers outside the file") from None
        return out    # both classes: name type flags addr offset size link info addralign entsize

    def _program_headers(self, phnum: int) -> tuple[Segment, ...]:
        if self._phoff == 0 or phnum == 0:
            return ()
        fmt, size = _PHDR[self.bits]
        st = struct.Struct(self.endian + fmt)
        step = self._phentsize or size
        out = []
        try:
            for i in range(phnum):
                f = st.unpack_from(self.data, self._phoff + i * step)
                if self.bits == 64:
                    ptype, flags, offset, vaddr, _paddr, filesz, memsz, _align = f
                else:
                    ptype, offset, vaddr, _paddr, filesz, memsz, flags, _align = f
                out.append(Segment(ptype, flags, offset, vaddr, filesz, memsz))
        except struct.error:
            raise ElfError("program headers outside the file") from None
        return tuple(out)

    def _bytes_of(self, offset: int, size: int) -> bytes:
        if offset + size > len(self.data):
            raise ElfError("a section extends past the end of the file")
        return bytes(self.data[offset:offset + size])

    def section_data(self, sec: Section) -> bytes:
        """The section's bytes (b"" for SHT_NOBITS)."""
        if sec.type == SHT_NOBITS:
            return b""
        return self._bytes_of(sec.offset, sec.size)

    def section(self, name: str) -> Section | None:
        for s in self.sections:
            if s.name == name:
                return s
        return None

    # -- symbols ---------------------------------------------------------------------------

    def symbols(self, types: tuple[int, ...] = (SHT_SYMTAB, SHT_DYNSYM)) -> SymbolColumns:
        """The named symbols (st_name != 0) of every symbol table of `types`, in section
        order, then table order."""
        parts = [self._symbols_of(s) for s in self.sections if s.type in types]
        if not parts:
            return SymbolColumns([], array("Q"), array("Q"), b"", array("H"))
        return SymbolColumns.concat(parts)

    def _symbols_of(self, sec: Section) -> SymbolColumns:
        data = self.section_data(sec)
        strtab = b""
        if 0 < sec.link < len(self.sections):
            strtab = self.section_data(self.sections[sec.link])
        fmt, size = _SYM[self.bits]
        data = data[:len(data) - len(data) % size]
        rows = struct.Struct(self.endian + fmt).iter_unpack(data)
        if self.bits == 64:   # st_name, st_info, st_other, st_shndx, st_value, st_size
            rows = [r for r in rows if r[0]]
            name_col = [r[0] for r in rows]
            values = array("Q", [r[4] for r in rows])
            sizes = array("Q", [r[5] for r in rows])
            types = bytes([r[1] & 0xF for r in rows])
            shndx = array("H", [r[3] for r in rows])
        else:                 # st_name, st_value, st_size, st_info, st_other, st_shndx
            rows = [r for r in rows if r[0]]
            name_col = [r[0] for r in rows]
            values = array("Q", [r[1] for r in rows])
            sizes = array("Q", [r[2] for r in rows])
            types = bytes([r[3] & 0xF for r in rows])
            shndx = array("H", [r[5] for r in rows])
        return SymbolColumns(_names(strtab, name_col), values, sizes, types, shndx)

    def symbol_list(self, sec: Section) -> list[Symbol]:
        """Every entry of one symbol table, in table order (the null entry and unnamed ones
        included: relocations index this list)."""
        data = self.section_data(sec)
        strtab = self.section_data(self.sections[sec.link]) if 0 < sec.link < len(self.sections) else b""
        fmt, size = _SYM[self.bits]
        out = []
        for r in struct.Struct(self.endian + fmt).iter_unpack(data[:len(data) - len(data) % size]):
            if self.bits == 64:
                name, info, _other, shndx, value, sym_size = r
            else:
                name, value, sym_size, info, _other, shndx = r
            out.append(Symbol(_cstr(strtab, name), info & 0xF, info >> 4,
                              shndx if 0 < shndx < SHN_LORESERVE else None, value, sym_size))
        return out

    def relocations(self, rel: Section) -> list[tuple[int, int, int]]:
        """(offset, type, symbol index) of each Elf64_Rel of a SHT_REL section."""
        if self.bits != 64:
            raise ElfError("REL relocations are read for 64-bit files only")
        data = self.section_data(rel)
        return [(offset, info & 0xFFFFFFFF, info >> 32)
                for offset, info in struct.iter_unpack(self.endian + "QQ", data[:len(data) - len(data) % 16])]

    # -- notes, debuglink, dynamic ---------------------------------------------------------

    def build_id(self) -> str | None:
        """The GNU build id (NT_GNU_BUILD_ID of .note.gnu.build-id) as lowercase hex."""
        sec = self.section(".note.gnu.build-id")
        if sec is None:
            return None
        data = self.section_data(sec)
        # Elf_Nhdr {namesz, descsz, type} + "GNU\0" + the id
        if len(data) > 16 and data[12:16] == b"GNU\0":
            (descsz,) = struct.unpack_from(self.endian + "I", data, 4)
            return data[16:16 + descsz].hex()
        return None

    def debuglink(self) -> tuple[str, int] | None:
        """(file name, crc32) of .gnu_debuglink."""
        sec = self.section(".gnu_debuglink")
        if sec is None:
            return None
        data = self.section_data(sec)
        nul = data.find(b"\0")
        if nul <= 0 or len(data) < 8:
            return None
        (crc,) = struct.unpack_from(self.endian + "I", data, len(data) - 4)
        return data[:nul].decode("utf-8", "surrogateescape"), crc

    def needed(self) -> list[str]:
        """The DT_NEEDED names of the dynamic section, in order."""
        for sec in self.sections:
            if sec.type != SHT_DYNAMIC:
                continue
            data = self.section_data(sec)
            strtab = b""
            if 0 < sec.link < len(self.sections):
                strtab = self.section_data(self.sections[sec.link])
            fmt = self.endian + ("qQ" if self.bits == 64 else "iI")
            size = struct.calcsize(fmt)
            out = []
            for tag, val in struct.iter_unpack(fmt, data[:len(data) - len(data) % size]):
                if tag == DT_NULL:
                    break
                if tag == DT_NEEDED:
                    out.append(_cstr(strtab, val))
            return out
        return []


def _cstr(strtab: bytes, off: int) -> str:
    end = strtab.find(b"\0", off)
    return strtab[off:end if end >= 0 else len(strtab)].decode("utf-8", "surrogateescape")


def _names(strtab: bytes, offsets: list[int]) -> list[str]:
    """Names by string-table offset. Most names start right after a NUL, so the table is
    split once and looked up by offset; a name that is the tail of another (the linker
    shares suffixes: `foo` inside `xfoo`) is cut out on its own."""
    by_offset: dict[int, str] = {}
    pos = 0
    for part in strtab.split(b"\0"):
        by_offset[pos] = part.decode("utf-8", "surrogateescape")
        pos += len(part) + 1
    out = []
    for off in offsets:
        name = by_offset.get(off)
        if name is None:
            name = by_offset[off] = _cstr(strtab, off)
        out.append(name)
    return out


def read_file(path: str, parse: Callable[[ElfFile], T]) -> T:
    """`parse(ElfFile)` over the file mmap'ed read-only (an empty file is no ELF file).
    OSError and ElfError propagate; nothing of the mapping survives the call unless
    `parse` copies it out (section_data returns bytes)."""
    with open(path, "rb") as f:
        try:
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:       # empty file
            raise ElfError("empty file") from None
    try:
        return parse(ElfFile(m))
    finally:
        m.close()
