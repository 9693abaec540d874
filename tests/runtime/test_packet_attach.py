"""runtime/attach/packet.py and tc_netlink.py in the real kernel, inside a veth pair of the
test's own namespaces (tests/netns.py): a 2-instruction program attached by a child running
in the namespace (packet_attach_child.py), what `bpftool net` and netlink show while it is
attached, and that closing (or, on the netlink path, the next kt's sweep after SIGKILL)
leaves nothing behind. The same paths with kt scripts: tests/e2e/test_packet_*.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netns import VethPair, needs_netns_mark, veth_pair

pytestmark = [pytest.mark.kernel, needs_netns_mark()]

CHILD = Path(__file__).with_name("packet_attach_child.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pair():
    with veth_pair() as p:
        yield p


def attach(pair: VethPair, ns: str, *args: str, env: dict | None = None):
    """(child, result); the child holds the attachment until `finish(child)`."""
    p = subprocess.Popen(pair.argv(ns, [sys.executable, str(CHILD), *args]), cwd=str(REPO),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, **(env or {})})
    line = p.stdout.readline()
    if not line:
        p.wait()
        pytest.fail(p.stderr.read())
    return p, json.loads(line)


def finish(p: subprocess.Popen) -> None:
    out, err = p.communicate("close\n", timeout=30)
    assert p.returncode == 0, err
    assert json.loads(out.splitlines()[-1]) == {"closed": True}


def test_xdp_link_in_driver_mode_then_gone(pair):
    p, got = attach(pair, pair.a.ns, "xdp", pair.a.dev)
    assert "BpfLink xdp:" in got["ok"], got
    shown = subprocess.run(pair.argv(pair.a.ns, ["bpftool", "net", "show", "dev", pair.a.dev, "-j"]),
                           capture_output=True, text=True).stdout
    (xdp,) = json.loads(shown)[0]["xdp"]
    assert (xdp["id"], xdp["mode"]) == (got["prog_id"], "driver")   # veth has native XDP
    finish(p)
    pair.assert_clean({got["prog_id"]})


def test_xdp_generic_when_asked(pair):
    p, got = attach(pair, pair.a.ns, "xdp", pair.a.dev, env={"KT_XDP_GENERIC": "1"})
    shown = json.loads(subprocess.run(pair.argv(pair.a.ns, ["bpftool", "net", "show", "dev", pair.a.dev, "-j"]),
                                      capture_output=True, text=True).stdout)
    assert [(x["id"], x["mode"]) for x in shown[0]["xdp"]] == [(got["prog_id"], "generic")]
    finish(p)
    pair.assert_clean({got["prog_id"]})


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_tcx_link_then_gone(pair, direction):
    p, got = attach(pair, pair.b.ns, "tc", pair.b.dev, direction)
    assert f"BpfLink tc:{pair.b.dev}:{direction}" in got["ok"], got
    on = pair.attached(pair.b)
    assert on["tcx"] == [got["prog_id"]] and on["filters"] == [] and "clsact" not in on["qdiscs"], on
    finish(p)
    pair.assert_clean({got["prog_id"]})


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_netlink_filter_and_its_qdisc_then_gone(pair, direction):
    p, got = attach(pair, pair.b.ns, "tc", pair.b.dev, direction, env={"KT_TC_NETLINK": "1"})
    assert "TcFilterLink" in got["ok"], got
    on = pair.attached(pair.b)
    assert on["tc"] == [got["prog_id"]] and on["tcx"] == [] and "clsact" in on["qdiscs"], on
    (name,) = on["filters"]
    assert name.startswith(f"kt_{p.pid}_") or name.startswith("kt_")
    assert name.endswith("_q")          # kt made the clsact qdisc
    finish(p)
    pair.assert_clean({got["prog_id"]})


def _tc(pair: VethPair, ns: str, *args: str) -> None:
    r = pair.run(ns, ["tc", *args])
    assert r.returncode == 0, r.stderr


def test_netlink_keeps_a_qdisc_and_filters_it_did_not_make(pair):
    """A clsact qdisc that was there stays, and so does another tool's filter on it."""
    _tc(pair, pair.b.ns, "qdisc", "add", "dev", pair.b.dev, "clsact")
    other, other_got = attach(pair, pair.b.ns, "tc-other", pair.b.dev, "ingress")
    p, got = attach(pair, pair.b.ns, "tc", pair.b.dev, "ingress", env={"KT_TC_NETLINK": "1"})
    names = pair.attached(pair.b)["filters"]
    assert len(names) == 2 and "other_tool" in names and not any(n.endswith("_q") for n in names), names
    assert _sweep(pair, pair.b.ns) == []     # neither a live kt's nor another tool's
    finish(p)
    on = pair.attached(pair.b)
    assert "clsact" in on["qdiscs"] and on["tc"] == [other_got["prog_id"]] and on["filters"] == ["other_tool"], on
    finish(other)
    on = pair.attached(pair.b)
    assert "clsact" in on["qdiscs"] and on["filters"] == [], on
    _tc(pair, pair.b.ns, "qdisc", "del", "dev", pair.b.dev, "clsact")
    pair.assert_clean({got["prog_id"], other_got["prog_id"]})


def _sweep(pair: VethPair, ns: str) -> list[str]:
    code = "import json; from kt.runtime.attach.tc_netlink import sweep_stale; print(json.dumps(sweep_stale()))"
    r = pair.run(ns, [sys.executable, "-c", code], cwd=str(REPO))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_after_sigkill_the_next_sweep_removes_the_filter_and_qdisc(pair):
    live, live_got = attach(pair, pair.b.ns, "tc", pair.b.dev, "egress", env={"KT_TC_NETLINK": "1"})
    killed, got = attach(pair, pair.b.ns, "tc", pair.b.dev, "ingress", env={"KT_TC_NETLINK": "1"})
    names = pair.attached(pair.b)["filters"]
    assert len(names) == 2 and all(n.endswith("_q") for n in names), names   # the mark is handed on
    killed.kill()
    killed.wait()
    # the killed one's filter is still there, holding its program ...
    assert len(pair.attached(pair.b)["filters"]) == 2
    # ... until a sweep; a live kt's filter stays, and so does the qdisc it still needs
    removed = _sweep(pair, pair.b.ns)
    assert len(removed) == 1 and removed[0].startswith(f"{pair.b.dev} ingress kt_"), removed
    on = pair.attached(pair.b)
    assert on["tc"] == [live_got["prog_id"]] and "clsact" in on["qdiscs"], on
    finish(live)
    pair.assert_clean({got["prog_id"], live_got["prog_id"]})


def test_sigkill_of_the_only_filter_then_sweep_removes_the_qdisc(pair):
    killed, got = attach(pair, pair.a.ns, "tc", pair.a.dev, "ingress", env={"KT_TC_NETLINK": "1"})
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert "clsact" in pair.attached(pair.a)["qdiscs"]
    assert len(_sweep(pair, pair.a.ns)) == 1
    assert _sweep(pair, pair.a.ns) == []
    pair.assert_clean({got["prog_id"]})


def test_a_missing_device_names_the_ones_there(pair):
    p, got = attach(pair, pair.a.ns, "xdp", pair.a.dev[:-1] + "x")
    p.wait()
    assert got["errno"] == 19
    assert got["error"] == (f"no network device '{pair.a.dev[:-1]}x' in kt's network namespace "
                            f"(did you mean '{pair.a.dev}'? devices: lo, {pair.a.dev})")


@pytest.mark.parametrize("holder", ["xdp-netlink", "xdp"])
def test_a_device_with_another_xdp_program(pair, holder):
    """A program attached without a link (ip link set ... xdp) or another link: EBUSY, and
    the message names the program that is there."""
    holding, held = attach(pair, pair.a.ns, holder, pair.a.dev)
    p, got = attach(pair, pair.a.ns, "xdp", pair.a.dev)
    p.wait()
    assert got["errno"] == 16, got
    assert f"device '{pair.a.dev}' already has an XDP program (program id {held['prog_id']};" in got["error"]
    finish(holding)
    pair.assert_clean({held["prog_id"]})


def test_a_driver_that_refuses_xdp_says_how_to_go_generic(pair):
    """veth refuses native XDP when the peer's MTU does not fit a page (ERANGE)."""
    _ip = ["ip", "link", "set", "dev"]
    assert pair.run(pair.b.ns, [*_ip, pair.b.dev, "mtu", "9000"]).returncode == 0
    assert pair.run(pair.a.ns, [*_ip, pair.a.dev, "mtu", "9000"]).returncode == 0
    p, got = attach(pair, pair.a.ns, "xdp", pair.a.dev)
    p.wait()
    assert got["errno"] == 34, got
    assert got["error"].startswith(f"device '{pair.a.dev}' refused the XDP program in its driver's mode: ")
    assert "KT_XDP_GENERIC=1" in got["error"]
    p, got = attach(pair, pair.a.ns, "xdp", pair.a.dev, env={"KT_XDP_GENERIC": "1"})
    finish(p)
    pair.assert_clean({got["prog_id"]})
