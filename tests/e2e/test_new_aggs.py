"""hist(v, k) (bpftrace 0.20) and tseries() (bpftrace 0.24), run in the kernel.

hist(v, 0) is compared with 0.17's hist(v) under bpftrace 0.17 (on BEGIN, a tracepoint of our
own child and a uprobe of it); hist(v, k > 0) with buckets computed by hand from 0.26's rule
(2^k buckets per power of two) and its labels; tseries() with the layout of 0.26's docs' charts.
tseries tests never depend on timing: BEGIN and uprobe writes use an interval of 1000 s (they
all fall in one), the interval test checks only what holds however the timer fires.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from .conftest import run_kt
from .test_differential import NEEDS_BPFTRACE, _bpftrace, _comparable, _kt

pytestmark = [pytest.mark.kernel]

VALUES = (0, 1, 7, 8, 9, 10, 100, 5000, -1, 63, 64, 70, 3000, 1 << 20)
LONG = 1000 * 10**9      # a 1000 s interval: a BEGIN probe's writes fall in one


def _begin(body: str) -> str:
    return f"BEGIN {{ {body} exit(); }}"


def _hists(expr: str) -> str:
    return " ".join(f"@h = {expr.format(v=v)};" for v in VALUES)


def _maps(out: str) -> str:
    """stdout without 0.17's `Attaching N probes...` line."""
    return "".join(line for line in out.splitlines(True) if not line.startswith("Attaching "))


def _rows(out: str, name: str) -> dict[str, int]:
    """label -> count of one histogram's rows in the text output."""
    lines = out.split(f"{name}: \n", 1)[1].split("\n\n", 1)[0].splitlines()
    rows = {}
    for line in lines:
        m = re.match(r"^(.{16})\s*(\d+) \|[@ ]{52}\|$", line)
        assert m, line
        rows[m.group(1).strip()] = int(m.group(2))
    return rows


# ---- hist(v, k) ---------------------------------------------------------------------------

@NEEDS_BPFTRACE
def test_hist_k0_on_begin_prints_what_017_prints_for_hist():
    ours = _kt(_begin(_hists("hist({v}, 0)")), None)
    theirs = _bpftrace(_begin(_hists("hist({v})")), None)
    assert _maps(ours) == _maps(theirs)


@NEEDS_BPFTRACE
def test_hist_k0_on_a_tracepoint_prints_what_017_prints():
    script = ('tracepoint:syscalls:sys_exit_read /pid == cpid && comm == "cat"/ '
              '{{ @r = hist(args->ret{k}); @c[comm] = hist(args->ret{k}); }}')
    command = "/usr/bin/cat /etc/hostname /etc/os-release /etc/passwd"
    assert _comparable(_kt(script.format(k=", 0"), command)) == \
        _comparable(_bpftrace(script.format(k=""), command))


UPROBE_TARGET = r"""
#include <stdio.h>
__attribute__((noinline)) long leaf(long x) { return x * 2; }
int main(void) {
    long v[] = {0, 1, 3, 8, 9, 100, 5000, 70, 64, -2};
    long s = 0;
    for (int i = 0; i < 10; i++) s += leaf(v[i]);
    printf("%ld\n", s);
    return 0;
}
"""


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("aggs_target")
    (d / "t.c").write_text(UPROBE_TARGET)
    subprocess.run(["gcc", "-O0", "-o", str(d / "t"), str(d / "t.c")], check=True)
    return str(d / "t")


@NEEDS_BPFTRACE
def test_hist_k0_on_a_uprobe_prints_what_017_prints(target):
    script = "uprobe:{t}:leaf /pid == cpid/ {{ @h = hist(arg0{k}); }}"
    assert _maps(_kt(script.format(t=target, k=", 0"), target)) == \
        _maps(_bpftrace(script.format(t=target, k=""), target))


def test_hist_k_buckets_on_a_uprobe(target):
    out = _kt(f"uprobe:{target}:leaf /pid == cpid/ {{ @h = hist((int64)arg0, 3); }}", target)
    rows = _rows(out, "@h")
    # k = 3: [0] .. [15] one value each, then 8 buckets per power of two
    assert {k: v for k, v in rows.items() if v} == {
        "(..., 0)": 1, "[0]": 1, "[1]": 1, "[3]": 1, "[8]": 1, "[9]": 1,
        "[64, 72)": 2, "[96, 104)": 1, "[4608, 5120)": 1}


def test_hist_k_buckets_by_hand():
    out = run_kt("-e", _begin(_hists("hist({v}, 2)") + " " + " ".join(
        f"@f = hist({v}, 5);" for v in VALUES)))
    assert out.rc == 0, out.err
    h = _rows(out.out, "@h")
    # k = 2: values 0 .. 7 one bucket each, then [8, 10), [10, 12), [12, 14), [14, 16), [16, 20) ...
    assert list(h)[:13] == ["(..., 0)", "[0]", "[1]", "[2]", "[3]", "[4]", "[5]", "[6]", "[7]",
                            "[8, 10)", "[10, 12)", "[12, 14)", "[14, 16)"]
    assert {k: v for k, v in h.items() if v} == {
        "(..., 0)": 1, "[0]": 1, "[1]": 1, "[7]": 1, "[8, 10)": 2, "[10, 12)": 1, "[56, 64)": 1,
        "[64, 80)": 2, "[96, 112)": 1, "[2560, 3072)": 1, "[4K, 5K)": 1, "[1024K, 1280K)": 1}
    assert "[3584, 4K)" in h     # below 2^10 a bound is a number, from 1K on it has a suffix
    f = _rows(out.out, "@f")
    assert {k: v for k, v in f.items() if v} == {
        "(..., 0)": 1, "[0]": 1, "[1]": 1, "[7]": 1, "[8]": 1, "[9]": 1, "[10]": 1, "[63]": 1,
        "[64, 66)": 1, "[70, 72)": 1, "[100, 102)": 1, "[2944, 3008)": 1, "[4992, 5120)": 1,
        "[1024K, 1056K)": 1}


def test_hist_k_json_bounds_and_print_clear_zero():
    script = ("BEGIN { @h = hist(9, 1); @h = hist(12, 1); print(@h); @k[1] = hist(3, 2); zero(@k); "
              "@c = hist(5, 3); clear(@c); exit(); } END { @k[2] = hist(100, 2); }")
    out = run_kt("-f", "json", "-e", script)
    assert out.rc == 0, out.err
    lines = [json.loads(x) for x in out.out.splitlines() if x.startswith("{")]
    hists = [x["data"] for x in lines if x["type"] == "hist"]
    # print(@h) while tracing, then @h, @k at exit (@c cleared: not printed)
    assert hists[0] == {"@h": [{"min": 8, "max": 11, "count": 1}, {"min": 12, "max": 15, "count": 1}]}
    assert hists[1] == hists[0]
    assert hists[2] == {"@k": {"1": [], "2": [{"min": 96, "max": 111, "count": 1}]}}
    assert len(hists) == 3


def test_hist_k_object_runs_with_its_buckets(tmp_path):
    o = tmp_path / "h.o"
    made = run_kt("--emit-elf", str(o), "-e", _begin("@h = hist(100, 2); @g = hist(5000, 4);"))
    assert made.rc == 0, made.err
    run = run_kt(str(o))
    assert run.rc == 0, run.err
    assert _rows(run.out, "@h") == {"[96, 112)": 1}
    assert _rows(run.out, "@g") == {"[4864, 5120)": 1}


def test_hist_k_python_api_buckets():
    import kt
    obj = kt.compile(_begin("@h = hist(9, 1); @h = hist(-4, 1); @m[1] = hist(3, 0);"))
    with kt.trace(obj) as t:
        assert t.wait(timeout=60)
    assert t.maps["@h"] == [kt.Bucket(None, 0, 1), kt.Bucket(0, 1, 0), kt.Bucket(1, 2, 0),
                            kt.Bucket(2, 3, 0), kt.Bucket(3, 4, 0), kt.Bucket(4, 6, 0),
                            kt.Bucket(6, 8, 0), kt.Bucket(8, 12, 1)]
    assert t.maps["@m"] == {1: [kt.Bucket(2, 4, 1)]}


# ---- tseries() ----------------------------------------------------------------------------

_ROW = re.compile(r"^(\d\d:\d\d:\d\d(?:\.\d+)?) ([|*][ .*]{51}[|*]) (-?\d+|-)$")


def _chart(out: str, header: str) -> list[str]:
    return out.split(header + "\n", 1)[1].split("\n\n", 1)[0].splitlines()


def test_tseries_aggregations_on_begin():
    writes = " ".join(f'@{f} = tseries({v}, {LONG}, 5{a});' for v in (4, -2, 9)
                      for f, a in (("last", ""), ("sum", ', "sum"'), ("min", ', "min"'),
                                   ("max", ', "max"'), ("avg", ', "avg"')))
    out = run_kt("-e", _begin(writes + f' @k[7, "x"] = tseries(3, {LONG}, 2);'))
    assert out.rc == 0, out.err
    expect = {"@last": 9, "@sum": 11, "@min": -2, "@max": 9, "@avg": 3}
    for name, v in expect.items():
        chart = _chart(out.out, f"{name}:")
        # one interval: the scale is v - 1 .. v + 1, the point in the middle column
        assert chart[0] == " " * 19 + f"{v - 1:<21}{v + 1:>32}"
        assert chart[1] == "hh:mm:ss.ns" + " " * 8 + "|" + "_" * 51 + "|"
        m = _ROW.match(chart[2])
        assert m and m.group(3) == str(v), chart[2]
        assert len(m.group(1)) == 18          # a single row: nanoseconds (0.26's unit rule)
        assert m.group(2) == "|" + " " * 25 + "*" + " " * 25 + "|"
        assert chart[3] == " " * 19 + "v" + "_" * 51 + "v"
        assert chart[4] == chart[0] and len(chart) == 5
    assert "@k[7, x]:" in out.out.splitlines()


def test_tseries_on_an_interval_probe():
    script = ("interval:ms:20 { @c = @c + 1; @t = tseries(@c, 20000000, 8); @z = tseries(@c - 10, 20000000, 30); "
              "if (@c == 20) { exit(); } }")
    out = run_kt("-e", script)
    assert out.rc == 0, out.err
    chart = _chart(out.out, "@t:")
    assert chart[1] == "hh:mm:ss.ms  |" + "_" * 51 + "|"
    rows = [_ROW.match(line) for line in chart[2:-2]]
    assert rows and all(rows) and len(rows) <= 8, chart
    values = [int(r.group(3)) for r in rows if r.group(3) != "-"]
    assert values == sorted(values) and values[-1] == 20
    assert all(len(r.group(1)) == 12 for r in rows)
    stamps = [r.group(1) for r in rows]
    assert all(s.endswith(("0", "2", "4", "6", "8")) for s in stamps)  # interval starts: 20 ms steps
    # @z spans -9 .. 10: the zero column carries a '.' where no point is
    z = [_ROW.match(line) for line in _chart(out.out, "@z:")[2:-2]]
    assert z and all(z) and any("." in r.group(2) for r in z)


def test_tseries_on_a_uprobe_json_and_object(target, tmp_path):
    o = tmp_path / "t.o"
    script = f'uprobe:{target}:leaf /pid == cpid/ {{ @s = tseries(arg0, {LONG}, 3, "sum"); @n[comm] = tseries(1, {LONG}, 3, "sum"); }}'
    made = run_kt("--emit-elf", str(o), "-e", script)
    assert made.rc == 0, made.err
    run = run_kt("-f", "json", "-c", target, str(o))
    assert run.rc == 0, run.err
    lines = [json.loads(x) for x in run.out.splitlines() if x.startswith('{"type": "tseries"')]
    by_name = {list(x["data"])[0]: list(x["data"].values())[0] for x in lines}
    assert [i["value"] for i in by_name["@s"]] == [0 + 1 + 3 + 8 + 9 + 100 + 5000 + 70 + 64 - 2]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}", by_name["@s"][0]["interval_start"])
    assert [i["value"] for i in by_name["@n"]["t"]] == [10]


def test_tseries_python_api_intervals():
    import kt
    obj = kt.compile(_begin(f'@t = tseries(5, {LONG}, 4, "max"); @t = tseries(8, {LONG}, 4, "max");'))
    with kt.trace(obj) as t:
        assert t.wait(timeout=60)
    (interval,) = t.maps["@t"]
    assert interval.value == 8
    assert abs(interval.start_ns - time.time_ns()) < 2 * LONG


def test_tseries_clear_and_zero_keyless_and_keyed():
    script = _begin(f"@t = tseries(1, {LONG}, 3); @u = tseries(2, {LONG}, 3); @k[1] = tseries(3, {LONG}, 3); "
                    f"@z[1] = tseries(4, {LONG}, 3); clear(@t); zero(@z);")
    out = run_kt("-e", script)
    assert out.rc == 0, out.err
    lines = out.out.splitlines()
    assert "@u:" in lines and "@k[1]:" in lines
    assert not any(line.startswith(("@t", "@z")) for line in lines)


def test_tseries_microsecond_intervals_show_microseconds():
    out = run_kt("-e", "interval:ms:1 { @n = @n + 1; @t = tseries(@n, 500000, 50); if (@n == 5) { exit(); } }")
    assert out.rc == 0, out.err
    chart = _chart(out.out, "@t:")
    # as 0.26 pads it: to the width in bytes, and "μ" is two
    assert chart[1] == "hh:mm:ss.μs    |" + "_" * 51 + "|"
    rows = [_ROW.match(line) for line in chart[2:-2]]
    assert rows and all(rows) and all(len(r.group(1)) == 15 for r in rows)
    assert all(r.group(1).endswith(("000", "500")) for r in rows)
