"""Test-only: run a script's tc/xdp programs on crafted Ethernet frames with BPF_PROG_TEST_RUN.

The script is compiled to an object and run by a real Session, as `kt out.o` runs it (maps,
printf, the exit's map output: what users see), except that its tc/xdp probes are not attached
to interfaces: a stand-in adapter keeps each program's fd, and once the trace has started, each
frame is run through its probe's program (the kernel gives it a real sk_buff / xdp_buff, on
the loopback device of the test's network namespace), then the trace is ended as SIGTERM does.
The netns/veth end-to-end tests with real attachments are packet-attach's (tests/e2e).
"""

from __future__ import annotations

import ctypes
import io
import os
import signal
import struct
from dataclasses import dataclass, field

from kt.compiler.driver import compile_source
from kt.compiler.options import CompileOptions
from kt.compiler.source import SourceFile
from kt.runtime.attach.by_kind import ATTACH
from kt.runtime.session import Session
from kt.runtime.sys.constants import BpfCmd
from kt.runtime.sys.fd import raw_fd
from kt.runtime.sys.structs import ProgTestRunAttr
from kt.runtime.sys.syscall import bpf

# include/uapi/linux/pkt_cls.h and bpf.h
TC_ACT_UNSPEC, TC_ACT_OK, TC_ACT_SHOT = -1, 0, 2
XDP_DROP, XDP_PASS = 1, 2


def prog_test_run(prog_fd: int, frame: bytes) -> int:
    """Run the program once on `frame`; its return value (signed)."""
    data = ctypes.create_string_buffer(frame, len(frame))
    out = ctypes.create_string_buffer(len(frame) + 512)
    attr = ProgTestRunAttr(prog_fd=prog_fd, data_size_in=len(frame), data_in=ctypes.addressof(data),
                           data_size_out=len(out), data_out=ctypes.addressof(out), repeat=1)
    bpf(BpfCmd.PROG_TEST_RUN, attr)
    return ctypes.c_int32(attr.retval).value


@dataclass
class PacketRun:
    rc: int
    out: str
    retvals: list[int] = field(default_factory=list)


class _Held:
    """The stand-in link: the program's fd, dup'ed, closed with the trace."""

    def __init__(self, fd: int):
        self.fd = os.dup(raw_fd(fd))

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _name(kind: str, attach) -> str:
    return f"tc:{attach.ifname}:{attach.direction}" if kind == "tc" else f"xdp:{attach.ifname}"


def compile_elf(script: str, unsafe: bool = False, positional: tuple[str, ...] = ()) -> bytes:
    return compile_source(SourceFile.of("t.kt", script),
                          CompileOptions(unsafe=unsafe, positional=positional)).elf


def run_frames(script: str | bytes, frames: list[tuple[str, bytes]], unsafe: bool = False,
               positional: tuple[str, ...] = ()) -> PacketRun:
    """Run `script` (text, or an object's bytes), feeding each (probe name, frame) in order to
    each program of that attach point; `retvals` has one verdict per program run."""
    elf = script if isinstance(script, bytes) else compile_elf(script, unsafe, positional)
    held: dict[str, list[_Held]] = {}
    saved = {k: ATTACH.get(k) for k in ("tc", "xdp")}

    def adapter(kind):
        def attach(fd, a, ctx):
            link = _Held(fd)
            held.setdefault(_name(kind, a), []).append(link)
            return [link]
        return attach

    run = PacketRun(0, "")
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def started():
        for name, frame in frames:   # every program of that attach point, in the script's order
            for link in held[name]:
                run.retvals.append(prog_test_run(link.fd, frame))
        os.write(w, bytes([signal.SIGTERM]))

    out = io.BytesIO()
    try:
        ATTACH["tc"], ATTACH["xdp"] = adapter("tc"), adapter("xdp")
        run.rc = Session(elf, out=out, quiet=True, wake_fd=r, started=started, positional=positional).run()
    finally:
        for k, v in saved.items():
            if v is None:
                ATTACH.pop(k, None)
            else:
                ATTACH[k] = v
        os.close(r)
        os.close(w)
    run.out = out.getvalue().decode()
    return run


# ---- frames -----------------------------------------------------------------------------------

MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ether(ethertype: int, payload: bytes) -> bytes:
    return MAC_B + MAC_A + struct.pack("!H", ethertype) + payload


def ipv4(src: str, dst: str, proto: int, payload: bytes, options: bytes = b"", frag: int = 0) -> bytes:
    import socket
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), 1, frag, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
    return ether(0x0800, hdr + payload)


def ipv6(src: str, dst: str, nexthdr: int, payload: bytes) -> bytes:
    import socket
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(payload), nexthdr, 64,
                      socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))
    return ether(0x86DD, hdr + payload)


def udp(sport: int, dport: int, data: bytes = b"") -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport: int, dport: int, flags: int, data: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0) + data


def icmp_echo() -> bytes:
    body = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping"
    return body[:2] + struct.pack("!H", _csum(body)) + body[4:]


def arp() -> bytes:
    return ether(0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A, bytes([10, 0, 0, 1]),
                                     b"\0" * 6, bytes([10, 0, 0, 2])))
