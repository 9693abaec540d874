"""kt's maps as Prometheus samples: names, metric types, label values and `le` buckets.

Why a module of its own: these are the exporter's rules (docs/prometheus.md), pure functions of
a map's `.kt.meta` record and its decoded entries, testable without prometheus_client or a
kernel. runtime/prometheus.py turns what they return into prometheus_client metric families.

- A map `@name` is the family `kt_name` (the bare `@` is `kt_map`); repeats get `_2`, ...
- count() -> counter; sum() of unsigned values -> counter, of signed ones -> gauge (a signed
  sum can fall); min/max/avg and integer values -> gauge; stats() -> summary (`_count`,
  `_sum`, no quantiles); hist()/lhist() -> histogram; string and symbol values -> a gauge of 1
  with the text as the label `value`; tseries(), tuple, record, buffer and stack values: not
  exported (one warning).
- hist/lhist buckets hold integers, [low, high): bucket `le` is high - 1 (the largest integer
  it holds), cumulative from a fixed first bucket (hist's [0], lhist's (..., min)) to the last
  non-empty one, then `+Inf` (the key's total, also `_count`); the negative (..., 0) and (..., min) buckets are `le="-1"` and
  `le="MIN-1"`; kt keeps no sum of the values, so there is no `_sum`.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ..compiler.formats.meta import MapMeta
from ..compiler.formats.value_types import (
    FormattedType, InetType, IntType, KsymType, StrType, TupleType, UsymType,
)
from .layout import Histogram
from .values import Pointer, Stack

PREFIX = "kt_"
_U64 = (1 << 64) - 1


def metric_base(map_name: str) -> str:
    """`@bytes` -> `kt_bytes`, `@` -> `kt_map` (before making names unique)."""
    body = re.sub(r"[^a-zA-Z0-9_]", "_", map_name.lstrip("@")) or "map"
    return PREFIX + body


def metric_names(map_names: list[str], taken: tuple[str, ...] = ()) -> dict[str, str]:
    """Each map's family name, unique among themselves and `taken` (kt's own metrics).
    A counter family's samples end in `_total`, so `kt_x` and `kt_x_total` would clash too."""
    used = set(taken)
    out = {}
    for name in map_names:
        base = metric_base(name)
        if base.endswith("_total"):
            base = base[:-len("_total")]
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}_{n}"
        used.add(candidate)
        out[name] = candidate
    return out


def label_names(mm: MapMeta) -> tuple[str, ...]:
    """The map's label names: the compiler's key_names, else key0, key1, ... (older objects)."""
    if mm.key is None:
        return ()
    if mm.key_names:
        return mm.key_names
    parts = len(mm.key.fields) if isinstance(mm.key, TupleType) else 1
    return tuple(f"key{i}" for i in range(parts))


def metric_type(mm: MapMeta) -> str | None:
    """The Prometheus type of a map's family, "info" (a string value: a gauge of 1 with its
    text as a label), or None when the map's values are not exported."""
    if mm.agg == "count":
        return "counter"
    if mm.agg == "sum":
        return "gauge" if mm.value.signed else "counter"
    if mm.agg in ("min", "max", "avg"):
        return "gauge"
    if mm.agg == "stats":
        return "summary"
    if mm.agg in ("hist", "lhist"):
        return "histogram"
    if mm.agg == "none":
        if isinstance(mm.value, IntType):
            return "gauge"
        if isinstance(mm.value, (StrType, KsymType, UsymType, FormattedType, InetType)):
            return "info"
    return None


def label_text(v: Any) -> str:
    """A decoded key part (runtime/values.py) as a label value: integers in decimal, strings
    as text (bytes that are no UTF-8 replaced), symbols as printed, stacks as their frames
    joined by `;` (folded), tuples and arrays joined by `,`, structs as `f=v,...`."""
    from .api.values import python_value
    if isinstance(v, Stack):
        return ";".join(text.strip() for _, text in v.frames or ())
    return _text(python_value(v))


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, Pointer):
        return hex(v)     # as bpftrace prints a pointer key
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, tuple):
        return ",".join(_text(x) for x in v)
    if isinstance(v, dict):
        return ",".join(f"{k}={_text(x)}" for k, x in v.items())
    return "" if v is None else str(v)


def label_values(mm: MapMeta, key: Any) -> tuple[str, ...]:
    """The label values of one decoded key (None: a scalar map)."""
    if mm.key is None:
        return ()
    if isinstance(mm.key, TupleType):
        return tuple(label_text(part) for part in key)
    return (label_text(key),)


class Buckets(NamedTuple):
    buckets: list[tuple[str, int]]   # (le, cumulative count), ending with ("+Inf", total)
    count: int


def exported_span(mm: MapMeta, hist: Histogram) -> tuple[int, int] | None:
    """The bucket indexes a key exports, None for a key with no counts: from a fixed first
    bucket to the last non-empty one. The first is lhist's (..., min), and hist's [0] (its
    (..., 0) only once that has counts). A fixed lower edge keeps a key's series steady from
    scrape to scrape (bpftrace's printed range also moves at the bottom): only a new largest
    value adds buckets."""
    nonempty = [i for i, c in enumerate(hist.counts) if c]
    if not nonempty:
        return None
    first = 0 if mm.lhist is not None or hist.counts[0] else 1
    return first, nonempty[-1]


def le_buckets(mm: MapMeta, hist: Histogram) -> Buckets:
    """A hist()/lhist() value as cumulative `le` buckets (see the module docstring)."""
    from .api.values import buckets as bucket_bounds
    out: list[tuple[str, int]] = []
    running = 0
    span = exported_span(mm, hist)
    for b in (bucket_bounds(mm, hist, span) if span is not None else []):
        running += b.count
        if b.high is None:
            break           # the overflow bucket [max, ...): only +Inf holds it
        out.append((str(b.high - 1), running))
    total = hist.total
    out.append(("+Inf", total))
    return Buckets(out, total)
