"""A reader of kernel BTF (/sys/kernel/btf/vmlinux): types by id, lookups by name and kind,
function signatures, struct member offsets.

Why it exists: `kfunc:FUNC` needs FUNC's parameters (names, sizes, signedness) at compile
time, struct field access needs member offsets, and the loader needs FUNC's type id as
`attach_btf_id` for fentry/fexit programs. No maintained pure-Python BTF parser exists
(kernel-facts §5), and the format is small: a header, fixed 12-byte type records each
followed by kind-specific data, and a string table.

Why lazy and indexed: a 6.18 vmlinux has ~126,700 types; decoding every one takes about a
second in Python (eight under QEMU's TCG), while a script usually needs a handful. Opening
only walks the type section to record where each record starts (one small loop over u32
words); names are found by searching the string table for the exact NUL-terminated name and
then the type section for records carrying that string offset (C-speed ``bytes.find``), and a
record is decoded when it is asked for, then cached. The format is include/uapi/linux/btf.h;
field semantics follow kernel/bpf/btf.c and libbpf's btf.c.
"""

from __future__ import annotations

import bisect
import functools
import os
import struct
import sys
from array import array
from collections.abc import Iterator

from .btf_kinds import Kind  # re-exported: BTF readers name it btf.Kind
from .btf_types import (  # noqa: F401  (re-exported: BTF readers name them btf.X)
    INT_BOOL, INT_CHAR, INT_SIGNED, LINKAGE_EXTERN, LINKAGE_GLOBAL, LINKAGE_STATIC, MODIFIERS, ArrayInfo,
    BtfError, BtfNotFound, BtfType, EnumValue, FieldInfo, FuncParam, FuncSignature, Member, Param, VarSecInfo,
)

VMLINUX_PATH = "/sys/kernel/btf/vmlinux"

BTF_MAGIC = 0xEB9F
_HDR = struct.Struct("<HBBIIIII")   # magic, version, flags, hdr_len, type_off/len, str_off/len

# u32 words following the 12-byte common record: (fixed, per vlen item), indexed by kind.
_EXTRA_WORDS: tuple[tuple[int, int], ...] = (
    (0, 0),   # UNKN
    (1, 0),   # INT: encoding | offset | bits
    (0, 0),   # PTR
    (3, 0),   # ARRAY: elem type, index type, nelems
    (0, 3),   # STRUCT: name, type, offset
    (0, 3),   # UNION
    (0, 2),   # ENUM: name, val
    (0, 0),   # FWD
    (0, 0),   # TYPEDEF
    (0, 0),   # VOLATILE
    (0, 0),   # CONST
    (0, 0),   # RESTRICT
    (0, 0),   # FUNC (vlen is the linkage)
    (0, 2),   # FUNC_PROTO: name, type
    (1, 0),   # VAR: linkage
    (0, 3),   # DATASEC: type, offset, size
    (0, 0),   # FLOAT
    (1, 0),   # DECL_TAG: component_idx
    (0, 0),   # TYPE_TAG
    (0, 3),   # ENUM64: name, val_lo32, val_hi32
)

# Kinds whose third word is a size (the others refer to a type).
_SIZED = frozenset({Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.DATASEC, Kind.FLOAT,
                    Kind.ENUM64})

_MAX_CHAIN = 64   # modifier/typedef chains longer than this are treated as corrupt


class Btf:
    """The types of one BTF blob (vmlinux, or a module's split BTF on top of ``base``).

    Type ids are those of the kernel: 0 is void, vmlinux types are 1..N, a split BTF's types
    continue after its base's last id. Records are decoded on first use and cached.
    """

    def __init__(self, data: bytes, base: Btf | None = None, name: str = "BTF") -> None:
        self.name = name
        self.base = base
        if len(data) < _HDR.size:
            raise BtfError(f"{name}: too short for a BTF header ({len(data)} bytes)")
        magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = \
            _HDR.unpack_from(data)
        if magic != BTF_MAGIC:
            if magic == 0x9FEB:
                raise BtfError(f"{name}: big-endian BTF is not supported")
            raise BtfError(f"{name}: bad magic {magic:#06x} (not BTF)")
        if version != 1:
            raise BtfError(f"{name}: unsupported BTF version {version}")
        # hdr_len is honoured: newer kernels may append fields to the header.
        self._data = data
        self._types_start = hdr_len + type_off
        self._types_end = self._types_start + type_len
        self._str_start = hdr_len + str_off
        self._str_end = self._str_start + str_len
        if self._types_end > len(data) or self._str_end > len(data):
            raise BtfError(f"{name}: type or string section extends past the end of the data")
        if type_len % 4 or self._types_start % 4:
            raise BtfError(f"{name}: type section is not 4-byte aligned")
        # In split BTF, string offsets continue after the base's strings.
        self._str_base = base._str_total if base is not None else 0
        self._str_total = self._str_base + str_len
        self.first_id = (base.first_id + base.count) if base is not None else 1
        self._words = memoryview(data)[self._types_start:self._types_end].cast("I")
        if sys.byteorder != "little":
            self._words = array("I", self._words)
            self._words.byteswap()
        self._starts = self._index()
        self.count = len(self._starts)           # own types (without void)
        self._cache: dict[int, BtfType] = {}
        self._found: dict[tuple[str, Kind | None], tuple[int, ...]] = {}

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | os.PathLike = VMLINUX_PATH, base: Btf | None = None) -> Btf:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise BtfError(f"cannot read kernel BTF {path}: {e.strerror} (a kernel built "
                           f"without CONFIG_DEBUG_INFO_BTF has none)") from None
        return cls(data, base=base, name=str(path))

    def _index(self) -> array:
        """Word index of every type record, in id order: the one pass over the whole type
        section (info word -> kind and vlen -> record length)."""
        words = self._words
        extra = _EXTRA_WORDS
        starts = array("I")
        append = starts.append
        i, n = 0, len(words)
        try:
            while i < n:
                append(i)
                info = words[i + 1]
                fixed, per = extra[(info >> 24) & 0x1F]
                i += 3 + fixed + per * (info & 0xFFFF)
        except IndexError:
            type_id = self.first_id + len(starts) - 1
            if i + 1 < n and (words[i + 1] >> 24) & 0x1F >= len(extra):
                raise BtfError(f"{self.name}: unknown BTF kind {(words[i + 1] >> 24) & 0x1F} "
                               f"at type {type_id} (BTF newer than kt)") from None
            raise BtfError(f"{self.name}: type {type_id} is truncated") from None
        if i != n:
            raise BtfError(f"{self.name}: the last type record runs past the type section")
        return starts

    # --- strings -----------------------------------------------------------------------------

    def string(self, off: int) -> str:
        """The NUL-terminated string at ``off`` in the string table (split BTF: offsets
        below the base's string size are the base's)."""
        if off < self._str_base:
            assert self.base is not None
            return self.base.string(off)
        start = self._str_start + off - self._str_base
        if not self._str_start <= start < self._str_end:
            raise BtfError(f"{self.name}: string offset {off} out of range")
        end = self._data.find(b"\0", start, self._str_end)
        if end < 0:
            end = self._str_end
        return self._data[start:end].decode("utf-8", errors="replace")

    def _string_offsets(self, name: str) -> list[int]:
        """Offsets of exactly ``name`` in this blob's own string table (usually one: the
        kernel deduplicates strings)."""
        # The table starts with the empty string at offset 0, so every name has a NUL
        # before it.
        needle = b"\0" + name.encode() + b"\0"
        data, out = self._data, []
        pos = self._str_start
        while True:
            hit = data.find(needle, pos, self._str_end)
            if hit < 0:
                return out
            out.append(hit + 1 - self._str_start + self._str_base)
            pos = hit + 1

    # --- types -------------------------------------------------------------------------------

    @property
    def last_id(self) -> int:
        return self.first_id + self.count - 1

    def __len__(self) -> int:
        """Number of type ids including void and, for split BTF, the base's."""
        return self.last_id + 1

    def __contains__(self, type_id: int) -> bool:
        return 0 <= type_id <= self.last_id

    def __getitem__(self, type_id: int) -> BtfType:
        return self.type(type_id)

    def type(self, type_id: int) -> BtfType:
        """The type with id ``type_id`` (0 is void)."""
        t = self._cache.get(type_id)
        if t is not None:
            return t
        if type_id < self.first_id:
            if type_id == 0:
                t = BtfType(0, Kind.VOID, "void", 0, False, 0, 0)
            elif self.base is not None:
                return self.base.type(type_id)
            else:
                raise BtfError(f"{self.name}: type id {type_id} out of range")
        else:
            t = self._decode(type_id)
        self._cache[type_id] = t
        return t

    def _decode(self, type_id: int) -> BtfType:
        idx = type_id - self.first_id
        if not 0 <= idx < self.count:
            raise BtfError(f"{self.name}: type id {type_id} out of range (1..{self.last_id})")
        w = self._words
        i = self._starts[idx]
        name_off, info, size_or_type = w[i], w[i + 1], w[i + 2]
        kind = Kind((info >> 24) & 0x1F)
        vlen = info & 0xFFFF
        kflag = bool(info >> 31)
        name = self.string(name_off) if name_off else ""
        body = i + 3
        items: tuple = ()
        enc = ioff = bits = extra = 0
        if kind == Kind.INT:
            v = w[body]
            enc, ioff, bits = (v >> 24) & 0x0F, (v >> 16) & 0xFF, v & 0xFF
        elif kind in (Kind.STRUCT, Kind.UNION):
            s = self.string
            ms = []
            for j in range(body, body + 3 * vlen, 3):
                off = w[j + 2]
                if kflag:
                    ms.append(Member(s(w[j]), w[j + 1], off & 0xFFFFFF, off >> 24))
                else:
                    ms.append(Member(s(w[j]), w[j + 1], off, 0))
            items = tuple(ms)
        elif kind == Kind.FUNC_PROTO:
            items = tuple(Param(self.string(w[j]) if w[j] else "", w[j + 1])
                          for j in range(body, body + 2 * vlen, 2))
        elif kind == Kind.ENUM:
            signed = kflag
            items = tuple(EnumValue(self.string(w[j]),
                                    _s32(w[j + 1]) if signed else w[j + 1])
                          for j in range(body, body + 2 * vlen, 2))
        elif kind == Kind.ENUM64:
            vals = []
            for j in range(body, body + 3 * vlen, 3):
                v = w[j + 1] | (w[j + 2] << 32)
                if kflag and v >= 1 << 63:
                    v -= 1 << 64
                vals.append(EnumValue(self.string(w[j]), v))
            items = tuple(vals)
        elif kind == Kind.ARRAY:
            items = (ArrayInfo(w[body], w[body + 1], w[body + 2]),)
        elif kind == Kind.DATASEC:
            items = tuple(VarSecInfo(w[j], w[j + 1], w[j + 2])
                          for j in range(body, body + 3 * vlen, 3))
        elif kind in (Kind.VAR, Kind.DECL_TAG):
            extra = w[body]
        sized = kind in _SIZED
        return BtfType(type_id, kind, name, vlen, kflag,
                       size_or_type if sized else 0, 0 if sized else size_or_type,
                       items, enc, ioff, bits, extra)

    @property
    def data(self) -> bytes:
        """The blob's bytes, as given."""
        return self._data

    def record_offset(self, type_id: int) -> int:
        """Byte offset of own type ``type_id``'s record in ``data`` (where a loader patches a
        DATASEC, as libbpf's btf_fixup_datasec does)."""
        idx = type_id - self.first_id
        if not 0 <= idx < self.count:
            raise BtfError(f"{self.name}: type id {type_id} out of range (1..{self.last_id})")
        return self._types_start + 4 * self._starts[idx]

    def ids_of_kind(self, kind: Kind) -> list[int]:
        """Own type ids of ``kind``, in id order, without decoding records."""
        words, first = self._words, self.first_id
        return [first + idx for idx, w in enumerate(self._starts) if (words[w + 1] >> 24) & 0x1F == kind]

    def kind_of(self, type_id: int) -> Kind:
        """The kind of ``type_id`` without decoding the record (cheap, for scans)."""
        if type_id < self.first_id:
            if type_id == 0:
                return Kind.VOID
            if self.base is None:
                raise BtfError(f"{self.name}: type id {type_id} out of range")
            return self.base.kind_of(type_id)
        return Kind((self._words[self._starts[type_id - self.first_id] + 1] >> 24) & 0x1F)

    def types(self) -> Iterator[BtfType]:
        """Every own type, in id order (decodes them all: about a second for vmlinux)."""
        for type_id in range(self.first_id, self.last_id + 1):
            yield self.type(type_id)

    # --- lookups -------------------------------------------------------------------------

    def find_all(self, name: str, kind: Kind | None = None) -> list[int]:
        """Ids of the types named ``name`` (of ``kind`` if given), in id order; searches the
        base too for split BTF."""
        if not name:
            raise BtfError("find_all: an empty name matches every anonymous type")
        key = (name, kind)
        cached = self._found.get(key)
        if cached is not None:
            return list(cached)
        out = self.base.find_all(name, kind) if self.base is not None else []
        words, starts, first = self._words, self._starts, self.first_id
        for w in self._words_naming(name):
            idx = bisect.bisect_left(starts, w)
            if idx == len(starts) or starts[idx] != w:
                continue  # the value occurs inside a record, not as its name
            if kind is not None and (words[w + 1] >> 24) & 0x1F != kind:
                continue
            out.append(first + idx)
        result = sorted(set(out))
        self._found[key] = tuple(result)
        return result

    def _base_string_offsets(self, name: str) -> list[int]:
        # A split BTF's own types may name strings of the base's table.
        return self.base._string_offsets(name) if self.base is not None else []

    def find(self, name: str, kind: Kind | None = None) -> int | None:
        """The first type id named ``name`` (of ``kind`` if given), or None."""
        ids = self.find_all(name, kind)
        return ids[0] if ids else None

    def find_type(self, name: str, kind: Kind | None = None) -> BtfType | None:
        type_id = self.find(name, kind)
        return None if type_id is None else self.type(type_id)

    def enumerator(self, name: str) -> int | None:
        """The value of the first enumerator named ``name`` (ENUM or ENUM64), or None.
        Like ``find_all``: the name's string offset is searched for in the type section and
        only the enum record holding it as an item name is decoded (decoding every type to
        build an index took 8 s under TCG, longer than bpftrace's start-up)."""
        if self.base is not None:
            found = self.base.enumerator(name)
            if found is not None:
                return found
        words, starts = self._words, self._starts
        for w in self._words_naming(name):
            idx = bisect.bisect_right(starts, w) - 1
            start = starts[idx]
            kind = (words[start + 1] >> 24) & 0x1F
            step = 2 if kind == Kind.ENUM else 3 if kind == Kind.ENUM64 else 0
            if not step or w < start + 3 or (w - start - 3) % step:
                continue    # the offset is not an enumerator's name here
            t = self.type(self.first_id + idx)
            return t.items[(w - start - 3) // step].value
        return None

    def _words_naming(self, name: str):
        """Indexes of the type section's u32 words that hold a string offset of ``name`` (a
        record's name, a member's, an enumerator's): C-speed bytes.find, no decoding."""
        raw, t0, t1 = self._data, self._types_start, self._types_end
        for off in self._string_offsets(name) + self._base_string_offsets(name):
            needle = struct.pack("<I", off)
            pos = t0
            while True:
                hit = raw.find(needle, pos, t1)
                if hit < 0:
                    break
                pos = hit + 1
                if not (hit - t0) % 4:
                    yield (hit - t0) // 4

    def names_with_prefix(self, prefix: str) -> list[str]:
        """Every string in the table starting with ``prefix`` (not necessarily a type name;
        ``named_types`` says which name a type). Fast: a scan of the string table in C."""
        return list(self._strings_with_prefix(prefix).values())

    def _strings_with_prefix(self, prefix: str) -> dict[int, str]:
        data, needle = self._data, b"\0" + prefix.encode()
        out: dict[int, str] = {}
        pos = self._str_start
        while True:
            hit = data.find(needle, pos, self._str_end)
            if hit < 0:
                return out
            end = data.find(b"\0", hit + 1, self._str_end)
            if end < 0:
                end = self._str_end
            out[hit + 1 - self._str_start + self._str_base] = \
                data[hit + 1:end].decode("utf-8", errors="replace")
            pos = end

    def named_types(self, kind: Kind, prefix: str) -> list[tuple[int, str]]:
        """(id, name) of every own type of ``kind`` whose name starts with ``prefix``, in id
        order (e.g. the ``btf_trace_*`` typedefs, one per raw tracepoint). One pass over the
        record index, without decoding records."""
        offs = self._strings_with_prefix(prefix)
        if self.base is not None:
            offs.update(self.base._strings_with_prefix(prefix))
        words, first = self._words, self.first_id
        out = []
        for idx, w in enumerate(self._starts):
            if words[w] in offs and (words[w + 1] >> 24) & 0x1F == kind:
                out.append((first + idx, offs[words[w]]))
        return out

    def funcs(self, max_params: int | None = None) -> Iterator[tuple[int, str]]:
        """(id, name) of every FUNC, in id order (for listing `kfunc:*`); with
        ``max_params``, only functions with at most that many parameters."""
        words, starts, first = self._words, self._starts, self.first_id
        func = Kind.FUNC
        for idx, w in enumerate(starts):
            if (words[w + 1] >> 24) & 0x1F != func:
                continue
            if max_params is not None:
                proto = words[w + 2]
                if proto >= first and \
                        words[starts[proto - first] + 1] & 0xFFFF > max_params:
                    continue
            yield first + idx, self.string(words[w])

    def func_param_count(self, func_id: int) -> int:
        """Number of parameters of FUNC ``func_id`` (cheap: reads the proto's vlen)."""
        proto = self._words[self._starts[func_id - self.first_id] + 2] \
            if func_id >= self.first_id else self.base.type(func_id).ref
        return self.type(proto).vlen

    # --- type resolution ----------------------------------------------------------------

    def resolve(self, type_id: int) -> BtfType:
        """Follow typedefs and qualifiers (const, volatile, restrict, type tags) to the type
        that has a shape."""
        t = self.type(type_id)
        for _ in range(_MAX_CHAIN):
            if t.kind not in MODIFIERS:
                return t
            t = self.type(t.ref)
        raise BtfError(f"{self.name}: typedef/qualifier chain too long at type {type_id}")

    def size_of(self, type_id: int) -> int:
        """Size in bytes, as the kernel's btf_resolve_size computes it (void and functions
        have none: BtfError)."""
        nelems = 1
        t = self.type(type_id)
        for _ in range(_MAX_CHAIN):
            if t.kind in _SIZED:
                return nelems * t.size
            if t.kind == Kind.PTR:
                return nelems * 8
            if t.kind == Kind.ARRAY:
                nelems *= t.array.nelems
                t = self.type(t.array.type)
            elif t.kind in MODIFIERS or t.kind == Kind.VAR:
                t = self.type(t.ref)
            else:
                raise BtfError(f"{self.name}: type {type_id} ({self.type_name(type_id)}) "
                               f"has no size")
        raise BtfError(f"{self.name}: type {type_id} nests too deeply")

    def is_signed(self, type_id: int) -> bool:
        return self.resolve(type_id).is_signed

    def members(self, type_id: int) -> list[FieldInfo]:
        """Every named member of a struct/union, with members of anonymous struct/union
        members flattened in (offsets relative to the outer record)."""
        out: list[FieldInfo] = []
        self._flatten(self.resolve(type_id), 0, out, 0)
        return out

    def _flatten(self, t: BtfType, base_bits: int, out: list[FieldInfo], depth: int) -> None:
        if depth > _MAX_CHAIN:
            raise BtfError(f"{self.name}: anonymous members nest too deeply in type {t.id}")
        for m in t.members:
            bits = base_bits + m.bit_offset
            if not m.name:
                inner = self.resolve(m.type)
                if inner.kind in (Kind.STRUCT, Kind.UNION):
                    self._flatten(inner, bits, out, depth + 1)
                continue
            out.append(FieldInfo(m.name, m.type, bits // 8, bits, m.bitfield_size))

    def member(self, type_id: int, name: str) -> FieldInfo | None:
        """Member ``name`` of struct/union ``type_id`` (typedefs and qualifiers resolved),
        looking through anonymous struct/union members; None if there is none."""
        return self._member(self.resolve(type_id), name, 0, 0)

    def _member(self, t: BtfType, name: str, base_bits: int, depth: int) -> FieldInfo | None:
        if t.kind not in (Kind.STRUCT, Kind.UNION):
            raise BtfError(f"{self.name}: type {t.id} ({self.type_name(t.id)}) is not a "
                           f"struct or union")
        if depth > _MAX_CHAIN:
            raise BtfError(f"{self.name}: anonymous members nest too deeply in type {t.id}")
        anonymous = []
        for m in t.members:
            if m.name == name:
                bits = base_bits + m.bit_offset
                return FieldInfo(name, m.type, bits // 8, bits, m.bitfield_size)
            if not m.name:
                anonymous.append(m)
        for m in anonymous:
            inner = self.resolve(m.type)
            if inner.kind in (Kind.STRUCT, Kind.UNION):
                found = self._member(inner, name, base_bits + m.bit_offset, depth + 1)
                if found is not None:
                    return found
        return None

    def field(self, type_id: int, path: str) -> FieldInfo:
        """A dotted path of embedded members ("f_path.dentry") from ``type_id``: offsets add
        up; each step must be a struct/union member (not through a pointer)."""
        offset_bits = 0
        cur = type_id
        found: FieldInfo | None = None
        for part in path.split("."):
            found = self.member(cur, part)
            if found is None:
                raise BtfNotFound(f"{self.type_name(self.resolve(cur).id)} has no member "
                                  f"'{part}'")
            offset_bits += found.bit_offset
            cur = found.type
        assert found is not None
        return FieldInfo(found.name, found.type, offset_bits // 8, offset_bits,
                         found.bitfield_size)

    def struct(self, name: str) -> BtfType:
        """The struct (or, failing that, union) named ``name``; BtfError if neither."""
        for kind in (Kind.STRUCT, Kind.UNION):
            for type_id in self.find_all(name, kind):
                t = self.type(type_id)
                if t.vlen or t.size:
                    return t
        raise BtfNotFound(f"no struct or union '{name}' in {self.name}")

    # --- functions ----------------------------------------------------------------------

    def func_id(self, name: str) -> int:
        """The id of FUNC ``name`` (fentry's attach_btf_id); BtfNotFound if there is none."""
        type_id = self.find(name, Kind.FUNC)
        if type_id is None:
            raise BtfNotFound(f"no function '{name}' in {self.name} (not a kernel function, "
                              f"inlined, or in a module)")
        return type_id

    def func(self, name_or_id: str | int) -> FuncSignature:
        """The signature of a FUNC by name or id."""
        func_id = self.func_id(name_or_id) if isinstance(name_or_id, str) else name_or_id
        f = self.type(func_id)
        if f.kind != Kind.FUNC:
            raise BtfError(f"type {func_id} is a {f.kind.name}, not a FUNC")
        proto = self.type(f.ref)
        if proto.kind != Kind.FUNC_PROTO:
            raise BtfError(f"FUNC '{f.name}' (type {func_id}) has no FUNC_PROTO")
        params = list(proto.params)
        variadic = bool(params) and params[-1] == Param("", 0)
        if variadic:
            params.pop()
        out = self._proto_params(params)
        slot = sum(fp.slots for fp in out)
        ret = None if proto.ref == 0 else self._func_param(len(out), "retval", proto.ref, slot)
        return FuncSignature(func_id, f.name, f.linkage, proto.id, out, ret, variadic)

    def _proto_params(self, params) -> tuple[FuncParam, ...]:
        out: list[FuncParam] = []
        slot = 0
        for i, p in enumerate(params):
            fp = self._func_param(i, p.name, p.type, slot)
            out.append(fp)
            slot += fp.slots
        return tuple(out)

    def raw_tracepoint_params(self, name: str) -> tuple[FuncParam, ...]:
        """The arguments of raw tracepoint ``name``, named: the kernel's per-tracepoint stub
        `__probestub_NAME` (Linux 6.5+) or the BPF trampoline of a tracepoint that is its own
        event class, `__bpf_trace_NAME`; both are `void f(void *__data, ARGS...)`
        (BtfNotFound, a LookupError, if the kernel has neither)."""
        for func in (f"__probestub_{name}", f"__bpf_trace_{name}"):
            func_id = self.find(func, Kind.FUNC)
            if func_id is None:
                continue
            proto = self.type(self.type(func_id).ref)
            if proto.kind == Kind.FUNC_PROTO and proto.params:
                return self._proto_params(list(proto.params)[1:])
        raise BtfNotFound(f"no raw tracepoint '{name}' in BTF")

    def func_params(self, name: str) -> tuple[FuncParam, ...]:
        """The parameters of function ``name`` (BtfNotFound, a LookupError, if there is no
        such FUNC)."""
        return self.func(name).params

    def _func_param(self, index: int, name: str, type_id: int, slot: int) -> FuncParam:
        r = self.resolve(type_id)
        try:
            size = self.size_of(type_id)
        except BtfError:
            size = 0
        return FuncParam(index, name, type_id, self.type_name(type_id), r.id, r.kind, size,
                         r.is_signed, slot, max(1, (size + 7) // 8))

    # --- C spelling ---------------------------------------------------------------------

    def type_name(self, type_id: int, name: str = "") -> str:
        """A C declaration of ``name`` with type ``type_id``, as libbpf's
        btf_dump__emit_type_decl writes it ("struct file *", "const char *",
        "int (*)(void *)"; with a name: "char *buf"). Type tags are left out."""
        decl = name
        t = self.type(type_id)
        quals: list[str] = []        # qualifiers seen since the last pointer, outermost first
        for _ in range(_MAX_CHAIN * 4):
            k = t.kind
            if k == Kind.PTR:
                # Qualifiers met before a pointer qualify the pointer: "char * const p".
                q = " ".join(reversed(quals))
                quals = []
                decl = f"* {q} {decl}".rstrip() if q else "*" + decl
            elif k in (Kind.CONST, Kind.VOLATILE, Kind.RESTRICT):
                quals.append(k.name.lower())
            elif k == Kind.TYPE_TAG:
                pass
            elif k == Kind.ARRAY:
                if decl.startswith("*"):
                    decl = f"({decl})"
                decl = f"{decl}[{t.array.nelems}]"
                t = self.type(t.array.type)
                continue
            elif k == Kind.FUNC_PROTO:
                if decl.startswith("*"):
                    decl = f"({decl})"
                args = [self.type_name(p.type) if p.type else "..." for p in t.params]
                decl = f"{decl}({', '.join(args) or 'void'})"
            else:
                base = self._base_name(t)
                if quals:
                    base = " ".join(reversed(quals)) + " " + base
                return f"{base} {decl}" if decl else base
            t = self.type(t.ref)
        raise BtfError(f"{self.name}: type {type_id} nests too deeply")

    def _base_name(self, t: BtfType) -> str:
        k = t.kind
        if k == Kind.VOID:
            return "void"
        if k in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64):
            tag = {Kind.STRUCT: "struct", Kind.UNION: "union"}.get(k, "enum")
            return f"{tag} {t.name or '(anon)'}"
        if k == Kind.FWD:
            return f"{'union' if t.kflag else 'struct'} {t.name}"
        return t.name or f"(anon {k.name.lower()})"


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


@functools.cache
def _load_cached(path: str, mtime_ns: int, size: int) -> Btf:
    return Btf.from_file(path)


_VMLINUX_READS = [0]


def vmlinux_reads() -> int:
    """How often vmlinux_btf() was asked (the driver compares before and after a compilation:
    an object that read kernel BTF records which BTF it was built for)."""
    return _VMLINUX_READS[0]


def vmlinux_btf(path: str | os.PathLike = VMLINUX_PATH) -> Btf:
    """The running kernel's BTF, parsed once per process (re-read if the file changed)."""
    p = os.fspath(path)
    _VMLINUX_READS[0] += 1
    try:
        st = os.stat(p)
    except OSError as e:
        raise BtfError(f"cannot read kernel BTF {p}: {e.strerror} (a kernel built without "
                       f"CONFIG_DEBUG_INFO_BTF has none)") from None
    return _load_cached(p, st.st_mtime_ns, st.st_size)


vmlinux = vmlinux_btf
