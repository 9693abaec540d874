"""Newer bpftrace syntax that no other test_new_* file owns: one-element and empty tuples, a tuple
indexed like an array with a constant expression (bpftrace 0.23's docs), `_ = expr` (the discard
expression), `iter:task_vma`, and `args` of raw tracepoints from BTF (0.24). Where 0.17 has a
spelling of the same script, bpftrace 0.17 runs it and the outputs must match."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import run_kt
from .test_differential import NEEDS_BPFTRACE, _bpftrace, _kt

pytestmark = [pytest.mark.kernel]


@NEEDS_BPFTRACE
@pytest.mark.parametrize("new, old", [
    # A tuple indexed with [constant] is the same element as .N.
    ('BEGIN { $a = (1, "hello"); $b = (3, 4, $a); print($a[1]); print($b[1 + 1]); print($b[2][0]); '
     '@m[$b[0 * 5]] = $a[1]; exit(); }',
     'BEGIN { $a = (1, "hello"); $b = (3, 4, $a); print($a.1); print($b.2); print($b.2.0); '
     '@m[$b.0] = $a.1; exit(); }'),
    # `_ = expr` computes expr and drops it: the map still counts.
    ('BEGIN { @c[1] = 3; _ = @c[1]; _ = 5 * 2; printf("%d\\n", 7); exit(); }',
     'BEGIN { @c[1] = 3; @c[1]; 5 * 2; printf("%d\\n", 7); exit(); }'),
    # if/while conditions without parentheses (bpftrace's newer syscount.bt: `if $sysname {`).
    ('BEGIN { $x = 1; if $x { printf("a\\n"); } if $x == 2 { printf("b\\n"); } else if $x { printf("c\\n"); } '
     '$i = 0; while $i < 3 { $i++; } print($i); exit(); }',
     'BEGIN { $x = 1; if ($x) { printf("a\\n"); } if ($x == 2) { printf("b\\n"); } else if ($x) { printf("c\\n"); } '
     '$i = 0; while ($i < 3) { $i++; } print($i); exit(); }'),
], ids=["tuple_index", "discard", "conditions_without_parentheses"])
def test_same_as_017_spelling(new: str, old: str) -> None:
    assert _kt(new, None) == _without_attaching(_bpftrace(old, None))


def _without_attaching(out: str) -> str:
    """bpftrace 0.17's stdout without its first line, "Attaching N probes..." (kt's is on stderr)."""
    assert out.startswith("Attaching ")
    return out.split("\n", 1)[1]


def test_one_element_and_empty_tuples() -> None:
    r = run_kt("-e", 'BEGIN { $a = (1,); $e = (); print($a); print($e); print(($a, "x")); @t[(7,)] = (2,); exit(); }')
    assert r.rc == 0, r.err
    # One element prints like a key of one value; the empty tuple as ().
    assert r.out.split("\n\n\n")[0].splitlines() == ["(1)", "()", "((1), x)"]
    assert "@t[7]: (2)" in r.out


def test_iter_task_vma_counts_the_childs_mappings() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "up\n"   # started: its mappings stay as they are
        with open(f"/proc/{child.pid}/maps") as f:
            lines = [line for line in f if "[vsyscall]" not in line]   # the gate page is no VMA
        mappings, lowest = len(lines), min(int(line.split("-")[0], 16) for line in lines)
        r = run_kt("-e", 'iter:task_vma /ctx->task->pid == $1/ { @n = count(); @first = min(ctx->vma->vm_start); }',
                   str(child.pid))
    finally:
        child.kill()
        child.wait()
    assert r.rc == 0, r.err
    assert f"@n: {mappings}" in r.out   # one call per mapping of the (single-threaded) child
    assert f"@first: {lowest}" in r.out


@NEEDS_BPFTRACE
def test_raw_tracepoint_args_match_the_tracepoint() -> None:
    """rawtracepoint:sched_process_exec's args come from the kernel's BTF and are the values the
    tracepoint of the same name records (0.17 has no args in raw tracepoints: it runs the
    tracepoint spelling)."""
    new = ('rawtracepoint:sched_process_exec /pid == cpid/ { printf("%d %s\\n", args.old_pid == pid, '
           'str(args.bprm->filename)); }')
    old = ('tracepoint:sched:sched_process_exec /pid == cpid/ { printf("%d %s\\n", args->old_pid == pid, '
           'str(args->filename)); }')
    out = _kt(new, "/usr/bin/true")
    assert "1 /usr/bin/true" in out.splitlines()
    assert out == _without_attaching(_bpftrace(old, "/usr/bin/true"))


def test_newer_features_kt_refuses_name_themselves() -> None:
    cases = {
        "test:okay { }": "'test:' probes (bpftrace 0.25",
        "bench:x { }": "'bench:' probes (bpftrace 0.24",
        "fentry:bpf:prog { }": "fentry:bpf:... (tracing running BPF programs, bpftrace 0.24) is not supported",
        "iter:task:pinned { }": "pinning an iterator to a file (iter:NAME:PIN) is not supported",
    }
    for script, message in cases.items():
        r = run_kt("-e", script, env={"PATH": os.environ["PATH"]})
        assert r.rc == 1 and message in r.err and "Traceback" not in r.err, (script, r.err)


def test_array_casts_as_the_docs_example() -> None:
    """bpftrace's docs ("Array casts"): `(int8[8])12345` is the integer's bytes, and casting the
    array back gives the integer; `[]` takes the count from the value's size."""
    r = run_kt("-e", 'BEGIN { $a = (int8[8])12345; printf("%x %x\\n", $a[0], $a[1]); printf("%d\\n", (uint64)$a); '
                     '$b = (uint16[])(uint32)0x10002; @m[$b] = (uint32)$b; print($b); exit(); }')
    assert r.rc == 0, r.err
    assert r.out.splitlines()[:3] == ["39 30", "12345", "[2,1]"]
    assert "@m[[2,1]]: 65538" in r.out
    assert run_kt("-e", 'BEGIN { printf("%d\\n", (uint32)pton("127.0.0.1") == 0x0100007f); exit(); }').out.splitlines()[0] == "1"


@NEEDS_BPFTRACE
@pytest.mark.parametrize("arg", ["3", "1", "100"])
def test_unroll_count_from_a_positional_parameter(arg: str) -> None:
    """`unroll($1)` (bpftrace's softirqstat.bt): 0.17 already takes it, kt did not. The count is
    baked into the object, as other compile-time uses of $N."""
    script = 'BEGIN { $i = 0; unroll($1) { $i++; } printf("%d\\n", $i); exit(); }'
    r = run_kt("-e", script, arg)
    assert r.rc == 0, r.err
    theirs = subprocess.run(["bpftrace", "-e", script, arg], capture_output=True, text=True, timeout=60)
    assert r.out == _without_attaching(theirs.stdout)


def test_percpu_aggregations_read_as_integers_docs_example() -> None:
    """bpftrace's docs ("PERCPU types"): count() and sum() maps read in expressions are their
    totals over the CPUs; min()/max() their extremes; a missing key reads 0."""
    r = run_kt("-e", 'BEGIN { @c = count(); @s = sum(3); @s = sum(9); if (@s == 12) { '
                     'printf("%d %d\\n", (int64)@c, (int64)@s); } @k[1] = count(); @k[1] = count(); '
                     '@mn = min(5); @mn = min(-2); @mx[2] = max(7); '
                     'printf("%d %d %d %d\\n", @k[1], @k[2], @mn, @mx[2]); exit(); }')
    assert r.rc == 0, r.err
    assert r.out.splitlines()[:2] == ["1 12", "2 0 -2 7"]


def test_percpu_count_read_in_end_equals_the_printed_map() -> None:
    """Events of the child on every CPU it ran on: the value END reads is the map's total."""
    r = run_kt("-e", 'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @opens = count(); @bytes[comm] = sum(2); } '
                     'END { printf("read %d %d\\n", @opens, @bytes["cat"]); }',
               "-c", "/usr/bin/cat /etc/hostname /etc/os-release /etc/passwd")
    assert r.rc == 0, r.err
    opens = int(r.out.split("@opens: ")[1].split()[0])
    assert opens > 3
    assert f"read {opens} {2 * opens}" in r.out
