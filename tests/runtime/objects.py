"""Small BPF objects for the runtime tests, built from hand-written LLVM IR with llvmlite.

Why hand-written IR and not the compiler: runtime tests must not depend on the compiler, and
they need objects with exact, known contents (a map of a given type, a program that fails the
verifier). The objects follow docs/object-format.md: BTF-defined maps in ``.maps`` (the debug
metadata is what makes LLVM emit BTF, kernel-facts §1), ``license``, one function per program
section, optional ``.kt.meta``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import llvmlite.binding as llvm

from kt.runtime.sys.constants import MapType

_TRIPLE = "bpfel-unknown-none"
_DATALAYOUT = "e-m:e-p:64:64-i64:64-i128:128-n32:64-S128"

# Helper ids (include/uapi/linux/bpf.h ___BPF_FUNC_MAPPER).
MAP_LOOKUP_ELEM = 1
MAP_UPDATE_ELEM = 2
KTIME_GET_NS = 5
GET_CURRENT_PID_TGID = 14
RINGBUF_RESERVE = 131
RINGBUF_SUBMIT = 132
RINGBUF_DISCARD = 133


@dataclass
class _Map:
    name: str
    map_type: int
    max_entries: int
    key_size: int | None
    value_size: int | None
    flags: int


@dataclass
class _Func:
    name: str
    section: str
    body: str


@dataclass
class ObjectBuilder:
    """Accumulates maps and programs, renders IR text with debug metadata, compiles it."""

    source: str = "test.kt"
    maps: list[_Map] = field(default_factory=list)
    funcs: list[_Func] = field(default_factory=list)
    meta: dict | bytes | None = None     # bytes: written to .kt.meta as they are
    license: str = "GPL"
    extra_ir: str = ""                    # raw IR appended after the programs

    def map(self, name: str, map_type: int, max_entries: int, key_size: int | None = None,
            value_size: int | None = None, flags: int = 0) -> ObjectBuilder:
        self.maps.append(_Map(name, int(map_type), max_entries, key_size, value_size, flags))
        return self

    def program(self, name: str, section: str, body: str) -> ObjectBuilder:
        """``body`` is the IR between the braces; ``{dbg}`` expands to ``, !dbg !N``."""
        self.funcs.append(_Func(name, section, body))
        return self

    # --- rendering --------------------------------------------------------------------------

    def ir(self) -> str:
        md: list[str] = []

        def node(text: str) -> int:
            md.append(text)
            return len(md) - 1 + 100  # metadata ids start at !100

        lines = [f'target datalayout = "{_DATALAYOUT}"', f'target triple = "{_TRIPLE}"', ""]
        file_ = node(f'!DIFile(filename: "{self.source}", directory: "/")')
        int_t = node('!DIBasicType(name: "int", size: 32, encoding: DW_ATE_signed)')
        char_t = node('!DIBasicType(name: "char", size: 8, encoding: DW_ATE_signed_char)')
        basic = {
            1: node('!DIBasicType(name: "unsigned char", size: 8, encoding: DW_ATE_unsigned_char)'),
            2: node('!DIBasicType(name: "unsigned short", size: 16, encoding: DW_ATE_unsigned)'),
            4: node('!DIBasicType(name: "unsigned int", size: 32, encoding: DW_ATE_unsigned)'),
            8: node('!DIBasicType(name: "unsigned long long", size: 64, '
                    'encoding: DW_ATE_unsigned)'),
        }
        cu_id = len(md) + 100  # reserved below
        md.append("")  # placeholder for the compile unit
        globals_: list[int] = []

        def ptr_to(t: int) -> int:
            return node(f"!DIDerivedType(tag: DW_TAG_pointer_type, baseType: !{t}, size: 64)")

        def array_of(t: int, elem_bits: int, n: int) -> int:
            sub = node(f"!DISubrange(count: {n})")
            elems = node(f"!{{!{sub}}}")
            return node(f"!DICompositeType(tag: DW_TAG_array_type, baseType: !{t}, "
                        f"size: {elem_bits * n}, elements: !{elems})")

        def sized(n: int) -> int:
            return basic[n] if n in basic else array_of(basic[1], 8, n)

        def global_var(name: str, ty: int) -> int:
            var = node(f'distinct !DIGlobalVariable(name: "{name}", scope: !{cu_id}, '
                       f'file: !{file_}, line: 1, type: !{ty}, isLocal: false, '
                       f'isDefinition: true)')
            gve = node(f"!DIGlobalVariableExpression(var: !{var}, expr: !DIExpression())")
            globals_.append(gve)
            return gve

        for m in self.maps:
            members: list[tuple[str, int]] = [
                ("type", ptr_to(array_of(int_t, 32, m.map_type))),
                ("max_entries", ptr_to(array_of(int_t, 32, m.max_entries))),
            ]
            if m.key_size is not None:
                members.append(("key", ptr_to(sized(m.key_size))))
            if m.value_size is not None:
                members.append(("value", ptr_to(sized(m.value_size))))
            if m.flags:
                members.append(("map_flags", ptr_to(array_of(int_t, 32, m.flags))))
            # The struct node refers to its members and they to it: reserve its id first.
            struct_id = len(md) + 100
            md.append("")
            mids = [
                node(f'!DIDerivedType(tag: DW_TAG_member, name: "{mn}", scope: !{struct_id}, '
                     f"file: !{file_}, baseType: !{mt}, size: 64, offset: {64 * i})")
                for i, (mn, mt) in enumerate(members)
            ]
            elems = node("!{" + ", ".join(f"!{x}" for x in mids) + "}")
            md[struct_id - 100] = (f"distinct !DICompositeType(tag: DW_TAG_structure_type, "
                                   f"file: !{file_}, line: 1, size: {64 * len(members)}, "
                                   f"elements: !{elems})")
            gve = global_var(m.name, struct_id)
            ptrs = ", ".join(["ptr"] * len(members))
            lines.append(f"@{m.name} = dso_local global {{ {ptrs} }} zeroinitializer, "
                         f'section ".maps", align 8, !dbg !{gve}')

        lic = self.license.encode() + b"\0"
        gve = global_var("LICENSE", array_of(char_t, 8, len(lic)))
        lines.append(f"@LICENSE = dso_local global [{len(lic)} x i8] c\"{_ir_bytes(lic)}\", "
                     f'section "license", align 1, !dbg !{gve}')
        if self.meta is not None:
            blob = self.meta if isinstance(self.meta, bytes) else json.dumps(self.meta).encode()
            lines.append(f"@kt_meta = dso_local global [{len(blob)} x i8] "
                         f'c"{_ir_bytes(blob)}", section ".kt.meta", align 1')
        lines.append("")

        void_ptr = node("!DIDerivedType(tag: DW_TAG_pointer_type, baseType: null, size: 64)")
        types = node(f"!{{!{int_t}, !{void_ptr}}}")
        sub_ty = node(f"!DISubroutineType(types: !{types})")
        for f in self.funcs:
            sp_id = len(md) + 100
            md.append("")
            ctx_var = node(f'!DILocalVariable(name: "ctx", arg: 1, scope: !{sp_id}, '
                           f"file: !{file_}, line: 1, type: !{void_ptr})")
            retained = node(f"!{{!{ctx_var}}}")
            md[sp_id - 100] = (f'distinct !DISubprogram(name: "{f.name}", scope: !{file_}, '
                               f"file: !{file_}, line: 1, type: !{sub_ty}, scopeLine: 1, "
                               f"flags: DIFlagPrototyped, spFlags: DISPFlagDefinition | "
                               f"DISPFlagOptimized, unit: !{cu_id}, retainedNodes: !{retained})")
            loc = node(f"!DILocation(line: 1, column: 1, scope: !{sp_id})")
            lines.append(f"define dso_local i32 @{f.name}(ptr noundef %ctx) #0 "
                         f'section "{f.section}" !dbg !{sp_id} {{')
            lines.append(f.body.strip("\n").replace("{dbg}", f", !dbg !{loc}"))
            lines.append("}")
            lines.append("")

        lines.append(self.extra_ir)
        gl = node("!{" + ", ".join(f"!{g}" for g in globals_) + "}")
        md[cu_id - 100] = (f"distinct !DICompileUnit(language: DW_LANG_C99, file: !{file_}, "
                           f'producer: "kt-tests", isOptimized: true, runtimeVersion: 0, '
                           f"emissionKind: FullDebug, globals: !{gl})")
        dwarf = node('!{i32 7, !"Dwarf Version", i32 5}')
        dbgv = node('!{i32 2, !"Debug Info Version", i32 3}')
        lines.append("attributes #0 = { nounwind }")
        lines.append(f"!llvm.dbg.cu = !{{!{cu_id}}}")
        lines.append(f"!llvm.module.flags = !{{!{dwarf}, !{dbgv}}}")
        lines.extend(f"!{i + 100} = {text}" for i, text in enumerate(md))
        return "\n".join(lines) + "\n"

    def build(self) -> bytes:
        return compile_ir(self.ir())


def _ir_bytes(data: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:02X}"
                   for b in data)


_tm = None


def compile_ir(text: str) -> bytes:
    """IR text -> BPF ELF object (kernel-facts §1 "Compile")."""
    global _tm
    if _tm is None:
        llvm.initialize_all_targets()
        llvm.initialize_all_asmprinters()
        target = llvm.Target.from_triple(_TRIPLE)
        _tm = target.create_target_machine(cpu="v3", opt=2, reloc="static", codemodel="small")
    mod = llvm.parse_assembly(text)
    mod.verify()
    pb = llvm.create_pass_builder(_tm, llvm.create_pipeline_tuning_options(speed_level=2))
    pb.getModulePassManager().run(mod, pb)
    return _tm.emit_object(mod)


# --- the objects the tests use -------------------------------------------------------------

def _pid_filter(pid: int, then: str) -> str:
    """IR that branches to ``then`` when the current tgid is ``pid``, else to %out."""
    return f"""
  %pt = call i64 inttoptr (i64 {GET_CURRENT_PID_TGID} to ptr)(){{dbg}}
  %tgid64 = lshr i64 %pt, 32
  %tgid = trunc i64 %tgid64 to i32
  %mine = icmp eq i32 %tgid, {pid}
  br i1 %mine, label %{then}, label %out
"""


def counter_object(pid: int, meta: dict | None = None, one_section: str | None = None) -> bytes:
    """Two tracepoint programs that count calls of this test process (tgid ``pid``):
    sys_enter_getpid into HASH ``counts`` (u32 tgid -> u64, atomic add) and sys_enter_getppid
    into PERCPU_HASH ``pcounts`` (plain add on this CPU's slot). With ``one_section`` both
    programs are in that section (libbpf's several programs in one section)."""
    b = ObjectBuilder(meta=meta)
    b.map("counts", MapType.HASH, 1024, key_size=4, value_size=8)
    b.map("pcounts", MapType.PERCPU_HASH, 1024, key_size=4, value_size=8)
    b.map("table", MapType.ARRAY, 4, key_size=4, value_size=24)
    for name, section, mapname, inc in (
        ("count_getpid", "tracepoint/syscalls/sys_enter_getpid", "counts",
         "  %old = atomicrmw add ptr %v, i64 1 monotonic\n"),
        ("count_getppid", "tracepoint/syscalls/sys_enter_getppid", "pcounts",
         "  %cur = load i64, ptr %v, align 8\n  %nxt = add i64 %cur, 1\n"
         "  store i64 %nxt, ptr %v, align 8\n"),
    ):
        b.program(name, one_section or section, f"""
entry:
  %key = alloca i32, align 4
  %one = alloca i64, align 8
{_pid_filter(pid, "count")}
count:
  store i32 %tgid, ptr %key, align 4
  %v = call ptr inttoptr (i64 {MAP_LOOKUP_ELEM} to ptr)(ptr @{mapname}, ptr %key){{dbg}}
  %isnull = icmp eq ptr %v, null
  br i1 %isnull, label %init, label %inc
init:
  store i64 1, ptr %one, align 8
  %r = call i64 inttoptr (i64 {MAP_UPDATE_ELEM} to ptr)(ptr @{mapname}, ptr %key,
                                                        ptr %one, i64 1){{dbg}}
  br label %out
inc:
{inc}  br label %out
out:
  ret i32 0{{dbg}}
""")
    return b.build()


RINGBUF_SIZE = 64 * 1024
BEGIN_RETVAL = 7
BEGIN_EVENT_IDS = (42, 43)   # what BEGIN submits; a record between them is discarded
TP_EVENT_ID = 1


def _emit(event_id: int, label: str, next_label: str, discard: bool = False) -> str:
    """IR: reserve 16 bytes, write {event_id, pid_tgid}, submit (or discard); count drops."""
    end = (f"  call void inttoptr (i64 {RINGBUF_DISCARD} to ptr)(ptr %r{label}, i64 0){{dbg}}"
           if discard else
           f"  call void inttoptr (i64 {RINGBUF_SUBMIT} to ptr)(ptr %r{label}, i64 0){{dbg}}")
    return f"""
{label}:
  %r{label} = call ptr inttoptr (i64 {RINGBUF_RESERVE} to ptr)(ptr @kt_events, i64 16, i64 0){{dbg}}
  %n{label} = icmp eq ptr %r{label}, null
  br i1 %n{label}, label %{label}_lost, label %{label}_ok
{label}_lost:
  store i32 0, ptr %zero, align 4
  %l{label} = call ptr inttoptr (i64 {MAP_LOOKUP_ELEM} to ptr)(ptr @kt_lost, ptr %zero){{dbg}}
  %ln{label} = icmp eq ptr %l{label}, null
  br i1 %ln{label}, label %{next_label}, label %{label}_bump
{label}_bump:
  %lo{label} = atomicrmw add ptr %l{label}, i64 1 monotonic
  br label %{next_label}
{label}_ok:
  store i64 {event_id}, ptr %r{label}, align 8
  %p{label} = call i64 inttoptr (i64 {GET_CURRENT_PID_TGID} to ptr)(){{dbg}}
  %f{label} = getelementptr inbounds i8, ptr %r{label}, i64 8
  store i64 %p{label}, ptr %f{label}, align 8
{end}
  br label %{next_label}
"""


def ringbuf_object(pid: int) -> bytes:
    """``raw_tp/BEGIN`` submits records 42 and 43 (and discards one between them) and returns
    BEGIN_RETVAL; ``tracepoint/syscalls/sys_enter_getpid`` submits record 1 for calls made by
    tgid ``pid``. Both write {u64 id, u64 pid_tgid} to RINGBUF ``kt_events``; failed reserves
    bump ARRAY ``kt_lost``."""
    meta = {"version": 1, "source": "test.kt",
            "events": {"ringbuf": "kt_events", "lost": "kt_lost"},
            "probes": [{"section": "raw_tp/BEGIN", "program": "BEGIN", "kind": "begin", "name": "BEGIN",
                        "target": ""}]}
    b = ObjectBuilder(meta=meta)
    b.map("kt_events", MapType.RINGBUF, RINGBUF_SIZE)
    b.map("kt_lost", MapType.ARRAY, 1, key_size=4, value_size=8)
    a, c = BEGIN_EVENT_IDS
    b.program("BEGIN", "raw_tp/BEGIN", f"""
entry:
  %zero = alloca i32, align 4
  br label %e1
{_emit(a, "e1", "e2")}
{_emit(99, "e2", "e3", discard=True)}
{_emit(c, "e3", "out")}
out:
  ret i32 {BEGIN_RETVAL}{{dbg}}
""")
    b.program("on_getpid", "tracepoint/syscalls/sys_enter_getpid", f"""
entry:
  %zero = alloca i32, align 4
{_pid_filter(pid, "e1")}
{_emit(TP_EVENT_ID, "e1", "out")}
out:
  ret i32 0{{dbg}}
""")
    return b.build()


def bad_object() -> bytes:
    """A tracepoint program that dereferences a map lookup result without a NULL check: the
    verifier rejects it ("invalid mem access 'map_value_or_null'")."""
    b = ObjectBuilder()
    b.map("counts", MapType.HASH, 16, key_size=4, value_size=8)
    b.program("bad_prog", "tracepoint/syscalls/sys_enter_getpid", f"""
entry:
  %key = alloca i32, align 4
  store i32 0, ptr %key, align 4
  %v = call ptr inttoptr (i64 {MAP_LOOKUP_ELEM} to ptr)(ptr @counts, ptr %key){{dbg}}
  %x = load volatile i64, ptr %v, align 8
  %t = trunc i64 %x to i32
  ret i32 %t{{dbg}}
""")
    return b.build()


GET_SMP_PROCESSOR_ID = 8
MAX_TEST_CPUS = 64


def perf_event_counter_object(pid: int | None = None, section: str = "perf_event") -> bytes:
    """One program in ``section`` (``perf_event``: a PERF_EVENT program; ``raw_tp/NAME``: a
    raw tracepoint) counting its runs per CPU in ARRAY ``by_cpu`` (u32 cpu -> u64, 64
    entries), only for tgid ``pid`` when given."""
    b = ObjectBuilder()
    b.map("by_cpu", MapType.ARRAY, MAX_TEST_CPUS, key_size=4, value_size=8)
    flt = _pid_filter(pid, "count") if pid is not None else "  br label %count\n"
    b.program("count_runs", section, f"""
entry:
  %key = alloca i32, align 4
{flt}
count:
  %cpu64 = call i64 inttoptr (i64 {GET_SMP_PROCESSOR_ID} to ptr)(){{dbg}}
  %cpu = trunc i64 %cpu64 to i32
  store i32 %cpu, ptr %key, align 4
  %v = call ptr inttoptr (i64 {MAP_LOOKUP_ELEM} to ptr)(ptr @by_cpu, ptr %key){{dbg}}
  %isnull = icmp eq ptr %v, null
  br i1 %isnull, label %out, label %inc
inc:
  %old = atomicrmw add ptr %v, i64 1 monotonic
  br label %out
out:
  ret i32 0{{dbg}}
""")
    return b.build()
