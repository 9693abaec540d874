"""Property: compiling a generated program raises nothing but kt's diagnostic (CompileError),
never aborts (an LLVM abort kills the worker, not the test) and never hangs.

The compile runs in the worker (harness.py) through the compiler's API, as the kt command
calls it (compile_source on a SourceFile, with the machine's facts).
"""

from __future__ import annotations

from hypothesis import given, settings

from .harness import check_compile, examples, known_issue
from .strategies import programs


@settings(settings.get_profile("kt-fuzz"), max_examples=examples(120))
@given(src=programs("run"))
def test_generated_programs_compile_or_get_a_diagnostic(worker, figures, src):
    reply = check_compile(worker, src, figures)
    assert reply.status in ("accepted", "diagnostic") or known_issue(src, reply.detail), \
        f"{reply.status}: {reply.detail}"


@settings(settings.get_profile("kt-fuzz"), max_examples=examples(60))
@given(src=programs("compare"))
def test_generated_begin_programs_compile(worker, figures, src):
    # The compare mode's programs are meant to be valid everywhere: each must be accepted.
    reply = check_compile(worker, src, figures)
    assert reply.status == "accepted" or known_issue(src, reply.detail), f"{reply.status}: {reply.detail}"
