"""tc probes on Linux 6.1, which has XDP links but no tcx: kt falls back to a clsact qdisc and
a direct-action bpf filter through netlink on its own (no KT_TC_NETLINK), in a veth pair of
the test's namespaces. Traffic is counted, the filters carry kt's tag while it runs, nothing
is left after it ends, and after SIGKILL the next kt removes the stale filters and the qdisc."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.packet_netns import kt_in, kt_popen, needs_netns, pair, traffic_cmd, wait_attached  # noqa: F401

pytestmark = [pytest.mark.kernel, needs_netns]


@pytest.fixture(scope="module", autouse=True)
def modules():
    """The guest boots with none of these loaded (they are the host's /lib/modules/6.1.*)."""
    for module in ("veth", "sch_ingress", "cls_bpf"):
        r = subprocess.run(["modprobe", module], capture_output=True, text=True)
        assert r.returncode == 0, f"modprobe {module}: {r.stderr}"


def test_tc_over_netlink_counts_and_leaves_nothing(pair):
    a, b = pair.a, pair.b
    script = (f'tc:{b.dev}:ingress /proto == 17/ {{ @in[ntop(saddr), dport] = count(); }} '
              f'tc:{b.dev}:egress /proto == 1/ {{ @out = count(); }} xdp:{b.dev} /proto == 17/ {{ @xdp = count(); }}')
    proc = kt_popen(pair, b.ns, "-e", script, "-c", traffic_cmd(None, "udp-recv", b.ip4, 5000, 120, 3))
    wait_attached(proc)
    on = pair.attached(b)
    assert on["tcx"] == [] and len(on["tc"]) == 2 and len(on["xdp"]) == 1 and "clsact" in on["qdiscs"], on
    assert all(name.startswith("kt_") and name.endswith("_q") for name in on["filters"]), on
    loaded = set(on["tc"] + on["xdp"])
    pair.traffic(a.ns, "ping", b.ip4, 1, 10)
    pair.traffic(a.ns, "udp-send", b.ip4, 5000, 3)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert out.splitlines()[-3:] == [f"@in[{a.ip4}, 5000]: 3", "@out: 1", "@xdp: 3"], out
    pair.assert_clean(loaded)


def test_after_sigkill_the_next_kt_removes_the_filter_and_qdisc(pair):
    a = pair.a
    proc = kt_popen(pair, a.ns, "-e", f"tc:{a.dev}:ingress {{ @n = count(); }}")
    wait_attached(proc)
    loaded = pair.program_ids()
    proc.kill()
    proc.wait()
    left = pair.attached(a)
    assert len(left["filters"]) == 1 and "clsact" in left["qdiscs"], left
    r = kt_in(pair, a.ns, "-e", "tc:lo:egress { } BEGIN { exit(); }", timeout=180)
    assert r.rc == 0, r.err
    assert f"Removed a tc filter left by an earlier kt: {a.dev} ingress {left['filters'][0]}" in r.err
    pair.assert_clean(loaded)
