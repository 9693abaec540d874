"""Traffic for packet tests, run inside a test's network namespace (`ip netns exec NS python3
tests/netns_traffic.py ...`; the standard library only). Each command prints one line of
JSON (to stdout, or appended to the file given by --out FILE before the command): what it
sent or received.

  udp-send DST PORT N [--sport S]       N datagrams "kt-N" to DST:PORT (v4 or v6)
  udp-recv ADDR PORT SECONDS N          bind ADDR:PORT, count datagrams until N or SECONDS pass
  tcp-listen ADDR PORT SECONDS          accept connections for SECONDS (prints how many)
  tcp-connect DST PORT [--sport S]      one connection attempt (its SYN); prints if it connected
  ping DST N SECONDS                    N ICMP echo requests (raw socket, v4); prints replies
  tcx DEV                               the program ids on DEV's tcx ingress and egress hooks
                                        (BPF_PROG_QUERY; bpftool 7.1 does not show tcx links)
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import select
import socket
import struct
import sys
import time


def _family(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_send(dst: str, port: int, n: int, sport: int) -> dict:
    with socket.socket(_family(dst), socket.SOCK_DGRAM) as s:
        if sport:
            s.bind(("::" if ":" in dst else "0.0.0.0", sport))
        for i in range(n):
            s.sendto(f"kt-{i}".encode(), (dst, port))
        return {"sent": n, "sport": s.getsockname()[1]}


def udp_recv(addr: str, port: int, seconds: float, n: int) -> dict:
    with socket.socket(_family(addr), socket.SOCK_DGRAM) as s:
        s.bind((addr, port))
        print(json.dumps({"ready": True}), flush=True)
        got, deadline = 0, time.monotonic() + seconds
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            s.recv(2048)
            got += 1
        return {"received": got}


def tcp_listen(addr: str, port: int, seconds: float) -> dict:
    with socket.socket(_family(addr), socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(8)
        print(json.dumps({"ready": True}), flush=True)
        accepted, deadline = 0, time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            c, _ = s.accept()
            c.close()
            accepted += 1
        return {"accepted": accepted}


def tcp_connect(dst: str, port: int, sport: int, seconds: float = 3.0) -> dict:
    with socket.socket(_family(dst), socket.SOCK_STREAM) as s:
        if sport:
            s.bind(("::" if ":" in dst else "0.0.0.0", sport))
        s.settimeout(seconds)
        try:
            s.connect((dst, port))
            return {"connected": True, "sport": s.getsockname()[1]}
        except OSError as e:
            return {"connected": False, "error": str(e)}


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(dst: str, n: int, seconds: float) -> dict:
    ident = os.getpid() & 0xFFFF
    replies = 0
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
        for seq in range(n):
            body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"kt-ping!"
            pkt = body[:2] + struct.pack("!H", _checksum(body)) + body[4:]
            s.sendto(pkt, (dst, 0))
            deadline = time.monotonic() + seconds / n
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([s], [], [], left)[0]:
                    break
                data = s.recv(2048)
                ihl = (data[0] & 0xF) * 4
                typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
                if typ == 0 and rid == ident and rseq == seq:
                    replies += 1
                    break
    return {"sent": n, "replies": replies}


class _QueryAttr(ctypes.Structure):
    """bpf_attr for BPF_PROG_QUERY (6.6+ layout; include/uapi/linux/bpf.h)."""
    _fields_ = [("target_ifindex", ctypes.c_uint32), ("attach_type", ctypes.c_uint32),
                ("query_flags", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                ("prog_ids", ctypes.c_uint64), ("count", ctypes.c_uint32), ("_pad", ctypes.c_uint32),
                ("prog_attach_flags", ctypes.c_uint64), ("link_ids", ctypes.c_uint64),
                ("link_attach_flags", ctypes.c_uint64), ("revision", ctypes.c_uint64)]


def tcx(dev: str) -> dict:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    out = {}
    for direction, attach_type in (("ingress", 46), ("egress", 47)):
        ids = (ctypes.c_uint32 * 64)()
        attr = _QueryAttr(target_ifindex=socket.if_nametoindex(dev), attach_type=attach_type,
                          prog_ids=ctypes.addressof(ids), count=64)
        ret = libc.syscall(ctypes.c_long(321), ctypes.c_long(16), ctypes.byref(attr),
                           ctypes.c_long(ctypes.sizeof(attr)))   # bpf(BPF_PROG_QUERY), x86_64
        if ret < 0:
            out[direction] = {"errno": ctypes.get_errno()}
        else:
            out[direction] = list(ids[:attr.count])
    return out


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("udp-send")
    a.add_argument("dst"), a.add_argument("port", type=int), a.add_argument("n", type=int)
    a.add_argument("--sport", type=int, default=0)
    a = sub.add_parser("udp-recv")
    a.add_argument("addr"), a.add_argument("port", type=int), a.add_argument("seconds", type=float)
    a.add_argument("n", type=int)
    a = sub.add_parser("tcp-listen")
    a.add_argument("addr"), a.add_argument("port", type=int), a.add_argument("seconds", type=float)
    a = sub.add_parser("tcp-connect")
    a.add_argument("dst"), a.add_argument("port", type=int), a.add_argument("--sport", type=int, default=0)
    a = sub.add_parser("tcx")
    a.add_argument("dev")
    a = sub.add_parser("ping")
    a.add_argument("dst"), a.add_argument("n", type=int), a.add_argument("seconds", type=float)
    args = p.parse_args(argv)
    if args.cmd == "udp-send":
        out = udp_send(args.dst, args.port, args.n, args.sport)
    elif args.cmd == "udp-recv":
        out = udp_recv(args.addr, args.port, args.seconds, args.n)
    elif args.cmd == "tcp-listen":
        out = tcp_listen(args.addr, args.port, args.seconds)
    elif args.cmd == "tcp-connect":
        out = tcp_connect(args.dst, args.port, args.sport)
    elif args.cmd == "tcx":
        out = tcx(args.dev)
    else:
        out = ping(args.dst, args.n, args.seconds)
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(out) + "\n")
    else:
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
