"""The context of a uprobe: struct pt_regs as for every register probe (arg0..arg5, retval,
compiler/contexts.py's RegsContext), plus `args->name` / `args.name` from the binary's DWARF.

Why its own context: the names and types of a uprobe's arguments come from the traced binary's
debug info (compiler/dwarf.py), read only when a script uses `args`, so a uprobe on a binary
without DWARF costs nothing and fails only where `args` is written — with bpftrace 0.17's words,
"No debuginfo found for PATH". A parameter is read from its argument register and narrowed to
its DWARF type; pointers point into the traced process (USER).

Where kt does better than 0.17: a union pointer's members resolve (0.17: "does not contain a
field named"), integer parameters keep their signedness in comparisons and map keys (0.17
compares an int32 -5 as 4294967291), a parameter after a struct passed by value is read from
the register the ABI puts it in, a seventh integer parameter from the stack (0.17 fails to
compile: "array::at"), and a struct passed by value is read from the registers (or the stack
slot) it is passed in (0.17 prints zeros).
"""

from __future__ import annotations

from llvmlite import ir

from . import dwarf
from .codegen.places import LOCAL, Place
from .contexts import PT_REGS_ARGS, PT_REGS_SP, RegsContext
from .diagnostics import did_you_mean
from .types import U64, USER, Args, Int, Ptr

I64 = ir.IntType(64)


class UprobeContext(RegsContext):
    """`path`: the binary; `funcs`: the function of each target (several for a wildcard)."""

    kind = "uprobe"

    def __init__(self, path: str, funcs: tuple[str, ...], retprobe: bool = False):
        super().__init__(space=USER, retprobe=retprobe, stack_args=True)
        self.path = path
        self.funcs = funcs

    def _params(self, checker, span) -> dict[str, dwarf.Param] | None:
        """The parameters every target has alike, by name; None after an error."""
        found: dict[str, dwarf.Param] | None = None
        for func in self.funcs:
            try:
                params = dwarf.function_params(self.path, func)
            except dwarf.DwarfError as err:
                checker.sink.error(span, str(err))
                return None
            these = {p.name: p for p in params if p.name}
            if found is None:
                found = these
            else:   # a wildcard: only what each matched function has at the same place
                found = {n: p for n, p in found.items()
                         if n in these and (these[n].slot, these[n].type) == (p.slot, p.type)}
        return found or {}

    def args_type(self, checker, node):
        if self.retprobe:
            checker.sink.error(node.span, "the args builtin can only be used with tracepoint/kfunc/uprobe "
                                          "probes (uretprobe used here)",
                               "a uretprobe sees only retval; save the arguments in the uprobe")
            return None
        if self._params(checker, node.span) is None:
            return None
        return Args(checker.current_probe.name)

    def field_type(self, checker, e):
        params = self._params(checker, e.name_span)
        if params is None:
            return None
        p = params.get(e.name)
        what = self.funcs[0] if len(self.funcs) == 1 else f"every function {checker.current_probe.name} matches"
        if p is None:
            names = list(params)
            checker.sink.error(e.name_span, f"can't find function parameter '{e.name}' of {what}",
                               did_you_mean(e.name, names) or f"its parameters are: {', '.join(names) or 'none'}")
            return None
        if p.type is None:
            checker.sink.error(e.name_span, f"parameter '{e.name}' ({p.type_name}) has a type kt cannot read")
            return None
        if p.slot < 0 and p.stack < 0:
            checker.sink.error(e.name_span, f"parameter '{e.name}' ({p.type_name}) is passed in a vector "
                                            f"register, which kt cannot read")
            return None
        return p.type

    def _param(self, name: str) -> dwarf.Param:
        return next(q for q in dwarf.function_params(self.path, self.funcs[0]) if q.name == name)

    def field_place(self, cg, e):
        """Where a struct passed by value lies: its eightbytes copied from their registers to
        the BPF stack (rdi, rsi, ... are not adjacent in pt_regs), or its copy on the traced
        stack above the return address."""
        p = self._param(e.name)
        if not p.by_value:
            return None
        if p.slot < 0:
            sp = cg.ctx_u64(PT_REGS_SP)
            return Place(USER, cg.b.add(sp, ir.Constant(I64, 8 * (p.stack + 1))))
        size = cg.types[e].size
        n = (size + 7) // 8
        buf = cg.stack(8 * n, e.name)
        words = cg.b.bitcast(buf, I64.as_pointer())
        for k in range(n):
            cg.b.store(cg.ctx_u64(PT_REGS_ARGS[p.slot + k]), cg.b.gep(words, [ir.Constant(ir.IntType(32), k)]))
        return Place(LOCAL, buf)

    def lower_field(self, cg, e):
        t = cg.types[e]
        p = self._param(e.name)
        if p.by_value:
            return cg.load(self.field_place(cg, e), t)
        if p.slot < 0:
            # past the sixth integer argument: on the stack, above the return address that sp
            # points at on the function's first instruction (where a uprobe fires)
            sp = cg.ctx_u64(PT_REGS_SP)
            addr = cg.b.add(sp, ir.Constant(I64, 8 * (p.stack + 1)))
            return cg.load(Place(USER, addr), t if isinstance(t, Int) else U64)
        raw = cg.ctx_u64(PT_REGS_ARGS[p.slot])
        if isinstance(t, Ptr) or not isinstance(t, Int) or t.bits == 64:
            return raw
        narrow = cg.b.trunc(raw, ir.IntType(t.bits))
        return cg.b.sext(narrow, I64) if t.signed else cg.b.zext(narrow, I64)
