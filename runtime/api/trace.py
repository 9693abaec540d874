"""kt.trace: run an object as the `kt` command does, with events and maps as Python values.

Why a thread: runtime/session.py is the one place that knows the order of a trace (load ->
attach -> BEGIN -> stream -> END -> release, everything owned and released in `finally`),
and its event loop runs until the trace ends. The Trace runs that same Session in a thread
of its own, with three API hooks and nothing else changed: RecordsOutput (events as records
instead of bytes, collected by `_Sink`), `wake_fd` (a pipe the Trace writes signal numbers
to: SIGTERM ends the trace, SIGUSR1 prints every map, which `t.maps` reads back as a
snapshot; no signal handlers, which Python allows only in the main thread) and `started`
(everything is attached, BEGIN ran, the command runs). So the session thread alone touches
the kernel objects, and the user's thread only reads records.
"""

from __future__ import annotations

from collections import deque
import os
import shlex
import signal
import threading
import time

from ..output.records import RecordsOutput
from . import records as r
from .errors import Error, ObjectError, TraceError
from .objects import Object, load
from .values import map_value

class _Discard:
    """Where the session writes the "\\n\\n" before its exit maps (text framing)."""

    def write(self, data) -> None:
        pass

    def flush(self) -> None:
        pass


class _Sink:
    """The session's output stream: the pump writes lists of records, the session single
    records, an iterator bytes. Events go to the Trace's queue; map snapshots and lost counts
    to the Trace itself."""

    def __init__(self, trace: "Trace") -> None:
        self._trace = trace

    def write(self, data) -> None:
        if isinstance(data, list):       # the pump's batch: printf records, most of the time
            self._trace._add_events(data)
        elif isinstance(data, (bytes, bytearray)):
            if data:
                self._trace._add_events([r.Output(bytes(data).decode("utf-8", "surrogateescape"))])
        elif isinstance(data, r.MapsSnapshot):
            self._trace._new_snapshot(data)
        elif isinstance(data, r.Lost):
            self._trace.lost += data.count
            self._trace._add_events([data])
        elif data is not None:
            self._trace._add_events([data])

    def flush(self) -> None:
        pass


def _environment() -> dict:
    """The Session settings the kt command takes from BPFTRACE_*/KT_* variables (cli_env.py)."""
    from ..cli_env import EnvError, queue_bytes, read_environment
    try:
        env = read_environment()
        queue_limit = queue_bytes(os.environ.get("KT_QUEUE_MB"))
    except EnvError as err:
        raise TraceError(str(err)) from None
    return {"max_probes": env.max_probes, "log_size": env.log_size, "user_symbols": not env.no_user_symbols,
            "demangle": not env.no_cpp_demangle, "cache_user_symbols": env.cache_user_symbols,
            **({} if queue_limit is None else {"queue_limit": queue_limit})}


def trace(obj, *, args=None, command=None, pid: int | None = None, prometheus: str | None = None,
          prometheus_max_series: int | None = None) -> "Trace":
    """A Trace of `obj` (an Object, its bytes or a path); `with` starts it (docs/api.md).
    `args`: the positional parameters, by default those the object was compiled with.
    `prometheus`: "[ADDR:]PORT" to serve the maps at while the trace runs (as kt --prometheus),
    `prometheus_max_series` its per-map key cap (also of collector())."""
    return Trace(obj, args=args, command=command, pid=pid, prometheus=prometheus,
                 prometheus_max_series=prometheus_max_series)


class Trace:
    def __init__(self, obj, *, args=None, command=None, pid: int | None = None, prometheus: str | None = None,
                 prometheus_max_series: int | None = None) -> None:
        self._obj = obj if isinstance(obj, Object) else load(obj)
        self._args = self._obj.args if args is None else tuple(str(a) for a in args)
        self._command = command
        self._pid = pid
        self.lost = 0                  # events the kernel could not write
        self.cpid: int | None = None   # the command's pid (the script's cpid)
        self._events: deque = deque()     # records not yet taken by events()
        self._cond = threading.Condition()   # guards _events, _snapshot; notified on changes
        self._ready = threading.Event()   # started, or ended before streaming
        self._done = threading.Event()
        self._snapshot: r.MapsSnapshot | None = None
        self._generation = 0
        self._maps_cache: tuple[int, dict] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._child = None
        self._wake_r = self._wake_w = -1
        self._closed = False
        self._prometheus = prometheus
        self._max_series = prometheus_max_series
        self._exporter = None
        self._metrics = None      # runtime/prometheus.py MapSource: made on demand

    # ---- the context manager ------------------------------------------------------------
    def __enter__(self) -> "Trace":
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.stop()
        else:
            try:
                self.stop()
            except Error:
                pass      # the block's own exception is the one to see

    def start(self) -> None:
        """Load, attach, run BEGIN and start the command; returns once events flow (or the
        trace already ended: a BEGIN-only script, exit() in BEGIN). TraceError if it cannot."""
        if self._thread is not None:
            raise Error("this trace was already started")
        from ..session import Session
        settings = _environment()
        if self._pid and not os.path.exists(f"/proc/{self._pid}"):
            raise TraceError(f"pid {self._pid}: No such process")
        self._start_exporter()
        try:
            self._child = self._spawn()
        except BaseException:
            self._release()
            raise
        try:
            self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            session = Session(self._obj.elf, out=_Sink(self), quiet=True, child=self._child, pid=self._pid or 0,
                              separator_out=_Discard(), start_ns=time.monotonic_ns(),
                              api_output=RecordsOutput(), wake_fd=self._wake_r, started=self._ready.set,
                              positional=self._args, metrics=self._metrics, **settings)
            self._thread = threading.Thread(target=self._run, args=(session,), name="kt-trace", daemon=True)
            self._thread.start()
        except BaseException:
            self._release()
            raise
        try:
            self._ready.wait()
        except BaseException:
            self.stop()
            raise
        if self._done.is_set() and self._error is not None:
            self._finish()
            self._raise()

    def _start_exporter(self) -> None:
        from ..prometheus import Exporter, MapSource, PrometheusError   # prometheus_client: not yet
        if self._metrics is None:   # collector() may come later: the session lends it the maps
            self._metrics = MapSource()
        if self._prometheus is None:
            return
        try:   # one source for the server and any collector()
            self._exporter = Exporter(self._prometheus, self._max_series, source=self._metrics).start()
        except PrometheusError as err:
            raise TraceError(str(err)) from None

    def collector(self):
        """A prometheus_client collector of this trace's maps, for one's own registry
        (`registry.register(t.collector())`); it reads the maps at each collect() while the
        trace runs and yields nothing before and after; its cap is prometheus_max_series
        (default 1000 keys per map)."""
        from ..prometheus import MapCollector, MapSource, PrometheusError, max_series
        try:
            cap = max_series(self._max_series)
            if self._metrics is None:
                self._metrics = MapSource()
            return MapCollector(self._metrics, cap)
        except PrometheusError as err:
            raise TraceError(str(err)) from None

    def _spawn(self):
        if self._command is None:
            return None
        from ..child import ChildError, HeldChild, resolve_command
        line = self._command if isinstance(self._command, str) else shlex.join(self._command)
        try:
            argv = resolve_command(line)
        except ChildError:
            word = shlex.split(line)[0] if line.strip() else line
            raise TraceError(f"Failed to fork child: path '{word}' does not exist or is not executable") from None
        try:
            child = HeldChild.spawn(argv)
        except ChildError as err:
            raise TraceError(f"Failed to fork child: {err}") from None
        self.cpid = child.pid
        return child

    def _run(self, session) -> None:
        from ..session import SessionError
        from ..spec import ObjectFormatError
        try:
            session.run()
        except SessionError as err:
            self._error = TraceError(str(err))
        except ObjectFormatError as err:
            self._error = ObjectError(str(err))
        except BaseException as err:   # reported to the user's thread, not lost in this one
            self._error = err
        finally:
            with self._cond:
                self._done.set()
                self._cond.notify_all()
            self._ready.set()

    # ---- while it runs ------------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the trace ends (the command exited, exit(), stop()); False on timeout."""
        if self._thread is None:
            raise Error("the trace has not started")
        if not self._done.wait(timeout):
            return False
        self._finish()
        self._raise()
        return True

    def stop(self) -> None:
        """End the trace now (END runs, everything is released) and wait for it."""
        if self._thread is None:
            return
        if not self._done.is_set():
            self._poke(signal.SIGTERM)
        self._done.wait()
        self._finish()
        self._raise()

    def events(self):
        """The trace's output records in order; ends when the trace ends."""
        while True:
            with self._cond:
                while not self._events and not self._done.is_set():
                    self._cond.wait()
                if not self._events:
                    return
                batch = list(self._events)
                self._events.clear()
            taken = 0
            try:
                for item in batch:
                    taken += 1
                    yield item
            finally:   # a loop that stopped early leaves the rest to the next events()
                if taken < len(batch):
                    with self._cond:
                        self._events.extendleft(reversed(batch[taken:]))

    @property
    def maps(self) -> dict:
        """Every map's Python value, by name: read now while the trace runs, else the values
        at the trace's end (what kt prints at exit)."""
        if self._thread is not None and not self._done.is_set():
            with self._cond:
                seen = self._generation
                self._poke(signal.SIGUSR1)
                while self._generation == seen and not self._done.is_set():
                    self._cond.wait()
        with self._cond:
            snap, generation = self._snapshot, self._generation
        if snap is None:
            return {}
        if self._maps_cache is None or self._maps_cache[0] != generation:
            values = {}
            for mm, entries in sorted(snap.maps, key=lambda m: m[0].name.encode("utf-8", "surrogateescape")):
                try:
                    values[mm.name] = map_value(mm, entries)
                except KeyError:
                    pass      # a scalar map never set: bpftrace prints nothing for it
            self._maps_cache = (generation, values)
        return self._maps_cache[1]

    # ---- internals -----------------------------------------------------------------------
    def _add_events(self, items: list) -> None:
        with self._cond:
            self._events.extend(items)
            self._cond.notify_all()

    def _new_snapshot(self, snap: r.MapsSnapshot) -> None:
        with self._cond:
            self._snapshot = snap
            self._generation += 1
            self._cond.notify_all()

    def _poke(self, signum: int) -> None:
        try:
            os.write(self._wake_w, bytes([signum]))
        except (BlockingIOError, OSError):
            pass

    def _finish(self) -> None:
        """After the session thread ended: the child and the pipe."""
        if self._closed:
            return
        self._thread.join()
        self._release()

    def _release(self) -> None:
        self._closed = True
        if self._exporter is not None:
            self._exporter.close()
            self._exporter = None
        if self._child is not None:
            self._child.kill()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def _raise(self) -> None:
        err, self._error = self._error, None
        if err is not None:
            raise err
