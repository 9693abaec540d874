"""Durations as bpftrace 0.26 writes them: `100ms`, `1s`, `5m` in expressions (integer
nanoseconds) and in timer attach points (`interval:1s`, `profile:100ms`).

Why a module of its own: the parser reads duration literals and the probe registry reads
timer attach points; both take the units from here."""

from __future__ import annotations

import re

# The units 0.26's lexer takes after an integer, in nanoseconds.
DURATION_UNITS: dict[str, int] = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                                  "m": 60 * 1_000_000_000, "h": 3600 * 1_000_000_000,
                                  "d": 86400 * 1_000_000_000}

_DURATION = re.compile(r"([0-9]+(?:_[0-9]+)*)(ns|us|ms|s|m|h|d)")


def duration_ns(text: str) -> int | None:
    """`100ms` -> 100000000; None when `text` is no duration."""
    m = _DURATION.fullmatch(text)
    if m is None:
        return None
    return int(m.group(1).replace("_", "")) * DURATION_UNITS[m.group(2)]
