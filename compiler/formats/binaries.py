"""Finding the file a uprobe or usdt target names, and the files a process maps.

Why apart from elfsyms: elfsyms reads symbols of a file; this module decides which file —
a path (with bpftrace's `*` wildcards), a library by soname through /etc/ld.so.cache and the
library directories, a program on PATH, or (with a pid) a file that process maps, reached
through /proc/PID/root when the process lives in another mount namespace.
"""

from __future__ import annotations

import functools
import glob as _glob
import os
import struct

from .inputs import note_path


__all__ = ["ElfSymbolError", "BinaryNotFound", "file_identity", "resolve_binary", "expand_binary", "needed_libraries", "process_objects", "process_path",
           "library_search_dirs", "ld_so_cache"]


class ElfSymbolError(ValueError):
    """A file is not a readable ELF file, or holds no such symbol/address."""


class BinaryNotFound(ElfSymbolError, LookupError):
    """`resolve_binary` found no file for the name; the message says where it looked."""


def file_identity(path: str) -> tuple:
    """What a cache of a file's contents is keyed by: a changed file is read again."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ElfSymbolError(f"cannot read {path}: {e.strerror}") from None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


_LIB_DIRS_DEFAULT = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
                     "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib")

# /etc/ld.so.cache entry flags (glibc elf/cache.c): type ELF libc6, and the ABI of 64-bit
# x86-64 libraries; other 64-bit ABIs for the machines kt may run on.
_FLAG_TYPE_MASK = 0x00FF
_FLAG_ELF_LIBC6 = 0x0003
_FLAG_ABI_MASK = 0xFF00
_ABI_64 = {0x0300: "x86_64", 0x0A00: "aarch64", 0x0500: "ppc64", 0x0400: "s390x",
           0x0B00: "riscv64", 0x1000: "riscv64"}


def library_search_dirs() -> tuple[str, ...]:
    """Where a library is looked for when ld.so.cache does not know it."""
    import platform

    arch = platform.machine()
    dirs = [f"/lib/{arch}-linux-gnu", f"/usr/lib/{arch}-linux-gnu"]
    dirs += [d for d in _LIB_DIRS_DEFAULT if d not in dirs and "x86_64" not in d]
    return tuple(dirs)


@functools.lru_cache(maxsize=4)
def _ld_so_cache(path: str, ident: tuple) -> tuple[tuple[str, str], ...]:
    with open(path, "rb") as f:
        data = f.read()
    return tuple(_parse_ld_so_cache(data))


def ld_so_cache(path: str = "/etc/ld.so.cache") -> list[tuple[str, str]]:
    """(soname, path) of every native 64-bit library in ld.so.cache, in cache order (what
    `ldconfig -p` lists); [] when the cache is missing or unreadable."""
    try:
        return list(_ld_so_cache(path, file_identity(path)))
    except (ElfSymbolError, OSError, struct.error, ValueError):
        return []


_OLD_MAGIC = b"ld.so-1.7.0"
_NEW_MAGIC = b"glibc-ld.so.cache1.1"


def _parse_ld_so_cache(data: bytes):
    """glibc's cache formats (elf/cache.c): the new format alone ("glibc-ld.so.cache1.1",
    entries of 24 bytes, string offsets from the file start), or after an old-format table
    ("ld.so-1.7.0", 12-byte entries)."""
    base = 0
    if data.startswith(_OLD_MAGIC):
        (n,) = struct.unpack_from("<I", data, 12)
        base = (16 + 12 * n + 7) & ~7
    if not data[base:].startswith(_NEW_MAGIC):
        return
    nlibs, _strlen = struct.unpack_from("<II", data, base + 20)
    entries = base + 48
    for i in range(nlibs):
        flags, key, value = struct.unpack_from("<iII", data, entries + 24 * i)
        if flags & _FLAG_TYPE_MASK != _FLAG_ELF_LIBC6:
            continue
        if (flags & _FLAG_ABI_MASK) not in _ABI_64:
            continue
        # new-format offsets are relative to the new header (which is the file start
        # unless an old table precedes it)
        yield _cstr_b(data, base + key), _cstr_b(data, base + value)


def _cstr_b(data: bytes, off: int) -> str:
    end = data.find(b"\0", off)
    return data[off:end].decode("utf-8", "surrogateescape")


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _looks_like_library(name: str) -> bool:
    return name.startswith("lib") or ".so" in name


def _find_library(name: str) -> str | None:
    """`libc`, `libc.so`, `libc.so.6` (or bcc's bare `c`) -> the library's path."""
    n = name if _looks_like_library(name) else f"lib{name}"
    # exact soname first (libc.so.6), then a longer version of it: libc -> libc.so.6,
    # libc.so -> libc.so.6 (libc.so itself is often a linker script, not a library)
    prefixes = (n + ".",) if ".so" in n else (n + ".so",)
    cache = ld_so_cache()
    for soname, path in cache:
        if soname == n and _is_elf(path):
            return path
    for soname, path in cache:
        if soname.startswith(prefixes) and _is_elf(path):
            return path
    for d in library_search_dirs():
        if _is_elf(f"{d}/{n}"):
            return f"{d}/{n}"
        try:
            entries = sorted(os.listdir(d))
        except OSError:
            continue
        for e in entries:
            if e.startswith(prefixes) and _is_elf(f"{d}/{e}"):
                return f"{d}/{e}"
    return None


def _find_program(name: str) -> str | None:
    for d in os.environ.get("PATH", os.defpath).split(":"):
        if not d:
            continue
        cand = os.path.join(d, name)
        note_path(cand)   # a program put earlier on PATH later resolves differently
        if os.path.isfile(cand) and os.access(cand, os.X_OK) and _is_elf(cand):
            return os.path.abspath(cand)
    return None


def _in_process(name: str, pid: int) -> str | None:
    """A file mapped by process `pid` whose base name is `name`, or a library of that name
    (`libc` matches /usr/lib/x86_64-linux-gnu/libc.so.6), or the executable itself."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    lib = name if _looks_like_library(name) else f"lib{name}"
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[5].startswith("/"):
            continue
        path = parts[5]
        base = os.path.basename(path)
        if base == name or (".so" in base and (base.startswith(lib + ".") or base.startswith(lib + "-"))):
            return _through_root(pid, path)
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    return _through_root(pid, exe) if os.path.basename(exe) == name else None


def _other_mount_namespace(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
    except OSError:
        return False


def process_path(pid: int, path: str) -> str:
    """Where kt reaches file `path` as process `pid` sees it: the path itself when the process
    shares kt's mount namespace and kt sees the file, else under /proc/PID/root (a container,
    or a bind mount only the process's namespace has)."""
    if not _other_mount_namespace(pid) and os.path.exists(path):
        return path
    return f"/proc/{pid}/root{path}"


_through_root = process_path


def process_objects(pid: int) -> tuple[str | None, list[str]]:
    """(executable, mapped ELF files other than it) of process `pid`, as /proc/PID/root/...
    paths (bpftrace 0.17 lists a process's probes under those), files in /proc/PID/maps
    order; LookupError when there is no such process."""
    root = f"/proc/{pid}/root"
    try:
        with open(f"/proc/{pid}/maps") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise LookupError(f"no such process: {pid}") from None
    except OSError as e:
        raise LookupError(f"cannot read /proc/{pid}/maps: {e.strerror}") from None
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        exe = None
    if exe is not None and exe.endswith(" (deleted)"):
        exe = None
    out: list[str] = []
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[5].startswith("/") or parts[5].endswith(" (deleted)"):
            continue
        path = parts[5]
        if path != exe and path not in out and _is_elf(root + path):
            out.append(path)
    return (root + exe if exe else None), [root + p for p in out]


def needed_libraries(path: str) -> list[str]:
    """The files of `path`'s DT_NEEDED libraries (by soname, as resolve_binary finds them),
    in the order the dynamic section lists them; [] for a static or unreadable file."""
    from .elffile import ElfError, read_file

    try:
        names = read_file(path, lambda elf: elf.needed())
    except (ElfError, OSError):
        return []
    out = []
    for n in names:
        found = _find_library(n)
        if found:
            out.append(found)
    return out


def expand_binary(pattern: str, pid: int | None = None) -> list[tuple[str, str]]:
    """The ELF files a uprobe binary pattern names, as (path as written, path to open): one
    for a name or a path without wildcards (resolve_binary), every matching ELF file for a
    path with bpftrace's `*` (`./bin/x*`, sorted; files that are not ELF are left out, as
    0.17 does), and for a name with `*` (`node*`) the matches in the current directory and in
    each PATH directory, in PATH order. With a pid, a pattern that matches nothing here is matched in the process's
    root. BinaryNotFound when nothing matches."""
    if "*" not in pattern:
        path = resolve_binary(pattern, pid)
        # a path reached through /proc/PID/root prints as that, as 0.17 prints it
        shown = pattern if "/" in pattern and not path.startswith("/proc/") else path
        return [(shown, path)]
    escaped = "*".join(_glob.escape(part) for part in pattern.split("*"))
    if "/" not in pattern:
        # a name: matched here and in each PATH directory, in PATH order (as 0.17)
        found = []
        dirs = [d for d in os.environ.get("PATH", os.defpath).split(":") if d]
        for candidate in [escaped] + [f"{_glob.escape(d)}/{escaped}" for d in dirs]:
            for m in sorted(_glob.glob(candidate)):
                if (m, os.path.abspath(m)) not in found:
                    found.append((m if "/" in m else os.path.abspath(m), os.path.abspath(m)))
        found = [(shown, path) for shown, path in found if os.path.isfile(path) and _is_elf(path)]
        if not found:
            raise BinaryNotFound(f"no ELF file matches '{pattern}' here or on PATH")
        return found
    found = [(m, os.path.abspath(m)) for m in sorted(_glob.glob(escaped))]
    if not found and pid is not None and pattern.startswith("/"):
        root = f"/proc/{pid}/root"
        found = [(m[len(root):], m) for m in sorted(_glob.glob(root + escaped))]
    found = [(shown, path) for shown, path in found if os.path.isfile(path) and _is_elf(path)]
    if not found:
        raise BinaryNotFound(f"no ELF file matches '{pattern}'")
    return found


def resolve_binary(name_or_path: str, pid: int | None = None) -> str:
    """The file a uprobe target names: a path (made absolute), else with `pid` a file that
    process maps (library or program), else a library (`libc`, `libc.so.6`) through
    /etc/ld.so.cache and the standard library directories, else a program on PATH (or, as bcc
    does, `c` for libc). BinaryNotFound says where it looked."""
    name = name_or_path
    if not name:
        raise BinaryNotFound("empty binary name")
    if "/" in name:
        path = os.path.abspath(name)
        if pid is not None and path.startswith("/") and _other_mount_namespace(pid):
            inside = process_path(pid, path)
            if os.path.exists(inside):
                return inside
        note_path(path)
        if not os.path.exists(path):
            raise BinaryNotFound("no such file" if path == name else f"{path}: no such file")
        return path
    if pid is not None:
        found = _in_process(name, pid)
        if found:
            return found
    if _looks_like_library(name):
        found = _find_library(name) or _find_program(name)
    else:
        found = _find_program(name) or _find_library(name)
    if found is None:
        where = "in /etc/ld.so.cache, the library directories or PATH"
        if pid is not None:
            where = f"mapped by process {pid}, " + where
        raise BinaryNotFound(f"'{name}' not found {where}")
    return found
