"""End-to-end tests run the `kt` command as users do and assert on what they see."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

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


@pytest.fixture
def kt():
    return run_kt
