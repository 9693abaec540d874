"""runtime/attach/perf_event: profile/interval timers and software events fire, counted by a
PERF_EVENT program; every event is closed again, also when attaching fails half way."""

from __future__ import annotations

import errno
import subprocess
import sys
import time

import pytest

from kt.compiler.formats import perf_events as pe
from kt.runtime.attach import AttachError
from kt.runtime.attach import perf_event as pe_attach
from kt.runtime.attach.perf_event import PerfEventUnavailable, attach_perf_event_prog
from kt.runtime.loader import load_object
from kt.runtime.spec import parse_object
from kt.runtime.sys.constants import LinkType
from kt.runtime.sys.cpus import online_cpus
from kt.runtime.sys.syscall import SyscallError

from . import objects
from .kernel_state import bpftool_ids, open_fds

pytestmark = pytest.mark.kernel

SW, CPU_CLOCK = pe.PERF_TYPE_SOFTWARE, pe.PERF_COUNT_SW_CPU_CLOCK


def by_cpu(obj) -> list[int]:
    m = obj.maps["by_cpu"]
    return [int.from_bytes(m.lookup(c.to_bytes(4, "little")), "little")
            for c in range(objects.MAX_TEST_CPUS)]


class Child:
    """A Python child that says "ready" once it has started, waits for a line on stdin, runs
    ``code`` and exits at once: its pid is known before the probe is attached, and neither
    its interpreter start-up nor its shutdown is counted (they take seconds in an emulated
    guest)."""

    def __init__(self, code: str) -> None:
        script = (f"import os, sys\nsys.stdout.write('ready\\n')\nsys.stdout.flush()\n"
                  f"sys.stdin.readline()\n{code}\nos._exit(0)\n")
        self.proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == b"ready\n"
        self.proc.stdout.close()

    def run(self, timeout: float = 60) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.close()
        assert self.proc.wait(timeout) == 0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def child_factory():
    children: list[Child] = []

    def make(code: str) -> Child:
        c = Child(code)
        children.append(c)
        return c

    yield make
    for c in children:
        c.kill()


BUSY_1S = """
import time
end = time.monotonic() + 1.0
while time.monotonic() < end:
    pass
"""


def test_profile_99hz_samples_a_busy_child(child_factory):
    fds = open_fds()
    child = child_factory(BUSY_1S)   # its stdin pipe is closed again by run()
    with load_object(parse_object(objects.perf_event_counter_object(child.pid))) as obj:
        with attach_perf_event_prog(obj.program_in("perf_event").fd, SW, CPU_CLOCK, freq=99,
                                    cpus="all") as link:
            assert link.cpus == len(online_cpus())
            assert link.uses_bpf_link
            assert {i.type for i in link.infos()} == {LinkType.PERF_EVENT}
            child.run()
        samples = sum(by_cpu(obj))
    # One thread busy for 1 s at 99 Hz: about 99 samples (loose band: scheduling, start-up).
    assert 50 <= samples <= 150, samples
    assert open_fds() == fds


def test_interval_10ms_fires_on_cpu0_only():
    fds = open_fds()
    with load_object(parse_object(objects.perf_event_counter_object())) as obj:
        # interval: is not about a task: every run counts, wherever it interrupted.
        with attach_perf_event_prog(obj.program_in("perf_event").fd, SW, CPU_CLOCK,
                                    period=10_000_000, cpus="one") as link:
            assert link.cpus == 1
            time.sleep(1.0)
        counts = by_cpu(obj)
    assert 50 <= counts[0] <= 150, counts[0]
    assert sum(counts[1:]) == 0
    assert open_fds() == fds


PAGES = 4096
TOUCH_PAGES = f"""
import mmap
m = mmap.mmap(-1, {PAGES} * 4096)
m.madvise(mmap.MADV_NOHUGEPAGE)   # one fault per 4 KiB page, not one per 2 MiB
for i in range(0, {PAGES} * 4096, 4096):
    m[i] = 1
"""


def test_software_page_faults_of_a_child(child_factory):
    child = child_factory(TOUCH_PAGES)
    ev = pe.lookup("software", "faults")
    with load_object(parse_object(objects.perf_event_counter_object(child.pid))) as obj:
        # pid= makes the kernel count the child's faults only; the program filters too.
        with attach_perf_event_prog(obj.program_in("perf_event").fd, ev.perf_type, ev.config,
                                    period=1, pid=child.pid):
            child.run()
        faults = sum(by_cpu(obj))
    assert PAGES <= faults <= PAGES + 2000, faults


def test_software_context_switches_of_a_child(child_factory):
    child = child_factory("import time\nfor _ in range(200):\n    time.sleep(0.001)\n")
    ev = pe.lookup("software", "cs")
    with load_object(parse_object(objects.perf_event_counter_object(child.pid))) as obj:
        with attach_perf_event_prog(obj.program_in("perf_event").fd, ev.perf_type, ev.config,
                                    period=1, pid=child.pid):
            child.run()
        switches = sum(by_cpu(obj))
    assert 200 <= switches <= 1000, switches


def test_default_period_samples_fewer(child_factory):
    child = child_factory(TOUCH_PAGES)
    ev = pe.lookup("software", "page-faults")
    with load_object(parse_object(objects.perf_event_counter_object(child.pid))) as obj:
        with attach_perf_event_prog(obj.program_in("perf_event").fd, ev.perf_type, ev.config,
                                    period=ev.default_period, pid=child.pid):
            child.run()
        samples = sum(by_cpu(obj))
    assert PAGES // 100 <= samples <= (PAGES + 2000) // 100, samples


def _has_hardware_pmu() -> bool:
    import os
    return os.path.exists("/sys/bus/event_source/devices/cpu") or \
        os.path.exists("/sys/bus/event_source/devices/cpu_core")


@pytest.mark.skipif(_has_hardware_pmu(), reason="this machine has a hardware PMU")
def test_hardware_event_without_pmu_is_a_clear_error():
    ev = pe.lookup("hardware", "cycles")
    fds = open_fds()
    with load_object(parse_object(objects.perf_event_counter_object())) as obj:
        with pytest.raises(PerfEventUnavailable) as info:
            attach_perf_event_prog(obj.program_in("perf_event").fd, ev.perf_type, ev.config,
                                   period=ev.default_period)
    msg = str(info.value)
    assert "hardware:cpu-cycles" in msg and "no hardware PMU" in msg and "ENOENT" in msg
    assert open_fds() == fds


def test_missing_pmu_errors_are_explained(monkeypatch):
    # What a machine without a PMU (ENOENT) or without sampling support (EOPNOTSUPP) says.
    for err, msg in ((errno.ENOENT, "this machine has no hardware PMU .*ENOENT"),
                     (errno.EOPNOTSUPP, "this machine's hardware PMU cannot sample this "
                                        "event .*EOPNOTSUPP")):
        def refuse(attr, pid, cpu, group_fd=-1, flags=0, err=err):
            raise SyscallError("perf_event_open()", err)

        monkeypatch.setattr(pe_attach, "perf_event_open", refuse)
        with pytest.raises(PerfEventUnavailable, match="attach hardware:cache-misses: " + msg):
            attach_perf_event_prog(0, pe.PERF_TYPE_HARDWARE, pe.PERF_COUNT_HW_CACHE_MISSES,
                                   period=1000)


def test_failure_on_a_later_cpu_closes_the_earlier_ones(monkeypatch):
    real = pe_attach.perf_event_open
    opened: list[int] = []

    def second_cpu_fails(attr, pid, cpu, group_fd=-1, flags=0):
        if opened:
            raise SyscallError("perf_event_open()", errno.EBUSY)
        fd = real(attr, pid, cpu, group_fd, flags)
        opened.append(fd)
        return fd

    monkeypatch.setattr(pe_attach, "perf_event_open", second_cpu_fails)
    with load_object(parse_object(objects.perf_event_counter_object())) as obj:
        links_before = bpftool_ids("link")
        fds = open_fds()
        with pytest.raises(AttachError, match="attach software:cpu-clock: .*EBUSY"):
            attach_perf_event_prog(obj.program_in("perf_event").fd, SW, CPU_CLOCK,
                                   period=10_000_000, cpus=[0, 0])
        assert len(opened) == 1
        assert open_fds() == fds
        assert bpftool_ids("link") <= links_before


def test_wrong_program_type_undoes_everything():
    # A raw_tp program cannot run on a perf event: LINK_CREATE and SET_BPF both refuse.
    fds = open_fds()
    with load_object(parse_object(objects.perf_event_counter_object(
            section="raw_tp/sys_enter"))) as obj:
        with pytest.raises(AttachError, match="attach software:cpu-clock cpu 0: "):
            attach_perf_event_prog(obj.program_in("raw_tp/sys_enter").fd, SW, CPU_CLOCK,
                                   period=10_000_000)
    assert open_fds() == fds


def test_closing_stops_counting_and_is_idempotent():
    with load_object(parse_object(objects.perf_event_counter_object())) as obj:
        link = attach_perf_event_prog(obj.program_in("perf_event").fd, SW, CPU_CLOCK,
                                      period=5_000_000, cpus="one")
        time.sleep(0.2)
        link.close()
        link.close()
        assert link.closed
        before = sum(by_cpu(obj))
        assert before > 0
        time.sleep(0.2)
        assert sum(by_cpu(obj)) == before


def test_bad_arguments():
    with pytest.raises(ValueError, match="exactly one of period and freq"):
        attach_perf_event_prog(0, SW, CPU_CLOCK)
    with pytest.raises(ValueError, match="exactly one of period and freq"):
        attach_perf_event_prog(0, SW, CPU_CLOCK, period=1, freq=1)
    with pytest.raises(ValueError, match="cpus must be"):
        attach_perf_event_prog(0, SW, CPU_CLOCK, period=1, cpus="some")
