"""The `kt` command with kprobes in the guest: a wildcard kprobe (one attachment per function,
told apart by cookie -> `probe`) and a kretprobe, traced for a -c child only."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from kt.runtime.attach.kprobe import kt_kprobe_events

from .helpers import kt as _kt, same_maps_as_bpftrace as _same_maps_as_bpftrace

pytestmark = pytest.mark.kernel

SCRIPT = """
kprobe:__x64_sys_openat* /pid == cpid/ { @calls[probe] = count(); }
kretprobe:do_sys_openat2 /pid == cpid/ { @returns = count(); }
"""


def test_kt_traces_kprobes_of_its_child():
    kt = shutil.which("kt")
    cmd = ([kt] if kt else [sys.executable, "-m", "kt.runtime.cli"])
    done = subprocess.run(cmd + ["-e", SCRIPT, "-c", "cat /etc/hostname /etc/os-release"],
                          capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    # one per target, as 0.17 counts: __x64_sys_openat, __x64_sys_openat2 and the kretprobe
    assert "Attached 3 probes" in done.stderr
    calls = dict(re.findall(r"^@calls\[(kprobe:\S+)\]: (\d+)$", done.stdout, re.M))
    returns = re.search(r"^@returns: (\d+)$", done.stdout, re.M)
    # cat opens its two files (and the loader's libraries) with openat, never openat2.
    assert set(calls) == {"kprobe:__x64_sys_openat"}
    assert int(calls["kprobe:__x64_sys_openat"]) >= 2
    assert returns and int(returns.group(1)) == int(calls["kprobe:__x64_sys_openat"])
    assert kt_kprobe_events() == []


# One kt run for the builtins of every kernel probe kind (each run costs ~20 s under TCG).
BUILTINS = """
kprobe:do_sys_openat2 /pid == cpid/ {
    @k[func] = count(); @stack[kstack] = count();
    printf("ksym %s %d\\n", ksym(kaddr("do_sys_openat2")), kaddr("do_sys_openat2") != 0);
}
kretprobe:do_sys_openat2 /pid == cpid/ { @ret = max(retval); }
kfunc:do_sys_openat2 /pid == cpid/ { @f[str(args->filename)] = count(); @dfd = min(args->dfd); }
kretfunc:do_sys_openat2 /pid == cpid/ { @fr = count(); @frv = max(retval); }
rawtracepoint:sys_enter /pid == cpid/ { @raw = count(); }
kfunc:vfs_read /pid == cpid/ { @kf[str(args->file->f_path.dentry->d_name.name)] = count(); }
kprobe:vfs_read /pid == cpid/ { @kp[str(((struct file *)arg0)->f_path.dentry->d_name.name)] = count(); }
"""


def test_kprobe_kfunc_rawtracepoint_builtins():
    done = _kt("-e", BUILTINS, "-c", "/usr/bin/cat /etc/hostname")
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    n = int(re.search(r"^@k\[do_sys_openat2\]: (\d+)$", out, re.M).group(1))
    assert n >= 1
    assert out.count("ksym do_sys_openat2 1\n") == n
    # the kernel stack at the kprobe: the function itself, called from the openat syscall
    assert re.search(r"^@stack\[\n {4}do_sys_openat2\+\d+\n {4}__x64_sys_openat\+\d+\n", out, re.M)
    assert "@f[/etc/hostname]: 1\n" in out
    assert "@dfd: -100\n" in out                      # AT_FDCWD, typed by BTF as int
    assert f"@fr: {n}\n" in out
    assert int(re.search(r"^@ret: (\d+)$", out, re.M).group(1)) >= 3   # a valid fd
    assert int(re.search(r"^@raw: (\d+)$", out, re.M).group(1)) >= n
    # kernel structs through BTF: a kfunc's typed argument, and a kprobe's cast argument
    assert re.search(r"^@kf\[hostname\]: \d+$", out, re.M)
    assert re.search(r"^@kp\[hostname\]: \d+$", out, re.M)
    assert kt_kprobe_events() == []


@pytest.mark.skipif(shutil.which("bpftrace") is None, reason="bpftrace is not installed on the host")
def test_kprobe_maps_match_bpftrace():
    script = ('kprobe:do_sys_openat2 /pid == cpid && comm == "cat"/ { @[comm] = count(); @dfd[arg0] = count(); } '
              'kretprobe:do_sys_openat2 /pid == cpid && comm == "cat"/ { @ok = sum(retval >= 0); }')
    _same_maps_as_bpftrace(script, "/usr/bin/cat /etc/hostname /etc/os-release")


@pytest.mark.skipif(shutil.which("bpftrace") is None, reason="bpftrace is not installed on the host")
def test_kernel_struct_reads_in_kprobes_match_bpftrace():
    """Typed pointers into kernel memory from kprobe arguments: members at their widths,
    nested and through pointers, a constant-index array member, sizeof of a pointee."""
    script = ('kprobe:do_sys_openat2 /pid == cpid && comm == "cat"/ { $how = (struct open_how *)arg2; '
              '@flags[$how->flags & 0xff] = count(); @size = max(sizeof(*$how)); } '
              'kprobe:vfs_read /pid == cpid && comm == "cat"/ { $f = (struct file *)arg0; '
              '$d = $f->f_path.dentry; @len[$d->d_name.len] = count(); @c[$d->d_iname[0]] = count(); '
              '@pos[$f->f_pos > 0] = count(); @sz = max(sizeof($d->d_name.len)); }')
    _same_maps_as_bpftrace(script, "/usr/bin/cat /etc/hostname /etc/os-release")


def test_sigkilled_kt_leaves_an_entry_that_the_next_run_removes():
    import os
    import signal
    import time

    from kt.runtime.attach.kprobe import kprobe_events_path
    kt = shutil.which("kt")
    cmd = ([kt] if kt else [sys.executable, "-m", "kt.runtime.cli"])
    proc = subprocess.Popen(cmd + ["-e", "kprobe:do_sys_openat2 { @ = count(); }"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "KT_KPROBE_TRACEFS": "1"})
    try:
        assert proc.stderr.readline().startswith("Attached 1 probe")
        left = kt_kprobe_events()
        assert len(left) == 1 and f"_{proc.pid}_" in left[0]
        proc.send_signal(signal.SIGKILL)                   # no chance to clean up
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert kt_kprobe_events() == left                      # the entry outlived kt
    done = _kt("-e", "BEGIN { exit(); }")
    assert done.returncode == 0, done.stderr
    assert "Removed a probe left by an earlier kt" in done.stderr
    assert kt_kprobe_events() == []
    assert "kt_" not in kprobe_events_path().read_text()
