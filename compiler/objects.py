"""The kernel objects every kt program shares, by name and size: the event ring buffer, the
lost-event counter, the per-CPU scratch record and the stack maps.

Why a module of its own: codegen references these maps, the resource plan writes their names
into `.kt.meta`, and builtins (stacks) pick one by depth; the names belong to none of them.
"""

from __future__ import annotations

EVENTS_MAP = "kt_events"     # RINGBUF: every event record
CONTROL_MAP = "kt_ctl"       # RINGBUF: control records (exit, clear, ...) when kt_events is full
CONTROL_RING_BYTES = 1 << 16
LOST_MAP = "kt_lost"         # ARRAY[2] of u64: [0] records the ring buffer refused,
EXIT_FLAG = 1                # [EXIT_FLAG] is set by exit(): then no probe but END runs
FULL_MAP = "kt_full"         # ARRAY of u64, a slot per keyed map: new keys it refused (full)
READ_ERRORS_MAP = "kt_read_errors"   # -k: ARRAY of u64, [i]: failed probe reads at helper site i
READ_ERRORS_SITES = 1024     # sites counted (a later site's failures are not)
SCRATCH_MAP = "kt_scratch"   # PERCPU_ARRAY[1]: event records too large for the BPF stack
STACKS_MAP = "kt_stacks"     # STACK_TRACE: kstack/ustack ids
STACK_DEPTH = 127            # frames per stack (PERF_MAX_STACK_DEPTH)
# Event records larger than this are built in the scratch map, not on the 512-byte stack.
STACK_RECORD_MAX = 128


def stack_map_name(limit: int) -> str:
    """The STACK_TRACE map of stacks cut at `limit` frames: get_stackid hashes what it stores,
    so stacks of different depths cannot share a map."""
    return STACKS_MAP if limit == STACK_DEPTH else f"{STACKS_MAP}_{limit}"


# Values the runtime writes before attaching, read by the programs from `.rodata` (libbpf's
# `const volatile` globals: the loader creates the section as a one-entry array map, writes
# these and freezes it). Not constants in the code, so one object serves every run: cpid is
# the -c child's pid (0 without -c), start_ns kt's CLOCK_MONOTONIC start (`elapsed`).
RODATA_SECTION = ".rodata"
# ncpus: the running machine's possible CPUs.
RUNTIME_VALUES = {"cpid": "kt_cpid", "elapsed": "kt_start_ns", "ncpus": "kt_ncpus"}   # builtin -> global's name
