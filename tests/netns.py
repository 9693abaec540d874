"""Network namespaces and veth pairs for packet tests (host and guest).

Why: tc/xdp programs must never touch the machine's own interfaces, and traffic must stay
inside the test. `veth_pair()` makes two namespaces of the test's own, a veth pair with one
end in each (10.x.y.1/30 and .2/30, fd00:x:y::1/64 and ::2 without DAD), links and loopbacks
up; leaving the `with` removes both namespaces, which takes the veth pair and everything on
it along, also when the test failed. kt and the traffic helpers (tests/netns_traffic.py) run
inside a namespace through `ip netns exec NS ...` (iproute2).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TRAFFIC = Path(__file__).with_name("netns_traffic.py")
IFA_F_NODAD = 0x02


def netns_unavailable_reason() -> str | None:
    """Why packet tests cannot run here (None: they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (ip netns exec runs kt in a namespace)"
    if importlib.util.find_spec("pyroute2") is None:
        return "pyroute2 is not installed"
    return None


def needs_netns_mark():
    """skipif the namespaces cannot be made here, unless KT_REQUIRE_KERNEL=1 (CI): then the
    test runs and fails, so CI can never pass by skipping the packet tests."""
    import pytest
    reason = netns_unavailable_reason()
    return pytest.mark.skipif(reason is not None and os.environ.get("KT_REQUIRE_KERNEL") != "1",
                              reason=reason or "")


@dataclass
class Side:
    ns: str         # the namespace's name
    dev: str        # the veth end in it
    ip4: str
    ip6: str
    ifindex: int = 0


@dataclass
class VethPair:
    a: Side
    b: Side

    # --- running things inside a namespace --------------------------------------------------
    @staticmethod
    def argv(ns: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    def run(self, ns: str, argv: list[str], timeout: float = 30, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(ns, argv), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, **kw)

    def popen(self, ns: str, argv: list[str], **kw) -> subprocess.Popen:
        return subprocess.Popen(self.argv(ns, argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kw)

    def traffic(self, ns: str, *args: object, timeout: float = 30) -> dict:
        """Run one tests/netns_traffic.py command in `ns`; its JSON result."""
        r = self.run(ns, [sys.executable, str(TRAFFIC), *map(str, args)], timeout=timeout)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout.splitlines()[-1])

    @contextlib.contextmanager
    def server(self, ns: str, *args: object):
        """A udp-recv or tcp-listen command running in `ns` while the body runs; yields a
        callable returning its result (call it after the traffic)."""
        p = self.popen(ns, [sys.executable, str(TRAFFIC), *map(str, args)])
        try:
            first = p.stdout.readline()
            assert json.loads(first) == {"ready": True}, first + p.stderr.read()
            yield lambda: json.loads(p.communicate(timeout=60)[0].splitlines()[-1])
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()

    # --- what is on the devices -------------------------------------------------------------
    def attached(self, side: Side) -> dict:
        """What `bpftool net` shows on `side`'s device: {"xdp": [prog ids], "tc": [...],
        "tcx": [...]} (tc: clsact filters; tcx: links), plus "qdiscs" (kinds) and "filters"
        (names of the bpf filters)."""
        r = self.run(side.ns, ["bpftool", "net", "show", "dev", side.dev, "-j"])
        assert r.returncode == 0, r.stderr
        shown = json.loads(r.stdout or "[]")
        shown = shown[0] if shown else {}
        out = {"xdp": [e["id"] for e in shown.get("xdp", []) if "id" in e],
               "tc": [e["id"] for e in shown.get("tc", []) if "id" in e], "tcx": []}
        for ids in self.traffic(side.ns, "tcx", side.dev).values():
            out["tcx"].extend(ids if isinstance(ids, list) else [])   # {"errno": EINVAL}: no tcx
        from pyroute2 import NetNS
        with NetNS(side.ns) as ip:
            out["qdiscs"] = sorted(q.get_attr("TCA_KIND") for q in ip.get_qdiscs(index=side.ifindex))
            names = []
            for parent in (0xFFFFFFF2, 0xFFFFFFF3):
                try:
                    for f in ip.get_filters(index=side.ifindex, parent=parent):
                        opts = f.get_attr("TCA_OPTIONS")
                        if f["handle"] and hasattr(opts, "get_attr"):
                            names.append(opts.get_attr("TCA_BPF_NAME") or "")
                except Exception:
                    continue
            out["filters"] = sorted(names)
        return out

    def program_ids(self) -> set[int]:
        """Every program attached to either device (XDP, tc filters, tcx links)."""
        ids: set[int] = set()
        for side in (self.a, self.b):
            got = self.attached(side)
            ids.update(got["xdp"], got["tc"], got["tcx"])
        return ids

    def assert_clean(self, loaded: set[int] = frozenset()) -> None:
        """Nothing of kt's on either device: no program attached, no clsact qdisc, no filter,
        and none of the programs `loaded` (ids seen while kt ran) is still in the kernel."""
        for side in (self.a, self.b):
            got = self.attached(side)
            assert got["xdp"] == got["tc"] == got["tcx"] == [], (side.dev, got)
            assert "clsact" not in got["qdiscs"] and got["filters"] == [], (side.dev, got)
        if loaded:
            from tests.runtime.kernel_state import bpftool_ids, wait_until
            assert wait_until(lambda: not (loaded & bpftool_ids("prog")), timeout=5), \
                f"programs still loaded: {sorted(loaded & bpftool_ids('prog'))}"


def _wait_ns_gone(name: str) -> None:
    deadline = time.monotonic() + 5
    while Path("/run/netns", name).exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@contextlib.contextmanager
def veth_pair():
    """Two fresh namespaces with a veth pair between them (see the module's docstring)."""
    from pyroute2 import NetNS, netns

    tag = secrets.token_hex(3)
    n = int(tag, 16)
    x, y = (n >> 8) & 0xFF, n & 0xFC
    a = Side(f"kt-{tag}-a", f"kt{tag}a", f"10.{x}.{y}.1", f"fd00:{x:x}:{y:x}::1")
    b = Side(f"kt-{tag}-b", f"kt{tag}b", f"10.{x}.{y}.2", f"fd00:{x:x}:{y:x}::2")
    made: list[str] = []
    try:
        for side in (a, b):
            netns.create(side.ns)
            made.append(side.ns)
        with NetNS(a.ns) as ip:
            ip.link("add", ifname=a.dev, kind="veth", peer=b.dev)
            ip.link("set", index=ip.link_lookup(ifname=b.dev)[0], net_ns_fd=b.ns)
        for side in (a, b):
            with NetNS(side.ns) as ip:
                side.ifindex = ip.link_lookup(ifname=side.dev)[0]
                ip.link("set", index=ip.link_lookup(ifname="lo")[0], state="up")
                ip.addr("add", index=side.ifindex, address=side.ip4, prefixlen=30)
                ip.addr("add", index=side.ifindex, address=side.ip6, prefixlen=64, flags=IFA_F_NODAD)
                ip.link("set", index=side.ifindex, state="up")
        pair = VethPair(a, b)
        _wait_carrier(pair)
        yield pair
    finally:
        for name in reversed(made):
            try:
                netns.remove(name)
            except OSError:
                pass
            _wait_ns_gone(name)


def _wait_carrier(pair: VethPair) -> None:
    """Until both ends are up with carrier and v6 addresses usable (a first packet may
    otherwise meet a link still coming up)."""
    from pyroute2 import NetNS
    deadline = time.monotonic() + 5
    for side in (pair.a, pair.b):
        with NetNS(side.ns) as ip:
            while time.monotonic() < deadline:
                link = ip.link("get", index=side.ifindex)[0]
                if link.get_attr("IFLA_OPERSTATE") == "UP":
                    break
                time.sleep(0.05)
