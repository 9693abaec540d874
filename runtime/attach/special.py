"""BEGIN and END: programs run once, on demand, by kt itself.

Why BPF_PROG_TEST_RUN: BEGIN/END are not kernel events. bpftrace attaches them as uprobes on
its own functions; kt loads them as raw_tp programs and asks the kernel to run them once
(raw_tp supports test runs with no context since 5.10: bpf_prog_test_run_raw_tp). The program
runs in the kernel like any probe, so its map and ring buffer writes are real.
"""

from __future__ import annotations

import errno

from ..sys.constants import BPF_F_TEST_RUN_ON_CPU, ENOTSUPP, BpfCmd
from ..sys.fd import FdLike, raw_fd
from ..sys.structs import ProgTestRunAttr
from ..sys.syscall import SyscallError, bpf


class RunError(SyscallError):
    """A run-once program could not be run; the message says why in user terms."""


def run_once(prog_fd: FdLike, cpu: int | None = None) -> int:
    """Run the program once with no context and return its return value. ``cpu`` pins the run
    to one CPU (BPF_F_TEST_RUN_ON_CPU), otherwise it runs on the calling CPU."""
    attr = ProgTestRunAttr(prog_fd=raw_fd(prog_fd))
    if cpu is not None:
        attr.flags = BPF_F_TEST_RUN_ON_CPU
        attr.cpu = cpu
    try:
        bpf(BpfCmd.PROG_TEST_RUN, attr)
    except SyscallError as e:
        if e.errno in (ENOTSUPP, errno.EOPNOTSUPP):
            why = ("this program type cannot be test-run; BEGIN/END must be raw_tp programs "
                   "(kernel 5.10+)")
        elif e.errno == errno.EINVAL:
            why = ("the kernel refused the test run (raw_tp test runs need 5.10+, and take no "
                   "data_in/data_out/repeat)")
        elif e.errno == errno.ENXIO:
            why = f"cpu {cpu} is not online"
        else:
            why = "running the program once failed"
        raise RunError(e.call, e.errno, why) from None
    return attr.retval
