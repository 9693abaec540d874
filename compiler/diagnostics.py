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


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A hint naming the nearest candidate, or '' when none is close."""
    best = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{best[0]}'?" if best else ""
