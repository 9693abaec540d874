"""BPF-to-BPF calls: `.text` subprograms appended to each program that calls them (libbpf's
rule, `bpf_object__reloc_code`). Pure: instruction bytes and ext-info records in and out.

Why: the compiler splits a large probe body into static functions (compiler/codegen/chunks.py)
so that no jump spans more than the 16-bit offset range. LLVM leaves them in `.text` and each
call to them as an R_BPF_64_32 relocation; the kernel wants one instruction array per program,
with every subprogram after the program's own code and each call's imm the distance in
instructions to its target (`imm = target - (call + 1)`), and a func_info record (and a
line_info record at least) at the start of every subprogram.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

BPF_INSN_SIZE = 8
BPF_CALL_OPCODE = 0x85       # BPF_JMP | BPF_CALL
BPF_PSEUDO_CALL = 1          # src_reg of a call whose imm is a relative instruction offset
BPF_PSEUDO_FUNC = 4          # src_reg of an ld_imm64 loading a subprogram's address (5.13)


class Call(NamedTuple):
    """A bpf-to-bpf call at instruction ``insn_index`` of its section, to instruction
    ``target`` of `.text`; with ``func_ptr``, an ld_imm64 of that function's address instead
    (a callback given to bpf_for_each_map_elem or bpf_loop: compiler/codegen/loops.py)."""

    insn_index: int
    target: int
    func_ptr: bool = False


@dataclass(frozen=True, slots=True)
class TextFunction:
    """One function of `.text`: its instructions, map relocations, calls and ext-info records,
    all indexed from its own first instruction."""

    name: str
    start: int                  # first instruction in `.text`
    insns: bytes
    relocations: tuple          # runtime.spec.Relocation, rebased
    calls: tuple[Call, ...]     # rebased insn_index; target stays a `.text` index
    func_info: object           # runtime.spec.ExtInfo | None, rebased
    line_info: object


class LinkError(ValueError):
    """A call the linker cannot resolve (into the middle of a function, or past `.text`)."""


def call_target(insns: bytes, insn_index: int, symbol_value: int) -> int:
    """The `.text` instruction a relocated call reaches (libbpf: a function symbol's value is
    its byte offset and imm is -1; a section symbol's value is 0 and imm + 1 the offset)."""
    off = insn_index * BPF_INSN_SIZE
    if insns[off] != BPF_CALL_OPCODE or insns[off + 1] >> 4 != BPF_PSEUDO_CALL:
        raise LinkError(f"instruction {insn_index} is not a bpf-to-bpf call")
    (imm,) = struct.unpack_from("<i", insns, off + 4)
    return symbol_value // BPF_INSN_SIZE + imm + 1


def link(insns: bytes, relocations: tuple, calls: tuple[Call, ...], func_info, line_info,
         text: dict[int, TextFunction], concat_ext):
    """The program with every subprogram it reaches appended once, in the order first called.
    ``concat_ext(parts)`` joins ext-info records given as (ExtInfo | None, insn shift) pairs.
    Returns (insns, relocations, func_info, line_info)."""
    if not calls:
        return insns, relocations, func_info, line_info
    code = bytearray(insns)
    relocs = list(relocations)
    fis, lis = [(func_info, 0)], [(line_info, 0)]
    placed: dict[int, int] = {}            # `.text` start -> position in the program
    pending = [(c.insn_index, c.target, c.func_ptr) for c in calls]
    while pending:
        at, target, func_ptr = pending.pop(0)
        fn = text.get(target)
        if fn is None:
            raise LinkError(f"call at instruction {at} reaches `.text` instruction {target}, "
                            f"which is not the start of a function")
        if target not in placed:
            base = len(code) // BPF_INSN_SIZE
            placed[target] = base
            code += fn.insns
            relocs += [r._replace(insn_index=r.insn_index + base) for r in fn.relocations]
            pending += [(c.insn_index + base, c.target, c.func_ptr) for c in fn.calls]
            fis.append((fn.func_info, base))
            lis.append((fn.line_info, base))
        # The same relative offset for both (the verifier: insn_idx + imm + 1); an address is
        # an ld_imm64 whose src_reg says BPF_PSEUDO_FUNC (libbpf's RELO_SUBPROG_ADDR).
        struct.pack_into("<i", code, at * BPF_INSN_SIZE + 4, placed[target] - (at + 1))
        if func_ptr:
            regs = at * BPF_INSN_SIZE + 1
            code[regs] = (code[regs] & 0x0F) | (BPF_PSEUDO_FUNC << 4)
    return bytes(code), tuple(relocs), concat_ext(fis), concat_ext(lis)
