"""The scripts Debian ships with bpftrace 0.17 (/usr/sbin/*.bt) compile with kt unchanged:
`#!` lines, `#include`s (kt takes kernel types from BTF), `#ifndef BPFTRACE_HAVE_BTF` blocks,
`#define`s, kernel structs, header constants, ntop/bswap/cat/join, hist... Compiling reads
tracefs, BTF and kallsyms, so it runs as root; nothing is loaded or attached."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_kt

pytestmark = pytest.mark.kernel

# What cannot compile here, and why (the machine, not kt):
NOT_HERE = {
    "dcsnoop.bt": "lookup_fast.constprop.* is not a function of this kernel",
    "loads.bt": "this kernel has no 'avenrun' symbol",
    "ssllatency.bt": "this libcrypto has no rsa_ossl_public_encrypt",
    "sslsnoop.bt": "this libcrypto has no rsa_ossl_public_encrypt",
    "threadsnoop.bt": "pthread_create moved from libpthread into libc",
    "runqlen.bt": "declares a C struct (kt has no C parser)",
}
TOOLS = sorted(p for p in Path("/usr/sbin").glob("*.bt") if p.name not in NOT_HERE)


def test_the_tools_are_there():
    assert len(TOOLS) >= 25, "bpftrace's tools are missing: apt-get install bpftrace"


@pytest.mark.parametrize("tool", TOOLS, ids=lambda p: p.name)
def test_tool_compiles(tool, tmp_path):
    r = run_kt("--emit-elf", str(tmp_path / "o.o"), str(tool), timeout=120)
    assert r.rc == 0, r.err
    assert (tmp_path / "o.o").stat().st_size > 0
