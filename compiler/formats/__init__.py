"""What the compiler and the runtime both read: ELF files and symbols, BTF, USDT notes, tracefs
formats, perf event names, printf formats, event ids, the probe-kind and iterator name tables.

The rule (DESIGN rule 7, tests/runtime/test_boundary.py): modules here import only the standard
library, pyelftools and one another, never llvmlite, lark nor any other kt.compiler module, so
the runtime (which imports nothing else of the compiler) runs an object without the compiler.
"""
