"""`-f json`: bpftrace 0.17's NDJSON output, one object a line.

Observed with the Debian 0.17 binary:
    {"type": "attached_probes", "data": {"probes": 1}}
    {"type": "printf", "data": "x 5\\n"}
    (the "\\n\\n" exit separator, as in text mode)
    {"type": "map", "data": {"@": {"2": 1, "1": 2}}}        entries in the text order
    {"type": "map", "data": {"@m": {"a,2": 5}}}             multi-keys joined with ","
    {"type": "stats", "data": {"@a": 4}}                    avg maps
    {"type": "map", "data": {"@n": 5}}                      scalar maps
    {"type": "lost_events", "data": {"events": 3}}
Empty keyed maps print nothing. Separators are ", " and ": ", as Python's json.dumps writes.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..layout import Avg, MapMeta
from .text import EXIT_SEPARATOR, format_value, sort_entries


def _line(kind: str, data: Any) -> str:
    return json.dumps({"type": kind, "data": data}, ensure_ascii=False) + "\n"


def attached(probes: int) -> str:
    return _line("attached_probes", {"probes": probes})


def printf(text: str) -> str:
    return _line("printf", text)


def lost_events(count: int) -> str:
    return _line("lost_events", {"events": count})


def _json_value(value: Any) -> Any:
    if isinstance(value, Avg):
        return value.value
    if isinstance(value, bool) or value is None:
        return 0 if value is None else int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return format_value(value).strip("\n") if not isinstance(value, (bytes, str)) else format_value(value)


def _json_key(key: Any) -> str:
    if isinstance(key, tuple):
        return ",".join(_json_key(k) for k in key)
    return format_value(key).strip("\n")


def format_map(meta: MapMeta, entries: Iterable[tuple[Any, Any]]) -> str:
    items = list(entries)
    if meta.key is None and meta.agg == "count" and not items:
        items = [(None, 0)]
    if not items:
        return ""
    kind = "stats" if meta.agg == "avg" else "map"
    if meta.key is None:
        return _line(kind, {meta.name: _json_value(items[0][1])})
    ordered = sort_entries(meta, items)
    return _line(kind, {meta.name: {_json_key(k): _json_value(v) for k, v in ordered}})


def format_maps(maps: Iterable[tuple[MapMeta, Iterable[tuple[Any, Any]]]]) -> str:
    ordered = sorted(maps, key=lambda m: m[0].name.encode("utf-8", "surrogateescape"))
    return EXIT_SEPARATOR + "".join(format_map(m, e) for m, e in ordered)
