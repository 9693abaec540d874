"""What resolving an attach point gives (ResolvedProbe) and what it reads of the machine
(ProbeEnv): the records the probe-kind registry (compiler/probes.py) and the modules holding
its resolvers (user_probes.py, packet_probes.py, ...) share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from .contexts import NO_CONTEXT, ProbeContext

# A wildcard in an attach point's part: `*`, `?` or a `[...]` class (fnmatch's).
GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True, slots=True)
class ResolvedProbe:
    """One program: an attach point made concrete (a wildcard may give it several targets)."""
    kind: str            # the registry record's name: "tracepoint", "kprobe", ...
    name: str            # canonical, as bpftrace prints it: "tracepoint:syscalls:sys_enter_openat"
    section: str         # ELF section of its program (fixes the program type)
    target: str          # what it attaches to, for messages ("" for BEGIN/END)
    attach: dict = field(default_factory=dict)      # docs/object-format.md "Probe kinds"
    # One name per target (cookie i): what `probe` and `func` print.
    probe_names: tuple[str, ...] = ()
    func_names: tuple[str, ...] = ()
    # What the program's context holds and how argN, retval and args are read from it.
    context: ProbeContext = NO_CONTEXT
    # bpftrace's rule for a target that cannot attach: where the probe names several attach
    # points, or a wildcard expanded to this target, it is skipped with a warning; a single
    # explicit attach point that fails is an error (the user wanted exactly it).
    optional: bool = False
    # Its function's name in the object (passes/semantic.py gives every program one).
    program: str = ""

    @property
    def multi(self) -> bool:
        """Several targets share the program: `probe`/`func` read the attach cookie."""
        return len(self.probe_names) > 1


@dataclass(frozen=True, slots=True)
class ProbeEnv:
    """What resolving needs from the machine, passed in by the driver so the compiler never
    reaches into the kernel itself: tracefs (formats), kernel function lists, BTF, a pid."""
    tracefs: str
    # glob -> kernel functions that can be probed (available_filter_functions, kallsyms)
    kernel_functions: Callable[[str], list[str]] | None = None
    pid: int = 0
    cpid: int = 0         # the -c child (held before exec), 0 without -c
    command: str = ""     # the -c program's path (watchpoint:FUNC+argN probes it)
