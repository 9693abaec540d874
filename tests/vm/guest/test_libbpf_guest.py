"""kprobe, kretprobe, fentry and fexit sections of kt objects, attached by the system's libbpf
(1.1) from their section names alone in Debian's 6.1 (the host has no kprobes and refuses
fentry): the C loader of tests/e2e/test_libbpf.py, built here with gcc, opens, loads and
attaches `kt --emit-elf` output, runs a command whose pid it writes into kt_cpid, and dumps
the count maps."""

from __future__ import annotations

import struct

import pytest

from ...e2e.libbpf_run import alive, build_loader, check_every_program, run_loader
from .. import objects
from .helpers import FUNC, instruction_offset, kt, load_counter

pytestmark = pytest.mark.kernel

CAT = ["/usr/bin/cat", "/etc/hostname"]


@pytest.fixture(scope="module")
def loader(tmp_path_factory) -> str:
    return build_loader(tmp_path_factory.mktemp("libbpf"))


def emit(tmp_path, script: str) -> str:
    out = str(tmp_path / "out.o")
    done = kt("--emit-elf", out, "-e", script)
    assert done.returncode == 0, done.stderr
    return out


def counts(run, maps) -> dict[str, int]:
    """Each count map's total over its entries and CPUs."""
    return {m: sum(sum(struct.unpack(f"<{len(v) // 8}q", v)) for _, v in run.dumps[f"AT_{m}"]) for m in maps}


def test_kprobe_kinds_attach_by_section_name(loader, tmp_path):
    with load_counter() as counter:
        off = instruction_offset(counter.program_in(objects.SECTION).fd)
    obj = emit(tmp_path, f"kprobe:{FUNC} /pid == cpid/ {{ @k = count(); }} "
                         f"kretprobe:{FUNC} /pid == cpid/ {{ @kr[retval >= 0] = count(); }} "
                         f"kprobe:{FUNC}+{off} /pid == cpid/ {{ @off = count(); }} "
                         f"kprobe:do_sys_opena* /pid == cpid/ {{ @wild = count(); }}")
    maps = ("k", "kr", "off", "wild")
    run = run_loader(loader, obj, *[a for m in maps for a in ("--dump", f"AT_{m}")], command=CAT, timeout=300)
    check_every_program(run, obj)
    assert {p.section for p in run.programs.values()} == {
        f"kprobe/{FUNC}", f"kretprobe/{FUNC}", f"kprobe/{FUNC}+{off:#x}", "kprobe/do_sys_openat2"}
    got = counts(run, maps)
    assert all(n > 0 for n in got.values()), got
    assert got["k"] == got["kr"] == got["off"] == got["wild"], got
    assert not alive(run)


def test_fentry_and_fexit_attach_by_section_name(loader, tmp_path):
    obj = emit(tmp_path, f"kfunc:{FUNC} /pid == cpid/ {{ @f = count(); }} "
                         f"kretfunc:{FUNC} /pid == cpid/ {{ @fr = count(); }}")
    run = run_loader(loader, obj, "--dump", "AT_f", "--dump", "AT_fr", command=CAT, timeout=300)
    check_every_program(run, obj)
    assert {p.section for p in run.programs.values()} == {f"fentry/{FUNC}", f"fexit/{FUNC}"}
    got = counts(run, ("f", "fr"))
    assert got["f"] == got["fr"] > 0, got
    assert not alive(run)
