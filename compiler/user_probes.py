"""User-space probe kinds' resolvers: uprobe, uretprobe and usdt (registered in
compiler/probes.py). A binary named by path, by name (PATH, the library cache) or with `*`;
functions by name, glob or address, +offset; USDT sites with their semaphores.
"""

from __future__ import annotations

import functools
import re

from . import ast
from .contexts import UsdtContext
from .diagnostics import DiagnosticSink, did_you_mean
from .probe_records import GLOB as _GLOB, ProbeEnv, ResolvedProbe


# ---- uprobe / uretprobe --------------------------------------------------------------------

def resolve_uprobe(retprobe: bool):
    kind = "uretprobe" if retprobe else "uprobe"

    def resolve(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
        from .formats import binaries

        if len(ap.parts) != 2 or not ap.parts[0] or not ap.parts[1]:
            sink.error(ap.span, f"{kind} needs a binary and a function: '{kind}:/path/to/binary:FUNCTION'")
            return None
        binary, spec = ap.parts
        func, offset = _split_offset(spec)
        if offset and (retprobe or _GLOB.search(func)):
            sink.error(ap.span, f"{'a uretprobe' if retprobe else 'a wildcard uprobe'} takes no offset")
            return None
        try:
            files = binaries.expand_binary(binary, env.pid or None)
        except (OSError, LookupError, ValueError) as err:
            sink.error(ap.span, f"cannot find binary '{binary}': {err}")
            return None
        if (len(files) == 1 and "/" not in binary and not _GLOB.search(func)
                and not re.fullmatch(r"0x[0-9a-fA-F]+|\d+", func)):
            files = _library_defining(files, func, ap, sink)
        out = []
        for shown, path in files:
            probe = _uprobe_in(kind, retprobe, ap, shown, path, spec, func, offset,
                               sink if len(files) == 1 else None)
            if probe is not None:
                out.append(probe)
        if not out and len(files) > 1:
            sink.error(ap.span, f"no function '{func}' in any of the {len(files)} files '{binary}' matches")
        return out or None
    return resolve


def _library_defining(files: list[tuple[str, str]], func: str, ap: ast.AttachPoint,
                      sink: DiagnosticSink) -> list[tuple[str, str]]:
    """A library named by name that does not define `func` but needs one that does: that one.
    glibc 2.34 moved libpthread, libdl, librt and libutil into libc.so.6 and left stubs, so
    `uprobe:libpthread:pthread_create` (threadsnoop.bt) means libc's (0.17 attaches to the
    stub and never fires)."""
    from .formats import binaries, elfsyms

    path = files[0][1]
    try:
        if elfsyms.functions_named(path, func):
            return files
        for lib in binaries.needed_libraries(path):
            if elfsyms.functions_named(lib, func):
                sink.warning(ap.span, f"{path} does not define {func}; using {lib}, which it needs")
                return [(lib, lib)]
    except (OSError, ValueError):
        pass
    return files


def _uprobe_in(kind: str, retprobe: bool, ap: ast.AttachPoint, shown: str, path: str, spec: str,
               func: str, offset: int, sink: DiagnosticSink | None) -> ResolvedProbe | None:
    """The probe on one binary. With a wildcard binary (`sink` None) a file without the
    function is left out silently, as 0.17 does."""
    from .formats import elfsyms
    from .uprobe_context import UprobeContext

    def error(*msg):
        if sink is not None:
            sink.error(ap.span, *msg)
        return None

    try:
        if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", func):
            addr = int(func, 0)
            targets = [(func, elfsyms.file_offset(path, addr))]
        else:
            if _GLOB.search(func):
                syms = elfsyms.match_functions(path, func)
            else:
                syms = elfsyms.functions_named(path, func)
            if not syms:
                # 0.17 leaves a uprobe on a missing function out without a word and attaches
                # the others (sslsnoop.bt's libcrypto functions that only debug info names);
                # kt warns. With nothing left at all the warning becomes the error.
                if sink is not None:
                    sink.warning(ap.span, f"no function '{func}' in {path}: skipped",
                                 "" if _GLOB.search(func) else _function_hint(path, func))
                return None
            if offset and syms[0].size and offset >= syms[0].size:
                return error(f"offset {offset} is outside the function: '{func}' is {syms[0].size} bytes",
                             f"offsets from 0 to {syms[0].size - 1} are inside {func}")
            targets = [(s.name, elfsyms.file_offset(path, s.addr) + offset) for s in syms]
    except (OSError, ValueError) as err:
        return error(f"cannot read {path}: {err}")
    # As bpftrace, a probe prints with its path as written (`uprobe:./prog:f`, each file a
    # wildcard path matched as glob wrote it); a name found through PATH or the library cache
    # prints as the file it resolved to.
    suffix = spec[len(func):]
    names = tuple(f"{kind}:{shown}:{f}{suffix}" for f, _ in targets)
    funcs = tuple(f for f, _ in targets)
    return ResolvedProbe(kind, f"{kind}:{shown}:{spec}", _uprobe_section(kind, path, targets[0][0], func, offset),
                         f"{path}:{spec}",
                         {"path": path, "targets": [{"func": f, "offset": o} for f, o in targets],
                          "retprobe": retprobe},
                         names, funcs, UprobeContext(path, funcs, retprobe))


def _uprobe_section(kind: str, path: str, first: str, func: str, offset: int) -> str:
    """`uprobe/PATH:FUNC[+0xOFF]`, which libbpf attaches by the name alone (a wildcard's first
    function). libbpf reads FUNC as [A-Za-z0-9_.]+: an address, or a name with other
    characters, gets a bare `uprobe` section, which libbpf leaves to the loader."""
    if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", func) or not re.fullmatch(r"[A-Za-z0-9_.]+", first) or ":" in path:
        return kind
    return f"{kind}/{path}:{first}" + (f"+{offset:#x}" if offset else "")


def _function_hint(path: str, func: str) -> str:
    """did_you_mean among `path`'s functions, once per name and file version (a uretprobe on
    the same missing function asks again)."""
    from .formats import elfsyms

    return _function_hint_cached(path, elfsyms.file_identity(path), func)


@functools.lru_cache(maxsize=256)
def _function_hint_cached(path: str, ident: tuple, func: str) -> str:
    from .formats import elfsyms

    return did_you_mean(func, elfsyms.function_names(path))


def _split_offset(spec: str) -> tuple[str, int]:
    """`func+0x10` -> ("func", 16); a `+` not followed by a number is part of the name."""
    func, plus, text = spec.rpartition("+")
    if plus and func and re.fullmatch(r"0x[0-9a-fA-F]+|\d+", text):
        return func, int(text, 0)
    return spec, 0


# ---- usdt -----------------------------------------------------------------------------------

def resolve_usdt(ap: ast.AttachPoint, env: ProbeEnv, sink: DiagnosticSink):
    """usdt:BINARY:[PROVIDER:]NAME — every site of the probe is a target (a uprobe at its pc).
    A BINARY path with `*` gives a program per matching file that has the probe."""
    from .formats import binaries, usdt

    if len(ap.parts) not in (2, 3) or not all(ap.parts):
        sink.error(ap.span, "usdt needs a binary and a probe: 'usdt:/path/to/binary:[PROVIDER:]NAME'")
        return None
    binary, *rest = ap.parts
    provider, name = (rest if len(rest) == 2 else ["*", rest[0]])
    spec = ":".join(rest)
    try:
        files = binaries.expand_binary(binary, env.pid or None)
    except (OSError, LookupError, ValueError) as err:
        sink.error(ap.span, f"cannot read USDT probes of '{binary}': {err}")
        return None
    out = []
    for shown, path in files:
        try:
            sites = usdt.find_usdt(path, provider, name)
        except (OSError, LookupError, ValueError) as err:
            if len(files) == 1:
                sink.error(ap.span, f"cannot read USDT probes of '{binary}': {err}")
                return None
            continue
        if not sites:
            continue
        # as a uprobe's, the name has the path as written (`usdt:./bin/w1:p:n`), as in 0.17
        names = tuple(f"usdt:{shown}:{s.provider}:{s.name}" for s in sites)
        targets = [{"func": f"{s.provider}:{s.name}", "offset": s.offset, "ref_ctr_offset": s.semaphore_offset}
                   for s in sites]
        # libbpf attaches `usdt/PATH:PROVIDER:NAME` (the provider of the first site when the
        # script names none); under libbpf the cookie is its spec id (docs/object-format.md).
        section = f"usdt/{path}:{sites[0].provider}:{sites[0].name}" if ":" not in path else "usdt"
        out.append(ResolvedProbe("usdt", f"usdt:{shown}:{spec}", section, f"{path}:{spec}",
                                 {"path": path, "targets": targets, "retprobe": False}, names,
                                 tuple(f"{s.provider}:{s.name}" for s in sites),
                                 UsdtContext(tuple((_site_args(s), s.pc) for s in sites))))
    if not out:
        where = files[0][1] if len(files) == 1 else f"any of the {len(files)} files '{binary}' matches"
        sink.error(ap.span, f"no USDT probe {provider}:{name} in {where}")
        return None
    return out


def _site_args(site):
    from .formats.usdt import UsdtError
    try:
        return tuple(site.args)
    except UsdtError as err:
        return str(err)   # reported only if the script reads an argument
