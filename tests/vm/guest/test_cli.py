"""The `kt` command with kprobes in the guest: a wildcard kprobe (one attachment per function,
told apart by cookie -> `probe`) and a kretprobe, traced for a -c child only."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from kt.runtime.attach.kprobe import kt_kprobe_events

pytestmark = pytest.mark.kernel

SCRIPT = """
kprobe:__x64_sys_openat* /pid == cpid/ { @calls[probe] = count(); }
kretprobe:do_sys_openat2 /pid == cpid/ { @returns = count(); }
"""


def test_kt_traces_kprobes_of_its_child():
    kt = shutil.which("kt")
    cmd = ([kt] if kt else [sys.executable, "-m", "kt.runtime.cli"])
    done = subprocess.run(cmd + ["-e", SCRIPT, "-c", "cat /etc/hostname /etc/os-release"],
                          capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    assert "Attached 2 probes" in done.stderr
    calls = dict(re.findall(r"^@calls\[(kprobe:\S+)\]: (\d+)$", done.stdout, re.M))
    returns = re.search(r"^@returns: (\d+)$", done.stdout, re.M)
    # cat opens its two files (and the loader's libraries) with openat, never openat2.
    assert set(calls) == {"kprobe:__x64_sys_openat"}
    assert int(calls["kprobe:__x64_sys_openat"]) >= 2
    assert returns and int(returns.group(1)) == int(calls["kprobe:__x64_sys_openat"])
    assert kt_kprobe_events() == []
