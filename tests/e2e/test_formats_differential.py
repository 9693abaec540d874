"""Differential tests of the values user space formats — username, strerror(), macaddr(),
strftime(), cgroup_path(), kstack/ustack in every mode — and of cat() and system() output,
against Debian's bpftrace 0.17. Each case runs the same script under kt and under 0.17 and
requires the same stdout (and, where a case says so, the same ERROR lines on stderr), in text
mode or with `-f json`.

The workload is tests/e2e/targets/formats_target.c (built by the `target` fixture): main() calls
noinline functions with fixed data (MAC addresses, errno values, timestamps, a call chain
main -> outer -> middle -> leaf) and prints nothing; it pins itself to one CPU so that events
reach either tracer in call order. Uprobe cases trace only that freshly built binary, started
by -c; tracepoint cases filter on `pid == cpid`.

How outputs are compared: stdout without 0.17's "Attaching N probes..." line, byte for byte
otherwise (no map of a case has two entries with the same value, so 0.17's random order of
equal values never shows). Cases marked `addresses` replace hexadecimal addresses by "ADDR" first: user
addresses change from run to run (ASLR). stderr is compared as its "ERROR:" lines, without
0.17's RLIMIT_MEMLOCK warning.

KT_ONLY cases are where kt deliberately differs from 0.17, each with its reason; they run under
kt only and must print the output given.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import run_kt
from .test_differential import BPFTRACE, CHILD_ENV, NEEDS_BPFTRACE

pytestmark = [pytest.mark.kernel]

TARGETS = Path(__file__).parent / "targets"

T = "{t}"   # the -c command of most cases: the target binary


@dataclass(frozen=True)
class Case:
    script: str
    command: str | None = None        # None: BEGIN only, no -c
    json: bool = False
    env: dict = field(default_factory=dict)
    stderr: bool = False              # compare the ERROR lines of stderr too
    addresses: bool = False           # hex addresses differ per run: compare them as "ADDR"
    unsafe: bool = False


U = "uprobe:{t}:"
CASES: dict[str, Case] = {
    # --- username ---------------------------------------------------------------------------
    "username_everywhere": Case(
        'BEGIN { printf("[%s]\\n", username); print(username); @u[username] = 1; @v = username; '
        '@t = (username, 2); @m[username, 3] = 4; exit(); }'),
    "username_everywhere_json": Case(
        'BEGIN { printf("[%s]\\n", username); print(username); @u[username] = 1; @v = username; '
        '@t = (username, 2); @m[username, 3] = 4; exit(); }', json=True),
    "username_hist_and_stats_keys_json": Case(
        'BEGIN { @h[username] = hist(5); @s[username] = stats(3); @l[username, 1] = lhist(7, 0, 10, 5); exit(); }',
        json=True),
    # setpriv runs as root, then execs true as uid 12345, which /etc/passwd does not name: 0.17
    # prints an empty name; as 65534, nobody
    "username_of_a_uid_without_a_name": Case(
        'tracepoint:syscalls:sys_enter_execve /pid == cpid/ { printf("%d [%s]\\n", uid, username); }',
        "/usr/bin/setpriv --reuid=12345 --regid=12345 --clear-groups /usr/bin/true"),
    "username_of_nobody": Case(
        'tracepoint:syscalls:sys_enter_execve /pid == cpid/ { printf("%d [%s]\\n", uid, username); }',
        "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/true"),

    # --- strerror ---------------------------------------------------------------------------
    "strerror_printf_of_errnos": Case(
        U + 'use_errno { printf("%d %s|%-28s|\\n", arg0, strerror(arg0), strerror(arg0)); }', T),
    "strerror_print_values_and_tuples": Case(
        'BEGIN { print(strerror(13)); print((strerror(1), 5)); @v = strerror(1); '
        '@t = (strerror(3), 1); exit(); }'),
    "strerror_map_values_of_a_uprobe": Case(
        U + 'use_errno { @[arg0] = strerror(arg0); }', T),

    # --- macaddr ----------------------------------------------------------------------------
    "macaddr_of_pointers_and_arrays": Case(
        'struct Dev { int id; unsigned char mac[6]; }\n' +
        U + 'use_mac { printf("%s\\n", macaddr(arg0)); print(macaddr(arg0)); '
        '@[macaddr(arg0)] = sum(*(uint8 *)arg0 + 1); }\n' +
        U + 'use_dev { $d = (struct Dev *)arg0; printf("%s|%20s|\\n", macaddr($d->mac), macaddr(arg0 + 4)); '
        '@v = macaddr($d->mac); @t = (macaddr(arg0 + 4), $d->id); }', T),
    "macaddr_and_strerror_printf_json": Case(
        U + 'use_mac { printf("%s|\\n", macaddr(arg0)); } ' + U + 'use_errno { printf("%s\\n", strerror(arg0)); }',
        T, json=True),
    "macaddr_keys_json": Case(
        U + 'use_mac { @[macaddr(arg0)] = sum(*(uint8 *)arg0 + 1); @n[macaddr(arg0), 1] = sum(*(uint8 *)arg0 + 2); }',
        T, json=True),

    # --- cgroup_path ------------------------------------------------------------------------
    "cgroup_path_of_every_hierarchy": Case(
        'BEGIN { printf("%s|\\n", cgroup_path(cgroup)); print(cgroup_path(cgroup)); '
        '@v = cgroup_path(cgroup); @t = (1, cgroup_path(cgroup, "cpu*")); exit(); }'),
    "cgroup_path_filters": Case(
        'BEGIN { print(cgroup_path(cgroup, "unified")); print(cgroup_path(cgroup, "b*")); '
        'print(cgroup_path(cgroup, "*u*")); print(cgroup_path(cgroup, "*")); print(cgroup_path(cgroup, "nomatch")); '
        'printf("[%s]\\n", cgroup_path(cgroup, "pids")); exit(); }'),
    "cgroup_path_of_an_unknown_id": Case(
        'BEGIN { print(cgroup_path(12345)); printf("[%s]\\n", cgroup_path(123456789, "unified")); exit(); }'),
    "cgroup_path_printf_json": Case(
        'BEGIN { printf("%s|\\n", cgroup_path(cgroup, "pids")); printf("%s\\n", cgroup_path(cgroup)); exit(); }',
        json=True),

    # --- strftime ---------------------------------------------------------------------------
    # The boot time to the second: the same in both tracers (unless a second boundary falls
    # between their two readings of the clocks, some 100 ns apart).
    "strftime_of_fixed_timestamps": Case(
        U + 'use_nsecs { printf("%s|%s\\n", strftime("%Y-%m-%d %H:%M:%S", arg0), strftime("%s %j %a %b", arg0)); '
        'print(strftime("%H:%M:%S", arg0)); }', T),
    "strftime_values_keys_and_tuples": Case(
        'BEGIN { @k[strftime("%Y", 0)] = 1; @v = strftime("%Y-%m-%d", 0); @t = (strftime("%s", 0), 2); '
        '@m[strftime("%H", 0), 5] = 3; exit(); }'),
    "strftime_failures_print_a_question_mark": Case(
        'BEGIN { print(strftime("", 0)); print(strftime("%%f %f %%", 0)); '
        'print(strftime("%Y-%m-%d %H:%M:%S 1234567890123456789012345678901234567890123", 0)); '
        'print(strftime("%Y-%m-%d %H:%M:%S 12345678901234567890123456789012345678901234", 0)); exit(); }',
        stderr=True),
    "strftime_keys_json": Case(
        'BEGIN { @k[strftime("%Y", 0)] = 1; @m[strftime("%H", 0), 5] = 3; exit(); }', json=True),

    # --- stacks -----------------------------------------------------------------------------
    # the child is alive while the events are printed (it sleeps after done()): user frames
    # resolve in both tracers
    "ustack_modes_in_printf_and_print": Case(
        U + 'leaf { printf("%s|\\n", ustack(3)); print(ustack(perf, 2)); printf("%s", ustack(perf)); print(ustack(1)); }\n' +
        U + 'done { exit(); }', T + " 30", addresses=True),
    "ustack_in_tuples_and_print_json": Case(
        U + 'leaf { print(ustack(2)); print(ustack(perf, 2)); print((ustack(2), 1)); }\n' +
        U + 'done { exit(); }', T + " 30", json=True, addresses=True),
    # printed at exit, after the child exited: no mappings left, so both print addresses
    "ustack_map_keys_after_the_process_exited": Case(
        U + 'leaf { @[ustack(3)] = count(); @p[ustack(perf, 2)] = count(); @r[ustack(1), 5] = sum(2); }', T,
        addresses=True),
    # a kernel stack id cannot be taken in a uprobe (the helper fails): it prints as nothing
    "kstack_of_a_uprobe_is_empty": Case(
        U + 'leaf { @k[kstack] = count(); printf("[%s]\\n", kstack(perf)); @v = kstack; }', T),
    "kstack_modes_of_a_tracepoint": Case(
        'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("%s|\\n", kstack(3)); print(kstack(perf, 2)); '
        '@a[kstack(4)] = count(); @p[kstack(perf, 3)] = count(); @v = kstack(2); @t = (kstack(perf, 1), 7); }',
        T),
    "kstack_keys_json": Case(
        'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @a[kstack(3)] = count(); @p[kstack(perf, 2)] = count(); '
        'print(kstack(2)); }',
        T, json=True),

    # --- cat --------------------------------------------------------------------------------
    "cat_stops_at_10240_bytes": Case(
        'BEGIN { cat("{d}/big.txt"); printf("|\\n"); exit(); }'),
    "cat_limit_from_the_environment": Case(
        'BEGIN { cat("{d}/big.txt"); printf("|\\n"); cat("%s/big.txt", "{d}"); printf("|\\n"); exit(); }',
        env={"BPFTRACE_CAT_BYTES_MAX": "5"}),
    "cat_limit_read_as_0_17_reads_numbers": Case(
        'BEGIN { cat("{d}/big.txt"); printf("|\\n"); exit(); }', env={"BPFTRACE_CAT_BYTES_MAX": " +3k"}),
    "cat_limit_zero_prints_nothing": Case(
        'BEGIN { cat("{d}/big.txt"); printf("|\\n"); exit(); }', env={"BPFTRACE_CAT_BYTES_MAX": "0"}),
    "cat_errors_and_nul_bytes": Case(
        'BEGIN { cat("{d}/no/such"); printf("a\\n"); cat("{d}"); printf("b\\n"); cat("{d}/nul.txt"); '
        'printf("c\\n"); exit(); }', stderr=True),
    "cat_json": Case(
        'BEGIN { cat("{d}/big.txt"); cat("{d}/no/such"); cat("{d}/nul.txt"); printf("|\\n"); exit(); }',
        json=True, env={"BPFTRACE_CAT_BYTES_MAX": "7"}, stderr=True),

    # --- system -----------------------------------------------------------------------------
    "system_output_in_order_with_printf": Case(
        'BEGIN { printf("a\\n"); system("echo sys %d", 1); printf("b\\n"); system("printf no-newline"); '
        'printf("c\\n"); cat("{d}/nul.txt"); printf("d\\n"); exit(); }', unsafe=True),
    "system_output_in_order_json": Case(
        'BEGIN { printf("a\\n"); system("echo sys %d %s", 1, "x"); printf("b\\n"); exit(); }',
        json=True, unsafe=True),
}

# Where kt prints something else than 0.17 on purpose: (case, kt's expected stdout). "{...}"
# fields are substituted as in CASES.
KT_ONLY: dict[str, tuple[Case, str]] = {
    # 0.17 prints strerror, macaddr, strftime and cgroup_path values in JSON without quotes
    # (`{"@v": Operation not permitted}`: not JSON); kt quotes them, as 0.17 quotes username
    # and every map key.
    "json_quotes_formatted_values": (Case(
        'BEGIN { print(strerror(13)); @v = strerror(1); @t = (strerror(3), 1); @s = strftime("%Y", 0); '
        '@c = cgroup_path(cgroup, "unified"); exit(); }', json=True),
        '{"type": "attached_probes", "data": {"probes": 1}}\n'
        '{"type": "value", "data": "Permission denied"}\n\n\n'
        '{"type": "map", "data": {"@c": "unified:/"}}\n'
        '{"type": "map", "data": {"@s": "{year}"}}\n'
        '{"type": "map", "data": {"@t": ["No such process",1]}}\n'
        '{"type": "map", "data": {"@v": "Operation not permitted"}}\n'),
    # 0.17 fails when it prints a map keyed by strerror() or cgroup_path() ("ERROR: invalid
    # mapkey argument type", and with -f json an abort); kt prints the text, as for username
    "strerror_and_cgroup_path_map_keys": (Case(
        'BEGIN { @e[strerror(2)] = 1; @c[cgroup_path(cgroup, "unified")] = 2; @k[strerror(1), 3] = 4; exit(); }'),
        '\n\n@c[unified:/]: 2\n@e[No such file or directory]: 1\n@k[Operation not permitted, 3]: 4\n'),
}


@dataclass(frozen=True)
class Target:
    exe: str
    dir: str


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Target:
    d = tmp_path_factory.mktemp("formats_target")
    exe = d / "formats_target"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(exe), str(TARGETS / "formats_target.c")], check=True)
    (d / "big.txt").write_bytes(b"".join(b"%07d\n" % i for i in range(2500)))   # 20000 bytes
    (d / "nul.txt").write_bytes(b"ab\0cd\n")
    from kt.runtime.tracefs import tracefs_root
    tracefs_root()  # bpftrace 0.17 needs tracefs mounted; kt mounts it when it is not
    return Target(str(exe), str(d))


def _fill(text: str, target: Target) -> str:
    return text.replace("{t}", target.exe).replace("{d}", target.dir)


def _args(case: Case, target: Target) -> list[str]:
    args = (["-f", "json"] if case.json else []) + (["--unsafe"] if case.unsafe else [])
    args += ["-e", _fill(case.script, target)]
    if case.command is not None:
        args += ["-c", _fill(case.command, target)]
    return args


_ADDR = re.compile(r"(?<![0-9a-fx])(0x)?[0-9a-f]{9,16}(?![0-9a-f])")


def _stdout(text: str, case: Case) -> str:
    lines = [l for l in text.split("\n") if not re.fullmatch(r"Attaching \d+ probes?\.\.\.", l)]
    out = "\n".join(lines)
    return _ADDR.sub("ADDR", out) if case.addresses else out


def _errors(text: str) -> list[str]:
    return [l for l in text.splitlines() if l.startswith("ERROR:") and "RLIMIT_MEMLOCK" not in l]


def _run_bpftrace(case: Case, target: Target) -> subprocess.CompletedProcess:
    assert BPFTRACE, "bpftrace 0.17 is needed for the differential tests (apt-get install bpftrace)"
    return subprocess.run([BPFTRACE, *_args(case, target)], capture_output=True, timeout=120,
                          env={**os.environ, **CHILD_ENV, **case.env}, stdin=subprocess.DEVNULL)


def _run_kt(case: Case, target: Target):
    return run_kt(*_args(case, target), timeout=120, env={**CHILD_ENV, **case.env})


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_output_as_bpftrace(name, target):
    case = CASES[name]
    theirs = _run_bpftrace(case, target)
    assert theirs.returncode == 0, theirs.stderr
    their_out = theirs.stdout.decode("utf-8", "surrogateescape")
    assert _stdout(their_out, case).strip(), "bpftrace printed nothing"
    ours = _run_kt(case, target)
    assert ours.rc == 0, ours.err
    assert _stdout(ours.out, case) == _stdout(their_out, case)
    if case.stderr:
        assert _errors(ours.err) == _errors(theirs.stderr.decode("utf-8", "surrogateescape"))
    if case.json:   # kt's lines are JSON, also where 0.17's text is the same
        for line in ours.out.splitlines():
            if line:
                json.loads(line)


@pytest.mark.parametrize("name", sorted(KT_ONLY))
def test_deliberate_differences_from_bpftrace(name, target):
    import time
    case, expected = KT_ONLY[name]
    ours = _run_kt(case, target)
    assert ours.rc == 0, ours.err
    boot_year = time.strftime("%Y", time.localtime(time.time() - time.monotonic()))
    assert ours.out == _fill(expected, target).replace("{year}", boot_year)


def test_raw_stacks_are_the_addresses_of_the_perf_stacks(target):
    """kstack(raw)/ustack(raw) (0.17 has no raw mode; bpftrace 0.19 added it): "\\n" and one
    lowercase hex address a line, the same addresses perf mode prints for the same event; in
    printf, print(), map keys and values."""
    script = _fill(U + 'leaf { printf("P%sR%s", ustack(perf, 3), ustack(raw, 3)); @[ustack(raw, 2)] = count(); '
                   '@v = ustack(raw, 1); }\n'
                   'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("P%sR%s", kstack(perf, 4), '
                   'kstack(raw, 4)); print(kstack(raw, 2)); }', target)
    r = run_kt("-e", script, "-c", target.exe, timeout=120)
    assert r.rc == 0, r.err
    events = re.findall(r"P\n((?:\t[0-9a-f]+ [^\n]*\n)+)R\n((?:[0-9a-f]+\n)+)", r.out)
    assert len(events) == 4, r.out     # leaf 3 times, then getppid
    for perf, raw in events:
        assert [l.split()[0] for l in perf.splitlines()] == raw.splitlines()
    leaf = events[0][1].splitlines()
    assert f"@[\n{leaf[0]}\n{leaf[1]}\n]: 3\n" in r.out
    assert f"@v: \n{leaf[0]}\n" in r.out

    perf, raw = events[3]
    addrs = [l.split()[0] for l in perf.splitlines()]
    assert addrs == raw.splitlines() and all(a.startswith("ffff") for a in addrs)
    assert "\n" + "".join(a + "\n" for a in addrs[:2]) + "\n" in r.out   # print(kstack(raw, 2))


def test_strftime_microseconds_follow_the_timestamp(target):
    """%f is the microseconds of boot time + nsecs (0.17's resolve_timestamp): two timestamps
    1.5 ms apart print 1500 µs apart. (The microseconds of the boot time itself are measured
    by each tracer, so a comparison with 0.17 could differ by one.)"""
    r = run_kt("-e", 'BEGIN { print(strftime("%s %f", 0)); print(strftime("%s.%f", 1500000)); '
                     'print(strftime("%f", 1000000000000)); exit(); }')
    assert r.rc == 0, r.err
    a, b, c = r.out.split("\n")[:3]
    s0, us0 = map(int, a.split())
    s1, us1 = map(int, b.split("."))
    assert (s1 * 10**6 + us1) - (s0 * 10**6 + us0) == 1500
    assert re.fullmatch(r"\d{6}", c) and int(c) == us0   # whole seconds later: the same microseconds


def test_cat_limit_that_is_not_a_number_is_an_error(target):
    """As in 0.17, also for a script without cat(); a number followed by text is the number."""
    for name in ("BPFTRACE_CAT_BYTES_MAX", "KT_CAT_BYTES_MAX"):
        for script in (f'BEGIN {{ cat("{target.dir}/nul.txt"); exit(); }}', 'BEGIN { exit(); }'):
            r = run_kt("-e", script, env={name: "k5"})
            assert r.rc == 1
            assert f"Env var '{name}' did not contain a valid uint64_t, or was zero-valued." in r.err
            assert "Traceback" not in r.err
    r = run_kt("-e", f'BEGIN {{ cat("{target.dir}/big.txt"); exit(); }}', env={"BPFTRACE_CAT_BYTES_MAX": " +4k"})
    assert r.rc == 0 and r.out == "0000\n\n", r.err
    # KT_CAT_BYTES_MAX wins over BPFTRACE_CAT_BYTES_MAX
    r = run_kt("-e", f'BEGIN {{ cat("{target.dir}/big.txt"); exit(); }}',
               env={"BPFTRACE_CAT_BYTES_MAX": "3", "KT_CAT_BYTES_MAX": "9"})
    assert r.rc == 0, r.err
    assert r.out.startswith("0000000\n0")
    assert r.out == "0000000\n0\n\n"


def _cgroup_directory_inode() -> int:
    """The inode of a cgroup directory below a hierarchy's root (this machine has
    /sys/fs/cgroup/memory/process_api/...), or 1, the roots' inode, where there is none."""
    from kt.runtime.lookups import _hierarchies
    for _, mount in sorted(_hierarchies("/proc/mounts")):
        for root, dirs, _ in os.walk(mount):
            for d in sorted(dirs):
                return os.stat(os.path.join(root, d)).st_ino
    return 1


@NEEDS_BPFTRACE
def test_cgroup_path_of_a_cgroup_below_the_root(target):
    """A cgroup id that names a directory inside a hierarchy: `name:/dir/...` for that
    hierarchy, nothing for those where the id is not found."""
    ino = _cgroup_directory_inode()
    case = Case(f'BEGIN {{ print(cgroup_path({ino})); printf("[%s]\\n", cgroup_path({ino}, "*y")); exit(); }}')
    theirs = _run_bpftrace(case, target)
    assert theirs.returncode == 0, theirs.stderr
    ours = _run_kt(case, target)
    assert ours.rc == 0, ours.err
    assert _stdout(ours.out, case) == _stdout(theirs.stdout.decode(), case)
