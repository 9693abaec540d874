"""kt --prometheus in the real kernel, scraped by a real Prometheus server (Debian's
/usr/bin/prometheus, started here on 127.0.0.1 with a 1 s scrape interval): the series,
labels and values Prometheus stores equal the trace's own map output at exit; /metrics read
directly for the types, the cardinality cap and its one warning; `kt out.o`, -p with a timer,
and the errors at start (a busy port, a bad address, no prometheus_client).

Every trace follows its own child (`-c`, `/pid == cpid/`) or a process the test started (-p).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from .conftest import kt_command, run_kt

pytestmark = [pytest.mark.kernel]
prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
COMM = os.path.basename(sys.executable)[:15]
# The child: N getppid() calls, then a file saying so, then it waits for the test's go file.
CHILD = """\
import os, sys, time
for _ in range(int(sys.argv[1])):
    os.getppid()
open(sys.argv[2], "w").close()
for _ in range(1200):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.05)
"""
SCRIPT = """\
BEGIN { printf("tracing\\n"); }
tracepoint:syscalls:sys_enter_getppid /pid == cpid/ {
    $v = @n; @n = @n + 1;
    @calls = count(); @bycomm[comm, pid] = count();
    @h = hist($v); @l = lhist($v, 0, 100, 10); @s = stats($v); @neg = sum(-1);
    @k[$v] = sum($v);
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait_for(what, timeout: float = 40, step: float = 0.2):
    end = time.monotonic() + timeout
    while True:
        try:
            got = what()
        except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError):
            got = None
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {getattr(what, '__name__', what)}")
        time.sleep(step)


class Prometheus:
    """A Prometheus server of the test's own, scraping one kt every second."""

    def __init__(self, tmp: Path, target_port: int) -> None:
        if not os.access(PROMETHEUS, os.X_OK):
            pytest.skip(f"no Prometheus server at {PROMETHEUS} (Debian's prometheus package)")
        self.port = free_port()
        config = tmp / "prom.yml"
        config.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                          "scrape_configs:\n  - job_name: kt\n    static_configs:\n"
                          f"      - targets: ['127.0.0.1:{target_port}']\n")
        self.log = open(tmp / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: get(f"http://127.0.0.1:{self.port}/-/ready"))

    def api(self, path: str, **params) -> list:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?" + urllib.parse.urlencode(params, doseq=True)
        body = json.loads(get(url))
        assert body["status"] == "success", body
        return body["data"]["result"] if isinstance(body["data"], dict) else body["data"]

    def query(self, q: str) -> dict[tuple, float]:
        """An instant query's samples: the series' labels (without job/instance) -> value."""
        out = {}
        for r in self.api("query", query=q):
            labels = tuple(sorted((k, v) for k, v in r["metric"].items() if k not in ("job", "instance")))
            out[labels] = float(r["value"][1])
        return out

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Kt:
    """`kt --prometheus 127.0.0.1:PORT ...` in the background, its child held by a go file."""

    def __init__(self, tmp: Path, port: int, *args: str, calls: int = 0, env: dict | None = None) -> None:
        self.done, self.go = tmp / "done", tmp / "go"
        command = shlex.join([sys.executable, "-c", CHILD, str(calls), str(self.done), str(self.go)])
        self.proc = subprocess.Popen(kt_command() + ["--prometheus", f"127.0.0.1:{port}", "-c", command, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     env={**os.environ, **(env or {})}, text=True)
        self.url = f"http://127.0.0.1:{port}/metrics"

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        self.go.touch()
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def close(self) -> None:
        if self.proc.poll() is None:
            self.go.touch()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


@pytest.fixture
def kt_exporter(tmp_path):
    made = []

    def start(*args, **kw) -> Kt:
        k = Kt(tmp_path, *args, **kw)
        made.append(k)
        return k
    yield start
    for k in made:
        k.close()


@pytest.fixture
def prometheus(tmp_path):
    made = []

    def start(port: int) -> Prometheus:
        p = Prometheus(tmp_path, port)
        made.append(p)
        return p
    yield start
    for p in made:
        p.close()


def json_maps(out: str) -> dict:
    """`kt -f json`'s map records at exit: name -> data."""
    maps = {}
    for line in filter(None, out.splitlines()):
        rec = json.loads(line)
        if rec["type"] in ("map", "hist", "stats"):
            maps.update(rec["data"])
    return maps


def per_bucket(samples: dict[tuple, float]) -> dict[str, float]:
    """Cumulative `le` buckets -> each bucket's own count, by le."""
    cum = sorted(((float(dict(k)["le"]), dict(k)["le"], v) for k, v in samples.items()))
    out, before = {}, 0.0
    for _, le, v in cum:
        out[le] = v - before
        before = v
    return out


def test_prometheus_stores_what_the_trace_prints(tmp_path, kt_exporter, prometheus):
    calls = 200
    port = free_port()
    prom = prometheus(port)
    k = kt_exporter(port, "-f", "json", "-e", SCRIPT, calls=calls)
    wait_for(lambda: k.done.exists(), timeout=60)
    after = time.time()
    # a scrape that began after the child's last call
    wait_for(lambda: [v for v in prom.query("timestamp(kt_calls_total)").values() if v > after])
    values = prom.query('{job="kt", __name__=~"kt_.*"}')
    series = prom.api("series", **{"match[]": '{job="kt", __name__="kt_bycomm_total"}'})
    rc, out, err = k.finish()
    assert rc == 0, err
    assert '{"type": "printf", "data": "tracing\\n"}' in out      # printf output still on stdout
    maps = json_maps(out)
    assert maps["@calls"] == calls

    def metric(name: str) -> dict[tuple, float]:
        return {tuple((a, b) for a, b in key if a != "__name__"): v for key, v in values.items()
                if dict(key)["__name__"] == name}

    assert metric("kt_calls_total") == {(): calls}
    ((key, count),) = maps["@bycomm"].items()
    comm, pid = key.split(",")
    assert comm == COMM
    assert metric("kt_bycomm_total") == {(("comm", comm), ("pid", pid)): count}
    assert [{k: v for k, v in s.items() if k not in ("job", "instance")} for s in series] == \
        [{"__name__": "kt_bycomm_total", "comm": comm, "pid": pid}]
    assert metric("kt_n") == {(): maps["@n"]}
    assert metric("kt_neg") == {(): -calls}                  # a signed sum: a gauge, it falls
    for name in ("@h", "@l"):
        # [max, ...) (lhist's overflow, 100 values here) is only in +Inf
        printed = {str(b["max"]) if "max" in b else "+Inf": b["count"] for b in maps[name]}
        printed.setdefault("+Inf", 0)
        exported = per_bucket(metric(f"kt_{name[1:]}_bucket"))
        # the exporter starts at a fixed first bucket (docs/prometheus.md): any bucket below
        # the printed range is empty
        assert {le: exported.get(le) for le in printed} == printed
        assert all(v == 0 for le, v in exported.items() if le not in printed), exported
        assert metric(f"kt_{name[1:]}_count") == {(): calls}
    assert metric("kt_s_count") == {(): maps["@s"]["count"]}
    assert metric("kt_s_sum") == {(): maps["@s"]["total"]}
    assert len(metric("kt_k")) == calls                      # under the default cap of 1000


def scrape(url: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(get(url).decode())}


def test_types_cap_and_one_warning_on_metrics(tmp_path, kt_exporter):
    calls = 50
    port = free_port()
    k = kt_exporter(port, "-e", SCRIPT, calls=calls, env={"KT_PROMETHEUS_MAX_SERIES": "10"})
    wait_for(lambda: k.done.exists(), timeout=60)
    for _ in range(3):
        fams = scrape(k.url)
    types = {name: f.type for name, f in fams.items()}
    assert types == {"kt_calls": "counter", "kt_bycomm": "counter", "kt_n": "gauge", "kt_neg": "gauge",
                     "kt_h": "histogram", "kt_l": "histogram", "kt_s": "summary", "kt_k": "gauge",
                     "kt_prometheus_dropped_keys": "gauge"}
    kept = sorted(int(s.labels["v"]) for s in fams["kt_k"].samples)
    assert kept == list(range(calls - 10, calls))           # the 10 largest sums
    assert [(s.labels, s.value) for s in fams["kt_prometheus_dropped_keys"].samples] == [({"map": "@k"}, 40.0)]
    h = {s.labels["le"]: s.value for s in fams["kt_h"].samples if s.name == "kt_h_bucket"}
    assert h["+Inf"] == calls and h["0"] == 1 and h["31"] == 32
    rc, out, err = k.finish()
    assert rc == 0, err
    assert err.count("map @k has more than 10 keys") == 1, err
    assert "@calls: 50" in out and out.startswith("tracing\n")   # printf and the exit maps, as without the flag
    assert len([line for line in out.splitlines() if line.startswith("@k[")]) == calls   # all keys at exit


def test_object_file_keeps_the_labels(tmp_path, kt_exporter):
    obj = tmp_path / "w.o"
    r = run_kt("--emit-elf", str(obj), "-e", SCRIPT)
    assert r.rc == 0, r.err
    port = free_port()
    k = kt_exporter(port, str(obj), calls=5)
    wait_for(lambda: k.done.exists(), timeout=60)
    fams = scrape(k.url)
    ((sample,),) = [fams["kt_bycomm"].samples]
    assert set(sample.labels) == {"comm", "pid"} and sample.value == 5
    rc, out, err = k.finish()
    assert rc == 0, err


def test_pid_and_timer_serving_ends_with_the_trace(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    port = free_port()
    proc = subprocess.Popen(kt_command() + ["--prometheus", str(port), "-p", str(sleeper.pid),
                                            "-e", "interval:ms:50 { @ticks = count(); }"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/metrics"     # PORT alone: 127.0.0.1
        ticks = wait_for(lambda: [s.value for s in scrape(url)["kt_ticks"].samples if s.value >= 3])
        assert ticks
        sleeper.kill()
        sleeper.wait()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert int(out.split("@ticks: ")[1]) >= ticks[0]
        with pytest.raises(OSError):                   # no more serving
            get(url, timeout=2)
    finally:
        sleeper.kill()
        sleeper.wait()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_errors_at_start(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_kt("--prometheus", f"127.0.0.1:{port}", "-e", "BEGIN { exit(); }")
        assert r.rc == 1 and f"--prometheus 127.0.0.1:{port}: cannot serve metrics there" in r.err, r.err
        assert "Attached" not in r.err
    r = run_kt("--prometheus", "10.0.0:x", "-e", "BEGIN { exit(); }")
    assert r.rc == 1 and "the port must be a number" in r.err
    r = run_kt("--prometheus-max-series", "5", "-e", "BEGIN { exit(); }")
    assert r.rc == 1 and "applies to --prometheus" in r.err
    r = run_kt("--prometheus", "1", "--prometheus-max-series", "x", "-e", "BEGIN { exit(); }")
    assert r.rc == 1 and "is not a number of keys" in r.err
    fake = tmp_path / "noclient" / "prometheus_client"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('not installed')\n")
    path = os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))
    r = run_kt("--prometheus", str(free_port()), "-e", "BEGIN { exit(); }", env={"PYTHONPATH": path})
    assert r.rc == 1 and "pip install 'kt[prometheus]'" in r.err, r.err


def test_kt_without_the_flag_never_imports_the_client():
    code = ("import sys, kt.runtime.cli, kt.runtime.session, kt.runtime.api.trace; "
            "sys.exit('prometheus_client' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    r = run_kt("-e", "BEGIN { printf(\"%d\\n\", 1); exit(); }", env={"PYTHONVERBOSE": "1"})
    assert r.rc == 0 and "prometheus_client" not in r.err


def test_api_server_stops_with_the_trace_and_a_busy_port_is_a_trace_error():
    import kt
    obj = kt.compile('tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @calls[pid] = count(); }')
    port = free_port()
    child = [sys.executable, "-c", "import os, time\nfor _ in range(4): os.getppid()\ntime.sleep(60)"]
    with kt.trace(obj, command=child, prometheus=str(port), prometheus_max_series=1) as t:
        url = f"http://127.0.0.1:{port}/metrics"
        fams = wait_for(lambda: (f := scrape(url)) and f["kt_calls"].samples and f)
        assert [(s.labels, s.value) for s in fams["kt_calls"].samples] == [({"pid": str(t.cpid)}, 4.0)]
        t.stop()
    with pytest.raises(OSError):
        get(url, timeout=2)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(kt.TraceError, match="cannot serve metrics there"):
            with kt.trace(obj, command=child, prometheus=f"127.0.0.1:{busy.getsockname()[1]}"):
                pass
