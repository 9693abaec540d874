"""`kt -l` of user-space probes: uprobes and usdt probes of binaries, of wildcard paths, and of
a process (`kt -l -p PID`), in bpftrace 0.17's format.

What 0.17 prints, and what kt prints (checked with 0.17 on the development machines):
- `uprobe:BIN:FUNC` for each defined function of BIN, sorted by name; BIN as written for a
  path (`./bin/x1`), as resolved for a name (`uprobe:libc:*` -> /usr/lib/.../libc.so.6); a
  wildcard path lists every ELF file it matches, in path order.
- with -v, each function's parameters from the binary's DWARF (`    const char* s`); a file
  without DWARF gets one warning, `No DWARF found for "PATH", cannot show parameter info`.
- `kt -l -p PID` with no pattern (or a wildcard probe type): the process's probes, each
  object under /proc/PID/root (as 0.17 prints them, so a process in another mount namespace
  lists the files it really maps): the uprobes of its executable, then `usdt:PATH:PROV:NAME`
  of every object it maps, sorted. 0.17 lists no uprobes of the libraries; kt lists them after
  the executable's, sorted by path, so `kt -l -p PID 'uprobe:*malloc'` finds libc's
  malloc in the process. A pattern with one component after the type (`uprobe:*malloc`,
  `usdt:*tick*`) matches function (probe) names in every object; BIN:FUNC with a wildcard BIN
  matches the object's path as the process sees it (0.17 lists nothing for `uprobe:*:malloc`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["list_uprobes", "list_usdt", "UserListingError"]

_INDENT = "    "


class UserListingError(ValueError):
    pass


def _rx(glob: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob),
                      re.DOTALL)


def _match(glob: str | None) -> Callable[[str], bool]:
    if not glob:
        return lambda name: True
    rx = _rx(glob)
    return lambda name: rx.fullmatch(name) is not None


def _functions(path: str) -> list[str]:
    from ..compiler.formats.elfsyms import function_symbols
    return sorted({s.name for s in function_symbols(path)})


def _params(path: str, shown: str, funcs: list[str], warn) -> dict[str, list[str]]:
    """Each function's `    TYPE NAME` lines from DWARF; {} (and a warning) without DWARF."""
    from ..compiler.formats import dwarf

    if not dwarf.has_debug_info(path):
        warn(f'No DWARF found for "{shown}", cannot show parameter info')
        return {}
    out = {}
    for f in funcs:
        try:
            out[f] = [f"{_INDENT}{p.type_name} {p.name}".rstrip() for p in dwarf.parameters(path, f)]
        except dwarf.DwarfError:
            out[f] = []
    return out


def _uprobe_lines(name: str, shown: str, path: str, funcs: list[str], verbose: bool, warn) -> list[str]:
    params = _params(path, shown, funcs, warn) if verbose and funcs else {}
    out = []
    for f in funcs:
        out.append(f"{name}:{shown}:{f}")
        out.extend(params.get(f, ()))
    return out


def _process_files(pid: int) -> list[str]:
    """The executable, then the other mapped ELF files sorted by path (the maps order
    depends on address space layout), as /proc/PID/root/... paths."""
    from ..compiler.formats.binaries import process_objects
    try:
        exe, libs = process_objects(pid)
    except LookupError as e:
        raise UserListingError(str(e)) from None
    return ([exe] if exe else []) + sorted(libs)


def _inside(pid: int, path: str) -> str:
    """A /proc/PID/root/... path as the process names it."""
    prefix = f"/proc/{pid}/root"
    return path[len(prefix):] if path.startswith(prefix + "/") else path


def list_uprobes(rest: str | None, name: str, src, verbose: bool, warn) -> list[str]:
    from ..compiler.formats.binaries import expand_binary
    from ..compiler.formats.elfsyms import ElfSymbolError

    pid = src.pid
    if pid is not None and (not rest or ":" not in rest or _has_wildcard(rest.split(":", 1)[0])):
        binary, func = (rest.split(":", 1) if rest and ":" in rest else (None, rest))
        in_bin = _match(binary)
        out = []
        for path in _process_files(pid):
            if binary is not None and not in_bin(_inside(pid, path)):
                continue
            try:
                funcs = [f for f in _functions(path) if _match(func)(f)]
            except (ElfSymbolError, OSError):
                continue
            out.extend(_uprobe_lines(name, path, path, funcs, verbose, warn))
        return out
    if not rest:
        raise UserListingError(f"{name} needs a binary: '{name}:/path/to/binary[:FUNCTION]'")
    binary, _, func = rest.partition(":")
    match = _match(func or None)
    if _has_wildcard(binary):
        try:
            files = expand_binary(binary, pid)
        except (ElfSymbolError, OSError) as e:
            raise UserListingError(f"{name} target '{binary}': {e}") from None
        out = []
        for shown, path in files:
            try:
                funcs = [f for f in _functions(path) if match(f)]
            except (ElfSymbolError, OSError):
                continue
            out.extend(_uprobe_lines(name, shown, path, funcs, verbose, warn))
        # 0.17 keeps the probes of several files in a set: sorted lines (PATH order is not)
        return out if verbose else sorted(set(out))
    shown, names = src.uprobe_functions(binary, pid)
    funcs = [n for n in names if match(n)]
    if verbose and funcs:
        from ..compiler.formats.binaries import resolve_binary
        return _uprobe_lines(name, shown, resolve_binary(binary, pid), funcs, True, warn)
    return [f"{name}:{shown}:{f}" for f in funcs]


def _binary_matcher(binary: str | None, pid: int) -> Callable[[str], bool]:
    """Whether an object (its path as the process sees it) is the one BIN names."""
    import os

    from ..compiler.formats.binaries import resolve_binary
    from ..compiler.formats.elfsyms import ElfSymbolError

    if binary is None:
        return lambda path: True
    if _has_wildcard(binary):
        return _match(binary)
    if "/" in binary:
        return lambda path: path == os.path.abspath(binary)
    try:
        want = _inside(pid, resolve_binary(binary, pid))
    except (ElfSymbolError, OSError):
        return lambda path: False
    return lambda path: path == want


def _has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def _usdt_names(path: str) -> list[str]:
    from ..compiler.formats import usdt
    return sorted({f"{p.provider}:{p.name}" for p in usdt.usdt_probes(path)})


def list_usdt(rest: str | None, src) -> list[str]:
    """`usdt:BIN[:PROVIDER:NAME]`; with -p the process's objects."""
    from ..compiler.formats import binaries
    from ..compiler.formats.elfsyms import ElfSymbolError

    pid = src.pid
    parts = rest.split(":") if rest else []
    if pid is not None:
        # the process's objects; BIN (a path, a glob over the paths the process sees, or a
        # library's name) and PROVIDER:NAME may be given
        binary = None
        if len(parts) == 3 or (len(parts) == 2 and ("/" in parts[0] or _has_wildcard(parts[0]))):
            binary, parts = parts[0], parts[1:]
        spec = ":".join(parts)
        pattern = _match(spec if ":" in spec else (f"*:{spec}" if spec else None))
        in_bin = _binary_matcher(binary, pid)
        out = []
        for path in _process_files(pid):
            if not in_bin(_inside(pid, path)):
                continue
            try:
                out.extend(f"usdt:{path}:{n}" for n in _usdt_names(path) if pattern(n))
            except (ElfSymbolError, OSError, ValueError):
                continue
        return sorted(out)
    if not rest:
        raise UserListingError("usdt needs a binary: 'usdt:/path/to/binary[:PROVIDER:NAME]'")
    binary, _, spec = rest.partition(":")
    pattern = _match(spec if ":" in spec else (f"*:{spec}" if spec else None))
    try:
        # a path prints as written (`usdt:./bin/w1:...`), a name as the file it resolved to
        files = binaries.expand_binary(binary, pid)
    except (ElfSymbolError, OSError) as e:
        raise UserListingError(f"usdt target '{binary}': {e}") from None
    return [f"usdt:{shown}:{n}" for shown, path in files for n in _usdt_names(path) if pattern(n)]
