"""USDT probes (SystemTap SDT notes) of user-space ELF files, and their argument specs.

Why this module: `usdt:/path:provider:name` attaches a uprobe at a probe's pc, and `arg0..argN`
are read from where the compiler left each value at that pc. Both facts are in the file: each
probe site `STAP_PROBEn(provider, name, ...)` of <sys/sdt.h> (and DTRACE_PROBEn, its alias)
emits a nop and one ELF note in the non-allocated section `.note.stapsdt`:

    Elf_Nhdr {namesz, descsz, type = 3 (NT_STAPSDT)}, "stapsdt\\0", aligned to 4, then
    desc = pc, base, semaphore   (addresses: u64 in ELF64, u32 in ELF32, file byte order)
           "provider\\0" "name\\0" "argument specs\\0"

`base` is the address of the allocated section `.stapsdt.base` when the note was written; if
the file was prelinked since (its sections moved, the non-allocated note not updated), the
section's current sh_addr minus `base` is how far, so pc and semaphore move by that much (what
bcc's bcc_elf.c and libbpf's usdt.c do). Notes survive `strip` (it keeps .note.* sections).

The semaphore (only with _SDT_HAS_SEMAPHORES: a `provider_name_semaphore` u16 in `.probes`) is
what `if (PROVIDER_NAME_ENABLED())` tests; the kernel raises it for us when perf_event_open's
uprobe gets `ref_ctr_offset` (Linux 4.20+): the semaphore's offset within the file, through the
PT_LOAD segment that maps it (vaddr - p_vaddr + p_offset).

Argument specs are x86-64 AT&T operands as sys/sdt.h asks the assembler to print them (`%n`
of an "nor" operand), each prefixed by `SIZE@`; the size is negative for a signed type and
has an `f` suffix for a floating-point type (sdt.h 4.x: `8f@%rdi`). What GCC and Clang emit:
`-4@%edi`, `8@-16(%rbp)`, `-8@$-5`, `-8@(%r8,%r9,8)`, `-8@counter(%rip)` (a global: its
address is the symbol's run-time address, not %rip plus anything), `-4@%fs:tls_v@tpoff`
(thread-local, unsupported). The parse is pure and separate (`parse_args`) so it can be tested
on a table and so listing probes never fails on an argument kt cannot read: `UsdtProbe.args`
raises UsdtError when that probe's specs are unsupported.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import struct
from dataclasses import dataclass, field, replace

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from .elfsyms import ElfSymbolError, file_identity, file_offset

__all__ = [
    "UsdtArg", "UsdtProbe", "UsdtError", "PT_REGS_OFFSET", "REG64",
    "usdt_probes", "find_usdt", "parse_args", "parse_arg",
]

NT_STAPSDT = 3
STAPSDT_OWNER = b"stapsdt"
NOTE_SECTION = ".note.stapsdt"
BASE_SECTION = ".stapsdt.base"


class UsdtError(ElfSymbolError):
    """An argument spec kt cannot read (the message quotes it), or a file whose SDT notes
    cannot be read."""


# ---------------------------------------------------------------------------------------------
# x86-64 registers

# Byte offsets of the fields of x86-64 `struct pt_regs` (arch/x86/include/asm/ptrace.h), the
# context of a uprobe program.
PT_REGS_OFFSET: dict[str, int] = {
    "r15": 0, "r14": 8, "r13": 16, "r12": 24, "rbp": 32, "rbx": 40, "r11": 48, "r10": 56,
    "r9": 64, "r8": 72, "rax": 80, "rcx": 88, "rdx": 96, "rsi": 104, "rdi": 112,
    "orig_rax": 120, "rip": 128, "cs": 136, "eflags": 144, "rsp": 152, "ss": 160,
}


def _register_names() -> dict[str, tuple[str, int]]:
    """Every general register name the assembler prints -> (its 64-bit register, bits)."""
    names: dict[str, tuple[str, int]] = {}
    for x in "abcd":                       # rax eax ax al
        r = f"r{x}x"
        names.update({r: (r, 64), f"e{x}x": (r, 32), f"{x}x": (r, 16), f"{x}l": (r, 8)})
    for x in ("si", "di", "bp", "sp"):     # rsi esi si sil
        r = f"r{x}"
        names.update({r: (r, 64), f"e{x}": (r, 32), x: (r, 16), f"{x}l": (r, 8)})
    for n in range(8, 16):                 # r8 r8d r8w r8b (GAS also accepts r8l)
        r = f"r{n}"
        names.update({r: (r, 64), f"{r}d": (r, 32), f"{r}w": (r, 16), f"{r}b": (r, 8),
                      f"{r}l": (r, 8)})
    names.update({"rip": ("rip", 64), "eip": ("rip", 32)})
    return names


# name as printed (without %) -> (64-bit register, width in bits)
REG64: dict[str, tuple[str, int]] = _register_names()

# Bits 8..15 of rax..rdx: not a pt_regs field at offset 0 of its register; compilers do not
# allocate them for an "r" operand, so kt does not read them.
_HIGH_BYTE = {"ah", "bh", "ch", "dh"}


# ---------------------------------------------------------------------------------------------
# Argument specs

@dataclass(frozen=True, slots=True)
class UsdtArg:
    """One argument: `size` bytes (1, 2, 4, 8), `signed` (sign-extend), and where it is:

    - kind "reg": in register `reg` (the 64-bit name, "rdi" for `%edi`): the low `size` bytes
      of pt_regs at PT_REGS_OFFSET[reg];
    - kind "imm": the constant `value`;
    - kind "mem": `size` bytes in user memory at
      [symbol's run-time address when `symbol`] + [reg when `reg`] + [index_reg * scale when
      `index_reg`] + value. With `symbol`, `reg` is "rip" (`counter+8(%rip)`) or None
      (`counter+8`, an absolute address in a non-PIE file): the register is not added. A
      numeric `0x10(%rip)` adds pt_regs' rip; compilers write globals with their symbol.
    `symbol_vaddr`: the symbol's st_value in the file (set by `usdt_probes`, None when the
    file has no such symbol or from `parse_arg`); add the load bias for a PIE or a library.
    `is_float`: the value is a float/double's bits (`8f@...`). `text` is the spec as written.
    """
    size: int
    signed: bool
    kind: str                      # "reg" | "imm" | "mem"
    reg: str | None = None
    value: int = 0
    index_reg: str | None = None
    scale: int = 1
    symbol: str | None = None
    symbol_vaddr: int | None = None
    is_float: bool = False
    text: str = ""

    @property
    def reg_offset(self) -> int | None:
        """pt_regs offset of `reg` (None when there is no register)."""
        return None if self.reg is None else PT_REGS_OFFSET[self.reg]

    @property
    def index_offset(self) -> int | None:
        """pt_regs offset of `index_reg` (None when there is none)."""
        return None if self.index_reg is None else PT_REGS_OFFSET[self.index_reg]


_SIZE = re.compile(r"(-?)(\d+)(f?)@(.+)", re.DOTALL)
_NUM = r"[-+]?(?:0[xX][0-9a-fA-F]+|[0-9]+)"
_SYM = r"[A-Za-z_.$][\w.$]*"
# disp: empty | number | symbol | symbol+number | symbol-number
_DISP = re.compile(rf"(?:(?P<sym>{_SYM})(?P<off>[-+]\s*(?:0[xX][0-9a-fA-F]+|[0-9]+))?|(?P<num>{_NUM}))?")
_MEM = re.compile(r"(?P<disp>[^()]*)\((?P<base>[^,()]*)(?:,(?P<index>[^,()]*)(?:,(?P<scale>[^,()]*))?)?\)")


def _int(text: str) -> int:
    """An assembler integer: decimal, 0x hex, 0b binary, 0-led octal, optionally signed."""
    t = text.replace(" ", "")
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    if t[:2] in ("0x", "0X"):
        v = int(t[2:], 16)
    elif t[:2] in ("0b", "0B"):
        v = int(t[2:], 2)
    elif len(t) > 1 and t[0] == "0":
        v = int(t, 8)
    else:
        v = int(t, 10)
    return sign * v


def _reg(text: str, spec: str) -> str:
    t = text.strip()
    if not t.startswith("%"):
        raise UsdtError(f"USDT argument '{spec}': '{t}' is not a register")
    name = t[1:].lower()
    if name in _HIGH_BYTE:
        raise UsdtError(f"USDT argument '{spec}': high-byte register %{name} is not supported")
    if name not in REG64:
        raise UsdtError(f"USDT argument '{spec}': register %{name} is not in pt_regs")
    return REG64[name][0]


def _disp(text: str, spec: str) -> tuple[int, str | None]:
    m = _DISP.fullmatch(text.strip())
    if m is None:
        raise UsdtError(f"USDT argument '{spec}': unsupported displacement '{text}'")
    if m["sym"]:
        return (_int(m["off"]) if m["off"] else 0), m["sym"]
    return (_int(m["num"]) if m["num"] else 0), None


def parse_arg(spec: str) -> UsdtArg:
    """One `SIZE@OPERAND` spec -> UsdtArg; UsdtError (quoting the spec) when unsupported."""
    m = _SIZE.fullmatch(spec.strip())
    if m is None:
        raise UsdtError(f"USDT argument '{spec}': expected SIZE@OPERAND")
    neg, digits, flt, op = m.groups()
    size = int(digits)
    if size not in (1, 2, 4, 8):
        raise UsdtError(f"USDT argument '{spec}': unsupported size {size}")
    common = {"size": size, "signed": bool(neg), "is_float": bool(flt), "text": spec}
    op = op.strip()
    if op.startswith("%") and ":" in op:
        # %fs:tls@tpoff, %gs:0x28: relative to a segment base (thread-local storage), which
        # pt_regs does not hold.
        raise UsdtError(f"USDT argument '{spec}': segment-relative operand is not supported")
    if op.startswith("%"):
        return UsdtArg(kind="reg", reg=_reg(op, spec), **common)
    if op.startswith("$"):
        try:
            return UsdtArg(kind="imm", value=_int(op[1:]), **common)
        except ValueError:
            raise UsdtError(f"USDT argument '{spec}': unsupported immediate '{op}'") from None
    mm = _MEM.fullmatch(op)
    if mm is not None:
        try:
            value, symbol = _disp(mm["disp"], spec)
        except ValueError:
            raise UsdtError(f"USDT argument '{spec}': unsupported displacement") from None
        base = mm["base"].strip()
        reg = _reg(base, spec) if base else None
        index_reg, scale = None, 1
        if mm["index"] is not None:
            index_reg = _reg(mm["index"], spec)
            if index_reg in ("rsp", "rip"):
                raise UsdtError(f"USDT argument '{spec}': %{index_reg} cannot be an index")
            s = (mm["scale"] or "1").strip()
            if s not in ("1", "2", "4", "8"):
                raise UsdtError(f"USDT argument '{spec}': unsupported scale '{s}'")
            scale = int(s)
        if reg is None and index_reg is None and symbol is None and not mm["disp"].strip():
            raise UsdtError(f"USDT argument '{spec}': empty memory operand")
        return UsdtArg(kind="mem", reg=reg, value=value, index_reg=index_reg, scale=scale,
                       symbol=symbol, **common)
    # An absolute address: `counter`, `counter+8` or a number (non-PIE code).
    try:
        value, symbol = _disp(op, spec)
    except (ValueError, UsdtError):
        raise UsdtError(f"USDT argument '{spec}': unsupported operand '{op}'") from None
    return UsdtArg(kind="mem", value=value, symbol=symbol, **common)


def parse_args(specs: str) -> tuple[UsdtArg, ...]:
    """A note's argument string (space-separated specs; empty for no arguments)."""
    return tuple(parse_arg(s) for s in _split_specs(specs))


def _split_specs(specs: str) -> list[str]:
    # Specs are separated by spaces; an operand itself has none as sdt.h prints them, but
    # keep `8@4 (%rax)`-like text together: a new spec starts only at `[-]DIGITS[f]@`.
    out: list[str] = []
    for word in specs.split():
        if out and not re.match(r"-?\d+f?@", word):
            out[-1] += " " + word
        else:
            out.append(word)
    return out


# ---------------------------------------------------------------------------------------------
# Probes

@dataclass(frozen=True, slots=True)
class UsdtProbe:
    """One probe site. `pc` and `semaphore` are virtual addresses in the file's own address
    space (prelink-adjusted); `offset` and `semaphore_offset` are file offsets (the uprobe's
    offset and perf's ref_ctr_offset; 0 when there is no semaphore). `base` is the note's
    own .stapsdt.base address. `arg_specs` is the argument string as the note holds it."""
    path: str
    provider: str
    name: str
    pc: int
    offset: int
    base: int
    semaphore: int
    semaphore_offset: int
    arg_specs: str
    _args: tuple[UsdtArg, ...] | None = field(default=None, repr=False, compare=False)
    _error: str | None = field(default=None, repr=False, compare=False)

    @property
    def args(self) -> tuple[UsdtArg, ...]:
        """The parsed arguments; UsdtError (quoting the spec) when one is unsupported."""
        if self._error is not None:
            raise UsdtError(self._error)
        return self._args or ()

    @property
    def nargs(self) -> int:
        """How many arguments the probe has (also when they cannot be read)."""
        return len(_split_specs(self.arg_specs))


@dataclass(frozen=True, slots=True)
class _Note:
    pc: int
    base: int
    semaphore: int
    provider: str
    name: str
    args: str


@dataclass(frozen=True, slots=True)
class _Load:
    vaddr: int
    offset: int
    filesz: int
    memsz: int
    flags: int


def usdt_probes(path: str) -> list[UsdtProbe]:
    """Every SDT probe of the ELF file `path`, in note order ([] when it has none)."""
    return list(_probes(path, file_identity(path)))


def find_usdt(path: str, provider_glob: str, name_glob: str) -> list[UsdtProbe]:
    """The probes whose provider and name match the fnmatch globs (case-sensitive), in note
    order; one entry per site, so a name used at several places gives several entries."""
    return [p for p in usdt_probes(path)
            if fnmatch.fnmatchcase(p.provider, provider_glob)
            and fnmatch.fnmatchcase(p.name, name_glob)]


@functools.lru_cache(maxsize=64)
def _probes(path: str, ident: tuple) -> tuple[UsdtProbe, ...]:
    try:
        with open(path, "rb") as f:
            notes, base_addr, loads = _read(f)
    except ELFError as e:
        raise UsdtError(f"{path} is not a valid ELF file: {e}") from None
    except OSError as e:
        raise UsdtError(f"cannot read {path}: {e.strerror}") from None
    out = []
    symbols: dict[str, int] | None = None
    for n in notes:
        pc, sem = n.pc, n.semaphore
        if base_addr is not None and n.base:
            # prelink moved the allocated sections but not the note
            delta = base_addr - n.base
            pc += delta
            if sem:
                sem += delta
        try:
            off = file_offset(path, pc)
        except ElfSymbolError as e:
            raise UsdtError(f"USDT probe {n.provider}:{n.name}: {e}") from None
        sem_off = _semaphore_offset(sem, loads, path, n) if sem else 0
        try:
            args, err = parse_args(n.args), None
        except UsdtError as e:
            args, err = None, f"USDT probe {n.provider}:{n.name} in {path}: {e}"
        if args and any(a.symbol for a in args):
            if symbols is None:
                symbols = _symbol_values(path)
            args = tuple(replace(a, symbol_vaddr=symbols.get(a.symbol)) if a.symbol else a
                         for a in args)
        out.append(UsdtProbe(path, n.provider, n.name, pc, off, n.base, sem, sem_off, n.args,
                             args, err))
    return tuple(out)


def _semaphore_offset(sem: int, loads: list[_Load], path: str, n: _Note) -> int:
    # The semaphore is written at run time, so it is in a writable data segment with file
    # bytes (.probes is PROGBITS); prefer one whose file part holds it.
    for seg in sorted(loads, key=lambda s: not s.vaddr <= sem < s.vaddr + s.filesz):
        if seg.vaddr <= sem < seg.vaddr + max(seg.filesz, seg.memsz):
            return sem - seg.vaddr + seg.offset
    raise UsdtError(f"USDT probe {n.provider}:{n.name}: semaphore 0x{sem:x} is in no loadable "
                    f"segment of {path}")


def _symbol_values(path: str) -> dict[str, int]:
    """name -> st_value of the defined symbols of .symtab and .dynsym (the first wins), for
    `counter(%rip)` operands."""
    out: dict[str, int] = {}
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            for sec in elf.iter_sections():
                if sec["sh_type"] in ("SHT_SYMTAB", "SHT_DYNSYM"):
                    for sym in sec.iter_symbols():
                        if sym.name and sym["st_shndx"] != "SHN_UNDEF":
                            out.setdefault(sym.name, sym["st_value"])
    except (ELFError, OSError):
        pass
    return out


def _read(f) -> tuple[list[_Note], int | None, list[_Load]]:
    elf = ELFFile(f)
    endian = "<" if elf.little_endian else ">"
    addr = struct.Struct(endian + ("QQQ" if elf.elfclass == 64 else "III"))
    notes: list[_Note] = []
    base_addr = None
    for sec in elf.iter_sections():
        if sec.name == BASE_SECTION:
            base_addr = sec["sh_addr"]
        elif sec.name == NOTE_SECTION and sec["sh_type"] == "SHT_NOTE":
            align = 8 if sec["sh_addralign"] == 8 else 4
            notes.extend(_notes(sec.data(), endian, addr, align))
    loads = [_Load(s["p_vaddr"], s["p_offset"], s["p_filesz"], s["p_memsz"], s["p_flags"])
             for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    return notes, base_addr, loads


def _notes(data: bytes, endian: str, addr: struct.Struct, align: int):
    hdr = struct.Struct(endian + "III")
    pos = 0
    while pos + hdr.size <= len(data):
        namesz, descsz, ntype = hdr.unpack_from(data, pos)
        name_at = pos + hdr.size
        desc_at = name_at + _up(namesz, align)
        end = desc_at + _up(descsz, align)
        if desc_at + descsz > len(data):
            break                                   # truncated: stop, as readelf does
        name = data[name_at:name_at + namesz].rstrip(b"\0")
        if name == STAPSDT_OWNER and ntype == NT_STAPSDT and descsz >= addr.size:
            desc = data[desc_at:desc_at + descsz]
            pc, base, sem = addr.unpack_from(desc, 0)
            strings = desc[addr.size:].split(b"\0")
            if len(strings) >= 2:
                provider, name_s = strings[0], strings[1]
                args = strings[2] if len(strings) > 2 else b""
                yield _Note(pc, base, sem, _s(provider), _s(name_s), _s(args))
        pos = end


def _up(n: int, align: int) -> int:
    return (n + align - 1) & ~(align - 1)


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")
