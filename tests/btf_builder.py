"""A writer of small BTF blobs for tests (compiler/formats/btf, runtime listing): types are added in
id order and ``build()`` returns the bytes, header included (include/uapi/linux/btf.h)."""

from __future__ import annotations

import struct

from kt.compiler.formats import btf as B
from kt.compiler.formats.btf import Kind


class Builder:
    """Writes BTF bytes: add types in id order (1, 2, ...), then ``build()``."""

    def __init__(self, str_base: int = 0, first_id: int = 1) -> None:
        self.strings = bytearray(b"\0") if str_base == 0 else bytearray()
        self.str_base = str_base
        self.first_id = first_id
        self.types = bytearray()
        self.next_id = first_id
        self._offs: dict[str, int] = {"": 0}

    def s(self, name: str) -> int:
        if name not in self._offs:
            self._offs[name] = self.str_base + len(self.strings)
            self.strings += name.encode() + b"\0"
        return self._offs[name]

    def add(self, name: str, kind: Kind, vlen: int = 0, kflag: bool = False, ref: int = 0,
            extra: bytes = b"") -> int:
        info = (int(kind) << 24) | vlen | (1 << 31 if kflag else 0)
        self.types += struct.pack("<III", self.s(name), info, ref) + extra
        self.next_id += 1
        return self.next_id - 1

    def int_(self, name: str, size: int, signed: bool = False, char: bool = False,
             bool_: bool = False) -> int:
        enc = (B.INT_SIGNED if signed else 0) | (B.INT_CHAR if char else 0) | \
            (B.INT_BOOL if bool_ else 0)
        return self.add(name, Kind.INT, ref=size,
                        extra=struct.pack("<I", (enc << 24) | (size * 8)))

    def ptr(self, to: int) -> int:
        return self.add("", Kind.PTR, ref=to)

    def mod(self, kind: Kind, to: int, name: str = "") -> int:
        return self.add(name, kind, ref=to)

    def array(self, elem: int, index: int, n: int) -> int:
        return self.add("", Kind.ARRAY, extra=struct.pack("<III", elem, index, n))

    def record(self, kind: Kind, name: str, size: int,
               members: list[tuple[str, int, int, int]]) -> int:
        """members: (name, type, bit offset, bitfield size)."""
        kflag = any(m[3] for m in members)
        extra = b"".join(struct.pack("<III", self.s(n), t,
                                     (bits << 24 | off) if kflag else off)
                         for n, t, off, bits in members)
        return self.add(name, kind, len(members), kflag, size, extra)

    def enum(self, name: str, values: list[tuple[str, int]], signed: bool = False) -> int:
        extra = b"".join(struct.pack("<Ii" if v < 0 else "<II", self.s(n), v)
                         for n, v in values)
        return self.add(name, Kind.ENUM, len(values), signed, 4, extra)

    def proto(self, ret: int, params: list[tuple[str, int]]) -> int:
        extra = b"".join(struct.pack("<II", self.s(n), t) for n, t in params)
        return self.add("", Kind.FUNC_PROTO, len(params), ref=ret, extra=extra)

    def func(self, name: str, proto: int, linkage: int = B.LINKAGE_GLOBAL) -> int:
        return self.add(name, Kind.FUNC, linkage, ref=proto)

    def build(self, hdr_len: int = 24) -> bytes:
        hdr = struct.pack("<HBBIIIII", B.BTF_MAGIC, 1, 0, hdr_len, 0, len(self.types),
                          len(self.types), len(self.strings))
        return hdr + b"\0" * (hdr_len - 24) + bytes(self.types) + bytes(self.strings)
