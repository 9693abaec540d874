"""Arrays, records and print(value) in kt.runtime.output.text and .json, against what bpftrace
0.17 printed (pure, no kernel). The expected strings are 0.17's output, except where a comment
says kt differs on purpose."""

import struct

from kt.runtime.layout import (
    ArrayType, ArrayValue, Avg, IntType, MapMeta, RecordField, RecordType, RecordValue, StrType,
    TupleType, decode,
)
from kt.runtime.output import json as json_output
from kt.runtime.output.text import format_key, format_map, format_value, sort_entries

I32, U32, U64, I64, U8 = IntType(4, True), IntType(4, False), IntType(8, False), IntType(8, True), IntType(1, False)


def rec(name, size, *fields):
    return RecordType(size, name, tuple(RecordField(*f) for f in fields))


def m(name, agg="none", key=None, value=I64):
    return MapMeta(name, "AT_" + name[1:], agg, key, value)


POINT = rec("struct Pt", 8, ("x", 0, I32), ("y", 4, I32))
INNER = rec("struct Inner", 8, ("x", 0, I32), ("y", 4, I32))
FOO = rec("struct Foo", 32, ("a", 0, I32), ("b", 4, StrType(8)), ("inner", 12, INNER),
          ("arr", 20, ArrayType(12, 3, I32)))
FOO_RAW = struct.pack("<i8sii3i", -5, b"hello", 11, 12, 100, -200, 300)
# struct K { int k; union { int a; unsigned int b; } u; int z; }
UNION = rec("union U", 4, ("a", 0, I32), ("b", 0, U32))
KEY = rec("struct K", 12, ("k", 0, I32), ("u", 4, UNION), ("z", 8, I32))
KEY_RAW = struct.pack("<iIi", 1, 4294967294, 262147)
ARR3 = ArrayType(12, 3, I32)


def pt(x, y):
    return RecordValue("struct Pt", (("x", x), ("y", y)))


def test_array_values():
    assert format_value(decode(ArrayType(4, 4, U8), bytes([1, 2, 255, 4]))) == "[1,2,255,4]"
    pts = ArrayType(16, 2, POINT)
    assert format_value(ArrayValue((pt(7, 8), pt(21, 22))), pts) == "[{ .x = 7, .y = 8 },{ .x = 21, .y = 22 }]"
    grid = ArrayType(24, 2, ARR3)
    assert format_value(decode(grid, struct.pack("<6i", 0, 1, 2, 10, 11, 12)), grid) == "[[0,1,2],[10,11,12]]"


def test_record_values():
    assert format_value(decode(FOO, FOO_RAW), FOO) == \
        "{ .a = -5, .b = hello, .inner = { .x = 11, .y = 12 }, .arr = [100,-200,300] }"
    # unsigned members print unsigned
    assert format_value(decode(UNION, struct.pack("<I", 4294967294)), UNION) == "{ .a = -2, .b = 4294967294 }"


def test_tuples_unchanged_and_holding_arrays_and_records():
    assert format_value((1, b"two", -3)) == "(1, two, -3)"
    assert format_value((1, (2, b"x"))) == "(1, (2, x))"
    assert format_value((1, ArrayValue((1, 2)), pt(1, 2))) == "(1, [1,2], { .x = 1, .y = 2 })"


def test_keys():
    assert format_key(m("@k", key=ARR3), ArrayValue((100, -200, 300))) == "[[100,-200,300]]"
    multi = TupleType(24, ((0, ARR3), (16, I64)))
    assert format_key(m("@x", key=multi), (ArrayValue((-1, 2, -3)), 5)) == "[[-1,2,-3], 5]"
    # 0.17 prints `.b=-2` here (the unsigned member of a record key read as signed): a 0.17
    # bug; kt prints the value the member holds, as 0.17 itself does for record values.
    assert format_key(m("@", key=KEY), decode(KEY, KEY_RAW)) == "[{.k=1,.u={.a=-2,.b=4294967294},.z=262147}]"


def test_maps_with_array_and_record_keys():
    assert format_map(m("@k", "count", ARR3, U64), [(ArrayValue((100, -200, 300)), 1)]) == "@k[[100,-200,300]]: 1\n"
    multi = TupleType(24, ((0, ARR3), (16, I64)))
    assert format_map(m("@x", "count", multi, U64), [((ArrayValue((-1, 2, -3)), 5), 1)]) == "@x[[-1,2,-3], 5]: 1\n"
    assert format_map(m("@", "count", KEY, U64), [(decode(KEY, KEY_RAW), 1)]) == \
        "@[{.k=1,.u={.a=-2,.b=4294967294},.z=262147}]: 1\n"


def test_maps_with_record_and_array_values_sort_by_key():
    assert format_map(m("@s", value=POINT), [(None, pt(7, 8))]) == "@s: { .x = 7, .y = 8 }\n"
    meta = m("@r", key=I64, value=POINT)
    assert format_map(meta, [(2, pt(1, 1)), (1, pt(9, 9))]) == \
        "@r[1]: { .x = 9, .y = 9 }\n@r[2]: { .x = 1, .y = 1 }\n"
    meta = m("@a", key=I64, value=ARR3)
    assert format_map(meta, [(3, ArrayValue((1, 2, 3))), (-1, ArrayValue((0, 0, 0)))]) == \
        "@a[3]: [1,2,3]\n@a[-1]: [0,0,0]\n"          # int keys compare unsigned


def a(*items):
    return ArrayValue(items)


def test_array_and_record_keys_sort_member_by_member():
    meta = m("@k", key=ARR3, value=ArrayType(4, 1, I32))
    keys = [a(1, 5, 0), a(1, -1, 0), a(0, 9, 9), a(1, 5, -7)]
    assert [k for k, _ in sort_entries(meta, [(k, a(0)) for k in keys])] == \
        [a(0, 9, 9), a(1, 5, 0), a(1, 5, -7), a(1, -1, 0)]
    meta = m("@p", key=POINT, value=StrType(4))
    keys = [pt(2, 0), pt(1, 7), pt(1, 3)]
    assert [k for k, _ in sort_entries(meta, [(k, b"") for k in keys])] == [pt(1, 3), pt(1, 7), pt(2, 0)]
    # avg maps order ties by the key's bytes (0.17's std::map), records included
    meta = m("@v", "avg", POINT, I64)
    assert [k for k, _ in sort_entries(meta, [(pt(2, 0), Avg(1, 1)), (pt(1, 7), Avg(1, 1)),
                                              (pt(0, 0), Avg(0, 1))])] == [pt(0, 0), pt(1, 7), pt(2, 0)]


def data(value):
    """The JSON of a value, as print(value) writes it in a {"type": "value", ...} line."""
    line = json_output.value(value)
    head = '{"type": "value", "data": '
    assert line.startswith(head) and line.endswith("}\n")
    return line[len(head):-2]


def test_json_values():
    assert data(ArrayValue((1, 2, 255, 4))) == "[1,2,255,4]"
    assert data(pt(11, 12)) == '{ "x": 11, "y": 12 }'
    assert data((1, b"two", -3)) == '[1,"two",-3]'
    assert data(decode(FOO, FOO_RAW)) == \
        '{ "a": -5, "b": "hello", "inner": { "x": 11, "y": 12 }, "arr": [100,-200,300] }'
    assert data(ArrayValue((pt(7, 8), pt(21, 22)))) == '[{ "x": 7, "y": 8 },{ "x": 21, "y": 22 }]'
    assert data(RecordValue("struct S", (("s", b'a"b'),))) == '{ "s": "a\\"b" }'


def test_json_maps():
    assert json_output.format_map(m("@k", "count", ARR3, U64), [(ArrayValue((100, -200, 300)), 1)]) == \
        '{"type": "map", "data": {"@k": {"[100,-200,300]": 1}}}\n'
    multi = TupleType(24, ((0, ARR3), (16, I64)))
    assert json_output.format_map(m("@x", "count", multi, U64), [((ArrayValue((-1, 2, -3)), 5), 1)]) == \
        '{"type": "map", "data": {"@x": {"[-1,2,-3],5": 1}}}\n'
    assert json_output.format_map(m("@", "count", KEY, U64), [(decode(KEY, KEY_RAW), 1)]) == \
        '{"type": "map", "data": {"@": {"{.k=1,.u={.a=-2,.b=4294967294},.z=262147}": 1}}}\n'
    assert json_output.format_map(m("@s", value=POINT), [(None, pt(7, 8))]) == \
        '{"type": "map", "data": {"@s": { "x": 7, "y": 8 }}}\n'
    assert json_output.format_map(m("@a", value=ARR3), [(None, ArrayValue((100, -200, 300)))]) == \
        '{"type": "map", "data": {"@a": [100,-200,300]}}\n'


def test_json_print_value():
    assert json_output.value((1, b"two", -3)) == '{"type": "value", "data": [1,"two",-3]}\n'
    assert json_output.value(b"two") == '{"type": "value", "data": "two"}\n'
    assert json_output.value(7) == '{"type": "value", "data": 7}\n'
    assert json_output.value("BEGIN") == '{"type": "value", "data": "BEGIN"}\n'
