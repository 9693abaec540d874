"""kt against bpftrace 0.17, every benchmark in one run: one table of ratios, kept in
docs/performance.md with a chart (docs/performance.svg).

Each module (startup, events, attach, kernel_cost, symbols) measures kt and bpftrace
alternately in the same run and returns Rows (common.py); this script only runs them, prints
the table and writes the document. Benchmarks print; nothing here asserts.

    sudo python3 tests/bench/bench.py [--runs N] [--only events,startup] [--no-write]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse  # noqa: E402
import importlib  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

from common import Row  # noqa: E402
from tracers import ENV, bpftrace_binary, kt_binary  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("events", "startup", "attach", "kernel_cost", "symbols", "objects", "positional", "api",
           "runtime_faults", "scopes_cost", "loops", "builtins", "aggs", "decls_maps")


def _fmt(v: float) -> str:
    if v != v:   # nan
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def _status(row: Row) -> str:
    return "" if row.met is None else ("met" if row.met else "**not met**")


def table(rows: list[Row]) -> str:
    lines = ["| group | measure | kt | bpftrace 0.17 | unit | kt/bpftrace | target | |",
             "|---|---|---:|---:|---|---:|---|---|"]
    for r in rows:
        ratio = r.ratio
        lines.append(f"| {r.group} | {r.measure} | {_fmt(r.kt)} | {_fmt(r.bpftrace)} | {r.unit} | "
                     f"{'-' if ratio != ratio else f'{ratio:.2f}x'} | {r.target} | {_status(r)} |")
    return "\n".join(lines)


def chart(rows: list[Row]) -> str:
    """A horizontal bar per measure that has a ratio: log2(kt/bpftrace), left of the 1x line
    is kt better (for a cost), right is worse."""
    bars = [r for r in rows if r.ratio == r.ratio and r.ratio > 0 and r.unit not in ("lines",)]
    width, left, row_h, top = 900, 330, 22, 40
    height = top + row_h * len(bars) + 40
    span = max([abs(math.log2(r.ratio)) for r in bars] + [1.0])
    span = min(math.ceil(span), 6)
    scale = (width - left - 40) / (2 * span)
    mid = left + span * scale
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<text x="{left}" y="20" font-size="14">kt / bpftrace 0.17 (log scale; left of 1x: kt '
           f'lower)</text>']
    for k in range(-span, span + 1):
        x = mid + k * scale
        out.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 30}" '
                   f'stroke="{"#333" if k == 0 else "#ddd"}"/>')
        label = f"{2 ** k:g}x" if k >= 0 else f"1/{2 ** -k:g}x"
        out.append(f'<text x="{x:.1f}" y="{height - 14}" text-anchor="middle">{label}</text>')
    for i, r in enumerate(bars):
        y = top + i * row_h
        v = max(-span, min(span, math.log2(r.ratio)))
        x0, x1 = sorted((mid, mid + v * scale))
        color = "#3a7" if r.met or (r.met is None and v <= 0) else "#c54"
        name = f"{r.group}: {r.measure}"
        out.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{_xml(name[:52])}</text>')
        out.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 6}" '
                   f'fill="{color}"/>')
        out.append(f'<text x="{x1 + 4:.1f}" y="{y + 14}">{r.ratio:.2f}x</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def machine() -> str:
    def version(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, env=ENV).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return "\n".join([
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {os.cpu_count()} CPUs ({cpu}), {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') >> 30} GiB",
        f"- kernel: {platform.release()}",
        f"- kt: {version([kt_binary(), '--version'])} (commit {commit}), Python {platform.python_version()}",
        f"- bpftrace: {version([bpftrace_binary(), '--version'])}",
    ])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5, help="runs of each tracer per measure (medians)")
    ap.add_argument("--only", default="", help="comma-separated modules: " + ",".join(MODULES))
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = ap.parse_args()
    chosen = [m for m in MODULES if not args.only or m in args.only.split(",")]
    rows: list[Row] = []
    failed: list[str] = []
    for name in chosen:
        t0 = time.monotonic()
        try:
            module = importlib.import_module(name)
            got = module.measure(args.runs)
        except Exception:   # one broken benchmark must not hide the others' numbers
            failed.append(f"{name}: {traceback.format_exc().strip().splitlines()[-1]}")
            print(f"[{name}] FAILED\n{traceback.format_exc()}", file=sys.stderr)
            continue
        rows.extend(got)
        print(f"[{name}] {len(got)} rows in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    text = table(rows)
    print(text)
    for f in failed:
        print(f"benchmark failed: {f}")
    if args.no_write:
        return
    docs = ROOT / "docs"
    (docs / "performance.svg").write_text(chart(rows))
    (docs / "performance.md").write_text(
        "# kt's performance against bpftrace 0.17\n\n"
        "Written by `python3 tests/bench/bench.py` (README: Benchmarks): every measure runs kt and "
        "Debian's bpftrace 0.17 alternately in the same run; values are medians over "
        f"{args.runs} runs each unless the measure says otherwise. Ratios are kt/bpftrace: below "
        "1 kt takes less (time, memory, nanoseconds per event).\n\n"
        + machine() + "\n\n" + text + "\n\n"
        + "".join(f"- benchmark failed: {f}\n" for f in failed)
        + "\n![kt/bpftrace per measure](performance.svg)\n")


if __name__ == "__main__":
    main()
