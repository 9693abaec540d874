"""In-kernel cost per event: kt's programs next to bpftrace 0.17's on one corpus and workload.

The kernel's own accounting (BPF_ENABLE_STATS: run_time_ns and run_cnt per program) gives
nanoseconds per run; xlated_prog_len / 8 the instructions the kernel runs after the verifier's
rewrites (helper calls inlined, map lookups of arrays turned into loads). Both tracers run the
same scripts on `tracepoint:syscalls:sys_enter_getppid /pid == cpid/` (the predicate is part of
every script, as in real use; the "empty probe" is just the predicate) with a -c child making N
getppid() calls in a tight loop (workloads/kernel_getppid.c). Only the tracer's own programs
are counted: those the tracer process holds an fd of (its /proc/PID/fdinfo), opened here by id
as they appear, so their counters can be read after the tracer has exited. The run time of
all of a script's programs is divided by the event count of its busiest one (the latency pair
is one enter and one exit per call). Not a test: nothing asserts.

    sudo python3 tests/bench/kernel_cost.py [--runs N] [--calls N]
"""

from __future__ import annotations

from common import Row, median, print_rows  # noqa: E402  (run as a script)
from tracers import ENV, bpftrace_binary, kt_binary  # noqa: E402

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kt.runtime.sys.info import enable_run_time_stats, prog_fd_by_id, prog_info

GROUP = "in-kernel"
WORKLOAD = Path(__file__).parent / "workloads" / "kernel_getppid.c"
ENTER = "tracepoint:syscalls:sys_enter_getppid"
EXIT = "tracepoint:syscalls:sys_exit_getppid"
PRED = "/pid == cpid/"
TRACEPOINT = 5          # BPF_PROG_TYPE_TRACEPOINT


@dataclass(frozen=True)
class Script:
    name: str
    text: str
    paced: bool = False     # the child pauses now and then so both consumers keep up


CORPUS = [
    Script("empty probe", f"{ENTER} {PRED} {{ }}"),
    Script("@ = count()", f"{ENTER} {PRED} {{ @ = count(); }}"),
    Script("@ = sum(x)", f"{ENTER} {PRED} {{ @ = sum(args->__syscall_nr); }}"),
    Script("@[pid] = count()", f"{ENTER} {PRED} {{ @[pid] = count(); }}"),
    Script("@[comm] = count()", f"{ENTER} {PRED} {{ @[comm] = count(); }}"),
    Script("@[comm, pid] = sum(x)", f"{ENTER} {PRED} {{ @[comm, pid] = sum(args->__syscall_nr); }}"),
    Script("hist", f"{ENTER} {PRED} {{ @ = hist(nsecs & 0xfffff); }}"),
    Script("lhist", f"{ENTER} {PRED} {{ @ = lhist(nsecs % 1000, 0, 1000, 100); }}"),
    Script("stats", f"{ENTER} {PRED} {{ @ = stats(nsecs & 0xfff); }}"),
    Script("string predicate",
           f'{ENTER} /pid == cpid && comm == "kernel_getppid"/ {{ @ = count(); }}'),
    Script("printf 3 args", f'{ENTER} {PRED} {{ printf("%d %s %d\\n", nsecs, comm, tid); }}',
           paced=True),
    Script("curtask walk", f"{ENTER} {PRED} {{ @[curtask->real_parent->pid] = count(); }}"),
    Script("latency pair", f"{ENTER} {PRED} {{ @start[tid] = nsecs; }} "
           f"{EXIT} /pid == cpid && @start[tid]/ "
           f"{{ @ = hist(nsecs - @start[tid]); delete(@start[tid]); }}"),
]


@dataclass(frozen=True)
class Sample:
    ns_per_event: float
    insns: int
    events: int


def build_workload(tmp: str) -> str:
    exe = os.path.join(tmp, "kernel_getppid")
    subprocess.run(["gcc", "-O2", "-o", exe, str(WORKLOAD)], check=True)
    return exe


def _held_prog_ids(pid: int) -> set[int]:
    """Program ids the process holds an fd of (fdinfo's prog_id line)."""
    ids = set()
    try:
        names = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return ids
    for name in names:
        try:
            with open(f"/proc/{pid}/fdinfo/{name}") as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            continue
    return ids


def run_once(argv: list[str]) -> Sample:
    """Run the tracer to its end; its tracepoint programs' counters, read from fds held here."""
    fds = {}
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    try:
        while proc.poll() is None:
            for prog_id in _held_prog_ids(proc.pid) - fds.keys():
                try:
                    fd = prog_fd_by_id(prog_id)
                except OSError:
                    continue
                if prog_info(fd).type == TRACEPOINT:
                    fds[prog_id] = fd
                else:
                    fd.close()
                    fds[prog_id] = None
            time.sleep(0.01)
        err = proc.stderr.read().decode(errors="replace")
        if proc.returncode != 0:
            raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {err.strip()}")
        infos = [prog_info(fd) for fd in fds.values() if fd is not None]
    finally:
        for fd in fds.values():
            if fd is not None:
                fd.close()
    events = max((i.run_cnt for i in infos), default=0)
    if not events:
        raise SystemExit(f"no runs recorded for {argv[0]} {argv[1:]}")
    return Sample(sum(i.run_time_ns for i in infos) / events, sum(i.xlated_insns for i in infos),
                  events)


def paired_samples(pairs: list[tuple[str, list[str], list[str] | None]], runs: int,
                   calls: int) -> dict[str, dict[str, list[Sample]]]:
    """Each (name, kt's arguments, bpftrace's arguments or None) run on the getppid workload
    (`-c` child, `calls` calls), kt and bpftrace 0.17 alternately, `runs` times: the samples
    by name and tracer. The shared loop of the per-feature cost benchmarks."""
    kt, bpftrace = kt_binary(), bpftrace_binary()
    results: dict[str, dict[str, list[Sample]]] = {name: {"kt": [], "bpftrace": []} for name, _, _ in pairs}
    with tempfile.TemporaryDirectory() as tmp, enable_run_time_stats():
        child = f"{build_workload(tmp)} {calls}"
        for _ in range(runs):
            for name, ours, theirs in pairs:
                results[name]["kt"].append(run_once([kt, *ours, "-c", child]))
                if theirs is not None:
                    results[name]["bpftrace"].append(run_once([bpftrace, *theirs, "-c", child]))
    return results


def ns_medians(samples: list[Sample]) -> float:
    return median([s.ns_per_event for s in samples]) if samples else float("nan")


def _child(exe: str, calls: int, paced: bool) -> str:
    # Paced: at most ~45k events/s, which both tracers' consumers drain without losses.
    return f"{exe} {calls // 6} 50 1000" if paced else f"{exe} {calls}"


def measure(runs: int, calls: int = 300_000) -> list[Row]:
    kt, bpftrace = kt_binary(), bpftrace_binary()
    results: dict[str, dict[str, list[Sample]]] = {s.name: {"kt": [], "bpftrace": []}
                                                   for s in CORPUS}
    with tempfile.TemporaryDirectory() as tmp, enable_run_time_stats():
        exe = build_workload(tmp)
        for _ in range(runs):
            for s in CORPUS:
                child = _child(exe, calls, s.paced)
                results[s.name]["kt"].append(run_once([kt, "-e", s.text, "-c", child]))
                results[s.name]["bpftrace"].append(run_once([bpftrace, "-e", s.text, "-c", child]))
    return rows(results)


def rows(results: dict[str, dict[str, list[Sample]]]) -> list[Row]:
    ns = {name: {t: median([x.ns_per_event for x in xs]) for t, xs in by.items()}
          for name, by in results.items()}
    out = []
    for name, by in ns.items():
        ratio = by["kt"] / by["bpftrace"]
        # The empty probe is the floor: both tracers' programs are only the pid test (a few
        # instructions; kt reads cpid from .rodata), so its ratio is 1.0 plus noise: what it
        # costs is the kernel's dispatch of the tracepoint.
        detail = "the floor: only the pid test under both" if name == "empty probe" else ""
        out.append(Row(GROUP, f"{name}: ns/event", by["kt"], by["bpftrace"], "ns/event",
                       "<= 0.9x", ratio <= 0.9, detail))
    for name, by in results.items():
        out.append(Row(GROUP, f"{name}: instructions", by["kt"][0].insns,
                       by["bpftrace"][0].insns, "insns", detail="xlated_prog_len / 8"))
    geo = {t: math.exp(sum(math.log(by[t]) for by in ns.values()) / len(ns))
           for t in ("kt", "bpftrace")}
    out.append(Row(GROUP, f"geomean of {len(ns)} scripts: ns/event", geo["kt"], geo["bpftrace"],
                   "ns/event", "<= 0.6x", geo["kt"] / geo["bpftrace"] <= 0.6))
    empty = ns["empty probe"]
    for name in [n for n in ("@ = count()", "@ = sum(x)") if n in ns]:
        k, b = ns[name]["kt"] / empty["kt"], ns[name]["bpftrace"] / empty["bpftrace"]
        out.append(Row(GROUP, f"keyless {name} / empty probe", k, b, "x empty probe",
                       "kt <= 1.3x", k <= 1.3,
                       detail=f"kt {ns[name]['kt']:.0f}/{empty['kt']:.0f} ns, bpftrace "
                              f"{ns[name]['bpftrace']:.0f}/{empty['bpftrace']:.0f} ns"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--calls", type=int, default=300_000, help="getppid() calls per run")
    ap.add_argument("--only", help="run only the scripts whose name contains this")
    args = ap.parse_args()
    global CORPUS
    if args.only:
        CORPUS = [s for s in CORPUS if args.only in s.name] + \
            [s for s in CORPUS if s.name == "empty probe" and args.only not in s.name]
    print_rows(measure(args.runs, args.calls))


if __name__ == "__main__":
    sys.exit(main())
