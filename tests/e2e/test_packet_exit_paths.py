"""Every way a packet trace ends leaves nothing of kt's on the interface: no XDP program, no tcx
link, no clsact filter or qdisc, and the programs that were attached are gone from the kernel.
Both tc paths: tcx links (this kernel) and clsact filters through netlink (KT_TC_NETLINK=1,
the path of kernels before 6.6). After SIGKILL links die with kt's descriptors; a netlink
filter stays, holding its program, until the next kt with a tc probe removes it (and the
clsact qdisc it made); the guest runs the same on 6.1 (tests/vm/guest/test_packet_guest.py)."""

from __future__ import annotations

import signal

import pytest

from .packet_netns import kt_in, kt_popen, needs_netns, pair, traffic_cmd, wait_attached  # noqa: F401

pytestmark = [pytest.mark.kernel, needs_netns]

PATHS = {"tcx": {}, "netlink": {"KT_TC_NETLINK": "1"}}


def _script(dev: str, stop_on_udp: bool = False) -> str:
    stop = f'tc:{dev}:egress /proto == 17/ {{ exit(); }} ' if stop_on_udp else ""
    return (f'{stop}tc:{dev}:ingress {{ @in = count(); }} tc:{dev}:egress {{ @out = count(); }} '
            f'xdp:{dev} {{ @xdp = count(); }} END {{ @end = 1; }}')


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("ending", ["SIGINT", "SIGTERM", "exit", "-c"])
def test_each_ending_leaves_nothing(pair, path, ending):
    a, b = pair.a, pair.b
    env = PATHS[path]
    if ending == "-c":   # the child ends when the test's datagram arrives
        proc = kt_popen(pair, a.ns, "-e", _script(a.dev), "-c", traffic_cmd(None, "udp-recv", a.ip4, 9, 60, 1),
                        env=env)
    else:
        proc = kt_popen(pair, a.ns, "-e", _script(a.dev, stop_on_udp=ending == "exit"), env=env)
    wait_attached(proc)
    on = pair.attached(a)
    loaded = set(on["xdp"] + on["tc"] + on["tcx"])
    assert len(on["xdp"]) == 1 and len(on["tc"] + on["tcx"]) == (3 if ending == "exit" else 2), on
    if path == "netlink":
        assert on["tcx"] == [] and "clsact" in on["qdiscs"], on
    if ending in ("SIGINT", "SIGTERM"):
        proc.send_signal(getattr(signal, ending))
    elif ending == "exit":
        pair.traffic(a.ns, "udp-send", b.ip4, 9, 1)
    else:
        pair.traffic(b.ns, "udp-send", a.ip4, 9, 1)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "@end: 1" in out.splitlines(), out
    pair.assert_clean(loaded)


def test_sigkill_links_die_with_kt(pair):
    a = pair.a
    proc = kt_popen(pair, a.ns, "-e", _script(a.dev))
    wait_attached(proc)
    loaded = pair.program_ids()
    assert len(loaded) == 3
    proc.kill()
    proc.wait()
    pair.assert_clean(loaded)


def test_after_sigkill_the_next_kt_removes_the_filters_and_the_qdisc(pair):
    a = pair.a
    proc = kt_popen(pair, a.ns, "-e", _script(a.dev), env=PATHS["netlink"])
    wait_attached(proc)
    loaded = pair.program_ids()
    proc.kill()
    proc.wait()
    left = pair.attached(a)
    assert len(left["tc"]) == 2 and "clsact" in left["qdiscs"], left   # the XDP link died; filters stay
    assert sorted(f.rsplit("_", 1)[-1] for f in left["filters"]) == ["q", "q"]
    # any next kt with a tc probe (here on the other device, on the tcx path) sweeps them
    r = kt_in(pair, a.ns, "-e", "tc:lo:ingress { } BEGIN { exit(); }")
    assert r.rc == 0, r.err
    removed = [line for line in r.err.splitlines() if line.startswith("Removed a tc filter left by an earlier kt: ")]
    assert sorted(line.split()[-2] for line in removed) == ["egress", "ingress"], r.err
    assert all(f" {a.dev} " in line for line in removed)
    pair.assert_clean(loaded)


def test_a_missing_device_is_an_error_naming_what_exists(pair):
    r = kt_in(pair, pair.a.ns, "-e", "tc:nosuchdev:ingress { @n = count(); }")
    assert r.rc == 1
    assert (f"cannot attach tc:nosuchdev:ingress: no network device 'nosuchdev' in kt's network "
            f"namespace (devices: lo, {pair.a.dev})") in r.err
    r = kt_in(pair, pair.a.ns, "-e", f"xdp:{pair.a.dev[:-1]} {{ @n = count(); }}")
    assert f"did you mean '{pair.a.dev}'?" in r.err


def test_an_attach_failing_half_way_detaches_the_rest(pair):
    """The first probe attaches, the second cannot: nothing of the first stays."""
    a = pair.a
    r = kt_in(pair, a.ns, "-e", f"xdp:{a.dev} {{ @x = count(); }} tc:{a.dev}:ingress {{ }} tc:nosuch:egress {{ }}",
              env=PATHS["netlink"])
    assert r.rc == 1 and "cannot attach tc:nosuch:egress" in r.err, r.err
    # pair's fixture asserts that nothing is left on the device


def test_xdp_on_a_device_that_refuses_it(pair):
    """veth refuses native XDP when the peer's MTU does not fit in a page; generic works."""
    a, b = pair.a, pair.b
    for side in (b, a):
        assert pair.run(side.ns, ["ip", "link", "set", "dev", side.dev, "mtu", "9000"]).returncode == 0
    r = kt_in(pair, a.ns, "-e", f"xdp:{a.dev} {{ @x = count(); }}")
    assert r.rc == 1
    assert f"cannot attach xdp:{a.dev}: device '{a.dev}' refused the XDP program in its driver's mode" in r.err
    assert "KT_XDP_GENERIC=1" in r.err
    r = kt_in(pair, a.ns, "-e", f"xdp:{a.dev} /proto == 1/ {{ @x = count(); }}",
              "-c", traffic_cmd(b.ns, "ping", a.ip4, 1, 3), env={"KT_XDP_GENERIC": "1"})
    assert r.rc == 0, r.err
    assert r.out.splitlines() == ["", "", "@x: 1"]
