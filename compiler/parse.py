"""Parse: source text -> AST (compiler/ast.py), syntax errors as Diagnostics.

The grammar is grammar/kt.lark (LALR, contextual lexer). The Lark parser is built once per
process and cached: building it costs more than parsing a typical script.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from .diagnostics import CompileError, Diagnostic
from .source import SourceFile, Span

# Friendly names for terminals in "expected ..." messages.
_TERMINAL_NAMES = {
    "SEMICOLON": "';'", "RBRACE": "'}'", "LBRACE": "'{'", "LPAR": "'('", "RPAR": "')'",
    "COMMA": "','", "RSQB": "']'", "LSQB": "'['", "PRED_CLOSE": "'/' closing the predicate",
    "ATTACH_POINT": "a probe (e.g. 'tracepoint:syscalls:sys_enter_openat')", "IDENT": "a name",
    "INT": "an integer", "STRING": "a string", "MAP": "a map", "VAR": "a variable",
    "ASSIGN_OP": "an assignment", "ASSIGN": "'='", "PRED_OPEN": "'/'",
}


@functools.cache
def _parser() -> Lark:
    grammar = resources.files("kt.grammar").joinpath("kt.lark").read_text()
    # cache=True keeps the built LALR tables in the temp directory, keyed by the grammar's
    # hash: building them costs ~140 ms, more than everything else kt does before loading.
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True, cache=True)


def _span(meta_or_token) -> Span:
    return Span(meta_or_token.start_pos, meta_or_token.end_pos)


_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", '"': b'"', "'": b"'", "a": b"\a",
            "b": b"\b", "f": b"\f", "v": b"\v", "e": b"\x1b"}


def decode_string(body: str) -> bytes:
    """Decode a string literal's body (between the quotes): C escapes, UTF-8 text."""
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out += ch.encode()
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out += _ESCAPES[nxt]
            i += 2
        elif nxt == "x":
            digits = ""
            j = i + 2
            while j < len(body) and len(digits) < 2 and body[j] in "0123456789abcdefABCDEF":
                digits += body[j]
                j += 1
            out.append(int(digits or "0", 16))
            i = j
        elif nxt in "01234567":
            digits = ""
            j = i + 1
            while j < len(body) and len(digits) < 3 and body[j] in "01234567":
                digits += body[j]
                j += 1
            out.append(int(digits, 8) & 0xFF)
            i = j
        else:  # unknown escape: keep the character, as C compilers do
            out += nxt.encode()
            i += 2
    return bytes(out)


@v_args(meta=True)
class _ToAst(Transformer):
    def start(self, meta, probes):
        span = _span(meta) if not meta.empty else Span(0, 0)
        return ast.Program(span, list(probes))

    def probe(self, meta, children):
        attach_points, predicate, body = children
        return ast.Probe(_span(meta), attach_points, predicate, body)

    def attach_list(self, meta, tokens):
        points = []
        for tok in tokens:
            provider, _, rest = str(tok).partition(":")
            parts = _split_attach(rest) if rest else []
            points.append(ast.AttachPoint(_span(tok), str(tok), provider, parts))
        return points

    def predicate(self, meta, children):
        return children[1]

    def block(self, meta, children):
        return ast.Block(_span(meta), children[0])

    def stmts(self, meta, children):
        return [c for c in children if c is not None and not isinstance(c, Token)]

    def if_stmt(self, meta, children):
        cond, then, orelse = children
        if isinstance(orelse, ast.If):
            orelse = ast.Block(orelse.span, [orelse])
        return ast.If(_span(meta), cond, then, orelse)

    def unroll_stmt(self, meta, children):
        count, body = children
        return ast.Unroll(_span(meta), int(str(count), 0), body)

    def while_stmt(self, meta, children):
        cond, body = children
        return ast.While(_span(meta), cond, body)

    def jump_stmt(self, meta, children):
        return ast.Jump(_span(meta), str(children[0]))

    def expr_stmt(self, meta, children):
        return ast.ExprStmt(_span(meta), children[0])

    def assign(self, meta, children):
        target, op, value = children
        return ast.Assign(_span(meta), target, str(op), value)

    def post_incdec(self, meta, children):
        target, op = children
        return ast.IncDec(_span(meta), target, str(op))

    def pre_incdec(self, meta, children):
        op, target = children
        return ast.IncDec(_span(meta), target, str(op))

    def binary(self, meta, children):
        lhs, op, rhs = children
        return ast.Binary(_span(meta), str(op), lhs, rhs)

    def deref(self, meta, children):
        op, operand = children
        if str(op) != "*":
            raise UnexpectedCharactersLike(op)
        return ast.Unary(_span(meta), "*", operand)

    def cast(self, meta, children):
        type_name, operand = children
        return ast.Cast(_span(meta), str(type_name), operand)

    def struct_cast(self, meta, children):
        kind, name, _star, operand = children
        if str(_star) != "*":
            raise UnexpectedCharactersLike(_star)
        return ast.StructCast(_span(meta), str(kind), str(name), operand)

    def conditional(self, meta, children):
        cond, then, orelse = children
        return ast.Conditional(_span(meta), cond, then, orelse)

    def unary(self, meta, children):
        op, operand = children
        if str(op) == "-" and isinstance(operand, ast.IntLit):
            return ast.IntLit(_span(meta), -operand.value)
        return ast.Unary(_span(meta), str(op), operand)

    def field(self, meta, children):
        base, _arrow_or_none, name = children if len(children) == 3 else (children[0], None, children[1])
        return ast.Field(_span(meta), base, str(name), _span(name))

    def int_lit(self, meta, children):
        text = str(children[0])
        if text[:2].lower() == "0x":
            return ast.IntLit(_span(meta), int(text, 16))
        mantissa, _, exponent = text.partition("e")   # 1e6: an integer, as in bpftrace
        return ast.IntLit(_span(meta), int(mantissa) * 10 ** int(exponent or 0))

    def string(self, meta, children):
        return ast.StrLit(_span(meta), decode_string(str(children[0])[1:-1]))

    def map_ref(self, meta, children):
        name, *keys = children
        return ast.MapRef(_span(meta), str(name), [k for k in keys if k is not None])

    def var(self, meta, children):
        return ast.Var(_span(meta), str(children[0]))

    def positional(self, meta, children):
        text = str(children[0])
        if text == "$#":
            return ast.Positional(_span(meta), 0, is_count=True)
        return ast.Positional(_span(meta), int(text[1:]))

    def builtin(self, meta, children):
        return ast.Builtin(_span(meta), str(children[0]))

    def call(self, meta, children):
        name, *args = children
        return ast.Call(_span(meta), str(name), [a for a in args if a is not None], _span(name))


class UnexpectedCharactersLike(Exception):
    """`(struct x / ...)`: the grammar's MULOP matched something other than `*`."""

    def __init__(self, token):
        self.token = token


def _split_attach(rest: str) -> list[str]:
    """Split what follows the provider at ':' (a leading '/' path is one part)."""
    return rest.split(":")


def _syntax_diagnostic(source: SourceFile, err: UnexpectedInput) -> Diagnostic:
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


_DIRECTIVE = re.compile(r"^[ \t]*#(!|[ \t]*(include|define|ifdef|ifndef|else|endif)\b)[^\n]*", re.M)
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]*([^\n]*?)[ \t]*$")
_CONDITIONAL = re.compile(r"^[ \t]*#[ \t]*(ifdef|ifndef|else|endif)\b[ \t]*(\w*)")
# kt reads kernel types from BTF, as bpftrace does when it defines this.
PREDEFINED = frozenset({"BPFTRACE_HAVE_BTF"})
_WORD_OR_SKIP = re.compile(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/|\b[A-Za-z_]\w*\b', re.S)


def preprocess(text: str) -> str:
    """What bpftrace scripts carry before the language proper: a `#!` line, `#include`s (kt
    takes kernel types from BTF, so they are not needed) and object-like `#define NAME VALUE`
    macros, which are substituted as whole words outside strings and comments. Directive lines
    are blanked to spaces, so spans keep pointing at the same lines and columns."""
    macros: dict[str, str] = {}
    lines = text.split("\n")
    active = [True]   # one entry per open #ifdef/#ifndef: whether its lines are kept
    for i, line in enumerate(lines):
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
        else:
            d = _DEFINE.match(line)
            if d:
                macros[d.group(1)] = d.group(2)
    text = "\n".join(lines)

    def blank(m: re.Match) -> str:
        return " " * len(m.group(0))

    text = _DIRECTIVE.sub(blank, text)
    if not macros:
        return text

    def expand(m: re.Match) -> str:
        word = m.group(0)
        return macros.get(word, word)

    return _WORD_OR_SKIP.sub(expand, text)


def parse(source: SourceFile) -> ast.Program:
    """Parse a whole script; raises CompileError with one syntax diagnostic on failure."""
    try:
        tree = _parser().parse(preprocess(source.text))
    except UnexpectedInput as err:
        raise CompileError(source, [_syntax_diagnostic(source, err)]) from None
    try:
        program = _ToAst().transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, UnexpectedCharactersLike):
            tok = err.orig_exc.token
            raise CompileError(source, [Diagnostic("error", Span(tok.start_pos, tok.end_pos),
                                                   f"syntax error: expected '*' in a struct cast, got '{tok}'")]) from None
        raise
    if not program.probes:
        raise CompileError(source, [Diagnostic("error", Span(0, max(1, len(source.text))),
                                               "no probes in the script",
                                               ("a script is one or more 'PROBE { ... }' blocks",))])
    return program
