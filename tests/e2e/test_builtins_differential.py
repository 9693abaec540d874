"""Differential tests of the kernel-side builtins and functions: numaid, sargN, reg(), uaddr(),
cgroupid(), kptr()/uptr(), strncmp(), strcontains(), pton(), ntop() of byte arrays and
integers, buf() values (printed, compared, in maps as values and keys) and positional
parameters where bpftrace 0.17 takes literals. Each case runs the same script under kt and
under Debian's bpftrace 0.17 and requires the same output (normalized as
test_types_differential.py does: its `_normalized` and runners are reused).

The workload is tests/e2e/targets/builtins_target.c, built twice by the `target` fixture: a
PIE (`{t}`) and a fixed-address executable (`{np}`, for uaddr(), whose link-time address 0.17
uses as the run-time one). The C file lists its data; every case's `expect` is written by
hand from it, and bpftrace's output must equal it too before kt runs. Uprobe cases trace only
the -c child (a uprobe of a freshly built binary fires in nothing else), tracepoint cases
filter on `pid == cpid`; BEGIN cases run in the tracer itself. JSON_CASES compare `-f json`
objects one by one.

ERROR_CASES must make both tracers refuse the script at compile time, each naming the
problem with 0.17's words (the given text, in both stderrs). KT_ONLY_CASES are where kt
deliberately does better than 0.17 (the reason is given): they run under kt only.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import run_kt
from .test_differential import BPFTRACE, CHILD_ENV
from .test_types_differential import NEEDS_BPFTRACE, _child_output, _json_objects, _normalized

pytestmark = [pytest.mark.kernel]

TARGETS = Path(__file__).parent / "targets"
ADDR = "struct Addr { uint8_t v6[16]; uint8_t v4[4]; uint32_t ip; }\n"


@dataclass(frozen=True)
class Case:
    script: str
    command: str | None   # None: a BEGIN-only script, no -c
    expect: str           # the normalized output the data implies ("{t}" etc. substituted)
    params: tuple[str, ...] = ()


def _cases(*entries) -> dict[str, Case]:
    out = {}
    for name, script, command, expect, *params in entries:
        assert name not in out, name
        out[name] = Case(script, command, expect, tuple(params[0]) if params else ())
    return out


T, NP = "{t}", "{np}"

CASES = _cases(
    # ---- numaid: this machine has one NUMA node ------------------------------------------
    ("numaid", 'BEGIN { printf("EV %d\\n", numaid); @n = numaid; exit(); }', None,
     "EV {numa}\n\n\n@n: {numa}"),
    # ---- strncmp ---------------------------------------------------------------------------
    ("strncmp_literals", 'BEGIN { printf("EV %d %d %d\\n", strncmp("hello", "help", 3), '
     'strncmp("hello", "help", 4), strncmp("hello", "hello", 99)); exit(); }', None, "EV 0 1 0"),
    ("strncmp_lengths", 'BEGIN { printf("EV %d %d %d\\n", strncmp("ab", "abc", 5), strncmp("abc", "abc", 10), '
     'strncmp("", "", 1)); exit(); }', None, "EV 1 0 0"),
    ("strncmp_zero", 'BEGIN { printf("EV %d\\n", strncmp("abc", "xyz", 0)); exit(); }', None, "EV 0"),
    ("strncmp_in_map", 'BEGIN { @a = strncmp("a", "b", 1); @b = strncmp("x", "x", 1); $v = strncmp("ab", "ac", 1); '
     'print($v); exit(); }', None, "0\n\n\n@a: 1\n@b: 0"),
    ("strncmp_uprobe", 'uprobe:{t}:use_strs { printf("EV %d %d\\n", strncmp(str(arg0), str(arg1), 5), '
     'strncmp(str(arg0), str(arg1), 7)); }', T, "EV 0 1\nEV 1 1"),
    ("strncmp_str_n", 'uprobe:{t}:use_strs { printf("EV %d\\n", strncmp(str(arg0, 2), str(arg1, 2), 3)); }', T,
     "EV 0\nEV 0"),
    ("strncmp_two_reads", 'uprobe:{t}:use_strs { @[strncmp(str(arg0), str(arg1), 64), strncmp(str(arg0), str(arg1), 2)] '
     '= count(); }', T, "\n\n@[1, 0]: 2"),
    ("string_equal_two_reads", 'uprobe:{t}:use_strs { @[str(arg0) == str(arg1), str(arg0) != str(arg0), '
     'str(arg0, 2) == str(arg1, 2)] = count(); }', T, "\n\n@[0, 0, 1]: 2"),
    ("strncmp_comm", 'uprobe:{t}:use_strs { printf("EV %d\\n", strncmp(comm, "builtins_t", 10)); }', T,
     "EV 0\nEV 0"),
    # ---- strcontains -----------------------------------------------------------------------
    ("strcontains_literals", 'BEGIN { printf("EV %d %d %d %d\\n", strcontains("hello", "ll"), '
     'strcontains("hello", "x"), strcontains("hello", ""), strcontains("", "")); exit(); }', None, "EV 1 0 1 1"),
    ("strcontains_edges", 'BEGIN { printf("EV %d %d %d %d\\n", strcontains("ab", "abc"), strcontains("abc", "abc"), '
     'strcontains("aab", "ab"), strcontains("hello", "o")); exit(); }', None, "EV 0 1 1 1"),
    ("strcontains_comm", 'uprobe:{t}:use_strs { @[strcontains(comm, "ins_t")] = count(); }', T, "\n\n@[1]: 2"),
    # ---- pton, ntop ------------------------------------------------------------------------
    ("pton_print", 'BEGIN { print(pton("127.0.0.1")); print(pton("255.1.128.127")); print(pton("::1")); exit(); }',
     None, "[127,0,0,1]\n[255,1,128,127]\n[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]"),
    ("pton_maps", 'BEGIN { @a = pton("1.2.3.4"); @b[1] = pton("fe80::2"); exit(); }', None,
     "\n\n@a: [1,2,3,4]\n@b[1]: [254,128,0,0,0,0,0,0,0,0,0,0,0,0,0,2]"),
    ("pton_index", 'BEGIN { $a = pton("10.20.30.40"); printf("EV %d %d\\n", $a[0], $a[3]); exit(); }', None,
     "EV 10 40"),
    ("pton_ntop", 'BEGIN { printf("EV %s %s\\n", ntop(pton("fe80::1")), ntop(pton("192.168.0.1"))); exit(); }',
     None, "EV fe80::1 192.168.0.1"),
    ("ntop_members", ADDR + 'uprobe:{t}:use_addr { $a = (struct Addr *)arg0; printf("EV %s %s %s\\n", '
     'ntop($a->v6), ntop($a->v4), ntop($a->ip)); }', T, "EV fe80::1:2 192.168.1.20 10.0.0.1"),
    ("ntop_family", ADDR + 'uprobe:{t}:use_addr { $a = (struct Addr *)arg0; printf("EV %s %s\\n", '
     'ntop(2, $a->ip), ntop(10, $a->v6)); }', T, "EV 10.0.0.1 fe80::1:2"),
    ("ntop_map_key", ADDR + 'uprobe:{t}:use_addr { $a = (struct Addr *)arg0; @[ntop($a->v4)] = count(); }', T,
     "\n\n@[192.168.1.20]: 1"),
    ("pton_compare_member", ADDR + 'uprobe:{t}:use_addr { $a = (struct Addr *)arg0; printf("EV %d %d\\n", '
     '$a->v4 == pton("192.168.1.20"), $a->v6 == pton("fe80::1:3")); print($a->v4); }', T,
     "EV 1 0\n[192,168,1,20]"),
    ("ntop_tracepoint_v6", 'tracepoint:sock:inet_sock_set_state /pid == cpid && args->oldstate == 7/ { '
     'printf("EV %d %s %s %s\\n", args->newstate, ntop(args->saddr_v6), ntop(args->daddr_v6), '
     'ntop(10, args->saddr_v6)); @[ntop(args->daddr_v6)] = count(); }', "/usr/bin/python3 {conn} 6",
     "EV 10 ::1 :: ::1\nEV 2 ::1 ::1 ::1\n\n\n@[::1]: 1\n@[::]: 1"),
    ("ntop_tracepoint_v4", 'tracepoint:sock:inet_sock_set_state /pid == cpid && args->oldstate == 7/ { '
     'printf("EV %d %s %s %s\\n", args->newstate, ntop(args->saddr), ntop(args->daddr), ntop(2, args->saddr)); }',
     "/usr/bin/python3 {conn} 4", "EV 10 127.0.0.1 0.0.0.0 127.0.0.1\nEV 2 127.0.0.1 127.0.0.1 127.0.0.1"),
    # ---- kptr, uptr ------------------------------------------------------------------------
    ("kptr_uptr_values", 'BEGIN { printf("EV %d %d\\n", kptr(1), uptr(4096)); exit(); }', None, "EV 1 4096"),
    ("uptr_str", 'uprobe:{t}:use_strs { printf("EV %s\\n", str(uptr(arg0))); }', T, "EV hello world\nEV abc"),
    ("uptr_arith", 'uprobe:{t}:use_strs /arg2 == 5/ { printf("EV %s\\n", str(uptr(arg0) + 6)); }', T, "EV world"),
    # ---- sargN -----------------------------------------------------------------------------
    ("sarg_printf", 'uprobe:{t}:many { printf("EV %d\\n", sarg0); print(sarg1); }', T, "EV 7\n18446744073709551608"),
    ("sarg_map", 'uprobe:{t}:many { @s[sarg0] = count(); @t = sarg1; }', T,
     "\n\n@s[7]: 1\n@t: 18446744073709551608"),
    ("sarg_arith", 'uprobe:{t}:many { printf("EV %d\\n", sarg0 + sarg1); }', T, "EV -1"),
    # ---- reg -------------------------------------------------------------------------------
    ("reg_args", 'uprobe:{t}:many { printf("EV %d %d %d %d %d %d\\n", reg("di"), reg("si"), reg("dx"), reg("cx"), '
     'reg("r8"), reg("r9")); }', T, "EV 1 2 3 4 5 6"),
    ("reg_sp_ip", 'uprobe:{t}:many { printf("EV %d %d\\n", reg("sp") != 0, reg("ip") != 0); }', T, "EV 1 1"),
    ("reg_retval", 'uretprobe:{t}:many { printf("EV %d\\n", reg("ax")); }', T, "EV 20"),
    ("reg_map", 'uprobe:{t}:use_buf { @[reg("si")] = count(); }', T, "\n\n@[6]: 1\n@[4]: 2"),
    # ---- uaddr (a fixed-address executable, where 0.17's link-time address is right) -------
    ("uaddr_deref", 'uprobe:{np}:many { printf("EV %d %d %d\\n", *uaddr("g_int"), *uaddr("g_short"), '
     'sizeof(*uaddr("g_short"))); }', NP, "EV 42 -3 2"),
    ("uaddr_u64", 'uprobe:{np}:many { print(*uaddr("g_u64")); }', NP, "1234605616436508552"),
    ("uaddr_str", 'uprobe:{np}:many { printf("EV %s\\n", str(uaddr("g_name"))); }', NP, "EV target"),
    ("uaddr_pointer", 'uprobe:{np}:many { $p = uaddr("g_int"); printf("EV %d %d\\n", *$p, $p == uaddr("g_int")); }',
     NP, "EV 42 1"),
    # ---- buf -------------------------------------------------------------------------------
    ("buf_print", 'uprobe:{t}:use_buf { print(buf(arg0, arg1)); }', T, "\\x01\\x02ab\\x00\\xff\nabab\nabab"),
    ("buf_printf", 'uprobe:{t}:use_buf { printf("EV %r|%rx|%rh\\n", buf(arg0, arg1), buf(arg0, 2), buf(arg0, 2)); }',
     T, "EV \\x01\\x02ab\\x00\\xff|\\x01\\x02|01 02\nEV abab|\\x61\\x62|61 62\nEV abab|\\x61\\x62|61 62"),
    ("buf_map_value", 'uprobe:{t}:use_buf { @v = buf(arg0, 6); @w[1] = buf(arg0, 2); }', T,
     "\n\n@v: abab\\x00\\x00\n@w[1]: ab"),
    ("buf_map_key", 'uprobe:{t}:use_buf { @c[buf(arg0, 4)] = count(); }', T, "\n\n@c[\\x01\\x02ab]: 1\n@c[abab]: 2"),
    ("buf_map_tuple_key", 'uprobe:{t}:use_buf { @t[buf(arg0, 2), arg1] = count(); }', T,
     "\n\n@t[\\x01\\x02, 6]: 1\n@t[ab, 4]: 2"),
    ("buf_map_key_capacity", 'uprobe:{t}:use_buf { @d[buf(arg0, arg1)] = count(); }', T,
     "\n\n@d[\\x01\\x02ab\\x00\\xff" + "\\x00" * 58 + "]: 1\n@d[abab" + "\\x00" * 60 + "]: 2"),
    ("buf_tuple", 'uprobe:{t}:use_buf { print((1, buf(arg0, 3))); }', T, "(1, \\x01\\x02a)\n(1, aba)\n(1, aba)"),
    ("buf_variable", 'uprobe:{t}:use_buf { $x = buf(arg0, arg1); print($x); }', T,
     "\\x01\\x02ab\\x00\\xff\nabab\nabab"),
    ("buf_of_string", 'BEGIN { @s[buf("ab", 2)] = count(); print(buf("xyz", 3)); exit(); }', None,
     "xyz\n\n\n@s[ab]: 1"),
    # ---- positional parameters as literals -------------------------------------------------
    ("positional_octal_hex", 'BEGIN { printf("EV %d %d %d\\n", $1, $2, $1 + 1); exit(); }', None,
     "EV 509 291 510", ["0775", "0x123"]),
    ("positional_kaddr", 'BEGIN { printf("EV %d\\n", kaddr(str($1)) == kaddr("__start_rodata")); exit(); }', None,
     "EV 1", ["__start_rodata"]),
    ("positional_str_arguments", 'uprobe:{np}:many { printf("EV %d %d\\n", *uaddr(str($1)), reg(str($2))); '
     'print(pton(str($3))); }', NP, "EV 42 1\n[10,1,2,3]", ["g_int", "di", "10.1.2.3"]),
    ("positional_print_top_div", 'BEGIN { @[1] = 5; @[2] = 7; @[3] = 9; print(@, $1, $2); exit(); }', None,
     "@[2]: 2\n@[3]: 3\n\n\n@[1]: 5\n@[2]: 7\n@[3]: 9", ["2", "3"]),
    ("positional_buf_of_string", 'BEGIN { print(buf("xyz", $1)); exit(); }', None, "xy", ["2"]),
    ("positional_buf_length", 'uprobe:{t}:use_buf { printf("EV %r\\n", buf(arg0, $1)); }', T,
     "EV \\x01\\x02a\nEV aba\nEV aba", ["3"]),
    ("positional_str_offset", 'BEGIN { printf("EV %s|%s\\n", str($1 + 1), str($1 + 3)); exit(); }', None,
     "EV ello|lo", ["hello"]),
    ("positional_strncmp_n", 'BEGIN { printf("EV %d %d\\n", strncmp("hello", "help", $1), '
     'strncmp("hello", "help", $2)); exit(); }', None, "EV 0 1", ["3", "4"]),
)


JSON_CASES = _cases(
    ("buf_json", 'uprobe:{t}:use_buf { print(buf(arg0, arg1)); @c[buf(arg0, 4)] = count(); @v = buf(arg0, 2); }', T,
     '{"type": "value", "data": "\\\\x01\\\\x02ab\\\\x00\\\\xff"}\n{"type": "value", "data": "abab"}\n'
     '{"type": "value", "data": "abab"}\n{"type": "map", "data": {"@c": {"\\\\x01\\\\x02ab": 1, "abab": 2}}}\n'
     '{"type": "map", "data": {"@v": "ab"}}'),
    ("pton_json", 'BEGIN { print(pton("10.0.0.255")); @a = pton("::1"); exit(); }', None,
     '{"type": "value", "data": [10,0,0,255]}\n{"type": "map", "data": {"@a": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]}}'),
)


ERROR_CASES = {   # (script, the -c command or None, 0.17's words both must print)
    "reg_in_begin": ('BEGIN { print(reg("ip")); exit(); }', None, 'reg can not be used with "BEGIN" probes'),
    "reg_in_tracepoint": ('tracepoint:syscalls:sys_enter_getpid { print(reg("ip")); }', None,
                          'reg can not be used with "tracepoint" probes'),
    "reg_unknown": ('uprobe:{t}:many { print(reg("foo")); }', T,
                    "'foo' is not a valid register on this architecture (x86_64)"),
    "sarg_in_begin": ('BEGIN { print(sarg0); exit(); }', None,
                      "The sarg0 builtin can only be used with 'kprobes' and 'uprobes' probes"),
    "sarg_in_uretprobe": ('uretprobe:{t}:many { print(sarg1); }', T,
                          "The sarg1 builtin can only be used with 'kprobes' and 'uprobes' probes"),
    "uaddr_in_begin": ('BEGIN { print(uaddr("main")); exit(); }', None, 'uaddr can not be used with "BEGIN" probes'),
    "uaddr_unknown": ('uprobe:{np}:many { print(*uaddr("nonexistent")); }', NP, "Could not resolve symbol: {np}:nonexistent"),
    "uaddr_function": ('uprobe:{np}:many { print(*uaddr("many")); }', NP, "Could not resolve symbol: {np}:many"),
    "strncmp_variable_n": ('BEGIN { $n = 3; print(strncmp("a", "b", $n)); exit(); }', None, "strncmp() expects"),
    "strncmp_negative_n": ('BEGIN { print(strncmp("a", "b", -1)); exit(); }', None,
                           "Builtin strncmp requires a non-negative size"),
    "strncmp_integer": ('BEGIN { print(strncmp("a", 1, 1)); exit(); }', None,
                        "strncmp() only supports string arguments (integer provided)"),
    "strncmp_arity": ('BEGIN { print(strncmp("a", "b")); exit(); }', None, "strncmp() requires 3 arguments (2 provided)"),
    "strcontains_integer": ('BEGIN { print(strcontains("a", 1)); exit(); }', None,
                            "strcontains() only supports string arguments (integer provided)"),
    "pton_invalid": ('BEGIN { print(pton("1.2.3")); exit(); }', None, "pton() expects a valid IPv4/IPv6 address, got 1.2.3"),
    "cgroupid_missing": ('BEGIN { print(cgroupid("/nonexistent/kt")); exit(); }', None,
                         'Failed to get `cgroupid` for path: "/nonexistent/kt": No such file or directory'),
    "cgroupid_not_a_cgroup": ('BEGIN { print(cgroupid("/dev/shm")); exit(); }', None,
                              'Failed to get `cgroupid` for path: "/dev/shm": Value too large for defined data type'),
}

KT_ONLY_CASES = {   # name: (Case, why kt differs from 0.17)
    "uaddr_in_pie": (Case('uprobe:{t}:many { printf("EV %d %s\\n", *uaddr("g_int"), str(uaddr("g_name"))); }', T,
                          "EV 42 target"),
                     "0.17 uses the symbol's link-time address in a PIE too, where nothing is mapped: it reads 0"),
    "uaddr_in_pie_uretprobe": (Case('uretprobe:{t}:many { printf("EV %d\\n", *uaddr("g_int")); }', T, "EV 42"),
                               "as uaddr_in_pie (the bias from bpf_get_func_ip, Linux 6.5)"),
    "buf_equal": (Case('uprobe:{t}:use_buf { printf("EV %d %d %d\\n", buf(arg0, 4) == buf("abab", 4), '
                       'buf(arg0, arg1) != buf(arg0, 4), buf(arg0, 2) == buf("ab", 2)); }', T,
                       "EV 0 1 0\nEV 1 0 1\nEV 1 0 1"),
                  "0.17 aborts on buf() comparisons (an LLVM assertion in its codegen)"),
    "strcontains_of_two_reads": (
        Case('uprobe:{t}:use_strs { printf("EV %d %d %d\\n", strcontains(str(arg0), "wor"), '
             'strcontains(str(arg1), str(arg0, 3)), strcontains(str(arg0), "d")); }', T, "EV 1 1 1\nEV 0 0 0"),
        "0.17 exceeds the 512-byte BPF stack with two str() values (it unrolls the search in registers "
        "that spill); kt searches one start position per block"),
    "strcontains_two_full_reads": (
        Case('uprobe:{t}:use_strs { printf("EV %d %d\\n", strcontains(str(arg0), str(arg1)), '
             'strcontains(str(arg0), str(arg0))); }', T, "EV 0 1\nEV 0 1"),
        "0.17 exceeds the BPF stack"),
    "strcontains_variable_needle": (
        Case('uprobe:{t}:use_strs { $n = str(arg1, 2); @[strcontains(str(arg0), $n)] = count(); }', T,
             "\n\n@[1]: 2"),
        "0.17 exceeds the BPF stack here too"),
    "pton_array_key": (Case('BEGIN { @b[pton("fe80::2")] = 1; exit(); }', None,
                            "\n\n@b[[254,128,0,0,0,0,0,0,0,0,0,0,0,0,0,2]]: 1"),
                       "0.17 prints the uint8 elements of an array inside a map key as signed (-2,-128); "
                       "kt prints them as their type says, as it does for records in keys"),
    "positional_lhist": (Case('BEGIN { @h = lhist(5, $1, $2, $3); exit(); }', None,
                              "\n\n@h: \n[4, 6)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|",
                              ("0", "10", "2")),
                         "0.17 takes $1..$3 but prints one wrong bucket `(..., 1) 0`; kt prints what "
                         "lhist(5, 0, 10, 2) prints in 0.17"),
    "positional_pton": (Case('BEGIN { print(pton($1)); exit(); }', None, "[10,1,2,3]", ("10.1.2.3",)),
                        "0.17 takes only a string literal; a parameter is one to kt, as in str($1)"),
    "pton_mapped_v4": (Case('BEGIN { print(pton("::ffff:1.2.3.4")); exit(); }', None,
                            "[0,0,0,0,0,0,0,0,0,0,255,255,1,2,3,4]"),
                       "0.17 refuses IPv6 text with an embedded IPv4 part, a valid address (RFC 4291 2.2)"),
}


# ---------------------------------------------------------------------------------------------

# The TCP workload of the ntop() tracepoint cases: a listening socket on the loopback address
# (TCP_CLOSE -> TCP_LISTEN) and a connection to it (TCP_CLOSE -> TCP_SYN_SENT), both in the
# child's own syscalls, so `pid == cpid` sees them in order.
CONNECT = """\
import socket, sys
family, host = (socket.AF_INET6, "::1") if sys.argv[1] == "6" else (socket.AF_INET, "127.0.0.1")
server = socket.socket(family)
server.bind((host, 0))
server.listen()
client = socket.create_connection((host, server.getsockname()[1]))
peer, _ = server.accept()
for s in (client, peer, server):
    s.close()
"""


@dataclass(frozen=True)
class Target:
    pie: str      # the PIE build, absolute
    fixed: str    # the -no-pie build
    conn: str     # CONNECT's file

    def fill(self, text: str) -> str:
        return (text.replace("{t}", self.pie).replace("{np}", self.fixed).replace("{conn}", self.conn)
                .replace("{numa}", "0"))


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Target:
    d = tmp_path_factory.mktemp("builtins_target")
    src = str(TARGETS / "builtins_target.c")
    pie, fixed = d / "builtins_target", d / "builtins_target_np"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(pie), src], check=True)
    subprocess.run(["gcc", "-g", "-O0", "-no-pie", "-o", str(fixed), src], check=True)
    (d / "connect.py").write_text(CONNECT)
    from kt.runtime.tracefs import tracefs_root
    tracefs_root()  # bpftrace 0.17 needs tracefs mounted; kt mounts it when it is not
    return Target(str(pie), str(fixed), str(d / "connect.py"))


def _argv(target: Target, case: Case) -> list[str]:
    args = ["-e", target.fill(case.script)]
    if case.command:
        args += ["-c", target.fill(case.command)]
    return args + list(case.params)


def _run(tracer: str, argv: list[str]) -> subprocess.CompletedProcess | object:
    if tracer == "bpftrace":
        assert BPFTRACE, "bpftrace 0.17 is needed for the differential tests (apt-get install bpftrace)"
        return subprocess.run([BPFTRACE, *argv], capture_output=True, text=True, timeout=120,
                              env={**os.environ, **CHILD_ENV}, stdin=subprocess.DEVNULL)
    r = run_kt(*argv, timeout=120, env=CHILD_ENV)
    return subprocess.CompletedProcess(argv, r.rc, r.out, r.err)


def _stdout(tracer: str, argv: list[str]) -> str:
    r = _run(tracer, argv)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _single_numa_node() -> bool:
    nodes = [n for n in os.listdir("/sys/devices/system/node") if n.startswith("node")] \
        if os.path.isdir("/sys/devices/system/node") else ["node0"]
    return len(nodes) == 1


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_output_as_bpftrace(name, target):
    case = CASES[name]
    if "{numa}" in case.expect:
        assert _single_numa_node(), "the numaid case is written for a machine with one NUMA node"
    argv = _argv(target, case)
    drop = _child_output(target.fill(case.command) if case.command else None, None)
    theirs = _normalized(_stdout("bpftrace", argv), drop)
    assert theirs == _normalized(target.fill(case.expect)), "bpftrace 0.17 does not print what the data implies"
    assert _normalized(_stdout("kt", argv), drop) == theirs


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(JSON_CASES))
def test_json_same_objects_as_bpftrace(name, target):
    case = JSON_CASES[name]
    argv = ["-f", "json", *_argv(target, case)]
    objects = [o for o in _json_objects(_stdout("bpftrace", argv)) if o["type"] != "attached_probes"]
    assert objects == _json_objects(target.fill(case.expect)), "bpftrace 0.17 does not print what the data implies"
    assert [o for o in _json_objects(_stdout("kt", argv)) if o["type"] != "attached_probes"] == objects


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_refused_as_bpftrace_refuses(name, target):
    script, command, words = ERROR_CASES[name]
    argv = _argv(target, Case(script, command, ""))
    words = target.fill(words)
    theirs, ours = _run("bpftrace", argv), _run("kt", argv)
    assert theirs.returncode != 0 and words in theirs.stderr, theirs.stderr
    assert ours.returncode != 0, ours.stdout
    assert words in ours.stderr, ours.stderr
    assert "Traceback" not in ours.stderr


@pytest.mark.parametrize("name", sorted(KT_ONLY_CASES))
def test_deliberate_differences_from_0_17(name, target):
    case, _reason = KT_ONLY_CASES[name]
    assert _normalized(_stdout("kt", _argv(target, case))) == _normalized(target.fill(case.expect))


# ---- uaddr() at a USDT site of a PIE ---------------------------------------------------------

USDT_TARGET = r"""
#include <sys/sdt.h>
int g_val = 77;
__attribute__((noinline)) void work(int i) { STAP_PROBE1(kt, tick, i); }
int main(void) { volatile int x = g_val; work(x); work(2); return 0; }
"""


def test_uaddr_at_a_usdt_site_of_a_pie(tmp_path):
    """0.17 reads 0 here (the link-time address); kt adds the load bias (bpf_get_func_ip)."""
    if not os.path.exists("/usr/include/x86_64-linux-gnu/sys/sdt.h") and not os.path.exists("/usr/include/sys/sdt.h"):
        pytest.fail("<sys/sdt.h> is missing: apt-get install systemtap-sdt-dev (README's test command does)")
    src, exe = tmp_path / "usdt_uaddr.c", tmp_path / "usdt_uaddr"
    src.write_text(USDT_TARGET)
    subprocess.run(["gcc", "-g", "-O0", "-o", str(exe), str(src)], check=True)
    out = _stdout("kt", ["-e", f'usdt:{exe}:kt:tick {{ printf("EV %d %d\\n", *uaddr("g_val"), arg0); }}',
                         "-c", str(exe)])
    assert _normalized(out) == ["EV 77 77", "EV 77 2"]


# ---- cgroupid: the tracer runs inside a cgroup the test makes -------------------------------

def _cgroup2_root() -> str | None:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup2":
                return fields[4]
    return None


@NEEDS_BPFTRACE
def test_cgroupid_is_the_cgroup_of_a_task_in_it(tmp_path):
    """BEGIN runs in the tracer's own task: started inside a new cgroup, its `cgroup` is that
    cgroup's id, which cgroupid() of the directory gives (and the parent's is another)."""
    root = _cgroup2_root()
    assert root, "no cgroup2 hierarchy is mounted"
    cg = Path(root) / f"kt-test-cgroupid-{os.getpid()}"
    cg.mkdir()
    try:
        script = (f'BEGIN {{ printf("EV %d %d %d\\n", cgroup == cgroupid("{cg}"), cgroup == cgroupid("{root}"), '
                  f'cgroupid("{cg}") == {os.stat(cg).st_ino}); exit(); }}')
        outs = {}
        for tracer, cmd in (("bpftrace", [BPFTRACE or "bpftrace"]), ("kt", None)):
            from .conftest import kt_command
            argv = (cmd or kt_command()) + ["-e", script]
            # the shell moves itself into the cgroup, then becomes the tracer
            shell = f'echo $$ > {cg}/cgroup.procs && exec "$@"'
            r = subprocess.run(["sh", "-c", shell, "sh", *argv], capture_output=True, text=True, timeout=120,
                               env={**os.environ, **CHILD_ENV}, stdin=subprocess.DEVNULL)
            assert r.returncode == 0, r.stderr
            outs[tracer] = _normalized(r.stdout)
        assert outs["bpftrace"] == ["EV 1 0 1"]
        assert outs["kt"] == outs["bpftrace"]
    finally:
        cg.rmdir()
