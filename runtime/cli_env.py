"""bpftrace 0.17's environment variables, each also spelled KT_... (which wins when both are set).

Read once, by the CLI, into one immutable record: the compiler gets string and map sizes
through CompileOptions, the runtime gets the rest as Session and symbolizer settings. Values
are checked as 0.17 checks them (std::stoull: leading blanks, a sign, digits, anything after
ignored), and refused with its words.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping

# bpftrace 0.17 keeps strings on the 512-byte BPF stack and refuses more than this.
STRLEN_MAX = 200
_STOULL = re.compile(r"\s*([+-]?)(\d+)")


class EnvError(Exception):
    """A variable with a value bpftrace 0.17 refuses; the message uses its words."""


@dataclass(frozen=True, slots=True)
class Environment:
    strlen: int = 64                  # BPFTRACE_STRLEN: bytes of str() and string fields
    map_keys_max: int = 4096          # BPFTRACE_MAP_KEYS_MAX: max_entries of keyed maps
    perf_rb_pages: int | None = None  # BPFTRACE_PERF_RB_PAGES: event ring pages per CPU
    max_probes: int = 512             # BPFTRACE_MAX_PROBES
    # BPFTRACE_MAX_BPF_PROGS: its value is checked as 0.17 checks it; 0.17 applies no limit
    # of its own that BPFTRACE_MAX_PROBES does not (2 programs load with a limit of 1), nor does kt.
    max_bpf_progs: int = 512
    log_size: int = 1_000_000         # BPFTRACE_LOG_SIZE: first verifier log buffer size
    no_user_symbols: bool = False     # BPFTRACE_NO_USER_SYMBOLS: usym/ustack as addresses
    cache_user_symbols: bool = True   # BPFTRACE_CACHE_USER_SYMBOLS
    no_cpp_demangle: bool = False     # BPFTRACE_NO_CPP_DEMANGLE
    # Every KT_X / BPFTRACE_X that is set, as X: these win over a script's config block
    # (bpftrace 0.26's rule; compiler/config.py, Session.apply_config).
    given: frozenset[str] = frozenset()


def _lookup(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(the spelling found, its value): KT_NAME before BPFTRACE_NAME."""
    for spelled in (f"KT_{name}", f"BPFTRACE_{name}"):
        if spelled in env:
            return spelled, env[spelled]
    return None


def _uint64(env: Mapping[str, str], name: str, default: int | None, zero_ok: bool = False) -> int | None:
    found = _lookup(env, name)
    if found is None:
        return default
    spelled, text = found
    m = _STOULL.match(text)
    value = None
    if m:
        value = int(m.group(2))
        if m.group(1) == "-":      # stoull wraps a negative number, as 0.17 shows it
            value = (-value) % (1 << 64)
    if value is None or (value == 0 and not zero_ok):
        raise EnvError(f"Env var '{spelled}' did not contain a valid uint64_t, or was zero-valued.")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    found = _lookup(env, name)
    if found is None:
        return default
    spelled, text = found
    if text not in ("0", "1"):
        raise EnvError(f"Env var '{spelled}' did not contain a valid value (0 or 1).")
    return text == "1"


MAP_ENTRIES_MAX = (1 << 32) - 1


def read_environment(env: Mapping[str, str] | None = None) -> Environment:
    env = os.environ if env is None else env
    d = Environment()
    strlen = _uint64(env, "STRLEN", d.strlen)
    if strlen > STRLEN_MAX:
        spelled = _lookup(env, "STRLEN")[0]
        raise EnvError(f"'{spelled}' {strlen} exceeds the current maximum of {STRLEN_MAX} bytes.\n"
                       "This limitation is because strings are currently stored on the 512 byte BPF stack.")
    pages = _uint64(env, "PERF_RB_PAGES", None)
    if pages is not None and pages & (pages - 1):
        # The kernel maps a ring of 2^n pages (kernel-facts §3); 0.17's perf buffer fails
        # later with "mmap: Invalid argument".
        spelled = _lookup(env, "PERF_RB_PAGES")[0]
        raise EnvError(f"Env var '{spelled}' must be a power of two, not {pages}.")
    keys_max = _uint64(env, "MAP_KEYS_MAX", d.map_keys_max)
    if keys_max > MAP_ENTRIES_MAX:
        # max_entries is a u32 in bpf_attr; a larger value wrapped around silently.
        spelled = _lookup(env, "MAP_KEYS_MAX")[0]
        raise EnvError(f"Env var '{spelled}' {keys_max} is too large: a BPF map holds at most "
                       f"{MAP_ENTRIES_MAX} entries (max_entries is 32 bits)")
    return Environment(
        strlen=strlen,
        map_keys_max=keys_max,
        perf_rb_pages=pages,
        max_probes=_uint64(env, "MAX_PROBES", d.max_probes, zero_ok=True),
        max_bpf_progs=_uint64(env, "MAX_BPF_PROGS", d.max_bpf_progs),
        log_size=_uint64(env, "LOG_SIZE", d.log_size),
        no_user_symbols=_bool(env, "NO_USER_SYMBOLS", d.no_user_symbols),
        cache_user_symbols=_bool(env, "CACHE_USER_SYMBOLS", d.cache_user_symbols),
        no_cpp_demangle=_bool(env, "NO_CPP_DEMANGLE", d.no_cpp_demangle),
        given=frozenset(k.split("_", 1)[1] for k in env if k.startswith(("KT_", "BPFTRACE_"))),
    )


def ring_pages(env: Environment, kt_rb_pages: str | None) -> int | None:
    """Total pages of kt's one event ring buffer, or None for the compiler's default by what
    the script prints. KT_RB_PAGES gives the total; BPFTRACE_PERF_RB_PAGES is per CPU, as for
    0.17's per-CPU perf buffers, so kt's shared ring gets that many times the possible CPUs."""
    if kt_rb_pages is not None:
        try:
            pages = int(kt_rb_pages)
        except ValueError:
            raise EnvError("KT_RB_PAGES must be a number of pages (a power of two)") from None
        if pages < 1 or pages & (pages - 1):
            raise EnvError(f"KT_RB_PAGES must be a power of two, not {pages}")
        _check_ring_size("KT_RB_PAGES", pages, pages)
        return pages
    if env.perf_rb_pages is None:
        return None
    from .sys.cpus import num_possible_cpus
    total = env.perf_rb_pages * num_possible_cpus()
    total = 1 << (total - 1).bit_length()
    _check_ring_size("BPFTRACE_PERF_RB_PAGES", env.perf_rb_pages, total)
    return total


# A ring buffer's size in bytes is its map's max_entries, a u32 the kernel wants a power of
# two (kernel/bpf/ringbuf.c, ringbuf_map_alloc): 2^31 bytes at most. Larger sizes wrapped to
# max_entries 0 and the kernel's bare EINVAL.
RING_MAX_BYTES = 1 << 31


def _check_ring_size(spelled: str, value: int, total_pages: int) -> None:
    page = os.sysconf("SC_PAGESIZE")
    if total_pages * page > RING_MAX_BYTES:
        per_cpu = "" if spelled == "KT_RB_PAGES" else f" ({total_pages} pages for all CPUs)"
        raise EnvError(f"{spelled}={value} is too large{per_cpu}: the event ring buffer can hold "
                       f"at most {RING_MAX_BYTES // page} pages of {page} bytes (2 GiB, the kernel's "
                       "limit: a ring's size is a 32-bit map max_entries)")


def queue_bytes(kt_queue_mb: str | None) -> int | None:
    """KT_QUEUE_MB: how many MiB of raw event records kt holds beyond the kernel's ring while
    it formats a burst (runtime/pump.py; default 128). None: the default."""
    if kt_queue_mb is None:
        return None
    try:
        mb = int(kt_queue_mb)
    except ValueError:
        raise EnvError("KT_QUEUE_MB must be a number of MiB") from None
    if mb < 0:
        raise EnvError(f"KT_QUEUE_MB must not be negative, not {mb}")
    return mb << 20
