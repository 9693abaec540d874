"""kt's command line as bpftrace 0.17 reads it: GNU getopt_long with bpftrace's option set.

Why not argparse: scripts and wrappers written for bpftrace depend on getopt's behaviour
(options after the script name, `-kk`, `-dd`, unambiguous prefixes of long options such as
`--vers`, `--opt=value`) and on its messages and exit codes (the usage on stderr, 1 for a bad
flag, 0 for `-h`). This module is that parser and that usage text; runtime/cli.py acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# bpftrace 0.17's getopt string is "dbB:f:e:hlp:vqc:Vo:I:k"; kt's -d takes an optional stage.
_SHORT_WITH_ARG = set("BfepcoI")
_SHORT_FLAGS = set("dbhlvqVk")
# Long options: name -> takes an argument. bpftrace 0.17's, plus --dry-run (bpftrace 0.22).
_LONG = {
    "help": False, "version": False, "usdt-file-activation": False, "unsafe": False,
    "btf": False, "include": True, "info": False, "emit-llvm": True, "emit-elf": True,
    "no-warnings": False, "dry-run": False,
    "prometheus": True, "prometheus-max-series": True,   # kt's: runtime/prometheus.py
}
# What -d STAGE prints, in this order: kt's names, and newer bpftrace's (types: the typed AST,
# codegen: the IR before optimisation, codegen-opt: after; all). Plain -d prints what 0.17's
# does (the AST, then the optimised IR), -dd adds the IR before optimisation as 0.17's does.
DEBUG_STAGES = {"ast": ("ast",), "types": ("ast",), "codegen": ("codegen",), "ir": ("ir",),
                "codegen-opt": ("ir",), "asm": ("asm",), "all": ("ast", "codegen", "ir", "asm")}
DEBUG_LEVELS = {1: ("ast", "ir"), 2: ("ast", "codegen", "ir")}
BUFFER_MODES = ("line", "full", "none")

USAGE = """\
USAGE:
    kt [options] filename
    kt [options] - <stdin input>
    kt [options] -e 'program'

OPTIONS:
    -B MODE        output buffering mode ('line', 'full', 'none')
    -f FORMAT      output format ('text', 'json')
    -o file        redirect kt output to file
    -e 'program'   execute this program
    -h, --help     show this help message
    -I DIR         add the directory to the include search path
    --include FILE add an #include file before preprocessing
    -l [search]    list probes (-lv: with their arguments; -l -p PID: a process's)
    -p PID         uprobes and USDT probes in PID; trace until it exits
    -c 'CMD'       run CMD, trace until it exits; cpid is its pid
    --usdt-file-activation
                   activate usdt semaphores based on file path
    --unsafe       allow unsafe builtin functions
    -q             keep messages quiet
    --info         Print information about kernel BPF support
    -k             emit a warning when a bpf helper returns an error (except read functions)
    -kk            check all bpf helper functions
    -V, --version  kt version
    --no-warnings  disable all warning messages
    --prometheus [ADDR:]PORT
                   serve the maps as Prometheus metrics at http://ADDR:PORT/metrics
                   while tracing (PORT alone: 127.0.0.1; :PORT: every address)
    --prometheus-max-series N
                   keys of one map exported at most (default 1000; 0: no cap)

TROUBLESHOOTING OPTIONS:
    -v                      verbose messages
    -d [STAGE]              (dry run) debug info: the AST and the IR, or one STAGE
                            ('ast', 'types', 'codegen', 'ir', 'codegen-opt', 'asm', 'all')
    -dd                     (dry run) verbose debug info
    --dry-run               compile and load the programs, then exit without attaching
    --emit-elf FILE         (dry run) generate ELF file with bpf programs and write to FILE
    --emit-llvm FILE        write LLVM IR to FILE.original.ll and FILE.optimized.ll

ENVIRONMENT (each also as KT_...):
    BPFTRACE_STRLEN             [default: 64] bytes on BPF stack per str()
    BPFTRACE_NO_CPP_DEMANGLE    [default: 0] disable C++ symbol demangling
    BPFTRACE_MAP_KEYS_MAX       [default: 4096] max keys in a map
    BPFTRACE_CAT_BYTES_MAX      [default: 10k] maximum bytes read by cat builtin
    BPFTRACE_MAX_PROBES         [default: 512] max number of probes
    BPFTRACE_MAX_BPF_PROGS      [default: 512] max number of generated BPF programs
    BPFTRACE_LOG_SIZE           [default: 1000000] log size in bytes
    BPFTRACE_PERF_RB_PAGES      [default: by output] pages per CPU to allocate for ring buffer
    BPFTRACE_NO_USER_SYMBOLS    [default: 0] disable user symbol resolution
    BPFTRACE_CACHE_USER_SYMBOLS [default: auto] enable user symbol cache

EXAMPLES:
kt -l '*sleep*'
    list probes containing "sleep"
kt -e 'tracepoint:syscalls:sys_enter_nanosleep { printf("PID %d sleeping...\\n", pid); }'
    trace processes calling sleep
kt -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
    count syscalls by process name
"""


class UsageError(Exception):
    """A command line getopt refuses: the message (if any), then the usage, exit status 1."""


@dataclass
class Args:
    program: str | None = None        # -e
    command: str | None = None        # -c
    pid: str | None = None            # -p, checked by the CLI (bpftrace's wording)
    output: str | None = None         # -o
    format: str = "text"              # -f
    buffering: str | None = None      # -B
    include_dirs: list[str] = field(default_factory=list)   # -I
    include_files: list[str] = field(default_factory=list)  # --include
    listing: bool = False             # -l
    verbose: bool = False             # -v
    quiet: bool = False               # -q
    debug: int = 0                    # how many -d
    debug_stage: str | None = None    # -d STAGE
    helper_checks: int = 0            # how many -k
    help: bool = False
    version: bool = False
    info: bool = False
    unsafe: bool = False
    usdt_file_activation: bool = False
    no_warnings: bool = False
    dry_run: bool = False
    emit_elf: str | None = None
    emit_llvm: str | None = None
    prometheus: str | None = None              # --prometheus [ADDR:]PORT
    prometheus_max_series: str | None = None   # --prometheus-max-series N
    args: list[str] = field(default_factory=list)   # the script file (unless -e) and $1, $2, ...


def parse_args(argv: list[str]) -> Args:
    """GNU getopt_long over argv (without the program name): options may follow operands
    until `--`; raises UsageError with getopt's message (prefixed `kt: `)."""
    a = Args()
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word == "--":
            a.args.extend(argv[i:])
            break
        if word.startswith("--"):
            i = _long_option(a, word[2:], argv, i)
        elif word.startswith("-") and word != "-":
            i = _short_options(a, word[1:], argv, i)
        else:
            a.args.append(word)
        if a.help or a.version:   # bpftrace acts on -h and -V as soon as getopt returns them
            break
    return a


def _long_option(a: Args, text: str, argv: list[str], i: int) -> int:
    name, eq, value = text.partition("=")
    matches = [n for n in _LONG if n.startswith(name)]
    if name in _LONG:
        matches = [name]
    if not matches:
        raise UsageError(f"kt: unrecognized option '--{name}'")
    if len(matches) > 1:
        raise UsageError(f"kt: option '--{name}' is ambiguous; possibilities: "
                         + " ".join(f"'--{m}'" for m in matches))
    name = matches[0]
    if _LONG[name]:
        if not eq:
            if i >= len(argv):
                raise UsageError(f"kt: option '--{name}' requires an argument")
            value, i = argv[i], i + 1
    elif eq:
        raise UsageError(f"kt: option '--{name}' doesn't allow an argument")
    if name == "include":
        a.include_files.append(value)
    elif name in ("emit-elf", "emit-llvm", "prometheus", "prometheus-max-series"):
        setattr(a, name.replace("-", "_"), value)
    else:
        setattr(a, name.replace("-", "_"), True)
    return i


def _short_options(a: Args, letters: str, argv: list[str], i: int) -> int:
    for k, c in enumerate(letters):
        if c in _SHORT_WITH_ARG:
            value = letters[k + 1:]
            if not value:
                if i >= len(argv):
                    raise UsageError(f"kt: option requires an argument -- '{c}'")
                value, i = argv[i], i + 1
            _set_short(a, c, value)
            return i
        if c not in _SHORT_FLAGS:
            raise UsageError(f"kt: invalid option -- '{c}'")
        if c == "d":
            a.debug += 1
            # A stage is a word of its own right after -d (`-d ir`); 0.17's -d takes none.
            if k == len(letters) - 1 and i < len(argv) and argv[i] in DEBUG_STAGES:
                a.debug_stage, i = argv[i], i + 1
        elif c == "k":
            a.helper_checks += 1
        elif c != "b":   # -b: accepted and ignored, as by bpftrace 0.17
            setattr(a, {"h": "help", "l": "listing", "v": "verbose", "q": "quiet", "V": "version"}[c], True)
    return i


def _set_short(a: Args, c: str, value: str) -> None:
    if c == "I":
        a.include_dirs.append(value)
    else:
        setattr(a, {"B": "buffering", "f": "format", "e": "program", "p": "pid", "c": "command",
                    "o": "output"}[c], value)
