"""The value types of `.kt.meta` and the bytes behind them: type objects, decode and encode.

Why a module: the compiler decides every layout and writes it into `.kt.meta`
(docs/object-format.md, "Types"); user space must decode exactly those bytes — map keys and
values read with bpf(), printf and print() records read from the ring buffer — and nothing else
in the runtime should know how. Everything here is pure: bytes in, Python values out. Maps,
aggregations and printf records, which are built from these types, are kt.runtime.layout.

Decoded values:
- `IntType`  -> `int` (sign per the type; little-endian),
- `StrType`  -> `bytes` up to the first NUL (or all `size` bytes when there is none), the way
  bpftrace 0.17 reads a string (`strnlen(p, size)`),
- `TupleType` -> `tuple` of the decoded fields, in field order,
- `ArrayType` -> `ArrayValue`: the `count` elements, in order (a C array, `int a[4]`),
- `RecordType` -> `RecordValue`: the struct's or union's name and (field name, value) pairs in
  the fields' listed order; a bitfield decodes to the int its bits hold,
- `KsymType` -> `KSym`, `UsymType` -> `USym`, `StackType` (kstack/ustack) -> `Stack`: the raw
  address/stack id with the text to print, resolved at decode time through a `DecodeContext`
  (kt.runtime.symbols.ValueContext reads /proc/kallsyms, the process's mappings and the
  STACK_TRACE map); without a context addresses print as hex and stacks as unreadable,
- `ProbeType` -> `str`, the probe's name from the meta's `probe_names` (through the context),
- `FormattedType` (username, strerror, macaddr, strftime, cgroup_path) -> `Formatted`: the raw
  bytes and the text to print (kt.runtime.formatted; the context's `formatted()` for the kinds
  that need the system).

ArrayValue and RecordValue are their own frozen classes, not tuples, so the printers can tell
`[1,2]` and `{ .a = 1 }` from a tuple `(1, 2)`; being frozen they are hashable and can be map
keys like every other decoded value.
"""

from __future__ import annotations

import socket

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Union

from .formatted import FORMATTED_KINDS, Formatted, FormattedType, plain_text

__all__ = [
    "IntType", "StrType", "TupleType", "ArrayType", "RecordType", "RecordField", "Bits",
    "KsymType", "UsymType", "StackType", "ProbeType", "InetType", "BufType", "BufValue", "FormattedType",
    "Type", "Value", "KSym", "USym", "Stack", "ArrayValue", "RecordValue", "Formatted", "DecodeContext",
    "STACK_LIMIT", "STACK_MODES", "required", "type_from_json", "type_to_json", "decode", "encode",
]

_INT_SIZES = (1, 2, 4, 8)


@dataclass(frozen=True, slots=True)
class IntType:
    size: int        # bytes: 1, 2, 4 or 8
    signed: bool

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


class BufValue(bytes):
    """A decoded buf(): its bytes, printed as 0.17 prints buffers (printable ASCII kept, other
    bytes as \\xNN), unlike a string's bytes, which print up to their NUL."""
    __slots__ = ()


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


@dataclass(frozen=True, slots=True)
class KSym:
    """A decoded ksym(): the address and what bpftrace prints for it (`vfs_read`, `0x11`)."""
    addr: int
    text: str


@dataclass(frozen=True, slots=True)
class USym:
    """A decoded usym(): address, process and the printed symbol (`malloc`, `0x7f3a...`)."""
    addr: int
    pid: int
    text: str


@dataclass(frozen=True, slots=True)
class Stack:
    """A decoded kstack/ustack. `frames` are (address, printed symbol) up to the first zero
    address, or None when the stack id could not be read (bpftrace prints nothing then)."""
    user: bool
    stack_id: int
    pid: int | None
    frames: tuple[tuple[int, str], ...] | None
    mode: str = "bpftrace"


@dataclass(frozen=True, slots=True)
class ArrayValue:
    """A decoded ArrayType: the elements in order."""
    items: tuple


@dataclass(frozen=True, slots=True)
class RecordValue:
    """A decoded RecordType: the struct's name and (field name, value) in the fields' order."""
    name: str
    fields: tuple[tuple[str, "Value"], ...]


Value = Union[int, bytes, tuple, ArrayValue, RecordValue, KSym, USym, Stack, Formatted, str]


class DecodeContext(Protocol):
    """What decode() asks about symbolic values; kt.runtime.symbols.ValueContext is the real
    one (it reads the kernel and /proc, which this module never does)."""

    def ksym(self, addr: int) -> KSym: ...
    def usym(self, addr: int, pid: int) -> USym: ...
    def stack(self, user: bool, stack_id: int, pid: int | None, mode: str, limit: int) -> Stack: ...
    def probe(self, index: int) -> str: ...
    def func(self, index: int) -> str: ...
    def formatted(self, kind: str, raw: bytes) -> str: ...


def _hex(addr: int) -> str:
    return "0" if addr == 0 else f"0x{addr:x}"


class _NoContext:
    """decode() without a context: hex addresses, unreadable stacks, probe and function numbers."""

    def ksym(self, addr: int) -> KSym:
        return KSym(addr, _hex(addr))

    def usym(self, addr: int, pid: int) -> USym:
        return USym(addr, pid, _hex(addr))

    def stack(self, user: bool, stack_id: int, pid: int | None, mode: str, limit: int) -> Stack:
        return Stack(user, stack_id, pid, None, mode)

    def probe(self, index: int) -> str:
        return f"<probe {index}>"

    def func(self, index: int) -> str:
        return f"<func {index}>"

    def formatted(self, kind: str, raw: bytes) -> str:
        text = plain_text(kind, raw)
        return f"<{kind}>" if text is None else text


_NO_CONTEXT = _NoContext()


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
    size = required(d, "size", int, f"{kind} type")
    if kind == "int":
        return IntType(size, required(d, "signed", bool, "int type"))
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
        return {"kind": "int", "size": t.size, "signed": t.signed}
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


def _u64(buf, offset: int, signed: bool = False) -> int:
    return int.from_bytes(buf[offset:offset + 8], "little", signed=signed)


def _bitfield(f: RecordField, buf, offset: int) -> int:
    """A bitfield's value: the int at its offset, shifted right by bits.offset, bits.size bits
    kept, sign-extended from bits.size bits when the int is signed (C's `int a:3` holds -4..3)."""
    t, bits = f.type, f.bits
    word = int.from_bytes(buf[offset:offset + t.size], "little")
    v = (word >> bits.offset) & ((1 << bits.size) - 1)   # type: ignore[union-attr]
    if t.signed and v >> (bits.size - 1):                # type: ignore[union-attr]
        v -= 1 << bits.size                              # type: ignore[union-attr]
    return v


def decode(t: Type, buf: bytes | bytearray | memoryview, offset: int = 0,
           ctx: DecodeContext | None = None) -> Value:
    """Decode the value of type `t` stored at `buf[offset:]`; symbolic values (ksym, usym,
    stacks, probe) are resolved through `ctx`."""
    end = offset + t.size
    if offset < 0 or end > len(buf):
        raise ValueError(f"{t} at offset {offset} needs {end} bytes, buffer has {len(buf)}")
    if isinstance(t, IntType):
        return int.from_bytes(buf[offset:end], "little", signed=t.signed)
    if isinstance(t, StrType):
        raw = bytes(buf[offset:end])
        nul = raw.find(b"\0")
        return raw if nul < 0 else raw[:nul]
    if isinstance(t, TupleType):
        return tuple(decode(f, buf, offset + o, ctx) for o, f in t.fields)
    if isinstance(t, ArrayType):
        return ArrayValue(tuple(decode(t.elem, buf, offset + i * t.elem.size, ctx)
                                for i in range(t.count)))
    if isinstance(t, RecordType):
        return RecordValue(t.name, tuple(
            (f.name, _bitfield(f, buf, offset + f.offset) if f.bits is not None
             else decode(f.type, buf, offset + f.offset, ctx))
            for f in t.fields))
    c = ctx if ctx is not None else _NO_CONTEXT
    if isinstance(t, FormattedType):
        raw = bytes(buf[offset:end])
        return Formatted(t.kind, raw, c.formatted(t.kind, raw))
    if isinstance(t, BufType):
        length = min(int.from_bytes(buf[offset:offset + 8], "little"), t.size - 8)
        return BufValue(buf[offset + 8:offset + 8 + length])
    if isinstance(t, InetType):
        family = int.from_bytes(buf[offset:offset + 8], "little")
        raw = bytes(buf[offset + 8:offset + 24])
        if family == socket.AF_INET6:
            return socket.inet_ntop(socket.AF_INET6, raw)
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    if isinstance(t, KsymType):
        return c.ksym(_u64(buf, offset))
    if isinstance(t, UsymType):
        return c.usym(_u64(buf, offset), _u64(buf, offset + 8))
    if isinstance(t, StackType):
        pid = _u64(buf, offset + 8) if t.user else None
        return c.stack(t.user, _u64(buf, offset, signed=True), pid, t.mode, t.limit)
    if isinstance(t, ProbeType):
        return c.func(_u64(buf, offset)) if t.names == "func" else c.probe(_u64(buf, offset))
    raise TypeError(f"cannot decode {t!r}")


def _encode_record(t: RecordType, value: Value) -> bytes:
    """The bytes of a RecordValue: fields written in their listed order (a union's members
    decoded from the same bytes agree, so the order does not matter), bitfields or-ed into
    the bits of the int they share with their neighbours."""
    if (not isinstance(value, RecordValue)
            or [n for n, _ in value.fields] != [f.name for f in t.fields]):
        raise TypeError(f"{t} needs a RecordValue with fields {[f.name for f in t.fields]}")
    out = bytearray(t.size)
    for f, (_, v) in zip(t.fields, value.fields):
        end = f.offset + f.type.size
        if f.bits is None:
            out[f.offset:end] = encode(f.type, v)
            continue
        if not isinstance(v, int):
            raise TypeError(f"{t} field '{f.name}' needs an int, not {type(v).__name__}")
        mask = ((1 << f.bits.size) - 1) << f.bits.offset
        word = int.from_bytes(out[f.offset:end], "little")
        word = (word & ~mask) | ((v << f.bits.offset) & mask)
        out[f.offset:end] = word.to_bytes(f.type.size, "little")
    return bytes(out)


def encode(t: Type, value: Value) -> bytes:
    """The inverse of `decode` (strings are NUL-padded; ints wrap to the type's width).

    Used by tests and by anything that must build a key (lookups, deletes). Symbolic types
    take their raw values: ksym/probe an int (or KSym), usym (addr, pid) (or USym), stacks
    a stack id (kstack) or (stack id, pid) (ustack), or a Stack. Arrays take an ArrayValue,
    records a RecordValue (its field names in the record's order)."""
    if isinstance(t, FormattedType):
        if isinstance(value, Formatted):
            return value.raw
        if isinstance(value, int):
            return encode(IntType(8, False), value)
        if isinstance(value, tuple):
            return b"".join(encode(IntType(8, False), v) for v in value)
        raise TypeError(f"{t} needs a Formatted, an int or a tuple of ints")
    if isinstance(t, (KsymType, ProbeType)):
        v = value.addr if isinstance(value, KSym) else value
        return encode(IntType(8, False), v)
    if isinstance(t, UsymType):
        addr, pid = (value.addr, value.pid) if isinstance(value, USym) else value
        return encode(IntType(8, False), addr) + encode(IntType(8, False), pid)
    if isinstance(t, StackType):
        if isinstance(value, Stack):
            value = (value.stack_id, value.pid or 0) if t.user else value.stack_id
        if t.user:
            sid, pid = value
            return encode(IntType(8, True), sid) + encode(IntType(8, False), pid)
        return encode(IntType(8, True), value)
    if isinstance(t, IntType):
        if not isinstance(value, int):
            raise TypeError(f"{t} needs an int, not {type(value).__name__}")
        return (value & ((1 << (8 * t.size)) - 1)).to_bytes(t.size, "little")
    if isinstance(t, BufType):   # {u64 length; bytes}
        data = bytes(value)
        if len(data) > t.size - 8:
            raise ValueError(f"{len(data)} bytes do not fit {t}")
        return len(data).to_bytes(8, "little") + data.ljust(t.size - 8, b"\0")
    if isinstance(t, StrType):
        if isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        if not isinstance(value, (bytes, bytearray)):
            raise TypeError(f"{t} needs bytes, not {type(value).__name__}")
        if len(value) > t.size:
            raise ValueError(f"{len(value)} bytes do not fit {t}")
        return bytes(value).ljust(t.size, b"\0")
    if isinstance(t, ArrayType):
        if not isinstance(value, ArrayValue) or len(value.items) != t.count:
            raise TypeError(f"{t} needs an ArrayValue of {t.count} items")
        return b"".join(encode(t.elem, v) for v in value.items)
    if isinstance(t, RecordType):
        return _encode_record(t, value)
    if not isinstance(t, TupleType):
        raise TypeError(f"cannot encode {t!r}")
    if not isinstance(value, tuple) or len(value) != len(t.fields):
        raise TypeError(f"{t} needs a tuple of {len(t.fields)} values")
    out = bytearray(t.size)
    for (off, ft), v in zip(t.fields, value):
        out[off:off + ft.size] = encode(ft, v)
    return bytes(out)
