"""The API's exceptions: every one is a `kt.Error` whose text is what the `kt` command prints.

Why own types instead of the compiler's CompileError or the session's SessionError: users
catch them without importing the compiler (kt.load/kt.trace never do), and a diagnostic is
plain data (file, line, column) rather than a span into a SourceFile.
"""

from __future__ import annotations

from dataclasses import dataclass


class Error(Exception):
    """Any error of kt's API."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One compile diagnostic: where (1-based line and column) and what."""
    severity: str          # "error" | "warning"
    file: str
    line: int
    column: int
    message: str
    hints: tuple[str, ...] = ()


class CompileError(Error):
    """A script that does not compile. `str()` is the rendered diagnostics, as kt prints them."""

    def __init__(self, text: str, diagnostics: tuple[Diagnostic, ...] = ()):
        super().__init__(text)
        self.diagnostics = diagnostics


class ObjectError(Error):
    """Bytes that are not an object kt can run (corrupt, truncated, not kt's, a newer format)."""


class TraceError(Error):
    """The trace could not start or failed: a refused load (the verifier's diagnostic), an
    attach failure, a command that cannot run, not being root."""
