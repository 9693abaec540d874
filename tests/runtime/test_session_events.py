"""The event pump and the record decoders, fed without a kernel: a stand-in ring buffer hands
out blocks of framed records, as kt.runtime.events.RingBuffer.take does (pure)."""

import io
import struct

from kt.compiler.formats.events import EventId
from kt.compiler.formats.meta import ObjectMeta
from kt.runtime.decoders import Decoders
from kt.runtime.output.sink import output_for
from kt.runtime.pump import EventPump
from kt.runtime.symbols import value_context

TUPLE = {"kind": "tuple", "size": 24, "fields": [
    {"offset": 0, "type": {"kind": "int", "size": 8, "signed": True}},
    {"offset": 8, "type": {"kind": "str", "size": 8}},
    {"offset": 16, "type": {"kind": "int", "size": 8, "signed": True}}]}
POINT = {"kind": "record", "size": 8, "name": "struct Pt", "fields": [
    {"name": "x", "offset": 0, "type": {"kind": "int", "size": 4, "signed": True}},
    {"name": "y", "offset": 4, "type": {"kind": "int", "size": 4, "signed": True}}]}
META = ObjectMeta.from_json({
    "version": 2,
    "events": {"ringbuf": "kt_events", "lost": "kt_lost"},
    "printf": [{"id": 0, "format": "first\n", "args": []},
               {"id": 1, "format": "%d %s\n", "args": [{"offset": 8, "type": {"kind": "int", "size": 8, "signed": True}},
                                                       {"offset": 16, "type": {"kind": "str", "size": 8}}]}],
    "print_values": [TUPLE, {"kind": "str", "size": 16}, {"kind": "probe"}, POINT,
                     {"kind": "int", "size": 8, "signed": True}],
})


def framed(records, discard=()) -> bytes:
    """Records as the kernel's ring holds them: an 8-byte header {len | DISCARD<<30, pg_off},
    the record, padding to 8 bytes."""
    out = b""
    for i, rec in enumerate(records):
        hdr = len(rec) | ((1 << 30) if i in discard else 0)
        out += struct.pack("<II", hdr, 0) + rec + bytes(-len(rec) % 8)
    return out


class Ring:
    def __init__(self, block):
        self._blocks = [block]

    def take(self):
        return self._blocks.pop(0) if self._blocks else b""


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


def pump_output(block, json=False) -> str:
    out = io.BytesIO()
    decoders = Decoders(META, Obj(), output_for(json), value_context(probe_names=["BEGIN"]), flush=lambda: None)
    EventPump(Ring(block), None, decoders, out).drain()
    return out.getvalue().decode()


def run(json):
    return pump_output(framed(RECORDS), json)


def line(n: int, s: bytes) -> bytes:
    return struct.pack("<Qq8s", 1, n, s)


def test_a_run_of_one_printf_is_rendered_at_once_and_in_order_with_the_rest():
    records = [line(i, b"ab") for i in range(5)] + [struct.pack("<Q", 0)] + \
              [line(-i, b"long str") for i in range(3)]
    assert pump_output(framed(records)) == "".join(f"{i} ab\n" for i in range(5)) + "first\n" + \
        "0 long str\n-1 long str\n-2 long str\n"


def test_discarded_records_are_skipped():
    records = [line(i, b"x") for i in range(4)]
    assert pump_output(framed(records, discard={1, 2})) == "0 x\n3 x\n"


def test_a_long_run_is_decoded_over_several_turns():
    records = [line(i, b"n") for i in range(20000)]   # more than RECORDS_PER_TURN
    assert pump_output(framed(records)) == "".join(f"{i} n\n" for i in range(20000))


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
