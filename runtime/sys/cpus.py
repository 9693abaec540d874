"""CPU lists from sysfs.

Why: per-CPU map values come back as one slot per *possible* CPU (kernel/bpf/syscall.c
bpf_map_value_size uses num_possible_cpus()), while per-CPU perf events can only be opened on
*online* CPUs. Both are cpulist files ("0-3,5,7-8") under /sys/devices/system/cpu.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

_CPU_DIR = Path("/sys/devices/system/cpu")


def parse_cpu_list(text: str) -> list[int]:
    """Parse the kernel's cpulist format ("0-3,5") into sorted CPU numbers."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        if sep:
            cpus.update(range(int(lo), int(hi) + 1))
        else:
            cpus.add(int(lo))
    return sorted(cpus)


@functools.cache
def possible_cpus() -> tuple[int, ...]:
    """CPUs that may ever exist on this boot (fixed at boot, so cached)."""
    try:
        return tuple(parse_cpu_list((_CPU_DIR / "possible").read_text()))
    except OSError:
        return tuple(range(os.cpu_count() or 1))


def num_possible_cpus() -> int:
    """Number of per-CPU value slots the kernel returns for per-CPU maps."""
    return len(possible_cpus())


def online_cpus() -> list[int]:
    """CPUs online now (not cached: CPUs can be hot-plugged)."""
    try:
        return parse_cpu_list((_CPU_DIR / "online").read_text())
    except OSError:
        return list(range(os.cpu_count() or 1))
