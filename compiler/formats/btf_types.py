"""BTF's record types and constants (include/uapi/linux/btf.h), as compiler/formats/btf.py
decodes them: one immutable record per type, members, parameters, enumerators, DATASEC entries,
and the function signatures and member paths a tracer asks for.

Why NamedTuples: kt's start-up imports this module for every object's own .BTF, and a vmlinux
lookup decodes thousands of records; a NamedTuple class costs ~0.15 ms to create and its
instances are built at C speed, a frozen slotted dataclass ~1 ms and a Python __init__ each.
"""

from __future__ import annotations

from typing import NamedTuple

from .btf_kinds import Kind

# Kinds that only qualify or rename another type.
MODIFIERS = frozenset({Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT,
                       Kind.TYPE_TAG})

# INT encoding bits (BTF_INT_ENCODING).
INT_SIGNED = 1 << 0
INT_CHAR = 1 << 1
INT_BOOL = 1 << 2

# FUNC linkage (enum btf_func_linkage).
LINKAGE_STATIC = 0
LINKAGE_GLOBAL = 1
LINKAGE_EXTERN = 2


class BtfError(ValueError):
    """The BTF is unreadable or malformed, or a type is used as what it is not; the message
    names the file and what."""


class BtfNotFound(LookupError):
    """A name the caller asked for is not in the BTF (no such function, struct or member).
    Deliberately not a BtfError/ValueError: "the kernel has no such function" is the user's
    problem, "the kernel's BTF is unreadable" the machine's."""


class Member(NamedTuple):
    """A STRUCT/UNION member. ``bit_offset`` is from the start of the record;
    ``bitfield_size`` is 0 for a plain member (kflag=0 records never have bitfields)."""

    name: str
    type: int
    bit_offset: int
    bitfield_size: int

    @property
    def offset(self) -> int:
        """Byte offset (of the containing byte, for a bitfield)."""
        return self.bit_offset // 8


class Param(NamedTuple):
    """A FUNC_PROTO parameter. A trailing ("", 0) means `...` (variadic)."""

    name: str
    type: int


class EnumValue(NamedTuple):
    name: str
    value: int


class ArrayInfo(NamedTuple):
    type: int       # element type
    index_type: int
    nelems: int


class VarSecInfo(NamedTuple):
    type: int
    offset: int
    size: int


class BtfType(NamedTuple):
    """One decoded type record. ``size`` is meaningful for sized kinds (INT, STRUCT, UNION,
    ENUM, ENUM64, FLOAT, DATASEC), ``ref`` for the others (the referred type; a FUNC's
    FUNC_PROTO; a FUNC_PROTO's return type). ``items`` holds the kind's extra data: Members,
    Params, EnumValues, VarSecInfos, or one ArrayInfo."""

    id: int
    kind: Kind
    name: str
    vlen: int
    kflag: bool
    size: int
    ref: int
    items: tuple = ()
    # INT: encoding bits, bit offset and bit count; VAR linkage; DECL_TAG component index.
    int_encoding: int = 0
    int_offset: int = 0
    int_bits: int = 0
    extra: int = 0

    @property
    def members(self) -> tuple[Member, ...]:
        return self.items if self.kind in (Kind.STRUCT, Kind.UNION) else ()

    @property
    def params(self) -> tuple[Param, ...]:
        return self.items if self.kind == Kind.FUNC_PROTO else ()

    @property
    def array(self) -> ArrayInfo:
        if self.kind != Kind.ARRAY:
            raise BtfError(f"type {self.id} is a {self.kind.name}, not an ARRAY")
        return self.items[0]

    @property
    def linkage(self) -> int:
        """FUNC: the vlen field holds the linkage; VAR: the extra word."""
        return self.vlen if self.kind == Kind.FUNC else self.extra

    @property
    def is_signed(self) -> bool:
        """INT with the SIGNED encoding; ENUM/ENUM64 with kflag (signed values, 6.0+)."""
        if self.kind == Kind.INT:
            return bool(self.int_encoding & INT_SIGNED)
        if self.kind in (Kind.ENUM, Kind.ENUM64):
            return self.kflag
        return False


class FuncParam(NamedTuple):
    """A function parameter as a tracer needs it. ``type`` is the declared type id and
    ``c_type`` its C spelling ("struct file *"); ``resolved`` the id behind typedefs and
    qualifiers, ``kind`` that type's kind; ``size`` in bytes; ``signed`` for integers and
    enums. fentry programs see arguments as an array of u64: ``slot`` is the first u64
    holding this parameter and ``slots`` how many it takes (structs up to 16 bytes are passed
    in two registers on x86_64)."""

    index: int
    name: str
    type: int
    c_type: str
    resolved: int
    kind: Kind
    size: int
    signed: bool
    slot: int
    slots: int

    @property
    def is_pointer(self) -> bool:
        return self.kind == Kind.PTR

    pointer = is_pointer

    def declaration(self) -> str:
        """bpftrace's `-lv` spelling: the type, a space, the name ("struct file * file")."""
        return f"{self.c_type} {self.name}"


class FuncSignature(NamedTuple):
    """A kernel function: the FUNC's type id (what fentry's attach_btf_id is), its
    parameters, and its return type (``ret`` is None for void)."""

    id: int
    name: str
    linkage: int
    proto: int
    params: tuple[FuncParam, ...]
    ret: FuncParam | None
    variadic: bool

    def param(self, name: str) -> FuncParam | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


class FieldInfo(NamedTuple):
    """A member found by ``Btf.field``: its byte offset from the start of the outer record
    (through anonymous members and nested paths), type id, and bitfield position."""

    name: str
    type: int
    offset: int
    bit_offset: int         # from the start of the outer record
    bitfield_size: int      # 0 unless a bitfield
