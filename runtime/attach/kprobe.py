"""kprobe:FUNC[+OFF] and kretprobe:FUNC probes, one function or many.

Why three ways in: the kernel offers
  1. the kprobe PMU (4.17+): perf_event_open(type=/sys/bus/event_source/devices/kprobe/type,
     config1=(u64)"func", config2=offset); the probe lives exactly as long as the perf fd, so a
     killed kt leaves nothing behind;
  2. tracefs ``kprobe_events`` (the legacy interface, any kernel with CONFIG_KPROBE_EVENTS):
     write ``p:kprobes/NAME FUNC+OFF``, attach ``events/kprobes/NAME/id`` as a tracepoint,
     write ``-:kprobes/NAME`` when done. Such an entry outlives the process that made it:
     runtime/attach/dynamic_events.py (shared with uprobe_events) names entries
     ``kt_<pid>_<start time>_<n>`` and its ``sweep_stale()`` deletes those whose creator is
     gone (the session calls it at startup);
  3. kprobe_multi links (5.18+, CONFIG_FPROBE): one BPF_LINK_CREATE for many functions. The
     program must have been loaded with expected_attach_type BPF_TRACE_KPROBE_MULTI, and then
     it can ONLY be attached that way (6.1 bpf_prog_attach_check_attach_type refuses a
     KPROBE_MULTI program on a perf event), so callers decide with ``kprobe_multi_supported()``
     before loading. Debian's 6.1 and the 6.18 dev host have no FPROBE: LINK_CREATE answers
     EOPNOTSUPP there.

Both single-function paths end in runtime/attach/perf_link (BPF link with the cookie, or the
SET_BPF ioctl on kernels before 5.15). Every attach that fails half way undoes what it did.
"""

from __future__ import annotations

import ctypes
import errno
import fnmatch
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..sys.constants import AttachType, BpfCmd, PerfAttrFlag, PerfFlag, ProgType
from ..sys.fd import FdLike, OwnedFd, raw_fd
from ..sys.structs import LinkCreateAttr, PerfEventAttr, ProgLoadAttr
from ..sys.syscall import SyscallError, bpf, perf_event_open
from ..tracefs import TracefsError, tracefs_root
from . import AttachError, BpfLink, dynamic_events
from .dynamic_events import KPROBE_EVENTS, DynamicEventLink
from .perf_link import PerfEventLink, attach_perf_event

KPROBE_PMU = Path("/sys/bus/event_source/devices/kprobe")
KPROBE_BLACKLIST = Path("/sys/kernel/debug/kprobes/blacklist")
KALLSYMS = Path("/proc/kallsyms")

# include/uapi/linux/bpf.h: BPF_F_KPROBE_MULTI_RETURN
KPROBE_MULTI_RETURN = 1

# The tracefs groups kt's legacy entries go into (libbpf and bpftrace use the same ones).
KPROBE_GROUP = "kprobes"
KRETPROBE_GROUP = "kretprobes"


class KprobeError(AttachError):
    """A kprobe cannot be attached here (no kprobe support, bad function, ...)."""


# --- the kprobe PMU ----------------------------------------------------------------------------

def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


@cache
def kprobe_pmu_type() -> int | None:
    """perf_event_attr.type of the kprobe PMU (6 on Debian's 6.1), or None without one
    (kernels before 4.17, or built without CONFIG_KPROBE_EVENTS)."""
    text = _read(KPROBE_PMU / "type")
    return int(text) if text and text.strip().isdigit() else None


@cache
def _retprobe_bit() -> int:
    """The config bit that turns a kprobe PMU event into a kretprobe: format/retprobe says
    ``config:0`` (every kernel so far; read it anyway, as libbpf does)."""
    text = (_read(KPROBE_PMU / "format" / "retprobe") or "config:0").strip()
    m = re.fullmatch(r"config:(\d+)(?:-\d+)?", text)
    return int(m.group(1)) if m else 0


def _describe(func: str, offset: int, retprobe: bool) -> str:
    if retprobe:
        return f"kretprobe {func}"
    return f"kprobe {func}" + (f"+{offset:#x}" if offset else "")


def _hint(err: int, func: str, offset: int) -> str:
    """What an errno from creating a kprobe usually means (kernel/trace/trace_kprobe.c,
    kernel/kprobes.c)."""
    if err == errno.ENOENT:
        return f"no kernel function '{func}' (or it is in a module that is not loaded)"
    if err == errno.EILSEQ:
        return f"offset {offset:#x} is not at an instruction boundary of {func}"
    if err == errno.EINVAL:
        return (f"'{func}' cannot be probed (on the kprobe blacklist, notrace, or the offset "
                f"is outside the function)")
    if err == errno.EEXIST:
        return "a kprobe event of that name exists already"
    if err == errno.EBUSY:
        return "the probe point is in use by something that excludes kprobes"
    return ""


def _fail(what: str, e: OSError, func: str, offset: int) -> KprobeError:
    hint = _hint(e.errno or 0, func, offset)
    return KprobeError(e.errno, f"attach {what}: {e}" + (f" ({hint})" if hint else ""))


def _attach_pmu(prog_fd: FdLike, func: str, offset: int, retprobe: bool, cookie: int,
                pmu_type: int) -> PerfEventLink:
    what = _describe(func, offset, retprobe)
    name = ctypes.create_string_buffer(func.encode())
    attr = PerfEventAttr(type=pmu_type, size=ctypes.sizeof(PerfEventAttr),
                         config=(1 << _retprobe_bit()) if retprobe else 0,
                         config1=ctypes.addressof(name), config2=offset,
                         sample_period=1, wakeup_events=1, flags=int(PerfAttrFlag.DISABLED))
    try:
        # pid=-1, cpu=0: the program hangs on the trace_event_call and runs for every task on
        # every CPU (as for tracepoints, see tracepoint.py); one fd per probe.
        fd = perf_event_open(attr, pid=-1, cpu=0, group_fd=-1, flags=PerfFlag.FD_CLOEXEC)
    except SyscallError as e:
        e.call = f"perf_event_open({what})"
        raise _fail(what, e, func, offset) from None
    return attach_perf_event(prog_fd, OwnedFd(fd, f"perf_event {what}"), what, cookie)


# --- tracefs kprobe_events (legacy): runtime/attach/dynamic_events.py --------------------------

def kprobe_events_path() -> Path:
    return dynamic_events.events_path(KPROBE_EVENTS)


def kt_kprobe_events() -> list[str]:
    """``group/name`` of every kprobe_events entry that kt made (for tests and diagnostics)."""
    return dynamic_events.kt_events(KPROBE_EVENTS)


def _attach_tracefs(prog_fd: FdLike, func: str, offset: int, retprobe: bool,
                    cookie: int) -> DynamicEventLink:
    what = _describe(func, offset, retprobe)
    group = KRETPROBE_GROUP if retprobe else KPROBE_GROUP
    target = func + (f"+{offset:#x}" if offset else "")
    try:
        return dynamic_events.attach_dynamic_event(prog_fd, KPROBE_EVENTS, group, retprobe, target,
                                                   what, cookie)
    except dynamic_events.TracefsWriteError as e:
        raise _fail(what, e, func, offset) from None
    except AttachError as e:
        if isinstance(e, KprobeError):
            raise
        raise KprobeError(e.errno, str(e)) from None


# --- one function ----------------------------------------------------------------------------

def attach_kprobe(prog_fd: FdLike, func: str, offset: int = 0, retprobe: bool = False,
                  cookie: int = 0, *, legacy: bool = False) -> PerfEventLink | DynamicEventLink:
    """Attach a KPROBE program to the entry (or ``offset`` bytes into) of kernel function
    ``func``, or to its return with ``retprobe``. ``cookie`` is what bpf_get_attach_cookie()
    returns (needs kernel 5.15+). Uses the kprobe PMU, or tracefs kprobe_events when the PMU is
    missing or ``legacy`` is set. ``close()`` the result to detach."""
    if not func or any(c.isspace() for c in func) or "/" in func:
        raise ValueError(f"invalid kernel function name {func!r}")
    if offset < 0:
        raise ValueError(f"negative kprobe offset {offset}")
    if retprobe and offset:
        raise ValueError("a kretprobe takes no offset (it fires when the function returns)")
    pmu = None if legacy else kprobe_pmu_type()
    if pmu is not None:
        return _attach_pmu(prog_fd, func, offset, retprobe, cookie, pmu)
    try:
        has_events = kprobe_events_path().exists()
    except TracefsError as e:
        raise KprobeError(e.errno, f"attach {_describe(func, offset, retprobe)}: no kprobe PMU "
                                   f"and {e}") from None
    if not has_events:
        raise KprobeError(errno.EOPNOTSUPP,
                          f"attach {_describe(func, offset, retprobe)}: this kernel has no "
                          f"kprobes (no {KPROBE_PMU} and no tracefs kprobe_events; it was "
                          f"built without CONFIG_KPROBES/CONFIG_KPROBE_EVENTS)")
    return _attach_tracefs(prog_fd, func, offset, retprobe, cookie)


# --- many functions: kprobe_multi ------------------------------------------------------------

_NO_SUCH_FUNCTION = b"kt_no_such_function_for_probing"


@cache
def _kprobe_multi_probe() -> tuple[bool, str]:
    """Load a trivial KPROBE_MULTI program and LINK_CREATE it on a function that does not
    exist: ENOENT/ESRCH (the symbol lookup failed) means the link type works; EOPNOTSUPP (no
    CONFIG_FPROBE) or EINVAL (kernels before 5.18 do not know attach type 42) means it does
    not. Nothing stays attached or loaded."""
    insns = bytes.fromhex("b700000000000000" "9500000000000000")   # r0 = 0; exit
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"GPL")
    attr = ProgLoadAttr(prog_type=int(ProgType.KPROBE), insn_cnt=2,
                        insns=ctypes.addressof(code), license=ctypes.addressof(lic),
                        prog_name=b"kt_probe_kpm",
                        expected_attach_type=int(AttachType.TRACE_KPROBE_MULTI))
    try:
        prog = OwnedFd(bpf(BpfCmd.PROG_LOAD, attr), "kprobe_multi probe program")
    except SyscallError as e:
        return False, str(e)
    with prog:
        sym = ctypes.create_string_buffer(_NO_SUCH_FUNCTION)
        syms = (ctypes.c_uint64 * 1)(ctypes.addressof(sym))
        link = LinkCreateAttr(prog_fd=prog.fd, target_fd=0,
                              attach_type=int(AttachType.TRACE_KPROBE_MULTI))
        link.kprobe_multi.cnt = 1
        link.kprobe_multi.syms = ctypes.addressof(syms)
        try:
            os.close(bpf(BpfCmd.LINK_CREATE, link))
            return True, ""
        except SyscallError as e:
            if e.errno in (errno.ENOENT, errno.ESRCH):
                return True, ""
            return False, str(e)


def kprobe_multi_supported() -> bool:
    """Whether BPF_LINK_CREATE of kprobe_multi links works here (cached). Decide this before
    loading: a program for ``attach_kprobe_multi`` needs expected_attach_type
    BPF_TRACE_KPROBE_MULTI, and such a program cannot be attached with ``attach_kprobe``."""
    return _kprobe_multi_probe()[0]


def kprobe_multi_unsupported_reason() -> str:
    """The kernel's answer to the feature probe ("" when supported), e.g.
    "bpf(BPF_LINK_CREATE): Operation not supported (EOPNOTSUPP)"."""
    return _kprobe_multi_probe()[1]


class KprobeMultiLink(BpfLink):
    """One BPF link attaching a program to many kernel functions at once (kprobe_multi)."""

    def __init__(self, link_fd: OwnedFd, funcs: list[str], retprobe: bool) -> None:
        self.funcs = list(funcs)
        self.retprobe = retprobe
        kind = "kretprobe" if retprobe else "kprobe"
        super().__init__(link_fd, f"{kind}_multi {len(self.funcs)} functions")


def attach_kprobe_multi(prog_fd: FdLike, funcs: list[str], retprobe: bool = False,
                        cookies: list[int] | None = None) -> KprobeMultiLink:
    """Attach a program loaded with expected_attach_type BPF_TRACE_KPROBE_MULTI to every
    function in ``funcs`` (entry, or return with ``retprobe``) with one BPF link; function i's
    cookie is ``cookies[i]``. Raises KprobeError, e.g. EOPNOTSUPP without CONFIG_FPROBE."""
    if not funcs:
        raise ValueError("attach_kprobe_multi needs at least one function")
    if cookies is not None and len(cookies) != len(funcs):
        raise ValueError(f"{len(funcs)} functions but {len(cookies)} cookies")
    kind = "kretprobe" if retprobe else "kprobe"
    what = f"{kind}_multi ({len(funcs)} functions: {', '.join(funcs[:3])}" \
           f"{', ...' if len(funcs) > 3 else ''})"
    names = [ctypes.create_string_buffer(f.encode()) for f in funcs]
    syms = (ctypes.c_uint64 * len(funcs))(*(ctypes.addressof(n) for n in names))
    attr = LinkCreateAttr(prog_fd=raw_fd(prog_fd), target_fd=0,
                          attach_type=int(AttachType.TRACE_KPROBE_MULTI))
    attr.kprobe_multi.flags = KPROBE_MULTI_RETURN if retprobe else 0
    attr.kprobe_multi.cnt = len(funcs)
    attr.kprobe_multi.syms = ctypes.addressof(syms)
    keep = [names, syms]
    if cookies is not None:
        cookie_arr = (ctypes.c_uint64 * len(funcs))(*cookies)
        keep.append(cookie_arr)
        attr.kprobe_multi.cookies = ctypes.addressof(cookie_arr)
    try:
        fd = bpf(BpfCmd.LINK_CREATE, attr)   # ``keep`` holds the arrays alive until here
    except SyscallError as e:
        hint = {
            errno.EOPNOTSUPP: "kprobe_multi links need CONFIG_FPROBE (kernel 5.18+); attach "
                              "one kprobe per function instead",
            errno.EINVAL: "the program must be loaded with expected_attach_type "
                          "BPF_TRACE_KPROBE_MULTI, and the kernel must be 5.18+",
            errno.ESRCH: "one of the functions does not exist or cannot be traced",
            errno.ENOENT: "one of the functions does not exist or cannot be traced",
        }.get(e.errno, "")
        raise KprobeError(e.errno, f"attach {what}: {e}" + (f" ({hint})" if hint else "")) \
            from None
    return KprobeMultiLink(OwnedFd(fd, f"link {what}"), funcs, retprobe)


# --- wildcards -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class KernelFunctions:
    """The functions a wildcard may expand to, and where the list came from."""

    names: tuple[str, ...]
    source: str


def _available_filter_functions() -> list[str] | None:
    """Functions ftrace can hook (so kprobes can too: they use the ftrace site at offset 0).
    Lines are ``name`` or ``name [module]``; 6.x lists ``__ftrace_invalid_address___N`` for
    sites it could not resolve."""
    try:
        text = (tracefs_root() / "available_filter_functions").read_text()
    except (OSError, TracefsError):
        return None
    names = []
    for line in text.splitlines():
        name = line.split(" ", 1)[0].strip()
        if name and not name.startswith("__ftrace_invalid_address__"):
            names.append(name)
    return names


def _kallsyms_text() -> list[str] | None:
    """Text symbols (t/T) of /proc/kallsyms: the fallback when tracefs' list is unreadable
    (root-only; EPERM under lockdown). Less precise: it includes notrace functions."""
    try:
        text = KALLSYMS.read_text()
    except OSError:
        return None
    names = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in ("t", "T"):
            names.append(parts[2])
    return names


@cache
def kernel_functions() -> KernelFunctions:
    """Every function a kprobe wildcard may match (read once per process)."""
    names = _available_filter_functions()
    if names is not None:
        return KernelFunctions(tuple(names), "available_filter_functions")
    names = _kallsyms_text()
    if names is not None:
        return KernelFunctions(tuple(names), str(KALLSYMS))
    raise KprobeError(errno.EACCES, "cannot list kernel functions: neither tracefs "
                                    "available_filter_functions nor /proc/kallsyms is readable")


@cache
def kprobe_blacklist() -> frozenset[str]:
    """Functions the kernel refuses to kprobe (``/sys/kernel/debug/kprobes/blacklist``, lines
    ``0xSTART-0xEND\\tname``); empty when debugfs is not mounted or not readable."""
    text = _read(KPROBE_BLACKLIST)
    if text is None:
        return frozenset()
    out = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[1].startswith("["):
            out.add(parts[1])
    return frozenset(out)


def match_functions(pattern: str, names, blacklist=frozenset()) -> list[str]:
    """The names matching glob ``pattern`` (``*``, ``?``, ``[...]``, as bpftrace), sorted and
    without duplicates, minus ``blacklist`` and minus compiler-made clones (``foo.isra.0``,
    ``foo.cold``, ``foo.constprop.0``: not the function the user named, and ``.cold`` parts
    are not function entries) unless the pattern itself contains a '.'."""
    keep_dotted = "." in pattern
    match = re.compile(fnmatch.translate(pattern)).match   # one regex, not fnmatch per name
    out = set()
    for name in names:
        if not keep_dotted and "." in name:
            continue
        if name in blacklist:
            continue
        if match(name):
            out.add(name)
    return sorted(out)


def _glob_line_regex(pattern: str) -> str:
    """fnmatch's glob (``*``, ``?``, ``[...]``, ``[!...]``) as a regex over one name, which
    never spans whitespace (so it can run over a whole function list, one name a line)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(r"\S*")
        elif c == "?":
            out.append(r"\S")
        elif c == "[":
            start = i + 1 + (pattern[i + 1:i + 2] == "!")
            end = pattern.find("]", start + (pattern[start:start + 1] == "]"))
            if end < 0:
                out.append(r"\[")
            else:
                body = pattern[start:end].replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"[^\\s{body}]" if start > i + 1 else f"[{body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@cache
def _function_list_text() -> str:
    """The function list as text, one ``name`` or ``name [module]`` a line: tracefs'
    available_filter_functions as the kernel gives it, else kallsyms' text symbols."""
    try:
        return (tracefs_root() / "available_filter_functions").read_text()
    except (OSError, TracefsError):
        pass
    names = _kallsyms_text()
    if names is None:
        raise KprobeError(errno.EACCES, "cannot list kernel functions: neither tracefs "
                                        "available_filter_functions nor /proc/kallsyms is readable")
    return "\n".join(names) + "\n"


def search_functions(pattern: str, text: str, blacklist=frozenset()) -> list[str]:
    """match_functions() over a function list's text: one regex pass in C instead of a Python
    loop over ~50,000 names (seconds in the emulated guest, where each kprobe script paid it)."""
    found = re.findall(rf"^({_glob_line_regex(pattern)})(?:[ \t][^\n]*)?$", text, re.M)
    return match_functions(pattern, (n for n in found if n and not n.startswith("__ftrace_invalid_address__")),
                           blacklist)


def expand_kprobe_wildcard(pattern: str) -> list[str]:
    """Kernel functions matching ``pattern`` that can be kprobed, sorted. Searches tracefs
    ``available_filter_functions`` (else /proc/kallsyms text symbols) and drops blacklisted
    functions; a name without wildcards gives itself or nothing (the compiler asks this for
    every kprobe, to warn about functions that cannot be traced). Raises KprobeError when no
    function list is readable."""
    return search_functions(pattern, _function_list_text(), kprobe_blacklist())
