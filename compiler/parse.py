"""Parse: source text -> AST (compiler/ast.py), syntax errors as Diagnostics.

The grammar is grammar/kt.lark (LALR, contextual lexer). The Lark parser is built once per
process and cached: building it costs more than parsing a typical script.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedInput, VisitError

from . import ast
from .deep_stack import MAX_DEPTH, deep_stack
from .diagnostics import CompileError, Diagnostic
from .formats.durations import duration_ns
from .preprocess import function_macro, preprocess_positions, typedef_names
from .source import SourceFile, Span
from .syntax_errors import not_supported, syntax_diagnostic

C_TYPE_NAMES = frozenset({
    *(f"{p}int{n}_t" for p in ("", "u") for n in (8, 16, 32, 64)),
    *(f"{p}{n}" for p in ("u", "s", "__u", "__s") for n in (8, 16, 32, 64)),
    "size_t", "ssize_t", "pid_t", "uid_t", "gid_t", "off_t", "loff_t", "uintptr_t", "intptr_t",
    "ptrdiff_t", "time_t", "dev_t", "ino_t", "mode_t", "umode_t", "sector_t",
})


class _TypeNames:
    """The C "lexer hack", kept small: an identifier right after "(" that names a type (a
    typedef of the script, or one of C_TYPE_NAMES) is a TYPE_NAME, so `(u32)x` is a cast while
    `(pid)` stays a parenthesized expression. Everywhere else a type name is grammatical as a
    plain identifier (struct members, typedefs)."""

    always_accept = ("IDENT",)

    def __init__(self) -> None:
        self.names: frozenset[str] = C_TYPE_NAMES

    def process(self, stream):
        prev = None
        for tok in stream:
            if tok.type == "IDENT" and prev == "LPAR" and tok.value in self.names:
                tok.type = "TYPE_NAME"
            prev = tok.type
            yield tok


_TYPE_NAMES = _TypeNames()


@functools.cache
def _parser() -> Lark:
    grammar = resources.files("kt.grammar").joinpath("kt.lark").read_text()
    # cache=True keeps the built LALR tables in the temp directory, keyed by the grammar's
    # hash: building them costs ~140 ms, more than everything else kt does before loading.
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True, cache=True,
                postlex=_TYPE_NAMES)


def _span(meta_or_token) -> Span:
    return Span(meta_or_token.start_pos, meta_or_token.end_pos)


_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", '"': b'"', "'": b"'", "a": b"\a",
            "b": b"\b", "f": b"\f", "v": b"\v", "e": b"\x1b"}


class StringEscapeError(ValueError):
    """A bad escape in a string literal: where in the body (offset, length) and what."""

    def __init__(self, offset: int, length: int, message: str):
        super().__init__(message)
        self.offset, self.length, self.message = offset, length, message


def decode_string(body: str) -> bytes:
    r"""Decode a string literal's body (between the quotes): C escapes, UTF-8 text. A byte that
    is no UTF-8 (read as a surrogate escape, as Python decodes argv and kt decodes scripts)
    stays that byte, as 0.17 keeps the script's bytes. Escapes are 0.17's: an unknown one,
    `\x` without hex digits and an octal escape past 0377 are errors (0.17's words)."""
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out += ch.encode("utf-8", "surrogateescape")
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
            if not digits:
                raise StringEscapeError(i, 2, "invalid escape character '\\x': \\x takes one or two hex digits")
            out.append(int(digits, 16))
            i = j
        elif nxt in "01234567":
            digits = ""
            j = i + 1
            while j < len(body) and len(digits) < 3 and body[j] in "01234567":
                digits += body[j]
                j += 1
            if int(digits, 8) > 0xFF:
                raise StringEscapeError(i, j - i, f"octal escape sequence out of range '\\{digits}' "
                                                  "(a byte is at most \\377)")
            out.append(int(digits, 8))
            i = j
        else:
            raise StringEscapeError(i, 2, f"invalid escape character '\\{nxt}'")
    return bytes(out)


@v_args(meta=True)
class _ToAst(Transformer):
    def start(self, meta, items):
        span = _span(meta) if not meta.empty else Span(0, 0)
        probes = [i for i in items if isinstance(i, ast.Probe)]
        definitions = [i for i in items if isinstance(i, (ast.CStruct, ast.CEnum, ast.CTypedef))]
        macros = [i for i in items if isinstance(i, ast.MacroDef)]
        config = [c for i in items if isinstance(i, list) for c in i]
        decls = [i for i in items if isinstance(i, ast.MapDecl)]
        _preamble_order(items)
        return ast.Program(span, probes, definitions, macros, config, decls)

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._text = text

    def let_stmt(self, meta, children):
        var, type_name, _assign, value = children
        return ast.Let(_span(meta), ast.Var(_span(var), str(var)), type_name, value)

    def macro_def(self, meta, children):
        name, *rest = children
        body = rest[-1]
        params = [p for p in rest[:-1] if p is not None]
        # The body's value: its last statement, an expression with no ';' before the '}'.
        last = body.stmts[-1] if body.stmts else None
        has_value = (isinstance(last, ast.ExprStmt)
                     and ";" not in self._text[last.span.end:body.span.end])
        return ast.MacroDef(_span(meta), str(name), params, body, has_value, _span(name))

    def macro_param(self, meta, children):
        return str(children[0])

    def config_block(self, meta, children):
        items = [c for c in children if isinstance(c, ast.ConfigItem)]
        if not items:   # `config = {}`: nothing to set, but still a block before the probes
            items = [ast.ConfigItem(_span(meta), "", _span(meta), "", _span(meta))]
        return items

    def config_item(self, meta, children):
        key, _, value = children
        text = str(value)
        if value.type == "INT":
            parsed: int | str = int_value(value)
        elif value.type == "STRING":
            parsed = decode_string(text[1:-1]).decode("utf-8", "surrogateescape")
        else:
            parsed = text
        return ast.ConfigItem(_span(meta), str(key), _span(key), parsed, _span(value), value.type == "STRING")

    def map_decl(self, meta, children):
        name, _, kind, entries = children
        return ast.MapDecl(_span(meta), str(name), str(kind), _span(kind), int_value(entries), _span(entries))

    def probe(self, meta, children):
        attach_points, predicate, body = children
        return ast.Probe(_span(meta), attach_points, predicate, body)

    def attach_list(self, meta, tokens):
        points = []
        for tok in tokens:
            provider, parts = split_attach_point(str(tok))
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
        if count.type == "POSITIONAL":   # unroll($1), as 0.17: the parameter's value, baked
            return ast.Unroll(_span(meta), 0, body, self.positional(count, [count]))
        return ast.Unroll(_span(meta), int_value(count), body)

    def while_stmt(self, meta, children):
        cond, body = children
        return ast.While(_span(meta), cond, body)

    def for_stmt(self, meta, children):
        var, source, body = children
        if isinstance(source, tuple):
            return ast.ForRange(_span(meta), var, source[0], source[1], body)
        return ast.ForMap(_span(meta), var, source, body)

    def for_range(self, meta, children):
        return (children[0], children[2])

    def jump_stmt(self, meta, children):
        return ast.Jump(_span(meta), str(children[0]))

    def expr_stmt(self, meta, children):
        return ast.ExprStmt(_span(meta), children[0])

    def discard(self, meta, children):
        return ast.ExprStmt(_span(meta), children[2])

    def assign(self, meta, children):
        target, op, value = children
        return ast.Assign(_span(meta), target, str(op), value)

    def post_incdec(self, meta, children):
        target, op = children
        return ast.IncDec(_span(meta), target, str(op), prefix=False)

    def pre_incdec(self, meta, children):
        op, target = children
        return ast.IncDec(_span(meta), target, str(op), prefix=True)

    def binary(self, meta, children):
        lhs, op, rhs = children
        return ast.Binary(_span(meta), str(op), lhs, rhs)

    def deref(self, meta, children):
        op, operand = children
        _expect_star(op)
        return ast.Unary(_span(meta), "*", operand)

    def cast(self, meta, children):
        type_name, operand = children
        return ast.Cast(_span(meta), type_name, operand)

    def type_name(self, meta, children):
        base, *stars = children
        dim = stars.pop() if stars and isinstance(stars[-1], _Dim) else None
        for star in stars:
            _expect_star(star)
        return ast.TypeName(_span(meta), _type_words(base), len(stars),
                            None if dim is None else dim.count)

    def type_dim(self, meta, children):
        return _Dim(int_value(children[0]) if children and children[0] is not None else 0)

    def addr_of(self, meta, children):
        _op, operand = children
        return ast.AddrOf(_span(meta), operand)

    def index(self, meta, children):
        base, index = children
        return ast.Index(_span(meta), base, index)

    def tuple(self, meta, children):
        return ast.TupleLit(_span(meta), list(children))

    def record(self, meta, children):
        names = [str(name) for name, _ in children]
        return ast.RecordLit(_span(meta), names, [value for _, value in children], [_span(n) for n, _ in children])

    def record_field(self, meta, children):
        name, _assign, value = children
        return (name, value)

    def tuple_field(self, meta, children):
        base, index = children
        return ast.TupleField(_span(meta), base, int(str(index)), _span(index))

    def sizeof(self, meta, children):
        _kw, what = children
        if isinstance(what, ast.TypeName):
            return ast.Sizeof(_span(meta), what, None)
        return ast.Sizeof(_span(meta), None, what)

    def offsetof(self, meta, children):
        _kw, type_name, *path = children
        return ast.Offsetof(_span(meta), type_name, [str(p) for p in path])

    # ---- C definitions ---------------------------------------------------------------
    def c_struct(self, meta, children):
        kind, name, *members = children
        return ast.CStruct(_span(meta), str(kind), None if name is None else str(name), list(members))

    def c_enum(self, meta, children):
        _kw, name, *items = children
        return ast.CEnum(_span(meta), None if name is None else str(name), list(items))

    def c_enumerator(self, meta, children):
        name, *value = children
        return (str(name), value[0] if value else None, _span(name))

    def c_typedef(self, meta, children):
        _kw, spec, *declarators = children
        return ast.CTypedef(_span(meta), spec, list(declarators))

    def c_member(self, meta, children):
        spec, *fields = children
        return ast.CMember(_span(meta), spec, [f for f in fields if f is not None])

    def c_field(self, meta, children):
        declarator, *bits = children
        if bits:
            declarator.bits = bits[0]
        return declarator

    def c_padding(self, meta, children):
        return ast.CDeclarator(_span(meta), None, bits=children[0])

    def c_spec(self, meta, children):
        base = next(c for c in children if not (isinstance(c, Token) and c.type == "C_QUAL"))
        if not isinstance(base, (ast.CStruct, ast.CEnum)):
            base = _type_words(base)
        return ast.CSpec(_span(meta), base)

    def c_words(self, meta, children):
        return " ".join(str(c) for c in children)

    def c_tagged(self, meta, children):
        kind, name = children
        return f"{kind} {name}"

    def c_declarator(self, meta, children):
        pointers = [c for c in children if c == "*"]
        rest = [c for c in children if c != "*"]
        name, *dims = rest
        funcptr = isinstance(name, tuple)
        if funcptr:
            name = name[1]
        return ast.CDeclarator(_span(meta), str(name), len(pointers) + funcptr, list(dims), None, funcptr)

    def c_pointer(self, meta, children):
        _expect_star(children[0])
        return "*"

    def c_funcptr(self, meta, children):
        star, name, *_params = children
        _expect_star(star)
        return ("funcptr", str(name))

    def c_param(self, meta, children):
        return None

    def c_dim(self, meta, children):
        return children[0] if children else None

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
        return ast.IntLit(_span(meta), int_value(children[0]))

    def duration_lit(self, meta, children):
        """`100ms` (bpftrace 0.26): integer nanoseconds."""
        return ast.IntLit(_span(meta), duration_ns(str(children[0])))

    def string(self, meta, children):
        tok = children[0]
        try:
            return ast.StrLit(_span(meta), decode_string(str(tok)[1:-1]))
        except StringEscapeError as err:
            start = tok.start_pos + 1 + err.offset
            raise _BadLiteral(_Where(start, start + err.length), err.message) from None

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
        name = str(children[0])
        if name in ("true", "false"):   # bool literals (bpftrace 0.25): kt's bools are 1 and 0
            return ast.BoolLit(_span(meta), int(name == "true"))
        return ast.Builtin(_span(meta), name)

    def call(self, meta, children):
        name, *args = children
        return ast.Call(_span(meta), str(name), [a for a in args if a is not None], _span(name))


class _NotAStar(Exception):
    """`(struct x / ...)`: the grammar's MULOP matched something other than `*`."""

    def __init__(self, token):
        self.token = token


@dataclass(frozen=True, slots=True)
class _Dim:
    """The `[N]` of an array cast's type (0: `[]`, the size from the value)."""
    count: int


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a _BadLiteral points when that is less than a token."""
    start_pos: int
    end_pos: int


class _BadLiteral(Exception):
    def __init__(self, token, message: str):
        self.token = token
        self.message = message


def _preamble_order(items) -> None:
    """bpftrace's preamble comes first: a config block or a map declaration after a probe is an
    error there, and one config block is all a script has."""
    seen_probe = seen_config = False
    for item in items:
        if isinstance(item, ast.Probe):
            seen_probe = True
        elif isinstance(item, list) or isinstance(item, ast.MapDecl):
            what = "the config block" if isinstance(item, list) else "a map declaration"
            span = item[0].span if isinstance(item, list) else item.span
            if seen_probe:
                raise _BadLiteral(_Where(span.start, span.end),
                                  f"{what} must come before the probes (bpftrace's preamble)")
            if isinstance(item, list):
                if seen_config:
                    raise _BadLiteral(_Where(span.start, span.end), "a script has one config block")
                seen_config = True


def _expect_star(tok) -> None:
    if str(tok) != "*":
        raise _NotAStar(tok)


def _type_words(base) -> str:
    return " ".join(str(base).split())


_INT_SUFFIX = re.compile(r"([uU][lL]{0,2}|[lL]{1,2}[uU]?)$")


def int_value(tok) -> int:
    """An integer literal's value: 0x hex, a leading 0 for octal (as in C and bpftrace: 010 is
    8), `_` between digits, a `1e6` exponent, and C's u/l suffixes (which change nothing: every
    integer is 64 bits)."""
    text = _INT_SUFFIX.sub("", str(tok)) if not str(tok)[:2].lower() == "0x" else str(tok)
    if text[:2].lower() == "0x":
        return int(_INT_SUFFIX.sub("", text[2:]) or "0", 16)
    text = text.replace("_", "")
    mantissa, _, exponent = text.partition("e")   # 1e6: an integer, as in bpftrace
    if len(mantissa) > 1 and mantissa.startswith("0"):
        if exponent or not all(c in "01234567" for c in mantissa):
            raise _BadLiteral(tok, f"invalid octal literal '{tok}': a leading 0 makes a number octal "
                                   "(digits 0-7)")
        return int(mantissa, 8)
    return int(mantissa) * 10 ** int(exponent or 0)


def split_attach_point(raw: str) -> tuple[str, list[str]]:
    """`provider:part:part` -> (provider, parts), the parts split as _split_attach does."""
    provider, _, rest = raw.partition(":")
    return provider, (_split_attach(rest) if rest else [])


def _split_attach(rest: str) -> list[str]:
    """Split what follows the provider at ':' outside double quotes, which are removed
    (`uprobe:"/path with space":"func"`; `\\"` is a quote inside quotes)."""
    parts, cur, quoted, i = [], [], False, 0
    while i < len(rest):
        c = rest[i]
        if c == '"':
            quoted = not quoted
        elif c == "\\" and quoted and i + 1 < len(rest):
            i += 1
            cur.append(rest[i])
        elif c == ":" and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _to_source(tree, positions) -> None:
    """Point the tree's positions (spans are built from them) into the text as written."""
    stack = [tree]
    while stack:
        node = stack.pop()
        meta = node.meta
        if not meta.empty:
            meta.start_pos, meta.end_pos = positions.start(meta.start_pos), positions.end(meta.end_pos)
        for child in node.children:
            if isinstance(child, Tree):
                stack.append(child)
            elif isinstance(child, Token) and child.start_pos is not None:
                child.start_pos, child.end_pos = positions.start(child.start_pos), positions.end(child.end_pos)


def _too_deep(tree) -> Span | None:
    """The span of the first subtree MAX_DEPTH levels down, if any (deep_stack.py's limit),
    found without recursion."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth >= MAX_DEPTH:
            meta = node.meta
            return Span(0, 1) if meta.empty else Span(meta.start_pos, meta.end_pos)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return None


@deep_stack
def parse(source: SourceFile) -> ast.Program:
    """Parse a whole script; raises CompileError with one syntax diagnostic on failure."""
    nul = source.text.find("\0")
    if nul >= 0:   # 0.17 stops there ("unterminated string" when it is inside one)
        raise CompileError(source, [Diagnostic("error", Span(nul, nul + 1), "the script holds a NUL byte",
                                               ("write \\0 inside a string literal",))])
    macro = function_macro(source.text)
    if macro is not None:
        start, end, name = macro
        raise CompileError(source, [Diagnostic("error", Span(start, end), f"macros with parameters ('{name}(...)') "
                                               "are not supported", ("kt substitutes #define NAME VALUE",))])
    text, positions = preprocess_positions(source.text)
    _TYPE_NAMES.names = C_TYPE_NAMES | typedef_names(text)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        expanded = source if not positions.expansions else SourceFile.of(source.name, text)
        d = not_supported(text, syntax_diagnostic(expanded, err))
        span = Span(positions.start(d.span.start), max(positions.end(d.span.end), positions.start(d.span.start) + 1))
        raise CompileError(source, [Diagnostic(d.severity, span, d.message, d.hints)]) from None
    if positions.expansions:
        _to_source(tree, positions)
    too_deep = _too_deep(tree)
    if too_deep is not None:
        raise CompileError(source, [Diagnostic(
            "error", too_deep, f"the script is nested too deeply: kt's limit is {MAX_DEPTH:,} levels of "
            "syntax (each block, operator and parenthesis is one or more)", ("split the expression or the block with variables",))])
    try:
        program = _ToAst(source.text if positions.expansions else text).transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, _NotAStar):
            tok = err.orig_exc.token
            raise CompileError(source, [Diagnostic("error", Span(tok.start_pos, tok.end_pos),
                                                   f"syntax error: expected '*' in a type, got '{tok}'")]) from None
        if isinstance(err.orig_exc, _BadLiteral):
            tok = err.orig_exc.token
            raise CompileError(source, [Diagnostic("error", Span(tok.start_pos, tok.end_pos),
                                                   err.orig_exc.message)]) from None
        raise
    if not program.probes:
        raise CompileError(source, [Diagnostic("error", Span(0, max(1, len(source.text))),
                                               "no probes in the script",
                                               ("a script is one or more 'PROBE { ... }' blocks",))])
    return program
