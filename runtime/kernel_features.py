"""Kernel features an object needs that the kernel would not refuse by itself: checked by version.

Most missing features announce themselves: the verifier refuses a helper it does not know,
an unknown map, program or link type fails with EINVAL, and runtime/load_errors.py and the
attach modules turn that into words. A few do not. bpf_get_func_ip() has been allowed in
kprobe-type programs since 5.15, and a uprobe program is one, but before Linux 6.5 it returns
the address of the running *kprobe* (kernel/trace/bpf_trace.c, bpf_get_func_ip_kprobe), which a
uprobe has none of: 0. uaddr() in a uretprobe or at a USDT site of a PIE or a library computes
the load bias from it, so on 6.1 it would print a wrong address without a word. Such features
are listed here with the kernel that has them, and the session checks them before loading.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass

from ..compiler.formats.bpf_helpers import Helper

_CALL = 0x85             # BPF_JMP | BPF_CALL; src_reg 0: a helper, imm its id
_INSN = struct.Struct("<BBhi")
_UPROBE_KINDS = ("uprobe", "uretprobe", "usdt")


@dataclass(frozen=True, slots=True)
class Feature:
    what: str                 # what kt uses, in a user's words
    version: tuple[int, int]  # the first Linux release that has it


UPROBE_FUNC_IP = Feature("bpf_get_func_ip() in uprobe programs (uaddr() in a uretprobe or a USDT "
                         "probe of a PIE or a library needs it)", (6, 5))


class KernelTooOld(Exception):
    """A feature the object needs is newer than the running kernel; the message names both."""


def kernel_version(release: str | None = None) -> tuple[int, int]:
    """(major, minor) of a kernel release string such as "6.1.0-56-amd64" (uname -r)."""
    release = os.uname().release if release is None else release
    m = re.match(r"(\d+)\.(\d+)", release)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _calls_helper(insns: bytes, helper: int) -> bool:
    return any(code == _CALL and regs >> 4 == 0 and imm == helper
               for code, regs, _off, imm in _INSN.iter_unpack(insns))


def needed_features(spec, meta) -> list[tuple[str, Feature]]:
    """(probe name, feature) for each version-gated feature the object's probes use."""
    out = []
    for probe in meta.probes:
        if probe.kind not in _UPROBE_KINDS:
            continue
        program = spec.programs.get(probe.program) if probe.program else None
        if program is None:
            program = next((p for p in spec.programs.values() if p.section == probe.section), None)
        if program is not None and _calls_helper(program.insns, Helper.get_func_ip):
            out.append((probe.name, UPROBE_FUNC_IP))
    return out


def require_features(spec, meta, release: str | None = None) -> None:
    """Raise KernelTooOld naming the first feature the running kernel (or `release`) lacks."""
    release = os.uname().release if release is None else release
    have = kernel_version(release)
    for probe, feature in needed_features(spec, meta):
        if have < feature.version:
            raise KernelTooOld(f"{probe} uses {feature.what}: Linux {feature.version[0]}."
                               f"{feature.version[1]} or later has it, and this kernel is {release}")
