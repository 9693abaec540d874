"""Kernel-probe builtins and rules in Debian's 6.1, beside bpftrace 0.17 in the same guest:
path() in kfunc/kretfunc (bpf_d_path, allowed only in the kernel's d_path allow-list), kprobe
argN/sargN/reg() reads, override() on a kernel without bpf_override_return, banned
kretprobes, and an attach point this kernel lacks skipped beside one it has."""

from __future__ import annotations

import re
import shutil

import pytest

from kt.runtime.attach.kprobe import kt_kprobe_events

from .helpers import bpftrace, kt, same_maps_as_bpftrace

pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(shutil.which("bpftrace") is None, reason="bpftrace 0.17 is not installed")]

CAT = "/usr/bin/cat /etc/hostname /etc/os-release"


def test_path_of_a_struct_path_member_and_pointer_matches_bpftrace():
    """filp_close and vfs_getattr are on 6.1's d_path allow-list: the member form of bpftrace's
    docs (`path(args->filp->f_path)`) and a `const struct path *` argument."""
    script = ('kfunc:filp_close /pid == cpid && comm == "cat"/ { @closed[path(args->filp->f_path)] = count(); } '
              'kfunc:vfs_getattr /pid == cpid && comm == "cat"/ { @stat[path(args->path)] = count(); } '
              'kretfunc:filp_close /pid == cpid && comm == "cat"/ { @ret[path(args->filp->f_path)] = count(); }')
    # cat closes the pipes of its stdout and stderr too: their inode numbers differ per run
    out = same_maps_as_bpftrace(script, CAT, normalize=lambda line: re.sub(r"pipe:\[\d+\]", "pipe:[N]", line)).stdout
    assert "@closed[/etc/hostname]: 1\n" in out
    assert "@stat[/hostname]: 1\n" in out   # 0.17 and kt alike: d_path of vfs_getattr's path


def test_path_outside_the_allow_list_is_refused_by_the_verifier():
    """vfs_open is not on the allow-list: the verifier refuses the program (0.17 blames an
    unrelated helper for it); kt shows the verifier's reason at the script line."""
    done = kt("-e", 'kfunc:vfs_open { printf("%s\\n", path(args->path)); }')
    assert done.returncode == 1, done.stderr
    assert "verifier rejected kfunc_vfs_open (fentry/vfs_open)" in done.stderr
    assert "Traceback" not in done.stderr


def test_kprobe_argument_and_register_reads_match_bpftrace():
    """argN are the calling convention's registers; sargN the stack words above the return
    address (sarg0 at sp + 8); retval is ax."""
    script = ('kprobe:do_sys_openat2 /pid == cpid && comm == "cat"/ { '
              '@a[arg0, arg1 == reg("si"), arg2 == reg("dx"), reg("di") == arg0, reg("ip") != 0] = count(); '
              '@s[sarg0 == *(uint64 *)(reg("sp") + 8), sarg2 == *(uint64 *)(reg("sp") + 24)] = count(); } '
              'kretprobe:do_sys_openat2 /pid == cpid && comm == "cat"/ { @r[retval == reg("ax"), retval >= 0] = count(); }')
    same_maps_as_bpftrace(script, CAT)


def test_override_needs_bpf_override_return_which_6_1_lacks():
    """Debian builds 6.1 without CONFIG_FUNCTION_ERROR_INJECTION, so there is no
    bpf_override_return: 0.17 says so at compile time, kt when the kernel refuses the helper."""
    script = "kprobe:__x64_sys_getppid { override(1); }"
    words = "BPF_FUNC_override_return not available for your kernel version"
    theirs = bpftrace("--unsafe", "-e", script)
    assert theirs.returncode != 0 and words in theirs.stderr, theirs.stderr
    ours = kt("--unsafe", "-e", script)
    assert ours.returncode == 1 and words in ours.stderr, ours.stderr
    assert "Traceback" not in ours.stderr
    assert kt_kprobe_events() == []


def test_banned_kretprobes_are_refused_before_anything_attaches():
    """(tests/e2e/test_kprobe_rules.py compares all four on the host, where kt refuses them the
    same way: at compile time.)"""
    func = "queued_spin_lock_slowpath"
    words = f"kretprobe:{func} can't be used as it might lock up your system."
    script = f"kprobe:do_sys_openat2 {{ @ = count(); }} kretprobe:{func} {{ @r = count(); }}"
    theirs = bpftrace("-e", script)
    assert theirs.returncode != 0 and words in theirs.stderr, theirs.stderr
    ours = kt("-e", script)
    assert ours.returncode == 1 and words in ours.stderr, ours.stderr
    assert "Attached" not in ours.stderr


def test_a_missing_function_beside_one_this_kernel_has_is_skipped_as_bpftrace_skips_it():
    script = 'kprobe:kt_no_such_function, kprobe:do_sys_openat2 /pid == cpid && comm == "cat"/ { @ = count(); }'
    ours = same_maps_as_bpftrace(script, CAT)
    assert "WARNING: could not attach probe kprobe:kt_no_such_function, skipping." in ours.stderr
    assert "Attached 1 probe\n" in ours.stderr
    assert kt_kprobe_events() == []
