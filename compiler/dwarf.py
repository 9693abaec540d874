"""A user binary's DWARF: the parameters of its functions, for `args->name` in uprobes and
`kt -lv 'uprobe:BIN:func'`.

Why a module: uprobes see registers, not names; bpftrace 0.17 names them from the binary's debug
info (its Dwarf class over libdw): the DW_TAG_formal_parameter children of the function's
DW_TAG_subprogram, in order, each taken from the argument register of its position (the x86-64
calling convention for integer and pointer arguments). Types become kt's types (compiler/types.py)
the way compiler/kernel_types.py converts BTF: base types are integers of their size and
signedness, pointers point into the traced process's memory (USER), structs and unions become
StructDefs whose members are converted when first asked for, one StructDef per DIE (type
identity), typedefs/const/volatile are followed. The debug info comes from the file itself, or
from its separate debug file (build id / .gnu_debuglink, found as elfsyms finds it for symbols).

Reads files only (pyelftools); imports neither llvmlite nor lark.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from .formats import elfsyms
from .formats.binaries import file_identity
from .types import Array, Int, Member, Opaque, Ptr, Record, Str, StructDef, Type, USER, Void

__all__ = ["DwarfError", "NoDebugInfo", "Param", "function_params", "has_debug_info"]

# DW_ATE_* (DWARF 5, 7.8): which base types are signed
_SIGNED_ENCODINGS = {0x5, 0x6, 0xD}        # signed, signed_char, signed_fixed
_FLOAT_ENCODINGS = {0x3, 0x4, 0x9}         # complex_float, float, imaginary_float


class DwarfError(LookupError):
    """A type or function the debug info does not describe as kt needs; for a diagnostic."""


class NoDebugInfo(DwarfError):
    """The binary (and its separate debug file, if any) has no DWARF."""


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


class _Dwarf:
    """One file's DWARF, open for as long as it is cached (pyelftools reads DIEs lazily)."""

    def __init__(self, path: str):
        self.file = open(path, "rb")
        try:
            elf = ELFFile(self.file)
            if not elf.has_dwarf_info() or elf.get_section_by_name(".debug_info") is None:
                raise NoDebugInfo(path)
            self.info = elf.get_dwarf_info()
        except BaseException:
            self.file.close()
            raise
        self._funcs: dict[str, object] | None = None
        self._structs: dict[int, StructDef] = {}

    def function(self, name: str):
        if self._funcs is None:
            funcs: dict[str, object] = {}
            for cu in self.info.iter_CUs():
                for die in cu.get_top_DIE().iter_children():
                    if die.tag != "DW_TAG_subprogram" or "DW_AT_declaration" in die.attributes:
                        continue
                    if "DW_AT_low_pc" not in die.attributes and "DW_AT_ranges" not in die.attributes:
                        continue    # only inlined: no code of its own to put a uprobe on
                    # the symbol a uprobe names: the mangled name of C++ code, else the name
                    for n in (_linkage_name(die), _name(die)):
                        if n and n not in funcs:
                            funcs[n] = die
            self._funcs = funcs
        return self._funcs.get(name)

    # -- types ---------------------------------------------------------------------------
    def type_name(self, die) -> str:
        """The C spelling of a type as bpftrace 0.17 prints it: `char**`, `const char*`,
        `struct Box*`, `short unsigned int` (DWARF's own base type names)."""
        if die is None:
            return "void"
        tag = die.tag
        if tag in ("DW_TAG_base_type", "DW_TAG_typedef", "DW_TAG_unspecified_type"):
            return _name(die) or "<anon>"
        if tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_enumeration_type",
                   "DW_TAG_class_type"):
            word = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union",
                    "DW_TAG_enumeration_type": "enum", "DW_TAG_class_type": "class"}[tag]
            return f"{word} {_name(die)}" if _name(die) else word
        if tag == "DW_TAG_pointer_type":
            return self.type_name(_target(die)) + "*"
        if tag in ("DW_TAG_reference_type", "DW_TAG_rvalue_reference_type"):
            return self.type_name(_target(die)) + "&"
        if tag in ("DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type"):
            word = tag[len("DW_TAG_"):-len("_type")]
            inner = _target(die)
            if inner is not None and inner.tag == "DW_TAG_pointer_type":
                return f"{self.type_name(inner)} {word}"
            return f"{word} {self.type_name(inner)}"
        if tag == "DW_TAG_array_type":
            return self.type_name(_target(die)) + "".join(f"[{n}]" for n in _dims(die))
        if tag == "DW_TAG_subroutine_type":
            return self.type_name(_target(die)) + " (*)(...)"
        return _name(die) or "<unknown>"

    def kt_type(self, die) -> Type:
        """The kt type of a value of type `die` in the traced process's memory."""
        die = _strip(die)
        if die is None:
            return Void()
        tag = die.tag
        if tag == "DW_TAG_base_type":
            size = die.attributes["DW_AT_byte_size"].value
            enc = die.attributes["DW_AT_encoding"].value if "DW_AT_encoding" in die.attributes else 0
            if enc in _FLOAT_ENCODINGS:
                return Opaque(size, _name(die))
            if size not in (1, 2, 4, 8):
                raise DwarfError(f"{_name(die)} of {size} bytes is not supported")
            return Int(size * 8, enc in _SIGNED_ENCODINGS)
        if tag == "DW_TAG_enumeration_type":
            size = die.attributes["DW_AT_byte_size"].value if "DW_AT_byte_size" in die.attributes else 4
            under = _target(die)
            signed = isinstance(t := self.kt_type(under), Int) and t.signed if under is not None else False
            return Int(size * 8, signed)
        if tag in ("DW_TAG_pointer_type", "DW_TAG_reference_type", "DW_TAG_rvalue_reference_type"):
            target = _strip(_target(die))
            if target is None or target.tag == "DW_TAG_subroutine_type":
                return Ptr(Void(), USER)
            try:
                return Ptr(self.kt_type(target), USER)
            except DwarfError:
                return Ptr(Void(), USER)
        if tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_class_type"):
            return Record(self._struct(die), USER)
        if tag == "DW_TAG_array_type":
            elem_die = _target(die)
            elem = self.kt_type(elem_die)
            dims = _dims(die) or [0]
            stripped = _strip(elem_die)
            if (len(dims) == 1 and dims[0] and stripped is not None and stripped.tag == "DW_TAG_base_type"
                    and _name(stripped) == "char"):
                return Str(dims[0])        # char name[N]: a string, as in bpftrace
            for n in reversed(dims):
                elem = Array(elem, n)
            return elem
        raise DwarfError(f"{self.type_name(die)} values are not supported")

    def _struct(self, die) -> StructDef:
        key = die.offset
        if key not in self._structs:
            kind = "union" if die.tag == "DW_TAG_union_type" else "struct"
            if "DW_AT_declaration" in die.attributes:
                self._structs[key] = StructDef(kind, _name(die), 0, (), complete=False)
            else:
                size = die.attributes["DW_AT_byte_size"].value if "DW_AT_byte_size" in die.attributes else 0
                self._structs[key] = StructDef(kind, _name(die), size, load=lambda: self._members(die))
        return self._structs[key]

    def _members(self, die) -> tuple[Member, ...]:
        out = []
        for m in die.iter_children():
            if m.tag != "DW_TAG_member":
                continue
            try:
                t = self.kt_type(_target(m))
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
                out.append(Member(_name(m), start // 8, t, bit - start, bits))
                continue
            name = _name(m)
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


def _name(die) -> str:
    a = die.attributes.get("DW_AT_name")
    if a is None:
        # an out-of-line instance of an inlined function, or a C++ definition of a declared
        # member: the name is on the DIE it refers to
        for ref in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if ref in die.attributes:
                return _name(die.get_DIE_from_attribute(ref))
        return ""
    v = a.value
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v)


def _target(die):
    if "DW_AT_type" in die.attributes:
        return die.get_DIE_from_attribute("DW_AT_type")
    if "DW_AT_abstract_origin" in die.attributes:   # a parameter of an out-of-line instance
        return _target(die.get_DIE_from_attribute("DW_AT_abstract_origin"))
    return None


def _linkage_name(die) -> str:
    for attr in ("DW_AT_linkage_name", "DW_AT_MIPS_linkage_name"):
        if attr in die.attributes:
            v = die.attributes[attr].value
            return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v)
    for ref in ("DW_AT_abstract_origin", "DW_AT_specification"):
        if ref in die.attributes:
            return _linkage_name(die.get_DIE_from_attribute(ref))
    return ""


def _strip(die):
    """Follow typedefs and qualifiers to the type they name."""
    while die is not None and die.tag in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type",
                                          "DW_TAG_restrict_type", "DW_TAG_atomic_type"):
        die = _target(die)
    return die


def _dims(die) -> list[int]:
    out = []
    for sub in die.iter_children():
        if sub.tag != "DW_TAG_subrange_type":
            continue
        if "DW_AT_count" in sub.attributes:
            out.append(sub.attributes["DW_AT_count"].value)
        elif "DW_AT_upper_bound" in sub.attributes and isinstance(sub.attributes["DW_AT_upper_bound"].value, int):
            out.append(sub.attributes["DW_AT_upper_bound"].value + 1)
        else:
            out.append(0)
    return out


@functools.lru_cache(maxsize=16)
def _open(path: str, ident: tuple) -> _Dwarf:
    try:
        return _Dwarf(path)
    except NoDebugInfo:
        pass
    except (ELFError, OSError) as e:
        raise DwarfError(f"cannot read the debug info of {path}: {e}") from None
    # the separate debug file (build id, .gnu_debuglink), as for symbols
    try:
        debug = elfsyms._debug_file(elfsyms._read_elf(path))
    except elfsyms.ElfSymbolError:
        debug = None
    if debug is not None:
        try:
            return _Dwarf(debug)
        except (NoDebugInfo, ELFError, OSError):
            pass
    raise NoDebugInfo(f"No debuginfo found for {path}")


def _dwarf(path: str) -> _Dwarf:
    return _open(path, file_identity(path))


def has_debug_info(path: str) -> bool:
    try:
        _dwarf(path)
        return True
    except DwarfError:
        return False


def function_params(path: str, func: str) -> list[Param]:
    """The parameters of function `func` of `path`, in order. NoDebugInfo without DWARF,
    DwarfError when the debug info has no such function."""
    d = _dwarf(path)
    die = d.function(func)
    if die is None:
        raise DwarfError(f"no debug info for function '{func}' in {path}")
    out = []
    regs = stack = vectors = 0
    for child in die.iter_children():
        if child.tag != "DW_TAG_formal_parameter":
            continue
        tdie = _target(child)
        try:
            t = d.kt_type(tdie)
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
        out.append(Param(len(out), _name(child), d.type_name(tdie), t, by_value, here, on_stack))
    return out
