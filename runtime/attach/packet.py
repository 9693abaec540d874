"""tc: and xdp: probes: packet programs on a network interface of kt's network namespace.

Why links first: a BPF link lives exactly as long as its fd, so nothing of kt's stays on an
interface after kt ends, even after SIGKILL.

- xdp:DEV is an XDP link (BPF_LINK_CREATE, attach_type BPF_XDP, target_ifindex; Linux 5.9+).
  Its flags are 0, so the kernel picks the mode: the driver's own (native) XDP where the driver
  has it (veth does), else generic (skb) XDP. A driver that refuses the program (veth says
  ERANGE when the peer's MTU is too large for one page) is an error that names
  KT_XDP_GENERIC=1, which asks for generic mode (XDP_FLAGS_SKB_MODE) instead; kt never
  switches mode on its own, so what runs is what was asked for.
- tc:DEV:ingress|egress is a tcx link (attach_type BPF_TCX_INGRESS/EGRESS, Linux 6.6+). Where
  the kernel has no tcx (LINK_CREATE answers EINVAL for the attach type) or KT_TC_NETLINK=1
  asks for it, the program goes on a clsact qdisc as a direct-action bpf filter through
  netlink (runtime/attach/tc_netlink.py), which outlives its creator and is therefore tagged
  for the next kt to remove.

Interface names are resolved through pyroute2 (netlink) in the network namespace kt runs in
(`ip netns exec NS kt ...` runs it in NS); the ifindex LINK_CREATE takes is that namespace's.
"""

from __future__ import annotations

import difflib
import errno
import os

from ...compiler.formats.bpf_enums import AttachType
from ..kernel_features import kernel_version
from ..sys.constants import BpfCmd
from ..sys.fd import FdLike, OwnedFd, raw_fd
from ..sys.structs import LinkCreateAttr
from ..sys.syscall import SyscallError, bpf
from . import AttachError, BpfLink

XDP_FLAGS_SKB_MODE = 2          # include/uapi/linux/if_link.h: generic XDP
_TCX = {"ingress": AttachType.TCX_INGRESS, "egress": AttachType.TCX_EGRESS}


class NetworkDevices:
    """The interfaces of kt's network namespace, read once through pyroute2."""

    def __init__(self) -> None:
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError
        try:
            with IPRoute() as ip:
                self._links = {link.get_attr("IFLA_IFNAME"): link for link in ip.get_links()}
        except NetlinkError as e:   # not an OSError: the session reports AttachErrors
            raise AttachError(e.code, f"list the network devices (netlink): {os.strerror(e.code)}") from None

    def names(self) -> list[str]:
        """Interface names in ifindex order."""
        return [n for n, _ in sorted(self._links.items(), key=lambda kv: kv[1]["index"])]

    def index(self, ifname: str) -> int:
        """The ifindex of `ifname`; an AttachError (ENODEV) naming what exists otherwise."""
        link = self._links.get(ifname)
        if link is not None:
            return link["index"]
        names = self.names()
        close = difflib.get_close_matches(ifname, names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise AttachError(errno.ENODEV, f"no network device '{ifname}' in kt's network namespace "
                                        f"({hint}devices: {', '.join(names) or 'none'})")

    def xdp_prog_id(self, ifname: str) -> int:
        """The id of the XDP program on `ifname` (0: none)."""
        xdp = self._links[ifname].get_attr("IFLA_XDP")
        return (xdp.get_attr("IFLA_XDP_PROG_ID") or 0) if xdp is not None else 0


def network_devices() -> NetworkDevices:
    return NetworkDevices()


def _link_create(prog_fd: FdLike, ifindex: int, attach_type: int, flags: int = 0) -> int:
    return bpf(BpfCmd.LINK_CREATE, LinkCreateAttr(prog_fd=raw_fd(prog_fd), target_fd=ifindex,
                                                  attach_type=int(attach_type), flags=flags))


# --- xdp ---------------------------------------------------------------------------------------

def attach_xdp(prog_fd: FdLike, ifname: str, generic: bool = False) -> BpfLink:
    """xdp:DEV — an XDP link on `ifname` (generic mode when asked: KT_XDP_GENERIC=1)."""
    what = f"xdp:{ifname}"
    devices = network_devices()
    ifindex = devices.index(ifname)
    try:
        fd = _link_create(prog_fd, ifindex, AttachType.XDP, XDP_FLAGS_SKB_MODE if generic else 0)
    except SyscallError as e:
        raise AttachError(e.errno, _explain_xdp(e, ifname, generic)) from None
    return BpfLink(OwnedFd(fd, f"link {what}"), what)


def _explain_xdp(err: SyscallError, ifname: str, generic: bool) -> str:
    if err.errno in (errno.EBUSY, errno.EEXIST):
        prog_id = network_devices().xdp_prog_id(ifname)
        which = f"program id {prog_id}" if prog_id else "a program"
        return (f"device '{ifname}' already has an XDP program ({which}; "
                f"`bpftool net` shows it, `ip link set dev {ifname} xdp off` removes one that "
                f"is not a link): {err}")
    if err.errno == errno.EINVAL and (0, 0) < kernel_version() < (5, 9):   # (0, 0): unknown
        return f"{err}: XDP links need Linux 5.9 or later"
    if err.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ERANGE, 524) and not generic:
        return (f"device '{ifname}' refused the XDP program in its driver's mode: {err}"
                f"{' (veth: the peer MTU is too large for XDP)' if err.errno == errno.ERANGE else ''}; "
                f"KT_XDP_GENERIC=1 attaches in generic (skb) mode")
    if err.errno in (errno.EOPNOTSUPP, errno.EINVAL, 524):
        return f"device '{ifname}' refused the XDP program in generic mode: {err}"
    return f"attach XDP to '{ifname}': {err}"


# --- tc ----------------------------------------------------------------------------------------

def attach_tc(prog_fd: FdLike, ifname: str, direction: str, netlink: bool = False):
    """tc:DEV:ingress|egress — a tcx link, or (no tcx, or `netlink`) a clsact bpf filter."""
    what = f"tc:{ifname}:{direction}"
    devices = network_devices()
    ifindex = devices.index(ifname)
    if not netlink:
        try:
            fd = _link_create(prog_fd, ifindex, _TCX[direction])
            return BpfLink(OwnedFd(fd, f"link {what}"), what)
        except SyscallError as e:
            # Before 6.6 the kernel does not know the attach type: EINVAL (link_create's
            # attach_type_to_prog_type gives no program type). Anything else is an error.
            if e.errno != errno.EINVAL:
                raise AttachError(e.errno, f"attach tcx {direction} to '{ifname}': {e}") from None
    from .tc_netlink import attach_tc_filter
    return attach_tc_filter(prog_fd, ifindex, ifname, direction)
