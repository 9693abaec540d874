"""kt's value types and their memory layouts.

Every integer is computed in 64 bits, as in bpftrace; `signed` decides comparisons, shifts,
division and how the value prints, and `bits` how wide it is in memory (a struct member, a
pointee, an array element). Strings are fixed-size NUL-padded byte arrays. A map key with
several parts is a Tuple laid out like a C struct.

C types (from the script's definitions, compiler/cdecl.py, or the kernel's BTF,
compiler/kernel_types.py) are the same few classes: `Record` is a struct or union value whose
layout is its `StructDef`, `Array` a C array, `Ptr` a typed pointer. A pointer carries the
address space its pointee lives in ("kernel" or "user"): `(struct Foo *)arg0` in a uprobe reads
the traced process's memory; a record carries the space its pointer members point into.

The JSON form (`to_json`) is the type descriptor of docs/object-format.md that the runtime
decodes with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

KERNEL = "kernel"
USER = "user"
# `&$x` (bpftrace 0.25): a scratch variable's slot on the BPF stack, read as kernel memory is;
# it means nothing once the probe has returned, so no map may hold it.
STACK = "stack"
# `pkt` (tc/xdp probes): an offset into the packet, read with the context's load-bytes helper
# (compiler/packet_probes.py); no map may hold it either.
PACKET = "packet"


@dataclass(frozen=True, slots=True)
class Int:
    bits: int = 64
    signed: bool = True

    @property
    def size(self) -> int:
        return self.bits // 8

    @property
    def align(self) -> int:
        return self.size

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'uint'}{self.bits}"


@dataclass(frozen=True, slots=True)
class Str:
    size: int

    @property
    def align(self) -> int:
        return 1

    def __str__(self) -> str:
        return f"string[{self.size}]"


@dataclass(frozen=True, slots=True)
class Tuple:
    elems: tuple["Type", ...]

    @property
    def offsets(self) -> tuple[int, ...]:
        out, off = [], 0
        for t in self.elems:
            off = align_up(off, t.align)
            out.append(off)
            off += t.size
        return tuple(out)

    @property
    def size(self) -> int:
        if not self.elems:
            return 0
        return align_up(self.offsets[-1] + self.elems[-1].size, self.align)

    @property
    def align(self) -> int:
        return max((t.align for t in self.elems), default=1)

    def __str__(self) -> str:
        return "(" + ", ".join(map(str, self.elems)) + ")"


@dataclass(frozen=True, slots=True)
class Array:
    """A C array: `count` elements of `elem`, contiguous (`int32 arr[3]`, `struct Bar b[2]`).
    Arrays of plain `char` are strings (Str), as in bpftrace."""
    elem: "Type"
    count: int

    @property
    def size(self) -> int:
        return self.elem.size * self.count

    @property
    def align(self) -> int:
        return self.elem.align

    def __str__(self) -> str:
        return f"{self.elem}[{self.count}]"


@dataclass(frozen=True, slots=True)
class Member:
    """One member of a struct or union. A bitfield is `bit_size` bits at `bit_offset` of the
    integer `type` stored at `offset` (its storage unit)."""
    name: str
    offset: int
    type: "Type"
    bit_offset: int = 0
    bit_size: int = 0

    @property
    def is_bitfield(self) -> bool:
        return self.bit_size > 0


class StructDef:
    """A struct or union's layout. Compared by identity: one object per definition (a script's
    `struct Foo { ... }`, or one BTF type id). Members may be computed on first use (BTF structs
    such as task_struct have hundreds, of which a script reads a few). `members` lists every
    named member, those of anonymous struct/union members flattened in with their offsets, as
    C lets a program name them and bpftrace prints them."""

    def __init__(self, kind: str, name: str, size: int, members: tuple[Member, ...] | None = None,
                 load: Callable[[], tuple[Member, ...]] | None = None, complete: bool = True,
                 align: int | None = None):
        self.kind = kind            # "struct" | "union"
        self.name = name            # the tag; "" for an anonymous one
        self.size = size
        self.complete = complete    # False: only declared (BTF FWD, `struct Foo;`)
        self._members = members
        self._load = load
        self._align = align         # None: the largest member alignment

    def define(self, size: int, members: tuple[Member, ...] | None = None,
               load: Callable[[], tuple[Member, ...]] | None = None, align: int | None = None) -> None:
        """Complete a declared struct (`struct Bar *` seen before `struct Bar { ... }`): the
        object stays the same, so the types already pointing to it see the definition."""
        self.size, self.complete = size, True
        self._members, self._load, self._align = members, load, align

    @property
    def members(self) -> tuple[Member, ...]:
        if self._members is None:
            self._members = self._load() if self._load else ()
        return self._members

    @property
    def align(self) -> int:
        if self._align is None:
            self._align = max((m.type.align for m in self.members), default=1)
        return self._align

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    def __str__(self) -> str:
        return f"{self.kind} {self.name or '(anonymous)'}"

    __repr__ = __str__


@dataclass(frozen=True, slots=True)
class Record:
    """A struct or union value (`*$foo`, `$foo->inner`, a map holding one)."""
    struct: StructDef
    space: str = KERNEL     # where its pointer members point

    @property
    def size(self) -> int:
        return self.struct.size

    @property
    def align(self) -> int:
        return self.struct.align

    def member(self, name: str) -> Member | None:
        """The member, its pointers pointing into this record's space."""
        m = self.struct.member(name)
        return None if m is None else replace(m, type=in_space(m.type, self.space))

    def __str__(self) -> str:
        return str(self.struct)


@dataclass(frozen=True, slots=True)
class Void:
    size: int = 0

    @property
    def align(self) -> int:
        return 1

    def __str__(self) -> str:
        return "void"


@dataclass(frozen=True, slots=True)
class Ptr:
    """A typed pointer: `*p` reads a `pointee` from `space`; `p + 1` is sizeof(pointee) on."""
    pointee: "Type"
    space: str = KERNEL

    size = 8

    @property
    def align(self) -> int:
        return 8

    @property
    def stride(self) -> int:
        """What +1 adds: the pointee's size (1 for void *, as GCC does)."""
        return max(1, self.pointee.size)

    def __str__(self) -> str:
        inner = str(self.pointee)
        return f"{inner}{'*' if inner.endswith('*') else ' *'}"


_SYM_SIZES = {"ksym": 8, "usym": 16, "kstack": 8, "ustack": 16, "probe": 8, "func": 8, "inet": 24,
              # compiler/builtins/formats.py: {uid}, {errno}, {6 bytes}, {format index; nsecs},
              # {cgroup id; filter index}
              "username": 8, "strerror": 8, "macaddr": 8, "strftime": 16, "cgroup_path": 16}


@dataclass(frozen=True, slots=True)
class Sym:
    """A value user space turns into text: a kernel or user symbol, a stack, a probe's or a
    function's name (docs/object-format.md, "More value types"). In BPF it is one or two u64s."""
    kind: str  # "ksym" | "usym" | "kstack" | "ustack" | "probe" | "func"
    mode: str = "bpftrace"   # stacks: how they print ("bpftrace", "perf", "raw")
    limit: int = 127         # stacks: frames kept (one STACK_TRACE map per limit)

    @property
    def size(self) -> int:
        return _SYM_SIZES[self.kind]

    @property
    def align(self) -> int:
        return 8

    def __str__(self) -> str:
        if self.kind in ("kstack", "ustack") and (self.mode, self.limit) != ("bpftrace", 127):
            return f"{self.kind}({self.mode}, {self.limit})"
        return self.kind


@dataclass(frozen=True, slots=True)
class Buf:
    """buf(ptr, n): up to `capacity` bytes read from memory, with their length: {u64 len; data}."""
    capacity: int

    @property
    def size(self) -> int:
        return 8 + self.capacity

    @property
    def align(self) -> int:
        return 8

    def __str__(self) -> str:
        return f"buffer[{self.capacity}]"


@dataclass(frozen=True, slots=True)
class Opaque:
    """Bytes kt lays out but cannot compute with (a float member): `size` bytes."""
    size: int
    name: str

    @property
    def align(self) -> int:
        return min(self.size, 8) or 1

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Args:
    """The `args` builtin of a tracepoint or kfunc: its fields come from the probe's context."""
    tracepoint: str
    size: int = 0

    def __str__(self) -> str:
        return f"args of {self.tracepoint}"


@dataclass(frozen=True, slots=True)
class Agg:
    """What count()/sum()/min()/max()/avg() return: only a map can hold it."""
    kind: str          # "count" | "sum" | "min" | "max" | "avg" | "stats" | "hist" | "lhist"
    value: Int         # the user-visible result type
    size: int = 0
    params: tuple[int, ...] = ()   # lhist: (min, max, step)

    def __str__(self) -> str:
        return f"{self.kind}({', '.join(map(str, self.params))})"


Type = Int | Str | Tuple | Array | Record | Ptr | Sym | Buf | Opaque | Void | Args | Agg

U64 = Int(64, False)
S64 = Int(64, True)


def align_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def in_space(t: Type, space: str) -> Type:
    """`t` as found in memory of `space`: pointers in it point there too (and so on through
    what they point to)."""
    if isinstance(t, Record):
        return t if t.space == space else replace(t, space=space)
    if isinstance(t, Ptr):
        pointee = in_space(t.pointee, space)
        return t if t.space == space and pointee is t.pointee else Ptr(pointee, space)
    if isinstance(t, Array):
        elem = in_space(t.elem, space)
        return t if elem is t.elem else Array(elem, t.count)
    return t


def widen(t: Type) -> Type:
    """What a variable, a map key or a map value holds: integers are 64-bit there. (A narrower
    Int only says how wide a kernel member or a cast was, for bswap().) C arrays and records
    keep their layout."""
    if isinstance(t, Int):
        return Int(64, t.signed)
    if isinstance(t, Tuple):
        return Tuple(tuple(widen(e) for e in t.elems))
    return t


def is_word(t: "Type") -> bool:
    """Whether codegen holds the value in one i64 register (else: a pointer to a buffer)."""
    return isinstance(t, (Int, Ptr)) or (isinstance(t, Sym) and t.size == 8)


def unify(a: Type, b: Type) -> Type | None:
    """The type that holds both a and b (a longer string, a signed int), or None."""
    if isinstance(a, Int) and isinstance(b, Int):
        return Int(64, a.signed and b.signed)
    if isinstance(a, Str) and isinstance(b, Str):
        return Str(max(a.size, b.size))
    if isinstance(a, Tuple) and isinstance(b, Tuple) and len(a.elems) == len(b.elems):
        parts = [unify(x, y) for x, y in zip(a.elems, b.elems)]
        return None if any(p is None for p in parts) else Tuple(tuple(parts))
    if isinstance(a, Ptr) and isinstance(b, Ptr):
        return a if a.pointee == b.pointee or isinstance(b.pointee, Void) else (
            b if isinstance(a.pointee, Void) else None)
    if isinstance(a, Ptr) and isinstance(b, Int):     # `$p = 0` keeps the pointer's type
        return a
    if isinstance(a, Int) and isinstance(b, Ptr):
        return b
    if isinstance(a, Record) and isinstance(b, Record):
        if a.struct is b.struct:
            return a
        ra, rb = record_layout(a), record_layout(b)   # records: field by field, as tuples
        if ra is None or rb is None or ra[0] != rb[0]:
            return None
        layout = unify(ra[1], rb[1])
        return None if layout is None else record_type(ra[0], layout)
    if isinstance(a, Array) and isinstance(b, Array):
        return a if a == b else None
    if isinstance(a, Sym) and a == b:
        return a
    if isinstance(a, Buf) and isinstance(b, Buf):
        return Buf(max(a.capacity, b.capacity))
    if isinstance(a, Agg) and isinstance(b, Agg) and a.kind == b.kind and a.params == b.params:
        return Agg(a.kind, Int(64, a.value.signed and b.value.signed), params=a.params)
    return None


# Records (bpftrace 0.25's `(x = 1, y = 2)`): one StructDef per field names and layout, so
# that two records of one shape are one type; the layout tuple of each, for unify().
_RECORDS: dict[tuple[tuple[str, ...], "Tuple"], StructDef] = {}
_RECORD_LAYOUTS: dict[StructDef, tuple[tuple[str, ...], "Tuple"]] = {}


def record_type(names: tuple[str, ...], layout: "Tuple") -> Record:
    """The record whose fields are `names`, laid out as the tuple `layout`."""
    key = (names, layout)
    struct = _RECORDS.get(key)
    if struct is None:
        members = tuple(Member(n, off, t) for n, off, t in zip(names, layout.offsets, layout.elems))
        fields = ", ".join(f"{n} = {t}" for n, t in zip(names, layout.elems))
        struct = StructDef("record", f"({fields})", layout.size, members, align=layout.align)
        _RECORDS[key] = struct
        _RECORD_LAYOUTS[struct] = key
    return Record(struct)


def record_layout(t: "Type") -> tuple[tuple[str, ...], "Tuple"] | None:
    """A record type's field names and tuple layout; None for any other type."""
    return _RECORD_LAYOUTS.get(t.struct) if isinstance(t, Record) else None


def printable(t: Type) -> bool:
    """Whether the runtime can decode and print a value of type t (to_json has a layout)."""
    if isinstance(t, (Int, Str, Buf, Ptr, Sym)):
        return True
    if isinstance(t, Tuple):
        return all(printable(e) for e in t.elems)
    if isinstance(t, Array):
        return t.count > 0 and printable(t.elem)
    if isinstance(t, Record):
        return t.struct.complete and t.size > 0
    return False


def to_json(t: Type) -> dict:
    if isinstance(t, Int):
        return {"kind": "int", "size": t.size, "signed": t.signed}
    if isinstance(t, Str):
        return {"kind": "str", "size": t.size}
    if isinstance(t, Buf):
        return {"kind": "buf", "size": t.size}
    if isinstance(t, Ptr):  # stored as the address, printed as 0.17 prints pointers
        return {"kind": "int", "size": 8, "signed": False, "pointer": True}
    if isinstance(t, Sym):
        d = {"kind": t.kind, "size": t.size}
        if t.kind in ("kstack", "ustack"):
            d.update(mode=t.mode, limit=t.limit)
        return d
    if isinstance(t, Tuple):
        return {"kind": "tuple", "size": t.size,
                "fields": [{"offset": o, "type": to_json(e)} for o, e in zip(t.offsets, t.elems)]}
    if isinstance(t, Array):
        return {"kind": "array", "size": t.size, "count": t.count, "elem": to_json(t.elem)}
    if isinstance(t, Record):
        fields = []
        for m in t.struct.members:
            if not printable(m.type) or (isinstance(m.type, Array) and m.type.count == 0):
                continue   # flexible arrays and floats: bytes 0.17 does not print either
            f = {"name": m.name, "offset": m.offset, "type": to_json(m.type)}
            if m.is_bitfield:
                f["bits"] = {"offset": m.bit_offset, "size": m.bit_size}
            fields.append(f)
        return {"kind": "record", "size": t.size, "name": str(t.struct), "fields": fields}
    raise TypeError(f"type {t} has no runtime layout")
