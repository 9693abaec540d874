"""ObjectSpec -> kernel objects: BTF, maps, relocated programs. Owns every fd it creates.

Why: loading has an order (BTF before maps that reference it, maps before the programs whose
ld_imm64 instructions carry their fds) and a failure anywhere must undo everything done so far.
A verifier rejection is the error users will meet most, so it carries the verifier's full log,
fetched even when the caller asked for no log.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import struct
from dataclasses import dataclass, field
from typing import Mapping

from .maps import Map, kernel_object_name
from .spec import MapSpec, ObjectSpec, ProgramSpec, only_program
from .sys.constants import (
    BPF_F_RDONLY_PROG, BPF_INSN_SIZE, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, LOG_LEVEL_BASIC, AttachType, BpfCmd, ProgType,
)
from .sys.fd import OwnedFd
from .sys.info import ProgInfo, prog_info
from .sys.structs import BtfLoadAttr, ProgLoadAttr
from .sys.syscall import SyscallError, bpf, errno_name, errno_text

log = logging.getLogger(__name__)

# Verifier log buffer sizes. The kernel caps log_size at UINT_MAX >> 2 (kernel/bpf/log.c
# bpf_vlog_init); we stop growing well before that. Since 6.4 a log that does not fit is
# rotated (the end, where the error is, survives) and the load fails with ENOSPC.
LOG_SIZE_INITIAL = 1 << 20
LOG_SIZE_MAX = 1 << 28


class VerifierError(SyscallError):
    """BPF_PROG_LOAD refused a program. ``log`` is the verifier's complete log (may be empty,
    e.g. EPERM from lockdown before verification starts)."""

    def __init__(self, program: str, err: int, log: str, section: str = "") -> None:
        where = f"program '{program}'" + (f" ({section})" if section else "")
        super().__init__("bpf(BPF_PROG_LOAD)", err, f"{where} was rejected")
        self.program = program
        self.section = section
        self.log = log

    def __str__(self) -> str:
        head = (f"{self.call} of program '{self.program}'"
                + (f" ({self.section})" if self.section else "")
                + f": {errno_text(self.errno)} ({errno_name(self.errno)})")
        if not self.log.strip():
            return head + " (the kernel gave no verifier log)"
        return head

    def __reduce__(self):
        return (type(self), (self.program, self.errno, self.log, self.section))


class ProgramRefusedError(SyscallError):
    """The kernel refused a program outright, or kt could not say what to attach it to,
    before any verification: an fentry/fexit program on a kernel that forbids them (EPERM
    with an empty log), or a function that is not in the kernel's BTF (ENOENT). The message
    names the program and the cause; there is no verifier log to show."""

    def __init__(self, program: str, section: str, err: int, reason: str) -> None:
        super().__init__("bpf(BPF_PROG_LOAD)", err, reason)
        self.program = program
        self.section = section
        self.reason = reason

    def __str__(self) -> str:
        return (f"{self.call} of program '{self.program}' ({self.section}): {self.reason}")

    def __reduce__(self):
        return (type(self), (self.program, self.section, self.errno, self.reason))


# TRACING programs name their target by BTF id (prog_load attach_btf_id): fentry/fexit a FUNC,
# tp_btf the raw tracepoint's "btf_trace_NAME" typedef (kernel/bpf/verifier.c
# bpf_check_attach_target). Attach type -> (BTF name prefix, kind name, what it is).
_BTF_TARGETS: dict[AttachType, tuple[str, str, str]] = {
    AttachType.TRACE_FENTRY: ("", "FUNC", "function"),
    AttachType.TRACE_FEXIT: ("", "FUNC", "function"),
    AttachType.TRACE_RAW_TP: ("btf_trace_", "TYPEDEF", "raw tracepoint"),
    AttachType.TRACE_ITER: ("bpf_iter_", "FUNC", "iterator"),
}


def attach_btf_id(pspec: ProgramSpec) -> int:
    """The vmlinux BTF id a TRACING program is loaded against (0 for other programs): for
    ``fentry/FUNC`` and ``fexit/FUNC`` the id of FUNC, for ``tp_btf/NAME`` the id of typedef
    ``btf_trace_NAME``. Raises ProgramRefusedError (ENOENT) when the kernel's BTF has none."""
    if pspec.prog_type != ProgType.TRACING or pspec.expected_attach_type not in _BTF_TARGETS:
        return 0
    from ..compiler.formats.btf import BtfError, Kind, vmlinux_btf  # only TRACING programs need BTF

    prefix, kind, what = _BTF_TARGETS[pspec.expected_attach_type]
    target = pspec.attach_target
    try:
        type_id = vmlinux_btf().find(prefix + target, Kind[kind]) if target else None
    except BtfError as e:
        raise ProgramRefusedError(pspec.name, pspec.section, errno.ENOENT,
                                  f"cannot find {what} '{target}': {e}") from None
    if type_id is None:
        raise ProgramRefusedError(
            pspec.name, pspec.section, errno.ENOENT,
            f"the kernel's BTF has no {what} '{target}' (not a kernel function, inlined, "
            f"or in a module)" if what == "function" else
            f"the kernel's BTF has no {what} '{target}'")
    return type_id


@dataclass(eq=False)
class LoadedProgram:
    """A program in the kernel: its spec and the fd that keeps it alive."""

    fd: OwnedFd
    spec: ProgramSpec
    verifier_log: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def section(self) -> str:
        return self.spec.section

    def info(self) -> ProgInfo:
        return prog_info(self.fd)

    def close(self) -> None:
        self.fd.close()


@dataclass(eq=False)
class LoadedObject:
    """Everything one object put into the kernel. ``close()`` releases it all (programs, maps,
    BTF); it is also a context manager and closes on garbage collection via the fds'
    finalizers."""

    spec: ObjectSpec
    btf_fd: OwnedFd | None = None
    btf_error: str = ""                   # why BTF was not loaded, if it was not
    maps: dict[str, Map] = field(default_factory=dict)
    programs: dict[str, LoadedProgram] = field(default_factory=dict)

    @property
    def meta(self):
        """The object's ObjectMeta (kt.compiler.formats.meta), None without .kt.meta."""
        return self.spec.meta

    def program_in(self, section: str) -> LoadedProgram:
        """The one program of a section (programs are keyed by function name)."""
        return only_program(self.programs.values(), section)

    def close(self) -> None:
        # Programs first (they hold references to maps), then maps, then BTF.
        for p in reversed(list(self.programs.values())):
            p.close()
        for m in reversed(list(self.maps.values())):
            m.close()
        if self.btf_fd is not None:
            self.btf_fd.close()

    def __enter__(self) -> LoadedObject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_object(spec: ObjectSpec, log_level: int = 0, log_size: int = 0,
                globals: Mapping[str, int | bytes] | None = None) -> LoadedObject:
    """Load BTF (optional: on failure continue without it), create the maps, relocate and load
    every program. ``log_level`` > 0 keeps the verifier log of successful loads too
    (``LoadedProgram.verifier_log``); ``log_size`` is the first log buffer's size (the
    default when 0; BPFTRACE_LOG_SIZE), grown while the log does not fit. ``globals`` gives
    global variables (u64s, or the bytes of char arrays, by name) their values for this run:
    written into the data section's map before any program is loaded (and `.rodata` frozen
    then); a name the object does not have is ignored (the script does not use it). Raises
    VerifierError or SyscallError; on any error everything created so far is closed."""
    obj = LoadedObject(spec)
    try:
        if spec.btf is not None:
            obj.btf_fd, obj.btf_error = _load_btf(spec.btf)
            if obj.btf_fd is None:
                log.info("continuing without BTF: %s", obj.btf_error)
        for name, mspec in spec.maps.items():
            obj.maps[name] = Map.create(mspec, obj.btf_fd)
            if mspec.data is not None:
                _write_data(obj.maps[name], mspec, spec, globals or {})
        for name, pspec in spec.programs.items():
            obj.programs[name] = _load_program(pspec, obj, log_level, log_size)
    except BaseException:
        obj.close()
        raise
    return obj


def _load_btf(data: bytes) -> tuple[OwnedFd | None, str]:
    """BPF_BTF_LOAD; on failure return (None, reason with the kernel's BTF log)."""
    blob = ctypes.create_string_buffer(data, len(data))
    attr = BtfLoadAttr(btf=ctypes.addressof(blob), btf_size=len(data))
    try:
        return OwnedFd(bpf(BpfCmd.BTF_LOAD, attr), "BTF"), ""
    except SyscallError as e:
        first = e
    # Load again with a log to say why (the kernel only writes a log when asked for one).
    logbuf = ctypes.create_string_buffer(1 << 16)
    attr = BtfLoadAttr(btf=ctypes.addressof(blob), btf_size=len(data),
                       btf_log_buf=ctypes.addressof(logbuf), btf_log_size=len(logbuf),
                       btf_log_level=LOG_LEVEL_BASIC)
    try:
        fd = bpf(BpfCmd.BTF_LOAD, attr)
    except SyscallError:
        lines = logbuf.value.decode(errors="replace").strip().splitlines()
        return None, f"{first}" + (f": {lines[-1]}" if lines else "")
    return OwnedFd(fd, "BTF"), ""  # succeeded on the second try (transient failure)


def _write_data(m: Map, mspec: MapSpec, spec: ObjectSpec, values: Mapping[str, int | bytes]) -> None:
    """A data section's map gets the section's bytes with this run's values in place."""
    data = bytearray(mspec.data)
    for name, value in values.items():
        var = spec.globals.get(name)
        if var is not None and var.map == mspec.name:
            raw = value if isinstance(value, bytes) else value.to_bytes(var.size, "little")
            data[var.offset:var.offset + var.size] = raw[:var.size].ljust(var.size, b"\0")
    m.update(b"\0\0\0\0", bytes(data))
    if mspec.flags & BPF_F_RDONLY_PROG:
        m.freeze()


def relocate(pspec: ProgramSpec, map_fds: dict[str, int]) -> bytes:
    """The program's instructions with each map reference turned into ``ld_imm64 rX,
    map_fd``: src_reg = BPF_PSEUDO_MAP_FD (high nibble of byte 1), imm = fd, and the second
    slot's imm = 0 (kernel-facts §1 Relocations). A global's becomes BPF_PSEUDO_MAP_VALUE
    with the second slot's imm = the offset into the value."""
    insns = bytearray(pspec.insns)
    for insn_index, symbol, value_offset in pspec.relocations:
        off = insn_index * BPF_INSN_SIZE
        pseudo = BPF_PSEUDO_MAP_FD if value_offset is None else BPF_PSEUDO_MAP_VALUE
        insns[off + 1] = (insns[off + 1] & 0x0F) | (pseudo << 4)
        struct.pack_into("<i", insns, off + 4, map_fds[symbol])
        struct.pack_into("<i", insns, off + BPF_INSN_SIZE + 4, value_offset or 0)
    return bytes(insns)


@dataclass(slots=True)
class _LoadResult:
    fd: int | None
    err: SyscallError | None
    log: str


def _prog_load(pspec: ProgramSpec, insns: bytes, license_: bytes, btf_fd: OwnedFd | None,
               log_level: int, btf_id: int = 0, log_size: int = 0) -> _LoadResult:
    """One BPF_PROG_LOAD, growing the log buffer while the kernel says ENOSPC (the log did not
    fit; 6.4+ also reports the size needed in log_true_size)."""
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(license_)
    keep = [code, lic]
    attr = ProgLoadAttr(
        prog_type=int(pspec.prog_type), insn_cnt=len(insns) // BPF_INSN_SIZE,
        insns=ctypes.addressof(code), license=ctypes.addressof(lic),
        prog_name=kernel_object_name(pspec.name),
        expected_attach_type=int(pspec.expected_attach_type),
        attach_btf_id=btf_id,   # attach_btf_obj_fd stays 0: the id is in vmlinux BTF
    )
    if btf_fd is not None:
        attr.prog_btf_fd = btf_fd.fd
        for kind in ("func_info", "line_info"):
            ext = getattr(pspec, kind)
            if ext is not None and ext.count:
                buf = ctypes.create_string_buffer(ext.data, len(ext.data))
                keep.append(buf)
                setattr(attr, kind, ctypes.addressof(buf))
                setattr(attr, f"{kind}_rec_size", ext.rec_size)
                setattr(attr, f"{kind}_cnt", ext.count)
    size = min(log_size, LOG_SIZE_MAX) or LOG_SIZE_INITIAL
    while True:
        logbuf = None
        if log_level:
            logbuf = ctypes.create_string_buffer(size)
            attr.log_level, attr.log_size, attr.log_buf = (log_level, size,
                                                           ctypes.addressof(logbuf))
        attr.log_true_size = 0
        try:
            fd = bpf(BpfCmd.PROG_LOAD, attr)
            return _LoadResult(fd, None, _text(logbuf))
        except SyscallError as e:
            if e.errno == errno.ENOSPC and log_level:
                if size < LOG_SIZE_MAX:
                    size = min(LOG_SIZE_MAX, max(size * 4, attr.log_true_size + 1))
                    continue
                # ENOSPC replaces the verifier's verdict (bpf_check: a log finalize error
                # wins), so load once more without a log to learn the real outcome.
                text = (f"[verifier log truncated to its last {size} bytes]\n"
                        + _text(logbuf))
                attr.log_level = attr.log_size = attr.log_buf = 0
                try:
                    return _LoadResult(bpf(BpfCmd.PROG_LOAD, attr), None, text)
                except SyscallError as e2:
                    return _LoadResult(None, e2, text)
            return _LoadResult(None, e, _text(logbuf))


def _text(buf: ctypes.Array | None) -> str:
    return buf.value.decode("utf-8", errors="replace") if buf is not None else ""


def _load_program(pspec: ProgramSpec, obj: LoadedObject, log_level: int, log_size: int = 0) -> LoadedProgram:
    insns = relocate(pspec, {name: m.fd for name, m in obj.maps.items()})
    # libbpf passes the object's license; kt objects say "GPL" (GPL-only helpers such as
    # probe_read* and ringbuf need it), and an object without one gets GPL too.
    license_ = (obj.spec.license or "GPL").encode() + b"\0"
    btf_id = attach_btf_id(pspec)
    res = _prog_load(pspec, insns, license_, obj.btf_fd, log_level, btf_id, log_size)
    if res.err is not None and not log_level:
        # Load failed without a log: load again asking for one, to tell the user why.
        retry = _prog_load(pspec, insns, license_, obj.btf_fd, LOG_LEVEL_BASIC, btf_id, log_size)
        if retry.fd is not None:
            log.warning("program %s loaded on the second attempt", pspec.name)
            return LoadedProgram(OwnedFd(retry.fd, f"prog {pspec.name}"), pspec, retry.log)
        res = _LoadResult(None, res.err, retry.log)
    if res.err is not None:
        if (res.err.errno == errno.EPERM and not res.log.strip()
                and pspec.prog_type == ProgType.TRACING):
            # Seen on 6.18 with lockdown=integrity: PROG_LOAD of any fentry/fexit program
            # fails with EPERM before the verifier writes a line (bpftool's too), although
            # root may load every other program type.
            kind = "fexit" if pspec.expected_attach_type == AttachType.TRACE_FEXIT else \
                "fentry" if pspec.expected_attach_type == AttachType.TRACE_FENTRY else "tracing"
            raise ProgramRefusedError(pspec.name, pspec.section, errno.EPERM,
                                      f"this kernel refuses {kind} programs (EPERM, "
                                      f"lockdown?)") from None
        raise VerifierError(pspec.name, res.err.errno, res.log, pspec.section) from None
    assert res.fd is not None
    return LoadedProgram(OwnedFd(res.fd, f"prog {pspec.name}"), pspec, res.log)
