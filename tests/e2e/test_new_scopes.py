"""bpftrace 0.22-0.25's `let`, block scoping, bool, string indexing and macros, in the kernel.

Each differential case is a script in the new syntax, run under kt, and the same script spelled
in bpftrace 0.17's language, run under bpftrace 0.17: the outputs must be the same (lines as
test_differential.py compares them). The kt-only cases have no 0.17 spelling worth the name
(0.26's docs' macro example): their expected output is the docs'. Cases run in BEGIN, on
tracepoints of the -c child, on uprobes of tests/e2e/targets/builtins_target.c and on a timer.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import run_kt
from .test_differential import CHILD_ENV, NEEDS_BPFTRACE, _bpftrace, _comparable, _kt

pytestmark = [pytest.mark.kernel]

TARGETS = Path(__file__).parent / "targets"
T = "{t}"

# name: (kt's script in the new syntax, bpftrace 0.17's spelling, the -c command)
CASES = {
    "let_typed_and_scoped_begin": (
        'BEGIN { let $x; let $y: uint8 = 300; $x = 5; '
        'if ($x > 1) { let $z = $x * 2; printf("EV %d %d\\n", $z, $y); } '
        'else { let $z = "no"; printf("EV %s\\n", $z); } '
        'let $n: int16 = 70000; $n += 1; printf("EV %d %d\\n", $n, $x); exit(); }',
        'BEGIN { $x = 0; $y = (uint8)300; $x = 5; '
        'if ($x > 1) { $z = $x * 2; printf("EV %d %d\\n", $z, $y); } '
        'else { $w = "no"; printf("EV %s\\n", $w); } '
        '$n = (int16)70000; $n = (int16)($n + 1); printf("EV %d %d\\n", $n, $x); exit(); }',
        None),
    "let_in_loop_starts_at_zero": (
        'BEGIN { $i = 0; while ($i < 4) { let $t; if ($i % 2 == 1) { $t = $i * 10; } '
        'printf("EV %d %d\\n", $i, $t); $i++; } exit(); }',
        'BEGIN { $i = 0; while ($i < 4) { $t = 0; if ($i % 2 == 1) { $t = $i * 10; } '
        'printf("EV %d %d\\n", $i, $t); $i++; } exit(); }',
        None),
    "bool_literals_and_casts": (
        'BEGIN { let $b: bool = 42; $f = false; printf("EV %d %d %d %d\\n", $b, $f, !$f, (bool)0); '
        'if (true) { @yes = (bool)-3; } exit(); }',
        'BEGIN { $b = 1; $f = 0; printf("EV %d %d %d %d\\n", $b, $f, !$f, 0); '
        'if (1) { @yes = 1; } exit(); }',
        None),
    "string_index_tracepoint": (
        'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { let $f = str(args.filename); '
        '@first[$f[0] == 47] = count(); @second[$f[1]] = count(); }',
        'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { $f = str(args->filename); '
        '@first[*(int8 *)args->filename == 47] = count(); '
        '@second[*(int8 *)(args->filename + 1)] = count(); }',
        "/usr/bin/cat /etc/hostname"),
    "string_index_uprobe_and_macros": (
        'macro key(s) { (s[0], s[1]) } '
        'macro note(@m, k) { @m[k] = count(); } '
        'uprobe:{t}:use_strs /pid == cpid/ { let $a = str(arg0); let $b = str(arg1); '
        'note(@c, key($a)); note(@d, $b[2] + arg2); $i = 0; @n = sum($a[$i + 1]); }',
        'uprobe:{t}:use_strs /pid == cpid/ { '
        '@c[*(int8 *)arg0, *(int8 *)(arg0 + 1)] = count(); @d[*(int8 *)(arg1 + 2) + arg2] = count(); '
        '@n = sum(*(int8 *)(arg0 + 1)); }',
        T),
    # A record prints as 0.17 prints a struct: the same fields read from the target's struct.
    "record_prints_as_a_struct_uprobe": (
        'struct Addr { uint8_t v6[16]; uint8_t v4[4]; uint32_t ip; } '
        'uprobe:{t}:use_addr /pid == cpid/ { $a = (struct Addr *)arg0; '
        'let $r = (v6 = $a->v6, v4 = $a->v4, ip = $a->ip); print($r); @ip[$r.v4[0]] = $r.ip; }',
        'struct Addr { uint8_t v6[16]; uint8_t v4[4]; uint32_t ip; } '
        'uprobe:{t}:use_addr /pid == cpid/ { $a = (struct Addr *)arg0; print(*$a); @ip[$a->v4[0]] = $a->ip; }',
        T),
    "records_in_begin": (
        'BEGIN { $v = (x = 1, y = 2); $t = (a = 0, b = -1, c = "str", e = $v); '
        'printf("EV %d %d %s %d\\n", $t.a, $t.b, $t.c, $t.e.y); @m[$t.e.x] = $t.e.y; exit(); }',
        'BEGIN { $t = (0, -1, "str", (1, 2)); printf("EV %d %d %s %d\\n", $t.0, $t.1, $t.2, $t.3.1); '
        '@m[$t.3.0] = $t.3.1; exit(); }',
        None),
    "addr_of_variable_tracepoint": (
        'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { $fd = args.dfd; $p = &$fd; '
        '$name = str(args.filename); $s = &$name; @[*$p, *$s] = count(); }',
        'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[args->dfd, str(args->filename)] = count(); }',
        "/usr/bin/cat /etc/hostname"),
    # 0.25's `.` dereferences as `->` does: args.x and pointer.member (DWARF uprobe args)
    "args_dot_auto_deref_uprobe": (
        'uprobe:{d}:takes_ptr /pid == cpid/ { printf("EV %d %d %d %d %s\\n", args.box.n, args.box.a.y, args.pt.x, '
        'args.box.p.y, str(args.box.label)); }',
        'uprobe:{d}:takes_ptr /pid == cpid/ { printf("EV %d %d %d %d %s\\n", args->box->n, args->box->a.y, '
        'args->pt->x, args->box->p->y, str(args->box->label)); }',
        "{d}"),
    "macros_on_a_timer": (
        'macro ms(n) { n * 1000000 } '
        'macro remember($v, @m) { @m = $v; $v += 1; } '
        'interval:ms:20 { let $x = ms(3); remember($x, @last); @next = $x; exit(); }',
        'interval:ms:20 { $x = 3 * 1000000; @last = $x; $x += 1; @next = $x; exit(); }',
        None),
}


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("scopes") / "builtins_target"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(out), str(TARGETS / "builtins_target.c")], check=True)
    return str(out)


@pytest.fixture(scope="module")
def dwarf_target(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("scopes") / "dwarf_target"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(out), str(TARGETS / "dwarf_target.c")], check=True)
    return str(out)


def _fill(text: str | None, t: str, d: str = "") -> str | None:
    return None if text is None else text.replace("{t}", t).replace("{d}", d)


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", list(CASES))
def test_new_syntax_prints_what_017_prints(name: str, target: str, dwarf_target: str) -> None:
    new, old, command = CASES[name]
    command = _fill(command, target, dwarf_target)
    expected = _comparable(_bpftrace(_fill(old, target, dwarf_target), command))
    assert expected, "bpftrace 0.17 printed nothing: the case proves nothing"
    assert _comparable(_kt(_fill(new, target, dwarf_target), command)) == expected


DOCS_MACROS = """
macro one() {
  1
}

macro add_one(x) {
  x + 1
}

macro add_one_to_each($a, @b) {
  $a += 1;
  @b += 1;
}

macro side_effects(x) {
  x;
  x;
  x;
}

macro add_two(x) {
  add_one(x) + 1
}

BEGIN {
  print(one());
  print(one);
  $a = 10;
  print(add_one($a));
  print(add_one(1 + 1));
  @b = 5;
  add_one_to_each($a, @b);
  print($a + @b);
  side_effects({ printf("hi") });
  printf("\\n");
  print(add_two(1));
  clear(@b);
  exit();
}
"""


def test_docs_macro_example(tmp_path: Path) -> None:
    """0.26's docs' macro example (its `side_effects({ printf("hi") })` block argument is
    written `side_effects(printf("hi"))`: kt has no block expressions) prints what they say."""
    script = tmp_path / "macros.bt"
    script.write_text(DOCS_MACROS.replace('side_effects({ printf("hi") })', 'side_effects(printf("hi"))'))
    run = run_kt(str(script), timeout=120)
    assert run.rc == 0, run.err
    assert run.out.split("\n")[:7] == ["1", "1", "11", "3", "17", "hihihi", "3"]


def test_let_and_macros_travel_in_the_object(tmp_path: Path) -> None:
    """What let and macros compile to is ordinary code: `kt out.o` runs the object alone."""
    obj = tmp_path / "out.o"
    script = ('macro sq(x) { x * x } BEGIN { let $n: uint8 = 260; if (true) { let $s = "hey"; '
              'printf("%d %c %d\\n", sq($n), $s[1], $s[3]); } exit(); }')
    built = run_kt("--emit-elf", str(obj), "-e", script, timeout=120)
    assert built.rc == 0, built.err
    run = run_kt(str(obj), timeout=120)
    assert run.rc == 0, run.err
    assert "16 e 0" in run.out.splitlines()


def test_docs_record_printing() -> None:
    """bpftrace's own test of record printing (tests/runtime/record) prints the same here."""
    run = run_kt("-e", 'BEGIN { $v = (x=1, y=2); $t = (a=0, b=1, c="str", d=(5, 6), e=$v); print($t); exit(); }',
                 timeout=120)
    assert run.rc == 0, run.err
    assert run.out.split("\n")[0] == "{ .a = 0, .b = 1, .c = str, .d = (5, 6), .e = { .x = 1, .y = 2 } }"


def test_records_of_one_shape_are_one_type() -> None:
    """A record variable takes records of the same field names with longer strings; records
    are map keys and values."""
    run = run_kt("-e", 'BEGIN { $r = (x = 1, y = "a"); $r = (x = 2, y = "longer"); @m[$r] = (n = 3); '
                 'print($r.y); exit(); }', timeout=120)
    assert run.rc == 0, run.err
    assert run.out.splitlines()[0] == "longer"
    assert "@m[{.x=2,.y=longer}]: { .n = 3 }" in run.out.splitlines()


def test_sibling_lets_get_their_own_slots() -> None:
    """`let $v` in two sibling blocks are two variables, of different types."""
    run = run_kt("-e", 'BEGIN { if (1) { let $v = "text"; print($v); } if (1) { let $v = 7; print($v + 1); } '
                 '$v = 100; print($v); exit(); }', timeout=120)
    assert run.rc == 0, run.err
    assert run.out.split("\n")[:3] == ["text", "8", "100"]
