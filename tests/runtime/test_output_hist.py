"""hist(), lhist() and stats() maps: kt.runtime.layout.group_buckets / map_entries and the text
and JSON printers, against what Debian's bpftrace v0.17.0 printed (pure, no kernel).

Each case names the script it came from, run as `bpftrace -e '<script>' | cat -A` and
`bpftrace -f json -e '<script>'`; the expected text is everything after `Attaching 1 probe...`.
The raw map items are built here the way the kernel hands them to user space for the contract
of docs/object-format.md: one BPF key per (user key, bucket index) — the user key, zero padding
up to `bucket_offset`, the u64 bucket index — each with one u64 count per CPU (the updates are
spread over the CPUs); stats maps one `{i64 total; u64 count}` record per CPU.
"""

import struct

import pytest
from hypothesis import given, strategies as st

from kt.runtime.layout import (
    Histogram, IntType, Lhist, MapMeta, StrType, Stats, TupleType, encode, group_buckets,
    map_entries, map_meta_from_json, percpu_value_size, reduce_percpu,
)
from kt.runtime.output import json as js
from kt.runtime.output.text import (
    bar_width, format_map, format_maps, hist_label, lhist_label, sort_entries, std_sort,
)

I64 = IntType(8, True)
S64 = StrType(64)
NCPUS = 4


# ---------------------------------------------------------------------------------------------
# the kernel side of the contract

def hist_index(v: int) -> int:
    """hist()'s bucket as 0.17's BPF computes it (docs/object-format.md)."""
    if v < 0:
        return 0
    if v == 0:
        return 1
    return 2 + min(v.bit_length() - 1, 31)


def lhist_index(lh: Lhist, v: int) -> int:
    if v < lh.min:
        return 0
    if v >= lh.max:
        return lh.last
    return 1 + (v - lh.min) // lh.step


def hmeta(name, key=None, agg="hist", lhist=None):
    off = 0 if key is None else (key.size + 7) // 8 * 8
    return MapMeta(name, "AT_" + name[1:], agg, key, I64, bucket_offset=off, lhist=lhist)


def smeta(name, key=None, agg="stats"):
    return MapMeta(name, "AT_" + name[1:], agg, key, I64)


def _user_key(meta, key) -> bytes:
    return b"" if meta.key is None else encode(meta.key, key)


def kernel_hist(meta, updates, ncpus=NCPUS):
    """Raw items after `@m[key] = hist(v)` / lhist(v, ...) for each (key, v) in `updates`."""
    counts: dict[bytes, list[int]] = {}
    for n, (key, v) in enumerate(updates):
        index = hist_index(v) if meta.agg == "hist" else lhist_index(meta.lhist, v)
        bpf_key = _user_key(meta, key).ljust(meta.bucket_offset, b"\0") + struct.pack("<Q", index)
        counts.setdefault(bpf_key, [0] * ncpus)[n % ncpus] += 1
    return [(k, [struct.pack("<Q", c) for c in cpus]) for k, cpus in counts.items()]


def kernel_stats(meta, updates, ncpus=NCPUS):
    """Raw items after `@m[key] = stats(v)` (or avg(v)) for each (key, v)."""
    recs: dict[bytes, list[list[int]]] = {}
    for n, (key, v) in enumerate(updates):
        slot = recs.setdefault(_user_key(meta, key) or bytes(8), [[0, 0] for _ in range(ncpus)])[n % ncpus]
        slot[0] += v
        slot[1] += 1
    return [(k, [struct.pack("<qQ", t, c) for t, c in cpus]) for k, cpus in recs.items()]


def entries(meta, updates):
    raw = kernel_hist(meta, updates) if meta.agg in ("hist", "lhist") else kernel_stats(meta, updates)
    return map_entries(meta, raw)


def rows(*lines):
    return "".join(line + "\n" for line in lines)


FULL = "@" * 52
EMPTY = " " * 52


# ---------------------------------------------------------------------------------------------
# the one-liner of the brief

# BEGIN { @h = hist(5); @h = hist(0); @h = hist(-1); @h = hist(1000000);
#   @l = lhist(15, 0, 100, 10); @k[1] = hist(3); @k[2] = hist(300); @s = stats(4);
#   @s = stats(-10); exit(); }
ONE_LINER_TEXT = "\n\n" + rows(
    "@h: ",
    f"(..., 0)               1 |{FULL}|",
    f"[0]                    1 |{FULL}|",
    f"[1]                    0 |{EMPTY}|",
    f"[2, 4)                 0 |{EMPTY}|",
    f"[4, 8)                 1 |{FULL}|",
    f"[8, 16)                0 |{EMPTY}|",
    f"[16, 32)               0 |{EMPTY}|",
    f"[32, 64)               0 |{EMPTY}|",
    f"[64, 128)              0 |{EMPTY}|",
    f"[128, 256)             0 |{EMPTY}|",
    f"[256, 512)             0 |{EMPTY}|",
    f"[512, 1K)              0 |{EMPTY}|",
    f"[1K, 2K)               0 |{EMPTY}|",
    f"[2K, 4K)               0 |{EMPTY}|",
    f"[4K, 8K)               0 |{EMPTY}|",
    f"[8K, 16K)              0 |{EMPTY}|",
    f"[16K, 32K)             0 |{EMPTY}|",
    f"[32K, 64K)             0 |{EMPTY}|",
    f"[64K, 128K)            0 |{EMPTY}|",
    f"[128K, 256K)           0 |{EMPTY}|",
    f"[256K, 512K)           0 |{EMPTY}|",
    f"[512K, 1M)             1 |{FULL}|",
    "",
    "@k[1]: ",
    f"[2, 4)                 1 |{FULL}|",
    "",
    "@k[2]: ",
    f"[256, 512)             1 |{FULL}|",
    "",
    "@l: ",
    f"[10, 20)               1 |{FULL}|",
    "",
    "@s: count 2, average -3, total -6",
    "")

ONE_LINER_JSON = "\n\n" + rows(
    '{"type": "hist", "data": {"@h": [{"max": -1, "count": 1}, {"min": 0, "max": 0, "count": 1}, '
    '{"min": 1, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 0}, {"min": 4, "max": 7, "count": 1}, '
    '{"min": 8, "max": 15, "count": 0}, {"min": 16, "max": 31, "count": 0}, {"min": 32, "max": 63, "count": 0}, '
    '{"min": 64, "max": 127, "count": 0}, {"min": 128, "max": 255, "count": 0}, '
    '{"min": 256, "max": 511, "count": 0}, {"min": 512, "max": 1023, "count": 0}, '
    '{"min": 1024, "max": 2047, "count": 0}, {"min": 2048, "max": 4095, "count": 0}, '
    '{"min": 4096, "max": 8191, "count": 0}, {"min": 8192, "max": 16383, "count": 0}, '
    '{"min": 16384, "max": 32767, "count": 0}, {"min": 32768, "max": 65535, "count": 0}, '
    '{"min": 65536, "max": 131071, "count": 0}, {"min": 131072, "max": 262143, "count": 0}, '
    '{"min": 262144, "max": 524287, "count": 0}, {"min": 524288, "max": 1048575, "count": 1}]}}',
    '{"type": "hist", "data": {"@k": {"1": [{"min": 2, "max": 3, "count": 1}], '
    '"2": [{"min": 256, "max": 511, "count": 1}]}}}',
    '{"type": "hist", "data": {"@l": [{"min": 10, "max": 19, "count": 1}]}}',
    '{"type": "stats", "data": {"@s": {"count": 2, "average": -3, "total": -6}}}')


def one_liner_maps():
    h, k, l, s = hmeta("@h"), hmeta("@k", I64), hmeta("@l", agg="lhist", lhist=Lhist(0, 100, 10)), smeta("@s")
    return [
        (s, entries(s, [(None, 4), (None, -10)])),
        (h, entries(h, [(None, 5), (None, 0), (None, -1), (None, 1000000)])),
        (l, entries(l, [(None, 15)])),
        (k, entries(k, [(1, 3), (2, 300)])),
    ]


def test_the_one_liner_text():
    assert format_maps(one_liner_maps()) == ONE_LINER_TEXT


def test_the_one_liner_json():
    assert js.format_maps(one_liner_maps()) == ONE_LINER_JSON


# ---------------------------------------------------------------------------------------------
# bars, labels, bucket indexes

def test_bars_are_scaled_in_single_precision():
    # BEGIN { unroll(100) { @h = hist(1000); } unroll(7) { @h = hist(10); } @h = hist(1);
    #   unroll(26) { @b = hist(8); } unroll(15) { @b = hist(16); }
    #   unroll(100) { @l = lhist(50, 0, 100, 10); } unroll(7) { @l = lhist(5, 0, 100, 10); }
    #   @l = lhist(-3, 0, 100, 10); @l = lhist(150, 0, 100, 10); exit(); }
    # 7 of 100 is 3 columns, 1 of 100 none; 15 of 26 is 30 (float; a double would give 29).
    h, b, l = hmeta("@h"), hmeta("@b"), hmeta("@l", agg="lhist", lhist=Lhist(0, 100, 10))
    maps = [
        (h, entries(h, [(None, 1000)] * 100 + [(None, 10)] * 7 + [(None, 1)])),
        (b, entries(b, [(None, 8)] * 26 + [(None, 16)] * 15)),
        (l, entries(l, [(None, 50)] * 100 + [(None, 5)] * 7 + [(None, -3), (None, 150)])),
    ]
    assert format_maps(maps) == "\n\n" + rows(
        "@b: ",
        f"[8, 16)               26 |{FULL}|",
        "[16, 32)              15 |" + "@" * 30 + " " * 22 + "|",
        "",
        "@h: ",
        f"[1]                    1 |{EMPTY}|",
        f"[2, 4)                 0 |{EMPTY}|",
        f"[4, 8)                 0 |{EMPTY}|",
        "[8, 16)                7 |@@@" + " " * 49 + "|",
        f"[16, 32)               0 |{EMPTY}|",
        f"[32, 64)               0 |{EMPTY}|",
        f"[64, 128)              0 |{EMPTY}|",
        f"[128, 256)             0 |{EMPTY}|",
        f"[256, 512)             0 |{EMPTY}|",
        f"[512, 1K)            100 |{FULL}|",
        "",
        "@l: ",
        f"(..., 0)               1 |{EMPTY}|",
        "[0, 10)                7 |@@@" + " " * 49 + "|",
        f"[10, 20)               0 |{EMPTY}|",
        f"[20, 30)               0 |{EMPTY}|",
        f"[30, 40)               0 |{EMPTY}|",
        f"[40, 50)               0 |{EMPTY}|",
        f"[50, 60)             100 |{FULL}|",
        f"[60, 70)               0 |{EMPTY}|",
        f"[70, 80)               0 |{EMPTY}|",
        f"[80, 90)               0 |{EMPTY}|",
        f"[90, 100)              0 |{EMPTY}|",
        f"[100, ...)             1 |{EMPTY}|",
        "")
    assert js.format_map(b, maps[1][1]) == (
        '{"type": "hist", "data": {"@b": [{"min": 8, "max": 15, "count": 26}, '
        '{"min": 16, "max": 31, "count": 15}]}}\n')


def test_bar_width():
    assert [bar_width(c, 100) for c in (0, 1, 7, 50, 99, 100)] == [0, 0, 3, 26, 51, 52]
    assert bar_width(15, 26) == 30 and int(15 / 26 * 52) == 29   # single, not double, precision
    assert bar_width(1, 2) == 26 and bar_width(1, 3) == 17      # @k[3] of print(@k, 2, 2) below
    assert bar_width(5, 0) == 0


def test_small_and_capped_log2_buckets():
    # BEGIN { @a = hist(1); @a = hist(2); @a = hist(3); @a = hist(4); @b = hist(1<<40);
    #   @b = hist((1<<41) - 1); @c = hist(1<<50); @d = hist(0x7fffffffffffffff); @e = hist(1<<62);
    #   @f = hist(1<<30); @g = hist(1<<20); @h = hist(1<<10); @i = hist(1023);
    #   @j = hist(-5000000000); exit(); }
    # and BEGIN { @a = hist(1<<31); @b = hist((1<<31)-1); @c = hist(0xffffffff); @d = hist(1<<32);
    #   ... @i = hist(0x100000000ffff); exit(); }: everything from 2^31 on is [2G, 4G).
    big = {"@a": [1, 2, 3, 4], "@b": [1 << 40, (1 << 41) - 1], "@c": [1 << 50], "@d": [2**63 - 1],
           "@e": [1 << 62], "@f": [1 << 30], "@g": [1 << 20], "@h": [1 << 10], "@i": [1023],
           "@j": [-5000000000]}
    maps = [(hmeta(n), entries(hmeta(n), [(None, v) for v in vs])) for n, vs in big.items()]
    g2 = f"[2G, 4G)               1 |{FULL}|"
    assert format_maps(maps) == "\n\n" + rows(
        "@a: ",
        "[1]                    1 |" + "@" * 26 + " " * 26 + "|",
        f"[2, 4)                 2 |{FULL}|",
        "[4, 8)                 1 |" + "@" * 26 + " " * 26 + "|",
        "",
        "@b: ", f"[2G, 4G)               2 |{FULL}|", "",
        "@c: ", g2, "", "@d: ", g2, "", "@e: ", g2, "",
        "@f: ", f"[1G, 2G)               1 |{FULL}|", "",
        "@g: ", f"[1M, 2M)               1 |{FULL}|", "",
        "@h: ", f"[1K, 2K)               1 |{FULL}|", "",
        "@i: ", f"[512, 1K)              1 |{FULL}|", "",
        "@j: ", f"(..., 0)               1 |{FULL}|", "")
    # -f json of the second script: 0.17 computes the bounds in C ints
    assert js.format_map(hmeta("@a"), entries(hmeta("@a"), [(None, 1 << 31)])) == (
        '{"type": "hist", "data": {"@a": [{"min": -2147483648, "max": 0, "count": 1}]}}\n')
    assert js.format_map(hmeta("@b"), entries(hmeta("@b"), [(None, (1 << 31) - 1)])) == (
        '{"type": "hist", "data": {"@b": [{"min": 1073741824, "max": 2147483647, "count": 1}]}}\n')
    assert [hist_index(v) for v in (-1, 0, 1, 2, 3, 4, 7, 8, (1 << 31) - 1, 1 << 31, 1 << 62)] == [
        0, 1, 2, 3, 3, 4, 4, 5, 32, 33, 33]


def test_hist_labels():
    assert [hist_label(i) for i in (0, 1, 2, 3, 4, 11, 12, 13, 22, 32, 33)] == [
        "(..., 0)", "[0]", "[1]", "[2, 4)", "[4, 8)", "[512, 1K)", "[1K, 2K)", "[2K, 4K)",
        "[1M, 2M)", "[1G, 2G)", "[2G, 4G)"]
    assert hist_label(42) == "[1T, 2T)"      # past 0.17's reach, same rule


def test_lhist_labels_and_buckets():
    # BEGIN { @a = lhist(19, 0, 25, 10); @a = lhist(20, 0, 25, 10); @a = lhist(24, 0, 25, 10);
    #   @a = lhist(25, 0, 25, 10); @a = lhist(26, 0, 25, 10);
    #   @c = lhist(3000, 0, 3145728, 1048576); @c = lhist(2097157, 0, 3145728, 1048576);
    #   @c = lhist(4194304, 0, 3145728, 1048576); @d = lhist(2048, 1024, 5120, 1024);
    #   @e = lhist(100, 0, 100, 10); @e = lhist(99, 0, 100, 10); @f = lhist(-1, 0, 100, 10);
    #   @g = lhist(1500, 1000, 5000, 1500); @g = lhist(900, 1000, 5000, 1500);
    #   @g = lhist(4999, 1000, 5000, 1500); exit(); }
    # (20..24 of lhist(v, 0, 25, 10) land in [25, ...): the last bucket starts at min + 2 steps)
    spec = {"@a": ((0, 25, 10), [19, 20, 24, 25, 26]),
            "@c": ((0, 3145728, 1048576), [3000, 2097157, 4194304]),
            "@d": ((1024, 5120, 1024), [2048]),
            "@e": ((0, 100, 10), [100, 99]),
            "@f": ((0, 100, 10), [-1]),
            "@g": ((1000, 5000, 1500), [1500, 900, 4999])}
    maps = []
    for name, (p, vs) in spec.items():
        meta = hmeta(name, agg="lhist", lhist=Lhist(*p))
        maps.append((meta, entries(meta, [(None, v) for v in vs])))
    assert format_maps(maps) == "\n\n" + rows(
        "@a: ",
        "[10, 20)               1 |" + "@" * 13 + " " * 39 + "|",
        f"[25, ...)              4 |{FULL}|",
        "",
        "@c: ",
        f"[0, 1M)                1 |{FULL}|",
        f"[1M, 2M)               0 |{EMPTY}|",
        f"[2M, 3M)               1 |{FULL}|",
        f"[3M, ...)              1 |{FULL}|",
        "",
        "@d: ", f"[2K, 3K)               1 |{FULL}|", "",
        "@e: ", f"[90, 100)              1 |{FULL}|", f"[100, ...)             1 |{FULL}|", "",
        "@f: ", f"(..., 0)               1 |{FULL}|", "",
        "@g: ",
        f"(..., 1000)            1 |{FULL}|",
        f"[1000, 2500)           1 |{FULL}|",
        f"[2500, 4000)           0 |{EMPTY}|",
        f"[5000, ...)            1 |{FULL}|",
        "")
    assert js.format_maps(maps) == "\n\n" + rows(
        '{"type": "hist", "data": {"@a": [{"min": 10, "max": 19, "count": 1}, {"min": 25, "count": 4}]}}',
        '{"type": "hist", "data": {"@c": [{"min": 0, "max": 1048575, "count": 1}, '
        '{"min": 1048576, "max": 2097151, "count": 0}, {"min": 2097152, "max": 3145727, "count": 1}, '
        '{"min": 3145728, "count": 1}]}}',
        '{"type": "hist", "data": {"@d": [{"min": 2048, "max": 3071, "count": 1}]}}',
        '{"type": "hist", "data": {"@e": [{"min": 90, "max": 99, "count": 1}, {"min": 100, "count": 1}]}}',
        '{"type": "hist", "data": {"@f": [{"max": -1, "count": 1}]}}',
        '{"type": "hist", "data": {"@g": [{"max": 999, "count": 1}, {"min": 1000, "max": 2499, "count": 1}, '
        '{"min": 2500, "max": 3999, "count": 0}, {"min": 5000, "count": 1}]}}')
    lh = Lhist(0, 4096, 1024)
    assert [lhist_label(i, lh) for i in range(6)] == [
        "(..., 0)", "[0, 1K)", "[1K, 2K)", "[2K, 3K)", "[3K, 4K)", "[4K, ...)"]


# ---------------------------------------------------------------------------------------------
# order of entries, framing

def test_keys_sorted_by_total_or_average_ties_in_key_byte_order():
    # BEGIN { @s[1] = stats(5); @s[256] = stats(5); @s[2] = stats(-1); @s[2] = stats(-4);
    #   @s[3] = stats(100); @a[1] = avg(5); @a[256] = avg(5); @a[2] = avg(7);
    #   @h[1] = hist(1); @h[256] = hist(1); @h[2] = hist(1); @h[2] = hist(8);
    #   @t["bash"] = hist(3); @t["a\"b"] = hist(5); @u["q"] = lhist(5, 0, 10, 1);
    #   @m[1, "x"] = stats(3); exit(); }
    # Ties keep the order of the keys' little-endian bytes: 256 (00 01 ...) before 1 (01 00 ...).
    s, a, h = smeta("@s", I64), smeta("@a", I64, "avg"), hmeta("@h", I64)
    t, u = hmeta("@t", S64), hmeta("@u", S64, "lhist", Lhist(0, 10, 1))
    mkey = TupleType(72, ((0, I64), (8, S64)))
    m = smeta("@m", mkey)
    maps = [
        (s, entries(s, [(1, 5), (256, 5), (2, -1), (2, -4), (3, 100)])),
        (a, entries(a, [(1, 5), (256, 5), (2, 7)])),
        (h, entries(h, [(1, 1), (256, 1), (2, 1), (2, 8)])),
        (t, entries(t, [(b"bash", 3), (b'a"b', 5)])),
        (u, entries(u, [(b"q", 5)])),
        (m, entries(m, [((1, b"x"), 3)])),
    ]
    assert format_maps(maps) == "\n\n" + rows(
        "@a[256]: 5", "@a[1]: 5", "@a[2]: 7", "",
        "@h[256]: ", f"[1]                    1 |{FULL}|", "",
        "@h[1]: ", f"[1]                    1 |{FULL}|", "",
        "@h[2]: ",
        f"[1]                    1 |{FULL}|",
        f"[2, 4)                 0 |{EMPTY}|",
        f"[4, 8)                 0 |{EMPTY}|",
        f"[8, 16)                1 |{FULL}|",
        "",
        "@m[1, x]: count 1, average 3, total 3", "",
        "@s[2]: count 2, average -2, total -5",
        "@s[256]: count 1, average 5, total 5",
        "@s[1]: count 1, average 5, total 5",
        "@s[3]: count 1, average 100, total 100",
        "",
        '@t[a"b]: ', f"[4, 8)                 1 |{FULL}|", "",
        "@t[bash]: ", f"[2, 4)                 1 |{FULL}|", "",
        "@u[q]: ", f"[5, 6)                 1 |{FULL}|", "")
    assert js.format_maps(maps) == "\n\n" + rows(
        '{"type": "stats", "data": {"@a": {"256": 5, "1": 5, "2": 7}}}',
        '{"type": "hist", "data": {"@h": {"256": [{"min": 1, "max": 1, "count": 1}], '
        '"1": [{"min": 1, "max": 1, "count": 1}], "2": [{"min": 1, "max": 1, "count": 1}, '
        '{"min": 2, "max": 3, "count": 0}, {"min": 4, "max": 7, "count": 0}, {"min": 8, "max": 15, "count": 1}]}}}',
        '{"type": "stats", "data": {"@m": {"1,x": {"count": 1, "average": 3, "total": 3}}}}',
        '{"type": "stats", "data": {"@s": {"2": {"count": 2, "average": -2, "total": -5}, '
        '"256": {"count": 1, "average": 5, "total": 5}, "1": {"count": 1, "average": 5, "total": 5}, '
        '"3": {"count": 1, "average": 100, "total": 100}}}}',
        '{"type": "hist", "data": {"@t": {"a\\"b": [{"min": 4, "max": 7, "count": 1}], '
        '"bash": [{"min": 2, "max": 3, "count": 1}]}}}',
        '{"type": "hist", "data": {"@u": {"q": [{"min": 5, "max": 5, "count": 1}]}}}')


# A generated BEGIN script, for each key k below `count` times `@h[k] = hist(k);` and once
# `@s[k] = stats(v)`; 0.17 printed the keys in this (repeatable) order: its std::sort is an
# introsort, which past 16 elements does not keep ties in key order.
MANY_HIST = {1: 1, 2: 2, 3: 1, 4: 1, 5: 3, 6: 1, 7: 2, 8: 1, 9: 1, 10: 1, 11: 1, 12: 3, 13: 1,
             14: 1, 15: 1, 16: 1, 17: 3, 18: 3, 19: 1, 20: 1, 21: 3, 22: 3, 23: 3, 24: 2, 25: 1,
             26: 3, 27: 1, 28: 1, 29: 1, 256: 3, 300: 3, 513: 1, 1000: 1, 65536: 1}
MANY_STATS = {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 5, 8: 1, 9: 5, 10: 1, 11: 1, 12: 5, 13: 1,
              14: 1, 15: 5, 16: 1, 17: 2, 18: 1, 19: 1, 20: 1, 21: 1, 22: 1, 23: 1, 24: 5, 25: 5,
              26: 5, 27: 2, 28: 1, 29: 1, 256: 2, 300: 5, 513: 5, 1000: 1, 65536: 5}
MANY_HIST_ORDER = [15, 1000, 29, 28, 27, 25, 20, 19, 16, 65536, 14, 13, 11, 9, 8, 6, 1, 513, 4,
                   10, 3, 7, 2, 24, 21, 256, 300, 26, 23, 22, 5, 18, 17, 12]
MANY_STATS_ORDER = [1000, 20, 19, 18, 21, 16, 22, 14, 13, 23, 11, 10, 8, 28, 6, 5, 4, 3, 2, 29, 1,
                    27, 256, 17, 15, 12, 24, 25, 26, 9, 7, 513, 300, 65536]


def test_more_than_16_keys_in_0_17s_std_sort_order():
    h, s = hmeta("@h", I64), smeta("@s", I64)
    hist_updates = [(k, k) for k, n in MANY_HIST.items() for _ in range(n)]
    got = sort_entries(h, entries(h, hist_updates))
    assert [k for k, _ in got] == MANY_HIST_ORDER
    got = sort_entries(s, entries(s, list(MANY_STATS.items())))
    assert [k for k, _ in got] == MANY_STATS_ORDER
    text = format_map(s, entries(s, list(MANY_STATS.items())))
    assert text.startswith("@s[1000]: count 1, average 1, total 1\n@s[20]: ")
    assert text.endswith("@s[65536]: count 1, average 5, total 5\n\n")


@given(st.lists(st.integers(0, 4), max_size=80))
def test_std_sort_sorts(values):
    items = list(enumerate(values))
    out = std_sort(list(items), lambda a, b: a[1] < b[1])
    assert [v for _, v in out] == sorted(values)
    assert sorted(out) == items
    if len(values) <= 16:       # insertion sort: stable
        assert out == sorted(items, key=lambda iv: iv[1])


def test_zeroed_and_cleared():
    # BEGIN { @h = hist(1); @k[1] = hist(5); @k[2] = hist(5); @k[2] = hist(5);
    #   @l = lhist(5, 0, 10, 1); @s = stats(5); @t[1] = stats(2); @c[1] = hist(1); @e[3] = stats(1);
    #   zero(@h); zero(@k); zero(@l); zero(@s); zero(@t); clear(@c); clear(@e); exit(); }
    # A zero()ed histogram keeps its keys (all counts 0) and prints only its header; an empty
    # hist map prints "\n", an empty stats map "\n\n"; in JSON "[]" and nothing.
    h, k, l = hmeta("@h"), hmeta("@k", I64), hmeta("@l", agg="lhist", lhist=Lhist(0, 10, 1))
    s, t, c, e = smeta("@s"), smeta("@t", I64), hmeta("@c", I64), smeta("@e", I64)

    def zeroed(meta, updates):
        raw = kernel_hist(meta, updates) if meta.bucketed else kernel_stats(meta, updates)
        size = 8 if meta.bucketed else 16
        return map_entries(meta, [(key, [bytes(size)] * len(cpus)) for key, cpus in raw])

    maps = [(h, zeroed(h, [(None, 1)])), (k, zeroed(k, [(1, 5), (2, 5), (2, 5)])),
            (l, zeroed(l, [(None, 5)])), (s, zeroed(s, [(None, 5)])), (t, zeroed(t, [(1, 2)])),
            (c, []), (e, [])]
    assert format_maps(maps) == "\n\n" + "\n" + "\n\n" + rows(
        "@h: ", "", "@k[1]: ", "", "@k[2]: ", "", "@l: ", "",
        "@s: count 0, average 0, total 0", "", "@t[1]: count 0, average 0, total 0", "")
    assert js.format_maps(maps) == "\n\n" + rows(
        '{"type": "hist", "data": {"@h": []}}',
        '{"type": "hist", "data": {"@k": {"1": [], "2": []}}}',
        '{"type": "hist", "data": {"@l": []}}',
        '{"type": "stats", "data": {"@s": {"count": 0, "average": 0, "total": 0}}}',
        '{"type": "stats", "data": {"@t": {"1": {"count": 0, "average": 0, "total": 0}}}}')


def test_print_top_and_div():
    # BEGIN { @k[1] = hist(5); @k[2] = hist(5); @k[2] = hist(5); @k[3] = hist(5); @k[3] = hist(5);
    #   @k[3] = hist(5); @k[3] = hist(100); @l[1] = lhist(5, 0, 10, 1); @l[2] = lhist(5, 0, 10, 1);
    #   @l[2] = lhist(5, 0, 10, 1); @l[2] = lhist(5, 0, 10, 1); @s[1] = stats(10); @s[2] = stats(20);
    #   @s[3] = stats(30); @a[1] = avg(10); @a[2] = avg(20); @a[3] = avg(30);
    #   print(@k, 2, 2); print(@l, 1, 2); print(@s, 1, 3); print(@a, 2, 3); print(@k); ... }
    # hist: top keys, counts divided (not the bars); lhist: top only; stats: neither; avg: both.
    k, l = hmeta("@k", I64), hmeta("@l", I64, "lhist", Lhist(0, 10, 1))
    s, a = smeta("@s", I64), smeta("@a", I64, "avg")
    ke = entries(k, [(1, 5), (2, 5), (2, 5), (3, 5), (3, 5), (3, 5), (3, 100)])
    le = entries(l, [(1, 5), (2, 5), (2, 5), (2, 5)])
    se = entries(s, [(1, 10), (2, 20), (3, 30)])
    ae = entries(a, [(1, 10), (2, 20), (3, 30)])
    k3 = ["[8, 16)                0 |" + EMPTY + "|", "[16, 32)               0 |" + EMPTY + "|",
          "[32, 64)               0 |" + EMPTY + "|"]
    assert format_map(k, ke, top=2, div=2) == rows(
        "@k[2]: ", f"[4, 8)                 1 |{FULL}|", "",
        "@k[3]: ", f"[4, 8)                 1 |{FULL}|", *k3,
        "[64, 128)              0 |" + "@" * 17 + " " * 35 + "|", "")
    assert format_map(l, le, top=1, div=2) == rows("@l[2]: ", f"[5, 6)                 3 |{FULL}|", "")
    assert format_map(s, se, top=1, div=3) == rows(
        "@s[1]: count 1, average 10, total 10", "@s[2]: count 1, average 20, total 20",
        "@s[3]: count 1, average 30, total 30", "")
    assert format_map(a, ae, top=2, div=3) == rows("@a[2]: 6", "@a[3]: 10", "")
    assert format_map(k, ke) == rows(
        "@k[1]: ", f"[4, 8)                 1 |{FULL}|", "",
        "@k[2]: ", f"[4, 8)                 2 |{FULL}|", "",
        "@k[3]: ", f"[4, 8)                 3 |{FULL}|", *k3,
        "[64, 128)              1 |" + "@" * 17 + " " * 35 + "|", "")
    # the same script with -f json
    assert js.format_map(k, ke, top=2, div=2) == (
        '{"type": "hist", "data": {"@k": {"2": [{"min": 4, "max": 7, "count": 1}], '
        '"3": [{"min": 4, "max": 7, "count": 1}, {"min": 8, "max": 15, "count": 0}, '
        '{"min": 16, "max": 31, "count": 0}, {"min": 32, "max": 63, "count": 0}, '
        '{"min": 64, "max": 127, "count": 0}]}}}\n')
    assert js.format_map(l, le, top=1, div=2) == (
        '{"type": "hist", "data": {"@l": {"2": [{"min": 5, "max": 5, "count": 3}]}}}\n')
    assert js.format_map(s, se, top=1, div=3) == (
        '{"type": "stats", "data": {"@s": {"1": {"count": 1, "average": 10, "total": 10}, '
        '"2": {"count": 1, "average": 20, "total": 20}, "3": {"count": 1, "average": 30, "total": 30}}}}\n')
    assert js.format_map(a, ae, top=2, div=3) == '{"type": "stats", "data": {"@a": {"2": 6, "3": 10}}}\n'


def test_counts_wider_than_8_columns_and_read_as_c_ints():
    # From 0.17's source (output.cpp), not observed: the count is `setw(8) << right`, which
    # widens past 8 digits; hist_prepare reads each count as an int, so 2^32 reads as empty.
    h = hmeta("@h")
    big = Histogram((0, 0, 123456789, 0, 1) + (0,) * 60)
    assert format_map(h, [(None, big)]) == rows(
        "@h: ", f"[1]             123456789 |{FULL}|", f"[2, 4)                 0 |{EMPTY}|",
        f"[4, 8)                 1 |{EMPTY}|", "")
    wrapped = Histogram((0, 0, 1 << 32, 0, 3) + (0,) * 60)
    assert format_map(h, [(None, wrapped)]) == rows("@h: ", f"[4, 8)                 3 |{FULL}|", "")


def test_json_strings_escaped_as_0_17_does():
    # bpftrace -f json -e 'BEGIN { @h["é\t"] = hist(1); @m["é\t"] = 1; printf("é\t\n"); exit(); }'
    h = hmeta("@h", S64)
    assert js.format_map(h, entries(h, [("é\t".encode(), 1)])) == (
        '{"type": "hist", "data": {"@h": {"\\uffffffc3\\uffffffa9\\t": [{"min": 1, "max": 1, "count": 1}]}}}\n')
    assert js.printf("é\t\n") == '{"type": "printf", "data": "\\uffffffc3\\uffffffa9\\t\\n"}\n'
    assert js.json_escape(b'"\\\n\r\x01\x1f\x7f\x08') == '\\"\\\\\\n\\r\\u0001\\u001f\x7f\\u0008'


# ---------------------------------------------------------------------------------------------
# group_buckets / map_entries / the meta

def test_group_buckets_groups_keys_and_sums_cpus():
    key = StrType(5)      # padded to bucket_offset 8
    meta = map_meta_from_json({"name": "@h", "bpf_name": "AT_h", "agg": "hist", "bucket_offset": 8,
                               "key": {"kind": "str", "size": 5},
                               "value": {"kind": "int", "size": 8, "signed": True}})
    assert meta.key == key and meta.bucket_offset == 8 and meta.key_size == 16
    assert meta.value_size == 8 and meta.bucketed

    def k(name, bucket):
        return name.ljust(8, b"\0") + struct.pack("<Q", bucket)

    raw = [(k(b"ls", 4), [struct.pack("<Q", 1), struct.pack("<Q", 2)]),
           (k(b"bash", 3), [struct.pack("<Q", 5), struct.pack("<Q", 0)]),
           (k(b"ls", 0), [struct.pack("<Q", 2**64 - 1), struct.pack("<Q", 2)])]
    got = group_buckets(meta, raw)
    assert [name for name, _ in got] == [b"bash", b"ls"]          # key byte order
    assert got[0][1].counts[:5] == (0, 0, 0, 5, 0) and got[0][1].total == 5
    assert got[1][1].counts[:5] == (1, 0, 0, 0, 3)                # wraps at 64 bits, like C
    assert len(got[1][1].counts) == 65
    assert map_entries(meta, raw) == got
    with pytest.raises(ValueError, match="bucket index 65"):
        group_buckets(meta, [(k(b"x", 65), [bytes(8)])])
    with pytest.raises(ValueError, match="no bucket index"):
        group_buckets(meta, [(b"abc", [bytes(8)])])


def test_group_buckets_scalar_and_lhist():
    meta = map_meta_from_json({"name": "@l", "bpf_name": "AT_l", "agg": "lhist", "bucket_offset": 0,
                               "key": None, "lhist": {"min": 0, "max": 100, "step": 10},
                               "value": {"kind": "int", "size": 8, "signed": True}})
    assert meta.lhist == Lhist(0, 100, 10) and meta.lhist.last == 11 and meta.key_size == 8
    got = group_buckets(meta, kernel_hist(meta, [(None, v) for v in (-1, 0, 9, 10, 99, 100, 1000)]))
    assert got == [(None, Histogram((1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 2)))]
    with pytest.raises(ValueError, match="bucket index 12"):
        group_buckets(meta, [(struct.pack("<Q", 12), [bytes(8)])])


def test_stats_reduce_and_meta():
    meta = map_meta_from_json({"name": "@s", "bpf_name": "AT_s", "agg": "stats", "key": None,
                               "value": {"kind": "int", "size": 8, "signed": True}})
    assert meta.value_size == percpu_value_size("stats", I64) == 16 and not meta.bucketed
    v = reduce_percpu(meta, [struct.pack("<qQ", 4, 1), struct.pack("<qQ", -10, 1), bytes(16)])
    assert v == Stats(-6, 2) and v.average == -3
    assert Stats(7, 2).average == 3 and Stats(-7, 2).average == -3 and Stats(5, 0).average == 0
    hist = hmeta("@h")
    with pytest.raises(ValueError, match="group_buckets"):
        reduce_percpu(hist, [bytes(8)])


@pytest.mark.parametrize("bad", [
    {"agg": "hist"},                                             # no bucket_offset
    {"agg": "hist", "bucket_offset": 4},                         # not a multiple of 8
    {"agg": "hist", "bucket_offset": 0, "key": {"kind": "int", "size": 8, "signed": True}},
    {"agg": "count", "bucket_offset": 0},
    {"agg": "lhist", "bucket_offset": 0},                        # no lhist parameters
    {"agg": "lhist", "bucket_offset": 0, "lhist": {"min": 5, "max": 5, "step": 1}},
    {"agg": "lhist", "bucket_offset": 0, "lhist": {"min": 0, "max": 10, "step": 0}},
    {"agg": "lhist", "bucket_offset": 0, "lhist": {"min": 0, "max": 10}},
    {"agg": "hist", "bucket_offset": 0, "lhist": {"min": 0, "max": 10, "step": 1}},
])
def test_hist_meta_rejects(bad):
    d = {"name": "@h", "bpf_name": "AT_h", "key": None,
         "value": {"kind": "int", "size": 8, "signed": True}, **bad}
    with pytest.raises(ValueError):
        map_meta_from_json(d)
