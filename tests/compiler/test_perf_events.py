"""compiler/formats/perf_events: bpftrace's event names, aliases and default periods; timer probes."""

from __future__ import annotations

import pytest

from kt.compiler.formats import perf_events as pe


def test_software_names_aliases_and_defaults_are_bpftrace_s():
    expected = {
        "alignment-faults": ("", 7, 1), "bpf-output": ("", 10, 1),
        "context-switches": ("cs", 3, 1000), "cpu-clock": ("cpu", 0, 1000000),
        "cpu-migrations": ("", 4, 1), "dummy": ("", 9, 1), "emulation-faults": ("", 8, 1),
        "major-faults": ("", 6, 1), "minor-faults": ("", 5, 100),
        "page-faults": ("faults", 2, 100), "task-clock": ("", 1, 1),
    }
    got = {e.name: (e.alias, e.config, e.default_period) for e in pe.SOFTWARE_EVENTS}
    assert got == expected
    assert all(e.perf_type == pe.PERF_TYPE_SOFTWARE for e in pe.SOFTWARE_EVENTS)


def test_hardware_names_aliases_and_defaults_are_bpftrace_s():
    expected = {
        "backend-stalls": ("", 8, 1000000), "branch-instructions": ("branches", 4, 100000),
        "branch-misses": ("", 5, 100000), "bus-cycles": ("", 6, 100000),
        "cache-misses": ("", 3, 1000000), "cache-references": ("", 2, 1000000),
        "cpu-cycles": ("cycles", 0, 1000000), "frontend-stalls": ("", 7, 1000000),
        "instructions": ("", 1, 1000000), "ref-cycles": ("", 9, 1000000),
    }
    got = {e.name: (e.alias, e.config, e.default_period) for e in pe.HARDWARE_EVENTS}
    assert got == expected
    assert all(e.perf_type == pe.PERF_TYPE_HARDWARE for e in pe.HARDWARE_EVENTS)


@pytest.mark.parametrize("provider,name,canonical", [
    ("software", "faults", "page-faults"), ("software", "cs", "context-switches"),
    ("software", "cpu", "cpu-clock"), ("software", "cpu-clock", "cpu-clock"),
    ("hardware", "cycles", "cpu-cycles"), ("hardware", "branches", "branch-instructions"),
])
def test_lookup_by_name_or_alias(provider, name, canonical):
    assert pe.lookup(provider, name).name == canonical


def test_constants_spelling():
    ev = pe.lookup_event(pe.SOFTWARE, "cs")
    assert (ev.type, ev.config, ev.default_period) == (1, 3, 1000)
    assert pe.event_names(pe.HARDWARE)[0] == "backend-stalls"


def test_lookup_misses():
    assert pe.lookup("software", "cycles") is None       # a hardware name
    assert pe.lookup("hardware", "faults") is None
    assert pe.lookup("software", "Page-Faults") is None  # names are case-sensitive
    assert pe.lookup("tracepoint", "x") is None


def test_event_names_include_aliases_sorted():
    names = pe.event_names("software")
    assert names == sorted(names)
    assert "faults" in names and "page-faults" in names and "cs" in names
    assert pe.event_names("nope") == []


def test_describe():
    assert pe.describe(1, 2) == "software:page-faults"
    assert pe.describe(0, 0) == "hardware:cpu-cycles"
    assert pe.describe(4, 99) == "perf event 4:99"


def test_counter_event_default_and_explicit_period():
    assert pe.counter_event("software", "faults").attach() == \
        {"type": 1, "config": 2, "period": 100, "cpus": "all"}
    assert pe.counter_event("hardware", "cycles", 5000).attach() == \
        {"type": 0, "config": 0, "period": 5000, "cpus": "all"}
    with pytest.raises(pe.PerfEventSpecError, match="unknown software event 'nope'"):
        pe.counter_event("software", "nope")
    with pytest.raises(pe.PerfEventSpecError, match="positive"):
        pe.counter_event("software", "faults", 0)


@pytest.mark.parametrize("probe,unit,n,attach", [
    ("profile", "hz", 99, {"type": 1, "config": 0, "freq": 99, "cpus": "all"}),
    ("profile", "ms", 10, {"type": 1, "config": 0, "period": 10_000_000, "cpus": "all"}),
    ("profile", "us", 500, {"type": 1, "config": 0, "period": 500_000, "cpus": "all"}),
    ("profile", "s", 1, {"type": 1, "config": 0, "period": 1_000_000_000, "cpus": "all"}),
    ("interval", "ms", 10, {"type": 1, "config": 0, "period": 10_000_000, "cpus": "one"}),
    ("interval", "s", 2, {"type": 1, "config": 0, "period": 2_000_000_000, "cpus": "one"}),
    ("interval", "hz", 100, {"type": 1, "config": 0, "period": 10_000_000, "cpus": "one"}),
])
def test_timer_events(probe, unit, n, attach):
    assert pe.timer_event(probe, unit, n).attach() == attach


def test_timer_event_errors():
    with pytest.raises(pe.PerfEventSpecError, match="unknown profile unit 'min'"):
        pe.timer_event("profile", "min", 1)
    with pytest.raises(pe.PerfEventSpecError, match="positive"):
        pe.timer_event("interval", "s", 0)
    with pytest.raises(pe.PerfEventSpecError, match="not a timer probe"):
        pe.timer_event("software", "s", 1)
