"""uprobe targets as bpftrace 0.17 finds them: wildcard binary paths, `kt -l` of them, `kt -l -p
PID`, -p targets in another mount namespace, libraries named by name through the process's maps,
and libc's pthread_create for threadsnoop.bt. Each case runs under kt and bpftrace 0.17 and
compares what users see.

Workloads (tests/e2e/targets): dwarf_target.c, copied to bin/x1 (with DWARF) and bin/x2 (without)
beside a text file bin/xtext, for wildcard paths (run with -c: a freshly built binary runs in
nothing but the child); uprobe_wait.c with its library uprobe_wait_lib.c, a process the tests
trace with -p: it prints "ready", then each line of its stdin makes it call w_work(N) (and the
library's lib_func, which mallocs 100 + N bytes) or, for "t", create threads; it exits at the end
of its input. A tracer is started, the test waits for its "Attaching"/"Attached" line, writes the
commands, closes the child's stdin, and both tracers end when the -p process exits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import kt_command, run_kt
from .test_differential import BPFTRACE, CHILD_ENV, NEEDS_BPFTRACE

pytestmark = [pytest.mark.kernel]

TARGETS = Path(__file__).parent / "targets"
THREADSNOOP = "/usr/sbin/threadsnoop.bt"


def _bpftrace(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    assert BPFTRACE, "bpftrace 0.17 is needed for the differential tests (apt-get install bpftrace)"
    return subprocess.run([BPFTRACE, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, **CHILD_ENV}, stdin=subprocess.DEVNULL)


def _kt(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    r = run_kt(*args, timeout=120, env=CHILD_ENV, cwd=cwd)
    return subprocess.CompletedProcess(args, r.rc, r.out, r.err)


def _lines(text: str) -> list[str]:
    out = [ln for ln in text.splitlines() if not ln.startswith("Attaching ")]
    while out and not out[-1]:
        out.pop()
    return out


def _same_listing(args: list[str], cwd: str | None = None) -> None:
    """`kt ARGS` lists exactly what `bpftrace ARGS` lists (and 0.17 lists something)."""
    theirs = _bpftrace(*args, cwd=cwd)
    ours = _kt(*args, cwd=cwd)
    assert ours.returncode == 0, ours.stderr
    assert theirs.stdout.strip(), "bpftrace listed nothing"
    assert ours.stdout.splitlines() == theirs.stdout.splitlines()


# ---- wildcard binary paths ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def bindir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("paths")
    (d / "bin").mkdir()
    subprocess.run(["gcc", "-O0", "-g", "-o", str(d / "bin" / "x1"), str(TARGETS / "dwarf_target.c")], check=True)
    subprocess.run(["gcc", "-O0", "-o", str(d / "bin" / "x2"), str(TARGETS / "dwarf_target.c")], check=True)
    (d / "bin" / "xtext").write_text("not an ELF file\n")
    return d


WILDCARD_SCRIPTS = {
    "relative_wildcard_path": "uprobe:./bin/x*:takes_s* {{ @[probe] = count(); }}",
    "absolute_wildcard_path": "uprobe:{d}/bin/x*:takes_s* {{ @[probe] = count(); }}",
    "wildcard_path_and_exact_function": "uprobe:{d}/bin/*1:takes_str {{ @[probe] = count(); }}",  # func: 0.17 prints an address
}


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(WILDCARD_SCRIPTS))
@pytest.mark.parametrize("child", ["x1", "x2"])
def test_wildcard_binary_paths_as_bpftrace(name, child, bindir):
    script = WILDCARD_SCRIPTS[name].format(d=bindir)
    command = str(bindir / "bin" / child)
    theirs = _bpftrace("-e", script, "-c", command, cwd=str(bindir))
    assert theirs.returncode == 0, theirs.stderr
    ours = _kt("-e", script, "-c", command, cwd=str(bindir))
    assert ours.returncode == 0, ours.stderr
    if child == "x1" or "*1:" not in script:
        assert _lines(theirs.stdout), "bpftrace printed nothing"
    assert sorted(_lines(ours.stdout)) == sorted(_lines(theirs.stdout))


@NEEDS_BPFTRACE
@pytest.mark.parametrize("pattern", ["uprobe:./bin/x*:takes_*", "uprobe:{d}/bin/x*:takes_s*",
                                     "uprobe:{d}/bin/*:main", "uprobe:./bin/x*:*"])
def test_list_wildcard_binary_paths_as_bpftrace(pattern, bindir):
    pattern = pattern.format(d=bindir)
    _same_listing(["-l", pattern], cwd=str(bindir))


@NEEDS_BPFTRACE
@pytest.mark.parametrize("pattern", ["usdt:{d}/*:*", "usdt:./w*:ktw:*", "usdt:./wt:*", "usdt:{d}/lib*:*:*",
                                     "uretprobe:./w*:w_*", "uprobe:{d}/lib*:lib_*"])
def test_list_usdt_and_uretprobe_paths_as_bpftrace(pattern, waiter):
    pattern = pattern.format(d=waiter)
    _same_listing(["-l", pattern], cwd=str(waiter))


@NEEDS_BPFTRACE
@pytest.mark.parametrize("pattern", ["uprobe:*1:takes_s*", "uprobe:*2:main"])
def test_list_wildcard_names_on_path_as_bpftrace(pattern, bindir, tmp_path):
    """A name with `*` matches files in each PATH directory (here one of the test's own). Not
    `x*`: 0.17 lists nothing at all when the glob also matches a file that is not ELF (xtext),
    where kt leaves that file out."""
    env = {"PATH": f"{bindir / 'bin'}:{os.environ['PATH']}"}
    theirs = subprocess.run([BPFTRACE, "-l", pattern], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **env}, cwd=str(tmp_path))
    ours = run_kt("-l", pattern, env=env, cwd=str(tmp_path))
    assert ours.rc == 0, ours.err
    assert theirs.stdout.strip(), "bpftrace listed nothing"
    assert ours.out.splitlines() == theirs.stdout.splitlines()


def test_wildcard_path_matching_no_elf_file_is_an_error(bindir):
    r = _kt("-e", f"uprobe:{bindir}/bin/xtext*:main {{ }}")
    assert r.returncode != 0
    assert f"no ELF file matches '{bindir}/bin/xtext*'" in r.stderr


# ---- processes (-p) -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def waiter(tmp_path_factory) -> Path:
    """The waiting program and its library in one directory (found through $ORIGIN)."""
    d = tmp_path_factory.mktemp("wait")
    subprocess.run(["gcc", "-g", "-shared", "-fPIC", "-o", str(d / "libktwait.so"),
                    str(TARGETS / "uprobe_wait_lib.c")], check=True)
    subprocess.run(["gcc", "-g", "-pthread", "-o", str(d / "wt"), str(TARGETS / "uprobe_wait.c"),
                    f"-L{d}", "-lktwait", "-Wl,-rpath,$ORIGIN"], check=True)
    return d


class Waiting:
    """A running uprobe_wait (optionally through a wrapper such as unshare), ready for commands."""

    def __init__(self, argv: list[str]):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line == "ready\n", line
        self.pid = self._target_pid()

    def _target_pid(self) -> int:
        # the program itself (a wrapper execs it, so the pid is the same)
        return self.proc.pid

    def send(self, *commands: str) -> None:
        for c in commands:
            self.proc.stdin.write(c + "\n")
        self.proc.stdin.flush()

    def finish(self, *commands: str) -> None:
        self.send(*commands)
        self.proc.stdin.close()
        self.proc.wait(timeout=60)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def waiting(waiter):
    started: list[Waiting] = []

    def start(argv: list[str] | None = None) -> Waiting:
        w = Waiting(argv or [str(waiter / "wt")])
        started.append(w)
        return w
    yield start
    for w in started:
        w.kill()


def _trace_pid(tool: str, w: Waiting, args: list[str], *commands: str,
               ready: str = "READY", wait_lines: int = 0) -> subprocess.CompletedProcess:
    """Run a tracer on process `w` with -p, send `commands` once it has attached (its BEGIN
    printed the line `ready`), and return what it printed when the process exited. With
    `wait_lines` the process is kept alive until the tracer printed that many more lines
    (usym() is resolved in user space while it prints, from the live process's maps)."""
    # "{pid}" in an argument is the process's pid: 0.17 does not restrict a uprobe on a shared
    # library (libc) to the -p process, so scripts filter on the pid themselves.
    args = [a.replace("{pid}", str(w.pid)) for a in args]
    cmd = ([BPFTRACE] if tool == "bpftrace" else kt_command()) + ["-p", str(w.pid), *args]
    tracer = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL, env={**os.environ, **CHILD_ENV})
    try:
        # Both tracers run BEGIN once every probe is attached (0.17 prints "Attaching N
        # probes..." before it attaches): the first line after it is the signal to go on.
        seen = []
        while True:
            line = tracer.stdout.readline()
            assert line, f"{tool} ended before attaching: {''.join(seen)}{tracer.stderr.read()}"
            seen.append(line)
            if line.rstrip("\n") == ready:
                break
        w.send(*commands)
        for _ in range(wait_lines):
            line = tracer.stdout.readline()
            assert line, f"{tool} ended early: {''.join(seen)}{tracer.stderr.read()}"
            seen.append(line)
        w.finish()
        out, err = tracer.communicate(timeout=60)
    finally:
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()
    out = "".join(seen) + out
    return subprocess.CompletedProcess(cmd, tracer.returncode, out, err)


def _is_library_uprobe(line: str, pid: int, exe: str) -> bool:
    return line.startswith(f"uprobe:/proc/{pid}/root/") and not line.startswith(f"uprobe:/proc/{pid}/root{exe}:")


@NEEDS_BPFTRACE
@pytest.mark.parametrize("pattern", [None, "uprobe:*", "uprobe:*w_*", "*:*"])
def test_list_process_as_bpftrace_plus_its_libraries(pattern, waiting, waiter):
    """0.17 lists the executable's uprobes and every object's usdt probes; kt lists the same
    lines in the same order, plus the uprobes of the process's libraries after the
    executable's (0.17 lists none: `-l -p PID 'uprobe:*malloc'` would miss libc)."""
    w = waiting()
    args = ["-l", "-p", str(w.pid)] + ([pattern] if pattern else [])
    theirs = _bpftrace(*args).stdout.splitlines()
    ours = _kt(*args)
    assert ours.returncode == 0, ours.stderr
    ours_lines = ours.stdout.splitlines()
    assert theirs, "bpftrace listed nothing"
    exe = str(waiter / "wt")
    assert [ln for ln in ours_lines if not _is_library_uprobe(ln, w.pid, exe)] == theirs
    if pattern in (None, "uprobe:*"):
        assert f"uprobe:/proc/{w.pid}/root{waiter}/libktwait.so:lib_func" in ours_lines


@NEEDS_BPFTRACE
@pytest.mark.parametrize("pattern", ["usdt:*", "*tick*", "usdt:*:ktw:*", "uprobe:libktwait:*",
                                     "uprobe:{d}/wt:*work*", "usdt:{d}/wt:*", "tracepoint:sched:sched_switch"])
def test_list_process_patterns_as_bpftrace(pattern, waiting, waiter):
    w = waiting()
    pattern = pattern.format(d=waiter)
    _same_listing(["-l", "-p", str(w.pid), pattern])


@NEEDS_BPFTRACE
@pytest.mark.parametrize("pattern", ["uprobe:*w_work", "uprobe:*worker_*"])
def test_list_process_verbose_as_bpftrace(pattern, waiting):
    w = waiting()
    theirs = _bpftrace("-lv", "-p", str(w.pid), pattern)
    ours = _kt("-lv", "-p", str(w.pid), pattern)
    assert ours.returncode == 0, ours.stderr
    assert "    " in theirs.stdout, "bpftrace listed no parameters"
    assert ours.stdout.splitlines() == theirs.stdout.splitlines()


def test_list_process_verbose_shows_library_parameters(waiting, waiter):
    w = waiting()
    r = _kt("-lv", "-p", str(w.pid), "uprobe:*lib_func")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"uprobe:/proc/{w.pid}/root{waiter}/libktwait.so:lib_func", "    int x"]


@NEEDS_BPFTRACE
def test_list_of_a_process_that_does_not_exist_fails_as_bpftrace(waiting):
    w = waiting()
    w.finish()     # exited and reaped: its pid names no process now
    theirs = _bpftrace("-l", "-p", str(w.pid))
    ours = _kt("-l", "-p", str(w.pid))
    assert theirs.returncode == ours.returncode == 1
    assert ours.stdout == "" and f"pid {w.pid}: No such process" in ours.stderr


def test_list_process_finds_libc_functions(waiting):
    w = waiting()
    r = _kt("-l", "-p", str(w.pid), "uprobe:*malloc")
    assert r.returncode == 0, r.err
    assert any(ln.endswith("/libc.so.6:malloc") and ln.startswith(f"uprobe:/proc/{w.pid}/root/")
               for ln in r.stdout.splitlines())


BEGIN_READY = 'BEGIN { printf("READY\\n"); } '

PID_SCRIPTS = {
    "library_by_name_through_the_maps": (
        'uprobe:libktwait:lib_func /pid == {pid}/ { printf("EV %s %d\\n", probe, arg0); }', ["3", "4"]),
    "libc_by_name_through_the_maps": (
        'uprobe:libc:malloc /pid == {pid} && arg0 == 105/ { printf("EV %s %d\\n", probe, arg0); }', ["5", "6"]),
    "executable_by_path": (
        'uprobe:{d}/wt:w_work { printf("EV w %d\\n", arg0); }', ["8", "9"]),
    "executable_usdt_by_path": (
        'usdt:{d}/wt:ktw:tick { printf("EV t %d\\n", arg0); }', ["8", "9"]),
}


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(PID_SCRIPTS))
def test_pid_probes_as_bpftrace(name, waiting, waiter):
    script, commands = PID_SCRIPTS[name]
    script = script.replace("{d}", str(waiter))
    results = {}
    for tool in ("bpftrace", "kt"):
        w = waiting()
        r = _trace_pid(tool, w, ["-e", BEGIN_READY + script], *commands)
        assert r.returncode == 0, r.stderr
        results[tool] = [ln for ln in _lines(r.stdout) if ln.startswith("EV ")]
    assert results["bpftrace"], "bpftrace printed nothing"
    assert results["kt"] == results["bpftrace"]


def test_pid_library_usdt_by_name(waiting, waiter):
    """0.17 stops with "usdt target file 'libktwait' does not exist or is not executable"; kt
    finds the library among the files the process maps, as it does for uprobes."""
    w = waiting()
    r = _trace_pid("kt", w, ["-e", BEGIN_READY + 'usdt:libktwait:ktlib:libprobe { printf("EV %s %d\\n", probe, arg0); }'],
                   "11")
    assert r.returncode == 0, r.stderr
    assert [ln for ln in _lines(r.stdout) if ln.startswith("EV ")] == [
        f"EV usdt:{waiter}/libktwait.so:ktlib:libprobe 11"]


# ---- another mount namespace ----------------------------------------------------------------------

@pytest.fixture
def in_namespace(waiter, waiting, tmp_path):
    """uprobe_wait run from a tmpfs mounted over an empty directory in a new mount namespace: its
    path exists only there (the host sees the empty directory)."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed")
    hidden = tmp_path / "ns"
    hidden.mkdir()
    script = (f"mount -t tmpfs none {hidden} && cp {waiter}/wt {waiter}/libktwait.so {hidden}/ "
              f"&& exec {hidden}/wt")

    def start() -> Waiting:
        return waiting(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
    assert not (hidden / "wt").exists()
    return hidden, start


@NEEDS_BPFTRACE
def test_pid_in_another_mount_namespace_as_bpftrace(in_namespace):
    hidden, start = in_namespace
    script = (f'uprobe:{hidden}/wt:w_work {{ printf("EV %s %d\\n", probe, arg0); }} '
              f'usdt:{hidden}/wt:ktw:tick {{ printf("EV tick %d\\n", arg0); }} '
              f'uprobe:libktwait:lib_func /pid == {{pid}}/ {{ printf("EV %s\\n", probe); }}')
    results = {}
    for tool in ("bpftrace", "kt"):
        w = start()
        assert not (hidden / "wt").exists()    # still only in the child's namespace
        r = _trace_pid(tool, w, ["-e", BEGIN_READY + script], "7")
        assert r.returncode == 0, r.stderr
        results[tool] = [ln for ln in _lines(r.stdout) if ln.startswith("EV ")]
        results[tool] = [ln.replace(f"/proc/{w.pid}/", "/proc/PID/") for ln in results[tool]]
    assert results["bpftrace"] == [f"EV uprobe:/proc/PID/root{hidden}/wt:w_work 7", "EV tick 7",
                                   f"EV uprobe:/proc/PID/root{hidden}/libktwait.so:lib_func"]
    assert results["kt"] == results["bpftrace"]


@NEEDS_BPFTRACE
def test_list_pid_in_another_mount_namespace_as_bpftrace(in_namespace):
    hidden, start = in_namespace
    w = start()
    theirs = _bpftrace("-l", "-p", str(w.pid)).stdout.splitlines()
    ours = _kt("-l", "-p", str(w.pid))
    assert ours.returncode == 0, ours.stderr
    assert f"uprobe:/proc/{w.pid}/root{hidden}/wt:w_work" in theirs
    assert [ln for ln in ours.stdout.splitlines() if not _is_library_uprobe(ln, w.pid, f"{hidden}/wt")] == theirs


# ---- threadsnoop.bt ------------------------------------------------------------------------------

@NEEDS_BPFTRACE
def test_threadsnoop_finds_pthread_create_in_libc(waiting, tmp_path):
    """Debian's threadsnoop.bt probes `uprobe:libpthread:pthread_create`. Since glibc 2.34
    libpthread.so.0 is a stub and pthread_create is libc.so.6's: 0.17 attaches to the stub and
    prints no thread at all; kt follows the stub to libc.so.6 (with a warning) and prints every
    thread the process creates — what 0.17 prints for the script with libpthread replaced by libc."""
    if not os.path.exists(THREADSNOOP):
        pytest.fail(f"{THREADSNOOP} is missing (Debian's bpftrace package installs it)")
    fixed = tmp_path / "threadsnoop_libc.bt"
    # (0.17 does not restrict a libc uprobe to the -p process: the copy filters on the pid)
    fixed.write_text(Path(THREADSNOOP).read_text().replace(
        "uprobe:libpthread:pthread_create", "uprobe:libc:pthread_create /pid == {pid}/"))

    def run(tool, script):
        w = waiting()
        if "{pid}" in Path(script).read_text():
            text = Path(script).read_text().replace("{pid}", str(w.pid))
            script = str(tmp_path / f"threadsnoop_{w.pid}.bt")
            Path(script).write_text(text)
        r = _trace_pid(tool, w, [script], "t", ready="TIME(ms)   PID    COMM             FUNC",
                       wait_lines=0 if script == THREADSNOOP and tool == "bpftrace" else 4)
        assert r.returncode == 0, r.stderr
        # TIME(ms) differs from run to run: compare the other columns
        return [ln.split(None, 1)[1] if ln and ln[0].isdigit() else ln for ln in _lines(r.stdout)], w.pid

    theirs_stub, _ = run("bpftrace", THREADSNOOP)
    assert theirs_stub == ["TIME(ms)   PID    COMM             FUNC"]      # 0.17's miss
    theirs, pid = run("bpftrace", str(fixed))
    expect = [f"{pid:<6} wt               {f}" for f in ("worker_one",) * 3 + ("worker_two",)]
    assert [ln.rstrip() for ln in theirs[1:]] == expect
    ours, pid = run("kt", THREADSNOOP)
    expect = [f"{pid:<6} wt               {f}" for f in ("worker_one",) * 3 + ("worker_two",)]
    assert ours[0] == theirs[0]
    assert [ln.rstrip() for ln in ours[1:]] == expect


# ---- usdt paths -------------------------------------------------------------------------------------

@NEEDS_BPFTRACE
def test_usdt_relative_path_prints_as_written_as_bpftrace(waiter):
    script = 'usdt:./wt:ktw:tick { printf("EV %s %d\\n", probe, arg0); }'
    runs = [tool(*("-e", script, "-c", str(waiter / "wt")), cwd=str(waiter)) for tool in (_bpftrace, _kt)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    theirs, ours = ([ln for ln in _lines(r.stdout) if ln.startswith("EV ")] for r in runs)
    assert theirs == ["EV usdt:./wt:ktw:tick 0"]
    assert ours == theirs


def test_usdt_wildcard_path_fires_in_the_file_that_runs(waiter, tmp_path):
    """0.17 prints a line for each matched file (`usdt:./ub/w2:ktw:tick` too, though only w1
    runs: it resolves every file's probe in the -c child); kt only for the file that runs."""
    (tmp_path / "ub").mkdir()
    for n in ("w1", "w2"):
        shutil.copy(waiter / "wt", tmp_path / "ub" / n)
    shutil.copy(waiter / "libktwait.so", tmp_path / "ub" / "libktwait.so")
    r = _kt("-e", 'usdt:./ub/w*:ktw:tick { printf("EV %s %d\\n", probe, arg0); }',
            "-c", str(tmp_path / "ub" / "w1"), cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "Attached 2 probes" in r.stderr
    assert [ln for ln in _lines(r.stdout) if ln.startswith("EV ")] == ["EV usdt:./ub/w1:ktw:tick 0"]


# ---- imported functions at their PLT entry ------------------------------------------------------

@pytest.fixture(scope="module")
def plt_binary(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("plt")
    subprocess.run(["gcc", "-O0", "-no-pie", "-fno-pic", "-o", str(d / "plt"), str(TARGETS / "plt_target.c")],
                   check=True)
    return str(d / "plt")


@NEEDS_BPFTRACE
def test_imported_function_at_its_plt_entry_as_bpftrace(plt_binary):
    """malloc is imported, with the address of its PLT entry (a non-PIE executable that takes
    its address): 0.17 lists it among the file's functions, and kt attaches there. (0.17's own
    attach is unreliable here: some runs stop with "Offset outside the function bounds
    ('malloc' size is 0)", the size of an imported symbol.)"""
    _same_listing(["-l", f"uprobe:{plt_binary}:*"])
    assert f"uprobe:{plt_binary}:malloc" in _kt("-l", f"uprobe:{plt_binary}:mal*").stdout.splitlines()
    r = _kt("-e", f'uprobe:{plt_binary}:malloc {{ printf("EV %d\\n", arg0); }}', "-c", plt_binary)
    assert r.returncode == 0, r.stderr
    assert [ln for ln in _lines(r.stdout) if ln.startswith("EV ")] == ["EV 4321"]
