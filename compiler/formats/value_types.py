"""The value types of `.kt.meta`: what each key, value and record field is (docs/object-format.md,
"Types"), and their JSON form.

Why here: the compiler writes these types into `.kt.meta` and the runtime reads them back to
decode bytes (kt.runtime.values decodes and encodes; this module never touches bytes). Being in
kt.compiler.formats, it imports only the standard library (no llvmlite, no lark, nothing else of
the compiler), so the runtime can read an object without the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

__all__ = [
    "IntType", "StrType", "TupleType", "ArrayType", "RecordType", "RecordField", "Bits",
    "KsymType", "UsymType", "StackType", "ProbeType", "InetType", "BufType", "FormattedType",
    "FORMATTED_KINDS", "Type", "STACK_LIMIT", "STACK_MODES", "required", "type_from_json", "type_to_json",
]

FORMATTED_KINDS = {"username": 8, "strerror": 8, "macaddr": 8, "strftime": 16, "cgroup_path": 16}


@dataclass(frozen=True, slots=True)
class FormattedType:
    kind: str     # one of FORMATTED_KINDS

    def __post_init__(self) -> None:
        if self.kind not in FORMATTED_KINDS:
            raise ValueError(f"unknown formatted value kind {self.kind!r}")

    @property
    def size(self) -> int:
        return FORMATTED_KINDS[self.kind]

    def __str__(self) -> str:
        return self.kind


_INT_SIZES = (1, 2, 4, 8)


@dataclass(frozen=True, slots=True)
class IntType:
    size: int        # bytes: 1, 2, 4 or 8
    signed: bool
    pointer: bool = False   # an address (0.17 prints it as a signed value, in keys as 0x hex)

    def __post_init__(self) -> None:
        if self.size not in _INT_SIZES:
            raise ValueError(f"integer size must be one of {_INT_SIZES}, not {self.size}")

    def __str__(self) -> str:
        return f"{'' if self.signed else 'u'}int{self.size * 8}"


@dataclass(frozen=True, slots=True)
class StrType:
    size: int        # bytes, NUL included when the string is shorter

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError(f"string size must be positive, not {self.size}")

    def __str__(self) -> str:
        return f"string[{self.size}]"


@dataclass(frozen=True, slots=True)
class TupleType:
    size: int
    fields: tuple[tuple[int, "Type"], ...]   # (offset, type), in order

    def __post_init__(self) -> None:
        end = 0
        for off, t in self.fields:
            if off < end:
                raise ValueError(f"tuple field at offset {off} overlaps the previous field")
            end = off + t.size
        if end > self.size:
            raise ValueError(f"tuple fields end at {end}, past the tuple size {self.size}")

    def __str__(self) -> str:
        return "(" + ", ".join(str(t) for _, t in self.fields) + ")"


@dataclass(frozen=True, slots=True)
class KsymType:
    """ksym(addr): a u64 kernel address."""
    size: int = 8

    def __post_init__(self) -> None:
        _fixed_size("ksym", self.size, 8)

    def __str__(self) -> str:
        return "ksym"


@dataclass(frozen=True, slots=True)
class BufType:
    """buf(): {u64 length; `size - 8` bytes}; decodes to the `length` bytes."""
    size: int

    def __str__(self) -> str:
        return "buf"


@dataclass(frozen=True, slots=True)
class InetType:
    """ntop(): {u64 address family; 16 bytes of address}, printed as inet_ntop(3) does."""
    size: int = 24

    def __post_init__(self) -> None:
        _fixed_size("inet", self.size, 24)

    def __str__(self) -> str:
        return "inet"


@dataclass(frozen=True, slots=True)
class UsymType:
    """usym(addr): {u64 addr; u64 pid}."""
    size: int = 16

    def __post_init__(self) -> None:
        _fixed_size("usym", self.size, 16)

    def __str__(self) -> str:
        return "usym"


STACK_LIMIT = 127          # frames in a kt_stacks value (PERF_MAX_STACK_DEPTH)
STACK_MODES = ("bpftrace", "perf", "raw")


@dataclass(frozen=True, slots=True)
class StackType:
    """kstack: {s64 stack id}; ustack: {s64 stack id; u64 pid}. `mode` is bpftrace's stack
    mode (`ustack(perf)`), `limit` the frame count asked for (`kstack(3)`)."""
    user: bool
    mode: str = "bpftrace"
    limit: int = STACK_LIMIT

    def __post_init__(self) -> None:
        if self.mode not in STACK_MODES:
            raise ValueError(f"stack mode must be one of {STACK_MODES}, not {self.mode!r}")
        if not 1 <= self.limit <= STACK_LIMIT:
            raise ValueError(f"stack limit must be 1..{STACK_LIMIT}, not {self.limit}")

    @property
    def size(self) -> int:
        return 16 if self.user else 8

    def __str__(self) -> str:
        return "ustack" if self.user else "kstack"


@dataclass(frozen=True, slots=True)
class ProbeType:
    """probe (or func): a u64 index into the meta's `probe_names` (or `func_names`)."""
    size: int = 8
    names: str = "probe"   # "probe" | "func": which list the index reads

    def __post_init__(self) -> None:
        _fixed_size(self.names, self.size, 8)

    def __str__(self) -> str:
        return self.names


@dataclass(frozen=True, slots=True)
class ArrayType:
    """A C array value (`int a[4]`): `count` elements of `elem`, contiguous with stride
    elem.size (C arrays have no padding between elements: the element's size is its stride)."""
    size: int
    count: int
    elem: "Type"

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"an array needs at least one element, not {self.count}")
        if self.size != self.count * self.elem.size:
            raise ValueError(f"array of {self.count} x {self.elem.size} bytes is "
                             f"{self.count * self.elem.size} bytes, not {self.size}")

    def __str__(self) -> str:
        return f"{self.elem}[{self.count}]"


@dataclass(frozen=True, slots=True)
class Bits:
    """Where a C bitfield's bits are in the int that holds them: `size` bits from bit
    `offset` (bit 0 is the least significant bit of the little-endian int)."""
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class RecordField:
    """One member of a struct or union: its name, byte offset and type; a bitfield also has
    `bits`, and then `type` is the int its bits are read from (`unsigned int c:4` reads a
    4-byte unsigned int at `offset` and keeps bits.size bits from bits.offset)."""
    name: str
    offset: int
    type: "Type"
    bits: Bits | None = None


@dataclass(frozen=True, slots=True)
class RecordType:
    """A C struct or union value (`name` is how C spells it, `struct Foo`). Fields are checked
    only to lie inside the record: a union's fields overlap, and a struct's need not be listed
    in offset order."""
    size: int
    name: str
    fields: tuple[RecordField, ...]

    def __post_init__(self) -> None:
        for f in self.fields:
            what = f"{self.name} field '{f.name}'"
            if f.offset < 0 or f.offset + f.type.size > self.size:
                raise ValueError(f"{what} at offset {f.offset} ({f.type.size} bytes) is not "
                                 f"inside the record's {self.size} bytes")
            if f.bits is None:
                continue
            if not isinstance(f.type, IntType):
                raise ValueError(f"{what}: a bitfield is read from an int, not {f.type}")
            if f.bits.offset < 0 or f.bits.size < 1 or f.bits.offset + f.bits.size > 8 * f.type.size:
                raise ValueError(f"{what}: bits {f.bits.offset}..{f.bits.offset + f.bits.size - 1} "
                                 f"are not inside its {8 * f.type.size}-bit int")

    def __str__(self) -> str:
        return self.name


def _fixed_size(kind: str, size: int, want: int) -> None:
    if size != want:
        raise ValueError(f"{kind} values are {want} bytes, not {size}")


Type = Union[IntType, StrType, TupleType, ArrayType, RecordType, KsymType, UsymType, StackType,
             ProbeType, InetType, BufType, FormattedType]



def required(d: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    """`d[key]`, checked to be a `kind`; ValueError naming `what` when it is missing or not.
    (Every `.kt.meta` reader goes through this, so a malformed object says what is wrong.)"""
    if not isinstance(d, Mapping) or key not in d:
        raise ValueError(f"{what}: missing '{key}'")
    v = d[key]
    # bool is an int subclass; keep "size": true out
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise ValueError(f"{what}: '{key}' must be {kind.__name__}, not {type(v).__name__}")
    return v


def type_from_json(d: Mapping[str, Any]) -> Type:
    """Parse a `.kt.meta` type object; ValueError on anything malformed."""
    kind = required(d, "kind", str, "type")
    if kind in FORMATTED_KINDS:
        t = FormattedType(kind)
        if "size" in d and required(d, "size", int, f"{kind} type") != t.size:
            raise ValueError(f"{kind} values are {t.size} bytes, not {d['size']}")
        return t
    if kind in _SYMBOLIC:
        # the size is implied by the kind; when given it must agree
        size = required(d, "size", int, f"{kind} type") if "size" in d else None
        if kind in ("kstack", "ustack"):
            mode = d.get("mode", "bpftrace")
            limit = d.get("limit", STACK_LIMIT)
            if not isinstance(mode, str) or not isinstance(limit, int) or isinstance(limit, bool):
                raise ValueError(f"{kind} type: 'mode' must be str and 'limit' int")
            t: Type = StackType(kind == "ustack", mode, limit)
            if size is not None and size != t.size:
                raise ValueError(f"{kind} values are {t.size} bytes, not {size}")
            return t
        if kind == "inet":
            return InetType()
        if kind == "buf":
            return BufType(size if size is not None else 72)
        if kind == "func":
            return ProbeType(8 if size is None else size, "func")
        cls = _SYMBOLIC[kind]
        return cls() if size is None else cls(size)
    if kind not in ("int", "str", "tuple", "array", "record"):
        raise ValueError(f"unknown type kind '{kind}'")
    size = required(d, "size", int, f"{kind} type")
    if kind == "int":
        pointer = d.get("pointer", False)
        if not isinstance(pointer, bool):
            raise ValueError("int type: 'pointer' must be a boolean")
        return IntType(size, required(d, "signed", bool, "int type"), pointer)
    if kind == "str":
        return StrType(size)
    if kind == "tuple":
        fields = required(d, "fields", list, "tuple type")
        return TupleType(size, tuple(
            (required(f, "offset", int, "tuple field"),
             type_from_json(required(f, "type", dict, "tuple field")))
            for f in fields))
    if kind == "array":
        return ArrayType(size, required(d, "count", int, "array type"),
                         type_from_json(required(d, "elem", dict, "array type")))
    if kind == "record":
        name = required(d, "name", str, "record type")
        return RecordType(size, name, tuple(_field_from_json(f, name)
                                            for f in required(d, "fields", list, f"{name} type")))
    raise ValueError(f"unknown type kind '{kind}'")


def _field_from_json(d: Mapping[str, Any], record: str) -> RecordField:
    fname = required(d, "name", str, f"{record} field")
    what = f"{record} field '{fname}'"
    bits = None
    if isinstance(d, Mapping) and "bits" in d:
        b = required(d, "bits", dict, what)
        bits = Bits(required(b, "offset", int, f"{what} bits"), required(b, "size", int, f"{what} bits"))
    return RecordField(fname, required(d, "offset", int, what),
                       type_from_json(required(d, "type", dict, what)), bits)


_SYMBOLIC: dict[str, Any] = {"ksym": KsymType, "usym": UsymType, "probe": ProbeType, "func": ProbeType,
                              "inet": InetType, "buf": BufType,
                              "kstack": StackType, "ustack": StackType}


def type_to_json(t: Type) -> dict:
    """The `.kt.meta` object of a type (type_from_json's inverse)."""
    if isinstance(t, StackType):
        d: dict = {"kind": str(t), "size": t.size}
        if t.mode != "bpftrace":
            d["mode"] = t.mode
        if t.limit != STACK_LIMIT:
            d["limit"] = t.limit
        return d
    if isinstance(t, (KsymType, UsymType, ProbeType, InetType, BufType, FormattedType)):
        return {"kind": str(t), "size": t.size}
    if isinstance(t, IntType):
        d = {"kind": "int", "size": t.size, "signed": t.signed}
        if t.pointer:
            d["pointer"] = True
        return d
    if isinstance(t, StrType):
        return {"kind": "str", "size": t.size}
    if isinstance(t, ArrayType):
        return {"kind": "array", "size": t.size, "count": t.count, "elem": type_to_json(t.elem)}
    if isinstance(t, RecordType):
        fields = []
        for f in t.fields:
            fd: dict = {"name": f.name, "offset": f.offset, "type": type_to_json(f.type)}
            if f.bits is not None:
                fd["bits"] = {"offset": f.bits.offset, "size": f.bits.size}
            fields.append(fd)
        return {"kind": "record", "size": t.size, "name": t.name, "fields": fields}
    return {"kind": "tuple", "size": t.size,
            "fields": [{"offset": o, "type": type_to_json(f)} for o, f in t.fields]}

