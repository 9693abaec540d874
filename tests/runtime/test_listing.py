"""runtime/listing: `kt -l` on a made-up machine (a tracefs tree, a BTF blob, a function
list), then on this one against bpftrace 0.17's own listing."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from kt.compiler.formats import btf as B
from kt.compiler.formats.btf import Btf, Kind
from kt.runtime.listing import ListingError, ProbeSources, list_probes, parse_pattern
from tests.btf_builder import Builder

OPENAT_FORMAT = """name: sys_enter_openat
ID: 782
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;

print fmt: "dfd: 0x%08lx, filename: 0x%08lx", ((unsigned long)(REC->dfd))
"""

EXEC_FORMAT = """name: sched_process_exec
ID: 300
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;

\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;

print fmt: "filename=%s", __get_str(filename)
"""

EVENTS = {"syscalls": {"sys_enter_openat": OPENAT_FORMAT, "sys_enter_open": OPENAT_FORMAT},
          "sched": {"sched_process_exec": EXEC_FORMAT, "sched_switch": EXEC_FORMAT},
          "fib": {"fib_table_lookup": EXEC_FORMAT},
          "fib6": {"fib6_table_lookup": EXEC_FORMAT},
          "ftrace": {"function": ""}}   # not in available_events: not a perf tracepoint


@pytest.fixture(scope="module")
def tracefs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tracefs")
    available = []
    for cat, events in EVENTS.items():
        for ev, fmt in events.items():
            d = root / "events" / cat / ev
            d.mkdir(parents=True)
            (d / "format").write_text(fmt)
            if cat != "ftrace":
                available.append(f"{cat}:{ev}")
    (root / "events" / "enable").write_text("0\n")      # files beside the categories
    (root / "available_events").write_text("\n".join(available) + "\n")
    return root


@pytest.fixture(scope="module")
def btf() -> Btf:
    b = Builder()
    i = b.int_("int", 4, signed=True)
    ul = b.int_("long unsigned int", 8)
    size_t = b.mod(Kind.TYPEDEF, ul, "size_t")
    ssize_t = b.mod(Kind.TYPEDEF, b.int_("long int", 8, signed=True), "ssize_t")
    char = b.int_("char", 1, signed=True, char=True)
    file_p = b.ptr(b.record(Kind.STRUCT, "file", 8, [("f", i, 0, 0)]))
    task_p = b.ptr(b.record(Kind.STRUCT, "task_struct", 8, [("pid", i, 0, 0)]))
    boolean = b.mod(Kind.TYPEDEF, b.int_("_Bool", 1, bool_=True), "bool")
    b.func("vfs_read", b.proto(ssize_t, [("file", file_p), ("buf", b.ptr(char)),
                                         ("count", size_t)]))
    b.func("vfs_write", b.proto(ssize_t, [("file", file_p)]))
    b.func("do_exit", b.proto(0, [("code", i)]))
    b.func("too_many", b.proto(i, [(f"a{n}", i) for n in range(7)]))
    b.func("not_traceable", b.proto(i, []))
    void_p = b.ptr(0)
    # Raw tracepoints: the typedef (no parameter names) and, for sched_switch, its own
    # __bpf_trace_ function (names).
    sw = b.proto(0, [("", void_p), ("", boolean), ("", task_p), ("", task_p)])
    b.mod(Kind.TYPEDEF, b.ptr(sw), "btf_trace_sched_switch")
    b.func("__bpf_trace_sched_switch", b.proto(0, [("__data", void_p), ("preempt", boolean),
                                                    ("prev", task_p), ("next", task_p)]))
    wk = b.proto(0, [("", void_p), ("", task_p)])
    b.mod(Kind.TYPEDEF, b.ptr(wk), "btf_trace_sched_wakeup")
    return Btf(b.build(), name="test")


KERNEL_FUNCS = ["vfs_read", "vfs_write", "do_exit", "too_many", "vfs_read.cold",
                "__pfx_vfs_read", "sched_switch_thing"]


def sources(tracefs_root, blob, **kw) -> ProbeSources:
    defaults = dict(
        tracefs=lambda: tracefs_root, btf=lambda: blob,
        kernel_functions=lambda: (KERNEL_FUNCS, "available_filter_functions"),
        kprobe_support=lambda: None, fentry_support=lambda: None,
        uprobe_functions=lambda binary, pid: (
            "/usr/bin/" + binary if "/" not in binary else binary,
            ["main", "readline", "readline_internal", "xmalloc"]),
        network_devices=lambda: ["lo", "veth0", "eth1"])
    defaults.update(kw)
    return ProbeSources(**defaults)


@pytest.fixture
def ls(tracefs, btf):
    warnings: list[str] = []

    def run(pattern, verbose=False, **kw):
        warnings.clear()
        return list_probes(pattern, verbose, sources=sources(tracefs, btf, **kw),
                           warn=warnings.append)
    run.warnings = warnings
    return run


def test_tracepoints(ls):
    assert ls("tracepoint:syscalls:sys_enter_open*") == [
        "tracepoint:syscalls:sys_enter_open", "tracepoint:syscalls:sys_enter_openat"]
    assert ls("t:sched:*") == ["tracepoint:sched:sched_process_exec",
                               "tracepoint:sched:sched_switch"]
    # One word: the event name in every category (0.17: tracepoint:*sched_switch).
    assert ls("tracepoint:*switch") == ["tracepoint:sched:sched_switch"]
    assert ls("tracepoint:sched_switch") == ["tracepoint:sched:sched_switch"]
    assert ls("tracepoint:sys_enter_open?t") == ["tracepoint:syscalls:sys_enter_openat"]
    assert ls("tracepoint:nope:*") == []


def test_tracepoints_sort_as_strings_and_leave_out_ftrace(ls):
    # bpftrace sorts "cat:event" strings: '6' < ':' so fib6 comes before fib.
    assert ls("tracepoint:fib*:*") == ["tracepoint:fib6:fib6_table_lookup",
                                       "tracepoint:fib:fib_table_lookup"]
    assert ls("tracepoint:ftrace:*") == []


def test_tracepoint_fields(ls):
    assert ls("tracepoint:syscalls:sys_enter_openat", verbose=True) == [
        "tracepoint:syscalls:sys_enter_openat",
        "    int __syscall_nr", "    int dfd", "    const char * filename"]
    assert ls("tracepoint:sched:sched_process_exec", verbose=True)[1:] == [
        "    __data_loc char[] filename", "    pid_t pid"]


def test_tracepoints_without_available_events(tmp_path, btf):
    (tmp_path / "events" / "a" / "x").mkdir(parents=True)
    (tmp_path / "events" / "ftrace" / "function").mkdir(parents=True)
    src = sources(tmp_path, btf)
    assert list_probes("tracepoint:*", sources=src, warn=print) == ["tracepoint:a:x"]
    with pytest.raises(ListingError, match="cannot list tracepoints"):
        list_probes("tracepoint:*", sources=sources(tmp_path / "nope", btf), warn=print)


def test_kprobes(ls):
    assert ls("kprobe:vfs_*") == ["kprobe:vfs_read", "kprobe:vfs_write"]
    assert ls("k:vfs_read*") == ["kprobe:vfs_read"]                 # no compiler clones
    assert ls("kprobe:vfs_read.*") == ["kprobe:vfs_read.cold"]      # unless asked for
    assert ls("kretprobe:do_exit") == ["kretprobe:do_exit"]
    assert not any("__pfx_" in line for line in ls("kprobe:*"))
    assert ls.warnings == []


def test_kprobes_warnings(ls):
    ls("kprobe:vfs_read", kprobe_support=lambda: "this kernel has no kprobes")
    assert ls.warnings == ["kprobe: this kernel has no kprobes; the functions are listed, "
                           "but cannot be probed here"]
    ls("kprobe:vfs_read", kernel_functions=lambda: (KERNEL_FUNCS, "/proc/kallsyms"))
    assert "available_filter_functions is not readable" in ls.warnings[0]
    assert ls("kprobe:nothing_like_this") == [] and ls.warnings == []


def test_kfuncs(ls):
    # BTF functions that ftrace knows, with at most 6 parameters.
    assert ls("kfunc:*") == ["kfunc:do_exit", "kfunc:vfs_read", "kfunc:vfs_write"]
    assert ls("fentry:vfs_*") == ["kfunc:vfs_read", "kfunc:vfs_write"]
    assert ls("kretfunc:do_exit") == ["kretfunc:do_exit"]
    assert ls("kfunc:vfs_read", verbose=True) == [
        "kfunc:vfs_read", "    struct file * file", "    char * buf", "    size_t count",
        "    ssize_t retval"]
    assert ls("kfunc:do_exit", verbose=True) == ["kfunc:do_exit", "    int code"]  # void


def test_kfuncs_without_a_function_list(ls):
    def unreadable():
        raise OSError(13, "Permission denied")
    assert "kfunc:not_traceable" in ls("kfunc:*", kernel_functions=unreadable)


def test_kfunc_warning(ls):
    ls("kfunc:vfs_read", fentry_support=lambda: "this kernel refuses fentry programs "
                                                "(EPERM, lockdown?)")
    assert ls.warnings == ["kfunc: this kernel refuses fentry programs (EPERM, lockdown?); "
                           "the functions are listed, but cannot be traced here"]


def test_rawtracepoints(ls):
    assert ls("rawtracepoint:*") == ["rawtracepoint:sched_switch",
                                     "rawtracepoint:sched_wakeup"]
    assert ls("rt:sched_switch", verbose=True) == [
        "rawtracepoint:sched_switch", "    bool preempt", "    struct task_struct * prev",
        "    struct task_struct * next"]
    # Without its own __bpf_trace_ function only the types are known.
    assert ls("rawtracepoint:sched_wakeup", verbose=True) == [
        "rawtracepoint:sched_wakeup", "    struct task_struct *"]


def test_software_and_hardware(ls):
    sw = ls("software:*")
    assert sw[:4] == ["software:alignment-faults:", "software:bpf-output:",
                      "software:context-switches:", "software:cpu:"]
    assert "software:faults:" in sw and "software:page-faults:" in sw and len(sw) == 14
    assert ls("s:cpu*") == ["software:cpu:", "software:cpu-clock:", "software:cpu-migrations:"]
    assert ls("software:faults:100") == ["software:faults:"]
    assert ls("h:*cycles") == ["hardware:bus-cycles:", "hardware:cpu-cycles:",
                               "hardware:cycles:", "hardware:ref-cycles:"]


def test_timers(ls):
    assert ls("interval:*") == ["interval:hz:", "interval:ms:", "interval:s:", "interval:us:"]
    assert ls("profile:hz") == ["profile:hz:"]


def test_everything_and_bare_words(ls):
    everything = ls(None)
    kinds = [line.split(":")[0] for line in everything]
    assert kinds == sorted(kinds)                        # probe types in alphabetical order
    assert set(kinds) == {"hardware", "iter", "kfunc", "kprobe", "rawtracepoint", "software",
                          "tracepoint", "tc", "xdp"}     # 0.17 lists iter:task and iter:task_file too
    assert ls("") == everything
    assert ls("*") == ls("*:*") == everything
    # A bare word matches the name part of every kernel probe (0.17: `*:WORD`).
    assert ls("sched_switch*") == ["kprobe:sched_switch_thing",
                                   "rawtracepoint:sched_switch",
                                   "tracepoint:sched:sched_switch"]
    assert ls("vfs_read") == ["kfunc:vfs_read", "kprobe:vfs_read"]
    assert ls("cs") == ["software:cs:"]
    assert ls("k*:vfs_write") == ["kfunc:vfs_write", "kprobe:vfs_write"]


def test_packet_probes_list_the_interfaces(ls):
    """kt's own tc/xdp kinds: one line per interface (and direction), sorted."""
    assert ls("tc:*") == ["tc:eth1:egress", "tc:eth1:ingress", "tc:lo:egress", "tc:lo:ingress",
                          "tc:veth0:egress", "tc:veth0:ingress"]
    assert ls("xdp:*") == ["xdp:eth1", "xdp:lo", "xdp:veth0"]
    assert ls("tc:*:ingress") == ["tc:eth1:ingress", "tc:lo:ingress", "tc:veth0:ingress"]
    assert ls("tc:veth*") == ["tc:veth0:egress", "tc:veth0:ingress"]
    assert ls("tc:veth0:e*") == ["tc:veth0:egress"]
    assert ls("xdp:e*") == ["xdp:eth1"]
    assert ls("veth0") == ["tc:veth0:egress", "tc:veth0:ingress", "xdp:veth0"]   # a bare word: the device
    assert ls("*:lo") == ["tc:lo:egress", "tc:lo:ingress", "xdp:lo"]
    assert ls("xdp:nothing*") == []


def test_uprobes(ls):
    assert ls("uprobe:/bin/bash:read*") == ["uprobe:/bin/bash:readline",
                                            "uprobe:/bin/bash:readline_internal"]
    assert ls("uprobe:bash") == ["uprobe:/usr/bin/bash:main", "uprobe:/usr/bin/bash:readline",
                                 "uprobe:/usr/bin/bash:readline_internal",
                                 "uprobe:/usr/bin/bash:xmalloc"]
    assert ls("ur:/bin/bash:main") == ["uretprobe:/bin/bash:main"]
    assert not any(line.startswith("uprobe") for line in ls(None))    # only when asked
    with pytest.raises(ListingError, match="uprobe needs a binary"):
        ls("uprobe:")
    with pytest.raises(ListingError, match="no ELF file matches"):
        ls("uprobe:/nonexistent-dir/*:main")


def test_bad_patterns(ls):
    with pytest.raises(ListingError, match="unknown probe type 'nope'"):
        ls("nope:x")
    assert ls("BEGIN:") == []
    assert issubclass(ListingError, ValueError)       # the CLI reports ValueErrors


def test_one_unreadable_source_does_not_hide_the_others(ls):
    def no_btf():
        raise B.BtfError("cannot read kernel BTF /sys/kernel/btf/vmlinux: No such file")
    out = ls(None, btf=no_btf)
    assert "tracepoint:sched:sched_switch" in out and not any(
        line.startswith(("kfunc:", "rawtracepoint:")) for line in out)
    assert any("cannot list kfunc probes" in w for w in ls.warnings)
    with pytest.raises(ListingError, match="cannot list kfunc probes: cannot read kernel BTF"):
        ls("kfunc:*", btf=no_btf)


def test_parse_pattern():
    q = parse_pattern("t:sched:*")
    assert (q.types, q.rest, q.bare) == (("tracepoint",), "sched:*", False)
    assert parse_pattern("k*:x").types == ("kfunc", "kprobe")
    assert parse_pattern("word").bare


# --- this machine, against bpftrace 0.17 ---------------------------------------------------------

needs_bpftrace = pytest.mark.skipif(shutil.which("bpftrace") is None,
                                    reason="bpftrace is not installed")


def bpftrace_list(*args: str) -> list[str]:
    out = subprocess.run(["bpftrace", *args], capture_output=True, text=True, timeout=60)
    return out.stdout.splitlines()


@pytest.mark.kernel
@needs_bpftrace
@pytest.mark.parametrize("args", [
    ("-l", "tracepoint:syscalls:sys_enter_open*"),
    ("-lv", "tracepoint:syscalls:sys_enter_open*"),
    ("-l", "tracepoint:sched:*"),
    ("-lv", "tracepoint:sched:*"),
    ("-l", "tracepoint:*sched_switch"),
    ("-l", "t:*:sys_exit_read"),
    ("-l", "tracepoint:*"),
])
def test_tracepoints_as_bpftrace_lists_them(args):
    assert list_probes(args[1], args[0] == "-lv", warn=print) == bpftrace_list(*args)


@pytest.mark.kernel
@needs_bpftrace
def test_uprobes_as_bpftrace_lists_them():
    # /bin/bash has no separate debug file here, so .symtab/.dynsym are all there is.
    pattern = "uprobe:/bin/bash:read*"
    assert list_probes(pattern, warn=print) == bpftrace_list("-l", pattern)


@pytest.mark.kernel
def test_this_machine_lists_quickly():
    warnings: list[str] = []
    t0 = time.monotonic()
    kprobes = list_probes("kprobe:*", warn=warnings.append)
    elapsed = time.monotonic() - t0
    assert len(kprobes) > 1000 and all(line.startswith("kprobe:") for line in kprobes)
    assert "kprobe:vfs_read" in kprobes
    assert elapsed < 5, elapsed        # 0.2-0.5 s on the development host
    if not (Path("/sys/bus/event_source/devices/kprobe").exists()):
        assert any("cannot be probed here" in w for w in warnings)


@pytest.mark.kernel
@pytest.mark.skipif(not os.path.exists(B.VMLINUX_PATH), reason="no kernel BTF")
def test_this_machine_kfuncs_and_rawtracepoints():
    warnings: list[str] = []
    assert list_probes("kfunc:vfs_read", True, warn=warnings.append) == [
        "kfunc:vfs_read", "    struct file * file", "    char * buf", "    size_t count",
        "    loff_t * pos", "    ssize_t retval"]
    from kt.runtime.attach.tracing import fentry_unsupported_reason
    reason = fentry_unsupported_reason()
    if reason is None:
        assert warnings == []
    else:
        assert warnings == [f"kfunc: {reason}; the functions are listed, but cannot be "
                            f"traced here"]
    raw = list_probes("rawtracepoint:sched_switch", True, warn=print)
    assert raw[0] == "rawtracepoint:sched_switch"
    assert "    struct task_struct * prev" in raw
