"""runtime/agg_arrays: a keyless aggregation's PERCPU_ARRAY seen as the hash map it replaces."""

from __future__ import annotations

import pytest

from kt.runtime.agg_arrays import AggregationArray, view_aggregation_arrays
from kt.runtime.layout import map_meta_from_json
from kt.runtime.maps import Map
from kt.runtime.spec import MapSpec
from kt.runtime.sys.constants import MapType
from kt.runtime.sys.cpus import num_possible_cpus

pytestmark = [pytest.mark.kernel]

U64 = {"kind": "int", "size": 8, "signed": False}
S64 = {"kind": "int", "size": 8, "signed": True}


def u32(n: int) -> bytes:
    return n.to_bytes(4, "little")


def u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def _array(meta: dict, value_size: int, entries: int = 1) -> AggregationArray:
    kmap = Map.create(MapSpec(meta["bpf_name"], MapType.PERCPU_ARRAY, 4, value_size, entries))
    maps = {meta["bpf_name"]: kmap}
    view_aggregation_arrays(maps, [map_meta_from_json(meta)])
    assert isinstance(maps[meta["bpf_name"]], AggregationArray)
    return maps[meta["bpf_name"]]


def _on_cpu(view: AggregationArray, index: int, cpu: int, slot: bytes) -> None:
    """Write one CPU's slot as the program would."""
    n = num_possible_cpus()
    view.map.update(u32(index), [slot if i == cpu else bytes(len(slot)) for i in range(n)])


def test_sum_is_present_by_its_set_word_and_kept_by_zero():
    view = _array({"name": "@s", "bpf_name": "AT_s", "agg": "sum", "key": None, "value": S64}, 16)
    try:
        assert view.items() == [] and view.lookup(u64(0)) is None
        _on_cpu(view, 0, num_possible_cpus() - 1, u64(0) + u64(1))   # sum(0): set, value 0
        assert view.keys() == [u64(0)]
        view.clear()
        assert view.items() == []
        view.update(u64(0), bytes(16))        # what the session's zero() writes
        assert view.keys() == [u64(0)]        # zero() keeps the entry
        assert view.delete(u64(0)) is True and view.items() == []
    finally:
        view.close()


def test_hist_buckets_are_keys_where_a_cpu_counted():
    meta = {"name": "@h", "bpf_name": "AT_h", "agg": "hist", "key": None, "value": S64,
            "bucket_offset": 0}
    view = _array(meta, 8, 66)
    try:
        _on_cpu(view, 3, 0, u64(2))
        _on_cpu(view, 7, 0, u64(1))
        assert view.keys() == [u64(3), u64(7)]
        assert view.lookup(u64(4)) is None and view.lookup(u64(99)) is None
        assert map_meta_from_json(meta).bucket_offset == 0
        view.clear()
        assert view.items() == []
    finally:
        view.close()


def test_hash_maps_are_left_alone():
    kmap = Map.create(MapSpec("AT_k", MapType.PERCPU_HASH, 8, 8, 4))
    maps = {"AT_k": kmap}
    view_aggregation_arrays(maps, [map_meta_from_json({"name": "@k", "bpf_name": "AT_k", "agg": "count",
                                                       "key": U64, "value": U64})])
    assert maps["AT_k"] is kmap
    kmap.close()
