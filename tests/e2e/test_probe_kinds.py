"""Probe kinds on the host kernel as users run them: uprobes, timers, perf events, listing.
(kprobes and kfuncs run in the QEMU guest: tests/vm.)"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from .conftest import run_kt

pytestmark = pytest.mark.kernel

PROGRAM = r"""
#include <stdio.h>
#include <unistd.h>
int leaf(int x) { return x * 2; }
int other(int x) { return x + 1; }
int main(int argc, char **argv) {
    int s = 0;
    if (argc > 1) sleep(atoi(argv[1]));     /* time to attach with -p */
    for (int i = 0; i < 5; i++) s += leaf(i) + other(i);
    if (argc > 2) sleep(atoi(argv[2]));     /* alive while its stacks are symbolized */
    printf("%d\n", s);
    return 0;
}
"""


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("uprobe_target")
    src = d / "prog.c"
    src.write_text("#include <stdlib.h>\n" + PROGRAM)
    subprocess.run(["gcc", "-O0", "-o", str(d / "prog"), str(src)], check=True)
    return str(d / "prog")


def test_uprobe_and_uretprobe(target):
    r = run_kt("-e", f"uprobe:{target}:leaf /pid == cpid/ {{ @calls = count(); @args = sum(arg0); }} "
               f"uretprobe:{target}:leaf /pid == cpid/ {{ @ret = sum(retval); }}", "-c", target)
    assert r.rc == 0, r.err
    assert "\n@args: 10\n@calls: 5\n@ret: 20\n" in r.out


def test_uprobe_wildcard_func_and_probe(target):
    r = run_kt("-e", f"uprobe:{target}:*e* /pid == cpid/ {{ @[func, probe] = count(); }}", "-c", target)
    assert r.rc == 0, r.err
    assert f"@[leaf, uprobe:{target}:leaf]: 5\n" in r.out
    assert f"@[other, uprobe:{target}:other]: 5\n" in r.out


def test_uprobe_on_a_library_by_short_name():
    r = run_kt("-e", 'uprobe:libc:getpid /pid == cpid/ { @[func] = count(); }',
               "-c", "/usr/bin/python3 -c 'import os; [os.getpid() for _ in range(7)]'")
    assert r.rc == 0, r.err
    n = int(re.search(r"^@\[getpid\]: (\d+)$", r.out, re.M).group(1))
    assert n >= 7


def test_uprobe_unknown_function_suggests(target):
    r = run_kt("-e", f"uprobe:{target}:lef {{ }}")
    assert r.rc == 1
    assert f"error: no function 'lef' in {target}" in r.err and "did you mean 'leaf'?" in r.err


def test_uprobe_on_a_missing_function_is_left_out(target):
    # as 0.17 (sslsnoop.bt names libcrypto functions only debug info has): the other probes
    # attach; kt says which it left out
    r = run_kt("-e", f"uprobe:{target}:leaf, uprobe:{target}:nosuch /pid == cpid/ {{ @[func] = count(); }}",
               "-c", target)
    assert r.rc == 0, r.err
    assert "@[leaf]: 5" in r.out
    assert f"warning: no function 'nosuch' in {target}: skipped" in r.err


def test_uprobe_func_and_ustack_are_symbolized(target):
    # user symbols are read from the live process (/proc/PID/maps), as bpftrace does
    r = run_kt("-e", f'uprobe:{target}:leaf /pid == cpid/ {{ printf("%s|%s\\n", func, ustack); }}',
               "-c", f"{target} 0 1")
    assert r.rc == 0, r.err
    assert "leaf|\n        leaf+0\n        main+" in r.out


def test_p_restricts_uprobes_to_the_process_and_ends_with_it(target):
    proc = subprocess.Popen([target, "2"], stdout=subprocess.DEVNULL)
    try:
        r = run_kt("-p", str(proc.pid), "-e", f"uprobe:{target}:other {{ @[pid] = count(); }}", timeout=30)
    finally:
        proc.wait(timeout=30)
    assert r.rc == 0, r.err
    assert r.out.endswith(f"\n\n@[{proc.pid}]: 5\n")


def test_interval_fires_on_time():
    t0 = time.monotonic()
    r = run_kt("-e", "interval:ms:100 { @n = @n + 1; if (@n == 5) { exit(); } }", timeout=30)
    took = time.monotonic() - t0
    assert r.rc == 0, r.err
    assert "@n: 5" in r.out
    assert took >= 0.45


def test_profile_and_software_events_sample_the_child():
    r = run_kt("-e", "profile:hz:99 /pid == cpid/ { @samples = count(); } "
               "software:page-faults:1 /pid == cpid/ { @faults = count(); } "
               "software:cs:1 /pid == cpid/ { @switches = count(); }",
               "-c", "/usr/bin/python3 -c 'x = [0] * 10**6; sum(range(5 * 10**6))'", timeout=60)
    assert r.rc == 0, r.err
    samples = int(re.search(r"^@samples: (\d+)$", r.out, re.M).group(1))
    faults = int(re.search(r"^@faults: (\d+)$", r.out, re.M).group(1))
    assert samples >= 3      # ~0.2 s of CPU at 99 Hz
    assert faults >= 100     # a fresh python touching megabytes


def test_hardware_event_without_a_pmu_is_a_clear_error():
    if os.path.exists("/sys/bus/event_source/devices/cpu"):
        pytest.skip("this machine has a hardware PMU")  # never on these VMs; see kernel-facts
    r = run_kt("-e", "hardware:cycles:1000000 { @ = count(); }", timeout=30)
    assert r.rc == 1
    assert "hardware" in r.err and "Traceback" not in r.err


def test_rawtracepoint_args():
    r = run_kt("-e", "rawtracepoint:sys_enter /pid == cpid/ { @[arg1] = count(); }", "-c", "/usr/bin/true")
    assert r.rc == 0, r.err
    assert re.search(r"^@\[59\]: 1$", r.out, re.M)  # execve, as the child exec'ed /usr/bin/true


def test_list_tracepoints_and_their_fields():
    r = run_kt("-l", "tracepoint:syscalls:sys_enter_openat")
    assert r.rc == 0, r.err
    assert r.out == "tracepoint:syscalls:sys_enter_openat\n"
    r = run_kt("-lv", "tracepoint:syscalls:sys_enter_openat")
    assert r.rc == 0, r.err
    assert "    const char * filename" in r.out


def test_list_a_binarys_functions(target):
    r = run_kt("-l", f"uprobe:{target}:*")
    assert r.rc == 0, r.err
    assert f"uprobe:{target}:leaf" in r.out.splitlines()


def test_list_software_events():
    r = run_kt("-l", "software:*")
    assert r.rc == 0, r.err
    assert "software:page-faults:" in r.out or "software:page-faults" in r.out


def test_kfunc_where_the_kernel_refuses_fentry_says_so():
    from kt.runtime.attach.tracing import fentry_unsupported_reason
    if fentry_unsupported_reason() is None:
        pytest.skip("this kernel loads fentry programs: the guest suite (tests/vm) runs kfuncs")
    r = run_kt("-e", "kfunc:do_sys_openat2 /pid == cpid/ { @[args->filename] = count(); }", "-c", "/usr/bin/true")
    assert r.rc == 1
    assert r.err == ("kt: error: bpf(BPF_PROG_LOAD) of program 'kfunc_do_sys_openat2' (fentry/do_sys_openat2): "
                     "this kernel refuses fentry programs (EPERM, lockdown?)\n")


def test_kfunc_arguments_come_from_btf():
    r = run_kt("-d", "ast", "-e", "kfunc:do_sys_openat2 { @[args->filenam] = count(); }")
    assert r.rc == 1
    assert "do_sys_openat2 has no argument 'filenam'" in r.err and "did you mean 'filename'?" in r.err


def test_uprobe_at_an_address(target):
    from kt.compiler.formats.elfsyms import find_function
    addr = find_function(target, "leaf").addr
    r = run_kt("-e", f"uprobe:{target}:{hex(addr)} /pid == cpid/ {{ @ = count(); }}", "-c", target)
    assert r.rc == 0, r.err
    assert r.out.endswith("\n\n@: 5\n")


def test_kernel_structs_through_btf():
    r = run_kt("-e", 'BEGIN { $t = (struct task_struct *)curtask; printf("%d %d %s %d\\n", $t->tgid == pid, '
               '$t->pid == tid, $t->comm, $t->real_parent->pid > 0); exit(); }')
    assert r.rc == 0, r.err
    assert r.out.splitlines()[0] == "1 1 kt 1"
    r = run_kt("-e", "rawtracepoint:sched_process_exec /pid == cpid/ { $t = (struct task_struct *)arg0; "
               "@[$t->comm, $t->mm->mmap_base > 0] = count(); }", "-c", "/usr/bin/true")
    assert r.rc == 0, r.err
    assert "@[true, 1]: 1\n" in r.out


def test_kernel_struct_mistakes_are_diagnostics():
    r = run_kt("-e", "BEGIN { $t = (struct task_struct *)curtask; @ = $t->comn; }")
    assert r.rc == 1 and "struct task_struct has no member 'comn'" in r.err and "did you mean 'comm'?" in r.err
    r = run_kt("-e", "BEGIN { $t = (struct task_strct *)curtask; }")
    assert r.rc == 1 and "unknown struct 'task_strct': not defined in the script nor in the kernel's BTF" in r.err


def test_a_binary_that_is_not_elf_is_a_diagnostic():
    r = run_kt("-e", "uprobe:/etc/hostname:foo { }")
    assert r.rc == 1 and "/etc/hostname is not a valid ELF file" in r.err and "Traceback" not in r.err
    r = run_kt("-e", "usdt:/etc/hostname:foo { }")
    assert r.rc == 1 and "/etc/hostname is not a valid ELF file" in r.err and "Traceback" not in r.err
