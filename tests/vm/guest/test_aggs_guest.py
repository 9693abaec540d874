"""hist(v, k) and tseries() on Debian's 6.1: tseries() reads CLOCK_TAI with
bpf_ktime_get_tai_ns(), which 6.1 introduced, so the oldest kernel kt supports for it must
load, run and print it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.kernel

SCRIPT = ('BEGIN { @t = tseries(4, 1000000000000, 3, "sum"); @t = tseries(5, 1000000000000, 3, "sum"); '
          '@k[1] = tseries(7, 1000000000000, 3); @h = hist(100, 2); exit(); }')


def test_tseries_and_hist_k_run_on_6_1():
    kt = shutil.which("kt")
    cmd = ([kt] if kt else [sys.executable, "-m", "kt.runtime.cli"])
    done = subprocess.run(cmd + ["-e", SCRIPT], capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "@t:" in lines and "@k[1]:" in lines
    assert any(line.endswith("| 9") for line in lines)      # 4 + 5 in one 1000 s interval
    assert any(line.startswith("[96, 112)") for line in lines)
