"""Numbers written as bpftrace 0.17 reads them in text: positional parameters (strtoll, base 0)
and the counts of attach points (`interval:ms:0x10`, `profile:hz:0_99`).

Imports nothing of kt's: the probe registry, the builtins and the runtime (which checks the
run's positional parameters against an object's slots) all use it.
"""

from __future__ import annotations

import re

_C_INTEGER = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


def c_integer(text: str) -> int | None:
    """A positional parameter's number as bpftrace 0.17 reads it (strtoll, base 0): decimal,
    0x hex or 0 octal (`0775` is 509), else None (`08`, `1e3` are text)."""
    m = _C_INTEGER.fullmatch(text)
    if m is None:
        return None
    digits = m.group(2)
    value = int(digits, 16) if digits[:2].lower() == "0x" else int(digits, 8) if digits.startswith("0") else int(digits)
    return -value if m.group(1) == "-" else value


def parameter_int(text: str) -> int | None:
    """A positional parameter used as an integer, as 0.17 takes it: c_integer() within int64
    (0.17 refuses `9223372036854775808`: "used numerically but given ...")."""
    value = c_integer(text)
    return value if value is not None and -(1 << 63) <= value < (1 << 63) else None


def attach_count(text: str) -> int | None:
    """An attach point's count (`interval:ms:N`, `software:faults:N`): C's bases, and `_`
    between digits as in the language's integer literals; 0.17 names the probe by the value
    (`interval:ms:0x10` is `interval:ms:16`)."""
    if not text or text.startswith("_") or text.endswith("_") or "__" in text:
        return None
    value = c_integer(text.replace("_", ""))
    return value if value is not None and not text.lstrip().startswith(("+", "-")) else None
