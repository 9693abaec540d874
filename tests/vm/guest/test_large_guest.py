"""A probe body split into subprograms (compiler/codegen/chunks.py) on 6.1's verifier: static
bpf-to-bpf calls taking the context and a pointer into the caller's stack, from a kprobe and
a tracepoint, and break/return codes crossing them."""

from __future__ import annotations

import pytest

from .helpers import kt

pytestmark = pytest.mark.kernel


def test_subprograms_of_a_long_kprobe_body_load_and_run(tmp_path):
    script = tmp_path / "long.kt"
    script.write_text("kprobe:do_sys_openat2 /pid == cpid/ {\n$n = 0;\n" + "$n = $n + 1;\n" * 400
                      + "@n = $n;\n@c = count();\n}\n")
    r = kt(str(script), "-c", "/bin/true")
    assert r.returncode == 0, r.stderr
    assert "@n: 400" in r.stdout


def test_subprograms_of_ten_joins_in_a_tracepoint(tmp_path):
    script = tmp_path / "joins.kt"
    script.write_text("tracepoint:syscalls:sys_enter_execve /pid == cpid/ { " + "join(args->argv); " * 10 + "}\n")
    r = kt(str(script), "-c", "/bin/echo from the guest")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines().count("/bin/echo from the guest") == 10, r.stdout
