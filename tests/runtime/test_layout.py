"""kt.runtime.layout: .kt.meta types, decoding, per-CPU reduction (pure, no kernel)."""

import struct

import pytest

from kt.runtime.layout import (
    Avg, IntType, MapMeta, PrintfMeta, StrType, TupleType, decode, map_meta_from_json,
    percpu_value_size, printf_args, reduce_percpu, split_percpu, type_from_json, type_to_json,
)

I64, U64, U32, I8 = IntType(8, True), IntType(8, False), IntType(4, False), IntType(1, True)

# the example of docs/object-format.md
DOC_MAP = {"name": "@s", "bpf_name": "AT_s", "agg": "count",
           "key": {"kind": "tuple", "size": 24, "fields": [
               {"offset": 0, "type": {"kind": "int", "size": 8, "signed": False}},
               {"offset": 8, "type": {"kind": "str", "size": 16}}]},
           "value": {"kind": "int", "size": 8, "signed": False}}
DOC_PRINTF = {"id": 0, "format": "%s %d\n",
              "args": [{"offset": 8, "type": {"kind": "str", "size": 64}},
                       {"offset": 72, "type": {"kind": "int", "size": 8, "signed": True}}]}


def test_type_from_json_doc_example():
    key = type_from_json(DOC_MAP["key"])
    assert key == TupleType(24, ((0, U64), (8, StrType(16))))
    assert type_to_json(key) == DOC_MAP["key"]


@pytest.mark.parametrize("bad", [
    {"kind": "float", "size": 8},
    {"kind": "int", "size": 3, "signed": True},
    {"kind": "int", "size": 8},
    {"kind": "int", "size": True, "signed": True},
    {"kind": "str", "size": 0},
    {"kind": "tuple", "size": 8, "fields": [{"offset": 0, "type": {"kind": "str", "size": 16}}]},
    {"kind": "tuple", "size": 16, "fields": [{"offset": 0, "type": {"kind": "int", "size": 8, "signed": True}},
                                             {"offset": 4, "type": {"kind": "int", "size": 4, "signed": True}}]},
    {"size": 8},
    [],
])
def test_type_from_json_rejects(bad):
    with pytest.raises(ValueError):
        type_from_json(bad)


def test_decode_ints():
    buf = struct.pack("<qQiHb", -2, 2**64 - 1, -3, 65535, -128)
    assert decode(I64, buf) == -2
    assert decode(U64, buf, 8) == 2**64 - 1
    assert decode(IntType(4, True), buf, 16) == -3
    assert decode(IntType(2, False), buf, 20) == 65535
    assert decode(I8, buf, 22) == -128
    assert decode(IntType(1, False), buf, 22) == 128


def test_decode_strings_stop_at_nul_or_size():
    assert decode(StrType(8), b"ls\0junk\0") == b"ls"
    assert decode(StrType(4), b"abcdef") == b"abcd"      # full, no NUL
    assert decode(StrType(4), b"\0abc") == b""


def test_decode_tuple_and_bounds():
    t = type_from_json(DOC_MAP["key"])
    buf = struct.pack("<Q", 1234) + b"bash".ljust(16, b"\0")
    assert decode(t, buf) == (1234, b"bash")
    with pytest.raises(ValueError):
        decode(t, buf[:-1])
    with pytest.raises(ValueError):
        decode(I64, buf, 20)


def test_map_meta_from_json():
    m = map_meta_from_json(DOC_MAP)
    assert m == MapMeta("@s", "AT_s", "count", TupleType(24, ((0, U64), (8, StrType(16)))), U64)
    assert m.percpu and m.key_size == 24 and m.value_size == 8
    scalar = map_meta_from_json({"name": "@", "bpf_name": "AT_", "agg": "none", "key": None,
                                 "value": {"kind": "str", "size": 16}})
    assert scalar.key is None and scalar.key_size == 8 and not scalar.percpu
    assert scalar.value_size == 16
    assert percpu_value_size("avg", I64) == percpu_value_size("min", I64) == 16
    with pytest.raises(ValueError):
        map_meta_from_json({**DOC_MAP, "agg": "hist2"})
    with pytest.raises(ValueError):
        map_meta_from_json({**DOC_MAP, "agg": "sum", "value": {"kind": "str", "size": 8}})


def meta(agg, signed=True, key=None):
    return MapMeta("@m", "AT_m", agg, key, IntType(8, signed))


def q(v):
    return struct.pack("<q", v)


def Q(v):
    return struct.pack("<Q", v)


def test_reduce_count_and_sum():
    assert reduce_percpu(meta("count", False), [Q(1), Q(0), Q(5)]) == 6
    assert reduce_percpu(meta("count", False), [Q(2**64 - 1), Q(2)]) == 1   # wraps like u64
    assert reduce_percpu(meta("sum"), [q(-5), q(3), q(0)]) == -2
    assert reduce_percpu(meta("sum", False), [Q(2**64 - 1), Q(0)]) == 2**64 - 1
    assert reduce_percpu(meta("sum"), [q(2**63 - 1), q(1)]) == -2**63       # wraps like i64


def test_reduce_min_max_only_set_cpus():
    unset = q(0) + Q(0)
    assert reduce_percpu(meta("min"), [unset, q(7) + Q(1), q(-3) + Q(1), unset]) == -3
    assert reduce_percpu(meta("max"), [q(-9) + Q(1), unset, q(-4) + Q(1)]) == -4
    assert reduce_percpu(meta("min"), [q(-100) + Q(0), q(5) + Q(1)]) == 5   # unset slot ignored
    assert reduce_percpu(meta("max"), [unset, unset]) is None


def test_reduce_avg():
    v = reduce_percpu(meta("avg"), [q(5) + Q(1), q(-8) + Q(1)])
    assert v == Avg(-3, 2)
    assert v.value == -1            # truncated toward zero, as 0.17's `total / count`
    assert Avg(7, 2).value == 3 and Avg(-7, 2).value == -3 and Avg(0, 0).value == 0
    assert Avg(-1, 3).value == 0


def test_reduce_none_decodes_single_value():
    m = MapMeta("@x", "AT_x", "none", None, StrType(16))
    assert reduce_percpu(m, [b"bash".ljust(16, b"\0")]) == b"bash"
    assert reduce_percpu(m, b"ls".ljust(16, b"\0")) == b"ls"
    with pytest.raises(ValueError):
        reduce_percpu(m, [b"\0" * 16, b"\0" * 16])


def test_split_percpu_rounds_slots_to_8_bytes():
    raw = b"\x01\x00\x00\x00" + b"\xee" * 4 + b"\x02\x00\x00\x00" + b"\xee" * 4
    assert split_percpu(raw, 4) == [b"\x01\0\0\0", b"\x02\0\0\0"]
    assert split_percpu(q(1) + Q(1) + q(2) + Q(0), 16) == [q(1) + Q(1), q(2) + Q(0)]
    with pytest.raises(ValueError):
        split_percpu(b"\0" * 12, 8)


def test_printf_meta():
    p = PrintfMeta.from_json(DOC_PRINTF)
    assert p.id == 0 and p.format == "%s %d\n"
    assert p.args == ((8, StrType(64)), (72, I64))
    record = Q(0) + b"hello".ljust(64, b"\0") + q(-42)
    assert printf_args(p, record) == [b"hello", -42]
    with pytest.raises(ValueError):
        PrintfMeta.from_json({"id": 1, "format": "%d", "args": [{"offset": 8}]})
