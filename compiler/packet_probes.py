"""Packet probes: `tc:DEV:ingress`, `tc:DEV:egress` and `xdp:DEV` (kt's own; bpftrace has none).

Why a module: a packet program differs from every tracing probe in what its context is (a
`struct __sk_buff *` or a `struct xdp_md *`, whose fields the verifier rewrites into the real
sk_buff / xdp_buff: they are read only by loads at constant offsets from ctx) and in its
return value, which is a verdict on the packet. The resolvers check the attach point's text
only: the interface is looked up by name when the runtime attaches (an object may run on
another machine), so a missing interface is the runtime's error.

The context record (PacketContext) owns what the packet builtins (compiler/builtins/packet.py)
and drop()/pass() need: the verdicts, how `len` and `ifindex` are read, and how packet bytes
are copied out (bpf_skb_load_bytes / bpf_xdp_load_bytes, which check the range themselves, so
the verifier needs no data/data_end proof and an out-of-range read just fails).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from llvmlite import ir

from . import ast
from .contexts import ProbeContext
from .codegen.places import CTX, Place
from .diagnostics import DiagnosticSink
from .probe_records import ProbeEnv, ResolvedProbe
from .helpers import Helper
from .types import KERNEL, Int, Ptr, Void

if TYPE_CHECKING:  # pragma: no cover
    from .codegen.probe import ProbeCodegen

I32 = ir.IntType(32)
I64 = ir.IntType(64)
U32 = Int(32, False)

# include/uapi/linux/pkt_cls.h and bpf.h
TC_ACT_UNSPEC = -1   # also TCX_NEXT: the next program (or the qdisc's default) decides
TC_ACT_OK = 0
TC_ACT_SHOT = 2
XDP_DROP = 1
XDP_PASS = 2

# net/core/dev.c dev_valid_name(): at most IFNAMSIZ - 1 bytes, no '/', ':' or whitespace,
# not "." or "..".
IFNAMSIZ = 16
_GLOB = re.compile(r"[*?\[]")
DIRECTIONS = ("ingress", "egress")


class PacketContext(ProbeContext):
    """A packet program's context. `default` is what the program returns when the script
    does not decide (the packet goes on as if kt were not there); `verdicts` are drop()'s and
    pass()'s."""

    space = KERNEL

    def __init__(self, kind: str, default: int, verdicts: dict[str, int], len_offset: int | None,
                 data_offsets: tuple[int, int] | None, ifindex_offset: int, load_bytes: Helper):
        self.kind = kind
        self.default_return = default
        self.verdicts = verdicts
        self._len_offset = len_offset          # skb->len; xdp: data_end - data
        self._data_offsets = data_offsets
        self._ifindex_offset = ifindex_offset
        self._load_bytes = load_bytes

    def ctx_type(self, checker):
        # Not a Record from BTF: __sk_buff / xdp_md are views the verifier rewrites, so reading
        # them through memory (probe_read) would read the real sk_buff's bytes.
        return Ptr(Void(), KERNEL)

    def ctx_u32(self, cg: "ProbeCodegen", offset: int) -> ir.Value:
        return cg.load(Place(CTX, cg.offset(cg.ctx, offset)), U32)

    def lower_len(self, cg: "ProbeCodegen") -> ir.Value:
        if self._len_offset is not None:
            return self.ctx_u32(cg, self._len_offset)
        data, end = self._data_offsets
        return cg.b.sub(self.ctx_u32(cg, end), self.ctx_u32(cg, data))

    def lower_ifindex(self, cg: "ProbeCodegen") -> ir.Value:
        return self.ctx_u32(cg, self._ifindex_offset)

    def read_packet(self, cg: "ProbeCodegen", dst: ir.Value, size: int | ir.Value, offset: ir.Value) -> ir.Value:
        """Copy `size` bytes of the packet from byte `offset` (an i64) to dst; returns the
        helper's result (negative when the range is not all in the packet: dst is left as the
        caller zeroed it). An offset outside 0..0xffff is made one the helper refuses (the
        helpers take a u32, which would wrap a huge i64 back into the packet)."""
        b = cg.b
        inside = b.icmp_unsigned("<", offset, ir.Constant(I64, 0x10000))
        off = b.select(inside, offset, ir.Constant(I64, 0xFFFFFFFF))
        n = ir.Constant(I64, size) if isinstance(size, int) else size   # a bounded one: buf()
        return cg.helper(self._load_bytes, cg.ctx, off, dst, n)


TC_CONTEXT = PacketContext(
    "tc", TC_ACT_UNSPEC, {"drop": TC_ACT_SHOT, "pass": TC_ACT_OK},
    len_offset=0, data_offsets=None, ifindex_offset=40,           # struct __sk_buff: len, ifindex
    load_bytes=Helper.skb_load_bytes)
XDP_CONTEXT = PacketContext(
    "xdp", XDP_PASS, {"drop": XDP_DROP, "pass": XDP_PASS},
    len_offset=None, data_offsets=(0, 4), ifindex_offset=12,      # struct xdp_md: data, data_end, ingress_ifindex
    load_bytes=Helper.xdp_load_bytes)


def _interface(kind: str, name: str, ap: ast.AttachPoint, sink: DiagnosticSink) -> bool:
    """Whether `name` can be an interface name (dev_valid_name); a located error if not."""
    if _GLOB.search(name):
        sink.error(ap.span, f"{kind} probes take one interface, not a pattern ('{name}')",
                   "a packet program attaches to each interface on its own, and interfaces "
                   "come and go: name each one (tc:eth0:ingress, tc:eth1:ingress)")
        return False
    why = ""
    if not name:
        why = "it is empty"
    elif len(name.encode()) >= IFNAMSIZ:
        why = f"it is {len(name.encode())} bytes, more than {IFNAMSIZ - 1}"
    elif "/" in name or re.search(r"\s", name):
        why = "it holds '/' or whitespace"
    elif name in (".", ".."):
        why = f"'{name}' is not a name"
    if why:
        sink.error(ap.span, f"invalid interface name '{name}': {why}",
                   "interface names are 1 to 15 bytes without '/', ':' or whitespace (ip link lists them)")
        return False
    return True


def resolve_tc(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink) -> list[ResolvedProbe] | None:
    """`tc:DEV:ingress` / `tc:DEV:egress`."""
    if len(ap.parts) != 2:
        sink.error(ap.span, f"tc needs an interface and a direction: 'tc:DEV:ingress' or 'tc:DEV:egress', "
                   f"got '{ap.raw}'")
        return None
    dev, direction = ap.parts
    if direction not in DIRECTIONS:
        sink.error(ap.span, f"tc's direction is 'ingress' or 'egress', not '{direction}'",
                   "ingress: packets the interface receives; egress: packets it sends")
        return None
    if not _interface("tc", dev, ap, sink):
        return None
    return [_probe("tc", f"tc:{dev}:{direction}", dev, {"ifname": dev, "direction": direction}, TC_CONTEXT)]


def resolve_xdp(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink) -> list[ResolvedProbe] | None:
    """`xdp:DEV`."""
    if len(ap.parts) != 1:
        hint = ("XDP sees received packets only: write 'xdp:DEV' (tc:DEV:egress sees sent ones)"
                if len(ap.parts) == 2 and ap.parts[1] in DIRECTIONS else "")
        sink.error(ap.span, f"xdp needs one interface: 'xdp:DEV', got '{ap.raw}'", hint)
        return None
    dev = ap.parts[0]
    if not _interface("xdp", dev, ap, sink):
        return None
    return [_probe("xdp", f"xdp:{dev}", dev, {"ifname": dev}, XDP_CONTEXT)]


def _probe(kind: str, name: str, ifname: str, attach: dict, context: PacketContext) -> ResolvedProbe:
    """One program; its section is its kind's ("tc": SCHED_CLS, "xdp": XDP)."""
    return ResolvedProbe(kind, name, kind, ifname, attach, (name,), (), context)
