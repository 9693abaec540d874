"""Startup benchmark: wall time and peak RSS of kt next to bpftrace 0.17's, alternating runs,
medians. Cold: kt with an empty object cache (a fresh XDG_CACHE_HOME each run); warm: kt with
the script's object cached (runtime/cache.py). Two scripts: `BEGIN { exit(); }` to its exit, and
a tracepoint script to the moment it is attached (its BEGIN prints "attached": both tracers run
BEGIN after attaching every probe), when it is sent SIGINT. Peak RSS is the tracer's own, from
GNU time (tracers.measured).
Not a test: nothing here asserts.

    sudo python3 tests/bench/startup.py [--runs N]
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, main_for, median  # noqa: E402
from tracers import ENV, bpftrace_binary, kt_binary, measured, peak_rss_mib, tracer_pid  # noqa: E402

BEGIN_EXIT = "BEGIN { exit(); }"
# BEGIN runs once every probe is attached, in both tracers; its line is the moment measured
# (bpftrace 0.17 prints "Attaching N probes..." before it compiles, so that line says nothing).
TRACEPOINT = 'tracepoint:syscalls:sys_enter_getppid { @ = count(); } BEGIN { printf("attached\\n"); }'
WARM_TARGET, COLD_TARGET = 0.5, 1.0


def _run_to_exit(argv: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run to its exit."""
    with tempfile.NamedTemporaryFile() as rss:
        t0 = time.perf_counter()
        proc = subprocess.run(measured(argv, rss.name), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"{argv[0]} failed: exit {proc.returncode}")
        return wall, peak_rss_mib(rss.name)


def _run_to_attached(argv: list[str], env: dict, timeout: float = 60) -> tuple[float, float]:
    """(seconds until BEGIN's "attached" line, peak RSS MiB); then SIGINT. bpftrace 0.17
    buffers stdout unless it is a terminal: stdout and stderr go to one pseudo-terminal."""
    rss = tempfile.NamedTemporaryFile()
    master, slave = os.openpty()
    t0 = time.perf_counter()
    proc = subprocess.Popen(measured(argv, rss.name), stdout=slave, stderr=slave, env=env,
                            stdin=subprocess.DEVNULL)
    os.close(slave)
    wall, seen = None, b""
    try:
        while wall is None and time.perf_counter() - t0 < timeout:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:   # EIO: the tracer exited
                break
            if not chunk:
                break
            seen += chunk
            if b"attached" in seen:
                wall = time.perf_counter() - t0
        # SIGINT until it exits: bpftrace prints "Attaching" before its handler is in place
        # and loses a signal that comes that early. Drain the terminal meanwhile (the maps).
        while True:
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            try:
                os.kill(tracer_pid(proc.pid), signal.SIGINT)
            except (OSError, ValueError):   # between time's fork and the tracer's exec, or gone
                pass
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:
                    pass
    finally:
        os.close(master)
    if wall is None:
        raise SystemExit(f"{argv[0]} never reported attaching (exit {proc.returncode}): {seen[-300:]!r}")
    with rss:
        return wall, peak_rss_mib(rss.name)


def _kt_env(cache_home: str) -> dict:
    return {**ENV, "XDG_CACHE_HOME": cache_home}


def measure(runs: int) -> list[Row]:
    kt, bpftrace = kt_binary(), bpftrace_binary()
    rows: list[Row] = []
    scratch = tempfile.mkdtemp(prefix="kt-bench-startup-")
    try:
        for script, runner, label in ((BEGIN_EXIT, _run_to_exit, "BEGIN { exit(); }"),
                                      (TRACEPOINT, _run_to_attached, "tracepoint until attached")):
            warm_home = os.path.join(scratch, "warm")
            runner([kt, "-e", script], _kt_env(warm_home))     # fills the warm cache, warms pages
            runner([bpftrace, "-e", script], ENV)
            got: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": [], "bpftrace": []}
            for i in range(runs):
                cold_home = os.path.join(scratch, f"cold-{i}")
                got["cold"].append(runner([kt, "-e", script], _kt_env(cold_home)))
                got["bpftrace"].append(runner([bpftrace, "-e", script], ENV))
                got["warm"].append(runner([kt, "-e", script], _kt_env(warm_home)))
                shutil.rmtree(cold_home, ignore_errors=True)
            for which, target in (("cold", COLD_TARGET), ("warm", WARM_TARGET)):
                for k, what, unit, scale in ((0, "wall", "ms", 1000), (1, "peak RSS", "MiB", 1)):
                    kt_v = median([r[k] for r in got[which]]) * scale
                    bt_v = median([r[k] for r in got["bpftrace"]]) * scale
                    rows.append(Row("startup", f"{label}, {which}: {what}", kt_v, bt_v, unit,
                                    target=f"<= {target}x", met=kt_v <= target * bt_v,
                                    detail=f"{runs} runs each, alternating"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def main() -> None:
    main_for(measure, default_runs=10)


if __name__ == "__main__":
    main()
