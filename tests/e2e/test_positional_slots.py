"""Positional parameters as run-time slots (compiler/positionals.py, runtime/positionals.py): an
object compiled once (`kt --emit-elf out.o script.kt`) runs with other arguments (`kt out.o 5
abc`, `kt out.o 7 xyz`) and prints what bpftrace 0.17 prints for the script with those
arguments; the run's arguments are checked as 0.17 checks them (a non-numeric one used as a
number), and a value compiled into the object must not change (`$1 was 10 when ...`).
"""

from __future__ import annotations

import io
import re
import subprocess

import pytest

from .conftest import run_kt
from .test_differential import BPFTRACE, CHILD_ENV, NEEDS_BPFTRACE, _comparable

pytestmark = [pytest.mark.kernel]

SCRIPT = r"""
BEGIN {
  printf("EV n=%d s=%s argc=%d twice=%d hex=%x\n", $1, str($2), $#, $1 * 2, $1);
  printf("EV cut=%s third=%s|\n", str($2, 2), str($3));
  @s[str($2)] = count();
  @n = sum($1);
  if ($1 > 6) { printf("EV big\n"); }
  exit();
}
"""

# The arguments each run of the one object gets; every list is also given to bpftrace 0.17.
RUNS = {
    "five_abc": ["5", "abc"],
    "seven_xyz_and_a_third": ["7", "xyz", "third"],
    "none": [],
    "hex_and_octal": ["0x10", "010"],
    "negative": ["--", "-5", "neg"],
    "long_string_cut_as_0.17": ["1", "s" * 100],
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """SCRIPT compiled once, without arguments."""
    d = tmp_path_factory.mktemp("positional_slots")
    script, obj = d / "slots.kt", d / "slots.o"
    script.write_text(SCRIPT)
    r = run_kt("--emit-elf", str(obj), str(script))
    assert r.rc == 0, r.err
    return script, obj


def _bpftrace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BPFTRACE, *args], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, **CHILD_ENV}, stdin=subprocess.DEVNULL)


def _args(args: list[str]) -> tuple[list[str], list[str]]:
    """(options, parameters): a leading `--` stays before the parameters."""
    return (["--"], args[1:]) if args[:1] == ["--"] else ([], args)


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(RUNS))
def test_one_object_many_runs_as_bpftrace(name, compiled):
    script, obj = compiled
    dash, params = _args(RUNS[name])
    theirs = _bpftrace(str(script), *dash, *params)
    assert theirs.returncode == 0, theirs.stderr
    ours = run_kt(str(obj), *dash, *params, env=CHILD_ENV)
    assert ours.rc == 0, ours.err
    assert _comparable(ours.out) == _comparable(theirs.stdout)
    assert "EV n=" in ours.out


def test_the_object_does_not_depend_on_the_compile_arguments(tmp_path, compiled):
    """Compiled with arguments or without, the objects print the same for the run's ones."""
    script, obj = compiled
    other = tmp_path / "with_args.o"
    assert run_kt("--emit-elf", str(other), str(script), "3", "compile").rc == 0
    for args in (["5", "abc"], ["7", "xyz", "z"]):
        assert run_kt(str(other), *args).out == run_kt(str(obj), *args).out == run_kt(str(script), *args).out


@NEEDS_BPFTRACE
@pytest.mark.parametrize("value", ["abc", "08", "5x", "9223372036854775808"])
def test_text_used_as_a_number_is_refused_with_0_17s_message(value, compiled):
    script, obj = compiled
    theirs = _bpftrace(str(script), value)
    assert theirs.returncode != 0
    message = re.search(r"ERROR: (\$1 used numerically .*)", theirs.stderr).group(1)
    ours = run_kt(str(obj), value)
    assert ours.rc != 0
    assert message in ours.err, ours.err
    assert "Traceback" not in ours.err


@NEEDS_BPFTRACE
def test_count_of_parameters(tmp_path):
    obj = tmp_path / "argc.o"
    assert run_kt("--emit-elf", str(obj), "-e", 'BEGIN { printf("EV %d\\n", $#); exit(); }').rc == 0
    for args in ([], ["a"], ["a", "b", "c"]):
        theirs = _bpftrace("-e", 'BEGIN { printf("EV %d\\n", $#); exit(); }', *args)
        assert _comparable(run_kt(str(obj), *args).out) == _comparable(theirs.stdout) == [f"EV {len(args)}"]


BAKED = {
    # script, the compile's arguments, a run's arguments that differ, the error
    "attach_point": ('interval:ms:$1 { printf("EV %d\\n", $1); exit(); }', ["10"], ["20"],
                     "$1 was 10 when this object was compiled and is 20 now: recompile"),
    "lhist_bounds": ('BEGIN { @h = lhist(3, 0, $1, 1); exit(); }', ["10"], [],
                     "$1 was 10 when this object was compiled and is not given now: recompile"),
    "count_in_kstack": ('BEGIN { @[kstack($#)] = count(); exit(); }', ["a", "b"], ["a"],
                        "$# was 2 when this object was compiled and is 1 now: recompile"),
    "text_as_a_literal": ('BEGIN { printf("EV %s\\n", $1); exit(); }', ["word"], ["other"],
                          "$1 was word when this object was compiled and is other now: recompile"),
}


@pytest.mark.parametrize("name", sorted(BAKED))
def test_baked_values_must_not_change(name, tmp_path):
    script, compile_args, run_args, error = BAKED[name]
    obj = tmp_path / "baked.o"
    r = run_kt("--emit-elf", str(obj), "-e", script, *compile_args)
    assert r.rc == 0, r.err
    same = run_kt(str(obj), *compile_args)
    assert same.rc == 0, same.err
    assert same.out == run_kt("-e", script, *compile_args).out
    changed = run_kt(str(obj), *run_args)
    assert changed.rc != 0
    assert error in changed.err, changed.err


def test_meta_describes_the_slots(compiled):
    from kt.runtime.spec import parse_object
    _, obj = compiled
    meta = parse_object(obj.read_bytes()).meta.to_json()
    assert meta["positionals"] == {
        "slots": [{"index": 0, "kind": "count", "size": 8, "symbol": "kt_argc"},
                  {"index": 1, "kind": "int", "size": 8, "symbol": "kt_arg1"},
                  {"index": 2, "kind": "str", "size": 64, "symbol": "kt_arg2_str"},
                  {"index": 3, "kind": "str", "size": 64, "symbol": "kt_arg3_str"}],
        "baked": []}


def test_session_takes_the_parameters(compiled):
    """The runtime's interface: Session(elf, positional=...) fills the slots."""
    from kt.runtime.session import Session, SessionError
    _, obj = compiled
    out = io.BytesIO()
    assert Session(obj.read_bytes(), out=out, quiet=True, positional=("7", "xyz")).run() == 0
    assert "EV n=7 s=xyz argc=2 twice=14 hex=7" in out.getvalue().decode()
    with pytest.raises(SessionError, match=r'\$1 used numerically but given "x"'):
        Session(obj.read_bytes(), out=io.BytesIO(), quiet=True, positional=("x",)).run()


@NEEDS_BPFTRACE
def test_slots_beside_cpid_in_a_traced_child(tmp_path):
    """The slots share `.rodata` with cpid; the trace filters on the -c child."""
    script = ('tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[str($1)] = count(); @n = sum($2); '
              '@c = count(); }')
    obj = tmp_path / "child.o"
    assert run_kt("--emit-elf", str(obj), "-e", script).rc == 0
    cat = ["-c", "/usr/bin/cat /etc/hostname"]
    for args in (["abc", "3"], ["--", "xyz", "-2"]):
        theirs = _bpftrace("-e", script, *cat, *args)
        assert theirs.returncode == 0, theirs.stderr
        ours = run_kt(str(obj), *cat, *args, env=CHILD_ENV)
        assert ours.rc == 0, ours.err
        assert _comparable(ours.out) == _comparable(theirs.stdout)
        assert f"@[{args[-2]}]: " in ours.out
