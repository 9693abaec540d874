"""Attach benchmark in the 6.1 guest (kprobes): Debian's /usr/sbin/vfscount.bt (`kprobe:vfs_*`)
under kt and bpftrace 0.17, from start to BEGIN's line, then SIGINT to exit, and a cProfile of
kt's run. Not a test: nothing here asserts. It boots the guest once (tests/vm/runner.py's
kernel, QEMU under TCG, so everything is several times slower than on the host):

    sudo python3 tests/bench/attach_guest.py [--runs N] [--profile FILE]

The guest runs this checkout (the host's PYTHONPATH is passed in) with this Python.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
TOOL = "/usr/sbin/vfscount.bt"
BEGIN_LINE = "Tracing VFS calls"
START_TIMEOUT = 400


def _one(argv: list[str], env: dict, log) -> dict:
    """Seconds to BEGIN's line, seconds from SIGINT to exit; every line it prints is logged
    with its time (a reader thread per stream, so a silent tracer cannot hang this)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace", env=env)
    began = threading.Event()
    lines: list[str] = []

    def read(stream, tag: str) -> None:
        for line in stream:
            lines.append(f"{tag} {line.rstrip()}")
            log(f"  {time.monotonic() - t0:7.1f} s {tag}: {line.rstrip()[:150]}")
            if BEGIN_LINE in line:
                began.set()
    readers = [threading.Thread(target=read, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=read, args=(proc.stderr, "err"), daemon=True)]
    for r in readers:
        r.start()
    log(f"$ {' '.join(argv)}")
    try:
        got = time.monotonic() - t0 if began.wait(START_TIMEOUT) else None
        t1 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(START_TIMEOUT)
        stopped = time.monotonic() - t1
        for r in readers:
            r.join(10)
        log(f"  to BEGIN {got} s, SIGINT to exit {stopped:.1f} s, exit {proc.returncode}")
        return {"argv": argv, "to_begin": got, "sigint_to_exit": stopped, "rc": proc.returncode,
                "stderr": "\n".join(l for l in lines if l.startswith("err"))[-2000:],
                "maps": sum(1 for l in lines if l.startswith("out"))}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def in_guest(out_dir: Path, runs: int, profile: bool) -> None:
    from tracers import ENV, bpftrace_binary, kt_binary
    env = {**ENV, "LC_ALL": "C"}
    log_file = open(out_dir / "log.txt", "a")

    def log(text: str) -> None:
        log_file.write(text + "\n")
        log_file.flush()
    funcs = sum(1 for line in open("/sys/kernel/tracing/available_filter_functions")
                if line.startswith("vfs_"))
    results: dict = {"uname": os.uname().release, "vfs_functions": funcs, "kt": [], "bpftrace": []}
    log(f"{results['uname']}: {funcs} vfs_* lines in available_filter_functions")
    t0 = time.monotonic()
    subprocess.run([kt_binary(), "-e", "BEGIN { exit(); }"], env=env, capture_output=True)
    results["kt_begin_exit"] = time.monotonic() - t0   # (first run: fills the bytecode cache)
    log(f"kt BEGIN {{ exit(); }}: {results['kt_begin_exit']:.1f} s")
    for _ in range(runs):
        results["kt"].append(_one([kt_binary(), TOOL], env, log))
        results["bpftrace"].append(_one([bpftrace_binary(), TOOL], env, log))
    if profile:
        prof = out_dir / "kt.prof"
        results["profile"] = _one([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "kt.runtime.cli", TOOL],
                                  env, log)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--profile", help="write kt's cProfile (pstats) here")
    ap.add_argument("--in-guest", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.in_guest:
        in_guest(Path(args.in_guest), args.runs, bool(args.profile))
        return
    sys.path.insert(0, str(REPO / "tests" / "vm"))
    from runner import find_kernel
    kernel, why = find_kernel()
    if kernel is None:
        sys.exit(why)
    with tempfile.TemporaryDirectory(prefix="kt-attach-") as tmp:
        scratch = Path(tmp)
        exports = {"PYTHONUNBUFFERED": "1", "HOME": tmp, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        inner = [sys.executable, str(HERE / "attach_guest.py"), "--runs", str(args.runs), "--in-guest", tmp]
        if args.profile:
            inner += ["--profile", "1"]
        script = (f"cd {shlex.quote(str(REPO))} && export "
                  + " ".join(f"{k}={shlex.quote(v)}" for k, v in exports.items())
                  + " PYTHONPYCACHEPREFIX=$(mktemp -d) "
                  + f"PATH={shlex.quote(str(Path(sys.executable).parent))}:\"$PATH\"; {shlex.join(inner)}")
        cmd = [shutil.which("vng") or "vng", "--run", str(kernel), "--disable-kvm", "--force-9p", "--user", "root",
               "--memory", "2G", "--rwdir", tmp, "--exec", script]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", cwd=REPO, start_new_session=True)
        console: list[str] = []
        reader = threading.Thread(target=lambda: console.extend(proc.stdout), daemon=True)
        reader.start()
        shown = 0
        limit = t0 + 3 * START_TIMEOUT * (args.runs + 1)
        while proc.poll() is None and time.monotonic() < limit:   # the guest's log as it grows
            time.sleep(2)
            log = scratch / "log.txt"
            if log.exists():
                text = log.read_text()
                print(text[shown:], end="", flush=True)
                shown = len(text)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        reader.join(10)
        print(f"guest: {time.monotonic() - t0:.0f} s, vng exit {proc.returncode}")
        stdout = "".join(console)
        found = scratch / "results.json"
        if not found.exists():
            sys.exit("no results from the guest:\n" + stdout[-3000:])
        results = json.loads(found.read_text())
        if args.profile and (scratch / "kt.prof").exists():
            shutil.copy(scratch / "kt.prof", args.profile)
    print(f"kernel {results['uname']}, {results['vfs_functions']} vfs_* functions in available_filter_functions")
    for who in ("kt", "bpftrace"):
        for r in results[who]:
            print(f"{who:9} to BEGIN {r['to_begin']} s, SIGINT to exit {r['sigint_to_exit']:.1f} s, "
                  f"rc {r['rc']}, {r['maps']} output lines")
            print("   stderr: " + r["stderr"].strip().replace("\n", "\n   stderr: ")[-600:])
    if "profile" in results:
        print(f"profiled kt: to BEGIN {results['profile']['to_begin']} s")


if __name__ == "__main__":
    main()
