"""Syntax errors as users should see them: the token, what was expected, and — when the text
is bpftrace syntax newer than 0.17 (or C kt does not read) — the name of the feature.

Why a module: a parser error from lark names a token ("unexpected ','"), which says nothing to
a user who wrote a `for` loop from bpftrace 0.21's docs. The patterns here look at the text
before the error and name what it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .diagnostics import Diagnostic
from .source import SourceFile, Span

# Friendly names for terminals in "expected ..." messages.
_TERMINAL_NAMES = {
    "SEMICOLON": "';'", "RBRACE": "'}'", "LBRACE": "'{'", "LPAR": "'('", "RPAR": "')'",
    "COMMA": "','", "RSQB": "']'", "LSQB": "'['", "PRED_CLOSE": "'/' closing the predicate",
    "ATTACH_POINT": "a probe (e.g. 'tracepoint:syscalls:sys_enter_openat')", "IDENT": "a name",
    "INT": "an integer", "STRING": "a string", "MAP": "a map", "VAR": "a variable",
    "ASSIGN_OP": "an assignment", "ASSIGN": "'='", "PRED_OPEN": "'/'",
}


# C's standard integer type names, which a cast may use without a typedef in the script:
# (u32)x, (size_t)x, sizeof(uint64_t). compiler/cdecl.py gives each its x86-64 type.
def syntax_diagnostic(source: SourceFile, err: UnexpectedInput) -> Diagnostic:
    pos = getattr(err, "pos_in_stream", None)
    text = source.text
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            return _end_of_input(text, _expected_hint(err.expected))
        comment = _scan(text, tok.start_pos).comment
        if comment is not None:   # lark read `/*` as '/' '*' and stopped somewhere inside it
            return _unclosed_comment(comment)
        span = Span(tok.start_pos, tok.end_pos or tok.start_pos + 1)
        opened = _scan(text, tok.start_pos).braces
        if tok.type == "ATTACH_POINT" and opened:
            line, col = source.line_col(opened[-1])
            return Diagnostic("error", span, f"syntax error: unexpected '{tok}'",
                              (f"the '{{' at line {line}, column {col} is not closed before this probe",))
        if re.search(r"\breturn\s*$", text[:tok.start_pos]) and "SEMICOLON" in err.expected:
            return Diagnostic("error", span, "syntax error: 'return' takes no value: a probe returns nothing",
                              ("write 'return;' to leave the probe",))
        if re.search(r"\belse\s*$", text[:tok.start_pos]):
            start = text.rindex("else", 0, tok.start_pos)
            return Diagnostic("error", Span(start, start + 4), "syntax error: 'else' without an 'if'",
                              ("write if (cond) { ... } else { ... }",))
        if "SEMICOLON" in err.expected and _on_a_later_line(text, tok.start_pos) \
                and text[_previous_end(text, tok.start_pos) - 1] != "}":
            end = _previous_end(text, tok.start_pos)
            return Diagnostic("error", Span(end, end + 1), f"syntax error: missing ';' before '{tok}'",
                              (f"statements end with ';' (the next one starts at line "
                               f"{source.line_col(tok.start_pos)[0]})",))
        if tok.type == "IDENT" and not opened and "ATTACH_POINT" in err.expected:
            return Diagnostic("error", span, f"syntax error: '{tok}' is not a probe",
                              (f"a probe names its kind and target: '{tok}:...', e.g. 'kprobe:vfs_read', "
                               "'tracepoint:syscalls:sys_enter_openat', or BEGIN/END",))
        if tok.type == "RBRACE" and not opened:
            return Diagnostic("error", span, "syntax error: this '}' closes no '{'", ())
        if tok.type == "LBRACE" and "PRED_CLOSE" in err.expected and not opened:
            return Diagnostic("error", span, "syntax error: the predicate has no closing '/'",
                              ("a predicate is /condition/, between the probe and its '{'",))
        inner = _scan(text, tok.start_pos).innermost
        if tok.type in ("ASSIGN", "ASSIGN_OP") and inner == "{" and not {"ASSIGN", "ASSIGN_OP"} & set(err.expected):
            return Diagnostic("error", span, f"syntax error: cannot assign here: '{tok}' needs a variable "
                              "($x) or a map (@x, @x[key]) on its left", ())
        hints = _expected_hint(err.expected)
        close = {"(": "')'", "[": "']'"}.get(inner)
        if close and "COMMA" in err.expected:
            hints = (f"a ',' or a {close} is missing before it",)
        return Diagnostic("error", span, f"syntax error: unexpected '{tok}'", hints)
    if isinstance(err, UnexpectedCharacters):
        state = _scan(text, pos)
        if state.comment is not None:
            return _unclosed_comment(state.comment)
        ch = text[pos] if pos is not None and pos < len(text) else "?"
        if "\udc80" <= ch <= "\udcff":   # a byte that is no UTF-8, kept as a surrogate escape
            return Diagnostic("error", Span(pos, pos + 1),
                              f"syntax error: unexpected byte 0x{ord(ch) - 0xdc00:02x} (not UTF-8 text)",
                              ("bytes that are no UTF-8 may stand only inside string literals",))
        if ch == '"':
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            return Diagnostic("error", Span(pos, end), "unterminated string: no closing '\"' on this line",
                              ("a string ends on the line it starts; write \\n for a newline, \\\" for a quote",))
        if ch.isdigit():
            word = re.match(r"\w+", text[pos:]).group(0)
            return Diagnostic("error", Span(pos, pos + len(word)), f"invalid number '{word}'",
                              ("integers are decimal (1000, 1_000, 1e3), octal (0755) or hex (0x3e8), "
                               "with an optional u/l suffix; durations are an integer and ns, us, ms, s, m, h or d "
                               "(100ms)",))
        return Diagnostic("error", Span(pos, pos + 1), f"syntax error: unexpected character '{ch}'",
                          _expected_hint(err.allowed or set()))
    if isinstance(err, UnexpectedEOF):
        return _end_of_input(text, ())
    return Diagnostic("error", Span(pos or 0, (pos or 0) + 1), "syntax error")


@dataclass(frozen=True, slots=True)
class _Scan:
    braces: tuple[int, ...]   # offsets of the '{' still open
    comment: int | None       # offset of a '/*' still open
    innermost: str = ""       # the innermost open bracket: '{', '(', '[' or ''


def _scan(text: str, stop: int) -> _Scan:
    """What is open at offset `stop`: the '{' not closed yet (outside strings and comments),
    and a '/*' without its '*/'. Syntax errors only: a linear walk of the text."""
    braces: list[int] = []
    open_: list[str] = []
    i, n = 0, len(text)
    while i < min(stop, n):
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                return _Scan(tuple(braces), i)
            i = j + 2
            continue
        if c == "{":
            braces.append(i)
        elif c == "}" and braces:
            braces.pop()
        if c in "{([":
            open_.append(c)
        elif c in "})]" and open_:
            open_.pop()
        i += 1
    return _Scan(tuple(braces), None, open_[-1] if open_ else "")


def _unclosed_comment(start: int) -> Diagnostic:
    return Diagnostic("error", Span(start, start + 2), "unterminated comment: this '/*' has no '*/'",
                      ("close the comment with */",))


def _end_of_input(text: str, hints: tuple[str, ...]) -> Diagnostic:
    pos = len(text)
    state = _scan(text, pos)
    if state.comment is not None:
        return _unclosed_comment(state.comment)
    span = Span(max(0, pos - 1), pos)
    if state.braces:
        line = text.count("\n", 0, state.braces[-1]) + 1
        col = state.braces[-1] - (text.rfind("\n", 0, state.braces[-1]) + 1) + 1
        return Diagnostic("error", span, "unexpected end of input: a '}' is missing",
                          (f"the '{{' at line {line}, column {col} is not closed",))
    return Diagnostic("error", span, "unexpected end of input", hints)


def _previous_end(text: str, pos: int) -> int:
    """The offset just after the last non-blank character before `pos` (comments skipped)."""
    end = pos
    while end > 0:
        line_start = text.rfind("\n", 0, end) + 1
        line = text[line_start:end]
        code = line.split("//", 1)[0].rstrip()   # good enough for a hint's position
        if code:
            return line_start + len(code)
        end = max(0, line_start - 1)
    return pos


def _on_a_later_line(text: str, pos: int) -> bool:
    end = _previous_end(text, pos)
    return end < pos and "\n" in text[end:pos]


def _expected_hint(expected) -> tuple[str, ...]:
    names = sorted({_TERMINAL_NAMES.get(t, None) or _literal_name(t) for t in expected} - {None})
    names = [n for n in names if n]
    if not names or len(names) > 6:
        return ()
    return ("expected " + ", ".join(names),)


def _literal_name(terminal: str) -> str | None:
    if terminal.startswith("_") or terminal in ("$END",):
        return None
    return terminal.lower() if terminal.isalpha() and terminal in ("IF", "ELSE") else None


# bpftrace syntax newer than 0.17 (or C that kt does not read), recognised where the parser
# stops so that the message names the feature instead of the token. Each: a pattern on the text
# before the error, the offending token's text (None: any), and the message.
_NOT_SUPPORTED = (
    (re.compile(r"(?:^|[;}])\s*import\s*$"), None, "'import' (bpftrace 0.26) is not supported", ""),
    (re.compile(r"\S\s*$"), "..", "a range 'a..b' is only the bounds of a for loop: for ($i : a..b)", ""),
    (re.compile(r"__attribute__\s*$"), None, "GCC attributes in C definitions are not supported", ""),
    (re.compile(r"\bif\s*\((?:[^{};]*)\)\s*$"), None, "an if needs braces", "if (cond) { ... }"),
)
_WORD_AT = re.compile(r"[A-Za-z_]\w*|\.\.(?!\.)|\S")


def not_supported(text: str, diag: Diagnostic) -> Diagnostic:
    """The syntax error as a 'not supported' diagnostic when it is newer bpftrace syntax."""
    pos = diag.span.start
    before = text[:pos]
    word = _WORD_AT.match(text, pos)
    tok = word.group(0) if word else ""
    for pattern, token, message, hint in _NOT_SUPPORTED:
        if (token is None or tok == token) and pattern.search(before):
            return Diagnostic("error", diag.span, message, tuple(h for h in (hint,) if h))
        # a word the parser could not take at all: `config = {`, `begin {`, `macro f()`
        if token is None and pattern.search(before + tok):
            return Diagnostic("error", Span(pos, pos + len(tok)), message, tuple(h for h in (hint,) if h))
    cast = re.search(r"\(\s*([A-Za-z_]\w*)\s*(\**)\s*\)\s*$", before) or \
        (re.search(r"\(\s*([A-Za-z_]\w*)\s*(\*+)\s*$", before) if tok == ")" else None)
    if cast and (cast.group(2) or tok not in ("?", ":", ")", ",", ";", "]", "}")):
        return Diagnostic("error", Span(cast.start(1), cast.end(1)),
                          f"'{cast.group(1)}' is not a type kt knows, so this is not a cast",
                          ("types are the script's typedefs, C's integer names (uint32_t, u32, size_t, ...), "
                           "bpftrace's (uint32), 'struct NAME' and 'unsigned long'-style words",))
    if re.match(r"[ \t]*#", text[text.rfind("\n", 0, pos) + 1:]):
        return Diagnostic("error", diag.span, "this preprocessor directive is not supported",
                          ("kt reads #include, #define NAME VALUE, #ifdef, #ifndef, #else and #endif",))
    return diag


