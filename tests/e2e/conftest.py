"""End-to-end tests run the `kt` command as users do and assert on what they see."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Result:
    rc: int
    out: str
    err: str


def kt_command() -> list[str]:
    exe = shutil.which("kt")
    return [exe] if exe else [sys.executable, "-m", "kt.runtime.cli"]


def run_kt(*args: str, timeout: float = 60, env: dict | None = None, cwd: str | None = None) -> Result:
    proc = subprocess.run(kt_command() + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd, stdin=subprocess.DEVNULL)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@contextlib.contextmanager
def bpftool_loadall(obj: Path, name: str):
    """`bpftool prog loadall OBJ` (libbpf's loader) into /sys/fs/bpf/kt_test_NAME; yields the
    pin directory, whose pins are removed afterwards."""
    pin = Path("/sys/fs/bpf") / f"kt_test_{name}"
    subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], capture_output=True)
    try:
        load = subprocess.run(["bpftool", "prog", "loadall", str(obj), str(pin)], capture_output=True, text=True)
        assert load.returncode == 0, load.stderr
        yield pin
    finally:
        subprocess.run(["rm", "-rf", str(pin)])


@pytest.fixture
def kt():
    return run_kt
