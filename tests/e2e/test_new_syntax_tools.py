"""The tools in tests/e2e/new_syntax/: small scripts written in bpftrace 0.20-0.26 syntax, one or
more per construct (docs/language.md, "Newer bpftrace syntax"). Each must compile and load with
`kt --dry-run`. Comment lines `// expect: TEXT` (repeatable) name lines its output must contain
when the tool is run, and `// expect-status: N` its exit status (default 0); only tools that end by
themselves (BEGIN/END only, exit(), a short interval) carry them."""
from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_kt

TOOLS = Path(__file__).parent / "new_syntax"
SCRIPTS = sorted(TOOLS.glob("*.bt"))


def _comments(path: Path, tag: str) -> list[str]:
    return [line.split(tag, 1)[1].strip() for line in path.read_text().splitlines()
            if line.startswith(tag)]


RUN = [p for p in SCRIPTS if _comments(p, "// expect:")]


def test_there_are_tools() -> None:
    assert len(SCRIPTS) >= 1


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_tool_compiles_and_loads(path: Path) -> None:
    run = run_kt("--dry-run", str(path), timeout=120)
    assert run.rc == 0, run.err
    assert "Traceback" not in run.err


@pytest.mark.parametrize("path", RUN, ids=[p.stem for p in RUN])
def test_tool_output(path: Path) -> None:
    run = run_kt(str(path), timeout=120)
    status = int((_comments(path, "// expect-status:") or ["0"])[0])
    assert run.rc == status, run.err
    for line in _comments(path, "// expect:"):
        assert line in run.out.splitlines(), (line, run.out)
