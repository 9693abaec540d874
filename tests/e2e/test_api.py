"""kt's Python API (docs/api.md) in the real kernel: every example of the doc runs as written,
maps and events come back as Python values, objects round-trip through files, errors are
exceptions with their diagnostic, and leaving a trace leaves nothing loaded.

Every trace follows its own child: `command=[...]` and `/pid == cpid/`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import kt

from .conftest import run_kt

pytestmark = [pytest.mark.kernel]

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
TARGET = Path(__file__).parent / "targets" / "getppid_loop.c"
CALLS = 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ '
COMM = os.path.basename(sys.executable)[:15]    # the children's comm


def getppid(n: int) -> list[str]:
    return [sys.executable, "-c", f"import os\nfor _ in range({n}): os.getppid()"]


def doc_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(doc_examples())))
def test_doc_example_runs(index):
    """docs/api.md stays true: each ```python block is executed as it is."""
    code = doc_examples()[index]
    exec(compile(code, f"docs/api.md example {index + 1}", "exec"), {})


def test_doc_has_examples():
    assert len(doc_examples()) >= 8


# ---- maps ----------------------------------------------------------------------------------

def test_map_kinds_as_python_values():
    obj = kt.compile(CALLS + '''{
  @count = count(); @sum = sum(@n); @min = min(@n + 5); @max = max(@n); @avg = avg(@n);
  @by_int[@n % 3] = count(); @by_str[comm] = sum(2); @by_tuple[@n % 2, comm, "k"] = count();
  @last = comm; @pair = (@n, "v"); @neg = min(-1 - @n);
  @n++;
}''')
    with kt.trace(obj, command=getppid(6)) as t:
        assert t.wait(timeout=60)
    m = t.maps
    assert m["@count"] == 6
    assert m["@sum"] == 0 + 1 + 2 + 3 + 4 + 5
    assert (m["@min"], m["@max"], m["@avg"], m["@neg"]) == (5, 5, 2, -6)
    assert m["@by_int"] == {0: 2, 1: 2, 2: 2}
    assert m["@by_str"] == {COMM: 12}
    assert m["@by_tuple"] == {(0, COMM, "k"): 3, (1, COMM, "k"): 3}
    assert m["@last"] == COMM
    assert m["@pair"] == (5, "v")
    assert list(m) == sorted(m)   # by name, as kt prints them


def test_keyed_maps_in_print_order():
    """Dicts keep bpftrace's print order: count maps by value, ascending."""
    obj = kt.compile(CALLS + '{ @n++; @k[@n % 4] = count(); if (@n % 4 == 1) { @k[1] = count(); } }')
    with kt.trace(obj, command=getppid(8)) as t:
        t.wait(timeout=60)
    assert t.maps["@k"] == {2: 2, 3: 2, 0: 2, 1: 4}
    assert list(t.maps["@k"].values()) == [2, 2, 2, 4]


def test_hist_lhist_stats_keyed():
    obj = kt.compile(CALLS + '''{
  @h[@n % 2] = hist(@n * 100); @l = lhist(@n, 0, 4, 2); @s[@n % 2] = stats(@n); @n++;
}''')
    with kt.trace(obj, command=getppid(6)) as t:
        t.wait(timeout=60)
    m = t.maps
    # n: 0..5; even n*100: 0, 200, 400; odd: 100, 300, 500
    assert m["@h"][0] == [kt.Bucket(0, 1, 1), kt.Bucket(1, 2, 0), kt.Bucket(2, 4, 0), kt.Bucket(4, 8, 0),
                          kt.Bucket(8, 16, 0), kt.Bucket(16, 32, 0), kt.Bucket(32, 64, 0),
                          kt.Bucket(64, 128, 0), kt.Bucket(128, 256, 1), kt.Bucket(256, 512, 1)]
    assert m["@h"][1] == [kt.Bucket(64, 128, 1), kt.Bucket(128, 256, 0), kt.Bucket(256, 512, 2)]
    assert m["@l"] == [kt.Bucket(0, 2, 2), kt.Bucket(2, 4, 2), kt.Bucket(4, None, 2)]
    assert m["@s"] == {0: kt.Stats(3, 2, 6), 1: kt.Stats(3, 3, 9)}
    assert m["@s"][1].average == 3


def test_stack_and_symbol_values():
    obj = kt.compile(CALLS + '{ @stacks[kstack] = count(); @sym = ksym(0); @who = probe; }')
    with kt.trace(obj, command=getppid(3)) as t:
        t.wait(timeout=60)
    [(stack, n)] = t.maps["@stacks"].items()
    assert n == 3 and isinstance(stack, tuple) and stack and all(isinstance(f, str) for f in stack)
    assert t.maps["@who"] == "tracepoint:syscalls:sys_enter_getppid"
    assert isinstance(t.maps["@sym"], str)


def test_live_maps_change_and_final_values_stay():
    obj = kt.compile('interval:ms:20 { @ticks = count(); }')
    with kt.trace(obj) as t:
        assert t.wait(timeout=0.1) is False     # it runs until stopped
        while (a := t.maps["@ticks"]) < 1:
            time.sleep(0.02)
        while (b := t.maps["@ticks"]) == a:
            time.sleep(0.02)
        assert a < b
    final = t.maps["@ticks"]
    assert final >= b
    assert t.maps["@ticks"] == final     # a snapshot: it does not move after the trace


# ---- events --------------------------------------------------------------------------------

def test_printf_fields_are_decoded_values():
    obj = kt.compile(CALLS + '''{
  printf("%d|%s|%x|%c|%-5s|\\n", @n, comm, 255, 65, "ab"); @n++;
  if (@n == 2) { exit(); }
}''')
    with kt.trace(obj, command=getppid(5)) as t:
        events = list(t.events())
    printfs = [ev for ev in events if isinstance(ev, kt.Printf)]
    assert len(printfs) == 2         # records after exit() are dropped, as kt drops them
    assert printfs[0].fields == (0, COMM, 255, 65, "ab")
    assert printfs[1].text == f"1|{COMM}|ff|A|ab   |\n"
    assert printfs[1].format == "%d|%s|%x|%c|%-5s|\n"


def test_time_join_and_print_records():
    obj = kt.compile('''BEGIN { time("%Y"); print(7); print(("a", 2)); @m[1] = 5; print(@m); exit(); }''')
    with kt.trace(obj) as t:
        events = list(t.events())
    assert isinstance(events[0], kt.Time) and re.fullmatch(r"\d{4}", events[0].text)
    assert events[1] == kt.Print(7, "7\n")
    assert events[2] == kt.Print(("a", 2), "(a, 2)\n")
    assert events[3] == kt.MapPrint("@m", {1: 5}, "@m[1]: 5\n")
    assert t.maps["@m"] == {1: 5}


def test_events_end_when_the_trace_ends_and_again_later():
    obj = kt.compile('BEGIN { printf("hi\\n"); exit(); }')
    with kt.trace(obj) as t:
        assert [ev.text for ev in t.events()] == ["hi\n"]
        assert list(t.events()) == []


@pytest.fixture(scope="module")
def loop(tmp_path_factory) -> str:
    exe = tmp_path_factory.mktemp("api") / "getppid_loop"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(TARGET)], check=True)
    return str(exe)


def test_lost_events_are_counted(loop, monkeypatch):
    """A one-page ring refuses most of a burst: every event is a Printf or counted in t.lost."""
    monkeypatch.setenv("KT_RB_PAGES", "1")
    n = 20000
    obj = kt.compile(CALLS + '{ printf("ev %d\\n", nsecs); }')
    with kt.trace(obj, command=[loop, str(n)]) as t:
        printfs = sum(1 for ev in t.events() if isinstance(ev, kt.Printf))
    assert t.lost > 0
    assert printfs + t.lost == n


# ---- objects -------------------------------------------------------------------------------

def test_object_round_trip_through_a_file(tmp_path):
    obj = kt.compile(CALLS + '{ @calls = count(); }', name="calls.kt")
    path = tmp_path / "calls.o"
    obj.save(path)
    loaded = kt.load(path)
    assert loaded.elf == obj.elf == path.read_bytes()
    with kt.trace(loaded, command=getppid(4)) as t:
        t.wait(timeout=60)
    assert t.maps == {"@calls": 4}
    with kt.trace(path.read_bytes(), command=getppid(2)) as t:   # bytes work as well
        t.wait(timeout=60)
    assert t.maps == {"@calls": 2}


def test_emit_elf_object_loads(tmp_path):
    path = tmp_path / "cli.o"
    res = run_kt("--emit-elf", str(path), "-e", CALLS + '{ @c = count(); }')
    assert res.rc == 0, res.err
    with kt.trace(kt.load(str(path)), command=getppid(3)) as t:
        t.wait(timeout=60)
    assert t.maps == {"@c": 3}


@pytest.mark.parametrize("data", [b"", b"not an object", b"\x7fELF" + bytes(60)])
def test_load_rejects_what_is_not_an_object(data):
    with pytest.raises(kt.ObjectError):
        kt.load(data)


def test_load_rejects_truncated_and_foreign_objects():
    elf = kt.compile(CALLS + '{ @calls = count(); }').elf
    with pytest.raises(kt.ObjectError):
        kt.load(elf[:len(elf) // 2])
    with pytest.raises(kt.ObjectError):
        kt.load("/bin/true")     # an ELF file, not a BPF object


# ---- errors --------------------------------------------------------------------------------

def test_compile_errors_carry_every_diagnostic():
    source = 'BEGIN { @x = pidd; }\nBEGIN { printf("%d\\n", nope); }\n'
    with pytest.raises(kt.CompileError) as info:
        kt.compile(source, name="two.kt")
    err = info.value
    assert [(d.file, d.line, d.column) for d in err.diagnostics] == [("two.kt", 1, 14), ("two.kt", 2, 24)]
    assert all(d.severity == "error" for d in err.diagnostics)
    assert "pidd" in err.diagnostics[0].message and err.diagnostics[0].hints
    assert str(err).startswith("two.kt:1:14: error: unknown builtin 'pidd'\n")
    assert "two.kt:2:24: error:" in str(err)
    assert isinstance(err, kt.Error)


def test_syntax_error():
    with pytest.raises(kt.CompileError) as info:
        kt.compile("BEGIN { printf( }", name="s.kt")
    [d] = info.value.diagnostics
    assert (d.file, d.line) == ("s.kt", 1)


def test_verifier_refusal_is_a_trace_error_with_the_log():
    """An object whose program does not end in exit: the kernel refuses it; the message is
    kt's (the verifier's log), and nothing stays loaded."""
    from kt.runtime.spec import parse_object
    elf = kt.compile(CALLS + '{ @calls = count(); }').elf
    insns = next(p.insns for p in parse_object(elf).programs.values() if "getppid" in p.section)
    at = elf.find(insns)
    assert at > 0 and elf.count(insns) == 1
    broken = elf[:at + len(insns) - 8] + b"\xb7" + bytes(7) + elf[at + len(insns):]   # exit -> mov r0, 0
    before = _own_fds()
    with pytest.raises(kt.TraceError) as info:
        with kt.trace(broken, command=getppid(1)):
            pass
    assert "verifier" in str(info.value)
    assert _own_fds() == before


def test_command_that_cannot_start():
    obj = kt.compile(CALLS + '{ @ = count(); }')
    with pytest.raises(kt.TraceError, match="does not exist or is not executable"):
        kt.trace(obj, command=["/nonexistent/program"]).start()


def test_pid_that_does_not_exist():
    obj = kt.compile(CALLS + '{ @ = count(); }')
    with pytest.raises(kt.TraceError, match="No such process"):
        with kt.trace(obj, pid=2 ** 22 + 12345):
            pass


# ---- resources, threads, positional parameters ----------------------------------------------

def _own_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _bpf_ids() -> dict[str, set[int]]:
    """The programs, maps and links this process holds, from its fds' fdinfo."""
    ids: dict[str, set[int]] = {"prog_id": set(), "map_id": set(), "link_id": set()}
    for fd in os.listdir("/proc/self/fd"):
        try:
            text = open(f"/proc/self/fdinfo/{fd}").read()
        except OSError:
            continue
        for key in ids:
            m = re.search(rf"^{key}:\s*(\d+)", text, re.M)
            if m:
                ids[key].add(int(m.group(1)))
    return ids


def test_leaving_the_block_leaves_nothing_loaded():
    obj = kt.compile(CALLS + '{ @calls = count(); printf("x\\n"); }\ninterval:ms:100 { @t = count(); }')
    before_fds = _own_fds()
    with kt.trace(obj, command=getppid(3)) as t:
        held = _bpf_ids()
        assert held["prog_id"] and held["map_id"] and held["link_id"]
        t.wait(timeout=60)
    assert _own_fds() == before_fds
    assert t.maps["@calls"] == 3
    # The kernel frees a program or map once its last reference goes, some of it deferred
    # (RCU, a work item for a ring buffer's pages): wait for that, boundedly.
    deadline = time.monotonic() + 20
    left = {("prog", i) for i in held["prog_id"]} | {("map", i) for i in held["map_id"]}
    while left and time.monotonic() < deadline:
        left = {(kind, i) for kind, i in left
                if subprocess.run(["bpftool", kind, "show", "id", str(i)], capture_output=True).returncode == 0}
        if left:
            time.sleep(0.1)
    assert not left, f"still in the kernel: {sorted(left)}"


def test_trace_in_another_thread():
    """No signal handlers: kt.trace works outside the main thread."""
    obj = kt.compile(CALLS + '{ @calls = count(); }')
    result = {}

    def run() -> None:
        try:
            with kt.trace(obj, command=getppid(5)) as t:
                t.wait(timeout=60)
            result["maps"] = t.maps
        except BaseException as err:   # reported below
            result["error"] = err

    th = threading.Thread(target=run)
    th.start()
    th.join(120)
    assert "error" not in result, result.get("error")
    assert result["maps"] == {"@calls": 5}


def test_stop_ends_a_trace_with_a_running_command():
    obj = kt.compile(CALLS + '{ @calls = count(); }\nEND { printf("end\\n"); }')
    child = [sys.executable, "-c", "import os, time\nos.getppid()\ntime.sleep(60)"]
    with kt.trace(obj, command=child) as t:
        while t.maps.get("@calls", 0) < 1:
            assert not t.wait(timeout=0.05)
        t.stop()
        assert t.wait(timeout=0)
        texts = [ev.text for ev in t.events()]
    assert texts[-1] == "end\n"
    assert t.maps["@calls"] == 1
    with pytest.raises(ProcessLookupError):
        os.kill(t.cpid, 0)       # the command was ended and reaped with the trace


def test_cpid_is_the_commands_pid():
    obj = kt.compile(CALLS + '{ @pid = pid; @cpid = cpid; }')
    with kt.trace(obj, command=getppid(1)) as t:
        t.wait(timeout=60)
    assert t.maps["@pid"] == t.maps["@cpid"] == t.cpid


def test_positional_args():
    obj = kt.compile('BEGIN { printf("%d %s %d\\n", $1 * 2, str($2), $#); exit(); }', args=[21, "x"])
    with kt.trace(obj, args=[21, "x"]) as t:
        assert [ev.fields for ev in t.events()] == [(42, "x", 2)]
    # one object, other args: the runtime fills the slots
    loaded = kt.load(obj.elf)
    with kt.trace(loaded, args=[5, "y", "z"]) as t:
        assert [ev.text for ev in t.events()] == ["10 y 3\n"]
    with pytest.raises(kt.TraceError, match="str\\(\\$1\\)"):
        with kt.trace(loaded, args=["abc", "y"]):
            pass


def test_positional_baked_at_compile_time():
    obj = kt.compile('BEGIN { @ = lhist(5, 0, $1, 1); exit(); }', args=["10"])
    with kt.trace(obj) as t:
        pass
    assert t.maps["@"] == [kt.Bucket(5, 6, 1)]
    with pytest.raises(kt.TraceError, match="recompile"):
        with kt.trace(obj, args=["20"]):
            pass


# ---- imports ---------------------------------------------------------------------------------

def _imported(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_load_and_trace_never_import_the_compiler(tmp_path):
    path = tmp_path / "o.o"
    kt.compile('BEGIN { @x = 1; exit(); }').save(path)
    mods = _imported(f"import kt\nwith kt.trace(kt.load({str(path)!r})) as t: pass\nassert t.maps == {{'@x': 1}}")
    assert "kt.runtime.api.trace" in mods
    assert not {m for m in mods if m.split(".")[0] in ("llvmlite", "lark")}
    assert "kt.compiler.driver" not in mods


def test_import_kt_is_cheap():
    mods = _imported("import kt, kt.runtime.cli")
    assert not {m for m in mods if m.startswith("kt.runtime.api") or m.split(".")[0] in ("llvmlite", "lark")}


def test_events_left_by_a_loop_that_stopped_early():
    obj = kt.compile('BEGIN { printf("a\\n"); printf("b\\n"); printf("c\\n"); exit(); }')
    with kt.trace(obj) as t:
        for ev in t.events():
            assert ev.text == "a\n"
            break
        assert [ev.text for ev in t.events()] == ["b\n", "c\n"]


def test_compile_warnings_are_kept():
    obj = kt.compile('uprobe:/bin/true:nosuchfn, ' + CALLS + '{ @ = count(); }', name="w.kt")
    [w] = obj.warnings
    assert (w.severity, w.file, w.line, w.column) == ("warning", "w.kt", 1, 1)
    assert "nosuchfn" in w.message


def test_pid_traces_a_running_process_until_it_exits():
    proc = subprocess.Popen([sys.executable, "-c", "import os, sys\nsys.stdin.readline()\n"
                             "for _ in range(3): os.getppid()"], stdin=subprocess.PIPE, text=True)
    try:
        obj = kt.compile(f'tracepoint:syscalls:sys_enter_getppid /pid == {proc.pid}/ {{ @calls = count(); }}')
        with kt.trace(obj, pid=proc.pid) as t:
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert t.wait(timeout=60)       # the process exited: the trace ends
        assert t.maps == {"@calls": 3}
    finally:
        proc.kill()
        proc.wait()


def test_struct_and_array_values():
    obj = kt.compile(CALLS + '{ @load = curtask->se.load; @mask = curtask->cpus_mask; @comm = curtask->comm; }')
    with kt.trace(obj, command=getppid(1)) as t:
        t.wait(timeout=60)
    load = t.maps["@load"]
    assert set(load) == {"weight", "inv_weight"} and load["weight"] > 0
    bits = t.maps["@mask"]["bits"]
    assert isinstance(bits, tuple) and any(bits)
    assert t.maps["@comm"] == COMM


def test_attach_failure_is_a_trace_error(loop, tmp_path):
    """The uprobe's binary is gone by the time the object runs: attaching fails, the message
    names the probe, and nothing stays loaded."""
    exe = tmp_path / "gone"
    exe.write_bytes(Path(loop).read_bytes())
    exe.chmod(0o755)
    obj = kt.compile(f'uprobe:{exe}:main {{ @ = count(); }}')
    exe.unlink()
    before = _own_fds()
    with pytest.raises(kt.TraceError, match=f"uprobe:{exe}:main"):
        with kt.trace(obj):
            pass
    assert _own_fds() == before
