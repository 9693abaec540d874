"""Many syscall tracepoints through raw_syscalls (compiler/syscall_dispatch.py): what users see
must be what the per-syscall events give, compared with bpftrace 0.17 (which attaches each).

The child (targets/syscall_dispatch_target.c, run as kt_sysd) makes known syscalls with known
arguments, and five compat getpid()s through int $0x80 (i386's 20, x86-64's writev), which the
syscalls:* events never see. Values that depend on the tracer (getppid's result is its pid,
set_tid_address's the child's tid) are left out of the comparison.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kt.compiler.syscall_table import event_numbers, syscall_rows

from .conftest import run_kt
from .test_differential import CHILD_ENV, NEEDS_BPFTRACE, _bpftrace

pytestmark = [pytest.mark.kernel]
TARGET = Path(__file__).parent / "targets" / "syscall_dispatch_target.c"
ONLY_CHILD = '/pid == cpid && comm == "kt_sysd"/'
TRACER_DEPENDENT = ("sys_exit_getppid", "sys_exit_set_tid_address")
FLAG_EVENTS = ("openat", "pipe2", "dup3", "eventfd2", "epoll_create1", "inotify_init1", "memfd_create",
               "getrandom", "accept4", "mlock2")
FLAGS = ",".join(f"tracepoint:syscalls:sys_enter_{e}" for e in FLAG_EVENTS)

CASES = {
    "all_enters_by_probe": f"tracepoint:syscalls:sys_enter_* {ONLY_CHILD} {{ @[probe] = count(); }}",
    # (addresses, as brk's and mmap's, differ from run to run)
    "all_exits_by_return_value": (f"tracepoint:syscalls:sys_exit_* {ONLY_CHILD[:-1]} && args->ret < 100000/ "
                                  "{ @[probe, args->ret] = count(); }"),
    # `flags` is argument 0, 1, 2 or 3 and int or unsigned int: six programs
    "flags_at_different_offsets": f"{FLAGS} {ONLY_CHILD} {{ @[probe, args->flags] = count(); }}",
    "fd_and_nr": (f"tracepoint:syscalls:sys_enter_read,tracepoint:syscalls:sys_enter_write,"
                  f"tracepoint:syscalls:sys_enter_pread64,tracepoint:syscalls:sys_enter_pwrite64,"
                  f"tracepoint:syscalls:sys_enter_lseek,tracepoint:syscalls:sys_enter_close,"
                  f"tracepoint:syscalls:sys_enter_fsync,tracepoint:syscalls:sys_enter_fdatasync,"
                  f"tracepoint:syscalls:sys_enter_ftruncate {ONLY_CHILD} "
                  f"{{ @[probe, args->__syscall_nr] = count(); @fd[args->fd > 2] = count(); }}"),
}


@pytest.fixture(scope="module")
def child(tmp_path_factory) -> str:
    exe = tmp_path_factory.mktemp("sysd") / "kt_sysd"
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(TARGET)], check=True)
    return str(exe)


def _maps(stdout: str) -> list[str]:
    return sorted(line for line in stdout.splitlines()
                  if line.startswith("@") and not any(t in line for t in TRACER_DEPENDENT))


def _meta(script: str, tmp_path) -> dict:
    from kt.runtime.spec import parse_object
    obj = tmp_path / "o.elf"
    r = run_kt("--emit-elf", str(obj), "-e", script)
    assert r.rc == 0, r.err
    return parse_object(obj.read_bytes()).meta.to_json()


@NEEDS_BPFTRACE
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_maps_as_bpftrace(name, child):
    script = CASES[name]
    theirs = _maps(_bpftrace(script, child))
    r = run_kt("-e", script, "-c", child, timeout=120, env=CHILD_ENV)
    assert r.rc == 0, r.err
    assert theirs
    assert _maps(r.out) == theirs


def test_compat_syscalls_do_not_fire(child):
    r = run_kt("-e", f"tracepoint:syscalls:sys_enter_* {ONLY_CHILD} {{ @[probe] = count(); }}",
               "-c", child, env=CHILD_ENV)
    assert r.rc == 0, r.err
    assert "@[tracepoint:syscalls:sys_enter_getppid]: 9" in r.out
    assert "sys_enter_writev" not in r.out   # i386's getpid is x86-64's writev


def test_a_wildcard_is_one_program_per_direction(tmp_path):
    meta = _meta("tracepoint:syscalls:sys_enter_*, tracepoint:syscalls:sys_exit_* { @[probe] = count(); }", tmp_path)
    assert [(p["section"], p["attach"]) for p in meta["probes"]] == [
        ("tracepoint/raw_syscalls/sys_enter", {"category": "raw_syscalls", "name": "sys_enter"}),
        ("tracepoint/raw_syscalls/sys_exit", {"category": "raw_syscalls", "name": "sys_exit"})]
    events = sorted(p.name for p in Path("/sys/kernel/tracing/events/syscalls").iterdir() if p.is_dir())
    assert sorted(n.removeprefix("tracepoint:syscalls:") for n in meta["probe_names"]) == events


def test_fields_at_different_offsets_are_programs_of_their_own(tmp_path):
    meta = _meta(f"{FLAGS} {{ @[probe, args->flags] = count(); }}", tmp_path)
    assert len(meta["probes"]) == 6
    assert {p["attach"]["name"] for p in meta["probes"]} == {"sys_enter"}
    assert sorted(meta["probe_names"]) == sorted(f"tracepoint:syscalls:sys_enter_{e}" for e in FLAG_EVENTS)


@pytest.mark.parametrize("body", ["@[kstack(2)] = count();", "@[ctx] = count();", "@[args->common_type] = count();"])
def test_what_differs_in_raw_syscalls_keeps_each_event(body, tmp_path):
    meta = _meta(f"tracepoint:syscalls:sys_enter_* {{ {body} }}", tmp_path)
    assert len(meta["probes"]) > 300
    assert all(p["attach"]["category"] == "syscalls" for p in meta["probes"])


def test_few_events_keep_their_own_perf_events(tmp_path):
    meta = _meta("tracepoint:syscalls:sys_enter_read* { @[probe] = count(); }", tmp_path)
    assert all(p["attach"]["category"] == "syscalls" for p in meta["probes"])


def test_every_syscall_event_of_this_kernel_has_its_number():
    names = {p.name.removeprefix("sys_enter_") for p in Path("/sys/kernel/tracing/events/syscalls").iterdir()
             if p.name.startswith("sys_enter_")}
    assert names and not names - set(event_numbers())


def test_syscall_numbers_are_those_of_asm_unistd_64():
    header = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if not header.exists():
        pytest.skip("linux-libc-dev is not installed")
    defined = {m[1]: int(m[2]) for m in re.finditer(r"#define __NR_(\w+) (\d+)", header.read_text())}
    rows = {name: nr for nr, name, _ in syscall_rows()}
    common = set(rows) & set(defined)
    assert len(common) > 300
    assert {n: rows[n] for n in common} == {n: defined[n] for n in common}
