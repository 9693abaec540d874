"""BPF maps seen from user space: create, look up, update, delete, iterate.

Why a wrapper: keys and values cross the syscall boundary as raw bytes in buffers whose sizes
the kernel dictates (per-CPU maps return one 8-byte-aligned slot per *possible* CPU). The Map
keeps those rules in one place and owns the map's fd, so the output layer only decodes bytes.
"""

from __future__ import annotations

import ctypes
import errno
import re
from collections.abc import Sequence

from .spec import MapSpec
from .sys.constants import (
    ARRAY_MAP_TYPES, BPF_OBJ_NAME_LEN, NO_BTF_KV_MAP_TYPES, PERCPU_MAP_TYPES, BpfCmd, MapType,
    UpdateFlags,
)
from .sys.cpus import num_possible_cpus
from .sys.fd import OwnedFd
from .sys.info import MapInfo, map_info
from .sys.structs import MapCreateAttr, MapElemAttr
from .sys.syscall import SyscallError, bpf

Value = bytes | list[bytes]
"""A map value: bytes, or for per-CPU maps one bytes object per possible CPU."""


def kernel_object_name(name: str) -> bytes:
    """A name the kernel accepts for map_name/prog_name: at most 15 characters from
    [A-Za-z0-9_.] (kernel/bpf/syscall.c bpf_obj_name_cpy), other characters become '_'."""
    clean = re.sub(r"[^A-Za-z0-9_.]", "_", name)[: BPF_OBJ_NAME_LEN - 1]
    return clean.encode("ascii")


def _round8(n: int) -> int:
    return (n + 7) & ~7


class Map:
    """One kernel map, owning its fd. For per-CPU maps values are lists (one entry per possible
    CPU, each ``value_size`` bytes); for all others values are ``value_size`` bytes."""

    def __init__(self, fd: OwnedFd, spec: MapSpec) -> None:
        self._fd = fd
        self.spec = spec
        self.percpu = spec.map_type in PERCPU_MAP_TYPES
        self.ncpus = num_possible_cpus() if self.percpu else 1
        # The kernel copies round_up(value_size, 8) per possible CPU (bpf_map_value_size).
        self._slot = _round8(spec.value_size) if self.percpu else spec.value_size
        self._value_len = self._slot * self.ncpus

    # --- creation ------------------------------------------------------------------------

    @classmethod
    def create(cls, spec: MapSpec, btf_fd: OwnedFd | None = None) -> Map:
        """BPF_MAP_CREATE from a spec. With ``btf_fd`` the key/value BTF type ids are sent
        (not for map types that refuse them, as libbpf does); if the kernel rejects the BTF
        description the map is created again without it, like libbpf's retry."""
        attr = MapCreateAttr(
            map_type=int(spec.map_type), key_size=spec.key_size, value_size=spec.value_size,
            max_entries=spec.max_entries, map_flags=spec.flags,
            map_name=kernel_object_name(spec.name),
        )
        if spec.map_type == MapType.PERF_EVENT_ARRAY:
            # One slot per CPU, holding perf event fds (libbpf: max_entries = nr_cpus).
            attr.key_size = attr.key_size or 4
            attr.value_size = attr.value_size or 4
            attr.max_entries = attr.max_entries or num_possible_cpus()
        elif spec.map_type == MapType.RINGBUF:
            # The kernel requires key_size = value_size = 0 (ringbuf_map_alloc -> EINVAL).
            attr.key_size = attr.value_size = 0
        use_btf = (btf_fd is not None and spec.map_type not in NO_BTF_KV_MAP_TYPES
                   and (spec.btf_key_type_id or spec.btf_value_type_id))
        if use_btf:
            attr.btf_fd = btf_fd.fd
            attr.btf_key_type_id = spec.btf_key_type_id
            attr.btf_value_type_id = spec.btf_value_type_id
        try:
            fd = bpf(BpfCmd.MAP_CREATE, attr)
        except SyscallError as e:
            if not use_btf:
                raise SyscallError(e.call, e.errno, f"map '{spec.name}' "
                                   f"({spec.map_type.name}, key {spec.key_size}, value "
                                   f"{spec.value_size}, max_entries {spec.max_entries})") from None
            attr.btf_fd = attr.btf_key_type_id = attr.btf_value_type_id = 0
            try:
                fd = bpf(BpfCmd.MAP_CREATE, attr)
            except SyscallError as e2:
                raise SyscallError(e2.call, e2.errno, f"map '{spec.name}' "
                                   f"({spec.map_type.name}, key {spec.key_size}, value "
                                   f"{spec.value_size}, max_entries "
                                   f"{spec.max_entries})") from None
        return cls(OwnedFd(fd, f"map {spec.name}"), spec)

    # --- properties ----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def map_type(self) -> MapType:
        return self.spec.map_type

    @property
    def key_size(self) -> int:
        return self.spec.key_size

    @property
    def value_size(self) -> int:
        return self.spec.value_size

    @property
    def max_entries(self) -> int:
        return self.spec.max_entries

    @property
    def fd(self) -> int:
        return self._fd.fd

    def fileno(self) -> int:
        return self._fd.fd

    def info(self) -> MapInfo:
        return map_info(self._fd)

    # --- element operations -----------------------------------------------------------------

    def _key_buf(self, key: bytes) -> ctypes.Array:
        if self.key_size == 0:
            raise TypeError(f"map '{self.name}' ({self.map_type.name}) has no keys")
        if len(key) != self.key_size:
            raise ValueError(f"map '{self.name}': key is {len(key)} bytes, expected "
                             f"{self.key_size}")
        return ctypes.create_string_buffer(bytes(key), self.key_size)

    def _split(self, raw: bytes) -> Value:
        if not self.percpu:
            return raw
        vs = self.value_size
        return [raw[i * self._slot: i * self._slot + vs] for i in range(self.ncpus)]

    def _value_buf(self, value: Value) -> ctypes.Array:
        if self.percpu:
            if isinstance(value, (bytes, bytearray, memoryview)):
                value = bytes(value)
                if len(value) == self.value_size:
                    value = [value] * self.ncpus          # same value on every CPU
                elif len(value) == self._value_len:
                    return ctypes.create_string_buffer(value, self._value_len)
                else:
                    raise ValueError(f"map '{self.name}': per-CPU value is {len(value)} "
                                     f"bytes, expected {self.value_size} or {self._value_len}")
            if len(value) != self.ncpus:
                raise ValueError(f"map '{self.name}': {len(value)} per-CPU values, expected "
                                 f"{self.ncpus} (possible CPUs)")
            buf = bytearray(self._value_len)
            for i, v in enumerate(value):
                if len(v) != self.value_size:
                    raise ValueError(f"map '{self.name}': value is {len(v)} bytes, expected "
                                     f"{self.value_size}")
                buf[i * self._slot: i * self._slot + len(v)] = v
            return ctypes.create_string_buffer(bytes(buf), self._value_len)
        if not isinstance(value, (bytes, bytearray, memoryview)) or len(value) != self.value_size:
            raise ValueError(f"map '{self.name}': value must be {self.value_size} bytes")
        return ctypes.create_string_buffer(bytes(value), self.value_size)

    def lookup(self, key: bytes) -> Value | None:
        """The value for ``key``, or None if absent."""
        kbuf = self._key_buf(key)
        vbuf = ctypes.create_string_buffer(max(self._value_len, 1))
        attr = MapElemAttr(map_fd=self.fd, key=ctypes.addressof(kbuf),
                           value=ctypes.addressof(vbuf))
        try:
            bpf(BpfCmd.MAP_LOOKUP_ELEM, attr)
        except SyscallError as e:
            if e.errno == errno.ENOENT:
                return None
            raise
        return self._split(vbuf.raw[: self._value_len])

    def update(self, key: bytes, value: Value, flags: int = UpdateFlags.ANY) -> None:
        """Insert or replace (``flags``: UpdateFlags.ANY / NOEXIST / EXIST)."""
        kbuf = self._key_buf(key)
        vbuf = self._value_buf(value)
        attr = MapElemAttr(map_fd=self.fd, key=ctypes.addressof(kbuf),
                           value=ctypes.addressof(vbuf), flags=int(flags))
        bpf(BpfCmd.MAP_UPDATE_ELEM, attr)

    def freeze(self) -> None:
        """BPF_MAP_FREEZE: no more writes from user space (a frozen BPF_F_RDONLY_PROG map's
        values are known to the verifier, as libbpf's .rodata). The attr is map_fd alone; the
        rest of MapElemAttr stays zero, as the kernel's CHECK_ATTR requires."""
        bpf(BpfCmd.MAP_FREEZE, MapElemAttr(map_fd=self.fd))

    def delete(self, key: bytes) -> bool:
        """Remove ``key``; False if it was not there."""
        kbuf = self._key_buf(key)
        attr = MapElemAttr(map_fd=self.fd, key=ctypes.addressof(kbuf))
        try:
            bpf(BpfCmd.MAP_DELETE_ELEM, attr)
        except SyscallError as e:
            if e.errno == errno.ENOENT:
                return False
            raise
        return True

    def keys(self) -> list[bytes]:
        """All keys, by BPF_MAP_GET_NEXT_KEY starting from NULL (the first key).

        If a program deletes the current key meanwhile, a hash map restarts from its first
        key (htab_map_get_next_key); a repeated key therefore ends the walk instead of
        looping forever.
        """
        out: list[bytes] = []
        seen: set[bytes] = set()
        if self.key_size == 0:
            return out
        cur = ctypes.create_string_buffer(self.key_size)
        nxt = ctypes.create_string_buffer(self.key_size)
        attr = MapElemAttr(map_fd=self.fd, key=0, value=ctypes.addressof(nxt))
        while True:
            try:
                bpf(BpfCmd.MAP_GET_NEXT_KEY, attr)
            except SyscallError as e:
                if e.errno == errno.ENOENT:
                    return out
                raise
            k = nxt.raw
            if k in seen:
                return out
            seen.add(k)
            out.append(k)
            ctypes.memmove(cur, nxt, self.key_size)
            attr.key = ctypes.addressof(cur)

    def items(self) -> list[tuple[bytes, Value]]:
        """(key, value) pairs; keys deleted between listing and lookup are skipped."""
        out = []
        for k in self.keys():
            v = self.lookup(k)
            if v is not None:
                out.append((k, v))
        return out

    def clear(self) -> None:
        """Remove every element; array maps (which cannot delete) are zeroed instead."""
        if self.map_type in ARRAY_MAP_TYPES:
            zero = bytes(self.value_size)
            for k in self.keys():
                self.update(k, zero)
            return
        for k in self.keys():
            self.delete(k)

    # --- ownership -------------------------------------------------------------------------

    def close(self) -> None:
        self._fd.close()

    @property
    def closed(self) -> bool:
        return self._fd.closed

    def __enter__(self) -> Map:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<Map {self.name} {self.map_type.name} key={self.key_size} "
                f"value={self.value_size} max={self.max_entries} {self._fd!r}>")


def split_percpu(raw: bytes, value_size: int, ncpus: int | None = None) -> list[bytes]:
    """Split a raw per-CPU value buffer (slots of round_up(value_size, 8)) into per-CPU bytes."""
    n = num_possible_cpus() if ncpus is None else ncpus
    slot = _round8(value_size)
    return [raw[i * slot: i * slot + value_size] for i in range(n)]


def sum_u64(values: Sequence[bytes]) -> int:
    """Sum of little-endian u64 per-CPU counters (a helper for count()/sum() maps)."""
    return sum(int.from_bytes(v[:8], "little") for v in values)
