"""After close() nothing is left: no program, link or map id in the kernel, no fd here.

Only the ids kt created are compared (other processes may load programs meanwhile).
"""

from __future__ import annotations

import gc
import os

import pytest

from kt.runtime.attach import Links
from kt.runtime.attach.special import run_once
from kt.runtime.attach.tracepoint import attach_tracepoint
from kt.runtime.events import RingBuffer
from kt.runtime.loader import load_object
from kt.runtime.spec import parse_object

from . import objects
from .kernel_state import bpftool_ids, open_fds, wait_until

pytestmark = pytest.mark.kernel


def _session():
    """Load both test objects, attach every tracepoint, read the ring: a whole trace."""
    pid = os.getpid()
    objs = [load_object(parse_object(objects.counter_object(pid))),
            load_object(parse_object(objects.ringbuf_object(pid)))]
    links = Links()
    for o in objs:
        for p in o.programs.values():
            if p.section.startswith("tracepoint/"):
                _, cat, name = p.section.split("/")
                links.add(attach_tracepoint(p.fd, cat, name))
    ring_map = objs[1].maps["kt_events"]
    ring = RingBuffer(ring_map.fd, ring_map.max_entries)
    run_once(objs[1].program_in("raw_tp/BEGIN").fd)
    os.getpid()
    ring.poll(100)
    assert ring.drain()
    progs = {p.info().id for o in objs for p in o.programs.values()}
    maps = {m.info().id for o in objs for m in o.maps.values()}
    link_ids = {link.info().id for link in links}
    return objs, links, ring, progs, maps, link_ids


def test_close_releases_everything():
    fds_before = open_fds()
    objs, links, ring, progs, maps, link_ids = _session()
    assert progs <= bpftool_ids("prog")
    assert link_ids <= bpftool_ids("link")
    assert maps <= bpftool_ids("map")
    assert len(open_fds()) > len(fds_before)

    ring.close()
    links.close()
    for o in objs:
        o.close()

    assert open_fds() == fds_before
    assert wait_until(lambda: not progs & bpftool_ids("prog")), "programs still loaded"
    assert wait_until(lambda: not link_ids & bpftool_ids("link")), "links still present"
    assert wait_until(lambda: not maps & bpftool_ids("map")), "maps still present"


def test_forgotten_objects_are_released_by_finalizers():
    fds_before = open_fds()
    objs, links, ring, progs, maps, link_ids = _session()
    del objs, links, ring
    gc.collect()
    assert open_fds() == fds_before
    assert wait_until(lambda: not progs & bpftool_ids("prog")), "programs still loaded"
    assert wait_until(lambda: not link_ids & bpftool_ids("link")), "links still present"
