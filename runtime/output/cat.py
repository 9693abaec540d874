"""cat(): what the runtime prints for a file, as bpftrace 0.17 prints it.

- at most BPFTRACE_CAT_BYTES_MAX bytes of the file (default 10240; kt also reads
  KT_CAT_BYTES_MAX, which wins when both are set), its bytes as they are (NULs included);
  0 prints nothing. The value is read as 0.17 reads it (leading blanks, a sign, digits;
  anything after them ignored: `5k` is 5); one that does not start with a number stops the
  trace before it starts with 0.17's message: `Env var 'BPFTRACE_CAT_BYTES_MAX' did not contain a valid uint64_t, or
  was zero-valued.` (0.17 accepts 0 all the same);
- a file that cannot be opened or read prints nothing on stdout and, on stderr,
  `ERROR: failed to open file '/no/such': No such file or directory` (a directory: `Is a
  directory`).
"""

from __future__ import annotations

import os
import re
from typing import Mapping

__all__ = ["CAT_BYTES_MAX", "CatLimitError", "cat_bytes_max", "read_for_cat"]

CAT_BYTES_MAX = 10240
_ENV = ("KT_CAT_BYTES_MAX", "BPFTRACE_CAT_BYTES_MAX")
_NUMBER = re.compile(r"\s*([+-]?)(\d+)")


class CatLimitError(ValueError):
    """The byte limit's environment variable does not hold a number."""


def cat_bytes_max(environ: Mapping[str, str] | None = None) -> int:
    """The limit, read as 0.17 reads it (`istringstream >> uint64_t`: leading blanks, a sign,
    digits, anything after them ignored; a negative number wraps)."""
    env = os.environ if environ is None else environ
    for name in _ENV:
        if name in env:
            m = _NUMBER.match(env[name])
            if m is None:
                raise CatLimitError(f"Env var '{name}' did not contain a valid uint64_t, or was zero-valued.")
            value = int(m.group(2))
            return (-value) % (1 << 64) if m.group(1) == "-" else min(value, (1 << 64) - 1)
    return CAT_BYTES_MAX


def read_for_cat(path: bytes, limit: int) -> tuple[bytes, str | None]:
    """(the bytes cat() prints, the error line for stderr or None)."""
    try:
        with open(path, "rb") as f:
            return f.read(limit if limit < 1 << 62 else -1), None   # -1: to the end
    except OSError as err:
        name = path.decode("utf-8", "surrogateescape")
        return b"", f"ERROR: failed to open file '{name}': {err.strerror}"
