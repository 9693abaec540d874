"""The scripts Debian ships with bpftrace 0.17 (/usr/sbin/*.bt) compile with kt unchanged:
`#!` lines, `#include`s (kt takes kernel types from BTF), `#ifndef BPFTRACE_HAVE_BTF` blocks,
`#define`s, kernel structs, header constants, ntop/bswap/cat/join, hist... Compiling reads
tracefs, BTF and kallsyms, so it runs as root; nothing is loaded or attached."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import run_kt

pytestmark = pytest.mark.kernel

# What cannot compile here, and why (the machine, not kt):
NOT_HERE = {
    "dcsnoop.bt": "lookup_fast.constprop.* is not a function of this kernel",
    "loads.bt": "this kernel has no 'avenrun' symbol",
    "threadsnoop.bt": "pthread_create moved from libpthread into libc",
    "runqlen.bt": "this kernel's struct cfs_rq has no nr_running (6.13+ call it nr_queued); bpftrace "
                  "0.17 fails the same way (test_runqlen_with_its_own_struct compiles it)",
}
TOOLS = sorted(p for p in Path("/usr/sbin").glob("*.bt") if p.name not in NOT_HERE)


def test_the_tools_are_there():
    assert len(TOOLS) >= 25, "bpftrace's tools are missing: apt-get install bpftrace"


@pytest.mark.parametrize("tool", TOOLS, ids=lambda p: p.name)
def test_tool_compiles(tool, tmp_path):
    r = run_kt("--emit-elf", str(tmp_path / "o.o"), str(tool), timeout=120)
    assert r.rc == 0, r.err
    assert (tmp_path / "o.o").stat().st_size > 0


@pytest.mark.parametrize("tool", ["sslsnoop.bt", "ssllatency.bt"])
def test_ssl_tools_leave_out_what_libcrypto_lacks(tool, tmp_path):
    """This libcrypto has no symbol for rsa_ossl_public_encrypt and the other local functions
    (only its debug info would): as 0.17, those uprobes are left out (kt says so) and the rest
    compile."""
    r = run_kt("--emit-elf", str(tmp_path / "o.o"), f"/usr/sbin/{tool}", timeout=120)
    assert r.rc == 0, r.err
    assert "warning: no function 'rsa_ossl_public_encrypt' in " in r.err


def test_runqlen_with_its_own_struct(tmp_path):
    """runqlen.bt's fallback for kernels without BTF declares struct cfs_rq itself: with it
    enabled, the script's struct shadows the kernel's (whose member was renamed), as in
    bpftrace, and its `struct load_weight load` member comes from the kernel's BTF."""
    text = Path("/usr/sbin/runqlen.bt").read_text().replace("#ifndef BPFTRACE_HAVE_BTF", "#ifndef KT_TEST_NO")
    script = tmp_path / "runqlen.bt"
    script.write_text(text)
    r = run_kt("--emit-elf", str(tmp_path / "o.o"), str(script), timeout=120)
    assert r.rc == 0, r.err
    # Where the script's nr_running lies: after the kernel's struct load_weight (its size read
    # with bpftool) and the 8-byte runnable_weight.
    raw = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"],
                         capture_output=True, text=True, check=True).stdout
    size = int(re.search(r"STRUCT 'load_weight' size=(\d+)", raw).group(1))
    probe = text[:text.index("BEGIN")] + "BEGIN { print(offsetof(struct cfs_rq, nr_running)); exit(); }"
    (tmp_path / "offset.bt").write_text(probe)
    r = run_kt(str(tmp_path / "offset.bt"))
    assert r.rc == 0, r.err
    assert r.out.split()[0] == str(size + 8)
