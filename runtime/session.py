"""A trace from start to end: load -> attach -> BEGIN -> stream events -> END -> print maps ->
detach everything.

Why one object: the order of these steps is what users see (BEGIN's output before any event,
maps after END, nothing left attached after exit), and every kernel resource it creates is
owned here and released in `finally`, whatever ends the trace: exit(), the -c child exiting,
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import dataclasses
import os
import select
import signal
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

from ..compiler.formats.meta import RUN_CONFIG, ObjectMeta, ProbeMeta, entries_per_key
from .agg_arrays import view_aggregation_arrays
from .attach import Links
from .attach.special import run_once
from .attach.by_kind import ATTACH, AttachContext
from .attach.progress import AttachProgress
from .events import RingBuffer
from .kernel_features import KernelTooOld, require_features
from .decoders import Decoders
from .layout import map_entries
from .load_errors import explain_load_error
from .loader import ProgramRefusedError, VerifierError, load_object
from .output.cat import CAT_BYTES_MAX, CatLimitError, cat_bytes_max
from .output.helper_errors import READ_HELPERS
from .output.sink import Message, Output, output_for
from .output.text import EXIT_SEPARATOR
from .pump import DEFAULT_QUEUE_LIMIT, EventPump
from .spec import parse_object
from .symbols import Symbolizer, UserSymbols, value_context
from .sys.constants import AttachType
from .sys.cpus import possible_cpus
from .sys.syscall import SyscallError

# The signals that end the trace (END runs, maps print), besides SIGUSR1 (maps print, the
# trace goes on). SIGHUP too: bpftrace 0.17 dies of it and loses its maps, but a trace whose
# terminal went away (an ssh session dropped, output redirected to a file) should keep them.
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1)


class SessionError(Exception):
    """A failure a user can act on; the CLI prints it as `kt: error: ...`."""


class SessionFault(SessionError):
    """kt's own fault while tracing (its output closed or failing, an exception in kt): the
    probes were detached and the maps printed where they could be; one `kt: error:` line,
    exit status 1. `__cause__` keeps the original exception (KT_DEBUG=1 prints its traceback)."""


def program_of(probe: ProbeMeta) -> str:
    """The function name of a .kt.meta probe entry's program: the runtime finds programs by
    it, since several may share a section (BEGIN and END in `raw_tp`, perf events)."""
    return probe.program


@dataclass
class Session:
    elf: bytes
    out: BinaryIO
    quiet: bool = False
    verbose: bool = False
    child: object | None = None   # runtime.child.HeldChild
    pid: int = 0                  # -p PID: uprobes only in it; the trace ends when it exits
    json: bool = False            # -f json: bpftrace's NDJSON output (runtime/output/json.py)
    no_warnings: bool = False     # --no-warnings: no "could not attach probe ..., skipping."
    separator_out: BinaryIO | None = None   # where the "\n\n" before the exit maps goes
                                            # (0.17: stdout, also with -o FILE); None: `out`
    err: object = sys.stderr
    dry_run: bool = False         # --dry-run: load every program (the verifier runs), attach nothing
    max_probes: int = 512         # BPFTRACE_MAX_PROBES
    log_size: int = 0             # BPFTRACE_LOG_SIZE: the first verifier log buffer (0: the loader's)
    user_symbols: bool = True     # BPFTRACE_NO_USER_SYMBOLS=1: usym/ustack print addresses
    demangle: bool = True         # BPFTRACE_NO_CPP_DEMANGLE=1: C++ names stay mangled
    cache_user_symbols: bool = True   # BPFTRACE_CACHE_USER_SYMBOLS=0: no per-address cache
    start_ns: int = 0             # CLOCK_MONOTONIC at kt's start: `elapsed` counts from it
    queue_limit: int = DEFAULT_QUEUE_LIMIT   # KT_QUEUE_MB: raw records held beyond the ring
    positional: tuple[str, ...] = ()   # the run's $1, $2, ...: the object's slots (runtime/positionals.py)
    # The Python API (runtime/api/trace.py): its output object (records, not bytes); a pipe it
    # writes signal numbers to (SIGTERM ends the trace, SIGUSR1 prints the maps) instead of
    # kt's signal handlers, which Python allows only in the main thread; and a call made when
    # everything is attached, BEGIN ran and the -c child is released (the event loop starts).
    # KT_X/BPFTRACE_X set in the environment (as X): they win over the object's config block.
    env_given: frozenset[str] = frozenset()
    print_maps_on_exit: bool = True   # a config block's print_maps_on_exit (bpftrace 0.26)
    api_output: Output | None = None
    wake_fd: int | None = None
    started: Callable[[], None] | None = None
    # --prometheus / the API's collector (runtime/prometheus.py MapSource): lent the maps
    # while they are loaded, read at scrape time from another thread
    metrics: object | None = None
    output: Output = field(init=False)
    _cat_limit: int = CAT_BYTES_MAX
    _pump: EventPump | None = None
    _links: object = None         # the trace's Links (unwatch() reaches its watchpoints)
    _lost_seen: int = 0
    _full_warned: set = field(default_factory=set)   # maps already reported full
    _reads_reported: dict = field(default_factory=dict)   # -k: helper site -> failed reads reported
    _use_kprobe_multi: bool = False
    _multi_sections: set = field(default_factory=set)   # wildcard kprobes on one kprobe_multi link
    _values: object = None
    _on_signal: list = field(default_factory=list)   # self:signal:SIGUSR1 probes: (program, probe)

    def __post_init__(self) -> None:
        self.output = self.api_output if self.api_output is not None else output_for(self.json)

    def status(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.err, flush=True)

    # ---- the whole trace ------------------------------------------------------------------
    def run(self) -> int:
        if os.geteuid() != 0:
            raise SessionError("kt must run as root to load BPF programs (it needs CAP_BPF, CAP_PERFMON "
                               "and CAP_SYS_ADMIN); try: sudo kt ...")
        spec = parse_object(self.elf)
        # An object without .kt.meta (or events) is loaded all the same, so that its programs'
        # verifier errors are reported (tests' hand-made objects); it cannot be traced.
        meta = spec.meta or ObjectMeta()
        self._remove_stale_probe_events()
        self._remove_stale_tc_filters(meta)
        try:   # what the kernel would not refuse itself, only do wrong (runtime/kernel_features.py)
            require_features(spec, meta)
        except KernelTooOld as err:
            raise SessionError(str(err)) from None
        spec = self._choose_kprobe_multi(spec, meta)
        self._check_cat_limit()
        self._apply_config(meta)
        # 0.17's count: one per target (a syscall dispatch program serves hundreds)
        wanted = self._targets(meta.probes, meta) if meta.probes else 0
        if wanted > self.max_probes:
            raise SessionError(
                f"Can't attach to {wanted} probes because it exceeds the current limit of "
                f"{self.max_probes} probes.\nYou can increase the limit through the BPFTRACE_MAX_PROBES "
                "environment variable, but BE CAREFUL since a high number of probes attached can cause "
                "your system to crash.")
        obj = self._load(spec)
        if spec.meta is None or meta.events is None:
            obj.close()
            raise SessionError("the object has no .kt.meta section: it was not built by kt" if spec.meta is None
                               else ".kt.meta: missing 'events': the object has no event ring")
        view_aggregation_arrays(obj.maps, meta.maps)   # keyless aggregations
        if self.verbose:
            for prog in obj.programs.values():
                print(f"Verifier log of {prog.name} ({prog.section}):\n{prog.verifier_log.rstrip()}\n", file=self.err)
        if self.dry_run:
            obj.close()
            return 0
        links = self._links = Links()
        ring = control = None
        own_wake = self.wake_fd is None
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC) if own_wake else (self.wake_fd, -1)
        old_handlers = {}
        try:
            # How symbols, stacks and probe names print (runtime/symbols.py).
            self._values = value_context(
                probe_names=meta.probe_names, func_names=meta.func_names,
                stack_maps={limit: obj.maps[name] for limit, name in meta.stacks},
                strftime_formats=meta.strftime_formats,
                cgroup_path_filters=meta.cgroup_path_filters,
                symbols=None if self.user_symbols and self.demangle and self.cache_user_symbols else
                Symbolizer(user=UserSymbols(resolve_symbols=self.user_symbols, demangle=self.demangle,
                                            cache=self.cache_user_symbols)))
            if self.metrics is not None:
                self.metrics.attach(meta.maps, lambda mm: self._map_entries(obj, mm))
            events_map = obj.maps[meta.events.ringbuf]
            ring = RingBuffer(events_map.fd, events_map.max_entries)
            control_name = meta.events.control
            if control_name is not None:
                control_map = obj.maps[control_name]
                control = RingBuffer(control_map.fd, control_map.max_entries)
            decoders = Decoders(meta, obj, self.output, self._values, flush=lambda: self._pump.flush(),
                                unwatch=self._unwatch, err=self.err, cat_limit=self._cat_limit,
                                no_warnings=self.no_warnings)
            pump = self._pump = EventPump(ring, control, decoders, self.out, self.queue_limit)
            probes = meta.probes
            programs = {program_of(p): obj.programs[program_of(p)] for p in probes}
            actx = AttachContext(pid=self.pid or -1, use_kprobe_multi=self._use_kprobe_multi,
                                 kprobe_tracefs=os.environ.get("KT_KPROBE_TRACEFS") == "1",
                                 uprobe_tracefs=os.environ.get("KT_UPROBE_TRACEFS") == "1",
                                 tc_netlink=os.environ.get("KT_TC_NETLINK") == "1",
                                 xdp_generic=os.environ.get("KT_XDP_GENERIC") == "1",
                                 notice=self._notice)
            probes = self._attach_all(probes, programs, actx, links, meta)
            if own_wake:
                for sig in _SIGNALS:
                    old_handlers[sig] = signal.signal(sig, lambda *_: None)
                signal.set_wakeup_fd(wake_w)   # the handlers only wake _stream, which acts
            if not self.quiet:   # in JSON mode this status is output, as in bpftrace
                self._say(self.output.attached(self._targets(probes, meta)))

            self._on_signal = [(programs[program_of(p)], p) for p in probes if p.kind == "self"]
            for p in probes:
                if p.kind == "begin":
                    self._run_special(programs[program_of(p)], p)
            pump.drain()
            for link in links:   # iter: probes run once, after BEGIN, as 0.17 reads its iterators
                if hasattr(link, "iterate") and not pump.exit_requested:
                    link.iterate(self.out)
                    pump.drain()
            # meta's list, not the attached one: a script whose kprobes were all skipped traces
            # on (BEGIN/END only) until Ctrl-C, as 0.17's xfsdist.bt without xfs does
            only_special = all(p.kind in ("begin", "end", "iter") for p in meta.probes)
            if not pump.exit_requested and not only_special:
                if self.child is not None:
                    self.child.release()
                if self.started is not None:
                    self.started()
                self._stream(pump, events_map.fileno(), obj, wake_r)
            links.close()           # no new events from here on
            pump.drain()            # after exit(): taken and dropped, as 0.17 drops them
            pump.exit_requested = False
            for p in probes:
                if p.kind == "end":
                    self._run_special(programs[program_of(p)], p)
            pump.drain()
            self._report_lost(obj)
            self._report_full(obj)
            self._report_failed_reads(obj, total=True)
            if self._lost_seen:
                self._say(self.output.lost_total(self._lost_seen))
            if self.print_maps_on_exit:
                self._print_maps(obj, meta, separator=True)
            return self._exit_code(obj)
        except (SessionError, KeyboardInterrupt):
            raise
        except Exception as err:
            self._fault(err, links, obj, meta)
        finally:
            if own_wake:
                signal.set_wakeup_fd(-1)
                for sig, handler in old_handlers.items():
                    signal.signal(sig, handler)
                os.close(wake_r)
                os.close(wake_w)
            links.close()
            if self.metrics is not None:
                self.metrics.detach()   # waits for a scrape in progress: the maps close next
            for r in (ring, control):
                if r is not None:
                    r.close()
            obj.close()

    def _fault(self, err: Exception, links, obj, meta) -> None:
        """kt failed while tracing: detach at once (nothing more fires), then print the maps
        on the output if it still takes them, else on stderr; raise the one-line SessionFault.

        A closed output (`kt ... | head -1`, a reader that crashed) or one that refuses writes
        (a full disk, -o /dev/full) is an OSError of a write; anything else is a bug in kt,
        reported as such. END does not run: its output would go where writes just failed,
        and a script's END may be what failed."""
        links.close()
        broken = isinstance(err, OSError)
        printed = ""
        if meta is not None:
            try:
                maps = [(mm, self._map_entries(obj, mm)) for mm in meta.maps]
                text = self.output.maps(maps) if maps else b""
                if text and isinstance(text, bytes):
                    if not broken:
                        try:
                            self.out.write(text)
                            self.out.flush()
                        except OSError:
                            broken = True
                    if broken:
                        err_out = getattr(self.err, "buffer", None)
                        if err_out is not None:
                            self.err.flush()
                            err_out.write(text)
                            err_out.flush()
                            printed = "; the maps went to stderr"
            except Exception:   # the maps cannot be printed either: the line below says why
                printed = "; the maps could not be printed"
        if broken:
            what = "the output was closed" if isinstance(err, BrokenPipeError) else "writing the output failed"
            message = f"{what} ({err.strerror or err}): the trace stopped{printed}"
        else:
            message = (f"internal error: {type(err).__name__}: {err}: the trace stopped, every probe "
                       f"is detached{printed} (KT_DEBUG=1 shows the traceback)")
        raise SessionFault(message) from err

    # ---- steps ----------------------------------------------------------------------------
    def _runtime_values(self, meta) -> dict[str, int | bytes]:
        """What the object reads from `.rodata` (compiler/objects.py RUNTIME_VALUES, and the
        positional parameters' slots): not baked into the code, so one object serves every run."""
        from .positionals import PositionalError, positional_values
        try:
            values = positional_values(meta.positionals if meta is not None else None, tuple(self.positional))
        except PositionalError as err:
            raise SessionError(str(err)) from None
        return {"kt_cpid": self.child.pid if self.child is not None else 0, "kt_start_ns": self.start_ns,
                "kt_ncpus": len(possible_cpus()), **values}

    def _notice(self, text: str) -> None:
        """A line an attachment reports while the trace runs (from its own thread: one write),
        printed as 0.17 prints such messages: a text line, or a lost_events object in JSON."""
        self.out.write(self.output.notice(text))
        self.out.flush()

    def _apply_config(self, meta: ObjectMeta) -> None:
        """The script's config block's run-time keys (.kt.meta "config"), except where the
        environment sets the same setting, which wins (bpftrace 0.26's rule)."""
        for key, value in meta.config:
            if any(name in self.env_given for name in RUN_CONFIG[key][1]):
                continue
            if key == "max_cat_bytes":
                self._cat_limit = value
            elif key == "cpp_demangle":
                self.demangle = value
            elif key == "cache_user_symbols":
                self.cache_user_symbols = value != "NONE"
            elif key == "print_maps_on_exit" and self.api_output is not None:
                continue   # the API's final snapshot of the maps is the exit's print (docs/api.md)
            elif key != "max_bpf_progs":   # 0.17 checks it and applies no limit of its own (cli_env)
                setattr(self, key, value)

    def _check_cat_limit(self) -> None:
        try:   # checked whether or not the script uses cat(), as 0.17 does
            self._cat_limit = cat_bytes_max()
        except CatLimitError as err:
            raise SessionError(str(err)) from None

    def _remove_stale_probe_events(self) -> None:
        """kprobe_events/uprobe_events entries of a kt that was SIGKILLed stay in the kernel;
        kt names its entries after its pid so that the next run can recognise and remove them."""
        from .attach.dynamic_events import KPROBE_EVENTS, UPROBE_EVENTS, sweep_stale

        for removed in (*sweep_stale(KPROBE_EVENTS), *sweep_stale(UPROBE_EVENTS)):
            self.status(f"Removed a probe left by an earlier kt: {removed}")

    def _remove_stale_tc_filters(self, meta: ObjectMeta) -> None:
        """tc filters of a SIGKILLed kt (netlink path) stay on their interface; a kt with tc
        probes removes them, on every interface of its network namespace, before attaching."""
        if not any(p.kind == "tc" for p in meta.probes):
            return
        from .attach.tc_netlink import sweep_stale

        for removed in sweep_stale():
            self.status(f"Removed a tc filter left by an earlier kt: {removed}")

    def _choose_kprobe_multi(self, spec, meta):
        """Wildcard kprobes attach with one kprobe_multi link where the kernel has them
        (CONFIG_FPROBE); such programs must be loaded for that attach type."""
        multi = [program_of(p) for p in meta.probes
                 if p.kind in ("kprobe", "kretprobe") and len(p.attach.funcs) > 1]
        if not multi:
            return spec
        from .attach.kprobe import kprobe_multi_supported
        if not kprobe_multi_supported():
            return spec
        self._use_kprobe_multi = True
        self._multi_sections = set(multi)
        programs = dict(spec.programs)
        for name in multi:
            programs[name] = dataclasses.replace(programs[name],
                                                    expected_attach_type=AttachType.TRACE_KPROBE_MULTI)
        return dataclasses.replace(spec, programs=programs)

    def _load(self, spec):
        try:
            return load_object(spec, log_level=1 if self.verbose else 0, log_size=self.log_size,
                               globals=self._runtime_values(spec.meta))
        except (VerifierError, ProgramRefusedError, SyscallError) as err:
            raise SessionError(explain_load_error(err, self.verbose)) from None

    def _attach_all(self, probes, programs: dict, actx: AttachContext, links: Links, meta) -> list:
        """Attach every probe; returns those that are in (BEGIN/END always are: they run).

        As bpftrace 0.17: a target of an entry marked optional (one of several attach points,
        or a wildcard's expansion) that cannot attach is skipped with 0.17's warning; other
        failures are errors. With BEGIN or END the trace goes on as 0.17's does (xfsdist.bt
        without xfs loaded prints its header and waits); unlike 0.17, which then traces
        nothing until Ctrl-C, no probe at all is an error."""
        skipped: list[str] = []

        def skip(name: str, err: OSError) -> None:
            skipped.append(name)
            if not self.no_warnings:
                print(f"WARNING: could not attach probe {name}, skipping.", file=self.err, flush=True)
                if self.verbose:
                    print(f"  ({err})", file=self.err, flush=True)

        live = []
        progress = AttachProgress(self._targets(probes, meta), self.err, enabled=not self.quiet)
        done = 0
        try:
            for p in probes:
                done += self._targets([p], meta)
                if p.kind not in ATTACH:
                    live.append(p)
                    continue
                ctx = dataclasses.replace(actx, skip=skip if p.optional else None, attached=progress.advance)
                made = self._attach(lambda: ATTACH[p.kind](programs[program_of(p)].fd, p.attach, ctx), p)
                for link in made:
                    links.add(link)
                if made:
                    live.append(p)
                progress.reach(done)
        finally:
            progress.finish()
        if skipped and not live:
            raise SessionError(f"no probe could be attached (skipped: {', '.join(skipped)})")
        return live

    def _attach(self, do_attach, probe):
        try:
            return do_attach()
        except (SyscallError, OSError) as err:
            raise SessionError(f"cannot attach {probe.name}: {err}") from None

    def _run_special(self, program, probe) -> None:
        try:
            run_once(program.fd)
        except (SyscallError, OSError) as err:
            raise SessionError(f"cannot run {probe.name}: {err}") from None

    def _stream(self, pump: EventPump, events_fd: int, obj, wake_r: int) -> None:
        """Deliver events until exit(), the -c child's exit, or SIGINT/SIGTERM. While records
        keep coming, each turn takes what the rings hold and decodes one block; the loop only
        sleeps (in epoll, woken by the ring, a signal or the child) when everything is out."""
        ep = select.epoll()
        target = None
        try:
            ep.register(events_fd, select.EPOLLIN)  # a ring buffer map polls readable when it has data
            ep.register(wake_r, select.EPOLLIN)
            if self.child is not None:
                ep.register(self.child.pidfd, select.EPOLLIN)
            if self.pid:
                try:
                    target = os.pidfd_open(self.pid)
                except ProcessLookupError:   # the -p process exited while the probes attached
                    pump.drain()
                    return
                ep.register(target, select.EPOLLIN)
            checked = 0.0
            # KT_TEST_FAULT=events: a Python exception in the trace loop once events flow, the
            # path a bug in a decoder or printer takes (tests/e2e/test_exit_paths.py)
            test_fault = os.environ.get("KT_TEST_FAULT") == "events"
            while True:
                pump.take()
                busy = pump.process()
                if busy and test_fault:
                    raise RuntimeError("KT_TEST_FAULT=events: a fault injected in the event loop")
                if pump.exit_requested:
                    return
                ready = {fd for fd, _ in ep.poll(0 if busy or pump.queued else 1.0)}
                now = time.monotonic()
                if not busy or now - checked > 0.5:
                    checked = now
                    self._report_lost(obj)
                    self._report_full(obj)
                    self._report_failed_reads(obj)
                    if self._exit_flag_set(obj):   # exit()'s record was lost: a full ring buffer
                        pump.drain()
                        return
                if wake_r in ready and self._signalled(wake_r, obj):
                    return
                if self.child is not None and self.child.pidfd in ready and self.child.poll():
                    pump.drain()
                    return
                if target is not None and target in ready:  # the -p process exited
                    pump.drain()
                    return
        finally:
            ep.close()
            if target is not None:
                os.close(target)

    def _unwatch(self, address: int) -> None:
        for link in self._links:
            if hasattr(link, "unwatch"):
                link.unwatch(address)

    def _targets(self, probes, meta) -> int:
        """How many probes 0.17 says it attaches: one per target (`uprobe:./t:leaf*` over two
        functions is 2, though kt loads one program), from the probe names each program owns
        (.kt.meta: probe i's names start at its probe_base); but a wildcard kprobe on one
        kprobe_multi link is 1, as 0.17 counts it (bpftrace issue #3180)."""
        bases = sorted(p.probe_base for p in meta.probes)
        ends = dict(zip(bases, bases[1:] + [len(meta.probe_names)]))
        return sum(1 if program_of(p) in self._multi_sections else max(1, ends[p.probe_base] - p.probe_base)
                   for p in probes)

    def _exit_code(self, obj) -> int:
        """kt's exit status: exit(code)'s code (the flag holds code + 1), 0 without exit()."""
        index = obj.meta.events.exit_flag
        lost_map = obj.maps.get(obj.meta.events.lost)
        if index is None or lost_map is None:
            return 0
        raw = lost_map.lookup(struct.pack("<I", index))
        flag = struct.unpack_from("<Q", raw)[0] if raw is not None else 0
        return (flag - 1) & 0xFF if flag else 0

    def _exit_flag_set(self, obj) -> bool:
        """Whether exit() ran: besides its record, it sets entry `exit_flag` of the lost map
        (docs/object-format.md), so the trace ends also when that record found no room."""
        index = obj.meta.events.exit_flag
        lost_map = obj.maps.get(obj.meta.events.lost)
        if index is None or lost_map is None:
            return False
        raw = lost_map.lookup(struct.pack("<I", index))
        return raw is not None and struct.unpack_from("<Q", raw)[0] != 0

    def _signalled(self, wake_r: int, obj) -> bool:
        """The signals that arrived (set_wakeup_fd writes one byte per signal): SIGUSR1 prints
        every map now, as 0.17 does (without the exit's "\n\n"), and tracing goes on — or,
        when the script has self:signal:SIGUSR1 probes (bpftrace 0.22), runs them instead (they
        print what they want); SIGINT/SIGTERM/SIGHUP end the trace (True)."""
        try:
            signums = os.read(wake_r, 512)
        except BlockingIOError:
            return False
        end = False
        for signum in signums:
            if signum == signal.SIGUSR1 and self._on_signal:
                for program, probe in self._on_signal:
                    self._run_special(program, probe)
                self._pump.drain()
            elif signum == signal.SIGUSR1:
                self._print_maps(obj, obj.meta, separator=False)
            else:
                end = True
        return end

    def _report_lost(self, obj) -> None:
        """Records the kernel could not write (a full ring buffer): reported as they happen,
        as 0.17 reports them, and their total at the end of the trace."""
        lost_map = obj.maps.get(obj.meta.events.lost)
        if lost_map is None:
            return
        raw = lost_map.lookup(bytes(4))
        lost = struct.unpack_from("<Q", raw)[0] if raw else 0
        if lost > self._lost_seen:
            self._say(self.output.lost(lost - self._lost_seen))
            self._lost_seen = lost

    def _report_full(self, obj) -> None:
        """A map that refused a new key (its FULL_MAP slot counts them, .kt.meta events.full):
        warned once per map, while tracing, naming the knob that sizes it."""
        events = obj.meta.events
        if events.full is None or len(self._full_warned) == len(events.full_maps):
            return
        counts = obj.maps[events.full]
        for slot, name in enumerate(events.full_maps):
            if name in self._full_warned:
                continue
            raw = counts.lookup(struct.pack("<I", slot))
            if raw is None or not struct.unpack_from("<Q", raw)[0]:
                continue
            self._full_warned.add(name)
            mm = next(m for m in obj.meta.maps if m.name == name)
            lhist = (mm.lhist.min, mm.lhist.max, mm.lhist.step) if mm.lhist else None
            entries = obj.maps[mm.bpf_name].max_entries // entries_per_key(mm.agg, lhist, mm.hist_bits,
                                                                          mm.tseries.intervals if mm.tseries else None)
            self._say(self.output.map_full(name, entries))

    def _report_failed_reads(self, obj, total: bool = False) -> None:
        """-k: the probe reads that failed, counted per site (.kt.meta events.read_errors):
        a site's first failures while tracing, and at the end (`total`) every site whose
        count grew since."""
        events = obj.meta.events
        if events.read_errors is None:
            return
        counts = obj.maps[events.read_errors]
        for i, site in enumerate(obj.meta.helper_errors[:counts.max_entries]):
            if site.helper not in READ_HELPERS or (not total and i in self._reads_reported):
                continue
            raw = counts.lookup(struct.pack("<I", i))
            n = struct.unpack_from("<Q", raw)[0] if raw else 0
            if n > self._reads_reported.get(i, 0):
                self._say(self.output.failed_reads(site, n, total and i in self._reads_reported))
                self._reads_reported[i] = n

    def _say(self, message) -> None:
        """A Message goes to stderr (text mode); bytes are output (JSON mode), after what the
        pump gathered."""
        if isinstance(message, Message):
            print(message.text, file=self.err, flush=True)
        else:
            if self._pump is not None:
                self._pump.flush()
            self.out.write(message)
            self.out.flush()

    def _map_entries(self, obj, mm) -> list:
        """A map's (key, value) pairs as the printers take them: keys decoded, CPUs summed,
        histogram buckets grouped by key."""
        return map_entries(mm, obj.maps[mm.bpf_name].items(), self._values)

    def _print_maps(self, obj, meta, separator: bool) -> None:
        """Every map, by name; at exit after "\n\n", which 0.17 writes to stdout even when
        the output goes to an -o file."""
        if self._pump is not None:
            self._pump.flush()
        if separator:
            sep_out = self.separator_out or self.out
            sep_out.write(EXIT_SEPARATOR.encode())
            sep_out.flush()
        maps = [(mm, self._map_entries(obj, mm)) for mm in meta.maps]
        text = self.output.maps(maps)
        if text:
            self.out.write(text)
            self.out.flush()
