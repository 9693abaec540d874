"""Probe kinds by name, and the iterators bpftrace 0.17 knows: the name tables `kt -l` reads
(runtime/listing.py) and the compiler's registry (compiler/probes.py, compiler/iterators.py) is
built on.

Why apart from the registry: a probe kind's record holds its resolver and context, which pull in
the whole compiler; listing only needs to know which names mean which kind. One table keeps the
two from drifting (tests/compiler/test_probe_kinds.py checks the registry has exactly these kinds).
"""

from __future__ import annotations

# Each kind's canonical name and its aliases (bpftrace 0.17's, `t:` for tracepoint, ...).
PROBE_KIND_ALIASES: dict[str, tuple[str, ...]] = {
    "BEGIN": (),
    "END": (),
    "self": (),        # self:signal:SIGUSR1 (bpftrace 0.22)
    "tracepoint": ("t",),
    "kprobe": ("k",),
    "kretprobe": ("kr",),
    "uprobe": ("u",),
    "uretprobe": ("ur",),
    "usdt": ("U",),
    "interval": ("i",),
    "profile": ("p",),
    "software": ("s",),
    "hardware": ("h",),
    "kfunc": ("f", "fentry"),
    "kretfunc": ("fr", "fexit"),
    "rawtracepoint": ("rt",),
    "watchpoint": ("w",),
    "asyncwatchpoint": ("aw",),
    "iter": ("it",),
    "tc": (),          # tc:DEV:ingress|egress (kt's own: compiler/packet_probes.py)
    "xdp": (),         # xdp:DEV
}

_CANONICAL = {alias: name for name, aliases in PROBE_KIND_ALIASES.items() for alias in (name, *aliases)}

# The iterators bpftrace 0.17 knows (semantic_analyser.cpp; -l 'iter:*' lists these).
ITERATORS = ("task", "task_file", "task_vma")   # task_vma: bpftrace 0.21


# bpftrace 0.24 made provider names case-insensitive (`begin`, `Tracepoint:`, `KPROBE:`). The
# one- and two-letter aliases stay as written: `U` (usdt) and `u` (uprobe) are different kinds.
_FOLDED = {alias.lower(): name for name, aliases in PROBE_KIND_ALIASES.items()
           for alias in (name, *aliases) if len(alias) > 2}


def canonical_kind(provider: str) -> str | None:
    """The kind a provider word names ("t" -> "tracepoint", "Tracepoint" -> "tracepoint"),
    None for an unknown word."""
    return _CANONICAL.get(provider) or _FOLDED.get(provider.lower())
