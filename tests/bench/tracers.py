"""What every benchmark here runs: kt and bpftrace, found the same way, in the same environment."""

from __future__ import annotations

import os
import shutil
import sys

# As on a user's machine, Python may cache kt's bytecode: a session that sets
# PYTHONDONTWRITEBYTECODE (some tool environments do) would otherwise compile every module of
# an editable install on every start.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def kt_binary() -> str:
    """The console script beside this interpreter, not a version manager's shim in front of it."""
    beside = os.path.join(os.path.dirname(sys.executable), "kt")
    return beside if os.access(beside, os.X_OK) else shutil.which("kt") or sys.exit("kt is not installed")


def bpftrace_binary() -> str:
    return shutil.which("bpftrace") or sys.exit("bpftrace is not installed")
