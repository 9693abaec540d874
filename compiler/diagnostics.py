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
    """Optimal string alignment distance: insertions, deletions, substitutions, transpositions."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A hint naming the nearest candidate, or '' when none is close. Typos are mostly one
    slip (a swapped, missing or extra letter): fewest edits first, then the same length."""
    limit = max(1, len(name) // 3)
    close = [c for c in candidates if abs(len(c) - len(name)) <= limit and _edit_distance(name, c) <= limit]
    if not close:
        return ""
    best = min(close, key=lambda c: (_edit_distance(name, c), abs(len(c) - len(name)),
                                     -difflib.SequenceMatcher(None, name, c).ratio(), c))
    return f"did you mean '{best}'?"
