"""kt's value types and their memory layouts.

Every integer is computed in 64 bits, as in bpftrace; `signed` decides comparisons, shifts,
division and how the value prints. Strings are fixed-size NUL-padded byte arrays. A map key with
several parts is a Tuple laid out like a C struct. The JSON form (`to_json`) is the type
descriptor of docs/object-format.md that the runtime decodes with.
"""

from __future__ import annotations

from dataclasses import dataclass


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
            off = _align_up(off, t.align)
            out.append(off)
            off += t.size
        return tuple(out)

    @property
    def size(self) -> int:
        if not self.elems:
            return 0
        return _align_up(self.offsets[-1] + self.elems[-1].size, self.align)

    @property
    def align(self) -> int:
        return max((t.align for t in self.elems), default=1)

    def __str__(self) -> str:
        return "(" + ", ".join(map(str, self.elems)) + ")"


_SYM_SIZES = {"ksym": 8, "usym": 16, "kstack": 8, "ustack": 16, "probe": 8, "func": 8, "inet": 24}


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
class Ptr:
    """A pointer to a kernel struct or union described by BTF: `->` reads its members."""
    btf_id: int
    name: str          # "struct file"
    size: int = 8

    @property
    def align(self) -> int:
        return 8

    def __str__(self) -> str:
        return f"{self.name} *"


@dataclass(frozen=True, slots=True)
class Record:
    """A struct or union member embedded in another (`f->f_path`): only its address exists
    in the program; `.` goes on to its members."""
    btf_id: int
    name: str
    size: int = 8

    @property
    def align(self) -> int:
        return 8

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Void:
    size: int = 0

    def __str__(self) -> str:
        return "none"


@dataclass(frozen=True, slots=True)
class Args:
    """The `args` builtin of a tracepoint: a record whose fields come from its format file."""
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


Type = Int | Str | Tuple | Sym | Buf | Ptr | Record | Void | Args | Agg

U64 = Int(64, False)
S64 = Int(64, True)


def widen(t: "Type") -> "Type":
    """What a variable, a map key or a map value holds: integers are 64-bit there. (A narrower
    Int only says how wide a kernel member or a cast was, for bswap().)"""
    if isinstance(t, Int):
        return Int(64, t.signed)
    if isinstance(t, Tuple):
        return Tuple(tuple(widen(e) for e in t.elems))
    return t


def is_word(t: "Type") -> bool:
    """Whether codegen holds the value in one i64 register (else: a pointer to a buffer)."""
    return isinstance(t, (Int, Ptr, Record)) or (isinstance(t, Sym) and t.size == 8)


def _align_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def unify(a: Type, b: Type) -> Type | None:
    """The type that holds both a and b (a longer string, a signed int), or None."""
    if isinstance(a, Int) and isinstance(b, Int):
        return Int(64, a.signed and b.signed)
    if isinstance(a, Str) and isinstance(b, Str):
        return Str(max(a.size, b.size))
    if isinstance(a, Tuple) and isinstance(b, Tuple) and len(a.elems) == len(b.elems):
        parts = [unify(x, y) for x, y in zip(a.elems, b.elems)]
        return None if any(p is None for p in parts) else Tuple(tuple(parts))
    if isinstance(a, (Sym, Ptr)) and a == b:
        return a
    if isinstance(a, Buf) and isinstance(b, Buf):
        return Buf(max(a.capacity, b.capacity))
    if isinstance(a, Ptr) and isinstance(b, Int) or isinstance(a, Int) and isinstance(b, Ptr):
        return Int(64, False)
    if isinstance(a, Agg) and isinstance(b, Agg) and a.kind == b.kind and a.params == b.params:
        return Agg(a.kind, Int(64, a.value.signed and b.value.signed), params=a.params)
    return None


def to_json(t: Type) -> dict:
    if isinstance(t, Int):
        return {"kind": "int", "size": t.size, "signed": t.signed}
    if isinstance(t, Str):
        return {"kind": "str", "size": t.size}
    if isinstance(t, Buf):
        return {"kind": "buf", "size": t.size}
    if isinstance(t, Ptr):  # stored and printed as the address
        return {"kind": "int", "size": 8, "signed": False}
    if isinstance(t, Sym):
        d = {"kind": t.kind, "size": t.size}
        if t.kind in ("kstack", "ustack"):
            d.update(mode=t.mode, limit=t.limit)
        return d
    if isinstance(t, Tuple):
        return {"kind": "tuple", "size": t.size,
                "fields": [{"offset": o, "type": to_json(e)} for o, e in zip(t.offsets, t.elems)]}
    raise TypeError(f"type {t} has no runtime layout")
