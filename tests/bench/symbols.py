"""Symbols benchmark: symbol tables at first use, kt next to bpftrace 0.17 in the same run.

- Debian's sslsnoop.bt (uprobes on libssl and libcrypto): seconds from start to attached,
  marked by the header its BEGIN prints (both tracers run BEGIN after every probe is
  attached), and the wall of a whole run with `-c /usr/bin/true` (attach, run, detach).
- 100,000 user stacks: `@[ustack, arg0] = count()` on leaf() of a C workload
  (workloads/symbols_stacks.c, 1 to 8 nested frames), printed at exit() while the process
  is alive: seconds from releasing the workload to the tracer's exit (100k uprobe hits, the
  map read, 100k stacks symbolized and printed), and how many printed stacks are symbolized.
- 100,000 kernel stacks: the same with `@[kstack, nsecs]` on sys_enter_getppid (kallsyms).

Not a test: nothing here asserts.

    sudo python3 tests/bench/symbols.py [--runs N]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, main_for, median  # noqa: E402
from tracers import ENV, bpftrace_binary, kt_binary  # noqa: E402

SSLSNOOP = "/usr/sbin/sslsnoop.bt"
SSL_MARKER = b"Tracing SSL/TLS handshake"
WORKLOAD = Path(__file__).parent / "workloads" / "symbols_stacks.c"
EVENTS = 100_000
# bpftrace 0.17 takes ~7 ms per user stack it prints while the process lives (100k: ~11
# minutes), so it symbolizes this many and its time is scaled to 100k.
BPFTRACE_USTACKS = 5_000
# Both tracers keep at most 4096 keys per map unless told (0.17's default).
MAP_ENV = dict(ENV, BPFTRACE_MAP_KEYS_MAX=str(2 * EVENTS))


def _build(tmp: str) -> str:
    out = os.path.join(tmp, "symbols_stacks")
    subprocess.run(["gcc", "-O0", "-fno-omit-frame-pointer", "-o", out, str(WORKLOAD)], check=True)
    return out


def _read_until(proc: subprocess.Popen, marker: bytes, timeout: float = 120.0) -> bytes:
    """Read the tracer's stdout until a line holding `marker` (returns what was read)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while marker not in buf:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {marker!r} within {timeout} s")
        chunk = os.read(proc.stdout.fileno(), 1 << 16)
        if not chunk:
            raise RuntimeError(f"{proc.args[0]} ended before printing {marker!r}")
        buf += chunk
    return buf


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def sslsnoop_to_attached(tracer: str) -> float:
    """Seconds from start until sslsnoop.bt's BEGIN header is printed (all probes attached)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([tracer, SSLSNOOP], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
    try:
        _read_until(proc, SSL_MARKER)
        return time.perf_counter() - t0
    finally:
        _stop(proc)


def sslsnoop_whole_run(tracer: str) -> float:
    """Wall seconds of `TRACER -c /usr/bin/true sslsnoop.bt`: start, attach, run, detach."""
    t0 = time.perf_counter()
    subprocess.run([tracer, "-c", "/usr/bin/true", SSLSNOOP], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=ENV, check=True)
    return time.perf_counter() - t0


def stacks(tracer: str, binary: str, kernel: bool, events: int = EVENTS) -> tuple[float, int, int]:
    """(seconds from releasing the workload to the tracer's exit, stacks printed, of them
    symbolized) for `events` stacks in a map, printed at exit()."""
    work = subprocess.Popen([binary, str(events)], stdin=subprocess.PIPE)
    pid = work.pid
    if kernel:
        collect = (f"tracepoint:syscalls:sys_enter_getppid /pid == {pid}/ "
                   "{ @[kstack, nsecs] = count(); }")
        symbolized = b"entry_SYSCALL_64"
    else:
        collect = f"uprobe:{binary}:leaf /pid == {pid}/ {{ @[ustack, arg0] = count(); }}"
        symbolized = b"leaf+0"
    script = (f'BEGIN {{ printf("ready\\n"); }} {collect} '
              f"uprobe:{binary}:done /pid == {pid}/ {{ exit(); }}")
    # -p: both then know whose symbols they print (0.17 without a pid reads the process's
    # maps and ELF files again for every stack)
    proc = subprocess.Popen([tracer, "-p", str(pid), "-e", script], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=MAP_ENV)
    try:
        out = _read_until(proc, b"ready\n")
        t0 = time.perf_counter()
        work.stdin.write(b"g")
        work.stdin.flush()
        rest, _ = proc.communicate(timeout=600)
        seconds = time.perf_counter() - t0
        out += rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        work.kill()
        work.wait()
    printed = out.count(b"@[")
    return seconds, printed, out.count(symbolized)


def measure(runs: int) -> list[Row]:
    kt, bpftrace = kt_binary(), bpftrace_binary()
    rows: list[Row] = []
    have_ssl = os.path.exists(SSLSNOOP)
    if have_ssl:
        attached = {kt: [], bpftrace: []}
        whole = {kt: [], bpftrace: []}
        sslsnoop_to_attached(kt)              # warm the page cache for both
        sslsnoop_to_attached(bpftrace)
        for _ in range(runs):
            for t in (kt, bpftrace):
                attached[t].append(sslsnoop_to_attached(t))
                whole[t].append(sslsnoop_whole_run(t))
        a_kt, a_bt = median(attached[kt]), median(attached[bpftrace])
        rows.append(Row("symbols", "sslsnoop.bt: start to attached", a_kt, a_bt, "s", "<= 1.0x",
                        a_kt <= a_bt, "libssl + libcrypto uprobes; BEGIN's header as the marker"))
        w_kt, w_bt = median(whole[kt]), median(whole[bpftrace])
        rows.append(Row("symbols", "sslsnoop.bt -c /usr/bin/true: wall", w_kt, w_bt, "s", "",
                        None, "includes detaching 10 uprobes (kernel time, both)"))
    with tempfile.TemporaryDirectory() as tmp:
        binary = _build(tmp)
        for kernel, name in ((False, "ustack"), (True, "kstack")):
            n = {kt: EVENTS, bpftrace: EVENTS if kernel else BPFTRACE_USTACKS}
            secs = {kt: [], bpftrace: []}
            counts = {}
            for _ in range(max(1, runs // 2)):
                for t in (kt, bpftrace):
                    s, printed, good = stacks(t, binary, kernel, n[t])
                    secs[t].append(s * EVENTS / n[t])
                    counts[t] = (printed, good)
            s_kt, s_bt = median(secs[kt]), median(secs[bpftrace])
            detail = (f"kt printed {counts[kt][0]} ({counts[kt][1]} symbolized), "
                      f"bpftrace {counts[bpftrace][0]} ({counts[bpftrace][1]} symbolized)")
            if n[bpftrace] != EVENTS:
                detail += f"; bpftrace's time for {n[bpftrace]} scaled to {EVENTS}"
            rows.append(Row("symbols", f"{name}: 100k stacks in a map, hits + print", s_kt, s_bt,
                            "s/100k", "", None, detail))
    return rows


def main() -> None:
    main_for(measure, default_runs=5)


if __name__ == "__main__":
    main()
