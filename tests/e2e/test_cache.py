"""The object cache (runtime/cache.py) in real runs: a second run of a script loads the stored
object and prints the same; any input that changes the object makes it compile again; a
damaged entry is compiled again, never trusted; cpid and elapsed are this run's on a cached
object; a warm run imports neither llvmlite nor lark.

Each test has its own cache directory (XDG_CACHE_HOME) and reads KT_DEBUG_CACHE's report."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from .conftest import kt_command, run_kt

pytestmark = pytest.mark.kernel

GCC = shutil.which("gcc")


@pytest.fixture
def cache(tmp_path):
    home = tmp_path / "cache-home"

    def run(*args: str, env: dict | None = None, cwd: str | None = None):
        r = run_kt(*args, env={"XDG_CACHE_HOME": str(home), "KT_DEBUG_CACHE": "1", **(env or {})}, cwd=cwd)
        states = re.findall(r"^kt: cache: (hit|miss|stored|not stored)", r.err, re.M)
        r.cache = "hit" if "hit" in states else "miss" if "miss" in states else "off"
        r.stored = "stored" in states
        return r

    run.dir = home / "kt"
    run.entries = lambda: sorted(glob.glob(str(home / "kt" / "*.kto")))
    return run


BEGIN = 'BEGIN { printf("n=%d s=%s\\n", $1, str($2)); exit(); }'


def test_second_run_is_a_hit_with_the_same_output(cache):
    first = cache("-e", BEGIN, "7", "seven")
    assert first.rc == 0, first.err
    assert (first.cache, first.stored) == ("miss", True)
    second = cache("-e", BEGIN, "7", "seven")
    assert second.rc == 0, second.err
    assert second.cache == "hit" and not second.stored
    assert second.out == first.out and "n=7 s=seven" in second.out
    assert len(cache.entries()) == 1


def test_script_positional_and_env_changes_miss(cache):
    assert cache("-e", BEGIN, "7", "seven").cache == "miss"
    assert cache("-e", BEGIN, "7", "seven").cache == "hit"
    other = cache("-e", BEGIN.replace("n=", "N="), "7", "seven")
    assert other.cache == "miss" and "N=7" in other.out
    pos = cache("-e", BEGIN, "8", "seven")
    assert pos.cache == "miss" and "n=8 s=seven" in pos.out
    strlen = cache("-e", BEGIN, "7", "seven", env={"BPFTRACE_STRLEN": "32"})
    assert strlen.cache == "miss" and strlen.rc == 0
    assert cache("-e", BEGIN, "7", "seven", env={"BPFTRACE_STRLEN": "32"}).cache == "hit"
    assert cache("-e", BEGIN, "7", "seven").cache == "hit"   # the first entry is still there
    assert len(cache.entries()) == 4


def test_changed_header_misses(cache, tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "v.h").write_text("#define VALUE 1\n")
    script = '#include "v.h"\nBEGIN { printf("value %d\\n", VALUE); exit(); }'
    assert "value 1" in cache("-I", str(inc), "-e", script).out
    assert cache("-I", str(inc), "-e", script).cache == "hit"
    (inc / "v.h").write_text("#define VALUE 2\n")
    r = cache("-I", str(inc), "-e", script)
    assert r.cache == "miss" and "value 2" in r.out


def _build(src, out, body: str) -> None:
    src.write_text("#include <unistd.h>\n"
                   "__attribute__((noinline)) int target(int x) { " + body + " }\n"
                   "int main(void) { getppid(); return target(3) == 42; }\n")
    subprocess.run([GCC, "-O1", "-g", "-o", str(out), str(src)], check=True)


@pytest.mark.skipif(GCC is None, reason="needs gcc to build the uprobe target")
def test_rebuilt_uprobe_target_misses(cache, tmp_path):
    src, exe = tmp_path / "t.c", tmp_path / "target"
    _build(src, exe, "return x + 1;")
    script = f'uprobe:{exe}:target {{ printf("arg %d\\n", arg0); }}'
    first = cache("-e", script, "-c", str(exe))
    assert first.rc == 0 and "arg 3" in first.out and first.stored, first.err
    assert cache("-e", script, "-c", str(exe)).cache == "hit"
    time.sleep(0.01)   # a new mtime_ns even on coarse clocks
    _build(src, exe, "int y = x * 2; return y + 1;")
    rebuilt = cache("-e", script, "-c", str(exe))
    assert rebuilt.cache == "miss" and f"{exe} changed" in rebuilt.err
    assert "arg 3" in rebuilt.out


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_damaged_entry_is_rebuilt(cache, damage):
    script = 'BEGIN { printf("fine\\n"); exit(); }'
    assert cache("-e", script).stored
    (path,) = cache.entries()
    data = bytearray(open(path, "rb").read())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        data = bytearray(b"not an entry at all")
    open(path, "wb").write(bytes(data))
    r = cache("-e", script)
    assert r.rc == 0 and r.out.strip() == "fine", r.err
    assert r.cache == "miss" and "corrupt entry ignored" in r.err and r.stored
    assert cache("-e", script).cache == "hit"


def test_cpid_is_each_runs_child(cache):
    script = 'tracepoint:syscalls:sys_enter_write /pid == cpid/ { printf("traced %d\\n", pid); exit(); }'
    seen = []
    for want in ("miss", "hit"):
        r = cache("-e", script, "-c", "/bin/sh -c 'echo child $$'")
        assert r.rc == 0 and r.cache == want, r.err
        child = re.search(r"^child (\d+)$", r.out, re.M)
        traced = re.search(r"^traced (\d+)$", r.out, re.M)
        assert child and traced and child.group(1) == traced.group(1), r.out
        seen.append(child.group(1))
    assert seen[0] != seen[1]


def test_elapsed_counts_from_this_run(cache):
    script = 'BEGIN { printf("elapsed %d\\n", elapsed); exit(); }'
    for want in ("miss", "hit"):
        t0 = time.monotonic_ns()
        r = cache("-e", script)
        took = time.monotonic_ns() - t0
        assert r.rc == 0 and r.cache == want, r.err
        elapsed = int(re.search(r"elapsed (\d+)", r.out).group(1))
        # Counted from this kt's start: more than 0 and within the run (a start time baked
        # into a cached object would count from the first run).
        assert 0 < elapsed <= took


def test_warm_run_imports_no_compiler(cache, tmp_path):
    script = 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @ = count(); }'
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache-home"), "KT_DEBUG_CACHE": "1"}
    assert cache("-e", script, "-c", "/bin/true").stored
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "kt.runtime.cli", "-e", script,
                           "-c", "/bin/true"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "kt: cache: hit" in proc.stderr
    imported = re.findall(r"^import time:.*\|\s*([\w.]+)$", proc.stderr, re.M)
    assert "kt.runtime.session" in imported
    heavy = [m for m in imported if m.split(".")[0] in ("llvmlite", "lark")
             or m.startswith(("kt.compiler.codegen", "kt.compiler.parse", "kt.compiler.passes"))]
    assert heavy == []


def test_no_cache_writes_nothing(cache):
    r = cache("-e", 'BEGIN { exit(); }', env={"KT_NO_CACHE": "1"})
    assert r.rc == 0 and r.cache == "off"
    assert not cache.dir.exists()


def test_emit_elf_of_a_cached_script_is_compiled(cache, tmp_path):
    # --emit-elf and -d always compile; the object written is the one a run loads.
    script = 'BEGIN { printf("%d\\n", cpid); exit(); }'
    assert cache("-e", script).stored
    out = tmp_path / "o.elf"
    r = cache("--emit-elf", str(out), "-e", script)
    assert r.rc == 0 and r.cache == "off" and out.stat().st_size > 0
    (entry,) = cache.entries()
    assert out.read_bytes() in open(entry, "rb").read()
