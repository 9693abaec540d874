"""`kt out.o`: an object file read and checked before it runs, with one clear error.

Why a module: an object built elsewhere (by another kt, on another kernel, or not by kt) can
be wrong in ways a script never is, and a user should get one sentence naming the file and
the problem, not a traceback from the depths of the loader. The checks go from the outside
in, so each failure is named by the first thing that is wrong: not ELF, truncated, not BPF,
no `.kt.meta` (not built by kt), `.kt.meta` not JSON, a newer object format, a schema error,
then what the object depends on of the kernel it was built for (its BTF; its tracepoints'
record layouts). Imports nothing of the compiler but kt.compiler.formats and the ELF reader,
so running an object never loads llvmlite or lark.
"""

from __future__ import annotations

import json
import os

from ..compiler.formats.elffile import ElfError, ElfFile
from ..compiler.formats.meta import FORMAT_VERSION, KernelBtf, MetaError, ObjectMeta, tracepoint_layout_digest
from .spec import ObjectFormatError, ObjectSpec, parse_object
from .sys.constants import EM_BPF

ELF_MAGIC = b"\x7fELF"
META_SECTION = ".kt.meta"


class ObjectFileError(Exception):
    """What is wrong with an object file; the message starts with the file's name."""


def looks_like_object(path: str, head: bytes) -> bool:
    """Whether the CLI's script argument is meant as an object: ELF magic, or a `.o` name
    (so that a `.o` that is not ELF is reported as such, not parsed as a script)."""
    return head.startswith(ELF_MAGIC) or path.endswith(".o")


def read_object(path: str, data: bytes, tracefs: str | None = None) -> ObjectSpec:
    """The object's spec, checked for running on this machine; ObjectFileError otherwise.
    `tracefs`: where tracepoint formats are (None: the layouts are not checked)."""
    def fail(message: str) -> ObjectFileError:
        return ObjectFileError(f"{path}: {message}")

    if not data.startswith(ELF_MAGIC):
        raise fail("not an ELF object (kt runs scripts, and objects built by `kt --emit-elf`)")
    try:
        elf = ElfFile(bytes(data))
    except ElfError as err:
        raise fail(f"the object is truncated or corrupt ({err}; the file has {len(data)} bytes)") from None
    if elf.machine != EM_BPF:
        raise fail(f"not a BPF object: its ELF machine is {elf.machine}, not BPF ({EM_BPF})")
    sec = next((s for s in elf.sections if s.name == META_SECTION), None)
    if sec is None:
        raise fail(f"a BPF object without a {META_SECTION} section: it was not built by kt "
                   "(kt runs the objects it compiles; load others with libbpf or bpftool)")
    try:
        raw = json.loads(elf.section_data(sec).rstrip(b"\0").decode("utf-8"))
    except ElfError as err:
        raise fail(f"the object is truncated or corrupt ({err}; the file has {len(data)} bytes)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise fail(f"{META_SECTION} is not valid JSON ({err}): the object is corrupt") from None
    # The version first: a newer object may differ anywhere, and the version says why.
    version = raw.get("version") if isinstance(raw, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise fail(f"object format {version} is newer than this kt reads ({FORMAT_VERSION}): "
                   "rebuild with this kt or upgrade kt")
    try:
        meta = ObjectMeta.from_json(raw)
    except MetaError as err:
        raise fail(str(err)) from None
    try:
        spec = parse_object(data)
    except ObjectFormatError as err:
        text = str(err)
        if "not a valid ELF object" in text:
            text = f"the object is truncated or corrupt ({text}; the file has {len(data)} bytes)"
        raise fail(text) from None
    check_kernel(path, meta, tracefs)
    return spec


def check_kernel(path: str, meta: ObjectMeta, tracefs: str | None) -> None:
    """The object's dependencies on the kernel it was built for (docs/object-format.md,
    "Built for a kernel"): the BTF its compiler read, the tracepoint records it reads."""
    built = meta.kernel_btf
    if built is not None:
        here = KernelBtf.of_running_kernel()
        release = os.uname().release
        if here is None:
            raise ObjectFileError(f"{path}: built with the kernel BTF of {built.release or 'another kernel'}, and "
                                  "this kernel has no BTF (/sys/kernel/btf/vmlinux): rebuild it for this kernel")
        if here.sha256 != built.sha256:
            raise ObjectFileError(
                f"{path}: built for the kernel BTF of {built.release or 'another kernel'} "
                f"(sha256 {built.sha256[:16]}), but this kernel ({release}) has different BTF "
                f"(sha256 {here.sha256[:16]}): struct offsets may differ; rebuild the object on this kernel "
                "(kt --emit-elf)")
    if tracefs is None:
        return
    for event, digest in meta.tracepoint_layouts:
        cat, _, name = event.partition(":")
        try:
            with open(os.path.join(tracefs, "events", cat, name, "format")) as f:
                text = f.read()
        except OSError:
            continue   # attaching says that the tracepoint does not exist here
        if tracepoint_layout_digest(text) != digest:
            raise ObjectFileError(f"{path}: tracepoint {event}'s record layout differs from the one the object "
                                  "was built for: rebuild the object on this kernel (kt --emit-elf)")
