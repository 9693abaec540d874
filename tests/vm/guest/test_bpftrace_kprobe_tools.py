"""Debian's kprobe tools (/usr/sbin/*.bt with kprobes or kretprobes, and tcpdrop) under kt and
bpftrace 0.17 in the same guest: kt must attach, trace and exit 0 after Ctrl-C wherever
bpftrace 0.17 does, and for tcpdrop, which 0.17 cannot compile here (it #includes kernel
headers this machine does not have) but kt, reading BTF, can.

All runs go at once, a few at a time (tools only read kernel state); each is stopped a moment
after it reports tracing (tool_runs.py), so the whole file costs about what the slowest few
start-ups cost, not 22 s a tool.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kt.runtime.attach.kprobe import kt_kprobe_events

from .tool_runs import SETTLE, run_all

pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(shutil.which("bpftrace") is None,
                                 reason="bpftrace 0.17 is not installed")]

SBIN = Path("/usr/sbin")
KPROBE_TOOLS = sorted(p.stem for p in SBIN.glob("*.bt")
                      if "kprobe:" in p.read_text() or "kretprobe:" in p.read_text())
# tcpdrop traces tracepoint:skb:kfree_skb; 0.17 fails on its #include <net/sock.h>.
EXTRA_TOOLS = ["tcpdrop"]
# Tools that print nothing in BEGIN: only the status line says they are tracing, and 0.17
# prints it before attaching, so these get a longer moment before Ctrl-C.
SILENT = {"swapin"}
SILENT_SETTLE = 20.0


def _kt() -> list[str]:
    import sys
    exe = shutil.which("kt")
    return [exe] if exe else [sys.executable, "-m", "kt.runtime.cli"]


@pytest.fixture(scope="module")
def runs():
    tools = KPROBE_TOOLS + [t for t in EXTRA_TOOLS if t not in KPROBE_TOOLS]
    jobs = {}
    for tool in tools:
        path = str(SBIN / f"{tool}.bt")
        expects = tool not in SILENT
        settle = SILENT_SETTLE if tool in SILENT else SETTLE
        jobs[("kt", tool)] = (_kt() + [path], expects, settle)
        jobs[("bpftrace", tool)] = (["bpftrace", path], expects, settle)
    results = run_all(jobs)
    for (who, tool), r in sorted(results.items()):
        print(f"{tool:12} {who:9} ok={r.ok} attach={r.seconds_to_attach}s rc={r.returncode}")
    return tools, results


def test_debian_ships_the_kprobe_tools(runs):
    tools, _ = runs
    assert len(tools) >= 18, tools


def test_kt_runs_every_kprobe_tool_bpftrace_runs(runs):
    tools, results = runs
    failures = []
    for tool in tools:
        theirs, ours = results[("bpftrace", tool)], results[("kt", tool)]
        if (theirs.ok or tool in EXTRA_TOOLS) and not ours.ok:
            failures.append(f"=== {tool}: bpftrace ok={theirs.ok}, kt failed\n{ours.describe()}"
                            f"\n--- bpftrace ---\n{theirs.describe()}")
    assert not failures, "\n\n".join(failures)
    assert kt_kprobe_events() == []


def test_bpftrace_still_fails_where_kt_goes_further(runs):
    """tcpdrop is the case where kt does better: 0.17 needs kernel headers for it."""
    _, results = runs
    assert not results[("bpftrace", "tcpdrop")].ok
    assert results[("kt", "tcpdrop")].ok


def test_missing_functions_are_skipped_with_bpftrace_s_warning(runs):
    """biolatency names blk_account_io_start and __blk_account_io_start; 6.1 has only the
    second. Both print a warning for the one skipped and trace with the other."""
    _, results = runs
    ours, theirs = results[("kt", "biolatency")], results[("bpftrace", "biolatency")]
    warning = "WARNING: could not attach probe kprobe:blk_account_io_start, skipping."
    assert warning in theirs.stderr
    assert warning in ours.stderr
