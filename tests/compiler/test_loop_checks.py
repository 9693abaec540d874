"""for loops in the parser and the Checker (compiler/passes/loop_checks.py): what the loop
variable holds, its scope, and what may be iterated."""

from kt.compiler import ast
from kt.compiler.types import Int, Str, Tuple


def _loops(sema):
    probe = sema.probes[0][0]
    return [n for n in ast.walk(probe.body) if isinstance(n, (ast.ForMap, ast.ForRange))]


def test_map_loop_variable_is_key_and_value(analyse):
    _, sema, _ = analyse('BEGIN { @m[1, "ab"] = comm; @c[2] = count(); for ($kv : @m) { } for ($e : @c) { } }')
    first, second = _loops(sema)
    assert isinstance(first, ast.ForMap) and first.map.name == "@m"
    assert sema.types[first.var] == Tuple((Tuple((Int(64, True), Str(3))), Str(16)))
    assert sema.types[second.var] == Tuple((Int(64, True), Int(64, False)))   # count()'s total


def test_range_loop_variable_is_int64_and_bounds_are_unary(analyse):
    _, sema, _ = analyse("BEGIN { $n = 3; for ($i : 1..$n) { } }")
    (loop,) = _loops(sema)
    assert isinstance(loop, ast.ForRange) and isinstance(loop.start, ast.IntLit) and isinstance(loop.end, ast.Var)
    assert sema.types[loop.var] == Int(64, True)


def test_each_loop_has_its_own_variable(analyse):
    _, sema, _ = analyse('BEGIN { @m[1] = 1; @s["a"] = "b"; for ($kv : @m) { } for ($kv : @s) { } $kv = 5; }')
    first, second = _loops(sema)
    assert sema.types[first.var] == Tuple((Int(64, True), Int(64, True)))
    assert sema.types[second.var] == Tuple((Str(2), Str(2)))


def test_break_and_continue_belong_to_for_loops(compile_text):
    compile_text("BEGIN { for ($i : 0..3) { break; } @m[1] = 1; for ($kv : @m) { continue; } }")
