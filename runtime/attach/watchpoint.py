"""watchpoint: and asyncwatchpoint: probes: PERF_TYPE_BREAKPOINT events running the probe's
PERF_EVENT program.

A fixed address (`watchpoint:ADDR:LEN:MODE`) is one breakpoint event: on the traced process
(-p/-c; perf events follow it across exec, so a -c child is watched from its first instruction,
the kernel's own writes during exec included, as in 0.17), or one per CPU for every process.

The function form (`watchpoint:FUNC+argN:LEN:MODE`) learns its address at run time, as 0.17
does: a uprobe on FUNC runs a small program kt assembles here (it is attachment machinery, not
the script): it sends argN through a ring buffer of its own and, unless the probe is async,
stops the process with bpf_send_signal(SIGSTOP) before FUNC's first instruction runs. A thread
of the link reads the address, arms a breakpoint there (once per address) and sends SIGCONT.
Debug registers are few (4 on x86-64): when the kernel has none left (ENOSPC), 0.17's message is
reported and the process goes on unwatched at that address.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import struct
import sys
import threading
import time
from typing import Callable

from ...compiler.formats.bpf_helpers import Helper
from ..events import RingBuffer
from ..maps import Map
from ..spec import MapSpec
from ..sys.constants import BpfCmd, MapType, PerfAttrFlag, PerfFlag, PerfType, ProgType
from ..sys.cpus import online_cpus
from ..sys.fd import FdLike, OwnedFd
from ..sys.structs import PerfEventAttr, ProgLoadAttr
from ..sys.syscall import SyscallError, bpf, perf_event_open
from . import AttachError
from .perf_event import PerfEventGroupLink
from .perf_link import PerfEventLink, attach_perf_event

OUT_OF_REGISTERS = "Failed to attach watchpoint probe. You are out of watchpoint registers."
_MODES = {1: "r", 2: "w", 3: "rw", 4: "x"}


def describe(addr: int, length: int, bp_type: int) -> str:
    return f"watchpoint {addr:#x}:{length}:{_MODES.get(bp_type, bp_type)}"


def _explain(err: SyscallError, what: str, pid: int) -> AttachError:
    e = err.errno
    if e == errno.ENOSPC:
        return AttachError(e, f"attach {what}: {err} (no free debug register: x86-64 has 4)")
    if e == errno.EINVAL:
        return AttachError(e, f"attach {what}: {err} (the address must be aligned to the "
                              f"length, and an x watch needs length 8 on x86-64)")
    if e in (errno.ENOENT, errno.ENODEV, errno.EOPNOTSUPP):
        return AttachError(e, f"attach {what}: {err} (this machine has no hardware breakpoints)")
    if e == errno.ESRCH:
        return AttachError(e, f"attach {what}: {err} (process {pid} is gone)")
    if e in (errno.EACCES, errno.EPERM):
        return AttachError(e, f"attach {what}: {err} (needs root or CAP_PERFMON)")
    return AttachError(e, f"attach {what}: {err}")


def open_breakpoint(addr: int, length: int, bp_type: int, pid: int, cpu: int) -> OwnedFd:
    """perf_event_open one breakpoint event (disabled until a program is attached) that
    overflows on every access: sample_period 1."""
    attr = PerfEventAttr(type=int(PerfType.BREAKPOINT), size=ctypes.sizeof(PerfEventAttr),
                         sample_period=1, flags=int(PerfAttrFlag.DISABLED), bp_type=bp_type,
                         config1=addr, config2=length)
    what = describe(addr, length, bp_type)
    try:
        fd = perf_event_open(attr, pid=pid, cpu=cpu, group_fd=-1, flags=PerfFlag.FD_CLOEXEC)
    except SyscallError as e:
        raise _explain(e, what, pid) from None
    return OwnedFd(fd, f"perf_event {what}")


def attach_watchpoint(prog_fd: FdLike, addr: int, length: int, bp_type: int,
                      pid: int = -1) -> PerfEventGroupLink:
    """Run PERF_EVENT program ``prog_fd`` on every access of ``length`` bytes at user address
    ``addr`` of kind ``bp_type`` (HW_BREAKPOINT_R 1 | W 2, or X 4) by process ``pid``, or by
    any process (-1: one event per online CPU)."""
    what = describe(addr, length, bp_type)
    links: list[PerfEventLink] = []
    try:
        for cpu in ([-1] if pid > 0 else online_cpus()):
            pfd = open_breakpoint(addr, length, bp_type, pid, cpu)
            links.append(attach_perf_event(prog_fd, pfd, what if cpu < 0 else f"{what} cpu {cpu}"))
    except BaseException:
        for link in reversed(links):
            link.close()
        raise
    return PerfEventGroupLink(links, what)


# ---- the function form ----------------------------------------------------------------------

# x86-64 struct pt_regs offsets of the argument registers di, si, dx, cx, r8, r9.
_ARG_OFFSETS = (112, 104, 96, 88, 72, 64)
_BPF_RB_FORCE_WAKEUP = 2
_RING_BYTES = 4096 * 4


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def arming_program(arg: int, ring_fd: int, stop: bool) -> bytes:
    """The uprobe program of a function watchpoint: send argN (8 bytes) to ring ``ring_fd``
    and, with ``stop``, SIGSTOP the process until user space has armed the breakpoint."""
    code = [
        _insn(0xBF, dst=6, src=1),                                # r6 = ctx (pt_regs)
        _insn(0x79, dst=1, src=6, off=_ARG_OFFSETS[arg]),         # r1 = argN
        _insn(0x7B, dst=10, src=1, off=-8),                       # *(u64 *)(fp - 8) = r1
        _insn(0x18, dst=1, src=1, imm=ring_fd), _insn(0),         # r1 = ring (BPF_PSEUDO_MAP_FD)
        _insn(0xBF, dst=2, src=10),                               # r2 = fp
        _insn(0x07, dst=2, imm=-8),                               # r2 -= 8
        _insn(0xB7, dst=3, imm=8),                                # r3 = 8
        _insn(0xB7, dst=4, imm=_BPF_RB_FORCE_WAKEUP),             # r4 = flags
        _insn(0x85, imm=Helper.ringbuf_output),
    ]
    if stop:
        code += [_insn(0xB7, dst=1, imm=int(signal.SIGSTOP)),     # r1 = SIGSTOP
                 _insn(0x85, imm=Helper.send_signal)]
    code += [_insn(0xB7, dst=0, imm=0), _insn(0x95)]              # return 0
    return b"".join(code)


def _load_kprobe_program(insns: bytes, name: str) -> OwnedFd:
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 16)
    attr = ProgLoadAttr(prog_type=int(ProgType.KPROBE), insn_cnt=len(insns) // 8,
                        insns=ctypes.addressof(code), license=ctypes.addressof(lic),
                        log_level=1, log_size=len(log), log_buf=ctypes.addressof(log))
    attr.prog_name = name.encode()[:15]
    try:
        return OwnedFd(bpf(BpfCmd.PROG_LOAD, attr), f"prog {name}")
    except SyscallError as e:
        why = log.value.decode(errors="replace").strip().splitlines()
        raise AttachError(e.errno, f"load the watchpoint's uprobe program: {e}"
                                   + (f" ({why[-1]})" if why else "")) from None


# Every live function watchpoint, and the lock under which one of them arms and resumes.
_LINKS: list["FunctionWatchpointLink"] = []
_ARMING = threading.Lock()


def _wait_until_stopped(pid: int, tries: int = 2000) -> None:
    """Until /proc/PID/stat says stopped (T) or the process is gone; at most ~2 s (a process
    that never stops, e.g. under a debugger, is armed anyway)."""
    for _ in range(tries):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state in (b"T", b"t"):
            return
        time.sleep(0.001)


class FunctionWatchpointLink:
    """watchpoint:FUNC+argN: the uprobe with its program and ring, the thread that arms
    breakpoints, and every breakpoint armed so far. ``close()`` undoes all of it (idempotent)
    and lets a process still stopped for an unhandled address go on."""

    def __init__(self, prog_fd: FdLike, a, pid: int, notice: Callable[[str], None]) -> None:
        from .uprobe import attach_uprobe

        self.prog_fd = prog_fd
        self.addr_len = a.len
        self.bp_type = a.bp_type
        self.stop = not a.asynchronous
        self.pid = pid
        self.notice = notice
        self.description = f"watchpoint {a.func}+arg{a.arg}"
        self.watched: dict[int, PerfEventLink] = {}
        self.refused: set[int] = set()   # addresses the kernel refused (warned once)
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._ring_map = Map.create(MapSpec("kt_wp_arm", MapType.RINGBUF, 0, 0, _RING_BYTES))
        self._ring = self._arm_prog = self._uprobe = None
        try:
            self._ring = RingBuffer(self._ring_map.fd, _RING_BYTES)
            self._arm_prog = _load_kprobe_program(
                arming_program(a.arg, self._ring_map.fd, self.stop), "kt_wp_arm")
            self._uprobe = attach_uprobe(self._arm_prog, a.path, a.offset, pid=pid)
            with _ARMING:
                _LINKS.append(self)
            self._thread = threading.Thread(target=self._serve, name=self.description, daemon=True)
            self._thread.start()
        except BaseException:
            self.close()
            raise

    def _serve(self) -> None:
        while not self._quit.is_set():
            if self._ring.poll(100):
                self._handle_pending()

    def _handle_pending(self) -> None:
        """Arm what this probe's ring holds, and what the rings of the other function
        watchpoints of the process hold, then let the process go on once. Several probes on
        one function all stop the process at the same call: a SIGCONT after the first would
        let it run before the others are armed. Waiting until the process is stopped first
        makes sure every uprobe program of that call has reported (they run before the
        return to user space, where the stop happens)."""
        with _ARMING:
            peers = [link for link in _LINKS if link.pid == self.pid]
            if self.stop:
                _wait_until_stopped(self.pid)
            resume = False
            for link in peers:
                if link._ring is None:
                    continue
                for rec in link._ring.drain():
                    link._arm(struct.unpack_from("<Q", rec)[0])
                    resume = resume or link.stop
            if resume:
                try:
                    os.kill(self.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass

    def _arm(self, addr: int) -> None:
        if addr in self.watched or addr in self.refused or self._quit.is_set():
            return   # 0.17 ignores an address the probe already watches
        what = describe(addr, self.addr_len, self.bp_type)
        try:
            pfd = open_breakpoint(addr, self.addr_len, self.bp_type, self.pid, -1)
            self.watched[addr] = attach_perf_event(self.prog_fd, pfd, what)
        except AttachError as e:
            if e.errno == errno.ENOSPC:
                self.notice(OUT_OF_REGISTERS)
            else:
                # 0.17 aborts the whole trace here; kt says why and goes on with the rest.
                self.refused.add(addr)
                print(f"kt: warning: cannot watch {addr:#x}: {e}", file=sys.stderr, flush=True)

    def unwatch(self, addr: int) -> None:
        """unwatch(addr): the breakpoint at addr is removed, as 0.17 detaches it; a later
        call of the function with that address arms it again."""
        with _ARMING:
            link = self.watched.pop(addr, None)
        if link is not None:
            link.close()

    def close(self) -> None:
        self._quit.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
            self._thread = None
        with _ARMING:
            if self in _LINKS:
                _LINKS.remove(self)
        if self._uprobe is not None:
            self._uprobe.close()
            self._uprobe = None
        if self._ring is not None:
            if self.stop and self._ring.pending():
                # Addresses sent after the last poll: their process is waiting for SIGCONT.
                for _ in self._ring.drain():
                    try:
                        os.kill(self.pid, signal.SIGCONT)
                    except ProcessLookupError:
                        break
            self._ring.close()
            self._ring = None
        while self.watched:
            _, link = self.watched.popitem()
            link.close()
        if self._arm_prog is not None:
            self._arm_prog.close()
            self._arm_prog = None
        self._ring_map.close()

    @property
    def closed(self) -> bool:
        return self._ring is None

    def __enter__(self) -> FunctionWatchpointLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<FunctionWatchpointLink {self.description} watching {len(self.watched)}>"


def attach_function_watchpoint(prog_fd: FdLike, a, pid: int,
                               notice: Callable[[str], None]) -> FunctionWatchpointLink:
    """watchpoint:FUNC+argN:LEN:MODE (``a`` is its .kt.meta attach entry) in process ``pid``;
    ``notice`` prints a line among the trace's output (0.17's out-of-registers message)."""
    if pid <= 0:
        raise AttachError(errno.EINVAL, "attach watchpoint: -p PID or -c CMD required")
    return FunctionWatchpointLink(prog_fd, a, pid, notice)
