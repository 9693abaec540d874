"""printf format strings, parsed the way bpftrace 0.17 reads them.

Why a module: the compiler checks a printf's arguments against its conversions, and the runtime
renders the events; both must see the same conversions. This module is pure (no kt imports), so
the runtime uses it too (kt.runtime.output.printf).

How bpftrace 0.17 formats (src/format_string.cpp, confirmed against the Debian binary):

- Conversions are the leftmost non-overlapping matches of
  `%-?[0-9]*(\\.[0-9]+)?(TOKEN)` where TOKEN is one of `s c r rx rh` or
  `[hh|h|l|ll|j|z|t]?` followed by one of `d u o x X p`. Nothing else is a conversion:
  `%i`, `%f`, `%+d`, `% d`, `%#x`, `%.d`, `%ls`, `%hhc` are not recognised.
- The format is cut after each conversion. Each piece (the text since the previous conversion,
  then the conversion) goes through C's snprintf with one argument; the text after the last
  conversion is written *verbatim*. So `%%` prints `%` before the last conversion but `%%`
  after it: `printf("%d%%\\n", 5)` prints `5%%`, `printf("100%%\\n")` prints `100%%`.
- A piece's output stops at the first NUL (it is read back as a C string): `%c` of 0 prints
  nothing, `[%3c]` of 0 prints `[  ]`.

What kt rejects (FormatError) although 0.17 accepts it — each is undefined behaviour or
nonsense in 0.17:
- a `%` other than `%%` in the text before a conversion (0.17 hands it to snprintf, which
  reads an argument that is not there: `%f %d`, `50% done %d`);
- `%%` directly followed by a conversion's text, as in `%%d`: 0.17 counts a conversion and
  wants an argument, but snprintf then prints `%d` and ignores it;
- flags, width or precision on `%r`/`%rx`/`%rh`: 0.17 prints the spec itself (`%10r`).
A `%` in the text after the last conversion is printed as it is, as 0.17 does (`50% done`);
`unsupported_conversions` lists those that look like a C conversion, for a hint or a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

__all__ = [
    "FormatError", "Literal", "Conversion", "Segment",
    "parse_format", "conversions", "unsupported_conversions", "unparse",
]


class FormatError(ValueError):
    """An invalid printf format. `offset` indexes the format string (after escapes)."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Literal:
    text: str        # what is printed
    raw: str         # as written in the format (`%%` stays `%%` here)
    offset: int


@dataclass(frozen=True, slots=True)
class Conversion:
    raw: str                 # "%-08.3lld"
    offset: int
    left: bool               # '-' flag
    zero: bool               # the width starts with '0' (C reads that as the '0' flag)
    width: int | None
    precision: int | None
    length: str              # "", "hh", "h", "l", "ll", "j", "z", "t"
    conversion: str          # d u o x X p c s r rx rh

    @property
    def arg_class(self) -> str:
        """"int", "str" or "buf" (buf() bytes, for %r %rx %rh)."""
        if self.conversion == "s":
            return "str"
        if self.conversion in ("r", "rx", "rh"):
            return "buf"
        return "int"


Segment = Union[Literal, Conversion]

INT_CONVERSIONS = "duoxXp"
LENGTHS = ("hh", "h", "ll", "l", "j", "z", "t")

# bpftrace 0.17 builds its regex from printf_format_types; longest alternatives first here so a
# regex alternation picks `rx` over `r` and `hhd` over nothing (0.17 prints `%rx` as hex).
_TOKEN = r"rx|rh|r|s|c|(?:hh|h|ll|l|j|z|t)?[duoxXp]"
_SPEC_RE = re.compile(r"%(-?)([0-9]*)(?:\.([0-9]+))?(" + _TOKEN + r")")
# What C's printf would take for a conversion spec; used to describe what kt rejects.
_C_SPEC_RE = re.compile(r"%[-+ #0'I]*(?:[0-9]+|\*)?(?:\.(?:[0-9]+|\*)?)?(?:hh|h|ll|l|L|q|j|z|t)?[A-Za-z]?")

_C_CONVERSIONS = "diouxXeEfFgGaAcspnm"
_SUPPORTED = "%d %u %x %X %o %p (with hh h l ll j z t), %c, %s, %r %rx %rh"


def _conversion(m: re.Match) -> Conversion:
    left, width, prec, token = m.group(1), m.group(2), m.group(3), m.group(4)
    length = "" if token in ("r", "rx", "rh") else token[:-1]
    conv = token[len(length):]
    c = Conversion(raw=m.group(0), offset=m.start(), left=bool(left),
                   zero=width.startswith("0"), width=int(width) if width else None,
                   precision=int(prec) if prec is not None else None,
                   length=length, conversion=conv)
    if conv in ("r", "rx", "rh") and (left or width or prec is not None):
        raise FormatError(f"'{c.raw}': %{conv} takes no flags, width or precision "
                          f"(bpftrace 0.17 prints the spec itself)", c.offset)
    return c


def _describe(text: str, i: int) -> str:
    m = _C_SPEC_RE.match(text, i)
    return m.group(0) if m and len(m.group(0)) > 1 else text[i:i + 2] if i + 1 < len(text) else "%"


def _lead_text(fmt: str, start: int, end: int, conv: str) -> str:
    """Text before a conversion, as snprintf prints it (`%%` -> `%`); no other `%` allowed."""
    out = []
    i = start
    while i < end:
        j = fmt.find("%", i, end)
        if j < 0:
            out.append(fmt[i:end])
            break
        out.append(fmt[i:j])
        if j + 1 < end and fmt[j + 1] == "%":
            out.append("%")
            i = j + 2
            continue
        if j + 1 == end:
            # `%` right before the conversion: C reads `%%` and the conversion is lost.
            raise FormatError(f"'%{conv}' is ambiguous: C reads '%%' then '{conv[1:]}', so "
                              f"bpftrace 0.17 wants an argument it never prints; write "
                              f"'%%{conv}' for a '%' followed by a conversion", j)
        spec = _describe(fmt, j)
        raise FormatError(f"unsupported conversion '{spec}' (bpftrace 0.17 supports "
                          f"{_SUPPORTED}; write '%%' for a literal '%')", j)
    return "".join(out)


def parse_format(fmt: str) -> list[Segment]:
    """Split a printf format into literal text and conversions (see the module docstring).

    Literals are never empty and never adjacent; `"".join(s.raw for s in segs) == fmt`."""
    segs: list[Segment] = []
    pos = 0
    for m in _SPEC_RE.finditer(fmt):
        if m.start() > pos:
            segs.append(Literal(_lead_text(fmt, pos, m.start(), m.group(0)), fmt[pos:m.start()], pos))
        segs.append(_conversion(m))
        pos = m.end()
    if pos < len(fmt):
        # after the last conversion: written verbatim by 0.17, `%%` included
        segs.append(Literal(fmt[pos:], fmt[pos:], pos))
    return segs


def conversions(fmt: str | list[Segment]) -> list[str]:
    """The argument class each conversion expects, in order: "int", "str" or "buf"."""
    segs = parse_format(fmt) if isinstance(fmt, str) else fmt
    return [s.arg_class for s in segs if isinstance(s, Conversion)]


def unsupported_conversions(fmt: str) -> list[tuple[int, str]]:
    """`%` sequences after the last conversion that look like a C conversion kt (and bpftrace
    0.17) does not support, such as `%i`, `%5.2f`, `%+d`: (offset, text). 0.17 prints them
    verbatim, so they are legal; a compiler may warn, or use them to explain an argument count
    mismatch. `%%` is not listed."""
    segs = parse_format(fmt)
    if not segs or not isinstance(segs[-1], Literal):
        return []
    tail = segs[-1]     # a final literal is always the verbatim tail
    out = []
    i = 0
    text = tail.raw
    while (j := text.find("%", i)) >= 0:
        if text.startswith("%%", j):
            i = j + 2
            continue
        spec = _describe(text, j)
        if len(spec) > 1 and spec[-1] in _C_CONVERSIONS and " " not in spec:  # "50% done" is text
            out.append((tail.offset + j, spec))
        i = j + 1
    return out


def unparse(segs: list[Segment]) -> str:
    return "".join(s.raw for s in segs)
