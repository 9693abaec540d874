"""`args->name` on uprobes from the binary's DWARF, and `kt -lv` of a binary's functions, compared
with bpftrace 0.17.

The workload is tests/e2e/targets/dwarf_target.c, built with `gcc -g -O0`, with `-O2 -g`, with
its debug info moved to a separate file (.gnu_debuglink), and without -g:
main() calls each function once with fixed values (takes_ints twice), written down in the C file;
every case's `expect` is derived from those values by hand, and bpftrace 0.17 must print it too
before kt runs (a case proves something only if 0.17 prints the right thing). The uprobes are on a
binary built for the test, which only the -c child runs.

KT_ONLY cases are where 0.17 is wrong and kt does better, with the reason beside each.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import run_kt
from .test_differential import CHILD_ENV
from .test_uprobe_paths import NEEDS_BPFTRACE, _bpftrace, _kt, _lines

pytestmark = [pytest.mark.kernel]

TARGET_C = Path(__file__).parent / "targets" / "dwarf_target.c"


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("dwarf")
    built = {}
    for name, flags in (("t", ["-O0", "-g"]), ("nodebug", ["-O0"]), ("optimized", ["-O2", "-g"])):
        subprocess.run(["gcc", *flags, "-o", str(d / name), str(TARGET_C)], check=True)
        built[name] = str(d / name)
    # the debug info in a separate file found through .gnu_debuglink (as distributions ship it)
    sep = d / "separate"
    sep.mkdir()
    subprocess.run(["cp", built["t"], str(sep / "t")], check=True)
    subprocess.run(["objcopy", "--only-keep-debug", str(sep / "t"), str(sep / "t.debug")], check=True)
    subprocess.run(["strip", "-g", str(sep / "t")], check=True)
    subprocess.run(["objcopy", f"--add-gnu-debuglink={sep / 't.debug'}", str(sep / "t")], check=True)
    built["separate"] = str(sep / "t")
    return built


def _sorted_maps(lines: list[str]) -> list[str]:
    # 0.17 prints entries of a map with equal values in any order
    return sorted(lines)


def _run(tool: str, args: list[str]) -> subprocess.CompletedProcess:
    return (_bpftrace if tool == "bpftrace" else _kt)(*args)


# name -> (script with {t} for the binary, expected stdout lines, compare sorted)
CASES = {
    "integers_of_each_width_and_sign": (
        'uprobe:{t}:takes_ints { printf("EV %d %u %ld %c %u\\n", args->a, args->b, args->c, args->d, args->e); }',
        ["EV -5 65535 -123456789012 z 4000000000", "EV -4 65535 -123456789012 z 4000000000"], False),
    "print_of_integer_args": (
        'uprobe:{t}:takes_ints { print(args->c); print(args->e); print(args->b); print(args->d); }',
        ["-123456789012", "4000000000", "65535", "122"] * 2, False),
    "integer_args_in_maps": (
        'uprobe:{t}:takes_ints { @b[args->b] = count(); @c = sum(args->c); @d[args->d] = count(); @e = max(args->e); }',
        ["", "", "@b[65535]: 2", "@c: -246913578024", "@d[122]: 2", "@e: 4000000000"], True),
    "char_pointer_as_str": (
        'uprobe:{t}:takes_str { printf("EV %s %d\\n", str(args->s), args->len); }',
        ["EV hello world 11"], False),
    "str_with_a_length": (
        'uprobe:{t}:takes_str { printf("EV %s\\n", str(args->s, 5)); }',
        ["EV hello"], False),
    "struct_pointer_members": (
        'uprobe:{t}:takes_ptr { printf("EV %d %d %d %d\\n", args->box->n, args->box->a.y, args->pt->x, args->box->p->y); }',
        ["EV 42 2 3 4"], False),
    "string_member_through_a_pointer": (
        'uprobe:{t}:takes_ptr { printf("EV %s\\n", str(args->box->label)); }',
        ["EV boxlabel"], False),
    "print_of_structs": (
        'uprobe:{t}:takes_ptr { print(*args->pt); print(args->box->a); print(*args->box->p); }',
        ["{ .x = 3, .y = 4 }", "{ .x = 1, .y = 2 }", "{ .x = 3, .y = 4 }"], False),
    "pointer_to_pointer_and_int_pointer": (
        'uprobe:{t}:takes_ptrs { printf("EV %d %d %s %s\\n", *args->arr, *(args->arr + 2), str(*args->names), '
        'str(*(args->names + 1))); }',
        ["EV 10 30 first second"], False),
    "enum_argument_after_a_small_struct": (
        'uprobe:{t}:takes_struct { printf("EV %d\\n", args->c); }',
        ["EV 6"], False),
    "sixth_register_argument": (
        'uprobe:{t}:takes_many { printf("EV %d %d\\n", args->a, args->f); }',
        ["EV 1 6"], False),
    "main_argc": (
        'uprobe:{t}:main { printf("EV %d\\n", args->argc); }',
        ["EV 1"], False),
    "wildcard_probe_with_args_common_to_each": (
        'uprobe:{t}:takes_s* { @[probe] = count(); }',
        ["", "", "@[uprobe:{t}:takes_str]: 1", "@[uprobe:{t}:takes_struct]: 1"], True),
}


# Cases reading struct members the callee itself does not read run on the -O0 build only: at
# -O2 main stores only the members takes_ptr reads, so the memory is not the C source's data.
MEMORY_CASES = {"print_of_structs", "string_member_through_a_pointer", "struct_pointer_members"}
BUILDS = [(name, build) for name in sorted(CASES) for build in ("t", "optimized", "separate")
          if build != "optimized" or name not in MEMORY_CASES]


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name,build", BUILDS)
def test_dwarf_args_as_bpftrace(name, build, target):
    script, expect, sort = CASES[name]
    t = target[build]
    script = script.replace("{t}", t)
    expect = [line.replace("{t}", t) for line in expect]
    norm = _sorted_maps if sort else (lambda x: x)
    theirs = _run("bpftrace", ["-e", script, "-c", t])
    assert theirs.returncode == 0, theirs.stderr
    assert norm(_lines(theirs.stdout)) == norm(expect), "bpftrace 0.17 itself disagrees with the data"
    ours = _run("kt", ["-e", script, "-c", t])
    assert ours.returncode == 0, ours.stderr
    assert norm(_lines(ours.stdout)) == norm(expect)


# ---- where 0.17 is wrong --------------------------------------------------------------------

KT_ONLY = {
    # 0.17: "Struct/union of type 'struct Bits' does not contain a field named 'a'" for every
    # member of a struct with bitfields.
    "bitfield_members": (
        'uprobe:{t}:takes_bits { printf("EV %d %d %d %d %d\\n", args->b->a, args->b->b, args->b->s, args->b->c, '
        'args->b->tail); print(*args->b); }',
        ["EV 9 200 -7 100 42", "{ .a = 9, .b = 200, .s = -7, .c = 100, .tail = 42 }"]),
    # 0.17 aborts ("basic_string: construction from null is not valid") on a parameter type
    # with anonymous members; their members are named as the outer struct's.
    "anonymous_union_and_struct_members": (
        'uprobe:{t}:takes_anon { printf("EV %d %d %d %d %d\\n", args->o->k, args->o->ia, args->o->ib[0], '
        'args->o->p, args->o->q); }',
        ["EV 5 16909060 4 -3 4"]),
    # 0.17 prints { .x = 0, .y = 0 } for a struct passed by value; kt reads it from the
    # registers it is passed in (one for struct Point, two for the 16-byte struct Wide) or, for
    # a struct of more than 16 bytes, from its copy on the stack.
    "struct_by_value_in_one_register": (
        'uprobe:{t}:takes_struct { print(args->pt); printf("EV %d %d %d\\n", args->pt.x, args->pt.y, args->c); }',
        ["{ .x = 3, .y = 4 }", "EV 3 4 6"]),
    "structs_by_value_in_two_registers_and_on_the_stack": (
        'uprobe:{t}:takes_by_value { printf("EV %ld %d %ld %ld %d\\n", args->w.a, args->w.b, args->big.a, '
        'args->big.c, args->after); print(args->big); }',
        ["EV -7000000000 12 100 300 99", "{ .a = 100, .b = 200, .c = 300 }"]),
    # 0.17: "Failed to compile: array::at: __n (which is 6) >= _Nm (which is 6)"; the seventh
    # integer argument is on the stack.
    "seventh_argument_from_the_stack": (
        'uprobe:{t}:takes_many { printf("EV %d %d %d\\n", args->a, args->f, args->g); }', ["EV 1 6 7"]),
    # 0.17: "Struct/union of type 'union U' does not contain a field named 'i'" (its DWARF
    # reader finds no union members); the union holds 77.
    "union_member_through_a_pointer": (
        'uprobe:{t}:takes_struct { printf("EV %d %s\\n", args->u->i, args->u->c); }', ["EV 77 M"]),
    # 0.17 compares and keys an int32 argument as unsigned: both calls pass `> -5` and the keys
    # print as 4294967291 and 4294967292.
    "args_in_a_predicate_and_map_key": (
        'uprobe:{t}:takes_ints /args->a > -5/ { @[args->a, args->d] = count(); }', ["", "", "@[-4, 122]: 1"]),
    # 0.17 prints a min() of an int32 argument as unsigned (@a: 4294967291).
    "min_of_a_negative_int_argument": (
        'uprobe:{t}:takes_ints { @a = min(args->a); }', ["", "", "@a: -5"]),
}


@pytest.mark.parametrize("name", sorted(KT_ONLY))
def test_dwarf_args_where_0_17_is_wrong(name, target):
    script, expect = KT_ONLY[name]
    t = target["t"]
    r = run_kt("-e", script.replace("{t}", t), "-c", t, timeout=120, env=CHILD_ENV)
    assert r.rc == 0, r.err
    assert _lines(r.out) == expect


# ---- errors -----------------------------------------------------------------------------------

ERRORS = {
    # (script, what 0.17 says, what kt says) — both fail before attaching
    "no_debug_info": ('uprobe:{nodebug}:takes_ints { print(args->a); }',
                      "No debuginfo found for {nodebug}", "No debuginfo found for {nodebug}"),
    "unknown_parameter": ('uprobe:{t}:takes_ints { print(args->zz); }',
                          "Can't find function parameter zz", "can't find function parameter 'zz' of takes_ints"),
    "args_in_a_uretprobe": ('uretprobe:{t}:takes_ints { print(args->a); }',
                            "The args builtin can only be used with tracepoint/kfunc/uprobe",
                            "the args builtin can only be used with tracepoint/kfunc/uprobe"),
}


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_dwarf_errors_as_bpftrace(name, target):
    script, theirs_says, ours_says = (s.replace("{t}", target["t"]).replace("{nodebug}", target["nodebug"])
                                      for s in ERRORS[name])
    theirs = _run("bpftrace", ["-e", script, "-c", target["t"]])
    assert theirs_says in theirs.stderr
    ours = _run("kt", ["-e", script, "-c", target["t"]])
    assert ours.returncode != 0
    assert ours_says in ours.stderr
    assert "Traceback" not in ours.stderr


# ---- kt -lv ---------------------------------------------------------------------------------------

@NEEDS_BPFTRACE
@pytest.mark.parametrize("pattern", ["uprobe:{t}:*", "uprobe:{t}:takes_*", "uprobe:{t}:main",
                                     "uprobe:{optimized}:*", "uprobe:{separate}:takes_*"])
def test_list_verbose_params_as_bpftrace(pattern, target):
    for build in ("t", "optimized", "separate"):
        pattern = pattern.replace("{%s}" % build, target[build])
    theirs = _run("bpftrace", ["-lv", pattern])
    ours = _run("kt", ["-lv", pattern])
    assert ours.returncode == 0, ours.stderr
    assert "    const char* s" in theirs.stdout or "takes_" not in pattern
    assert ours.stdout.splitlines() == theirs.stdout.splitlines()


@NEEDS_BPFTRACE
def test_list_verbose_without_dwarf_warns_as_bpftrace(target):
    pattern = f"uprobe:{target['nodebug']}:takes_*"
    theirs = _run("bpftrace", ["-lv", pattern])
    ours = _run("kt", ["-lv", pattern])
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == theirs.stdout.splitlines()
    warning = f'No DWARF found for "{target["nodebug"]}", cannot show parameter info'
    assert warning in theirs.stderr and warning in ours.stderr


# ---- C++ (kt only: 0.17 matches no DWARF to a mangled symbol and lists no parameters) ----------

@pytest.fixture(scope="module")
def cpp_target(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("dwarf_cpp")
    subprocess.run(["g++", "-g", "-O0", "-o", str(d / "cpp"), str(TARGET_C.parent / "dwarf_cpp_target.cc")],
                   check=True)
    return str(d / "cpp")


def test_cpp_function_parameters_are_listed(cpp_target):
    r = run_kt("-lv", f"uprobe:{cpp_target}:_Z*")
    assert r.rc == 0, r.err
    assert r.out.splitlines() == [
        f"uprobe:{cpp_target}:_Z5plainil", "    int a", "    long int b",
        f"uprobe:{cpp_target}:_ZN2ns5innerEPKc", "    const char* s",
        f"uprobe:{cpp_target}:_ZN3Obj3getEi", "    struct Obj* const this", "    int add"]


def test_cpp_function_parameters_are_read(cpp_target):
    r = run_kt("-e", f'uprobe:{cpp_target}:_Z5plainil {{ printf("EV %d %ld\\n", args->a, args->b); }} '
                     f'uprobe:{cpp_target}:_ZN2ns5innerEPKc {{ printf("EV %s\\n", str(args->s)); }} '
                     f'uprobe:{cpp_target}:_ZN3Obj3getEi {{ printf("EV %d %d\\n", args->this->v, args->add); }}',
               "-c", cpp_target, timeout=120, env=CHILD_ENV)
    assert r.rc == 0, r.err
    assert _lines(r.out) == ["EV 5 2", "EV -1 2000000000000", "EV cpp"]
