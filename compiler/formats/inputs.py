"""What a compilation read of the machine: files, directories, and whether it used a value of
this run. The runtime's object cache (runtime/cache.py) stores this list beside the object and
re-checks it before reusing the object.

Why an audit hook and not a report from each reader: the compiler reads tracefs formats,
BTF, ELF symbols, DWARF, USDT notes, ld.so.cache, /proc/kallsyms, available_filter_functions,
/proc/PID/maps... through a dozen modules and libraries (pyelftools). A reader that forgot to
report would make a cached object silently wrong, so every `open` (and directory listing) made
while recording is taken, including opens that fail (a file that did not exist must still not
exist). Checks made with stat alone are reported explicitly with `note_path`. Nothing here
imports llvmlite or lark.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field


@dataclass(slots=True)
class Inputs:
    files: set[str] = field(default_factory=set)       # opened (or tried) for reading
    dirs: set[str] = field(default_factory=set)        # listed (listdir, scandir, glob)
    run_dependent: str = ""                            # why the object is this run's only

    def note_run_dependent(self, reason: str) -> None:
        self.run_dependent = self.run_dependent or reason


_recording: Inputs | None = None
_hooked = False


def _python_roots() -> tuple[str, ...]:
    """Where Python's and kt's own code lives: files and directories the import system reads
    while compiling (modules imported lazily). They are no fact of the machine the object
    depends on (the cache key covers kt's sources)."""
    import site   # loaded at start-up already, unlike sysconfig
    here = os.path.dirname(os.path.abspath(__file__))            # kt's compiler/
    kt_root = os.path.dirname(here)
    roots = {os.path.join(kt_root, d) for d in ("compiler", "runtime", "grammar")}
    roots.add(os.path.dirname(os.__file__))                      # the standard library
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else ())
    if isinstance(getattr(site, "USER_SITE", None), str):
        roots.add(site.USER_SITE)
    return tuple(sorted(r.rstrip("/") + "/" for r in roots))


def _is_import_dir(path: str, roots: tuple[str, ...], sys_path: set[str]) -> bool:
    return (path in sys_path or (path + "/").startswith(roots)
            or os.path.exists(os.path.join(path, "__init__.py")))


_IMPORT_SUFFIXES = (".py", ".pyc")


def _hook(event: str, args: tuple) -> None:
    rec = _recording
    if rec is None:
        return
    if event == "open":
        path, mode, flags = args[0], args[1], args[2]   # open(): mode text; os.open(): flags
        if isinstance(path, int) or (isinstance(mode, str) and any(c in mode for c in "wax+")):
            return
        if isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            return
        rec.files.add(os.path.abspath(os.fsdecode(path)))
    elif event in ("os.listdir", "os.scandir"):
        path = args[0]
        if isinstance(path, int):
            return
        rec.dirs.add(os.path.abspath(os.fsdecode(path if path is not None else ".")))


class recording:
    """`with recording() as inputs:` collects what the code inside reads. Not reentrant."""

    def __enter__(self) -> Inputs:
        global _recording, _hooked
        if not _hooked:
            sys.addaudithook(_hook)   # cannot be removed: it does nothing outside a recording
            _hooked = True
        self.inputs = _recording = Inputs()
        return self.inputs

    def __exit__(self, *exc) -> None:
        global _recording
        _recording = None
        roots = _python_roots()
        sys_path = {os.path.abspath(p) for p in sys.path if p}
        tmp = tempfile.gettempdir().rstrip("/") + "/"
        self.inputs.files = {p for p in self.inputs.files
                             if not p.startswith(roots) and not p.endswith(_IMPORT_SUFFIXES)
                             and not (p.startswith(tmp) and os.path.basename(p).startswith((".lark", "lark")))}
        self.inputs.dirs = {p for p in self.inputs.dirs if not _is_import_dir(p, roots, sys_path)}


def note_path(path: str) -> None:
    """A file whose existence or identity the compiler checked with stat (not open)."""
    if _recording is not None:
        _recording.files.add(os.path.abspath(path))


def note_run_dependent(reason: str) -> None:
    """The object holds a value of this run (a watchpoint's -c child pid): not reusable."""
    if _recording is not None:
        _recording.note_run_dependent(reason)
