"""`kt --prometheus [ADDR:]PORT`: the trace's maps served as Prometheus metrics while it runs.

Why this shape: the session thread owns the kernel objects (runtime/session.py); the
exporter only reads maps, at scrape time, from prometheus_client's HTTP server thread. The
session hands a MapSource the maps and a read function once they are loaded and takes them
back (under the source's lock, so a scrape in progress finishes first) before it closes them;
a scrape before or after that sees no map families. Reads are bpf() lookups: nothing is
cleared or changed, the trace and its exit output are as without the flag.

prometheus_client is optional (`pip install 'kt[prometheus]'`): only this module imports it,
and only when an exporter or collector is made. The naming and conversion rules are
runtime/prometheus_metrics.py's (docs/prometheus.md).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable, Iterable

from .prometheus_metrics import label_names, label_values, le_buckets, metric_names, metric_type

DEFAULT_HOST = "127.0.0.1"   # PORT alone: this host only (a trace shows process names, files, ...)
ALL_HOSTS = "0.0.0.0"        # `:PORT`
DEFAULT_MAX_SERIES = 1000    # keys exported per map
MAX_SERIES_ENV = "KT_PROMETHEUS_MAX_SERIES"
DROPPED_METRIC = "kt_prometheus_dropped_keys"
INSTALL_HINT = "pip install 'kt[prometheus]'"


class PrometheusError(Exception):
    """A bad --prometheus address or cap, a port that cannot be served, no prometheus_client."""


def parse_address(text: str) -> tuple[str, int]:
    """`PORT` -> (127.0.0.1, PORT); `:PORT` -> every IPv4 address; `HOST:PORT`, `[V6]:PORT`."""
    text = text.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host = DEFAULT_HOST
    elif host == "":
        host = ALL_HOSTS
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise PrometheusError(f"--prometheus {text!r}: write an IPv6 address in brackets, [ADDR]:PORT")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise PrometheusError(f"--prometheus {text!r}: the port must be a number from 1 to 65535")
    if not host:
        raise PrometheusError(f"--prometheus {text!r}: no address before the ':'")
    return host, int(port)


def max_series(value: str | int | None = None) -> int:
    """The per-map key cap: `value` (the flag or the API argument), else $KT_PROMETHEUS_MAX_SERIES,
    else DEFAULT_MAX_SERIES; 0 means no cap."""
    where = "--prometheus-max-series"
    if value is None:
        value, where = os.environ.get(MAX_SERIES_ENV), MAX_SERIES_ENV
        if value is None or value == "":
            return DEFAULT_MAX_SERIES
    if isinstance(value, bool) or not (isinstance(value, int) or str(value).strip().isdigit()):
        raise PrometheusError(f"{where}: {value!r} is not a number of keys (0: no cap)")
    return int(value)


def _client():
    try:
        from prometheus_client import core
    except ImportError:
        raise PrometheusError(f"--prometheus needs the prometheus_client package: {INSTALL_HINT}") from None
    return core


class MapSource:
    """The maps a running session lends the exporter (Session.metrics)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._maps: tuple = ()
        self._read: Callable[[Any], list] | None = None

    def attach(self, maps: Iterable, read: Callable[[Any], list]) -> None:
        """`maps`: the object's MapMeta records; `read(mm)`: its decoded (key, value) entries."""
        with self.lock:
            self._maps, self._read = tuple(maps), read

    def detach(self) -> None:
        with self.lock:
            self._maps, self._read = (), None


class MapCollector:
    """A prometheus_client collector of a MapSource's maps (register it in any registry)."""

    def __init__(self, source: MapSource, cap: int = DEFAULT_MAX_SERIES, err=None) -> None:
        self._core = _client()
        self.source = source
        self.cap = cap
        self._err = err
        self._warned: set[tuple[str, str]] = set()
        self._warn_lock = threading.Lock()

    def describe(self) -> list:
        return []    # no collect() at register time: the maps are read at scrape time only

    def _warn(self, name: str, why: str, text: str) -> None:
        with self._warn_lock:
            if (name, why) in self._warned:
                return
            self._warned.add((name, why))
        print(f"kt: warning: --prometheus: {text}", file=self._err or sys.stderr, flush=True)

    def collect(self):
        with self.source.lock:
            maps, read = self.source._maps, self.source._read
            if read is None:
                return
            snapshot = [(mm, read(mm)) for mm in maps if self._exported(mm)]
        names = metric_names([mm.name for mm, _ in snapshot], taken=(DROPPED_METRIC,))
        dropped = self._core.GaugeMetricFamily(
            DROPPED_METRIC, f"keys of a map not exported (the cap: {self.cap} keys per map)", labels=["map"])
        for mm, entries in snapshot:
            family, lost = self._family(mm, names[mm.name], entries)
            if lost:
                dropped.add_metric([mm.name], lost)
            yield family
        yield dropped

    def _exported(self, mm) -> bool:
        if metric_type(mm) is None:
            what = "tseries()" if mm.agg == "tseries" else f"values of type {type(mm.value).__name__}"
            self._warn(mm.name, "type", f"map {mm.name} is not exported: Prometheus has no metric for {what}")
            return False
        return True

    def _family(self, mm, name: str, entries: list):
        from .output.text import sort_entries
        core, kind, labels = self._core, metric_type(mm), list(label_names(mm))
        if mm.key is None and mm.agg == "count" and not entries:
            entries = [(None, 0)]     # 0.17 prints `@: 0` for a count() never incremented
        entries = sort_entries(mm, entries)   # bpftrace's order: the largest values last
        lost = 0
        if self.cap and len(entries) > self.cap:
            lost = len(entries) - self.cap
            entries = entries[lost:]
            self._warn(mm.name, "cap", f"map {mm.name} has more than {self.cap} keys; the {self.cap} with "
                       f"the largest values are exported ({DROPPED_METRIC} counts the rest; "
                       f"--prometheus-max-series or {MAX_SERIES_ENV} sets the cap)")
        doc = f"kt map {mm.name}" + (f" ({mm.agg}())" if mm.agg != "none" else "")
        if kind == "counter":
            family = core.CounterMetricFamily(name, doc, labels=labels)
        elif kind == "gauge":
            family = core.GaugeMetricFamily(name, doc, labels=labels)
        elif kind == "info":
            family = core.GaugeMetricFamily(name, doc, labels=labels + ["value"])
        elif kind == "summary":
            family = core.SummaryMetricFamily(name, doc, labels=labels)
        else:
            family = core.HistogramMetricFamily(name, doc, labels=labels)
        for key, value in entries:
            lv = list(label_values(mm, key))
            if kind == "summary":
                from .api.values import python_value
                stats = python_value(value)
                family.add_metric(lv, count_value=stats.count, sum_value=stats.total)
            elif kind == "histogram":
                b = le_buckets(mm, value)
                family.add_metric(lv, b.buckets, None)
                # prometheus_client adds `_count` only with a `_sum`, which kt cannot know
                family.samples.append(self._core.Sample(f"{name}_count", dict(zip(labels, lv)), b.count))
            elif kind == "info":
                from .prometheus_metrics import label_text
                family.add_metric(lv + [label_text(value)], 1)
            else:
                from .api.values import python_value
                v = python_value(value)
                if v is not None:    # min()/max() of a key never set
                    family.add_metric(lv, v)
        return family, lost


class Exporter:
    """An HTTP server of one MapCollector on HOST:PORT (prometheus_client's, a daemon thread)."""

    def __init__(self, address: str, cap: int | str | None = None, err=None,
                 source: "MapSource | None" = None) -> None:
        self.host, self.port = parse_address(address)
        self.cap = max_series(cap)
        self.source = MapSource() if source is None else source   # the API's, shared with collector()
        self.collector = MapCollector(self.source, self.cap, err)
        self._server = self._thread = None

    def start(self) -> "Exporter":
        from prometheus_client import CollectorRegistry, start_http_server
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self.collector)
        where = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        try:
            self._server, self._thread = start_http_server(self.port, addr=self.host, registry=registry)
        except OSError as err:
            raise PrometheusError(f"--prometheus {where}: cannot serve metrics there: "
                                  f"{err.strerror or err}") from None
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            self._thread.join()

    def __enter__(self) -> "Exporter":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
