"""watchpoint: probes in Debian's 6.1 under QEMU beside bpftrace 0.17 in the same guest: the
emulated CPU's debug registers (TCG implements DR0-DR7), a fixed address and a function's
argument (tests/e2e/test_watchpoints.py has the full set on the host)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import bpftrace, kt

pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(shutil.which("bpftrace") is None, reason="bpftrace 0.17 is not installed")]

SOURCE = Path(__file__).resolve().parents[2] / "e2e" / "targets" / "watch_target.c"


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> dict:
    exe = tmp_path_factory.mktemp("watch") / "watch_target"
    subprocess.run(["gcc", "-O0", "-no-pie", "-o", str(exe), str(SOURCE)], check=True)
    nm = subprocess.run(["nm", str(exe)], capture_output=True, text=True, check=True).stdout
    syms = {p[2]: p[0] for p in (ln.split() for ln in nm.splitlines()) if len(p) == 3}
    return {"t": str(exe), "counter": "0x" + syms["counter"].lstrip("0")}


def _lines(stdout: str) -> list[str]:
    lines = [ln for ln in stdout.split("\n") if not re.fullmatch(r"Attaching \d+ probes?\.\.\.", ln)]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


@pytest.mark.parametrize("script,command,expect", [
    ("watchpoint:{counter}:8:w { @w = count(); }", "{t} loop 5", "@w: 5"),
    ("watchpoint:arm+arg0:8:w { @a = count(); }", "{t} arm 3 2", "@a: 6"),
])
def test_watchpoint_as_bpftrace(target, script, command, expect):
    script = script.replace("{counter}", target["counter"])
    command = command.replace("{t}", target["t"])
    theirs = bpftrace("-e", script, "-c", command)
    ours = kt("-e", script, "-c", command)
    assert theirs.returncode == 0, f"bpftrace: {theirs.stderr}"
    assert ours.returncode == 0, f"kt: {ours.stderr}"
    assert _lines(ours.stdout) == _lines(theirs.stdout) == ["", "", expect], \
        f"bpftrace:\n{theirs.stdout}\nkt:\n{ours.stdout}"
