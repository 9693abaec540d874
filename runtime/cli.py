"""The `kt` command: bpftrace's command line, on kt's compiler and runtime."""

from __future__ import annotations

import argparse
import os
import sys
import time
from importlib.metadata import PackageNotFoundError, version

from ..compiler.diagnostics import CompileError
from ..compiler.options import CompileOptions
from ..compiler.source import SourceFile

USAGE = """\
kt [options] FILE [ARGS...]
       kt [options] -e 'PROGRAM' [ARGS...]"""

EPILOG = """\
examples:
  kt -e 'BEGIN { printf("hello %d\\n", 42); exit(); }'
  kt -e 'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { printf("%s %s\\n", comm, str(args->filename)); }' -c 'cat /etc/hostname'
  kt -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
  kt examples/syscount.kt
"""


def _kt_version() -> str:
    try:
        return version("kt")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


class _VersionAction(argparse.Action):
    """--version, resolved only when asked for: importlib.metadata costs ~20 ms at startup."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"kt v{_kt_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kt", usage=USAGE, epilog=EPILOG,
                                description="kt: a tracing compiler for Linux (bpftrace's language, compiled to eBPF).",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-e", dest="program", metavar="PROGRAM", help="trace this program")
    p.add_argument("-c", dest="command", metavar="CMD", help="run CMD and trace until it exits; cpid is its pid")
    p.add_argument("-p", dest="pid", metavar="PID", type=int, help="uprobes only in process PID; trace until it exits")
    p.add_argument("-l", dest="list", action="store_true",
                   help="list probes matching the pattern given as argument (with -v: their arguments)")
    p.add_argument("-o", dest="output", metavar="FILE", help="write the trace output to FILE")
    p.add_argument("-f", dest="format", choices=("text", "json"), default="text",
                   help="output format: text (default) or json (one JSON object a line, as bpftrace)")
    p.add_argument("-d", dest="debug", choices=("ast", "ir", "asm"), help="print a compiler stage and exit")
    p.add_argument("-v", dest="verbose", action="store_true", help="verbose: the whole verifier log")
    p.add_argument("-q", dest="quiet", action="store_true", help="no status lines (Attached N probes)")
    p.add_argument("--emit-elf", metavar="FILE", help="write the BPF object to FILE and exit")
    p.add_argument("--unsafe", action="store_true", help="allow system() and signal()")
    p.add_argument("-V", "--version", action=_VersionAction, nargs=0, help="print kt's version and exit")
    p.add_argument("args", nargs="*", metavar="FILE [ARGS...]",
                   help="script file (unless -e) and its positional parameters $1, $2, ...")
    return p


def _fail(message: str, code: int = 1) -> int:
    print(f"kt: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`kt ... | head`): the trace or listing is over; everything
        # attached was already released on the way out. Point stdout at /dev/null so the
        # interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None) -> int:
    start_ns = time.monotonic_ns()
    opts = build_parser().parse_intermixed_args(argv)
    rest = [a for a in opts.args]
    if rest and rest[0] == "--":
        rest = rest[1:]
    if opts.list:
        return _list(rest[0] if rest else None, opts.verbose, opts.program, opts.pid)
    if opts.program is not None:
        source = SourceFile.of("stdin", opts.program)
        positional = rest
    else:
        if not rest:
            build_parser().print_usage(sys.stderr)
            return _fail("no program given: a script FILE or -e 'PROGRAM'")
        path, positional = rest[0], rest[1:]
        try:
            text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        except OSError as err:
            return _fail(f"cannot read {path}: {err.strerror}")
        source = SourceFile.of("stdin" if path == "-" else path, text)
    positional = [a for a in positional if a != "--"]

    if os.geteuid() != 0:
        return _fail("kt must run as root: it reads tracefs and loads BPF programs "
                     "(CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)")

    from .child import ChildError, HeldChild, resolve_command
    child = None
    if opts.pid is not None and not os.path.exists(f"/proc/{opts.pid}"):
        return _fail(f"-p {opts.pid}: no such process")
    if opts.command is not None and not (opts.debug or opts.emit_elf):
        try:
            child = HeldChild.spawn(resolve_command(opts.command))
        except ChildError as err:
            return _fail(str(err))
    try:
        return _run(opts, source, positional, child, start_ns)
    finally:
        if child is not None:
            child.kill()


def _list(pattern: str | None, verbose: bool, program: str | None, pid: int | None = None) -> int:
    if os.geteuid() != 0:
        return _fail("kt must run as root to list probes (tracefs and kernel symbols are root-only)")
    from .listing import ProbeSources, list_probes
    try:
        lines = list_probes(pattern, verbose, sources=ProbeSources(pid=pid))
    except (OSError, ValueError) as err:
        return _fail(str(err))
    for line in lines:
        print(line)
    return 0


def _machine_facts() -> dict:
    """What the compiler may ask of this machine: kprobe wildcard expansion and kernel symbol
    addresses (kaddr). Given as functions so that nothing is read unless a script needs it."""
    def kernel_functions(pattern: str) -> list[str]:
        from .attach.kprobe import expand_kprobe_wildcard
        return expand_kprobe_wildcard(pattern)

    def kernel_symbol(name: str) -> int | None:
        from .symbols import kaddr
        try:
            return kaddr(name)
        except (LookupError, OSError):
            return None

    return {"kernel_functions": kernel_functions, "kernel_symbol": kernel_symbol}


def _run(opts, source: SourceFile, positional: list[str], child, start_ns: int) -> int:
    from ..compiler.driver import compile_source
    from .tracefs import TracefsError, tracefs_root

    try:
        root = str(tracefs_root())
    except (TracefsError, OSError) as err:
        return _fail(f"tracefs is not available: {err}")
    rb_pages = None
    if "KT_RB_PAGES" in os.environ:
        try:
            rb_pages = int(os.environ["KT_RB_PAGES"])
        except ValueError:
            return _fail("KT_RB_PAGES must be a number of pages (a power of two)")
        if rb_pages < 1 or rb_pages & (rb_pages - 1):
            return _fail(f"KT_RB_PAGES must be a power of two, not {rb_pages}")
    options = CompileOptions(positional=tuple(positional), cpid=child.pid if child else 0,
                             command=child.argv[0] if child else "",
                             start_ns=start_ns, tracefs=root, source_name=source.name,
                             ringbuf_pages=rb_pages, pid=opts.pid or 0, unsafe=opts.unsafe,
                             **_machine_facts())
    try:
        if opts.debug == "ast":
            from ..compiler.driver import check
            from ..compiler.dump import dump_ast
            program, sema, _ = check(source, options)
            sys.stdout.write(dump_ast(program, source, sema.types))
            return 0
        compiled = compile_source(source, options)
    except CompileError as err:
        print(err.render(), file=sys.stderr)
        return 1
    for w in compiled.warnings:
        print(w.render(source), file=sys.stderr)
    if opts.debug == "ir":
        sys.stdout.write(compiled.ir)
        return 0
    if opts.debug == "asm":
        sys.stdout.write(compiled.assembly())
        return 0
    if opts.emit_elf:
        with open(opts.emit_elf, "wb") as f:
            f.write(compiled.elf)
        return 0

    from .session import Session, SessionError
    out = open(opts.output, "wb") if opts.output else sys.stdout.buffer
    try:
        session = Session(compiled.elf, out=out, quiet=opts.quiet, verbose=opts.verbose, child=child,
                          pid=opts.pid or 0, json=opts.format == "json",
                          separator_out=sys.stdout.buffer)
        return session.run()
    except SessionError as err:
        return _fail(str(err))
    finally:
        if out is not sys.stdout.buffer:
            out.close()


if __name__ == "__main__":
    sys.exit(main())
