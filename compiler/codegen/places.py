"""Where a value lies: a `Place` is an address and the memory it is in.

Why: C values (struct members, array elements, pointees) are read where they are, with the
access their memory needs — kernel and user memory through bpf_probe_read_kernel/_user (an
address the verifier cannot check), the probe's context by direct loads at constant offsets
(tracepoint records), the program's own stack directly. Codegen computes a place first and reads
only the bytes it needs, so `curtask->real_parent->pid` reads two pointers and an int.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvmlite import ir

if TYPE_CHECKING:  # pragma: no cover
    from .probe import ProbeCodegen

LOCAL = "local"   # the BPF stack or a map value: an i8* the program can load from
CTX = "ctx"       # the probe's context (a tracepoint record): an i8*, constant offsets only
# and kt.compiler.types.KERNEL / USER: an i64 address read with the probe_read helpers

I64 = ir.IntType(64)


@dataclass(frozen=True, slots=True)
class Place:
    space: str
    addr: ir.Value    # i8* for LOCAL and CTX, i64 for kernel and user memory

    @property
    def in_memory(self) -> bool:
        return self.space not in (LOCAL, CTX)

    def plus(self, cg: "ProbeCodegen", offset: int | ir.Value) -> "Place":
        """The place `offset` bytes further on (an int or an i64)."""
        if isinstance(offset, int):
            if offset == 0:
                return self
            offset = ir.Constant(I64, offset)
        if self.in_memory:
            return Place(self.space, cg.b.add(self.addr, offset))
        return Place(self.space, cg.b.gep(self.addr, [offset]))
