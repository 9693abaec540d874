"""Values printed as text that user space makes: username, strerror(), macaddr(), strftime(),
cgroup_path() (compiler/builtins/formats.py writes their raw values).

Why a module: like symbols, these values are raw numbers in BPF (a uid, an errno, six bytes, a
timestamp, a cgroup id) and text everywhere users see them; kt.runtime.values decodes them to a
`Formatted` (the raw bytes, which order and re-encode map keys, and the text to print). The
text of strerror and macaddr is computed here (pure); the others need the system (the password
file, the clock, the cgroup mounts), which kt.runtime.lookups reads through the decode context.

Layouts (`.kt.meta` kinds, docs/object-format.md):
- username: {u64 uid}, printed as /etc/passwd names it ("" when it has no entry, as 0.17);
- strerror: {u64 errno}, strerror(3) of it as a C int (`Unknown error 9999`);
- macaddr: {6 bytes; 2 zero bytes}, `%02X:%02X:...` (uppercase, as 0.17);
- strftime: {u64 index into "strftime_formats"; u64 nsecs}, the time boot + nsecs as local
  time with strftime(3), `%f` replaced by the microseconds first (0.17's resolve_timestamp);
- cgroup_path: {u64 cgroup id; u64 index into "cgroup_path_filters"}, `name:path` for every
  hierarchy the filter matches where the id is found, joined by "," (0.17's resolve_cgroup_path).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..compiler.formats.value_types import FORMATTED_KINDS, FormattedType

__all__ = ["FORMATTED_KINDS", "FormattedType", "Formatted", "plain_text", "strerror_text", "macaddr_text"]



@dataclass(frozen=True, slots=True)
class Formatted:
    """A decoded username/strerror/macaddr/strftime/cgroup_path value: its bytes and its text."""
    kind: str
    raw: bytes
    text: str

    def word(self, i: int = 0) -> int:
        return int.from_bytes(self.raw[8 * i:8 * i + 8], "little")


def strerror_text(value: int) -> str:
    """strerror(3) of the value as a C int (the low 32 bits, signed), as 0.17 calls it."""
    v = value & 0xFFFFFFFF
    return os.strerror(v - (1 << 32) if v >> 31 else v)


def macaddr_text(raw: bytes) -> str:
    return ":".join(f"{b:02X}" for b in raw[:6])


def plain_text(kind: str, raw: bytes) -> str | None:
    """The text of a kind that needs nothing but its bytes; None for the others."""
    if kind == "strerror":
        return strerror_text(int.from_bytes(raw[:8], "little"))
    if kind == "macaddr":
        return macaddr_text(raw)
    return None
