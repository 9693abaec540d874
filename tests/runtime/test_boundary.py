"""The compiler/runtime boundary (DESIGN rule 7, docs/architecture.md): the runtime imports
nothing of the compiler but kt.compiler.formats, nor llvmlite or lark; kt.compiler.formats
imports nothing of the rest of the compiler. Only the compile paths, given source text (the
CLI's in runtime/cli.py, the Python API's kt.compile in runtime/api/objects.py), import the
compiler, lazily.

Two checks each: importing the modules in a fresh interpreter (what `kt out.o` and a cache hit
load), and every import statement in their source, function-level ones included (a lazy import
hides a dependency from the first check, not from the design). A failure names the chain of
importers (an import hook records which module was executing when each module was first found).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import kt.compiler.formats
import kt.runtime

RUNTIME = Path(kt.runtime.__file__).parent
FORMATS = Path(kt.compiler.formats.__file__).parent

# Imports the fresh interpreter runs: every module of a package, each recorded with the module
# that was executing when it was first looked for.
_PROBE = textwrap.dedent('''
    import importlib, json, pkgutil, sys

    importer = {}

    class Recorder:
        def find_spec(self, name, path=None, target=None):
            if name not in importer:
                f = sys._getframe(1)
                while f is not None and (f.f_code.co_filename.startswith("<frozen")
                                         or "importlib" in f.f_code.co_filename):
                    f = f.f_back
                importer[name] = f.f_globals.get("__name__", "?") if f is not None else "?"
            return None

    sys.meta_path.insert(0, Recorder())
    package = importlib.import_module(sys.argv[1])
    names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    for name in names:
        importlib.import_module(name)
    json.dump({"walked": names, "modules": sorted(sys.modules), "importer": importer}, sys.stdout)
''')


def _forbidden(name: str) -> bool:
    top = name.split(".")[0]
    if top in ("llvmlite", "lark"):
        return True
    return (name.startswith("kt.compiler.") and not name.startswith("kt.compiler.formats.")
            and name != "kt.compiler.formats")


def _chain(name: str, importer: dict[str, str]) -> str:
    chain = [name]
    while chain[-1] in importer and importer[chain[-1]] not in chain and importer[chain[-1]] != "__main__":
        chain.append(importer[chain[-1]])
    return " <- ".join(chain)


def _import_all(package: str) -> tuple[list[str], list[str]]:
    """The modules walked, and the forbidden ones loaded, each with its chain of importers."""
    out = subprocess.run([sys.executable, "-c", _PROBE, package], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    importer = found["importer"]
    bad = [m for m in found["modules"] if _forbidden(m)]
    # the first forbidden module of each chain (llvmlite, not its 40 submodules)
    first = [m for m in bad if not _forbidden(importer.get(m, ""))]
    return found["walked"], [_chain(m, importer) for m in first or bad]


def test_importing_every_runtime_module_loads_no_compiler_module():
    walked, bad = _import_all("kt.runtime")
    assert "kt.runtime.cli" in walked and "kt.runtime.attach.uprobe" in walked
    assert not bad, "the runtime imports the compiler:\n  " + "\n  ".join(bad)


def test_importing_every_formats_module_loads_no_other_compiler_module():
    walked, bad = _import_all("kt.compiler.formats")
    assert "kt.compiler.formats.btf" in walked
    assert not bad, "kt.compiler.formats imports the rest of the compiler:\n  " + "\n  ".join(bad)


def _imports(path: Path, module: str) -> list[tuple[int, str, str]]:
    """(line, imported module, enclosing function) for every import statement of a file."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []

    def visit(node: ast.AST, func: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue   # names for annotations only, never imported
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.Import):
                out.extend((child.lineno, a.name, func) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[:len(package.split(".")) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if child.module is None:   # from . import a, b: each is a module
                    out.extend((child.lineno, f"{target}.{a.name}", func) for a in child.names)
                else:
                    out.append((child.lineno, target, func))
            visit(child, inner)

    visit(tree, "")
    return out


def _modules(root: Path, package: str):
    for path in sorted(root.rglob("*.py")):
        parts = [p for p in path.relative_to(root).with_suffix("").parts if p != "__init__"]
        yield path, ".".join([package, *parts])


# The CLI's compile path: the functions of runtime/cli.py that are given source text; and
# --info, which reports the compiler's LLVM version when llvmlite is installed (guarded).
_COMPILE_PATH = {("cli.py", f) for f in ("_main", "_header_notes", "_run", "_compile_for_cache")}
_COMPILE_PATH.add(("info.py", "_llvm"))
_COMPILE_PATH.add(("objects.py", "compile"))   # kt.compile (runtime/api/objects.py)


def test_no_runtime_source_imports_the_compiler():
    bad = []
    for path, module in _modules(RUNTIME, "kt.runtime"):
        for line, target, func in _imports(path, module):
            if _forbidden(target) and (path.name, func) not in _COMPILE_PATH:
                bad.append(f"{path.relative_to(RUNTIME.parent)}:{line}: {func or '<module>'} imports {target}")
    assert not bad, "\n".join(bad)


def test_formats_sources_import_only_the_standard_library_pyelftools_and_formats():
    bad = []
    for path, module in _modules(FORMATS, "kt.compiler.formats"):
        for line, target, func in _imports(path, module):
            top = target.split(".")[0]
            if target.startswith("kt.compiler.formats") or top in sys.stdlib_module_names or top == "elftools":
                continue
            bad.append(f"{path.relative_to(FORMATS.parent)}:{line}: {func or '<module>'} imports {target}")
    assert not bad, "\n".join(bad)


def test_the_checks_see_an_offending_chain(tmp_path):
    # The hook names who imported what: a formats-like package importing the compiler's types.
    pkg = tmp_path / "boundary_probe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("import kt.compiler.types\n")
    out = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n" + _PROBE,
                          "boundary_probe"], capture_output=True, text=True, check=True)
    importer = json.loads(out.stdout)["importer"]
    assert _chain("kt.compiler.types", importer).startswith("kt.compiler.types <- boundary_probe.b")
