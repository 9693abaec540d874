"""The `kt` command: bpftrace's command line, on kt's compiler and runtime."""

from __future__ import annotations

import os
import sys
import time
import traceback
from typing import TYPE_CHECKING

from .cli_env import EnvError, queue_bytes, read_environment, ring_pages
from .cli_flags import BUFFER_MODES, DEBUG_LEVELS, DEBUG_STAGES, USAGE, UsageError, parse_args
from .machine_facts import machine_facts as _machine_facts

if TYPE_CHECKING:  # pragma: no cover
    from ..compiler.diagnostics import CompileError
    from ..compiler.options import CompileOptions
    from ..compiler.source import SourceFile

# The runtime imports nothing of the compiler but kt.compiler.formats (tests/runtime/
# test_boundary.py); the compile path below imports it when it is given source text.


def _kt_version() -> str:
    # Imported here: importlib.metadata (and the email package it loads) cost seconds of every
    # kt's start-up in the emulated kprobe guest.
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("kt")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _usage(code: int) -> int:
    """bpftrace prints its usage on stderr, for -h (status 0) as for a bad command line (1)."""
    sys.stderr.write(USAGE)
    return code


def _debug() -> bool:
    """KT_DEBUG=1: kt's own faults print their Python traceback (kt's bug reports want it)."""
    return os.environ.get("KT_DEBUG", "") not in ("", "0")


def _fail(message: str, code: int = 1) -> int:
    print(f"kt: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:
        # The reader went away (`kt -l | head`; a trace reports it as a SessionFault): the
        # listing is over; everything attached was already released on the way out. Point
        # stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        # Ctrl-C before the trace's own handler is in place (compiling, attaching many
        # probes): whatever was created is released by the `finally`s on the way out.
        print("kt: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str]) -> int:
    start_ns = time.monotonic_ns()
    if not argv:
        return _usage(1)
    try:
        opts = parse_args(argv)
    except UsageError as err:
        print(err, file=sys.stderr)
        return _usage(1)
    if opts.help:
        return _usage(0)
    if opts.version:
        print(f"kt v{_kt_version()}")
        return 0
    if opts.helper_checks > 2 or opts.debug > 2:   # -kkk, -ddd: bpftrace prints the usage
        return _usage(1)
    # The checks bpftrace 0.17 makes of its command line, in its order and with its words.
    if opts.buffering is not None and opts.buffering not in BUFFER_MODES:
        return _fail("USAGE: -B must be either 'line', 'full', or 'none'.")
    if opts.verbose and opts.debug:
        return _fail("USAGE: Use either -v or -d.")
    if opts.command is not None and opts.pid is not None:
        _fail("USAGE: Cannot use both -c and -p.")
        return _usage(1)
    if opts.info:
        from .info import info_report
        sys.stderr.write(info_report(_kt_version()))
        return 0
    try:
        env = read_environment()
    except EnvError as err:
        return _fail(str(err))
    if (failed := _check_prometheus(opts)) is not None:
        return failed
    pid = 0
    if opts.pid is not None:
        if not opts.pid.isdigit():
            return _fail(f"pid '{opts.pid}' is not a valid decimal number")
        pid = int(opts.pid)
    rest = list(opts.args)
    if opts.listing:
        if len(rest) > 1:
            return _usage(1)
        return _list(rest[0] if rest else None, opts.verbose, opts.program, pid or None)
    if opts.format not in ("text", "json"):
        return _fail(f'Invalid output format "{opts.format}"\nValid formats: \'text\', \'json\'')
    if opts.program:   # 0.17: an empty -e '' is no program at all
        name, text, here = "stdin", opts.program, "."
        positional = rest
    else:
        if not rest:
            return _fail("USAGE: filename or -e 'program' required.")
        path, positional = rest[0], rest[1:]
        try:
            data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        except OSError as err:
            return _fail(f"failed to open file '{path}': {err.strerror}", 255)
        from .object_file import looks_like_object
        if looks_like_object(path, data):   # `kt out.o`: run the object, no compiler
            return _run_object(opts, env, path, data, positional, pid, start_ns)
        # Bytes that are no UTF-8 are kept as surrogate escapes, as Python gives `-e`'s text:
        # 0.17 reads a script as bytes, so "\xff" in a string literal is that byte, printed raw.
        text = data.decode("utf-8", "surrogateescape")
        name, here = ("stdin", ".") if path == "-" else (path, os.path.dirname(path) or ".")
    from ..compiler.preprocess import HeaderError, include_headers
    from ..compiler.source import SourceFile
    try:   # -I DIR, --include FILE and the script's own #include "x.h" (compiler/preprocess.py)
        text = include_headers(text, here, tuple(opts.include_dirs), tuple(opts.include_files))
    except (HeaderError, OSError) as err:
        return _fail(str(err))
    source = SourceFile.of(name, text)

    if os.geteuid() != 0:
        return _fail("kt must run as root: it reads tracefs and loads BPF programs "
                     "(CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)")

    if pid and not os.path.exists(f"/proc/{pid}"):
        return _fail(f"pid {pid}: No such process")
    compile_only = opts.debug or opts.emit_elf
    child = None
    if not compile_only:
        child, failed = _spawn_child(opts)
        if failed is not None:
            return failed
    try:
        return _run(opts, env, source, positional, child, pid, start_ns)
    finally:
        if child is not None:
            child.kill()


def _spawn_child(opts):
    """The -c command, forked and held until the probes are attached: (child or None, None),
    or (None, exit status) after printing 0.17's error."""
    from .child import ChildError, HeldChild, resolve_command
    if opts.command is None or not opts.command.strip():
        return None, None
    try:
        argv = resolve_command(opts.command)
    except ChildError:
        word = opts.command.split()[0]
        return None, _fail(f"Failed to fork child: path '{word}' does not exist or is not executable", 255)
    try:
        return HeldChild.spawn(argv), None
    except ChildError as err:
        return None, _fail(f"Failed to fork child: {err}", 255)


# Options that act on source; an object was compiled already.
_SOURCE_ONLY = (("debug", "-d"), ("debug_stage", "-d"), ("emit_elf", "--emit-elf"), ("emit_llvm", "--emit-llvm"),
                ("include_dirs", "-I"), ("include_files", "--include"), ("helper_checks", "-k"))


def _run_object(opts, env, path: str, data: bytes, positional: list[str], pid: int, start_ns: int) -> int:
    """`kt out.o [args]`: run an object built by `kt --emit-elf`, without the compiler
    (nothing here imports llvmlite or lark: tests/e2e/test_objects.py)."""
    for attr, flag in _SOURCE_ONLY:
        if getattr(opts, attr):
            return _fail(f"{path}: {flag} applies to compiling a script, and {path} is a compiled object")
    if os.geteuid() != 0:
        return _fail("kt must run as root: it reads tracefs and loads BPF programs "
                     "(CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)")
    from .object_file import ObjectFileError, read_object
    from .tracefs import TracefsError, tracefs_root
    try:
        root = str(tracefs_root())
    except (TracefsError, OSError) as err:
        return _fail(f"tracefs is not available: {err}")
    try:
        read_object(path, data, root)
    except ObjectFileError as err:
        return _fail(str(err))
    try:
        queue_limit = queue_bytes(os.environ.get("KT_QUEUE_MB"))
    except EnvError as err:
        return _fail(str(err))
    if pid and not os.path.exists(f"/proc/{pid}"):
        return _fail(f"pid {pid}: No such process")
    child, failed = _spawn_child(opts)
    if failed is not None:
        return failed
    try:
        return _trace(opts, env, data, child, pid, start_ns, queue_limit, tuple(positional))
    finally:
        if child is not None:
            child.kill()


def _header_notes(err: CompileError) -> None:
    """A diagnostic in a header appended by include_headers: which header line it is."""
    from ..compiler.preprocess import header_line
    for d in err.diagnostics:
        where = header_line(err.source.text, d.span.start)
        if where is not None:
            line, _ = err.source.line_col(d.span.start)
            print(f"kt: note: {err.source.name}:{line} is line {where[1]} of {where[0]}; kt uses a header's "
                  "struct, union, enum and typedef definitions and #define constants", file=sys.stderr)


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


def _run(opts, env, source: SourceFile, positional: list[str], child, pid: int, start_ns: int) -> int:
    from ..compiler.options import CompileOptions
    from .tracefs import TracefsError, tracefs_root

    try:
        root = str(tracefs_root())
    except (TracefsError, OSError) as err:
        return _fail(f"tracefs is not available: {err}")
    try:
        rb_pages = ring_pages(env, os.environ.get("KT_RB_PAGES"))
        queue_limit = queue_bytes(os.environ.get("KT_QUEUE_MB"))
    except EnvError as err:
        return _fail(str(err))
    from ..compiler.formats.meta import COMPILE_CONFIG_ENV   # spec.py imports it for the run anyway
    from ..compiler.formats.named_args import split_args
    # $1.. are the arguments that are not named (--name=value: getopt(), filled at run time)
    options = CompileOptions(positional=split_args(positional)[0], cpid=child.pid if child else 0,
                             command=child.argv[0] if child else "",
                             start_ns=start_ns, tracefs=root, source_name=source.name,
                             ringbuf_pages=rb_pages, pid=pid, unsafe=opts.unsafe,
                             strlen=env.strlen, map_keys_max=env.map_keys_max,
                             helper_checks=opts.helper_checks,
                             env_set=env.given & COMPILE_CONFIG_ENV,
                             **_machine_facts())
    stages = DEBUG_STAGES[opts.debug_stage] if opts.debug_stage else DEBUG_LEVELS.get(opts.debug, ())
    if not (stages or opts.debug or opts.emit_llvm or opts.emit_elf):
        # A run: the object may come from the cache (runtime/cache.py), without the compiler.
        from . import cache
        key = cache.make_key(source.text, options) if cache.enabled() else None
        entry = cache.lookup(key) if key else None
        if entry is None:
            from ..compiler.diagnostics import CompileError   # a cache hit never needs it
            try:
                entry = _compile_for_cache(source, options, key)
            except CompileError as err:
                print(err.render(), file=sys.stderr)
                _header_notes(err)
                return 1
        if not opts.no_warnings:
            for w in entry.warnings:
                print(w, file=sys.stderr)
        return _trace(opts, env, entry.elf, child, pid, start_ns, queue_limit, tuple(positional))
    from ..compiler.diagnostics import CompileError
    from ..compiler.driver import compile_source
    try:
        if stages == ("ast",):
            from ..compiler.driver import check
            from ..compiler.dump import dump_ast
            program, sema, _ = check(source, options)
            sys.stdout.write(dump_ast(program, source, sema.types))
            return 0
        compiled = compile_source(source, options)
    except CompileError as err:
        print(err.render(), file=sys.stderr)
        _header_notes(err)
        return 1
    if not opts.no_warnings:
        for w in compiled.warnings:
            print(w.render(source), file=sys.stderr)
    if opts.emit_llvm:
        for suffix, text in (("original", compiled.original_ir), ("optimized", compiled.ir)):
            if (failed := _write_file(f"{opts.emit_llvm}.{suffix}.ll", text.encode())) is not None:
                return failed
    if opts.debug:
        if "ast" in stages:
            from ..compiler.dump import dump_ast
            sys.stdout.write(dump_ast(compiled.program, source, compiled.semantics.types))
        if "codegen" in stages:
            sys.stdout.write(compiled.original_ir)
        if "ir" in stages:
            sys.stdout.write(compiled.ir)
        if "asm" in stages:
            sys.stdout.write(compiled.assembly())
        return 0
    if opts.emit_elf:
        return _write_file(opts.emit_elf, compiled.elf) or 0
    return _trace(opts, env, compiled.elf, child, pid, start_ns, queue_limit, tuple(positional))


def _write_file(path: str, data: bytes) -> int | None:
    """Write --emit-elf/--emit-llvm output; None, or the exit status after the error line."""
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as err:
        return _cannot_open(path, err)
    return None


def _cannot_open(path: str, err: OSError) -> int:
    """0.17's words for an output file (-o, --emit-elf, --emit-llvm) that cannot be written."""
    return _fail(f'Failed to open output file: "{path}": {err.strerror}')


def _compile_for_cache(source: SourceFile, options: CompileOptions, key: str | None):
    """Compile, recording what the compiler reads of the machine, and store the object under
    `key` (None: the cache is off). Raises CompileError."""
    from ..compiler.driver import compile_source
    from ..compiler.formats.inputs import recording
    from .cache import Entry, store
    with recording() as inputs:
        compiled = compile_source(source, options)
    entry = Entry(compiled.elf, tuple(w.render(source) for w in compiled.warnings))
    if key is not None:
        store(key, entry.elf, inputs, entry.warnings)
    return entry


def _check_prometheus(opts) -> int | None:
    """--prometheus's address, cap and package, checked before anything is compiled."""
    if opts.prometheus is None:
        if opts.prometheus_max_series is not None:
            return _fail("--prometheus-max-series applies to --prometheus")
        return None
    from .prometheus import Exporter, PrometheusError
    try:
        Exporter(opts.prometheus, opts.prometheus_max_series)
    except PrometheusError as err:
        return _fail(str(err))
    return None


def _trace(opts, env, elf: bytes, child, pid: int, start_ns: int, queue_limit: int | None,
           positional: tuple[str, ...] = ()) -> int:
    exporter = None
    if opts.prometheus is not None and not opts.dry_run:
        # Serving starts before the load, so that a busy port is an error before anything
        # attaches; scrapes see the maps once they are loaded (runtime/prometheus.py).
        from .prometheus import Exporter, PrometheusError
        try:
            exporter = Exporter(opts.prometheus, opts.prometheus_max_series).start()
        except PrometheusError as err:
            return _fail(str(err))
    try:
        return _trace_session(opts, env, elf, child, pid, start_ns, queue_limit, positional, exporter)
    finally:
        if exporter is not None:
            exporter.close()


def _trace_session(opts, env, elf: bytes, child, pid: int, start_ns: int, queue_limit: int | None,
                   positional: tuple[str, ...], exporter) -> int:
    from .cli_output import open_output
    from .session import Session, SessionError, SessionFault
    try:
        out = open_output(opts.output, opts.buffering)
    except OSError as err:
        return _cannot_open(opts.output, err)
    status = None
    try:
        session = Session(elf, out=out, quiet=opts.quiet, verbose=opts.verbose, child=child,
                          pid=pid, json=opts.format == "json", separator_out=sys.stdout.buffer,
                          dry_run=opts.dry_run, no_warnings=opts.no_warnings,
                          max_probes=env.max_probes, log_size=env.log_size,
                          user_symbols=not env.no_user_symbols, demangle=not env.no_cpp_demangle,
                          cache_user_symbols=env.cache_user_symbols, start_ns=start_ns, positional=positional,
                          env_given=env.given, metrics=None if exporter is None else exporter.source,
                          **({} if queue_limit is None else {"queue_limit": queue_limit}))
        status = session.run()
    except SessionFault as err:
        if _debug():
            traceback.print_exception(err.__cause__ or err, file=sys.stderr)
        status = _fail(str(err))
    except SessionError as err:
        status = _fail(str(err))
    finally:
        try:
            out.close()    # -B full: the output is written here
        except OSError as err:
            # a fault already reported, or (status 0) what only the final write found
            if status == 0:
                status = _fail(f"writing the output failed ({err.strerror or err}): its end is lost")
            elif status is None:
                raise
    return status


if __name__ == "__main__":
    sys.exit(main())
