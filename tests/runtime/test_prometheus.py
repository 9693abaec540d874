"""runtime/prometheus_metrics.py and runtime/prometheus.py without a kernel: names, types,
label values, `le` buckets, the address syntax, the per-map cap and its one warning."""

import io

import pytest

from kt.compiler.formats.meta import Lhist, MapMeta
from kt.compiler.formats.value_types import IntType, KsymType, StrType, TupleType
from kt.runtime.layout import Avg, Histogram, Stats
from kt.runtime.prometheus import (
    DEFAULT_MAX_SERIES, DROPPED_METRIC, MapCollector, MapSource, PrometheusError, max_series, parse_address,
)
from kt.runtime.prometheus_metrics import label_names, label_values, le_buckets, metric_names, metric_type
from kt.runtime.values import KSym, Pointer

U64, S64 = IntType(8, False), IntType(8, True)
PAIR = TupleType(24, ((0, StrType(16)), (16, S64)))


def mm(name="@x", agg="count", key=None, value=U64, **kw) -> MapMeta:
    if agg in ("hist", "lhist") and "bucket_offset" not in kw:
        kw["bucket_offset"] = 0 if key is None else (key.size + 7) // 8 * 8
    return MapMeta(name, "AT_" + name[1:], agg, key, value, **kw)


def test_metric_names_prefixed_and_unique():
    assert metric_names(["@bytes", "@", "@map", "@x_total", "@x"], taken=("kt_prometheus_dropped_keys",)) == {
        "@bytes": "kt_bytes", "@": "kt_map", "@map": "kt_map_2", "@x_total": "kt_x", "@x": "kt_x_2"}


@pytest.mark.parametrize("agg, value, kind", [
    ("count", U64, "counter"), ("sum", U64, "counter"), ("sum", S64, "gauge"), ("min", S64, "gauge"),
    ("max", S64, "gauge"), ("avg", S64, "gauge"), ("stats", S64, "summary"), ("none", S64, "gauge"),
    ("none", StrType(16), "info"), ("none", KsymType(), "info"), ("none", PAIR, None),
])
def test_metric_types(agg, value, kind):
    assert metric_type(mm(agg=agg, value=value)) == kind


def test_hist_and_lhist_types():
    assert metric_type(mm(agg="hist")) == "histogram"
    assert metric_type(mm(agg="lhist", lhist=Lhist(0, 10, 2))) == "histogram"


def test_labels_from_key_names_or_positions():
    assert label_names(mm(key=PAIR, key_names=("comm", "pid"))) == ("comm", "pid")
    assert label_names(mm(key=PAIR)) == ("key0", "key1")          # an object without key_names
    assert label_names(mm(key=S64)) == ("key0",) and label_names(mm()) == ()


def test_label_values():
    assert label_values(mm(key=PAIR), (b"bash", -3)) == ("bash", "-3")
    assert label_values(mm(key=S64), Pointer(0xffff8881)) == ("0xffff8881",)
    assert label_values(mm(key=StrType(4)), b"\xff\xfe") == ("\ufffd\ufffd",)   # not UTF-8: replaced
    assert label_values(mm(key=KsymType()), KSym(1, "vfs_read")) == ("vfs_read",)
    assert label_values(mm(), None) == ()


def counts(n: int, **at: int) -> Histogram:
    c = [0] * n
    for i, v in at.items():
        c[int(i[1:])] = v
    return Histogram(tuple(c))


def test_hist_buckets_le_is_the_largest_integer_held():
    h = mm(agg="hist")
    # bucket 0 (..., 0), 1 [0], 2 [1], 3 [2, 4), 4 [4, 8), 6 [16, 32)
    b = le_buckets(h, counts(65, b0=1, b1=2, b3=3, b4=4, b6=5))
    assert b.buckets == [("-1", 1), ("0", 3), ("1", 3), ("3", 6), ("7", 10), ("15", 10), ("31", 15), ("+Inf", 15)]
    assert b.count == 15
    # from a fixed first bucket, [0], to the last non-empty one: a key's series stay from
    # scrape to scrape (bpftrace prints from [8, 16) here), only a larger value adds one
    assert le_buckets(h, counts(65, b5=2, b7=1)).buckets == [
        ("0", 0), ("1", 0), ("3", 0), ("7", 0), ("15", 2), ("31", 2), ("63", 3), ("+Inf", 3)]
    assert le_buckets(h, counts(65)).buckets == [("+Inf", 0)]


def test_hist_k_buckets():
    h = mm(agg="hist", hist_bits=1)     # [0] [1] [2] [3], then 2 per power of two: [4, 6) [6, 8) ...
    b = le_buckets(h, counts(200, b1=1, b4=1, b5=2, b6=3))
    assert b.buckets == [("0", 1), ("1", 1), ("2", 1), ("3", 2), ("5", 4), ("7", 7), ("+Inf", 7)]


def test_lhist_buckets_under_and_overflow():
    lh = mm(agg="lhist", value=S64, lhist=Lhist(-10, 10, 5))   # 0 (..., -10), 1..4 [-10, 10) by 5, 5 [10, ...)
    b = le_buckets(lh, counts(6, b0=1, b1=2, b3=4, b5=8))
    assert b.buckets == [("-11", 1), ("-6", 3), ("-1", 3), ("4", 7), ("9", 7), ("+Inf", 15)]
    assert b.count == 15
    # values only in [0, 5): the buckets still start at (..., -10)
    assert le_buckets(lh, counts(6, b3=2)).buckets == [("-11", 0), ("-6", 0), ("-1", 0), ("4", 2), ("+Inf", 2)]


def test_address_syntax():
    assert parse_address("9435") == ("127.0.0.1", 9435)
    assert parse_address(":9435") == ("0.0.0.0", 9435)
    assert parse_address("10.0.0.1:80") == ("10.0.0.1", 80)
    assert parse_address("[::1]:9435") == ("::1", 9435)
    for bad in ("", "x", "0", "70000", "::1:80", "host:"):
        with pytest.raises(PrometheusError):
            parse_address(bad)


def test_cap_from_flag_env_or_default(monkeypatch):
    monkeypatch.delenv("KT_PROMETHEUS_MAX_SERIES", raising=False)
    assert max_series() == DEFAULT_MAX_SERIES
    monkeypatch.setenv("KT_PROMETHEUS_MAX_SERIES", "7")
    assert max_series() == 7 and max_series("3") == 3 and max_series(0) == 0
    monkeypatch.setenv("KT_PROMETHEUS_MAX_SERIES", "lots")
    with pytest.raises(PrometheusError, match="KT_PROMETHEUS_MAX_SERIES"):
        max_series()


def scrape(collector) -> dict:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    return {f.name: f for f in text_string_to_metric_families(generate_latest(reg).decode())}


def test_collector_types_cap_and_one_warning():
    maps = {
        mm("@c", key=S64, key_names=("pid",)): [(i, i * 10) for i in range(1, 8)],
        mm("@s", "stats", value=S64): [(None, Stats(total=70, count=7))],
        mm("@a", "avg", key=StrType(16), value=S64, key_names=("comm",)): [(b"sh", Avg(9, 2))],
        mm("@m", "max", value=S64): [],
        mm("@h", "hist", key=S64, key_names=("cpu",)): [(0, counts(65, b3=2)), (1, counts(65, b4=1))],
        mm("@t", "none", value=PAIR): [(None, (b"x", 1))],
        mm("@z"): [],
    }
    source, err = MapSource(), io.StringIO()
    collector = MapCollector(source, cap=5, err=err)
    assert scrape(collector) == {}      # nothing before the session lends the maps
    source.attach(list(maps), lambda m: maps[m])
    for _ in range(2):
        fams = scrape(collector)
    c = fams["kt_c"]
    assert c.type == "counter"
    assert sorted((s.labels["pid"], s.value) for s in c.samples if s.name == "kt_c_total") == \
        [(str(i), i * 10.0) for i in range(3, 8)]        # the 5 largest of 7
    assert [s.value for s in fams[DROPPED_METRIC].samples] == [2.0]
    assert err.getvalue().count("map @c has more than 5 keys") == 1     # once, over two scrapes
    assert err.getvalue().count("map @t is not exported") == 1 and "kt_t" not in fams
    assert {s.name: s.value for s in fams["kt_s"].samples} == {"kt_s_count": 7.0, "kt_s_sum": 70.0}
    assert fams["kt_s"].type == "summary"
    assert [(s.labels, s.value) for s in fams["kt_a"].samples] == [({"comm": "sh"}, 4.0)]
    assert fams["kt_m"].samples == []                    # a max() never set: no sample
    assert [s.value for s in fams["kt_z"].samples] == [0.0]   # a count() never set reads 0
    h = [(s.name, s.labels, s.value) for s in fams["kt_h"].samples if s.labels.get("cpu") == "0"]
    assert h == [("kt_h_bucket", {"cpu": "0", "le": "0"}, 0.0), ("kt_h_bucket", {"cpu": "0", "le": "1"}, 0.0),
                 ("kt_h_bucket", {"cpu": "0", "le": "3"}, 2.0), ("kt_h_bucket", {"cpu": "0", "le": "+Inf"}, 2.0),
                 ("kt_h_count", {"cpu": "0"}, 2.0)]
    source.detach()
    assert scrape(collector) == {}
