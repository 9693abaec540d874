"""Hypothesis strategies: well-typed kt programs, generated as source text.

`programs(mode)` draws a whole script. The generator keeps kt's types as it goes (ints of
several widths and signs through casts, strings, tuples, structs the script defines, pointers
to them), so what it writes is meant to compile: variables are assigned before use and keep
one type, every map has one key and value type in the whole script, printf conversions match
their arguments, loops end (`while` counts a fresh variable up, `unroll` has a literal count).

Modes:
- "compare": BEGIN only, deterministic values only (no pid, nsecs, comm, ...), ending in
  exit(): what bpftrace 0.17 prints for it is compared with what kt prints.
- "run": every probe kind the fuzz tests can fire in their own worker process (BEGIN, END,
  interval, raw_syscalls tracepoints and libc uprobes filtered on the worker's pid, spelled
  PID_PLACEHOLDER and filled in by the harness) and every builtin usable there; an
  `interval` probe ends the trace.

There is no `for` over maps: kt's grammar has none yet (0.17 has none either). Not generated:
join() (needs an execve tracepoint the worker does not fire), and as valid uses override(),
path(), unwatch(), system(), signal() (kprobe/kfunc/watchpoint or --unsafe only): those appear
only among the misuses, which must get a diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

PID_PLACEHOLDER = "__KT_FUZZ_PID__"

INT = ("int",)
STR = ("str",)


def tup(*elems) -> tuple:
    return ("tuple", tuple(elems))


INT_LITERALS = ["0", "1", "2", "3", "7", "10", "-1", "-2", "-100", "255", "256", "1000", "65535", "65536",
                "0x7f", "0xff", "0x10", "2147483647", "2147483648", "4294967295", "4294967296",
                "9223372036854775807", "-9223372036854775807", "1000000", "123456789", "1_000", "1e3"]
CASTS = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64"]
ARITH = ["+", "-", "*", "/", "%", "&", "|", "^"]
COMPARE = ["==", "!=", "<", "<=", ">", ">="]
WORDS = ["", "a", "ab", "hello", "kt", "x y", "tab\\t", "nl\\n", "quote\\\"", "0123456789abcdef", "%d", "\\x41"]
# Builtins with a value that differs between two runs (or between kt and bpftrace): only in "run".
RUN_INT_BUILTINS = ["pid", "tid", "nsecs", "elapsed", "cpu", "rand", "cgroup", "numaid"]
SAME_INT_BUILTINS = ["uid", "gid"]   # (cpid: 0.17 refuses it without -c)
INT_CONVERSIONS = ["%d", "%u", "%x", "%X", "%ld", "%lu", "%lx", "%lld", "%5d", "%-5d|", "%08x", "%o", "%hhd",
                   "%hd", "%zd"]
STR_CONVERSIONS = ["%s", "%10s|", "%-6s|", "%.2s"]


# Statements the compiler must refuse with a diagnostic (wrong probe context, wrong types,
# unknown names, bad literals); "run" mode puts one in now and then.
MISUSES = ['@r = retval', 'print(args->nope)', '$x = "a" + 1', '@agg = count(); @agg2 = @agg + 1',
           'printf("%d\\n", "s")', 'printf("%s %s\\n", 1)', 'print($undefined)', 'print(arg9)', 'print(sarg99)',
           'print(reg("nope"))', 'print(str(1, 2, 3))', 'print(kstack(bad))', '@h = lhist(1, 10, 0, 1)',
           '@h2 = hist()', '@c = count(); @c = 1', 'unroll(0) { $u = 1 }', 'unroll(101) { $u = 1 }',
           'print(((struct Nope *)0)->x)', 'print(sizeof(struct Nope))', 'print(offsetof(struct S0, nope))',
           '$t = (1, 2); print($t.5)', 'print(1 ? "a" : 2)', '@s["a"] = 1; @s[1] = 2', 'break', 'continue',
           'print(ntop(2, "short"))', 'print(pton("not an address"))', 'print(strncmp("a", "b", -1))',
           'print(kaddr("no_such_symbol_kt"))', 'print(uaddr("x"))', 'override(1)', 'system("true")',
           'signal("NOPE")', 'print(path(0))', 'unwatch(0)', 'print(cgroup_path())', 'print(bswap("s"))',
           'print(macaddr(1))', 'print(buf(1))', 'printf("%r\\n", 1)', 'print(@undefined_map)', 'exit(1, 2)',
           '$v = (int128)1', 'print((uint8 *)1 + "a")', 'print(-"a")', 'print(~(1, 2))', '$z = 1; $z = "s"']


@dataclass
class Probe:
    kind: str            # begin end interval tp_enter tp_exit uprobe uretprobe
    header: str
    predicate: str = ""


PROBES_RUN = [
    Probe("begin", "BEGIN"),
    Probe("end", "END"),
    Probe("interval", "interval:ms:20"),
    Probe("tp_enter", "tracepoint:raw_syscalls:sys_enter", f"pid == {PID_PLACEHOLDER}"),
    Probe("tp_exit", "tracepoint:raw_syscalls:sys_exit", f"pid == {PID_PLACEHOLDER}"),
    Probe("uprobe", "uprobe:libc:getpid", f"pid == {PID_PLACEHOLDER}"),
    Probe("uretprobe", "uretprobe:libc:getpid", f"pid == {PID_PLACEHOLDER}"),
]
EXIT_PROBE = "interval:ms:150 { exit(); }"


@dataclass
class Struct:
    name: str
    fields: list          # (member name, C declaration type, kt type)


@dataclass
class Gen:
    draw: object
    mode: str
    structs: list = field(default_factory=list)
    maps: dict = field(default_factory=dict)       # name -> (key types or None, value type or ("agg", f))
    vars: dict = field(default_factory=dict)       # $name -> type, in scope here
    used: set = field(default_factory=set)         # every $name of the current probe
    probe: Probe | None = None
    loops: int = 0                                  # loop nesting (break/continue allowed)
    budget: int = 0                                 # statements left in this program

    # ---- helpers ---------------------------------------------------------------------------
    def choice(self, xs):
        return self.draw(st.sampled_from(xs))

    def coin(self, p_true: float = 0.5) -> bool:
        # True for the high draws: hypothesis starts from (and shrinks towards) 0, which is
        # then the common case, not the rare one
        return self.draw(st.integers(0, 999)) >= 1000 - p_true * 1000

    def n(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    @property
    def run(self) -> bool:
        return self.mode == "run"

    def fresh_var(self, prefix: str = "v") -> str:
        i = 0
        while f"${prefix}{i}" in self.used:
            i += 1
        self.used.add(f"${prefix}{i}")   # a variable has one type in the whole probe
        return f"${prefix}{i}"

    def vars_of(self, ty) -> list[str]:
        return sorted(v for v, t in self.vars.items() if t == ty)

    # ---- expressions -----------------------------------------------------------------------
    def int_expr(self, depth: int = 2) -> str:
        if depth <= 0 or self.coin(0.35):
            return self.int_leaf()
        k = self.n(0, 11)
        if k <= 3:
            op = self.choice(ARITH + ["<<", ">>"])
            left = self.int_expr(depth - 1)
            right = self.choice(["1", "3", "8", "31", "63"]) if op in ("<<", ">>") else self.int_expr(depth - 1)
            return f"({left} {op} {right})"
        if k == 4:
            return f"({self.int_expr(depth - 1)} {self.choice(COMPARE)} {self.int_expr(depth - 1)})"
        if k == 5:
            return f"({self.int_expr(depth - 1)} {self.choice(['&&', '||'])} {self.int_expr(depth - 1)})"
        if k == 6:
            return f"{self.choice(['-', '~', '!'])}({self.int_expr(depth - 1)})"
        if k == 7:
            return f"(({self.choice(CASTS)}){self.int_expr(depth - 1)})"
        if k == 8:
            return f"({self.cond(depth - 1)} ? {self.int_expr(depth - 1)} : {self.int_expr(depth - 1)})"
        if k == 9:
            a, b = self.str_expr(depth - 1), self.str_expr(depth - 1)
            return self.choice([f"({a} == {b})", f"({a} != {b})", f"strncmp({a}, {b}, {self.n(0, 8)})"])
        if k == 10:
            tuples = [v for v, t in self.vars.items() if t[0] == "tuple" and INT in t[1]]
            if tuples:
                v = self.choice(sorted(tuples))
                return f"{v}.{self.vars[v][1].index(INT)}"
            return self.int_leaf()
        return self.int_special(depth)

    def int_leaf(self) -> str:
        options = ["lit", "lit", "var", "builtin", "map", "sizeof"]
        k = self.choice(options)
        if k == "var" and self.vars_of(INT):
            return self.choice(self.vars_of(INT))
        if k == "map":
            names = [m for m, (keys, val) in sorted(self.maps.items()) if val == INT]
            if names:
                m = self.choice(names)
                return self.map_ref(m)
        if k == "builtin":
            return self.int_builtin()
        if k == "sizeof" and self.structs:
            s = self.choice(self.structs)
            return self.choice([f"sizeof(struct {s.name})", f"sizeof({self.choice(CASTS)})"])
        return self.choice(INT_LITERALS)

    def int_builtin(self) -> str:
        names = list(SAME_INT_BUILTINS)
        if self.run:
            names += RUN_INT_BUILTINS + ["cpid"]
            kind = self.probe.kind
            if kind == "tp_enter":
                names += ["args->id", f"args->args[{self.n(0, 5)}]", "args.id"]
            elif kind == "tp_exit":
                names += ["args->id", "args->ret"]
            elif kind == "uprobe":
                names += ["arg0", "arg1", 'reg("ip")', 'reg("sp")', "sarg0"]
            elif kind == "uretprobe":
                names += ["retval", 'reg("ax")']
        return self.choice(names)

    def int_special(self, depth: int) -> str:
        """Builtin functions returning integers, and struct members through pointers."""
        opts = ["bswap", "strcontains"]
        if self.run:
            opts += ["member", "deref", "kptr"]
        k = self.choice(opts)
        if k == "bswap":
            return f"bswap({self.choice(['', '(uint16)', '(uint32)'])}{self.int_expr(depth - 1)})"
        if k == "strcontains":
            return f"strcontains({self.str_expr(depth - 1)}, {self.str_expr(depth - 1)})"
        if k == "member" and self.structs:
            s = self.choice(self.structs)
            ints = [f for f, _, t in s.fields if t == INT]
            if ints:
                return f"((struct {s.name} *)curtask)->{self.choice(ints)}"
        if k == "deref":
            return self.choice(["curtask->pid", "curtask->real_parent->tgid", "*(int32 *)curtask",
                                "curtask->mm == 0"])
        return f"(kptr(curtask) != 0)"

    def cond(self, depth: int = 1) -> str:
        return self.int_expr(depth)

    def str_leaf(self) -> str:
        k = self.n(0, 3)
        if k == 0 and self.vars_of(STR):
            return self.choice(self.vars_of(STR))
        if k == 1:
            names = [m for m, (keys, val) in sorted(self.maps.items()) if val == STR]
            if names:
                return self.map_ref(self.choice(names))
        if k == 2 and self.run:
            return self.choice(["comm", "str(curtask->comm)", f"str(curtask->comm, {self.n(1, 20)})"])
        return f'"{self.choice(WORDS)}"'

    def str_expr(self, depth: int = 1) -> str:
        if depth > 0 and self.coin(0.15):
            return f"({self.cond(depth - 1)} ? {self.str_leaf()} : {self.str_leaf()})"
        return self.str_leaf()

    def tuple_expr(self, ty) -> str:
        return "(" + ", ".join(self.expr(t) for t in ty[1]) + ")"

    def expr(self, ty, depth: int = 2) -> str:
        if ty == INT:
            return self.int_expr(depth)
        if ty == STR:
            return self.str_expr(depth)
        if ty[0] == "tuple":
            vs = [v for v, t in self.vars.items() if t == ty]
            if vs and self.coin(0.3):
                return self.choice(sorted(vs))
            return self.tuple_expr(ty)
        raise AssertionError(ty)

    def a_type(self):
        k = self.n(0, 9)
        if k < 6:
            return INT
        if k < 8:
            return STR
        return tup(*[self.choice([INT, STR]) for _ in range(self.n(2, 3))])

    def map_ref(self, name: str) -> str:
        keys, _ = self.maps[name]
        if keys is None:
            return name
        return f"{name}[{', '.join(self.expr(k, 1) for k in keys)}]"

    # ---- statements ------------------------------------------------------------------------
    def block(self, n_max: int = 4) -> list[str]:
        out = []
        for _ in range(self.n(1, n_max)):
            if self.budget <= 0:
                break
            self.budget -= 1
            out.extend(self.statement())
        return out or ["$nop = 1"]

    def statement(self) -> list[str]:
        kinds = ["assign", "assign", "reassign", "map", "map", "agg", "printf", "printf", "print", "if",
                 "while", "unroll", "incr", "delete", "ternary", "print_map"]
        if self.loops:
            kinds += ["break", "continue"]
        if self.run and self.coin(0.015):
            return [self.choice(MISUSES)]
        k = self.choice(kinds)
        return getattr(self, "st_" + k)()

    def st_assign(self) -> list[str]:
        ty = self.a_type()
        value = self.expr(ty)
        v = self.fresh_var()
        self.vars[v] = ty   # nested() forgets it after its block: 0.17's scoping is unclear there
        return [f"{v} = {value}"]

    def mutable_ints(self) -> list[str]:
        """Int variables a statement may change: not a while loop's counter ($iN), which must
        only count up for the loop to end."""
        return [v for v in self.vars_of(INT) if not v.startswith("$i")]

    def st_reassign(self) -> list[str]:
        ints = self.mutable_ints()
        if not ints:
            return self.st_assign()
        v = self.choice(ints)
        op = self.choice(["=", "+=", "-=", "*=", "|=", "&=", "^=", "<<=", ">>=", "/=", "%="])
        rhs = self.choice(["1", "2", "7"]) if op in ("<<=", ">>=") else self.int_expr(1)
        return [f"{v} {op} {rhs}"]

    def new_map(self, value, rhs=lambda: "") -> tuple[str, str]:
        """A new map's name and its first assignment's right side (drawn before the map
        exists, so it does not read the map it defines)."""
        name = f"@m{len(self.maps)}" if self.maps or self.coin(0.8) else "@"
        keys = None if self.coin(0.3) else tuple(self.choice([INT, INT, STR]) for _ in range(self.n(1, 2)))
        ref = name if keys is None else f"{name}[{', '.join(self.expr(k, 1) for k in keys)}]"
        text = rhs()
        self.maps[name] = (keys, value)
        return ref, text

    def st_map(self) -> list[str]:
        plain = [m for m, (_, val) in sorted(self.maps.items()) if val[0] != "agg"]
        if plain and self.coin(0.5):
            m = self.choice(plain)
            return [f"{self.map_ref(m)} = {self.expr(self.maps[m][1])}"]
        ty = self.a_type()
        ref, rhs = self.new_map(ty, lambda: self.expr(ty))
        return [f"{ref} = {rhs}"]

    def st_agg(self) -> list[str]:
        aggs = [m for m, (_, val) in sorted(self.maps.items()) if val[0] == "agg"]
        def call() -> str:
            arg = self.int_expr(1)
            return {"count": "count()", "lhist": f"lhist({arg}, 0, 100, 10)"}.get(f, f"{f}({arg})")

        if aggs and self.coin(0.4):
            m = self.choice(aggs)
            f = self.maps[m][1][1]
            return [f"{self.map_ref(m)} = {call()}"]
        f = self.choice(["count", "sum", "min", "max", "avg", "stats", "hist", "lhist"])
        ref, rhs = self.new_map(("agg", f), call)
        return [f"{ref} = {rhs}"]

    def printf_args(self) -> tuple[str, list[str]]:
        fmt, args = [], []
        for _ in range(self.n(0, 4)):
            if self.coin(0.7):
                fmt.append(self.choice(INT_CONVERSIONS))
                args.append(self.int_expr(2))
            else:
                fmt.append(self.choice(STR_CONVERSIONS))
                args.append(self.str_expr(1))
            fmt.append(self.choice([" ", ",", " x ", ""]))
        text = self.choice(["", "v:", "%% ", "tab\\t"]) + "".join(fmt)
        return text, args

    def st_printf(self) -> list[str]:
        text, args = self.printf_args()
        return [f'printf("{text}\\n"{"".join(", " + a for a in args)})']

    def st_print(self) -> list[str]:
        return [f"print({self.expr(self.a_type())})"]

    def st_print_map(self) -> list[str]:
        if not self.maps:
            return self.st_print()
        m = self.choice(sorted(self.maps))
        k = self.n(0, 3)
        if k == 0:
            return [f"clear({m})"]
        if k == 1:
            return [f"zero({m})"]
        return [f"print({m})"]

    def st_delete(self) -> list[str]:
        keyed = [m for m, (keys, _) in sorted(self.maps.items()) if keys is not None]
        if not keyed:
            return self.st_map()
        return [f"delete({self.map_ref(self.choice(keyed))})"]

    def st_incr(self) -> list[str]:
        ints = self.mutable_ints()
        plain = [m for m, (_, val) in sorted(self.maps.items()) if val == INT]
        target = self.choice(ints) if ints and (not plain or self.coin()) else (
            self.map_ref(self.choice(plain)) if plain else None)
        if target is None:
            return self.st_assign()
        return [self.choice([f"{target}++", f"{target}--", f"++{target}", f"--{target}"])]

    def nested(self, n_max: int = 3, first: tuple = ()) -> str:
        saved = dict(self.vars)
        body = [*first, *self.block(n_max)]
        self.vars = saved          # what a block assigns stays in the block
        return "{ " + join(body) + " }"

    def st_if(self) -> list[str]:
        text = f"if ({self.cond(2)}) {self.nested()}"
        if self.coin(0.5):
            text += f" else {self.nested()}" if self.coin(0.7) else f" else if ({self.cond(1)}) {self.nested()}"
        return [text]

    def st_ternary(self) -> list[str]:
        return [f"{self.cond(1)} ? {self.st_printf()[0]} : {self.st_printf()[0]}"]

    def st_while(self) -> list[str]:
        v = self.fresh_var("i")
        self.vars[v] = INT
        self.loops += 1
        body = self.nested(3, first=(f"{v}++",))
        self.loops -= 1
        return [f"{v} = 0", f"while ({v} < {self.n(0, 4)}) {body}"]

    def st_unroll(self) -> list[str]:
        return [f"unroll({self.n(1, 4)}) {self.nested(2)}"]

    def st_break(self) -> list[str]:
        return [f"if ({self.cond(1)}) {{ {self.choice(['break', 'continue'])} }}"]

    st_continue = st_break

    # ---- run-mode extras: builtins that print or read the machine ---------------------------
    def run_extras(self) -> list[str]:
        kind = self.probe.kind
        extras = [
            'printf("%s %s\\n", ksym(reg("ip")), usym(reg("ip")))' if kind in ("uprobe", "uretprobe") else
            "print(ksym(kaddr(\"do_sys_openat2\")))",
            "@stk[kstack] = count()", "@ustk[ustack(3)] = count()", "print(kstack(perf, 2))",
            'printf("%s\\n", strerror(2))', "print(ntop(0x0100007f))", 'print(ntop(pton("::1")))',
            'printf("%s\\n", strftime("%H:%M", nsecs))', "print(cgroup_path(cgroup))",
            'print(buf("abc", 2))', 'printf("%r\\n", buf(comm))', "print(username)", "time()",
            'print(probe)', "print(comm)", 'cat("/proc/self/stat")', "print(curtask->comm)",
            "@p[curtask] = 1", "print(uptr(arg0))" if kind == "uprobe" else "print(ctx)",
            "print(func)" if kind in ("uprobe", "uretprobe") else "print(cpu)",
            'print(*uaddr("__libc_single_threaded"))' if kind in ("uprobe", "uretprobe") else "print(numaid)",
            'print(macaddr(kaddr("do_sys_openat2")))', 'print(macaddr(curtask->comm))',
        ]
        if self.structs:
            s = self.choice(self.structs)
            f0 = s.fields[0][0]
            sp = f"$sp = (struct {s.name} *)curtask"
            extras += [f"{sp}; print(*$sp)", f"@sv = *(struct {s.name} *)curtask",
                       f"print(((struct {s.name} *)curtask)->{s.fields[-1][0]})",
                       f"{sp}; if ($sp != 0) {{ print($sp->{f0}) }}", f"{sp}; print(($sp + 1)->{f0})",
                       f"{sp}; @ptrs[$sp] = count()", f"{sp}; @pv = $sp", f"{sp}; print(($sp == 0, $sp > 0))",
                       f"{sp}; print(&$sp->{f0})", f"{sp}; $sp++; print($sp ? 1 : 2)"]
        extras += ["$q = (int32 *)curtask; print(*$q); print($q[1])", "print((uint8 *)curtask + 2)",
                   "$pp = (struct task_struct **)curtask; print(*$pp != 0)"]
        return [self.choice(extras) for _ in range(self.n(0, 3))]

    # ---- scripts ---------------------------------------------------------------------------
    def struct_defs(self) -> list[str]:
        out = []
        for i in range(self.n(0, 2)):
            fields = []
            for j in range(self.n(1, 4)):
                # C's spellings: 0.17 hands struct definitions to clang, which knows no int8
                c = self.choice(["int", "unsigned int", "char", "short", "unsigned long long", "signed char",
                                 "long", "char[8]", "unsigned char[4]"])
                name = f"f{j}"
                if c.endswith("]"):
                    base, dim = c.split("[")
                    decl = f"{base} {name}[{dim}"
                    ty = STR if base == "char" else ("array",)
                else:
                    decl = f"{c} {name}"
                    ty = INT
                fields.append((name, decl, ty))
            s = Struct(f"S{i}", fields)
            self.structs.append(s)
            out.append(f"struct {s.name} {{ " + " ".join(d + ";" for _, d, _ in fields) + " }")
        return out

    def probe_text(self, probe: Probe, final: list[str]) -> str:
        self.probe, self.vars, self.used = probe, {}, {"$nop", "$sp"}
        body = self.block(6)
        if self.run:
            body += self.run_extras()
        body += final
        pred = f" /{probe.predicate}/" if probe.predicate else ""
        return f"{probe.header}{pred} {{ " + join(body) + " }"

    def script(self) -> str:
        self.budget = self.n(1, 12)
        parts = self.struct_defs()
        if self.mode == "compare":
            parts.append(self.probe_text(Probe("begin", "BEGIN"), ["exit()"]))
        else:
            probes = self.draw(st.lists(st.sampled_from(PROBES_RUN), min_size=1, max_size=3,
                                        unique_by=lambda p: p.kind))
            for p in probes:
                self.budget = max(self.budget, 2)
                parts.append(self.probe_text(p, []))
            if any(p.kind not in ("begin", "end") for p in probes):
                parts.append(EXIT_PROBE)
        return "\n".join(parts) + "\n"


def join(statements: list[str]) -> str:
    """Statements with `;` between them, none after a block (0.17 refuses `if (c) { } ;`)."""
    out = ""
    for i, s in enumerate(statements):
        out += s
        if i < len(statements) - 1:
            out += " " if s.endswith("}") else "; "
    return out


@st.composite
def programs(draw, mode: str = "compare") -> str:
    return Gen(draw, mode).script()
