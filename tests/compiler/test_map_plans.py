"""compiler/passes/resources.py: which maps are per-CPU arrays (keyless aggregations, whose
lookups the verifier inlines) and their layouts, as the object's .maps declares them."""

from kt.runtime.spec import parse_object
from kt.runtime.sys.constants import MapType


def test_keyless_aggregations_are_percpu_arrays(compile_text):
    c = compile_text('BEGIN { @c = count(); @s = sum(1); @m = max(2); @h = hist(3); '
                     '@l = lhist(4, 0, 10, 2); @k[1] = count(); @d = count(); delete(@d); @v = 5; exit(); }')
    plans = c.plan.maps
    assert {n for n, p in plans.items() if p.array} == {"@c", "@s", "@m", "@h", "@l"}
    assert plans["@s"].value_size == 16          # {sum, set}
    assert plans["@c"].key_size == 4 and plans["@c"].max_entries == 1
    assert plans["@h"].max_entries == 66 and plans["@l"].max_entries == 7
    maps = parse_object(c.elf).maps
    assert maps["AT_c"].map_type == MapType.PERCPU_ARRAY and maps["AT_c"].key_size == 4
    assert maps["AT_s"].value_size == 16
    assert maps["AT_k"].map_type == MapType.PERCPU_HASH
    assert maps["AT_d"].map_type == MapType.PERCPU_HASH      # delete() needs a hash map
    assert maps["AT_v"].map_type == MapType.HASH
