"""Named perf events for `software:NAME:N` and `hardware:NAME:N`, and the timer events behind
`profile:` and `interval:`.

Why a pure registry in the compiler: the compiler turns `software:faults:100` into the object's
`attach` record (`{"type": 1, "config": 2, "period": 100, "cpus": "all"}`, docs/object-format.md
"Probe kinds") at compile time; the runtime only opens what the object says, and reuses the
names here in its error messages and in `kt -l`. The names, aliases and default periods are
bpftrace's (src/list.h SW_PROBE_LIST / HW_PROBE_LIST in 0.17), so scripts behave the same.
The numbers are `enum perf_type_id`, `perf_sw_ids` and `perf_hw_id` from
include/uapi/linux/perf_event.h (append-only enums).
"""

from __future__ import annotations

from dataclasses import dataclass

PERF_TYPE_HARDWARE = 0
PERF_TYPE_SOFTWARE = 1

# enum perf_sw_ids
PERF_COUNT_SW_CPU_CLOCK = 0
PERF_COUNT_SW_TASK_CLOCK = 1
PERF_COUNT_SW_PAGE_FAULTS = 2
PERF_COUNT_SW_CONTEXT_SWITCHES = 3
PERF_COUNT_SW_CPU_MIGRATIONS = 4
PERF_COUNT_SW_PAGE_FAULTS_MIN = 5
PERF_COUNT_SW_PAGE_FAULTS_MAJ = 6
PERF_COUNT_SW_ALIGNMENT_FAULTS = 7
PERF_COUNT_SW_EMULATION_FAULTS = 8
PERF_COUNT_SW_DUMMY = 9
PERF_COUNT_SW_BPF_OUTPUT = 10

# enum perf_hw_id
PERF_COUNT_HW_CPU_CYCLES = 0
PERF_COUNT_HW_INSTRUCTIONS = 1
PERF_COUNT_HW_CACHE_REFERENCES = 2
PERF_COUNT_HW_CACHE_MISSES = 3
PERF_COUNT_HW_BRANCH_INSTRUCTIONS = 4
PERF_COUNT_HW_BRANCH_MISSES = 5
PERF_COUNT_HW_BUS_CYCLES = 6
PERF_COUNT_HW_STALLED_CYCLES_FRONTEND = 7
PERF_COUNT_HW_STALLED_CYCLES_BACKEND = 8
PERF_COUNT_HW_REF_CPU_CYCLES = 9


@dataclass(frozen=True, slots=True)
class PerfEventDef:
    """One named event. ``alias`` is bpftrace's short name ("" when there is none);
    ``default_period`` is the sample period used when the script gives no count."""

    provider: str          # "software" | "hardware"
    name: str
    alias: str
    perf_type: int
    config: int
    default_period: int

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, self.alias) if self.alias else (self.name,)

    @property
    def type(self) -> int:
        """perf_event_attr.type (the same as ``perf_type``)."""
        return self.perf_type


def _sw(name: str, alias: str, config: int, period: int) -> PerfEventDef:
    return PerfEventDef("software", name, alias, PERF_TYPE_SOFTWARE, config, period)


def _hw(name: str, alias: str, config: int, period: int) -> PerfEventDef:
    return PerfEventDef("hardware", name, alias, PERF_TYPE_HARDWARE, config, period)


SOFTWARE_EVENTS: tuple[PerfEventDef, ...] = (
    _sw("alignment-faults", "", PERF_COUNT_SW_ALIGNMENT_FAULTS, 1),
    _sw("bpf-output", "", PERF_COUNT_SW_BPF_OUTPUT, 1),
    _sw("context-switches", "cs", PERF_COUNT_SW_CONTEXT_SWITCHES, 1000),
    _sw("cpu-clock", "cpu", PERF_COUNT_SW_CPU_CLOCK, 1000000),
    _sw("cpu-migrations", "", PERF_COUNT_SW_CPU_MIGRATIONS, 1),
    _sw("dummy", "", PERF_COUNT_SW_DUMMY, 1),
    _sw("emulation-faults", "", PERF_COUNT_SW_EMULATION_FAULTS, 1),
    _sw("major-faults", "", PERF_COUNT_SW_PAGE_FAULTS_MAJ, 1),
    _sw("minor-faults", "", PERF_COUNT_SW_PAGE_FAULTS_MIN, 100),
    _sw("page-faults", "faults", PERF_COUNT_SW_PAGE_FAULTS, 100),
    _sw("task-clock", "", PERF_COUNT_SW_TASK_CLOCK, 1),
)

HARDWARE_EVENTS: tuple[PerfEventDef, ...] = (
    _hw("backend-stalls", "", PERF_COUNT_HW_STALLED_CYCLES_BACKEND, 1000000),
    _hw("branch-instructions", "branches", PERF_COUNT_HW_BRANCH_INSTRUCTIONS, 100000),
    _hw("branch-misses", "", PERF_COUNT_HW_BRANCH_MISSES, 100000),
    _hw("bus-cycles", "", PERF_COUNT_HW_BUS_CYCLES, 100000),
    _hw("cache-misses", "", PERF_COUNT_HW_CACHE_MISSES, 1000000),
    _hw("cache-references", "", PERF_COUNT_HW_CACHE_REFERENCES, 1000000),
    _hw("cpu-cycles", "cycles", PERF_COUNT_HW_CPU_CYCLES, 1000000),
    _hw("frontend-stalls", "", PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, 1000000),
    _hw("instructions", "", PERF_COUNT_HW_INSTRUCTIONS, 1000000),
    _hw("ref-cycles", "", PERF_COUNT_HW_REF_CPU_CYCLES, 1000000),
)

SOFTWARE = "software"
HARDWARE = "hardware"

EVENTS: dict[str, tuple[PerfEventDef, ...]] = {
    SOFTWARE: SOFTWARE_EVENTS,
    HARDWARE: HARDWARE_EVENTS,
}

_BY_NAME: dict[tuple[str, str], PerfEventDef] = {
    (ev.provider, n): ev for evs in EVENTS.values() for ev in evs for n in ev.names
}


def lookup(provider: str, name: str) -> PerfEventDef | None:
    """The event ``provider:name`` ("software", "faults"), by name or alias; None if unknown."""
    return _BY_NAME.get((provider, name))


def lookup_event(provider: str, name: str) -> PerfEventDef | None:
    """``lookup`` with the provider first as a constant: ``lookup_event(SOFTWARE, "cs")``."""
    return lookup(provider, name)


def event_names(provider: str) -> list[str]:
    """Every name and alias of ``provider``'s events, sorted (for suggestions and listing)."""
    return sorted(n for ev in EVENTS.get(provider, ()) for n in ev.names)


def describe(perf_type: int, config: int) -> str:
    """``provider:name`` for a (type, config) pair, for messages; "perf event TYPE:CONFIG"
    when the pair is not one of the named events."""
    for evs in EVENTS.values():
        for ev in evs:
            if ev.perf_type == perf_type and ev.config == config:
                return f"{ev.provider}:{ev.name}"
    return f"perf event {perf_type}:{config}"


# --- profile: and interval: ----------------------------------------------------------------

# Nanoseconds per unit of `profile:UNIT:N` / `interval:UNIT:N` (bpftrace 0.17: s, ms, us, hz).
TIME_UNITS: dict[str, int] = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000}
# perf_event_open refuses a sample_period with bit 63 set (kernel/events/core.c,
# perf_event_open: "if (attr.sample_period & (1ULL << 63)) return -EINVAL"); larger counts
# wrapped silently in the u64 field.
MAX_PERIOD = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class PerfEventSpec:
    """What the runtime opens: `perf_event_open` type and config, a sample period *or* a
    frequency, and on which CPUs ("all": one event per online CPU; "one": CPU 0 only)."""

    perf_type: int
    config: int
    period: int | None = None
    freq: int | None = None
    cpus: str = "all"

    def attach(self) -> dict:
        """The object format's `attach` record for this event (the schema's PerfEventAttach)."""
        from .meta_probes import PerfEventAttach
        return PerfEventAttach(self.perf_type, self.config, self.period, self.freq, self.cpus).to_json()


class PerfEventSpecError(ValueError):
    """A unit, name or count the registry cannot turn into an event; the message is meant
    for a diagnostic."""


def timer_event(probe: str, unit: str, count: int) -> PerfEventSpec:
    """`profile:UNIT:N` or `interval:UNIT:N` as a cpu-clock event, as bpftrace attaches them:
    profile samples every CPU (`hz` uses the kernel's frequency mode, others a period in ns);
    interval fires on CPU 0 only, with a period (`hz` becomes 10^9/N ns)."""
    if probe not in ("profile", "interval"):
        raise PerfEventSpecError(f"'{probe}' is not a timer probe (profile or interval)")
    if count <= 0:
        raise PerfEventSpecError(f"{probe} rate must be a positive number, not {count}")
    if unit == "hz":
        if probe == "profile":
            return PerfEventSpec(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, freq=count,
                                 cpus="all")
        period = 1_000_000_000 // count
        if period == 0:
            raise PerfEventSpecError(f"interval:hz:{count} is more than 10^9 times a second")
        return PerfEventSpec(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, period=period,
                             cpus="one")
    if unit not in TIME_UNITS:
        raise PerfEventSpecError(f"unknown {probe} unit '{unit}' (expected one of "
                                 f"{', '.join([*TIME_UNITS, 'hz'])})")
    period = count * TIME_UNITS[unit]
    if period > MAX_PERIOD:
        raise PerfEventSpecError(f"{probe}:{unit}:{count} is too long: its period of {period} ns is past "
                                 f"the kernel's limit of 2^63-1 ns (about 292 years)")
    return PerfEventSpec(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, period=period,
                         cpus="all" if probe == "profile" else "one")


def counter_event(provider: str, name: str, count: int | None = None) -> PerfEventSpec:
    """`software:NAME[:N]` / `hardware:NAME[:N]`: sample every N events (the event's default
    period without N), on every CPU."""
    ev = lookup(provider, name)
    if ev is None:
        known = ", ".join(event_names(provider)) or "none"
        raise PerfEventSpecError(f"unknown {provider} event '{name}' (known: {known})")
    if count is not None and count <= 0:
        raise PerfEventSpecError(f"{provider}:{name} count must be positive, not {count}")
    if count is not None and count > MAX_PERIOD:
        raise PerfEventSpecError(f"{provider}:{name} count {count} is past the kernel's limit of 2^63-1")
    return PerfEventSpec(ev.perf_type, ev.config, period=count or ev.default_period,
                         cpus="all")
