"""compiler/codegen/chunks.py and compiler/size_limits.py on compiled objects (no kernel):
long bodies become subprograms small enough for BPF jumps, and what LLVM cannot encode is a
diagnostic, not an abort of the compiler's process."""

from __future__ import annotations


from kt.compiler import size_limits
from kt.compiler.codegen import chunks

PRINTFS = "BEGIN {\n" + 'printf("%d\\n", 1);\n' * 3000 + "exit();\n}\n"


def test_a_long_body_is_split_into_functions_below_the_jump_range(compile_text):
    c = compile_text(PRINTFS)
    sizes = size_limits.program_sizes(c.elf)
    insns, funcs = sizes["BEGIN"]
    assert funcs > 1
    per_function = size_limits.ir_sizes(c.ir)
    assert all(n < size_limits.JUMP_RANGE for n in per_function.values())
    assert insns > size_limits.JUMP_RANGE   # more than one function could hold


def test_a_small_body_stays_one_function(compile_text):
    c = compile_text('BEGIN { printf("%d\\n", 1); exit(); }')
    assert size_limits.program_sizes(c.elf)["BEGIN"][1] == 1


def test_an_abort_in_llvm_is_a_diagnostic(errors, monkeypatch):
    """Without chunking, 3,000 printfs make LLVM abort ("Branch target out of insn range"):
    the object is emitted in a child process, whose death becomes this message."""
    monkeypatch.setattr(chunks, "CHUNK_THRESHOLD", 10**9)
    monkeypatch.setattr("kt.compiler.codegen.probe.CHUNK_THRESHOLD", 10**9)
    assert errors(PRINTFS) == (
        "t.kt:1:1: error: BEGIN is too large to compile: one of its statements is longer than a BPF jump "
        "reaches (32,767 instructions)\n"
        "BEGIN {\n"
        "^~~~~~~\n"
        "hint: kt splits long blocks into subprograms, but not one statement or expression: split it, "
        "or move part of the work to another probe")


def test_the_estimate_counts_unrolled_bodies_once_per_iteration(analyse):
    program, sema, _ = analyse('BEGIN { unroll(10) { printf("%d\\n", 1); } }')
    body = program.probes[0].body
    unrolled = body.stmts[0]
    assert chunks.estimate(body, sema.types) == chunks._NODE_COST + 10 * chunks.estimate(unrolled.body, sema.types)
