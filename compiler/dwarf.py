"""A user binary's DWARF parameters as kt types, for `args->name` in uprobes.

Why a module: uprobes see registers, not names; compiler/formats/dwarf.py reads the function's
parameters (names, C spellings, type DIEs, as bpftrace 0.17 does over libdw) and this module
makes them kt types (compiler/types.py) the way compiler/kernel_types.py converts BTF: base
types are integers of their size and signedness, pointers point into the traced process's
memory (USER), structs and unions become StructDefs whose members are converted when first
asked for, one StructDef per DIE (type identity), typedefs/const/volatile are followed. Each
parameter is taken from the argument register (or stack slot) of its position (the x86-64
calling convention).

Reads files only (pyelftools); imports neither llvmlite nor lark.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .formats.dwarf import (DwarfError, DwarfFile, NoDebugInfo, array_dims, die_name, die_type, dwarf_file,
                            has_debug_info, parameters, strip_qualifiers)
from .types import Array, Int, Member, Opaque, Ptr, Record, Str, StructDef, Type, USER, Void

__all__ = ["DwarfError", "NoDebugInfo", "Param", "function_params", "has_debug_info"]

# DW_ATE_* (DWARF 5, 7.8): which base types are signed
_SIGNED_ENCODINGS = {0x5, 0x6, 0xD}        # signed, signed_char, signed_fixed
_FLOAT_ENCODINGS = {0x3, 0x4, 0x9}         # complex_float, float, imaginary_float


@dataclass(frozen=True, slots=True)
class Param:
    """One formal parameter: its position (the argument register it arrives in), name, the C
    declaration bpftrace's -lv prints ("const char* s") and its kt type."""
    index: int
    name: str
    type_name: str
    type: Type | None          # None: kt cannot represent it
    by_value: bool = False     # a struct/union passed by value, not a register's value
    slot: int = -1             # its (first) integer argument register (0: rdi ... 5: r9), -1: none
    stack: int = -1            # else its (first) eightbyte on the stack above the return address


class _KtTypes:
    """kt types of one file's DWARF; one StructDef per DIE."""

    def __init__(self, file: DwarfFile):
        self.file = file
        self._structs: dict[int, StructDef] = {}

    def kt_type(self, die) -> Type:
        """The kt type of a value of type `die` in the traced process's memory."""
        die = strip_qualifiers(die)
        if die is None:
            return Void()
        tag = die.tag
        if tag == "DW_TAG_base_type":
            size = die.attributes["DW_AT_byte_size"].value
            enc = die.attributes["DW_AT_encoding"].value if "DW_AT_encoding" in die.attributes else 0
            if enc in _FLOAT_ENCODINGS:
                return Opaque(size, die_name(die))
            if size not in (1, 2, 4, 8):
                raise DwarfError(f"{die_name(die)} of {size} bytes is not supported")
            return Int(size * 8, enc in _SIGNED_ENCODINGS)
        if tag == "DW_TAG_enumeration_type":
            size = die.attributes["DW_AT_byte_size"].value if "DW_AT_byte_size" in die.attributes else 4
            under = die_type(die)
            signed = isinstance(t := self.kt_type(under), Int) and t.signed if under is not None else False
            return Int(size * 8, signed)
        if tag in ("DW_TAG_pointer_type", "DW_TAG_reference_type", "DW_TAG_rvalue_reference_type"):
            target = strip_qualifiers(die_type(die))
            if target is None or target.tag == "DW_TAG_subroutine_type":
                return Ptr(Void(), USER)
            try:
                return Ptr(self.kt_type(target), USER)
            except DwarfError:
                return Ptr(Void(), USER)
        if tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_class_type"):
            return Record(self._struct(die), USER)
        if tag == "DW_TAG_array_type":
            elem_die = die_type(die)
            elem = self.kt_type(elem_die)
            dims = array_dims(die) or [0]
            stripped = strip_qualifiers(elem_die)
            if (len(dims) == 1 and dims[0] and stripped is not None and stripped.tag == "DW_TAG_base_type"
                    and die_name(stripped) == "char"):
                return Str(dims[0])        # char name[N]: a string, as in bpftrace
            for n in reversed(dims):
                elem = Array(elem, n)
            return elem
        raise DwarfError(f"{self.file.type_name(die)} values are not supported")

    def _struct(self, die) -> StructDef:
        key = die.offset
        if key not in self._structs:
            kind = "union" if die.tag == "DW_TAG_union_type" else "struct"
            if "DW_AT_declaration" in die.attributes:
                self._structs[key] = StructDef(kind, die_name(die), 0, (), complete=False)
            else:
                size = die.attributes["DW_AT_byte_size"].value if "DW_AT_byte_size" in die.attributes else 0
                self._structs[key] = StructDef(kind, die_name(die), size, load=lambda: self._members(die))
        return self._structs[key]

    def _members(self, die) -> tuple[Member, ...]:
        out = []
        for m in die.iter_children():
            if m.tag != "DW_TAG_member":
                continue
            try:
                t = self.kt_type(die_type(m))
            except DwarfError:
                continue        # a member kt cannot represent: never printed, named only in errors
            loc = m.attributes.get("DW_AT_data_member_location")
            offset = loc.value if loc is not None and isinstance(loc.value, int) else 0
            if "DW_AT_bit_size" in m.attributes and isinstance(t, Int):
                bits = m.attributes["DW_AT_bit_size"].value
                if "DW_AT_data_bit_offset" in m.attributes:
                    bit = m.attributes["DW_AT_data_bit_offset"].value
                else:   # DWARF 2/3: offset of the storage unit, bits from its most significant end
                    unit = m.attributes["DW_AT_byte_size"].value * 8 if "DW_AT_byte_size" in m.attributes else t.bits
                    bit = offset * 8 + unit - m.attributes["DW_AT_bit_offset"].value - bits
                start = bit // t.bits * t.bits
                out.append(Member(die_name(m), start // 8, t, bit - start, bits))
                continue
            name = die_name(m)
            if not name and isinstance(t, Record):
                # an anonymous struct/union member: its members are named as the outer's
                out.extend(Member(sub.name, offset + sub.offset, sub.type, sub.bit_offset, sub.bit_size)
                           for sub in t.struct.members)
                continue
            out.append(Member(name, offset, t))
        return tuple(out)


def _integer_class(t: Type) -> bool:
    """Whether every byte of an aggregate is integer or pointer data (the ABI's INTEGER class,
    passed in general registers); a float member puts its eightbyte in a vector register."""
    if isinstance(t, (Int, Ptr, Str)):
        return True
    if isinstance(t, Array):
        return _integer_class(t.elem)
    if isinstance(t, Record):
        return all(_integer_class(m.type) for m in t.struct.members)
    return False


@functools.lru_cache(maxsize=16)
def _types(file: DwarfFile) -> _KtTypes:
    return _KtTypes(file)


def function_params(path: str, func: str) -> list[Param]:
    """The parameters of function `func` of `path`, in order, with kt types and ABI slots.
    NoDebugInfo without DWARF, DwarfError when the debug info has no such function."""
    decls = parameters(path, func)
    types = _types(dwarf_file(path))
    out = []
    regs = stack = vectors = 0
    for p in decls:
        try:
            t = types.kt_type(p.die)
        except DwarfError:
            t = None
        by_value = isinstance(t, (Record, Array, Str))
        # The System V x86-64 ABI: integers and pointers take the next of six integer
        # registers, then the next eightbyte on the stack; an aggregate of up to 16 bytes takes
        # as many registers as it has eightbytes (integer class assumed) if that many are left,
        # else stack space, as does a larger one; floats take vector registers.
        here = on_stack = -1
        if isinstance(t, (Int, Ptr)):
            if regs < 6:
                here, regs = regs, regs + 1
            else:
                on_stack, stack = stack, stack + 1
        elif isinstance(t, Opaque):
            vectors += 1
            if vectors > 8:
                stack += 1
        elif t is not None and t.size:
            n = (t.size + 7) // 8
            if t.size <= 16 and regs + n <= 6 and _integer_class(t):
                here, regs = regs, regs + n
            else:
                on_stack, stack = stack, stack + n
        out.append(Param(p.index, p.name, p.type_name, t, by_value, here, on_stack))
    return out
