"""Map definitions (BTF-defined, in `.maps`) and the code that reads and updates them.

Aggregations live in per-CPU hash maps (keyless ones in per-CPU arrays, whose lookups the
verifier inlines), so the hot path is a lookup and a plain add on this CPU's slot: no atomics,
no cache-line bouncing between CPUs. User space sums the CPUs
(docs/object-format.md has each kind's per-CPU record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvmlite import ir

from ..formats.bpf_enums import MapType
from ..helpers import BPF_ANY, Helper
from ..objects import (CONTROL_MAP, CONTROL_RING_BYTES, EVENTS_MAP, FULL_MAP, LOST_MAP, READ_ERRORS_MAP,
                       READ_ERRORS_SITES, SCRATCH_MAP, stack_map_name)
from ..passes.resources import MapPlan
from ..types import Tuple, is_word
from .debuginfo import DebugInfo

if TYPE_CHECKING:  # pragma: no cover
    from .probe import ProbeCodegen

I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)

MAP_HASH, MAP_ARRAY, MAP_PERCPU_HASH, MAP_PERCPU_ARRAY, MAP_STACK_TRACE, MAP_RINGBUF = (
    MapType.HASH, MapType.ARRAY, MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.STACK_TRACE, MapType.RINGBUF)
STACK_MAP_ENTRIES = 4096
E2BIG = 7    # map_update_elem of a new key into a full hash map (kernel/bpf/hashtab.c)


@dataclass(frozen=True, slots=True)
class MapDef:
    bpf_name: str
    map_type: int
    max_entries: int
    key_dtype: object | None     # debug type of the key, None for ring buffers
    value_dtype: object | None


def define_map(module: ir.Module, di: DebugInfo, d: MapDef) -> ir.GlobalVariable:
    """A libbpf-style map: a zeroed struct of pointers in `.maps`, described in BTF."""
    members = [("type", di.int_array_ptr(d.map_type)), ("max_entries", di.int_array_ptr(d.max_entries))]
    if d.key_dtype is not None:
        members.append(("key", di.pointer(d.key_dtype)))
    if d.value_dtype is not None:
        members.append(("value", di.pointer(d.value_dtype)))
    ptr = ir.IntType(8).as_pointer()
    struct_t = ir.LiteralStructType([ptr] * len(members))
    gv = ir.GlobalVariable(module, struct_t, d.bpf_name)
    gv.initializer = ir.Constant(struct_t, None)
    gv.section = ".maps"
    gv.align = 8
    dtype = di.struct(None, 8 * len(members), [(n, t, 64, 64 * i) for i, (n, t) in enumerate(members)])
    di.global_var(gv, d.bpf_name, dtype)
    return gv


def user_map_def(di: DebugInfo, plan: MapPlan) -> MapDef:
    # Tuple keys and values are named structs after the map (`struct AT_x_key`, `AT_key` for
    # `@`), so bpftool and libbpf users see their fields; aggregations' records are `kt_avg`...
    base = plan.bpf_name.rstrip("_")
    key_dtype = di.int_type(64, False) if plan.key is None else di.of(plan.key, f"{base}_key")
    if plan.array:      # the u32 index: 0, or the bucket of a keyless hist/lhist
        key_dtype = di.int_type(32, False)
    elif plan.bucketed:  # the BPF key is the user key followed by the u64 bucket index
        u64 = di.int_type(64, False)
        members = [] if plan.key is None else [("key", di.of(plan.key), plan.key.size * 8, 0)]
        key_dtype = di.struct(f"{base}_key", plan.key_size, members + [("bucket", u64, 64, plan.bucket_offset * 8)])
    if plan.agg in ("min", "max"):
        s64 = di.int_type(64, True)
        value_dtype = di.struct(f"kt_{plan.agg}", 16, [("value", s64, 64, 0), ("set", di.int_type(64, False), 64, 64)])
    elif plan.agg == "sum" and plan.array:
        value_dtype = di.struct("kt_sum", 16, [("value", di.int_type(64, True), 64, 0),
                                               ("set", di.int_type(64, False), 64, 64)])
    elif plan.agg == "tseries":
        u64 = di.int_type(64, False)
        value_dtype = di.struct("kt_tseries", 24, [("value", di.int_type(64, True), 64, 0), ("meta", u64, 64, 64),
                                                  ("epoch", u64, 64, 128)])
    elif plan.agg in ("avg", "stats"):
        value_dtype = di.struct("kt_avg", 16, [("total", di.int_type(64, True), 64, 0),
                                               ("count", di.int_type(64, False), 64, 64)])
    else:
        value_dtype = di.of(plan.value, f"{base}_value")
    if plan.array:
        map_type = MAP_PERCPU_ARRAY
    elif plan.lru:      # a declared lruhash / percpulruhash (bpftrace 0.20+)
        map_type = MapType.LRU_PERCPU_HASH if plan.percpu else MapType.LRU_HASH
    else:
        map_type = MAP_PERCPU_HASH if plan.percpu else MAP_HASH
    return MapDef(plan.bpf_name, map_type, plan.max_entries, key_dtype, value_dtype)


def event_map_defs(di: DebugInfo, ringbuf_bytes: int, scratch_size: int, stack_limits=(),
                   control: bool = False, full_slots: int = 0, read_errors: bool = False) -> list[MapDef]:
    defs = [
        MapDef(EVENTS_MAP, MAP_RINGBUF, ringbuf_bytes, None, None),
        MapDef(LOST_MAP, MAP_ARRAY, 2, di.int_type(32, False), di.int_type(64, False)),
    ]
    if full_slots:
        defs.append(MapDef(FULL_MAP, MAP_ARRAY, full_slots, di.int_type(32, False), di.int_type(64, False)))
    if read_errors:
        defs.append(MapDef(READ_ERRORS_MAP, MAP_ARRAY, READ_ERRORS_SITES, di.int_type(32, False),
                           di.int_type(64, False)))
    if control:
        defs.append(MapDef(CONTROL_MAP, MAP_RINGBUF, CONTROL_RING_BYTES, None, None))
    if scratch_size:
        char = di.basic("char", 8, "DW_ATE_signed_char")
        defs.append(MapDef(SCRATCH_MAP, MAP_PERCPU_ARRAY, 1, di.int_type(32, False), di.array(char, 8, scratch_size)))
    for limit in stack_limits:
        u64 = di.int_type(64, False)
        defs.append(MapDef(stack_map_name(limit), MAP_STACK_TRACE, STACK_MAP_ENTRIES, di.int_type(32, False),
                           di.array(u64, 64, limit)))
    return defs


# libbpf's USDT support maps (usdt.bpf.h, libbpf 1.1): bpf_program__attach_usdt() looks them up
# by these names and fills them (an argument spec per site, keyed by the attach cookie it
# gives the link). kt's programs never read them: kt reads USDT arguments from .kt.meta's
# specs compiled in, and its own runtime's cookie is the site index.
USDT_SPECS_MAP, USDT_IP_MAP = "__bpf_usdt_specs", "__bpf_usdt_ip_to_spec_id"
USDT_MAX_SPEC_CNT = 256            # BPF_USDT_MAX_SPEC_CNT
USDT_MAX_ARG_CNT = 12              # BPF_USDT_MAX_ARG_CNT


def usdt_map_defs(di: DebugInfo) -> list[MapDef]:
    """The two maps, typed as usdt.bpf.h declares them (value 208 bytes, key int; long -> u32)."""
    u64, s32, u32 = di.int_type(64, False), di.int_type(32, True), di.int_type(32, False)
    s16, s8 = di.int_type(16, True), di.int_type(8, True)
    arg = di.struct("__bpf_usdt_arg_spec", 16, [
        ("val_off", u64, 64, 0), ("arg_type", u32, 32, 64), ("reg_off", s16, 16, 96),
        ("arg_signed", di.int_type(8, False), 8, 112), ("arg_bitshift", s8, 8, 120)])
    spec = di.struct("__bpf_usdt_spec", 208, [
        ("args", di.array(arg, 128, USDT_MAX_ARG_CNT), 128 * USDT_MAX_ARG_CNT, 0),
        ("usdt_cookie", u64, 64, 128 * USDT_MAX_ARG_CNT), ("arg_cnt", s16, 16, 128 * USDT_MAX_ARG_CNT + 64)])
    return [MapDef(USDT_SPECS_MAP, MAP_ARRAY, USDT_MAX_SPEC_CNT, s32, spec),
            MapDef(USDT_IP_MAP, MAP_HASH, 4 * USDT_MAX_SPEC_CNT, di.int_type(64, True), u32)]


# ---- code ------------------------------------------------------------------------------

def build_key(cg: "ProbeCodegen", plan: MapPlan, key_exprs: list) -> ir.Value:
    """A pointer to the key on the stack, zero-padded so equal keys hash equally."""
    if plan.key is None:
        # A scalar map (@x) is a hash map with the single key 0 (u64), as in bpftrace; a
        # scalar histogram's key is just its bucket index, written by the caller. A per-CPU
        # array reads the low 4 bytes of the same u64 (its u32 index, little-endian).
        buf = cg.stack(8, "key")
        cg.b.store(ir.Constant(I64, 0), cg.b.bitcast(buf, I64.as_pointer()))
        return buf
    buf = cg.stack(plan.key_size, "key")
    cg.memset0(buf, plan.key_size)
    if isinstance(plan.key, Tuple) and len(key_exprs) > 1:
        for e, t, off in zip(key_exprs, plan.key.elems, plan.key.offsets):
            cg.store_value(cg.offset(buf, off), t, e)
    else:   # one key, a tuple value among them (`@m[(a, b)]` is `@m[a, b]`)
        cg.store_value(buf, plan.key, key_exprs[0])
    return buf


def lookup(cg: "ProbeCodegen", plan: MapPlan, key: ir.Value) -> ir.Value:
    return cg.helper_ptr(Helper.map_lookup_elem, cg.map_ptr(plan.bpf_name), key)


def update(cg: "ProbeCodegen", plan: MapPlan, key: ir.Value, value: ir.Value, flags: int) -> None:
    """map_update_elem; a new key a full map refuses (-E2BIG) is counted for the map's
    FULL_MAP slot (ProbeCodegen.count_refused), so that the session can say which map filled."""
    ret = cg.helper(Helper.map_update_elem, cg.map_ptr(plan.bpf_name), key, value, ir.Constant(I64, flags))
    slot = cg.plan.full_slot(plan.name)
    if slot is not None:
        cg.count_refused(slot, ret, -E2BIG)


# Aggregations whose value an expression may read (bpftrace 0.2x, "PERCPU types"): the total
# or extreme over the CPUs, as the map prints.
READABLE_AGGS = ("count", "sum", "min", "max")


def read_map(cg: "ProbeCodegen", plan: MapPlan, key_exprs: list) -> ir.Value:
    """The value under a key, or zero (empty string) when the key is absent."""
    key = build_key(cg, plan, key_exprs)
    if plan.agg in READABLE_AGGS:   # a per-CPU aggregation read as one integer
        from .loops import percpu_total

        slot = cg.stack(8, "mapval")
        slot64 = cg.b.bitcast(slot, I64.as_pointer())
        cg.b.store(ir.Constant(I64, 0), slot64)
        percpu_total(cg, plan, key, slot)
        return cg.b.load(slot64)
    p = lookup(cg, plan, key)
    if cg.options.helper_checks >= 2:   # -kk: bpftrace 0.17 reports a read of a missing key
        cg.check_helper(Helper.map_lookup_elem, p)
    found = cg.b.icmp_unsigned("!=", p, ir.Constant(p.type, None))
    if not is_word(plan.value):
        out = cg.stack(plan.value.size, "mapval")
        cg.memset0(out, plan.value.size)
        with cg.b.if_then(found):
            cg.memcpy(out, p, plan.value.size)
        return out
    slot = cg.stack(8, "mapval")
    slot64 = cg.b.bitcast(slot, I64.as_pointer())
    cg.b.store(ir.Constant(I64, 0), slot64)
    with cg.b.if_then(found):
        cg.b.store(cg.b.load(cg.b.bitcast(p, I64.as_pointer())), slot64)
    return cg.b.load(slot64)


def write_map(cg: "ProbeCodegen", plan: MapPlan, key_exprs: list, value_expr) -> None:
    key = build_key(cg, plan, key_exprs)
    val = cg.stack(plan.value_size, "val")
    cg.memset0(val, plan.value_size)
    cg.store_value(val, plan.value, value_expr)
    update(cg, plan, key, val, BPF_ANY)


def store_int_map(cg: "ProbeCodegen", plan: MapPlan, key_exprs: list, value: ir.Value) -> None:
    key = build_key(cg, plan, key_exprs)
    val = cg.stack(8, "val")
    cg.b.store(value, cg.b.bitcast(val, I64.as_pointer()))
    update(cg, plan, key, val, BPF_ANY)


def log2_bucket(cg: "ProbeCodegen", v: ir.Value, signed: bool) -> ir.Value:
    """hist()'s bucket: 0 for v < 0, 1 for 0, 2 + floor(log2(v)) for v >= 1 — a branch-free
    binary search over the bits (no loops for the verifier). As in bpftrace 0.17, the search
    covers 32 bits (every v >= 2^31 lands in [2G, 4G)) and v is compared as a signed number."""
    b = cg.b
    zero = ir.Constant(I64, 0)
    n = zero
    x = v
    for shift in (16, 8, 4, 2, 1):
        big = b.icmp_unsigned(">=", x, ir.Constant(I64, 1 << shift))
        x = b.select(big, b.lshr(x, ir.Constant(I64, shift)), x)
        n = b.select(big, b.add(n, ir.Constant(I64, shift)), n)
    idx = b.select(b.icmp_unsigned("==", v, zero), ir.Constant(I64, 1), b.add(n, ir.Constant(I64, 2)))
    return b.select(b.icmp_signed("<", v, zero), zero, idx)


def log2k_bucket(cg: "ProbeCodegen", v: ir.Value, k: int) -> ir.Value:
    """hist(v, k)'s bucket (bpftrace 0.20), over all 64 bits: 0 for v < 0; v + 1 for
    v < 2^k; else, with m = floor(log2(v)) and l = m - k, ((l + 1) << k) + 1 plus the k bits
    after the highest one ((v >> l) & (2^k - 1)). Values 0 .. 2^(k+1) - 1 get a bucket
    each, every higher power of two 2^k buckets. Branch-free: a binary search for m, selects."""
    b = cg.b
    zero = ir.Constant(I64, 0)
    mask = (1 << k) - 1
    m = zero
    x = v
    for shift in (32, 16, 8, 4, 2, 1):
        big = b.icmp_unsigned(">=", x, ir.Constant(I64, 1 << shift))
        x = b.select(big, b.lshr(x, ir.Constant(I64, shift)), x)
        m = b.select(big, b.add(m, ir.Constant(I64, shift)), m)
    # l is negative only for v < 2^k, whose index is the other arm: masked, the shift stays
    # defined (an LLVM shift by 64 or more is poison)
    l = b.and_(b.sub(m, ir.Constant(I64, k)), ir.Constant(I64, 63))
    sub = b.and_(b.lshr(v, l), ir.Constant(I64, mask))
    big_idx = b.add(b.add(b.shl(b.add(l, ir.Constant(I64, 1)), ir.Constant(I64, k)), sub), ir.Constant(I64, 1))
    small = b.icmp_unsigned("<=", v, ir.Constant(I64, mask))
    idx = b.select(small, b.add(v, ir.Constant(I64, 1)), big_idx)
    return b.select(b.icmp_signed("<", v, zero), zero, idx)


def linear_bucket(cg: "ProbeCodegen", v: ir.Value, signed: bool, lo: int, hi: int, step: int) -> ir.Value:
    """lhist()'s bucket: 0 below min, 1 + (v - min) / step inside, the last one at max or above
    (compared as signed numbers, as bpftrace 0.17 does)."""
    b = cg.b
    below = b.icmp_signed("<", v, ir.Constant(I64, lo))
    above = b.icmp_signed(">=", v, ir.Constant(I64, hi))
    inside = b.add(b.udiv(b.sub(v, ir.Constant(I64, lo)), ir.Constant(I64, step)), ir.Constant(I64, 1))
    last = ir.Constant(I64, (hi - lo) // step + 1)
    return b.select(below, ir.Constant(I64, 0), b.select(above, last, inside))


def aggregate(cg: "ProbeCodegen", plan: MapPlan, key_exprs: list, arg: ir.Value | None) -> None:
    """count/sum/min/max/avg/stats/hist/lhist into this CPU's slot; a missing key is created
    with its first value."""
    if plan.agg == "tseries":
        tseries_update(cg, plan, key_exprs, arg)
        return
    b = cg.b
    key = build_key(cg, plan, key_exprs)
    if plan.bucketed:
        signed = plan.value_signed
        if plan.agg == "hist":
            bucket = (log2_bucket(cg, arg, signed) if plan.hist_bits is None
                      else log2k_bucket(cg, arg, plan.hist_bits))
        else:
            bucket = linear_bucket(cg, arg, signed, *plan.lhist)
        b.store(bucket, b.bitcast(cg.offset(key, plan.bucket_offset), I64.as_pointer()))
    p = lookup(cg, plan, key)
    p64 = b.bitcast(p, I64.as_pointer())
    one = ir.Constant(I64, 1)
    absent = b.icmp_unsigned("==", p, ir.Constant(p.type, None))
    if plan.array:      # every entry exists: NULL only for the verifier
        with b.if_then(b.not_(absent)):
            _add_to_slot(cg, plan, p64, arg)
        return
    with b.if_else(absent) as (then, otherwise):
        with then:
            init = cg.stack(plan.value_size, "init")
            init64 = b.bitcast(init, I64.as_pointer())
            if plan.agg in ("count", "hist", "lhist"):
                b.store(one, init64)
            elif plan.agg == "sum":
                b.store(arg, init64)
            else:  # min/max: {value, set}; avg: {total, count}
                b.store(arg, init64)
                b.store(one, b.gep(init64, [ir.Constant(I32, 1)]))
            # BPF_ANY, not BPF_NOEXIST: when another CPU created the key since the lookup,
            # NOEXIST failed (-EEXIST) and this value was lost; a BPF program's update of a
            # per-CPU hash entry writes this CPU's slot only (hashtab.c pcpu_copy_value with
            # onallcpus false), which the other CPU's insert left zero.
            update(cg, plan, key, init, BPF_ANY)
        with otherwise:
            _add_to_slot(cg, plan, p64, arg)


def tseries_update(cg: "ProbeCodegen", plan: MapPlan, key_exprs: list, arg: ir.Value) -> None:
    """tseries(v, interval, n[, agg]) (bpftrace 0.24): epoch = TAI ns / interval, the ring
    bucket epoch % n of the key; this CPU's {value, meta, epoch} restarts when its epoch is
    older, else takes v by the aggregation (none: the last value, meta its time; avg: the sum,
    meta the count; min, max, sum). User space combines the CPUs of the latest epoch."""
    b = cg.b
    interval, intervals, func = plan.tseries
    key = build_key(cg, plan, key_exprs)
    now = cg.helper(Helper.ktime_get_tai_ns)
    epoch = b.udiv(now, ir.Constant(I64, interval))
    bucket = b.urem(epoch, ir.Constant(I64, intervals))
    b.store(bucket, b.bitcast(cg.offset(key, plan.bucket_offset), I64.as_pointer()))
    first_meta = now if func == "none" else ir.Constant(I64, 1 if func == "avg" else 0)
    p = lookup(cg, plan, key)
    p64 = b.bitcast(p, I64.as_pointer())
    absent = b.icmp_unsigned("==", p, ir.Constant(p.type, None))

    def write_existing() -> None:
        meta_p = b.gep(p64, [ir.Constant(I32, 1)])
        epoch_p = b.gep(p64, [ir.Constant(I32, 2)])
        stale = b.icmp_unsigned("!=", b.load(epoch_p), epoch)   # also a never-written slot: 0
        with b.if_else(stale) as (restart, same):
            with restart:
                b.store(arg, p64)
                b.store(first_meta, meta_p)
                b.store(epoch, epoch_p)
            with same:
                cur = b.load(p64)
                if func == "none":
                    b.store(arg, p64)
                    b.store(now, meta_p)
                elif func in ("sum", "avg"):
                    b.store(b.add(cur, arg), p64)
                    if func == "avg":
                        b.store(b.add(b.load(meta_p), ir.Constant(I64, 1)), meta_p)
                else:
                    op = "<" if func == "min" else ">"
                    better = (b.icmp_signed if plan.value.signed else b.icmp_unsigned)(op, arg, cur)
                    b.store(b.select(better, arg, cur), p64)

    if plan.array:      # a keyless tseries: a PERCPU_ARRAY of its ring, every bucket exists
        with b.if_then(b.not_(absent)):
            write_existing()
        return
    with b.if_else(absent) as (then, otherwise):
        with then:
            init = cg.stack(24, "init")
            init64 = b.bitcast(init, I64.as_pointer())
            b.store(arg, init64)
            b.store(first_meta, b.gep(init64, [ir.Constant(I32, 1)]))
            b.store(epoch, b.gep(init64, [ir.Constant(I32, 2)]))
            update(cg, plan, key, init, BPF_ANY)
        with otherwise:
            write_existing()


def _add_to_slot(cg: "ProbeCodegen", plan: MapPlan, p64: ir.Value, arg: ir.Value | None) -> None:
    """One more value into this CPU's slot of an existing entry."""
    b = cg.b
    one = ir.Constant(I64, 1)
    if plan.agg in ("count", "sum", "hist", "lhist"):
        b.store(b.add(b.load(p64), arg if plan.agg == "sum" else one), p64)
        if plan.agg == "sum" and plan.array:     # {sum, set}
            b.store(one, b.gep(p64, [ir.Constant(I32, 1)]))
    elif plan.agg in ("avg", "stats"):
        b.store(b.add(b.load(p64), arg), p64)
        cnt = b.gep(p64, [ir.Constant(I32, 1)])
        b.store(b.add(b.load(cnt), one), cnt)
    else:
        cur = b.load(p64)
        set_p = b.gep(p64, [ir.Constant(I32, 1)])
        op = "<" if plan.agg == "min" else ">"
        better = (b.icmp_signed if plan.value.signed else b.icmp_unsigned)(op, arg, cur)
        unset = b.icmp_unsigned("==", b.load(set_p), ir.Constant(I64, 0))
        with b.if_then(b.or_(better, unset)):
            b.store(arg, p64)
            b.store(one, set_p)
