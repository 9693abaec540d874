"""USDT probes (SystemTap SDT notes) on programs the tests build with <sys/sdt.h>."""

from __future__ import annotations

import os
import subprocess

import pytest

from .conftest import run_kt
from .test_differential import BPFTRACE, NEEDS_BPFTRACE

pytestmark = pytest.mark.kernel

PROG = r"""
#include <sys/sdt.h>
#include <stdio.h>
long counter = 7;
__attribute__((noinline)) void work(int i, long v) { STAP_PROBE2(kt, pair, i, v); }
int gate(int x);
int main(void) {
    int n = 0;
    for (int i = 0; i < 5; i++) {
        work(i, -10L * i);           /* one site of kt:pair ... */
        counter += i;
        STAP_PROBE2(kt, pair, i + 100, counter);   /* ... and another, other registers */
        n += gate(i);
    }
    STAP_PROBE1(kt, single, -3);
    printf("gate fired %d\n", n);
    return 0;
}
"""

GATE = r"""
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
unsigned short kt_gate_semaphore __attribute__((unused)) __attribute__((section(".probes")));
int gate(int x) { if (kt_gate_semaphore) { STAP_PROBE1(kt, gate, x); return 1; } return 0; }
"""


@pytest.fixture(scope="module", params=["-O0", "-O2"])
def prog(request, tmp_path_factory) -> str:
    if not os.path.exists("/usr/include/x86_64-linux-gnu/sys/sdt.h") and not os.path.exists("/usr/include/sys/sdt.h"):
        pytest.fail("<sys/sdt.h> is missing: apt-get install systemtap-sdt-dev (README's test command does)")
    d = tmp_path_factory.mktemp("usdt")
    (d / "prog.c").write_text(PROG)
    (d / "gate.c").write_text(GATE)
    subprocess.run(["gcc", request.param, "-o", str(d / "prog"), str(d / "prog.c"), str(d / "gate.c")], check=True)
    return str(d / "prog")


def test_usdt_arguments_at_every_site(prog):
    r = run_kt("-e", f"usdt:{prog}:kt:pair /pid == cpid/ {{ @[arg0, arg1] = count(); }} "
               f"usdt:{prog}:single /pid == cpid/ {{ @s = sum(arg0); }}", "-c", prog)
    assert r.rc == 0, r.err
    for i in range(5):
        assert f"@[{i}, {-10 * i}]: 1\n" in r.out
    assert "@[100, 7]: 1\n" in r.out and "@[104, 17]: 1\n" in r.out
    assert "@s: -3\n" in r.out


def test_usdt_semaphore_is_raised_while_attached(prog):
    r = run_kt("-e", f"usdt:{prog}:kt:gate /pid == cpid/ {{ @ = sum(arg0); @n = count(); }}", "-c", prog)
    assert r.rc == 0, r.err
    assert "gate fired 5\n" in r.out        # the program saw its semaphore set
    assert "@: 10\n" in r.out and "@n: 5\n" in r.out


def test_unknown_usdt_probe(prog):
    r = run_kt("-e", f"usdt:{prog}:kt:nope {{ }}")
    assert r.rc == 1 and f"no USDT probe kt:nope in {prog}" in r.err


@NEEDS_BPFTRACE
def test_usdt_maps_match_bpftrace(prog):
    script = f"usdt:{prog}:kt:pair /pid == cpid/ {{ @[arg0, arg1] = count(); @n = count(); }}"
    theirs = subprocess.run([BPFTRACE, "-e", script, "-c", prog], capture_output=True, text=True, timeout=120)
    assert theirs.returncode == 0, theirs.stderr
    ours = run_kt("-e", script, "-c", prog)
    assert ours.rc == 0, ours.err
    pick = lambda out: sorted(l for l in out.splitlines() if l.startswith("@"))  # noqa: E731
    assert pick(theirs.stdout) and pick(ours.out) == pick(theirs.stdout)


def test_list_usdt_probes(prog):
    r = run_kt("-l", f"usdt:{prog}:*")
    assert r.rc == 0, r.err
    assert r.out.splitlines() == [f"usdt:{prog}:kt:gate", f"usdt:{prog}:kt:pair", f"usdt:{prog}:kt:single"]
    r = run_kt("-l", f"usdt:{prog}:kt:p*")
    assert r.out.splitlines() == [f"usdt:{prog}:kt:pair"]
