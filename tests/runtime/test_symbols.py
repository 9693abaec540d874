"""runtime/symbols and the symbolic value types: kallsyms lookups, user symbols of this process,
and the exact text bpftrace 0.17 prints for ksym/usym/kstack/ustack/probe (observed on this
host with `bpftrace -e ... | cat -A`)."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import struct
import subprocess

import pytest

from kt.compiler.formats import elfsyms
from kt.runtime.layout import (
    KSym, KsymType, MapMeta, PrintfMeta, ProbeType, Stack, StackType, TupleType, IntType, USym,
    UsymType, decode, encode, map_meta_from_json, printf_args, reduce_percpu, type_from_json, type_to_json,
)
from kt.runtime.output.printf import render
from kt.runtime.output.text import format_map, format_value
from kt.runtime.symbols import (
    KernelSymbols, StackReader, Symbolizer, UserSymbols, ValueContext, format_stack,
    hex_address, value_context,
)

U64 = IntType(8, False)


# --- hex addresses -------------------------------------------------------------------------

def test_hex_address_like_a_cxx_pointer():
    assert hex_address(0x11) == "0x11"
    assert hex_address(0) == "0"
    assert hex_address(0x7F1C2AB) == "0x7f1c2ab"
    assert hex_address(-1) == "0xffffffffffffffff"


# --- kernel symbols from a kallsyms file ---------------------------------------------------

FAKE_KALLSYMS = """\
0000000000000000 A fixed_percpu_data
ffffffff81000000 T srso_alias_untrain_ret
ffffffff81000000 T _stext
ffffffff81000000 T _text
ffffffff81000100 D some_data
ffffffff81000200 t local_func
ffffffff81000300 T vfs_read
ffffffff81000400 R rodata_thing
ffffffff81000500 W weak_func
ffffffffc0201000 t mod_func\t[some_module]
"""


@pytest.fixture
def fake_kernel(tmp_path):
    p = tmp_path / "kallsyms"
    p.write_text(FAKE_KALLSYMS)
    return KernelSymbols(str(p))


def test_kernel_lookup_no_upper_bound_and_data_skipped(fake_kernel):
    k = fake_kernel
    assert k.ksym(0xFFFFFFFF81000300) == "vfs_read"
    assert k.ksym(0xFFFFFFFF81000305, offset=True) == "vfs_read+5"
    # the data symbol at 0x100 is not a candidate: local_func's predecessor covers it
    assert k.ksym(0xFFFFFFFF81000150, offset=True) == "_text+336"
    assert k.ksym(0xFFFFFFFF81000450) == "vfs_read"          # rodata skipped too
    assert k.ksym(0xFFFFFFFF81000500) == "weak_func"
    assert k.ksym(0xFFFFFFFFC0201010, offset=True) == "mod_func+16"
    assert k.ksym(0xFFFFFFFFFFFF0000) == "mod_func"          # past the last: still the last
    assert k.ksym(0x11) == "0x11"                             # below the first
    assert k.ksym(0) == "0"


def test_kernel_aliases_follow_libstdcxx_sort(fake_kernel):
    # three names at one address: bcc keeps whichever std::sort leaves last; for this input
    # (fewer than 17 entries: insertion sort, stable) that is the last in file order
    assert fake_kernel.ksym(0xFFFFFFFF81000000) == "_text"


def test_kaddr_first_line_any_type(fake_kernel):
    assert fake_kernel.kaddr("vfs_read") == 0xFFFFFFFF81000300
    assert fake_kernel.kaddr("some_data") == 0xFFFFFFFF81000100   # data symbols too
    with pytest.raises(KeyError):
        fake_kernel.kaddr("mod_func")          # module symbols never match (bpftrace 0.17)
    with pytest.raises(KeyError):
        fake_kernel.kaddr("fixed_percpu_data")  # address 0: not resolvable
    with pytest.raises(KeyError):
        fake_kernel.kaddr("no_such_symbol")


def test_unreadable_kallsyms_prints_hex(tmp_path):
    k = KernelSymbols(str(tmp_path / "missing"))
    assert k.ksym(0xFFFFFFFF81000300) == "0xffffffff81000300"


@pytest.mark.kernel
def test_real_kallsyms_round_trip():
    k = KernelSymbols()
    addr = k.kaddr("vfs_read")
    assert addr > 0xFFFF000000000000
    assert k.ksym(addr) == "vfs_read"
    assert k.ksym(addr + 7, offset=True) == "vfs_read+7"
    assert k.resolve(addr) == ("vfs_read", 0)


@pytest.mark.kernel
@pytest.mark.skipif(shutil.which("bpftrace") is None, reason="bpftrace is not installed")
def test_aliases_agree_with_bpftrace(tmp_path):
    """Every kernel address with several text symbols: kt names it as bpftrace 0.17 does."""
    names: dict[int, list[str]] = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if parts[1] in "TtWw" and len(parts) == 3:
                names.setdefault(int(parts[0], 16), []).append(parts[2])
    ambiguous = sorted(a for a, n in names.items() if len(n) > 1)[:200]
    assert ambiguous
    script = "BEGIN {\n" + "".join(f'printf("%s\\n", ksym(0x{a:x}));\n' for a in ambiguous) \
        + "exit(); }\n"
    (tmp_path / "a.bt").write_text(script)
    out = subprocess.run(["bpftrace", str(tmp_path / "a.bt")], capture_output=True, text=True,
                         timeout=120).stdout
    theirs = [ln for ln in out.splitlines() if ln and not ln.startswith("Attaching")]
    k = KernelSymbols()
    assert [k.ksym(a) for a in ambiguous] == theirs


# --- user symbols of this process ----------------------------------------------------------

def _libc_function_address(name: str) -> int:
    return ctypes.cast(getattr(ctypes.CDLL(None), name), ctypes.c_void_p).value


def test_usym_of_libc_function_in_this_process():
    addr = _libc_function_address("getpid")
    u = UserSymbols()
    name, off, module = u.resolve(os.getpid(), addr)
    assert off == 0
    assert os.path.basename(module).startswith("libc.so")
    # one of libc's names for that address (getpid, __getpid, __GI___getpid)
    assert name.endswith("getpid")
    assert u.usym(os.getpid(), addr) == name
    assert u.usym(os.getpid(), addr + 2, offset=True) == f"{name}+2"
    assert u.usym(os.getpid(), addr, offset=True, module=True) == f"{name}+0 ({module})"


def test_usym_unknown_is_hex():
    u = UserSymbols()
    assert u.usym(os.getpid(), 0x10) == "0x10"
    assert u.usym(os.getpid(), 0x10, offset=True, module=True) == "0x10 ([unknown])"
    # a process that does not exist
    assert u.usym(2**22 + 12345, 0x401000) == "0x401000"


def test_usym_in_the_vdso():
    with open("/proc/self/maps") as f:
        vdso = [ln for ln in f if ln.rstrip().endswith("[vdso]")]
    if not vdso:
        pytest.skip("no vDSO here")
    start = int(vdso[0].split("-")[0], 16)
    from kt.runtime.symbols import _vdso_table

    table, _ = _vdso_table()
    funcs = [t for t in table if "gettimeofday" in t[2] and t[1] > 0]
    assert funcs, "the vDSO has a gettimeofday"
    value, size, name = funcs[0]
    got = UserSymbols().usym(os.getpid(), start + value + 1, offset=True, module=True)
    assert got.endswith("gettimeofday+1 ([vdso])")


# --- stacks --------------------------------------------------------------------------------

FRAMES = ((0x559788DE1179, "leaf+0"), (0x559788DE119B, "middle+9"),
          (0x7F138B90E24A, "__libc_start_call_main+122"))


def test_format_stack_bpftrace_and_perf():
    assert format_stack(FRAMES) == ("\n        leaf+0\n        middle+9\n"
                                    "        __libc_start_call_main+122\n")
    assert format_stack(FRAMES, indent=4) == ("\n    leaf+0\n    middle+9\n"
                                              "    __libc_start_call_main+122\n")
    assert format_stack(FRAMES, mode="perf") == ("\n\t559788de1179 leaf+0\n\t559788de119b middle+9\n"
                                                 "\t7f138b90e24a __libc_start_call_main+122\n")
    assert format_stack(None) == ""            # unreadable stack id: nothing at all
    assert format_stack(()) == "\n"


class FakeMap:
    def __init__(self, stacks: dict[int, list[int]]) -> None:
        self.stacks = stacks

    def lookup(self, key: bytes):
        (sid,) = struct.unpack("<I", key)
        if sid not in self.stacks:
            return None
        addrs = self.stacks[sid] + [0] * (127 - len(self.stacks[sid]))
        return struct.pack("<127Q", *addrs)


class FakeUser(UserSymbols):
    def resolve(self, pid, addr):
        names = {0x1000: ("leaf", 0), 0x1010: ("middle", 9)}
        base = addr & ~0xF
        if pid == 42 and base in names:
            return names[base][0], names[base][1] + (addr - base), "/bin/prog"
        return None


def test_stack_reader_and_frames():
    reader = StackReader(FakeMap({3: [0x1000, 0x1019, 0x9999]}))
    assert reader(3)[:4] == (0x1000, 0x1019, 0x9999, 0)
    assert reader(-14) is None                  # -EFAULT from bpf_get_stackid
    assert reader(4) is None
    sym = Symbolizer(kernel=KernelSymbols("/nonexistent"), user=FakeUser())
    frames = sym.stack_frames(reader(3), user=True, pid=42)
    assert frames == ((0x1000, "leaf+0"), (0x1019, "middle+18"), (0x9999, "0x9999"))
    perf = sym.stack_frames(reader(3), user=True, pid=42, mode="perf")
    assert perf[0] == (0x1000, "leaf+0 (/bin/prog)") and perf[2] == (0x9999, "0x9999 ([unknown])")
    kframes = sym.stack_frames([0xFFFFFFFF81000300, 0], user=False)
    assert kframes == ((0xFFFFFFFF81000300, "0xffffffff81000300"),)


def _ctx(stacks=None, probe_names=("uprobe:/bin/prog:leaf", "tracepoint:syscalls:sys_enter_openat")):
    sym = Symbolizer(kernel=KernelSymbols("/nonexistent"), user=FakeUser())
    return value_context(FakeMap(stacks or {}), probe_names, symbols=sym)


# --- layout: types, decoding ---------------------------------------------------------------

@pytest.mark.parametrize("d,t", [
    ({"kind": "ksym"}, KsymType()),
    ({"kind": "usym", "size": 16}, UsymType()),
    ({"kind": "kstack"}, StackType(user=False)),
    ({"kind": "ustack", "mode": "perf", "limit": 3}, StackType(user=True, mode="perf", limit=3)),
    ({"kind": "probe", "size": 8}, ProbeType()),
])
def test_symbolic_types_from_json(d, t):
    assert type_from_json(d) == t
    assert type_from_json(type_to_json(t)) == t


@pytest.mark.parametrize("bad", [
    {"kind": "ksym", "size": 16}, {"kind": "usym", "size": 8}, {"kind": "kstack", "size": 16},
    {"kind": "ustack", "mode": "fancy"}, {"kind": "kstack", "limit": 0},
    {"kind": "kstack", "limit": 128}, {"kind": "probe", "size": 4},
])
def test_symbolic_types_reject(bad):
    with pytest.raises(ValueError):
        type_from_json(bad)


def test_decode_symbolic_values():
    ctx = _ctx({7: [0x1000, 0x1010]})
    assert decode(UsymType(), encode(UsymType(), (0x1003, 42)), ctx=ctx) == USym(0x1003, 42, "leaf")
    assert decode(KsymType(), encode(KsymType(), 0x11), ctx=ctx) == KSym(0x11, "0x11")
    assert decode(ProbeType(), encode(ProbeType(), 1), ctx=ctx) == "tracepoint:syscalls:sys_enter_openat"
    st = decode(StackType(True), encode(StackType(True), (7, 42)), ctx=ctx)
    assert st == Stack(True, 7, 42, ((0x1000, "leaf+0"), (0x1010, "middle+9")))
    short = decode(StackType(True, limit=1), encode(StackType(True), (7, 42)), ctx=ctx)
    assert short.frames == ((0x1000, "leaf+0"),)
    missing = decode(StackType(False), encode(StackType(False), -14), ctx=ctx)
    assert missing.frames is None and missing.stack_id == -14


def test_decode_without_context_is_raw():
    assert decode(KsymType(), encode(KsymType(), 0x1234)) == KSym(0x1234, "0x1234")
    assert decode(StackType(False), encode(StackType(False), 3)).frames is None
    assert decode(ProbeType(), encode(ProbeType(), 3)) == "<probe 3>"


def test_unknown_probe_index():
    assert _ctx().probe(9) == "<unknown probe 9>"


def test_printf_args_are_printable():
    pf = PrintfMeta.from_json({"id": 0, "format": "[%s] [%s] %s|%s|\n", "args": [
        {"offset": 8, "type": {"kind": "usym"}},
        {"offset": 24, "type": {"kind": "ksym"}},
        {"offset": 32, "type": {"kind": "probe"}},
        {"offset": 40, "type": {"kind": "ustack"}}]})
    rec = (struct.pack("<Q", 0) + encode(UsymType(), (0x1000, 42)) + encode(KsymType(), 0x11)
           + encode(ProbeType(), 0) + encode(StackType(True), (7, 42)))
    args = printf_args(pf, rec, _ctx({7: [0x1000, 0x1010]}))
    # as 0.17 printed `printf("[%s] [%s]\n", usym(reg("ip")), ksym(reg("ip")))` and ustack
    assert render(pf.format, args) == ("[leaf] [0x11] uprobe:/bin/prog:leaf|\n"
                                       "        leaf+0\n        middle+9\n|\n")
    # a kstack in a uprobe (no kernel stack): nothing
    assert render("%d %s\n", [5, Stack(False, -14, None, None)]) == "5 \n"


# --- maps as 0.17 prints them --------------------------------------------------------------

def _meta(key, value, agg="count", name="@"):
    return map_meta_from_json({"name": name, "bpf_name": "AT_", "agg": agg, "key": key,
                               "value": value})


U64J = {"kind": "int", "size": 8, "signed": False}
STACK = Stack(True, 7, 42, ((0x1, "leaf+0"), (0x2, "middle+9"), (0x3, "hidden+9"),
                           (0x4, "main+87"), (0x5, "__libc_start_call_main+122")))


def test_map_with_stack_key():
    # @[ustack] = count();
    assert format_map(_meta({"kind": "ustack"}, U64J), [(STACK, 3)]) == (
        "@[\n    leaf+0\n    middle+9\n    hidden+9\n    main+87\n"
        "    __libc_start_call_main+122\n]: 3\n")


def test_map_with_stack_in_tuple_keys():
    # @t[ustack, 1] = count(); @tt[1, ustack] = count();
    t = {"kind": "tuple", "size": 24, "fields": [{"offset": 0, "type": {"kind": "ustack"}},
                                                  {"offset": 16, "type": U64J}]}
    assert format_map(_meta(t, U64J, name="@t"), [((STACK, 1), 3)]) == (
        "@t[\n    leaf+0\n    middle+9\n    hidden+9\n    main+87\n"
        "    __libc_start_call_main+122\n, 1]: 3\n")
    t2 = {"kind": "tuple", "size": 24, "fields": [{"offset": 0, "type": U64J},
                                                   {"offset": 8, "type": {"kind": "ustack"}}]}
    assert format_map(_meta(t2, U64J, name="@tt"), [((1, STACK), 3)]) == (
        "@tt[1, \n    leaf+0\n    middle+9\n    hidden+9\n    main+87\n"
        "    __libc_start_call_main+122\n]: 3\n")


def test_map_with_stack_values():
    # @x = ustack;  @v = (1, ustack);  @kx = kstack (none in a uprobe)
    assert format_map(_meta(None, {"kind": "ustack"}, agg="none", name="@x"), [(None, STACK)]) == (
        "@x: \n        leaf+0\n        middle+9\n        hidden+9\n        main+87\n"
        "        __libc_start_call_main+122\n\n")
    tv = {"kind": "tuple", "size": 24, "fields": [{"offset": 0, "type": U64J},
                                                   {"offset": 8, "type": {"kind": "ustack"}}]}
    assert format_map(_meta(None, tv, agg="none", name="@v"), [(None, (1, STACK))]) == (
        "@v: (1, \n        leaf+0\n        middle+9\n        hidden+9\n        main+87\n"
        "        __libc_start_call_main+122\n)\n")
    empty = Stack(False, -14, None, None)
    assert format_map(_meta(None, {"kind": "kstack"}, agg="none", name="@kx"), [(None, empty)]) \
        == "@kx: \n"
    assert format_map(_meta({"kind": "kstack"}, U64J, name="@k"), [(empty, 3)]) == "@k[]: 3\n"


def test_map_perf_mode_key():
    perf = Stack(True, 7, 42, ((0x55E5D9954179, "leaf+0 (/tmp/ktw/prog2)"),
                               (0x7F804D51524A, "__libc_start_call_main+122 "
                                                "(/usr/lib/x86_64-linux-gnu/libc.so.6)")), "perf")
    assert format_map(_meta({"kind": "ustack", "mode": "perf"}, U64J, name="@u2"), [(perf, 3)]) == (
        "@u2[\n\t55e5d9954179 leaf+0 (/tmp/ktw/prog2)\n"
        "\t7f804d51524a __libc_start_call_main+122 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n]: 3\n")


def test_map_with_symbol_and_probe_keys():
    entries = [(KSym(0xFFFFFFFF81000000, "_text"), 2)]
    assert format_map(_meta({"kind": "ksym"}, U64J, name="@kk"), entries) == "@kk[_text]: 2\n"
    entries = [(USym(0x559788DE1179, 1, "0x559788de1179"), 3), (USym(0x10, 1, "leaf"), 3)]
    # ties in count: ordered by address
    assert format_map(_meta({"kind": "usym"}, U64J, name="@s"), entries) == (
        "@s[leaf]: 3\n@s[0x559788de1179]: 3\n")
    assert format_map(_meta({"kind": "probe"}, U64J, name="@p"),
                      [("uprobe:/tmp/ktw/prog:leaf", 3)]) == "@p[uprobe:/tmp/ktw/prog:leaf]: 3\n"


def test_reduce_percpu_plain_stack_value_uses_context():
    mm = _meta(None, {"kind": "ustack"}, agg="none", name="@x")
    v = reduce_percpu(mm, encode(StackType(True), (7, 42)), _ctx({7: [0x1000]}))
    assert format_value(v) == "\n        leaf+0\n"


# --- a kernel stack taken by a real program, against bpftrace's --------------------------

def _kstack_object(pid: int) -> bytes:
    from kt.runtime.sys.constants import MapType

    from .objects import GET_CURRENT_PID_TGID, MAP_UPDATE_ELEM, ObjectBuilder

    b = ObjectBuilder()
    b.map("stackids", MapType.HASH, 64, key_size=8, value_size=8)
    b.map("stacks", MapType.STACK_TRACE, 64, key_size=4, value_size=127 * 8)
    b.program("on_openat", "tracepoint/syscalls/sys_enter_openat", f"""
entry:
  %sid = alloca i64, align 8
  %one = alloca i64, align 8
  %pt = call i64 inttoptr (i64 {GET_CURRENT_PID_TGID} to ptr)(){{dbg}}
  %tgid = lshr i64 %pt, 32
  %mine = icmp eq i64 %tgid, {pid}
  br i1 %mine, label %yes, label %out
yes:
  %id = call i64 inttoptr (i64 27 to ptr)(ptr %ctx, ptr @stacks, i64 0){{dbg}}
  store i64 %id, ptr %sid, align 8
  store i64 1, ptr %one, align 8
  %u = call i64 inttoptr (i64 {MAP_UPDATE_ELEM} to ptr)(ptr @stackids, ptr %sid, ptr %one, i64 0){{dbg}}
  br label %out
out:
  ret i32 0{{dbg}}
""")
    return b.build()


@pytest.mark.kernel
@pytest.mark.skipif(shutil.which("bpftrace") is None, reason="bpftrace is not installed")
def test_kstack_text_agrees_with_bpftrace():
    """The openat kernel stack of this process, printed by kt, is one bpftrace prints for
    `printf("%s", kstack)` in the same tracepoint of its own child."""
    from kt.runtime.attach.tracepoint import attach_tracepoint
    from kt.runtime.loader import load_object
    from kt.runtime.spec import parse_object

    with load_object(parse_object(_kstack_object(os.getpid()))) as obj:
        with attach_tracepoint(obj.program_in("tracepoint/syscalls/sys_enter_openat").fd,
                               "syscalls", "sys_enter_openat"):
            os.close(os.open("/dev/null", os.O_RDONLY))
        ctx = value_context(obj.maps["stacks"])
        ours = set()
        for key in obj.maps["stackids"].keys():
            sid = int.from_bytes(key, "little", signed=True)
            ours.add(format_value(decode(StackType(False), encode(StackType(False), sid), ctx=ctx)))
    assert ours and all(s.startswith("\n        ") for s in ours)
    out = subprocess.run(
        ["bpftrace", "-e", 'tracepoint:syscalls:sys_enter_openat /pid == cpid/ '
                           '{ printf("%s|", kstack); }', "-c", shutil.which("true")],
        capture_output=True, text=True, timeout=120).stdout
    if out.startswith("Attaching"):
        out = out.split("\n", 1)[1]
    theirs = {s for s in out.split("|") if s.startswith("\n")}
    assert theirs, out
    assert ours <= theirs, (ours, theirs)


def test_user_symbols_follow_an_exec(tmp_path):
    """A pid whose executable changed since its mappings were read is read again."""
    u = UserSymbols()
    pid = os.getpid()
    assert u.remember(pid)
    u._exe[pid] = (0, 0)           # as if this process had exec'd another program since
    addr = _libc_function_address("getpid")
    assert u.resolve(pid, addr) is not None
    assert u._exe[pid] != (0, 0)


def test_a_stack_seen_again_is_not_looked_up_again(fake_kernel):
    calls = []

    class Counting(FakeUser):
        def resolve(self, pid, addr):
            calls.append(addr)
            return super().resolve(pid, addr)

    user = Counting()
    sym = Symbolizer(kernel=fake_kernel, user=user)
    stack = [0x1000, 0x1019, 0]
    first = sym.stack_frames(stack, user=True, pid=42)
    assert sym.stack_frames(stack, user=True, pid=42) == first == ((0x1000, "leaf+0"), (0x1019, "middle+18"))
    assert calls == [0x1000, 0x1019]
    user.forget(42)                   # the process's mappings are read again: so are its stacks
    assert sym.stack_frames(stack, user=True, pid=42) == first and len(calls) == 4
    assert sym.stack_frames(stack, user=True, pid=43) == ((0x1000, "0x1000"), (0x1019, "0x1019"))
    k = sym.stack_frames([0xFFFFFFFF81000305, 0xFFFFFFFF81000505], user=False)
    assert k == ((0xFFFFFFFF81000305, "vfs_read+5"), (0xFFFFFFFF81000505, "weak_func+5"))
    assert sym.stack_frames([0xFFFFFFFF81000305, 0xFFFFFFFF81000505], user=False) == k


def test_user_stack_cache_follows_an_exec():
    u = UserSymbols()
    pid = os.getpid()
    addr = _libc_function_address("getpid")
    before = u.frames(pid, (addr,))
    assert "getpid+0" in before[0]
    u._exe[pid] = (0, 0)           # as if this process had exec'd another program since
    assert u.frames(pid, (addr,)) == before and u._exe[pid] != (0, 0)
