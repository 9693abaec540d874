"""printf events at full speed: kt next to bpftrace on the same burst, and kt's consumer alone.

A C child makes N getppid() calls in a tight loop (tests/e2e/targets/getppid_loop.c); the
script prints a line per call of the child. Both tracers write to a file; the benchmark counts
the lines, reads the lost counts they report, and times the whole run. Not a test: nothing
asserts.

    sudo python3 tests/bench/events.py [--runs N] [--events N]
"""

from __future__ import annotations

from tracers import ENV, bpftrace_binary, kt_binary  # noqa: E402  (run as a script)

import argparse
import re
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Row, median, print_rows

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "tests" / "e2e" / "targets" / "getppid_loop.c"
SCRIPT = 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("%d %s %d\\n", nsecs, comm, tid); }'


def build(tmp: Path) -> str:
    exe = tmp / "getppid_loop"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(TARGET)], check=True)
    return str(exe)


def run(argv: list[str], tmp: Path) -> tuple[float, int, int]:
    """(wall seconds, lines printed for the child, events the tracer said it lost)."""
    out = tmp / "out.txt"
    with open(out, "wb") as f:
        t0 = time.perf_counter()
        proc = subprocess.run(argv, stdout=f, stderr=subprocess.PIPE, text=False, env=ENV)
        wall = time.perf_counter() - t0
    err = proc.stderr.decode(errors="replace")
    lost_text = err
    lines = 0
    with open(out, "rb") as f:
        for line in f:
            if b" getppid_loop " in line:
                lines += 1
            elif line.startswith(b"Lost "):   # bpftrace reports on stdout
                lost_text += "\n" + line.decode(errors="replace")
    lost = sum(int(n) for n in re.findall(r"^Lost (\d+) events$", lost_text, re.M))
    return wall, lines, lost


def burst(kt: str, bt: str, exe: str, n: int, runs: int, tmp: Path) -> list[Row]:
    command = f"{exe} {n}"
    ours, theirs = [], []
    for _ in range(runs):   # alternating, so both see the same machine
        ours.append(run([kt, "-e", SCRIPT, "-c", command], tmp))
        theirs.append(run([bt, "-e", SCRIPT, "-c", command], tmp))
    label = f"{n // 1_000_000}M printf events" if n >= 1_000_000 else f"{n} printf events"
    kw, kl, kx = (median([r[i] for r in ours]) for i in range(3))
    bw, bl, bx = (median([r[i] for r in theirs]) for i in range(3))
    exact = all(lines + lost == n for _, lines, lost in ours)
    rows = [
        Row("events", f"{label}: wall", kw, bw, "s", "<= 1.0x" if n <= 1_000_000 else "",
            kw <= bw if n <= 1_000_000 else None),
        Row("events", f"{label}: delivered", kl, bl, "lines", f"all {n}" if n <= 1_000_000 else "",
            all(r[1] == n for r in ours) if n <= 1_000_000 else None,
            f"kt per run: {[r[1] for r in ours]}"),
        Row("events", f"{label}: lost (reported)", kx, bx, "events", "0" if n <= 1_000_000 else "counted exactly",
            all(r[2] == 0 for r in ours) if n <= 1_000_000 else exact,
            f"kt delivered + reported = {n} in every run: {exact}"),
    ]
    return rows


def consumer_alone(records: int = 500_000) -> Row:
    """kt's pump decoding framed records of this printf from memory, no kernel: records/s."""
    sys.path.insert(0, str(ROOT.parent))
    import io
    from kt.runtime.decoders import Decoders
    from kt.runtime.output.sink import output_for
    from kt.runtime.pump import EventPump
    from kt.runtime.symbols import value_context

    meta = {"printf": [{"id": 0, "format": "%d %s %d\n", "args": [
        {"offset": 8, "type": {"kind": "int", "size": 8, "signed": False}},
        {"offset": 16, "type": {"kind": "str", "size": 16}},
        {"offset": 32, "type": {"kind": "int", "size": 8, "signed": False}}]}]}
    rec = struct.pack("<IIQQ16sQ", 40, 0, 0, 123456789012, b"getppid_loop", 4242)
    block = rec * records

    class Ring:
        blocks = [block]

        def take(self):
            return self.blocks.pop() if self.blocks else b""

    class Obj:
        maps: dict = {}

    out = io.BytesIO()
    pump = EventPump(Ring(), None, Decoders(meta, Obj(), output_for(False), value_context(), flush=lambda: None), out)
    t0 = time.perf_counter()
    pump.drain()
    rate = records / (time.perf_counter() - t0)
    return Row("events", "consumer alone: decode + format", rate / 1e6, float("nan"), "M records/s",
               detail="runtime/pump.py over 500k framed records in memory")


def measure(runs: int = 3, events: int = 1_000_000, big: int = 10_000_000) -> list[Row]:
    kt, bt = kt_binary(), bpftrace_binary()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        exe = build(tmp)
        rows = burst(kt, bt, exe, events, runs, tmp)
        if big:
            rows += burst(kt, bt, exe, big, 1, tmp)
    rows.append(consumer_alone())
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=10_000_000, help="a second burst, run once (0: none)")
    args = ap.parse_args()
    print_rows(measure(args.runs, args.events, args.big))


if __name__ == "__main__":
    main()
