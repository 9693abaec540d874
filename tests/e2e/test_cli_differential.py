"""The command line and environment variables, compared with Debian's bpftrace 0.17.

Each case runs one command line (and environment) under kt and under bpftrace 0.17 and requires
the same exit status, the same stdout and the same stderr, after these normalizations:
  - 0.17's "Attaching N probes..." (stdout) and kt's "Attached N probes" (stderr) status lines,
    0.17's RLIMIT_MEMLOCK warning and its "WARNING: Addrspace is not set" are dropped;
  - message prefixes: getopt's "bpftrace: " is "kt: ", bpftrace's "ERROR: " is kt's
    "kt: error: " (kt keeps its own prefix; the words after it are bpftrace's);
  - the usage text from its "USAGE:" line on is replaced by "<usage>" (kt's lists kt's options);
  - the version line ("bpftrace v0.17.0", "kt v0.1.0") is "<version>";
  - with `columns=False`, the column range of a -k warning and its `~~~` underline are dropped
    (kt underlines the whole expression, 0.17 a part of it; the line and the message must agree).

KT_ONLY cases are where kt deliberately differs (0.17 lacks the flag, aborts, or prints a broken
message); each says why and what kt prints instead.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import Result, kt_command, run_kt
from .test_differential import BPFTRACE, NEEDS_BPFTRACE


# The last openat of `cat FILE` opens FILE: its name is in cat's argv, resident memory (an
# earlier file name may lie in a page not yet faulted in, which a BPF read cannot fault).
OPENAT_HOSTNAME = ('tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @last = str(args->filename); }')
CAT = "/usr/bin/cat /etc/hostname"
# take(s) of STRINGS_C gets a 300-character string on main's stack (resident).
TAKE = 'uprobe:{strings}:take { printf("%s|\\n", str(arg0)); @[str(arg0)] = count(); }'
STRINGS_C = r"""
__attribute__((noinline)) void take(const char *s) { asm volatile("" :: "r"(s) : "memory"); }
int main(void) {
    char buf[320];
    for (int i = 0; i < 300; i++) buf[i] = 'a' + i % 26;
    buf[300] = 0;
    take(buf);
    return 0;
}
"""
TWO_KEYS = "BEGIN { @a[1] = 1; @a[2] = 2; exit(); }"


# C++ functions (g++ mangles their names); main sleeps after the calls so that both tracers
# symbolize the addresses while the process still exists.
CXX = r"""
#include <unistd.h>
namespace shapes {
struct Circle {
    __attribute__((noinline)) long area(long r) { asm volatile(""); return 3 * r * r; }
};
}
__attribute__((noinline)) int scale(int x, double f) { asm volatile(""); return (int)(x * f); }
int main() {
    shapes::Circle c;
    volatile long a = c.area(2);
    a += scale(3, 1.5);
    usleep(300000);
    return (int)(a & 0);
}
"""
USYM = ('uprobe:{cxx}:_ZN6shapes6Circle4areaEl, uprobe:{cxx}:_Z5scaleid '
        '{ printf("%s %s\\n", probe, usym(reg("ip"))); }')


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    env: dict = field(default_factory=dict)
    columns: bool = True        # compare -k warnings' column ranges and underlines too
    sort_stdout: bool = False   # events of a -c child whose order is not the point
    addresses: bool = True      # compare hex addresses too (False: each is "0xADDR", ASLR)
    stdin: str | None = None    # the script, for `-`
    kernel: bool = True         # loads programs (needs root and bpf())


def _c(*args: str, **kw) -> Case:
    return Case(tuple(args), **kw)


# Usage and getopt: nothing is loaded.
USAGE_CASES = {
    "no_arguments": _c(kernel=False),
    "dash_h": _c("-h", kernel=False),
    "long_help": _c("--help", kernel=False),
    "unknown_long_option": _c("--bogus", kernel=False),
    "unknown_short_option": _c("-Z", kernel=False),
    "missing_argument_short": _c("-e", kernel=False),
    "missing_argument_long": _c("--include", kernel=False),
    "argument_to_a_flag": _c("--unsafe=1", "-e", "BEGIN { exit(); }", kernel=False),
    "ambiguous_prefix": _c("--u", "-e", "BEGIN { exit(); }", kernel=False),
    "version": _c("--version", kernel=False),
    "version_short": _c("-V", kernel=False),
    "version_prefix": _c("--vers", kernel=False),
    "version_stops_parsing": _c("-V", "--bogus", kernel=False),
    "three_k": _c("-kkk", "-e", "BEGIN { exit(); }", kernel=False),
    "three_d": _c("-ddd", "-e", "BEGIN { exit(); }", kernel=False),
    "verbose_and_debug": _c("-v", "-d", "-e", "BEGIN { exit(); }", kernel=False),
    "command_and_pid": _c("-c", "/usr/bin/true", "-p", "1", "-e", "BEGIN { exit(); }", kernel=False),
    "no_program": _c("-q", kernel=False),
    "empty_program": _c("-e", "", kernel=False),
    "missing_script_file": _c("/nonexistent/script.bt", kernel=False),
    "pid_not_a_number": _c("-p", "abc", "-e", "BEGIN { exit(); }", kernel=False),
    "bad_buffering_mode": _c("-B", "foo", "-e", "BEGIN { exit(); }", kernel=False),
    "bad_output_format": _c("-f", "xml", "-e", "BEGIN { exit(); }", kernel=False),
    "listing_two_patterns": _c("-l", "tracepoint:sched:sched_switch", "extra", kernel=False),
    "option_after_the_parameters": _c("-e", "BEGIN { printf(\"%d\\n\", $1); exit(); }", "5", "-x", kernel=False),
    "strlen_too_big": _c("-e", TWO_KEYS, env={"BPFTRACE_STRLEN": "201"}, kernel=False),
    "strlen_negative": _c("-e", TWO_KEYS, env={"BPFTRACE_STRLEN": "-3"}, kernel=False),
    "strlen_not_a_number": _c("-e", TWO_KEYS, env={"BPFTRACE_STRLEN": "abc"}, kernel=False),
    "map_keys_max_empty": _c("-e", TWO_KEYS, env={"BPFTRACE_MAP_KEYS_MAX": ""}, kernel=False),
    "no_cpp_demangle_not_a_bool": _c("-e", TWO_KEYS, env={"BPFTRACE_NO_CPP_DEMANGLE": "abc"}, kernel=False),
    "no_user_symbols_not_a_bool": _c("-e", TWO_KEYS, env={"BPFTRACE_NO_USER_SYMBOLS": "2"}, kernel=False),
    "cache_user_symbols_not_a_bool": _c("-e", TWO_KEYS, env={"BPFTRACE_CACHE_USER_SYMBOLS": "x"}, kernel=False),
    "max_bpf_progs_not_a_number": _c("-e", TWO_KEYS, env={"BPFTRACE_MAX_BPF_PROGS": "abc"}, kernel=False),
    "command_not_found": _c("-c", "nonexistent-command", "-e", "BEGIN { exit(); }", kernel=False),
    "output_file_in_a_missing_directory": _c("-o", "/nonexistent/dir/out", "-e", "BEGIN { exit(); }"),
}

# Programs that run (root, bpf()).
RUN_CASES = {
    "script_from_stdin": _c("-", "7", stdin='BEGIN { printf("stdin %d\\n", $1); exit(); }'),
    "combined_short_flags": _c("-qe", "BEGIN { printf(\"%d\\n\", $1); exit(); }", "5", "-q"),
    "parameters_after_double_dash": _c("-e", "BEGIN { printf(\"%s\\n\", str($1)); exit(); }", "--", "-x"),
    "empty_command": _c("-c", "", "-e", "BEGIN { printf(\"x\\n\"); exit(); }"),
    "buffering_line": _c("-B", "line", "-e", TWO_KEYS),
    "buffering_full": _c("-B", "full", "-e", "BEGIN { printf(\"a\\n\"); printf(\"b\\n\"); exit(); }"),
    "buffering_none": _c("-B", "none", "-e", "BEGIN { printf(\"a\\n\"); printf(\"b\\n\"); exit(); }"),
    "strlen_5": _c("-e", TAKE, "-c", "{strings}", env={"BPFTRACE_STRLEN": "5"}),
    "strlen_200": _c("-e", TAKE, "-c", "{strings}", env={"BPFTRACE_STRLEN": "200"}),
    "strlen_with_trailing_text": _c("-e", TAKE, "-c", "{strings}", env={"BPFTRACE_STRLEN": " 12abc"}),
    "strlen_default": _c("-e", TAKE, "-c", "{strings}"),
    "strlen_tracepoint_field": _c("-e", OPENAT_HOSTNAME, "-c", CAT, env={"BPFTRACE_STRLEN": "8"}),
    "map_keys_max_1": _c("-e", TWO_KEYS, env={"BPFTRACE_MAP_KEYS_MAX": "1"}),
    "max_probes_exceeded": _c("-e", "BEGIN { exit(); } END { }", env={"BPFTRACE_MAX_PROBES": "1"}),
    "max_probes_zero": _c("-e", "BEGIN { exit(); }", env={"BPFTRACE_MAX_PROBES": "0"}),
    "max_probes_comma_list": _c("-e", "tracepoint:syscalls:sys_enter_openat, tracepoint:syscalls:sys_enter_close "
                                "/pid == cpid/ { }", "-c", "/usr/bin/true", env={"BPFTRACE_MAX_PROBES": "1"}),
    "max_probes_wildcard": _c("-e", "tracepoint:syscalls:sys_enter_open* /pid == cpid/ { }", "-c", "/usr/bin/true",
                              env={"BPFTRACE_MAX_PROBES": "2"}),
    "max_probes_enough": _c("-e", "BEGIN { exit(); } END { printf(\"end\\n\"); }", env={"BPFTRACE_MAX_PROBES": "2"}),
    "log_size_small": _c("-e", TWO_KEYS, env={"BPFTRACE_LOG_SIZE": "10"}),
    "no_user_symbols_0": _c("-e", TWO_KEYS, env={"BPFTRACE_NO_USER_SYMBOLS": "0"}),
    "cpp_names_demangled": _c("-e", USYM, "-c", "{cxx}"),
    "cpp_no_demangle": _c("-e", USYM, "-c", "{cxx}", env={"BPFTRACE_NO_CPP_DEMANGLE": "1"}),
    "cpp_demangle_0": _c("-e", USYM, "-c", "{cxx}", env={"BPFTRACE_NO_CPP_DEMANGLE": "0"}),
    "no_user_symbols": _c("-e", USYM, "-c", "{cxx}", env={"BPFTRACE_NO_USER_SYMBOLS": "1"}, addresses=False),
    "cache_user_symbols_0": _c("-e", USYM, "-c", "{cxx}", env={"BPFTRACE_CACHE_USER_SYMBOLS": "0"}),
    "k_delete_of_a_missing_key": _c("-k", "-e", "BEGIN { @a[1] = 1; delete(@a[2]); exit(); }"),
    "kk_delete_of_a_missing_key": _c("-kk", "-e", "BEGIN { @a[1] = 1; delete(@a[2]); exit(); }"),
    "k_full_map": _c("-k", "-e", TWO_KEYS, env={"BPFTRACE_MAP_KEYS_MAX": "1"}, columns=False),
    # 0.17 places an assignment oddly (`@a[2] = 2` at its `=`, at 1 without blanks): this one
    # it places at the map, as kt does.
    "k_full_map_json": _c("-k", "-f", "json", "-e", "BEGIN{ @a[1]=1; @a[2]=2; exit()}", env={"BPFTRACE_MAP_KEYS_MAX": "1"}),
    "k_leaves_reads_unchecked": _c("-k", "-e", "BEGIN { printf(\"%s|\\n\", str(0)); exit(); }"),
    "kk_string_read": _c("-kk", "-e", "BEGIN {\n  printf(\"%s|\\n\",\n     str(0)); exit(); }"),
    "kk_map_read_of_a_missing_key": _c("-kk", "-e", "BEGIN { @a[1] = 1; $x = @a[2]; printf(\"%d\\n\", $x); exit(); }"),
    "no_checks_without_k": _c("-e", "BEGIN { @a[1] = 1; delete(@a[2]); exit(); }"),
    "include_dir": _c("-I", "{headers}/sub", "-e", "#include <defs.h>\nBEGIN { printf(\"%d %d\\n\", MAGIC, sizeof(struct pt)); exit(); }"),
    "include_file": _c("--include", "{headers}/other.h", "-e", "BEGIN { printf(\"%d %d\\n\", MAGIC, OTHER); exit(); }"),
    "include_quoted_through_dir": _c("-I", "{headers}", "{headers}/script.bt"),
}

HEADERS = {
    "sub/defs.h": "#pragma once\n#define MAGIC 42\nstruct pt { int x; int y; long z; };\n",
    "other.h": '#include "sub/defs.h"\n#define OTHER 7\n',
    "script.bt": '#include "other.h"\nBEGIN { printf("%d %d %d\\n", MAGIC, OTHER, sizeof(struct pt)); exit(); }\n',
}


@pytest.fixture(scope="module")
def headers(tmp_path_factory) -> dict[str, str]:
    """{placeholder: path} of the files the cases use: the headers and STRINGS_C's binary."""
    root = tmp_path_factory.mktemp("headers")
    for name, text in HEADERS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "strings.c").write_text(STRINGS_C)
    subprocess.run(["gcc", "-O1", "-o", str(root / "strings"), str(root / "strings.c")], check=True)
    (root / "cxx.cc").write_text(CXX)
    subprocess.run(["g++", "-O1", "-o", str(root / "cxx"), str(root / "cxx.cc")], check=True)
    return {"{headers}": str(root), "{strings}": str(root / "strings"), "{cxx}": str(root / "cxx")}


def _run(command: list[str], args: tuple[str, ...], env: dict, cwd: str, stdin: str | None = None) -> Result:
    full = {**os.environ, **env}
    for name in ("BPFTRACE_STRLEN", "BPFTRACE_MAP_KEYS_MAX", "BPFTRACE_MAX_PROBES", "BPFTRACE_LOG_SIZE"):
        if name not in env:
            full.pop(name, None)
            full.pop("KT_" + name[len("BPFTRACE_"):], None)
    proc = subprocess.run(command + list(args), capture_output=True, text=True, timeout=60, env=full,
                          cwd=cwd, input=stdin if stdin is not None else "")
    return Result(proc.returncode, proc.stdout, proc.stderr)


# kt's own lines: once per map that refused a new key (0.17 drops keys silently without -k),
# -k's counted failed reads (0.17 reports reads only with -kk); tests/e2e/test_runtime_faults.py
_DROP = re.compile(r"^(Attaching \d+ probes?\.\.\.|Attached \d+ probes?|WARNING: Addrspace is not set|"
                   r".*couldn't set RLIMIT_MEMLOCK.*|Long strings will be pursued in: .*|"
                   r"kt: warning: map @\w* is full \(\d+ keys?\): .*|\{\"type\": \"map_full\", .*|"
                   r"kt: warning: \S+:\d+:\d+-\d+: probe_read\w* failed \d+ times? .*|\{\"type\": \"failed_reads\", .*)$")
_WARNING_COLUMNS = re.compile(r"^(\S+:\d+):\d+-\d+: WARNING:")


def _normalized(text: str, columns: bool, sort: bool = False, addresses: bool = True) -> list[str]:
    lines = []
    for line in text.split("\n"):
        if not addresses:
            line = re.sub(r"\b0x[0-9a-f]+\b", "0xADDR", line)
        if _DROP.match(line):
            continue
        if line == "USAGE:":
            lines.append("<usage>")
            break
        line = re.sub(r"^(\S*/)?bpftrace: ", "kt: ", line)   # getopt names argv[0]
        line = re.sub(r"^ERROR: ", "kt: error: ", line)
        line = re.sub(r"^(bpftrace|kt) v\S+$", "<version>", line)
        if not columns:
            line = _WARNING_COLUMNS.sub(r"\1: WARNING:", line)
            if line.strip() and set(line.strip()) == {"~"}:
                continue
        lines.append(line)
    while lines and lines[-1] == "":
        lines.pop()
    return sorted(lines) if sort else lines


def _compare(case: Case, tmp_path: Path, files: dict[str, str]) -> tuple[Result, Result]:
    args = []
    for a in case.args:
        for placeholder, path in files.items():
            a = a.replace(placeholder, path)
        args.append(a)
    bt = _run([BPFTRACE], tuple(args), case.env, str(tmp_path), case.stdin)
    kt = _run(kt_command(), tuple(args), case.env, str(tmp_path), case.stdin)
    assert kt.rc == bt.rc, (kt, bt)
    assert (_normalized(kt.out, case.columns, case.sort_stdout, case.addresses)
            == _normalized(bt.out, case.columns, case.sort_stdout, case.addresses)), (kt, bt)
    assert _normalized(kt.err, case.columns) == _normalized(bt.err, case.columns), (kt, bt)
    return kt, bt


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(USAGE_CASES))
def test_command_line_as_bpftrace(name, tmp_path, headers):
    _compare(USAGE_CASES[name], tmp_path, headers)


@NEEDS_BPFTRACE
@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(RUN_CASES))
def test_run_as_bpftrace(name, tmp_path, headers):
    kt, _ = _compare(RUN_CASES[name], tmp_path, headers)
    assert "Traceback" not in kt.err


@NEEDS_BPFTRACE
@pytest.mark.kernel
def test_emit_llvm_writes_both_files_and_runs(tmp_path):
    """--emit-llvm FILE writes FILE.original.ll and FILE.optimized.ll, and the trace still runs."""
    script = 'BEGIN { printf("ran\\n"); exit(); }'
    for name, command in (("bt", [BPFTRACE]), ("kt", kt_command())):
        base = tmp_path / name
        r = _run(command, ("--emit-llvm", str(base), "-e", script), {}, str(tmp_path))
        assert r.rc == 0 and _normalized(r.out, True) == ["ran"], r
        for suffix in ("original", "optimized"):
            assert "define" in (tmp_path / f"{name}.{suffix}.ll").read_text()


@NEEDS_BPFTRACE
@pytest.mark.kernel
def test_debug_prints_stages_and_does_not_run(tmp_path):
    """-d and -dd: a dry run that prints the AST and the IR on stdout, status 0; the program's
    own output never appears. (The dumps are each tool's own.)"""
    script = 'BEGIN { printf("ran\\n"); exit(); }'
    for flag in ("-d", "-dd"):
        bt = _run([BPFTRACE], (flag, "-e", script), {}, str(tmp_path))
        kt = _run(kt_command(), (flag, "-e", script), {}, str(tmp_path))
        assert kt.rc == bt.rc == 0
        assert "ran" not in kt.out.split("\n") and "ran" not in bt.out.split("\n")
        assert "Program" in kt.out and "Program" in bt.out and "define" in kt.out and "define" in bt.out
    dd = run_kt("-dd", "-e", script)
    assert dd.out.count("define") == 2   # -dd adds the IR before optimisation, as 0.17's does


@pytest.mark.kernel
def test_debug_stages():
    """-d STAGE: kt's names and newer bpftrace's; one stage each, nothing run."""
    script = 'BEGIN { printf("ran\\n"); exit(); }'
    out = {stage: run_kt("-d", stage, "-e", script) for stage in
           ("ast", "types", "codegen", "ir", "codegen-opt", "asm", "all")}
    assert all(r.rc == 0 and "ran\n" not in r.out for r in out.values())
    assert out["ast"].out == out["types"].out and out["ast"].out.startswith("Program")
    assert out["ir"].out == out["codegen-opt"].out and out["ir"].out.count("define") == 1
    assert out["codegen"].out.count("define") == 1 and out["codegen"].out != out["ir"].out
    assert "exit" in out["asm"].out and "define" not in out["asm"].out
    everything = out["ast"].out + out["codegen"].out + out["ir"].out
    assert out["all"].out.startswith(everything) and "exit" in out["all"].out[len(everything):]


@NEEDS_BPFTRACE
@pytest.mark.kernel
def test_info_has_bpftraces_sections(tmp_path):
    """--info prints on stderr (as 0.17 does), in 0.17's sections; status 0."""
    bt = _run([BPFTRACE], ("--info",), {}, str(tmp_path))
    kt = _run(kt_command(), ("--info",), {}, str(tmp_path))
    assert kt.rc == bt.rc == 0 and kt.out == bt.out == ""
    heads = lambda text: [line for line in text.split("\n") if line and not line.startswith(" ")]
    assert heads(kt.err) == [h for h in heads(bt.err) if "RLIMIT" not in h]
    assert kt.err.split("\n")[1] == bt.err.split("\n")[1]   # "  OS: Linux <release> <version>"


@NEEDS_BPFTRACE
@pytest.mark.kernel
def test_pid_that_does_not_exist(tmp_path):
    """0.17 prints "ERROR: : No such process" (the pid is missing from its message); kt names it."""
    pid = _dead_pid()
    bt = _run([BPFTRACE], ("-p", str(pid), "-e", "BEGIN { exit(); }"), {}, str(tmp_path))
    kt = _run(kt_command(), ("-p", str(pid), "-e", "BEGIN { exit(); }"), {}, str(tmp_path))
    assert kt.rc == bt.rc == 1
    assert "No such process" in bt.err
    assert kt.err == f"kt: error: pid {pid}: No such process\n"


def _dead_pid() -> int:
    proc = subprocess.Popen(["/usr/bin/true"])
    proc.wait()
    return proc.pid


# ---- where kt differs ------------------------------------------------------------------------

@pytest.mark.kernel
def test_dry_run_loads_but_attaches_nothing():
    """--dry-run (0.17 has no such flag; bpftrace 0.22 added it): compile and load every program,
    so the verifier has its say, then exit 0 without attaching or running anything."""
    r = run_kt("--dry-run", "-e", 'BEGIN { printf("ran\\n"); exit(); }')
    assert r.rc == 0 and r.out == "" and r.err == ""
    bad = run_kt("--dry-run", "-e", "BEGIN { @x[1] = 1; }", env={"BPFTRACE_MAP_KEYS_MAX": "0"})
    assert bad.rc == 1 and "zero-valued" in bad.err


@pytest.mark.kernel
def test_kt_spelling_of_the_variables():
    """Each BPFTRACE_X is also read as KT_X, which wins when both are set."""
    r = run_kt("-e", TWO_KEYS, env={"KT_MAP_KEYS_MAX": "1", "BPFTRACE_MAP_KEYS_MAX": "4096"})
    assert r.rc == 0 and r.out == "\n\n@a[1]: 1\n", r
    r = run_kt("-e", TWO_KEYS, env={"KT_STRLEN": "300"})
    assert r.rc == 1 and r.err.startswith("kt: error: 'KT_STRLEN' 300 exceeds the current maximum of 200 bytes.")


def test_zero_sizes_are_refused():
    """BPFTRACE_MAP_KEYS_MAX=0 makes 0.17 fail creating the map (EINVAL) and BPFTRACE_STRLEN=0
    prints every string empty: kt refuses both with 0.17's message for an unusable value."""
    for name in ("BPFTRACE_MAP_KEYS_MAX", "BPFTRACE_STRLEN", "BPFTRACE_LOG_SIZE", "BPFTRACE_PERF_RB_PAGES"):
        r = run_kt("-e", TWO_KEYS, env={name: "0"})
        assert r.rc == 1 and r.err == f"kt: error: Env var '{name}' did not contain a valid uint64_t, or was zero-valued.\n"


def test_ring_pages_must_be_a_power_of_two():
    """0.17 fails later with "mmap: Invalid argument" (and hangs for 0)."""
    r = run_kt("-e", TWO_KEYS, env={"BPFTRACE_PERF_RB_PAGES": "3"})
    assert r.rc == 1 and r.err == "kt: error: Env var 'BPFTRACE_PERF_RB_PAGES' must be a power of two, not 3.\n"


@pytest.mark.kernel
def test_invalid_listing_patterns():
    """0.17 aborts (status 134, "FATAL: Invalid probe type made it to attachpoint parser") on
    an unknown probe type; kt says which. Too many parts for a tracepoint: 0.17's words."""
    r = run_kt("-l", "nonexistent:*")
    assert r.rc == 1 and r.err == "kt: error: unknown probe type 'nonexistent' in 'nonexistent:*'\n"
    r = run_kt("-l", "tracepoint:sched:sched_switch:x")
    assert r.rc == 1 and "tracepoint probe type requires 2 arguments" in r.err


@pytest.mark.kernel
def test_no_warnings_hides_compile_warnings():
    """A uprobe on glibc's libpthread stub warns that libc's pthread_create is used instead."""
    script = "uprobe:libpthread:pthread_create { @ = count(); }"
    warned = run_kt("--dry-run", "-e", script)
    quiet = run_kt("--dry-run", "--no-warnings", "-e", script)
    assert quiet.rc == warned.rc == 0
    assert "warning: " in warned.err and quiet.err == ""


@pytest.mark.kernel
def test_buffering_full_writes_at_exit(tmp_path):
    """-B full to a file: everything arrives, in order, when the trace ends."""
    out = tmp_path / "out"
    r = run_kt("-B", "full", "-o", str(out), "-e", 'BEGIN { printf("a\\n"); printf("b\\n"); exit(); }')
    assert r.rc == 0 and out.read_text() == "a\nb\n"


@pytest.mark.kernel
def test_quoted_include_next_to_the_script(headers):
    """`#include "other.h"` is found in the script's own directory, as a C compiler finds it;
    0.17 hands clang the script as an in-memory file and fails ("'other.h' file not found")
    unless -I names the directory."""
    r = run_kt(f"{headers['{headers}']}/script.bt")
    assert r.rc == 0 and r.out == "42 7 16\n\n\n", r


def test_unreadable_include_file():
    r = run_kt("--include", "/nonexistent/x.h", "-e", "BEGIN { exit(); }")
    assert r.rc == 1 and r.err == "kt: error: --include /nonexistent/x.h: No such file or directory\n"


@pytest.mark.kernel
def test_kk_names_the_read_kt_makes():
    """`*(uint64 *)0` under -kk: 0.17 reads with the old bpf_probe_read ("Failed to probe_read:
    Bad address (-14)"); kt reads kernel memory with bpf_probe_read_kernel, which refuses a user
    address with ERANGE, and says so. The place and the source line are 0.17's."""
    r = run_kt("-kk", "-e", 'BEGIN { $x = *(uint64 *)0; printf("%d\\n", $x); exit(); }')
    assert r.rc == 0, r
    lines = r.out.split("\n")
    assert lines[0] == "stdin:1:14-26: WARNING: Failed to probe_read_kernel: Numerical result out of range (-34)"
    assert lines[1:4] == ['BEGIN { $x = *(uint64 *)0; printf("%d\\n", $x); exit(); }', " " * 13 + "~" * 12, "0"]


def test_what_kt_cannot_use_of_a_header_is_named(tmp_path):
    """kt has no C compiler: a function declaration in a header is a syntax error, reported at
    the header's line (bpftrace 0.17 hands headers to clang)."""
    header = tmp_path / "decl.h"
    header.write_text("#define A 1\nint foo(int x);\n")
    r = run_kt("--include", str(header), "-e", 'BEGIN { printf("%d\\n", A); exit(); }')
    assert r.rc == 1 and "syntax error: 'int' is not a probe" in r.err
    assert r.err.endswith(f"kt: note: stdin:4 is line 2 of {header}; kt uses a header's struct, union, enum "
                          "and typedef definitions and #define constants\n")


@pytest.mark.kernel
def test_small_log_size_grows():
    """BPFTRACE_LOG_SIZE=100 with -v: 0.17 fails ("verification log buffer not big enough, try
    increasing the BPFTRACE_LOG_SIZE environment variable"); kt starts with 100 bytes and grows
    the buffer until the log fits, so the trace runs and -v shows the whole log."""
    r = run_kt("-v", "-e", "BEGIN { exit(); }", env={"BPFTRACE_LOG_SIZE": "100"})
    assert r.rc == 0 and "Verifier log of BEGIN (raw_tp):\nprocessed " in r.err, r


@pytest.mark.kernel
def test_kk_keeps_the_stack_small():
    """-kk on join(): 32 checked reads in one statement share one error record (execsnoop.bt
    would otherwise need 768 bytes of BPF stack)."""
    r = run_kt("-kk", "-e", "tracepoint:syscalls:sys_enter_execve /pid == cpid/ { join(args->argv); }",
               "-c", "/usr/bin/echo a b")
    assert r.rc == 0 and "/usr/bin/echo a b" in r.out.split("\n") and "WARNING" not in r.out, r
