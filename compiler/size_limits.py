"""The kernel's and LLVM's limits on a program's size, checked so that a program too large
ends in a located diagnostic instead of an abort or a refused load.

Why here: LLVM's BPF backend reports a jump it cannot encode with report_fatal_error, which
aborts the process (SIGABRT, exit 134: "LLVM ERROR: Branch target out of insn range"); Python
cannot catch it. codegen/chunks.py keeps functions small, but one statement may still be huge
(an expression with thousands of terms). So a module with a function whose estimate passes
GUARDED_ABOVE is emitted in a forked child, and a child killed by a signal becomes a
diagnostic. Limits (include/linux/bpf.h, kernel/bpf/verifier.c; the same in 6.1 and 6.18):
- a jump's offset is 16 bits: a function spans at most 32,767 instructions (cpu v4's 32-bit
  `gotol` would lift that, but 6.1 lacks it: v4 is 6.6+);
- BPF_COMPLEXITY_LIMIT_INSNS: a privileged program has at most 1,000,000 instructions
  (4,096, BPF_MAXINSNS, without CAP_BPF: kt runs as root);
- BPF_MAX_SUBPROGS: 256 functions per program (codegen/chunks.py stays below).
"""

from __future__ import annotations

import faulthandler
import os
import re
from dataclasses import dataclass

from .formats.elffile import STT_FUNC, ElfFile

JUMP_RANGE = 32767
MAX_INSNS = 1_000_000
MAX_SUBPROGS = 256
CHUNK_SEPARATOR = "__chunk"          # a chunk of program P is P__chunkN (codegen/chunks.py)

# Estimated instructions (ir_sizes) above which the object is emitted in a child process.
# kt's output has 1-4 BPF instructions per counted IR line, so this stays clear of 32,767.
GUARDED_ABOVE = 6000

# Bytes of allocas (ir_stacks) above which the object is emitted in a child process too: LLVM's
# BPF backend ends the process (exit status 1, "Looks like the BPF stack limit is exceeded")
# when a function's frame passes 512 bytes, and register spills come on top of the allocas;
# kt's own estimate (codegen's stack_bytes) counts buffers, not every temporary.
STACK_GUARDED_ABOVE = 256

_DEFINE = re.compile(r'^define [^@]*@"?([\w.$]+)"?\(', re.M)
_MEM = re.compile(r"@llvm\.mem(?:set|cpy)[^(]*\((?:ptr[^,]*?align (\d+)[^,]*,)?[^\n]*?i64 (\d+), i1")


def _functions(ir_text: str):
    """(name, text) of each function defined in a module's IR text."""
    starts = [(m.start(), m.group(1)) for m in _DEFINE.finditer(ir_text)]
    for i, (at, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(ir_text)
        yield name, ir_text[at:end]


def ir_sizes(ir_text: str) -> dict[str, int]:
    """Estimated BPF instructions of each function of an optimized module: its lines, plus
    what LLVM expands memset/memcpy into (a store per 8 bytes, per byte when unaligned)."""
    out = {}
    for name, body in _functions(ir_text):
        size = body.count("\n")
        for align, n in _MEM.findall(body):
            size += int(n) // (8 if align and int(align) >= 8 else 1)
        out[name] = size
    return out


_ALLOCA = re.compile(r"= alloca (?:\[(\d+) x i(\d+)\]|i(\d+)|(\S+))")


def ir_stacks(ir_text: str) -> dict[str, int]:
    """Bytes of allocas of each function of an optimized module (an alloca of another type
    counts as 64 bytes)."""
    out = {}
    for name, body in _functions(ir_text):
        total = 0
        for count, width, scalar, other in _ALLOCA.findall(body):
            if count:
                total += int(count) * max(int(width) // 8, 1)
            elif scalar:
                total += max(int(scalar) // 8, 1)
            else:
                total += 64
        out[name] = total
    return out


_IN_FUNCTION = re.compile(r"in function ([\w.$]+)")


def failed_function(failure: "EmitFailure") -> str | None:
    """The function LLVM names in its message, if it names one."""
    m = _IN_FUNCTION.search(failure.message)
    return m.group(1) if m else None


def program_of(function: str) -> str:
    """The program a function belongs to: itself, or the program a chunk was split from."""
    return function.split(CHUNK_SEPARATOR, 1)[0]


@dataclass(frozen=True, slots=True)
class EmitFailure:
    """The child emitting the object died: LLVM's message (its stderr) and the signal."""

    message: str
    signal: int


def emit_in_child(emit) -> bytes | EmitFailure:
    """`emit()` (-> object bytes) in a forked child, so that an LLVM abort kills the child
    only. The child writes the object to a pipe and its stderr to another."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: never returns
        status = 1
        try:
            faulthandler.disable()   # the abort is expected: no traceback dump (pytest enables it)
            os.close(out_r)
            os.close(err_r)
            os.dup2(err_w, 2)
            data = memoryview(emit())
            while data:
                data = data[os.write(out_w, data):]
            status = 0
        finally:
            os._exit(status)
    os.close(out_w)
    os.close(err_w)
    chunks = []
    with os.fdopen(out_r, "rb") as f:
        while block := f.read(1 << 20):
            chunks.append(block)
    with os.fdopen(err_r, "rb") as f:
        err = f.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return b"".join(chunks)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    return EmitFailure(err.strip() or f"exit status {os.WEXITSTATUS(status)}", sig)


STACK_LIMIT = 512


def failure_message(name: str, failure: EmitFailure) -> tuple[str, str]:
    """(message, hint) of a diagnostic for an emission that failed in the child."""
    if "Branch target out of insn range" in failure.message:
        return (f"{name} is too large to compile: one of its statements is longer than a BPF jump "
                f"reaches ({JUMP_RANGE:,} instructions)",
                "kt splits long blocks into subprograms, but not one statement or expression: split it, "
                "or move part of the work to another probe")
    if "stack limit is exceeded" in failure.message:
        return (f"{name} needs more than {STACK_LIMIT} bytes of BPF stack: one of its statements holds "
                f"too many values at once",
                "split the statement (a printf or tuple with fewer arguments), or move part of the "
                "work to another probe")
    first = failure.message.splitlines()[0] if failure.message else f"signal {failure.signal}"
    return (f"{name} could not be compiled: LLVM failed: {first.removeprefix('LLVM ERROR: ')}",
            "this is a limit kt does not know: please report it with the script")


def program_sizes(obj: bytes) -> dict[str, tuple[int, int]]:
    """program -> (instructions with its chunks, number of functions), from the object."""
    elf = ElfFile(obj)
    symtabs = [s for s in elf.sections if s.name == ".symtab"]
    out: dict[str, tuple[int, int]] = {}
    for sym in elf.symbol_list(symtabs[0]) if symtabs else []:
        if sym.type != STT_FUNC or not sym.size:
            continue
        name = program_of(sym.name)
        insns, funcs = out.get(name, (0, 0))
        out[name] = (insns + sym.size // 8, funcs + 1)
    return out
