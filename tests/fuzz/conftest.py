"""Fixtures of the fuzz tests: one worker process per module, figures printed at the end."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings

from .harness import Figures, Worker

# The bounded, seeded runs of the suite: the same examples every time (derandomize), no
# example database (CI starts clean; a local database would make runs differ), no deadline
# (a loaded 2-core machine is slow), no shrinking (each step is a compile or a trace: minutes;
# the failure names its whole program). KT_FUZZ_EXAMPLES raises max_examples (harness.examples).
settings.register_profile("kt-fuzz", derandomize=True, database=None, deadline=None, print_blob=True,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate],
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def worker():
    with Worker() as w:
        yield w


@pytest.fixture(scope="module")
def figures(request):
    f = Figures()
    yield f
    # -s shows them; the long run (python3 -m tests.fuzz.run) prints them always
    print("\n" + f.report(f"fuzz figures of {request.module.__name__}"))
