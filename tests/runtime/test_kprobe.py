"""runtime/attach/kprobe on the host: wildcard filtering (entry names: test_dynamic_events.py), argument
checks, and the errors of a kernel without kprobes. Attaching for real is tested in the QEMU
guest (tests/vm/guest), since this host's kernel has no kprobes."""

from __future__ import annotations

import errno
import os

import pytest

from kt.runtime.attach import kprobe
from kt.runtime.attach.kprobe import (KprobeError, attach_kprobe, attach_kprobe_multi,
                                      kprobe_multi_supported, kprobe_multi_unsupported_reason,
                                      match_functions)

from .kernel_state import open_fds

NAMES = ["vfs_read", "vfs_readv", "vfs_read.cold", "vfs_write", "do_int3", "vfs_read",
         "ksys_read.isra.0", "vfs_readlink"]


def test_match_sorts_and_drops_duplicates():
    assert match_functions("vfs_read*", NAMES) == ["vfs_read", "vfs_readlink", "vfs_readv"]


def test_match_globs_like_bpftrace():
    assert match_functions("vfs_?rite", NAMES) == ["vfs_write"]
    assert match_functions("vfs_read[lv]*", NAMES) == ["vfs_readlink", "vfs_readv"]
    assert match_functions("vfs_read", NAMES) == ["vfs_read"]
    assert match_functions("nothing*", NAMES) == []


def test_match_skips_blacklisted():
    assert match_functions("*", ["do_int3", "vfs_read"], frozenset({"do_int3"})) == ["vfs_read"]


def test_match_skips_compiler_clones_unless_the_pattern_has_a_dot():
    assert "vfs_read.cold" not in match_functions("vfs_*", NAMES)
    assert match_functions("*.cold", NAMES) == ["vfs_read.cold"]
    assert match_functions("ksys_read.*", NAMES) == ["ksys_read.isra.0"]
    assert match_functions("ksys_read*", NAMES) == []


def test_argument_checks():
    with pytest.raises(ValueError, match="kretprobe takes no offset"):
        attach_kprobe(0, "vfs_read", 4, retprobe=True)
    with pytest.raises(ValueError, match="invalid kernel function name"):
        attach_kprobe(0, "vfs read")
    with pytest.raises(ValueError, match="2 functions but 1 cookies"):
        attach_kprobe_multi(0, ["a", "b"], False, [0])


@pytest.mark.skipif(kprobe.kprobe_pmu_type() is not None or os.path.exists(
    "/sys/kernel/tracing/kprobe_events"), reason="this kernel has kprobes")
def test_kernel_without_kprobes_says_so():
    with pytest.raises(KprobeError) as info:
        attach_kprobe(0, "vfs_read")
    assert info.value.errno == errno.EOPNOTSUPP
    assert "this kernel has no kprobes" in str(info.value)


@pytest.mark.kernel
def test_kprobe_multi_probe_closes_everything():
    kprobe._kprobe_multi_probe.cache_clear()
    fds = open_fds()
    supported = kprobe_multi_supported()
    assert open_fds() == fds
    if not supported:
        # 6.18 dev host and Debian 6.1: no CONFIG_FPROBE
        assert "EOPNOTSUPP" in kprobe_multi_unsupported_reason()
