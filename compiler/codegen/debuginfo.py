"""Debug metadata for the BPF object, so that LLVM's BPF backend emits BTF.

LLVM writes `.BTF` only for a module with a DICompileUnit (kernel-facts §1), and libbpf reads a
BTF-defined map's type, size and key/value layout from the DWARF-derived BTF of its `.maps`
global: `int (*type)[N]` encodes N; `T *key` gives the key's size. This module builds those
descriptions; nothing here affects the instructions.
"""

from __future__ import annotations

import re

from llvmlite import ir

from ..types import Array, Int, Ptr, Record, Str, Sym, Tuple, Type

MAX_COLUMN = 0xFFFF   # DILocation: unsigned column : 16

I32 = ir.IntType(32)


def _utf8(text: str) -> str:
    """Text LLVM can take: a byte of the script that is no UTF-8 (a surrogate escape) becomes
    U+FFFD; the lines stay the same, so line info still quotes the right line."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class DebugInfo:
    def __init__(self, module: ir.Module, filename: str, source_text: str | None = None):
        self.m = module
        # With the script embedded (DWARF 5 `source:`), LLVM's BTF line info carries each
        # line's text, and the kernel's verifier log quotes the kt source it is complaining about.
        fields = {"filename": _utf8(filename), "directory": ""}
        if source_text is not None:
            fields["source"] = _utf8(source_text)
        self.file = module.add_debug_info("DIFile", fields)
        self._globals: list = []
        self._basic: dict[tuple[str, int, str], object] = {}
        self._arrays: dict[tuple, object] = {}
        self._retained: list[tuple[str, str]] = []
        self._locations: dict[tuple[int, int, int], ir.DIValue] = {}
        self.cu = None

    def finish(self) -> None:
        """Create the compile unit listing every global so far, and the module flags LLVM
        requires. Call after the globals and before the functions (their subprograms name it)."""
        self.cu = self.m.add_debug_info("DICompileUnit", {
            "language": ir.DIToken("DW_LANG_C99"),
            "file": self.file,
            "producer": "kt",
            "isOptimized": True,
            "runtimeVersion": 0,
            "emissionKind": ir.DIToken("FullDebug"),
            "globals": self.m.add_metadata(self._globals),
        }, is_distinct=True)
        self.m.add_named_metadata("llvm.dbg.cu", self.cu)
        self.m.add_named_metadata("llvm.module.flags", [I32(7), "Dwarf Version", I32(5)])
        self.m.add_named_metadata("llvm.module.flags", [I32(2), "Debug Info Version", I32(3)])

    # -- types -------------------------------------------------------------------------
    def basic(self, name: str, bits: int, encoding: str):
        key = (name, bits, encoding)
        if key not in self._basic:
            self._basic[key] = self.m.add_debug_info("DIBasicType", {
                "name": name, "size": bits, "encoding": ir.DIToken(encoding)})
        return self._basic[key]

    def int_type(self, bits: int = 32, signed: bool = True):
        names = {(8, False): "unsigned char", (32, True): "int", (32, False): "unsigned int",
                 (64, True): "long long", (64, False): "unsigned long long",
                 (16, True): "short", (16, False): "unsigned short", (8, True): "signed char"}
        return self.basic(names[(bits, signed)], bits, "DW_ATE_signed" if signed else "DW_ATE_unsigned")

    def array(self, elem, elem_bits: int, count: int):
        key = (id(elem), count)
        if key not in self._arrays:
            sub = self.m.add_debug_info("DISubrange", {"count": count})
            self._arrays[key] = self.m.add_debug_info("DICompositeType", {
                "tag": ir.DIToken("DW_TAG_array_type"), "baseType": elem,
                "size": elem_bits * count, "elements": self.m.add_metadata([sub])})
        return self._arrays[key]

    def pointer(self, base):
        return self.m.add_debug_info("DIDerivedType", {
            "tag": ir.DIToken("DW_TAG_pointer_type"), "baseType": base, "size": 64})

    def struct(self, name: str | None, size_bytes: int, members: list[tuple[str, object, int, int]],
               union: bool = False):
        """members: (name, type, size in bits, offset in bits)."""
        node = {"tag": ir.DIToken("DW_TAG_union_type" if union else "DW_TAG_structure_type"),
                "file": self.file, "line": 0, "size": size_bytes * 8}
        if name:
            node["name"] = name
        elems = [self.m.add_debug_info("DIDerivedType", {
            "tag": ir.DIToken("DW_TAG_member"), "name": mname, "file": self.file, "baseType": mtype,
            "size": msize, "offset": moff}) for mname, mtype, msize, moff in members]
        node["elements"] = self.m.add_metadata(elems)
        return self.m.add_debug_info("DICompositeType", node)

    def of(self, t: Type, name: str | None = None):
        """The debug type of a kt value layout (map keys and values); a tuple becomes a struct
        of fields f0, f1, ... called `name` (bpftool shows a map's `struct AT_x_key`)."""
        if isinstance(t, Int):
            return self.int_type(t.bits, t.signed)
        if isinstance(t, Str):
            return self.array(self.basic("char", 8, "DW_ATE_signed_char"), 8, t.size)
        if isinstance(t, Sym):  # one or two u64 words
            u64 = self.int_type(64, False)
            return u64 if t.size == 8 else self.array(u64, 64, t.size // 8)
        if isinstance(t, Tuple):
            members = [(f"f{i}", self.of(e), e.size * 8, off * 8) for i, (e, off) in enumerate(zip(t.elems, t.offsets))]
            return self.struct(name, t.size, members)
        if isinstance(t, Ptr):   # stored as the address
            return self.int_type(64, False)
        if isinstance(t, Array) and t.count:
            return self.array(self.of(t.elem), t.elem.size * 8, t.count)
        if isinstance(t, Record):
            return self._record(t)
        # bytes kt does not compute with (buf(), floats, flexible arrays): their size
        return self.array(self.basic("char", 8, "DW_ATE_signed_char"), 8, max(t.size, 1))

    def _record(self, t: Record):
        """A struct or union as BTF shows it: named, its members at their offsets (bitfields,
        which only widen a storage unit that is there, left out)."""
        key = ("record", id(t.struct))
        if key not in self._arrays:
            union = t.struct.kind == "union"
            members, end = [], 0
            for m in sorted(t.struct.members, key=lambda m: m.offset):
                if m.is_bitfield or not m.type.size or (not union and m.offset < end):
                    continue   # (an anonymous union's members, flattened in, overlap: keep one)
                members.append((m.name, self.of(m.type), m.type.size * 8, m.offset * 8))
                end = max(end, m.offset + m.type.size)
            self._arrays[key] = self.struct(t.struct.name or None, max(t.size, 1), members, union)
        return self._arrays[key]

    def int_array_ptr(self, n: int):
        """`int (*)[n]`: how BTF-defined maps spell a number."""
        return self.pointer(self.array(self.int_type(), 32, n))

    # -- functions ---------------------------------------------------------------------
    def subprogram(self, fn: ir.Function, line: int, args: tuple[str, ...] = ("ctx",), local: bool = False):
        """Debug info for one function: BTF gets a FUNC (func_info) and line info. A program
        takes `ctx`; a chunk (codegen/chunks.py, `local`: a static function) takes
        (ctx, frame, target)."""
        ptr = self.m.add_debug_info("DIDerivedType", {"tag": ir.DIToken("DW_TAG_pointer_type"),
                                                      "baseType": None, "size": 64})
        arg_types = [ptr if name not in ("target", "index") else self.int_type(64, False) for name in args]
        fn_type = self.m.add_debug_info("DISubroutineType", {"types": self.m.add_metadata([self.int_type(), *arg_types])})
        flags = "DISPFlagLocalToUnit | DISPFlagDefinition | DISPFlagOptimized" if local else \
            "DISPFlagDefinition | DISPFlagOptimized"
        sp = self.m.add_debug_info("DISubprogram", {
            "name": fn.name, "scope": self.file, "file": self.file, "line": line, "type": fn_type,
            "scopeLine": line, "flags": ir.DIToken("DIFlagPrototyped"),
            "spFlags": ir.DIToken(flags), "unit": self.cu,
        }, is_distinct=True)
        # The arguments' names go into BTF from here; the kernel wants named arguments.
        refs = [self.m.add_debug_info("DILocalVariable", {"name": name, "arg": i + 1, "scope": sp,
                                                          "file": self.file, "line": line, "type": t}).get_reference()
                for i, (name, t) in enumerate(zip(args, arg_types))]
        # retainedNodes names the arguments for BTF (the kernel rejects a FUNC with an unnamed
        # one). A variable's scope is the subprogram itself: llvmlite cannot hold that cycle
        # (it hashes metadata by value), so it is closed in the IR text (patch_text).
        self._retained.append((sp.get_reference(), ", ".join(refs)))
        fn.set_metadata("dbg", sp)
        return sp

    def patch_text(self, text: str) -> str:
        """Add each subprogram's retainedNodes to the printed module (one pass over the
        text: a search per subprogram from the start was quadratic in chunked programs)."""
        if not self._retained:
            return text
        wanted = {f"{sp_ref} = distinct !DISubprogram(": refs for sp_ref, refs in self._retained}
        out, pos = [], 0
        for match in re.finditer(r"^(![0-9]+ = distinct !DISubprogram\().*?\)$", text, re.M):
            refs = wanted.get(match.group(1))
            if refs is not None:
                end = match.end() - 1
                out.append(text[pos:end])
                out.append(f", retainedNodes: !{{{refs}}}")
                pos = end
        out.append(text[pos:])
        return "".join(out)

    def location(self, scope, line: int, col: int):
        """One DILocation per (scope, line, column), made directly: llvmlite's add_debug_info
        looks its key up in a cache that hashes metadata by value, and a location's scope
        reaches the compile unit with every global (~1,200 hashes a call: 10,000 statements
        spent ~10 s there)."""
        # LLVM's DILocation column is 16 bits ("value for 'column' too large, limit is
        # 65535"); past it the column is 0, DWARF's "unknown". kt's own diagnostics keep
        # the true column (they never read debug info).
        col = col if col <= MAX_COLUMN else 0
        key = (id(scope), line, col)
        loc = self._locations.get(key)
        if loc is None:
            loc = self._locations[key] = ir.DIValue(self.m, False, "DILocation", (
                ("column", col), ("line", line), ("scope", scope)), name=str(len(self.m.metadata)))
        return loc

    # -- globals -----------------------------------------------------------------------
    def global_var(self, gv: ir.GlobalVariable, name: str, dtype) -> None:
        var = self.m.add_debug_info("DIGlobalVariable", {
            "name": name, "scope": self.file, "file": self.file, "line": 0, "type": dtype,
            "isLocal": False, "isDefinition": True}, is_distinct=True)
        expr = self.m.add_debug_info("DIGlobalVariableExpression", {
            "var": var, "expr": self.m.add_debug_info("DIExpression", {})})
        gv.set_metadata("dbg", expr)
        self._globals.append(expr)
