"""What the kernel and this process hold, to prove that closing left nothing behind.

Only ids and counts are compared: no other process's programs or data are printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable


def open_fds() -> set[int]:
    """This process's open descriptors (the listing's own fd excluded)."""
    fds = {int(x) for x in os.listdir("/proc/self/fd")}
    return {fd for fd in fds if _alive(fd)}


def _alive(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def bpftool_ids(kind: str) -> set[int]:
    """Ids from ``bpftool <kind> show -j`` (kind: prog, link, map)."""
    exe = shutil.which("bpftool")
    if exe is None:
        raise RuntimeError("bpftool is not installed")
    out = subprocess.run([exe, kind, "show", "-j"], check=True, capture_output=True,
                         text=True).stdout
    return {entry["id"] for entry in json.loads(out or "[]")}


def wait_until(cond: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll ``cond``: the kernel frees some objects after an RCU grace period."""
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
