"""`-f json`: bpftrace 0.17's NDJSON output, one object a line.

Observed with the Debian 0.17 binary:
    {"type": "attached_probes", "data": {"probes": 1}}      not with -q; one per target
    {"type": "printf", "data": "x 5\\n"}
    {"type": "cat", "data": "Linux\\n"}                     "" when the file cannot be read
    {"type": "syscall", "data": "hi\\n"}                    system()'s output
    (the "\\n\\n" exit separator, as in text mode, on stdout also with -o FILE; not before
    the maps SIGUSR1 prints)
    {"type": "map", "data": {"@a": {"\\n    f+0\\n    g+12\\n": 3}}}  a stack key: its text, as
        inside a text key (indented by 4, newlines around); a stack value is indented by 8
    {"type": "map", "data": {"@": {"2": 1, "1": 2}}}        entries in the text order
    {"type": "map", "data": {"@m": {"a,2": 5}}}             multi-keys joined with ","
    {"type": "stats", "data": {"@a": 4}}                    avg maps
    {"type": "map", "data": {"@n": 5}}                      scalar maps
    {"type": "map", "data": {"@t": [1,"a"]}}                tuples: "," without a space
    {"type": "map", "data": {"@a": [100,-200,300]}}         C arrays, the same
    {"type": "map", "data": {"@s": { "x": 7, "y": 8 }}}     C structs/unions: spaces inside
    {"type": "map", "data": {"@k": {"[100,-200,300]": 1}}}  array keys: the text key
    {"type": "map", "data": {"@x": {"[-1,2,-3],5": 1}}}
    {"type": "map", "data": {"@": {"{.k=1,.u={.a=-2,.b=4294967294},.z=262147}": 1}}}
    {"type": "value", "data": [1,"two",-3]}                 print(value); print("two") is "two"
    {"type": "lost_events", "data": {"events": 3}}
    {"type": "map_full", "data": {"map": "@m", "keys": 4096}}   kt's, once per map (0.17: none)
    {"type": "stats", "data": {"@s": {"count": 2, "average": -3, "total": -6}}}
    {"type": "stats", "data": {"@s": {"2": {"count": 2, "average": -2, "total": -5}, "1": {...}}}}
    {"type": "hist", "data": {"@h": [{"max": -1, "count": 1}, {"min": 0, "max": 0, "count": 1},
        {"min": 1, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 0}, ...]}}
    {"type": "hist", "data": {"@k": {"1": [{"min": 2, "max": 3, "count": 1}], "2": [...]}}}
    {"type": "hist", "data": {"@l": [{"max": -1, "count": 1}, {"min": 0, "max": 9, "count": 7},
        ..., {"min": 100, "count": 1}]}}                   lhist(v, 0, 100, 10)
    {"type": "hist", "data": {"@h": []}}                    a zero()ed histogram
Empty maps print nothing (a never-used scalar count() map is `0`, as in text mode). Entries are
in the text order (kt.runtime.output.text.sort_entries), print()'s top and div apply as in text
mode (neither to stats maps, top only to lhist maps).

hist buckets cover the same range as the text rows: the underflow bucket has only "max": -1,
[0] and [1] are {"min": 0, "max": 0} and {"min": 1, "max": 1}, then {"min": 2^k, "max":
2^(k+1) - 1} computed by 0.17 in C ints: the bucket of 2^30 .. 2^31-1 prints correctly, the one
of 2^31 and above (all values from 2^31 on land there, docs/object-format.md) prints
{"min": -2147483648, "max": 0}. lhist: {"max": min - 1} below, {"min": a, "max": b - 1}
inside and {"min": max} from max on.

Strings are escaped byte by byte as 0.17's json_escape does: `"` `\\` and \\n \\r \\t with a
backslash, other bytes up to 0x1f as \\u00XX, and — signed chars — every byte from 0x80 as
\\uffffffXX (`é` is "\\uffffffc3\\uffffffa9"). Separators are ", " and ": ".
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ..layout import ArrayValue, Avg, Histogram, MapMeta, RecordValue, Stats
from .. import hist_buckets
from ..values import Pointer
from .text import (EXIT_SEPARATOR, KEY_INDENT, _divided, _s32, format_value, nonempty_range,
                   sort_entries)

__all__ = ["json_escape", "attached", "printf", "join", "cat", "syscall", "time", "value", "lost_events",
           "format_map", "format_maps"]

_ESCAPES = {0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def _escaped(c: int) -> bytes:
    if c in _ESCAPES:
        return _ESCAPES[c].encode()
    if c <= 0x1F:
        return f"\\u{c:04x}".encode()
    return f"\\uffffff{c:02x}".encode()   # (int)c of a negative char, printed in hex


# Every byte that is not printed as itself, and what is printed instead: one regex pass
# replaces them, so plain text (a printf flood in JSON) costs no Python work per byte.
_REPLACEMENT = {c: _escaped(c) for c in (*_ESCAPES, *range(0x20), *range(0x80, 0x100))}
_SPECIAL = re.compile(b"[" + b"".join(re.escape(bytes([c])) for c in sorted(_REPLACEMENT)) + b"]")


def json_escape(text: str | bytes) -> str:
    """0.17's JsonOutput::json_escape over the string's bytes (str is UTF-8 encoded first)."""
    raw = text if isinstance(text, (bytes, bytearray)) else text.encode("utf-8", "surrogateescape")
    return _SPECIAL.sub(lambda m: _REPLACEMENT[m.group()[0]], raw).decode("ascii")


def _str(text: str | bytes) -> str:
    return '"' + json_escape(text) + '"'


def _line(kind: str, data: str) -> str:
    return f'{{"type": "{kind}", "data": {data}}}\n'


def attached(probes: int) -> str:
    return _line("attached_probes", f'{{"probes": {probes}}}')


def printf(text: str | bytes) -> str:
    """A printf event; pass the bytes to escape exactly what the program printed."""
    return _line("printf", _str(text))


def join(text: str | bytes) -> str:
    """join(): the joined strings, without the newline text output adds."""
    return _line("join", _str(text))


def cat(text: bytes) -> str:
    """cat(): the file's contents ("" when it could not be read)."""
    return _line("cat", _str(text))


def syscall(text: bytes) -> str:
    """system(): the command's standard output, as one object (0.17 calls it "syscall")."""
    return _line("syscall", _str(text))


def time(text: str) -> str:
    """time(): the formatted wall-clock time."""
    return _line("time", _str(text))


def value(v: Any) -> str:
    """print(value): the value as JSON (strings quoted, tuples and arrays as lists, records as
    objects)."""
    return _line("value", _json_value(v))


def lost_events(count: int) -> str:
    return _line("lost_events", f'{{"events": {count}}}')


def lost_events_total(count: int) -> str:
    """At the end of a trace that lost events: the total (kt's; 0.17 reports only deltas)."""
    return _line("lost_events_total", f'{{"events": {count}}}')


def lost_message(text: str) -> str:
    """A message of the lost_events type: 0.17's "out of watchpoint registers"."""
    return _line("lost_events", _str(text))


def map_full(name: str, keys: int) -> str:
    """kt's: map `name` refused a new key, being full with `keys` keys (once per map)."""
    return _line("map_full", f'{{"map": {_str(name)}, "keys": {keys}}}')


def _json_value(value: Any) -> str:
    if isinstance(value, Avg):
        return str(value.value)
    if isinstance(value, Stats):
        count = value.count & ((1 << 64) - 1)
        count = count - (1 << 64) if count >> 63 else count
        return f'{{"count": {count}, "average": {value.average}, "total": {value.total}}}'
    if value is None:
        return "0"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, Pointer):
        return value.text(in_key=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ",".join(_json_value(v) for v in value) + "]"
    if isinstance(value, ArrayValue):
        return "[" + ",".join(_json_value(v) for v in value.items) + "]"
    if isinstance(value, RecordValue):
        # 0.17 spaces a struct's members unlike a tuple's: `{ "x": 11, "y": 12 }`
        return "{ " + ", ".join(f"{_str(name)}: {_json_value(v)}" for name, v in value.fields) + " }"
    if isinstance(value, (bytes, bytearray, str)):
        return _str(format_value(value))
    return _str(format_value(value))   # symbols; stacks keep 0.17's "\n" around their lines


def _json_key(key: Any) -> str:
    """A map key as the text output prints it inside `[...]` (records without spaces), the
    parts of a multi-key joined by ","; the caller quotes it."""
    if isinstance(key, tuple):
        return ",".join(_json_key(k) for k in key)
    return format_value(key, indent=KEY_INDENT, in_key=True)


def _hist_bucket(meta: MapMeta, i: int) -> str:
    """The "min"/"max" members of bucket i, with their trailing ", "."""
    lh = meta.lhist
    if lh is not None:
        if i == 0:
            return f'"max": {lh.min - 1}, '
        if i == lh.last:
            return f'"min": {lh.max}, '
        return f'"min": {(i - 1) * lh.step + lh.min}, "max": {i * lh.step + lh.min - 1}, '
    if i == 0:
        return '"max": -1, '
    if meta.hist_bits is not None:   # hist(v, k): 0.26's closed bounds, low and high - 1
        low, high = hist_buckets.bounds(i, meta.hist_bits)
        return f'"min": {low}, "max": {high - 1}, '
    if i <= 2:
        return f'"min": {i - 1}, "max": {i - 1}, '
    # `1 << (i - 2)` and `(1 << (i - 1)) - 1` in C ints (x86 masks the shift count)
    low = _s32(1 << ((i - 2) & 31))
    high = _s32(_s32(1 << ((i - 1) & 31)) - 1)
    return f'"min": {low}, "max": {high}, '


def _hist_json(meta: MapMeta, value: Histogram, div: int) -> str:
    span = nonempty_range(meta, value.counts)
    if span is None:
        return "[]"
    first, last, _ = span
    divisor = 1 if meta.lhist is not None else div
    return "[" + ", ".join(
        f'{{{_hist_bucket(meta, i)}"count": {(value.counts[i] & ((1 << 64) - 1)) // divisor}}}'
        for i in range(first, last + 1)) + "]"


def format_map(meta: MapMeta, entries: Iterable[tuple[Any, Any]], top: int = 0,
               div: int = 1) -> str:
    """One map as a JSON line ("" for an empty map), at exit or for print(@m, top, div)."""
    items = list(entries)
    if meta.key is None and meta.agg == "count" and not items:
        items = [(None, 0)]
    if not items:
        return ""
    if meta.agg != "tseries":
        items = sort_entries(meta, items)
    if meta.agg != "stats" and top and len(items) > top:
        items = items[len(items) - top:]
    if div == 0:
        div = 1
    if meta.agg == "tseries":
        from .tseries import format_json
        kind = "tseries"
        pairs = format_json(meta, items)
        items = [(k, None) for k, _ in pairs]
        values = [v for _, v in pairs]
    elif meta.agg in ("hist", "lhist"):
        kind = "hist"
        values = [_hist_json(meta, v, div) for _, v in items]
    else:
        kind = "stats" if meta.agg in ("avg", "stats") else "map"
        if meta.agg != "stats":
            items = [(k, _divided(meta, v, div)) for k, v in items]
        values = [_json_value(v) for _, v in items]
    if meta.key is None:
        body = values[0]
    else:
        body = "{" + ", ".join(f"{_str(_json_key(k))}: {v}"
                               for (k, _), v in zip(items, values)) + "}"
    return _line(kind, f"{{{_str(meta.name)}: {body}}}")


def format_maps(maps: Iterable[tuple[MapMeta, Iterable[tuple[Any, Any]]]],
                separator: bool = True) -> str:
    """Every map by name, after EXIT_SEPARATOR unless `separator` is False (as text's)."""
    ordered = sorted(maps, key=lambda m: m[0].name.encode("utf-8", "surrogateescape"))
    return (EXIT_SEPARATOR if separator else "") + "".join(format_map(m, e) for m, e in ordered)
