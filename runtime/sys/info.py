"""BPF_OBJ_GET_INFO_BY_FD for programs, maps and links.

Why: the kernel names objects by id (what ``bpftool prog show`` lists); kt needs those ids to
report what it loaded and for tests to prove everything was unloaded again.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from .constants import BpfCmd
from .fd import FdLike, OwnedFd, raw_fd
from .structs import (BpfLinkInfoHead, BpfMapInfo, BpfProgInfo, EnableStatsAttr, GetIdAttr,
                      ObjInfoAttr)
from .syscall import SyscallError, bpf


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
    xlated_insns: int      # instructions after the verifier's rewrites (xlated_prog_len / 8)


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
                    run_time_ns=i.run_time_ns, verified_insns=i.verified_insns,
                    xlated_insns=i.xlated_prog_len // 8)


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


def prog_ids() -> list[int]:
    """Ids of every program loaded in the kernel (BPF_PROG_GET_NEXT_ID from 0)."""
    ids, attr = [], GetIdAttr(start_id=0)
    while True:
        try:
            bpf(BpfCmd.PROG_GET_NEXT_ID, attr)
        except SyscallError:       # ENOENT: past the last id
            return ids
        ids.append(attr.next_id)
        attr = GetIdAttr(start_id=attr.next_id)


def prog_fd_by_id(prog_id: int) -> OwnedFd:
    """An fd of program ``prog_id``; holding it keeps the program loaded (and its stats)."""
    return OwnedFd(bpf(BpfCmd.PROG_GET_FD_BY_ID, GetIdAttr(start_id=prog_id)), f"prog {prog_id}")


def enable_run_time_stats() -> OwnedFd:
    """BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): run_time_ns/run_cnt are counted while the fd is
    open, whatever kernel.bpf_stats_enabled says (and without changing it for others)."""
    return OwnedFd(bpf(BpfCmd.ENABLE_STATS, EnableStatsAttr(type=0)), "bpf stats")
