"""printf records rendered with one `struct.unpack_from` and one bytes `%` template.

Why: a printf flood is formatted in user space at the rate the kernel produces it, so the
common printf (integers and strings with plain flags) must cost a few hundred nanoseconds, not
the generic path's decode-each-value-then-render-each-piece (runtime/output/printf.py, which
stays the reference and handles everything else). A printf qualifies when each conversion maps
exactly onto a Python bytes conversion:

- `%d %u %o %x %X` without a precision, on an integer argument: 0.17 passes the argument as
  a 64-bit slot and the conversion's length reads the low 8/16/32/64 bits, signed for `%d`.
  That is a struct code of the conversion's size at the argument's offset (little-endian: the
  low bytes come first) when the conversion is not wider than the argument; when it is wider,
  the argument's own code, if widening keeps its value (an unsigned argument, or `%d` of a
  signed one); otherwise the generic path.
- `%s` on a string argument (a fixed-size field, cut at its first NUL; width, `-` and a
  precision behave as in C).
- literal text without a NUL (0.17 cuts each piece at a NUL; here there is none to cut).

`compile_printf` returns None for any other printf, and tests/runtime/test_printf_fast.py
checks the two paths byte for byte over the qualifying formats.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Callable, Sequence

from kt.compiler.formats.printf_format import Conversion, Literal, Segment

from ..values import IntType, StrType, Type

Render = Callable[[bytes, int], bytes]

_BITS = {"hh": 8, "h": 16, "": 32, "l": 64, "ll": 64, "j": 64, "z": 64, "t": 64}
_CODES = {(8, False): "B", (8, True): "b", (16, False): "H", (16, True): "h",
          (32, False): "I", (32, True): "i", (64, False): "Q", (64, True): "q"}
_PY_CONV = {"d": "d", "u": "d", "o": "o", "x": "x", "X": "X"}
_PLAIN = re.compile(r"%(-?)(\d*)(?:\.(\d+))?(hh|h|ll|l|j|z|t)?(d|u|o|x|X|s)\Z")


def _int_code(c: Conversion, t: IntType) -> tuple[str, int] | None:
    """The struct code (and its size) that reads what conversion `c` prints of argument `t`."""
    bits, arg_bits = _BITS[c.length], t.size * 8
    signed = c.conversion == "d"
    if bits <= arg_bits:
        return _CODES[bits, signed], bits // 8
    if not t.signed or signed:   # widening keeps the value
        return _CODES[arg_bits, t.signed], t.size
    return None


def _spec(c: Conversion, conv: str) -> str:
    width = "" if c.width is None else str(c.width)
    zero = "0" if c.zero and not c.left and conv != "s" else ""
    prec = "" if c.precision is None else f".{c.precision}"
    return f"%{'-' if c.left else ''}{zero}{width}{prec}{conv}"


@dataclass(frozen=True)
class FastPrintf:
    """A printf's two renderers. `one(chunk, start)`: the record starting at `start` (its u64
    id first). `run(buffer)`: every record of a buffer holding only records of this printf,
    each with its 8-byte ring header, `stride` bytes apart -> their texts."""
    one: Render
    run: Callable[[memoryview], list[bytes]]
    length: int    # bytes of a record (what its ring header says)
    stride: int    # from one record's header to the next


def compile_printf(segments: Sequence[Segment], args: Sequence[tuple[int, Type]],
                   record_size: int) -> FastPrintf | None:
    """The fast renderers of a printf whose records are `record_size` bytes (what the ring
    header's length says), or None when this printf needs the generic path."""
    template: list[str] = []
    fmt, pos = [], 0
    strings: list[int] = []      # which unpacked values are strings
    convs = [s for s in segments if isinstance(s, Conversion)]
    if len(convs) != len(args):
        return None
    it = iter(args)
    for s in segments:
        if isinstance(s, Literal):
            if "\0" in s.text:
                return None
            template.append(s.text.replace("%", "%%"))
            continue
        if _PLAIN.match(s.raw) is None:
            return None
        offset, t = next(it)
        if offset < pos:
            return None
        if s.conversion == "s":
            if not isinstance(t, StrType):
                return None
            code, size = f"{t.size}s", t.size
            strings.append(sum(1 for c in fmt if not c.endswith("x")))
            template.append(_spec(s, "s"))
        else:
            if not isinstance(t, IntType) or s.precision is not None:
                return None
            found = _int_code(s, t)
            if found is None:
                return None
            code, size = found
            template.append(_spec(s, _PY_CONV[s.conversion]))
        if offset > pos:
            fmt.append(f"{offset - pos}x")
        fmt.append(code)
        pos = offset + size
    try:
        text = "".join(template).encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return None
    size = record_size
    if size < pos:
        return None
    stride = (size + 8 + 7) & ~7       # the ring's header, the record, padding to 8
    one = struct.Struct("<" + "".join(fmt)).unpack_from
    many = struct.Struct("<8x" + "".join(fmt) + (f"{stride - 8 - pos}x" if stride - 8 > pos else "")).iter_unpack
    n = sum(1 for c in fmt if not c.endswith("x"))
    if n == 0:
        constant = text % ()
        return FastPrintf(lambda chunk, start: constant,
                          lambda buf: [constant] * (len(buf) // stride), size, stride)
    # The tuple of values with its strings cut at their NUL, as Python source: a generated
    # expression keeps the per-record work to one unpack and one `%` (no list copies).
    values = ", ".join(f"v{i}.split(b'\\0', 1)[0]" if i in strings else f"v{i}" for i in range(n))
    names = ", ".join(f"v{i}" for i in range(n))
    scope = {"text": text, "one": one, "many": many}
    render_one = eval(f"lambda chunk, start: (lambda {names}: text % ({values},))(*one(chunk, start))", scope) \
        if strings else (lambda chunk, start: text % one(chunk, start))
    render_run = eval(f"lambda buf: [text % ({values},) for {names}, in many(buf)]", scope) \
        if strings else (lambda buf: [text % v for v in many(buf)])
    return FastPrintf(render_one, render_run, size, stride)
