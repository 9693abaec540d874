"""tc programs without tcx: a clsact qdisc and a direct-action bpf filter, through pyroute2.

Why tagged: unlike a link, a tc filter holds its program until somebody deletes the filter,
so a SIGKILLed kt leaves its filter (and the program and maps it holds) on the interface.
Every filter kt adds is named (TCA_BPF_NAME, shown by `bpftool net` and `tc filter show`)

    kt_<pid>_<start>_<n>        or   kt_<pid>_<start>_<n>_q

with the creating kt's pid and start time and a counter: the names kt gives its tracefs
entries (runtime/attach/dynamic_events.py, which also decides when one is stale). `_q` says
the clsact qdisc under it was created by a kt (this one, or an earlier one whose `_q` filter
was there when this one came: the mark belongs to the qdisc, so it is handed on). `close()`
deletes the filter and then, when the filter was `_q` and the qdisc holds no other filter
(ingress nor egress), the qdisc.
`sweep_stale()` (run by the session before tc probes attach) does the same for filters whose
kt is gone. A filter or a qdisc that kt did not make is never touched: a clsact qdisc that
was there before kt stays, as do every other tool's filters on it.

Two kt processes adding their first filter to the same interface at the same moment can both
try to create the qdisc; the loser sees EEXIST and uses the winner's (and marks `_q`).
"""

from __future__ import annotations

import errno
import os
import re
import weakref
from dataclasses import dataclass

from ..sys.fd import FdLike, raw_fd
from . import AttachError
from .dynamic_events import is_stale_event_name, new_event_name

PARENTS = {"ingress": 0xFFFFFFF2, "egress": 0xFFFFFFF3}   # TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_*)
_CLSACT_HANDLE = 0xFFFF0000
_NAME = re.compile(r"kt_(\d+)_(\d+)_(\d+)(_q)?")


@dataclass(frozen=True, slots=True)
class TcFilter:
    """One bpf filter on a clsact hook, as a dump shows it."""
    ifindex: int
    ifname: str
    direction: str
    prio: int
    handle: int
    name: str

    @property
    def qdisc_by_kt(self) -> bool:
        m = _NAME.fullmatch(self.name)
        return bool(m and m.group(4))

    def stale(self) -> bool:
        """A kt filter whose kt is gone (no such pid, or another process with its pid)."""
        return is_stale_event_name(self.name.removesuffix("_q"))


def _ipr():
    from pyroute2 import IPRoute
    return IPRoute()


def _netlink_errno(e: Exception) -> int:
    return getattr(e, "code", 0) or errno.EIO


def filters(ip, ifindex: int, ifname: str = "") -> list[TcFilter]:
    """The bpf filters on `ifindex`'s clsact hooks (none without a clsact qdisc)."""
    out = []
    for direction, parent in PARENTS.items():
        try:
            dump = ip.get_filters(index=ifindex, parent=parent)
        except Exception as e:   # NetlinkError EINVAL/ENOENT: no clsact qdisc on the device
            if _netlink_errno(e) in (errno.EINVAL, errno.ENOENT):
                continue
            raise
        for f in dump:
            opts = f.get_attr("TCA_OPTIONS")
            if f.get_attr("TCA_KIND") != "bpf" or not f["handle"] or not hasattr(opts, "get_attr"):
                continue
            out.append(TcFilter(ifindex, ifname, direction, f["info"] >> 16, f["handle"],
                                opts.get_attr("TCA_BPF_NAME") or ""))
    return out


def _has_clsact(ip, ifindex: int) -> bool:
    return any(q.get_attr("TCA_KIND") == "clsact" for q in ip.get_qdiscs(index=ifindex))


def _remove(ip, f: TcFilter) -> None:
    """Delete `f`; then its clsact qdisc when a kt made it and it holds no other filter."""
    try:
        ip.tc("del-filter", "bpf", f.ifindex, handle=f.handle, parent=PARENTS[f.direction], prio=f.prio)
    except Exception as e:
        if _netlink_errno(e) not in (errno.ENOENT, errno.EINVAL, errno.ENODEV):
            raise
    if f.qdisc_by_kt and not _other_filters(ip, f.ifindex):
        try:
            ip.tc("del", "clsact", f.ifindex)
        except Exception as e:
            if _netlink_errno(e) not in (errno.ENOENT, errno.EINVAL, errno.ENODEV):
                raise


def _other_filters(ip, ifindex: int) -> bool:
    """Any filter at all (not only bpf ones) on the clsact hooks. A dump that fails for
    another reason than "no such qdisc" counts as yes: the qdisc is then kept."""
    for parent in PARENTS.values():
        try:
            if any(f["handle"] for f in ip.get_filters(index=ifindex, parent=parent)):
                return True
        except Exception as e:
            if _netlink_errno(e) not in (errno.EINVAL, errno.ENOENT):
                return True
    return False


class TcFilterLink:
    """A kt filter on a clsact hook. ``close()`` removes it (and the qdisc if kt made it and
    it is empty); idempotent, also run by a finalizer."""

    def __init__(self, f: TcFilter, description: str) -> None:
        self.filter = f
        self.description = description
        self._finalizer = weakref.finalize(self, _quiet_remove, f)

    def close(self) -> None:
        if not self._finalizer.alive:
            return
        self._finalizer.detach()
        from pyroute2.netlink.exceptions import NetlinkError
        try:
            with _ipr() as ip:
                _remove(ip, self.filter)
        except NetlinkError as e:
            code = _netlink_errno(e)
            raise AttachError(code, f"remove the tc filter {self.filter.name} from '{self.filter.ifname}': "
                                    f"{os_strerror(code)}") from None

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def __enter__(self) -> TcFilterLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<TcFilterLink {self.description} {self.filter.name}{' closed' if self.closed else ''}>"


def _quiet_remove(f: TcFilter) -> None:
    try:
        with _ipr() as ip:
            _remove(ip, f)
    except Exception:
        pass


def _new_name(qdisc_by_kt: bool) -> str:
    return new_event_name() + ("_q" if qdisc_by_kt else "")


def attach_tc_filter(prog_fd: FdLike, ifindex: int, ifname: str, direction: str) -> TcFilterLink:
    """Add a direct-action bpf filter running `prog_fd` on `ifname`'s clsact `direction`
    hook, creating the clsact qdisc if there is none."""
    from pyroute2.netlink.exceptions import NetlinkError
    try:
        return _attach_tc_filter(prog_fd, ifindex, ifname, direction)
    except NetlinkError as e:   # a dump that failed: not an OSError, so made an AttachError
        raise AttachError(_netlink_errno(e), f"tc netlink on '{ifname}': {os_strerror(_netlink_errno(e))}") from None


def _attach_tc_filter(prog_fd: FdLike, ifindex: int, ifname: str, direction: str) -> TcFilterLink:
    what = f"tc:{ifname}:{direction}"
    with _ipr() as ip:
        created = False
        if not _has_clsact(ip, ifindex):
            try:
                ip.tc("add", "clsact", ifindex)
                created = True
            except Exception as e:
                code = _netlink_errno(e)
                if code != errno.EEXIST:
                    hint = (" (this kernel has no clsact qdisc: CONFIG_NET_SCH_INGRESS)"
                            if code in (errno.ENOENT, errno.EOPNOTSUPP) else "")
                    raise AttachError(code, f"add a clsact qdisc to '{ifname}': "
                                            f"{os_strerror(code)}{hint}") from None
        qdisc_by_kt = created or any(f.qdisc_by_kt for f in filters(ip, ifindex))
        name = _new_name(qdisc_by_kt)
        try:
            ip.tc("add-filter", "bpf", ifindex, fd=raw_fd(prog_fd), name=name,
                  parent=PARENTS[direction], classid=1, direct_action=True)
        except Exception as e:
            code = _netlink_errno(e)
            if created and not _other_filters(ip, ifindex):
                try:
                    ip.tc("del", "clsact", ifindex)
                except Exception:
                    pass
            hint = " (this kernel has no bpf classifier: CONFIG_NET_CLS_BPF)" if code == errno.ENOENT else ""
            raise AttachError(code, f"add a bpf filter to '{ifname}' {direction}: {os_strerror(code)}{hint}") from None
        mine = [f for f in filters(ip, ifindex, ifname) if f.name == name]
    if not mine:
        raise AttachError(errno.ENOENT, f"{what}: the bpf filter {name} vanished right after it was added")
    return TcFilterLink(mine[0], what)


def os_strerror(code: int) -> str:
    return f"{os.strerror(code)} ({errno.errorcode.get(code, code)})"


def sweep_stale() -> list[str]:
    """Remove the filters of gone kt processes on every interface of kt's network namespace
    (and the clsact qdiscs kt made that are then empty); returns "DEV direction NAME" of each."""
    from pyroute2.netlink.exceptions import NetlinkError
    removed: list[str] = []
    try:
        with _ipr() as ip:
            for link in ip.get_links():
                ifname = link.get_attr("IFLA_IFNAME")
                try:
                    found = filters(ip, link["index"], ifname)
                except NetlinkError:
                    continue
                for f in found:
                    if f.stale():
                        try:
                            _remove(ip, f)
                        except NetlinkError:
                            continue
                        removed.append(f"{ifname} {f.direction} {f.name}")
    except NetlinkError:   # netlink refused the dump: nothing to sweep that kt could see
        pass
    return removed
