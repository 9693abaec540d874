"""A feature 6.1 lacks, named with the kernel that has it: uaddr() in a uretprobe of a library
needs bpf_get_func_ip() in uprobe programs (Linux 6.5); on 6.1 the helper returns 0 there, so
the address would be wrong without a word (runtime/kernel_features.py). kt refuses before
loading, and leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from kt.runtime.kernel_features import kernel_version

pytestmark = pytest.mark.kernel

SCRIPT = 'uretprobe:libc:getpid { printf("%x\\n", uaddr("environ")); exit(); }'


def _uprobe_events() -> str:
    for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if os.path.exists(f"{root}/uprobe_events"):
            with open(f"{root}/uprobe_events") as f:
                return f.read()
    return ""


def test_uaddr_in_uretprobe_needs_linux_6_5():
    assert kernel_version() < (6, 5), "the guest runs Debian's 6.1"
    kt = shutil.which("kt")
    cmd = ([kt] if kt else [sys.executable, "-m", "kt.runtime.cli"])
    done = subprocess.run(cmd + ["-e", SCRIPT, "-c", "/bin/true"], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    libc = "/lib/x86_64-linux-gnu/libc.so.6"   # as ld.so.cache names it (the guest has the host's files)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"kt: error: uretprobe:{libc}:getpid uses bpf_get_func_ip() in uprobe programs (uaddr() in a "
        f"uretprobe or a USDT probe of a PIE or a library needs it): Linux 6.5 or later has it, and "
        f"this kernel is {os.uname().release}\n")
    assert "kt_" not in _uprobe_events()
