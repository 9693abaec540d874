"""Source text and spans: where every diagnostic points.

A Span is a pair of character offsets into one SourceFile; line and column are derived on
demand so the parser only has to carry two integers per node.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SourceFile:
    name: str
    text: str
    _line_starts: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @staticmethod
    def of(name: str, text: str) -> "SourceFile":
        starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                starts.append(i + 1)
        return SourceFile(name, text, tuple(starts))

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int

    def to(self, other: "Span") -> "Span":
        return Span(min(self.start, other.start), max(self.end, other.end))


NO_SPAN = Span(0, 0)


def render_caret(source: SourceFile, span: Span) -> str:
    """The source line of a span's start and a `^~~~` underline beneath it."""
    line, col = source.line_col(span.start)
    text = source.line_text(line)
    end_line, end_col = source.line_col(max(span.end - 1, span.start))
    width = (end_col - col + 1) if end_line == line else (len(text) - col + 1)
    width = max(1, width)
    prefix = "".join("\t" if c == "\t" else " " for c in text[: col - 1])
    shown = _SHOWN.sub("\ufffd", text)
    return f"{shown}\n{prefix}^{'~' * (width - 1)}"


# Characters a terminal would not show in one column: a byte that is no UTF-8 (a surrogate
# escape, which stderr would print as 6 characters) and a NUL are shown as U+FFFD, so the
# caret stays under its column.
_SHOWN = re.compile("[\udc80-\udcff\x00]")
