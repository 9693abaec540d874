"""runtime/attach/uprobe: a hand-written uprobe program counts calls of a C program the test
builds and runs; only that child's hits are counted (a tgid filter), its user stacks are
symbolized, and nothing is left attached afterwards."""

from __future__ import annotations

import errno
import os

import pytest

from kt.compiler.formats import elfsyms
from kt.runtime.attach import AttachError
from kt.runtime.attach.uprobe import attach_uprobe, uprobe_pmu_type
from kt.runtime.layout import StackType, decode, encode
from kt.runtime.loader import load_object
from kt.runtime.output.text import format_value
from kt.runtime.spec import parse_object
from kt.runtime.symbols import StackReader, Symbolizer, UserSymbols, format_stack, value_context
from kt.runtime.sys.constants import MapType
from kt.runtime.tracefs import tracefs_root

from . import uprobe_target
from .kernel_state import bpftool_ids, open_fds, wait_until
from .objects import GET_CURRENT_PID_TGID, MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, ObjectBuilder

pytestmark = pytest.mark.kernel

GET_STACKID = 27
GET_ATTACH_COOKIE = 174
BPF_F_USER_STACK = 1 << 8
STACK_VALUE = 127 * 8
SECTION = "uprobe/target:leaf"
ENTRY, RETURN = 1, 2     # the cookies the tests attach with


def uprobe_object(pid: int) -> bytes:
    """One KPROBE program for uprobes: for tgid `pid` only, count hits in HASH `counts` keyed
    by the link's cookie, and user stack ids in HASH `stackids` (id -> hits) through the
    STACK_TRACE map `stacks`."""
    b = ObjectBuilder()
    b.map("counts", MapType.HASH, 16, key_size=8, value_size=8)
    b.map("stackids", MapType.HASH, 64, key_size=8, value_size=8)
    b.map("stacks", MapType.STACK_TRACE, 64, key_size=4, value_size=STACK_VALUE)

    def bump(mapname: str, keyvar: str, tag: str, nxt: str) -> str:
        return f"""
  %v{tag} = call ptr inttoptr (i64 {MAP_LOOKUP_ELEM} to ptr)(ptr @{mapname}, ptr {keyvar}){{dbg}}
  %n{tag} = icmp eq ptr %v{tag}, null
  br i1 %n{tag}, label %init{tag}, label %inc{tag}
init{tag}:
  store i64 1, ptr %one, align 8
  %u{tag} = call i64 inttoptr (i64 {MAP_UPDATE_ELEM} to ptr)(ptr @{mapname}, ptr {keyvar}, ptr %one, i64 1){{dbg}}
  br label %{nxt}
inc{tag}:
  %o{tag} = atomicrmw add ptr %v{tag}, i64 1 monotonic
  br label %{nxt}
"""

    b.program("on_leaf", SECTION, f"""
entry:
  %key = alloca i64, align 8
  %sid = alloca i64, align 8
  %one = alloca i64, align 8
  %pt = call i64 inttoptr (i64 {GET_CURRENT_PID_TGID} to ptr)(){{dbg}}
  %tgid64 = lshr i64 %pt, 32
  %mine = icmp eq i64 %tgid64, {pid}
  br i1 %mine, label %count, label %out
count:
  %cookie = call i64 inttoptr (i64 {GET_ATTACH_COOKIE} to ptr)(ptr %ctx){{dbg}}
  store i64 %cookie, ptr %key, align 8
{bump("counts", "%key", "c", "stack")}
stack:
  %id = call i64 inttoptr (i64 {GET_STACKID} to ptr)(ptr %ctx, ptr @stacks, i64 {BPF_F_USER_STACK}){{dbg}}
  store i64 %id, ptr %sid, align 8
{bump("stackids", "%sid", "s", "out")}
out:
  ret i32 0{{dbg}}
""")
    return b.build()


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    return uprobe_target.build(tmp_path_factory.mktemp("uprobe"))


def leaf_offset(path) -> int:
    return elfsyms.file_offset(str(path), elfsyms.find_function(str(path), "leaf").addr)


def count(obj, cookie: int) -> int:
    raw = obj.maps["counts"].lookup(cookie.to_bytes(8, "little"))
    return 0 if raw is None else int.from_bytes(raw, "little")


def user_stacks(obj, pid: int, symbols: Symbolizer) -> dict[str, int]:
    """Each recorded user stack of `pid` as bpftrace prints it as a value, with its hits."""
    ctx = value_context(obj.maps["stacks"], symbols=symbols)
    t = StackType(user=True)
    out: dict[str, int] = {}
    for key, value in obj.maps["stackids"].items():
        sid = int.from_bytes(key, "little", signed=True)
        stack = decode(t, encode(t, (sid, pid)), ctx=ctx)
        out[format_value(stack)] = out.get(format_value(stack), 0) + int.from_bytes(value, "little")
    return out


def test_pmu_present():
    assert uprobe_pmu_type() is not None   # the 6.18 host has it (type 8)


@pytest.mark.parametrize("which", ["pie", "nopie"])
def test_counts_calls_of_own_child(programs, which):
    path = getattr(programs, which)
    n = 7
    with uprobe_target.Running(path, n) as child:
        with load_object(parse_object(uprobe_object(child.pid))) as obj:
            prog = obj.program_in(SECTION).fd
            with attach_uprobe(prog, str(path), leaf_offset(path), cookie=ENTRY) as link:
                assert link.uses_bpf_link
                assert child.go() == uprobe_target.expected_sum(n)
                assert count(obj, ENTRY) == n
                symbols = Symbolizer()
                stacks = user_stacks(obj, child.pid, symbols)
            # detached: another round of calls is not counted
            assert child.go() == uprobe_target.expected_sum(n)
            assert count(obj, ENTRY) == n
            child.finish()
    assert sum(stacks.values()) == n
    for text in stacks:
        lines = text.split("\n")
        assert lines[0] == "" and lines[-1] == ""
        frames = [ln.strip() for ln in lines[1:-1]]
        assert all(ln.startswith(" " * 8) for ln in lines[1:-1])
        assert frames[0] == "leaf+0"
        names = [f.split("+")[0] for f in frames]
        assert "hidden" in names and "main" in names


def test_uretprobe_and_cookies(programs):
    path = programs.pie
    n = 5
    with uprobe_target.Running(path, n) as child:
        with load_object(parse_object(uprobe_object(child.pid))) as obj:
            prog = obj.program_in(SECTION).fd
            off = leaf_offset(path)
            with attach_uprobe(prog, str(path), off, cookie=ENTRY), \
                    attach_uprobe(prog, str(path), off, retprobe=True, cookie=RETURN):
                child.go()
            assert count(obj, ENTRY) == n
            assert count(obj, RETURN) == n
            child.finish()


def test_pid_restricts_to_that_process(programs):
    """Attached for one child only: a second child of the same binary does not fire it
    (the program counts any tgid here, so the restriction is the kernel's)."""
    path = programs.pie
    with uprobe_target.Running(path, 3) as a, uprobe_target.Running(path, 4) as b:
        with load_object(parse_object(uprobe_object(b.pid))) as obj:
            prog = obj.program_in(SECTION).fd
            with attach_uprobe(prog, str(path), leaf_offset(path), pid=a.pid, cookie=ENTRY):
                b.go()
                a.go()
            assert count(obj, ENTRY) == 0      # b ran, but the probe was a's only
            with attach_uprobe(prog, str(path), leaf_offset(path), pid=b.pid, cookie=ENTRY):
                b.go()
            assert count(obj, ENTRY) == 4
        a.finish()
        b.finish()


def test_legacy_tracefs_events_are_removed(programs):
    path = programs.pie
    n = 4
    events = tracefs_root() / "uprobe_events"
    before = events.read_text()
    with uprobe_target.Running(path, n) as child:
        with load_object(parse_object(uprobe_object(child.pid))) as obj:
            prog = obj.program_in(SECTION).fd
            with attach_uprobe(prog, str(path), leaf_offset(path), cookie=ENTRY,
                               legacy=True) as link:
                name = link.event.split("/")[1]
                assert name.startswith(f"kt_{os.getpid()}_")
                assert name in events.read_text()
                child.go()
            assert count(obj, ENTRY) == n
            child.finish()
    assert events.read_text() == before


@pytest.mark.parametrize("legacy", [False, True])
def test_failed_attach_leaves_nothing(programs, legacy):
    events = tracefs_root() / "uprobe_events"
    before_events = events.read_text()
    with load_object(parse_object(uprobe_object(os.getpid()))) as obj:
        prog = obj.program_in(SECTION).fd
        fds = open_fds()
        links = bpftool_ids("link")
        with pytest.raises(AttachError) as e:
            attach_uprobe(prog, str(programs.pie) + ".missing", 0x1000, legacy=legacy)
        assert e.value.errno == errno.ENOENT
        assert "missing" in str(e.value)
        # an offset past the end of the file
        with pytest.raises(AttachError):
            attach_uprobe(prog, str(programs.pie), 1 << 30, legacy=legacy)
        assert open_fds() == fds
        assert wait_until(lambda: bpftool_ids("link") <= links)
    assert events.read_text() == before_events


def test_links_closed_leave_nothing(programs):
    with uprobe_target.Running(programs.pie, 1) as child:
        with load_object(parse_object(uprobe_object(child.pid))) as obj:
            prog = obj.program_in(SECTION).fd
            fds = open_fds()
            links = bpftool_ids("link")
            link = attach_uprobe(prog, str(programs.pie), leaf_offset(programs.pie))
            assert bpftool_ids("link") - links
            link.close()
            link.close()          # idempotent
            assert open_fds() == fds
            assert wait_until(lambda: bpftool_ids("link") <= links)
        child.finish()


def test_rejects_relative_path(programs):
    with pytest.raises(ValueError):
        attach_uprobe(0, "target", 0)


def test_symbols_outlive_the_process(programs):
    """Mappings remembered while the child lives still symbolize after it exited; a
    symbolizer that never saw it prints hex, as bpftrace does."""
    path = programs.pie
    with uprobe_target.Running(path, 2) as child:
        with load_object(parse_object(uprobe_object(child.pid))) as obj:
            with attach_uprobe(obj.program_in(SECTION).fd, str(path), leaf_offset(path)):
                child.go()
            ids = [int.from_bytes(k, "little", signed=True) for k in obj.maps["stackids"].keys()]
            reader = StackReader(obj.maps["stacks"])
            frames = reader(ids[0])
            remembered = UserSymbols()
            assert remembered.remember(child.pid)
            child.finish()
    assert remembered.usym(child.pid, frames[0], offset=True) == "leaf+0"
    fresh = Symbolizer(user=UserSymbols())
    text = format_stack(fresh.stack_frames(frames, user=True, pid=child.pid))
    assert text.split("\n")[1] == f"        0x{frames[0]:x}"
