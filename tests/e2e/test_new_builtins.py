"""bpftrace 0.20-0.26's builtins in kt (docs/language.md, "Builtins and functions"): durations,
exit(code), strlen/strstr, errorf/warnf, nsecs(clock), jiffies, ncpus, ppid, pcomm, usermode,
probetype and getopt.

Where 0.17 can say the same thing another way, the new spelling runs under kt and the old one
under bpftrace 0.17, and the outputs must be equal (DIFFERENTIAL). The rest has no 0.17
spelling: its expected output comes from bpftrace 0.26's docs (docs/stdlib.md examples) or from
what the workload does. Uprobe and tracepoint cases trace only the -c child
(tests/e2e/targets/builtins_new_target.c, which calls bn_work("hello world", 3) and opens
/etc/hostname); BEGIN cases run in kt itself.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import run_kt
from .test_differential import BPFTRACE, CHILD_ENV
from .test_types_differential import NEEDS_BPFTRACE, _normalized

pytestmark = [pytest.mark.kernel]

TARGETS = Path(__file__).parent / "targets"


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("builtins_new")
    exe = d / "bn_target"
    subprocess.run(["gcc", "-O0", "-g", "-o", str(exe), str(TARGETS / "builtins_new_target.c")], check=True)
    return str(exe)


def _bpftrace(script: str, command: str | None = None) -> str:
    args = [BPFTRACE, "-e", script, *(["-c", command] if command else [])]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, env={**os.environ, **CHILD_ENV})
    assert r.returncode == 0, r.stderr
    return r.stdout


def _kt(script: str, command: str | None = None, *extra: str, status: int = 0):
    r = run_kt("-e", script, *(["-c", command] if command else []), *extra, timeout=120)
    assert r.rc == status, r.err
    return r


# (name, kt's script in the new syntax, 0.17's spelling, the -c command or None ({t}: target))
DIFFERENTIAL = [
    ("duration_literals", 'BEGIN { printf("%lld %lld %lld %lld\\n", 1ns + 1us, 5ms, 2s, 1h + 1m); exit(); }',
     'BEGIN { printf("%lld %lld %lld %lld\\n", 1001, 5000000, 2000000000, 3660000000000); exit(); }', None),
    ("duration_day_in_map", 'BEGIN { @d = 1d / 1s; exit(); }', 'BEGIN { @d = 86400; exit(); }', None),
    ("interval_duration", 'interval:100ms { @n++; if (@n == 3) { exit(); } }',
     'interval:ms:100 { @n++; if (@n == 3) { exit(); } }', None),
    ("interval_duration_us", 'interval:500us { @n++; if (@n == 5) { exit(); } }',
     'interval:us:500 { @n++; if (@n == 5) { exit(); } }', None),
    ("profile_duration", 'profile:10ms /cpu == 0/ { @n++; if (@n == 2) { exit(); } }',
     'profile:ms:10 /cpu == 0/ { @n++; if (@n == 2) { exit(); } }', None),
    ("pcomm_tracepoint", 'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[pcomm] = count(); }',
     'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[curtask->group_leader->comm] = count(); }', "{t}"),
    ("pcomm_uprobe", 'uprobe:{t}:bn_work { printf("%s\\n", pcomm); }',
     'uprobe:{t}:bn_work { printf("%s\\n", curtask->group_leader->comm); }', "{t}"),
    ("ppid_is_the_tracer", 'uprobe:{t}:bn_work { printf("%d\\n", ppid == curtask->real_parent->tgid); }',
     'uprobe:{t}:bn_work { printf("%d\\n", 1); }', "{t}"),
    ("nsecs_monotonic", 'BEGIN { $a = nsecs(monotonic); $b = nsecs; printf("%d\\n", $b >= $a); exit(); }',
     'BEGIN { printf("%d\\n", 1); exit(); }', None),
]


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name,new,old,command", DIFFERENTIAL, ids=[c[0] for c in DIFFERENTIAL])
def test_same_output_as_017_spelling(target, name, new, old, command) -> None:
    fill = lambda s: s.replace("{t}", target) if s else s   # noqa: E731
    theirs = _normalized(_bpftrace(fill(old), fill(command)))
    ours = _normalized(_kt(fill(new), fill(command)).out)
    assert ours == theirs


# ---- exit(code) ---------------------------------------------------------------------------

@pytest.mark.parametrize("script,command,status", [
    ('BEGIN { exit(3); } END { printf("end\\n"); }', None, 3),
    ('BEGIN { $c = 300; exit($c); }', None, 300 & 0xFF),
    ('tracepoint:syscalls:sys_enter_openat /pid == cpid/ { exit(7); }', "{t}", 7),
    ('uprobe:{t}:bn_work { exit(arg1 + 1); }', "{t}", 4),
    ('interval:10ms { @n = 1; exit(9); }', None, 9),
    ('BEGIN { exit(); }', None, 0),
], ids=["begin_end_runs", "low_8_bits", "tracepoint", "uprobe_arg", "interval_maps", "no_code"])
def test_exit_code_is_the_status(target, script, command, status) -> None:
    r = _kt(script.replace("{t}", target), command.replace("{t}", target) if command else None, status=status)
    if "END" in script:
        assert "end" in r.out.splitlines()
    if "@n" in script:
        assert "@n: 1" in r.out.splitlines()


def test_exit_code_travels_in_the_object(tmp_path) -> None:
    obj = tmp_path / "exit.o"
    assert run_kt("--emit-elf", str(obj), "-e", "BEGIN { exit(5); }").rc == 0
    assert run_kt(str(obj)).rc == 5


# ---- strings --------------------------------------------------------------------------------

def test_strlen_strstr_begin() -> None:
    r = _kt('BEGIN { $s = "hello world"; printf("%d %d %d %d %d\\n", strlen($s), strlen(""), strstr($s, "wor"), '
            'strstr($s, "xyz"), strstr($s, "")); exit(); }')
    assert "11 0 6 -1 0" in r.out.splitlines()


def test_strlen_strstr_uprobe_and_tracepoint(target) -> None:
    r = _kt(f'uprobe:{target}:bn_work {{ $s = str(arg0); printf("U %d %d %d\\n", strlen($s), strstr($s, "world"), '
            'strcontains($s, "lo w")); } '
            'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { $f = str(args.filename); '
            'if (strstr($f, "hostname") >= 0) { printf("T %d %d\\n", strlen($f), strstr($f, "host")); } }', target)
    lines = r.out.splitlines()
    assert "U 11 6 1" in lines
    assert "T 13 5" in lines


# ---- errorf / warnf -------------------------------------------------------------------------

def test_errorf_warnf_as_the_docs_show() -> None:
    """0.26's docs: `BEGIN { errorf("Something bad with args: %d, %s", 10, "arg2"); }` prints
    `stdin:1:9-62: ERROR: Something bad with args: 10, arg2` (and WARNING for warnf)."""
    r = _kt('BEGIN { errorf("Something bad with args: %d, %s", 10, "arg2"); exit(); }')
    assert "stdin:1:9-62: ERROR: Something bad with args: 10, arg2" in r.err.splitlines()
    r = _kt('BEGIN { warnf("Something kinda bad with args: %d, %s", 10, "arg2"); exit(); }')
    assert "stdin:1:9-67: WARNING: Something kinda bad with args: 10, arg2" in r.err.splitlines()
    assert "WARNING" not in r.out


def test_warnf_silent_with_no_warnings_errorf_not(target) -> None:
    r = _kt('tracepoint:syscalls:sys_enter_openat /pid == cpid/ { warnf("w %d", pid == cpid); '
            'errorf("e %d", pid == cpid); }', target, "--no-warnings")
    assert any(l.endswith("ERROR: e 1") for l in r.err.splitlines())
    assert "WARNING" not in r.err


def test_errorf_in_an_object(tmp_path) -> None:
    obj = tmp_path / "errorf.o"
    assert run_kt("--emit-elf", str(obj), "-e", 'BEGIN { errorf("bad %s", "x"); exit(); }').rc == 0
    r = run_kt(str(obj))
    assert r.rc == 0 and "stdin:1:9-30: ERROR: bad x" in r.err.splitlines()


# ---- clocks, process builtins ---------------------------------------------------------------

def test_clocks_and_counts() -> None:
    r = _kt('BEGIN { $m = nsecs(monotonic); $b = nsecs(boot); $t = nsecs(tai); '
            'printf("%d %d %d %d\\n", $b >= $m, $t > $b, jiffies > 0, ncpus); exit(); }')
    assert f"1 1 1 {_possible_cpus()}" in r.out.splitlines()


def _possible_cpus() -> int:
    count = 0
    for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    return count


def test_usermode_uprobe_and_profile(target) -> None:
    r = _kt(f'uprobe:{target}:bn_work {{ printf("U %d\\n", usermode); }}', target)
    assert "U 1" in r.out.splitlines()
    r = _kt('interval:10ms { printf("I %d\\n", usermode <= 1); exit(); }')
    assert "I 1" in r.out.splitlines()


def test_probetype_per_probe(target) -> None:
    r = _kt(f'BEGIN {{ printf("%s\\n", probetype); }} uprobe:{target}:bn_work {{ printf("%s\\n", probetype); }} '
            'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { printf("%s\\n", probetype); } '
            'END { printf("%s\\n", probetype); }', target)
    lines = r.out.splitlines()
    assert lines.count("special") == 2 and "uprobe" in lines and "tracepoint" in lines
    r = _kt('interval:10ms { printf("%s\\n", probetype); exit(); }')
    assert "interval" in r.out.splitlines()


def test_ncpus_is_the_running_machines(tmp_path) -> None:
    """ncpus is a .rodata value the runtime writes: an object built elsewhere reads this
    machine's count."""
    obj = tmp_path / "ncpus.o"
    assert run_kt("--emit-elf", str(obj), "-e", 'BEGIN { printf("%d\\n", ncpus); exit(); }').rc == 0
    r = run_kt(str(obj))
    assert r.rc == 0 and str(_possible_cpus()) in r.out.splitlines()


# ---- getopt ---------------------------------------------------------------------------------

GETOPT_DOC = ('BEGIN { print((getopt("aa", 10, "Description of aa"), getopt("bb", "hello"), getopt("cc"), '
              'getopt("dd", false))); exit(); }')


def test_getopt_docs_example() -> None:
    """0.26's docs' example with `-- --cc --bb=bye`; kt has no bool type yet: 1 and 0."""
    assert "(10, bye, 1, 0)" in _kt(GETOPT_DOC, None, "--", "--cc", "--bb=bye").out.splitlines()
    assert "(10, hello, 0, 0)" in _kt(GETOPT_DOC).out.splitlines()
    assert "(-4, x y, 0, 1)" in _kt(GETOPT_DOC, None, "--", "--aa=-4", "--bb=x y", "--cc=false",
                                    "--dd=1").out.splitlines()


def test_getopt_beside_positional_parameters(target) -> None:
    r = _kt(f'uprobe:{target}:bn_work {{ printf("%d %s %d\\n", $1 + getopt("n", 1), str($2), $#); }}', target,
            "--", "5", "--n=10", "abc")
    assert "15 abc 2" in r.out.splitlines()


def test_getopt_values_are_read_at_run_time(tmp_path) -> None:
    obj = tmp_path / "getopt.o"
    script = 'BEGIN { printf("%d %s %d\\n", getopt("n", 1), getopt("s", "def"), getopt("f")); exit(); }'
    assert run_kt("--emit-elf", str(obj), "-e", script).rc == 0
    assert "5 abc 1" in run_kt(str(obj), "--", "--n=5", "--s=abc", "--f").out.splitlines()
    assert "1 def 0" in run_kt(str(obj)).out.splitlines()
    r = run_kt(str(obj), "--", "--m=5")
    assert r.rc != 0 and "unknown named argument --m" in r.err
