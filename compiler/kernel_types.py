"""Kernel types from BTF as kt values: what `(struct file *)arg0`, `p->member` and kfunc
arguments mean.

Why a module: the semantic pass types a member access and codegen reads it; both must agree
on the member's offset, its size and how it is read, so both ask `member_access` here.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import btf as kbtf
from .types import Int, Ptr, Record, Str, Type, U64


class KernelTypeError(LookupError):
    """A member or type kt cannot use; the message is for a diagnostic."""


@dataclass(frozen=True, slots=True)
class MemberAccess:
    offset: int       # bytes from the base address
    type: Type        # the value: Int (read `size` bytes), Ptr, Str (a char array), Record
    size: int         # bytes to read (0 for a Record: only its address is computed)


def btf():
    return kbtf.vmlinux_btf()


def struct_pointer(name: str, kind: str = "struct") -> Ptr:
    """`(struct NAME *)`: the BTF struct or union of that name."""
    try:
        t = btf().struct(name)
    except LookupError:
        raise KernelTypeError(f"no {kind} '{name}' in the kernel's BTF") from None
    return Ptr(t.id, f"{'union' if t.kind == kbtf.Kind.UNION else 'struct'} {name}")


def value_of(type_id: int) -> tuple[Type, int]:
    """The kt type of a BTF type held in memory, and how many bytes to read for it."""
    b = btf()
    t = b.resolve(type_id)
    if t.kind in (kbtf.Kind.INT, kbtf.Kind.ENUM, kbtf.Kind.ENUM64):
        size = b.size_of(t.id)
        if size not in (1, 2, 4, 8):
            raise KernelTypeError(f"{b.type_name(type_id)} of {size} bytes is not supported")
        return Int(size * 8, b.is_signed(t.id)), size   # the width matters to bswap()
    if t.kind == kbtf.Kind.PTR:
        target = b.resolve(t.ref) if t.ref else None
        if target is not None and target.kind in (kbtf.Kind.STRUCT, kbtf.Kind.UNION) and target.name:
            kind = "union" if target.kind == kbtf.Kind.UNION else "struct"
            return Ptr(target.id, f"{kind} {target.name}"), 8
        return U64, 8
    if t.kind in (kbtf.Kind.STRUCT, kbtf.Kind.UNION):
        return Record(t.id, b.type_name(type_id)), 0
    if t.kind == kbtf.Kind.ARRAY:
        elem = b.resolve(t.array.type)
        if elem.kind == kbtf.Kind.INT and elem.size == 1:
            return Str(t.array.nelems), t.array.nelems
        raise KernelTypeError(f"arrays of {b.type_name(t.array.type)} are not supported, only char arrays")
    raise KernelTypeError(f"{b.type_name(type_id)} values are not supported")


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


_ENUMS: dict[str, int] | None = None


def enum_value(name: str) -> int | None:
    """The value of a kernel enumerator (TASK_RUNNING is not one, but BPF_MAP_TYPE_HASH is)
    from BTF; None when there is none or no BTF. The index is built on the first look-up."""
    global _ENUMS
    if _ENUMS is None:
        try:
            types = btf().types()
            _ENUMS = {v.name: v.value for t in types if t.kind in (kbtf.Kind.ENUM, kbtf.Kind.ENUM64)
                      for v in t.items}
        except (OSError, ValueError):
            _ENUMS = {}
    return _ENUMS.get(name)


def member_access(base: Ptr | Record, name: str) -> MemberAccess:
    b = btf()
    found = b.member(base.btf_id, name)
    if found is None:
        names = [m.name for m in b.members(base.btf_id)]
        raise KernelTypeError(f"{base.name} has no member '{name}'", names)
    if found.bitfield_size:
        raise KernelTypeError(f"{base.name}.{name} is a bitfield: not supported yet")
    t, size = value_of(found.type)
    return MemberAccess(found.offset, t, size)
