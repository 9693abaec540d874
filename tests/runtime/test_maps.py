"""runtime/maps: element operations and iteration against real kernel maps."""

from __future__ import annotations

import errno
import os

import pytest

from kt.runtime.loader import load_object
from kt.runtime.maps import Map, kernel_object_name, split_percpu, sum_u64
from kt.runtime.spec import MapSpec, parse_object
from kt.runtime.sys.constants import MapType, UpdateFlags
from kt.runtime.sys.cpus import num_possible_cpus
from kt.runtime.sys.syscall import SyscallError

from . import objects


def u32(n: int) -> bytes:
    return n.to_bytes(4, "little")


def u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def test_kernel_object_name():
    assert kernel_object_name("AT_s") == b"AT_s"
    assert kernel_object_name("@x-y") == b"_x_y"
    assert kernel_object_name("a_very_long_program_name") == b"a_very_long_pro"


def test_split_percpu_slots_are_rounded_to_8():
    raw = b"abcd\0\0\0\0" + b"efgh\0\0\0\0"
    assert split_percpu(raw, 4, ncpus=2) == [b"abcd", b"efgh"]
    assert sum_u64([u64(2), u64(3)]) == 5


@pytest.fixture
def obj():
    with load_object(parse_object(objects.counter_object(os.getpid()))) as o:
        yield o


@pytest.mark.kernel
def test_hash_update_lookup_delete(obj):
    m = obj.maps["counts"]
    assert m.lookup(u32(1)) is None
    m.update(u32(1), u64(10))
    m.update(u32(2), u64(20))
    assert m.lookup(u32(1)) == u64(10)
    with pytest.raises(SyscallError) as info:
        m.update(u32(1), u64(11), UpdateFlags.NOEXIST)
    assert info.value.errno == errno.EEXIST
    assert str(info.value).startswith("bpf(BPF_MAP_UPDATE_ELEM): ")
    assert sorted(m.keys()) == [u32(1), u32(2)]
    assert sorted(m.items()) == [(u32(1), u64(10)), (u32(2), u64(20))]
    assert m.delete(u32(1)) is True
    assert m.delete(u32(1)) is False
    m.clear()
    assert m.keys() == [] and m.items() == []


@pytest.mark.kernel
def test_size_checks(obj):
    m = obj.maps["counts"]
    with pytest.raises(ValueError, match="key is 8 bytes, expected 4"):
        m.lookup(u64(1))
    with pytest.raises(ValueError, match="value must be 8 bytes"):
        m.update(u32(1), u32(1))


@pytest.mark.kernel
def test_percpu_values(obj):
    m = obj.maps["pcounts"]
    n = num_possible_cpus()
    m.update(u32(5), u64(3))  # one value for every CPU
    v = m.lookup(u32(5))
    assert v == [u64(3)] * n
    m.update(u32(6), [u64(i) for i in range(n)])
    assert dict(m.items()) == {u32(5): [u64(3)] * n, u32(6): [u64(i) for i in range(n)]}
    assert sum_u64(m.lookup(u32(6))) == sum(range(n))
    with pytest.raises(ValueError, match="per-CPU values"):
        m.update(u32(7), [u64(1)] * (n + 1))
    m.clear()
    assert m.keys() == []


@pytest.mark.kernel
def test_array_map(obj):
    m = obj.maps["table"]
    assert m.keys() == [u32(i) for i in range(4)]  # every index exists
    rec = bytes(range(24))
    m.update(u32(2), rec)
    assert m.lookup(u32(2)) == rec
    assert m.lookup(u32(9)) is None  # out of range is ENOENT, like a missing key
    m.clear()  # arrays cannot delete: zeroed instead
    assert m.items() == [(u32(i), bytes(24)) for i in range(4)]


@pytest.mark.kernel
def test_create_standalone_map_and_error_names_it():
    spec = MapSpec("standalone", MapType.HASH, 8, 8, 16)
    with Map.create(spec) as m:
        m.update(u64(1), u64(2))
        assert m.items() == [(u64(1), u64(2))]
    assert m.closed
    bad = MapSpec("bad_ring", MapType.RINGBUF, 0, 0, 12345)  # not a power of two
    with pytest.raises(SyscallError, match=r"bpf\(BPF_MAP_CREATE\): .*map 'bad_ring'"):
        Map.create(bad)
