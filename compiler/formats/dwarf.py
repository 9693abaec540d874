"""A user binary's DWARF as written: functions, their parameters' names and C spellings, for
`kt -lv 'uprobe:BIN:func'` (the runtime) and uprobe `args` (compiler/dwarf.py turns the types
into kt types).

Why a module: uprobes see registers, not names; bpftrace 0.17 names them from the binary's debug
info (its Dwarf class over libdw): the DW_TAG_formal_parameter children of the function's
DW_TAG_subprogram, in order. The debug info comes from the file itself, or from its separate
debug file (build id / .gnu_debuglink, found as elfsyms finds it for symbols).

Reads files only (pyelftools); part of kt.compiler.formats (no other kt.compiler import).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from . import elfsyms
from .binaries import file_identity

__all__ = ["DwarfError", "DwarfFile", "NoDebugInfo", "ParamDecl", "array_dims", "die_name",
           "die_type", "dwarf_file", "has_debug_info", "parameters", "strip_qualifiers"]


class DwarfError(LookupError):
    """A type or function the debug info does not describe as kt needs; for a diagnostic."""


class NoDebugInfo(DwarfError):
    """The binary (and its separate debug file, if any) has no DWARF."""


@dataclass(frozen=True, slots=True)
class ParamDecl:
    """One formal parameter as the debug info declares it: its position, name, the C
    declaration bpftrace's -lv prints ("const char* s") and its type's DIE (None: void)."""
    index: int
    name: str
    type_name: str
    die: object | None


class DwarfFile:
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
                    for n in (_linkage_name(die), die_name(die)):
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
            return die_name(die) or "<anon>"
        if tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_enumeration_type",
                   "DW_TAG_class_type"):
            word = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union",
                    "DW_TAG_enumeration_type": "enum", "DW_TAG_class_type": "class"}[tag]
            return f"{word} {die_name(die)}" if die_name(die) else word
        if tag == "DW_TAG_pointer_type":
            return self.type_name(die_type(die)) + "*"
        if tag in ("DW_TAG_reference_type", "DW_TAG_rvalue_reference_type"):
            return self.type_name(die_type(die)) + "&"
        if tag in ("DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type"):
            word = tag[len("DW_TAG_"):-len("_type")]
            inner = die_type(die)
            if inner is not None and inner.tag == "DW_TAG_pointer_type":
                return f"{self.type_name(inner)} {word}"
            return f"{word} {self.type_name(inner)}"
        if tag == "DW_TAG_array_type":
            return self.type_name(die_type(die)) + "".join(f"[{n}]" for n in array_dims(die))
        if tag == "DW_TAG_subroutine_type":
            return self.type_name(die_type(die)) + " (*)(...)"
        return die_name(die) or "<unknown>"


def die_name(die) -> str:
    a = die.attributes.get("DW_AT_name")
    if a is None:
        # an out-of-line instance of an inlined function, or a C++ definition of a declared
        # member: the name is on the DIE it refers to
        for ref in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if ref in die.attributes:
                return die_name(die.get_DIE_from_attribute(ref))
        return ""
    v = a.value
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v)


def die_type(die):
    if "DW_AT_type" in die.attributes:
        return die.get_DIE_from_attribute("DW_AT_type")
    if "DW_AT_abstract_origin" in die.attributes:   # a parameter of an out-of-line instance
        return die_type(die.get_DIE_from_attribute("DW_AT_abstract_origin"))
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


def strip_qualifiers(die):
    """Follow typedefs and qualifiers to the type they name."""
    while die is not None and die.tag in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type",
                                          "DW_TAG_restrict_type", "DW_TAG_atomic_type"):
        die = die_type(die)
    return die


def array_dims(die) -> list[int]:
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
def _open(path: str, ident: tuple) -> DwarfFile:
    try:
        return DwarfFile(path)
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
            return DwarfFile(debug)
        except (NoDebugInfo, ELFError, OSError):
            pass
    raise NoDebugInfo(f"No debuginfo found for {path}")


def dwarf_file(path: str) -> DwarfFile:
    """The DWARF of `path` (or of its separate debug file), cached by the file's identity."""
    return _open(path, file_identity(path))


def has_debug_info(path: str) -> bool:
    try:
        dwarf_file(path)
        return True
    except DwarfError:
        return False


def parameters(path: str, func: str) -> list[ParamDecl]:
    """The parameters of function `func` of `path`, in order. NoDebugInfo without DWARF,
    DwarfError when the debug info has no such function."""
    d = dwarf_file(path)
    die = d.function(func)
    if die is None:
        raise DwarfError(f"no debug info for function '{func}' in {path}")
    out = []
    for child in die.iter_children():
        if child.tag == "DW_TAG_formal_parameter":
            tdie = die_type(child)
            out.append(ParamDecl(len(out), die_name(child), d.type_name(tdie), tdie))
    return out
