"""Packet builtins (tc and xdp probes, compiler/packet_probes.py): len, ifindex, l3proto, proto,
saddr, daddr, sport, dport, tcpflags, pkt, and the verdicts drop() and pass().

Headers are parsed once per run of a function (the program, a chunk, a loop callback), in its
entry block, when a builtin first needs a field: a few bpf_skb_load_bytes / bpf_xdp_load_bytes
of the fields at offsets computed from those before them (EtherType at 12; the IP header's
first 10 bytes: IHL, fragment offset, protocol / next header; the ports as one 4-byte read),
each into a zeroed stack slot, combined with selects, no branches. A field the packet is too
short for reads as 0, and the verifier sees no packet pointers at all (the same program
verifies on 6.1 and 6.18). Not walked: VLAN tags (l3proto is then 0x8100 and the IP builtins
are 0) and IPv6 extension headers (proto is the fixed header's next header; ports are read
only when it is TCP or UDP). IPv4 fragments other than the first have no ports (0).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast, probes
from ..types import PACKET, Int, Ptr, Sym, Type, U64, Void
from .records import BuiltinVar, Function, I64, check_arity

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker

ETH_HLEN = 14
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
IPPROTO_TCP, IPPROTO_UDP = 6, 17
VERDICT_CALLS = ("drop", "pass")


def in_packet_probe(checker: "Checker", span, what: str) -> bool:
    """Whether the current probe is a tc or xdp probe; a located error naming where `what`
    works if not."""
    probe = checker.current_probe
    if probes.allows(probe.kind, "packet"):
        return True
    checker.sink.error(span, f"{what} is only available in packet probes (tc:DEV:ingress|egress, xdp:DEV), "
                       f"not in {probe.name}")
    return False


def _packet_var(t: Type):
    def type_rule(checker: "Checker", node: ast.Builtin) -> Type | None:
        return t if in_packet_probe(checker, node.span, f"'{node.name}'") else None
    return type_rule


# ---- reading header fields ---------------------------------------------------------------

def _const(v: int) -> ir.Value:
    return ir.Constant(I64, v)


def field(cg: "ProbeCodegen", offset: ir.Value | int, size: int) -> ir.Value:
    """The big-endian (network order) field of `size` bytes (1, 2 or 4) at packet byte
    `offset`, as a host-order i64; 0 when the packet does not hold it whole."""
    b = cg.b
    buf = cg.stack(8, "pkt_field")
    cg.memset0(buf, 8)
    cg.resolved.context.read_packet(cg, buf, size, _const(offset) if isinstance(offset, int) else offset)
    width = ir.IntType(size * 8)
    raw = b.load(b.bitcast(buf, width.as_pointer()))
    if size > 1:
        raw = b.bswap(raw)
    return b.zext(raw, I64)


class _Headers:
    """The headers' fields one function of a program reads (the program, or one of its chunks
    or loop callbacks), each read once, in its entry block, the first time a builtin asks:
    straight-line code every run executes, whose values dominate every use (as
    ProbeCodegen.current_task_word's). `headers(cg)` gives the current function's."""

    def __init__(self, cg: "ProbeCodegen"):
        self.cg = cg
        self._ip = self._ports = self._flags = None
        with self.cg.at_entry() as b:
            self.l3 = field(cg, 12, 2)
            self.v4 = b.icmp_unsigned("==", self.l3, _const(ETH_P_IP))
            self.v6 = b.icmp_unsigned("==", self.l3, _const(ETH_P_IPV6))

    def _ip_fields(self):
        """(proto, the L4 header's offset, whether it is there: IP and not a later IPv4
        fragment), from one read of the IP header's first 10 bytes: IPv4's IHL (byte 0),
        fragment offset (6-7) and protocol (9); IPv6's next header (6); L4 at 14 + 40."""
        if self._ip is None:
            cg = self.cg
            with self.cg.at_entry() as b:
                buf = cg.stack(16, "ip_head")
                cg.memset0(buf, 16)
                cg.resolved.context.read_packet(cg, buf, 10, _const(ETH_HLEN))

                def byte(i):
                    return b.zext(b.load(cg.offset(buf, i)), I64)
                proto = b.select(self.v6, byte(6), b.select(self.v4, byte(9), _const(0)))
                frag = b.and_(b.or_(b.shl(byte(6), _const(8)), byte(7)), _const(0x1FFF))
                v4_off = b.add(_const(ETH_HLEN), b.shl(b.and_(byte(0), _const(0xF)), _const(2)))
                off = b.select(self.v6, _const(ETH_HLEN + 40), v4_off)
                first = b.or_(self.v6, b.and_(self.v4, b.icmp_unsigned("==", frag, _const(0))))
                self._ip = (proto, off, first)
        return self._ip

    def proto(self) -> ir.Value:
        """IPv4's protocol, IPv6's next header, 0 when not IP."""
        return self._ip_fields()[0]

    def ports(self) -> tuple[ir.Value, ir.Value]:
        """(sport, dport): one 4-byte read at the L4 header; 0 when not TCP/UDP or not there."""
        if self._ports is None:
            cg = self.cg
            proto, off, first = self._ip_fields()
            with self.cg.at_entry() as b:
                both = field(cg, off, 4)
                tcp_udp = b.or_(b.icmp_unsigned("==", proto, _const(IPPROTO_TCP)),
                                b.icmp_unsigned("==", proto, _const(IPPROTO_UDP)))
                ok = b.and_(tcp_udp, first)
                self._ports = (b.select(ok, b.lshr(both, _const(16)), _const(0)),
                               b.select(ok, b.and_(both, _const(0xFFFF)), _const(0)))
        return self._ports

    def tcpflags(self) -> ir.Value:
        if self._flags is None:
            cg = self.cg
            proto, off, first = self._ip_fields()
            with self.cg.at_entry() as b:
                flags = field(cg, b.add(off, _const(13)), 1)
                tcp = b.and_(b.icmp_unsigned("==", proto, _const(IPPROTO_TCP)), first)
                self._flags = b.select(tcp, flags, _const(0))
        return self._flags


def headers(cg: "ProbeCodegen") -> _Headers:
    if cg.func not in cg.packet_headers:
        cg.packet_headers[cg.func] = _Headers(cg)
    return cg.packet_headers[cg.func]


def _lower_len(cg, node):
    return cg.resolved.context.lower_len(cg)


def _lower_ifindex(cg, node):
    return cg.resolved.context.lower_ifindex(cg)


def _lower_l3proto(cg, node):
    return headers(cg).l3


def _lower_proto(cg, node):
    return headers(cg).proto()


def _lower_port(index: int):
    def lower(cg: "ProbeCodegen", node) -> ir.Value:
        return headers(cg).ports()[index]
    return lower


def _lower_tcpflags(cg, node):
    return headers(cg).tcpflags()


def _lower_addr(v4_at: int, v6_at: int):
    """saddr/daddr: an inet value (ntop()'s: u64 family, 16 bytes of address). Not IP: AF_INET
    and zeros, which prints as 0.0.0.0."""
    def lower(cg: "ProbeCodegen", node) -> ir.Value:
        b = cg.b
        h = headers(cg)
        buf = cg.stack(24, "inet")
        cg.memset0(buf, 24)
        family = b.select(h.v6, _const(socket.AF_INET6), _const(socket.AF_INET))
        b.store(family, b.bitcast(buf, I64.as_pointer()))
        dst = cg.offset(buf, 8)
        ctx = cg.resolved.context
        with b.if_else(h.v6) as (v6, other):
            with v6:
                ctx.read_packet(cg, dst, 16, _const(ETH_HLEN + v6_at))
            with other:
                with b.if_then(h.v4):
                    ctx.read_packet(cg, dst, 4, _const(ETH_HLEN + v4_at))
        return buf
    return lower


def _lower_pkt(cg, node):
    return _const(0)   # byte 0 of the packet: pkt[i] reads byte i (codegen/expressions.py read_memory)


VARIABLES = (
    BuiltinVar("len", "the packet's length in bytes (tc, xdp)", _packet_var(U64), _lower_len),
    BuiltinVar("ifindex", "the interface's index (tc: skb->ifindex; xdp: the receiving one)",
               _packet_var(U64), _lower_ifindex),
    BuiltinVar("l3proto", "the EtherType: 0x800 IPv4, 0x86dd IPv6, 0x806 ARP... (tc, xdp)",
               _packet_var(U64), _lower_l3proto),
    BuiltinVar("proto", "the IP protocol: 6 tcp, 17 udp, 1 icmp, 58 icmpv6; 0 when not IP (tc, xdp)",
               _packet_var(U64), _lower_proto),
    BuiltinVar("saddr", "the IPv4/IPv6 source address, an inet value (0.0.0.0 when not IP)",
               _packet_var(Sym("inet")), _lower_addr(12, 8)),
    BuiltinVar("daddr", "the IPv4/IPv6 destination address, an inet value (0.0.0.0 when not IP)",
               _packet_var(Sym("inet")), _lower_addr(16, 24)),
    BuiltinVar("sport", "the TCP/UDP source port (0 when neither)", _packet_var(U64), _lower_port(0)),
    BuiltinVar("dport", "the TCP/UDP destination port (0 when neither)", _packet_var(U64), _lower_port(1)),
    BuiltinVar("tcpflags", "the TCP flags byte: FIN 1, SYN 2, RST 4, PSH 8, ACK 16 (0 when not TCP)",
               _packet_var(U64), _lower_tcpflags),
    BuiltinVar("pkt", "the packet's bytes: pkt[i] (uint8, 0 past the end), *(uint16 *)(pkt + i)",
               _packet_var(Ptr(Int(8, False), PACKET)), _lower_pkt),
)


# ---- drop(), pass() ------------------------------------------------------------------------

def _check_verdict(checker: "Checker", call: ast.Call) -> Type | None:
    if not check_arity(checker, call, 0, 0):
        return None
    if not in_packet_probe(checker, call.span, f"{call.name}()"):
        return None
    if not checker.options.unsafe:
        checker.sink.error(call.span, f"{call.name}() decides the packet's fate, not just observes it: "
                           "it needs --unsafe",
                           "without drop()/pass() every packet goes on as if kt were not there")
        return None
    return Void()


def _lower_verdict(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.end_with_verdict(cg.resolved.context.verdicts[call.name])
    return None


FUNCTIONS = (
    Function("drop", "drop the packet and end the probe (tc, xdp; --unsafe): TC_ACT_SHOT / XDP_DROP",
             _check_verdict, _lower_verdict),
    Function("pass", "let the packet through and end the probe (tc, xdp; --unsafe): TC_ACT_OK / XDP_PASS",
             _check_verdict, _lower_verdict),
)
