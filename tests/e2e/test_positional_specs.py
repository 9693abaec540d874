"""Positional parameters in attach points (`interval:ms:$1`, `BEG$1`, `uprobe:$1:func`,
`tracepoint:syscalls:sys_enter_$1`, a whole probe `$1`), run under kt and under bpftrace 0.17
with the same command line: both must print the same maps and EV lines, or both must refuse
the script. compiler/attach_positionals.py says what 0.17 does and where kt differs.

Uprobe cases trace a small C program built here (a uprobe of a freshly built binary fires in
nothing else); tracepoint cases filter on `pid == cpid` and the child's comm.
"""

from __future__ import annotations

import subprocess

import pytest

from .conftest import run_kt
from .test_differential import _comparable
from .test_types_differential import NEEDS_BPFTRACE, _bpftrace_in, _kt_in

pytestmark = [pytest.mark.kernel]

TARGET_C = r"""
int leaf(int x) { return x * 2; }
int leaf2(int x) { return x + 1; }
int main(void) { int s = 0; for (int i = 0; i < 5; i++) s += leaf(i) + leaf2(i); return s > 100; }
"""


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("positional_target")
    (d / "t.c").write_text(TARGET_C)
    # not PIE: its addresses are the same in every run (test_json_differential.py compares
    # user stacks, which 0.17 prints as addresses once the process has exited)
    subprocess.run(["gcc", "-O0", "-no-pie", "-o", str(d / "t"), str(d / "t.c")], check=True)
    return str(d / "t")


OPENAT = 'tracepoint:syscalls:{spec} /pid == cpid && comm == "cat"/ {{ @[probe] = count(); }}'
CAT = ["-c", "/usr/bin/cat /etc/hostname"]

# name: (script, arguments after the script; "{t}" is the C target's path)
CASES = {
    "interval_rate": ('interval:ms:$1 { printf("EV %s %d\\n", probe, $1); exit(); }', ["100"]),
    "interval_unit_and_rate": ('interval:$1:$2 { printf("EV %s\\n", probe); exit(); }', ["ms", "50"]),
    # 0.17 names the probe by the count's value: interval:ms:16, interval:ms:8
    "hex_rate_named_by_its_value": ('interval:ms:$1 { printf("EV %s\\n", probe); exit(); }', ["0x10"]),
    "octal_rate_named_by_its_value": ('interval:ms:$1 { printf("EV %s\\n", probe); exit(); }', ["010"]),
    "begin_concatenated": ('BEG$1 { printf("EV begin %s\\n", probe); exit(); }', ["IN"]),
    "end_as_a_whole_probe": ('BEGIN { printf("EV b\\n"); exit(); } $1 { printf("EV %s\\n", probe); }', ["END"]),
    "tracepoint_name": (OPENAT.format(spec="$1"), ["sys_enter_openat", *CAT]),
    "tracepoint_category_and_name": ('tracepoint:$1:$2 /pid == cpid && comm == "cat"/ { @[probe] = count(); }',
                                     ["syscalls", "sys_enter_openat", *CAT]),
    "tracepoint_name_suffix": (OPENAT.format(spec="sys_enter_$1"), ["openat", *CAT]),
    "tracepoint_wildcard_value": (OPENAT.format(spec="sys_enter_$1"), ["open*", *CAT]),
    "tracepoint_short_provider": ('t:syscalls:$1 /pid == cpid && comm == "cat"/ { @[probe] = count(); }',
                                  ["sys_enter_close", *CAT]),
    "uprobe_binary": ("uprobe:$1:leaf { @[probe] = count(); }", ["{t}", "-c", "{t}"]),
    "uprobe_function": ("uprobe:{t}:$1 { @[probe] = count(); }", ["leaf2", "-c", "{t}"]),
    "uprobe_binary_and_function": ("u:$1:$2 { @[probe] = count(); @a[arg0] = count(); }",
                                   ["{t}", "leaf", "-c", "{t}"]),
    "uprobe_function_suffix": ("uprobe:{t}:le$1 { @[probe] = count(); }", ["af2", "-c", "{t}"]),
    "uprobe_quoted_wildcard_after": ('uprobe:{t}:$1"*" { @[probe] = count(); }', ["leaf", "-c", "{t}"]),
    "uprobe_wildcard_value": ("uprobe:{t}:$1 { @[probe] = count(); }", ["leaf*", "-c", "{t}"]),
    "uretprobe_function": ("uretprobe:{t}:$1 { @r = sum(retval); }", ["leaf", "-c", "{t}"]),
    "same_parameter_twice": ("uprobe:{t}:$1, uretprobe:{t}:$1 { @[probe] = count(); }", ["leaf2", "-c", "{t}"]),
    "parameters_in_the_body_too": ('interval:ms:$1 { printf("EV %d %s %d\\n", $1 * 2, str($2), $#); exit(); }',
                                   ["20", "word"]),
}

# Both refuse these (kt's message must name the problem).
ERRORS = {
    "missing_rate": ("interval:ms:$1 { exit(); }", [], "$1 not given"),
    "missing_tracepoint": ("BEGIN { exit(); } tracepoint:syscalls:$2 { }", ["x"], "$2 not given"),
    "missing_whole_probe": ("BEGIN { exit(); } $3 { exit(); }", ["a"], "$3 not given"),
    "not_a_number": ("interval:ms:$1 { exit(); }", ["abc"], "interval"),
    "count_parameter": ("interval:ms:$# { exit(); }", ["a", "b"], "not a positional parameter"),
    "zero": ("interval:ms:$0 { exit(); }", [], "$0"),
    "trailing_text": ("BEGIN { exit(); } uprobe:{t}:$1+4 { exit(); }", ["leaf"], "text '+4' after $1"),
    "two_in_a_row": ("BEGIN { exit(); } tracepoint:$1$2:x { exit(); }", ["sys", "calls"], "text '$2' after $1"),
    "trailing_wildcard": ("BEGIN { exit(); } uprobe:{t}:$1* { exit(); }", ["lea"], "text '*' after $1"),
    "value_is_one_part": ("interval:$1 { exit(); }", ["ms:100"], "interval"),
    "quoted_is_not_expanded": ('uprobe:{t}:"$1" { exit(); }', ["leaf"], "no function '$1'"),
}


def _fill(items: list[str], t: str) -> list[str]:
    return [i.replace("{t}", t) for i in items]


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_output_as_bpftrace(name, target):
    script, args = CASES[name]
    argv = ["-e", script.replace("{t}", target), *_fill(args, target)]
    theirs = _comparable(_bpftrace_in(None, *argv))
    assert theirs, "bpftrace printed no map or event lines"
    assert _comparable(_kt_in(None, *argv)) == theirs


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_refused_as_by_bpftrace(name, target):
    script, args, words = ERRORS[name]
    argv = ["-e", script.replace("{t}", target), *_fill(args, target)]
    from .test_differential import BPFTRACE
    theirs = subprocess.run([BPFTRACE, *argv], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    # 0.17 refuses with an error, or (a uprobe that matches nothing) "No probes to attach"
    assert theirs.returncode != 0 or "No probes to attach" in theirs.stderr, theirs.stdout
    ours = run_kt(*argv)
    assert ours.rc != 0, ours.out
    assert words in ours.err, ours.err
    assert "Traceback" not in ours.err


def test_a_whole_probe_with_colons():
    """A deliberate difference: 0.17 aborts on `$1` = `tracepoint:syscalls:sys_enter_openat`
    ("FATAL: Invalid probe type made it to attachpoint parser"); kt takes the probe."""
    ours = _kt_in(None, "-e", '$1 /pid == cpid && comm == "cat"/ { @[probe] = count(); }',
                  "tracepoint:syscalls:sys_enter_openat", *CAT)
    written = _kt_in(None, "-e", OPENAT.format(spec="sys_enter_openat"), *CAT)
    assert "@[tracepoint:syscalls:sys_enter_openat]: " in written
    assert _comparable(ours) == _comparable(written)


def test_kprobe_specs(tmp_path):
    """kprobe:$1 (kprobes are compiled out of the development kernel: this checks the object's
    probes; attaching kprobes is tested in the guest, tests/vm)."""
    from kt.runtime.spec import parse_object
    obj = tmp_path / "k.o"
    r = run_kt("--emit-elf", str(obj), "-e", "kprobe:$1, kretprobe:$1 { @[probe] = count(); }", "vfs_read")
    assert r.rc == 0, r.err
    probes = parse_object(obj.read_bytes()).meta.to_json()["probes"]
    assert [(p["kind"], p["name"]) for p in probes] == [("kprobe", "kprobe:vfs_read"),
                                                        ("kretprobe", "kretprobe:vfs_read")]
