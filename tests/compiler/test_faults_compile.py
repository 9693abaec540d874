"""Hostile inputs to the compiler (issue 10), through its API: a diagnostic or an object,
never a Python exception."""

from __future__ import annotations

import pytest

from kt.compiler.deep_stack import MAX_DEPTH
from kt.compiler.diagnostics import CompileError
from kt.compiler.parse import parse
from kt.compiler.source import SourceFile


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
