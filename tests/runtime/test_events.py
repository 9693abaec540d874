"""runtime/events and attach/special: BEGIN runs once, records arrive through the ring buffer.

Records are {u64 event id, u64 pid_tgid}; the tracepoint program only writes for this test's
own process, so no other process's data is read.
"""

from __future__ import annotations

import os
import struct
import time

import pytest

from kt.runtime.attach.special import RunError, run_once
from kt.runtime.attach.tracepoint import attach_tracepoint
from kt.runtime.events import RingBuffer
from kt.runtime.loader import load_object
from kt.runtime.spec import parse_object

from . import objects

pytestmark = pytest.mark.kernel

REC = struct.Struct("<QQ")


@pytest.fixture
def obj():
    with load_object(parse_object(objects.ringbuf_object(os.getpid()))) as o:
        yield o


@pytest.fixture
def ring(obj):
    m = obj.maps[obj.meta.events.ringbuf]
    with RingBuffer(m.fd, m.max_entries) as rb:
        yield rb


def test_begin_runs_once_and_discarded_record_is_skipped(obj, ring):
    assert not ring.poll(0)
    assert run_once(obj.program_in("raw_tp/BEGIN").fd) == objects.BEGIN_RETVAL
    assert ring.poll(1000)
    records = [REC.unpack(r) for r in ring.drain()]
    assert [r[0] for r in records] == list(objects.BEGIN_EVENT_IDS)
    assert all(r[1] >> 32 == os.getpid() for r in records)
    # Three reservations of 8+16 bytes each were consumed, the discarded one included.
    assert ring.consumer_pos == ring.producer_pos == 3 * 24
    assert ring.drain() == []
    assert obj.maps["kt_lost"].lookup((0).to_bytes(4, "little")) == bytes(8)


def test_tracepoint_records_arrive(obj, ring):
    prog = obj.program_in("tracepoint/syscalls/sys_enter_getpid")
    n = 25
    with attach_tracepoint(prog.fd, "syscalls", "sys_enter_getpid"):
        for _ in range(n):
            os.getpid()
    got: list[bytes] = []
    deadline = time.monotonic() + 5
    while len(got) < n and time.monotonic() < deadline:
        if ring.poll(200):
            got.extend(ring.drain())
    records = [REC.unpack(r) for r in got]
    assert len(records) >= n
    assert {r[0] for r in records} == {objects.TP_EVENT_ID}
    assert {r[1] >> 32 for r in records} == {os.getpid()}


def test_poll_times_out_when_empty(ring):
    t0 = time.monotonic()
    assert ring.poll(50) is False
    assert time.monotonic() - t0 >= 0.04


def test_records_iterator_releases_on_early_stop(obj, ring):
    run_once(obj.program_in("raw_tp/BEGIN").fd)
    for rec in ring.records():
        assert REC.unpack(rec)[0] == objects.BEGIN_EVENT_IDS[0]
        break  # the first record counts as consumed; the second stays
    assert [REC.unpack(r)[0] for r in ring.drain()] == [objects.BEGIN_EVENT_IDS[1]]


def test_ring_size_must_be_valid(obj):
    with pytest.raises(ValueError, match="power of two"):
        RingBuffer(obj.maps["kt_events"].fd, 12345)


def test_run_once_on_a_tracepoint_program_explains(obj):
    with pytest.raises(RunError, match=r"bpf\(BPF_PROG_TEST_RUN\): .*raw_tp"):
        run_once(obj.program_in("tracepoint/syscalls/sys_enter_getpid").fd)


def test_run_once_on_cpu(obj, ring):
    assert run_once(obj.program_in("raw_tp/BEGIN").fd, cpu=0) == objects.BEGIN_RETVAL
    assert len(ring.drain()) == 2
