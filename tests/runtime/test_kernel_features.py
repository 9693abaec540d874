"""runtime/kernel_features.py: features the kernel would not refuse, only get wrong, are named
with the kernel version that has them. The real refusal on 6.1 is tests/vm/guest/
test_kernel_too_old.py; here, which objects need what, on objects the compiler really built."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kt.runtime.kernel_features import (UPROBE_FUNC_IP, KernelTooOld, kernel_version, needed_features,
                                        require_features)
from kt.runtime.spec import parse_object

pytestmark = pytest.mark.kernel   # `kt --emit-elf` runs as root


def _object(tmp_path, script: str):
    out = tmp_path / "o.o"
    done = subprocess.run([sys.executable, "-m", "kt.runtime.cli", "--emit-elf", str(out), "-e", script],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    spec = parse_object(out.read_bytes())
    return spec, spec.meta


def test_kernel_version_of_a_release():
    assert kernel_version("6.1.0-56-amd64") == (6, 1)
    assert kernel_version("6.18.44") == (6, 18)
    assert kernel_version("5.15.0-1051-aws") == (5, 15)
    assert kernel_version() == tuple(int(x) for x in os.uname().release.split(".")[:2])


def test_uaddr_in_a_uretprobe_of_a_library_needs_6_5(tmp_path):
    spec, meta = _object(tmp_path, 'uretprobe:libc:getpid { printf("%x\\n", uaddr("environ")); }')
    [(probe, feature)] = needed_features(spec, meta)
    assert feature is UPROBE_FUNC_IP and probe == "uretprobe:/lib/x86_64-linux-gnu/libc.so.6:getpid"
    with pytest.raises(KernelTooOld) as err:
        require_features(spec, meta, release="6.1.0-56-amd64")
    assert str(err.value) == (
        "uretprobe:/lib/x86_64-linux-gnu/libc.so.6:getpid uses bpf_get_func_ip() in uprobe programs "
        "(uaddr() in a uretprobe or a USDT probe of a PIE or a library needs it): Linux 6.5 or later "
        "has it, and this kernel is 6.1.0-56-amd64")
    require_features(spec, meta, release="6.5.0")
    require_features(spec, meta)      # this host's kernel is newer


def test_uaddr_at_a_uprobe_entry_needs_nothing_new(tmp_path):
    # at a uprobe's entry the probed instruction is the ip register, on every kernel
    spec, meta = _object(tmp_path, 'uprobe:libc:getpid { printf("%x\\n", uaddr("environ")); }')
    assert needed_features(spec, meta) == []
    require_features(spec, meta, release="6.1.0-56-amd64")
