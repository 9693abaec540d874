"""Kernel types from BTF as kt types: what `(struct file *)arg0`, `curtask->real_parent`,
kfunc arguments and struct-pointer tracepoint fields mean.

Why a module: the compiler reads the kernel's types only through here (compiler/formats/btf.py is the
reader), lazily: a BTF struct becomes a StructDef whose members are converted when first asked
for, so `curtask->pid` costs the members of task_struct and not the whole kernel. One StructDef
per BTF type id keeps type identity (two reads of `struct file` are the same type).
"""

from __future__ import annotations

import functools

from .formats import btf as kbtf
from .types import Array, Int, KERNEL, Member, Opaque, Ptr, Record, Str, StructDef, Type, Void


class KernelTypeError(LookupError):
    """A type kt cannot use; the message is for a diagnostic."""


def btf():
    return kbtf.vmlinux_btf()


def btf_cached(fn):
    """`functools.cache` for a fact read from the kernel's BTF (an offset in task_struct),
    None without BTF. The BTF is still asked on every call, not only the first: each
    compilation that bakes such a fact in must record the BTF it read (.kt.meta kernel_btf;
    driver.py counts the reads), also a second compilation in one process."""
    cached = functools.cache(fn)

    @functools.wraps(fn)
    def read():
        try:
            btf()
        except (OSError, ValueError):
            return None
        return cached()
    return read


def _available() -> bool:
    try:
        btf()
        return True
    except (OSError, ValueError):
        return False


@functools.cache
def _struct_of_id(type_id: int) -> StructDef:
    b = btf()
    t = b.type(type_id)
    if t.kind == kbtf.Kind.FWD:
        return StructDef("union" if t.kflag else "struct", t.name, 0, (), complete=False)
    kind = "union" if t.kind == kbtf.Kind.UNION else "struct"
    return StructDef(kind, t.name, t.size, load=lambda: _members(type_id))


def _members(type_id: int) -> tuple[Member, ...]:
    out = []
    for f in btf().members(type_id):
        try:
            t = type_of(f.type)
        except KernelTypeError:
            continue          # a member kt cannot represent; never printed, named only in errors
        if f.bitfield_size:
            if not isinstance(t, Int):
                continue
            unit = t.bits
            start = f.bit_offset // unit * unit
            out.append(Member(f.name, start // 8, t, f.bit_offset - start, f.bitfield_size))
        else:
            out.append(Member(f.name, f.offset, t))
    return tuple(out)


def type_of(type_id: int) -> Type:
    """The kt type of a BTF type held in memory (kernel memory: its pointers are kernel
    pointers)."""
    b = btf()
    t = b.resolve(type_id)
    k = t.kind
    if k in (kbtf.Kind.INT, kbtf.Kind.ENUM, kbtf.Kind.ENUM64):
        size = b.size_of(t.id)
        if size not in (1, 2, 4, 8):
            raise KernelTypeError(f"{b.type_name(type_id)} of {size} bytes is not supported")
        return Int(size * 8, b.is_signed(t.id))
    if k == kbtf.Kind.PTR:
        target = b.resolve(t.ref) if t.ref else None
        if target is None or target.kind in (kbtf.Kind.VOID, kbtf.Kind.FUNC_PROTO):
            return Ptr(Void(), KERNEL)
        try:
            return Ptr(type_of(t.ref), KERNEL)
        except KernelTypeError:
            return Ptr(Void(), KERNEL)
    if k in (kbtf.Kind.STRUCT, kbtf.Kind.UNION, kbtf.Kind.FWD):
        return Record(_struct_of_id(t.id), KERNEL)
    if k == kbtf.Kind.ARRAY:
        elem = b.resolve(t.array.type)
        if elem.kind == kbtf.Kind.INT and elem.name == "char" and t.array.nelems:
            return Str(t.array.nelems)     # char name[N]: a string, as in bpftrace
        return Array(type_of(t.array.type), t.array.nelems)
    if k == kbtf.Kind.FLOAT:
        return Opaque(t.size, t.name)
    raise KernelTypeError(f"{b.type_name(type_id)} values are not supported")


def struct_def(kind: str, name: str) -> StructDef | None:
    """The kernel's struct (or union) of that name, None without one (or without BTF)."""
    if not _available():
        return None
    want = kbtf.Kind.UNION if kind == "union" else kbtf.Kind.STRUCT
    for type_id in btf().find_all(name, want):
        t = btf().type(type_id)
        if t.vlen or t.size:
            return _struct_of_id(type_id)
    return None


def typedef(name: str) -> Type | None:
    """A kernel typedef's type (`sector_t`, `pid_t`), None without one."""
    if not _available():
        return None
    type_id = btf().find(name, kbtf.Kind.TYPEDEF)
    if type_id is None:
        return None
    try:
        return type_of(type_id)
    except KernelTypeError:
        return None


def enum_type(name: str) -> Type | None:
    if not _available():
        return None
    for kind in (kbtf.Kind.ENUM, kbtf.Kind.ENUM64):
        type_id = btf().find(name, kind)
        if type_id is not None:
            return type_of(type_id)
    return None


def struct_pointer(name: str, kind: str = "struct") -> Ptr:
    """`struct NAME *` in kernel memory; KernelTypeError without such a struct."""
    found = struct_def(kind, name)
    if found is None:
        raise KernelTypeError(f"no {kind} '{name}' in the kernel's BTF")
    return Ptr(Record(found, KERNEL), KERNEL)


# Macros of the headers bpftrace's tools #include (bpftrace runs them through clang; kt has no
# C preprocessor): values from include/uapi/linux/socket.h and include/linux/sched.h.
HEADER_CONSTANTS = {
    "AF_UNSPEC": 0, "AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16,
    "AF_PACKET": 17,
    "TASK_RUNNING": 0, "TASK_INTERRUPTIBLE": 1, "TASK_UNINTERRUPTIBLE": 2, "__TASK_STOPPED": 4,
    "__TASK_TRACED": 8, "EXIT_DEAD": 16, "EXIT_ZOMBIE": 32, "TASK_DEAD": 128,
}


def constant(name: str) -> int | None:
    """A named constant a script may use without defining it: a kernel enumerator from BTF or
    one of HEADER_CONSTANTS."""
    if name in HEADER_CONSTANTS:
        return HEADER_CONSTANTS[name]
    return enum_value(name)


def enum_value(name: str) -> int | None:
    """The value of a kernel enumerator (TASK_RUNNING is not one, but BPF_MAP_TYPE_HASH is)
    from BTF; None when there is none or no BTF. Looked up by name, decoding only the enum
    that has it (kernel-facts: decoding all of vmlinux's types costs 8 s under TCG)."""
    try:
        return btf().enumerator(name)
    except (OSError, ValueError):
        return None

