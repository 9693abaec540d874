"""Hand-written KPROBE objects for the guest tests (the style of tests/runtime/objects.py).

One program serves kprobes, kretprobes and offsets alike: the attach decides what it is hooked
to, the program only counts. It counts calls made by one process (tgid ``pid``) per attach
cookie, so a test can attach it to several functions and see which fired.
"""

from __future__ import annotations

from kt.runtime.sys.constants import MapType
from tests.runtime.objects import GET_CURRENT_PID_TGID, MAP_LOOKUP_ELEM, ObjectBuilder

GET_ATTACH_COOKIE = 174       # bpf_get_attach_cookie (5.15+ for kprobes)
PT_REGS_AX = 80               # x86_64 struct pt_regs: ax, the return value at a kretprobe
SLOTS = 8                     # counts[cookie & 7]

SECTION = "kprobe/count"
MULTI_SECTION = "kprobe.multi/count"


def kprobe_counter_object(pid: int, section: str = SECTION) -> bytes:
    """For calls by tgid ``pid``: ``counts[cookie & 7] += 1`` (ARRAY of SLOTS u64) and
    ``last_ax[0] = regs->ax`` (what a kretprobe sees as the return value). With section
    ``kprobe.multi/...`` the loader gives it expected_attach_type BPF_TRACE_KPROBE_MULTI."""
    b = ObjectBuilder(source="kprobe_test.kt")
    b.map("counts", MapType.ARRAY, SLOTS, key_size=4, value_size=8)
    b.map("last_ax", MapType.ARRAY, 1, key_size=4, value_size=8)
    b.program("count", section, f"""
entry:
  %key = alloca i32, align 4
  %pt = call i64 inttoptr (i64 {GET_CURRENT_PID_TGID} to ptr)(){{dbg}}
  %tgid64 = lshr i64 %pt, 32
  %tgid = trunc i64 %tgid64 to i32
  %mine = icmp eq i32 %tgid, {pid}
  br i1 %mine, label %count, label %out
count:
  %cookie = call i64 inttoptr (i64 {GET_ATTACH_COOKIE} to ptr)(ptr %ctx){{dbg}}
  %slot64 = and i64 %cookie, {SLOTS - 1}
  %slot = trunc i64 %slot64 to i32
  store i32 %slot, ptr %key, align 4
  %v = call ptr inttoptr (i64 {MAP_LOOKUP_ELEM} to ptr)(ptr @counts, ptr %key){{dbg}}
  %isnull = icmp eq ptr %v, null
  br i1 %isnull, label %ax, label %inc
inc:
  %old = atomicrmw add ptr %v, i64 1 monotonic
  br label %ax
ax:
  store i32 0, ptr %key, align 4
  %l = call ptr inttoptr (i64 {MAP_LOOKUP_ELEM} to ptr)(ptr @last_ax, ptr %key){{dbg}}
  %lnull = icmp eq ptr %l, null
  br i1 %lnull, label %out, label %store
store:
  %axp = getelementptr inbounds i8, ptr %ctx, i64 {PT_REGS_AX}
  %axv = load i64, ptr %axp, align 8
  store i64 %axv, ptr %l, align 8
  br label %out
out:
  ret i32 0{{dbg}}
""")
    return b.build()


def tracepoint_object() -> bytes:
    """A TRACEPOINT program (returns 0): the kernel refuses to run it on a kprobe, which makes
    an attach fail after its kprobe was created."""
    b = ObjectBuilder(source="tp_test.kt")
    b.program("tp", "tracepoint/syscalls/sys_enter_getpid", """
entry:
  ret i32 0{dbg}
""")
    return b.build()
