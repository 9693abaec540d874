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


# Peak RSS of a tracer: ru_maxrss of a child forked from the benchmark counts the benchmark's
# own pages (the high-water mark of the address space it had before exec), so the tracer runs
# under GNU time, which forks it from a small process and reports the tracer's own peak.
TIME = "/usr/bin/time"


def measured(argv: list[str], rss_file: str) -> list[str]:
    """argv run under /usr/bin/time, which writes the peak RSS in KiB to `rss_file`."""
    if not os.access(TIME, os.X_OK):
        sys.exit("GNU time (/usr/bin/time, Debian package 'time') is needed to measure peak RSS")
    return [TIME, "-q", "-f", "%M", "-o", rss_file] + argv


def peak_rss_mib(rss_file: str) -> float:
    with open(rss_file) as f:
        return int(f.read().split()[-1]) / 1024


def tracer_pid(time_pid: int) -> int:
    """The tracer's pid under /usr/bin/time (its only child); time itself ignores SIGINT."""
    with open(f"/proc/{time_pid}/task/{time_pid}/children") as f:
        children = f.read().split()
    return int(children[0]) if children else time_pid
