"""Addresses to names, as bpftrace 0.17 prints them: ksym(), usym(), kstack, ustack.

Why a module: kernel and user symbolization read different sources (/proc/kallsyms; a
process's /proc/PID/maps plus its ELF files through kt.compiler.formats.elfsyms) but must print in the
one format users compare with bpftrace's, and both are slow enough to need caching.

bpftrace 0.17 prints through bcc 0.26 (observed on this host, `bpftrace -e ... | cat -A`):
- ksym(addr): the name of the last kernel symbol at or below addr (no upper bound, no size),
  text and weak symbols only (bcc skips b B d D r R); below the first symbol the address as C++
  prints a pointer: `0x11`, and `0` for 0. Several names at one address (`__x64_sys_getpid`,
  `__ia32_sys_getpid`, `__do_sys_getpid`): the one bcc's unstable std::sort leaves last, which
  kt reproduces by running the same sort (kt.compiler.formats.elfsyms.cxx_sort) on the same input.
- usym(addr) of process pid: the symbol of the executable mapping holding addr (see elfsyms
  for which symbol); unknown (no mapping, no covering symbol, the process is gone) -> `0x...`.
- stacks (kstack, ustack): "\\n" then one line per frame, `<indent>name+offset`, stopping at
  the first zero address; unknown frames are hex. The indent is 8 spaces where the stack is a
  value (map value, printf, tuple element) and 4 in a map key:

      @[                              @x:
          leaf+0                              leaf+0
          middle+9                            middle+9
      ]: 3                            (a blank line: the stack ends with "\\n")

  perf mode (`ustack(perf)`): "\\t<hex address> name+offset" per line, user frames followed by
  ` (/path/of/module)` or ` ([unknown])`. A stack id that cannot be looked up (a kstack taken
  in a uprobe: the helper returned -EFAULT) prints as nothing at all: `@k[]: 3`, `@kx: `.
  raw mode (`kstack(raw)`; bpftrace 0.19 added it, 0.17 has no such mode): "\n" then the
  addresses in lowercase hex without `0x`, one a line, no indent and no symbols.

bpftrace resolves user symbols when it prints and then prints hex for a process that has
exited. kt remembers a process's executable mappings the first time it symbolizes one of its
addresses (or when told to, `remember(pid)`), so later addresses of an exited process still
resolve as long as its files exist.
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import functools
import itertools
import os
import re
import struct
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from .layout import KSym, Stack, USym
from .formatted import plain_text
from .lookups import Lookups

__all__ = [
    "hex_address", "KernelSymbols", "UserSymbols", "Symbolizer", "StackReader",
    "ValueContext", "value_context", "format_stack", "default_symbolizer", "ksym", "kaddr",
    "STACK_MODES",
]

STACK_MODES = ("bpftrace", "perf", "raw")
KALLSYMS = "/proc/kallsyms"
# bcc_proc.c: kernel symbols live above this on x86-64 (0 elsewhere: no filter).
_KERNEL_ADDR_SPACE = 0x00FFFFFFFFFFFFFF if os.uname().machine == "x86_64" else 0


def hex_address(addr: int) -> str:
    """An address as C++'s `ostream << (void *)addr` prints it: `0x7f1c2a`, and `0` for 0."""
    addr &= (1 << 64) - 1
    return "0" if addr == 0 else f"0x{addr:x}"


# ---------------------------------------------------------------------------------------------
# Kernel

class KernelSymbols:
    """/proc/kallsyms, read on first use. Without root the kernel shows every address as 0:
    then nothing resolves and every address prints as hex (as bpftrace)."""

    def __init__(self, path: str = KALLSYMS) -> None:
        self.path = path
        self._starts: list[int] | None = None
        self._names: list[bytes] = []      # decoded when printed
        self._stacks: dict[tuple[int, ...], tuple[str, ...]] = {}

    # "ADDRESS TYPE NAME" or "ADDRESS TYPE NAME\t[MODULE]"; bcc skips data symbols.
    _LINE = re.compile(rb"^([0-9a-fA-F]+) ([^bBdDrR\s]) (\S+)", re.M)

    def _load(self) -> None:
        """Read once as bytes; one regex pass finds the text symbols (120,000 lines on a
        distribution kernel), addresses are converted in bulk and the names stay bytes."""
        from kt.compiler.formats.elfsyms import cxx_sort

        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        rows = self._LINE.findall(data)
        addrs = list(map(int, (r[0] for r in rows), itertools.repeat(16)))
        keep = [i for i, a in enumerate(addrs)
                if a >= _KERNEL_ADDR_SPACE and a != 0 and a != (1 << 64) - 1]
        # std::sort over (address, name) in file order, as bcc sorts: which of several names
        # at one address wins is what that sort leaves last.
        order = cxx_sort([(addrs[i], i) for i in keep], key=lambda s: s[0])
        self._starts = [a for a, _ in order]
        self._names = [rows[i][2] for _, i in order]

    def resolve(self, addr: int) -> tuple[str, int] | None:
        """(name, offset) of `addr`, or None below the first symbol."""
        if self._starts is None:
            self._load()
        i = bisect.bisect_right(self._starts, addr)  # type: ignore[arg-type]
        if i == 0:
            return None
        name = self._names[i - 1].decode("utf-8", "surrogateescape")
        return name, addr - self._starts[i - 1]  # type: ignore[index]

    def frames(self, addrs: tuple[int, ...]) -> tuple[str, ...]:
        """`name+off` of each frame of a kernel stack (kallsyms does not change while kt
        runs: a stack seen before is looked up once)."""
        hit = self._stacks.get(addrs)
        if hit is None:
            hit = self._stacks[addrs] = tuple(self.ksym(a, True) for a in addrs)
        return hit

    def ksym(self, addr: int, offset: bool = False) -> str:
        """`name` (or `name+off` with `offset`), else the hex address."""
        r = self.resolve(addr)
        if r is None:
            return hex_address(addr)
        return f"{r[0]}+{r[1]}" if offset else r[0]

    def kaddr(self, name: str) -> int:
        """The address of kernel symbol `name`, as bpftrace 0.17's resolve_kname: the first line
        of /proc/kallsyms naming it (data symbols too; module symbols never match). KeyError
        when there is none (or addresses are hidden: not root)."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise KeyError(f"cannot read {self.path}: {e.strerror}") from None
        line = re.compile(rb"^([0-9a-fA-F]+) [^ \n] " + re.escape(name.encode("utf-8", "surrogateescape")) + rb"$",
                          re.M).search(data)
        if line is not None and int(line.group(1), 16) != 0:
            return int(line.group(1), 16)
        raise KeyError(f"kernel symbol '{name}' not found in {self.path}")


# ---------------------------------------------------------------------------------------------
# User

@dataclass(frozen=True, slots=True)
class Mapping:
    start: int
    end: int
    offset: int       # file offset of `start`
    path: str         # as /proc/PID/maps names it ("[vdso]" for the vDSO)
    file: str         # where kt reads it (the path, or /proc/PID/root/path)


def _parse_maps(text: str, pid: int) -> list[Mapping]:
    """Executable, file-backed mappings (bcc's bcc_mapping_is_file_backed, plus [vdso])."""
    out = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or "x" not in parts[1]:
            continue
        path = parts[5].strip()
        if path.endswith(" (deleted)"):
            path = path[:-len(" (deleted)")]
        if path != "[vdso]" and not path.startswith("/"):
            continue
        if path.startswith(("/dev/zero", "/anon_hugepage", "/SYSV")):
            continue
        lo, hi = parts[0].split("-")
        file = path
        if path.startswith("/") and not os.path.exists(path):
            file = f"/proc/{pid}/root{path}"
        out.append(Mapping(int(lo, 16), int(hi, 16), int(parts[2], 16), path, file))
    return out


_vdso: tuple[list, list] | None = None


def _vdso_table() -> tuple[list, list]:
    """Symbols of the vDSO, read from this process's own mapping: every process of this
    kernel and ABI maps the same image (bcc does the same)."""
    global _vdso
    if _vdso is None:
        _vdso = ([], [])
        try:
            with open("/proc/self/maps") as f:
                for m in _parse_maps(f.read(), os.getpid()):
                    if m.path == "[vdso]":
                        with open("/proc/self/mem", "rb") as mem:
                            mem.seek(m.start)
                            image = mem.read(m.end - m.start)
                        from kt.compiler.formats.elfsyms import symbols_from_image

                        _vdso = symbols_from_image(image)
                        break
        except Exception:  # no vDSO, /proc/self/mem unreadable, odd image: just no names
            _vdso = ([], [])
    return _vdso


class UserSymbols:
    """Symbols of processes: /proc/PID/maps, remembered per pid, plus their ELF files."""

    def __init__(self, proc: str = "/proc", resolve_symbols: bool = True, demangle: bool = True,
                 cache: bool = True) -> None:
        self.proc = proc
        # BPFTRACE_NO_USER_SYMBOLS=1: addresses only; BPFTRACE_NO_CPP_DEMANGLE=1: C++ names
        # as the symbol table spells them; BPFTRACE_CACHE_USER_SYMBOLS=0: look up every time.
        self.resolve_symbols = resolve_symbols
        self.demangle = demangle
        self.cache = cache
        self._maps: dict[int, list[Mapping]] = {}
        self._exe: dict[int, tuple[int, int]] = {}
        self._cache: dict[tuple[int, int], tuple[str, int, str] | None] = {}
        # (pid, perf, addresses) -> frame texts: a stack seen again (a map of 100k keys
        # holds a few distinct stacks) costs one dict lookup.
        self._stacks: dict[tuple[int, bool, tuple[int, ...]], tuple[str, ...]] = {}

    def _exe_id(self, pid: int) -> tuple[int, int] | None:
        try:
            st = os.stat(f"{self.proc}/{pid}/exe")
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def remember(self, pid: int) -> bool:
        """Read and keep process `pid`'s executable mappings now (it may have exited by the
        time its addresses are printed). False if the process is gone or unreadable."""
        try:
            with open(f"{self.proc}/{pid}/maps") as f:
                text = f.read()
        except OSError:
            return False
        maps = _parse_maps(text, pid)
        if not maps:          # a zombie has no mappings left: keep what we had
            return False
        old = self._maps.get(pid)
        self._maps[pid] = maps
        exe = self._exe_id(pid)
        if exe is not None:
            self._exe[pid] = exe
        if old is not None and old != maps:
            self._drop_cache(pid)
        return True

    def forget(self, pid: int) -> None:
        self._maps.pop(pid, None)
        self._exe.pop(pid, None)
        self._drop_cache(pid)

    def _drop_cache(self, pid: int) -> None:
        self._cache = {k: v for k, v in self._cache.items() if k[0] != pid}
        self._stacks = {k: v for k, v in self._stacks.items() if k[0] != pid}

    def frames(self, pid: int, addrs: tuple[int, ...], perf: bool = False) -> tuple[str, ...]:
        """The text of each frame of a user stack (no zero addresses): `sym+off`, with
        ` (module)` in perf mode; what `usym(pid, a, True, perf)` gives for each."""
        key = (pid, perf, addrs)
        hit = self._stacks.get(key)
        if hit is not None:
            self._check_stale(pid)
            hit = self._stacks.get(key)     # None if the process exec'd since
            if hit is not None:
                return hit
        out = tuple(self.usym(pid, a, True, perf) for a in addrs)
        if self.cache:      # as _cache: kept until the process's mappings change
            self._stacks[key] = out
        return out

    def _check_stale(self, pid: int) -> None:
        """A live process whose executable changed (it exec'd, or its pid was reused) since
        its mappings were read is read again — bcc's ProcStat check. An exited process keeps
        what was remembered."""
        if pid not in self._exe:
            return
        exe = self._exe_id(pid)
        if exe is not None and exe != self._exe[pid]:
            self.forget(pid)
            self.remember(pid)

    def mapping(self, pid: int, addr: int) -> Mapping | None:
        """The executable mapping of `pid` holding `addr` (reading the maps again once when the
        remembered ones do not hold it: a library loaded since)."""
        if pid not in self._maps:
            self.remember(pid)
        m = _find(self._maps.get(pid, ()), addr)
        if m is None and self.remember(pid):
            m = _find(self._maps[pid], addr)
        return m

    def resolve(self, pid: int, addr: int) -> tuple[str, int, str] | None:
        """(symbol, offset, module path) of `addr` in process `pid`, or None."""
        self._check_stale(pid)
        key = (pid, addr)
        if key in self._cache:
            return self._cache[key]
        m = self.mapping(pid, addr)
        r = None if m is None else _resolve_in(m, addr)
        if r is not None and self.demangle and r[0].startswith("_Z"):
            r = (demangle(r[0]), r[1], r[2])
        if self.cache:
            self._cache[key] = r
        return r

    def module(self, pid: int, addr: int) -> str | None:
        m = self.mapping(pid, addr)
        return None if m is None else m.path

    def usym(self, pid: int, addr: int, offset: bool = False, module: bool = False) -> str:
        """bpftrace's resolve_usym: `name`, `name+off` with `offset`, ` (module)` appended
        with `module`; unknown: the hex address (and ` ([unknown])`)."""
        r = self.resolve(pid, addr) if self.resolve_symbols else None
        if r is None:
            return hex_address(addr) + (" ([unknown])" if module else "")
        name, off, path = r
        text = f"{name}+{off}" if offset else name
        return f"{text} ({path})" if module else text


@functools.cache
def _cxa_demangle():
    """libstdc++'s __cxa_demangle (what c++filt and bpftrace use), or None without libstdc++."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("stdc++") or "libstdc++.so.6")
    except OSError:
        return None
    fn = lib.__cxa_demangle
    fn.restype = ctypes.c_void_p
    fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    return fn


def demangle(name: str) -> str:
    """A C++ (Itanium ABI) symbol name demangled, as bpftrace 0.17 prints user symbols
    (`_ZN3foo3barEi` -> `foo::bar(int)`); the name itself when it does not demangle."""
    fn = _cxa_demangle()
    if fn is None:
        return name
    status = ctypes.c_int(0)
    out = fn(name.encode("utf-8", "surrogateescape"), None, None, ctypes.byref(status))
    if status.value != 0 or not out:
        return name
    try:
        return ctypes.string_at(out).decode("utf-8", "surrogateescape")
    finally:
        _libc_free(out)


def _libc_free(ptr: int) -> None:
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    libc.free(ptr)


def _find(maps: Iterable[Mapping], addr: int) -> Mapping | None:
    for m in maps:
        if m.start <= addr < m.end:
            return m
    return None


def _resolve_in(m: Mapping, addr: int) -> tuple[str, int, str] | None:
    from kt.compiler.formats import elfsyms

    if m.path == "[vdso]":
        table, starts = _vdso_table()
        r = elfsyms.symbol_table_lookup(table, starts, addr - m.start + m.offset)
        return None if r is None else (r[0], r[1], m.path)
    try:
        if elfsyms.elf_type(m.file) == elfsyms.ET_EXEC:
            vaddr = addr          # a fixed-address executable runs at its link addresses
        else:
            vaddr = elfsyms.vaddr_of_file_offset(m.file, addr - m.start + m.offset)
            if vaddr is None:
                return None
        r = elfsyms.symbolize(m.file, vaddr)
    except elfsyms.ElfSymbolError:
        return None
    return None if r is None else (r[0], r[1], m.path)


# ---------------------------------------------------------------------------------------------
# Both, and stacks

class Symbolizer:
    """Kernel and user symbols for one trace."""

    def __init__(self, kernel: KernelSymbols | None = None, user: UserSymbols | None = None) -> None:
        self.kernel = kernel if kernel is not None else KernelSymbols()
        self.user = user if user is not None else UserSymbols()

    def ksym(self, addr: int, offset: bool = False) -> str:
        return self.kernel.ksym(addr, offset)

    def usym(self, pid: int, addr: int, offset: bool = False, module: bool = False) -> str:
        return self.user.usym(pid, addr, offset, module)

    def remember(self, pid: int) -> bool:
        return self.user.remember(pid)

    def stack_frames(self, addrs: Sequence[int], user: bool, pid: int | None = None,
                     mode: str = "bpftrace") -> tuple[tuple[int, str], ...]:
        """(address, text) per frame, up to the first zero address, as bpftrace's get_stack
        names them: `sym+off` (perf mode: user frames with their module)."""
        live = tuple(addrs)
        if 0 in live:
            live = live[:live.index(0)]
        if mode == "raw":                  # printed as addresses: nothing to look up
            return tuple((a, "") for a in live)
        if user:
            texts = self.user.frames(pid or 0, live, mode == "perf")
        else:
            texts = self.kernel.frames(live)
        return tuple(zip(live, texts))


_default: Symbolizer | None = None


def default_symbolizer() -> Symbolizer:
    global _default
    if _default is None:
        _default = Symbolizer()
    return _default


def ksym(addr: int, offset: bool = False) -> str:
    """ksym() as bpftrace prints it (the shared kallsyms table)."""
    return default_symbolizer().ksym(addr, offset)


def kaddr(name: str) -> int:
    """kaddr("name"); KeyError when the kernel has no such symbol."""
    return default_symbolizer().kernel.kaddr(name)


def format_stack(frames: Sequence[tuple[int, str]] | None, mode: str = "bpftrace",
                 indent: int = 8) -> str:
    """A stack as bpftrace 0.17's get_stack returns it: "" when it could not be read
    (`frames` None), else "\\n" and one line per frame (see the module docstring)."""
    if frames is None:
        return ""
    if mode == "perf":
        return "\n" + "".join(f"\t{a:x} {text}\n" for a, text in frames)
    if mode == "raw":
        return "\n" + "".join(f"{a:x}\n" for a, _ in frames)
    pad = " " * indent
    return "\n" + "".join(f"{pad}{text}\n" for _, text in frames)


# ---------------------------------------------------------------------------------------------
# What kt.runtime.layout needs to decode symbolic values

class StackReader:
    """Stack traces by id from the STACK_TRACE map (any object with `lookup(key) -> bytes |
    None`, e.g. kt.runtime.maps.Map). A negative id is the helper's error (-EFAULT: no stack
    of that kind here, -EEXIST, -ENOMEM): no stack, as a missing id.

    A stack found is kept by id: kt calls bpf_get_stackid without BPF_F_REUSE_STACKID, so the
    kernel never replaces the stack of a used id (a different stack hashing to it gets
    -EEXIST, kernel/bpf/stackmap.c), and a map of 100k keys holding a few stacks reads each
    once."""

    _KEY = struct.Struct("<I")

    def __init__(self, stack_map) -> None:
        self.map = stack_map
        self._seen: dict[int, tuple[int, ...]] = {}

    def __call__(self, stack_id: int) -> tuple[int, ...] | None:
        if stack_id < 0 or stack_id > 0xFFFFFFFF:
            return None
        hit = self._seen.get(stack_id)
        if hit is not None:
            return hit
        raw = self.map.lookup(self._KEY.pack(stack_id))
        if raw is None:
            return None
        raw = bytes(raw)
        addrs = struct.unpack(f"<{len(raw) // 8}Q", raw[:len(raw) // 8 * 8])
        self._seen[stack_id] = addrs
        return addrs


@dataclass
class ValueContext:
    """Everything kt.runtime.layout.decode needs for ksym/usym/kstack/ustack/probe values:
    `stacks(stack_id) -> addresses | None`, the meta's `probe_names`, and a Symbolizer.
    Resolution happens at decode time: decode printf records when they arrive (the process
    is still there) and maps when they are printed."""

    stacks: Callable[[int], Sequence[int] | None] | None = None
    probe_names: Sequence[str] = ()
    symbols: Symbolizer = field(default_factory=default_symbolizer)
    func_names: Sequence[str] = ()
    # Stacks cut at N frames live in a STACK_TRACE map of their own (meta "stacks": N -> map).
    stacks_by_limit: dict = field(default_factory=dict)
    # username, strftime() and cgroup_path() (meta "strftime_formats", "cgroup_path_filters")
    lookups: Lookups | None = None

    def ksym(self, addr: int) -> KSym:
        return KSym(addr, self.symbols.ksym(addr))

    def usym(self, addr: int, pid: int) -> USym:
        return USym(addr, pid, self.symbols.usym(pid, addr))

    def stack(self, user: bool, stack_id: int, pid: int | None, mode: str, limit: int) -> Stack:
        reader = self.stacks_by_limit.get(limit, self.stacks)
        addrs = reader(stack_id) if reader is not None else None
        frames = None
        if addrs is not None:
            frames = self.symbols.stack_frames(tuple(addrs)[:limit], user, pid, mode)
        return Stack(user, stack_id, pid, frames, mode)

    def probe(self, index: int) -> str:
        if 0 <= index < len(self.probe_names):
            return self.probe_names[index]
        return f"<unknown probe {index}>"

    def func(self, index: int) -> str:
        """`func`: the traced function of target `index` (meta "func_names")."""
        if 0 <= index < len(self.func_names):
            return self.func_names[index]
        return f"<unknown function {index}>"

    def formatted(self, kind: str, raw: bytes) -> str:
        """The text of a username/strerror/macaddr/strftime/cgroup_path value."""
        text = plain_text(kind, raw)
        if text is not None:
            return text
        if self.lookups is None:
            self.lookups = Lookups()
        word = [int.from_bytes(raw[i:i + 8], "little") for i in range(0, len(raw), 8)]
        if kind == "username":
            return self.lookups.username(word[0])
        if kind == "strftime":
            return self.lookups.strftime(word[0], word[1])
        if kind == "cgroup_path":
            return self.lookups.cgroup_path(word[0], word[1])
        return f"<{kind}>"


def value_context(stack_map=None, probe_names: Sequence[str] = (),
                  symbols: Symbolizer | None = None, func_names: Sequence[str] = (),
                  stack_maps: dict | None = None, strftime_formats: Sequence[str] = (),
                  cgroup_path_filters: Sequence[str] = ()) -> ValueContext:
    """The context a session passes to decode(): `stack_map` is a loaded STACK_TRACE map for
    stacks of any depth, `stack_maps` {depth limit: map} from meta "stacks"; `probe_names`,
    `func_names`, `strftime_formats` and `cgroup_path_filters` from the meta."""
    by_limit = {int(limit): StackReader(m) for limit, m in (stack_maps or {}).items()}
    return ValueContext(StackReader(stack_map) if stack_map is not None else None,
                        tuple(probe_names), symbols if symbols is not None else default_symbolizer(),
                        tuple(func_names), by_limit, Lookups(strftime_formats, cgroup_path_filters))
