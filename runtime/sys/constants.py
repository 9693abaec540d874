"""Numeric constants of the kernel's BPF and perf_event ABI, as IntEnums.

Why a module of its own: every other runtime module speaks in these names, and error messages
print them (``bpf(BPF_PROG_LOAD)``), so they must exist exactly once. Values are from
include/uapi/linux/{bpf,perf_event,btf}.h; those enums are append-only, so the numbers hold on
every kernel that has the member at all.
"""

from __future__ import annotations

import enum
import platform

# --- system call numbers -------------------------------------------------------------------
# bpf(2) and perf_event_open(2) have no glibc wrappers, so they go through syscall(2) with the
# architecture's number (arch/*/entry/syscalls; asm-generic for arm64/riscv).
_SYSCALL_NUMBERS: dict[str, dict[str, int]] = {
    "x86_64": {"bpf": 321, "perf_event_open": 298},
    "aarch64": {"bpf": 280, "perf_event_open": 241},
    "riscv64": {"bpf": 280, "perf_event_open": 241},
    "ppc64le": {"bpf": 361, "perf_event_open": 319},
    "s390x": {"bpf": 351, "perf_event_open": 331},
}


def syscall_number(name: str) -> int | None:
    """The number of system call ``name`` on this machine, or None on an unknown architecture."""
    return _SYSCALL_NUMBERS.get(platform.machine(), {}).get(name)


class BpfCmd(enum.IntEnum):
    """enum bpf_cmd: the first argument of bpf(2)."""

    MAP_CREATE = 0
    MAP_LOOKUP_ELEM = 1
    MAP_UPDATE_ELEM = 2
    MAP_DELETE_ELEM = 3
    MAP_GET_NEXT_KEY = 4
    PROG_LOAD = 5
    OBJ_PIN = 6
    OBJ_GET = 7
    PROG_ATTACH = 8
    PROG_DETACH = 9
    PROG_TEST_RUN = 10
    PROG_GET_NEXT_ID = 11
    MAP_GET_NEXT_ID = 12
    PROG_GET_FD_BY_ID = 13
    MAP_GET_FD_BY_ID = 14
    OBJ_GET_INFO_BY_FD = 15
    PROG_QUERY = 16
    RAW_TRACEPOINT_OPEN = 17
    BTF_LOAD = 18
    BTF_GET_FD_BY_ID = 19
    TASK_FD_QUERY = 20
    MAP_LOOKUP_AND_DELETE_ELEM = 21
    MAP_FREEZE = 22
    BTF_GET_NEXT_ID = 23
    MAP_LOOKUP_BATCH = 24
    MAP_LOOKUP_AND_DELETE_BATCH = 25
    MAP_UPDATE_BATCH = 26
    MAP_DELETE_BATCH = 27
    LINK_CREATE = 28
    LINK_UPDATE = 29
    LINK_GET_FD_BY_ID = 30
    LINK_GET_NEXT_ID = 31
    ENABLE_STATS = 32
    ITER_CREATE = 33
    LINK_DETACH = 34
    PROG_BIND_MAP = 35


# enum bpf_prog_type, bpf_map_type, bpf_attach_type, bpf_link_type: the compiler names them too,
# so they live in compiler/formats/bpf_enums.py (the runtime's names for them stay these).
from ...compiler.formats.bpf_enums import AttachType, LinkType, MapType, ProgType  # noqa: E402,F401

# Map types whose value the kernel returns once per possible CPU (kernel/bpf/syscall.c
# bpf_map_value_size(): round_up(value_size, 8) * num_possible_cpus()).
PERCPU_MAP_TYPES: frozenset[MapType] = frozenset(
    {MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH,
     MapType.PERCPU_CGROUP_STORAGE}
)

# Map types that refuse BTF key/value type ids in MAP_CREATE (libbpf.c bpf_object__create_map
# clears btf_key_type_id/btf_value_type_id for these).
NO_BTF_KV_MAP_TYPES: frozenset[MapType] = frozenset(
    {MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY, MapType.STACK_TRACE,
     MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.DEVMAP, MapType.DEVMAP_HASH,
     MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP, MapType.SOCKHASH, MapType.QUEUE,
     MapType.STACK, MapType.RINGBUF}
)

# Array-like maps: every index exists, DELETE fails with EINVAL; clearing means zeroing.
ARRAY_MAP_TYPES: frozenset[MapType] = frozenset({MapType.ARRAY, MapType.PERCPU_ARRAY})


class UpdateFlags(enum.IntFlag):
    """Flags of BPF_MAP_UPDATE_ELEM."""

    ANY = 0
    NOEXIST = 1
    EXIST = 2
    F_LOCK = 4


# BTF_KIND_*: one enum for the compiler's BTF reader and the runtime's (compiler/formats/btf.py is
# pure, with no kt imports of its own).
from ...compiler.formats.btf_kinds import Kind as BtfKind  # noqa: E402  (kind 0 is VOID there)


# Program loading.
BPF_OBJ_NAME_LEN = 16            # map_name/prog_name are char[16], NUL included
BPF_PSEUDO_MAP_FD = 1            # ld_imm64 src_reg: imm is a map fd
BPF_PSEUDO_MAP_VALUE = 2         # ld_imm64 src_reg: imm is a map fd, insn[1].imm an offset
BPF_F_RDONLY_PROG = 1 << 7       # MAP_CREATE flag: programs may only read the map (.rodata)
BPF_LD_IMM64_OPCODE = 0x18       # BPF_LD | BPF_DW | BPF_IMM, a 16-byte instruction
BPF_INSN_SIZE = 8
LOG_LEVEL_BASIC = 1
LOG_LEVEL_VERBOSE = 2
LOG_LEVEL_STATS = 4
BPF_F_TEST_RUN_ON_CPU = 1 << 1   # PROG_TEST_RUN flags: honour the cpu field

# Ring buffer record header (kernel/bpf/ringbuf.c).
BPF_RINGBUF_BUSY_BIT = 1 << 31
BPF_RINGBUF_DISCARD_BIT = 1 << 30
BPF_RINGBUF_HDR_SZ = 8

# ELF relocation types for EM_BPF (llvm/BinaryFormat/ELFRelocs/BPF.def).
EM_BPF = 247
R_BPF_NONE = 0
R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4
R_BPF_64_32 = 10

# Errno values Linux uses inside the kernel that leak to user space; Python's errno module and
# strerror() do not know them (include/linux/errno.h).
ENOTSUPP = 524


class PerfType(enum.IntEnum):
    """perf_event_attr.type (enum perf_type_id)."""

    HARDWARE = 0
    SOFTWARE = 1
    TRACEPOINT = 2
    HW_CACHE = 3
    RAW = 4
    BREAKPOINT = 5


class PerfSwConfig(enum.IntEnum):
    """perf_event_attr.config for PERF_TYPE_SOFTWARE (enum perf_sw_ids)."""

    CPU_CLOCK = 0
    TASK_CLOCK = 1
    PAGE_FAULTS = 2
    CONTEXT_SWITCHES = 3
    CPU_MIGRATIONS = 4
    PAGE_FAULTS_MIN = 5
    PAGE_FAULTS_MAJ = 6
    ALIGNMENT_FAULTS = 7
    EMULATION_FAULTS = 8
    DUMMY = 9
    BPF_OUTPUT = 10


class PerfSample(enum.IntFlag):
    """perf_event_attr.sample_type bits (the subset kt uses)."""

    IP = 1 << 0
    TID = 1 << 1
    TIME = 1 << 2
    RAW = 1 << 10


class PerfAttrFlag(enum.IntFlag):
    """Bits of the perf_event_attr bitfield word at offset 40 (disabled is bit 0, ...)."""

    DISABLED = 1 << 0
    INHERIT = 1 << 1
    PINNED = 1 << 2
    EXCLUSIVE = 1 << 3
    EXCLUDE_USER = 1 << 4
    EXCLUDE_KERNEL = 1 << 5
    EXCLUDE_HV = 1 << 6
    EXCLUDE_IDLE = 1 << 7
    MMAP = 1 << 8
    COMM = 1 << 9
    FREQ = 1 << 10
    INHERIT_STAT = 1 << 11
    ENABLE_ON_EXEC = 1 << 12
    TASK = 1 << 13
    WATERMARK = 1 << 14


class PerfFlag(enum.IntFlag):
    """The flags argument of perf_event_open(2)."""

    FD_NO_GROUP = 1 << 0
    FD_OUTPUT = 1 << 1
    PID_CGROUP = 1 << 2
    FD_CLOEXEC = 1 << 3


PERF_ATTR_SIZE_VER8 = 136  # sizeof(struct perf_event_attr) with config3 (6.3+)


class PerfIoctl(enum.IntEnum):
    """perf_event ioctls (_IO('$', n) / _IOW('$', n, u32)), x86_64/arm64 encoding."""

    ENABLE = 0x2400
    DISABLE = 0x2401
    REFRESH = 0x2402
    RESET = 0x2403
    SET_BPF = 0x40042408

    @property
    def call_name(self) -> str:
        return f"PERF_EVENT_IOC_{self.name}"
