"""Syntax errors as users should see them: the token, what was expected, and — when the text
is bpftrace syntax newer than 0.17 (or C kt does not read) — the name of the feature.

Why a module: a parser error from lark names a token ("unexpected ','"), which says nothing to
a user who wrote a `for` loop from bpftrace 0.21's docs. The patterns here look at the text
before the error and name what it is.
"""

from __future__ import annotations

import re

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
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            pos = len(source.text)
            span = Span(max(0, pos - 1), pos)
            return Diagnostic("error", span, "unexpected end of input", _expected_hint(err.expected))
        span = Span(tok.start_pos, tok.end_pos or tok.start_pos + 1)
        return Diagnostic("error", span, f"syntax error: unexpected '{tok}'", _expected_hint(err.expected))
    if isinstance(err, UnexpectedCharacters):
        ch = source.text[pos] if pos is not None and pos < len(source.text) else "?"
        return Diagnostic("error", Span(pos, pos + 1), f"syntax error: unexpected character '{ch}'",
                          _expected_hint(err.allowed or set()))
    if isinstance(err, UnexpectedEOF):
        pos = len(source.text)
        return Diagnostic("error", Span(max(0, pos - 1), pos), "unexpected end of input")
    return Diagnostic("error", Span(pos or 0, (pos or 0) + 1), "syntax error")


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
    (re.compile(r"\bfor\s*\(\s*[$@]\w*\s*$"), ":", "'for' loops (bpftrace 0.21+) are not supported",
     "use while (...) { ... } or unroll(N) { ... }"),
    (re.compile(r"\blet\s*$"), None, "'let' declarations (bpftrace 0.22+) are not supported",
     "assign the variable instead: $x = 0;"),
    (re.compile(r"(?:^|[;}])\s*config\s*$"), None, "the 'config = { ... }' block (bpftrace 0.20+) is not supported",
     "kt is configured by environment variables"),
    (re.compile(r"(?:^|[;}])\s*macro\s*$"), None, "macros (bpftrace 0.24+) are not supported", ""),
    (re.compile(r"(?:^|[;}])\s*import\s*$"), None, "'import' (bpftrace 0.26) is not supported", ""),
    (re.compile(r"(?:^|[;}])\s*(begin|end)\s*$"), None,
     "lowercase 'begin'/'end' probes (bpftrace 0.24+) are not supported", "write BEGIN or END"),
    (re.compile(r"[(,]\s*[A-Za-z_]\w*\s*$"), "=", "records '(name = value, ...)' (bpftrace 0.25+) are not supported",
     "use a tuple: (value, ...)"),
    (re.compile(r"\d\s*\.\s*$"), ".", "ranges 'a..b' (bpftrace 0.24+) are not supported", ""),
    (re.compile(r"__attribute__\s*$"), None, "GCC attributes in C definitions are not supported", ""),
    (re.compile(r"\bif\s*\((?:[^{};]*)\)\s*$"), None, "an if needs braces", "if (cond) { ... }"),
)
_WORD_AT = re.compile(r"[A-Za-z_]\w*|\S")


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


