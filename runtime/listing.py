"""`kt -l [PATTERN]` and `kt -lv`: the probes this machine offers, in bpftrace 0.17's format.

Why in the runtime: listing asks the running kernel what exists — tracefs events, the
functions ftrace can hook (or /proc/kallsyms), the kernel's BTF, whether fentry programs load —
while the compiler only reads type information (DESIGN rule 7).

Format (bpftrace 0.17, checked against it on the development machines): one probe per line,
`tracepoint:CAT:NAME`, `kprobe:FUNC`, `kfunc:FUNC`, `rawtracepoint:NAME`, `software:NAME:`,
`hardware:NAME:` (names and aliases, as bpftrace's list), `uprobe:PATH:FUNC`; sorted within
each probe type, probe types in alphabetical order. With `-v`, tracepoints show their fields
as the format file declares them (`    const char * filename`), kfuncs their parameters and
`retval` from BTF (`    struct file * file`, `    ssize_t retval`), raw tracepoints the
arguments of their `btf_trace_NAME` prototype.

Patterns: `TYPE:REST`, where TYPE is a probe type or alias (`t`, `k`, `f`, ...) or a glob over
the kernel probe types (`*`); `*` matches any text and `?` one character, everything else is
literal, case-sensitive. A tracepoint REST of one word matches the event name in every
category (`tracepoint:*sched_switch`), as in 0.17. A bare word (no colon) is `*:WORD`: it
matches the name part of every kernel probe (`kt -l 'sched_switch*'`). Where 0.17 differs,
kt does the useful thing: 0.17 echoes the pattern back for software/hardware
(`software:*:`) and aborts on a bare word without a wildcard; kt lists the matching events.
uprobes are listed only when asked for, with a binary: `uprobe:/bin/bash:*`, `uprobe:bash`,
`uprobe:./bin/x*:f*`, or for a process with -p (runtime/listing_user.py).

kt's own packet kinds (bpftrace has none) list the interfaces of kt's network namespace
(through pyroute2): `tc:DEV:egress`, `tc:DEV:ingress` and `xdp:DEV` for every DEV; `tc:eth*`
matches the device, `tc:*:ingress` the direction, and a bare word the device. `-lv` adds
nothing to them.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..compiler.formats import perf_events
from ..compiler.formats.probe_kinds import ITERATORS, canonical_kind
from ..compiler.formats.tracepoints import parse_format

# Probe types `kt -l` lists for a pattern without a type or with a wildcard type, as bpftrace's
# "kernel probe list" (return probes and user-space probes only when named).
KERNEL_PROBE_TYPES = ("hardware", "kfunc", "kprobe", "rawtracepoint", "software",
                      "tracepoint", "iter", "tc", "xdp")
# More types that can be listed when named.
NAMED_PROBE_TYPES = ("kretprobe", "kretfunc", "uprobe", "uretprobe", "usdt", "interval", "profile")

# bpftrace does not list functions with more arguments than fentry can pass in registers
# (arch::max_arg() + 1 on x86_64).
KFUNC_MAX_PARAMS = 6

_INDENT = "    "


class ListingError(ValueError):
    """The pattern cannot be listed (unknown probe type, a uprobe without a binary, ...)."""


# --- where the facts come from ----------------------------------------------------------------


def _default_tracefs() -> Path:
    from .tracefs import tracefs_root
    return tracefs_root()


def _default_btf():
    from ..compiler.formats.btf import vmlinux_btf
    return vmlinux_btf()


def _default_kernel_functions() -> tuple[Sequence[str], str]:
    from .attach.kprobe import kernel_functions
    funcs = kernel_functions()
    return funcs.names, funcs.source


def _default_kprobe_support() -> str | None:
    """None when the kernel can create kprobes; else why it cannot."""
    if Path("/sys/bus/event_source/devices/kprobe").exists():
        return None
    try:
        if (_default_tracefs() / "kprobe_events").exists():
            return None
    except OSError:
        pass
    return ("this kernel has no kprobes (no kprobe PMU, no tracefs kprobe_events: "
            "CONFIG_KPROBES is off)")


def _default_fentry_support() -> str | None:
    from .attach.tracing import fentry_unsupported_reason
    return fentry_unsupported_reason()


def _default_uprobe_functions(binary: str, pid: int | None) -> tuple[str, list[str]]:
    from ..compiler.formats.elfsyms import ElfSymbolError, function_symbols, resolve_binary
    try:
        path = resolve_binary(binary, pid)
        names = sorted({s.name for s in function_symbols(path)})
    except (ElfSymbolError, OSError) as e:
        raise ListingError(f"uprobe target '{binary}': {e}") from None
    # A path the user typed is printed as typed (bpftrace: uprobe:/bin/bash:...), a bare
    # name as the file it resolved to.
    return (binary if binary.startswith("/") else path), names


def _default_network_devices() -> list[str]:
    from .attach.packet import network_devices
    return network_devices().names()


@dataclass
class ProbeSources:
    """Where listing reads from. The defaults read the running kernel; tests substitute
    their own. Each is a function, called only when a pattern needs it."""

    tracefs: Callable[[], Path] = _default_tracefs
    btf: Callable[[], object] = _default_btf
    # -> (function names, where they came from: "available_filter_functions" or a path)
    kernel_functions: Callable[[], tuple[Sequence[str], str]] = _default_kernel_functions
    # -> None, or why kprobes / fentry programs cannot be used on this kernel
    kprobe_support: Callable[[], str | None] = _default_kprobe_support
    fentry_support: Callable[[], str | None] = _default_fentry_support
    # (binary, pid) -> (path to print, function names)
    uprobe_functions: Callable[[str, int | None], tuple[str, list[str]]] = \
        _default_uprobe_functions
    # -> the interface names of kt's network namespace (tc: and xdp: probes)
    network_devices: Callable[[], list[str]] = lambda: _default_network_devices()
    pid: int | None = None
    _cache: dict = field(default_factory=dict)

    def functions(self) -> tuple[Sequence[str], str]:
        if "kfuncs" not in self._cache:
            self._cache["kfuncs"] = self.kernel_functions()
        return self._cache["kfuncs"]


# --- patterns ----------------------------------------------------------------------------------


@cache
def glob_regex(glob: str) -> re.Pattern:
    """bpftrace's wildcards: `*` any text, `?` one character; the rest is literal."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                              for c in glob), re.DOTALL)


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


@dataclass(frozen=True, slots=True)
class _Query:
    types: tuple[str, ...]      # canonical probe types to list
    rest: str | None            # the part after TYPE: (None: everything)
    bare: bool                  # no TYPE given: REST matches the name part only


def parse_pattern(pattern: str | None) -> _Query:
    if not pattern:
        return _Query(KERNEL_PROBE_TYPES, None, False)
    if ":" not in pattern:
        return _Query(KERNEL_PROBE_TYPES, pattern, True)
    head, rest = pattern.split(":", 1)
    if has_wildcard(head):
        rx = glob_regex(head)
        return _Query(tuple(t for t in KERNEL_PROBE_TYPES if rx.fullmatch(t)), rest, False)
    kind = canonical_kind(head)
    if kind is None:
        raise ListingError(f"unknown probe type '{head}' in '{pattern}'")
    if kind not in KERNEL_PROBE_TYPES + NAMED_PROBE_TYPES:
        return _Query((), rest, False)     # BEGIN, END: nothing to list
    if kind == "tracepoint" and rest.count(":") > 1:   # bpftrace 0.17's words
        raise ListingError(f"tracepoint probe type requires 2 arguments: '{pattern}'")
    return _Query((kind,), rest, False)


def _name_matcher(rest: str | None, part: int = -1) -> Callable[[str], bool]:
    """Match ``rest`` (or one ':'-separated component of it) against a single name."""
    if rest is None:
        return lambda name: True
    comp = rest.split(":")[part]
    if not comp:
        return lambda name: True
    rx = glob_regex(comp)
    return lambda name: rx.fullmatch(name) is not None


# --- one lister per probe type -------------------------------------------------------------------


@dataclass
class _Ctx:
    src: ProbeSources
    verbose: bool
    warn: Callable[[str], None]


def _list_tracepoints(q: _Query, ctx: _Ctx) -> list[str]:
    root = ctx.src.tracefs()
    events_dir = root / "events"
    rest = q.rest
    if rest is not None and (q.bare or ":" not in rest):
        rest = "*:" + rest          # one word: the event name, in every category
    rx = glob_regex(rest) if rest is not None else None
    found = sorted(e for e in tracepoint_names(root) if rx is None or rx.fullmatch(e))
    out = []
    for event in found:
        cat, ev = event.split(":", 1)
        out.append(f"tracepoint:{event}")
        if ctx.verbose:
            out.extend(_INDENT + f for f in tracepoint_fields(events_dir / cat / ev / "format",
                                                             ctx.warn))
    return out


def tracepoint_names(root: Path) -> list[str]:
    """Every "category:event" that can be attached as a tracepoint: tracefs `available_events`
    (as bpftrace reads it; it leaves out the ftrace-internal events under events/ftrace, which
    perf cannot open), else the directories under events/."""
    try:
        text = (root / "available_events").read_text()
    except OSError:
        pass
    else:
        return [line.strip() for line in text.splitlines() if ":" in line]
    events_dir = root / "events"
    try:
        cats = list(os.scandir(events_dir))
    except OSError as e:
        raise ListingError(f"cannot list tracepoints in {events_dir}: {e.strerror}") from None
    out = []
    for cat in cats:
        if cat.is_dir() and cat.name != "ftrace":
            try:
                out.extend(f"{cat.name}:{ev.name}" for ev in os.scandir(cat.path) if ev.is_dir())
            except OSError:
                continue
    return out


def tracepoint_fields(format_path: Path, warn: Callable[[str], None] | None = None
                      ) -> list[str]:
    """The declarations of a tracepoint's own fields (not the common_* ones), as written in
    its format file: "const char * filename", "__data_loc char[] filename" (parsed by the
    compiler's reader, compiler/formats/tracepoints.py)."""
    try:
        text = format_path.read_text()
    except OSError as e:
        if warn is not None:
            warn(f"cannot read tracepoint format {format_path}: {e.strerror}")
        return []
    fmt = parse_format(format_path.parent.parent.name, format_path.parent.name, text)
    return [f.c_decl for f in fmt.fields.values()]


def _list_kprobes(q: _Query, ctx: _Ctx, name: str) -> list[str]:
    names, source = ctx.src.functions()
    match = _name_matcher(q.rest)
    # What a kprobe may be put on: as the wildcard expansion does, leave out the compiler's
    # clones (foo.isra.0, foo.cold: not the function the user named) unless asked for.
    comp = (q.rest or "").split(":")[-1]
    keep_dotted = "." in comp
    found = sorted({n for n in names if (keep_dotted or "." not in n) and match(n)
                    and not n.startswith(_NOT_FUNCTIONS)})
    if found:
        why = ctx.src.kprobe_support()
        if why is not None:
            ctx.warn(f"{name}: {why}; the functions are listed, but cannot be probed here")
        elif source != "available_filter_functions":
            ctx.warn(f"{name}: tracefs available_filter_functions is not readable; listing "
                     f"the text symbols of {source}, some of which cannot be probed")
    return [f"{name}:{n}" for n in found]


# kallsyms text symbols that are not functions: 6.x's padding before each function
# (CONFIG_CALL_PADDING, "__pfx_vfs_read") and kCFI type hashes ("__cfi_vfs_read").
_NOT_FUNCTIONS = ("__pfx_", "__cfi_")


def _kfunc_filter(ctx: _Ctx) -> Callable[[str], bool]:
    """Functions that fentry can attach to: those ftrace knows (available_filter_functions,
    else kallsyms text symbols); every BTF function when neither is readable."""
    try:
        names, _source = ctx.src.functions()
    except (OSError, ValueError):
        return lambda n: True
    known = set(names)
    return known.__contains__


def _list_kfuncs(q: _Query, ctx: _Ctx, name: str) -> list[str]:
    btf = ctx.src.btf()
    match = _name_matcher(q.rest)
    traceable = _kfunc_filter(ctx)
    found = sorted({(fname, fid) for fid, fname in btf.funcs(max_params=KFUNC_MAX_PARAMS)
                    if match(fname) and traceable(fname)})
    out = []
    seen = set()
    for fname, fid in found:
        if fname in seen:
            continue
        seen.add(fname)
        out.append(f"{name}:{fname}")
        if ctx.verbose:
            sig = btf.func(fid)
            out.extend(_INDENT + p.declaration() for p in sig.params)
            if sig.ret is not None:
                out.append(_INDENT + sig.ret.declaration())
    if out:
        why = ctx.src.fentry_support()
        if why is not None:
            ctx.warn(f"{name}: {why}; the functions are listed, but cannot be traced here")
    return out


_BTF_TRACE = "btf_trace_"


def _list_rawtracepoints(q: _Query, ctx: _Ctx) -> list[str]:
    from ..compiler.formats.btf import Kind

    btf = ctx.src.btf()
    match = _name_matcher(q.rest)
    found = sorted((n[len(_BTF_TRACE):], tid)
                   for tid, n in btf.named_types(Kind.TYPEDEF, _BTF_TRACE)
                   if match(n[len(_BTF_TRACE):]))
    out = []
    for tp, tid in found:
        out.append(f"rawtracepoint:{tp}")
        if ctx.verbose:
            out.extend(_INDENT + d for d in raw_tracepoint_args(btf, tid, tp))
    return out


def raw_tracepoint_args(btf, typedef_id: int, name: str = "") -> list[str]:
    """The arguments of raw tracepoint ``name``. Typedef btf_trace_NAME points to
    `void (void *__data, ARGS...)` (include/trace/bpf_probe.h) — the first is the
    tracepoint's private data, not an argument — but a function pointer type keeps no
    parameter names; the names come from the probe function `__bpf_trace_NAME` when the event
    has one of its own (events of a shared class use the class's function)."""
    from ..compiler.formats.btf import Kind

    if name:
        fid = btf.find(f"__bpf_trace_{name}", Kind.FUNC)
        if fid is not None:
            return [p.declaration() for p in btf.func(fid).params[1:]]
    t = btf.resolve(typedef_id)
    if t.kind == Kind.PTR:
        t = btf.resolve(t.ref)
    if t.kind != Kind.FUNC_PROTO:
        return []
    return [btf.type_name(p.type, p.name) if p.name else btf.type_name(p.type)
            for p in t.params[1:] if p.type]


def _list_perf(q: _Query, ctx: _Ctx, name: str) -> list[str]:
    match = _name_matcher(q.rest, 0 if not q.bare else -1)
    names = perf_events.event_names(name)
    return [f"{name}:{n}:" for n in sorted(set(names)) if match(n)]


def _list_timers(q: _Query, ctx: _Ctx, name: str) -> list[str]:
    match = _name_matcher(q.rest, 0)
    units = sorted([*perf_events.TIME_UNITS, "hz"])
    return [f"{name}:{u}:" for u in units if match(u)]


def _list_uprobes(q: _Query, ctx: _Ctx, name: str) -> list[str]:
    from .listing_user import UserListingError, list_uprobes
    try:
        return list_uprobes(q.rest, name, ctx.src, ctx.verbose, ctx.warn)
    except UserListingError as e:
        raise ListingError(str(e)) from None


def _list_usdt(q: _Query, ctx: _Ctx) -> list[str]:
    """`usdt:/path/to/binary[:PROVIDER:NAME]`: the binary's SDT probes, one line per probe."""
    from .listing_user import UserListingError, list_usdt
    try:
        return list_usdt(q.rest, ctx.src)
    except UserListingError as e:
        raise ListingError(str(e)) from None


def _list_iters(q: _Query, ctx: _Ctx) -> list[str]:
    """iter:NAME for the iterators 0.17 knows (it lists them whether or not the kernel has them);
    -lv adds the members of the context, struct bpf_iter__NAME, but its `meta`."""
    match = _name_matcher(q.rest)
    out = []
    for name in ITERATORS:
        if match(name):
            out.append(f"iter:{name}")
            if ctx.verbose:
                out.extend(_INDENT + d for d in iter_fields(ctx.src.btf(), name))
    return out


def _list_packet(q: _Query, ctx: _Ctx, kind: str) -> list[str]:
    """tc:DEV:egress, tc:DEV:ingress, xdp:DEV for the interfaces of kt's network namespace."""
    devices = ctx.src.network_devices()
    directions = ("egress", "ingress") if kind == "tc" else ("",)
    if q.rest is None or q.bare:
        match_dev, match_dir = _name_matcher(q.rest), (lambda d: True)
    else:
        match_dev = _name_matcher(q.rest, 0)
        match_dir = _name_matcher(q.rest, 1) if q.rest.count(":") >= 1 else (lambda d: True)
    return sorted(f"{kind}:{dev}" + (f":{d}" if d else "")
                  for dev in devices if match_dev(dev) for d in directions if not d or match_dir(d))


def iter_fields(btf, name: str) -> list[str]:
    """`struct task_struct * task`, `int fd`, ...: the members of struct bpf_iter__NAME after
    `meta`, as 0.17's -lv prints them (the kernel wraps pointers in one-member anonymous
    unions, __bpf_md_ptr, which are looked through; an integer is "int" whatever its C type,
    as 0.17 prints task_file's `u32 fd`)."""
    from ..compiler.formats.btf import Kind

    out = []
    for m in btf.struct(f"bpf_iter__{name}").members:
        if not m.name:
            inner = btf.resolve(m.type)
            if inner.kind not in (Kind.STRUCT, Kind.UNION) or len(inner.members) != 1:
                continue
            m = inner.members[0]
        if m.name == "meta":
            continue
        is_int = btf.resolve(m.type).kind in (Kind.INT, Kind.ENUM)
        out.append(f"{'int' if is_int else btf.type_name(m.type)} {m.name}")
    return out


_LISTERS: dict[str, Callable[[_Query, _Ctx], list[str]]] = {
    "hardware": lambda q, c: _list_perf(q, c, "hardware"),
    "software": lambda q, c: _list_perf(q, c, "software"),
    "kfunc": lambda q, c: _list_kfuncs(q, c, "kfunc"),
    "kretfunc": lambda q, c: _list_kfuncs(q, c, "kretfunc"),
    "kprobe": lambda q, c: _list_kprobes(q, c, "kprobe"),
    "kretprobe": lambda q, c: _list_kprobes(q, c, "kretprobe"),
    "rawtracepoint": _list_rawtracepoints,
    "tracepoint": _list_tracepoints,
    "uprobe": lambda q, c: _list_uprobes(q, c, "uprobe"),
    "uretprobe": lambda q, c: _list_uprobes(q, c, "uretprobe"),
    "usdt": _list_usdt,
    "interval": lambda q, c: _list_timers(q, c, "interval"),
    "profile": lambda q, c: _list_timers(q, c, "profile"),
    "iter": _list_iters,
    "tc": lambda q, c: _list_packet(q, c, "tc"),
    "xdp": lambda q, c: _list_packet(q, c, "xdp"),
}


def _stderr_warning(message: str) -> None:
    print(f"kt: warning: {message}", file=sys.stderr)


def list_probes(pattern: str | None = None, verbose: bool = False, *,
                sources: ProbeSources | None = None,
                warn: Callable[[str], None] | None = None) -> list[str]:
    """The lines `kt -l [PATTERN]` (``verbose``: `kt -lv`) prints. Warnings (a source that
    could not be read, probe types this kernel cannot attach) go to ``warn``, by default to
    stderr as "kt: warning: ...". Raises ListingError (a ValueError) for a pattern that cannot
    be listed."""
    q = parse_pattern(pattern)
    ctx = _Ctx(sources or ProbeSources(), verbose, warn or _stderr_warning)
    if ctx.src.pid is not None and not os.path.exists(f"/proc/{ctx.src.pid}"):
        raise ListingError(f"pid {ctx.src.pid}: No such process")
    if ctx.src.pid is not None and (not pattern or ":" not in pattern or pattern.split(":", 1)[0] == "*"):
        # -p PID without a probe type (or with `*`): the process's own probes, as 0.17
        q = _Query(("uprobe", "usdt"), q.rest, q.bare)
    out: list[str] = []
    for t in sorted(q.types):
        lister = _LISTERS[t]
        try:
            out.extend(lister(q, ctx))
        except ListingError as e:
            if len(q.types) == 1:
                raise
            ctx.warn(str(e))
        except (OSError, ValueError) as e:
            # One source being unreadable (no BTF, no tracefs) must not hide the others.
            if len(q.types) == 1:
                raise ListingError(f"cannot list {t} probes: {e}") from None
            ctx.warn(f"cannot list {t} probes: {e}")
    return out
