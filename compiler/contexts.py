"""Probe contexts: ONE record per kind of context a BPF program receives.

Why a module: `arg0`, `retval`, `args` and `args->field` mean different things in a kprobe
(registers in struct pt_regs), a kfunc (an array of u64 arguments), a tracepoint (the record
its format file describes) or a USDT probe (wherever each site's note says). The probe kind's
resolver gives each program one of these objects; the builtins, the semantic pass and codegen
ask it for types and lowerings instead of branching on the probe kind (DESIGN rule 4, ply's
provider). Each context also says which address space pointers made from its integers point
into: user memory for uprobes and USDT, kernel memory elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvmlite import ir

from . import ast, kernel_types
from .diagnostics import did_you_mean
from .helpers import Helper
from .formats.tracepoints import TracepointFormat
from .codegen.places import CTX, Place
from .types import KERNEL, USER, Args, Array, Int, Ptr, Record, S64, Str, Type, U64, Void

if TYPE_CHECKING:  # pragma: no cover
    from .codegen.probe import ProbeCodegen
    from .passes.semantic import Checker

I32 = ir.IntType(32)
I64 = ir.IntType(64)
_MASK = 0xFFFFFFFFFFFFFFFF

# x86-64 struct pt_regs offsets (kernel-facts §5): the first six integer arguments and the
# return value, as kprobes, uprobes and perf events see the registers.
PT_REGS_ARGS = (112, 104, 96, 88, 72, 64)   # di, si, dx, cx, r8, r9
PT_REGS_RET = 80                            # ax
PT_REGS_SP = 152                            # sp


@dataclass(frozen=True, slots=True)
class FuncArg:
    """One argument of a kfunc (from kernel BTF): its index in the u64 ctx array and type."""
    name: str
    index: int
    size: int
    signed: bool
    pointer: bool
    type_id: int = 0   # its BTF type: a pointer to a struct becomes a `->`-able Ptr


class ProbeContext:
    """No arguments at all: BEGIN and END run in kt's own task through BPF_PROG_TEST_RUN."""

    kind = "none"
    space = KERNEL         # where an integer cast to a pointer points
    retprobe = False
    # What the program returns wherever the probe ends (its end, `return`, a false predicate,
    # exit()): 0, except in packet programs, whose return value is a verdict on the packet
    # (compiler/packet_probes.py). `verdicts`: what drop()/pass() return, where they exist.
    default_return = 0
    verdicts: dict[str, int] = {}

    def prologue(self, cg: "ProbeCodegen") -> None:
        """Code at the program's start, before the predicate (iter: leave the end-of-walk call)."""

    # -- arg0..argN ---------------------------------------------------------------------
    def arg_type(self, checker: "Checker", node: ast.Builtin, index: int) -> Type | None:
        checker.sink.error(node.span, f"'{node.name}' is not available in {checker.current_probe.name}",
                           "use args->FIELD in tracepoints" if checker.current_probe.kind == "tracepoint" else
                           f"{node.name} is an argument of a kprobe, uprobe or USDT probe")
        return None

    def lower_arg(self, cg: "ProbeCodegen", index: int) -> ir.Value:
        raise AssertionError("arg_type refused it")

    # -- retval -------------------------------------------------------------------------
    def retval_type(self, checker: "Checker", node: ast.Builtin) -> Type | None:
        checker.sink.error(node.span, f"'retval' is only available in return probes, not in "
                           f"{checker.current_probe.name}",
                           "kretprobe, uretprobe and kretfunc see the return value")
        return None

    def lower_retval(self, cg: "ProbeCodegen") -> ir.Value:
        raise AssertionError("retval_type refused it")

    # -- args, args->field --------------------------------------------------------------
    def args_type(self, checker: "Checker", node: ast.Builtin) -> Type | None:
        checker.sink.error(node.span, f"'args' is not available in {checker.current_probe.name}",
                           "args is the record of a tracepoint, or a kfunc's arguments; "
                           "kprobes and uprobes have arg0..arg5")
        return None

    def field_type(self, checker: "Checker", e: ast.Field) -> Type | None:
        raise AssertionError("args_type refused it")

    def lower_field(self, cg: "ProbeCodegen", e: ast.Field) -> ir.Value:
        raise AssertionError("field_type refused it")

    def field_place(self, cg: "ProbeCodegen", e: ast.Field):
        """Where an `args->field` that is an array lies (codegen indexes it there), or None."""
        return None

    # -- ctx ----------------------------------------------------------------------------
    def ctx_type(self, checker: "Checker") -> Type:
        return Ptr(Void(), KERNEL)

    # -- reg("name"), sarg0..sargN ------------------------------------------------------
    def reg_type(self, checker: "Checker", call: ast.Call) -> Type | None:
        checker.sink.error(call.span, f'reg can not be used with "{_kind_label(checker)}" probes')
        return None

    def lower_reg(self, cg: "ProbeCodegen", offset: int) -> ir.Value:
        raise AssertionError("reg_type refused it")

    def sarg_type(self, checker: "Checker", node: ast.Builtin, index: int) -> Type | None:
        checker.sink.error(node.span, f"The {node.name} builtin can only be used with 'kprobes' and 'uprobes' probes",
                           "stack arguments are read at function entry (not in return probes)")
        return None

    def lower_sarg(self, cg: "ProbeCodegen", index: int) -> ir.Value:
        raise AssertionError("sarg_type refused it")


def _kind_label(checker: "Checker") -> str:
    """The probe type as 0.17 names it in messages: "BEGIN", "tracepoint", ..."""
    kind = checker.current_probe.kind
    return kind.upper() if kind in ("begin", "end") else kind


NO_CONTEXT = ProbeContext()


class RegsContext(ProbeContext):
    """struct pt_regs: kprobes, uprobes and perf events. Arguments are registers (x86-64
    calling convention), the return value is ax."""

    kind = "pt_regs"

    def __init__(self, space: str = KERNEL, retprobe: bool = False, stack_args: bool = False):
        self.space = space
        self.retprobe = retprobe
        self.stack_args = stack_args and not retprobe   # kprobe/uprobe entry: sarg0..sargN

    def reg_type(self, checker, call):
        return U64

    def lower_reg(self, cg, offset):
        return cg.ctx_u64(offset)

    def sarg_type(self, checker, node, index):
        if not self.stack_args:
            return super().sarg_type(checker, node, index)
        return U64

    def lower_sarg(self, cg, index):
        # At a function's first instruction sp points at the return address; the stack
        # arguments follow it (System V x86-64), in the traced task's memory (user memory in
        # a uprobe), so sargN is the u64 at sp + 8 * (N + 1).
        sp = cg.ctx_u64(PT_REGS_SP)
        addr = cg.b.add(sp, ir.Constant(I64, 8 * (index + 1)))
        return cg.load(Place(self.space, addr), U64)

    def ctx_type(self, checker):
        regs = checker.scope.struct("struct", "pt_regs")   # the registers are kernel memory
        return Ptr(Record(regs, KERNEL) if regs is not None else Void(), KERNEL)

    def arg_type(self, checker, node, index):
        if self.retprobe:   # the argument registers are clobbered by the time the function returns
            checker.sink.error(node.span, f"'{node.name}' is not available in a return probe "
                               f"({checker.current_probe.name})",
                               f"save it in the entry probe (@{node.name}[tid] = {node.name}) and read it here")
            return None
        return S64  # signed, as in bpftrace: arg0 of do_sys_openat2 prints -100 (AT_FDCWD)

    def lower_arg(self, cg, index):
        return cg.ctx_u64(PT_REGS_ARGS[index])

    def retval_type(self, checker, node):
        if not self.retprobe:
            return super().retval_type(checker, node)
        return S64

    def lower_retval(self, cg):
        return cg.ctx_u64(PT_REGS_RET)


class UsdtContext(RegsContext):
    """A USDT probe: a uprobe at each site, whose arguments are wherever the site's note says
    (a register, a constant, memory). `sites` is, per target, its argument specs (or the text
    of why kt cannot read them) and its pc."""

    kind = "usdt"

    def __init__(self, sites: tuple):
        super().__init__(space=USER)
        self.sites = sites

    def arg_type(self, checker, node, index):
        name = checker.current_probe.name
        sites = [args for args, _pc in self.sites]
        bad = next((a for a in sites if isinstance(a, str)), None)
        if bad is not None:
            checker.sink.error(node.span, f"cannot read the arguments of {name}: {bad}")
            return None
        if any(a.symbol and a.symbol_vaddr is None for site in sites for a in site):
            checker.sink.error(node.span, f"an argument of {name} names a symbol the binary does not define")
            return None
        count = min(len(a) for a in sites)
        if index >= count:
            checker.sink.error(node.span, f"{name} has {count} argument{'s' if count != 1 else ''}"
                               f"; '{node.name}' is not one of them")
            return None
        return Int(64, all(a[index].signed for a in sites))

    def lower_arg(self, cg, index):
        specs = [(site[index], pc) for site, pc in self.sites]
        if len(specs) == 1:
            return self._value(cg, *specs[0])
        # Every site's value is computed, then the cookie selects one: no branches, because the
        # verifier wants context loads at constant offsets and LLVM merges branchy ones.
        cookie = cg.helper(Helper.get_attach_cookie, cg.ctx)
        result = ir.Constant(I64, 0)
        for site, (spec, pc) in enumerate(specs):
            chosen = cg.b.icmp_unsigned("==", cookie, ir.Constant(I64, site))
            result = cg.b.select(chosen, self._value(cg, spec, pc), result)
        return result

    @staticmethod
    def _value(cg: "ProbeCodegen", spec, pc: int) -> ir.Value:
        from .formats.usdt import PT_REGS_OFFSET

        b = cg.b
        if spec.kind == "imm":
            return ir.Constant(I64, spec.value & _MASK)
        if spec.kind == "reg":
            raw = cg.ctx_u64(PT_REGS_OFFSET[spec.reg])
        else:  # memory: disp(%reg[,%index,scale]) or a global symbol(%rip), in the traced process
            if spec.symbol:
                # The symbol's run-time address: the load bias (where the site really is, the
                # uprobe's ip minus the int3, against its link-time pc) plus its link-time address.
                ip = cg.ctx_u64(PT_REGS_OFFSET["rip"])
                addr = b.add(ip, ir.Constant(I64, (spec.symbol_vaddr + spec.value - pc - 1) & _MASK))
            elif spec.reg:
                addr = b.add(cg.ctx_u64(PT_REGS_OFFSET[spec.reg]), ir.Constant(I64, spec.value & _MASK))
            else:
                addr = ir.Constant(I64, spec.value & _MASK)
            if spec.index_reg:
                idx = cg.ctx_u64(PT_REGS_OFFSET[spec.index_reg])
                addr = b.add(addr, b.mul(idx, ir.Constant(I64, spec.scale)))
            return cg.load(Place(USER, addr), Int(spec.size * 8, spec.signed))
        if spec.size == 8:
            return raw
        narrow = b.trunc(raw, ir.IntType(spec.size * 8))
        return b.sext(narrow, I64) if spec.signed else b.zext(narrow, I64)


class ArgsArrayContext(ProbeContext):
    """An array of u64 arguments: raw tracepoints (argN are the tracepoint's raw arguments)
    and kfunc/kretfunc (BTF trampolines: `args->name` by the function's parameter names, and
    the return value after the arguments)."""

    kind = "u64_array"

    def __init__(self, func_args: tuple[FuncArg, ...] | None = None, retval_index: int = -1):
        self.func_args = func_args          # None: a raw tracepoint, which has no names
        self.retval_index = retval_index
        self.retprobe = retval_index >= 0

    def arg_type(self, checker, node, index):
        return S64

    def lower_arg(self, cg, index):
        return cg.ctx_u64(8 * index)

    def retval_type(self, checker, node):
        if not self.retprobe:
            return super().retval_type(checker, node)
        return S64

    def lower_retval(self, cg):
        return cg.ctx_u64(8 * self.retval_index)

    def args_type(self, checker, node):
        if self.func_args is None:
            return super().args_type(checker, node)
        return Args(checker.current_probe.name)

    def field_type(self, checker, e):
        probe = checker.current_probe
        arg = next((a for a in self.func_args if a.name == e.name), None)
        if arg is None:
            names = [a.name for a in self.func_args]
            checker.sink.error(e.name_span, f"{probe.target} has no argument '{e.name}'",
                               did_you_mean(e.name, names) or f"its arguments are: {', '.join(names) or 'none'}")
            return None
        if arg.type_id:
            try:
                t = kernel_types.type_of(arg.type_id)
            except (kernel_types.KernelTypeError, OSError, ValueError) as err:
                checker.sink.error(e.name_span, f"argument '{e.name}': {err}")
                return None
            if isinstance(t, (Int, Ptr)):
                return t
            checker.sink.error(e.name_span, f"argument '{e.name}' ({t}) passed by value is not supported")
            return None
        return Int(64, arg.signed and not arg.pointer)

    def lower_field(self, cg, e):
        arg = next(a for a in self.func_args if a.name == e.name)
        raw = cg.ctx_u64(8 * arg.index)
        if arg.size >= 8 or arg.pointer:
            return raw
        narrow = cg.b.trunc(raw, ir.IntType(arg.size * 8))
        return cg.b.sext(narrow, I64) if cg.types[e].signed else cg.b.zext(narrow, I64)


class TracepointContext(ProbeContext):
    """A tracepoint's record, laid out as its tracefs format file says: `args->field`."""

    kind = "tracepoint"

    def __init__(self, fmt: TracepointFormat):
        self.format = fmt

    def args_type(self, checker, node):
        return Args(checker.current_probe.name)

    def _field(self, name: str):
        return self.format.fields.get(name) or self.format.common.get(name)

    def field_type(self, checker, e):
        fmt = self.format
        field = self._field(e.name)
        if field is None:
            checker.sink.error(e.name_span, f"tracepoint {fmt.category}:{fmt.name} has no field '{e.name}'",
                               did_you_mean(e.name, list(fmt.fields)) or
                               f"its fields are: {', '.join(fmt.fields) or 'none'}")
            return None
        if field.char_array:
            return Str(field.char_array)
        if field.data_loc:
            return Str(checker.options.strlen)
        array = _array_field(field)
        if array is not None:
            return array
        if field.size not in (1, 2, 4, 8):
            checker.sink.error(e.name_span, f"field '{e.name}' ({field.c_decl}) of {field.size} bytes is not supported")
            return None
        struct = re.match(r"(?:const\s+)?(struct|union)\s+(\w+)\s*\*\s*\w+$", field.c_decl)
        if struct and field.pointer:   # `struct __kernel_timespec * rqtp`: followed through BTF
            try:
                return kernel_types.struct_pointer(struct.group(2), struct.group(1))
            except (kernel_types.KernelTypeError, OSError, ValueError):
                pass   # no BTF for it: an address, as any pointer
        return Int(64, field.signed or c_signed(field.c_decl))

    def field_place(self, cg, e):
        f = self._field(e.name)
        return Place(CTX, cg.offset(cg.expr(e.base), f.offset))

    def lower_field(self, cg, e):
        f = self._field(e.name)
        t = cg.types[e]
        if f.data_loc:   # a u32 `len << 16 | offset` of a string inside the record
            b = cg.b
            base = cg.expr(e.base)
            loc = b.load(b.bitcast(cg.offset(base, f.offset), I32.as_pointer()))
            off = b.zext(b.and_(loc, ir.Constant(I32, 0xFFFF)), I64)
            buf = cg.stack(t.size, e.name)
            cg.memset0(buf, t.size)
            cg.helper(Helper.probe_read_kernel_str, buf, ir.Constant(I64, t.size), b.gep(base, [off]))
            return buf
        if isinstance(t, Int):   # the field's own width, extended as the C type says
            t = Int(f.size * 8, t.signed)
        return cg.load(self.field_place(cg, e), t)


_ARRAY = re.compile(r"^(?P<words>[\w\s]+?)\s+\w+\s*\[(?P<n>\d+)\]$")


def _array_field(field) -> Array | None:
    """`unsigned long args[6]` (raw_syscalls:sys_enter): an array of integers, its element
    size from the format's total size."""
    m = _ARRAY.match(field.c_decl.strip())
    if not m or not int(m["n"]):
        return None
    n = int(m["n"])
    elem = field.size // n
    if elem not in (1, 2, 4, 8) or elem * n != field.size:
        return None
    words = m["words"].split()
    signed = "unsigned" not in words and not any(w.startswith(("u", "__u")) for w in words)
    return Array(Int(elem * 8, signed), n)


_SIGNED_C = {"int", "long", "short", "char", "s8", "s16", "s32", "s64", "pid_t", "ssize_t", "loff_t",
             "long long", "signed", "__s8", "__s16", "__s32", "__s64", "off_t", "time64_t", "clockid_t"}


def c_signed(decl: str) -> bool:
    """Whether a tracefs declaration's C type is signed ('int dfd' is; 'unsigned int' is not).

    The format's own 'signed' flag is 0 for syscall arguments widened to 8 bytes, but bpftrace
    types them by their C declaration, so -100 (AT_FDCWD) prints as -100.
    """
    words = decl.replace("*", " * ").split()[:-1]
    if "*" in words or "unsigned" in words:
        return False
    words = [w for w in words if w not in ("const", "volatile", "signed")] or ["int"]
    return " ".join(words) in _SIGNED_C
