"""runtime/attach/dynamic_events on the host, through uprobe_events (this kernel has uprobes;
kprobe_events exists only in the QEMU guest, tests/vm/guest/test_kprobe_events.py): entries
are created and named kt_<pid>_<start>_<n>, removed on close and by the finalizer, a stale
entry of a dead kt is swept while a live kt's and other tools' entries stay, and a kt killed
with an entry in place leaves it for the next sweep."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys

import pytest

from kt.runtime.attach import dynamic_events
from kt.runtime.attach.dynamic_events import (UPROBE_EVENTS, DynamicEventLink, is_stale_event_name,
                                              kt_events, new_event_name, start_time, sweep_stale,
                                              write_command)
from kt.runtime.attach.uprobe import attach_uprobe
from kt.runtime.loader import load_object
from kt.runtime.spec import parse_object

from . import uprobe_target
from .test_uprobe import ENTRY, SECTION, count, leaf_offset, uprobe_object

pytestmark = pytest.mark.kernel


# --- names (no kernel needed) ------------------------------------------------------------------

def test_names_are_unique_and_carry_pid_and_start_time():
    a, b = new_event_name(), new_event_name()
    assert a != b
    assert a.startswith(f"kt_{os.getpid()}_{start_time(os.getpid())}_") and not is_stale_event_name(a)


def test_stale_names():
    pid = os.getpid()
    start = start_time(pid)
    assert start is not None
    assert not is_stale_event_name(f"kt_{pid}_{start}_0")           # alive: mine
    assert is_stale_event_name(f"kt_{pid}_{start + 1}_0")           # pid reused since
    assert not is_stale_event_name(f"kt_{pid}_0_3")                 # start unknown: alive
    assert is_stale_event_name("kt_4194304_5_0")                    # above pid_max: gone
    assert not is_stale_event_name("p_vfs_read_0")                  # not kt's
    assert not is_stale_event_name("kt_12_x_0")


def test_a_zombie_kt_is_gone():
    """A SIGKILLed kt not yet reaped by its parent (a zombie) holds no descriptors: what it
    attached is orphaned, so its names are stale although /proc/PID still exists."""
    import signal
    import time

    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    try:
        start = start_time(child)
        assert start is not None and not is_stale_event_name(f"kt_{child}_{start}_0")
        os.kill(child, signal.SIGKILL)
        for _ in range(200):   # until it is a zombie (not reaped: no waitpid yet)
            if start_time(child) is None:
                break
            time.sleep(0.01)
        assert os.path.exists(f"/proc/{child}")
        assert is_stale_event_name(f"kt_{child}_{start}_0")
    finally:
        os.waitpid(child, 0)


# --- entries in uprobe_events ----------------------------------------------------------------

@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    return uprobe_target.build(tmp_path_factory.mktemp("dynamic_events"))


def _text() -> str:
    return dynamic_events.events_path(UPROBE_EVENTS).read_text()


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_an_entry_is_named_attached_and_removed_on_close(programs):
    before = kt_events(UPROBE_EVENTS)
    n = 3
    with uprobe_target.Running(programs.pie, n) as child:
        with load_object(parse_object(uprobe_object(child.pid))) as obj:
            prog = obj.program_in(SECTION).fd
            with attach_uprobe(prog, str(programs.pie), leaf_offset(programs.pie), cookie=ENTRY,
                               legacy=True) as link:
                assert isinstance(link, DynamicEventLink)
                group, name = link.event.split("/")
                assert group == "uprobes"
                _kt, pid, start, _n = name.split("_")
                assert (int(pid), int(start)) == (os.getpid(), start_time(os.getpid()))
                assert kt_events(UPROBE_EVENTS) == before + [link.event]
                # the kernel lists the offset as 0x%016lx
                assert f"p:{link.event} {programs.pie}:0x{leaf_offset(programs.pie):016x}" in _text()
                child.go()
                child.finish()
                assert count(obj, ENTRY) == n
            assert link.closed
    assert kt_events(UPROBE_EVENTS) == before


def test_the_finalizer_removes_an_entry(programs):
    before = kt_events(UPROBE_EVENTS)
    with load_object(parse_object(uprobe_object(os.getpid()))) as obj:
        link = attach_uprobe(obj.program_in(SECTION).fd, str(programs.pie), leaf_offset(programs.pie),
                             legacy=True)
        assert kt_events(UPROBE_EVENTS) == before + [link.event]
        del link
        gc.collect()
        assert kt_events(UPROBE_EVENTS) == before


def test_sweep_removes_a_dead_kts_entry_and_keeps_the_others(programs):
    target = f"{programs.pie}:0x{leaf_offset(programs.pie):x}"
    me = os.getpid()
    dead = f"kt_{_dead_pid()}_{start_time(me)}_0"        # its kt is gone
    reused = f"kt_{me}_{start_time(me) + 1}_0"           # this pid, but another process's
    live = f"kt_{me}_{start_time(me)}_999"               # a live kt's (this process)
    other = f"not_kt_{me}"                               # another tool's
    made = [dead, reused, live, other]
    for name in made:
        write_command(UPROBE_EVENTS, f"p:uprobes/{name} {target}")
    try:
        removed = sweep_stale(UPROBE_EVENTS)
        assert f"uprobes/{dead}" in removed and f"uprobes/{reused}" in removed
        assert f"uprobes/{live}" not in removed and f"uprobes/{other}" not in removed
        text = _text()
        assert f"uprobes/{dead} " not in text and f"uprobes/{reused} " not in text
        assert f"uprobes/{live} " in text and f"uprobes/{other} " in text
    finally:
        for name in made:
            dynamic_events.remove_event(UPROBE_EVENTS, "uprobes", name)
    assert not any(f"uprobes/{name} " in _text() for name in made)


# A kt stand-in: attaches a legacy uprobe with the program fd it inherited, says which entry it
# made, and waits to be killed.
CREATOR = """
import sys, time
from kt.runtime.attach.uprobe import attach_uprobe
link = attach_uprobe(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), legacy=True)
print(link.event, flush=True)
time.sleep(600)
"""


def test_a_killed_kts_entry_stays_until_the_next_sweep(programs):
    with load_object(parse_object(uprobe_object(os.getpid()))) as obj:
        fd = obj.program_in(SECTION).fd.fd
        proc = subprocess.Popen([sys.executable, "-c", CREATOR, str(fd), str(programs.pie),
                                 str(leaf_offset(programs.pie))],
                                pass_fds=(fd,), stdout=subprocess.PIPE, text=True)
        try:
            entry = proc.stdout.readline().strip()
            assert entry.startswith(f"uprobes/kt_{proc.pid}_"), proc.communicate(timeout=5)
            assert entry in kt_events(UPROBE_EVENTS)
            assert entry not in sweep_stale(UPROBE_EVENTS)      # its kt is alive: kept
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
        assert entry in kt_events(UPROBE_EVENTS)                # SIGKILL: nobody cleaned up
        assert entry in sweep_stale(UPROBE_EVENTS)
        assert entry not in kt_events(UPROBE_EVENTS)
