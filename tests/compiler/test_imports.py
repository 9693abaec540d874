"""The compiler's modules import one another in one direction: no module reaches back into a
module that (directly or through others) imports it. Function-level imports count too: they
hide a circle from Python's import machinery, not from the design (DESIGN "The pipeline")."""

from __future__ import annotations

import ast
from pathlib import Path

import kt.compiler

ROOT = Path(kt.compiler.__file__).parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(["kt.compiler", *parts])


def _imports(path: Path, name: str) -> set[str]:
    """Every kt.compiler module `path` imports, anywhere in the file (TYPE_CHECKING blocks,
    which only name types for readers, excepted)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = package.split(".")
        if node.level > 1:
            base = base[:-(node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
        if node.module is None:   # from . import a, b
            out.update(f"{target}.{a.name}" for a in node.names)
        else:
            out.add(target)
    return {m for m in out if m.startswith("kt.compiler")}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for m in _imports(path, name):
            while m not in modules and "." in m:   # `from .pkg import name` of a non-module
                m = m.rsplit(".", 1)[0]
            if m in modules and m != name:
                deps.add(m)
        graph[name] = deps
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph[n]):
            # a package's __init__ importing its own submodules is how a package is assembled
            if n == d.rsplit(".", 1)[0]:
                continue
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_the_graph_sees_the_pipeline():
    graph = _graph()
    assert "kt.compiler.passes.semantic" in graph["kt.compiler.codegen.probe"]
    assert "kt.compiler.builtins" in graph["kt.compiler.passes.semantic"]


def test_no_import_circles_in_the_compiler():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()))


def test_builtins_reach_passes_and_codegen_only_through_their_arguments():
    graph = _graph()
    for name, deps in graph.items():
        if name.startswith("kt.compiler.builtins"):
            assert not {d for d in deps if d.startswith(("kt.compiler.passes", "kt.compiler.codegen"))}, name
