import pytest
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
    from kt.compiler.preprocess import preprocess
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


# ---- the type system's syntax (issue 6) -------------------------------------------------------

def test_c_definitions_between_probes_with_or_without_semicolons():
    prog = p("struct Foo { int a; char b[10]; unsigned int c:4, d:8; struct Bar *p; "
             "struct { int x; int y; } inner; int :3; void (*cb)(int, char *); }\n"
             "BEGIN { }\n"
             "union U { int a; unsigned b; };\n"
             "typedef unsigned long ulong_t, *ulong_p;\n"
             "enum Color { RED, GREEN = 5, BLUE, };\n"
             "END { }")
    assert [type(d).__name__ for d in prog.definitions] == ["CStruct", "CStruct", "CTypedef", "CEnum"]
    foo = prog.definitions[0]
    assert foo.kind == "struct" and foo.name == "Foo"
    fields = [(d.name, d.pointers, len(d.dims), d.bits is not None, d.funcptr)
              for m in foo.members for d in m.declarators]
    assert fields == [("a", 0, 0, False, False), ("b", 0, 1, False, False), ("c", 0, 0, True, False),
                      ("d", 0, 0, True, False), ("p", 1, 0, False, False), ("inner", 0, 0, False, False),
                      (None, 0, 0, True, False), ("cb", 1, 0, False, True)]
    assert foo.members[4].spec.base.name is None        # the inline anonymous struct
    assert [d.name for d in prog.definitions[2].declarators] == ["ulong_t", "ulong_p"]
    assert [(n, v.value if v else None) for n, v, _ in prog.definitions[3].items] == [
        ("RED", None), ("GREEN", 5), ("BLUE", None)]
    assert [pr.attach_points[0].raw for pr in prog.probes] == ["BEGIN", "END"]


def test_type_names_in_casts_sizeof_and_offsetof():
    (a, b, c, d, e, f) = body("$a = (struct Foo **)arg0; $b = (uint8 *)0; $c = (unsigned long)1; "
                              "$d = (u32)2; $e = sizeof(struct Foo) + sizeof($x); $f = offsetof(struct Foo, in.x)")
    assert same_tree(a.value.type, ast.TypeName(S, "struct Foo", 2))
    assert same_tree(b.value.type, ast.TypeName(S, "uint8", 1))
    assert same_tree(c.value.type, ast.TypeName(S, "unsigned long", 0))
    assert same_tree(d.value.type, ast.TypeName(S, "u32", 0))      # C's standard names are types
    assert same_tree(e.value.lhs, ast.Sizeof(S, ast.TypeName(S, "struct Foo", 0), None))
    assert same_tree(e.value.rhs, ast.Sizeof(S, None, ast.Var(S, "$x")))
    assert same_tree(f.value, ast.Offsetof(S, ast.TypeName(S, "struct Foo", 0), ["in", "x"]))


def test_a_script_typedef_makes_a_cast_and_a_parenthesis_stays_one():
    prog = p("typedef unsigned int my_t; BEGIN { $a = (my_t)1; $b = (pid) + 1; }")
    a, b = prog.probes[0].body.stmts
    assert same_tree(a.value, ast.Cast(S, ast.TypeName(S, "my_t", 0), ast.IntLit(S, 1)))
    assert same_tree(b.value.lhs, ast.Builtin(S, "pid"))


def test_indexes_tuples_address_of_and_incdec_expressions():
    (a, b, c, d, e) = body("$a = $p->arr[1][$i]; $t = (1, \"two\", $x); $v = $t.1; $q = &$p->f; $y = $x++ + --@m[1]")
    assert same_tree(a.value, ast.Index(S, ast.Index(S, ast.Field(S, ast.Var(S, "$p"), "arr", S), ast.IntLit(S, 1)),
                                        ast.Var(S, "$i")))
    assert same_tree(b.value, ast.TupleLit(S, [ast.IntLit(S, 1), ast.StrLit(S, b"two"), ast.Var(S, "$x")]))
    assert same_tree(c.value, ast.TupleField(S, ast.Var(S, "$t"), 1, S))
    assert same_tree(d.value, ast.AddrOf(S, ast.Field(S, ast.Var(S, "$p"), "f", S)))
    assert same_tree(e.value, ast.Binary(S, "+", ast.IncDec(S, ast.Var(S, "$x"), "++"),
                                         ast.IncDec(S, ast.MapRef(S, "@m", [ast.IntLit(S, 1)]), "--", prefix=True)))


def test_return_and_statement_ternaries():
    (a, b) = body('$c ? printf("a") : printf("b"); return')
    assert isinstance(a.expr, ast.Conditional) and same_tree(b, ast.Jump(S, "return"))


@pytest.mark.parametrize("text, value", [("010", 8), ("0", 0), ("1_000_000", 1000000), ("123UL", 123),
                                         ("123L", 123), ("7u", 7), ("0x10", 16), ("0x1fULL", 31), ("2e3", 2000)])
def test_integer_literals(text, value):
    (stmt,) = body(f"$x = {text}")
    assert stmt.value.value == value


def test_uprobe_targets_quoted_relative_and_with_offsets():
    prog = p('uprobe:"/tmp/a dir/prog":"f" { } uprobe:./prog:f+0x10 { } u:bin/x:main { }')
    assert [pr.attach_points[0].parts for pr in prog.probes] == [["/tmp/a dir/prog", "f"], ["./prog", "f+0x10"],
                                                                  ["bin/x", "main"]]
