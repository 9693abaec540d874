"""printf rendering, byte for byte as bpftrace 0.17 prints it.

Why a module: printf arguments travel as raw values in ring-buffer records; user space formats
them, and the text must equal bpftrace's. 0.17 cuts the format after each conversion and runs
each piece through glibc's snprintf with the argument as a 64-bit integer or a C string, then
writes the text after the last conversion verbatim (kt.compiler.formats.printf_format explains the
parsing). So the integer rules are C's on an x86-64 varargs slot:

- `%d %i`-family without a length reads an `int`: the low 32 bits, signed (`%d` of
  0x1ffffffff prints -1); `%u %x %X %o` the low 32 bits unsigned; `hh`/`h` narrow further
  to 8/16 bits; `l ll j z t` take all 64 bits (`%lu` of -1 is 18446744073709551615).
- `%c` prints the low byte; a NUL ends the piece (0.17 reads the piece back as a C string).
- `%p` prints `(nil)` for 0, else `0x` and lowercase hex of all 64 bits (length ignored).
- `-` left-justifies; a width starting with `0` pads numbers with zeros after the sign or
  `0x`, unless `-` or a precision is given; precision is the minimum digit count for numbers
  (`%.0d` of 0 prints nothing) and the maximum byte count for `%s`.
- `%r` prints buf() bytes with printable ASCII kept and others as `\\xNN`; `%rx` escapes
  every byte; `%rh` prints hex bytes separated by spaces.

Values are what kt.runtime.layout decodes: `int` (any sign; reduced to 64 bits here) for
integer conversions, `bytes` for `%s` (cut at the first NUL) and `%r`; symbolic values (KSym,
USym, Stack; probe names are `str`) print with `%s` as bpftrace does: the symbol, or the stack
as "\n" and one 8-space indented frame per line (kt.runtime.output.text.format_value).
The result is text: bytes that are not UTF-8 come back as lone surrogates (`surrogateescape`),
so encoding the text with `errors="surrogateescape"` gives back exactly bpftrace's bytes;
`render_bytes` gives them directly.
"""

from __future__ import annotations

from typing import Sequence, Union

from kt.compiler.formats.printf_format import Conversion, Literal, Segment, parse_format

from ..formatted import Formatted
from ..layout import KSym, Stack, USym
from .text import format_value

__all__ = ["render", "render_bytes", "format_conversion", "format_buffer"]

_U64 = (1 << 64) - 1

# bits of the C type each (length, signedness) reads from the 64-bit argument slot
_BITS = {"hh": 8, "h": 16, "": 32, "l": 64, "ll": 64, "j": 64, "z": 64, "t": 64}


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _pad(body: bytes, c: Conversion) -> bytes:
    if c.width is None or len(body) >= c.width:
        return body
    fill = b" " * (c.width - len(body))
    return body + fill if c.left else fill + body


def _number(c: Conversion, value: int) -> bytes:
    conv = c.conversion
    bits = _BITS[c.length]
    prefix = b""
    if conv == "d":
        v = _signed(value, bits)
        sign, digits = (b"-", str(-v)) if v < 0 else (b"", str(v))
    else:
        v = value & ((1 << bits) - 1)
        sign = b""
        digits = {"u": "%d", "o": "%o", "x": "%x", "X": "%X"}[conv] % v
    if c.precision is not None:
        digits = "" if c.precision == 0 and v == 0 else digits.rjust(c.precision, "0")
    prefix = sign
    body = digits.encode()
    if c.zero and not c.left and c.precision is None and c.width is not None:
        body = body.rjust(c.width - len(prefix), b"0")
    return _pad(prefix + body, c)


def _pointer(c: Conversion, value: int) -> bytes:
    v = value & _U64
    if v == 0:
        return _pad(b"(nil)", c)   # glibc: no zero padding, no precision for (nil)
    digits = b"%x" % v
    if c.precision is not None:
        digits = digits.rjust(c.precision, b"0")
    if c.zero and not c.left and c.precision is None and c.width is not None:
        digits = digits.rjust(c.width - 2, b"0")
    return _pad(b"0x" + digits, c)


def format_buffer(data: bytes, conversion: str = "r") -> bytes:
    """buf() bytes as %r, %rx or %rh print them (bpftrace's hex_format_buffer)."""
    if conversion == "rh":
        return b" ".join(b"%02x" % b for b in data)
    keep = conversion == "r"
    return b"".join(bytes([b]) if keep and 0x20 <= b <= 0x7E else b"\\x%02x" % b for b in data)


def _as_bytes(value: object, c: Conversion) -> bytes:
    if isinstance(value, (KSym, USym, Stack, Formatted)):
        value = format_value(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"'{c.raw}' needs bytes, got {type(value).__name__}")


def format_conversion(c: Conversion, value: object) -> bytes:
    """One conversion's output, before the NUL cut that applies to its whole piece."""
    conv = c.conversion
    if conv in ("s", "r", "rx", "rh"):
        data = _as_bytes(value, c)
        if conv != "s":
            return format_buffer(data, conv)
        nul = data.find(b"\0")
        if nul >= 0:
            data = data[:nul]
        if c.precision is not None:
            data = data[:c.precision]
        return _pad(data, c)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"'{c.raw}' needs an int, got {type(value).__name__}")
    if conv == "p":
        return _pointer(c, value)
    if conv == "c":
        return _pad(bytes([value & 0xFF]), c)   # '0' flag: glibc pads %c with spaces
    return _number(c, value)


def render_bytes(fmt: Union[str, Sequence[Segment]], values: Sequence[object]) -> bytes:
    segs = parse_format(fmt) if isinstance(fmt, str) else fmt
    want = sum(isinstance(s, Conversion) for s in segs)
    if want != len(values):
        raise ValueError(f"format has {want} conversions, got {len(values)} values")
    out = bytearray()
    piece = bytearray()          # text since the previous conversion
    it = iter(values)
    for s in segs:
        if isinstance(s, Literal):
            piece += s.text.encode("utf-8", "surrogateescape")
            continue
        piece += format_conversion(s, next(it))
        nul = piece.find(b"\0")
        out += piece if nul < 0 else piece[:nul]
        piece.clear()
    out += piece                 # the verbatim tail (parse_format kept its `%%`)
    return bytes(out)


def render(fmt: Union[str, Sequence[Segment]], values: Sequence[object]) -> str:
    """The text bpftrace 0.17 prints for printf(fmt, values...)."""
    return render_bytes(fmt, values).decode("utf-8", "surrogateescape")
