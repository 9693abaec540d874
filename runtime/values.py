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
from typing import Protocol, Union

from ..compiler.formats.value_types import (
    STACK_LIMIT, STACK_MODES, ArrayType, Bits, BufType, FormattedType, InetType, IntType,
    KsymType, ProbeType, RecordField, RecordType, StackType, StrType, TupleType, Type, UsymType, required,
    type_from_json, type_to_json,
)
from .formatted import Formatted, plain_text

__all__ = [
    "IntType", "StrType", "TupleType", "ArrayType", "RecordType", "RecordField", "Bits",
    "KsymType", "UsymType", "StackType", "ProbeType", "InetType", "BufType", "BufValue", "Pointer", "FormattedType",
    "Type", "Value", "KSym", "USym", "Stack", "ArrayValue", "RecordValue", "Formatted", "DecodeContext",
    "STACK_LIMIT", "STACK_MODES", "required", "type_from_json", "type_to_json", "decode", "encode",
]

# (the types themselves live in kt.compiler.formats.value_types)

class Pointer(int):
    """A decoded pointer: its address (an int), printed as 0.17 prints pointers, a signed
    value (`@a: -131386660371200`) and in a map key 0x hex (`@[0xffff888104ca5c00]`)."""
    __slots__ = ()

    def text(self, in_key: bool) -> str:
        if in_key:
            return f"0x{self:x}"
        return str(self - (1 << 64) if self >> 63 else int(self))


class BufValue(bytes):
    """A decoded buf(): its bytes, printed as 0.17 prints buffers (printable ASCII kept, other
    bytes as \\xNN), unlike a string's bytes, which print up to their NUL."""
    __slots__ = ()


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
        if t.pointer:
            return Pointer(int.from_bytes(buf[offset:end], "little"))
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
