"""kt.compile, kt.load and the Object they return (docs/api.md "Compile, save, load").

Why the compiler is imported inside compile(): an Object is only its ELF bytes (the one
interface between compiler and runtime), so loading and tracing one must not need llvmlite
or lark; `kt.load` validates the bytes with the runtime's own object reader.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .errors import CompileError, Diagnostic, Error, ObjectError


@dataclass(frozen=True, eq=False)
class Object:
    """A compiled kt object: `elf` is what `kt --emit-elf` writes and what the runtime loads."""
    elf: bytes = field(repr=False)
    name: str = "object"
    source: str | None = field(default=None, repr=False)   # what kt.compile was given
    args: tuple[str, ...] = ()   # kt.compile's args: kt.trace's default ones
    warnings: tuple[Diagnostic, ...] = ()   # the compile's warnings (kt prints them on stderr)

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "wb") as f:
            f.write(self.elf)


def compile(source: str, *, name: str = "script.kt", args=()) -> Object:   # noqa: A001 (kt.compile)
    """Compile a script for this machine; raises CompileError with its diagnostics."""
    from ...compiler.diagnostics import CompileError as CompilerError
    from ...compiler.driver import compile_source
    from ...compiler.options import CompileOptions
    from ...compiler.preprocess import HeaderError, include_headers
    from ...compiler.source import SourceFile
    from ..cli_env import EnvError, read_environment, ring_pages
    from ..machine_facts import machine_facts
    from ..tracefs import TracefsError, tracefs_root

    args = tuple(str(a) for a in args)
    try:
        text = include_headers(source, os.path.dirname(name) or ".")
    except (HeaderError, OSError) as err:
        raise CompileError(str(err)) from None
    try:
        root = str(tracefs_root())
    except (TracefsError, OSError) as err:
        raise Error(f"tracefs is not available: {err}") from None
    try:   # BPFTRACE_STRLEN, BPFTRACE_MAP_KEYS_MAX, KT_RB_PAGES, ...: as for the kt command
        env = read_environment()
        rb_pages = ring_pages(env, os.environ.get("KT_RB_PAGES"))
    except EnvError as err:
        raise Error(str(err)) from None
    src = SourceFile.of(name, text)
    options = CompileOptions(positional=args, tracefs=root, source_name=name, ringbuf_pages=rb_pages,
                             strlen=env.strlen, map_keys_max=env.map_keys_max, **machine_facts())
    try:
        compiled = compile_source(src, options)
    except CompilerError as err:
        raise CompileError(err.render(), tuple(_diagnostic(err.source, d) for d in err.diagnostics)) from None
    warnings = tuple(_diagnostic(src, w) for w in compiled.warnings)
    return Object(compiled.elf, name, source, args, warnings)


def _diagnostic(source, d) -> Diagnostic:
    line, column = source.line_col(d.span.start)
    return Diagnostic(d.severity, source.name, line, column, d.message, tuple(d.hints))


def load(path_or_bytes) -> Object:
    """An object from a file or its bytes, checked: ObjectError when kt cannot run it."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        elf, name = bytes(path_or_bytes), "object"
    else:
        with open(path_or_bytes, "rb") as f:
            elf = f.read()
        name = os.fspath(path_or_bytes)
    check_object(elf, name)
    return Object(elf, name)


def check_object(elf: bytes, name: str = "object") -> None:
    """What the runtime needs of an object, read before anything reaches the kernel (the
    checks of `kt out.o`, runtime/object_file.py: ELF, BPF, kt's .kt.meta, its format
    version and schema, the kernel BTF and tracepoint layouts it was built for)."""
    from ..object_file import ObjectFileError, read_object
    from ..tracefs import TracefsError, tracefs_root
    try:
        tracefs = str(tracefs_root())
    except (TracefsError, OSError):
        tracefs = None      # the layouts are not checked; attaching will say what is missing
    try:
        read_object(name, elf, tracefs)
    except ObjectFileError as err:
        raise ObjectError(str(err)) from None
