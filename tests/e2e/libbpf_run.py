"""Build and run tests/e2e/libbpf_loader.c: a kt object opened, loaded and attached by the
system's libbpf (1.1 here), as a user's own loader would. Shared by the host tests
(tests/e2e/test_libbpf.py) and the guest's (tests/vm/guest/test_libbpf_guest.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from kt.runtime.spec import parse_object

SOURCE = Path(__file__).with_name("libbpf_loader.c")

# Kinds libbpf attaches from the section name alone; the others (BEGIN/END in `raw_tp`, every
# perf event in `perf_event`) are the loader's to attach.
ATTACHED_BY_LIBBPF = frozenset({"tracepoint", "rawtracepoint", "kprobe", "kretprobe", "uprobe", "uretprobe",
                                "usdt", "kfunc", "kretfunc", "iter"})


def build_loader(directory: Path) -> str:
    """gcc -lbpf the loader into `directory`; the reason as an AssertionError when it cannot."""
    if shutil.which("gcc") is None or not Path("/usr/include/bpf/libbpf.h").exists():
        raise AssertionError("gcc and libbpf-dev are needed (apt-get install gcc libbpf-dev)")
    out = directory / "libbpf_loader"
    subprocess.run(["gcc", "-O1", "-Wall", "-Werror", "-o", str(out), str(SOURCE), "-lbpf"], check=True)
    return str(out)


@dataclass
class Program:
    name: str
    section: str
    loaded: bool
    attached: bool
    id: int


@dataclass
class LoaderRun:
    rc: int
    out: str
    err: str
    programs: dict[str, Program] = field(default_factory=dict)
    maps: dict[str, int] = field(default_factory=dict)       # name -> kernel map id
    child: int = 0                                           # the COMMAND's pid
    dumps: dict[str, list[tuple[bytes, bytes]]] = field(default_factory=dict)
    iters: dict[str, int] = field(default_factory=dict)     # iterator program -> bytes read


def parse(rc: int, out: str, err: str) -> LoaderRun:
    run = LoaderRun(rc, out, err)
    lines = iter(out.splitlines())
    for line in lines:
        words = line.split()
        if words[:1] == ["child"] and words[1].isdigit():
            run.child = int(words[1])
        elif words[:1] == ["prog"]:
            run.programs[words[1]] = Program(words[1], words[2], words[3] == "loaded", words[4] == "attached",
                                             int(words[5]))
        elif words[:1] == ["map"]:
            run.maps[words[1]] = int(words[2])
        elif words[:1] == ["iter"] and words[2] == "read":
            run.iters[words[1]] = int(words[3])
        elif words[:1] == ["dump"] and len(words) == 3 and words[2] != "missing":
            entries = [next(lines).split() for _ in range(int(words[2]))]
            run.dumps[words[1]] = [(bytes.fromhex(k), bytes.fromhex(v)) for k, v in entries]
    return run


def run_loader(loader: str, obj: str, *args: str, command: list[str] | None = None,
               timeout: float = 60) -> LoaderRun:
    cmd = [loader, obj, *args] + (["--", *command] if command else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return parse(p.returncode, p.stdout, p.stderr)


def probes_of(obj: str) -> tuple:
    """The object's .kt.meta probe entries (kt's own view of what each program is)."""
    return parse_object(Path(obj).read_bytes()).meta.probes


def check_every_program(run: LoaderRun, obj: str) -> None:
    """Every program of the object loaded under libbpf; those of kinds libbpf attaches by
    section name attached, the others were left to the loader; and the loader closed."""
    assert run.rc == 0 and run.out.rstrip().endswith("closed"), (run.out, run.err)
    probes = probes_of(obj)
    assert set(run.programs) == {p.program for p in probes}, (run.out, run.err)
    for p in probes:
        got = run.programs[p.program]
        assert got.section == p.section and got.loaded, (p, run.out, run.err)
        assert got.attached == (p.kind in ATTACHED_BY_LIBBPF), (p, run.out, run.err)


def bpftool_show(what: str) -> dict[int, dict]:
    """`bpftool -j map|prog show`, by id."""
    shown = json.loads(subprocess.run(["bpftool", "-j", what, "show"], capture_output=True, text=True,
                                      check=True).stdout or "[]")
    return {m["id"]: m for m in shown}


def alive(run: LoaderRun, patience: float = 10.0) -> set[int]:
    """Those of the run's map and program ids the kernel still has once the loader closed
    them (none). The kernel frees a map in a work item after its last fd closes, so the ids
    are asked again for a while before any is reported."""
    deadline = time.monotonic() + patience
    while True:
        left = ((set(bpftool_show("map")) & set(run.maps.values()))
                | (set(bpftool_show("prog")) & {p.id for p in run.programs.values()}))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)
