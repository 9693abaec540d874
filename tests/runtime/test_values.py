"""kt.runtime.values: array and record (struct, union, bitfield) types, decode and encode
(pure, no kernel)."""

import struct

import pytest
from hypothesis import given, strategies as st

from kt.runtime import layout
from kt.runtime.values import (
    ArrayType, ArrayValue, Bits, IntType, RecordField, RecordType, RecordValue, StrType,
    TupleType, decode, encode, type_from_json, type_to_json,
)

I32, U32, U8, I64, U16 = IntType(4, True), IntType(4, False), IntType(1, False), IntType(8, True), IntType(2, False)


def rec(name, size, *fields):
    return RecordType(size, name, tuple(RecordField(*f) for f in fields))


POINT = rec("struct Pt", 8, ("x", 0, I32), ("y", 4, I32))
# struct Foo { int a; char b[8]; struct Pt inner; int arr[3]; }
FOO = rec("struct Foo", 32, ("a", 0, I32), ("b", 4, StrType(8)), ("inner", 12, POINT),
          ("arr", 20, ArrayType(12, 3, I32)))


def test_array_decodes_elements_in_order():
    t = ArrayType(4, 4, U8)
    assert decode(t, bytes([1, 2, 255, 4])) == ArrayValue((1, 2, 255, 4))
    grid = ArrayType(24, 2, ArrayType(12, 3, I32))
    raw = struct.pack("<6i", 0, 1, 2, 10, 11, 12)
    assert decode(grid, raw) == ArrayValue((ArrayValue((0, 1, 2)), ArrayValue((10, 11, 12))))
    assert encode(grid, decode(grid, raw)) == raw
    assert hash(decode(grid, raw)) == hash(decode(grid, bytes(raw)))   # usable as a map key


def test_record_decodes_fields_in_listed_order():
    raw = struct.pack("<i8sii3i", -5, b"hello", 11, 12, 100, -200, 300)
    v = decode(FOO, raw)
    assert v == RecordValue("struct Foo", (
        ("a", -5), ("b", b"hello"), ("inner", RecordValue("struct Pt", (("x", 11), ("y", 12)))),
        ("arr", ArrayValue((100, -200, 300)))))
    assert encode(FOO, v) == raw
    # listed order, not offset order
    swapped = rec("struct Pt", 8, ("y", 4, I32), ("x", 0, I32))
    assert decode(swapped, struct.pack("<ii", 1, 2)).fields == (("y", 2), ("x", 1))
    assert encode(swapped, RecordValue("struct Pt", (("y", 2), ("x", 1)))) == struct.pack("<ii", 1, 2)


# struct Bits { unsigned int c:4; unsigned int d:8; int e:3; unsigned short tail; }
BITS = rec("struct Bits", 8,
           ("c", 0, U32, Bits(0, 4)), ("d", 0, U32, Bits(4, 8)), ("e", 0, I32, Bits(12, 3)),
           ("tail", 4, U16))


def test_bitfields_signed_and_unsigned():
    word = 9 | 200 << 4 | 0b101 << 12          # c=9, d=200, e=-3 in 3 bits
    raw = struct.pack("<IHxx", word, 7)
    v = decode(BITS, raw)
    assert v == RecordValue("struct Bits", (("c", 9), ("d", 200), ("e", -3), ("tail", 7)))
    assert encode(BITS, v) == raw
    # bits outside a field's own do not leak into it, and encode keeps the neighbours'
    full = struct.pack("<IHxx", 0xFFFFFFFF, 0)
    assert decode(BITS, full).fields[:3] == (("c", 15), ("d", 255), ("e", -1))
    assert decode(BITS, encode(BITS, decode(BITS, full))) == decode(BITS, full)
    for e in (3, -4):                           # the ends of a signed 3-bit field
        v = RecordValue("struct Bits", (("c", 0), ("d", 0), ("e", e), ("tail", 0)))
        assert decode(BITS, encode(BITS, v)) == v


def test_union_fields_overlap():
    # union U { int a; unsigned int b; unsigned char lo; unsigned short half[2]; }
    u = rec("union U", 4, ("a", 0, I32), ("b", 0, U32), ("lo", 0, U8), ("half", 0, ArrayType(4, 2, U16)))
    raw = struct.pack("<i", -2)
    v = decode(u, raw)
    assert v == RecordValue("union U", (("a", -2), ("b", 4294967294), ("lo", 254),
                                        ("half", ArrayValue((0xFFFE, 0xFFFF)))))
    assert encode(u, v) == raw


def p(x, y):
    return RecordValue("struct Pt", (("x", x), ("y", y)))


def test_nested_arrays_of_records():
    pts = ArrayType(16, 2, POINT)
    grid = ArrayType(32, 2, pts)
    raw = struct.pack("<8i", 7, 8, 21, 22, 1, 2, 3, 4)
    v = decode(grid, raw)
    assert v == ArrayValue((ArrayValue((p(7, 8), p(21, 22))), ArrayValue((p(1, 2), p(3, 4)))))
    assert encode(grid, v) == raw
    holder = rec("struct H", 24, ("n", 0, U8), ("pts", 8, pts))
    assert decode(holder, b"\x03" + bytes(7) + raw[:16]).fields == (("n", 3), ("pts", v.items[0]))


def test_json_round_trip_and_doc_form():
    d = {"kind": "record", "size": 8, "name": "struct Bits", "fields": [
        {"name": "c", "offset": 0, "type": {"kind": "int", "size": 4, "signed": False},
         "bits": {"offset": 0, "size": 4}},
        {"name": "d", "offset": 0, "type": {"kind": "int", "size": 4, "signed": False},
         "bits": {"offset": 4, "size": 8}},
        {"name": "e", "offset": 0, "type": {"kind": "int", "size": 4, "signed": True},
         "bits": {"offset": 12, "size": 3}},
        {"name": "tail", "offset": 4, "type": {"kind": "int", "size": 2, "signed": False}}]}
    assert type_from_json(d) == BITS
    assert type_to_json(BITS) == d
    arr = {"kind": "array", "size": 12, "count": 3, "elem": {"kind": "int", "size": 4, "signed": True}}
    assert type_from_json(arr) == ArrayType(12, 3, I32)
    assert type_to_json(ArrayType(12, 3, I32)) == arr
    for t in (FOO, ArrayType(32, 2, ArrayType(16, 2, POINT))):
        assert type_from_json(type_to_json(t)) == t
    # what the other modules import from kt.runtime.layout is still there
    assert layout.RecordType is RecordType and layout.decode is decode and layout.ArrayValue is ArrayValue


INT4 = {"kind": "int", "size": 4, "signed": True}


@pytest.mark.parametrize("bad", [
    {"kind": "array", "size": 12, "count": 2, "elem": INT4},          # size != count * elem
    {"kind": "array", "size": 0, "count": 0, "elem": INT4},           # no elements
    {"kind": "array", "size": 8, "elem": INT4},
    {"kind": "record", "size": 4, "fields": []},                      # no name
    {"kind": "record", "size": 4, "name": "struct S", "fields": [{"name": "a", "offset": 2, "type": INT4}]},
    {"kind": "record", "size": 4, "name": "struct S", "fields": [{"name": "a", "offset": -1, "type": INT4}]},
    {"kind": "record", "size": 4, "name": "struct S", "fields": [{"offset": 0, "type": INT4}]},
    {"kind": "record", "size": 4, "name": "struct S",
     "fields": [{"name": "a", "offset": 0, "type": INT4, "bits": {"offset": 30, "size": 4}}]},
    {"kind": "record", "size": 4, "name": "struct S",
     "fields": [{"name": "a", "offset": 0, "type": INT4, "bits": {"offset": 0, "size": 0}}]},
    {"kind": "record", "size": 8, "name": "struct S",
     "fields": [{"name": "a", "offset": 0, "type": {"kind": "str", "size": 4}, "bits": {"offset": 0, "size": 3}}]},
])
def test_malformed_arrays_and_records_are_rejected(bad):
    with pytest.raises(ValueError):
        type_from_json(bad)


def test_encode_checks_the_value_shape():
    with pytest.raises(TypeError):
        encode(ArrayType(12, 3, I32), (1, 2, 3))                       # a tuple is not an array
    with pytest.raises(TypeError):
        encode(ArrayType(12, 3, I32), ArrayValue((1, 2)))
    with pytest.raises(TypeError):
        encode(POINT, RecordValue("struct Pt", (("y", 1), ("x", 2))))  # fields out of order
    with pytest.raises(ValueError):
        decode(FOO, bytes(31))


def _layout(parts):
    """Non-overlapping fields at the offsets a C compiler might give (with padding)."""
    out, off = [], 0
    for pad, t in parts:
        off += pad
        out.append((off, t))
        off += t.size
    return out, off


def _types(depth=2):
    leaf = st.builds(IntType, st.sampled_from([1, 2, 4, 8]), st.booleans()) | st.builds(StrType, st.integers(1, 12))
    if depth == 0:
        return leaf
    inner = _types(depth - 1)
    arrays = st.tuples(st.integers(1, 3), inner).map(lambda ne: ArrayType(ne[0] * ne[1].size, *ne))

    def record(parts):
        fields, size = _layout(parts)
        return RecordType(size, "struct R", tuple(RecordField(f"f{i}", o, t) for i, (o, t) in enumerate(fields)))

    def tup(parts):
        fields, size = _layout(parts)
        return TupleType(size, tuple(fields))
    parts = st.lists(st.tuples(st.integers(0, 3), inner), min_size=1, max_size=3)
    return leaf | arrays | parts.map(record) | parts.map(tup)


def _values(t):
    if isinstance(t, IntType):
        bits = 8 * t.size
        return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if t.signed else st.integers(0, (1 << bits) - 1)
    if isinstance(t, StrType):
        return st.binary(max_size=t.size).map(lambda b: b.replace(b"\0", b"x"))
    if isinstance(t, ArrayType):
        return st.tuples(*[_values(t.elem)] * t.count).map(ArrayValue)
    if isinstance(t, RecordType):
        return st.tuples(*[_values(f.type) for f in t.fields]).map(
            lambda vs: RecordValue(t.name, tuple((f.name, v) for f, v in zip(t.fields, vs))))
    return st.tuples(*[_values(f) for _, f in t.fields])


@given(st.data())
def test_encode_decode_round_trip(data):
    t = data.draw(_types())
    v = data.draw(_values(t))
    raw = encode(t, v)
    assert len(raw) == t.size
    assert decode(t, raw) == v
    assert decode(t, b"\xaa" * 3 + raw, 3) == v
    assert type_from_json(type_to_json(t)) == t
