"""username, strerror(), macaddr(), strftime() and cgroup_path() values: their layouts in
.kt.meta, and the text 0.17 prints for them (runtime/formatted.py, runtime/lookups.py). The
end-to-end comparison with bpftrace 0.17 is tests/e2e/test_formats_differential.py."""

from __future__ import annotations

import os
import time

import pytest

from kt.runtime.formatted import Formatted, FormattedType, macaddr_text, strerror_text
from kt.runtime.lookups import cgroup_paths, strftime_text, username_of
from kt.runtime.output import json as json_output
from kt.runtime.output.printf import render
from kt.runtime.output.text import format_value
from kt.runtime.values import decode, encode, type_from_json, type_to_json


@pytest.mark.parametrize("kind,size", [("username", 8), ("strerror", 8), ("macaddr", 8),
                                       ("strftime", 16), ("cgroup_path", 16)])
def test_meta_round_trip(kind, size):
    t = type_from_json({"kind": kind, "size": size})
    assert t == FormattedType(kind) and t.size == size
    assert type_from_json(type_to_json(t)) == t
    with pytest.raises(ValueError):
        type_from_json({"kind": kind, "size": size + 8})


def test_strerror_reads_a_c_int():
    assert strerror_text(2) == "No such file or directory"
    assert strerror_text(0) == "Success"
    assert strerror_text(9999) == "Unknown error 9999"
    assert strerror_text((1 << 64) - 1) == "Unknown error -1"    # -1 in 64 bits
    assert strerror_text((1 << 32) + 13) == "Permission denied"   # the low 32 bits


def test_macaddr_is_uppercase_hex():
    assert macaddr_text(bytes([0xab, 0xcd, 0xef, 0xff, 0x80, 0x7f, 0, 0])) == "AB:CD:EF:FF:80:7F"


def test_decoded_values_print_as_text_everywhere():
    t = FormattedType("strerror")
    v = decode(t, (13).to_bytes(8, "little"))
    assert v == Formatted("strerror", (13).to_bytes(8, "little"), "Permission denied")
    assert encode(t, v) == v.raw and encode(t, 13) == v.raw
    assert format_value(v) == "Permission denied"
    assert format_value((v, 1)) == "(Permission denied, 1)"
    assert render("[%s] [%20s]", [v, v]) == "[Permission denied] [   Permission denied]"
    assert json_output.value(v) == '{"type": "value", "data": "Permission denied"}\n'


def test_strftime_microseconds_and_failures(capsys):
    boot = 1_000_000_000 * 86400 + 999_999_000       # 1970-01-02 00:00:00.999999 UTC
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        assert strftime_text("%Y-%m-%d %H:%M:%S.%f", 0, boot) == "1970-01-02 00:00:00.999999"
        assert strftime_text("%H:%M:%S.%f", 1000, boot) == "00:00:01.000000"
        assert strftime_text("%%%f", 0, boot) == "%999999"    # 0.17 replaces %f textually first
        assert strftime_text("x" * 63, 0, boot) == "x" * 63
        assert capsys.readouterr().err == ""
        assert strftime_text("x" * 64, 0, boot) == "(?)"      # does not fit 64 bytes with its NUL
        assert strftime_text("", 0, boot) == "(?)"
        assert capsys.readouterr().err == "ERROR: strftime returned 0\n" * 2
    finally:
        del os.environ["TZ"]
        time.tzset()


def test_username_is_the_first_passwd_entry_of_the_uid(tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0::/root:/bin/sh\nbad line\nfirst:x:1000:1000::/:/bin/sh\n"
                      "second:x:1000:1000::/:/bin/sh\n")
    assert username_of(1000, str(passwd)) == "first"
    assert username_of(0, str(passwd)) == "root"
    assert username_of(12345, str(passwd)) == ""


def test_cgroup_paths_by_inode_in_each_matching_hierarchy(tmp_path):
    for name in ("v2", "cpu", "memory"):
        (tmp_path / name / "a" / "b").mkdir(parents=True)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"cgroup {tmp_path}/memory cgroup rw 0 0\n"
                      f"cgroup2 {tmp_path}/v2 cgroup2 rw 0 0\n"
                      f"tmpfs {tmp_path} tmpfs rw 0 0\n"
                      f"cgroup {tmp_path}/cpu cgroup rw 0 0\n")
    ino = os.stat(tmp_path / "cpu" / "a" / "b").st_ino
    assert cgroup_paths(ino, "*", str(mounts)) == "cpu:/a/b"
    root = os.stat(tmp_path / "v2").st_ino
    assert cgroup_paths(root, "*", str(mounts)) == "unified:/"
    assert cgroup_paths(root, "c*", str(mounts)) == ""
    assert cgroup_paths(1, "*", str(mounts)) == ""
