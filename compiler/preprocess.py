"""What stands in a script before the language proper, handled before parsing.

bpftrace runs scripts through clang's preprocessor; kt does the part its tools use (`#!`,
`#include`, object-like `#define`, `#ifdef`/`#ifndef`/`#else`/`#endif`) and finds the names
the script's typedefs declare, which the parser needs to tell a cast from a parenthesis.
Directive lines are blanked to spaces, so lines keep their numbers; macro substitution changes
columns, so the parser maps spans back through `Positions`.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"^[ \t]*#(!|[ \t]*(include|define|ifdef|ifndef|else|endif|pragma)\b)[^\n]*", re.M)
_DEFINE_START = re.compile(r"^[ \t]*#[ \t]*define\b")
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]*([^\n]*?)[ \t]*$")
_CONDITIONAL = re.compile(r"^[ \t]*#[ \t]*(ifdef|ifndef|else|endif)\b[ \t]*(\w*)")
# kt reads kernel types from BTF, as bpftrace does when it defines this.
PREDEFINED = frozenset({"BPFTRACE_HAVE_BTF"})
_WORD_OR_SKIP = re.compile(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/|\b[A-Za-z_]\w*\b', re.S)


@dataclass(frozen=True, slots=True)
class Expansion:
    """One macro use: source[src_start:src_end] became expanded[exp_start:exp_end]."""
    exp_start: int
    exp_end: int
    src_start: int
    src_end: int


@dataclass(frozen=True, slots=True)
class Positions:
    """Offsets in the preprocessed text -> offsets in the script as written, so that every
    diagnostic points into the original text: a span inside a macro's expansion points at
    the macro's name; text after an expansion shifts back by what the expansion added."""
    expansions: tuple[Expansion, ...] = ()
    _starts: tuple[int, ...] = ()

    @staticmethod
    def of(expansions: list[Expansion]) -> "Positions":
        return Positions(tuple(expansions), tuple(e.exp_start for e in expansions))

    def start(self, pos: int) -> int:
        """Where a span starting at pos starts in the source."""
        i = bisect.bisect_right(self._starts, pos) - 1
        if i < 0:
            return pos
        e = self.expansions[i]
        return e.src_start if pos < e.exp_end else pos - e.exp_end + e.src_end

    def end(self, pos: int) -> int:
        """Where a span ending (exclusive) at pos ends in the source."""
        i = bisect.bisect_left(self._starts, pos) - 1
        if i < 0:
            return pos
        e = self.expansions[i]
        return e.src_end if pos <= e.exp_end else pos - e.exp_end + e.src_end


_FUNCTION_MACRO = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(", re.M)


def function_macro(text: str) -> tuple[int, int, str] | None:
    """(start, end, name) of the first `#define NAME(...)` in the script's own text (not in
    the headers appended after it, which may hold many kt never uses): kt substitutes only
    object-like macros, and took `X(a) a` as a macro X with the value `(a) a`."""
    included = _INCLUDED.search(text)
    m = _FUNCTION_MACRO.search(text, 0, included.start() if included else len(text))
    return None if m is None else (m.start(1), m.end(1), m.group(1))


def preprocess(text: str) -> str:
    """The script as the parser reads it (preprocess_positions() without the positions)."""
    return preprocess_positions(text)[0]


def preprocess_positions(text: str) -> tuple[str, Positions]:
    """What bpftrace scripts carry before the language proper: a `#!` line, `#include`s (kt
    takes kernel types from BTF, so they are not needed) and object-like `#define NAME VALUE`
    macros (continued over lines ending in `\\`), which are substituted as whole words outside
    strings and comments, macros in a macro's value too (never a macro inside its own
    expansion, as in C). Directive lines are blanked to spaces, so lines keep their numbers;
    the positions map offsets after substitution back to the text as written."""
    macros: dict[str, str] = {}
    lines = text.split("\n")
    active = [True]   # one entry per open #ifdef/#ifndef: whether its lines are kept
    i = 0
    while i < len(lines):
        line = lines[i]
        cond = _CONDITIONAL.match(line)
        if cond:
            kind, name = cond.groups()
            defined = name in macros or name in PREDEFINED
            if kind in ("ifdef", "ifndef"):
                active.append(active[-1] and (defined if kind == "ifdef" else not defined))
            elif kind == "else" and len(active) > 1:
                active[-1] = active[-2] and not active[-1]
            elif kind == "endif" and len(active) > 1:
                active.pop()
            lines[i] = " " * len(line)
        elif not active[-1]:
            lines[i] = " " * len(line)       # e.g. C struct definitions for kernels without BTF
        elif _DEFINE_START.match(line):
            first = i
            while lines[i].endswith("\\") and i + 1 < len(lines):   # a multi-line macro
                i += 1
            joined = " ".join(part[:-1] if part.endswith("\\") else part for part in lines[first:i + 1])
            d = _DEFINE.match(joined)
            if d:
                macros[d.group(1)] = d.group(2)
            for k in range(first, i + 1):
                lines[k] = " " * len(lines[k])
        i += 1
    text = "\n".join(lines)

    def blank(m: re.Match) -> str:
        return " " * len(m.group(0))

    text = _DIRECTIVE.sub(blank, text)
    if not macros:
        return text, Positions()
    out: list[str] = []
    expansions: list[Expansion] = []
    done, length = 0, 0
    for m in _WORD_OR_SKIP.finditer(text):
        word = m.group(0)
        if word not in macros:
            continue
        value = _expand(macros[word], macros, frozenset({word}))
        out.append(text[done:m.start()])
        length += m.start() - done
        expansions.append(Expansion(length, length + len(value), m.start(), m.end()))
        out.append(value)
        length += len(value)
        done = m.end()
    out.append(text[done:])
    return "".join(out), Positions.of(expansions)


def _expand(value: str, macros: dict[str, str], outer: frozenset[str]) -> str:
    """A macro's value with the macros it names expanded, except those being expanded."""
    def one(m: re.Match) -> str:
        word = m.group(0)
        if word in macros and word not in outer:
            return _expand(macros[word], macros, outer | {word})
        return word
    return _WORD_OR_SKIP.sub(one, value)


_BLANKABLE = re.compile(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/', re.S)
_TYPEDEF = re.compile(r"\btypedef\b")
_IDENT = re.compile(r"[A-Za-z_]\w*")


def typedef_names(text: str) -> frozenset[str]:
    """The names a script's `typedef`s declare, found before parsing so that the parser can
    tell `(my_t)x` (a cast) from `(x)` (see _TypeNames): each typedef runs to the `;` outside
    braces; each of its comma-separated declarators names its last identifier outside
    brackets, or the one in `(*name)` for a function pointer."""
    code = _BLANKABLE.sub(lambda m: " " * len(m.group(0)), text)
    names = set()
    for m in _TYPEDEF.finditer(code):
        end = m.end()
        depth = 0
        while end < len(code) and not (code[end] == ";" and depth == 0):
            depth += code[end] in "{([" and 1 or code[end] in "})]" and -1 or 0
            end += 1
        decl = code[m.end():end]
        while "{" in decl:   # an inline struct body declares no typedef names
            decl = re.sub(r"\{[^{}]*\}", " ", decl)
        for piece in _split_top(decl):
            fn = re.search(r"\(\s*\*\s*([A-Za-z_]\w*)\s*\)", piece)
            words = _IDENT.findall(re.sub(r"\[[^\]]*\]", " ", piece))
            if fn:
                names.add(fn.group(1))
            elif words:
                names.add(words[-1])
    return frozenset(names)


def _split_top(text: str) -> list[str]:
    """Split at the commas outside parentheses and brackets."""
    pieces, depth, start = [], 0, 0
    for k, c in enumerate(text):
        depth += 1 if c in "([" else -1 if c in ")]" else 0
        if c == "," and depth == 0:
            pieces.append(text[start:k])
            start = k + 1
    pieces.append(text[start:])
    return pieces




_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*(?:"([^"\n]+)"|<([^>\n]+)>)', re.M)


class HeaderError(Exception):
    """An --include FILE that cannot be read."""


def include_headers(text: str, script_dir: str, include_dirs: tuple[str, ...] = (),
                    include_files: tuple[str, ...] = ()) -> str:
    """The script with the headers it includes appended (after it, so that the script's spans
    keep their lines and columns): `--include FILE`s first, then each `#include "x.h"`
    (looked up in the script's directory, then the -I DIRs) and `#include <x.h>` (the -I DIRs)
    that exists, recursively, each file once. A header that is not found is left out: kt takes
    kernel types from BTF, so <linux/sched.h> and the like are not needed. What kt uses of a
    header is what a script may hold: struct/union/enum/typedef definitions, object-like
    `#define`s and #ifdef/#ifndef; anything else (function declarations, macros with
    parameters, #if expressions) is a syntax error at the line after the script it lands on."""
    seen: set[str] = set()
    parts: list[str] = []

    def add(path: str) -> None:
        real = os.path.realpath(path)
        if real in seen:
            return
        seen.add(real)
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            header = f.read()
        for found in _included(header, os.path.dirname(path), include_dirs):
            add(found)
        parts.append(f"// kt: included {path}\n{header}")

    for path in include_files:
        found = path if os.path.exists(path) else _search(path, include_dirs)
        if found is None:
            raise HeaderError(f"--include {path}: No such file or directory")
        add(found)
    for found in _included(text, script_dir, include_dirs):
        add(found)
    if not parts:
        return text
    return text + "\n" + "\n".join(parts)


def _included(text: str, here: str, include_dirs: tuple[str, ...]) -> list[str]:
    found = []
    for m in _INCLUDE.finditer(text):
        quoted, angled = m.groups()
        path = _search(quoted, (here, *include_dirs)) if quoted else _search(angled, include_dirs)
        if path is not None:
            found.append(path)
    return found


def _search(name: str, dirs) -> str | None:
    for d in dirs:
        candidate = os.path.join(d, name)
        if os.path.isfile(candidate):
            return candidate
    return None


_INCLUDED = re.compile(r"^// kt: included (.*)$", re.M)


def header_line(text: str, offset: int) -> tuple[str, int] | None:
    """(header path, line in it) of an offset in include_headers()'s result that falls in an
    appended header; None for the script's own text."""
    where = None
    for m in _INCLUDED.finditer(text, 0, offset + 1):
        where = m
    if where is None:
        return None
    return where.group(1), text.count("\n", where.end() + 1, offset) + 1
