"""Positional-parameter benchmark: a script run with a new argument each time. bpftrace 0.17
compiles the script on every run; kt runs one object compiled once (`kt out.o N abc`: the
parameters are `.rodata` slots), and, for comparison, the script itself (`kt script.kt N abc`:
the object cache keys on the arguments, so a new value is a compile). Wall time to exit of
`BEGIN { printf(...$1, str($2)...); exit(); }`, alternating runs, medians.
Not a test: nothing here asserts.

    sudo python3 tests/bench/positional.py [--runs N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, main_for, median  # noqa: E402
from tracers import ENV, bpftrace_binary, kt_binary  # noqa: E402

SCRIPT = 'BEGIN { printf("%d %s %d\\n", $1 * 2, str($2), $#); @[str($2)] = sum($1); exit(); }\n'


def _wall(argv: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: exit {proc.returncode}: {proc.stderr.decode()[-300:]}")
    return wall


def measure(runs: int) -> list[Row]:
    kt, bt = kt_binary(), bpftrace_binary()
    with tempfile.TemporaryDirectory() as d:
        script, obj = os.path.join(d, "pos.kt"), os.path.join(d, "pos.o")
        with open(script, "w") as f:
            f.write(SCRIPT)
        env = {**ENV, "XDG_CACHE_HOME": os.path.join(d, "cache")}
        subprocess.run([kt, "--emit-elf", obj, script], check=True, env=env)
        times: dict[str, list[float]] = {"object": [], "script": [], "bpftrace": []}
        for i in range(runs):
            args = [str(100 + i), f"word{i}"]   # a new value every run
            times["bpftrace"].append(_wall([bt, script, *args], env))
            times["object"].append(_wall([kt, obj, *args], env))
            times["script"].append(_wall([kt, script, *args], env))
    bt_median = median(times["bpftrace"])
    return [
        Row("startup", "new $1/str($2) each run: kt out.o (compiled once)", median(times["object"]),
            bt_median, "s", detail="the parameters are .rodata slots: no compile"),
        Row("startup", "new $1/str($2) each run: kt script.kt", median(times["script"]), bt_median, "s",
            detail="the cache keys on the arguments: every new value compiles"),
    ]


if __name__ == "__main__":
    main_for(measure)
