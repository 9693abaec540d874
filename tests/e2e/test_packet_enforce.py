"""drop() and pass() under --unsafe decide the packet's fate, verified by traffic that is lost
(datagrams never received, pings unanswered) while other traffic goes on; without --unsafe
the script is refused."""

from __future__ import annotations

import pytest

from .packet_netns import kt_in, needs_netns, pair, results, shell, traffic_cmd  # noqa: F401  (pair: fixture)

pytestmark = [pytest.mark.kernel, needs_netns]


def test_xdp_drop_loses_the_datagrams_of_one_port(pair):
    a, b = pair.a, pair.b
    script = f'xdp:{b.dev} /proto == 17 && dport == 5001/ {{ @dropped = count(); drop(); }}'
    send = shell(traffic_cmd(a.ns, "udp-send", b.ip4, 5001, 4), traffic_cmd(a.ns, "udp-send", b.ip4, 5002, 3))
    with pair.server(b.ns, "udp-recv", b.ip4, 5001, 3, 4) as dropped_port, \
            pair.server(b.ns, "udp-recv", b.ip4, 5002, 30, 3) as open_port:
        r = kt_in(pair, b.ns, "--unsafe", "-e", script, "-c", send)
        assert r.rc == 0, r.err
        assert open_port() == {"received": 3}
        assert dropped_port() == {"received": 0}
    assert r.out.splitlines() == ["", "", "@dropped: 4"]


def test_tc_egress_drop_makes_ping_fail_and_pass_lets_it_through(pair, tmp_path):
    a, b = pair.a, pair.b
    out = tmp_path / "ping.json"
    drop = f'tc:{b.dev}:egress /proto == 1/ {{ @replies_dropped = count(); drop(); }}'
    r = kt_in(pair, b.ns, "--unsafe", "-e", drop, "-c", traffic_cmd(a.ns, "ping", b.ip4, 2, 2, out=out))
    assert r.rc == 0, r.err
    assert r.out.splitlines() == ["", "", "@replies_dropped: 2"]
    # pass() ends the probe with the packet let through: the count after it never runs
    keep = f'tc:{b.dev}:egress /proto == 1/ {{ @passed = count(); pass(); @never = count(); }}'
    r = kt_in(pair, b.ns, "--unsafe", "-e", keep, "-c", traffic_cmd(a.ns, "ping", b.ip4, 2, 6, out=out))
    assert r.rc == 0, r.err
    assert results(out) == [{"sent": 2, "replies": 0}, {"sent": 2, "replies": 2}]
    assert "@passed: 2" in r.out.splitlines() and "@never: 2" not in r.out


def test_drop_without_unsafe_is_refused(pair):
    r = kt_in(pair, pair.b.ns, "-e", f"xdp:{pair.b.dev} {{ drop(); }}")
    assert r.rc != 0
    assert "--unsafe" in r.err
