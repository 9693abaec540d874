"""The fast printf path (runtime/output/printf_fast.py) prints what the reference renderer
(runtime/output/printf.py, bpftrace 0.17's rules) prints, byte for byte, for every format it
takes; the formats it refuses stay on the reference path."""

from __future__ import annotations

import random
import struct

import pytest

from kt.compiler.formats.printf_format import parse_format
from kt.runtime.output.printf import render_bytes
from kt.runtime.output.printf_fast import compile_printf
from kt.runtime.values import IntType, StrType, decode

INTS = [IntType(s, sg) for s in (1, 2, 4, 8) for sg in (False, True)]
CONVS = ["d", "u", "x", "X", "o"]
LENGTHS = ["", "hh", "h", "l", "ll", "z"]
FLAGS = ["", "-", "0", "-0"]
WIDTHS = ["", "1", "5", "12"]


def _record(args, values) -> bytes:
    rec = bytearray(8 + sum(t.size for t in args) + 64)
    struct.pack_into("<Q", rec, 0, 7)
    off = 8
    layout = []
    for t, v in zip(args, values):
        if isinstance(t, IntType):
            rec[off:off + t.size] = (v & ((1 << (8 * t.size)) - 1)).to_bytes(t.size, "little")
        else:
            rec[off:off + t.size] = v[:t.size].ljust(t.size, b"\0")
        layout.append((off, t))
        off += t.size
    return bytes(rec), layout


def _check(fmt: str, args, values) -> bool:
    segs = parse_format(fmt)
    rec, layout = _record(args, values)
    fast = compile_printf(segs, layout, len(rec))
    if fast is None:
        return False
    expected = render_bytes(segs, [decode(t, rec, off) for off, t in layout])
    pad = b"junk" + rec   # records sit at any offset of a chunk
    assert fast.one(pad, 4) == expected, (fmt, args, values)
    # a run of three such records, each after its 8-byte ring header, padded to the stride
    framed = (bytes(8) + rec).ljust(fast.stride, b"\0")
    assert fast.run(memoryview(framed * 3)) == [expected] * 3
    return True


def _int_value(rng: random.Random, t: IntType) -> int:
    bits = 8 * t.size
    v = rng.choice([0, 1, -1, 255, 65535, 1 << (bits - 1), (1 << bits) - 1, rng.getrandbits(bits)])
    v &= (1 << bits) - 1
    return v - (1 << bits) if t.signed and v >> (bits - 1) else v


def test_integer_conversions_match_the_reference():
    rng = random.Random(8)
    taken = 0
    for conv in CONVS:
        for length in LENGTHS:
            for flags in FLAGS:
                for width in WIDTHS:
                    for t in INTS:
                        spec = f"%{flags}{width}{length}{conv}"
                        for _ in range(4):
                            taken += _check(f"<{spec}>\n", [t], [_int_value(rng, t)])
    assert taken > 1000   # most of these take the fast path


def test_strings_and_mixed_records_match_the_reference():
    rng = random.Random(9)
    strings = [b"", b"a", b"bash", b"0123456789abcdef", b"with\0nul", b"\xff\xfe", b"100%"]
    for fmt in ("%s\n", "[%-10s]", "[%10s]", "[%.3s]", "[%-8.2s]", "%d %s %d\n", "%s=%lu%%\n", "%s%s", "pid %-6d comm %-16s\n"):
        for _ in range(30):
            n = sum(1 for s in parse_format(fmt) if hasattr(s, "conversion"))
            kinds = [s.conversion for s in parse_format(fmt) if hasattr(s, "conversion")]
            args = [StrType(rng.choice([1, 8, 16, 64])) if k == "s"
                    else IntType(8, rng.choice([False, True])) for k in kinds]   # printf widens integers
            values = [rng.choice(strings) if isinstance(t, StrType) else _int_value(rng, t) for t in args]
            assert len(args) == n
            assert _check(fmt, args, values)


def test_a_printf_without_arguments_and_its_verbatim_percent():
    assert _check("100%%\n", [], [])
    assert _check("a%%b %d%%\n", [IntType(8, True)], [5])


@pytest.mark.parametrize("fmt, args", [
    ("%c\n", [IntType(8, False)]),           # a NUL cuts the piece
    ("%p\n", [IntType(8, False)]),
    ("%.3d\n", [IntType(8, True)]),         # precision of a number: reference path
    ("%lu\n", [IntType(4, True)]),          # widening a negative int to unsigned 64 bits
    ("%s\n", [IntType(8, True)]),
    ("a\0b %d", [IntType(8, True)]),
])
def test_formats_left_to_the_reference_path(fmt, args):
    segs = parse_format(fmt)
    _, layout = _record(args, [0] * len(args))
    assert compile_printf(segs, layout, 64) is None
