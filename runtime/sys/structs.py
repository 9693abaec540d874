"""ctypes layouts of the kernel ABI structs kt passes to bpf(2) and perf_event_open(2).

Why one Structure per bpf_attr variant instead of one big union: each command reads its own
prefix of ``union bpf_attr``, and the kernel accepts any attr size as long as bytes past the
fields it knows are zero (kernel/bpf/syscall.c bpf_check_uarg_tail_zero). Passing exactly the
variant we fill keeps each call honest and lets every offset be checked here once, beside the
declaration (``assert sizeof``), against include/uapi/linux/bpf.h.

Pointers are declared as u64 (``__aligned_u64`` in the uapi header); callers store
``ctypes.addressof(buf)`` and keep ``buf`` alive for the duration of the call.
"""

from __future__ import annotations

import ctypes
from ctypes import c_char, c_int32, c_uint16, c_uint32, c_uint64, sizeof

u16 = c_uint16
u32 = c_uint32
u64 = c_uint64
s32 = c_int32


def _check(cls: type[ctypes.Structure], size: int, **offsets: int) -> None:
    """Assert the size and some field offsets of ``cls`` (import fails on a wrong layout)."""
    assert sizeof(cls) == size, (cls.__name__, sizeof(cls), size)
    for field, off in offsets.items():
        assert getattr(cls, field).offset == off, (cls.__name__, field, off)


class MapCreateAttr(ctypes.Structure):
    """bpf_attr for BPF_MAP_CREATE (up to map_extra, kernel 5.16+; older kernels need the
    trailing fields zero, which they are unless set)."""

    _fields_ = [
        ("map_type", u32),
        ("key_size", u32),
        ("value_size", u32),
        ("max_entries", u32),
        ("map_flags", u32),
        ("inner_map_fd", u32),
        ("numa_node", u32),
        ("map_name", c_char * 16),
        ("map_ifindex", u32),
        ("btf_fd", u32),
        ("btf_key_type_id", u32),
        ("btf_value_type_id", u32),
        ("btf_vmlinux_value_type_id", u32),
        ("map_extra", u64),
    ]


_check(MapCreateAttr, 72, map_name=28, map_ifindex=44, btf_fd=48, btf_key_type_id=52,
       btf_value_type_id=56, map_extra=64)


class MapElemAttr(ctypes.Structure):
    """bpf_attr for BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM and BPF_MAP_GET_NEXT_KEY
    (``value`` doubles as ``next_key``)."""

    _fields_ = [
        ("map_fd", u32),
        ("_pad", u32),
        ("key", u64),
        ("value", u64),
        ("flags", u64),
    ]


_check(MapElemAttr, 32, key=8, value=16, flags=24)


class MapBatchAttr(ctypes.Structure):
    """bpf_attr for BPF_MAP_*_BATCH (5.6+)."""

    _fields_ = [
        ("in_batch", u64),
        ("out_batch", u64),
        ("keys", u64),
        ("values", u64),
        ("count", u32),
        ("map_fd", u32),
        ("elem_flags", u64),
        ("flags", u64),
    ]


_check(MapBatchAttr, 56, count=32, map_fd=36, elem_flags=40, flags=48)


class ProgLoadAttr(ctypes.Structure):
    """bpf_attr for BPF_PROG_LOAD, through fd_array_cnt (6.13). ``log_true_size`` (6.4+) is
    written back by the kernel; on older kernels it simply stays 0."""

    _fields_ = [
        ("prog_type", u32),
        ("insn_cnt", u32),
        ("insns", u64),
        ("license", u64),
        ("log_level", u32),
        ("log_size", u32),
        ("log_buf", u64),
        ("kern_version", u32),
        ("prog_flags", u32),
        ("prog_name", c_char * 16),
        ("prog_ifindex", u32),
        ("expected_attach_type", u32),
        ("prog_btf_fd", u32),
        ("func_info_rec_size", u32),
        ("func_info", u64),
        ("func_info_cnt", u32),
        ("line_info_rec_size", u32),
        ("line_info", u64),
        ("line_info_cnt", u32),
        ("attach_btf_id", u32),
        ("attach_prog_fd", u32),   # union with attach_btf_obj_fd
        ("core_relo_cnt", u32),
        ("fd_array", u64),
        ("core_relos", u64),
        ("core_relo_rec_size", u32),
        ("log_true_size", u32),
        ("prog_token_fd", s32),
        ("fd_array_cnt", u32),
    ]


_check(ProgLoadAttr, 152, insns=8, license=16, log_level=24, log_size=28, log_buf=32,
       kern_version=40, prog_flags=44, prog_name=48, prog_ifindex=64, expected_attach_type=68,
       prog_btf_fd=72, func_info_rec_size=76, func_info=80, func_info_cnt=88,
       line_info_rec_size=92, line_info=96, line_info_cnt=104, attach_btf_id=108,
       attach_prog_fd=112, core_relo_cnt=116, fd_array=120, core_relos=128,
       core_relo_rec_size=136, log_true_size=140, prog_token_fd=144, fd_array_cnt=148)


class BtfLoadAttr(ctypes.Structure):
    """bpf_attr for BPF_BTF_LOAD, through btf_log_true_size (6.4+)."""

    _fields_ = [
        ("btf", u64),
        ("btf_log_buf", u64),
        ("btf_size", u32),
        ("btf_log_size", u32),
        ("btf_log_level", u32),
        ("btf_log_true_size", u32),
    ]


_check(BtfLoadAttr, 32, btf_log_buf=8, btf_size=16, btf_log_size=20, btf_log_level=24,
       btf_log_true_size=28)


class ObjInfoAttr(ctypes.Structure):
    """bpf_attr for BPF_OBJ_GET_INFO_BY_FD. The kernel copies min(info_len, its struct size)
    and writes the length it used back into info_len."""

    _fields_ = [
        ("bpf_fd", u32),
        ("info_len", u32),
        ("info", u64),
    ]


_check(ObjInfoAttr, 16, info_len=4, info=8)


class BpfProgInfo(ctypes.Structure):
    """struct bpf_prog_info (232 bytes on 6.x). Pointer fields are left 0 so the kernel fills
    only the scalar ones."""

    _fields_ = [
        ("type", u32),
        ("id", u32),
        ("tag", ctypes.c_uint8 * 8),
        ("jited_prog_len", u32),
        ("xlated_prog_len", u32),
        ("jited_prog_insns", u64),
        ("xlated_prog_insns", u64),
        ("load_time", u64),
        ("created_by_uid", u32),
        ("nr_map_ids", u32),
        ("map_ids", u64),
        ("name", c_char * 16),
        ("ifindex", u32),
        ("gpl_compatible", u32),   # bitfield: bit 0
        ("netns_dev", u64),
        ("netns_ino", u64),
        ("nr_jited_ksyms", u32),
        ("nr_jited_func_lens", u32),
        ("jited_ksyms", u64),
        ("jited_func_lens", u64),
        ("btf_id", u32),
        ("func_info_rec_size", u32),
        ("func_info", u64),
        ("nr_func_info", u32),
        ("nr_line_info", u32),
        ("line_info", u64),
        ("jited_line_info", u64),
        ("nr_jited_line_info", u32),
        ("line_info_rec_size", u32),
        ("jited_line_info_rec_size", u32),
        ("nr_prog_tags", u32),
        ("prog_tags", u64),
        ("run_time_ns", u64),
        ("run_cnt", u64),
        ("recursion_misses", u64),
        ("verified_insns", u32),
        ("attach_btf_obj_id", u32),
        ("attach_btf_id", u32),
        ("_pad", u32),
    ]


_check(BpfProgInfo, 232, name=64, ifindex=80, netns_dev=88, btf_id=128, nr_line_info=148,
       prog_tags=184, run_time_ns=192, run_cnt=200, verified_insns=216, attach_btf_id=224)


class BpfMapInfo(ctypes.Structure):
    """struct bpf_map_info (through map_extra, 5.16+)."""

    _fields_ = [
        ("type", u32),
        ("id", u32),
        ("key_size", u32),
        ("value_size", u32),
        ("max_entries", u32),
        ("map_flags", u32),
        ("name", c_char * 16),
        ("ifindex", u32),
        ("btf_vmlinux_value_type_id", u32),
        ("netns_dev", u64),
        ("netns_ino", u64),
        ("btf_id", u32),
        ("btf_key_type_id", u32),
        ("btf_value_type_id", u32),
        ("btf_vmlinux_id", u32),
        ("map_extra", u64),
    ]


_check(BpfMapInfo, 88, name=24, ifindex=40, netns_dev=48, btf_id=64, btf_value_type_id=72,
       map_extra=80)


class BpfLinkInfoHead(ctypes.Structure):
    """The common head of struct bpf_link_info: type, id, prog_id. The per-type union that
    follows is not requested (a short info_len is accepted, see ObjInfoAttr)."""

    _fields_ = [
        ("type", u32),
        ("id", u32),
        ("prog_id", u32),
        ("_pad", u32),
    ]


_check(BpfLinkInfoHead, 16, prog_id=8)


class _LinkPerfEvent(ctypes.Structure):
    _fields_ = [("bpf_cookie", u64)]


class _LinkKprobeMulti(ctypes.Structure):
    _fields_ = [
        ("flags", u32),
        ("cnt", u32),
        ("syms", u64),
        ("addrs", u64),
        ("cookies", u64),
    ]


class _LinkTracing(ctypes.Structure):
    _fields_ = [("target_btf_id", u32), ("_pad", u32), ("cookie", u64)]


class _LinkUprobeMulti(ctypes.Structure):
    _fields_ = [
        ("path", u64),
        ("offsets", u64),
        ("ref_ctr_offsets", u64),
        ("cookies", u64),
        ("cnt", u32),
        ("flags", u32),
        ("pid", u32),
        ("_pad", u32),
    ]


class _LinkCreateUnion(ctypes.Union):
    _fields_ = [
        ("perf_event", _LinkPerfEvent),
        ("kprobe_multi", _LinkKprobeMulti),
        ("tracing", _LinkTracing),
        ("uprobe_multi", _LinkUprobeMulti),
    ]


class LinkCreateAttr(ctypes.Structure):
    """bpf_attr for BPF_LINK_CREATE; ``target_fd`` is also ``target_ifindex``. The per-type
    union starts at 16: perf_event.bpf_cookie@16, kprobe_multi.{flags@16, cnt@20, syms@24,
    addrs@32, cookies@40}, tracing.{target_btf_id@16, cookie@24},
    uprobe_multi.{path@16 ... pid@56}."""

    _anonymous_ = ("u",)
    _fields_ = [
        ("prog_fd", u32),
        ("target_fd", u32),
        ("attach_type", u32),
        ("flags", u32),
        ("u", _LinkCreateUnion),
    ]


_check(LinkCreateAttr, 64, attach_type=8, flags=12, u=16)
assert _LinkKprobeMulti.syms.offset == 8 and _LinkUprobeMulti.pid.offset == 40


class LinkDetachAttr(ctypes.Structure):
    """bpf_attr for BPF_LINK_DETACH."""

    _fields_ = [("link_fd", u32)]


_check(LinkDetachAttr, 4)


class IterCreateAttr(ctypes.Structure):
    """bpf_attr for BPF_ITER_CREATE: a new iterator fd of an iter link."""

    _fields_ = [("link_fd", u32), ("flags", u32)]


_check(IterCreateAttr, 8, flags=4)


class RawTracepointOpenAttr(ctypes.Structure):
    """bpf_attr for BPF_RAW_TRACEPOINT_OPEN (cookie is 6.10+)."""

    _fields_ = [("name", u64), ("prog_fd", u32), ("_pad", u32), ("cookie", u64)]


_check(RawTracepointOpenAttr, 24, prog_fd=8, cookie=16)


class ProgTestRunAttr(ctypes.Structure):
    """bpf_attr for BPF_PROG_TEST_RUN (a.k.a. PROG_RUN)."""

    _fields_ = [
        ("prog_fd", u32),
        ("retval", u32),
        ("data_size_in", u32),
        ("data_size_out", u32),
        ("data_in", u64),
        ("data_out", u64),
        ("repeat", u32),
        ("duration", u32),
        ("ctx_size_in", u32),
        ("ctx_size_out", u32),
        ("ctx_in", u64),
        ("ctx_out", u64),
        ("flags", u32),
        ("cpu", u32),
        ("batch_size", u32),
        ("_pad", u32),
    ]


_check(ProgTestRunAttr, 80, retval=4, data_size_in=8, data_size_out=12, data_in=16,
       data_out=24, repeat=32, duration=36, ctx_size_in=40, ctx_size_out=44, ctx_in=48,
       ctx_out=56, flags=64, cpu=68, batch_size=72)


class EnableStatsAttr(ctypes.Structure):
    """bpf_attr for BPF_ENABLE_STATS."""

    _fields_ = [("type", u32)]


_check(EnableStatsAttr, 4)


class GetIdAttr(ctypes.Structure):
    """bpf_attr for BPF_PROG_GET_NEXT_ID (start_id -> next_id) and BPF_PROG_GET_FD_BY_ID
    (the same first word is prog_id)."""

    _fields_ = [("start_id", u32), ("next_id", u32), ("open_flags", u32)]


_check(GetIdAttr, 12, next_id=4, open_flags=8)


class PerfEventAttr(ctypes.Structure):
    """struct perf_event_attr, PERF_ATTR_SIZE_VER8 (136 bytes, with config3).

    The C bitfield word (disabled, inherit, ..., freq, ...) is one u64 ``flags`` here, set from
    constants.PerfAttrFlag, because ctypes bitfields are easy to get subtly wrong. Unions are
    flattened to their first member's name with the alias in a comment.
    """

    _fields_ = [
        ("type", u32),
        ("size", u32),
        ("config", u64),
        ("sample_period", u64),     # union: sample_freq (with PerfAttrFlag.FREQ)
        ("sample_type", u64),
        ("read_format", u64),
        ("flags", u64),             # bitfield word: disabled b0, inherit b1, freq b10, ...
        ("wakeup_events", u32),     # union: wakeup_watermark
        ("bp_type", u32),
        ("config1", u64),           # union: bp_addr, kprobe_func, uprobe_path
        ("config2", u64),           # union: bp_len, kprobe_addr, probe_offset
        ("branch_sample_type", u64),
        ("sample_regs_user", u64),
        ("sample_stack_user", u32),
        ("clockid", s32),
        ("sample_regs_intr", u64),
        ("aux_watermark", u32),
        ("sample_max_stack", u16),
        ("_reserved_2", u16),
        ("aux_sample_size", u32),
        ("aux_action", u32),
        ("sig_data", u64),
        ("config3", u64),
    ]


_check(PerfEventAttr, 136, config=8, sample_period=16, sample_type=24, read_format=32,
       flags=40, wakeup_events=48, bp_type=52, config1=56, config2=64, branch_sample_type=72,
       sample_regs_user=80, sample_stack_user=88, clockid=92, sample_regs_intr=96,
       aux_watermark=104, sample_max_stack=108, aux_sample_size=112, sig_data=120,
       config3=128)


BPF_ATTR_STRUCTS: tuple[type[ctypes.Structure], ...] = (
    MapCreateAttr, MapElemAttr, MapBatchAttr, ProgLoadAttr, BtfLoadAttr, ObjInfoAttr,
    LinkCreateAttr, LinkDetachAttr, RawTracepointOpenAttr, ProgTestRunAttr, EnableStatsAttr,
    GetIdAttr,
)
