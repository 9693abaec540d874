"""Compiler tests are pure: tracepoint formats come from copies of real tracefs format files
under data/ (taken from Linux 6.18), so they run without root or a kernel."""

from pathlib import Path

import pytest

from kt.compiler.diagnostics import CompileError
from kt.compiler.driver import check, compile_source
from kt.compiler.options import CompileOptions
from kt.compiler.source import SourceFile

DATA = Path(__file__).parent / "data"


def options(**kw) -> CompileOptions:
    return CompileOptions(tracefs=str(DATA), **kw)


@pytest.fixture
def analyse():
    def run(text: str, **kw):
        return check(SourceFile.of("t.kt", text), options(**kw))
    return run


@pytest.fixture
def compile_text():
    def run(text: str, **kw):
        return compile_source(SourceFile.of("t.kt", text), options(**kw))
    return run


@pytest.fixture
def errors():
    """The rendered diagnostics of a script that must fail to compile."""
    def run(text: str, **kw) -> str:
        with pytest.raises(CompileError) as info:
            compile_source(SourceFile.of("t.kt", text), options(**kw))
        return info.value.render()
    return run
