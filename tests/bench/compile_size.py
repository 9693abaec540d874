"""Compile time against script size: `--emit-elf` of one BEGIN probe with N statements (one a
line: `@mK = $a + i;` over 50 maps), kt against bpftrace 0.17 on the same script, alternately.

kt runs with an empty cache directory each time (a cached object would measure nothing), and
both tracers only write the object (0.17's --emit-elf is a dry run). The issue's target: linear
in size, 10,000 statements in seconds (kt took 32 s, and aborted in LLVM past ~3,000).
Also printed: kt's user CPU time, which the machine's other load disturbs less than wall time.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, main_for, median  # noqa: E402
from tracers import ENV, bpftrace_binary, kt_binary  # noqa: E402

SIZES = (1000, 5000, 10000, 20000)
TIMEOUT = 300   # s; a tracer slower than this on a size is reported as nan


def script(n: int) -> str:
    return "BEGIN {\n$a = 1;\n" + "".join(f"@m{i % 50} = $a + {i};\n" for i in range(n)) + "exit();\n}\n"


def _timed(argv: list[str], env: dict) -> tuple[float, float, bool]:
    """(wall s, user+sys CPU s of the child, succeeded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    try:
        ok = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            timeout=TIMEOUT).returncode == 0
    except subprocess.TimeoutExpired:   # run() killed it
        return float("nan"), float("nan"), False
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), ok


def measure(runs: int, sizes=SIZES) -> list[Row]:
    kt, bt = kt_binary(), bpftrace_binary()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"size{n}.kt"
            path.write_text(script(n))
            kt_wall, kt_cpu, bt_wall, failed = [], [], [], []
            for run in range(runs):
                cache = Path(tmp) / f"cache{n}_{run}"
                wall, cpu, ok = _timed([kt, "--emit-elf", str(Path(tmp) / "kt.o"), str(path)],
                                       {**ENV, "XDG_CACHE_HOME": str(cache)})
                kt_wall.append(wall)
                kt_cpu.append(cpu)
                if not ok:
                    failed.append("kt" + (f" (over {TIMEOUT} s)" if wall != wall else ""))
                wall, _, ok = _timed([bt, "--emit-elf", str(Path(tmp) / "bt.o"), str(path)], ENV)
                bt_wall.append(wall if ok else float("nan"))
                if not ok:
                    failed.append("bpftrace" + (f" (over {TIMEOUT} s)" if wall != wall else ""))
            target = "< 10 s" if n == 10000 else ""
            kt_median = median(kt_wall)
            rows.append(Row("compile", f"{n} statements: --emit-elf wall", kt_median, median(bt_wall), "s",
                            target, (kt_median < 10) if target else None,
                            f"kt cpu {median(kt_cpu):.2f} s" + (f"; failed: {', '.join(failed)}" if failed else "")))
    return rows


def main() -> None:
    main_for(measure, default_runs=1)   # sizes: SIZES; measure(runs, sizes=...) for others


if __name__ == "__main__":
    main()
