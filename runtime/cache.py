"""Compiled objects kept between runs: the same script on the same kt, kernel and machine
facts loads the object it compiled last time, without importing the compiler (llvmlite, lark).

Where: $XDG_CACHE_HOME/kt, else ~/.cache/kt; `KT_NO_CACHE=1` turns the cache off and
`KT_DEBUG_CACHE=1` reports hits and misses on stderr.

The key (sha256) covers what the object is a function of that kt knows before compiling: the
cache format, kt's sources (path, size, mtime_ns of every .py and .lark file), llvmlite's and
lark's installed files, the script text (with the headers it includes: include_headers runs
before the lookup, on every run), every CompileOptions field that is data (positional
parameters, BPFTRACE_STRLEN, KT_RB_PAGES, -p, --unsafe, -k...; cpid only as "there is a -c
child": its pid is read from `.rodata`), the kernel (uname release and version, the size of
/sys/kernel/btf/vmlinux), the working directory and PATH (relative and bare uprobe targets).

What the compiler read of the machine is known only after compiling (compiler/formats/inputs.py): the
entry stores it as validators, each re-checked on lookup without reading file contents: a
regular file by (dev, inode, size, mtime_ns) or its absence, a directory by (dev, inode,
mtime_ns), kernel pseudo files (tracefs formats, BTF, available_filter_functions) by the list
of loaded modules, /proc/kallsyms also by the boot id (KASLR moves addresses every boot).
A compilation that read another process's /proc files or wrote a run's value (a watchpoint's
child pid) is not stored.

An entry is `MAGIC, u32 header length, header JSON, ELF bytes, sha256 of all before`, written
to a temp file and renamed into place. Anything that does not parse or check (truncated,
flipped bytes, another key) is a miss; the compiled object replaces it. At most MAX_ENTRIES
entries and MAX_BYTES bytes are kept: storing removes the least recently used (a hit touches
its entry's mtime).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
import sys
from dataclasses import dataclass

FORMAT = 1
MAGIC = b"KTOBJ\x01\n\0"
MAX_ENTRIES = 64
MAX_BYTES = 64 << 20
SUFFIX = ".kto"
_LEN = struct.Struct("<I")
_DIGEST = 32

# CompileOptions fields that are not part of the key: values of one run, read by the object
# at run time (cpid, start_ns), and the machine-fact callbacks (what they read is recorded).
_RUN_FIELDS = frozenset({"cpid", "start_ns"})


@dataclass(frozen=True, slots=True)
class Entry:
    elf: bytes
    warnings: tuple[str, ...]      # rendered, as the compilation printed them


def enabled() -> bool:
    return os.environ.get("KT_NO_CACHE", "") in ("", "0")


def _debug(message: str) -> None:
    if os.environ.get("KT_DEBUG_CACHE", "") not in ("", "0"):
        print(f"kt: cache: {message}", file=sys.stderr)


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kt")


# --- the key -----------------------------------------------------------------------------------


def _tree_stats(root: str, suffixes: tuple[str, ...]) -> list:
    out = []
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if e.name != "__pycache__":
                    stack.append(e.path)
            elif e.name.endswith(suffixes):
                st = e.stat()
                out.append((e.path, st.st_size, st.st_mtime_ns))
    out.sort()
    return out


def _kt_sources() -> list:
    """kt's own code, as installed or in a source tree (the namespace package's parts)."""
    here = os.path.dirname(os.path.abspath(__file__))               # .../runtime
    root = os.path.dirname(here)
    stats = []
    for part in ("compiler", "runtime", "grammar"):
        stats += _tree_stats(os.path.join(root, part), (".py", ".lark"))
    return stats


def _library_files() -> list:
    """llvmlite's and lark's installed versions, by their files' identity: the first
    NAME/__init__.py on sys.path, as the import system finds it (not imported here)."""
    out = []
    for name in ("llvmlite", "lark"):
        for entry in sys.path:
            origin = os.path.join(entry or ".", name, "__init__.py")
            try:
                init = os.stat(origin)
                st = os.stat(os.path.dirname(origin))
            except OSError:
                continue
            out.append((name, origin, init.st_size, init.st_mtime_ns, st.st_mtime_ns))
            break
    return out


def _kernel() -> list:
    u = os.uname()
    try:
        btf_size = os.stat("/sys/kernel/btf/vmlinux").st_size
    except OSError:
        btf_size = -1
    return [u.release, u.version, u.machine, btf_size]


def make_key(text: str, options) -> str:
    """The cache key of compiling `text` with `options` (a CompileOptions) on this machine."""
    fields = {}
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if f.name in _RUN_FIELDS or callable(value):
            continue
        fields[f.name] = value
    fields["has_cpid"] = bool(options.cpid)
    blob = json.dumps([FORMAT, _kt_sources(), _library_files(), _kernel(), os.getcwd(),
                       os.environ.get("PATH", os.defpath), fields, text],
                      separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8", "surrogateescape")).hexdigest()


# --- machine facts: validators ---------------------------------------------------------------


def _modules() -> str:
    """Which modules are loaded (names and sizes; not the use counts, which change)."""
    try:
        with open("/proc/modules", "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return ""
    names = sorted(b" ".join(line.split()[:2]) for line in lines)
    return hashlib.sha256(b"\n".join(names)).hexdigest()


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def _stat_id(path: str, directory: bool = False) -> list | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    if directory:
        return [st.st_dev, st.st_ino, st.st_mtime_ns]
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def _proc_pid(path: str) -> str | None:
    """The pid part of /proc/PID/..., or None for other /proc files."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "proc" and (parts[2].isdigit() or parts[2] in ("self", "thread-self")):
        return parts[2]
    return None


def validators(files, dirs) -> tuple[list, str]:
    """(validators, why not cacheable or "") for what a compilation read."""
    out: list = []
    kernel_state = boot = False
    for path in sorted(files):
        pid = _proc_pid(path)
        if pid is not None:
            if pid not in ("self", "thread-self", str(os.getpid())):
                return [], f"it read {path}"
            continue
        if path.startswith("/sys/fs/cgroup/"):
            st = _stat_id(path, directory=True)
            out.append(["inode", path, st[:2] if st else None])
        elif path.startswith(("/proc/", "/sys/")):
            kernel_state = True
            boot = boot or path == "/proc/kallsyms"
        else:
            st = _stat_id(path)
            out.append(["file", path, st] if st else ["absent", path])
    for path in sorted(dirs):
        if _proc_pid(path) not in (None, "self", "thread-self", str(os.getpid())):
            return [], f"it listed {path}"
        if path.startswith(("/proc/", "/sys/")):
            kernel_state = True
            continue
        out.append(["dir", path, _stat_id(path, directory=True)])
    if kernel_state:
        out.append(["modules", _modules()])
    if boot:
        out.append(["boot", _boot_id()])
    return out, ""


def _still_valid(v: list) -> str:
    """"" when validator `v` still holds, else what changed."""
    kind = v[0]
    if kind == "file":
        return "" if _stat_id(v[1]) == v[2] else f"{v[1]} changed"
    if kind == "absent":
        return "" if not os.path.lexists(v[1]) else f"{v[1]} exists now"
    if kind == "dir":
        return "" if _stat_id(v[1], directory=True) == v[2] else f"directory {v[1]} changed"
    if kind == "inode":
        st = _stat_id(v[1], directory=True)
        return "" if (st[:2] if st else None) == v[2] else f"{v[1]} changed"
    if kind == "modules":
        return "" if _modules() == v[1] else "the loaded kernel modules changed"
    if kind == "boot":
        return "" if _boot_id() == v[1] else "the machine rebooted"
    return f"unknown validator {kind!r}"


# --- entries ---------------------------------------------------------------------------------


def _entry_path(key: str) -> str:
    return os.path.join(cache_dir(), key + SUFFIX)


def _parse(data: bytes, key: str) -> tuple[dict, bytes] | None:
    if len(data) < len(MAGIC) + _LEN.size + _DIGEST or not data.startswith(MAGIC):
        return None
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        return None
    (hlen,) = _LEN.unpack_from(body, len(MAGIC))
    start = len(MAGIC) + _LEN.size
    try:
        header = json.loads(body[start:start + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    elf = body[start + hlen:]
    if not isinstance(header, dict) or header.get("key") != key or header.get("elf_size") != len(elf):
        return None
    return header, elf


def lookup(key: str) -> Entry | None:
    """The entry stored under `key` if it is intact and every validator still holds."""
    path = _entry_path(key)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        _debug(f"miss {key[:16]}")
        return None
    parsed = _parse(data, key)
    if parsed is None:
        _debug(f"miss {key[:16]}: corrupt entry ignored")
        return None
    header, elf = parsed
    try:
        for v in header["inputs"]:
            changed = _still_valid(v)
            if changed:
                _debug(f"miss {key[:16]}: {changed}")
                return None
        warnings = tuple(str(w) for w in header["warnings"])
    except (KeyError, TypeError, IndexError):
        _debug(f"miss {key[:16]}: corrupt entry ignored")
        return None
    try:
        os.utime(path)   # most recently used
    except OSError:
        pass
    _debug(f"hit {key[:16]}")
    return Entry(elf, warnings)


def store(key: str, elf: bytes, inputs, warnings: tuple[str, ...]) -> None:
    """Keep `elf` under `key` with validators for `inputs` (compiler/inputs.Inputs). Failures
    to write are not errors: the cache is an optimisation."""
    if inputs.run_dependent:
        _debug(f"not stored: {inputs.run_dependent}")
        return
    checks, why_not = validators(inputs.files, inputs.dirs)
    if why_not:
        _debug(f"not stored: {why_not}")
        return
    header = json.dumps({"key": key, "inputs": checks, "warnings": list(warnings),
                         "elf_size": len(elf)}, separators=(",", ":")).encode()
    body = MAGIC + _LEN.pack(len(header)) + header + elf
    data = body + hashlib.sha256(body).digest()
    import tempfile
    d = cache_dir()
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, _entry_path(key))
        except BaseException:
            os.unlink(tmp)
            raise
        _debug(f"stored {key[:16]} ({len(checks)} inputs)")
        _evict(d)
    except OSError as err:
        _debug(f"not stored: {err}")


def _evict(d: str) -> None:
    import time
    entries = []
    for e in os.scandir(d):
        if e.name.startswith(".tmp-"):   # a kt killed while writing left it
            try:
                if e.stat().st_mtime < time.time() - 3600:
                    os.unlink(e.path)
            except OSError:
                pass
        elif e.name.endswith(SUFFIX):
            try:
                st = e.stat()
            except OSError:
                continue
            entries.append((st.st_mtime_ns, st.st_size, e.path))
    entries.sort(reverse=True)   # newest first
    total = 0
    for i, (_mtime, size, path) in enumerate(entries):
        total += size
        if i >= MAX_ENTRIES or total > MAX_BYTES:
            try:
                os.unlink(path)
            except OSError:
                pass
