"""attach_kprobe through the kprobe PMU and through tracefs kprobe_events (legacy=True):
entry, return, offset and cookies all count this process's opens; failures undo themselves;
nothing stays in kprobe_events, no fd stays open."""

from __future__ import annotations

import errno
import re

import pytest

from kt.runtime.attach import AttachError, Links
from kt.compiler.formats.meta import KprobeAttach
from kt.runtime.attach.by_kind import ATTACH, AttachContext
from kt.runtime.attach.dynamic_events import DynamicEventLink
from kt.runtime.attach.kprobe import KprobeError, attach_kprobe, kprobe_pmu_type, kt_kprobe_events
from kt.runtime.loader import load_object
from kt.runtime.spec import parse_object
from kt.runtime.sys.constants import LinkType
from tests.runtime.kernel_state import open_fds

from .. import objects
from .helpers import FUNC, counts, instruction_offset, kprobe_events, last_ax, load_counter, opens

pytestmark = pytest.mark.kernel

N = 50
MODES = [pytest.param(False, id="pmu"), pytest.param(True, id="tracefs")]


@pytest.fixture(scope="module")
def obj():
    with load_counter() as o:
        yield o


@pytest.fixture
def prog(obj):
    obj.maps["counts"].clear()
    obj.maps["last_ax"].clear()
    fds = open_fds()
    yield obj.program_in(objects.SECTION).fd
    assert kt_kprobe_events() == [], "a kprobe_events entry outlived close()"
    assert open_fds() == fds, "an fd outlived close()"


def test_guest_kernel_has_the_kprobe_pmu():
    assert kprobe_pmu_type() == 6     # Debian 6.1 (kernel-facts §2)


@pytest.mark.parametrize("legacy", MODES)
def test_kprobe_counts_own_opens(obj, prog, legacy):
    with attach_kprobe(prog, FUNC, legacy=legacy) as link:
        assert isinstance(link, DynamicEventLink) == legacy
        assert link.uses_bpf_link                       # 6.1 has perf_event links
        assert link.info().type == LinkType.PERF_EVENT
        if legacy:
            assert f"p:kprobes/{link.event_name} {FUNC}" in kprobe_events()
        opens(N)
    c = counts(obj)
    assert N <= c[0] <= N + 5
    opens(10)
    assert counts(obj)[0] == c[0]                       # detached


@pytest.mark.parametrize("legacy", MODES)
def test_kretprobe_sees_the_return_value(obj, prog, legacy):
    with attach_kprobe(prog, FUNC, retprobe=True, legacy=legacy) as link:
        if legacy:
            assert re.search(rf"^r\d*:kretprobes/{link.event_name} {FUNC}$", kprobe_events(),
                             re.M)
        fd = opens(N)
    assert N <= counts(obj)[0] <= N + 5
    assert last_ax(obj) == fd          # regs->ax at return: the fd open() got


@pytest.mark.parametrize("legacy", MODES)
def test_offset(obj, prog, legacy):
    off = instruction_offset(prog)
    obj.maps["counts"].clear()
    with attach_kprobe(prog, FUNC, off, legacy=legacy) as link:
        if legacy:     # kprobe_events prints the offset in decimal
            assert f"p:kprobes/{link.event_name} {FUNC}+{off}" in kprobe_events()
        opens(N)
    print(f"{FUNC}+{off:#x}: {counts(obj)[0]} hits")
    assert N <= counts(obj)[0] <= N + 5


@pytest.mark.parametrize("legacy", MODES)
def test_cookies_tell_attachments_apart(obj, prog, legacy):
    with Links() as links:
        links.add(attach_kprobe(prog, FUNC, cookie=3, legacy=legacy))
        links.add(attach_kprobe(prog, FUNC, cookie=5, legacy=legacy))
        opens(N)
    c = counts(obj)
    assert N <= c[3] <= N + 5 and N <= c[5] <= N + 5
    assert c[0] == 0


@pytest.mark.parametrize("legacy", MODES)
def test_unknown_function(prog, legacy):
    with pytest.raises(KprobeError) as info:
        attach_kprobe(prog, "kt_no_such_function", legacy=legacy)
    print(f"kernel's answer: {info.value}")
    assert "kt_no_such_function" in str(info.value)
    assert info.value.errno in (errno.ENOENT, errno.EINVAL)


@pytest.mark.parametrize("legacy", MODES)
def test_failed_attach_undoes_the_kprobe(prog, legacy):
    # A TRACEPOINT program cannot run on a kprobe event: the kprobe (and, with tracefs, its
    # kprobe_events entry) exists by then and must be removed again.
    with load_object(parse_object(objects.tracepoint_object())) as tp:
        fds = open_fds()
        with pytest.raises(AttachError) as info:
            attach_kprobe(next(iter(tp.programs.values())).fd, FUNC, legacy=legacy)
        print(f"kernel's answer: {info.value}")
        assert str(info.value).startswith(f"attach kprobe {FUNC}: ")
        assert open_fds() == fds
        assert kt_kprobe_events() == []


def test_retprobe_with_offset_is_refused(prog):
    with pytest.raises(ValueError, match="kretprobe takes no offset"):
        attach_kprobe(prog, FUNC, 4, retprobe=True)


def test_session_adapter_undoes_earlier_targets(obj, prog):
    # by_kind's kprobe adapter attaches one link per function; when the second function does
    # not exist, the first link must be closed again.
    attach = KprobeAttach((FUNC, "kt_no_such_function"))
    with pytest.raises(KprobeError, match="kt_no_such_function"):
        ATTACH["kprobe"](prog, attach, AttachContext())
    opens(5)
    assert counts(obj) == [0] * objects.SLOTS
