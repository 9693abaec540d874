"""What username, strftime() and cgroup_path() values need from the system, read as bpftrace
0.17 reads it (its BPFtrace::resolve_uid, resolve_timestamp, resolve_cgroup_path).

- username: the first line of /etc/passwd whose third field is the uid; its first field, or ""
  when there is none (0.17 prints an empty name; it does not ask NSS either).
- strftime(fmt, nsecs): the wall-clock time of boot, plus nsecs: `tv_sec + (tv_nsec + nsecs) /
  1e9` in double precision, truncated, as local time; "%f" in the format is replaced by the
  six-digit microseconds `(tv_nsec + nsecs) % 1e9 / 1000` first (textually, so `%%f` becomes
  `%` and the digits, as 0.17's std::regex_replace does); then strftime(3) into 64 bytes. A
  result that is empty or does not fit prints `(?)` and "ERROR: strftime returned 0" on stderr.
  The boot time is CLOCK_REALTIME - CLOCK_MONOTONIC, read once: kt's `nsecs` is
  bpf_ktime_get_ns(), CLOCK_MONOTONIC (0.17 uses the same difference with CLOCK_BOOTTIME; the
  two differ only by time spent suspended).
- cgroup_path(id, filter): the cgroup mounts are the lines of /proc/mounts whose first field
  (the device) is `cgroup` or `cgroup2`; a v1 hierarchy is named after its mount point's last
  component, v2 is `unified`; those whose name matches the filter (`*` wildcards) are sorted
  by name with `unified` first, and in each the id is looked for as a directory's inode number
  (the root is `/`); `name:path` for each found, joined by ",".
"""

from __future__ import annotations

import math
import os
import re
import sys
import time

__all__ = ["Lookups", "boot_time_ns", "strftime_text", "cgroup_paths", "username_of"]

STRFTIME_BUFFER = 64   # bytes 0.17 gives strftime(3), the NUL included


def boot_time_ns() -> int:
    """CLOCK_REALTIME - CLOCK_MONOTONIC: the monotonic reading between two realtime ones, of
    the closest of a few pairs (a Python call takes about a microsecond, and %f shows them)."""
    best = None
    for _ in range(5):
        r1 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        m = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        r2 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        if best is None or r2 - r1 < best[0]:
            best = (r2 - r1, (r1 + r2) // 2 - m)
    return best[1]


def username_of(uid: int, passwd: str = "/etc/passwd") -> str:
    try:
        with open(passwd, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 3 and fields[2] == str(uid):
                    return fields[0]
    except OSError as err:
        print(f"ERROR: {err.strerror}: {passwd}", file=sys.stderr, flush=True)
    return ""


def strftime_text(fmt: str, nsecs: int, boot_ns: int) -> str:
    sec, nsec = divmod(boot_ns, 1_000_000_000)
    total = (nsec + nsecs) & ((1 << 64) - 1)
    when = math.trunc(sec + total / 1e9)
    fmt = fmt.replace("%f", f"{total % 1_000_000_000 // 1000:06d}")
    try:
        text = time.strftime(fmt, time.localtime(when))
    except (ValueError, OverflowError, OSError):
        text = ""
    if not text or len(text.encode("utf-8", "surrogateescape")) >= STRFTIME_BUFFER:
        print("ERROR: strftime returned 0", file=sys.stderr, flush=True)
        return "(?)"
    return text


def _hierarchies(mounts: str) -> list[tuple[str, str]]:
    """(name, mount point) of every cgroup mount, as 0.17 finds them."""
    out = []
    try:
        with open(mounts, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(" ")
        if len(parts) < 2 or parts[0] not in ("cgroup", "cgroup2"):
            continue
        name = "unified" if parts[0] == "cgroup2" else os.path.basename(parts[1].rstrip("/"))
        out.append((name, parts[1]))
    return out


def _wildcard(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in pattern), re.DOTALL)


def _find_in_hierarchy(cgroup_id: int, base: str) -> str:
    try:
        if os.stat(base).st_ino == cgroup_id:
            return "/"
    except OSError:
        return ""
    for root, dirs, _ in os.walk(base):
        for d in dirs:
            path = os.path.join(root, d)
            try:
                if os.stat(path).st_ino == cgroup_id:
                    return path[len(base):]
            except OSError:
                return ""
    return ""


def cgroup_paths(cgroup_id: int, pattern: str, mounts: str = "/proc/mounts") -> str:
    match = _wildcard(pattern)
    roots = [(n, p) for n, p in _hierarchies(mounts) if match.fullmatch(n)]
    roots.sort(key=lambda r: (r[0] != "unified", r[0].encode("utf-8", "surrogateescape")))
    found = [(name, _find_in_hierarchy(cgroup_id, path)) for name, path in roots]
    return ",".join(f"{name}:{path}" for name, path in found if path)


class Lookups:
    """The lookups of one trace: the meta's formats and filters, the boot time read once, and
    user names and cgroup paths cached (a trace prints the same few many times)."""

    def __init__(self, strftime_formats=(), cgroup_path_filters=()) -> None:
        self.strftime_formats = tuple(strftime_formats)
        self.cgroup_path_filters = tuple(cgroup_path_filters)
        self.boot_ns = boot_time_ns()
        self._users: dict[int, str] = {}
        self._cgroups: dict[tuple[int, int], str] = {}

    def username(self, uid: int) -> str:
        if uid not in self._users:
            self._users[uid] = username_of(uid)
        return self._users[uid]

    def strftime(self, index: int, nsecs: int) -> str:
        if not 0 <= index < len(self.strftime_formats):
            return "(?)"
        return strftime_text(self.strftime_formats[index], nsecs, self.boot_ns)

    def cgroup_path(self, cgroup_id: int, index: int) -> str:
        key = (cgroup_id, index)
        if key not in self._cgroups:
            pattern = self.cgroup_path_filters[index] if 0 <= index < len(self.cgroup_path_filters) else "*"
            self._cgroups[key] = cgroup_paths(cgroup_id, pattern)
        return self._cgroups[key]
