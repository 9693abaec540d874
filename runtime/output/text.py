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
  tuple values as `(1, a, -2)`, C arrays as `[1,2,255,4]` (also `[[0,1],[10,11]]`), C structs
  and unions as `{ .a = -5, .b = hello, .inner = { .x = 11 }, .arr = [100,-200,300] }`;
- inside a map key arrays print the same (`@k[[100,-200,300]]: 1`, `@x[[-1,2,-3], 5]: 1`) but
  records print without any space: `@[{.k=1,.u={.a=-2,.b=4294967294},.z=262147}]: 1`;
- a scalar count() map that was never incremented (or was cleared) prints `@name: 0`: 0.17
  gives it an entry from the start. No other map kind does.

Order of the entries of one map:
- count, sum, min, max maps and integer-valued plain maps: ascending by value (signed values
  compare signed); avg maps: ascending by the printed average;
- every other map (strings, tuples, arrays, records as values): ascending by key — integer
  keys compare as *unsigned* 64-bit (so `@[-1]` comes after `@[2]`), string keys bytewise
  (strncmp), multi-keys field by field from the first, array keys element by element, record
  keys field by field;
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

avg, stats, hist and lhist maps are printed by a different routine of 0.17 (print_map_stats,
print_map_hist), which first groups the BPF entries in a std::map by the user key's *bytes*
(little-endian integers, so `@[256]` comes before `@[1]`), then std::sort()s them by the average
(avg, stats) or by the total count (hist, lhist). That order is deterministic: kt sorts the keys
by their encoded bytes and runs libstdc++'s std::sort algorithm (`std_sort`, introsort with
its insertion sort below 17 elements: ties keep the byte order up to 16 entries, and past that
land where 0.17 puts them; checked on 34 entries). Observed with 0.17:

    @s[2]: count 2, average -2, total -5          @h[256]:
    @s[256]: count 1, average 5, total 5          [1]        1 |@@@...@@|
    @s[1]: count 1, average 5, total 5
    @s[3]: count 1, average 100, total 100        @h[1]:
                                                  [1]        1 |@@@...@@|

- stats: `@s[k]: count C, average A, total T` lines, then "\n\n" like avg; print()'s top and
  div are ignored for stats (0.17 applies them to avg only).
- hist/lhist: every entry is `@h[k]: ` (trailing space), "\n", then one row per bucket from
  the first to the last non-empty one, then a blank line ("\n" joins the entries, "\n" ends
  the map); a zero()ed entry prints only its header. A row is the label left-justified in 16
  columns, the count right-justified in 8, ` |`, a bar of `@` left-justified in 52 columns and
  `|`; the bar is `count / (float)max * 52` truncated, in single precision (15 of 26 gives 30
  `@`; double precision would give 29). hist labels `(..., 0)`, `[0]`, `[1]`, `[2, 4)`, ...
  `[512, 1K)`, `[1K, 2K)` (K, M, G, T: powers of 1024); lhist labels `(..., min)`, `[a, b)`,
  `[max, ...)` with a number printed as `nM`/`nK` when it is a multiple of 1048576/1024.
  print(@h, top, div) keeps the last `top` keys and divides hist counts by `div` (the bars are
  drawn from the undivided counts); lhist counts are never divided.
- 0.17 reads each count as a C int while looking for the non-empty range and the largest
  count (hist_prepare): kt does the same, so a count of 2^32 in a bucket reads as empty.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import struct

from .. import hist_buckets
from ..layout import (ArrayType, ArrayValue, Avg, InetType, Histogram, IntType, KSym, KsymType, Lhist,
                      MapMeta, ProbeType, RecordType, RecordValue, Stack, StackType, Stats, StrType,
                      TupleType, Type, USym, UsymType, encode)
from ..formatted import Formatted, FormattedType
from ..values import BufType, BufValue, Pointer
from ..symbols import format_stack

__all__ = ["EXIT_SEPARATOR", "format_value", "format_key", "sort_entries", "format_map",
           "format_maps", "std_sort", "hist_label", "lhist_label", "hist_rows", "bar_width",
           "nonempty_range", "format_stats"]

EXIT_SEPARATOR = "\n\n"
_U64 = (1 << 64) - 1


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


VALUE_INDENT = 8     # a stack as a map value, printf argument or tuple element
KEY_INDENT = 4       # a stack inside a map key


def format_value(value: Any, t: Type | None = None, indent: int = VALUE_INDENT,
                 in_key: bool = False) -> str:
    """One value as bpftrace prints it: ints in decimal, strings raw up to NUL, tuples in
    parentheses (`(1, a)`), arrays in brackets without spaces (`[1,2,255]`), records as
    `{ .a = 1, .b = x }` (`{.a=1,.b=x}` when `in_key`: 0.17 prints a record inside a map key
    without spaces), avg values as their truncated average, an unset min/max as 0, symbols as
    their names and stacks as multi-line text indented by `indent`."""
    if isinstance(value, (KSym, USym, Formatted)):
        return value.text
    if isinstance(value, Stack):
        return format_stack(value.frames, value.mode, indent)
    if value is None:
        return "0"     # min()/max() with no CPU set: 0.17 prints a zero()ed min/max map as 0
    if isinstance(value, Avg):
        return str(value.value)
    if isinstance(value, Stats):
        return format_stats(value)
    if isinstance(value, bool):
        raise TypeError("bool is not a map value")
    if isinstance(value, Pointer):
        return value.text(in_key)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, BufValue):
        # 0.17 prints a buf() key with all its capacity (zero bytes past its length too)
        data = bytes(value).ljust(t.size - 8, b"\0") if in_key and isinstance(t, BufType) else value
        from .printf import format_buffer   # printf formats values with this module
        return _text(format_buffer(data))
    if isinstance(value, (bytes, bytearray)):
        nul = value.find(b"\0")
        return _text(bytes(value if nul < 0 else value[:nul]))
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        fts = [ft for _, ft in t.fields] if isinstance(t, TupleType) else [None] * len(value)
        return "(" + ", ".join(format_value(v, ft, indent, in_key) for v, ft in zip(value, fts)) + ")"
    if isinstance(value, ArrayValue):
        et = t.elem if isinstance(t, ArrayType) else None
        return "[" + ",".join(format_value(v, et, indent, in_key) for v in value.items) + "]"
    if isinstance(value, RecordValue):
        fts = [f.type for f in t.fields] if isinstance(t, RecordType) else [None] * len(value.fields)
        # The members' values are the decoded ones, unsigned ints unsigned. 0.17 prints the
        # unsigned members of a record *key* as signed (`.b=-2` for 4294967294): a 0.17 bug,
        # which kt does not copy (its record values print them unsigned).
        if in_key:
            return "{" + ",".join(f".{name}={format_value(v, ft, indent, True)}"
                                  for (name, v), ft in zip(value.fields, fts)) + "}"
        return "{ " + ", ".join(f".{name} = {format_value(v, ft, indent)}"
                                for (name, v), ft in zip(value.fields, fts)) + " }"
    raise TypeError(f"cannot format {type(value).__name__}")


def format_key(meta: MapMeta, key: Any) -> str:
    """`[k]`, `[k1, k2]` for a multi-key (a tuple key type), or "" for a scalar map. Records
    inside a key print without spaces (`@[{.a=1,.b=2}]`), arrays as values do (`@[[1,2]]`)."""
    if meta.key is None:
        return ""
    if isinstance(meta.key, TupleType):
        return "[" + ", ".join(format_value(v, ft, KEY_INDENT, in_key=True)
                               for v, (_, ft) in zip(key, meta.key.fields)) + "]"
    return "[" + format_value(key, meta.key, KEY_INDENT, in_key=True) + "]"


def _key_order(t: Type | None, key: Any) -> Any:
    """bpftrace's sort_by_key: ints unsigned at their size, strings bytewise, tuples, arrays and
    records member by member (element by element, field by field); symbolic keys
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
    if isinstance(t, (ProbeType, InetType)):
        return key.encode("utf-8", "surrogateescape") if isinstance(key, str) else key
    if isinstance(t, FormattedType):   # by the raw value: uid, errno, time, cgroup id
        return tuple(key.word(i) for i in range(t.size // 8)) if isinstance(key, Formatted) else key
    if isinstance(t, IntType):
        return key & ((1 << (8 * t.size)) - 1)
    if isinstance(t, BufType):
        return bytes(key)
    if isinstance(t, StrType):
        b = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else bytes(key)
        nul = b.find(b"\0")
        return b if nul < 0 else b[:nul]
    if isinstance(t, ArrayType):
        return tuple(_key_order(t.elem, k) for k in key.items)
    if isinstance(t, RecordType):
        return tuple(_key_order(f.type, v) for f, (_, v) in zip(t.fields, key.fields))
    return tuple(_key_order(ft, k) for (_, ft), k in zip(t.fields, key))


def _sorts_by_value(meta: MapMeta) -> bool:
    return meta.agg != "none" or isinstance(meta.value, IntType)


def _value_order(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, (Avg, Stats)):
        return value.value
    if isinstance(value, Histogram):
        return value.total
    return value


# maps 0.17 prints through print_map_stats / print_map_hist: a std::map by key bytes, std::sort
_STD_SORTED = ("avg", "stats", "hist", "lhist")


def _raw_key(t: Type | None, key: Any) -> Any:
    """The user key's bytes as the BPF map holds them (what 0.17's std::map orders), field by
    field for a tuple (fixed-size fields: comparing field by field is comparing the bytes). A
    probe key decoded to its name has lost its index: its name stands in. Arrays and records
    (C values, which hold no probe names) are encoded whole: their bytes order them element by
    element and, for a struct, field by field in offset order, as 0.17's std::map does, with
    unions and bitfields included."""
    if t is None:
        return b""
    if isinstance(t, TupleType):
        return tuple(_raw_key(ft, k) for (_, ft), k in zip(t.fields, key))
    if isinstance(t, ProbeType) and isinstance(key, str):
        return key.encode("utf-8", "surrogateescape")
    return encode(t, key)


def std_sort(items: list, less) -> list:
    """libstdc++'s std::sort, step for step, in place (and returned): introsort (median-of-3
    quicksort on runs longer than 16, heapsort past 2*floor(log2 n) levels), then insertion
    sort. Not stable, but deterministic: equal elements end up exactly where 0.17's std::sort
    (Debian, libstdc++) leaves them."""
    a = items
    n = len(a)
    if n < 2:
        return a

    def unguarded_linear_insert(last: int) -> None:
        val = a[last]
        nxt = last - 1
        while less(val, a[nxt]):
            a[last] = a[nxt]
            last = nxt
            nxt -= 1
        a[last] = val

    def insertion(first: int, last: int) -> None:
        for i in range(first + 1, last):
            val = a[i]
            if less(val, a[first]):
                a[first + 1:i + 1] = a[first:i]
                a[first] = val
            else:
                unguarded_linear_insert(i)

    def move_median_to_first(result: int, x: int, y: int, z: int) -> None:
        if less(a[x], a[y]):
            m = y if less(a[y], a[z]) else z if less(a[x], a[z]) else x
        elif less(a[x], a[z]):
            m = x
        elif less(a[y], a[z]):
            m = z
        else:
            m = y
        a[result], a[m] = a[m], a[result]

    def unguarded_partition(first: int, last: int, pivot: int) -> int:
        while True:
            while less(a[first], a[pivot]):
                first += 1
            last -= 1
            while less(a[pivot], a[last]):
                last -= 1
            if not first < last:
                return first
            a[first], a[last] = a[last], a[first]
            first += 1

    def adjust_heap(first: int, hole: int, length: int, value: Any) -> None:
        top = child = hole
        while child < (length - 1) // 2:
            child = 2 * (child + 1)
            if less(a[first + child], a[first + child - 1]):
                child -= 1
            a[first + hole] = a[first + child]
            hole = child
        if length & 1 == 0 and child == (length - 2) // 2:
            child = 2 * (child + 1)
            a[first + hole] = a[first + child - 1]
            hole = child - 1
        parent = (hole - 1) // 2
        while hole > top and less(a[first + parent], value):
            a[first + hole] = a[first + parent]
            hole = parent
            parent = (hole - 1) // 2
        a[first + hole] = value

    def heap_sort(first: int, last: int) -> None:
        length = last - first
        parent = (length - 2) // 2
        while True:                       # make_heap
            adjust_heap(first, parent, length, a[first + parent])
            if parent == 0:
                break
            parent -= 1
        while last - first > 1:           # sort_heap
            last -= 1
            value = a[last]
            a[last] = a[first]
            adjust_heap(first, 0, last - first, value)

    def introsort_loop(first: int, last: int, depth: int) -> None:
        while last - first > 16:
            if depth == 0:
                heap_sort(first, last)
                return
            depth -= 1
            move_median_to_first(first, first + 1, first + (last - first) // 2, last - 1)
            cut = unguarded_partition(first + 1, last, first)
            introsort_loop(cut, last, depth)
            last = cut

    introsort_loop(0, n, 2 * (n.bit_length() - 1))
    if n > 16:
        insertion(0, 16)
        for i in range(16, n):
            unguarded_linear_insert(i)
    else:
        insertion(0, n)
    return a


def sort_entries(meta: MapMeta, entries: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Entries in the order bpftrace prints them (see the module docstring for ties)."""
    if meta.agg in _STD_SORTED:
        # hist: by the total count (a u64, Histogram.total); avg, stats: by the int64 average
        by_bytes = sorted(entries, key=lambda kv: _raw_key(meta.key, kv[0]))
        keyed = [(_value_order(v), (k, v)) for k, v in by_bytes]
        return [kv for _, kv in std_sort(keyed, lambda x, y: x[0] < y[0])]
    out = sorted(entries, key=lambda kv: _key_order(meta.key, kv[0]))
    if _sorts_by_value(meta):
        out.sort(key=lambda kv: _value_order(kv[1]))
    return out


# ---------------------------------------------------------------------------------------------
# stats, hist, lhist

def format_stats(value: Stats) -> str:
    """`count C, average A, total T` (the count as 0.17's int64)."""
    count = value.count & _U64
    count = count - (1 << 64) if count >> 63 else count
    return f"count {count}, average {value.average}, total {value.total}"


BAR_COLUMNS = 52


def _s32(v: int) -> int:
    """A u64 count read as a C int (hist_prepare's `int v = values.at(i)`)."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _int_to_f32(n: int) -> float:
    """(float)n: the integer rounded to 24 significant bits, to nearest, ties to even."""
    if n < (1 << 24):
        return float(n)
    shift = n.bit_length() - 24
    q, r = divmod(n, 1 << shift)
    half = 1 << (shift - 1)
    if r > half or (r == half and q & 1):
        q += 1
    return float(q << shift)


def bar_width(count: int, max_value: int) -> int:
    """0.17's `int bar_width = values.at(i)/(float)max_value*max_width`, in single precision
    (a quotient of two floats, rounded, times 52, rounded, truncated). Past 52 columns (counts
    of 2^31 and more, which 0.17 reads as negative ints) kt stops at 52."""
    if max_value <= 0:
        return 0
    w = _f32(_f32(_int_to_f32(count & _U64) / _int_to_f32(max_value)) * float(BAR_COLUMNS))
    return max(0, min(BAR_COLUMNS, int(w)))


def nonempty_range(meta: MapMeta, counts: Sequence[int]) -> tuple[int, int, int] | None:
    """(first, last, largest count) of the buckets 0.17 prints, None when it prints none.

    hist (hist_prepare): from the first to the last bucket whose count, read as a C int, is
    positive; the largest is the largest such int. lhist (lhist_prepare): nothing when every
    count reads as int 0, else from the first to the last bucket of 0 .. last with a non-zero
    count."""
    ints = [_s32(c) for c in counts]
    max_value = max([0, *ints])
    if meta.agg == "hist":
        used = [i for i, v in enumerate(ints) if v > 0]
        return (used[0], used[-1], max_value) if used else None
    if not any(ints):
        return None
    last = meta.lhist.last if meta.lhist is not None else len(counts) - 1
    used = [i for i in range(min(last + 1, len(counts))) if counts[i] & _U64]
    return (used[0], used[-1], max_value) if used else (0, 0, max_value)


def _power_label(power: int) -> str:
    """hist_index_label: 2^power with K, M, G, T for powers of 1024."""
    suffix = ""
    for p, sfx in ((40, "T"), (30, "G"), (20, "M"), (10, "K")):
        if power >= p:
            power -= p
            suffix = sfx
            break
    return f"{1 << power}{suffix}"


def hist_label(i: int) -> str:
    """The label of hist() bucket i: `(..., 0)`, `[0]`, `[1]`, `[2, 4)`, ..., `[1K, 2K)`."""
    if i == 0:
        return "(..., 0)"
    if i == 1:
        return "[0]"
    if i == 2:
        return "[1]"
    return f"[{_power_label(i - 2)}, {_power_label(i - 1)})"


def _number_label(n: int) -> str:
    """lhist_index_label: n as nM or nK when a multiple of 1048576 or 1024 (0 as 0)."""
    if n != 0 and n % 1048576 == 0:
        return f"{n // 1048576}M"
    if n != 0 and n % 1024 == 0:
        return f"{n // 1024}K"
    return str(n)


def lhist_label(i: int, lh: Lhist) -> str:
    """The label of lhist() bucket i: `(..., min)`, `[a, b)`, `[max, ...)`."""
    if i == 0:
        return f"(..., {_number_label(lh.min)})"
    if i == lh.last:
        return f"[{_number_label(lh.max)}, ...)"
    return f"[{_number_label((i - 1) * lh.step + lh.min)}, {_number_label(i * lh.step + lh.min)})"


def hist_rows(meta: MapMeta, value: Histogram, div: int = 1) -> str:
    """One histogram's rows, each ending in "\n" ("" when 0.17 prints none). hist counts are
    divided by `div` (print's), lhist counts never; the bars use the undivided counts."""
    span = nonempty_range(meta, value.counts)
    if span is None:
        return ""
    first, last, max_value = span
    lh = meta.lhist
    rows = []
    for i in range(first, last + 1):
        count = value.counts[i] & _U64
        if lh is not None:
            label = lhist_label(i, lh)
        else:
            label = hist_label(i) if meta.hist_bits is None else hist_buckets.label(i, meta.hist_bits)
        shown = count // div if lh is None else count
        bar = "@" * bar_width(count, max_value)
        rows.append(f"{label:<16}{shown:>8} |{bar:<{BAR_COLUMNS}}|\n")
    return "".join(rows)


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
    as kt.runtime.layout.reduce_percpu returns them (Avg, Stats, ints, ...) or, for hist/lhist
    maps, Histograms from kt.runtime.layout.group_buckets (kt.runtime.layout.map_entries gives
    either from a map's raw items)."""
    items = list(entries)
    if meta.agg == "tseries":   # bpftrace 0.24: no 0.17 counterpart, 0.26's layout
        from .tseries import format_text
        return format_text(meta, items, format_key)
    if meta.key is None and meta.agg == "count" and not items:
        items = [(None, 0)]
    items = sort_entries(meta, items)
    if meta.agg == "stats":     # 0.17 applies neither top nor div to stats maps
        return "\n".join(f"{meta.name}{format_key(meta, k)}: {format_stats(v)}"
                         for k, v in items) + "\n\n"
    if top and len(items) > top:
        items = items[len(items) - top:]
    if div == 0:
        div = 1     # as 0.17 does
    if meta.agg in ("hist", "lhist"):
        return "\n".join(f"{meta.name}{format_key(meta, k)}: \n{hist_rows(meta, v, div)}"
                         for k, v in items) + "\n"
    lines = [f"{meta.name}{format_key(meta, k)}: {format_value(_divided(meta, v, div), meta.value)}"
             for k, v in items]
    return "\n".join(lines) + ("\n\n" if meta.agg == "avg" else "\n")


def format_maps(maps: Iterable[tuple[MapMeta, Iterable[tuple[Any, Any]]]],
                separator: bool = True) -> str:
    """Everything 0.17 prints at exit: EXIT_SEPARATOR ("\\n\\n", unless `separator` is False:
    0.17 writes it to stdout even when the maps go to an `-o` file), then every map by name."""
    ordered: Sequence = sorted(maps, key=lambda m: m[0].name.encode("utf-8", "surrogateescape"))
    return (EXIT_SEPARATOR if separator else "") + "".join(format_map(m, e) for m, e in ordered)
