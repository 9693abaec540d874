"""Run a long-running tracing tool the way a user does: start it, wait until it says it is
tracing, let it trace a moment, Ctrl-C it, and keep what it printed and its exit status.

Why not a fixed 22 s per tool: under QEMU's emulation start-up takes seconds and varies with
load, so a fixed time either wastes minutes or cuts a slow start short. The tool itself says
when it is tracing: kt prints "Attached N probes" after attaching, bpftrace prints "Attaching
N probes..." before attaching and then runs BEGIN, whose first output line means the probes
are in. A tool that exits on its own before that (an error) is reported as such.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

STATUS = re.compile(r"^(Attached|Attaching) \d+ probes?")
START_TIMEOUT = 600.0    # seconds to reach "tracing": kt starts in 20-60 s under TCG, more under load
SETTLE = 1.0             # seconds of tracing before Ctrl-C


@dataclass
class ToolRun:
    command: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    attached: bool           # it said it was tracing before Ctrl-C
    interrupted: bool        # we sent SIGINT (it had not exited on its own)
    seconds_to_attach: float | None

    @property
    def ok(self) -> bool:
        """Attached, traced until Ctrl-C, exited 0 without an error line."""
        # 0.17 always says "ERROR: ... couldn't set RLIMIT_MEMLOCK" (harmless: it needs none)
        errors = [line for line in self.stderr.splitlines()
                  if re.match(r"ERROR|kt: error", line) and "RLIMIT_MEMLOCK" not in line]
        return self.attached and self.interrupted and self.returncode == 0 and not errors

    def describe(self) -> str:
        return (f"$ {' '.join(self.command)}\nexit status {self.returncode}, attached="
                f"{self.attached}, interrupted={self.interrupted}, seconds to attach="
                f"{self.seconds_to_attach}\n--- stdout ---\n{self.stdout[-1500:]}\n"
                f"--- stderr ---\n{self.stderr[-3000:]}")


def run_until_attached(command: list[str], expects_output: bool, env: dict | None = None,
                       start_timeout: float = START_TIMEOUT, settle: float = SETTLE) -> ToolRun:
    """Run ``command``; once it is tracing (its status line, and its first stdout line when
    ``expects_output``: BEGIN printed), wait ``settle`` seconds and send SIGINT."""
    start = time.monotonic()
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace",
                            env={**os.environ, "LC_ALL": "C", **(env or {})})
    out: list[str] = []
    err: list[str] = []
    status_seen = threading.Event()
    output_seen = threading.Event()

    def pump(stream, sink, is_stdout):
        # The status line is on stderr for kt, on stdout for 0.17; BEGIN's output on stdout.
        for line in stream:
            sink.append(line)
            if STATUS.match(line):
                status_seen.set()
            elif is_stdout:
                output_seen.set()
        status_seen.set()      # EOF: whatever we waited for will not come; stop waiting
        if is_stdout:
            output_seen.set()

    threads = [threading.Thread(target=pump, args=(proc.stdout, out, True), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, err, False), daemon=True)]
    for t in threads:
        t.start()
    deadline = start + start_timeout
    attached_at = None
    interrupted = False
    try:
        status_seen.wait(max(0.0, deadline - time.monotonic()))
        if expects_output:
            output_seen.wait(max(0.0, deadline - time.monotonic()))
        said = [line for line in out + err if STATUS.match(line)]
        printed = [line for line in out if not STATUS.match(line)]
        if proc.poll() is None and said and (not expects_output or printed):
            attached_at = time.monotonic() - start
            time.sleep(settle)
        if proc.poll() is None:
            interrupted = True
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for t in threads:
            t.join(timeout=30)
    return ToolRun(command, proc.returncode, "".join(out), "".join(err),
                   attached_at is not None, interrupted and attached_at is not None,
                   None if attached_at is None else round(attached_at, 1))


def run_all(jobs: dict, workers: int = 3) -> dict[str, ToolRun]:
    """Run several tools at once (they only read kernel state, so they do not disturb each
    other); ``jobs`` maps a name to (command, expects_output, settle seconds)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(run_until_attached, cmd, expects, settle=settle)
                   for name, (cmd, expects, settle) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}
