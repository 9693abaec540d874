"""tc and xdp probes see the traffic a test sends through its own veth pair, and let it
through (scripts are read-only unless --unsafe): counts, decoded addresses and ports, TCP
flags and ICMP types, printf per packet and the maps printed at the end, compared with what
the test sent. kt runs in the receiving (or sending) namespace; the traffic is its -c child."""

from __future__ import annotations

import pytest

from .packet_netns import kt_in, needs_netns, pair, results, shell, traffic_cmd  # noqa: F401  (pair: fixture)

pytestmark = [pytest.mark.kernel, needs_netns]


def test_udp_v4_and_v6_on_tc_ingress(pair):
    a, b = pair.a, pair.b
    script = (f'tc:{b.dev}:ingress /proto == 17 && dport == 5000/ {{ '
              f'printf("%s:%d -> %s:%d %d\\n", ntop(saddr), sport, ntop(daddr), dport, len); '
              f'@[ntop(saddr), sport] = count(); @bytes = sum(len); }}')
    send = shell(traffic_cmd(a.ns, "udp-send", b.ip4, 5000, 3, "--sport", 4444),
                 traffic_cmd(a.ns, "udp-send", b.ip6, 5000, 2, "--sport", 4445))
    with pair.server(b.ns, "udp-recv", "::", 5000, 30, 5) as received:
        r = kt_in(pair, b.ns, "-e", script, "-c", send)
        assert r.rc == 0, r.err
        assert received() == {"received": 5}          # read-only: every datagram arrived
    # UDP payload "kt-N": 14 Ethernet + 20 IPv4 / 40 IPv6 + 8 UDP + 4 bytes
    v4 = [f"{a.ip4}:4444 -> {b.ip4}:5000 46"] * 3
    v6 = [f"{a.ip6}:4445 -> {b.ip6}:5000 66"] * 2
    assert r.out.splitlines() == v4 + v6 + ["", "", f"@[{a.ip6}, 4445]: 2", f"@[{a.ip4}, 4444]: 3",
                                            f"@bytes: {3 * 46 + 2 * 66}"]


def test_tc_egress_sees_what_leaves(pair):
    a, b = pair.a, pair.b
    script = (f'tc:{a.dev}:egress /proto == 17/ {{ @[ntop(daddr), dport] = count(); }} '
              f'tc:{a.dev}:ingress /proto == 17/ {{ @in = count(); }}')
    r = kt_in(pair, a.ns, "-e", script, "-c", traffic_cmd(None, "udp-send", b.ip4, 6000, 4))
    assert r.rc == 0, r.err
    assert r.out.splitlines() == ["", "", f"@[{b.ip4}, 6000]: 4", "@in: 0"]   # nothing came in


def test_tcp_syn_flags(pair):
    a, b = pair.a, pair.b
    script = (f'tc:{b.dev}:ingress /proto == 6 && dport == 7000/ {{ @flags[tcpflags] = count(); }} '
              f'tc:{b.dev}:egress /proto == 6 && sport == 7000/ {{ @replies[tcpflags] = count(); }}')
    with pair.server(b.ns, "tcp-listen", b.ip4, 7000, 30) as accepted:
        r = kt_in(pair, b.ns, "-e", script, "-c", traffic_cmd(a.ns, "tcp-connect", b.ip4, 7000, "--sport", 7001))
        assert r.rc == 0, r.err
        assert accepted() == {"accepted": 1}
    lines = r.out.splitlines()
    # The client's SYN (2), then ACK (16) and its FIN|ACK (17) in some mix; the server's SYN|ACK (18).
    assert "@flags[2]: 1" in lines and "@replies[18]: 1" in lines, r.out
    assert not any(line.startswith("@flags[18]") for line in lines)


def test_xdp_counts_icmp_echo_requests(pair, tmp_path):
    a, b = pair.a, pair.b
    out = tmp_path / "ping.json"
    # pkt[34]: the ICMP type after 14 bytes of Ethernet and a 20-byte IPv4 header (8: echo request)
    script = (f'xdp:{b.dev} /proto == 1/ {{ @icmp[pkt[34]] = count(); @from[ntop(saddr)] = count(); }}')
    r = kt_in(pair, b.ns, "-e", script, "-c", traffic_cmd(a.ns, "ping", b.ip4, 3, 6, out=out))
    assert r.rc == 0, r.err
    assert results(out) == [{"sent": 3, "replies": 3}]
    assert r.out.splitlines() == ["", "", f"@from[{a.ip4}]: 3", "@icmp[8]: 3"]


def test_listing_inside_the_namespace(pair):
    r = kt_in(pair, pair.a.ns, "-l", "tc:*")
    assert r.rc == 0, r.err
    assert r.out.splitlines() == [f"tc:{pair.a.dev}:egress", f"tc:{pair.a.dev}:ingress", "tc:lo:egress",
                                  "tc:lo:ingress"]
    r = kt_in(pair, pair.a.ns, "-l", "xdp:*")
    assert r.out.splitlines() == [f"xdp:{pair.a.dev}", "xdp:lo"]


def test_an_emitted_object_attaches_too(pair, tmp_path):
    a, b = pair.a, pair.b
    obj = tmp_path / "udp.o"
    script = f'xdp:{b.dev} /proto == 17/ {{ @[dport] = count(); }}'
    r = kt_in(pair, b.ns, "--emit-elf", str(obj), "-e", script)
    assert r.rc == 0 and obj.exists(), r.err
    r = kt_in(pair, b.ns, str(obj), "-c", traffic_cmd(a.ns, "udp-send", b.ip4, 5353, 2))
    assert r.rc == 0, r.err
    assert r.out.splitlines() == ["", "", "@[5353]: 2"]
