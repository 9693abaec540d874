"""The records `Trace.events()` yields: one per thing the trace outputs, in output order.

Every record has `text`, what the `kt` command prints for it; the others carry the values
(docs/api.md "Events"). `MapsSnapshot` is the session's print of every map (at exit, or when
the API asks), which the Trace keeps as `t.maps` instead of yielding it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Printf:
    """printf(): its format, the arguments' values (Python values) and the text."""
    format: str
    fields: tuple
    text: str


@dataclass(frozen=True, slots=True)
class Print:
    """print(value)."""
    value: Any
    text: str


@dataclass(frozen=True, slots=True)
class MapPrint:
    """print(@map[, top, div]): `value` is the whole map as `t.maps` gives it; `text` is
    printed with top and div applied, as kt prints it."""
    name: str
    value: Any
    text: str


@dataclass(frozen=True, slots=True)
class Time:
    text: str


@dataclass(frozen=True, slots=True)
class Join:
    text: str


@dataclass(frozen=True, slots=True)
class Cat:
    text: str


@dataclass(frozen=True, slots=True)
class System:
    """system(): the command's output."""
    text: str


@dataclass(frozen=True, slots=True)
class Lost:
    """Events the kernel could not write since the last report (a full ring buffer)."""
    count: int

    @property
    def text(self) -> str:
        return f"Lost {self.count} events"


@dataclass(frozen=True, slots=True)
class Notice:
    """A message of the runtime while tracing (e.g. a watchpoint's)."""
    text: str


@dataclass(frozen=True, slots=True)
class HelperError:
    """A -k/-kk helper check's warning."""
    text: str


@dataclass(frozen=True, slots=True)
class Output:
    """Bytes a program wrote outside the event stream (an iterator's seq output)."""
    text: str


@dataclass(frozen=True, slots=True)
class MapsSnapshot:
    """Every map at one moment: (MapMeta, entries) pairs as runtime/layout.py map_entries
    gives them; converted to Python values on use (runtime/api/values.py)."""
    maps: tuple


Event = Printf | Print | MapPrint | Time | Join | Cat | System | Lost | Notice | HelperError | Output
