"""The part of ELF64 (little-endian) a BPF object needs: section headers, the symbol table,
REL relocations. Pure, no syscalls.

Why not pyelftools: importing it costs about 20 ms (construct, the DWARF tables), which is a
large part of a cached run's start (runtime/cache.py); reading an object needs 100 lines.
(The compiler still uses pyelftools for DWARF and user binaries.) Layouts from elf(5).
"""

from __future__ import annotations

import struct

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_REL = struct.Struct("<QQ")

SHT_SYMTAB, SHT_REL = 2, 9
SHF_EXECINSTR = 0x4
STT_OBJECT, STT_FUNC, STT_SECTION = 1, 2, 3
STB_GLOBAL = 1
SHN_LORESERVE = 0xFF00


class ElfFormatError(ValueError):
    """The bytes are not a 64-bit little-endian ELF file this reader understands."""


class Section:
    __slots__ = ("index", "name", "type", "flags", "offset", "size", "link", "info", "entsize", "_file")

    def __init__(self, file: bytes, index: int, fields: tuple, name: str) -> None:
        _name, self.type, self.flags, _addr, self.offset, self.size, self.link, self.info, \
            _align, self.entsize = fields
        self.index, self.name, self._file = index, name, file

    def data(self) -> bytes:
        if self.type == 8:   # SHT_NOBITS (.bss): no bytes in the file
            return bytes(self.size)
        return self._file[self.offset:self.offset + self.size]


class Symbol:
    __slots__ = ("name", "type", "bind", "shndx", "value", "size")

    def __init__(self, name: str, info: int, shndx: int, value: int, size: int) -> None:
        self.name, self.type, self.bind = name, info & 0xF, info >> 4
        # A section index, or None for SHN_UNDEF and the reserved indexes (SHN_ABS, ...).
        self.shndx = shndx if 0 < shndx < SHN_LORESERVE else None
        self.value, self.size = value, size


class ElfFile:
    def __init__(self, data: bytes) -> None:
        if len(data) < _EHDR.size or data[:4] != b"\x7fELF":
            raise ElfFormatError("no ELF magic")
        ident = data[:16]
        if ident[4] != 2 or ident[5] != 1:
            raise ElfFormatError("expected a 64-bit little-endian ELF object (bpfel)")
        (_ident, _type, self.machine, _version, _entry, _phoff, shoff, _flags, _ehsize, _phentsize,
         _phnum, shentsize, shnum, shstrndx) = _EHDR.unpack_from(data)
        if shoff == 0 or shentsize != _SHDR.size or shoff + shnum * shentsize > len(data):
            raise ElfFormatError("bad section header table")
        raw = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
        if not 0 <= shstrndx < shnum:
            raise ElfFormatError("bad section name table index")
        _n, _t, _f, _a, str_off, str_size, *_ = raw[shstrndx]
        names = data[str_off:str_off + str_size]
        for fields in raw:
            if fields[1] != 8 and fields[4] + fields[5] > len(data):
                raise ElfFormatError("a section extends past the end of the file")
        self.data = data
        self.sections = [Section(data, i, f, _cstr(names, f[0])) for i, f in enumerate(raw)]

    def symbols(self, symtab: Section) -> list[Symbol]:
        strtab = self.sections[symtab.link].data() if symtab.link < len(self.sections) else b""
        body = symtab.data()
        return [Symbol(_cstr(strtab, name), info, shndx, value, size)
                for name, info, _other, shndx, value, size in _SYM.iter_unpack(body[:len(body) - len(body) % _SYM.size])]

    def relocations(self, rel: Section) -> list[tuple[int, int, int]]:
        """(offset, type, symbol index) of each Elf64_Rel."""
        body = rel.data()
        return [(offset, info & 0xFFFFFFFF, info >> 32)
                for offset, info in _REL.iter_unpack(body[:len(body) - len(body) % _REL.size])]


def _cstr(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    return table[offset:end if end >= 0 else len(table)].decode("utf-8", "replace")
