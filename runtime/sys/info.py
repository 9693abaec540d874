"""BPF_OBJ_GET_INFO_BY_FD for programs, maps and links.

Why: the kernel names objects by id (what ``bpftool prog show`` lists); kt needs those ids to
report what it loaded and for tests to prove everything was unloaded again.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from .constants import BpfCmd
from .fd import FdLike, raw_fd
from .structs import BpfLinkInfoHead, BpfMapInfo, BpfProgInfo, ObjInfoAttr
from .syscall import bpf


def _get_info(fd: FdLike, info: ctypes.Structure) -> None:
    attr = ObjInfoAttr(bpf_fd=raw_fd(fd), info_len=ctypes.sizeof(info),
                       info=ctypes.addressof(info))
    bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr)


@dataclass(frozen=True, slots=True)
class ProgInfo:
    id: int
    type: int
    name: str
    tag: str
    btf_id: int
    run_cnt: int
    run_time_ns: int
    verified_insns: int


@dataclass(frozen=True, slots=True)
class MapInfo:
    id: int
    type: int
    name: str
    key_size: int
    value_size: int
    max_entries: int
    map_flags: int
    btf_id: int


@dataclass(frozen=True, slots=True)
class LinkInfo:
    id: int
    type: int
    prog_id: int


def prog_info(fd: FdLike) -> ProgInfo:
    """Kernel-side facts about a loaded program (run_cnt needs BPF_ENABLE_STATS held)."""
    i = BpfProgInfo()
    _get_info(fd, i)
    return ProgInfo(id=i.id, type=i.type, name=i.name.decode(errors="replace"),
                    tag=bytes(i.tag).hex(), btf_id=i.btf_id, run_cnt=i.run_cnt,
                    run_time_ns=i.run_time_ns, verified_insns=i.verified_insns)


def map_info(fd: FdLike) -> MapInfo:
    i = BpfMapInfo()
    _get_info(fd, i)
    return MapInfo(id=i.id, type=i.type, name=i.name.decode(errors="replace"),
                   key_size=i.key_size, value_size=i.value_size, max_entries=i.max_entries,
                   map_flags=i.map_flags, btf_id=i.btf_id)


def link_info(fd: FdLike) -> LinkInfo:
    i = BpfLinkInfoHead()
    _get_info(fd, i)
    return LinkInfo(id=i.id, type=i.type, prog_id=i.prog_id)
