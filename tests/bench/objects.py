"""Running a compiled object (`kt x.o`) against bpftrace 0.17 compiling the same script each run.

An object is built once with `kt --emit-elf`; a run reads it, checks it (for a script that
reads kernel BTF, the sha256 of /sys/kernel/btf/vmlinux and the tracepoint layouts) and runs
it without the compiler. bpftrace has no such mode, so its row is the script. The detail gives
kt's warm cache run of the script, which skips the object checks, for comparison.
Each row: wall time from start to exit, medians of `runs`, kt and bpftrace alternating.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from tests.bench.common import Row, main_for, median
    from tests.bench.tracers import ENV, bpftrace_binary, kt_binary
else:
    from .common import Row, main_for, median
    from .tracers import ENV, bpftrace_binary, kt_binary

SCRIPTS = {
    "BEGIN { exit(); }": "BEGIN exit, from an object",
    # comm reads task_struct through kernel BTF; args->filename the tracepoint's record
    'tracepoint:syscalls:sys_enter_openat { @[comm, str(args->filename)] = count(); } BEGIN { exit(); }':
        "tracepoint + BTF, from an object",
}


def _wall(argv: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True,
                   stdin=subprocess.DEVNULL)
    return time.perf_counter() - t


def measure(runs: int) -> list[Row]:
    kt, bt = kt_binary(), bpftrace_binary()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        env = {**ENV, "XDG_CACHE_HOME": d}
        for i, (script, name) in enumerate(SCRIPTS.items()):
            obj = os.path.join(d, f"x{i}.o")
            subprocess.run([kt, "--emit-elf", obj, "-e", script], env=env, check=True)
            subprocess.run([kt, "-e", script], env=env, check=True, capture_output=True)   # the cache is warm
            ours, theirs, warm = [], [], []
            for _ in range(runs):
                ours.append(_wall([kt, obj], env))
                theirs.append(_wall([bt, "-e", script], ENV))
                warm.append(_wall([kt, "-e", script], env))
            rows.append(Row("startup", f"{name}: wall", median(ours) * 1e3, median(theirs) * 1e3, "ms",
                            detail=f"kt -e (warm cache) {median(warm) * 1e3:.0f} ms"))
    return rows


def main() -> None:
    main_for(measure, default_runs=5)


if __name__ == "__main__":
    main()
