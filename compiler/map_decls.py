"""Map declarations, `let @m = lruhash(100);` (bpftrace 0.20+, unstable_map_decl): a map's BPF
type and max entries, checked against how the script uses it.

Why a module: the declaration is only checkable once every map's key and value are known (after
the semantic pass), and its rules are few and its own. bpftrace's rule is kept: the declared
kind must be the one the map's use needs — aggregations (count, sum, hist, ...) live in per-CPU
maps (percpuhash, percpulruhash, percpuarray), plain values in hash/lruhash — and a mismatch is
an error naming both. kt adds: a percpuarray holds one keyless aggregation (kt's own choice for
those maps, passes/resources.py), so it takes no key and `N` must be 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ast
from .diagnostics import DiagnosticSink, did_you_mean
from .types import Agg

KINDS = ("hash", "lruhash", "percpuhash", "percpulruhash", "percpuarray")
_PERCPU = ("percpuhash", "percpulruhash", "percpuarray")
MAX_ENTRIES_MAX = (1 << 32) - 1


@dataclass(frozen=True, slots=True)
class DeclaredMap:
    name: str
    kind: str             # one of KINDS
    max_entries: int

    @property
    def lru(self) -> bool:
        return self.kind in ("lruhash", "percpulruhash")


def declared_maps(program: ast.Program, sema, settings, sink: DiagnosticSink) -> dict[str, DeclaredMap]:
    """The script's declarations by map name; errors and warnings go to `sink`."""
    out: dict[str, DeclaredMap] = {}
    mode = settings.unstable.get("map_decl", "enable")
    deleted = {ref.name for n in ast.walk(program)
               if isinstance(n, ast.Call) and n.name == "delete" and (ref := _deleted(n)) is not None}
    for d in program.map_decls:
        if mode == "error":
            sink.error(d.span, "map declarations are disabled by the config's unstable_map_decl=error")
            continue
        if mode == "warn":
            sink.warning(d.span, "map declarations are an unstable feature of bpftrace (unstable_map_decl)",
                         "set unstable_map_decl=enable in the config block to silence this")
        if d.kind not in KINDS:
            sink.error(d.kind_span, f"unknown map type '{d.kind}'",
                       did_you_mean(d.kind, list(KINDS)) or "map types are: " + ", ".join(KINDS))
            continue
        if not 1 <= d.max_entries <= MAX_ENTRIES_MAX:
            sink.error(d.entries_span, f"{d.kind}() takes the map's max entries, 1 to {MAX_ENTRIES_MAX}, "
                       f"not {d.max_entries}")
            continue
        if d.name in out:
            sink.error(d.span, f"map {d.name} is declared twice")
            continue
        info = sema.maps.get(d.name)
        if info is None:
            sink.warning(d.span, f"map {d.name} is declared but never used")
            continue
        agg = isinstance(info.value, Agg)
        what = f"{info.value.kind}()" if agg else "a value"
        if agg != (d.kind in _PERCPU):
            wanted = "percpuhash, percpulruhash or percpuarray" if agg else "hash or lruhash"
            sink.error(d.kind_span, f"map {d.name} is declared {d.kind} but holds {what}: "
                       f"{'aggregations live in per-CPU maps' if agg else 'per-CPU maps hold aggregations'}",
                       f"declare it {wanted}")
            continue
        if d.kind == "percpuarray":
            if info.key is not None:
                sink.error(d.kind_span, f"map {d.name} is declared percpuarray but has keys: kt's percpuarray "
                           "holds one keyless aggregation", "declare it percpuhash or percpulruhash")
                continue
            if d.max_entries != 1:
                sink.error(d.entries_span, f"percpuarray({d.max_entries}): a keyless map has one entry",
                           "write percpuarray(1)")
                continue
            if d.name in deleted:
                sink.error(d.kind_span, f"map {d.name} is a percpuarray, whose entry delete() cannot remove",
                           "use clear() or zero(), or declare it percpuhash")
                continue
        out[d.name] = DeclaredMap(d.name, d.kind, d.max_entries)
    return out


def _deleted(call: ast.Call):
    from .builtins.maps import deleted_element
    return deleted_element(call)
