"""Guest-only tests: collected only inside the QEMU guest, where KT_VM_GUEST=1.

A host run never collects these files (they would hit the host kernel, which has no kprobes);
tests/vm/test_guest.py runs them in the guest and reports for them. Named explicitly on the
host command line they skip, or fail under KT_REQUIRE_KERNEL=1, so they can never pass there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..runner import GUEST_ENV

IN_GUEST = os.environ.get(GUEST_ENV) == "1"

if not IN_GUEST:
    collect_ignore_glob = ["test_*.py"]

_HERE = Path(__file__).resolve().parent


def pytest_runtest_setup(item: pytest.Item) -> None:
    if IN_GUEST or _HERE not in Path(str(item.path)).resolve().parents:
        return
    reason = (f"{item.nodeid} runs inside the kprobe guest only: run `pytest tests/vm` "
              f"(it boots the guest and runs this file there)")
    if os.environ.get("KT_REQUIRE_KERNEL") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
