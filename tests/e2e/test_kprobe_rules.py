"""bpftrace 0.17's rules for kernel probes that this host can check without kprobes (it has
none; tests/vm runs the rest in Debian's 6.1): banned kretprobes, override() and path()
refused where 0.17 refuses them, with 0.17's words, and attach points that cannot attach
skipped with 0.17's warning when the probe names others.

REFUSED cases run under kt and bpftrace 0.17 and both must refuse with the given words. 0.17
refuses a banned kretprobe only when it comes to attach it (after attaching the probes before
it); kt refuses it at compile time, before anything is loaded.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from .conftest import run_kt
from .test_differential import BPFTRACE, CHILD_ENV
from .test_types_differential import NEEDS_BPFTRACE

pytestmark = [pytest.mark.kernel]

BANNED = "can't be used as it might lock up your system."

REFUSED = {   # name: (argv after the tracer, words both must print)
    "banned_raw_spin_lock": (["-e", "kretprobe:_raw_spin_lock { exit(); }"],
                             f"kretprobe:_raw_spin_lock {BANNED}"),
    "banned_queued_spin_lock_slowpath": (["-e", "kretprobe:queued_spin_lock_slowpath { exit(); }"],
                                         f"kretprobe:queued_spin_lock_slowpath {BANNED}"),
    "banned_in_a_list": (["-e", "kretprobe:_raw_spin_unlock_irqrestore, kretprobe:vfs_read { exit(); }"],
                         f"kretprobe:_raw_spin_unlock_irqrestore {BANNED}"),
    "banned_after_another_probe": (["-e", "kprobe:vfs_read { exit(); } kretprobe:_raw_spin_lock_irqsave { exit(); }"],
                                   f"kretprobe:_raw_spin_lock_irqsave {BANNED}"),
    "override_needs_unsafe": (["-e", "kprobe:vfs_read { override(1); }"],
                              "override() is an unsafe function being used in safe mode"),
    "override_in_kretprobe": (["--unsafe", "-e", "kretprobe:vfs_read { override(1); }"],
                              "override can only be used with kprobes."),
    "override_in_tracepoint": (["--unsafe", "-e", "tracepoint:syscalls:sys_enter_getpid { override(1); }"],
                               "override can only be used with kprobes."),
    "override_of_a_string": (["--unsafe", "-e", 'kprobe:vfs_read { override("a"); }'],
                             "override() only supports integer arguments (string provided)"),
    "override_without_argument": (["--unsafe", "-e", "kprobe:vfs_read { override(); }"],
                                  "override() requires at least one argument (0 provided)"),
    "override_of_two": (["--unsafe", "-e", "kprobe:vfs_read { override(1, 2); }"],
                        "override() takes up to one argument (2 provided)"),
    "path_in_kprobe": (["-e", 'kprobe:vfs_open { printf("%s\\n", path(arg0)); }'],
                       "The path function can only be used with 'kfunc', 'kretfunc', 'iter' probes"),
    "path_in_tracepoint": (["-e", "tracepoint:syscalls:sys_enter_getpid { print(path(1)); }"],
                           "The path function can only be used with 'kfunc', 'kretfunc', 'iter' probes"),
}


def _bpftrace(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([BPFTRACE, *argv], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **CHILD_ENV}, stdin=subprocess.DEVNULL)


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_bpftrace_refuses(name):
    argv, words = REFUSED[name]
    theirs = _bpftrace(argv)
    assert theirs.returncode != 0 and words in theirs.stderr, theirs.stderr
    ours = run_kt(*argv)
    assert ours.rc != 0 and words in ours.err, ours.err
    assert "Traceback" not in ours.err
    assert "Attached" not in ours.err      # refused before anything was loaded


def test_a_wildcard_that_expands_to_a_banned_kretprobe_is_refused():
    """0.17 refuses it too once it reaches that function; kt names it before attaching any."""
    ours = run_kt("-e", "kretprobe:_raw_spin_lock* { exit(); }")
    assert ours.rc != 0
    assert f"kretprobe:_raw_spin_lock {BANNED}" in ours.err
    assert "Attached" not in ours.err


def test_kprobes_that_cannot_attach_are_skipped_beside_probes_that_can():
    """This host has no kprobes, so neither kprobe attaches: both are skipped with 0.17's
    warning (the probe names several attach points) and the tracepoint traces the child."""
    r = run_kt("-e", "kprobe:vfs_read, kprobe:kt_no_such_function, "
                     "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @n = count(); }",
               "-c", "/bin/sh -c 'true'")
    assert r.rc == 0, r.err
    assert "WARNING: could not attach probe kprobe:vfs_read, skipping." in r.err
    assert "WARNING: could not attach probe kprobe:kt_no_such_function, skipping." in r.err
    assert "Attached 1 probe\n" in r.err
    assert "Traceback" not in r.err


def test_nothing_attached_is_an_error():
    """0.17 then runs with no probe at all until Ctrl-C; kt says so and exits 1."""
    r = run_kt("-e", "kprobe:vfs_read, kprobe:vfs_write { @ = count(); }")
    assert r.rc == 1
    assert "WARNING: could not attach probe kprobe:vfs_read, skipping." in r.err
    assert "no probe could be attached (skipped: kprobe:vfs_read, kprobe:vfs_write)" in r.err


def test_a_single_kprobe_that_cannot_attach_is_an_error():
    """As 0.17: one explicit attach point is what the user wanted; no warning, an error."""
    r = run_kt("-e", "kprobe:vfs_read { @ = count(); }")
    assert r.rc == 1
    assert "cannot attach kprobe:vfs_read" in r.err
    assert "skipping" not in r.err


def test_a_wildcard_that_matches_nothing_is_skipped_in_a_list_and_an_error_alone():
    listed = run_kt("-e", "kprobe:kt_nothing_matches_*, tracepoint:syscalls:sys_enter_getppid "
                          "/pid == cpid/ { @n = count(); }", "-c", "/bin/true")
    assert listed.rc == 0, listed.err
    assert "no kernel function that can be probed matches 'kt_nothing_matches_*': skipped" in listed.err
    alone = run_kt("-e", "kprobe:kt_nothing_matches_* { @n = count(); }")
    assert alone.rc == 1            # 0.17: "No probes to attach"; kt names the wildcard
    assert "error: no kernel function that can be probed matches 'kt_nothing_matches_*'\n" in alone.err


def test_no_warnings_drops_the_skip_warning():
    r = run_kt("--no-warnings", "-e", "kprobe:vfs_read, tracepoint:syscalls:sys_enter_getppid "
                                      "/pid == cpid/ { @n = count(); }", "-c", "/bin/true")
    assert r.rc == 0, r.err
    assert "WARNING" not in r.err and "Attached 1 probe" in r.err


def test_begin_and_end_go_on_when_every_kprobe_is_skipped():
    """xfsdist.bt without xfs: 0.17 warns for each kprobe, runs BEGIN and waits; so does kt."""
    r = run_kt("-e", 'BEGIN { printf("tracing\\n"); exit(); } kprobe:vfs_read, kprobe:vfs_write { @ = count(); } '
                     'END { printf("end\\n"); }')
    assert r.rc == 0, r.err
    assert r.out.startswith("tracing\n") and "end\n" in r.out
    assert "WARNING: could not attach probe kprobe:vfs_write, skipping." in r.err
    assert "Attached 2 probes" in r.err
