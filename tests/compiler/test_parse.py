from hypothesis import given, strategies as st

from kt.compiler import ast
from kt.compiler.ast import same_tree
from kt.compiler.parse import decode_string, parse
from kt.compiler.source import SourceFile, Span

S = Span(0, 0)


def p(text: str) -> ast.Program:
    return parse(SourceFile.of("t.kt", text))


def body(text: str) -> list:
    return p(f"BEGIN {{ {text} }}").probes[0].body.stmts


def test_probe_list_predicate_and_block():
    prog = p("tracepoint:syscalls:sys_enter_openat, t:raw_syscalls:sys_enter /pid == cpid/ { exit(); }")
    probe = prog.probes[0]
    assert [(a.provider, a.parts) for a in probe.attach_points] == [
        ("tracepoint", ["syscalls", "sys_enter_openat"]), ("t", ["raw_syscalls", "sys_enter"])]
    assert same_tree(probe.predicate, ast.Binary(S, "==", ast.Builtin(S, "pid"), ast.Builtin(S, "cpid")))
    assert same_tree(probe.body.stmts, [ast.ExprStmt(S, ast.Call(S, "exit", [], S))])


def test_several_probes():
    prog = p("BEGIN { } END { } t:a:b { }")
    assert [pr.attach_points[0].raw for pr in prog.probes] == ["BEGIN", "END", "t:a:b"]


def test_precedence_follows_c():
    (stmt,) = body("$x = 1 + 2 * 3 << 1 == 14 && !0 || 5 & 3 ^ 1 | 8;")
    e = stmt.value
    assert e.op == "||"
    assert e.lhs.op == "&&"
    assert e.lhs.lhs.op == "=="
    assert e.lhs.lhs.lhs.op == "<<"
    assert e.lhs.lhs.lhs.lhs.op == "+"
    assert e.lhs.lhs.lhs.lhs.rhs.op == "*"
    assert e.rhs.op == "|" and e.rhs.lhs.op == "^" and e.rhs.lhs.lhs.op == "&"


def test_division_inside_predicate():
    prog = p("t:a:b / pid / 2 == 1 / { }")
    pred = prog.probes[0].predicate
    assert pred.op == "==" and pred.lhs.op == "/"


def test_maps_vars_and_assignment_ops():
    stmts = body("@ = 1; @x[1, comm] += 2; $y = -3; @c++; --$y; @d <<= 1")
    assert same_tree(stmts[0], ast.Assign(S, ast.MapRef(S, "@", []), "=", ast.IntLit(S, 1)))
    assert stmts[1].target.name == "@x" and len(stmts[1].target.keys) == 2 and stmts[1].op == "+="
    assert same_tree(stmts[2].value, ast.IntLit(S, -3))
    assert same_tree(stmts[3], ast.ExprStmt(S, ast.IncDec(S, ast.MapRef(S, "@c", []), "++")))
    assert same_tree(stmts[4], ast.ExprStmt(S, ast.IncDec(S, ast.Var(S, "$y"), "--", prefix=True)))
    assert stmts[5].op == "<<="


def test_if_else_if_else_without_semicolons():
    (stmt, after) = body("if (1) { $a = 1 } else if (2) { $a = 2 } else { $a = 3 } exit()")
    assert isinstance(stmt, ast.If)
    nested = stmt.orelse.stmts[0]
    assert isinstance(nested, ast.If) and nested.orelse is not None
    assert isinstance(after, ast.ExprStmt)


def test_args_arrow_and_dot():
    a, b = body("$a = args->filename; $b = args.filename")
    assert same_tree(a.value, b.value)
    assert a.value.name == "filename"


def test_literals_and_comments():
    stmts = body('$a = 0x1F; /* c */ $b = "a\\tb\\n\\"q\\x41\\101"; // end\n')
    assert stmts[0].value.value == 31
    assert stmts[1].value.value == b'a\tb\n"qAA'


def test_positional_params():
    stmts = body("$a = $1; $n = $#")
    assert same_tree(stmts[0].value, ast.Positional(S, 1))
    assert stmts[1].value.is_count


def test_spans_point_into_the_source():
    text = "BEGIN { printf(\"x\"); }"
    call = p(text).probes[0].body.stmts[0].expr
    assert text[call.span.start:call.span.end] == 'printf("x")'
    assert text[call.name_span.start:call.name_span.end] == "printf"


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'), max_size=40))
def test_plain_strings_decode_to_themselves(s):
    assert decode_string(s) == s.encode()


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_integer_literals_round_trip(n):
    (stmt,) = body(f"$x = {n}")
    assert stmt.value.value == n
    (stmt,) = body(f"$x = {hex(n)}")
    assert stmt.value.value == n


def test_equality_is_not_two_assignments():
    (stmt,) = body("if ($i == 0) { $a = 1 }")
    assert stmt.cond.op == "=="
    (stmt,) = body("$a <<= 2")
    assert stmt.op == "<<="


def test_conditional_expression_is_right_associative():
    (stmt,) = body("$x = 1 ? 2 ? 3 : 4 : 5 ? 6 : 7")
    e = stmt.value
    assert isinstance(e, ast.Conditional) and isinstance(e.then, ast.Conditional)
    assert isinstance(e.orelse, ast.Conditional)


def test_loops():
    (w, u) = body("while ($i < 3) { $i++; if ($i == 2) { break } continue; } unroll(4) { $x = 1 }")
    assert isinstance(w, ast.While) and isinstance(w.body.stmts[-1], ast.Jump)
    assert w.body.stmts[-1].kind == "continue"
    assert isinstance(u, ast.Unroll) and u.count == 4


def test_casts_and_parentheses():
    (a, b) = body("$a = (uint8)$x + 1; $b = (x)")
    assert isinstance(a.value, ast.Binary) and isinstance(a.value.lhs, ast.Cast)
    assert same_tree(a.value.lhs.type, ast.TypeName(S, "uint8", 0))
    assert isinstance(b.value, ast.Builtin)


def test_preprocessor_directives():
    from kt.compiler.parse import preprocess
    text = ("#!/usr/bin/env bpftrace\n#include <linux/sched.h>\n#ifndef BPFTRACE_HAVE_BTF\nstruct x { int a; };\n"
            "#else\n#define LIMIT 10\n#endif\n#define NAME \"n\"\nBEGIN { $a = LIMIT; $s = NAME; $t = \"LIMIT\"; }\n")
    out = preprocess(text)
    assert out.count("\n") == text.count("\n")            # lines stay where they were
    assert "struct" not in out and "#" not in out
    assert '$a = 10; $s = "n"; $t = "LIMIT";' in out      # not inside strings
    (probe,) = p(text).probes
    assert probe.body.stmts[0].value.value == 10


def test_scientific_integer_literals():
    (stmt,) = body("$x = 1e6")
    assert stmt.value.value == 1_000_000
