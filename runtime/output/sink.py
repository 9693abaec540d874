"""One output interface for a trace, with a text and a JSON implementation.

Why: the event pump, the session and the CLI say *what* happened (a printf line, a map to
print, events lost); how it looks is the printer's business. Each method returns the bytes to
append to the trace's output stream in event order (the pump batches them into large writes),
except the messages 0.17 writes to stderr in text mode, which `Output.stderr_line` carries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable

from ..layout import MapMeta
from . import json as json_output
from .helper_errors import failed_reads_json, failed_reads_text, helper_error
from .text import format_map, format_maps, format_value

from .printf_fast import FastPrintf


def map_full_text(name: str, keys: int) -> str:
    """The warning, once per map, that a map refused a new key (kt's; 0.17 drops them
    silently without -k). `keys`: what the map holds (hist/lhist: keys, not buckets)."""
    return (f"kt: warning: map {name} is full ({keys} key{'s' if keys != 1 else ''}): new keys are dropped; "
            "raise BPFTRACE_MAP_KEYS_MAX or KT_MAP_KEYS_MAX")


@dataclass(frozen=True)
class Message:
    """Output that goes somewhere else than the event stream in text mode (stderr)."""
    text: str


class TextOutput:
    """bpftrace 0.17's text output."""

    json = False
    gather = staticmethod(b"".join)   # a batch of outputs -> what the stream is written

    def printf_fast(self, fast: FastPrintf) -> FastPrintf | None:
        return fast            # the printf's text is the output, unwrapped

    def printf(self, text: bytes) -> bytes:
        return text

    def printf_record(self, fmt: str, args: list, text: bytes) -> bytes:
        return text            # a printf the fast path does not take: its text

    def join(self, text: bytes) -> bytes:
        return text + b"\n"

    def time(self, text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape")

    def value(self, v: Any, t: Any) -> bytes:
        return (format_value(v, t) + "\n").encode("utf-8", "surrogateescape")

    def cat(self, text: bytes) -> bytes:
        return text

    def syscall(self, text: bytes) -> bytes:
        return text

    def helper_error(self, sites, rec: bytes) -> bytes:
        return helper_error(sites, rec, False)

    def map(self, mm: MapMeta, entries: list, top: int, div: int) -> bytes:
        return format_map(mm, entries, top=top, div=div).encode("utf-8", "surrogateescape")

    def maps(self, maps: Iterable[tuple[MapMeta, list]]) -> bytes:
        return format_maps(maps, separator=False).encode("utf-8", "surrogateescape")

    def attached(self, probes: int) -> Message:
        return Message(f"Attached {probes} probe{'s' if probes != 1 else ''}")

    def lost(self, count: int) -> Message:
        return Message(f"Lost {count} events")

    def lost_total(self, count: int) -> Message:
        return Message(f"Lost {count} events in total")

    def notice(self, text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape") + b"\n"

    def map_full(self, name: str, keys: int) -> Message:
        return Message(map_full_text(name, keys))

    def failed_reads(self, site, count: int, total: bool) -> Message:
        return Message(failed_reads_text(site, count, total))


class JsonOutput:
    """`-f json`: bpftrace 0.17's NDJSON (runtime/output/json.py), every object on stdout."""

    json = True
    gather = staticmethod(b"".join)

    def printf_fast(self, fast: FastPrintf) -> FastPrintf | None:
        wrap, one, run = json_output.printf, fast.one, fast.run
        return dataclasses.replace(fast, one=lambda chunk, start: wrap(one(chunk, start)).encode(),
                                   run=lambda buf: [wrap(t).encode() for t in run(buf)])

    def printf(self, text: bytes) -> bytes:
        return json_output.printf(text).encode()   # escaped byte by byte, as 0.17

    def printf_record(self, fmt: str, args: list, text: bytes) -> bytes:
        return self.printf(text)

    def join(self, text: bytes) -> bytes:
        return json_output.join(text).encode()

    def time(self, text: str) -> bytes:
        return json_output.time(text).encode("utf-8", "surrogateescape")

    def value(self, v: Any, t: Any) -> bytes:
        return json_output.value(v).encode()

    def cat(self, text: bytes) -> bytes:
        return json_output.cat(text).encode()

    def syscall(self, text: bytes) -> bytes:
        return json_output.syscall(text).encode()

    def helper_error(self, sites, rec: bytes) -> bytes:
        return helper_error(sites, rec, True)

    def map(self, mm: MapMeta, entries: list, top: int, div: int) -> bytes:
        return json_output.format_map(mm, entries, top=top, div=div).encode("utf-8", "surrogateescape")

    def maps(self, maps: Iterable[tuple[MapMeta, list]]) -> bytes:
        text = json_output.format_maps(maps, separator=False)
        return text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text

    def attached(self, probes: int) -> bytes:
        return json_output.attached(probes).encode()   # output in JSON mode, as in bpftrace

    def lost(self, count: int) -> bytes:
        return json_output.lost_events(count).encode()

    def lost_total(self, count: int) -> bytes:
        return json_output.lost_events_total(count).encode()

    def notice(self, text: str) -> bytes:
        return json_output.lost_message(text).encode()

    def map_full(self, name: str, keys: int) -> bytes:
        return json_output.map_full(name, keys).encode()

    def failed_reads(self, site, count: int, total: bool) -> bytes:
        return failed_reads_json(site, count, total).encode()


Output = TextOutput | JsonOutput   # and runtime/output/records.py RecordsOutput (the Python API)


def output_for(json: bool) -> Output:
    return JsonOutput() if json else TextOutput()
