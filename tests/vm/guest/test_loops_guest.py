"""for loops, has_key() and len() on 6.1's verifier (compiler/codegen/loops.py): the callbacks of
bpf_for_each_map_elem (5.13) and bpf_loop (5.17), BPF_PSEUDO_FUNC addresses, per-CPU reads with
bpf_map_lookup_percpu_elem (5.19), and a kprobe's context read in a loop body (kprobes exist
only in the guest)."""

from __future__ import annotations

import pytest

from .helpers import kt, same_maps_as_bpftrace

pytestmark = pytest.mark.kernel


def test_loops_and_map_queries_in_begin():
    r = kt("-e", 'BEGIN { @m[1, "a"] = 10; @m[2, "b"] = 20; @c[1] = count(); @c[1] = count(); $t = 0; '
           'for ($kv : @m) { if ($kv.0.0 == 2) { continue; } $t += $kv.1; } '
           'for ($kv : @c) { $t += $kv.1 * 100; } for ($i : 0..10) { if ($i == 4) { break; } $t += 1000; } '
           'for ($i : 3..3) { $t = 0; } '
           'printf("%d %d %d %d\\n", $t, len(@m), has_key(@m, (1, "a")), has_key(@m, (1, "b"))); '
           'clear(@m); clear(@c); exit(); }')
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[:4] == ["4210", "2", "1", "0"], r.stdout


def test_kprobe_loop_reads_its_arguments_as_017_spells_it():
    # arg0 (dfd) compared with 0.17; str(arg1) only under kt: 0.17 reads a kprobe's user
    # pointer as kernel memory and prints empty strings.
    old = same_maps_as_bpftrace(
        "kprobe:do_sys_openat2 /pid == cpid/ { @f[0, arg0] = count(); @f[1, arg0] = count(); }",
        "/bin/cat /etc/hostname")
    r = kt("-e", "kprobe:do_sys_openat2 /pid == cpid/ { for ($i : 0..2) { @f[$i, arg0] = count(); "
           "@s[$i, str(arg1)] = count(); } }", "-c", "/bin/cat /etc/hostname", env={"LC_ALL": "C"})
    assert r.returncode == 0, r.stderr
    maps = lambda text: sorted(l for l in text.splitlines() if l.startswith("@f"))  # noqa: E731
    assert maps(r.stdout) == maps(old.stdout), r.stdout
    assert "@s[1, /etc/hostname]: 1" in r.stdout, r.stdout
