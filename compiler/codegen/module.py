"""Codegen for a whole script: one llvmlite module holding every program, map and the metadata.

Why here and not in elf.py: this builds IR only (target independent apart from the triple);
elf.py optimizes it and writes the object.
"""

from __future__ import annotations

import json
from pathlib import Path
from dataclasses import dataclass

from llvmlite import ir

from .. import ast
from ..formats.btf import vmlinux_reads
from ..formats.meta import KernelBtf, tracepoint_layout_digest
from ..objects import RODATA_SECTION, RUNTIME_VALUES
from ..options import CompileOptions
from ..source import SourceFile
from ..passes.resources import ResourcePlan
from ..passes.semantic import Semantics
from .debuginfo import DebugInfo
from .maps import define_map, event_map_defs, usdt_map_defs, user_map_def
from .probe import I1, I8, I8P, I32, I64, ProbeCodegen

TRIPLE = "bpfel-unknown-none"
DATALAYOUT = "e-m:e-p:64:64-i64:64-i128:128-n32:64-S128"
META_SECTION = ".kt.meta"


def _intrinsics(module: ir.Module) -> dict[str, ir.Function]:
    memset = ir.Function(module, ir.FunctionType(ir.VoidType(), [I8P, I8, I64, I1]), "llvm.memset.p0.i64")
    memcpy = ir.Function(module, ir.FunctionType(ir.VoidType(), [I8P, I8P, I64, I1]), "llvm.memcpy.p0.p0.i64")
    return {"memset": memset, "memcpy": memcpy}


BPF_STACK_LIMIT = 512


# LLVM's BTF writer looks each string up by a linear scan of those it has (BTFStringTable::
# addString), and a line's text is one string: 20,000 distinct lines cost ~20 s of emission.
# Longer scripts embed blank lines instead: the line numbers stay, the verifier log then
# names FILE:LINE without quoting it (runtime/load_errors.py prints either).
QUOTED_LINES_MAX = 2000


def _embedded_source(text: str) -> str:
    lines = text.count("\n")
    return text if lines <= QUOTED_LINES_MAX else "\n" * lines


def _runtime_values(module: ir.Module, di: DebugInfo, sema: Semantics) -> dict[str, ir.GlobalVariable]:
    """The `.rodata` u64s the runtime fills (objects.RUNTIME_VALUES), only those the script
    uses: an object without them has no `.rodata` map to create."""
    used = {n.name for n in sema.types if isinstance(n, ast.Builtin) and n.name in RUNTIME_VALUES}
    out = {}
    for builtin in sorted(used):
        name = RUNTIME_VALUES[builtin]
        gv = ir.GlobalVariable(module, I64, name)
        gv.initializer = ir.Constant(I64, 0)
        gv.global_constant = True   # read with volatile loads, so LLVM does not fold the 0
        gv.section = RODATA_SECTION
        gv.align = 8
        di.global_var(gv, name, di.basic("unsigned long", 64, "DW_ATE_unsigned"))
        out[name] = gv
    return out


def _positional_slots(module: ir.Module, di: DebugInfo, sema: Semantics) -> dict[str, ir.GlobalVariable]:
    """The `.rodata` slots of $N and $# (compiler/positionals.py): u64s, and char arrays for
    str($N), filled by the runtime from the run's arguments."""
    out = {}
    for slot in sema.positionals.slots:
        if slot.kind in ("str", "opt_str"):
            t = ir.ArrayType(I8, slot.size)
            dt = di.array(di.basic("char", 8, "DW_ATE_signed_char"), 8, slot.size)
        else:
            t, dt = I64, di.basic("unsigned long", 64, "DW_ATE_unsigned")
        gv = ir.GlobalVariable(module, t, slot.symbol)
        gv.initializer = ir.Constant(t, None)
        gv.global_constant = True   # read with volatile loads and copies, as _runtime_values'
        gv.section = RODATA_SECTION
        gv.align = 8
        di.global_var(gv, slot.symbol, dt)
        out[slot.symbol] = gv
    return out


def _tracepoint_layouts(sema: Semantics, tracefs: str) -> tuple[tuple[str, str], ...]:
    """The record layout of each tracepoint a program attaches to, for .kt.meta: an object
    run on another kernel whose format moved a field is refused (runtime/object_file.py)."""
    out = {}
    for _, resolved in sema.probes:
        for r in resolved:
            if r.kind != "tracepoint" or not tracefs:
                continue
            cat, name = r.attach["category"], r.attach["name"]
            try:
                text = (Path(tracefs) / "events" / cat / name / "format").read_text()
            except OSError:
                continue
            out[f"{cat}:{name}"] = tracepoint_layout_digest(text)
    return tuple(sorted(out.items()))


def _chunk_scopes(di: DebugInfo, source: SourceFile):
    """(chunk function, line) -> its span -> DILocation maker (codegen/chunks.py)."""
    def new_scope(fn: ir.Function, line: int, args: tuple[str, ...] = ("ctx", "frame", "target")):
        scope = di.subprogram(fn, line, args, local=True)
        return lambda span: di.location(scope, *source.line_col(span.start))
    return new_scope


@dataclass(frozen=True, slots=True)
class StackUse:
    probe: ast.Probe
    name: str
    bytes: int


def build_module(sema: Semantics, plan: ResourcePlan, options: CompileOptions,
                 source: SourceFile, btf_reads: int | None = None) -> tuple[str, list[StackUse]]:
    """The module's IR text, and the probes whose stack buffers exceed the BPF limit (LLVM
    would abort on them). `btf_reads`: formats.btf.vmlinux_reads() when the compilation
    began (None: now)."""
    if btf_reads is None:
        btf_reads = vmlinux_reads()
    module = ir.Module(name=options.source_name)
    module.triple = TRIPLE
    module.data_layout = DATALAYOUT
    di = DebugInfo(module, options.source_name, _embedded_source(source.text))

    map_globals: dict[str, ir.GlobalVariable] = {}
    defs = event_map_defs(di, plan.ringbuf_bytes, plan.scratch_size, plan.stack_limits, plan.control,
                          len(plan.full_maps), options.helper_checks == 1)
    for d in defs + [user_map_def(di, p) for p in plan.maps.values()]:
        map_globals[d.bpf_name] = define_map(module, di, d)
    if any(r.kind == "usdt" for _, rs in sema.probes for r in rs):   # for libbpf's usdt attach
        for d in usdt_map_defs(di):
            define_map(module, di, d)

    lic = ir.GlobalVariable(module, ir.ArrayType(I8, 4), "LICENSE")
    lic.initializer = ir.Constant(ir.ArrayType(I8, 4), bytearray(b"GPL\0"))
    lic.section = "license"
    lic.global_constant = True
    di.global_var(lic, "LICENSE", di.array(di.basic("char", 8, "DW_ATE_signed_char"), 8, 4))
    map_globals.update(_runtime_values(module, di, sema))
    map_globals.update(_positional_slots(module, di, sema))
    di.finish()

    intrinsics = _intrinsics(module)
    too_big: list[StackUse] = []
    helper_sites: list[dict] = []   # -k/-kk: checked helper calls (ProbeCodegen.check_helper)
    bases = iter(plan.probe_bases)
    for probe, resolved_list in sema.probes:
        for resolved in resolved_list:
            probe_base = next(bases)
            fn = ir.Function(module, ir.FunctionType(I32, [I8P]), resolved.program)
            fn.section = resolved.section
            fn.attributes.add("nounwind")
            fn.args[0].name = "ctx"
            line, _ = source.line_col(probe.span.start)
            scope = di.subprogram(fn, line)
            cg = ProbeCodegen(module, fn, probe, resolved, sema, plan, options, map_globals, intrinsics,
                              lambda span, scope=scope: di.location(scope, *source.line_col(span.start)),
                              probe_base, source, helper_sites, _chunk_scopes(di, source))
            cg.generate()
            if cg.stack_bytes > BPF_STACK_LIMIT:
                too_big.append(StackUse(probe, resolved.name, cg.stack_bytes))

    # Kernel BTF read while compiling (struct offsets, comm, TS_COMPAT, kfuncs): the object
    # records which BTF, and the runtime refuses it on a kernel whose BTF differs.
    kernel_btf = KernelBtf.of_running_kernel() if vmlinux_reads() > btf_reads else None
    object_meta = plan.to_meta(sema, options.source_name, tuple(helper_sites), kernel_btf,
                               _tracepoint_layouts(sema, options.tracefs), options.helper_checks == 1)
    meta = json.dumps(object_meta.to_json(), separators=(",", ":")).encode()
    meta_t = ir.ArrayType(I8, len(meta))
    gv = ir.GlobalVariable(module, meta_t, "kt_meta")
    gv.initializer = ir.Constant(meta_t, bytearray(meta))
    gv.global_constant = True
    gv.section = META_SECTION
    return di.patch_text(str(module)), too_big
