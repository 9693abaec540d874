"""A child for tests/runtime/test_packet_attach.py, run inside a test's namespace
(`ip netns exec NS python3 this.py KIND DEV [DIRECTION]`): loads a 2-instruction program
(`r0 = TC_ACT_OK` / `r0 = XDP_PASS`; exit), attaches it with runtime/attach/packet.py, prints
one JSON line (KIND xdp-netlink: attached as other tools do, with no link; tc-other: a bpf filter
named other_tool at prio 7) ({"ok": repr, "prog_id": N} or {"error": message, "errno": N}), then waits for
a line on stdin and closes the link (prints {"closed": true}). KT_TC_NETLINK=1 and
KT_XDP_GENERIC=1 choose the paths as they do for kt."""

from __future__ import annotations

import ctypes
import json
import os
import struct
import sys

from kt.compiler.formats.bpf_enums import ProgType
from kt.runtime.attach import AttachError
from kt.runtime.attach.packet import attach_tc, attach_xdp
from kt.runtime.sys.constants import BpfCmd
from kt.runtime.sys.fd import OwnedFd
from kt.runtime.sys.info import prog_info
from kt.runtime.sys.structs import ProgLoadAttr
from kt.runtime.sys.syscall import bpf


def load(prog_type: ProgType, r0: int) -> OwnedFd:
    insns = struct.pack("<BBhi", 0xB7, 0, 0, r0) + struct.pack("<BBhi", 0x95, 0, 0, 0)
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"GPL")
    attr = ProgLoadAttr(prog_type=int(prog_type), insn_cnt=2, insns=ctypes.addressof(code),
                        license=ctypes.addressof(lic), prog_name=b"kt_test_pkt")
    return OwnedFd(bpf(BpfCmd.PROG_LOAD, attr), "test program")


def main(kind: str, dev: str, direction: str = "") -> None:
    xdp = kind.startswith("xdp")
    prog = load(ProgType.XDP if xdp else ProgType.SCHED_CLS, 2 if xdp else 0)
    if kind == "xdp-netlink":   # another tool's XDP program: no link (ip link set DEV xdp ...)
        from pyroute2 import IPRoute
        with IPRoute() as ip:
            index = ip.link_lookup(ifname=dev)[0]
            ip.link("set", index=index, xdp_fd=prog.fd)
            print(json.dumps({"ok": "netlink", "prog_id": prog_info(prog).id}), flush=True)
            sys.stdin.readline()
            ip.link("set", index=index, xdp_fd=-1)
        print(json.dumps({"closed": True}), flush=True)
        return
    if kind == "tc-other":   # another tool's bpf filter (prio 7) on an existing clsact qdisc
        from pyroute2 import IPRoute
        with IPRoute() as ip:
            index = ip.link_lookup(ifname=dev)[0]
            ip.tc("add-filter", "bpf", index, fd=prog.fd, name="other_tool", prio=7,
                  parent=0xFFFFFFF2 if direction == "ingress" else 0xFFFFFFF3, classid=1, direct_action=True)
            print(json.dumps({"ok": "netlink", "prog_id": prog_info(prog).id}), flush=True)
            sys.stdin.readline()
            ip.tc("del-filter", "bpf", index, parent=0xFFFFFFF2 if direction == "ingress" else 0xFFFFFFF3, prio=7)
        print(json.dumps({"closed": True}), flush=True)
        return
    try:
        if kind == "xdp":
            link = attach_xdp(prog, dev, generic=os.environ.get("KT_XDP_GENERIC") == "1")
        else:
            link = attach_tc(prog, dev, direction, netlink=os.environ.get("KT_TC_NETLINK") == "1")
    except AttachError as e:
        print(json.dumps({"error": str(e), "errno": e.errno}), flush=True)
        return
    print(json.dumps({"ok": repr(link), "prog_id": prog_info(prog).id}), flush=True)
    sys.stdin.readline()
    link.close()
    link.close()   # idempotent
    print(json.dumps({"closed": True}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
