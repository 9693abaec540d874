"""ELF object bytes -> ObjectSpec: what to load, described as plain data. No syscalls.

Why a pure stage: the object format (docs/object-format.md) is the only contract between the
compiler and the runtime. Reading it without touching the kernel lets tests check the contract
on any machine, and leaves the loader with no parsing to do. As in cilium/ebpf, a *spec* says
what the object asks for; the loader turns specs into kernel objects.

The reader follows libbpf's conventions (libbpf.c): every global function of an executable
section is a program (several may share a section), with the program type taken from the
section name, BTF-defined maps in ``.maps``, ``license``, and the
``.BTF`` DATASEC fixup (``btf_fixup_datasec``) LLVM leaves to the loader.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from kt.compiler.formats.btf import BTF_MAGIC, Btf, BtfError
from kt.compiler.formats.elffile import (SHF_EXECINSTR, SHT_REL, SHT_SYMTAB, STB_GLOBAL, STT_FUNC, STT_OBJECT, ElfError,
                                 ElfFile, Section)
from kt.compiler.formats.meta import MetaError, ObjectMeta

from .subprograms import Call, LinkError, TextFunction, call_target, link
from .sys.constants import (
    BPF_F_RDONLY_PROG, BPF_INSN_SIZE, BPF_LD_IMM64_OPCODE, EM_BPF, R_BPF_64_32, R_BPF_64_64, AttachType, BtfKind,
    MapType, ProgType,
)


class ObjectFormatError(ValueError):
    """The bytes are not an object kt can load; the message says what is wrong and where."""


# --- program types from section names ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SectionRule:
    """libbpf's SEC_DEF idea: a section name prefix decides the program type. ``prefix``
    matches the whole name or the name up to a '/'."""

    prefix: str
    prog_type: ProgType
    expected_attach_type: AttachType = AttachType.NONE


SECTION_RULES: tuple[SectionRule, ...] = (
    SectionRule("tracepoint", ProgType.TRACEPOINT),
    SectionRule("tp", ProgType.TRACEPOINT),
    SectionRule("raw_tp", ProgType.RAW_TRACEPOINT),
    SectionRule("raw_tracepoint", ProgType.RAW_TRACEPOINT),
    SectionRule("kprobe", ProgType.KPROBE),
    SectionRule("kretprobe", ProgType.KPROBE),
    SectionRule("uprobe", ProgType.KPROBE),
    SectionRule("uretprobe", ProgType.KPROBE),
    SectionRule("usdt", ProgType.KPROBE),
    SectionRule("kprobe.multi", ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI),
    SectionRule("kretprobe.multi", ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI),
    SectionRule("uprobe.multi", ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI),
    SectionRule("uretprobe.multi", ProgType.KPROBE, AttachType.TRACE_UPROBE_MULTI),
    SectionRule("perf_event", ProgType.PERF_EVENT),
    SectionRule("fentry", ProgType.TRACING, AttachType.TRACE_FENTRY),
    SectionRule("fexit", ProgType.TRACING, AttachType.TRACE_FEXIT),
    SectionRule("tp_btf", ProgType.TRACING, AttachType.TRACE_RAW_TP),
    SectionRule("iter", ProgType.TRACING, AttachType.TRACE_ITER),
    SectionRule("xdp", ProgType.XDP),
    SectionRule("tc", ProgType.SCHED_CLS),
    SectionRule("classifier", ProgType.SCHED_CLS),
    SectionRule("tcx/ingress", ProgType.SCHED_CLS, AttachType.TCX_INGRESS),
    SectionRule("tcx/egress", ProgType.SCHED_CLS, AttachType.TCX_EGRESS),
)


def section_rule(section: str) -> SectionRule | None:
    """The rule for a program section name; the longest matching prefix wins."""
    best: SectionRule | None = None
    for rule in SECTION_RULES:
        if section == rule.prefix or section.startswith(rule.prefix + "/"):
            if best is None or len(rule.prefix) > len(best.prefix):
                best = rule
    return best


# --- specs ---------------------------------------------------------------------------------


class Relocation(NamedTuple):
    """An ld_imm64 at instruction ``insn_index`` that must receive the fd of map ``symbol``;
    with ``value_offset`` (a global in a data section) the address of that byte of the map's
    value instead (BPF_PSEUDO_MAP_VALUE)."""

    insn_index: int
    symbol: str
    value_offset: int | None = None


# Global data sections, each one a single-entry ARRAY map named after the section (libbpf's
# internal maps). `.rodata` is read-only for programs and frozen once written, as libbpf does.
DATA_SECTIONS = (".rodata", ".data")


class GlobalVar(NamedTuple):
    """A global variable in a data section: its map (the section's name), offset and size."""

    map: str
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class ExtInfo:
    """func_info or line_info records of one program, as BPF_PROG_LOAD wants them: records of
    ``rec_size`` bytes whose first u32 (insn_off) counts instructions, not bytes."""

    rec_size: int
    count: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ProgramSpec:
    section: str
    name: str
    prog_type: ProgType
    expected_attach_type: AttachType
    attach_target: str                 # the section name after the prefix ("syscalls/x")
    insns: bytes
    relocations: tuple[Relocation, ...] = ()
    func_info: ExtInfo | None = None
    line_info: ExtInfo | None = None

    @property
    def insn_count(self) -> int:
        return len(self.insns) // BPF_INSN_SIZE


@dataclass(frozen=True, slots=True)
class MapSpec:
    name: str
    map_type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    btf_key_type_id: int = 0           # 0: no BTF type for the key
    btf_value_type_id: int = 0
    data: bytes | None = None          # a data section's map: the initial value of entry 0


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    programs: dict[str, ProgramSpec]   # by function name (kt's `program`), in section order
    maps: dict[str, MapSpec]           # by symbol name, in .maps order
    license: str
    btf: bytes | None                  # .BTF with DATASEC sizes/offsets fixed; None if absent
    meta: ObjectMeta | None = None     # .kt.meta; None in an object kt did not build
    globals: dict[str, GlobalVar] = field(default_factory=dict)   # global variables by name

    def program_in(self, section: str) -> ProgramSpec:
        """The one program of a section (a section may hold several: see .programs)."""
        return only_program(self.programs.values(), section)


def _name_programs(meta: ObjectMeta | None, programs: dict[str, ProgramSpec]) -> ObjectMeta | None:
    """Every probe entry names its program: an object written before programs shared sections
    (format 1) has no "program", and then its section holds exactly one."""
    if meta is None or all(p.program for p in meta.probes):
        return meta
    try:
        probes = tuple(p if p.program else dataclasses.replace(p, program=only_program(programs.values(), p.section).name)
                       for p in meta.probes)
    except KeyError as err:
        raise ObjectFormatError(f"'.kt.meta': {err.args[0]}") from None
    return dataclasses.replace(meta, probes=probes)


def only_program(programs, section: str):
    found = [p for p in programs if p.section == section]
    if len(found) != 1:
        raise KeyError(f"section '{section}' holds {len(found)} programs, not one")
    return found[0]


# --- the object's BTF ---------------------------------------------------------------------------
# Read by kt's one BTF reader (compiler/formats/btf.py, also the one for vmlinux); its BtfErrors
# become ObjectFormatErrors in parse_object.


def fixup_datasecs(btf: Btf, section_sizes: dict[str, int],
                   symbol_offsets: dict[tuple[str, str], int]) -> bytes:
    """Return the BTF bytes with every DATASEC's size and variable offsets filled in.

    LLVM emits DATASEC size=0 and offset=0 for each variable, leaving the values to the loader
    (libbpf btf_fixup_datasec); BPF_BTF_LOAD rejects size 0 ("DATASEC .maps size=0 ... size ==
    0"). Sizes come from the ELF section, offsets from the symbols' st_value; the entries are
    then sorted by offset because the kernel requires ascending, non-overlapping offsets.
    """
    out = bytearray(btf.data)
    for type_id in btf.ids_of_kind(BtfKind.DATASEC):
        t = btf.type(type_id)
        record = btf.record_offset(type_id)
        if t.name not in section_sizes:
            raise ObjectFormatError(f".BTF: DATASEC '{t.name}' has no ELF section")
        struct.pack_into("<I", out, record + 8, section_sizes[t.name])
        entries = []
        for var_id, offset, size in t.items:
            var = btf[var_id]
            if var.kind == BtfKind.VAR:
                key = (t.name, var.name)
                if key not in symbol_offsets:
                    raise ObjectFormatError(f".BTF: variable '{var.name}' of DATASEC "
                                            f"'{t.name}' has no symbol")
                offset = symbol_offsets[key]
            entries.append((var_id, offset, size))
        entries.sort(key=lambda e: e[1])
        for i, entry in enumerate(entries):
            _U32x3.pack_into(out, record + 12 + 12 * i, *entry)
    return bytes(out)


# --- .BTF.ext --------------------------------------------------------------------------------

_BTF_EXT_HDR = struct.Struct("<HBBIIIII")
_U32x3 = struct.Struct("<III")


def parse_btf_ext(data: bytes, btf: Btf) -> tuple[dict[str, ExtInfo], dict[str, ExtInfo]]:
    """func_info and line_info per section name, with insn_off converted from bytes to
    instructions (libbpf does the same division before BPF_PROG_LOAD)."""
    if len(data) < _BTF_EXT_HDR.size:
        raise ObjectFormatError(".BTF.ext: too short for a header")
    magic, _ver, _fl, hdr_len, fi_off, fi_len, li_off, li_len = _BTF_EXT_HDR.unpack_from(data)
    if magic != BTF_MAGIC:
        raise ObjectFormatError(f".BTF.ext: bad magic {magic:#x}")

    def one(off: int, length: int) -> dict[str, ExtInfo]:
        result: dict[str, ExtInfo] = {}
        if length == 0:
            return result
        pos, end = hdr_len + off, hdr_len + off + length
        (rec_size,) = struct.unpack_from("<I", data, pos)
        if rec_size < 4:
            raise ObjectFormatError(f".BTF.ext: record size {rec_size} too small")
        pos += 4
        while pos < end:
            name_off, count = struct.unpack_from("<II", data, pos)
            pos += 8
            recs = bytearray(data[pos:pos + rec_size * count])
            for i in range(count):
                (insn_off,) = struct.unpack_from("<I", recs, i * rec_size)
                struct.pack_into("<I", recs, i * rec_size, insn_off // BPF_INSN_SIZE)
            result[btf.string(name_off)] = ExtInfo(rec_size, count, bytes(recs))
            pos += rec_size * count
        return result

    return one(fi_off, fi_len), one(li_off, li_len)


def _ext_slice(info: ExtInfo | None, first: int, last: int) -> ExtInfo | None:
    """The records of one program of a section: those whose instruction lies in [first,
    last), rebased to the program's start (libbpf splits a section's records the same way)."""
    if info is None:
        return None
    keep = bytearray()
    for i in range(info.count):
        rec = info.data[i * info.rec_size:(i + 1) * info.rec_size]
        (insn,) = struct.unpack_from("<I", rec)
        if first <= insn < last:
            keep += struct.pack("<I", insn - first) + rec[4:]
    count = len(keep) // info.rec_size
    return ExtInfo(info.rec_size, count, bytes(keep)) if count else None


def _ext_concat(parts) -> ExtInfo | None:
    """Records of several functions placed in one program: (records, first instruction)."""
    present = [(info, shift) for info, shift in parts if info is not None]
    if not present:
        return None
    rec_size = present[0][0].rec_size
    out = bytearray()
    for info, shift in present:
        for i in range(info.count):
            rec = info.data[i * info.rec_size:(i + 1) * info.rec_size]
            (insn,) = struct.unpack_from("<I", rec)
            out += struct.pack("<I", insn + shift) + rec[4:rec_size]
    return ExtInfo(rec_size, len(out) // rec_size, bytes(out))


# --- maps from the .maps DATASEC ---------------------------------------------------------------

# ``int (*name)[N]`` members: N is the value (libbpf's __uint()).
_INT_MEMBERS = {"type", "max_entries", "map_flags", "key_size", "value_size"}


def _map_from_var(btf: Btf, name: str, type_id: int) -> MapSpec:
    t = btf.resolve(type_id)
    if t.kind != BtfKind.STRUCT:
        raise ObjectFormatError(f"map '{name}': its type is {t.kind.name}, not a struct")
    ints: dict[str, int] = {}
    kv: dict[str, tuple[int, int]] = {}  # "key"/"value" -> (type id, size)
    for member, mtype, _bit_off, _bits in t.members:
        mt = btf.resolve(mtype)
        if mt.kind != BtfKind.PTR:
            raise ObjectFormatError(f"map '{name}': member '{member}' is {mt.kind.name}, "
                                    f"not a pointer (libbpf's __uint/__type convention)")
        if member in _INT_MEMBERS:
            arr = btf.resolve(mt.ref)
            if arr.kind != BtfKind.ARRAY:
                raise ObjectFormatError(f"map '{name}': member '{member}' must be "
                                        f"'int (*)[N]', points to {arr.kind.name}")
            ints[member] = arr.array.nelems
        elif member in ("key", "value"):
            kv[member] = (mt.ref, btf.size_of(mt.ref))
        else:
            raise ObjectFormatError(f"map '{name}': member '{member}' is not supported "
                                    f"(kt reads type, max_entries, map_flags, key, value, "
                                    f"key_size, value_size)")
    if "type" not in ints:
        raise ObjectFormatError(f"map '{name}': no 'type' member")
    try:
        map_type = MapType(ints["type"])
    except ValueError:
        raise ObjectFormatError(f"map '{name}': unknown map type {ints['type']}") from None
    sizes: dict[str, int] = {}
    for which in ("key", "value"):
        explicit = ints.get(f"{which}_size")
        typed = kv.get(which)
        if explicit is not None and typed is not None and explicit != typed[1]:
            raise ObjectFormatError(f"map '{name}': {which}_size {explicit} disagrees with "
                                    f"the {which} type's size {typed[1]}")
        sizes[which] = typed[1] if typed is not None else (explicit or 0)
    return MapSpec(
        name=name, map_type=map_type, key_size=sizes["key"], value_size=sizes["value"],
        max_entries=ints.get("max_entries", 0), flags=ints.get("map_flags", 0),
        btf_key_type_id=kv["key"][0] if "key" in kv else 0,
        btf_value_type_id=kv["value"][0] if "value" in kv else 0,
    )


# --- the ELF reader ------------------------------------------------------------------------


def parse_object(data: bytes) -> ObjectSpec:
    """Read a kt/libbpf-style BPF object. Raises ObjectFormatError on anything unsupported."""
    try:
        elf = ElfFile(bytes(data))
    except ElfError as e:
        raise ObjectFormatError(f"not a valid ELF object: {e}") from None
    if elf.bits != 64 or not elf.little_endian:
        raise ObjectFormatError("expected a 64-bit little-endian ELF object (bpfel)")
    try:
        return _Reader(elf).read()
    except ElfError as e:   # a section or table that points outside the file
        raise ObjectFormatError(f"not a valid ELF object: {e}") from None
    except BtfError as e:   # the message starts with ".BTF:"
        raise ObjectFormatError(str(e)) from None


class _Reader:
    def __init__(self, elf: ElfFile) -> None:
        if elf.machine != EM_BPF:
            raise ObjectFormatError(f"ELF machine is {elf.machine}, not EM_BPF ({EM_BPF})")
        self.elf = elf
        self.sections = elf.sections
        symtabs = [s for s in self.sections if s.type == SHT_SYMTAB and s.name == ".symtab"]
        self.symbols = elf.symbol_list(symtabs[0]) if symtabs else []

    def _section(self, name: str):
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def read(self) -> ObjectSpec:
        if self._section("maps") is not None:
            raise ObjectFormatError("legacy 'maps' section (struct bpf_map_def) is not "
                                    "supported; define maps in '.maps' with BTF")
        btf_sec = self._section(".BTF")
        btf = Btf(self.elf.section_data(btf_sec), name=".BTF") if btf_sec is not None else None
        fixed = None
        if btf is not None:
            fixed = fixup_datasecs(btf, self._section_sizes(), self._symbol_offsets())
        func_infos: dict[str, ExtInfo] = {}
        line_infos: dict[str, ExtInfo] = {}
        ext = self._section(".BTF.ext")
        if btf is not None and ext is not None:
            func_infos, line_infos = parse_btf_ext(self.elf.section_data(ext), btf)
        maps = {**self._maps(btf), **self._data_maps()}
        programs = self._programs(maps, func_infos, line_infos)
        lic = self._section("license")
        license_ = self.elf.section_data(lic).split(b"\0", 1)[0].decode("ascii", "replace") if lic else ""
        return ObjectSpec(programs=programs, maps=maps, license=license_, btf=fixed,
                          meta=_name_programs(self._meta(), programs), globals=self._globals())

    def _section_sizes(self) -> dict[str, int]:
        return {s.name: s.size for s in self.sections if s.name}

    def _symbol_offsets(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for sym in self.symbols:
            if sym.type == STT_OBJECT and sym.shndx is not None:
                out[(self.sections[sym.shndx].name, sym.name)] = sym.value
        return out

    def _maps(self, btf: Btf | None) -> dict[str, MapSpec]:
        sec = self._section(".maps")
        if sec is None or sec.size == 0:
            return {}
        if btf is None:
            raise ObjectFormatError("'.maps' needs BTF to describe the maps, but the object "
                                    "has no .BTF (compile with debug metadata)")
        datasec = btf.find_type(".maps", BtfKind.DATASEC)
        if datasec is None:
            raise ObjectFormatError("'.maps' has no DATASEC in .BTF")
        offsets = self._symbol_offsets()
        found = []
        for var_id, _off, _size in datasec.items:
            var = btf[var_id]
            if var.kind != BtfKind.VAR:
                raise ObjectFormatError(f"'.maps' DATASEC entry {var_id} is not a VAR")
            found.append((offsets.get((".maps", var.name), 0), var.name, var.ref))
        found.sort()
        return {name: _map_from_var(btf, name, ty) for _o, name, ty in found}

    def _data_maps(self) -> dict[str, MapSpec]:
        out = {}
        for name in DATA_SECTIONS:
            sec = self._section(name)
            if sec is not None and sec.size:
                out[name] = MapSpec(name=name, map_type=MapType.ARRAY, key_size=4,
                                    value_size=sec.size, max_entries=1,
                                    flags=BPF_F_RDONLY_PROG if name == ".rodata" else 0,
                                    data=self.elf.section_data(sec))
        return out

    def _globals(self) -> dict[str, GlobalVar]:
        out = {}
        for sym in self.symbols:
            if sym.type == STT_OBJECT and sym.shndx is not None \
                    and self.sections[sym.shndx].name in DATA_SECTIONS:
                out[sym.name] = GlobalVar(self.sections[sym.shndx].name, sym.value, sym.size)
        return out

    def _programs(self, maps: dict[str, MapSpec], func_infos: dict[str, ExtInfo],
                  line_infos: dict[str, ExtInfo]) -> dict[str, ProgramSpec]:
        relocs: dict[int, Section] = {}
        for s in self.sections:
            if s.type == SHT_REL:
                relocs[s.info] = s
        programs: dict[str, ProgramSpec] = {}
        text = self._text_functions(relocs, maps, func_infos, line_infos)
        for idx, sec in enumerate(self.sections):
            if not sec.flags & SHF_EXECINSTR or sec.size == 0:
                continue
            if sec.name == ".text":
                continue  # subprograms: linked into the programs that call them
            rule = section_rule(sec.name)
            if rule is None:
                raise ObjectFormatError(f"section '{sec.name}': unknown program type (expected "
                                        f"a name like tracepoint/CAT/NAME or raw_tp/NAME)")
            # libbpf's rule: every global function of the section is a program, at its symbol's
            # value, for its size (several BEGIN/END or perf_event programs share a section).
            funcs = sorted((s for s in self.symbols if s.shndx == idx
                            and s.type == STT_FUNC and s.bind == STB_GLOBAL), key=lambda s: s.value)
            if not funcs:
                raise ObjectFormatError(f"section '{sec.name}': no global function in it")
            data = self.elf.section_data(sec)
            if len(data) % BPF_INSN_SIZE:
                raise ObjectFormatError(f"section '{sec.name}': size {len(data)} is not a "
                                        f"multiple of 8")
            rel = relocs.get(idx)
            all_relocs, all_calls = self._relocations(sec.name, data, rel, maps) if rel else ((), ())
            for func in funcs:
                start, end = func.value, func.value + func.size
                if start % BPF_INSN_SIZE or end % BPF_INSN_SIZE or end > len(data) or end <= start:
                    raise ObjectFormatError(f"section '{sec.name}': function '{func.name}' at "
                                            f"{start:#x}..{end:#x} is not whole instructions in it")
                if func.name in programs:
                    raise ObjectFormatError(f"function '{func.name}' is defined twice")
                first, last = start // BPF_INSN_SIZE, end // BPF_INSN_SIZE
                try:
                    insns, prog_relocs, func_info, line_info = link(
                        data[start:end],
                        tuple(r._replace(insn_index=r.insn_index - first) for r in all_relocs
                              if first <= r.insn_index < last),
                        tuple(c._replace(insn_index=c.insn_index - first) for c in all_calls
                              if first <= c.insn_index < last),
                        _ext_slice(func_infos.get(sec.name), first, last),
                        _ext_slice(line_infos.get(sec.name), first, last), text, _ext_concat)
                except LinkError as e:
                    raise ObjectFormatError(f"function '{func.name}': {e}") from None
                programs[func.name] = ProgramSpec(
                    section=sec.name, name=func.name, prog_type=rule.prog_type,
                    expected_attach_type=rule.expected_attach_type,
                    attach_target=sec.name[len(rule.prefix) + 1:], insns=insns,
                    relocations=prog_relocs, func_info=func_info, line_info=line_info,
                )
        return programs

    def _text_functions(self, relocs: dict[int, Section], maps: dict[str, MapSpec],
                        func_infos: dict[str, ExtInfo], line_infos: dict[str, ExtInfo]
                        ) -> dict[int, TextFunction]:
        """`.text`'s functions (static or global) by first instruction, each with its own
        relocations, calls and ext-info records."""
        for idx, sec in enumerate(self.sections):
            if sec.name == ".text" and sec.flags & SHF_EXECINSTR and sec.size:
                break
        else:
            return {}
        data = self.elf.section_data(sec)
        rel = relocs.get(idx)
        all_relocs, all_calls = self._relocations(".text", data, rel, maps) if rel else ((), ())
        out = {}
        for sym in self.symbols:
            if sym.shndx != idx or sym.type != STT_FUNC or sym.size == 0:
                continue
            start, end = sym.value, sym.value + sym.size
            if start % BPF_INSN_SIZE or end % BPF_INSN_SIZE or end > len(data):
                raise ObjectFormatError(f"section '.text': function '{sym.name}' at "
                                        f"{start:#x}..{end:#x} is not whole instructions in it")
            first, last = start // BPF_INSN_SIZE, end // BPF_INSN_SIZE
            out[first] = TextFunction(
                name=sym.name, start=first, insns=data[start:end],
                relocations=tuple(r._replace(insn_index=r.insn_index - first) for r in all_relocs
                                  if first <= r.insn_index < last),
                calls=tuple(c._replace(insn_index=c.insn_index - first) for c in all_calls
                            if first <= c.insn_index < last),
                func_info=_ext_slice(func_infos.get(".text"), first, last),
                line_info=_ext_slice(line_infos.get(".text"), first, last))
        return out

    def _relocations(self, section: str, insns: bytes, rel: Section,
                     maps: dict[str, MapSpec]) -> tuple[tuple[Relocation, ...], tuple[Call, ...]]:
        """The section's map and global references, and its bpf-to-bpf calls into `.text`."""
        symbols = self.elf.symbol_list(self.sections[rel.link]) if rel.link < len(self.sections) else []
        out = []
        calls = []
        for offset, rtype, sym_index in self.elf.relocations(rel):
            if sym_index >= len(symbols):
                raise ObjectFormatError(f"section '{section}' offset {offset:#x}: relocation "
                                        f"names symbol {sym_index}, which does not exist")
            sym = symbols[sym_index]
            home = self.sections[sym.shndx].name if sym.shndx is not None else "SHN_UNDEF"
            where = f"section '{section}' offset {offset:#x}"
            if rtype == R_BPF_64_32:
                if home != ".text" or offset % BPF_INSN_SIZE or offset + 8 > len(insns):
                    raise ObjectFormatError(f"{where}: call to '{sym.name or home}' in '{home}' "
                                            f"(bpf-to-bpf calls must go to functions in .text)")
                try:
                    calls.append(Call(offset // BPF_INSN_SIZE,
                                      call_target(insns, offset // BPF_INSN_SIZE, sym.value)))
                except LinkError as e:
                    raise ObjectFormatError(f"{where}: {e}") from None
                continue
            if rtype != R_BPF_64_64:
                raise ObjectFormatError(f"{where}: unsupported relocation type {rtype}")
            if offset % BPF_INSN_SIZE or offset + 16 > len(insns) \
                    or insns[offset] != BPF_LD_IMM64_OPCODE:
                raise ObjectFormatError(f"{where}: R_BPF_64_64 does not point at an ld_imm64 "
                                        f"instruction")
            addend = struct.unpack_from("<i", insns, offset + 4)[0]
            if home == ".text":
                # A function's address (a for loop's callback): LLVM names the section
                # symbol with the byte offset as addend, or the function with addend 0.
                if (sym.value + addend) % BPF_INSN_SIZE:
                    raise ObjectFormatError(f"{where}: address of '{sym.name or home}' + {addend} "
                                            f"is not an instruction")
                calls.append(Call(offset // BPF_INSN_SIZE, (sym.value + addend) // BPF_INSN_SIZE, True))
                continue
            if home in DATA_SECTIONS and home in maps:
                # A global: the symbol's offset in its section (a section symbol's is 0) plus
                # the addend LLVM leaves in the instruction's imm.
                out.append(Relocation(offset // BPF_INSN_SIZE, home, sym.value + addend))
                continue
            if home != ".maps" or sym.name not in maps:
                raise ObjectFormatError(f"{where}: reference to '{sym.name or home}' in "
                                        f"'{home}'; only maps in '.maps' and globals in "
                                        f"{', '.join(DATA_SECTIONS)} are supported")
            if addend != 0:
                raise ObjectFormatError(f"{where}: reference to '{sym.name}' with a non-zero "
                                        f"addend (an offset into a map definition)")
            out.append(Relocation(offset // BPF_INSN_SIZE, sym.name))
        return tuple(out), tuple(calls)

    def _meta(self) -> ObjectMeta | None:
        """The typed `.kt.meta` (kt.compiler.formats.meta); None when the object has none."""
        sec = self._section(".kt.meta")
        if sec is None:
            return None
        try:
            meta = json.loads(self.elf.section_data(sec).rstrip(b"\0").decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ObjectFormatError(f"'.kt.meta' is not UTF-8 JSON: {e}") from None
        if not isinstance(meta, dict):
            raise ObjectFormatError("'.kt.meta' must hold a JSON object")
        try:
            return ObjectMeta.from_json(meta)
        except MetaError as e:
            raise ObjectFormatError(str(e)) from None
