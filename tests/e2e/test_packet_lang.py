"""Packet probes in the real kernel: the programs kt compiles for tc and xdp, run on crafted
Ethernet frames with BPF_PROG_TEST_RUN (tests/e2e/packet_runs.py) inside a real Session, and
what users see: the maps and printf lines they print, and the verdict each frame got.

No network is touched: the kernel gives each test run a fresh sk_buff / xdp_buff on the
loopback device. Attaching to interfaces (netns and veth pairs) is tested by packet-attach's
e2e tests.
"""

from __future__ import annotations

import subprocess

import pytest

from .conftest import bpftool_loadall, run_kt
from .packet_runs import (TC_ACT_OK, TC_ACT_SHOT, TC_ACT_UNSPEC, XDP_DROP, XDP_PASS, arp, ether, icmp_echo, ipv4,
                          ipv6, run_frames, tcp, udp)

pytestmark = [pytest.mark.kernel]

TC, XDP = "tc:lo:ingress", "xdp:lo"
UDP4 = ipv4("10.0.0.1", "10.0.0.2", 17, udp(40001, 53, b"hello"))
SYN4 = ipv4("10.1.2.3", "10.3.2.1", 6, tcp(40002, 80, 0x02))
SYNACK6 = ipv6("fd00::1", "fd00::2", 6, tcp(443, 50000, 0x12))
UDP6 = ipv6("fe80::1", "fd00::beef", 17, udp(5353, 5354, b"x" * 10))
ICMP4 = ipv4("10.0.0.9", "10.0.0.8", 1, icmp_echo())
ICMP6 = ipv6("fd00::9", "fd00::8", 58, b"\x80\x00\x00\x00\x00\x01\x00\x01")
ARP = arp()

EVERYTHING = r"""
tc:lo:ingress { @len = sum(len); @i[ifindex] = count(); @p[l3proto, proto] = count();
  @a[saddr, daddr, sport, dport, tcpflags] = count(); printf("%s %s %d\n", ntop(saddr), daddr, dport);
  @b = pkt[0]; @c = pkt[$1]; @w = *(uint16 *)(pkt + 12); if (dport == 9) { drop(); } if (dport == 10) { pass(); } }
tc:lo:egress { @e = hist(len); for ($i : 0..4) { if (pkt[$i] == 7) { drop(); } } }
xdp:lo / proto == 17 / { @x[l3proto, proto, saddr, sport] = count(); @y = max(len); if (pkt[200] == 3) { drop(); } exit(); }
"""


def test_every_construct_loads(tmp_path):
    """kt --dry-run loads every program: the verifier accepts them."""
    script = tmp_path / "all.kt"
    script.write_text(EVERYTHING)
    r = run_kt("--unsafe", "--dry-run", str(script), "3")
    assert r.rc == 0, r.err


def test_an_object_with_tc_and_xdp_programs_loads_with_bpftool_and_runs_under_kt(tmp_path):
    obj = tmp_path / "p.o"
    script = tmp_path / "all.kt"
    script.write_text(EVERYTHING)
    r = run_kt("--unsafe", "--emit-elf", str(obj), str(script), "3")
    assert r.rc == 0, r.err
    with bpftool_loadall(obj, tmp_path.name) as pin:
        shown = subprocess.run(["bpftool", "prog", "show", "pinned", str(pin / "tc_lo_ingress")],
                               capture_output=True, text=True).stdout
        assert "sched_cls" in shown
        shown = subprocess.run(["bpftool", "prog", "show", "pinned", str(pin / "xdp_lo")],
                               capture_output=True, text=True).stdout
        assert " xdp " in shown
    # the object alone runs: everything the runtime needs is in .kt.meta
    run = run_frames(obj.read_bytes(), [(TC, UDP4), (XDP, UDP4)], positional=("3",))
    assert run.retvals == [TC_ACT_UNSPEC, XDP_PASS]
    assert "10.0.0.1 10.0.0.2 53" in run.out
    assert "@x[2048, 17, 10.0.0.1, 40001]: 1" in run.out


def test_headers_of_ipv4_ipv6_icmp_and_arp():
    run = run_frames(r"""tc:lo:ingress { @[l3proto, proto, saddr, daddr, sport, dport, tcpflags] = count();
                                         @len[len] = count(); @if[ifindex] = count(); }""",
                     [(TC, f) for f in (UDP4, SYN4, SYNACK6, UDP6, ICMP4, ICMP6, ARP)])
    assert run.rc == 0
    lines = set(run.out.split("\n"))
    assert {
        "@[2048, 17, 10.0.0.1, 10.0.0.2, 40001, 53, 0]: 1",
        "@[2048, 6, 10.1.2.3, 10.3.2.1, 40002, 80, 2]: 1",
        "@[34525, 6, fd00::1, fd00::2, 443, 50000, 18]: 1",
        "@[34525, 17, fe80::1, fd00::beef, 5353, 5354, 0]: 1",
        "@[2048, 1, 10.0.0.9, 10.0.0.8, 0, 0, 0]: 1",
        "@[34525, 58, fd00::9, fd00::8, 0, 0, 0]: 1",
        "@[2054, 0, 0.0.0.0, 0.0.0.0, 0, 0, 0]: 1",   # ARP: not IP
    } <= lines
    for frame in (UDP4, SYN4, SYNACK6, ARP):
        assert f"@len[{len(frame)}]: 1" in lines
    assert "@if[1]: 7" in lines   # the test run's loopback device


def test_xdp_sees_the_same_headers():
    run = run_frames(r"""xdp:lo { @[l3proto, proto, saddr, daddr, sport, dport, tcpflags, len, ifindex] = count(); }""",
                     [(XDP, SYN4), (XDP, UDP6), (XDP, ARP)])
    lines = set(run.out.split("\n"))
    assert {
        f"@[2048, 6, 10.1.2.3, 10.3.2.1, 40002, 80, 2, {len(SYN4)}, 1]: 1",
        f"@[34525, 17, fe80::1, fd00::beef, 5353, 5354, 0, {len(UDP6)}, 1]: 1",
        f"@[2054, 0, 0.0.0.0, 0.0.0.0, 0, 0, 0, {len(ARP)}, 1]: 1",
    } <= lines
    assert run.retvals == [XDP_PASS] * 3


def test_ipv4_options_fragments_and_truncated_frames():
    opts = ipv4("10.0.0.1", "10.0.0.2", 17, udp(7, 8), options=b"\x01\x01\x01\x00")   # IHL 6
    later_fragment = ipv4("10.0.0.1", "10.0.0.2", 17, udp(7, 8), frag=100)
    no_tcp_flags = SYN4[:14 + 20 + 8]          # the TCP header ends before its flags
    no_ports = UDP4[:14 + 20]                  # the IPv4 header only
    # 14 bytes: the Ethernet header only (the kernel's test run refuses an IPv4 EtherType on a
    # frame without an IPv4 header, so the local experimental EtherType 0x88b5)
    bare = ether(0x88B5, b"")
    run = run_frames(r"""tc:lo:ingress { @[len, l3proto, proto, saddr, sport, dport, tcpflags] = count(); }""",
                     [(TC, f) for f in (opts, later_fragment, no_tcp_flags, no_ports, bare)])
    lines = set(run.out.split("\n"))
    assert {
        f"@[{len(opts)}, 2048, 17, 10.0.0.1, 7, 8, 0]: 1",
        f"@[{len(later_fragment)}, 2048, 17, 10.0.0.1, 0, 0, 0]: 1",   # no L4 header in it
        f"@[{len(no_tcp_flags)}, 2048, 6, 10.1.2.3, 40002, 80, 0]: 1",
        f"@[{len(no_ports)}, 2048, 17, 10.0.0.1, 0, 0, 0]: 1",
        "@[14, 34997, 0, 0.0.0.0, 0, 0, 0]: 1",
    } <= lines, run.out


def test_pkt_bytes_constant_variable_and_out_of_range():
    run = run_frames(r"""tc:lo:ingress { @first = pkt[0]; @last = pkt[len - 1]; @past = pkt[len]; @neg = pkt[-1];
                         @big = pkt[0x100000000]; @param = pkt[$1]; @et = bswap(*(uint16 *)(pkt + 12));
                         @saddr_word = bswap(*(uint32 *)(pkt + 26));
                         $s = 0; for ($i : 0..6) { $s += pkt[$i]; } @dst_mac_sum = $s; }""",
                     [(TC, UDP4)], positional=("23",))
    lines = set(run.out.split("\n"))
    assert {
        f"@first: {UDP4[0]}", f"@last: {UDP4[-1]}", "@past: 0", "@neg: 0", "@big: 0",
        "@param: 17",                      # byte 23: IPv4's protocol
        "@et: 2048", f"@saddr_word: {0x0A000001}", f"@dst_mac_sum: {sum(UDP4[:6])}",
    } <= lines, run.out


def test_default_verdict_lets_packets_pass_on_every_path():
    script = r"""tc:lo:ingress / len > 50 / { if (dport == 53) { return; } if (dport == 80) { exit(); } @n = count(); }
                 xdp:lo / len > 50 / { if (dport == 53) { return; } @n = count(); }"""
    short = ether(0x0800, b"\x45" + b"\0" * 19)
    run = run_frames(script, [(TC, short), (TC, UDP4), (TC, SYN4), (XDP, short), (XDP, UDP4), (XDP, UDP6)])
    assert run.retvals == [TC_ACT_UNSPEC] * 3 + [XDP_PASS] * 3


def test_drop_and_pass():
    script = r"""tc:lo:ingress { if (dport == 53) { drop(); } if (dport == 80) { pass(); } @after[dport] = count(); }
                 xdp:lo { if (proto == 1) { drop(); } if (proto == 6) { pass(); } @after[proto] = count(); }"""
    run = run_frames(script, [(TC, UDP4), (TC, SYN4), (TC, UDP6), (XDP, ICMP4), (XDP, SYN4), (XDP, UDP6)],
                     unsafe=True)
    assert run.retvals == [TC_ACT_SHOT, TC_ACT_OK, TC_ACT_UNSPEC, XDP_DROP, XDP_PASS, XDP_PASS]
    lines = set(run.out.split("\n"))
    # drop()/pass() end the probe: only the frames they did not decide reach @after
    assert "@after[5354]: 1" in lines and "@after[17]: 1" in lines
    assert not any(line.startswith(("@after[53]", "@after[80]", "@after[1]", "@after[6]")) for line in lines)


def test_drop_inside_a_loop_and_a_large_chunked_body():
    loop = r"""tc:lo:ingress { for ($i : 0..64) { if (pkt[$i] == 0x86) { drop(); } } @n = count(); }"""
    run = run_frames(loop, [(TC, UDP4), (TC, UDP6)], unsafe=True)
    assert run.retvals == [TC_ACT_UNSPEC, TC_ACT_SHOT]    # 0x86dd: byte 12 of an IPv6 frame
    assert "@n: 1" in run.out
    # header builtins in a loop callback (its own entry block) and in a branch of the program
    run = run_frames(r"""tc:lo:ingress { if (len > 10) { @a[dport] = count(); }
                         for ($i : 0..3) { @[dport, $i, saddr] = count(); if (sport == 40001 && $i == 1) { drop(); } } }""",
                     [(TC, UDP4)], unsafe=True)
    assert run.retvals == [TC_ACT_SHOT]
    assert {"@a[53]: 1", "@[53, 0, 10.0.0.1]: 1", "@[53, 1, 10.0.0.1]: 1"} <= set(run.out.split("\n"))
    assert "@[53, 2," not in run.out
    # a body large enough to be lowered as subprograms (compiler/codegen/chunks.py)
    body = " ".join(f"@a{i % 50} = len + {i};" for i in range(1500))
    big = f"xdp:lo {{ {body} if (proto == 17) {{ drop(); }} {body} @n = count(); }}"
    run = run_frames(big, [(XDP, UDP4), (XDP, SYN4)], unsafe=True)
    assert run.retvals == [XDP_DROP, XDP_PASS]
    assert "@n: 1" in run.out


def test_printf_and_aggregations_in_packet_probes():
    run = run_frames(r"""tc:lo:ingress { printf("%s:%d -> %s:%d len %d\n", ntop(saddr), sport, ntop(daddr), dport, len);
                                         @bytes[saddr, dport] = sum(len); @h = hist(len); @s = stats(len); }""",
                     [(TC, UDP4), (TC, UDP4), (TC, SYNACK6)])
    assert f"10.0.0.1:40001 -> 10.0.0.2:53 len {len(UDP4)}" in run.out
    assert f"fd00::1:443 -> fd00::2:50000 len {len(SYNACK6)}" in run.out
    assert f"@bytes[10.0.0.1, 53]: {2 * len(UDP4)}" in run.out
    assert f"@s: count 3, average {(2 * len(UDP4) + len(SYNACK6)) // 3}, total {2 * len(UDP4) + len(SYNACK6)}" in run.out


def test_struct_pointers_into_the_packet_and_buf():
    run = run_frames(r"""tc:lo:ingress { $ip = (struct iphdr *)(pkt + 14); @ttl = $ip->ttl; @ihl = $ip->ihl;
                         @tot = bswap($ip->tot_len);
                         printf("%r|%r|%r|%rx\n", buf(pkt + 42, 64), buf(pkt + 44, 2), buf(pkt + 100, 4), buf(pkt + $1, 3)); }
                         xdp:lo { printf("%r\n", buf(pkt + len - 5, 10)); }""",
                     [(TC, UDP4), (XDP, UDP4)], positional=("12",))
    # buf() reads up to the packet's end: the 5-byte payload of a 64-byte buf, nothing past it
    assert "hello|ll||\\x08\\x00\\x45\nhello\n" in run.out
    assert {"@ttl: 64", "@ihl: 5", f"@tot: {len(UDP4) - 14}"} <= set(run.out.split("\n"))


def test_one_probe_on_several_attach_points_names_each():
    run = run_frames(r"""tc:lo:ingress, tc:lo:egress, xdp:lo { @[probe] = count(); }""",
                     [(TC, UDP4), ("tc:lo:egress", UDP4), ("tc:lo:egress", UDP4), (XDP, UDP4)])
    assert {"@[tc:lo:ingress]: 1", "@[tc:lo:egress]: 2", "@[xdp:lo]: 1"} <= set(run.out.split("\n"))
    assert run.retvals == [TC_ACT_UNSPEC] * 3 + [XDP_PASS]


def test_addresses_compare_with_addresses_and_pton():
    other = ipv4("10.0.0.3", "10.0.0.1", 17, udp(40001, 53))
    run = run_frames(r"""tc:lo:ingress / saddr == pton("10.0.0.1") || daddr == pton("fd00::2") / { @a[saddr] = count(); }
                         tc:lo:ingress / saddr != daddr && daddr != ntop(0x0100000a) / { @b[saddr] = count(); }
                         xdp:lo / saddr == pton("10.0.0.1") / { drop(); }""",
                     [(TC, UDP4), (TC, other), (TC, SYNACK6), (XDP, UDP4), (XDP, other)], unsafe=True)
    lines = set(run.out.split("\n"))
    assert {"@a[10.0.0.1]: 1", "@a[fd00::1]: 1", "@b[10.0.0.1]: 1", "@b[fd00::1]: 1"} <= lines
    assert not any(line.startswith(("@a[10.0.0.3]", "@b[10.0.0.3]")) for line in lines)
    assert run.retvals[-2:] == [XDP_DROP, XDP_PASS]
