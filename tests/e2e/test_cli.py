"""The CLI as users run it, against the real kernel (marked `kernel`)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import bpftool_loadall, kt_command, run_kt

ROOT = Path(__file__).resolve().parents[2]
kernel = pytest.mark.kernel


@kernel
def test_hello_begin_exit():
    r = run_kt("-e", 'BEGIN { printf("hello %d\\n", 42); exit(); }')
    assert r.rc == 0, r.err
    assert r.out == "hello 42\n\n\n"
    assert r.err == "Attached 1 probe\n"


@kernel
def test_openat_of_the_child_only_and_exit_with_it():
    r = run_kt("-e", 'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { printf("%s %s\\n", comm, str(args->filename)); }',
               "-c", "cat /etc/hostname")
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert "cat /etc/hostname" in lines
    # only the child's opens: every event line is from cat (or kt's fork before exec)
    events = [l for l in lines if " /" in l]
    assert events and all(l.split()[0] in ("cat", "kt") for l in events)


@kernel
def test_aggregations_print_like_bpftrace():
    r = run_kt("-e", "tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @[comm] = count(); @n = count(); "
               "@s[pid, comm] = sum(1); @lo = min(args->id); @hi = max(args->id); @a = avg(args->id); }",
               "-c", "/usr/bin/true")
    assert r.rc == 0, r.err
    text = r.out
    assert text.startswith("\n\n")
    lines = text[2:].splitlines()
    names = [re.match(r"(@\w*)", l).group(1) for l in lines if l]
    assert names == sorted(names)  # maps in name order
    counts = {m[0]: int(m[1]) for m in re.findall(r"^@\[(\w+)\]: (\d+)$", text, re.M)}
    total = int(re.search(r"^@n: (\d+)$", text, re.M).group(1))
    assert counts["true"] > 0 and sum(counts.values()) == total
    sums = re.findall(r"^@s\[(\d+), (\w+)\]: (\d+)$", text, re.M)
    assert {c: int(v) for _, c, v in sums} == counts
    lo = int(re.search(r"^@lo: (\d+)$", text, re.M).group(1))
    hi = int(re.search(r"^@hi: (\d+)$", text, re.M).group(1))
    avg = int(re.search(r"^@a: (\d+)$", text, re.M).group(1))
    assert lo <= avg <= hi
    assert re.search(r"^@a: \d+\n\n@hi:", text, re.M)  # avg maps end with a blank line
    # count maps sort ascending by value
    values = [int(v) for v in re.findall(r"^@\[\w+\]: (\d+)$", text, re.M)]
    assert values == sorted(values)


@kernel
def test_script_file_runs_until_sigterm_and_prints_maps(tmp_path):
    proc = subprocess.Popen(kt_command() + [str(ROOT / "examples" / "syscount.kt"), "-c", "sleep 30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_attach(proc)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.startswith("Counting syscalls... Hit Ctrl-C to end.\n")
    assert "Top syscalls by process:" in out
    assert re.search(r"^@syscalls\[sleep\]: \d+$", out, re.M)
    # only the child: no other process name appears
    assert set(re.findall(r"^@syscalls\[([^\]]+)\]", out, re.M)) <= {"sleep", "kt"}


@kernel
def test_sigint_ends_the_trace_like_ctrl_c():
    proc = subprocess.Popen(kt_command() + ["-e", "tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @c = count(); }",
                                            "-c", "sleep 30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_attach(proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert re.search(r"^@c: \d+$", out, re.M)


def _wait_for_attach(proc: subprocess.Popen) -> None:
    line = proc.stderr.readline()
    assert line.startswith("Attached"), line


@kernel
def test_positional_parameters_from_script_arguments(tmp_path):
    script = tmp_path / "args.kt"
    script.write_text('BEGIN { printf("%d %s %d\\n", $1 + 1, str($2), $#); exit(); }\n')
    r = run_kt(str(script), "41", "hello")
    assert r.rc == 0, r.err
    assert r.out.splitlines()[0] == "42 hello 2"


@kernel
def test_quiet_and_output_file(tmp_path):
    out = tmp_path / "trace.txt"
    r = run_kt("-q", "-o", str(out), "-e", 'BEGIN { printf("to file\\n"); @x = 7; exit(); }')
    assert r.rc == 0, r.err
    # as 0.17: the "\n\n" before the exit maps goes to stdout, also with -o FILE
    assert r.err == "" and r.out == "\n\n"
    assert out.read_text() == "to file\n@x: 7\n"


@kernel
def test_end_runs_and_maps_written_in_end_print():
    r = run_kt("-e", 'BEGIN { @a = 1; exit(); } END { @b = @a + 1; printf("end\\n"); }')
    assert r.rc == 0, r.err
    assert r.out == "end\n\n\n@a: 1\n@b: 2\n"


@kernel
def test_only_begin_and_end_exits_by_itself():
    r = run_kt("-e", 'BEGIN { printf("b\\n"); } END { printf("e\\n"); }', timeout=20)
    assert r.rc == 0, r.err
    assert r.out.startswith("b\ne\n")


@kernel
def test_integer_and_string_semantics():
    r = run_kt("-e", 'BEGIN { $a = 5; $a += 3; $a++; $s = "hi"; if ($s == "hi" && $a > 3) { printf("%d %d %d %d %s\\n", '
               '$a, -7 / 2, -7 % 3, 1 << 3 >> 1, $s); } if ("abc" != "abd") { printf("ne\\n"); } '
               'printf("%x %5d|%-5d|%s\\n", 255, 42, 42, comm); '
               'printf("%d %s %d\\n", $a > 3 ? 10 : 20, $a < 3 ? "small" : "large", 1 ? 2 ? 3 : 4 : 5); exit(); }')
    assert r.rc == 0, r.err
    assert r.out.splitlines()[:4] == ["9 -3 -1 4 hi", "ne", "ff    42|42   |kt", "10 large 3"]


@kernel
def test_lost_events_are_counted_and_reported(tmp_path):
    script = tmp_path / "flood.kt"
    body = "".join(f'  printf("%s %d\\n", "{"x" * 46}", {i});\n' for i in range(100))
    script.write_text("BEGIN {\n" + body + "  exit();\n}\n")
    # one page of ring buffer holds ~50 of these 80-byte records; BEGIN runs before we read
    r = run_kt(str(script), env={"KT_RB_PAGES": "1"})
    assert r.rc == 0, r.err
    printed = len([l for l in r.out.splitlines() if l.startswith("x")])
    lost = int(re.search(r"^Lost (\d+) events$", r.err, re.M).group(1))
    assert printed + lost == 100 and lost > 0


def test_debug_stages():
    prog = 'BEGIN { printf("hello %d\\n", 42); exit(); }'
    ast = run_kt("-d", "ast", "-e", prog)
    assert ast.rc == 0 and "Call name='printf'" in ast.out and "Probe" in ast.out
    ir = run_kt("-d", "ir", "-e", prog)
    assert ir.rc == 0 and 'section "raw_tp"' in ir.out and "bpfel" in ir.out
    asm = run_kt("-d", "asm", "-e", prog)
    assert asm.rc == 0 and "call 130" in asm.out  # bpf_ringbuf_output


def test_version_and_help():
    r = run_kt("--version")
    assert r.rc == 0 and re.fullmatch(r"kt v\d+\.\d+\.\d+\S*\n", r.out)
    r = run_kt("-h")   # bpftrace 0.17 prints its usage on stderr, also for -h
    assert r.rc == 0 and r.out == "" and "-e 'program'   execute this program" in r.err and "EXAMPLES:" in r.err


def test_syntax_error_is_a_users_error():
    r = run_kt("-e", "BEGIN { printf(\"x\" }")
    assert r.rc == 1
    assert r.err.splitlines() == [
        "stdin:1:20: error: syntax error: unexpected '}'",
        'BEGIN { printf("x" }',
        "                   ^",
        "hint: a ',' or a ')' is missing before it",
    ]
    assert "Traceback" not in r.err


def test_unknown_tracepoint_names_itself_and_suggests(tmp_path):
    script = tmp_path / "bad.kt"
    script.write_text("\ntracepoint:syscalls:sys_enter_opnat { }\n")
    r = run_kt(str(script))
    assert r.rc == 1
    assert r.err.splitlines()[0] == f"{script}:2:1: error: unknown tracepoint 'syscalls:sys_enter_opnat'"
    assert "did you mean 'tracepoint:syscalls:sys_enter_openat'?" in r.err


def test_missing_script_file():
    r = run_kt("/nonexistent/x.kt")
    # bpftrace 0.17's words and exit status (255)
    assert r.rc == 255 and r.err == "kt: error: failed to open file '/nonexistent/x.kt': No such file or directory\n"


@kernel
def test_without_privileges_one_clear_message():
    # root with every capability dropped: the kernel refuses bpf() with EPERM
    r = subprocess.run(["setpriv", "--bounding-set=-all", "--inh-caps=-all"] + kt_command() +
                       ["-e", "BEGIN { exit(); }"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr.startswith("kt: error: bpf(BPF_MAP_CREATE): Operation not permitted (EPERM)")
    assert "needs root" in r.stderr and "Traceback" not in r.stderr


@kernel
def test_emit_elf_loads_with_bpftool(tmp_path):
    obj = tmp_path / "x.o"
    r = run_kt("--emit-elf", str(obj), "-e", "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); "
                 "@n = count(); @h = hist(1); }")   # keyless ones are per-CPU arrays
    assert r.rc == 0, r.err
    with bpftool_loadall(obj, tmp_path.name) as pin:
        assert [p.name for p in pin.iterdir()] == ["tp_syscalls_sys_enter_openat"]


@kernel
def test_nothing_left_attached_after_a_run():
    before = _prog_ids()
    r = run_kt("-e", "tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @c = count(); }", "-c", "/usr/bin/true")
    assert r.rc == 0, r.err
    assert _prog_ids() - before == set()


def _prog_ids() -> set[int]:
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True, check=True).stdout
    return {p["id"] for p in json.loads(out or "[]")}


@kernel
def test_delete_removes_map_elements():
    r = run_kt("-e", 'BEGIN { @x[1] = 1; @x[2] = 2; @x[3] = 3; delete(@x[2]); @c["a"] = count(); '
               '@c["b"] = count(); delete(@c["a"]); exit(); }')
    assert r.rc == 0, r.err
    assert r.out == "\n\n@c[b]: 1\n@x[1]: 1\n@x[3]: 3\n"


@kernel
def test_reader_going_away_ends_the_trace_with_one_line():
    proc = subprocess.Popen(kt_command() + ["-e", 'tracepoint:raw_syscalls:sys_enter /pid == cpid/ { printf("%s\\n", comm); }',
                                            "-c", "/bin/sh -c 'ls -R /usr/share/doc > /dev/null'"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    _, err = proc.communicate(timeout=60)
    assert first.strip() in ("kt", "sh", "ls")
    # kt's own fault (tests/e2e/test_exit_paths.py): detached, one line, status 1
    assert proc.returncode == 1 and "Traceback" not in err
    assert err.splitlines()[-1] == "kt: error: the output was closed (Broken pipe): the trace stopped"


def test_not_root_one_clear_message():
    # a user namespace: the same binary, run as an unprivileged uid
    r = subprocess.run(["unshare", "--user"] + kt_command() + ["-e", "BEGIN { exit(); }"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr == ("kt: error: kt must run as root: it reads tracefs and loads BPF programs "
                        "(CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)\n")


@kernel
def test_str_of_a_positional_is_its_text_even_when_numeric():
    r = run_kt("-e", 'BEGIN { printf("%s|%s|%d\\n", str($1), str($2), $1 + 1); exit(); }', "42", "abc")
    assert r.rc == 0, r.err
    assert r.out.splitlines()[0] == "42|abc|43"


@kernel
def test_time_rand_cgroup_curtask():
    import time as _time
    r = run_kt("-e", 'BEGIN { time("%Y|"); time(); printf("%d %d %d\\n", rand >= 0, cgroup > 0, curtask > 0); exit(); }')
    assert r.rc == 0, r.err
    first = r.out.splitlines()[0]
    assert re.fullmatch(rf"{_time.strftime('%Y')}\|\d\d:\d\d:\d\d", first)
    assert r.out.splitlines()[1] == "1 1 1"
    j = run_kt("-f", "json", "-e", 'BEGIN { time("%Y\\n"); exit(); }')
    assert f'{{"type": "time", "data": "{_time.strftime("%Y")}\\n"}}' in j.out


@kernel
def test_unsafe_system_and_signal():
    r = run_kt("-e", 'BEGIN { system("echo hi"); exit(); }')
    assert r.rc == 1 and "system() changes the system, not just observes it: it needs --unsafe" in r.err
    r = run_kt("--unsafe", "-e", 'BEGIN { printf("a\\n"); system("echo hi %d", 5); printf("b\\n"); exit(); }')
    assert r.rc == 0, r.err
    assert r.out.startswith("a\nhi 5\nb\n")
    r = run_kt("--unsafe", "-e", 'tracepoint:syscalls:sys_enter_clock_nanosleep /pid == cpid/ { signal("KILL"); }',
               "-c", "/usr/bin/python3 -c 'import time; time.sleep(30); print(\"survived\")'")
    assert r.rc == 0, r.err
    assert "survived" not in r.out   # killed in its first sleep
