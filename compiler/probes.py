"""The probe-kind registry: ONE record per kind of probe.

Everything that differs between probe kinds lives in its record: the names users write, how an
attach point is resolved and validated, the ELF section (which fixes the BPF program type, see
docs/object-format.md), and what `args` means there. No other module asks "is this a kprobe?".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import ast
from .diagnostics import DiagnosticSink, did_you_mean
from .tracepoints import TracepointFormat, TracepointNotFound, all_tracepoints, read_format


@dataclass(frozen=True, slots=True)
class ResolvedProbe:
    """One attach point made concrete: what the runtime attaches and what the program sees."""
    kind: str            # the registry record's name: "begin" | "end" | "tracepoint"
    name: str            # canonical, as bpftrace prints it: "tracepoint:syscalls:sys_enter_openat"
    section: str         # ELF section of its program
    target: str          # what the runtime attaches to ("syscalls:sys_enter_openat"; "" for BEGIN/END)
    tracepoint: TracepointFormat | None = None


@dataclass(frozen=True, slots=True)
class ProbeKind:
    name: str
    aliases: tuple[str, ...]
    # Resolve an attach point, reporting problems to the sink; None when it cannot be resolved.
    resolve: Callable[[ast.AttachPoint, "ProbeEnv", DiagnosticSink], list[ResolvedProbe] | None]
    has_args: bool = False
    run_once: bool = False  # BEGIN/END: run by user space with BPF_PROG_TEST_RUN


@dataclass(frozen=True, slots=True)
class ProbeEnv:
    """What resolving needs from the machine: where tracefs is (the compiler reads formats)."""
    tracefs: str


def _resolve_special(label: str):
    def resolve(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
        if ap.parts:
            sink.error(ap.span, f"{label} takes no arguments")
            return None
        return [ResolvedProbe(label.lower(), label, f"raw_tp/{label}", "")]
    return resolve


def _resolve_tracepoint(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
    if len(ap.parts) != 2 or not all(ap.parts):
        sink.error(ap.span, f"tracepoint needs a category and a name: 'tracepoint:CATEGORY:NAME', got '{ap.raw}'")
        return None
    cat, name = ap.parts
    if any(c in cat + name for c in "*?["):
        import fnmatch
        matches = [tp for tp in all_tracepoints(env.tracefs) if fnmatch.fnmatchcase(tp, f"{cat}:{name}")]
        if not matches:
            sink.error(ap.span, f"no tracepoint matches '{cat}:{name}'")
            return None
        return [_tracepoint_probe(env, *tp.split(":")) for tp in matches]
    try:
        return [_tracepoint_probe(env, cat, name)]
    except TracepointNotFound:
        hint = did_you_mean(f"{cat}:{name}", all_tracepoints(env.tracefs))
        sink.error(ap.span, f"unknown tracepoint '{cat}:{name}'", hint.replace("did you mean '", "did you mean 'tracepoint:"))
        return None


def _tracepoint_probe(env: ProbeEnv, cat: str, name: str) -> ResolvedProbe:
    fmt = read_format(env.tracefs, cat, name)
    return ResolvedProbe("tracepoint", f"tracepoint:{cat}:{name}", f"tracepoint/{cat}/{name}", f"{cat}:{name}", fmt)


PROBE_KINDS: tuple[ProbeKind, ...] = (
    ProbeKind("BEGIN", (), _resolve_special("BEGIN"), run_once=True),
    ProbeKind("END", (), _resolve_special("END"), run_once=True),
    ProbeKind("tracepoint", ("t",), _resolve_tracepoint, has_args=True),
)

_BY_NAME = {alias: k for k in PROBE_KINDS for alias in (k.name, *k.aliases)}


def lookup(provider: str) -> ProbeKind | None:
    return _BY_NAME.get(provider)


def provider_names() -> list[str]:
    return list(_BY_NAME)
