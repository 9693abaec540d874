"""Where the trace's output goes (-o FILE or stdout), buffered as -B asks (bpftrace 0.17).

The session writes whole lines and flushes after each batch of events, which is line
buffering; `-B full` holds everything until the buffer fills or the trace ends, `-B none`
flushes after every write.
"""

from __future__ import annotations

import sys
from typing import BinaryIO


class Output:
    """A binary stream with bpftrace's buffering modes; close() flushes, and closes a file
    kt opened (never stdout)."""

    def __init__(self, raw: BinaryIO, mode: str, owned: bool) -> None:
        self._raw = raw
        self._mode = mode
        self._owned = owned

    def write(self, data: bytes) -> int:
        n = self._raw.write(data)
        if self._mode == "none":
            self._raw.flush()
        return n

    def flush(self) -> None:
        if self._mode != "full":
            self._raw.flush()

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        try:
            self._raw.flush()
        finally:
            if self._owned:
                self._raw.close()


def open_output(path: str | None, buffering: str | None) -> Output:
    """-o FILE (truncated, as bpftrace opens it) or stdout; raises OSError for a FILE that
    cannot be opened."""
    mode = buffering or "line"
    if path is None:
        return Output(sys.stdout.buffer, mode, owned=False)
    return Output(open(path, "wb"), mode, owned=True)
