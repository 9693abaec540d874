"""Positional parameters as slots on 6.1 with kprobes: an object compiled once runs with
other arguments (`kt out.o ...`), `str($N)` and `$N` read from `.rodata` by 6.1's verifier;
the kprobe's function, an attach point, is baked in and must not change."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from kt.runtime.attach.kprobe import kt_kprobe_events

from .helpers import FUNC, bpftrace, kt

pytestmark = pytest.mark.kernel

SCRIPT = 'kprobe:$1 /pid == cpid/ { @[str($2)] = count(); @n = sum($3); }'
CAT = ["-c", "/usr/bin/cat /etc/hostname /etc/os-release"]


def _maps(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line.startswith("@"))


def test_one_kprobe_object_runs_with_other_arguments():
    with tempfile.TemporaryDirectory() as d:
        obj = str(Path(d) / "pos.o")
        built = kt("--emit-elf", obj, "-e", SCRIPT, FUNC, "compiled", "1")
        assert built.returncode == 0, built.stderr
        for word, weight in (("abc", "3"), ("xyz", "5")):
            ours = kt(obj, *CAT, FUNC, word, weight, env={"LC_ALL": "C"})
            assert ours.returncode == 0, ours.stderr
            if word == "abc":   # each run costs ~30 s under emulation: 0.17 once
                theirs = bpftrace("-e", SCRIPT, *CAT, FUNC, word, weight, env={"LC_ALL": "C"})
                assert theirs.returncode == 0, theirs.stderr
                assert _maps(ours.stdout) == _maps(theirs.stdout)
            count = int(re.search(rf"^@\[{word}\]: (\d+)$", ours.stdout, re.M).group(1))
            assert f"@n: {count * int(weight)}" in ours.stdout
        other = kt(obj, *CAT, "vfs_read", "abc", "3")
        assert other.returncode != 0
        assert f"$1 was {FUNC} when this object was compiled and is vfs_read now: recompile" in other.stderr
    assert kt_kprobe_events() == []
