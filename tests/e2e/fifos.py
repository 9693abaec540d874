"""A test and the -c child it traces meet at FIFOs: the child writes its pid and a newline to
`ready` when it has made its calls, and waits to read `go`. Neither side may hang when the other is gone (kt
failed before it started the child, or killed it): every wait here has a deadline and checks
that the tracer still runs."""

from __future__ import annotations

import errno
import os
import select
import subprocess
import time
from pathlib import Path


class Fifos:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.ready, self.go = directory / "ready", directory / "go"
        os.mkfifo(self.ready)
        os.mkfifo(self.go)
        # opened before the child exists, so that its blocking open for writing returns
        self._ready_fd = os.open(self.ready, os.O_RDONLY | os.O_NONBLOCK)

    def wait_ready(self, proc: subprocess.Popen, timeout: float = 120) -> int:
        """Until the child wrote its line: its pid. Fails if the tracer ended first."""
        deadline = time.monotonic() + timeout
        got = b""
        try:
            while True:
                if select.select([self._ready_fd], [], [], 0.2)[0]:
                    got += os.read(self._ready_fd, 64)
                    if got.endswith(b"\n"):
                        return int(got)
                if proc.poll() is not None:
                    raise AssertionError(f"the tracer ended (status {proc.returncode}) before the child was ready: "
                                         f"{_stderr(proc)}")
                if time.monotonic() > deadline:
                    raise AssertionError("the child did not get ready in time")
        finally:
            os.close(self._ready_fd)

    def release(self, proc: subprocess.Popen, timeout: float = 60) -> None:
        """Let the child go on (it is reading `go`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                fd = os.open(self.go, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as err:
                if err.errno != errno.ENXIO:     # ENXIO: no reader yet
                    raise
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the child is not waiting to be released") from None
                time.sleep(0.05)
                continue
            os.close(fd)
            return


def _stderr(proc: subprocess.Popen) -> str:
    try:
        text = proc.stderr.read() if proc.stderr else ""
        return text.decode(errors="replace") if isinstance(text, bytes) else text
    except (OSError, ValueError):
        return ""
