"""`.kt.meta` probe entries: one program each, with a typed attach record per probe kind
(docs/object-format.md, "Probe kinds"). Part of the schema of kt.compiler.formats.meta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

from .meta_read import MetaError, _at, _checked, _get, _list, _obj, _only, _strs


@dataclass(frozen=True, slots=True)
class SpecialAttach:
    """begin, end, self (a signal): run with BPF_PROG_TEST_RUN; nothing to attach."""

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str) -> "SpecialAttach":
        _only(d, (), where)
        return cls()

    def to_json(self) -> dict:
        return {}


@dataclass(frozen=True, slots=True)
class TracepointAttach:
    category: str
    name: str

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str) -> "TracepointAttach":
        _only(d, ("category", "name"), where)
        return cls(_get(d, "category", str, where), _get(d, "name", str, where))

    def to_json(self) -> dict:
        return {"category": self.category, "name": self.name}


@dataclass(frozen=True, slots=True)
class KprobeAttach:
    """kprobe, kretprobe: one program for every function; cookie i is funcs[i]."""
    funcs: tuple[str, ...]
    offset: int = 0
    retprobe: bool = False

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str) -> "KprobeAttach":
        _only(d, ("funcs", "offset", "retprobe"), where)
        return cls(_strs(d, "funcs", where), _get(d, "offset", int, where, 0),
                   _get(d, "retprobe", bool, where, False))

    def to_json(self) -> dict:
        return {"funcs": list(self.funcs), "offset": self.offset, "retprobe": self.retprobe}


@dataclass(frozen=True, slots=True)
class UprobeTarget:
    func: str
    offset: int                 # file offset (st_value - p_vaddr + p_offset)
    ref_ctr_offset: int = 0     # usdt: the semaphore's file offset, 0 without one

    @classmethod
    def from_json(cls, v: Any, where: str) -> "UprobeTarget":
        d = _obj(v, where)
        _only(d, ("func", "offset", "ref_ctr_offset"), where)
        return cls(_get(d, "func", str, where), _get(d, "offset", int, where),
                   _get(d, "ref_ctr_offset", int, where, 0))

    def to_json(self) -> dict:
        d: dict = {"func": self.func, "offset": self.offset}
        if self.ref_ctr_offset:
            d["ref_ctr_offset"] = self.ref_ctr_offset
        return d


@dataclass(frozen=True, slots=True)
class UprobeAttach:
    """uprobe, uretprobe, usdt: one program for every target of one file; cookie i is targets[i]."""
    path: str
    targets: tuple[UprobeTarget, ...]
    retprobe: bool = False

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str) -> "UprobeAttach":
        _only(d, ("path", "targets", "retprobe"), where)
        return cls(_get(d, "path", str, where), _list(d, "targets", where, UprobeTarget.from_json),
                   _get(d, "retprobe", bool, where, False))

    def to_json(self) -> dict:
        return {"path": self.path, "targets": [t.to_json() for t in self.targets], "retprobe": self.retprobe}


@dataclass(frozen=True, slots=True)
class PerfEventAttach:
    """interval, profile, software, hardware: a perf event of `type`/`config`, sampled every
    `period` events or at `freq` Hz, on CPU 0 ("one") or every CPU ("all")."""
    type: int
    config: int
    period: int | None = None
    freq: int | None = None
    cpus: str = "all"

    def __post_init__(self) -> None:
        if (self.period is None) == (self.freq is None):
            raise ValueError("a perf event has a period or a freq (one of them)")
        if self.cpus not in ("one", "all"):
            raise ValueError(f"cpus must be 'one' or 'all', not {self.cpus!r}")

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str) -> "PerfEventAttach":
        _only(d, ("type", "config", "period", "freq", "cpus"), where)
        return _checked(where, lambda: cls(
            _get(d, "type", int, where), _get(d, "config", int, where),
            _get(d, "period", (int, type(None)), where, None), _get(d, "freq", (int, type(None)), where, None),
            _get(d, "cpus", str, where, "all")))

    def to_json(self) -> dict:
        d: dict = {"type": self.type, "config": self.config}
        if self.freq is not None:
            d["freq"] = self.freq
        else:
            d["period"] = self.period
        d["cpus"] = self.cpus
        return d


@dataclass(frozen=True, slots=True)
class FuncAttach:
    """kfunc, kretfunc: fentry/fexit on `func` (its BTF id is found in vmlinux at load)."""
    func: str

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str) -> "FuncAttach":
        _only(d, ("func",), where)
        return cls(_get(d, "func", str, where))

    def to_json(self) -> dict:
        return {"func": self.func}


@dataclass(frozen=True, slots=True)
class NameAttach:
    """rawtracepoint (BPF_RAW_TRACEPOINT_OPEN of `name`), iter (an iterator link of `name`)."""
    name: str

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str) -> "NameAttach":
        _only(d, ("name",), where)
        return cls(_get(d, "name", str, where))

    def to_json(self) -> dict:
        return {"name": self.name}


@dataclass(frozen=True, slots=True)
class WatchpointAttach:
    """watchpoint, asyncwatchpoint: a breakpoint of `len` bytes at `addr` (bp_type: perf's
    HW_BREAKPOINT_R/W/X bits) in `pid`; or, with `func`, FUNC+argN: a uprobe on `func` at
    file `offset` of `path` learns the address from argument `arg` at run time."""
    addr: int
    len: int
    bp_type: int
    pid: int = -1
    path: str | None = None
    func: str | None = None
    offset: int = 0
    arg: int = -1
    asynchronous: bool = False     # JSON "async" (asyncwatchpoint: no SIGSTOP)

    _FUNCTION_FORM = ("path", "func", "offset", "arg", "async")

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str) -> "WatchpointAttach":
        _only(d, ("addr", "len", "bp_type", "pid") + cls._FUNCTION_FORM, where)
        base = (_get(d, "addr", int, where), _get(d, "len", int, where), _get(d, "bp_type", int, where),
                _get(d, "pid", int, where, -1))
        if "func" not in d:
            return cls(*base)
        return cls(*base, _get(d, "path", str, where), _get(d, "func", str, where),
                   _get(d, "offset", int, where), _get(d, "arg", int, where), _get(d, "async", bool, where, False))

    def to_json(self) -> dict:
        d: dict = {"addr": self.addr, "len": self.len, "bp_type": self.bp_type, "pid": self.pid}
        if self.func is not None:
            d.update({"path": self.path, "func": self.func, "offset": self.offset, "arg": self.arg,
                      "async": self.asynchronous})
        return d


@dataclass(frozen=True, slots=True)
class PacketAttach:
    """tc, xdp: a packet program on the interface `ifname` (looked up by name at attach time,
    so an object runs where that name exists). `direction` is "ingress" or "egress" for tc,
    "" for xdp (XDP sees received packets only)."""
    ifname: str
    direction: str = ""

    def __post_init__(self) -> None:
        if self.direction not in ("", "ingress", "egress"):
            raise ValueError(f"direction must be 'ingress', 'egress' or '', not {self.direction!r}")

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str) -> "PacketAttach":
        _only(d, ("ifname", "direction"), where)
        return _checked(where, lambda: cls(_get(d, "ifname", str, where), _get(d, "direction", str, where, "")))

    def to_json(self) -> dict:
        d: dict = {"ifname": self.ifname}
        if self.direction:
            d["direction"] = self.direction
        return d


Attach = Union[SpecialAttach, TracepointAttach, KprobeAttach, UprobeAttach, PerfEventAttach,
               FuncAttach, NameAttach, WatchpointAttach, PacketAttach]

# Each probe kind's attach record (docs/object-format.md "Probe kinds").
ATTACH_KINDS: dict[str, type] = {
    "begin": SpecialAttach, "end": SpecialAttach, "self": SpecialAttach,
    "tracepoint": TracepointAttach,
    "kprobe": KprobeAttach, "kretprobe": KprobeAttach,
    "uprobe": UprobeAttach, "uretprobe": UprobeAttach, "usdt": UprobeAttach,
    "interval": PerfEventAttach, "profile": PerfEventAttach, "software": PerfEventAttach,
    "hardware": PerfEventAttach,
    "kfunc": FuncAttach, "kretfunc": FuncAttach,
    "rawtracepoint": NameAttach, "iter": NameAttach,
    "watchpoint": WatchpointAttach, "asyncwatchpoint": WatchpointAttach,
    "tc": PacketAttach, "xdp": PacketAttach,
}


def attach_from_json(kind: str, d: Any, where: str) -> Attach:
    """The attach record of a probe of `kind` (the compiler builds dicts; this types them)."""
    if kind not in ATTACH_KINDS:
        raise MetaError(_at(where, "kind"), f"unknown probe kind '{kind}'")
    return ATTACH_KINDS[kind].from_json(_obj(d, _at(where, "attach")), _at(where, "attach"))


@dataclass(frozen=True, slots=True)
class ProbeMeta:
    """One program and how it attaches (`section` names the program's ELF section)."""
    section: str
    kind: str          # a key of ATTACH_KINDS
    name: str          # bpftrace's name of the (first) attach point
    target: str        # what it attaches to, for messages ("" for BEGIN/END)
    attach: Attach
    probe_base: int = 0      # index of its first target in probe_names / func_names
    optional: bool = False   # a target that cannot attach is skipped with a warning
    program: str = ""        # the program's function symbol ("": the section's only program)

    _KEYS = ("section", "program", "kind", "name", "target", "attach", "probe_base", "optional")

    @classmethod
    def from_json(cls, v: Any, where: str) -> "ProbeMeta":
        d = _obj(v, where)
        _only(d, cls._KEYS, where)
        kind = _get(d, "kind", str, where)
        return cls(_get(d, "section", str, where), kind, _get(d, "name", str, where),
                   _get(d, "target", str, where, ""), attach_from_json(kind, d.get("attach", {}), where),
                   _get(d, "probe_base", int, where, 0), _get(d, "optional", bool, where, False),
                   _get(d, "program", str, where, ""))

    def to_json(self) -> dict:
        d: dict = {"section": self.section}
        if self.program:
            d["program"] = self.program
        d.update({"kind": self.kind, "name": self.name, "target": self.target, "attach": self.attach.to_json(),
                  "probe_base": self.probe_base, "optional": self.optional})
        return d


