"""iter:task and iter:task_file in Debian's 6.1 beside bpftrace 0.17 in the same guest (on the
development host 0.17 refuses every iterator: its feature probe needs a readable
available_filter_functions, which the host denies, though the host kernel runs iterators; the
host suite, tests/e2e/test_iter.py, runs kt's iterators there).

Every script filters on the pid of a child the test starts (`sleep`, with known open files), so
only that task's data is printed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.listings import without_task_vma

from .helpers import bpftrace, kt

pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(shutil.which("bpftrace") is None, reason="bpftrace 0.17 is not installed")]


@pytest.fixture
def child(tmp_path):
    """A sleeping task with fds 0 (/dev/null), 1 and 2 (a file of the test's)."""
    out = open(tmp_path / "child.out", "w")
    proc = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    yield proc.pid
    proc.kill()
    proc.wait()
    out.close()


def _lines(stdout: str) -> list[str]:
    lines = [ln for ln in stdout.split("\n") if not re.fullmatch(r"Attaching \d+ probes?\.\.\.", ln)]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def _both(*args: str):
    theirs = bpftrace(*args)
    ours = kt(*args)
    return theirs, ours


def _same(*args: str) -> list[str]:
    """The same output from both; kt's listings also have iter:task_vma (bpftrace 0.21), which
    0.17 does not know: left out of the comparison."""
    theirs, ours = _both(*args)
    assert theirs.returncode == 0, f"bpftrace: {theirs.stderr}"
    assert ours.returncode == 0, f"kt: {ours.stderr}"
    kt_out = without_task_vma(ours.stdout) if args[0].startswith("-l") else ours.stdout
    assert _lines(kt_out) == _lines(theirs.stdout), \
        f"bpftrace:\n{theirs.stdout}\n---\nkt:\n{ours.stdout}\n---kt stderr\n{ours.stderr}"
    return _lines(ours.stdout)


def test_iter_task_fields_of_one_task(child):
    out = _same("-e", f'iter:task /ctx->task->pid == {child}/ '
                      f'{{ printf("%s %d %d\\n", ctx->task->comm, ctx->task->pid, ctx->task->tgid); }}')
    assert out == [f"sleep {child} {child}"]


def test_iter_task_file_fds_of_one_task(child):
    """0.17 skips fd 0: it leaves out every call where a member of the context is 0, to skip
    the walk's end (NULL task), and fd 0 is 0 too. kt skips only the end (a NULL task), so it
    prints fd 0 besides what 0.17 prints."""
    theirs, ours = _both("-e", f'iter:task_file /ctx->task->pid == {child}/ {{ printf("%d\\n", ctx->fd); }}')
    assert theirs.returncode == 0 and ours.returncode == 0, ours.stderr
    assert _lines(theirs.stdout) == ["1", "2"], theirs.stdout
    assert _lines(ours.stdout) == ["0", "1", "2"]


def test_iter_task_file_names_and_maps_at_exit(child):
    theirs, ours = _both("-e", f'iter:task_file /ctx->task->pid == {child}/ '
                               f'{{ @[ctx->fd, str(ctx->file->f_path.dentry->d_name.name)] = count(); }}')
    assert theirs.returncode == 0 and ours.returncode == 0, ours.stderr
    # Entries with equal values: 0.17 prints them in random order (kt in key order), so sorted.
    assert sorted(_lines(theirs.stdout)) == ["", "", "@[1, child.out]: 1", "@[2, child.out]: 1"], theirs.stdout
    assert _lines(ours.stdout) == ["", "", "@[0, null]: 1", "@[1, child.out]: 1", "@[2, child.out]: 1"]


def test_iter_task_then_end(child):
    out = _same("-e", f'BEGIN {{ printf("begin\\n"); }} iter:task /ctx->task->pid == {child}/ '
                      f'{{ @n = count(); }} END {{ printf("end\\n"); }}')
    assert out[0] == "begin" and "end" in out and "@n: 1" in out


def test_iter_skips_the_end_of_the_walk_as_0_17_does():
    """The kernel runs an iterator program once more at the end with a NULL task (in_stop);
    0.17 leaves that call out, and so does kt."""
    assert _same("-e", "iter:task { @null = sum(ctx->task == 0); }") == ["", "", "@null: 0"]


def test_listing_iterators():
    _same("-l", "iter:*")


@pytest.mark.parametrize("pattern", ["iter:task", "iter:task_file", "iter:*"])
def test_listing_iterators_verbosely(pattern):
    _same("-lv", pattern)


def test_two_iterators_in_one_probe_is_refused():
    theirs, ours = _both("-e", "iter:task, iter:task_file { }")
    assert theirs.returncode != 0 and ours.returncode != 0
    msg = [ln.split("ERROR: ", 1)[1] for ln in theirs.stderr.splitlines() if "ERROR: " in ln]
    assert msg == ["Only single iter attach point is allowed."], theirs.stderr
    assert [ln.split("error: ", 1)[1] for ln in ours.stderr.splitlines() if "error: " in ln] == msg
