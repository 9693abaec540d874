"""Why the kernel refused to load an object, in words a user can act on.

The verifier's log is long and speaks in instructions; kt shows its last lines, the script
line the verifier reached (BTF line info quotes it), and, when the verifier did not know a
helper, which kernel feature the builtin needs (bpftrace's "BPF_FUNC_x not available").
"""

from __future__ import annotations

import errno
import os
import re

from .loader import ProgramRefusedError, VerifierError
from .sys.syscall import SyscallError

VERIFIER_TAIL_LINES = 12


# BTF line info makes the verifier quote the source: "; @x[comm] = count(); @ script.kt:3"
_SOURCE_LINE = re.compile(r"^; (?P<text>.*) @ (?P<file>\S+):(?P<line>\d+)$")


def _verifier_source_line(log_lines: list[str]) -> str:
    """' at FILE:LINE: TEXT' for the last source line the verifier reached before failing."""
    for line in reversed(log_lines):
        m = _SOURCE_LINE.match(line)
        if m:
            text = m["text"].strip()
            return f"\n  at {m['file']}:{m['line']}" + (f": {text}" if text else "")
    return ""


# What a builtin needs when the verifier does not know its helper ("unknown func NAME#ID").
_HELPER_NEEDS = {
    "bpf_override_return": "override() needs a kernel built with CONFIG_BPF_KPROBE_OVERRIDE "
                           "(it depends on CONFIG_FUNCTION_ERROR_INJECTION)",
    "bpf_d_path": "path() needs Linux 5.10 or later",
}
_UNKNOWN_HELPER = re.compile(r"unknown func (\w+)#(\d+)")


def _missing_helper(log_lines: list[str]) -> str:
    """bpftrace's "BPF_FUNC_x not available for your kernel version", from the verifier's
    "unknown func bpf_x#N" (kt's compiler does not probe the kernel, so the load tells)."""
    for line in reversed(log_lines):
        m = _UNKNOWN_HELPER.search(line)
        if m:
            name = m.group(1)
            upper = "BPF_FUNC_" + name.removeprefix("bpf_")
            need = _HELPER_NEEDS.get(name)
            return (f"{upper} not available for your kernel version (the verifier does not know "
                    f"helper {name}#{m.group(2)})" + (f": {need}" if need else ""))
    return ""



def explain_load_error(err: Exception, verbose: bool) -> str:
    """The message for a VerifierError, ProgramRefusedError or SyscallError of a load."""
    if isinstance(err, VerifierError):
        lines = err.log.rstrip().splitlines()
        shown = lines if verbose else lines[-VERIFIER_TAIL_LINES:]
        more = "" if verbose or len(lines) <= VERIFIER_TAIL_LINES else \
            f"\n({len(lines) - VERIFIER_TAIL_LINES} earlier lines of the verifier log omitted; -v shows all)"
        where = _verifier_source_line(lines)
        missing = _missing_helper(lines)
        if missing:
            return missing + where
        which = f"{err.program} ({err.section})" if err.section else err.program
        return (f"the kernel's verifier rejected {which}: "
                f"{os.strerror(err.errno)}{where}\n" + "\n".join(shown) + more)
    if isinstance(err, ProgramRefusedError):  # the kernel refuses this kind of program outright
        return str(err)
    if isinstance(err, SyscallError) and err.errno == errno.ENOSYS:
        return "this kernel has no bpf() system call (CONFIG_BPF_SYSCALL is off); kt cannot trace here"
    if isinstance(err, SyscallError) and err.errno == errno.EPERM:
        return (f"{err}: loading BPF programs needs root (CAP_BPF, CAP_PERFMON); "
                "a kernel in lockdown or with unprivileged BPF disabled also refuses")
    return str(err)
