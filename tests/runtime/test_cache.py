"""runtime/cache.py without the kernel: entries, validators, the LRU bound, the key."""

from __future__ import annotations

import os

import pytest

from kt.compiler.formats.inputs import Inputs, note_path, recording
from kt.compiler.options import CompileOptions
from kt.runtime import cache


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    return tmp_path


def test_store_and_lookup_round_trip():
    cache.store("k" * 64, b"\x7fELF-bytes", Inputs(), ("a warning",))
    assert cache.lookup("k" * 64) == cache.Entry(b"\x7fELF-bytes", ("a warning",))
    assert cache.lookup("j" * 64) is None


def test_an_entry_under_another_key_is_not_trusted():
    cache.store("k" * 64, b"elf", Inputs(), ())
    os.rename(cache._entry_path("k" * 64), cache._entry_path("j" * 64))
    assert cache.lookup("j" * 64) is None


def test_recorded_files_and_absent_ones_are_validated(tmp_path):
    present, absent = tmp_path / "present", tmp_path / "absent"
    present.write_text("v1")
    with recording() as inputs:
        open(present).read()
        note_path(str(absent))
    assert {str(present), str(absent)} <= inputs.files
    cache.store("k" * 64, b"elf", inputs, ())
    assert cache.lookup("k" * 64) is not None
    absent.write_text("now here")
    assert cache.lookup("k" * 64) is None
    absent.unlink()
    assert cache.lookup("k" * 64) is not None
    present.write_text("v2 longer")
    assert cache.lookup("k" * 64) is None


def test_listed_directory_is_validated(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    with recording() as inputs:
        os.listdir(d)
    cache.store("k" * 64, b"elf", inputs, ())
    assert cache.lookup("k" * 64) is not None
    (d / "new").write_text("")
    assert cache.lookup("k" * 64) is None


def test_reading_another_process_or_a_run_value_is_not_stored():
    cache.store("k" * 64, b"elf", Inputs(files={"/proc/1/maps"}), ())
    assert cache.lookup("k" * 64) is None
    inputs = Inputs()
    inputs.note_run_dependent("a watchpoint on the -c child")
    cache.store("k" * 64, b"elf", inputs, ())
    assert cache.lookup("k" * 64) is None


def test_lru_bound(monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    for i in range(5):
        key = f"{i:064d}"
        cache.store(key, b"elf", Inputs(), ())
        os.utime(cache._entry_path(key), ns=(i * 10**9, i * 10**9))
    cache.store("9" * 64, b"elf", Inputs(), ())
    left = sorted(os.listdir(cache.cache_dir()))
    assert left == [f"{3:064d}.kto", f"{4:064d}.kto", "9" * 64 + ".kto"]


def test_key_covers_options_but_not_the_runs_values():
    base = CompileOptions(positional=("1",))
    assert cache.make_key("x", base) == cache.make_key("x", CompileOptions(positional=("1",), start_ns=5))
    assert cache.make_key("x", base) != cache.make_key("y", base)
    assert cache.make_key("x", base) != cache.make_key("x", CompileOptions(positional=("2",)))
    assert cache.make_key("x", base) != cache.make_key("x", CompileOptions(positional=("1",), strlen=32))
    with_child = CompileOptions(positional=("1",), cpid=10)
    assert cache.make_key("x", with_child) == cache.make_key("x", CompileOptions(positional=("1",), cpid=11))
    assert cache.make_key("x", with_child) != cache.make_key("x", base)
