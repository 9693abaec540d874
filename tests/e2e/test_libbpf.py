"""kt objects under the system's libbpf (1.1): `kt --emit-elf` output opened, loaded and attached
by a small C loader (tests/e2e/libbpf_loader.c, built with gcc -lbpf), as a user's own loader
would. Every program must load; those of kinds libbpf attaches from the section name alone
must attach so, the others (BEGIN/END, perf events) must be left to the loader without failing
the object. Where a probe fires, its map is dumped by the loader. Scripts filter on the pid of
the loader's COMMAND, which it writes into `kt_cpid` (.rodata) before loading, as kt -c does.

kprobe, kretprobe, fentry and fexit are checked in the 6.1 guest (tests/vm/guest/
test_libbpf_guest.py): this host has no kprobes and its lockdown refuses fentry.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from .conftest import run_kt
from .libbpf_run import alive, bpftool_show, build_loader, check_every_program, parse, run_loader
from .test_usdt import GATE, PROG

pytestmark = pytest.mark.kernel

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.kt"))


@pytest.fixture(scope="module")
def loader(tmp_path_factory) -> str:
    return build_loader(tmp_path_factory.mktemp("libbpf"))


@pytest.fixture(scope="module")
def usdt_prog(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("usdt")
    (d / "prog.c").write_text(PROG)
    (d / "gate.c").write_text(GATE)
    subprocess.run(["gcc", "-O2", "-o", str(d / "prog"), str(d / "prog.c"), str(d / "gate.c")], check=True)
    return str(d / "prog")


def emit(tmp_path: Path, script: str | Path, name: str = "out.o") -> str:
    out = tmp_path / name
    args = [str(script)] if isinstance(script, Path) else ["-e", script]
    r = run_kt("--emit-elf", str(out), *args)
    assert r.rc == 0, r.err
    return str(out)


def per_cpu_sum(value: bytes) -> int:
    """A PERCPU map's value as the loader dumps it: one u64 count per CPU."""
    return sum(struct.unpack(f"<{len(value) // 8}q", value))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_opens_loads_and_attaches(loader, tmp_path, example):
    obj = emit(tmp_path, example)
    run = run_loader(loader, obj)
    check_every_program(run, obj)
    assert not alive(run)


def test_tracepoint_counts_into_a_map_with_a_key_struct(loader, tmp_path):
    obj = emit(tmp_path, "tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[comm, pid] = count(); }")
    run = run_loader(loader, obj, "--dump", "AT_", command=["/bin/true"])
    check_every_program(run, obj)
    (key, value), = run.dumps["AT_"]
    assert key[:16].rstrip(b"\0") == b"true" and struct.unpack_from("<Q", key, 16)[0] == run.child
    assert per_cpu_sum(value) > 0     # ld.so opens libc
    btf = subprocess.run(["bpftool", "btf", "dump", "file", obj, "format", "c"], capture_output=True,
                         text=True, check=True).stdout
    assert "struct AT_key {\n\tchar f0[16];\n\tunsigned long long f1;\n};" in btf


def test_aggregation_values_are_structs_in_btf(tmp_path):
    obj = emit(tmp_path, "tracepoint:syscalls:sys_enter_openat { @a = avg(pid); @mx[comm] = max(pid); "
                         "@mn = min(pid); @h[pid] = hist(pid); @t[tid] = (pid, comm); }")
    btf = subprocess.run(["bpftool", "btf", "dump", "file", obj, "format", "c"], capture_output=True,
                         text=True, check=True).stdout
    for struct_text in ("struct kt_avg {\n\tlong long total;\n\tunsigned long long count;\n};",
                        "struct kt_max {\n\tlong long value;\n\tunsigned long long set;\n};",
                        "struct kt_min {\n\tlong long value;\n\tunsigned long long set;\n};",
                        "struct AT_h_key {\n\tunsigned long long key;\n\tunsigned long long bucket;\n};",
                        "struct AT_t_value {\n\tunsigned long long f0;\n\tchar f1[16];\n};"):
        assert struct_text in btf, btf
    raw = subprocess.run(["bpftool", "btf", "dump", "file", obj], capture_output=True, text=True,
                         check=True).stdout
    assert "VAR 'AT_mx' type_id=" in raw and "VAR 'kt_events' type_id=" in raw


def test_a_probe_split_into_subprograms_loads_with_libbpf(loader, tmp_path):
    """A long body's chunks are static functions in .text (compiler/codegen/chunks.py),
    which libbpf appends to the program that calls them, as kt's loader does."""
    script = tmp_path / "long.kt"
    script.write_text("tracepoint:syscalls:sys_enter_openat /pid == cpid/ {\n"
                      + "@ = count();\n" * 400 + "}\n")
    obj = emit(tmp_path, script)
    run = run_loader(loader, obj, "--dump", "AT_", command=["/bin/true"])
    check_every_program(run, obj)
    (_, value), = run.dumps["AT_"]
    assert per_cpu_sum(value) % 400 == 0 and per_cpu_sum(value) > 0


def test_raw_tracepoint_attaches_by_name(loader, tmp_path):
    obj = emit(tmp_path, "rawtracepoint:sys_enter /pid == cpid/ { @ = count(); }")
    run = run_loader(loader, obj, "--dump", "AT_", command=["/bin/true"])
    check_every_program(run, obj)
    (_, value), = run.dumps["AT_"]
    assert per_cpu_sum(value) > 0


def test_uprobe_uretprobe_and_usdt_attach_by_name(loader, tmp_path, usdt_prog):
    p = usdt_prog
    obj = emit(tmp_path, f"uprobe:{p}:work /pid == cpid/ {{ @w = count(); }} "
                         f"uretprobe:{p}:gate /pid == cpid/ {{ @g = count(); }} "
                         f"uprobe:{p}:g*e /pid == cpid/ {{ @wild = count(); }} "
                         f"usdt:{p}:kt:pair /pid == cpid/ {{ @pair = count(); }} "
                         f"usdt:{p}:single /pid == cpid/ {{ @s = sum(arg0); }} "
                         f"usdt:{p}:kt:gate /pid == cpid/ {{ @sema = count(); }}")
    run = run_loader(loader, obj, *[a for m in ("w", "g", "wild", "pair", "s", "sema") for a in ("--dump", f"AT_{m}")],
                     command=[p])
    check_every_program(run, obj)
    sections = {s.section for s in run.programs.values()}
    assert {f"uprobe/{p}:work", f"uretprobe/{p}:gate", f"uprobe/{p}:gate", f"usdt/{p}:kt:pair",
            f"usdt/{p}:kt:single", f"usdt/{p}:kt:gate"} == sections
    counts = {m: per_cpu_sum(run.dumps[f"AT_{m}"][0][1]) for m in ("w", "g", "wild", "pair", "sema")}
    # the wildcard attaches the first match only under libbpf (kt attaches every one)
    assert counts == {"w": 5, "g": 5, "wild": 5, "pair": 10, "sema": 5}
    # a keyless sum is a per-CPU {sum, set} per CPU; one site: no cookie read
    s = run.dumps["AT_s"][0][1]
    assert sum(struct.unpack_from("<q", s, off)[0] for off in range(0, len(s), 16)) == -3
    assert "usdt" in run.out and "__bpf_usdt_specs" in run.maps


@pytest.mark.parametrize("script", [
    "BEGIN { printf(\"hi\\n\"); } END { printf(\"bye\\n\"); }",
    "interval:s:1 { exit(); } profile:hz:99 { @p = count(); } software:cpu-clock:100000 { @s = count(); }",
    "hardware:cpu-cycles:1000000 { @h = count(); } BEGIN { @b = 1; }",
    "watchpoint:0x10000000:8:w { @w = count(); }",
], ids=["begin-end", "timers", "hardware", "watchpoint"])
def test_programs_for_the_loader_share_known_sections(loader, tmp_path, script):
    """BEGIN and END share `raw_tp`, perf events `perf_event`: libbpf loads each program and
    leaves attaching to the loader (bpf_program__attach fails, the object does not)."""
    obj = emit(tmp_path, script)
    run = run_loader(loader, obj)
    check_every_program(run, obj)
    assert {p.section for p in run.programs.values()} <= {"raw_tp", "perf_event"}
    assert not alive(run)


def test_iterator_attaches_and_runs(loader, tmp_path):
    obj = emit(tmp_path, "iter:task /ctx->task->pid == cpid/ { @ = count(); }")
    run = run_loader(loader, obj, "--dump", "AT_", command=["/bin/true"])
    check_every_program(run, obj)
    assert run.iters == {"iter_task": 0}     # its output goes to kt's ring, not the seq file
    (_, value), = run.dumps["AT_"]
    assert per_cpu_sum(value) == 1           # the held child, once


def test_bpftool_shows_the_maps_by_name_while_loaded(loader, tmp_path):
    obj = emit(tmp_path, "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); "
                         "@a_rather_long_map_name = count(); } BEGIN { @x = 1; }")
    proc = subprocess.Popen([loader, obj, "--wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or lines[-1] != "ready\n":
            line = proc.stdout.readline()
            assert line, "".join(lines) + proc.stderr.read()
            lines.append(line)
        run = parse(0, "".join(lines), "")
        shown = bpftool_show("map")
        names = {shown[i]["name"] for i in run.maps.values()}
        # the kernel keeps 15 characters of a name; libbpf and kt cut them alike
        assert {"AT_", "AT_a_rather_lon", "AT_x", "kt_events", "kt_lost"} <= names, names
        progs = bpftool_show("prog")   # bpftool names programs by their BTF FUNC, uncut
        assert {progs[p.id]["name"] for p in run.programs.values()} == {"tp_syscalls_sys_enter_openat", "BEGIN"}
    finally:
        out, err = proc.communicate("\n", timeout=30)
    assert proc.returncode == 0 and out.endswith("closed\n"), err
    assert not alive(run)
