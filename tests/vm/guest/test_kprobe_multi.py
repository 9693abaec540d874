"""Wildcard expansion and kprobe_multi on Debian's 6.1: no CONFIG_FPROBE, so the feature probe
says no (EOPNOTSUPP) and the session's fallback, one kprobe per function with cookie i, works."""

from __future__ import annotations

import errno

import pytest

from kt.runtime.attach import Links
from kt.compiler.formats.meta import KprobeAttach
from kt.runtime.attach.by_kind import ATTACH, AttachContext
from kt.runtime.attach.kprobe import (KprobeError, attach_kprobe_multi, expand_kprobe_wildcard,
                                      kernel_functions, kprobe_blacklist, kprobe_multi_supported,
                                      kprobe_multi_unsupported_reason)
from tests.runtime.kernel_state import open_fds

from .. import objects
from .helpers import FUNC, counts, load_counter, opens

pytestmark = pytest.mark.kernel


def test_kprobe_multi_is_not_supported_on_6_1():
    fds = open_fds()
    assert kprobe_multi_supported() is False
    reason = kprobe_multi_unsupported_reason()
    print(f"kernel's answer: {reason}")
    assert reason == "bpf(BPF_LINK_CREATE): Operation not supported (EOPNOTSUPP)"
    assert open_fds() == fds         # the probe program and link are closed


def test_attach_kprobe_multi_reports_eopnotsupp():
    with load_counter(objects.MULTI_SECTION) as obj:
        prog = obj.program_in(objects.MULTI_SECTION)
        assert prog.spec.expected_attach_type == 42
        fds = open_fds()
        with pytest.raises(KprobeError) as info:
            attach_kprobe_multi(prog.fd, [FUNC, "do_sys_open"], False, [0, 1])
        print(f"kernel's answer: {info.value}")
        assert info.value.errno == errno.EOPNOTSUPP
        assert "CONFIG_FPROBE" in str(info.value)
        assert open_fds() == fds


def test_wildcard_expansion():
    assert kernel_functions().source == "available_filter_functions"
    funcs = expand_kprobe_wildcard("do_sys_open*")
    print(funcs)
    assert FUNC in funcs
    assert funcs == sorted(set(funcs))
    assert all(f.startswith("do_sys_open") and "." not in f for f in funcs)
    assert expand_kprobe_wildcard(FUNC) == [FUNC]
    assert expand_kprobe_wildcard("kt_no_such_*") == []


def test_wildcard_skips_blacklisted_functions():
    blacklist = kprobe_blacklist()
    assert blacklist, "debugfs kprobes/blacklist is readable in the guest"
    traceable = set(kernel_functions().names)
    both = sorted(blacklist & traceable)
    print(f"{len(blacklist)} blacklisted, {len(both)} of them ftrace-able, e.g. {both[:5]}")
    for name in both[:20]:
        assert expand_kprobe_wildcard(name) == []


def test_wildcard_skips_compiler_clones_unless_asked():
    dotted = sorted(n for n in kernel_functions().names if "." in n)
    assert dotted, "6.1 lists .isra/.constprop/.part clones in available_filter_functions"
    sample = dotted[0]
    base = sample.split(".", 1)[0]
    print(f"clone {sample}")
    assert all("." not in f for f in expand_kprobe_wildcard(base + "*"))
    assert sample in expand_kprobe_wildcard(base + ".*")


def test_fallback_one_kprobe_per_function_with_cookies():
    # openat(2) enters __x64_sys_openat, never __x64_sys_openat2: cookie i must count
    # funcs[i] only.
    funcs = expand_kprobe_wildcard("__x64_sys_openat*")
    assert funcs == ["__x64_sys_openat", "__x64_sys_openat2"]
    ctx = AttachContext(use_kprobe_multi=kprobe_multi_supported())
    with load_counter() as obj:
        fds = open_fds()
        with Links() as links:
            for link in ATTACH["kprobe"](obj.program_in(objects.SECTION).fd,
                                         KprobeAttach(tuple(funcs)), ctx):
                links.add(link)
            assert len(links) == len(funcs)
            opens(30)
        c = counts(obj)
        print(dict(zip(funcs, c)))
        assert 30 <= c[0] <= 35 and c[1] == 0
        assert open_fds() == fds
