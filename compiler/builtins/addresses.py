"""Addresses known before the program runs, and address spaces: uaddr("sym"), cgroupid("path"),
kptr(p), uptr(p).

uaddr and cgroupid are resolved at compile time (a symbol of the uprobe's binary; a cgroup
directory's id), as bpftrace does; kptr/uptr only retype a value.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..helpers import Helper
from ..formats.inputs import note_path
from ..types import KERNEL, USER, Int, Ptr, Type, U64, Void
from .records import Function, I64, check_arity, literal_text
from .registers import reg_offset

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker


# ---- kptr(), uptr() --------------------------------------------------------------------------

def _space_check(space: str):
    def check(checker: "Checker", call: ast.Call) -> Type | None:
        """kptr(p)/uptr(p): p, read from then on in kernel/user memory. An integer becomes a
        `void *` of that space (0.17 keeps an integer with the space marked: kt's integers
        carry no space), so str(uptr(arg1)) and uptr(arg1) + 8 work as in 0.17."""
        if not check_arity(checker, call, 1, 1):
            return None
        t = checker.check(call.args[0])
        if t is None:
            return None
        if isinstance(t, Ptr):
            return Ptr(t.pointee, space)
        if isinstance(t, Int):
            return Ptr(Void(), space)
        checker.sink.error(call.args[0].span, f"{call.name}() takes a pointer or an integer address, not {t}")
        return None
    return check


def _lower_same(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return cg.expr(call.args[0])


# ---- uaddr() ---------------------------------------------------------------------------------

_SIZED = {1: Int(8), 2: Int(16), 4: Int(32), 8: Int(64)}


def _uaddr_symbol(checker_or_cg, call: ast.Call):
    from ..formats import elfsyms   # pyelftools only where uaddr() is used: seconds under emulation
    path = _probe_of(checker_or_cg).attach.get("path")
    name = literal_text(call.args[0], checker_or_cg).decode("utf-8", "replace")
    return path, name, elfsyms.find_symbol(path, name)


def _probe_of(checker_or_cg):
    return getattr(checker_or_cg, "current_probe", None) or checker_or_cg.resolved


def _check_uaddr(checker: "Checker", call: ast.Call) -> Type | None:
    """uaddr("sym"): the address of a symbol of the uprobe's (USDT probe's) binary, a pointer
    sized by the symbol (int8/16/32 * for 1, 2, 4 bytes, else int64 *) into user memory."""
    if not check_arity(checker, call, 1, 1):
        return None
    arg = call.args[0]
    checker.check(arg)
    probe = checker.current_probe
    if literal_text(arg, checker) is None:
        checker.sink.error(call.span, "uaddr() expects a string literal")
        return None
    if probe.context.space != USER or "path" not in probe.attach:
        kind = probe.kind.upper() if probe.kind in ("begin", "end") else probe.kind
        checker.sink.error(call.span, f'uaddr can not be used with "{kind}" probes',
                           "uaddr() names a symbol of a uprobe's or USDT probe's binary")
        return None
    try:
        path, name, sym = _uaddr_symbol(checker, call)
    except (OSError, ValueError) as err:
        checker.sink.error(call.span, f"cannot read the symbols of {probe.attach['path']}: {err}")
        return None
    if sym is None:
        checker.sink.error(call.span, f"Could not resolve symbol: {path}:{name}")
        return None
    return Ptr(_SIZED.get(sym.size, Int(64)), USER)


def _lower_uaddr(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    from ..formats import elfsyms
    path, _name, sym = _uaddr_symbol(cg, call)
    link_time = ir.Constant(I64, sym.addr)
    probe = cg.resolved
    if elfsyms.elf_type(path) != elfsyms.ET_DYN:
        # A fixed-address executable: the link-time address is the run-time one. (0.17 gives
        # the link-time address everywhere, also in a PIE, where it is wrong.)
        return link_time
    # A PIE or a library: the load bias is the probed instruction's run-time address minus its
    # link-time one (each target's own, chosen by the attach cookie). At a uprobe's entry ip
    # is that instruction; in a uretprobe or at a USDT site bpf_get_func_ip() gives it
    # (uprobe programs have it since Linux 6.5).
    if probe.attach.get("retprobe") or probe.kind == "usdt":
        ip = cg.helper(Helper.get_func_ip, cg.ctx)
    else:
        ip = cg.resolved.context.lower_reg(cg, reg_offset("ip"))
    vaddrs = [elfsyms.vaddr_of_file_offset(path, t["offset"]) for t in probe.attach["targets"]]
    pc: ir.Value = ir.Constant(I64, vaddrs[0])
    if len(vaddrs) > 1:
        cookie = cg.helper(Helper.get_attach_cookie, cg.ctx)
        for i, v in enumerate(vaddrs[1:], 1):
            pc = cg.b.select(cg.b.icmp_unsigned("==", cookie, ir.Constant(I64, i)), ir.Constant(I64, v), pc)
    return cg.b.add(cg.b.sub(ip, pc), link_time)


# ---- cgroupid() ------------------------------------------------------------------------------

class _FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 64)]


@functools.lru_cache(maxsize=None)
def cgroup_id(path: str) -> int:
    """The cgroup v2 id of a cgroup directory, what bpf_get_current_cgroup_id() returns: the
    kernfs node id, which name_to_handle_at(2) gives as the file handle (kernfs encodes it as
    its 8-byte FILEID_KERNFS handle). OSError when the path has none: room for 8 bytes only,
    as bpftrace asks, so another file system's handle fails as in 0.17 (EOVERFLOW)."""
    note_path(path)   # a cgroup made again at that path has another id (its inode)
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    handle = _FileHandle(handle_bytes=8)
    mount_id = ctypes.c_int()
    AT_FDCWD = -100
    if libc.name_to_handle_at(AT_FDCWD, os.fsencode(path), ctypes.byref(handle), ctypes.byref(mount_id), 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    if handle.handle_bytes != 8:
        raise OSError(errno.EOVERFLOW, os.strerror(errno.EOVERFLOW))
    return int.from_bytes(bytes(handle.f_handle[:8]), "little")


def _check_cgroupid(checker: "Checker", call: ast.Call) -> Type | None:
    """cgroupid("/sys/fs/cgroup/..."): the id of a cgroup v2 directory, to compare with `cgroup`."""
    if not check_arity(checker, call, 1, 1):
        return None
    arg = call.args[0]
    checker.check(arg)
    path = literal_text(arg, checker)
    if path is None:
        checker.sink.error(arg.span, "cgroupid() expects a string literal: the path of a cgroup v2 directory")
        return None
    try:
        cgroup_id(path.decode("utf-8", "surrogateescape"))
    except OSError as err:
        checker.sink.error(call.span, f"Failed to get `cgroupid` for path: \"{path.decode('utf-8', 'replace')}\": "
                           f"{err.strerror}")
        return None
    return U64


def _lower_cgroupid(cg: "ProbeCodegen", call: ast.Call) -> ir.Value:
    return ir.Constant(I64, cgroup_id(literal_text(call.args[0], cg).decode("utf-8", "surrogateescape")))


FUNCTIONS = (
    Function("kptr", "a pointer read from kernel memory: kptr(p)", _space_check(KERNEL), _lower_same),
    Function("uptr", "a pointer read from user memory: uptr(p)", _space_check(USER), _lower_same),
    Function("uaddr", "the address of a symbol of the uprobe's binary: uaddr(\"name\")", _check_uaddr, _lower_uaddr),
    Function("cgroupid", "the id of a cgroup v2 directory: cgroupid(\"/sys/fs/cgroup/...\")",
             _check_cgroupid, _lower_cgroupid),
)
