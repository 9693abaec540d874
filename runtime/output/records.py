"""The API's output: each event as a record of Python values (runtime/api/records.py), not bytes.

Why a third Output beside TextOutput and JsonOutput: the session, the pump and the decoders
already say what happened through this interface, so the API gets structured events without
a second event loop. Records keep the text kt prints (`text`) next to the values. printf
never takes the fast path (runtime/output/printf_fast.py renders text only): every printf is
decoded to its argument values.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..api import records as r
from ..api.values import map_value, python_value
from ..layout import MapMeta
from .helper_errors import failed_reads_text, helper_error
from .sink import Message, map_full_text
from .text import format_map, format_value


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


class RecordsOutput:
    json = False

    @staticmethod
    def gather(parts: list) -> list:
        return list(parts)      # the pump's batch, kept as records

    def printf_fast(self, fast):
        return None             # decoded by printf_record instead

    def printf(self, text: bytes) -> r.Printf:
        return r.Printf("", (), _text(text))

    def printf_record(self, fmt: str, args: list, text: bytes) -> r.Printf:
        return r.Printf(fmt, tuple(python_value(a) for a in args), _text(text))

    def join(self, text: bytes) -> r.Join:
        return r.Join(_text(text) + "\n")

    def time(self, text: str) -> r.Time:
        return r.Time(text)

    def value(self, v: Any, t: Any) -> r.Print:
        return r.Print(python_value(v), format_value(v, t) + "\n")

    def cat(self, text: bytes) -> r.Cat:
        return r.Cat(_text(text))

    def syscall(self, text: bytes) -> r.System:
        return r.System(_text(text))

    def helper_error(self, sites: list[dict], rec: bytes) -> r.HelperError:
        return r.HelperError(_text(helper_error(sites, rec, False)))

    def map(self, mm: MapMeta, entries: list, top: int, div: int) -> r.MapPrint:
        try:
            value = map_value(mm, entries)
        except KeyError:      # a scalar map not set yet
            value = None
        return r.MapPrint(mm.name, value, format_map(mm, entries, top=top, div=div))

    def maps(self, maps: Iterable[tuple[MapMeta, list]]) -> r.MapsSnapshot:
        return r.MapsSnapshot(tuple(maps))

    def attached(self, probes: int) -> Message:
        return Message(f"Attached {probes} probe{'s' if probes != 1 else ''}")

    def lost(self, count: int) -> r.Lost:
        return r.Lost(count)

    def lost_total(self, count: int) -> bytes:
        return b""              # the Lost records already counted them (Trace.lost)

    def notice(self, text: str) -> r.Notice:
        return r.Notice(text + "\n")

    def map_full(self, name: str, keys: int) -> r.Notice:
        return r.Notice(map_full_text(name, keys) + "\n")

    def failed_reads(self, site, count: int, total: bool) -> r.Notice:
        return r.Notice(failed_reads_text(site, count, total) + "\n")
