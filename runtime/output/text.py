"""Maps printed as text, exactly as bpftrace 0.17 prints them (at exit and by print()).

Why a module: map printing is what users read and what compatibility tests compare; every
framing newline and the sort order are part of the contract. Observed with the Debian 0.17
binary (`| cat -A`) and read in its src/output.cpp and src/bpftrace.cpp.

Who prints what at exit:
- after the trace ends, bpftrace's main() writes "\\n\\n" to *stdout* — always: with no maps,
  with `-f json`, and even with `-o FILE` (then the maps go to the file, the "\\n\\n" does not);
- then every map of the program, in byte order of the name (`@`, `@A`, `@_`, `@a`, `@a1`, `@b`);
- each map is its entry lines joined by "\\n", then "\\n" — and "\\n\\n" for avg maps (their
  TextOutput::map_stats ends with two endls). So an empty map still prints a blank line (two
  for avg), and only avg maps are followed by a blank line;
- a line is `@name: value` for a scalar map and `@name[k1, k2]: value` for a keyed one:
  integers in decimal (signed per type), strings raw up to their NUL (no quotes, no escaping),
  tuple values as `(1, a, -2)`;
- a scalar count() map that was never incremented (or was cleared) prints `@name: 0`: 0.17
  gives it an entry from the start. No other map kind does.

Order of the entries of one map:
- count, sum, min, max maps and integer-valued plain maps: ascending by value (signed values
  compare signed); avg maps: ascending by the printed average;
- every other map (strings, tuples as values): ascending by key — integer keys compare as
  *unsigned* 64-bit (so `@[-1]` comes after `@[2]`), string keys bytewise (strncmp), multi-keys
  field by field from the first;
- ties: 0.17 sorts by value with std::sort over the kernel's hash iteration order, which is
  seeded randomly per map, so tied entries come out in a different order from run to run (seen:
  `@[2] @[1] @[5] @[4]`, then `@[5] @[4] @[1] @[2]`, for four equal counts). kt makes it
  deterministic and picks one of 0.17's possible orders: entries are first sorted by key (the
  rule above), then stably by value.

`print(@m, top, div)` is `format_map(meta, entries, top, div)`: keep the last `top` entries
after sorting, divide integer values by `div` (C division, truncating toward zero).

Symbolic values (decoded with a kt.runtime.symbols.ValueContext, see kt.runtime.layout):
- ksym/usym print their symbol (`@[vfs_read]: 3`, hex when unknown), probe its name;
- a stack prints bpftrace's multi-line text (kt.runtime.symbols.format_stack): indented by 4
  inside a map key, by 8 as a value or inside a tuple value, and nothing when it could not be
  read (`@k[]: 3`). Observed with 0.17:

      @[                          @t[                         @v: (1,
          leaf+0                      leaf+0                          leaf+0
          main+87                     main+87                         main+87
      ]: 3                        , 1]: 3                     )

Not here yet: hist/lhist/stats maps (not in the object format).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from ..layout import (Avg, IntType, KSym, KsymType, MapMeta, ProbeType, Stack, StackType,
                      StrType, TupleType, Type, USym, UsymType)
from ..symbols import format_stack

__all__ = ["EXIT_SEPARATOR", "format_value", "format_key", "sort_entries", "format_map",
           "format_maps"]

EXIT_SEPARATOR = "\n\n"


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


VALUE_INDENT = 8     # a stack as a map value, printf argument or tuple element
KEY_INDENT = 4       # a stack inside a map key


def format_value(value: Any, t: Type | None = None, indent: int = VALUE_INDENT) -> str:
    """One value as bpftrace prints it: ints in decimal, strings raw up to NUL, tuples in
    parentheses (`(1, a)`), avg values as their truncated average, an unset min/max as 0,
    symbols as their names and stacks as multi-line text indented by `indent`."""
    if isinstance(value, (KSym, USym)):
        return value.text
    if isinstance(value, Stack):
        return format_stack(value.frames, value.mode, indent)
    if value is None:
        return "0"     # min()/max() with no CPU set: 0.17 prints a zero()ed min/max map as 0
    if isinstance(value, Avg):
        return str(value.value)
    if isinstance(value, bool):
        raise TypeError("bool is not a map value")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        nul = value.find(b"\0")
        return _text(bytes(value if nul < 0 else value[:nul]))
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        fts = [ft for _, ft in t.fields] if isinstance(t, TupleType) else [None] * len(value)
        return "(" + ", ".join(format_value(v, ft, indent) for v, ft in zip(value, fts)) + ")"
    raise TypeError(f"cannot format {type(value).__name__}")


def format_key(meta: MapMeta, key: Any) -> str:
    """`[k]`, `[k1, k2]` for a multi-key (a tuple key type), or "" for a scalar map."""
    if meta.key is None:
        return ""
    if isinstance(meta.key, TupleType):
        return "[" + ", ".join(format_value(v, ft, KEY_INDENT)
                               for v, (_, ft) in zip(key, meta.key.fields)) + "]"
    return "[" + format_value(key, meta.key, KEY_INDENT) + "]"


def _key_order(t: Type | None, key: Any) -> Any:
    """bpftrace's sort_by_key: ints unsigned at their size, strings bytewise; symbolic keys
    (0.17 leaves them in hash order) by their raw address or stack id, probes by name."""
    if t is None:
        return 0
    if isinstance(t, KsymType):
        return key.addr if isinstance(key, KSym) else key
    if isinstance(t, UsymType):
        return (key.addr, key.pid) if isinstance(key, USym) else key
    if isinstance(t, StackType):
        return ((key.stack_id & ((1 << 64) - 1), key.pid or 0) if isinstance(key, Stack)
                else key)
    if isinstance(t, ProbeType):
        return key.encode("utf-8", "surrogateescape") if isinstance(key, str) else key
    if isinstance(t, IntType):
        return key & ((1 << (8 * t.size)) - 1)
    if isinstance(t, StrType):
        b = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else bytes(key)
        nul = b.find(b"\0")
        return b if nul < 0 else b[:nul]
    return tuple(_key_order(ft, k) for (_, ft), k in zip(t.fields, key))


def _sorts_by_value(meta: MapMeta) -> bool:
    return meta.agg != "none" or isinstance(meta.value, IntType)


def _value_order(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, Avg):
        return value.value
    return value


def sort_entries(meta: MapMeta, entries: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Entries in the order bpftrace prints them (see the module docstring for ties)."""
    out = sorted(entries, key=lambda kv: _key_order(meta.key, kv[0]))
    if _sorts_by_value(meta):
        out.sort(key=lambda kv: _value_order(kv[1]))
    return out


def _divided(meta: MapMeta, value: Any, div: int) -> Any:
    if div == 1 or value is None:
        return value
    if isinstance(value, Avg):
        return _cdiv(value.value, div)
    if isinstance(value, int) and _sorts_by_value(meta):
        return _cdiv(value, div)
    return value


def format_map(meta: MapMeta, entries: Iterable[tuple[Any, Any]], top: int = 0,
               div: int = 1) -> str:
    """One map as 0.17 prints it at exit or for print(@m, top, div), framing newlines included.

    `entries` are (key, value) pairs: keys decoded per `meta.key` (None for a scalar map), values
    as kt.runtime.layout.reduce_percpu returns them."""
    items = list(entries)
    if meta.key is None and meta.agg == "count" and not items:
        items = [(None, 0)]
    items = sort_entries(meta, items)
    if top and len(items) > top:
        items = items[len(items) - top:]
    if div == 0:
        div = 1     # as 0.17 does
    lines = [f"{meta.name}{format_key(meta, k)}: {format_value(_divided(meta, v, div), meta.value)}"
             for k, v in items]
    return "\n".join(lines) + ("\n\n" if meta.agg == "avg" else "\n")


def format_maps(maps: Iterable[tuple[MapMeta, Iterable[tuple[Any, Any]]]],
                separator: bool = True) -> str:
    """Everything 0.17 prints at exit: EXIT_SEPARATOR ("\\n\\n", unless `separator` is False:
    0.17 writes it to stdout even when the maps go to an `-o` file), then every map by name."""
    ordered: Sequence = sorted(maps, key=lambda m: m[0].name.encode("utf-8", "surrogateescape"))
    return (EXIT_SEPARATOR if separator else "") + "".join(format_map(m, e) for m, e in ordered)
