"""The session's handling of ring-buffer records, fed without a kernel: a stand-in ring buffer
hands records to Session._drain, as kt.runtime.events.RingBuffer does (pure)."""

import io
import struct

from kt.compiler.events import EventId
from kt.runtime.session import Session
from kt.runtime.symbols import value_context

TUPLE = {"kind": "tuple", "size": 24, "fields": [
    {"offset": 0, "type": {"kind": "int", "size": 8, "signed": True}},
    {"offset": 8, "type": {"kind": "str", "size": 8}},
    {"offset": 16, "type": {"kind": "int", "size": 8, "signed": True}}]}
POINT = {"kind": "record", "size": 8, "name": "struct Pt", "fields": [
    {"name": "x", "offset": 0, "type": {"kind": "int", "size": 4, "signed": True}},
    {"name": "y", "offset": 4, "type": {"kind": "int", "size": 4, "signed": True}}]}
META = {
    "events": {"ringbuf": "kt_events", "lost": "kt_lost"},
    "printf": [{"id": 0, "format": "first\n", "args": []}],
    "print_values": [TUPLE, {"kind": "str", "size": 16}, {"kind": "probe"}, POINT,
                     {"kind": "int", "size": 8, "signed": True}],
}


class Ring:
    def __init__(self, records):
        self._records = records

    def records(self):
        yield from self._records


class Obj:
    meta = META
    maps: dict = {}      # no kt_lost map: nothing to report


def value(index, raw):
    return struct.pack("<QQ", EventId.PRINT_VALUE, index) + raw


RECORDS = [
    struct.pack("<Q", 0),                                             # printf("first\n")
    value(0, struct.pack("<q8sq", 1, b"two", -3)),                    # print((1, "two", -3))
    value(1, b"str".ljust(16, b"\0")),                                # print("str")
    value(2, struct.pack("<Q", 0)),                                   # print(probe)
    value(3, struct.pack("<ii", 7, 8)),                               # print(struct value)
    value(4, struct.pack("<q", 7)),                                   # print(7)
    struct.pack("<Q", EventId.EXIT),
    value(4, struct.pack("<q", 8)),                                   # after exit(): dropped
]


def run(json):
    out = io.BytesIO()
    s = Session(b"", out=out, quiet=True, json=json)
    s._read_events_meta(META)
    s._values = value_context(probe_names=["BEGIN"])
    s._drain(Ring(RECORDS), Obj())
    return out.getvalue().decode()


def test_print_value_text_in_event_order():
    assert run(json=False) == "first\n(1, two, -3)\nstr\nBEGIN\n{ .x = 7, .y = 8 }\n7\n"


def test_print_value_json():
    assert run(json=True).splitlines() == [
        '{"type": "printf", "data": "first\\n"}',
        '{"type": "value", "data": [1,"two",-3]}',
        '{"type": "value", "data": "str"}',
        '{"type": "value", "data": "BEGIN"}',
        '{"type": "value", "data": { "x": 7, "y": 8 }}',
        '{"type": "value", "data": 7}',
    ]
