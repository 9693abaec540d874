"""runtime/attach/by_kind.py: each kind's adapter passes its typed `.kt.meta` attach record
to its attach module as the object format says (pure: the attach functions are replaced by
recorders, so kprobe and kfunc kinds, which this host's kernel lacks, are covered too; the
real attachments are tests/e2e and the guest's)."""

from __future__ import annotations

import pytest

from kt.compiler.formats.meta import ATTACH_KINDS, attach_from_json
from kt.runtime.attach import by_kind, iterator, kprobe, packet, perf_event, tracepoint, tracing, uprobe, watchpoint
from kt.runtime.attach.by_kind import ATTACH, AttachContext


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, name):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return _Link()
        return record


class _Link:
    closed = False

    def close(self):
        self.closed = True


@pytest.fixture
def calls(monkeypatch):
    rec = Recorder()
    for module, names in ((kprobe, ("attach_kprobe", "attach_kprobe_multi")), (uprobe, ("attach_uprobe",)),
                          (tracepoint, ("attach_tracepoint",)), (perf_event, ("attach_perf_event_prog",)),
                          (tracing, ("attach_fentry", "attach_fexit", "attach_raw_tracepoint")),
                          (iterator, ("attach_iter",)), (packet, ("attach_tc", "attach_xdp")),
                          (watchpoint, ("attach_watchpoint", "attach_function_watchpoint"))):
        for name in names:
            monkeypatch.setattr(module, name, rec(name))
    return rec.calls


CASES = [
    ("tracepoint", {"category": "sched", "name": "sched_switch"}, [("attach_tracepoint", (7, "sched", "sched_switch"), {})]),
    ("kprobe", {"funcs": ["vfs_read", "vfs_write"], "offset": 0, "retprobe": False},
     [("attach_kprobe", (7, "vfs_read", 0, False), {"cookie": 0, "legacy": False}),
      ("attach_kprobe", (7, "vfs_write", 0, False), {"cookie": 1, "legacy": False})]),
    ("kretprobe", {"funcs": ["vfs_read"], "offset": 0, "retprobe": True},
     [("attach_kprobe", (7, "vfs_read", 0, True), {"cookie": 0, "legacy": False})]),
    ("uprobe", {"path": "/bin/x", "targets": [{"func": "f", "offset": 4096}], "retprobe": False},
     [("attach_uprobe", (7, "/bin/x", 4096, False), {"pid": -1, "cookie": 0, "ref_ctr_offset": 0, "legacy": None})]),
    ("usdt", {"path": "/bin/x", "targets": [{"func": "p:n", "offset": 10, "ref_ctr_offset": 99}], "retprobe": False},
     [("attach_uprobe", (7, "/bin/x", 10, False), {"pid": -1, "cookie": 0, "ref_ctr_offset": 99, "legacy": None})]),
    ("profile", {"type": 1, "config": 0, "freq": 99, "cpus": "all"},
     [("attach_perf_event_prog", (7, 1, 0), {"period": None, "freq": 99, "cpus": "all"})]),
    ("interval", {"type": 1, "config": 0, "period": 1000000, "cpus": "one"},
     [("attach_perf_event_prog", (7, 1, 0), {"period": 1000000, "freq": None, "cpus": "one"})]),
    ("kfunc", {"func": "vfs_read"}, [("attach_fentry", (7, "vfs_read"), {})]),
    ("kretfunc", {"func": "vfs_read"}, [("attach_fexit", (7, "vfs_read"), {})]),
    ("rawtracepoint", {"name": "sys_enter"}, [("attach_raw_tracepoint", (7, "sys_enter"), {})]),
    ("iter", {"name": "task"}, [("attach_iter", (7, "task"), {})]),
    ("watchpoint", {"addr": 4096, "len": 8, "bp_type": 2, "pid": 42},
     [("attach_watchpoint", (7, 4096, 8, 2), {"pid": 42})]),
    ("tc", {"ifname": "veth0", "direction": "egress"}, [("attach_tc", (7, "veth0", "egress"), {"netlink": False})]),
    ("xdp", {"ifname": "veth0"}, [("attach_xdp", (7, "veth0"), {"generic": False})]),
]


@pytest.mark.parametrize("kind,attach,expected", CASES, ids=[c[0] for c in CASES])
def test_each_kind_passes_its_record(calls, kind, attach, expected):
    record = attach_from_json(kind, attach, "probes[0]")
    links = ATTACH[kind](7, record, AttachContext())
    assert calls == expected
    assert len(links) == len(expected)


def test_a_function_watchpoint_gets_its_record(calls):
    record = attach_from_json("watchpoint", {"addr": 0, "len": 4, "bp_type": 3, "pid": 5, "path": "/bin/x",
                                             "func": "f", "offset": 64, "arg": 1, "async": True}, "p")
    ATTACH["watchpoint"](7, record, AttachContext())
    (name, (fd, a, pid, notice), _), = calls
    assert (name, fd, pid) == ("attach_function_watchpoint", 7, 5)
    assert (a.func, a.arg, a.path, a.offset, a.asynchronous) == ("f", 1, "/bin/x", 64, True)


def test_many_kprobes_on_one_multi_link(calls):
    record = attach_from_json("kprobe", {"funcs": ["a", "b"], "offset": 0, "retprobe": True}, "p")
    ATTACH["kprobe"](7, record, AttachContext(use_kprobe_multi=True))
    assert calls == [("attach_kprobe_multi", (7, ["a", "b"], True, [0, 1]), {})]


def test_packet_kinds_pass_the_forced_modes(calls):
    ATTACH["tc"](7, attach_from_json("tc", {"ifname": "v", "direction": "ingress"}, "p"),
                 AttachContext(tc_netlink=True))
    ATTACH["xdp"](7, attach_from_json("xdp", {"ifname": "v"}, "p"), AttachContext(xdp_generic=True))
    assert calls == [("attach_tc", (7, "v", "ingress"), {"netlink": True}),
                     ("attach_xdp", (7, "v"), {"generic": True})]


def test_every_kind_with_an_attach_record_has_an_adapter():
    # BEGIN, END and self:signal programs are run by the session (BPF_PROG_TEST_RUN), not attached.
    assert set(ATTACH) == set(ATTACH_KINDS) - {"begin", "end", "self"}
    assert by_kind.ATTACH is ATTACH
