"""Host side of the kprobe guest tests: one boot per pytest session, shared by every vm test.

The guest's own tests (tests/vm/guest) are never collected by a host run; the host tests in
tests/vm/test_guest.py stand for them, one per guest test file, and are what CI counts. Without
the guest's prerequisites (vng, qemu, a readable /boot/vmlinuz-*-amd64) they skip with the
reason, and fail under KT_REQUIRE_KERNEL=1, like every kernel test.
"""

from __future__ import annotations

import os

import pytest

from .runner import GUEST_ENV, GuestRun, missing_prerequisites, run_guest

REQUIRE_ENV = "KT_REQUIRE_KERNEL"

_result: GuestRun | None = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vm: boots the QEMU guest with Debian's kernel to test "
                                       "kprobes (tests/vm/runner.py)")


@pytest.fixture(scope="session")
def guest_run() -> GuestRun:
    """Boot the guest once and run the whole guest suite in it."""
    global _result
    if os.environ.get(GUEST_ENV) == "1":
        pytest.skip("already inside the guest: no nested guest")
    reason = missing_prerequisites()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason} ({REQUIRE_ENV}=1: the kprobe guest tests must run)",
                        pytrace=False)
        pytest.skip(reason)
    _result = run_guest()
    return _result


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _result is None:
        return
    r = _result
    counts: dict[str, int] = {}
    for c in r.cases:
        counts[c.outcome] = counts.get(c.outcome, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no tests"
    ran = sum(c.seconds for c in r.cases)
    terminalreporter.write_sep("-", "kprobe guest")
    terminalreporter.write_line(
        f"{r.kernel.name}: {summary}; {r.seconds:.0f} s for boot + guest pytest "
        f"({ran:.0f} s inside tests){'; ' + r.problem if r.problem else ''}")
