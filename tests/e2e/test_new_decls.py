"""bpftrace 0.20-0.26's top level under kt: the config block, map declarations, begin/end and
case-insensitive provider names, self:signal:SIGUSR1 probes (docs/language.md "Top level").

Where bpftrace 0.17 has a spelling of the same script (BEGIN/END, env vars for config keys, an
undeclared map), both run and print the same; the rest is checked against 0.26's docs. Every
trace is of the test's own -c child or BEGIN/END.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from kt.runtime.spec import parse_object

from .conftest import kt_command, run_kt
from .test_differential import CHILD_ENV, NEEDS_BPFTRACE, _bpftrace, _comparable

pytestmark = [pytest.mark.kernel]
TARGETS = Path(__file__).parent / "targets"


@pytest.fixture(scope="module")
def getppid_loop(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("decls")
    subprocess.run(["gcc", "-O1", "-o", str(d / "loop"), str(TARGETS / "getppid_loop.c")], check=True)
    return str(d / "loop")


def _kt(script: str, command: str | None = None, env: dict | None = None) -> str:
    r = run_kt("-e", script, *(["-c", command] if command else []), timeout=120, env={**CHILD_ENV, **(env or {})})
    assert r.rc == 0, r.err
    assert "Traceback" not in r.err
    return r.out


def _bpftrace_env(script: str, command: str | None, env: dict) -> str:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return _bpftrace(script, command)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---- begin/end, provider names ------------------------------------------------------------

PROBE_NAMES = (
    # (kt's 0.24+ spelling, bpftrace 0.17's)
    ('begin { printf("EV start\\n"); } Begin { printf("EV second\\n"); } '
     'Tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @calls = count(); @by[comm] = count(); } '
     'TRACEPOINT:syscalls:sys_exit_getppid /pid == cpid/ { @ret = max(args.ret > 0); } '
     'end { printf("EV end %d\\n", 1); } END { printf("EV END\\n"); }',
     'BEGIN { printf("EV start\\n"); printf("EV second\\n"); } '
     'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @calls = count(); @by[comm] = count(); } '
     'tracepoint:syscalls:sys_exit_getppid /pid == cpid/ { @ret = max(args->ret > 0); } '
     'END { printf("EV end %d\\n", 1); printf("EV END\\n"); }'),
)


@NEEDS_BPFTRACE
@pytest.mark.parametrize("new, old", PROBE_NAMES)
def test_lowercase_begin_end_and_providers_print_as_017(new, old, getppid_loop):
    command = f"{getppid_loop} 50"
    theirs = _comparable(_bpftrace(old, command))
    ours = _comparable(_kt(new, command))
    assert theirs and ours == theirs


def test_begin_end_only_exit_by_themselves_in_any_case():
    out = _kt('begin { printf("a\\n"); } BEGIN { printf("b\\n"); } end { printf("c\\n"); } End { printf("d\\n"); }')
    assert out.split() == ["a", "b", "c", "d"]


def test_interval_and_uprobe_provider_names_are_case_insensitive(getppid_loop):
    out = _kt('Uprobe:' + getppid_loop + ':main { @main = count(); }', f"{getppid_loop} 10")
    assert "@main: 1" in out.splitlines()
    assert "@ticks: 1" in _kt("INTERVAL:ms:20 { @ticks = count(); exit(); }").splitlines()


def test_short_aliases_keep_their_case():
    r = run_kt("--dry-run", "-e", "T:syscalls:sys_enter_getppid { }")
    assert r.rc == 1 and "unknown probe type 'T'" in r.err


# ---- config ---------------------------------------------------------------------------------

CONFIG_SCRIPT = ('tracepoint:syscalls:sys_enter_openat /pid == cpid/ {{ @[str(args.filename)] = count(); }} '
                 'tracepoint:syscalls:sys_exit_openat /pid == cpid/ {{ @ret = count(); }}')


@NEEDS_BPFTRACE
def test_config_keys_act_as_017s_environment_variables():
    command = "/usr/bin/cat /etc/hostname /etc/os-release"
    body = CONFIG_SCRIPT.format().replace("args.filename", "args->filename")
    theirs = _comparable(_bpftrace_env(body, command, {"BPFTRACE_STRLEN": "8", "BPFTRACE_MAP_KEYS_MAX": "3"}))
    ours = _comparable(_kt("config = { max_strlen = 8; BPFTRACE_MAX_MAP_KEYS = 3 } " + CONFIG_SCRIPT.format(),
                           command))
    assert theirs and ours == theirs


def test_environment_wins_over_the_config_block():
    script = 'config = { max_strlen = 4 } begin { printf("%s|\\n", str($1)); }'
    assert run_kt("-e", script, "abcdefgh").out.splitlines()[0] == "abc|"
    assert run_kt("-e", script, "abcdefgh", env={"BPFTRACE_STRLEN": "6"}).out.splitlines()[0] == "abcde|"


def test_run_time_config_travels_in_the_object(tmp_path):
    obj = tmp_path / "out.o"
    script = 'config = { print_maps_on_exit = false; max_cat_bytes = 3 } begin { @x = 1; cat("/etc/os-release"); exit(); }'
    r = run_kt("--emit-elf", str(obj), "-e", script)
    assert r.rc == 0, r.err
    assert parse_object(obj.read_bytes()).meta.config == (("max_cat_bytes", 3), ("print_maps_on_exit", False))
    r = run_kt(str(obj))
    assert r.rc == 0, r.err
    assert "@x" not in r.out
    assert r.out.startswith(Path("/etc/os-release").read_text()[:3])
    # the environment's BPFTRACE_CAT_BYTES_MAX wins over the block, also for an object
    r = run_kt(str(obj), env={"BPFTRACE_CAT_BYTES_MAX": "5"})
    assert r.out.startswith(Path("/etc/os-release").read_text()[:5])


def test_config_print_maps_on_exit_true_prints_as_without_it():
    out = _kt("config = { print_maps_on_exit = true } begin { @x = 1; exit(); }")
    assert "@x: 1" in out.splitlines()


@pytest.mark.parametrize("script, message", [
    ("config = { max_strlenn = 8 } begin { }", "unknown config key 'max_strlenn'"),
    ("config = { max_strlen = abc } begin { }", "config max_strlen takes a number, not abc"),
    ("config = { print_maps_on_exit = maybe } begin { }", "takes true or false, not maybe"),
    ("config = { max_strlen = 100000 } begin { }", "takes 1 to 200 bytes"),
    ("config = { missing_probes = warn } begin { }", "config 'missing_probes' is not supported by kt"),
    ("config = { stack_mode = perf } begin { }", "config stack_mode=perf is not supported by kt"),
    ('config = { license = "MIT" } begin { }', 'config license="MIT" is not supported by kt'),
    ("config = { log_size = 1; log_size = 2 } begin { }", "config 'log_size' is set twice"),
    ("begin { } config = { log_size = 1 }", "the config block must come before the probes"),
])
def test_config_errors_are_located(script, message):
    r = run_kt("--dry-run", "-e", script)
    assert r.rc == 1 and message in r.err, r.err
    assert "stdin:1:" in r.err


# ---- map declarations ------------------------------------------------------------------------

def _map_types(tmp_path, script: str) -> dict[str, str]:
    obj = tmp_path / "m.o"
    r = run_kt("--emit-elf", str(obj), "-e", script)
    assert r.rc == 0, r.err
    return {m.name: (m.map_type.name, m.max_entries) for m in parse_object(obj.read_bytes()).maps.values()
            if m.name.startswith("AT_")}


def test_declared_maps_get_their_bpf_type_and_size(tmp_path):
    types = _map_types(tmp_path, 'let @h = hash(10); let @l = lruhash(20); let @p = percpuhash(30); '
                                 'let @pl = percpulruhash(40); let @a = percpuarray(1); '
                                 'begin { @h[1] = 1; @l[1] = 1; @p[1] = count(); @pl[1] = sum(2); @a = count(); '
                                 '@plain[1] = 1; }')
    assert types == {"AT_h": ("HASH", 10), "AT_l": ("LRU_HASH", 20), "AT_p": ("PERCPU_HASH", 30),
                     "AT_pl": ("LRU_PERCPU_HASH", 40), "AT_a": ("PERCPU_ARRAY", 1), "AT_plain": ("HASH", 4096)}


@NEEDS_BPFTRACE
def test_declared_maps_print_as_017s_undeclared_ones(getppid_loop):
    body = ('tracepoint:syscalls:sys_enter_getppid /pid == cpid/ {{ @c[comm] = count(); @s = sum(1); '
            '@h = hist(5); @l[1] = lhist(3, 0, 10, 1); @v[comm] = 7; @a = avg(4); }} '
            'tracepoint:syscalls:sys_exit_getppid /pid == cpid/ {{ @st[comm] = stats(args{arrow}ret > 0); }}')
    command = f"{getppid_loop} 40"
    theirs = _comparable(_bpftrace(body.format(arrow="->"), command))
    ours = _comparable(_kt('let @c = percpulruhash(16); let @s = percpuarray(1); let @h = percpuhash(1); '
                           'let @l = percpulruhash(4); let @v = lruhash(8); let @st = percpuhash(8); '
                           + body.format(arrow="."), command))
    assert theirs and ours == theirs


def test_lruhash_evicts_instead_of_refusing():
    r = run_kt("-e", 'let @h = lruhash(3); begin { @h[1] = 1; @h[2] = 2; @h[3] = 3; @h[4] = 4; @h[5] = 5; exit(); }')
    assert r.rc == 0, r.err
    lines = [l for l in r.out.splitlines() if l.startswith("@h[")]
    assert 1 <= len(lines) <= 3 and "@h[5]: 5" in lines
    assert "is full" not in r.err


def test_hash_declaration_caps_the_map():
    r = run_kt("-e", 'let @h = hash(2); begin { @h[1] = 1; @h[2] = 2; @h[3] = 3; exit(); }')
    assert r.rc == 0, r.err
    assert [l for l in r.out.splitlines() if l.startswith("@h[")] == ["@h[1]: 1", "@h[2]: 2"]
    assert "map @h is full (2 keys)" in r.err


@pytest.mark.parametrize("script, message", [
    ("let @m = hsah(3); begin { @m[1] = 1; }", "unknown map type 'hsah'"),
    ("let @m = hash(3); begin { @m[1] = count(); }", "map @m is declared hash but holds count()"),
    ("let @m = percpuhash(3); begin { @m[1] = 1; }", "map @m is declared percpuhash but holds a value"),
    ("let @m = percpuarray(1); begin { @m[1] = count(); }", "declared percpuarray but has keys"),
    ("let @m = percpuarray(4); begin { @m = count(); }", "percpuarray(4): a keyless map has one entry"),
    ("let @m = hash(0); begin { @m[1] = 1; }", "hash() takes the map's max entries"),
    ("let @m = hash(2); let @m = hash(3); begin { @m[1] = 1; }", "map @m is declared twice"),
    ("config = { unstable_map_decl = error } let @m = hash(2); begin { @m[1] = 1; }",
     "map declarations are disabled by the config's unstable_map_decl=error"),
])
def test_map_declaration_errors_are_located(script, message):
    r = run_kt("--dry-run", "-e", script)
    assert r.rc == 1 and message in r.err, r.err


def test_unused_declaration_and_unstable_warn_are_warnings():
    r = run_kt("--dry-run", "-e", "config = { unstable_map_decl = warn } let @m = hash(2); let @u = hash(2); "
                                  "begin { @m[1] = 1; }")
    assert r.rc == 0, r.err
    assert "map @u is declared but never used" in r.err
    assert "unstable feature" in r.err


# ---- self:signal:SIGUSR1 ----------------------------------------------------------------------

def test_self_signal_probe_runs_on_each_sigusr1():
    script = ('begin { @n = 5; printf("ready\\n"); } '
              'self:signal:SIGUSR1 { printf("usr1 %d\\n", @n); @n++; if (@n == 7) { exit(); } }')
    proc = subprocess.Popen(kt_command() + ["-B", "line", "-e", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGUSR1)
        assert proc.stdout.readline() == "usr1 5\n"
        proc.send_signal(signal.SIGUSR1)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    # the probe replaced SIGUSR1's map printing; the exit prints the maps as always
    assert out.splitlines()[0] == "usr1 6"
    assert "@n: 7" in out.splitlines()


def test_sigusr1_without_a_self_probe_still_prints_the_maps():
    proc = subprocess.Popen(kt_command() + ["-B", "line", "-e", 'begin { @n = 3; printf("ready\\n"); }'
                                            ' interval:s:30 { exit(); }'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGUSR1)
        assert proc.stdout.readline() == "@n: 3\n"
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("script, message", [
    ("self:signal:SIGUSR2 { }", "self:signal takes SIGUSR1, not 'SIGUSR2'"),
    ("self:sig { }", "a self probe is 'self:signal:SIGNAL'"),
])
def test_self_probe_errors_are_located(script, message):
    r = run_kt("--dry-run", "-e", script)
    assert r.rc == 1 and message in r.err, r.err
