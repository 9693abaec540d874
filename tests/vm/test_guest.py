"""The guest suite as host tests: one per guest test file, failing with the guest's output.

The guest boots once per session (conftest.guest_run); each test here checks that every test
of its guest file ran in the guest and passed. A guest test that skipped counts as a failure:
inside the guest everything needed is there, so a skip would hide an untested kprobe path.
"""

from __future__ import annotations

import pytest

from .runner import GUEST_DIR, GuestRun

pytestmark = pytest.mark.vm

GUEST_FILES = sorted(p.name for p in GUEST_DIR.glob("test_*.py"))


def _explain(run: GuestRun, what: str, details: str = "") -> str:
    return (f"{what}\n\nguest command: {' '.join(run.command)}\n"
            f"guest pytest exit status: {run.returncode}; {run.seconds:.0f} s\n"
            + (f"\n{details}\n" if details else "")
            + f"\n--- guest output (tail) ---\n{run.tail()}")


@pytest.mark.parametrize("guest_file", GUEST_FILES)
def test_guest_file(guest_run: GuestRun, guest_file: str) -> None:
    if guest_run.problem:
        pytest.fail(_explain(guest_run, guest_run.problem), pytrace=False)
    cases = guest_run.for_file(guest_file)
    if not cases:
        pytest.fail(_explain(guest_run, f"no test of tests/vm/guest/{guest_file} ran in the "
                                        f"guest"), pytrace=False)
    bad = [c for c in cases if c.outcome not in ("passed", "xfailed")]
    if bad:
        details = "\n\n".join(f"=== {c.name}: {c.outcome.upper()} ===\n{c.message}" for c in bad)
        pytest.fail(_explain(guest_run, f"{len(bad)} of {len(cases)} guest tests in "
                                         f"{guest_file} did not pass: "
                                         f"{', '.join(c.name for c in bad)}", details),
                    pytrace=False)


def test_guest_suite_exit_status(guest_run: GuestRun) -> None:
    """pytest's own verdict in the guest (catches collection errors of a whole file)."""
    if guest_run.problem:
        pytest.fail(_explain(guest_run, guest_run.problem), pytrace=False)
    if guest_run.returncode != 0:
        pytest.fail(_explain(guest_run, f"the guest's pytest exited with "
                                        f"{guest_run.returncode}"), pytrace=False)
