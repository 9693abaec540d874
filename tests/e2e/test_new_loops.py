"""`for` over maps and ranges, has_key(), len() and delete()'s result (bpftrace 0.21-0.24
syntax; compiler/codegen/loops.py, compiler/builtins/map_queries.py).

Where 0.17 can say the same thing (a while loop, unroll, a map filled in the probe itself), the
new spelling runs under kt and the old one under bpftrace 0.17, and the maps must match; the
rest is checked against the examples of bpftrace's docs/language.md and docs/stdlib.md. Scripts
run in BEGIN, on tracepoints and uprobes of the test's own child, and on interval timers.
"""

from __future__ import annotations

import subprocess

import pytest

from .conftest import run_kt
from .libbpf_run import build_loader, check_every_program, run_loader
from .test_differential import NEEDS_BPFTRACE, _bpftrace, _comparable, _kt

pytestmark = [pytest.mark.kernel]

# name -> (kt script in the new syntax, the 0.17 spelling for bpftrace, -c command)
PAIRS = {
    "range_in_begin_with_break_and_continue": (
        'BEGIN { for ($i : 0..10) { if ($i == 2) { continue; } if ($i == 7) { break; } @sq[$i] = $i * $i; } '
        '$n = 3; for ($j : $n..$n) { @never = 1; } for ($j : 5..2) { @never = 2; } exit(); }',
        'BEGIN { $i = 0; while ($i < 10) { if ($i == 2) { $i++; continue; } if ($i == 7) { break; } '
        '@sq[$i] = $i * $i; $i++; } exit(); }',
        None),
    "range_bounds_read_once_and_variables_shared": (
        'BEGIN { $a = 4; $t = 0; for ($i : 0..$a) { $a--; $t += $i; @seen[$i] = $a; } @a = $a; @t = $t; exit(); }',
        'BEGIN { $a = 4; $t = 0; $i = 0; while ($i < 4) { $a--; $t += $i; @seen[$i] = $a; $i++; } @a = $a; '
        '@t = $t; exit(); }',
        None),
    "map_loop_over_counts_of_a_tracepoint": (
        'tracepoint:raw_syscalls:sys_enter /pid == cpid && comm == "ls"/ { @c[args->id] = count(); '
        '@s[args->id % 4] = sum(args->id); @hi[args->id % 3] = max(args->id); } '
        'END { for ($kv : @c) { @twice[$kv.0] = $kv.1 * 2; } '
        'for ($kv : @s) { @s2[$kv.0] = $kv.1; } for ($kv : @hi) { @hi2[$kv.0] = $kv.1; } }',
        'tracepoint:raw_syscalls:sys_enter /pid == cpid && comm == "ls"/ { @c[args->id] = count(); '
        '@s[args->id % 4] = sum(args->id); @hi[args->id % 3] = max(args->id); @twice[args->id] = sum(2); '
        '@s2[args->id % 4] = sum(args->id); @hi2[args->id % 3] = max(args->id); }',
        "/usr/bin/ls /"),
    "loop_body_reads_the_tracepoint_context": (
        'tracepoint:syscalls:sys_enter_openat /pid == cpid && comm == "cat"/ { '
        'for ($i : 0..2) { @f[$i, str(args->filename)] = count(); } }',
        'tracepoint:syscalls:sys_enter_openat /pid == cpid && comm == "cat"/ { '
        '@f[0, str(args->filename)] = count(); @f[1, str(args->filename)] = count(); }',
        "/usr/bin/cat /etc/hostname"),
    "multi_key_map_loop_and_nested_range": (
        'BEGIN { @m[1, "a"] = 10; @m[2, "b"] = 20; @m[3, "c"] = 30; '
        'for ($kv : @m) { if ($kv.0.0 == 2) { continue; } for ($j : 0..3) { if ($j == 2) { break; } '
        '@out[$kv.0.1, $j] = $kv.1 + $j; } } exit(); }',
        'BEGIN { @m[1, "a"] = 10; @m[2, "b"] = 20; @m[3, "c"] = 30; @out["a", 0] = 10; @out["a", 1] = 11; '
        '@out["c", 0] = 30; @out["c", 1] = 31; exit(); }',
        None),
    "interval_timer": (
        'interval:ms:20 { @m[1] = 5; @m[2] = 6; for ($kv : @m) { @t = @t + $kv.1; } '
        'for ($i : 0..3) { @r[$i] = $i; } exit(); }',
        'interval:ms:20 { @m[1] = 5; @m[2] = 6; @t = 11; @r[0] = 0; @r[1] = 1; @r[2] = 2; exit(); }',
        None),
}


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_same_maps_as_the_017_spelling(name):
    new, old, command = PAIRS[name]
    theirs = _comparable(_bpftrace(old, command))
    ours = _comparable(_kt(new, command))
    assert theirs, "bpftrace printed no map lines"
    assert ours == theirs


UPROBE_TARGET = r"""
#include <stdio.h>
int leaf(int x) { return x * 2; }
int main(void) { long s = 0; for (int i = 0; i < 5; i++) s += leaf(i); printf("%ld\n", s); return 0; }
"""


@pytest.fixture(scope="module")
def uprobe_target(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("loops_target")
    (d / "t.c").write_text(UPROBE_TARGET)
    subprocess.run(["gcc", "-O0", "-o", str(d / "t"), str(d / "t.c")], check=True)
    return str(d / "t")


@NEEDS_BPFTRACE
def test_uprobe_loop_reads_its_arguments_as_017_does(uprobe_target):
    t = uprobe_target
    new = (f'uprobe:{t}:leaf /pid == cpid/ {{ @seen[arg0] = 1; for ($i : 0..2) {{ @a[arg0, $i] = count(); }} '
           f'if (has_key(@seen, 3)) {{ @has3 = len(@seen); }} }}')
    old = (f'uprobe:{t}:leaf /pid == cpid/ {{ @seen[arg0] = 1; @a[arg0, 0] = count(); @a[arg0, 1] = count(); '
           f'if (arg0 >= 3) {{ @has3 = arg0 + 1; }} }}')
    theirs = _comparable(_bpftrace(old, t))
    assert theirs
    assert _comparable(_kt(new, t)) == theirs


# The examples of bpftrace's docs (language.md "Loops", stdlib.md has_key/len/delete), with
# the output they document.
DOC_EXAMPLES = {
    "for_map": ('BEGIN { @map[10] = 20; for ($kv : @map) { print($kv.0); print($kv.1); } clear(@map); exit(); }',
                ["10", "20"]),
    "for_map_multi_key": ('BEGIN { @map[10, 11] = 20; for ($kv : @map) { print($kv.0.0); print($kv.0.1); '
                          'print($kv.1); } clear(@map); exit(); }', ["10", "11", "20"]),
    "for_range_evaluated_once": ('BEGIN { $a = 10; for ($i : 0..$a) { print($i); $a--; } exit(); }',
                                 [str(i) for i in range(10)]),
    "has_key": ('BEGIN { @associative[1, 2] = 1; if (!has_key(@associative, (1, 3))) { print(("bye")); } '
                'if (has_key(@associative, (1, 2))) { print(("hi")); } clear(@associative); exit(); }',
                ["bye", "hi"]),
    "len_and_delete": ('BEGIN { @a[1] = 1; @a[2] = 2; @a[3] = 3; printf("%d\\n", len(@a)); '
                       'if (delete(@a, 2)) { printf("deleted\\n"); } $d = delete(@a, 2); printf("%d %d\\n", $d, len(@a)); '
                       '@c[1] = count(); @c[2] = count(); printf("%d\\n", len(@c)); clear(@a); clear(@c); exit(); }',
                       ["3", "deleted", "0 2", "2"]),
    "exit_inside_a_loop_ends_the_probe": ('BEGIN { for ($i : 0..5) { if ($i == 2) { exit(); } printf("%d\\n", $i); } '
                                          'printf("after\\n"); }', ["0", "1"]),
    # The kernel lets a hash map's own walk update and delete its elements.
    "map_changed_by_its_own_loop": ('BEGIN { @m[1] = 1; @m[2] = 2; @m[3] = 3; for ($kv : @m) { if ($kv.0 == 2) '
                                    '{ delete(@m, $kv.0); } else { @m[$kv.0] = $kv.1 * 10; } } '
                                    'printf("%d %d %d\\n", len(@m), @m[1], @m[3]); clear(@m); exit(); }', ["2 10 30"]),
    "return_inside_a_map_loop": ('BEGIN { @m[1] = 1; for ($kv : @m) { printf("in\\n"); return; } printf("after\\n"); } '
                                 'BEGIN { clear(@m); exit(); }', ["in"]),
}


@pytest.mark.parametrize("name", sorted(DOC_EXAMPLES))
def test_docs_examples_print_what_the_docs_say(name):
    script, lines = DOC_EXAMPLES[name]
    r = run_kt("-e", script, timeout=60)
    assert r.rc == 0, r.err
    assert [l for l in r.out.splitlines() if l] == lines


def test_an_object_with_loops_runs_from_its_file(tmp_path):
    """The callbacks' addresses are relocations in the object (BPF_PSEUDO_FUNC after loading):
    `kt out.o` runs what --emit-elf wrote."""
    obj = tmp_path / "loops.o"
    script = ('BEGIN { @m[1] = 2; @m[3] = 4; $t = 0; for ($kv : @m) { for ($i : 0..$kv.1) { $t++; } } '
              'printf("%d %d\\n", $t, len(@m)); clear(@m); exit(); }')
    r = run_kt("--emit-elf", str(obj), "-e", script)
    assert r.rc == 0, r.err
    r = run_kt(str(obj))
    assert r.rc == 0, r.err
    assert r.out.split() == ["6", "2"]


def test_libbpf_loads_an_object_with_loop_callbacks(tmp_path):
    """libbpf relocates the callbacks' ld_imm64 against .text (RELO_SUBPROG_ADDR) as kt's
    loader does."""
    (tmp_path / "libbpf").mkdir()
    loader = build_loader(tmp_path / "libbpf")
    obj = tmp_path / "out.o"
    r = run_kt("--emit-elf", str(obj), "-e",
               'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @m[1] = 1; for ($kv : @m) { @n = count(); } '
               'for ($i : 0..3) { @r = count(); } @l = len(@m); }')
    assert r.rc == 0, r.err
    run = run_loader(loader, str(obj), command=["/bin/true"])
    check_every_program(run, str(obj))


ERRORS = {
    "scalar map": ('BEGIN { @s = 1; for ($kv : @s) { } }', "map '@s' has no keys"),
    "hist map": ('BEGIN { @h[1] = hist(1); for ($kv : @h) { } }', "holds hist(): a for loop iterates"),
    "element": ('BEGIN { @m[1] = 1; for ($kv : @m[1]) { } }', "iterates a whole map"),
    "shadowing": ('BEGIN { @m[1] = 1; $kv = 1; for ($kv : @m) { } }', "shadows a variable"),
    "string range": ('BEGIN { for ($i : 0.."a") { } }', "a range's end must be an integer"),
    "has_key scalar": ('BEGIN { @s = 1; print(has_key(@s, 1)); }', "has_key() needs a map with keys"),
    "has_key key type": ('BEGIN { @m[1] = 1; print(has_key(@m, "x")); }', "map '@m' is keyed by"),
    "len of a stack": ('BEGIN { print(len(kstack)); }', "len() of a stack"),
    "len of a value": ('BEGIN { print(len(5)); }', "len() takes a map"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_misuse_is_a_located_error(name):
    script, message = ERRORS[name]
    r = run_kt("-e", script)
    assert r.rc != 0
    assert "error: " in r.err and message in r.err, r.err
    assert "^" in r.err


def test_loops_in_a_probe_split_into_chunks(tmp_path):
    """A body large enough to be lowered as subprograms (codegen/chunks.py) with loops among
    its statements: the callbacks share the chunks' frame of variables."""
    body = "\n".join(f"@x[{i % 7}] = {i};" for i in range(1500))
    script = tmp_path / "big.bt"
    script.write_text("BEGIN {\n$t = 0;\n" + body + "\nfor ($kv : @x) { $t += $kv.1; }\n" + body
                      + '\nfor ($i : 0..3) { $t++; }\nprintf("t=%d\\n", $t); clear(@x); exit(); }\n')
    r = run_kt(str(script), timeout=300)
    assert r.rc == 0, r.err
    assert "t=%d" % (sum(range(1493, 1500)) + 3) in r.out.splitlines()
