"""The compiler's entry point: source text -> ELF bytes, stopping after the first failing stage."""

from __future__ import annotations

import dataclasses
import gc
from dataclasses import dataclass

from . import elf, size_limits
from .ast import Program
from .formats.btf import vmlinux_reads
from .codegen.chunks import estimate
from .codegen.module import BPF_STACK_LIMIT, build_module
from .deep_stack import deep_stack
from .diagnostics import DiagnosticSink
from .config import script_config
from .map_decls import declared_maps
from .options import CompileOptions
from .macros import expand_macros, expansion_hint
from .parse import parse
from .scopes import resolve_scopes
from .passes.resources import ResourcePlan, plan
from .passes.semantic import Semantics, analyse
from .source import SourceFile


@dataclass(frozen=True, slots=True)
class Compiled:
    source: SourceFile
    program: Program
    semantics: Semantics
    plan: ResourcePlan
    ir: str              # optimized LLVM IR
    elf: bytes
    warnings: tuple
    original_ir: str = ""   # before optimisation (--emit-llvm's FILE.original.ll)

    def assembly(self) -> str:
        from llvmlite import binding as llvm
        return elf.emit_assembly(llvm.parse_assembly(self.ir))


@deep_stack
def check(source: SourceFile, options: CompileOptions) -> tuple[Program, Semantics, DiagnosticSink]:
    """Parse and analyse; raises CompileError with every error of the failing stage."""
    program, sema, sink, _, _ = _check(source, options)
    return program, sema, sink


def _check(source: SourceFile, options: CompileOptions):
    program = parse(source)
    sink = DiagnosticSink()
    settings = script_config(program, options, sink)   # the config block (bpftrace 0.20+)
    _raise_if_errors(sink, source, program)
    for stage in (expand_macros, resolve_scopes):
        stage(program, sink, source)
        _raise_if_errors(sink, source, program)
    sema = analyse(program, settings.options, sink)
    decls = declared_maps(program, sema, settings, sink) if not sink.errors else {}
    _raise_if_errors(sink, source, program)
    return program, sema, sink, settings, decls


def _raise_if_errors(sink: DiagnosticSink, source: SourceFile, program: Program) -> None:
    if program.macros:   # an error in a macro's expansion also names the call
        sink.items = [_in_expansion(d, source) for d in sink.items]
    sink.raise_if_errors(source)


def _in_expansion(d, source: SourceFile):
    hint = expansion_hint(source, d.span)
    return dataclasses.replace(d, hints=(*d.hints, hint)) if hint else d


@deep_stack
def compile_source(source: SourceFile, options: CompileOptions) -> Compiled:
    """Compile with Python's cyclic garbage collector paused: nearly every object a compile
    makes (AST, types, llvmlite IR) lives until it ends, so collections only rescan a growing
    heap (half of codegen's time for 10,000 statements); reference counting still frees."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _compile(source, options)
    finally:
        if collecting:
            gc.enable()


def _compile(source: SourceFile, options: CompileOptions) -> Compiled:
    btf_reads = vmlinux_reads()   # did this compilation read kernel BTF? (.kt.meta kernel_btf)
    program, sema, sink, settings, decls = _check(source, options)
    options = settings.options
    resources = plan(sema, options.ringbuf_pages, options.map_keys_max, source, decls, settings.run)
    _too_many_instructions(sema, sink, source)
    module, too_big = build_module(sema, resources, options, source, btf_reads)
    for use in too_big:
        sink.error(use.probe.span, f"{use.name} needs about {use.bytes} bytes of BPF stack; the kernel allows "
                   f"{BPF_STACK_LIMIT}", "strings take 16 (comm) or 64 (str()) bytes each, and a struct or tuple "
                   "its whole size: use fewer in one probe, shorter strings with str(ptr, n), or members "
                   "instead of whole structs")
    sink.raise_if_errors(source)
    optimized = elf.optimize(module)
    ir_text = str(optimized)
    obj = _emit(optimized, ir_text, sema, sink, source)
    warnings = tuple(d for d in sink.items if d.severity == "warning")
    return Compiled(source, program, sema, resources, ir_text, obj, warnings, module)


_INSNS_HINT = "move part of the work to other probes, or use smaller unroll counts"


def _too_many_instructions(sema: Semantics, sink: DiagnosticSink, source: SourceFile) -> None:
    """Probes far beyond the kernel's instruction limit, refused before codegen would spend
    minutes on them (nested unrolls multiply); the object's exact counts are checked later."""
    for probe, rs in sema.probes:
        est = estimate(probe.body, sema.types)
        if rs and est > 4 * size_limits.MAX_INSNS:
            sink.error(probe.span, f"{rs[0].name} would compile to about {est:,} BPF instructions; the kernel "
                       f"loads at most {size_limits.MAX_INSNS:,} in one program (BPF_COMPLEXITY_LIMIT_INSNS)",
                       _INSNS_HINT)
    sink.raise_if_errors(source)


def _emit(optimized, ir_text: str, sema: Semantics, sink: DiagnosticSink, source: SourceFile) -> bytes:
    """The object, or the diagnostics of a program too large for LLVM or the kernel
    (compiler/size_limits.py): never an abort."""
    probes = {r.program: (probe, r) for probe, rs in sema.probes for r in rs}
    sizes = size_limits.ir_sizes(ir_text)
    stacks = size_limits.ir_stacks(ir_text)
    largest = max(sizes, key=sizes.get, default=None)
    if largest is not None and (sizes[largest] > size_limits.GUARDED_ABOVE
                                or max(stacks.values()) > size_limits.STACK_GUARDED_ABOVE):
        obj = size_limits.emit_in_child(lambda: elf.emit_object(optimized))
        if isinstance(obj, size_limits.EmitFailure):
            culprit = size_limits.failed_function(obj) or largest
            probe, resolved = probes.get(size_limits.program_of(culprit), (sema.program.probes[0], None))
            sink.error(probe.span, *size_limits.failure_message(resolved.name if resolved else "the probe", obj))
            sink.raise_if_errors(source)
    else:
        obj = elf.emit_object(optimized)
    for program, (insns, funcs) in size_limits.program_sizes(obj).items():
        if program not in probes:
            continue
        probe, resolved = probes[program]
        if insns > size_limits.MAX_INSNS:
            sink.error(probe.span, f"{resolved.name} compiles to {insns:,} BPF instructions; the kernel loads at "
                       f"most {size_limits.MAX_INSNS:,} in one program (BPF_COMPLEXITY_LIMIT_INSNS)",
                       _INSNS_HINT)
        elif funcs > size_limits.MAX_SUBPROGS:
            sink.error(probe.span, f"{resolved.name} compiles to {funcs} functions; the kernel allows "
                       f"{size_limits.MAX_SUBPROGS} in one program (BPF_MAX_SUBPROGS)",
                       "move part of the work to other probes")
    sink.raise_if_errors(source)
    return obj
