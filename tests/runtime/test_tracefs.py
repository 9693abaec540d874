"""runtime/tracefs: the mount point and tracepoint ids."""

from __future__ import annotations

import pytest

from kt.runtime.tracefs import TracefsError, event_id, tracefs_root


def test_rejects_path_tricks():
    with pytest.raises(ValueError):
        event_id("..", "x")
    with pytest.raises(ValueError):
        event_id("syscalls", "a/b")


@pytest.mark.kernel
def test_root_and_event_id():
    root = tracefs_root()
    assert (root / "events").is_dir()
    tp_id = event_id("syscalls", "sys_enter_getpid")
    assert tp_id > 0
    assert int((root / "events/syscalls/sys_enter_getpid/id").read_text()) == tp_id


@pytest.mark.kernel
def test_missing_event_says_which():
    with pytest.raises(TracefsError, match="tracepoint syscalls:no_such_event does not exist"):
        event_id("syscalls", "no_such_event")


@pytest.mark.kernel
def test_mounts_tracefs_when_missing():
    # In a private mount namespace (the host's mounts are untouched) unmount every tracefs and
    # debugfs, then ask for the root: kt must mount tracefs at /sys/kernel/tracing itself.
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to get a private mount namespace")
    script = (
        "umount /sys/kernel/debug/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; "
        "umount /sys/kernel/tracing 2>/dev/null; "
        "grep -c -E ' (tracefs|debugfs) ' /proc/self/mounts; "
        f"{sys.executable} -c 'from kt.runtime.tracefs import tracefs_root, event_id; "
        "print(tracefs_root(), event_id(\"syscalls\", \"sys_enter_getpid\") > 0)'"
    )
    out = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "/sys/kernel/tracing", "True"]
