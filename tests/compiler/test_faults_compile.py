"""Hostile inputs to the compiler (issue 10), through its API: a diagnostic or an object,
never a Python exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from kt.compiler.deep_stack import MAX_DEPTH
from kt.compiler.diagnostics import CompileError
from kt.compiler.parse import parse
from kt.compiler.source import SourceFile

DATA = Path(__file__).parent / "data"


def nested_ifs(n: int) -> str:
    return "BEGIN { $a = 1; " + "if ($a) { " * n + "$a = 2; " + "} " * n + "exit(); }"


def nested_whiles(n: int) -> str:
    return "BEGIN { $a = 1; " + "while ($a < 2) { " * n + "$a = 2; " + "} " * n + "exit(); }"


def chain(n: int) -> str:
    return "BEGIN { $a = 1; $b = " + " + ".join(["$a"] * n) + '; printf("%d\\n", $b); exit(); }'


def parens(n: int) -> str:
    return "BEGIN { $b = " + "(" * n + "1" + ")" * n + "; exit(); }"


def nots(n: int) -> str:
    return "BEGIN { $b = " + "!" * n + "1; exit(); }"


def ternaries(n: int) -> str:
    return "BEGIN { $a = 1; $b = " + "$a ? 1 : " * n + "0; exit(); }"


@pytest.mark.parametrize("text", [nested_ifs(200), nested_ifs(500), nested_ifs(1000), nested_whiles(200),
                                  chain(10_000), parens(5000), nots(5000), ternaries(1000)],
                         ids=["if200", "if500", "if1000", "while200", "chain10000", "parens5000",
                              "not5000", "ternary1000"])
def test_deep_nesting_compiles(compile_text, text):
    # was a RecursionError (lark's VisitError) past ~200 levels; 0.17 segfaults on chain10000
    compiled = compile_text(text)
    assert compiled.elf[:4] == b"\x7fELF"


@pytest.mark.parametrize("text", [nots(MAX_DEPTH + 10), nested_ifs(MAX_DEPTH // 2), chain(3 * MAX_DEPTH // 2)],
                         ids=["not", "if", "chain"])
def test_nesting_past_the_limit_is_a_located_error(text):
    source = SourceFile.of("deep.kt", text)
    with pytest.raises(CompileError) as err:
        parse(source)
    (d,) = err.value.diagnostics
    assert d.message == (f"the script is nested too deeply: kt's limit is {MAX_DEPTH:,} levels of syntax "
                         "(each block, operator and parenthesis is one or more)")
    assert d.hints == ("split the expression or the block with variables",)
    assert 0 < d.span.start < len(text)


def test_a_deep_error_is_a_diagnostic(compile_text):
    # a type error at the bottom of 1,000 nested ifs renders like any other
    text = nested_ifs(1000).replace("$a = 2;", '$a = "s";')
    with pytest.raises(CompileError) as err:
        compile_text(text)
    assert "t.kt:1:" in err.value.render()


# --- #define: diagnostics point into the text as written -------------------------------------
# 0.17 (through clang's preprocessor) points at the expanded text: `2:32-36` for def.kt below.

def first_error(text: str) -> str:
    from kt.compiler.driver import check
    from kt.compiler.options import CompileOptions
    with pytest.raises(CompileError) as err:
        check(SourceFile.of("def.kt", text), CompileOptions(tracefs=str(DATA)))
    return err.value.render()


def test_error_after_a_macro_points_at_the_original_column():
    text = "#define FOO 12345678\nBEGIN { $x = FOO; $y = nope; }\n"
    assert first_error(text) == ("def.kt:2:24: error: unknown builtin 'nope'\n"
                                 "BEGIN { $x = FOO; $y = nope; }\n"
                                 "                       ^~~~")


def test_error_after_a_macro_used_twice_on_one_line():
    text = '#define FOO 12345678\n#define BAR "a long string value"\nBEGIN { $x = FOO + FOO; $s = BAR; $y = nope; }\n'
    assert first_error(text) == ("def.kt:3:40: error: unknown builtin 'nope'\n"
                                 "BEGIN { $x = FOO + FOO; $s = BAR; $y = nope; }\n"
                                 "                                       ^~~~")


def test_multi_line_macro():
    text = '#define SUM 1 + \\\n   2 + \\\n  3\nBEGIN { $x = SUM; printf("%d\\n", $x); $y = nope; }\n'
    assert first_error(text) == ("def.kt:4:44: error: unknown builtin 'nope'\n"
                                 'BEGIN { $x = SUM; printf("%d\\n", $x); $y = nope; }\n'
                                 "                                           ^~~~")


def test_error_inside_an_expansion_points_at_the_macro():
    assert first_error("#define BAD nope\nBEGIN { $x = BAD; }\n") == (
        "def.kt:2:14: error: unknown builtin 'nope'\nBEGIN { $x = BAD; }\n             ^~~")


def test_syntax_error_after_a_macro():
    text = "#define A 5\n#define B (A * 2)\nBEGIN { $q = B +; }\n"
    assert first_error(text).splitlines()[:3] == ["def.kt:3:17: error: syntax error: unexpected ';'",
                                                  "BEGIN { $q = B +; }",
                                                  "                ^"]


def test_macros_in_macros_and_a_macro_naming_itself():
    from kt.compiler.preprocess import preprocess
    out = preprocess("#define A 5\n#define B (A * 2)\n#define C C + 1\nBEGIN { $x = B; $y = C; }\n")
    assert out.splitlines()[3] == "BEGIN { $x = (5 * 2); $y = C + 1; }"


def test_positions_map_both_ends():
    from kt.compiler.preprocess import preprocess_positions
    text = "#define LONGER 1\nBEGIN { $a = LONGER; $b = 2; }"
    out, pos = preprocess_positions(text)
    use = text.index("LONGER;")
    assert out[use:use + 1] == "1"
    assert (pos.start(use), pos.end(use + 1)) == (use, use + len("LONGER"))
    b_out, b_src = out.index("$b"), text.index("$b")
    assert (pos.start(b_out), pos.end(b_out + 2)) == (b_src, b_src + 2)


def test_function_like_macro_is_named():
    # 0.17 (clang) expands them; kt read `X(a) a` as an object-like X = "(a) a"
    assert first_error('#define X(a) a\nBEGIN { printf("%d\\n", X(5)); }\n') == (
        "def.kt:1:9: error: macros with parameters ('X(...)') are not supported\n"
        "#define X(a) a\n"
        "        ^\n"
        "hint: kt substitutes #define NAME VALUE")


def test_a_failed_assignment_reports_once():
    # the later use of $r no longer adds "variable '$r' is used before it is assigned"
    text = 'BEGIN { $p = curtask; $q = curtask; $r = $p - $q; printf("%d\\n", $r); }\n'
    assert first_error(text) == (
        "def.kt:1:42: error: '-' takes a pointer and an integer, not struct task_struct * and "
        "struct task_struct *\n"
        'BEGIN { $p = curtask; $q = curtask; $r = $p - $q; printf("%d\\n", $r); }\n'
        "                                         ^~~~~~~\n"
        "hint: cast the pointers to uint64 to subtract addresses")
