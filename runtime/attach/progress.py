"""A progress line on stderr while many probes attach.

Why: a kprobe wildcard over hundreds of functions takes tens of seconds to attach in an
emulated guest (each kprobe is a kernel registration), and a silent tracer looks hung. Only
for at least MIN_TARGETS targets and only once attaching has taken a while, so quick attaches
(every test that compares stderr with bpftrace 0.17) print nothing new; never with -q.
On a terminal one `\\r`-rewritten line that is erased when done (then "Attached N probes"
follows as always); elsewhere a line every LINE_EVERY seconds.
"""

from __future__ import annotations

import time
from typing import TextIO

MIN_TARGETS = 100
FIRST_AFTER = 1.0      # seconds of attaching before the first report
TTY_EVERY = 0.1
LINE_EVERY = 5.0


class AttachProgress:
    def __init__(self, total: int, err: TextIO, enabled: bool = True, clock=time.monotonic):
        self.total = total
        self.done = 0
        self._err = err
        self._clock = clock
        self._enabled = enabled and total >= MIN_TARGETS
        try:
            self._tty = err.isatty()
        except (AttributeError, ValueError):
            self._tty = False
        self._start = clock()
        self._next = self._start + FIRST_AFTER
        self._width = 0   # of the line on the terminal, to erase it

    def advance(self, n: int = 1) -> None:
        """n more targets are attached."""
        self.reach(self.done + n)

    def reach(self, done: int) -> None:
        """At least `done` targets are attached."""
        self.done = max(self.done, done)
        if not self._enabled:
            return
        now = self._clock()
        if now < self._next:
            return
        if self._tty:
            text = f"\rAttaching {self.total} probes... {self.done}/{self.total}"
            self._width = len(text) - 1
            self._err.write(text)
            self._next = now + TTY_EVERY
        else:
            self._err.write(f"Attaching {self.total} probes... {self.done}/{self.total}\n")
            self._next = now + LINE_EVERY
        self._err.flush()

    def finish(self) -> None:
        """Erase the terminal line (the caller prints "Attached N probes")."""
        if self._width:
            self._err.write("\r" + " " * self._width + "\r")
            self._err.flush()
            self._width = 0
