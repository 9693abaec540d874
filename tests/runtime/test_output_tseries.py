"""tseries() charts and hist(v, k) labels against bpftrace's docs (docs/stdlib.md, 0.26): the
two tseries examples' charts line for line (timestamps aside: they are the docs' wall clock),
from the values they show."""

from __future__ import annotations

import re

from kt.compiler.formats.meta import MapMeta, Tseries
from kt.compiler.formats.value_types import IntType
from kt.runtime import hist_buckets
from kt.runtime.output.text import format_key, format_map
from kt.runtime.tseries import TimeSeries

STEP = 100_000_000

ZIGZAG = [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 0, -1, -2, -3, -4]
ZIGZAG_DOCS = """\
@:
             -5                                                  5
hh:mm:ss.ms  |___________________________________________________|
10:39:49.300 *                         .                         | -5
10:39:49.400 |    *                    .                         | -4
10:39:49.500 |         *               .                         | -3
10:39:49.600 |              *          .                         | -2
10:39:49.700 |                   *     .                         | -1
10:39:49.800 |                         *                         | 0
10:39:49.900 |                         .    *                    | 1
10:39:50.000 |                         .         *               | 2
10:39:50.100 |                         .              *          | 3
10:39:50.200 |                         .                   *     | 4
10:39:50.300 |                         .                         * 5
10:39:50.400 |                         .                   *     | 4
10:39:50.500 |                         .              *          | 3
10:39:50.600 |                         .         *               | 2
10:39:50.700 |                         .    *                    | 1
10:39:50.800 |                         *                         | 0
10:39:50.900 |                   *     .                         | -1
10:39:51.000 |              *          .                         | -2
10:39:51.100 |         *               .                         | -3
10:39:51.200 |    *                    .                         | -4
             v___________________________________________________v
             -5                                                  5
"""

MIN = [0, 0, 1, 2, 1, 0, 1, 0, 1, 0, 2, 0, 0, 1, 1, 1, 0, 2, 1, 1]
MIN_DOCS = """\
@:
             0                                                   2
hh:mm:ss.ms  |___________________________________________________|
10:41:46.700 *                                                   | 0
10:41:46.800 *                                                   | 0
10:41:46.900 |                         *                         | 1
10:41:47.000 |                                                   * 2
10:41:47.100 |                         *                         | 1
10:41:47.200 *                                                   | 0
10:41:47.300 |                         *                         | 1
10:41:47.400 *                                                   | 0
10:41:47.500 |                         *                         | 1
10:41:47.600 *                                                   | 0
10:41:47.700 |                                                   * 2
10:41:47.800 *                                                   | 0
10:41:47.900 *                                                   | 0
10:41:48.000 |                         *                         | 1
10:41:48.100 |                         *                         | 1
10:41:48.200 |                         *                         | 1
10:41:48.300 *                                                   | 0
10:41:48.400 |                                                   * 2
10:41:48.500 |                         *                         | 1
10:41:48.600 |                         *                         | 1
             v___________________________________________________v
             0                                                   2
"""

_STAMP = re.compile(r"^\d\d:\d\d:\d\d\.\d\d\d ", re.M)


def _meta(agg: str = "none") -> MapMeta:
    return MapMeta("@", "AT_", "tseries", None, IntType(8, True), 0, tseries=Tseries(STEP, 20, agg))


def _chart(values: list[int], agg: str = "none") -> str:
    first = 17_000_000_000   # an epoch of 100 ms
    series = TimeSeries(tuple((first + i, v) for i, v in enumerate(values)))
    return format_map(_meta(agg), [(None, series)])


def test_zigzag_chart_is_the_docs_chart():
    assert _STAMP.sub("", _chart(ZIGZAG)) == _STAMP.sub("", ZIGZAG_DOCS) + "\n"


def test_min_chart_is_the_docs_chart():
    assert _STAMP.sub("", _chart(MIN, "min")) == _STAMP.sub("", MIN_DOCS) + "\n"


def test_rows_are_interval_starts_in_the_intervals_unit():
    stamps = _STAMP.findall(_chart(ZIGZAG))
    assert len(stamps) == 20
    assert {s[-4:-1] for s in stamps} <= {f"{n}00" for n in range(10)}


def test_missing_intervals_print_a_dash_and_old_ones_are_dropped():
    series = TimeSeries(((100, 7), (103, 9), (129, 8), (131, 2)))
    meta = MapMeta("@t", "AT_t", "tseries", IntType(8, False), IntType(8, True), 8,
                   tseries=Tseries(STEP, 3, "none"))
    other = TimeSeries(((130, 1),))
    out = format_map(meta, [(5, series), (6, other)])
    # keys from the least to the most recently written; the last 3 epochs of the map: 129 .. 131
    assert out.index("@t[6]:") < out.index("@t[5]:")
    rows = out.split("@t[5]:\n", 1)[1].splitlines()[2:5]
    assert [r.rsplit(" ", 1)[1] for r in rows] == ["8", "-", "2"]
    # a key shows its intervals from its first one among the map's last 3 up to the map's latest
    rows6 = out.split("@t[6]:\n", 1)[1].split("\n\n")[0].splitlines()[2:-2]
    assert [r.rsplit(" ", 1)[1] for r in rows6] == ["1", "-"]
    assert format_key(meta, 5) == "[5]"


def test_hist_k_labels():
    assert [hist_buckets.label(i, 2) for i in range(8, 15)] == [
        "[7]", "[8, 10)", "[10, 12)", "[12, 14)", "[14, 16)", "[16, 20)", "[20, 24)"]
    assert hist_buckets.label(0, 3) == "(..., 0)"
    assert hist_buckets.bounds(0, 3) == (None, 0)
    # k = 0 has 0.17's labels
    assert [hist_buckets.label(i, 0) for i in (1, 2, 3, 11, 12)] == ["[0]", "[1]", "[2, 4)", "[512, 1K)", "[1K, 2K)"]
    # the largest index, 2^63 - 1's
    n = hist_buckets.hist_k_buckets(5)
    assert hist_buckets.label(n - 1, 5) == "[8064P, 8192P)"
