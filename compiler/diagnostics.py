"""Diagnostics: every user-facing compile error, with a span and optional hints.

Passes collect Diagnostics and carry on; the driver raises CompileError after a pass that
produced errors, so a user sees every mistake of one stage at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable

from .source import SourceFile, Span, render_caret


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: str  # "error" | "warning"
    span: Span
    message: str
    hints: tuple[str, ...] = ()

    def render(self, source: SourceFile) -> str:
        line, col = source.line_col(self.span.start)
        out = [f"{source.name}:{line}:{col}: {self.severity}: {self.message}", render_caret(source, self.span)]
        out.extend(f"hint: {h}" for h in self.hints)
        return "\n".join(out)


class CompileError(Exception):
    """Raised by the driver with all error diagnostics of the failing stage."""

    def __init__(self, source: SourceFile, diagnostics: Iterable[Diagnostic]):
        self.source = source
        self.diagnostics = tuple(diagnostics)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(d.render(self.source) for d in self.diagnostics)


@dataclass(slots=True)
class DiagnosticSink:
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, span: Span, message: str, *hints: str) -> None:
        self.items.append(Diagnostic("error", span, message, tuple(h for h in hints if h)))

    def warning(self, span: Span, message: str, *hints: str) -> None:
        self.items.append(Diagnostic("warning", span, message, tuple(h for h in hints if h)))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    def raise_if_errors(self, source: SourceFile) -> None:
        if self.errors:
            raise CompileError(source, self.errors)


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, transpositions.

    Hyyro's bit-parallel form (Myers' algorithm plus a transposition vector; "A bit-vector
    algorithm for computing Levenshtein and Damerau edit distances", 2002): one pass over `b`
    with the columns of the DP matrix as bits of ints, about ten times faster than the cell by
    cell table, which matters when a hint is looked for among the 10,000 functions of a
    library such as libcrypto."""
    m = len(a)
    if m == 0:
        return len(b)
    peq: dict[str, int] = {}
    for i, c in enumerate(a):
        peq[c] = peq.get(c, 0) | (1 << i)
    mask = (1 << m) - 1
    top = 1 << (m - 1)
    vp, vn, d0, pm_prev, score = mask, 0, 0, 0, m
    for cb in b:
        pm = peq.get(cb, 0)
        tr = (((~d0) & pm) << 1) & pm_prev
        d0 = ((((pm & vp) + vp) ^ vp) | pm | vn | tr) & mask
        hp = (vn | ~(d0 | vp)) & mask
        hn = d0 & vp
        if hp & top:
            score += 1
        elif hn & top:
            score -= 1
        x = ((hp << 1) | 1) & mask
        vn = x & d0
        vp = ((hn << 1) | ~(x | d0)) & mask
        pm_prev = pm
    return score


def _letters_bound(a: str, b: str) -> int:
    """A lower bound of _edit_distance(a, b) that is cheap to compute: the letters of one that
    the other lacks (as multisets, L1) over 2, since a substitution fixes at most two of them,
    an insertion or deletion one, a transposition none. It rules out most of a library's
    10,000 names before the distance is computed."""
    rem: dict[str, int] = {}
    for ch in a:
        rem[ch] = rem.get(ch, 0) + 1
    common = 0
    for ch in b:
        k = rem.get(ch)
        if k:
            rem[ch] = k - 1
            common += 1
    return (len(a) + len(b) - 2 * common + 1) // 2


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A hint naming the nearest candidate, or '' when none is close. Typos are mostly one
    slip (a swapped, missing or extra letter): fewest edits first, then the same length."""
    limit = max(1, len(name) // 3)
    close = [c for c in dict.fromkeys(candidates)
             if abs(len(c) - len(name)) <= limit and _letters_bound(name, c) <= limit
             and _edit_distance(name, c) <= limit]
    if not close:
        return ""
    best = min(close, key=lambda c: (_edit_distance(name, c), abs(len(c) - len(name)),
                                     -difflib.SequenceMatcher(None, name, c).ratio(), c))
    return f"did you mean '{best}'?"
