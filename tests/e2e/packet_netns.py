"""Shared by tests/e2e/test_packet_*.py: kt run inside a namespace of a veth pair
(tests/netns.py), and the traffic commands as -c children (kt releases the child once its
probes are attached, and ends the trace when it exits, so no test waits on time)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netns import TRAFFIC, VethPair, needs_netns_mark, veth_pair

from .conftest import Result, kt_command

needs_netns = needs_netns_mark()


@pytest.fixture
def pair():
    """A fresh veth pair; after the test, nothing of kt's may be on it."""
    with veth_pair() as p:
        yield p
        p.assert_clean()


def kt_in(pair: VethPair, ns: str, *args: str, env: dict | None = None, timeout: float = 90) -> Result:
    r = subprocess.run(pair.argv(ns, kt_command() + list(args)), capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    return Result(r.returncode, r.stdout, r.stderr)


def kt_popen(pair: VethPair, ns: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(pair.argv(ns, kt_command() + list(args)), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def traffic_cmd(ns: str | None, *args: object, out: Path | None = None) -> str:
    """A -c command running one tests/netns_traffic.py command, in `ns` (None: kt's own).
    Its result goes to the file `out` (read it with `results(out)`), else nowhere: kt's
    output is the child's too."""
    argv = [sys.executable, str(TRAFFIC), "--out", str(out or os.devnull), *map(str, args)]
    if ns is not None:
        argv = ["ip", "netns", "exec", ns, *argv]
    return shlex.join(argv)


def results(out: Path) -> list[dict]:
    """What the traffic commands run with `out=` reported, in order."""
    return [json.loads(line) for line in out.read_text().splitlines()]


def shell(*commands: str) -> str:
    """One -c command running several in turn."""
    return shlex.join(["sh", "-c", " && ".join(commands)])


def wait_attached(proc: subprocess.Popen) -> None:
    """Read kt's stderr up to its "Attached N probes" line (or fail with what it said)."""
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("Attached "):
            return
    proc.wait()
    pytest.fail("kt ended before attaching:\n" + "".join(seen))
