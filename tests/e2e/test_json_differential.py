"""`-f json` compared with bpftrace 0.17, object by object: the same script and command line
under both tracers must print the same JSON objects in the same order.

BEGIN-only scripts print the same bytes (EXACT: every separator and space of the NDJSON lines,
the "\\n\\n" before the exit maps included). Traced scripts (tracepoints and uprobes of their -c
child) are compared as parsed objects in order: a map's entries with equal values come in any
order in 0.17, and a parsed object's keys compare in any order. Lines that are not JSON (the
child's own output, the "\\n\\n") are left out of that comparison.

What differs deliberately, and is therefore not compared here:
- `-o FILE` in text mode: 0.17 writes its "Attaching N probes..." status into the file; kt
  prints "Attached N probes" on stderr (its status is never part of the trace output). With
  `-f json` the attached_probes object is output and goes to the file under both.
- the comm of BEGIN (`bpftrace` vs `kt`): the tracer's own name.
- `func` of a uprobe as a map key: 0.17 prints an address ("0x401106"), kt the name ("leaf").
- a max() of only negative values: 0.17 takes it for unset and leaves the entry out
  (test_negative_max_is_printed).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from .conftest import run_kt
from .test_differential import BPFTRACE, CHILD_ENV
from .test_positional_specs import target  # noqa: F401  (the C target: leaf(), leaf2(), main())
from .test_types_differential import NEEDS_BPFTRACE

pytestmark = [pytest.mark.kernel]

CAT = "/usr/bin/cat /etc/hostname"
OPENAT = 'tracepoint:syscalls:sys_enter_openat /pid == cpid && comm == "cat"/ '
SYS = 'tracepoint:raw_syscalls:sys_enter /pid == cpid && comm == "ls"/ '
LS = "/usr/bin/ls /"


# name: (script, -c command or None, extra flags); "{t}" is the C target's path
EXACT = {
    "printf_escapes": (r'BEGIN { printf("q\" b\\ t\t r\r n\n"); printf("no newline"); printf("é\x01\n"); exit(); }',
                       None, ()),
    "printf_bytes_that_are_not_utf8": (r'BEGIN { printf("a\xffb\xc3\n"); exit(); }', None, ()),
    "quiet_drops_attached_probes": ('BEGIN { printf("a\\n"); @x = 1; exit(); }', None, ("-q",)),
    "count_sum_min_max": ('BEGIN { @c = count(); @k[1] = count(); @k[2] = count(); @k[2] = count(); '
                          '@s = sum(-5); @lo = min(-3); @hi = max(7); @sk["a", 2] = sum(4); exit(); }', None, ()),
    "avg_and_stats": ('BEGIN { @a = avg(4); @a = avg(7); @ak[1] = avg(10); @ak[2] = avg(-3); @s = stats(2); '
                      '@s = stats(-9); @sk["x"] = stats(3); @sk["y"] = stats(30); exit(); }', None, ()),
    "hist": ('BEGIN { @h = hist(0); @h = hist(1); @h = hist(5); @h = hist(-1); @h = hist(1000000); '
             '@hk[1] = hist(3); @hk[2] = hist(300); @hk[2] = hist(301); exit(); }', None, ()),
    "hist_big_values": ('BEGIN { @h = hist(1 << 30); @h = hist(1 << 31); @h = hist(1 << 40); exit(); }', None, ()),
    "lhist": ('BEGIN { @l = lhist(15, 0, 100, 10); @l = lhist(-5, 0, 100, 10); @l = lhist(100, 0, 100, 10); '
              '@lk["a"] = lhist(3, 0, 10, 1); exit(); }', None, ()),
    "plain_values": ('BEGIN { @i = 5; @n = -7; @s = "str"; @t = (1, "two", -3); @k[1, "a"] = 4; @sk["x"] = "v"; '
                     '@tk[3] = (4, "five"); exit(); }', None, ()),
    "string_keys_escaped": ('BEGIN { @["a\\"b"] = 1; @["tab\\there"] = 2; @["new\\nline"] = 3; exit(); }', None, ()),
    "print_values": ('BEGIN { print(5); print(-3); print("str"); print((1, "a")); print(((1, 2), "b")); '
                     'print(comm == "x"); exit(); }', None, ()),
    "print_maps_top_div": ('BEGIN { @[1] = sum(10); @[2] = sum(25); @[3] = sum(30); print(@); print(@, 2); '
                           'print(@, 2, 10); @x = 7; print(@x); exit(); }', None, ()),
    "print_hist_top_div": ('BEGIN { @h[1] = hist(5); @h[2] = hist(50); @h[2] = hist(51); @h[3] = hist(500); '
                           'print(@h); print(@h, 1); print(@h, 2, 2); exit(); }', None, ()),
    "print_lhist_top_div": ('BEGIN { @l[1] = lhist(5, 0, 10, 2); @l[2] = lhist(7, 0, 10, 2); @l[2] = lhist(7, 0, 10, 2); '
                            'print(@l, 1, 2); exit(); }', None, ()),
    "print_avg_stats_top_div": ('BEGIN { @a[1] = avg(10); @a[2] = avg(40); @s[1] = stats(10); @s[2] = stats(40); '
                                'print(@a, 1, 10); print(@s, 1, 10); exit(); }', None, ()),
    "zero_clear_delete": ('BEGIN { @h = hist(5); @c[1] = count(); @d[1] = 1; @d[2] = 2; @n = count(); @m = max(3); '
                          'zero(@h); clear(@c); delete(@d[1]); clear(@n); zero(@m); exit(); }', None, ()),
    "zeroed_keyed_hist_lhist_overflow_div_zero": (
        'BEGIN { @l = lhist(5, 0, 10, 5); @l = lhist(20, 0, 10, 5); @hk[1] = hist(4); @hk[2] = hist(40); '
        'zero(@hk); print(@hk); @c[1] = count(); @c[2] = count(); @c[2] = count(); print(@c, 0, 0); '
        'print(@c, 1, 0); @s[1] = stats(5); @s[2] = stats(1); print(@s); exit(); }', None, ()),
    "empty_maps_print_nothing": ('BEGIN { @e[1] = 1; delete(@e[1]); print(@e); @never = count(); clear(@never); '
                                 'printf("x\\n"); exit(); }', None, ()),
    "cat": ('BEGIN { cat("/proc/sys/kernel/ostype"); cat("/proc/sys/kernel/osrelease"); exit(); }', None, ()),
    "cat_missing_file": ('BEGIN { cat("/nonexistent/file"); printf("after\\n"); exit(); }', None, ()),
    "system": ('BEGIN { system("echo hi; echo there"); system("echo %d \\"q\\\\\\"\\"", 5); exit(); }',
               None, ("--unsafe",)),
    "time": ('BEGIN { time("%Y\\n"); time("literal %% only\\n"); exit(); }', None, ()),
    "exit_ends_the_action": ('BEGIN { printf("a\\n"); @x = 1; exit(); printf("b\\n"); @y = 2; } '
                             'END { printf("end\\n"); @z = 3; }', None, ()),
    "end_prints_before_maps": ('BEGIN { @a = count(); exit(); } END { print(@a); printf("end\\n"); }', None, ()),
    "integer_casts": ('BEGIN { @u8 = (uint8)300; @i8 = (int8)200; @u32 = (uint32)-1; @i64 = -1; '
                      '@k[(int8)-1] = 1; exit(); }', None, ()),
    "non_ascii_negative_avg_print_of_each_value_kind": (
        'BEGIN { @["é"] = 1; @a = avg(-5); @a = avg(-2); @st = stats(-7); @c = count(); clear(@c); print(@c); '
        '@s["k"] = "v"; print(@s); @t[1] = (1, "x"); print(@t); print(@a); print(@st); exit(); }', None, ()),
    "printf_formats": (r'BEGIN { printf("%d %s %x %c|%-5s|%5d\n", -1, "s", 255, 65, "ab", 42); printf("%lu\n", -1); '
                       r'printf("%r\n", buf("ab\x01c", 4)); exit(); }', None, ()),
    "ntop_values": ('BEGIN { @[ntop(0x0100007f)] = count(); print(ntop(2, 0x0100007f)); exit(); }', None, ()),
}

TRACED = {
    "syscall_counts": (SYS + "{ @[comm] = count(); @n = count(); @s[comm, args->id] = sum(1); "
                       "@lo = min(args->id); @hi = max(args->id); @a = avg(args->id); }", LS, ()),
    "syscall_hist_lhist_stats": (SYS + "{ @h = hist(args->id); @l[comm] = lhist(args->id, 0, 300, 50); "
                                 "@s = stats(args->id); }", LS, ()),
    "printf_from_a_tracepoint": (OPENAT + '{ printf("%s %d\\n", str(args->filename), args->flags & 0xff); }',
                                 CAT, ()),
    "kstack_keys_and_values": (OPENAT + "{ @a[kstack(3)] = count(); @p[kstack(perf, 2), 4] = count(); "
                               "@v = kstack(2); @t[1] = (kstack(2), 5); print(kstack(2)); print((1, kstack(1))); }",
                               CAT, ()),
    "probe_keys": (OPENAT + "{ @[probe] = count(); }", CAT, ()),
    "join_argv": ('tracepoint:syscalls:sys_enter_execve /pid == cpid/ { join(args->argv); join(args->argv, ","); }',
                  "/usr/bin/true a bb c", ()),
    "uprobe_maps": ("uprobe:{t}:leaf /pid == cpid/ { @calls = count(); @args[arg0] = count(); } "
                    "uretprobe:{t}:leaf2 /pid == cpid/ { @ret = sum(retval); @h = hist(retval); }", "{t}", ()),
    "ustack_of_a_uprobe": ("uprobe:{t}:leaf /pid == cpid/ { @[ustack(2)] = count(); @u[usym(reg(\"ip\"))] = count(); }",
                           "{t}", ()),
    "uprobe_wildcard_attaches_each_function": ("uprobe:{t}:leaf* /pid == cpid/ { @[probe] = count(); }",
                                               "{t}", ()),
    "quiet_traced": (OPENAT + "{ @[probe] = count(); }", CAT, ("-q",)),
}


def _argv(case: tuple, t: str, *more: str) -> list[str]:
    script, command, flags = case
    return ["-f", "json", *flags, *more, "-e", script.replace("{t}", t),
            *(["-c", command.replace("{t}", t)] if command else [])]


def _both(argv: list[str]) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    assert BPFTRACE, "bpftrace 0.17 is needed for the differential tests (apt-get install bpftrace)"
    env = {**os.environ, **CHILD_ENV}
    theirs = subprocess.run([BPFTRACE, *argv], capture_output=True, text=True, timeout=120, env=env,
                            stdin=subprocess.DEVNULL)
    assert theirs.returncode == 0, theirs.stderr
    ours = run_kt(*argv, timeout=120, env=CHILD_ENV)
    assert ours.rc == 0, ours.err
    return theirs, ours


def _objects(stdout: str) -> list:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _runtime_errors(text: str) -> list[str]:
    """The errors printed while tracing (cat's), not compile-time warnings (another matter)."""
    return [l for l in text.splitlines() if l.startswith("ERROR: ") and "RLIMIT_MEMLOCK" not in l]


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(EXACT))
def test_same_bytes_as_bpftrace(name, target):
    theirs, ours = _both(_argv(EXACT[name], target))
    assert theirs.stdout.startswith("{"), theirs.stdout
    assert ours.out == theirs.stdout
    assert _runtime_errors(ours.err) == _runtime_errors(theirs.stderr)


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(TRACED))
def test_same_objects_as_bpftrace(name, target):
    theirs, ours = _both(_argv(TRACED[name], target))
    expected = _objects(theirs.stdout)
    assert len(expected) > (0 if "-q" in TRACED[name][2] else 1), theirs.stdout
    assert _objects(ours.out) == expected


@NEEDS_BPFTRACE
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_output_file_gets_what_stdout_would(fmt, target, tmp_path):
    """-o FILE: the file holds what stdout would (0.17's text status line aside, see the
    module docstring), and stdout gets only the "\\n\\n" before the exit maps."""
    script = 'BEGIN { printf("a\\n"); @x = count(); @h = hist(3); exit(); } END { printf("end\\n"); }'
    outs = {}
    for tracer, run in (("bpftrace", None), ("kt", run_kt)):
        path = tmp_path / f"{tracer}.out"
        argv = ["-f", fmt, "-o", str(path), "-e", script]
        if run is None:
            r = subprocess.run([BPFTRACE, *argv], capture_output=True, text=True, timeout=120)
            stdout, rc = r.stdout, r.returncode
        else:
            r = run(*argv)
            stdout, rc = r.out, r.rc
        assert rc == 0
        assert stdout == "\n\n"
        text = path.read_text()
        outs[tracer] = text if fmt == "json" else text.removeprefix("Attaching 2 probes...\n")
    assert outs["kt"] == outs["bpftrace"]
    # and the file is what stdout gets without -o, but for the "\n\n"
    plain = run_kt("-f", fmt, "-e", script)
    assert plain.out.replace("\n\n", "", 1) == outs["kt"]


@NEEDS_BPFTRACE
def test_exit_in_a_tracepoint(target):
    """exit() at the second openat: the rest of that action does not run, and no event after
    it is printed (under both). The map differs: after exit() 0.17 goes on running the probe
    until its user space has detached it, so @n is 2 or 3 from run to run; in kt no probe but
    END runs after exit(), so @n is 2."""
    script = (OPENAT + '{ @n = @n + 1; printf("open %d\\n", @n); if (@n == 2) { exit(); } '
              'printf("after %d\\n", @n); } END { printf("end\\n"); }')
    theirs, ours = _both(_argv((script, CAT, ()), target))
    printfs = [{"type": "printf", "data": d} for d in ("open 1\n", "after 1\n", "open 2\n", "end\n")]
    assert [o for o in _objects(theirs.stdout) if o["type"] == "printf"] == printfs
    assert _objects(ours.out) == [{"type": "attached_probes", "data": {"probes": 2}}, *printfs,
                                  {"type": "map", "data": {"@n": 2}}]


def test_negative_max_is_printed():
    """0.17 leaves out a max() map whose values are all negative (@m and @k[1] here: it prints
    only {"@k": {"2": 4}}); kt prints the maxima."""
    r = run_kt("-f", "json", "-e", "BEGIN { @m = max(-5); @k[1] = max(-3); @k[2] = max(4); exit(); }")
    assert r.rc == 0, r.err
    assert _objects(r.out) == [{"type": "attached_probes", "data": {"probes": 1}},
                               {"type": "map", "data": {"@k": {"1": -3, "2": 4}}},
                               {"type": "map", "data": {"@m": -5}}]


def test_lost_events_object():
    """A ring buffer of one page cannot hold 100 records of ~150 bytes: what does not fit is
    counted in one lost_events object (0.17's form), and printed + lost is what was sent: the
    100 printf records (BEGIN runs before kt reads the ring). exit()'s record is a control
    record, never lost: with the ring full it goes to the control ring (runtime/pump.py)."""
    script = ('BEGIN { unroll(100) { printf("%s %s\\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", '
              '"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"); } exit(); }')
    r = run_kt("-f", "json", "-e", script, env={"KT_RB_PAGES": "1"})
    assert r.rc == 0, r.err
    objects = _objects(r.out)
    printed = sum(o["type"] == "printf" for o in objects)
    lost = [o["data"]["events"] for o in objects if o["type"] == "lost_events"]
    assert len(lost) == 1 and lost[0] > 0
    assert printed + lost[0] == 100
    assert [o["data"]["events"] for o in objects if o["type"] == "lost_events_total"] == lost


def test_exit_ends_the_trace_when_the_ring_is_full():
    """exit() after a burst that fills the ring buffer: its record finds no room there, goes
    to the control ring, and the trace ends (exit() also sets a flag kt reads)."""
    script = ('interval:ms:1 { unroll(100) { printf("%s %s\\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", '
              '"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"); } exit(); } END { printf("end\\n"); }')
    r = run_kt("-f", "json", "-e", script, env={"KT_RB_PAGES": "1"})
    assert r.rc == 0, r.err
    objects = _objects(r.out)
    printfs = [o for o in objects if o["type"] == "printf"]
    assert printfs[-1] == {"type": "printf", "data": "end\n"}
    printed = len(printfs) - 1
    lost = sum(o["data"]["events"] for o in objects if o["type"] == "lost_events")
    assert printed + lost == 100          # exit()'s record is never lost (the control ring)
    assert objects[-1] == {"type": "lost_events_total", "data": {"events": lost}}
