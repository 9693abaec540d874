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
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
TOOL = "/usr/sbin/vfscount.bt"
BEGIN_LINE = "Tracing VFS calls"
START_TIMEOUT = 900


def _one(argv: list[str], env: dict) -> dict:
    """Seconds to BEGIN's line, seconds from SIGINT to exit, and the status lines."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace", env=env)
    got = None
    try:
        deadline = t0 + START_TIMEOUT
        for line in proc.stdout:
            if BEGIN_LINE in line:
                got = time.monotonic() - t0
                break
            if time.monotonic() > deadline:
                break
        t1 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=START_TIMEOUT)
        return {"argv": argv, "to_begin": got, "sigint_to_exit": time.monotonic() - t1,
                "rc": proc.returncode, "stderr": err[-2000:], "maps": len(out.splitlines())}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def in_guest(out_dir: Path, runs: int, profile: bool) -> None:
    from tracers import ENV, bpftrace_binary, kt_binary
    env = {**ENV, "LC_ALL": "C"}
    funcs = sum(1 for line in open("/sys/kernel/tracing/available_filter_functions")
                if line.startswith("vfs_"))
    results: dict = {"uname": os.uname().release, "vfs_functions": funcs, "kt": [], "bpftrace": []}
    _one([kt_binary(), "-e", "BEGIN { exit(); }"], env)   # warm the guest's bytecode cache
    for _ in range(runs):
        results["kt"].append(_one([kt_binary(), TOOL], env))
        results["bpftrace"].append(_one([bpftrace_binary(), TOOL], env))
    if profile:
        prof = out_dir / "kt.prof"
        results["profile"] = _one([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "kt.runtime.cli", TOOL],
                                  env)
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
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
                              cwd=REPO, timeout=3 * START_TIMEOUT * (args.runs + 1))
        print(f"guest: {time.monotonic() - t0:.0f} s, vng exit {proc.returncode}")
        found = scratch / "results.json"
        if not found.exists():
            sys.exit("no results from the guest:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
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
