"""The compiler's entry point: source text -> ELF bytes, stopping after the first failing stage."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from . import elf
from .ast import Program
from .formats.btf import vmlinux_reads
from .codegen.module import BPF_STACK_LIMIT, build_module
from .deep_stack import deep_stack
from .diagnostics import DiagnosticSink
from .options import CompileOptions
from .parse import parse
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
    program = parse(source)
    sink = DiagnosticSink()
    sema = analyse(program, options, sink)
    sink.raise_if_errors(source)
    return program, sema, sink


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
    program, sema, sink = check(source, options)
    resources = plan(sema, options.ringbuf_pages, options.map_keys_max)
    module, too_big = build_module(sema, resources, options, source, btf_reads)
    for use in too_big:
        sink.error(use.probe.span, f"{use.name} needs about {use.bytes} bytes of BPF stack; the kernel allows "
                   f"{BPF_STACK_LIMIT}", "strings take 16 (comm) or 64 (str()) bytes each, and a struct or tuple "
                   "its whole size: use fewer in one probe, shorter strings with str(ptr, n), or members "
                   "instead of whole structs")
    sink.raise_if_errors(source)
    optimized = elf.optimize(module)
    obj = elf.emit_object(optimized)
    warnings = tuple(d for d in sink.items if d.severity == "warning")
    return Compiled(source, program, sema, resources, str(optimized), obj, warnings, module)
