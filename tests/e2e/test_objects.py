"""Compiled objects as users run them: `kt --emit-elf x.o script` then `kt x.o` prints what
`kt script` prints, for every example and a script per host probe kind; a broken, foreign,
newer or other-kernel object gets one clear error; running an object imports neither llvmlite
nor lark; `--emit-llvm FILE` writes bpftrace 0.17's two files.

Every script traces only the -c child it runs (cpid), or a child of the test (iter)."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from kt.compiler.formats.elffile import ElfFile
from kt.compiler.formats.meta import FORMAT_VERSION

from .conftest import run_kt

pytestmark = pytest.mark.kernel

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

WORKLOAD = r"""
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/sdt.h>
__attribute__((noinline)) int leaf(int x) { STAP_PROBE1(ktobj, leaf, x); return x * 2; }
int main(void) {
    int s = 0;
    for (int i = 0; i < 5; i++) s += leaf(i);
    for (int i = 0; i < 3; i++) {
        int fd = open("/etc/hostname", O_RDONLY);
        char buf[64];
        if (fd >= 0) { (void)!read(fd, buf, sizeof buf); close(fd); }
        getppid();
    }
    return s == 20 ? 0 : 1;   /* prints nothing: its output would mix with the trace's */
}
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> str:
    """The child every script traces: a uniquely named program (its comm is in the output)."""
    if not (os.path.exists("/usr/include/x86_64-linux-gnu/sys/sdt.h") or os.path.exists("/usr/include/sys/sdt.h")):
        pytest.fail("<sys/sdt.h> is missing: apt-get install systemtap-sdt-dev")
    d = tmp_path_factory.mktemp("objects")
    (d / "w.c").write_text(WORKLOAD)
    exe = d / "ktobjwork"
    subprocess.run(["gcc", "-O0", "-o", str(exe), str(d / "w.c")], check=True)
    return str(exe)


def _numbers(text: str) -> str:
    return re.sub(r"\d+", "N", text)


def _pid_column(text: str) -> str:
    return re.sub(r"^\d+ ", "PID ", text, flags=re.M)


def _same_as_script(tmp_path: Path, script: str | Path, command: str, normalize=lambda s: s,
                    extra: tuple[str, ...] = ()) -> str:
    """Compile `script` (a file, or -e text) to an object, run both on `command`, and check
    they print the same; returns the output."""
    obj = tmp_path / "x.o"
    src = ("-e", script) if isinstance(script, str) else (str(script),)
    built = run_kt(*extra, "--emit-elf", str(obj), *src)
    assert built.rc == 0, built.err
    assert obj.read_bytes()[:4] == b"\x7fELF"
    from_object = run_kt(*extra, str(obj), "-c", command)
    from_script = run_kt(*extra, *src, "-c", command)
    assert from_script.rc == 0, from_script.err
    assert from_object.rc == 0, from_object.err
    assert from_object.out, from_object.err
    assert normalize(from_object.out) == normalize(from_script.out)
    return from_object.out


# ---- every example ------------------------------------------------------------------------------

@pytest.mark.parametrize("example,normalize", [
    ("execs.kt", _pid_column),
    ("opensnoop.kt", _pid_column),
    ("syscount.kt", lambda s: s),
    # latencies differ from run to run; calls and the maps' keys do not
    ("syslatency.kt", lambda s: re.sub(r"^(@(?:total|min|avg|max)_ns\[[^]]*\]): \d+$", r"\1: N", s, flags=re.M)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_every_example_runs_from_its_object(tmp_path, work, example, normalize):
    out = _same_as_script(tmp_path, EXAMPLES / example, work, normalize)
    assert "ktobjwork" in out


def test_examples_are_all_tested():
    tested = {"execs.kt", "opensnoop.kt", "syscount.kt", "syslatency.kt"}
    assert {p.name for p in EXAMPLES.glob("*.kt")} == tested


# ---- one script per host probe kind -----------------------------------------------------------

def test_tracepoint_with_args(tmp_path, work):
    out = _same_as_script(tmp_path, 'tracepoint:syscalls:sys_enter_openat /pid == cpid/ '
                                    '{ @[str(args->filename)] = count(); } '
                                    'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @nr = sum(args->__syscall_nr); }',
                          work)
    assert "@[/etc/hostname]: " in out and "@nr: 330\n" in out


def test_uprobe_uretprobe_usdt(tmp_path, work):
    out = _same_as_script(tmp_path, f'uprobe:{work}:leaf /pid == cpid/ {{ @args = sum(arg0); }} '
                                    f'uretprobe:{work}:leaf /pid == cpid/ {{ @ret = sum(retval); }} '
                                    f'usdt:{work}:ktobj:leaf /pid == cpid/ {{ printf("usdt %d %s\\n", arg0, probe); }}',
                          work)
    assert "@args: 10\n" in out and "@ret: 20\n" in out
    assert f"usdt 4 usdt:{work}:ktobj:leaf\n" in out


def test_interval_profile_software(tmp_path, work):
    out = _same_as_script(tmp_path, 'interval:ms:10 { @i[1] = 1; } interval:ms:300 { exit(); } '
                                    'profile:hz:997 { @p[1] = 1; } '
                                    'software:page-faults:1 /pid == cpid/ { @faults[comm] = 1; }',
                          "/bin/sleep 2")
    assert "@faults[sleep]: 1\n" in out and "@i[1]: 1\n" in out and "@p[1]: 1\n" in out


def test_begin_end_printf_and_formats(tmp_path, work):
    out = _same_as_script(tmp_path, 'BEGIN { printf("begin %s %d\\n", "x", -3); @h = hist(5); @l = lhist(7, 0, 10, 2); '
                                    '@s = stats(4); print((1, "two")); } '
                                    'END { printf("end %x\\n", 255); time("%Y\\n"); }', work,
                          normalize=lambda s: re.sub(r"^\d{4}$", "YEAR", s, flags=re.M))
    assert out.startswith("begin x -3\n(1, two)\n") and "end ff\n" in out


def test_rawtracepoint(tmp_path, work):
    out = _same_as_script(tmp_path, 'rawtracepoint:sched_process_exit /pid == cpid/ { @exits[comm] = count(); }', work)
    assert "@exits[ktobjwork]: 1\n" in out


def test_iter(tmp_path):
    sleeper = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL)
    try:
        script = f'iter:task /ctx->task->pid == {sleeper.pid}/ {{ printf("%s %d\\n", ctx->task->comm, ctx->task->pid); }}'
        obj = tmp_path / "iter.o"
        assert run_kt("--emit-elf", str(obj), "-e", script).rc == 0
        a, b = run_kt(str(obj)), run_kt("-e", script)
        assert a.rc == b.rc == 0, a.err + b.err
        assert a.out == b.out == f"sleep {sleeper.pid}\n\n\n"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_json_output_from_an_object(tmp_path, work):
    _same_as_script(tmp_path, 'uprobe:' + work + ':leaf /pid == cpid/ { @[arg0] = count(); }', work,
                    extra=("-f", "json"))


# ---- running an object imports no compiler -----------------------------------------------------

def test_running_an_object_imports_neither_llvmlite_nor_lark(tmp_path):
    obj = tmp_path / "x.o"
    assert run_kt("--emit-elf", str(obj), "-e", 'BEGIN { printf("hi\\n"); exit(); }').rc == 0
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "kt.runtime.cli", str(obj)],
                          capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hi\n\n\n"
    imported = re.findall(r"^import time:.*\|\s*([\w.]+)$", proc.stderr, re.M)
    assert "kt.runtime.session" in imported
    heavy = [m for m in imported if m.split(".")[0] in ("llvmlite", "lark", "elftools")
             or m in ("kt.compiler.driver", "kt.compiler.elf", "kt.compiler.kernel_types")
             or m.startswith(("kt.compiler.codegen", "kt.compiler.parse", "kt.compiler.passes"))]
    assert heavy == []


# ---- one clear error per broken object --------------------------------------------------------

@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    """An object that reads kernel BTF (comm) and a tracepoint's record."""
    obj = tmp_path_factory.mktemp("good") / "good.o"
    r = run_kt("--emit-elf", str(obj), "-e", 'tracepoint:syscalls:sys_enter_openat /pid == cpid/ '
               '{ @[comm, str(args->filename)] = count(); }')
    assert r.rc == 0, r.err
    return obj.read_bytes()


def _section(data: bytes, name: str):
    return next(s for s in ElfFile(data).sections if s.name == name)


def _cut_in(data: bytes, name: str) -> bytes:
    """The object cut half way into section `name`, its section table kept (moved to the new
    end): a file truncated in that section, with a readable table."""
    sec = _section(data, name)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    head = data[:sec.offset + sec.size // 2]
    head += bytes(-len(head) % 8)
    out = bytearray(head + data[shoff:shoff + shentsize * shnum])
    struct.pack_into("<Q", out, 0x28, len(head))
    return bytes(out)


def _patch_meta(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace bytes inside .kt.meta by as many others (the layout of the file is kept)."""
    assert len(old) == len(new)
    sec = _section(data, ".kt.meta")
    meta = data[sec.offset:sec.offset + sec.size]
    assert old in meta, meta
    return data[:sec.offset] + meta.replace(old, new, 1) + data[sec.offset + sec.size:]


def _meta(data: bytes) -> dict:
    sec = _section(data, ".kt.meta")
    return json.loads(data[sec.offset:sec.offset + sec.size].rstrip(b"\0"))


def _corrupt(data: bytes, how: str) -> bytes:
    if how == "not ELF":
        return b"BEGIN { exit(); }\n"
    if how == "in the header":
        return data[:40]
    if how == "in the section table":
        return data[:len(data) - 30]
    if how == "in .kt.meta":
        return _cut_in(data, ".kt.meta")
    if how == "in .BTF":
        return _cut_in(data, ".BTF")
    if how == "not BPF":
        return Path("/bin/true").read_bytes()
    if how == "no .kt.meta":
        shstrndx, = struct.unpack_from("<H", data, 0x3E)
        shstr = ElfFile(data).sections[shstrndx]
        names = data[shstr.offset:shstr.offset + shstr.size]
        at = shstr.offset + names.index(b".kt.meta\0")
        return data[:at] + b".kt.xxxx" + data[at + 8:]
    if how == "bad JSON":
        return _patch_meta(data, b'{"version"', b'["version"')
    if how == "bad schema":
        return _patch_meta(data, b'"agg":"count"', b'"agg":"cnt00"')
    if how == "newer format":
        # the version is the length of a byte: patched in place (FORMAT_VERSION < 9)
        return _patch_meta(data, f'"version":{FORMAT_VERSION}'.encode(), f'"version":{FORMAT_VERSION + 1}'.encode())
    if how == "other BTF":
        sha = _meta(data)["kernel_btf"]["sha256"].encode()
        return _patch_meta(data, sha, b"0" * len(sha))
    if how == "other tracepoint layout":
        digest = _meta(data)["tracepoint_layouts"]["syscalls:sys_enter_openat"].encode()
        return _patch_meta(data, digest, b"f" * len(digest))
    raise AssertionError(how)


@pytest.mark.parametrize("how,message", [
    ("not ELF", r"not an ELF object"),
    ("in the header", r"the object is truncated or corrupt \(truncated ELF header; the file has 40 bytes\)"),
    ("in the section table", r"the object is truncated or corrupt \(section headers outside the file"),
    ("in .kt.meta", r"the object is truncated or corrupt \(a section extends past the end of the file"),
    ("in .BTF", r"the object is truncated or corrupt \(.*a section extends past the end of the file"),
    ("not BPF", r"not a BPF object: its ELF machine is 62, not BPF \(247\)"),
    ("no .kt.meta", r"a BPF object without a \.kt\.meta section: it was not built by kt"),
    ("bad JSON", r"\.kt\.meta is not valid JSON .*: the object is corrupt"),
    ("bad schema", r"\.kt\.meta: maps\[0\]\.agg: unknown aggregation 'cnt00'"),
    ("newer format", rf"object format {FORMAT_VERSION + 1} is newer than this kt reads \({FORMAT_VERSION}\): "
                     "rebuild with this kt or upgrade kt"),
    ("other BTF", r"built for the kernel BTF of .* but this kernel \(.*\) has different BTF .*rebuild the object"),
    ("other tracepoint layout", r"tracepoint syscalls:sys_enter_openat's record layout differs .*rebuild"),
])
def test_broken_object_is_one_clear_error(tmp_path, good, how, message):
    bad = tmp_path / "out.o"
    bad.write_bytes(_corrupt(good, how))
    r = run_kt(str(bad), "-c", "/bin/true")
    assert r.rc == 1, r.err
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert lines[0].startswith(f"kt: error: {bad}: "), r.err
    assert re.search(message, lines[0]), r.err


@pytest.mark.parametrize("flag", [("-d", "all"), ("--emit-elf", "y.o"), ("--emit-llvm", "y.ll"), ("-k",)])
def test_source_options_on_an_object_are_an_error(tmp_path, good, flag):
    obj = tmp_path / "good.o"
    obj.write_bytes(good)
    r = run_kt(*flag, str(obj))
    assert r.rc == 1
    assert r.err.startswith(f"kt: error: {obj}: {flag[0]} applies to compiling a script"), r.err


def test_the_good_object_runs(tmp_path, good):
    obj = tmp_path / "good.o"
    obj.write_bytes(good)
    r = run_kt(str(obj), "-c", "cat /etc/hostname")
    assert r.rc == 0, r.err
    assert "@[cat, /etc/hostname]: 1\n" in r.out


# ---- --emit-llvm, as bpftrace 0.17 --------------------------------------------------------------

def test_emit_llvm_writes_both_modules_and_runs(tmp_path):
    # 0.17 writes FILE.original.ll and FILE.optimized.ll, then runs the program
    base = tmp_path / "out.ll"
    r = run_kt("--emit-llvm", str(base), "-e", 'BEGIN { printf("hi\\n"); exit(); }')
    assert r.rc == 0, r.err
    assert r.out == "hi\n\n\n"
    assert not base.exists()
    for suffix in ("original", "optimized"):
        text = (tmp_path / f"out.ll.{suffix}.ll").read_text()
        assert "target triple" in text and "define" in text


def test_emit_elf_from_a_file_and_from_e(tmp_path):
    script = tmp_path / "s.kt"
    script.write_text('BEGIN { printf("file\\n"); exit(); }')
    for src, want in (((str(script),), "file\n"), (("-e", 'BEGIN { printf("e\\n"); exit(); }'), "e\n")):
        obj = tmp_path / "s.o"
        r = run_kt("--emit-elf", str(obj), *src)
        assert r.rc == 0 and r.out == "", r.err
        assert run_kt(str(obj)).out == want + "\n\n"
