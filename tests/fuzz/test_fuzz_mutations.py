"""Property: a mutant of a valid script (kt's examples, Debian's /usr/sbin/*.bt) gets a
diagnostic or compiles: never a traceback, never an abort, never a hang (the worker's timeout,
harness.TIMEOUT, per compile)."""

from __future__ import annotations

from hypothesis import given, settings

from .harness import check_compile, examples, known_issue
from .mutations import mutants, seeds


def test_there_are_seed_scripts():
    assert len(seeds()) >= 4     # examples/*.kt at least; Debian's tools where installed


@settings(settings.get_profile("kt-fuzz"), max_examples=examples(200))
@given(src=mutants(seeds()))
def test_mutants_get_a_diagnostic_or_compile(worker, figures, src):
    reply = check_compile(worker, src, figures, "mutant")
    assert reply.status in ("accepted", "diagnostic") or known_issue(src, reply.detail), \
        f"{reply.status}: {reply.detail}"
