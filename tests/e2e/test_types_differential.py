"""Differential tests of bpftrace's type system: C types declared in scripts (structs, unions,
enums, bitfields, nested and anonymous members, arrays, pointers), kernel BTF types, tracepoint
array fields, tuples, sizeof, print() of every kind of value, increments, literals and uprobe
targets. Each case runs the same script under kt and under Debian's bpftrace 0.17 and requires
the same output.

The workload is tests/e2e/targets/types_target.c (built by the `target` fixture with
`gcc -g -O0`): main() calls noinline functions with fixed data (see the C file for every value)
and makes a few syscalls with fixed arguments; it prints nothing. It pins itself to the CPU it
starts on, so that events reach either tracer in call order. Uprobe cases trace only the -c
child (`/pid == cpid/`, and a uprobe of a freshly built binary fires in nothing else);
tracepoint cases filter on `pid == cpid` and on the syscall's known arguments.

How outputs are compared (`_normalized`): ALL stdout lines, in order — printf lines (scripts
prefix them with "EV "), print() lines (a print() value is a plain line of its own), the blank
lines 0.17 prints before the maps at exit and for an empty map, and the map lines — with only
these changes:
  - 0.17's "Attaching N probes..." status line is dropped (kt prints its status on stderr);
  - lines the -c child prints by itself (cat's /etc/hostname) are dropped: they are not the
    tracer's, and their place among the tracer's lines depends on pipe timing;
  - trailing blank lines are dropped;
  - runs of consecutive `@map[key]: value` lines of one map with one value are sorted, because
    0.17 orders entries with equal values randomly (as test_differential.py's `_comparable`).
Each case also carries the output the C program's data implies (`expect`, written by hand from
the data), and bpftrace's output must equal it too, before kt runs: a case proves something only
if 0.17 prints the right thing. `-f json` cases compare the JSON objects one by one, in order (an object's
keys in any order: entries of a map with equal values come in any order in 0.17).

KT_ONLY_CASES are where kt deliberately differs from 0.17 (0.17 refuses the script or prints a
wrong value): they run under kt only and must print the given output, derived from the C data.
KT_ERROR_CASES must make kt fail at compile time with a message naming the problem.

Notes on 0.17 that shaped the scripts: only one BEGIN and one END; struct definitions come
before the probes; no top-level typedef; `exit()` must be the last statement of BEGIN (events
after it are dropped); `func` in a uprobe printf prints an address (never used here); `-7 / 2`
and `-5 >> 1` are unsigned in 0.17 (not used here); a probe name contains the uprobe path as
written, so cases that print `probe` use the fixture's paths, substituted into `expect`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import run_kt
from .test_differential import BPFTRACE, CHILD_ENV, _bpftrace, _kt, NEEDS_BPFTRACE

pytestmark = [pytest.mark.kernel]

TARGETS = Path(__file__).parent / "targets"

T = "{t}"  # the -c command of most cases: the target binary itself
CAT = "/usr/bin/cat /etc/hostname"


@dataclass(frozen=True)
class Case:
    script: str
    command: str | None  # None: a BEGIN-only script, no -c
    expect: str          # the normalized output the data implies ("{t}" etc. substituted)
    cwd: str | None = None


# The scripts' copies of the target's structs (same names and layout as the C file, except
# Outer: see the comment on struct OuterC there).
POINT = "struct Point { int16_t x; int16_t y; }\n"
REC = POINT + (
    "struct Rec { char name[8]; int32_t arr[4]; int32_t grid[2][3]; uint8_t u8; int8_t i8; "
    "uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; uint64_t u64; int64_t i64; "
    "struct Point pt; struct Point pts[3]; unsigned char raw[3]; char tag[4]; }\n")
BITS = "struct Bits { unsigned int a:4, b:8; int s:5; unsigned int c:7; unsigned int d:9; uint8_t tail; }\n"
OUTER = POINT + (
    "struct Outer { int32_t k; union { int32_t a; uint32_t b; } u; struct { int16_t p; int16_t q; } s; "
    "union { int32_t ia; uint8_t ib[4]; }; struct { uint8_t m; int8_t n; }; struct Point pt; }\n")
NODE = "struct Node { int32_t val; struct Node *next; }\n"
PAIR = REC + NODE + "struct Pair { int32_t id; struct Rec *rec; struct Node *node; }\n"

REC_PROBE = "uprobe:{t}:use_rec /pid == cpid/ { $r = (struct Rec *)arg0; "


def _cases(*entries: tuple) -> dict[str, Case]:
    table: dict[str, Case] = {}
    for name, script, command, expect, *cwd in entries:
        assert name not in table, name
        table[name] = Case(script, command, expect, cwd[0] if cwd else None)
    return table


# ---------------------------------------------------------------------------------------------
# Compared with bpftrace 0.17
# ---------------------------------------------------------------------------------------------

CASES = _cases(
    # --- BEGIN: script types, sizes, layout -------------------------------------------------
    ("begin_sizeof_struct_of_c_integer_type_names",
     r"""struct Foo { const volatile uint8_t a; u32 b; size_t c; unsigned long d; char e; long long f;
                    unsigned short g; signed char h; }
     BEGIN { print(sizeof(struct Foo)); exit(); }""",
     None, "48"),
    ("begin_sizeof_members_of_each_c_type_name",
     r"""struct Foo { const volatile uint8_t a; u32 b; size_t c; unsigned long d; char e; long long f;
                    unsigned short g; signed char h; int16_t i; u64 j; unsigned int k; short l; }
     BEGIN { $f = (struct Foo *)0;
             printf("EV %d %d %d %d %d %d %d %d %d %d %d %d\n", sizeof($f->a), sizeof($f->b), sizeof($f->c),
                    sizeof($f->d), sizeof($f->e), sizeof($f->f), sizeof($f->g), sizeof($f->h), sizeof($f->i),
                    sizeof($f->j), sizeof($f->k), sizeof($f->l)); exit(); }""",
     None, "EV 1 4 8 8 1 8 2 1 2 8 4 2"),
    ("begin_x86_64_alignment_and_tail_padding",
     r"""struct Pad1 { char a; int64_t b; }
     struct Pad2 { int64_t a; char b; }
     struct Pad3 { char a; int16_t b; char c; }
     struct Pad4 { char a; char b[3]; int32_t c; char d; }
     struct Pad5 { char a; struct Pad3 in; char b; }
     BEGIN { printf("EV %d %d %d %d %d\n", sizeof(struct Pad1), sizeof(struct Pad2), sizeof(struct Pad3),
                    sizeof(struct Pad4), sizeof(struct Pad5)); exit(); }""",
     None, "EV 16 16 6 12 10"),
    ("begin_sizeof_union_and_enum_values",
     r"""union Un { int32_t i; char c[6]; }
     enum Color { RED, GREEN = 5, BLUE }
     BEGIN { printf("EV %d %d %d %d %d\n", sizeof(union Un), RED, GREEN, BLUE, GREEN + BLUE); exit(); }""",
     None, "EV 8 0 5 6 11"),
    ("begin_sizeof_the_target_structs",
     PAIR + BITS + OUTER.replace(POINT, "") +
     r"""BEGIN { printf("EV %d %d %d %d %d %d\n", sizeof(struct Rec), sizeof(struct Point), sizeof(struct Bits),
                    sizeof(struct Outer), sizeof(struct Node), sizeof(struct Pair)); exit(); }""",
     None, "EV 104 4 8 24 16 24"),
    ("begin_sizeof_builtin_integer_types",
     r"""BEGIN { printf("EV %d %d %d %d %d %d %d %d\n", sizeof(int8), sizeof(uint8), sizeof(int16), sizeof(uint16),
                    sizeof(int32), sizeof(uint32), sizeof(int64), sizeof(uint64)); exit(); }""",
     None, "EV 1 1 2 2 4 4 8 8"),
    ("begin_sizeof_expressions",
     r"""BEGIN { $x = 5; printf("EV %d %d %d %d %d %d\n", sizeof($x), sizeof("abc"), sizeof((int8)1),
                    sizeof((uint16)$x + 1), sizeof((1, 2)), sizeof(1 == 2)); exit(); }""",
     None, "EV 8 4 1 8 16 8"),
    ("begin_script_struct_shadows_kernel_btf_struct",
     r"""struct file { int a; int b; }
     BEGIN { print(sizeof(struct file)); exit(); }""",
     None, "8"),
    ("begin_nested_struct_sizes",
     r"""struct In { int16_t a; int64_t b; }
     struct Mid { char c; struct In in; struct In ins[2]; }
     struct Top { struct Mid m; union { char x; int32_t y; } u; }
     BEGIN { printf("EV %d %d %d\n", sizeof(struct In), sizeof(struct Mid), sizeof(struct Top)); exit(); }""",
     None, "EV 16 56 64"),
    # --- BEGIN: literals, expressions, print() of values ------------------------------------
    ("begin_print_integer_expressions",
     r"""BEGIN { print(1 + 2 * 3); print((1 + 2) * 3); print(7 % 3); print(1 << 40); print(-1 > 0); print(~0);
             print(!5); print(-3 - 4); exit(); }""",
     None, "7\n9\n1\n1099511627776\n0\n-1\n0\n-7"),
    ("begin_print_casts",
     r"""BEGIN { print((uint8)300); print((int8)200); print((uint32)-1); print((int16)65535); print((uint16)-2);
             print((int32)4294967295); print((uint64)-1); exit(); }""",
     None, "44\n-56\n4294967295\n-1\n65534\n-1\n18446744073709551615"),
    ("begin_integer_literals",
     r"""BEGIN { print(010); print(007 + 1); print(0x1F); print(1_000_000); print(1_0); print(123UL); print(123L);
             print(-010); @m[010] = 1_000; exit(); }""",
     None, "8\n8\n31\n1000000\n10\n123\n123\n-8\n\n\n@m[8]: 1000"),
    ("begin_print_tuple_literal",
     r"""BEGIN { print((1, "two", -3)); $x = 3; print((1, "two", $x)); print(((1, 2), "x", (3, ("y", 4))));
          exit(); }""",
     None, "(1, two, -3)\n(1, two, 3)\n((1, 2), x, (3, (y, 4)))"),
    ("begin_tuple_fields",
     r"""BEGIN { $t = (1, "two", (3, "four")); print($t); print($t.0); print($t.1); print($t.2); print($t.2.1);
             printf("EV %d %s %d\n", $t.0 + $t.2.0, $t.1, $t.2.0 * 10); exit(); }""",
     None, "(1, two, (3, four))\n1\ntwo\n(3, four)\nfour\nEV 4 two 30"),
    ("begin_tuple_signed_and_unsigned_members",
     r"""BEGIN { $t = ((uint32)-1, (int8)-1, (uint8)255, -5); print($t); @t = $t; exit(); }""",
     None, "(4294967295, -1, 255, -5)\n\n\n@t: (4294967295, -1, 255, -5)"),
    ("begin_tuples_as_map_values",
     r"""BEGIN { @t[1] = (1, "a"); @t[2] = (2, "b"); @t[3] = (-3, "c"); $v = (4, "d"); @t[4] = $v;
             @u = ((1, 2), "x"); exit(); }""",
     None, "\n\n@t[1]: (1, a)\n@t[2]: (2, b)\n@t[3]: (-3, c)\n@t[4]: (4, d)\n@u: ((1, 2), x)"),
    ("begin_tuples_of_strings_of_different_lengths_in_one_map",
     r"""BEGIN { @t[1] = (1, "a"); @t[2] = (2, "longer string"); @t[3] = (3, ""); print(@t[2].1);
             printf("EV %s|%s\n", @t[1].1, @t[3].1); exit(); }""",
     None, "longer string\nEV a|\n\n\n@t[1]: (1, a)\n@t[2]: (2, longer string)\n@t[3]: (3, )"),
    ("begin_tuple_map_value_read_back",
     r"""BEGIN { @t = (5, "five", (6, 7)); $t = @t; print($t.2); printf("EV %d %s %d\n", @t.0, @t.1, $t.2.1);
             exit(); }""",
     None, "(6, 7)\nEV 5 five 7\n\n\n@t: (5, five, (6, 7))"),
    ("begin_print_strings",
     r"""BEGIN { print("abc"); $s = "hello"; print($s); print(probe); @s = "map string"; print(@s); exit(); }""",
     None, "abc\nhello\nBEGIN\n@s: map string\n\n\n@s: map string"),
    ("begin_increments_of_variables",
     r"""BEGIN { $x = 5; $y = $x++; print($y); print($x); ++$x; print($x); $z = --$x; print($z); $x--; print($x);
             $w = ++$x; printf("EV %d %d\n", $w, $x); exit(); }""",
     None, "5\n6\n7\n6\n5\nEV 6 6"),
    ("begin_increments_of_maps",
     r"""BEGIN { @m = 3; @m++; ++@m; @m--; print(@m + 0); @k[1] = 10; @k[1]++; @k[2]--; ++@k[3]; --@k[1];
             $v = @m++; $w = ++@m; printf("EV %d %d\n", $v, $w); exit(); }""",
     None, "4\nEV 4 6\n\n\n@k[2]: -1\n@k[3]: 1\n@k[1]: 10\n@m: 6"),
    ("begin_ternary_statements",
     r"""BEGIN { $c = 1; $c ? printf("EV a\n") : printf("EV b\n"); $c = 0; $c ? printf("EV a\n") : printf("EV b\n");
             $v = $c ? 10 : 20; print($v); $s = $c ? "yes" : "no"; print($s); exit(); }""",
     None, "EV a\nEV b\n20\nno"),
    ("begin_return_ends_the_probe",
     r"""BEGIN { @y = 1; printf("EV before\n"); if (@y == 1) { printf("EV ret\n"); exit(); return; }
             printf("EV not reached\n"); @z = 1; exit(); }
     END { printf("EV end\n"); }""",
     None, "EV before\nEV ret\nEV end\n\n\n@y: 1"),
    ("begin_delete_of_a_scalar_map_prints_an_empty_map",
     r"""BEGIN { @a = 1; @x = 5; delete(@x); @z = 2; exit(); }""",
     None, "\n\n@a: 1\n\n@z: 2"),
    ("begin_delete_of_keys_and_multi_keys",
     r"""BEGIN { @m[1] = 1; @m[2] = 2; @m[3] = 3; delete(@m[2]); @mk[1, "a"] = 1; @mk[2, "b"] = 2;
             delete(@mk[1, "a"]); @s["x"] = 4; @s["y"] = 5; delete(@s["y"]); exit(); }""",
     None, "\n\n@m[1]: 1\n@m[3]: 3\n@mk[2, b]: 2\n@s[x]: 4"),
    # --- BEGIN: pointers without reading memory ---------------------------------------------
    ("begin_pointer_arithmetic_is_scaled_by_the_pointee_size",
     REC + NODE +
     r"""BEGIN { $p = (int32 *)0; $b = (uint8 *)0; $w = (int16 *)0; $r = (struct Rec *)1000; $pp = (struct Node **)0;
             printf("EV %lu %lu %lu %lu %lu %lu\n", (uint64)($p + 3), (uint64)($b + 3), (uint64)($w + 3),
                    (uint64)($r + 1), (uint64)($r - 1), (uint64)($pp + 2)); exit(); }""",
     None, "EV 12 3 6 1104 896 16"),
    ("begin_pointer_increments_in_variables",
     r"""BEGIN { $p = (int64 *)16; $p++; printf("EV %lu\n", (uint64)$p); ++$p; printf("EV %lu\n", (uint64)$p);
             $p--; --$p; --$p; printf("EV %lu\n", (uint64)$p); $q = $p++;
             printf("EV %lu %lu\n", (uint64)$q, (uint64)$p);
             exit(); }""",
     None, "EV 24\nEV 32\nEV 8\nEV 8 16"),
    ("begin_pointer_increments_in_maps",
     r"""BEGIN { @pm = (int64 *)0; @pm++; @pm2 = (int16 *)0; @pm2 += 3; @pm3 = (int32 *)100; @pm3--; --@pm3;
             @pk[1] = (uint8 *)7; @pk[1]++; exit(); }""",
     None, "\n\n@pk[1]: 8\n@pm: 8\n@pm2: 6\n@pm3: 92"),
    ("begin_pointer_comparisons",
     r"""BEGIN { $p = (int32 *)0; $q = $p + 2; printf("EV %d %d %d %d %d %d\n", $q > $p, $q < $p, $p == 0, $q != 0,
                    $q == $p + 2, $q - 1 == $p + 1); exit(); }""",
     None, "EV 1 0 1 1 1 1"),
    # --- BEGIN: kernel BTF ------------------------------------------------------------------
    ("begin_curtask_is_a_task_struct_pointer",
     r"""BEGIN { printf("EV %d %d %d %d\n", curtask->pid == tid, curtask->tgid == pid, curtask->real_parent->tgid > 0,
                    curtask->group_leader->pid == pid); exit(); }""",
     None, "EV 1 1 1 1"),
    ("begin_sizeof_kernel_btf_types",
     r"""BEGIN { printf("EV %d %d %d %d\n", sizeof(struct task_struct) > 0,
          sizeof(struct task_struct) == sizeof(*curtask),
                    sizeof(curtask->pid), sizeof(curtask->comm)); exit(); }""",
     None, "EV 1 1 4 16"),

    # --- uprobes: arrays --------------------------------------------------------------------
    ("uprobe_char_array_members_are_strings",
     REC + REC_PROBE + r"""printf("EV %s|%s\n", $r->name, $r->tag); print($r->name); @n[$r->name] = count(); }""",
     T, "EV alpha|xyz\nalpha\nEV be|ab\nbe\nEV alpha|xyz\nalpha\n\n\n@n[be]: 1\n@n[alpha]: 2"),
    ("uprobe_int_array_constant_indexes",
     REC + REC_PROBE + r"""printf("EV %d %d %d %d\n", $r->arr[0], $r->arr[1], $r->arr[2], $r->arr[3]); }""",
     T, "EV 1 -2 3 40000\nEV 10 20 30 40\nEV 1 -2 3 40000"),
    ("uprobe_two_dimensional_array_indexes",
     REC + REC_PROBE + r"""printf("EV %d %d %d %d\n", $r->grid[0][0], $r->grid[0][2], $r->grid[1][0],
          $r->grid[1][2]); }""",
     T, "EV 1 3 4 6\nEV -1 -3 7 9\nEV 1 3 4 6"),
    ("uprobe_print_arrays_one_and_two_dimensional",
     REC + REC_PROBE + r"""print($r->arr); print($r->grid); print($r->grid[1]); }""",
     T, "[1,-2,3,40000]\n[[1,2,3],[4,5,6]]\n[4,5,6]\n[10,20,30,40]\n[[-1,-2,-3],[7,8,9]]\n[7,8,9]\n"
        "[1,-2,3,40000]\n[[1,2,3],[4,5,6]]\n[4,5,6]"),
    ("uprobe_unsigned_char_array_prints_as_a_list",
     REC + REC_PROBE + r"""print($r->raw); }""",
     T, "[97,98,0]\n[1,2,3]\n[97,98,0]"),
    ("uprobe_array_of_structs",
     REC + REC_PROBE + r"""printf("EV %d %d %d\n", $r->pts[0].x, $r->pts[2].x, $r->pts[2].y);
          print($r->pts[1]); print($r->pts); }""",
     T, "EV 1 -5 6\n{ .x = 3, .y = 4 }\n[{ .x = 1, .y = 2 },{ .x = 3, .y = 4 },{ .x = -5, .y = 6 }]\n"
        "EV 9 7 7\n{ .x = 8, .y = 8 }\n[{ .x = 9, .y = 9 },{ .x = 8, .y = 8 },{ .x = 7, .y = 7 }]\n"
        "EV 1 -5 6\n{ .x = 3, .y = 4 }\n[{ .x = 1, .y = 2 },{ .x = 3, .y = 4 },{ .x = -5, .y = 6 }]"),
    ("uprobe_array_assigned_to_a_variable",
     REC + REC_PROBE + r"""$a = $r->arr; print($a); $g = $r->grid; print($g); $p = $r->pts; print($p); }""",
     T, "[1,-2,3,40000]\n[[1,2,3],[4,5,6]]\n[{ .x = 1, .y = 2 },{ .x = 3, .y = 4 },{ .x = -5, .y = 6 }]\n"
        "[10,20,30,40]\n[[-1,-2,-3],[7,8,9]]\n[{ .x = 9, .y = 9 },{ .x = 8, .y = 8 },{ .x = 7, .y = 7 }]\n"
        "[1,-2,3,40000]\n[[1,2,3],[4,5,6]]\n[{ .x = 1, .y = 2 },{ .x = 3, .y = 4 },{ .x = -5, .y = 6 }]"),
    ("uprobe_arrays_as_map_values",
     REC + REC_PROBE + r"""@a[arg1] = $r->arr; @g = $r->grid; @p[arg1] = $r->pts; @raw[arg1] = $r->raw; }""",
     T, "\n\n@a[0]: [1,-2,3,40000]\n@a[1]: [10,20,30,40]\n@a[2]: [1,-2,3,40000]\n@g: [[1,2,3],[4,5,6]]\n"
        "@p[0]: [{ .x = 1, .y = 2 },{ .x = 3, .y = 4 },{ .x = -5, .y = 6 }]\n"
        "@p[1]: [{ .x = 9, .y = 9 },{ .x = 8, .y = 8 },{ .x = 7, .y = 7 }]\n"
        "@p[2]: [{ .x = 1, .y = 2 },{ .x = 3, .y = 4 },{ .x = -5, .y = 6 }]\n"
        "@raw[0]: [97,98,0]\n@raw[1]: [1,2,3]\n@raw[2]: [97,98,0]"),
    ("uprobe_array_map_value_read_back",
     REC + REC_PROBE + r"""@a = $r->arr; $b = @a; print($b); printf("EV %d\n", $b[3]); }""",
     T, "[1,-2,3,40000]\nEV 40000\n[10,20,30,40]\nEV 40\n[1,-2,3,40000]\nEV 40000\n\n\n@a: [1,-2,3,40000]"),
    ("uprobe_arrays_as_map_keys",
     REC + REC_PROBE + r"""@k[$r->arr] = count(); @g[$r->grid] = sum(arg1); @raw[$r->raw] = arg1; }""",
     T, "\n\n@g[[[-1,-2,-3],[7,8,9]]]: 1\n@g[[[1,2,3],[4,5,6]]]: 2\n@k[[10,20,30,40]]: 1\n@k[[1,-2,3,40000]]: 2\n"
        "@raw[[1,2,3]]: 1\n@raw[[97,98,0]]: 2"),
    ("uprobe_arrays_inside_multi_keys",
     REC + REC_PROBE + r"""@mk[$r->arr, arg1] = count(); @mk2[$r->name, $r->pt.x, $r->raw] = sum(10); }""",
     T, "\n\n@mk[[10,20,30,40], 1]: 1\n@mk[[1,-2,3,40000], 0]: 1\n@mk[[1,-2,3,40000], 2]: 1\n"
        "@mk2[be, 0, [1,2,3]]: 10\n@mk2[alpha, 7, [97,98,0]]: 20"),
    ("uprobe_array_equality",
     REC + REC_PROBE + r"""$a = $r->arr; @first[arg1] = $r->arr;
         printf("EV %d %d %d %d\n", $r->arr == $a, $r->arr != $a, $r->arr == @first[0], $r->arr != @first[0]); }""",
     T, "EV 1 0 1 0\nEV 1 0 0 1\nEV 1 0 1 0\n\n\n@first[0]: [1,-2,3,40000]\n@first[1]: [10,20,30,40]\n"
        "@first[2]: [1,-2,3,40000]"),
    ("uprobe_sizeof_members_and_pointee",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 0/ { $r = (struct Rec *)arg0; " +
     r"""printf("EV %d %d %d %d %d %d %d %d\n", sizeof($r->arr), sizeof($r->grid), sizeof($r->grid[1]),
          sizeof($r->name),
                sizeof($r->pt), sizeof($r->pts), sizeof(*$r), sizeof(struct Rec)); }""",
     T, "EV 16 24 12 8 4 12 104 104"),
    # --- uprobes: integer members of both signs ---------------------------------------------
    ("uprobe_fixed_width_members_printf",
     REC + REC_PROBE + r"""printf("EV %u %d %u %d %u %d %lu %ld\n", $r->u8, $r->i8, $r->u16, $r->i16, $r->u32,
          $r->i32,
                                   $r->u64, $r->i64); }""",
     T, "EV 200 -100 60000 -30000 4000000000 -2000000000 10000000000000000000 -9000000000000000000\n"
        "EV 1 2 3 4 5 6 7 8\n"
        "EV 200 -100 60000 -30000 4000000000 -2000000000 10000000000000000000 -9000000000000000000"),
    ("uprobe_fixed_width_members_print",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 0/ { $r = (struct Rec *)arg0; " +
     r"""print($r->u8); print($r->i8); print($r->u16); print($r->i16); print($r->u32); print($r->i32);
         print($r->u64); print($r->i64); }""",
     T, "200\n-100\n60000\n-30000\n4000000000\n-2000000000\n10000000000000000000\n-9000000000000000000"),
    ("uprobe_fixed_width_members_as_map_values_and_keys",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 0/ { $r = (struct Rec *)arg0; " +
     r"""@u8 = $r->u8; @i8 = $r->i8; @u16 = $r->u16; @i16 = $r->i16; @u32 = $r->u32; @i32 = $r->i32; @u64 = $r->u64;
         @i64 = $r->i64; @k[$r->i8, $r->u8] = $r->i16; }""",
     T, "\n\n@i16: -30000\n@i32: -2000000000\n@i64: -9000000000000000000\n@i8: -100\n@k[-100, 200]: -30000\n"
        "@u16: 60000\n@u32: 4000000000\n@u64: 10000000000000000000\n@u8: 200"),
    ("uprobe_signed_members_widen_in_arithmetic",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 0/ { $r = (struct Rec *)arg0; " +
     r"""printf("EV %ld %ld %ld %d %d\n", $r->i8 + 1, $r->i16 * 2, $r->i32 - 1, $r->i8 < 0, $r->u8 > 100); }""",
     T, "EV -99 -60000 -2000000001 1 1"),
    ("uprobe_integer_arguments_with_casts",
     r"""uprobe:{t}:use_nums /pid == cpid/ { printf("EV %d %ld %u %d\n", (int32)arg0, (int64)arg1,
          (uint32)arg2, (int16)arg3);
         @[(int32)arg0] = (int16)arg3; }""",
     T, "EV -3 5000000000 4000000000 -2\nEV 7 -1 1 300\n\n\n@[-3]: -2\n@[7]: 300"),
    # --- uprobes: structs -------------------------------------------------------------------
    ("uprobe_print_whole_struct",
     REC + REC_PROBE + r"""print(*$r); }""",
     T, "{ .name = alpha, .arr = [1,-2,3,40000], .grid = [[1,2,3],[4,5,6]], .u8 = 200, .i8 = -100, .u16 = 60000, "
        ".i16 = -30000, .u32 = 4000000000, .i32 = -2000000000, .u64 = 10000000000000000000, "
        ".i64 = -9000000000000000000, .pt = { .x = 7, .y = -8 }, "
        ".pts = [{ .x = 1, .y = 2 },{ .x = 3, .y = 4 },{ .x = -5, .y = 6 }], .raw = [97,98,0], .tag = xyz }\n"
        "{ .name = be, .arr = [10,20,30,40], .grid = [[-1,-2,-3],[7,8,9]], .u8 = 1, .i8 = 2, .u16 = 3, .i16 = 4, "
        ".u32 = 5, .i32 = 6, .u64 = 7, .i64 = 8, .pt = { .x = 0, .y = 0 }, "
        ".pts = [{ .x = 9, .y = 9 },{ .x = 8, .y = 8 },{ .x = 7, .y = 7 }], .raw = [1,2,3], .tag = ab }\n"
        "{ .name = alpha, .arr = [1,-2,3,40000], .grid = [[1,2,3],[4,5,6]], .u8 = 200, .i8 = -100, .u16 = 60000, "
        ".i16 = -30000, .u32 = 4000000000, .i32 = -2000000000, .u64 = 10000000000000000000, "
        ".i64 = -9000000000000000000, .pt = { .x = 7, .y = -8 }, "
        ".pts = [{ .x = 1, .y = 2 },{ .x = 3, .y = 4 },{ .x = -5, .y = 6 }], .raw = [97,98,0], .tag = xyz }"),
    ("uprobe_struct_assigned_to_a_map",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 1/ { $r = (struct Rec *)arg0; " +
     r"""@s = *$r; @pt[arg1] = $r->pt; }""",
     T, "\n\n@pt[1]: { .x = 0, .y = 0 }\n"
        "@s: { .name = be, .arr = [10,20,30,40], .grid = [[-1,-2,-3],[7,8,9]], .u8 = 1, .i8 = 2, .u16 = 3, .i16 = 4, "
        ".u32 = 5, .i32 = 6, .u64 = 7, .i64 = 8, .pt = { .x = 0, .y = 0 }, "
        ".pts = [{ .x = 9, .y = 9 },{ .x = 8, .y = 8 },{ .x = 7, .y = 7 }], .raw = [1,2,3], .tag = ab }"),
    ("uprobe_struct_assigned_to_a_variable",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 0/ { $r = (struct Rec *)arg0; " +
     r"""$pt = $r->pt; print($pt); printf("EV %d %d\n", $pt.x, $pt.y); $q = $r->pts[2]; print($q); }""",
     T, "{ .x = 7, .y = -8 }\nEV 7 -8\n{ .x = -5, .y = 6 }"),
    ("uprobe_nested_struct_members",
     REC + REC_PROBE + r"""printf("EV %d %d\n", $r->pt.x, $r->pt.y); print($r->pt); }""",
     T, "EV 7 -8\n{ .x = 7, .y = -8 }\nEV 0 0\n{ .x = 0, .y = 0 }\nEV 7 -8\n{ .x = 7, .y = -8 }"),
    ("uprobe_structs_as_map_keys",
     REC + REC_PROBE + r"""@pt[$r->pt] = count(); @p2[$r->pts[2], arg1] = 1; }""",
     T, "\n\n@p2[{.x=-5,.y=6}, 0]: 1\n@p2[{.x=-5,.y=6}, 2]: 1\n@p2[{.x=7,.y=7}, 1]: 1\n"
        "@pt[{.x=0,.y=0}]: 1\n@pt[{.x=7,.y=-8}]: 2"),
    ("uprobe_dereference_then_dot",
     REC + REC_PROBE + r"""printf("EV %d %s %d\n", (*$r).u8, (*$r).name, (*$r).pts[1].y); }""",
     T, "EV 200 alpha 4\nEV 1 be 8\nEV 200 alpha 4"),
    ("uprobe_cast_without_a_variable",
     REC + r"""uprobe:{t}:use_rec /pid == cpid/ { printf("EV %d %s\n", ((struct Rec *)arg0)->arr[2],
          ((struct Rec *)arg0)->tag); }""",
     T, "EV 3 xyz\nEV 30 ab\nEV 3 xyz"),
    ("uprobe_struct_pointer_arithmetic_walks_an_array",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 0/ { $r = (struct Rec *)arg0; " +
     r"""$n = $r + 1; printf("EV %s %d %s\n", $n->name, $n->arr[3], ($r + 1)->tag);
          print((uint64)$n - (uint64)$r); }""",
     T, "EV be 40 ab\n104"),
    ("uprobe_tuple_of_members",
     REC + REC_PROBE + r"""print(($r->i8, $r->u16, $r->name)); @t[arg1] = ($r->arr[0], $r->name, $r->pt.y); }""",
     T, "(-100, 60000, alpha)\n(2, 3, be)\n(-100, 60000, alpha)\n\n\n@t[0]: (1, alpha, -8)\n@t[1]: (10, be, 0)\n"
        "@t[2]: (1, alpha, -8)"),
    ("uprobe_tuple_containing_arrays_and_structs",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 0/ { $r = (struct Rec *)arg0; " +
     r"""print((1, $r->arr, $r->pt)); $t = ($r->raw, "s", $r->pt); print($t); @x = $t; @y[1] = (2, $r->grid); }""",
     T, "(1, [1,-2,3,40000], { .x = 7, .y = -8 })\n([97,98,0], s, { .x = 7, .y = -8 })\n\n\n"
        "@x: ([97,98,0], s, { .x = 7, .y = -8 })\n@y[1]: (2, [[1,2,3],[4,5,6]])"),
    ("uprobe_map_increments_keyed_by_members",
     REC + REC_PROBE + r"""@c[$r->name]++; @d[$r->tag] = 10; @d[$r->tag]--; ++@e[$r->arr[0]]; }""",
     T, "\n\n@c[be]: 1\n@c[alpha]: 2\n@d[ab]: 9\n@d[xyz]: 9\n@e[10]: 1\n@e[1]: 2"),
    # --- uprobes: bitfields -----------------------------------------------------------------
    ("uprobe_unsigned_bitfield_members",
     BITS + r"""uprobe:{t}:use_bits /pid == cpid/ { $b = (struct Bits *)arg0;
         printf("EV %d %d %d %d %d\n", $b->a, $b->b, $b->c, $b->d, $b->tail); print($b->b); }""",
     T, "EV 9 200 100 300 90\n200"),
    ("uprobe_bitfields_in_expressions_and_maps",
     BITS + r"""uprobe:{t}:use_bits /pid == cpid/ { $b = (struct Bits *)arg0;
         printf("EV %d %d %d\n", $b->a + $b->b, $b->d - $b->c, $b->a == 9); @[$b->c] = $b->d; @x = $b->b; }""",
     T, "EV 209 200 1\n\n\n@[100]: 300\n@x: 200"),
    ("uprobe_sizeof_bitfield_struct",
     BITS + r"""uprobe:{t}:use_bits /pid == cpid/ { print(sizeof(struct Bits)); }""",
     T, "8"),
    # --- uprobes: unions, named and anonymous members ---------------------------------------
    ("uprobe_named_union_member",
     OUTER + r"""uprobe:{t}:use_outer /pid == cpid/ { $o = (struct Outer *)arg0;
         printf("EV %d %d %u\n", $o->k, $o->u.a, $o->u.b); print($o->u); }""",
     T, "EV 1 -2 4294967294\n{ .a = -2, .b = 4294967294 }"),
    ("uprobe_named_member_of_anonymous_struct_type",
     OUTER + r"""uprobe:{t}:use_outer /pid == cpid/ { $o = (struct Outer *)arg0;
         printf("EV %d %d\n", $o->s.p, $o->s.q); print($o->s); @s[$o->s] = 2; }""",
     T, "EV 3 -4\n{ .p = 3, .q = -4 }\n\n\n@s[{.p=3,.q=-4}]: 2"),
    ("uprobe_anonymous_union_member",
     OUTER + r"""uprobe:{t}:use_outer /pid == cpid/ { $o = (struct Outer *)arg0;
         printf("EV %d %d %d %d %d\n", $o->ia, $o->ib[0], $o->ib[1], $o->ib[2], $o->ib[3]); print($o->ib); }""",
     T, "EV 16909060 4 3 2 1\n[4,3,2,1]"),
    ("uprobe_anonymous_struct_member",
     OUTER + r"""uprobe:{t}:use_outer /pid == cpid/ { $o = (struct Outer *)arg0;
         printf("EV %d %d %d\n", $o->m, $o->n, $o->pt.y); }""",
     T, "EV 250 -6 12"),
    ("uprobe_print_struct_with_anonymous_members_flattened",
     OUTER + r"""uprobe:{t}:use_outer /pid == cpid/ { $o = (struct Outer *)arg0; print(*$o); @v = *$o; }""",
     T, "{ .k = 1, .u = { .a = -2, .b = 4294967294 }, .s = { .p = 3, .q = -4 }, .ia = 16909060, .ib = [4,3,2,1], "
        ".m = 250, .n = -6, .pt = { .x = 11, .y = 12 } }\n\n\n"
        "@v: { .k = 1, .u = { .a = -2, .b = 4294967294 }, .s = { .p = 3, .q = -4 }, .ia = 16909060, .ib = [4,3,2,1], "
        ".m = 250, .n = -6, .pt = { .x = 11, .y = 12 } }"),
    ("uprobe_sizeof_union_members",
     OUTER + r"""uprobe:{t}:use_outer /pid == cpid/ { $o = (struct Outer *)arg0;
         printf("EV %d %d %d %d %d\n", sizeof(struct Outer), sizeof($o->u), sizeof($o->s), sizeof($o->ib),
         sizeof($o->m)); }""",
     T, "EV 24 4 4 4 1"),
    # --- uprobes: pointers to structs, chains, pointers to pointers -------------------------
    ("uprobe_linked_chain",
     NODE + r"""uprobe:{t}:use_node /pid == cpid/ { $n = (struct Node *)arg0;
         if ($n->val == 10) { printf("EV %d %d %d\n", $n->val, $n->next->val, $n->next->next->val); }
         printf("EV val %d\n", $n->val); }""",
     T, "EV 10 20 30\nEV val 10\nEV val 30"),
    ("uprobe_pointer_truthiness_in_predicates",
     NODE + r"""uprobe:{t}:use_node /((struct Node *)arg0)->next/ { printf("EV has next %d\n",
          ((struct Node *)arg0)->val); }
     uprobe:{t}:use_rec /arg0/ { @calls = count(); }""",
     T, "EV has next 10\n\n\n@calls: 3"),
    ("uprobe_null_pointer_comparisons",
     NODE + r"""uprobe:{t}:use_node /pid == cpid/ { $n = (struct Node *)arg0;
         printf("EV %d %d %d\n", $n->val, $n->next == 0, $n->next != 0); }""",
     T, "EV 10 0 1\nEV 30 1 0"),
    ("uprobe_print_struct_with_a_null_pointer_member",
     NODE + r"""uprobe:{t}:use_node /pid == cpid/ { $n = (struct Node *)arg0; if ($n->next == 0) { print(*$n);
          @n = *$n; } }""",
     T, "{ .val = 30, .next = 0 }\n\n\n@n: { .val = 30, .next = 0 }"),
    ("uprobe_struct_pointer_members",
     PAIR + r"""uprobe:{t}:use_pair /pid == cpid/ { $p = (struct Pair *)arg0;
         printf("EV %d %s %d %d %d\n", $p->id, $p->rec->name, $p->rec->arr[3], $p->node->val,
         $p->rec->pts[2].y); }""",
     T, "EV 1 alpha 40000 10 6\nEV 2 be 40 30 7"),
    ("uprobe_chains_through_pointer_members",
     PAIR + r"""uprobe:{t}:use_pair /pid == cpid && ((struct Pair *)arg0)->id == 1/ { $p = (struct Pair *)arg0;
         printf("EV %d %d\n", $p->node->next->val, $p->node->next->next->val); print($p->rec->pt);
         print($p->rec->grid[1]); }""",
     T, "EV 20 30\n{ .x = 7, .y = -8 }\n[4,5,6]"),
    ("uprobe_pointer_to_pointer",
     REC + r"""uprobe:{t}:use_pp /pid == cpid/ { $pp = (struct Rec **)arg0;
         printf("EV %s %s %d %d\n", (*$pp)->name, $pp[1]->name, (*($pp + 1))->arr[0], $pp[0]->pts[1].y); }""",
     T, "EV be alpha 1 8"),
    ("uprobe_pointer_to_pointer_dereferenced_twice",
     REC + r"""uprobe:{t}:use_pp /pid == cpid/ { $pp = (struct Rec **)arg0; $r = *$pp; print((**$pp).tag);
          print($r->arr);
         print(*$pp[1]); }""",
     T, "ab\n[10,20,30,40]\n"
        "{ .name = alpha, .arr = [1,-2,3,40000], .grid = [[1,2,3],[4,5,6]], .u8 = 200, .i8 = -100, .u16 = 60000, "
        ".i16 = -30000, .u32 = 4000000000, .i32 = -2000000000, .u64 = 10000000000000000000, "
        ".i64 = -9000000000000000000, .pt = { .x = 7, .y = -8 }, "
        ".pts = [{ .x = 1, .y = 2 },{ .x = 3, .y = 4 },{ .x = -5, .y = 6 }], .raw = [97,98,0], .tag = xyz }"),
    ("uprobe_struct_array_pointer_arithmetic",
     PAIR + r"""uprobe:{t}:use_pair /pid == cpid && ((struct Pair *)arg0)->id == 1/ { $p = (struct Pair *)arg0;
         printf("EV %d %d %s\n", ($p + 1)->id, $p[1].node->val, $p[1].rec->name); }""",
     T, "EV 2 30 be"),
    # --- uprobes: integer pointers ----------------------------------------------------------
    ("uprobe_int32_pointer_dereference_and_index",
     r"""uprobe:{t}:use_i32s /pid == cpid/ { $p = (int32 *)arg0;
         printf("EV %d %d %d %d %d\n", *$p, *($p + 1), $p[3], $p[5], arg1); }""",
     T, "EV 5 -6 -8 100 6"),
    ("uprobe_pointer_arithmetic_on_a_variable",
     r"""uprobe:{t}:use_i32s /pid == cpid/ { $p = (int32 *)arg0; $q = $p + 2;
         printf("EV %d %d %d\n", *$q, (uint64)$q - (uint64)$p, *($q - 1)); }""",
     T, "EV 7 8 -6"),
    ("uprobe_pointer_increments_in_a_variable",
     r"""uprobe:{t}:use_i32s /pid == cpid/ { $q = (int32 *)arg0; $q++; printf("EV %d\n", *$q); ++$q;
          printf("EV %d\n", *$q);
         $q--; printf("EV %d\n", *$q); --$q; printf("EV %d\n", *$q); $q += 4; printf("EV %d\n", *$q); }""",
     T, "EV -6\nEV 7\nEV -6\nEV 5\nEV 9"),
    ("uprobe_pointer_increments_in_maps",
     r"""uprobe:{t}:use_i32s /pid == cpid/ { @pm = (int32 *)arg0; @pm++; @pm2 = (int32 *)arg0; @pm2 += 3; ++@pm2;
         @pm3 = (int32 *)arg0 + 5; @pm3--; printf("EV %d %d %d\n", *@pm, *@pm2, *@pm3);
         delete(@pm); delete(@pm2); delete(@pm3); @z = 1; }""",
     T, "EV -6 9 9\n\n\n\n\n\n@z: 1"),
    ("uprobe_pointer_comparisons",
     r"""uprobe:{t}:use_i32s /pid == cpid/ { $p = (int32 *)arg0; $q = $p + 2;
         printf("EV %d %d %d %d %d\n", $q > $p, $q < $p, $q == $p + 2, $q != $p, $q >= $p + 3); }""",
     T, "EV 1 0 1 1 0"),
    ("uprobe_uint8_and_int8_pointers_read_one_byte",
     r"""uprobe:{t}:use_u8s /pid == cpid/ { $u = (uint8 *)arg0; $s = (int8 *)arg0;
         printf("EV %d %d %d %d %d\n", *$u, *$s, $u[1], $s[3], $u[0] + $u[1]); print(*$u); print(*$s); }""",
     T, "EV 250 -6 1 3 251\n250\n-6"),
    ("uprobe_int16_and_uint16_pointers",
     r"""uprobe:{t}:use_i16s /pid == cpid/ { $p = (int16 *)arg0; $u = (uint16 *)arg0;
         printf("EV %d %d %d %d %d\n", *$p, $p[1], $p[2], *$u, $u[2]); }""",
     T, "EV -1 300 -300 65535 65236"),
    ("uprobe_int64_and_uint64_pointers",
     r"""uprobe:{t}:use_i64s /pid == cpid/ { $p = (int64 *)arg0; $u = (uint64 *)arg0;
         printf("EV %ld %ld %lu\n", *$p, $p[1], *$u); print(*$p); print($u[0]); }""",
     T, "EV -5000000000 6000000000 18446744068709551616\n-5000000000\n18446744068709551616"),
    ("uprobe_sizeof_pointee",
     r"""uprobe:{t}:use_i64s /pid == cpid/ { $p = (int64 *)arg0; $b = (uint8 *)arg0; $w = (int16 *)arg0;
         printf("EV %d %d %d\n", sizeof(*$p), sizeof(*$b), sizeof($w[1])); }""",
     T, "EV 8 1 2"),
    ("uprobe_pointee_values_as_map_keys_and_values",
     r"""uprobe:{t}:use_i16s /pid == cpid/ { $p = (int16 *)arg0; @[$p[2]] = $p[1]; @v = *$p; }""",
     T, "\n\n@[-300]: 300\n@v: -1"),
    # --- uprobes: strings -------------------------------------------------------------------
    ("uprobe_str_with_a_run_time_length",
     r"""uprobe:{t}:use_str /pid == cpid/ { $n = arg1; $s = str(arg0, $n); print($s);
          printf("EV <%s>\n", str(arg0, arg1));
         @[str(arg0, $n)] = $n; }""",
     T, "hello\nEV <hello>\nhello world\nEV <hello world>\nwor\nEV <wor>\n\n\n@[wor]: 3\n@[hello]: 5\n"
        "@[hello world]: 11"),
    ("uprobe_str_with_a_literal_length",
     r"""uprobe:{t}:use_str /pid == cpid/ { printf("EV <%s> <%s>\n", str(arg0, 3), str(arg0, 1)); }""",
     T, "EV <hel> <h>\nEV <hel> <h>\nEV <wor> <w>"),
    ("uprobe_print_str_and_probe",
     r"""uprobe:{t}:use_str /pid == cpid/ { print(str(arg0)); print(probe); }""",
     T, "hello world\nuprobe:{t}:use_str\nhello world\nuprobe:{t}:use_str\nworld\nuprobe:{t}:use_str"),
    ("uprobe_strings_inside_tuples",
     r"""uprobe:{t}:use_str /pid == cpid/ { @t[arg1] = (arg1, str(arg0, arg1)); print((str(arg0, 2), arg1)); }""",
     T, "(he, 5)\n(he, 11)\n(wo, 3)\n\n\n@t[3]: (3, wor)\n@t[5]: (5, hello)\n@t[11]: (11, hello world)"),
    ("uprobe_char_pointer_index",
     r"""uprobe:{t}:use_str /pid == cpid && arg1 == 11/ { $s = (int8 *)arg0; $u = (uint8 *)arg0;
         printf("EV %d %d %c%c\n", $s[4], $u[6], $s[0], *($s + 10)); }""",
     T, "EV 111 119 hd"),

    # --- tracepoints: array fields, signs, pointers -----------------------------------------
    ("tracepoint_args_array_constant_indexes",
     r"""tracepoint:raw_syscalls:sys_enter /pid == cpid && args->id == 3 && args->args[0] == 424242/ {
         printf("EV %d %d %d %d %d %d %d\n", args->id, args->args[0], args->args[1], args->args[2], args->args[3],
                args->args[4], args->args[5]); print(args->args[5]); }""",
     T, "EV 3 424242 11 22 33 44 55\n55"),
    ("tracepoint_args_array_elements_in_keys_and_values",
     r"""tracepoint:raw_syscalls:sys_enter /pid == cpid && args->id == 3 && args->args[0] == 424242/ {
         @x[args->args[2], args->args[3]] = args->args[4]; @y[args->args[1]] = (args->args[2], args->args[5]); }""",
     T, "\n\n@x[22, 33]: 44\n@y[11]: (22, 55)"),
    ("tracepoint_args_array_element_signs",
     r"""tracepoint:raw_syscalls:sys_enter /pid == cpid && args->id == 8 && args->args[1] == 4242/ {
         printf("EV %lu %ld %d %d\n", args->args[0], (int64)args->args[0], args->args[0] == 0xffffffffffffffff,
                (int32)args->args[0] < 0); }""",
     T, "EV 18446744073709551615 -1 1 1"),
    ("tracepoint_unsigned_and_signed_fields",
     r"""tracepoint:syscalls:sys_enter_lseek /pid == cpid/ {
         printf("EV %d %u %lu %ld %lu %d %d\n", args->fd, args->fd, args->fd, args->offset, args->whence,
                (int32)args->fd, args->fd == 0xffffffffffffffff); print(args->offset); print((int32)args->fd); }""",
     T, "EV -1 4294967295 18446744073709551615 4242 1 -1 1\n4242\n-1"),
    # 0.17 takes a pointer alone as a predicate, but not inside && ("The && operator can not be
    # used on expressions of types unsigned int64, struct rusage *"): the pid check is in the body
    ("tracepoint_pointer_field_truthiness_in_a_predicate",
     r"""tracepoint:syscalls:sys_enter_wait4 /args->ru/ { if (pid == cpid) { printf("EV ru %d\n",
          args->options); } }""",
     T, "EV ru 3"),
    ("tracepoint_pointer_field_compared_with_zero",
     r"""tracepoint:syscalls:sys_enter_wait4 /pid == cpid/ {
         printf("EV %d %d %d\n", args->options, args->ru == 0, args->stat_addr == 0); }""",
     T, "EV 1 1 1\nEV 3 0 1"),
    ("tracepoint_openat_filename_of_cat",
     r"""tracepoint:syscalls:sys_enter_openat /pid == cpid && str(args->filename) == "/etc/hostname"/ {
         print(str(args->filename)); printf("EV %d\n", args->flags); @[str(args->filename)] = count(); }""",
     CAT, "/etc/hostname\nEV 0\n\n\n@[/etc/hostname]: 1"),
    ("tracepoint_openat_filename_of_the_target",
     r"""tracepoint:syscalls:sys_enter_openat /pid == cpid && args->filename != 0/ {
         if (str(args->filename) == "/etc/hostname") { printf("EV %s %d\n", str(args->filename), args->dfd); } }""",
     T, "EV /etc/hostname -100"),
    # --- tracepoints: kernel BTF through curtask --------------------------------------------
    ("tracepoint_curtask_real_parent_pid",
     r"""tracepoint:syscalls:sys_enter_lseek /pid == cpid/ {
         printf("EV %d %d %d %d\n", curtask->pid == pid, curtask->tgid == pid,
                curtask->real_parent->pid == curtask->parent->pid, curtask->real_parent->pid != pid);
         print(curtask->real_parent->tgid > 0); }""",
     T, "EV 1 1 1 1\n1"),
    ("tracepoint_curtask_comm",
     r"""tracepoint:syscalls:sys_enter_lseek /pid == cpid/ { print(curtask->comm); printf("EV %s %d\n", curtask->comm,
         curtask->comm == comm); @c[curtask->comm] = count(); }""",
     T, "types_target\nEV types_target 1\n\n\n@c[types_target]: 1"),
    ("tracepoint_curtask_in_a_variable_and_a_cast",
     r"""tracepoint:syscalls:sys_enter_lseek /pid == cpid/ { $t = curtask; $u = (struct task_struct *)curtask;
         printf("EV %d %d %d\n", $t->group_leader->pid == pid, $u->pid == pid, $u->mm != 0); }""",
     T, "EV 1 1 1"),
    ("tracepoint_sizeof_kernel_types",
     r"""tracepoint:syscalls:sys_enter_lseek /pid == cpid/ {
         printf("EV %d %d %d %d\n", sizeof(struct task_struct) > 0, sizeof(curtask->pid), sizeof(curtask->comm),
                sizeof(*curtask) == sizeof(struct task_struct)); }""",
     T, "EV 1 4 16 1"),
    ("tracepoint_btf_array_of_structs",
     r"""tracepoint:syscalls:sys_enter_lseek /pid == cpid/ {
         printf("EV %d %d\n", curtask->signal->rlim[7].rlim_cur <= curtask->signal->rlim[7].rlim_max,
                curtask->signal->rlim[7].rlim_cur > 0); }""",
     T, "EV 1 1"),
    ("tracepoint_script_struct_beside_kernel_types",
     REC + r"""tracepoint:syscalls:sys_enter_lseek /pid == cpid/ { printf("EV %d %d %d\n", sizeof(struct Rec),
         curtask->pid == pid, sizeof(struct Point)); }""",
     T, "EV 104 1 4"),
)


# --- Relative and quoted uprobe paths: run in a working directory ----------------------------

PATH_CASES = _cases(
    ("path_dot_slash_relative",
     NODE + r"""uprobe:./types_target:use_node /pid == cpid/ { printf("EV %d %s\n", ((struct Node *)arg0)->val,
          probe); }""",
     "./types_target", "EV 10 uprobe:./types_target:use_node\nEV 30 uprobe:./types_target:use_node", "{dir}"),
    ("path_directory_relative",
     NODE + r"""uprobe:sub/types_target:use_node /pid == cpid/ { printf("EV %d %s\n",
          ((struct Node *)arg0)->val, probe); }""",
     "sub/types_target", "EV 10 uprobe:sub/types_target:use_node\nEV 30 uprobe:sub/types_target:use_node", "{dir}"),
    ("path_quoted_with_a_space",
     NODE + r"""uprobe:"{space}/types_target":use_node /pid == cpid/ { printf("EV %d\n", ((struct Node *)arg0)->val);
         @[probe] = count(); }""",
     "./types_target", "EV 10\nEV 30\n\n\n@[uprobe:{space}/types_target:use_node]: 2", "{space}"),
    ("path_quoted_relative",
     NODE + r"""uprobe:"./types_target":use_node /pid == cpid/ { printf("EV %d\n", ((struct Node *)arg0)->val); }""",
     "./types_target", "EV 10\nEV 30", "{dir}"),
    ("path_relative_with_struct_reads",
     REC + r"""uprobe:./types_target:use_rec /pid == cpid/ { $r = (struct Rec *)arg0; print($r->arr); }""",
     "./types_target", "[1,-2,3,40000]\n[10,20,30,40]\n[1,-2,3,40000]", "{dir}"),
)


# --- -f json: compared object by object ------------------------------------------------------

JSON_CASES = _cases(
    ("json_print_values_in_begin",
     r"""BEGIN { print(7); print(-3); print(1 + 2 * 3); print("str"); print((1, "two", (3, -4))); print(probe);
             @t[1] = (2, "x"); @n = 5; exit(); }""",
     None,
     '{"type": "attached_probes", "data": {"probes": 1}}\n'
     '{"type": "value", "data": 7}\n{"type": "value", "data": -3}\n{"type": "value", "data": 7}\n'
     '{"type": "value", "data": "str"}\n{"type": "value", "data": [1,"two",[3,-4]]}\n'
     '{"type": "value", "data": "BEGIN"}\n'
     '{"type": "map", "data": {"@n": 5}}\n{"type": "map", "data": {"@t": {"1": [2,"x"]}}}'),
    ("json_struct_array_tuple_values_of_a_uprobe",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 1/ { $r = (struct Rec *)arg0; " +
     r"""print($r->arr); print(*$r); print((1, "two", $r->arr)); print($r->pt); printf("x %d\n", $r->i32);
         @a = $r->arr; @s = *$r; @k[$r->arr] = 3; @m[$r->pt, 5] = 1; @t[1] = ($r->name, $r->pts[0]); }""",
     T,
     '{"type": "attached_probes", "data": {"probes": 1}}\n'
     '{"type": "value", "data": [10,20,30,40]}\n'
     '{"type": "value", "data": { "name": "be", "arr": [10,20,30,40], "grid": [[-1,-2,-3],[7,8,9]], "u8": 1, "i8": 2, '
     '"u16": 3, "i16": 4, "u32": 5, "i32": 6, "u64": 7, "i64": 8, "pt": { "x": 0, "y": 0 }, '
     '"pts": [{ "x": 9, "y": 9 },{ "x": 8, "y": 8 },{ "x": 7, "y": 7 }], "raw": [1,2,3], "tag": "ab" }}\n'
     '{"type": "value", "data": [1,"two",[10,20,30,40]]}\n'
     '{"type": "value", "data": { "x": 0, "y": 0 }}\n'
     '{"type": "printf", "data": "x 6\\n"}\n'
     '{"type": "map", "data": {"@a": [10,20,30,40]}}\n'
     '{"type": "map", "data": {"@k": {"[10,20,30,40]": 3}}}\n'
     '{"type": "map", "data": {"@m": {"{.x=0,.y=0},5": 1}}}\n'
     '{"type": "map", "data": {"@s": { "name": "be", "arr": [10,20,30,40], "grid": [[-1,-2,-3],[7,8,9]], "u8": 1, '
     '"i8": 2, "u16": 3, "i16": 4, "u32": 5, "i32": 6, "u64": 7, "i64": 8, "pt": { "x": 0, "y": 0 }, '
     '"pts": [{ "x": 9, "y": 9 },{ "x": 8, "y": 8 },{ "x": 7, "y": 7 }], "raw": [1,2,3], "tag": "ab" }}}\n'
     '{"type": "map", "data": {"@t": {"1": ["be",{ "x": 9, "y": 9 }]}}}'),
    ("json_anonymous_members_and_unions",
     OUTER + r"""uprobe:{t}:use_outer /pid == cpid/ { $o = (struct Outer *)arg0; print(*$o); print($o->u);
          @s[$o->s] = 1; }""",
     T,
     '{"type": "attached_probes", "data": {"probes": 1}}\n'
     '{"type": "value", "data": { "k": 1, "u": { "a": -2, "b": 4294967294 }, "s": { "p": 3, "q": -4 }, "ia": 16909060, '
     '"ib": [4,3,2,1], "m": 250, "n": -6, "pt": { "x": 11, "y": 12 } }}\n'
     '{"type": "value", "data": { "a": -2, "b": 4294967294 }}\n'
     '{"type": "map", "data": {"@s": {"{.p=3,.q=-4}": 1}}}'),
    ("json_tuples_and_strings_of_a_uprobe",
     r"""uprobe:{t}:use_str /pid == cpid/ { @t[arg1] = (arg1, str(arg0, arg1)); print(str(arg0, arg1)); }""",
     T,
     '{"type": "attached_probes", "data": {"probes": 1}}\n'
     '{"type": "value", "data": "hello"}\n{"type": "value", "data": "hello world"}\n{"type": "value", "data": "wor"}\n'
     '{"type": "map", "data": {"@t": {"3": [3,"wor"], "5": [5,"hello"], "11": [11,"hello world"]}}}'),
    ("json_tracepoint_array_elements",
     r"""tracepoint:raw_syscalls:sys_enter /pid == cpid && args->id == 3 && args->args[0] == 424242/ {
         print(args->args[1]); @x[args->args[2], args->args[3]] = (args->args[4], "e"); }""",
     T,
     '{"type": "attached_probes", "data": {"probes": 1}}\n'
     '{"type": "value", "data": 11}\n'
     '{"type": "map", "data": {"@x": {"22,33": [44,"e"]}}}'),
)


# ---------------------------------------------------------------------------------------------
# kt only: deliberate differences from 0.17 (expected output from the C data) and errors
# ---------------------------------------------------------------------------------------------

def _kt_only(*entries: tuple) -> dict[str, tuple[Case, str]]:
    """name -> (case, why 0.17 is not the oracle); entries are (name, script, command, expect,
    reason[, cwd])."""
    table: dict[str, tuple[Case, str]] = {}
    for name, script, command, expect, reason, *cwd in entries:
        assert name not in table, name
        table[name] = (Case(script, command, expect, cwd[0] if cwd else None), reason)
    return table


KT_ONLY_CASES = _kt_only(
    ("variable_index_into_a_struct_array_member",
     REC + REC_PROBE + r"""$i = 0; while ($i < 4) { printf("EV %d %d\n", $i, $r->arr[$i]); $i++; } }""",
     T, "EV 0 1\nEV 1 -2\nEV 2 3\nEV 3 40000\nEV 0 10\nEV 1 20\nEV 2 30\nEV 3 40\n"
        "EV 0 1\nEV 1 -2\nEV 2 3\nEV 3 40000",
     "0.17: 'The array index operator [] only accepts literal integer indices'"),
    ("variable_index_into_a_two_dimensional_array",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 0/ { $r = (struct Rec *)arg0; " +
     r"""$i = 1; $j = 2; printf("EV %d %d %d\n", $r->grid[$i][$j], $r->grid[$i - 1][$j - 2], $r->pts[$j].x); }""",
     T, "EV 6 1 -5",
     "0.17 accepts only literal indexes"),
    ("variable_index_into_a_pointer",
     r"""uprobe:{t}:use_i32s /pid == cpid/ { $p = (int32 *)arg0; $i = 0; $s = 0;
         while ($i < 6) { $s += $p[$i]; @v[$i] = $p[$i]; $i++; } printf("EV %d %d\n", $s, $p[arg1 - 1]); }""",
     T, "EV 107 100\n\n\n@v[3]: -8\n@v[1]: -6\n@v[0]: 5\n@v[2]: 7\n@v[4]: 9\n@v[5]: 100",
     "0.17 accepts only literal indexes, also on pointers"),
    ("variable_index_from_an_argument",
     REC + REC_PROBE + r"""printf("EV %d %d\n", arg1, $r->arr[arg1]); }""",
     T, "EV 0 1\nEV 1 20\nEV 2 3",
     "0.17 accepts only literal indexes"),
    ("signed_bitfield_member",
     BITS + r"""uprobe:{t}:use_bits /pid == cpid/ { $b = (struct Bits *)arg0; printf("EV %d\n", $b->s);
          print($b->s); }""",
     T, "EV -7\n-7",
     "0.17 does not sign-extend a signed bitfield: int s:5 = -7 reads as 25"),
    ("whole_struct_print_of_bitfields",
     BITS + r"""uprobe:{t}:use_bits /pid == cpid/ { $b = (struct Bits *)arg0; print(*$b); @b = *$b; }""",
     T, "{ .a = 9, .b = 200, .s = -7, .c = 100, .d = 300, .tail = 90 }\n\n\n"
        "@b: { .a = 9, .b = 200, .s = -7, .c = 100, .d = 300, .tail = 90 }",
     "0.17 prints the bitfields of a whole struct wrongly (the unit's bits, not the field's)"),
    ("tuple_as_a_map_key",
     r"""BEGIN { @k[(1, 2)] = 5; printf("EV %d\n", @k[1, 2]); $t = (3, "x"); @j[$t] = 1; @j[3, "x"]++; exit(); }""",
     None, "EV 5\n\n\n@j[3, x]: 2\n@k[1, 2]: 5",
     "0.17: 'tuple cannot be used as a map key'; kt makes it the multi-key"),
    ("delete_with_a_key_argument",
     r"""BEGIN { @m[1] = 1; @m[2] = 2; @m[3] = 3; delete(@m, 2); delete(@m[3]); @s["a"] = 1; @s["b"] = 2;
         delete(@s, "a"); exit(); }""",
     None, "\n\n@m[1]: 1\n@s[b]: 2",
     "0.17: 'delete() requires one argument'; the newer spelling equals delete(@m[key])"),
    ("pointer_as_an_if_condition",
     NODE + r"""uprobe:{t}:use_node /pid == cpid/ { $n = (struct Node *)arg0;
         if ($n->next) { printf("EV %d next\n", $n->val); } else { printf("EV %d last\n", $n->val); } }""",
     T, "EV 10 next\nEV 30 last",
     "0.17: 'Invalid condition in if(): pointer'"),
    ("pointer_as_a_ternary_condition",
     NODE + r"""uprobe:{t}:use_node /pid == cpid/ { $n = (struct Node *)arg0; $v = $n->next ? $n->next->val : -1;
         printf("EV %d %d\n", $n->val, $v); }""",
     T, "EV 10 20\nEV 30 -1",
     "0.17: 'Invalid condition in ternary: pointer'"),
    ("record_map_key_with_unsigned_members",
     OUTER + r"""uprobe:{t}:use_outer /pid == cpid/ { $o = (struct Outer *)arg0; @o[*$o] = count(); }""",
     T, "\n\n@o[{.k=1,.u={.a=-2,.b=4294967294},.s={.p=3,.q=-4},.ia=16909060,.ib=[4,3,2,1],.m=250,.n=-6,"
        ".pt={.x=11,.y=12}}]: 1",
     "0.17 prints unsigned members of a record key as signed (.b=-2, .m=-6)"),
    ("typedefs",
     r"""typedef unsigned long ulong_t;
     typedef struct Point { int16_t x; int16_t y; } Point_t;
     BEGIN { printf("EV %d %d\n", sizeof(ulong_t), sizeof(Point_t)); $p = (Point_t *)4; print((uint64)($p + 1));
             exit(); }""",
     None, "EV 8 4\n8",
     "0.17's parser rejects a top-level typedef (syntax error)"),
    ("script_struct_shadows_a_kernel_struct_also_for_members",
     r"""struct file { int a; int b; }
     BEGIN { $f = (struct file *)0; printf("EV %d %d\n", sizeof(struct file), sizeof($f->b)); print((uint64)($f + 1));
             exit(); }""",
     None, "EV 8 4\n8",
     "0.17 takes the kernel's struct file (184 bytes here) once a member of it is used"),
    ("array_read_out_of_a_tuple",
     REC + "uprobe:{t}:use_rec /pid == cpid && arg1 == 0/ { $r = (struct Rec *)arg0; " +
     r"""$t = ($r->raw, "s", $r->arr, $r->pt); print($t.0); print($t.2); print($t.3); @a = $t.2; }""",
     T, "[97,98,0]\n[1,-2,3,40000]\n{ .x = 7, .y = -8 }\n\n\n@a: [1,-2,3,40000]",
     "0.17 prints [0,0,0] for $t.0 of ([97,98,0], s), and fails in codegen on others ('too many args')"),
    ("print_a_tracepoint_array_field",
     r"""tracepoint:raw_syscalls:sys_enter /pid == cpid && args->id == 3 && args->args[0] == 424242/ {
         print(args->args); $a = args->args; printf("EV %d\n", $a[5]); }""",
     T, "[424242,11,22,33,44,55]\nEV 55",
     "0.17: 'unsigned int64[6] type passed to print() is not printable'"),
    ("uprobe_at_an_offset_inside_the_function",
     NODE + r"""uprobe:{t}:use_node+{off} /pid == cpid/ { printf("EV %d\n", ((struct Node *)arg0)->val); }""",
     T, "EV 10\nEV 30",
     "Debian's 0.17 is built without offset support: 'Can't check if uprobe is in proper place'"),
    ("uprobe_at_an_offset_of_a_relative_path",
     NODE + r"""uprobe:./types_target:use_node+{off} /pid == cpid/ { printf("EV %d\n",
          ((struct Node *)arg0)->val); }""",
     "./types_target", "EV 10\nEV 30",
     "Debian's 0.17 is built without offset support", "{dir}"),
)

# kt must refuse these (exit non-zero) with stderr naming the problem (the given word).
KT_ERROR_CASES = {
    "offset_at_the_end_of_the_function": (
        NODE + r"""uprobe:{t}:use_node+{size} { printf("EV %d\n", ((struct Node *)arg0)->val); }""", "offset"),
    "offset_far_past_the_function": (
        r"""uprobe:{t}:use_node+4096 { printf("EV\n"); }""", "offset"),
    "constant_index_out_of_bounds": (
        REC + REC_PROBE + r"""printf("EV %d\n", $r->arr[4]); }""", "bound"),
    "constant_index_out_of_bounds_second_dimension": (
        REC + REC_PROBE + r"""printf("EV %d\n", $r->grid[1][3]); }""", "bound"),
}


# ---------------------------------------------------------------------------------------------
# The target, running, normalizing
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    path: str        # the binary, absolute
    dir: str         # its directory (holds sub/types_target as well)
    space: str       # a directory with a space in its name holding a copy
    node_offset: int  # an instruction boundary inside use_node, after the prologue
    node_size: int    # use_node's symbol size

    def fill(self, text: str) -> str:
        return (text.replace("{t}", self.path).replace("{dir}", self.dir).replace("{space}", self.space)
                .replace("{off}", str(self.node_offset)).replace("{size}", str(self.node_size)))


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Target:
    d = tmp_path_factory.mktemp("types_target")
    exe = d / "types_target"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(exe), str(TARGETS / "types_target.c")], check=True)
    (d / "sub").mkdir()
    shutil.copy2(exe, d / "sub" / "types_target")
    space = d / "path with space"
    space.mkdir()
    shutil.copy2(exe, space / "types_target")
    offset, size = _instruction_after_prologue(str(exe), "use_node")
    from kt.runtime.tracefs import tracefs_root
    tracefs_root()  # bpftrace 0.17 needs tracefs mounted; kt mounts it when it is not
    return Target(str(exe), str(d), str(space), offset, size)


def _instruction_after_prologue(exe: str, func: str) -> tuple[int, int]:
    """The offset of the instruction after `push %rbp; mov %rsp,%rbp` in func (arguments are
    still in their registers there, at -O0), and func's size, from objdump and nm."""
    nm = subprocess.run(["nm", "-S", exe], capture_output=True, text=True, check=True).stdout
    start, size = next((int(a, 16), int(s, 16)) for a, s, _, name in (l.split() for l in nm.splitlines()
                                                                      if len(l.split()) == 4) if name == func)
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={start}",
                          f"--stop-address={start + size}", exe], capture_output=True, text=True, check=True).stdout
    insns = [(int(m.group(1), 16) - start, m.group(2).strip())
             for m in re.finditer(r"^\s*([0-9a-f]+):\s+(.*)$", dis, re.M)]
    mnemonics = [text.split()[0] for _, text in insns]
    i = mnemonics.index("mov", mnemonics.index("push")) + 1  # after mov %rsp,%rbp
    assert 0 < insns[i][0] < size, insns
    return insns[i][0], size


_ATTACHING = re.compile(r"^Attaching \d+ probes?\.\.\.$")
_KEYED = re.compile(r"^(@\w*)\[.*\]: (.*)$")


@functools.lru_cache(maxsize=None)
def _child_output(command: str | None, cwd: str | None) -> frozenset[str]:
    """Lines the -c command prints by itself (cat prints /etc/hostname)."""
    if command is None:
        return frozenset()
    r = subprocess.run(command.split(), capture_output=True, text=True, timeout=60, cwd=cwd,
                       env={**os.environ, **CHILD_ENV})
    return frozenset(l for l in r.stdout.splitlines() if l)


def _normalized(stdout: str, drop: frozenset[str] = frozenset()) -> list[str]:
    """All lines but 0.17's status line, the child's own lines and trailing blank lines; runs of
    one map's lines with equal values sorted (0.17 orders ties randomly)."""
    lines = [l for l in stdout.splitlines() if not _ATTACHING.match(l) and l not in drop]
    while lines and not lines[-1]:
        lines.pop()
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _KEYED.match(lines[i])
        j = i + 1
        if m:
            while j < len(lines) and (n := _KEYED.match(lines[j])) and n.groups() == m.groups():
                j += 1
        out.extend(sorted(lines[i:j]))
        i = j
    return out


def _expected(target: Target, expect: str) -> list[str]:
    return _normalized(target.fill(expect))


def _args(target: Target, case: Case) -> tuple[str, str | None, str | None]:
    command = target.fill(case.command) if case.command else None
    cwd = target.fill(case.cwd) if case.cwd else None
    return target.fill(case.script), command, cwd


def _bpftrace_in(cwd: str, *args: str) -> str:
    assert BPFTRACE, "bpftrace 0.17 is needed for the differential tests (apt-get install bpftrace)"
    r = subprocess.run([BPFTRACE, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                       env={**os.environ, **CHILD_ENV})
    assert r.returncode == 0, r.stderr
    return r.stdout


def _kt_in(cwd: str, *args: str) -> str:
    r = run_kt(*args, timeout=120, env=CHILD_ENV, cwd=cwd)
    assert r.rc == 0, r.err
    return r.out


def _run(tracer: str, target: Target, case: Case, *flags: str) -> str:
    """The stdout of one case under "bpftrace" or "kt" (which must exit 0)."""
    script, command, cwd = _args(target, case)
    if cwd is None and not flags:
        return (_bpftrace if tracer == "bpftrace" else _kt)(script, command)
    args = [*flags, "-e", script, *(["-c", command] if command else [])]
    return (_bpftrace_in if tracer == "bpftrace" else _kt_in)(cwd, *args)


def _check_text(target: Target, case: Case) -> None:
    drop = _child_output(*_args(target, case)[1:])
    theirs = _normalized(_run("bpftrace", target, case), drop)
    assert theirs == _expected(target, case.expect), "bpftrace 0.17 does not print what the data implies"
    assert _normalized(_run("kt", target, case), drop) == theirs


def _json_objects(stdout: str) -> list:
    return [json.loads(l) for l in stdout.splitlines() if l.startswith("{")]


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------

@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_output_as_bpftrace(name, target):
    _check_text(target, CASES[name])


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(PATH_CASES))
def test_uprobe_paths_same_output_as_bpftrace(name, target):
    _check_text(target, PATH_CASES[name])


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(JSON_CASES))
def test_json_same_objects_as_bpftrace(name, target):
    case = JSON_CASES[name]
    theirs = _json_objects(_run("bpftrace", target, case, "-f", "json"))
    assert theirs == _json_objects(target.fill(case.expect)), "bpftrace 0.17 does not print what the data implies"
    assert _json_objects(_run("kt", target, case, "-f", "json")) == theirs


@pytest.mark.parametrize("name", sorted(KT_ONLY_CASES))
def test_deliberate_differences_from_0_17(name, target):
    case, _reason = KT_ONLY_CASES[name]
    script, command, cwd = _args(target, case)
    out = _kt_in(cwd, "-e", script, *(["-c", command] if command else []))
    assert _normalized(out) == _expected(target, case.expect)


@pytest.mark.parametrize("name", sorted(KT_ERROR_CASES))
def test_refused_at_compile_time(name, target):
    script, word = KT_ERROR_CASES[name]
    r = run_kt("-e", target.fill(script), "-c", target.path, timeout=120, env=CHILD_ENV)
    assert r.rc != 0, r.out
    assert word in r.err.lower(), r.err


def test_a_whole_kernel_struct_prints():
    """print(*curtask): a task_struct of some 3 KiB, built in the per-CPU scratch record (0.17
    fails in LLVM: 'A call to built-in function memset is not supported')."""
    r = run_kt("-e", 'BEGIN { printf("EV %d %d\\n", pid, tid); print(*curtask); exit(); }', timeout=120)
    assert r.rc == 0, r.err
    ev, value = r.out.splitlines()[:2]
    pid, tid = ev.split()[1:]
    assert value.startswith("{ .thread_info = { ") and value.endswith(" }")
    assert f", .pid = {tid}, .tgid = {pid}, " in value
