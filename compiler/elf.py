"""Object emission: optimize the module for the BPF target and write the ELF bytes.

cpu=v3 (kernel 5.1+) gives 32-bit jumps and ALU32; every kernel kt targets has it.
"""

from __future__ import annotations

import functools

from llvmlite import binding as llvm

from .codegen.module import TRIPLE


@functools.cache
def _target_machine() -> "llvm.TargetMachine":
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    target = llvm.Target.from_triple(TRIPLE)
    return target.create_target_machine(cpu="v3", opt=2, reloc="static", codemodel="small")


def optimize(ir_text: str) -> "llvm.ModuleRef":
    mod = llvm.parse_assembly(ir_text)
    mod.verify()
    tm = _target_machine()
    pto = llvm.create_pipeline_tuning_options(speed_level=2)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod


def emit_object(mod: "llvm.ModuleRef") -> bytes:
    return _target_machine().emit_object(mod)


def emit_assembly(mod: "llvm.ModuleRef") -> str:
    return _target_machine().emit_assembly(mod)
