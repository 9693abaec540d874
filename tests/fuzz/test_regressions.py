"""What the fuzzers found, one test each, in the words of the property that caught it.

Each runs its program through a worker (harness.py), as the fuzz tests do, so an abort fails
the test instead of killing pytest. Items another part of issue 10 owns are xfail(strict=True)
naming the owner; the lead removes the mark when the fix is merged (and the matching entry of
harness.KNOWN, which lets the bounded fuzz runs go on past them meanwhile).
"""

from __future__ import annotations

import pytest

from .harness import Worker


@pytest.fixture(scope="module")
def worker():
    with Worker() as w:
        yield w


def compiles_or_diagnoses(worker: Worker, src: str):
    reply = worker.submit(src)
    assert reply.status in ("accepted", "diagnostic"), f"{reply.status}: {reply.detail[-1500:]}"
    return reply


@pytest.mark.xfail(strict=True, reason="faults (issue 10, listed): `if` nested ~200 deep is a RecursionError "
                                       "in parse; found again by the mutation fuzzer (nest mutation, depth 300)")
def test_deeply_nested_ifs_get_a_diagnostic_or_compile(worker):
    depth = 300
    compiles_or_diagnoses(worker, "BEGIN { " + "if (1) { " * depth + "@n = 1;" + " }" * depth + " }")
