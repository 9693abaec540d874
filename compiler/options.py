"""What the driver passes into a compilation besides the source text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


# Event ring buffer sizes in pages (powers of two). A script that prints (printf, time, print)
# in probes that may fire at any rate gets 16 MiB (more for large records; 1 MiB when it
# prints only in BEGIN/END/interval: passes/resources.py): kt takes records out in blocks
# into a queue of its own (runtime/pump.py), so the ring holds what arrives while one block
# is decoded, with room for the scheduler to keep kt off the CPU for a while (~350k records
# of 48 bytes). One that only aggregates sends a handful of events (exit, clear) and gets
# 64 KiB. The ring's pages are mapped into kt (twice), so its size is kt's memory.
DEFAULT_RINGBUF_PAGES = 4096
QUIET_RINGBUF_PAGES = 16

# Bytes of a string read by str() and of tracepoint string fields: bpftrace 0.17's default
# BPFTRACE_STRLEN.
STRLEN = 64
# bpftrace 0.17's default BPFTRACE_MAP_KEYS_MAX.
MAX_MAP_KEYS = 4096


@dataclass(frozen=True, slots=True)
class CompileOptions:
    # Positional parameters: $1 is positional[0]. Numeric ones are integers, others strings.
    positional: tuple[str, ...] = ()
    # The -c child's pid, baked into the program as bpftrace does (the child is started,
    # held before exec, before compiling). 0 without -c.
    cpid: int = 0
    # The -c program's path (resolved like a shell does); "" without -c.
    command: str = ""
    # CLOCK_MONOTONIC nanoseconds at kt's start: `elapsed` is nsecs minus this.
    start_ns: int = 0
    # Where tracefs is mounted: tracepoint formats are read from there.
    tracefs: str = "/sys/kernel/tracing"
    source_name: str = "stdin"
    # Size of the event ring buffer in pages (a power of two); None: by what the script prints
    # (see above). Like bpftrace's BPFTRACE_PERF_RB_PAGES, the CLI takes it from KT_RB_PAGES.
    ringbuf_pages: int | None = None
    # Machine facts the compiler may use, given by the driver (None where unavailable):
    # glob -> probe-able kernel functions (kprobe wildcards); symbol -> address (kaddr()).
    kernel_functions: Callable[[str], list[str]] | None = None
    kernel_symbol: Callable[[str], int | None] | None = None
    possible_cpus: Callable[[], int] | None = None
    # -p PID: uprobes on libraries resolve through that process's mappings.
    pid: int = 0
    # --unsafe: allow system() and signal(), which act on the machine, not just observe it.
    unsafe: bool = False
    # BPFTRACE_STRLEN: bytes of str() and of tracepoint string fields.
    strlen: int = STRLEN
    # BPFTRACE_MAP_KEYS_MAX: max_entries of a keyed map (of each key's buckets for hist/lhist).
    map_keys_max: int = MAX_MAP_KEYS
    # -k (1) / -kk (2): report helper calls that fail at run time (HELPER_ERROR events).
    helper_checks: int = 0
    # The settings the environment gave (runtime/cli_env.py names: "STRLEN", "MAP_KEYS_MAX",
    # "PERF_RB_PAGES", "RB_PAGES"): they win over a config block's (compiler/config.py).
    env_set: frozenset[str] = frozenset()
