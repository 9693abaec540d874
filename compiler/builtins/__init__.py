"""The builtin registry: ONE record per builtin variable and per function.

Records are grouped by family, a module each: variables (pid, comm, argN, ...), output
(printf, print, exit, ...), maps (aggregations, delete, clear, zero), memory (str, buf, ntop,
...), addresses (uaddr, cgroupid, kptr, uptr), strings (strncmp, strcontains, pton),
registers (reg, sargN, numaid), kernel (override, path), stacks (kstack, ustack, ksym, usym), formats (username, strerror, strftime, ...), watch
(unwatch) system (nsecs(clock), jiffies, ncpus, ppid, pcomm, usermode, probetype), named_args
(getopt) and packet (tc/xdp: len, saddr, dport, pkt, drop(), ...).
A record holds its type rule (used by passes/semantic.py) and its lowering (called by codegen/probe.py); see records.py.
"""

from __future__ import annotations

from . import (addresses, formats, kernel, map_queries, maps, memory, named_args, output, packet, registers, stacks, strings,
               system, variables, watch)
from .records import BuiltinVar, Function

BUILTIN_VARS: dict[str, BuiltinVar] = {b.name: b for b in (*variables.VARIABLES, *stacks.VARIABLES,
                                                            *registers.VARIABLES, *formats.VARIABLES,
                                                            *system.VARIABLES, *packet.VARIABLES)}
FUNCTIONS: dict[str, Function] = {f.name: f for family in (output, maps, map_queries, memory, addresses, stacks, strings, registers,
                                                                formats, kernel, watch, system, named_args, packet)
                                  for f in family.FUNCTIONS}

__all__ = ["BUILTIN_VARS", "FUNCTIONS", "BuiltinVar", "Function"]
