"""Names for the parts of each map's key, from the expressions that key it.

Why a pass: a map exported to Prometheus (runtime/prometheus/, docs/prometheus.md) needs a
label name for each part of its key, and only the source says what a key part *is*:
`@bytes[comm, dport]` is keyed by `comm` and `dport`. The names travel in `.kt.meta`
(MapMeta.key_names) so that `kt out.o` has them too.

The rules (docs/prometheus.md "Labels"):
- a builtin is its name (`pid`, `comm`, `cpu`, `arg0`, `kstack`, ...);
- a field is the field's name (`args->f`, `args.f`, `$s->f`, `$s.f` -> `f`);
- a variable or a map is its name without `$`/`@` (`$x` -> `x`, `@m[k]` -> `m`, `@` -> `map`);
- a call is its first argument's name when that argument is a field, variable or map (or a
  builtin other than argN/sargN/retval), else the function's name: `str(args->filename)` ->
  `filename`, `ksym(arg0)` -> `ksym`, `kstack(5)` -> `kstack`;
- casts, `*` and indexing see through (`(uint32)$x` -> `x`, `$a[1]` -> `a`), `$t.1` -> `t_1`;
- a tuple literal as the only key names each element; a tuple value as the only key
  (`@m[$t]`) gives `t_0`, `t_1`, ...;
- anything else (literals, arithmetic, `$1`) is `keyN`, N its position.
Names are then made Prometheus label names: other characters become `_`, a leading digit gets
a `_`, never a leading `__` (Prometheus reserves it), `le`, `quantile` and `value` (the labels
kt's histograms, summaries and string values add) get a trailing `_`, and a repeated name is
suffixed `_2`, `_3`, .... A map keyed at several places is named by its first keyed use in the
program's order (the keys' types agree everywhere; their expressions need not).
"""

from __future__ import annotations

import re
from typing import Mapping

from .. import ast
from ..types import Tuple, Type

RESERVED_LABELS = ("le", "quantile", "value")
_UNNAMED_BUILTIN = re.compile(r"(s?arg\d+|retval)$")


def map_key_names(program: ast.Program, keys: Mapping[str, Type | None]) -> dict[str, tuple[str, ...]]:
    """Label names of every keyed map of `keys` (map name -> key type)."""
    first: dict[str, ast.MapRef] = {}
    for node in ast.walk(program):
        if isinstance(node, ast.MapRef) and node.keys and node.name in keys and node.name not in first:
            first[node.name] = node
    out = {}
    for name, key in keys.items():
        if key is None:
            continue
        arity = len(key.elems) if isinstance(key, Tuple) else 1
        ref = first.get(name)
        out[name] = unique_labels(_raw_names(ref.keys if ref is not None else [], arity))
    return out


def _raw_names(keys: list, arity: int) -> list[str | None]:
    if len(keys) == 1 and arity > 1:
        only = keys[0]
        if isinstance(only, ast.TupleLit) and len(only.elems) == arity:
            return [expr_name(e) for e in only.elems]
        base = expr_name(only)
        return [None if base is None else f"{base}_{i}" for i in range(arity)]
    if len(keys) != arity:
        return [None] * arity
    return [expr_name(e) for e in keys]


def expr_name(e: object) -> str | None:
    """The name an expression gives a key part, or None (-> keyN)."""
    while isinstance(e, (ast.Cast, ast.Index)) or (isinstance(e, ast.Unary) and e.op == "*"):
        e = e.operand if not isinstance(e, ast.Index) else e.base
    if isinstance(e, ast.Builtin):
        return e.name
    if isinstance(e, ast.Field):
        return e.name
    if isinstance(e, ast.Var):
        return e.name.lstrip("$").split("#", 1)[0] or None
    if isinstance(e, ast.MapRef):
        return e.name.lstrip("@") or "map"
    if isinstance(e, ast.TupleField):
        base = expr_name(e.base)
        return None if base is None else f"{base}_{e.index}"
    if isinstance(e, ast.Call):
        for arg in e.args[:1]:
            if isinstance(arg, ast.Builtin) and _UNNAMED_BUILTIN.match(arg.name):
                break
            if isinstance(arg, (ast.Builtin, ast.Field, ast.Var, ast.MapRef, ast.Cast, ast.Index, ast.TupleField)):
                name = expr_name(arg)
                if name is not None:
                    return name
        return e.name
    return None


def label_name(raw: str) -> str:
    """`raw` as a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading `__`)."""
    s = re.sub(r"[^a-zA-Z0-9_]", "_", raw)
    if not s or s[0].isdigit():
        s = "_" + s
    while s.startswith("__"):
        s = s[1:]
    if s == "_":
        s = "key"
    if s in RESERVED_LABELS:
        s += "_"
    return s


def unique_labels(raw: list[str | None]) -> tuple[str, ...]:
    """Label names for key parts (None: unnamed -> keyN), sanitized, repeats suffixed."""
    names: list[str] = []
    for i, r in enumerate(raw):
        base = label_name(r) if r is not None else f"key{i}"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names.append(name)
    return tuple(names)
