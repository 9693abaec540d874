"""`kt -d ast`: the AST as an indented tree, one node a line, with each node's type when known."""

from __future__ import annotations

from dataclasses import fields

from . import ast
from .deep_stack import deep_stack
from .source import SourceFile


@deep_stack
def dump_ast(program: ast.Program, source: SourceFile, types=None) -> str:
    lines: list[str] = []
    types = types or {}

    def visit(node, depth: int, label: str = "") -> None:
        pad = "  " * depth + (f"{label}: " if label else "")
        if isinstance(node, list):
            for item in node:
                visit(item, depth, label)
            return
        if not isinstance(node, ast.Node):
            return
        line, col = source.line_col(node.span.start)
        scalars = []
        children = []
        for f in fields(node):
            if f.name in ("span", "name_span", "index_span"):
                continue
            v = getattr(node, f.name)
            if isinstance(v, (ast.Node, list)) and (not isinstance(v, list) or v and isinstance(v[0], ast.Node)):
                children.append((f.name, v))
            elif v is not None and not isinstance(v, list):
                scalars.append(f"{f.name}={v!r}")
            elif isinstance(v, list) and v:
                scalars.append(f"{f.name}={v!r}")
        t = f" :: {types[node]}" if node in types else ""
        head = " ".join([type(node).__name__, *scalars]) + t
        lines.append(f"{pad}{head} @{line}:{col}")
        for name, child in children:
            visit(child, depth + 1, name if not isinstance(child, list) else "")

    visit(program, 0)
    return "\n".join(lines) + "\n"
