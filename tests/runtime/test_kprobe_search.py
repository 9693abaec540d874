"""Kprobe wildcards searched in the function list's text (runtime/attach/kprobe.py
search_functions) give what match_functions gives over the names: pure."""

from __future__ import annotations

import pytest

from kt.runtime.attach.kprobe import match_functions, search_functions

TEXT = """vfs_read
vfs_readv
vfs_readlink
vfs_write
vfs_read.cold
ksys_read.isra.0
__ftrace_invalid_address___1234
do_int3
ext4_file_read_iter [ext4]
vfs_[odd]
a^b
"""
NAMES = [line.split(" ")[0] for line in TEXT.splitlines() if not line.startswith("__ftrace_invalid")]


@pytest.mark.parametrize("pattern", ["vfs_*", "vfs_read*", "vfs_?rite", "vfs_read[lv]*", "vfs_read[!l]",
                                     "vfs_read", "nothing*", "*", "*.cold", "ksys_read.*", "ksys_read*",
                                     "ext4_*", "*_iter", "vfs_[[]*", "a^b", "a[^]b", "vfs_re?d", "do_int3"])
def test_same_as_matching_each_name(pattern):
    assert search_functions(pattern, TEXT) == match_functions(pattern, NAMES)


def test_blacklisted_and_invalid_addresses_are_left_out():
    assert search_functions("*", TEXT, frozenset({"do_int3"})) == match_functions("*", NAMES, frozenset({"do_int3"}))
    assert not any(n.startswith("__ftrace") for n in search_functions("*", TEXT))
    assert search_functions("vfs_readlink", TEXT, frozenset({"vfs_readlink"})) == []
