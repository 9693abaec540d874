"""Keyless aggregation maps kept in per-CPU arrays, seen as the per-CPU hash maps they replace.

Why: the compiler puts a keyless count/sum/min/max/avg/stats/hist/lhist into a PERCPU_ARRAY
(docs/object-format.md), because the verifier inlines array lookups and the program then makes
no helper call for `@ = count()`. But every entry of an array exists, and none can be deleted,
while the printers (and 0.17) distinguish a map that holds a value from an empty one. This view
gives the rest of the runtime the hash map's keys and presence:

- an entry is present when a CPU's slot says it was updated (count, hist, lhist: a count
  above 0; sum, min, max: the `set` word; avg, stats: the count word; tseries: the epoch), or when zero() kept
  it (zero keeps keys: `@ = avg(5); zero(@)` prints `@: 0`);
- clear() and delete() zero the entry on every CPU and forget that it was kept;
- keys are the hash map's: u64 0 for a scalar, the u64 bucket index for a hist/lhist/tseries.
"""

from __future__ import annotations

from typing import Any

from .layout import MapMeta
from .maps import Map, Value
from .sys.constants import MapType, UpdateFlags

_KEY_BYTES = 8   # the hash map's key: a u64 index


class AggregationArray:
    """A PERCPU_ARRAY holding one keyless aggregation (`meta`), with a hash map's interface
    (keys, items, lookup, update, delete, clear); everything else is the Map's."""

    def __init__(self, kmap: Map, meta: MapMeta) -> None:
        self.map = kmap
        self.meta = meta
        # The word of a CPU's slot that is non-zero once the probe updated it.
        self._word = 0 if meta.agg in ("count", "hist", "lhist") else 2 if meta.agg == "tseries" else 1
        self._kept: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.map, name)

    # --- keys -----------------------------------------------------------------------------

    def _index(self, key: bytes) -> int:
        if len(key) != _KEY_BYTES:
            raise ValueError(f"map '{self.map.name}': key is {len(key)} bytes, expected {_KEY_BYTES}")
        return int.from_bytes(key, "little")

    @staticmethod
    def _key(index: int) -> bytes:
        return index.to_bytes(_KEY_BYTES, "little")

    def _present(self, index: int, value: Value) -> bool:
        if index in self._kept:
            return True
        lo, hi = 8 * self._word, 8 * self._word + 8
        return any(any(slot[lo:hi]) for slot in value)

    def _raw(self, index: int) -> Value:
        value = self.map.lookup(index.to_bytes(4, "little"))
        if value is None:     # only past max_entries
            raise KeyError(index)
        return value

    # --- the hash map's interface ------------------------------------------------------------

    def lookup(self, key: bytes) -> Value | None:
        index = self._index(key)
        if index >= self.map.max_entries:
            return None
        value = self._raw(index)
        return value if self._present(index, value) else None

    def items(self) -> list[tuple[bytes, Value]]:
        out = []
        for index in range(self.map.max_entries):
            value = self._raw(index)
            if self._present(index, value):
                out.append((self._key(index), value))
        return out

    def keys(self) -> list[bytes]:
        return [k for k, _ in self.items()]

    def update(self, key: bytes, value: Value, flags: int = UpdateFlags.ANY) -> None:
        """Write the value (zero() writes zeroes): the entry counts as present from now on."""
        index = self._index(key)
        self.map.update(index.to_bytes(4, "little"), value, flags)
        self._kept.add(index)

    def delete(self, key: bytes) -> bool:
        index = self._index(key)
        if index >= self.map.max_entries:
            return False
        present = self._present(index, self._raw(index))
        self.map.update(index.to_bytes(4, "little"), bytes(self.map.value_size))
        self._kept.discard(index)
        return present

    def clear(self) -> None:
        zero = bytes(self.map.value_size)
        for index in range(self.map.max_entries):
            self.map.update(index.to_bytes(4, "little"), zero)
        self._kept.clear()


def view_aggregation_arrays(maps: dict, meta_maps) -> None:
    """Replace, in a loaded object's `maps` (bpf name -> Map), each aggregation kept in a
    PERCPU_ARRAY by its AggregationArray view; the view closes with the Map it wraps."""
    for m in meta_maps:
        kmap = maps.get(m.bpf_name)
        if isinstance(kmap, Map) and kmap.map_type == MapType.PERCPU_ARRAY and m.agg != "none":
            maps[m.bpf_name] = AggregationArray(kmap, m)
