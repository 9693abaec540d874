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
