"""The Python API (docs/api.md) against bpftrace 0.17, alternating runs, medians:

- a burst of N printf events, each taken as a `kt.Printf` record (`for ev in t.events()`),
  from a Python process that loads a saved object (kt.load: no compiler) and starts the
  workload as its command, to the end of the trace; bpftrace prints the same script's lines
  to /dev/null;
- `BEGIN { exit(); }` from a saved object: the interpreter's start, `import kt`, load, attach,
  BEGIN and release, to the process's exit; bpftrace compiles and runs the script.
Not a test: nothing here asserts.

    sudo python3 tests/bench/api.py [--runs N] [--events N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, median, print_rows  # noqa: E402
from tracers import ENV, bpftrace_binary  # noqa: E402

WORKLOAD = Path(__file__).parent / "workloads" / "kernel_getppid.c"
PRINTF = 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("ev %d %s\\n", nsecs, comm); }'
BEGIN_EXIT = "BEGIN { exit(); }"

EVENTS = '''
import sys, kt
n = 0
with kt.trace(kt.load(sys.argv[1]), command=sys.argv[2:]) as t:
    for ev in t.events():
        n += isinstance(ev, kt.Printf)
print(n, t.lost)
'''
RUN = '''
import sys, kt
with kt.trace(kt.load(sys.argv[1])) as t:
    pass
'''


def _compile(source: str, path: Path) -> None:
    subprocess.run([sys.executable, "-c", "import sys, kt; kt.compile(sys.argv[1]).save(sys.argv[2])",
                    source, str(path)], check=True, env=ENV)


def _timed(argv: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV,
                          stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed: exit {proc.returncode}")
    return wall, proc.stdout


def measure(runs: int = 3, events: int = 200_000) -> list[Row]:
    bt = bpftrace_binary()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        exe = tmp / "kernel_getppid"
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(WORKLOAD)], check=True)
        printf_o, begin_o = tmp / "printf.o", tmp / "begin.o"
        _compile(PRINTF, printf_o)
        _compile(BEGIN_EXIT, begin_o)
        burst = {"kt": [], "bt": []}
        start = {"kt": [], "bt": []}
        got = []
        for _ in range(runs):
            wall, out = _timed([sys.executable, "-c", EVENTS, str(printf_o), str(exe), str(events)])
            burst["kt"].append(wall)
            got.append(out.split())
            wall, out = _timed([bt, "-e", PRINTF, "-c", f"{exe} {events}"])
            burst["bt"].append(wall)
            start["kt"].append(_timed([sys.executable, "-c", RUN, str(begin_o)])[0])
            start["bt"].append(_timed([bt, "-e", BEGIN_EXIT])[0])
    detail = "records/lost per kt run: " + ", ".join("/".join(g) for g in got)
    return [
        Row("api", f"{events // 1000}k printf events as kt.Printf records: wall", median(burst["kt"]),
            median(burst["bt"]), "s", detail=detail + "; bpftrace prints to a pipe"),
        Row("api", "BEGIN { exit(); } from a saved object: wall", median(start["kt"]), median(start["bt"]), "s",
            detail="python -c 'import kt; kt.trace(kt.load(path))' vs bpftrace -e"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--events", type=int, default=200_000)
    args = ap.parse_args()
    print_rows(measure(args.runs, args.events))


if __name__ == "__main__":
    main()
