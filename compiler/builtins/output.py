"""Output and actions: printf(), system(), cat(), print(), time(), join(), exit(), signal().

The kernel side only sends an event record (compiler/formats/events.py); user space formats the text,
runs the command or reads the file when the event arrives, in event order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from .. import ast
from ..formats.events import JOIN_ARG_SIZE, JOIN_ARGS, EventId
from ..helpers import Helper
from ..formats.printf_format import Conversion, FormatError, conversions, parse_format, unsupported_conversions
from ..types import Buf, Int, Ptr, Str, Sym, Type, Void, printable
from .records import Function, I64, check_arity, literal_int, literal_text, require_unsafe

if TYPE_CHECKING:  # pragma: no cover
    from ..codegen.probe import ProbeCodegen
    from ..passes.semantic import Checker


def _check_printf(checker: "Checker", call: ast.Call) -> Type | None:
    if not call.args or not isinstance(call.args[0], ast.StrLit):
        checker.sink.error(call.span, f"{call.name}() needs a string literal as its first argument")
        for a in call.args:
            checker.check(a)
        return Void()
    fmt_node = call.args[0]
    try:
        wanted = conversions(fmt_node.value.decode("utf-8", "surrogateescape"))
    except FormatError as err:
        checker.sink.error(fmt_node.span, f"invalid printf format: {err}")
        return Void()
    args = call.args[1:]
    arg_types = [checker.check(a) for a in args]
    if len(wanted) != len(args):
        unsupported = [spec for _, spec in unsupported_conversions(fmt_node.value.decode("utf-8", "surrogateescape"))]
        checker.sink.error(call.span, f"printf() format has {len(wanted)} conversion"
                           f"{'s' if len(wanted) != 1 else ''} but {len(args)} argument"
                           f"{'s were' if len(args) != 1 else ' was'} given",
                           f"'{unsupported[0]}' is not a conversion kt (or bpftrace 0.17) knows, so it is printed as "
                           "text; the conversions are %d %u %x %X %o %p (with hh h l ll j z t), %c, %s, %r %rx %rh"
                           if unsupported and len(args) > len(wanted) else "")
        return Void()
    raws = [s.raw for s in parse_format(fmt_node.value.decode("utf-8", "surrogateescape"))
            if isinstance(s, Conversion)]
    for want, raw, arg, t in zip(wanted, raws, args, arg_types):
        if t is None:
            continue
        if want == "buf" and not isinstance(t, Buf):
            checker.sink.error(arg.span, f"%r, %rx and %rh print a buf(), this is {t}")
        elif want == "str" and not isinstance(t, (Str, Sym)):
            checker.sink.error(arg.span, f"%s needs a string, this is {t}",
                               "use str() to read a string from a pointer" if isinstance(t, Int) else "")
        elif want == "int" and not isinstance(t, (Int, Ptr)):
            checker.sink.error(arg.span, f"{raw} needs an integer, this is {t}",
                               "%s prints a string" if isinstance(t, (Str, Sym)) else "")
    return Void()


def _check_system(checker: "Checker", call: ast.Call) -> Type | None:
    """system(fmt, args...): run a shell command (formatted like printf) in user space."""
    _check_printf(checker, call)
    require_unsafe(checker, call)
    return Void()


def _lower_printf(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.emit_printf(call)
    return None


SIGNALS = {"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7,
           "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13,
           "SIGALRM": 14, "SIGTERM": 15, "SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20}


def _signal_number(checker_or_cg, node) -> int | None:
    """A signal by number or name: a literal, or a positional parameter ($1, str($1))."""
    number = literal_int(checker_or_cg, node)
    if number is not None and not isinstance(node, ast.Call):
        return number if 1 <= number <= 64 else None
    text = literal_text(node, checker_or_cg)
    if text is not None:
        name = text.decode("utf-8", "replace").upper()
        return SIGNALS.get(name) or SIGNALS.get("SIG" + name)
    return None


def _check_signal(checker: "Checker", call: ast.Call) -> Type | None:
    """signal(SIG): send a signal to the current task (bpf_send_signal, 5.3+)."""
    if not check_arity(checker, call, 1, 1):
        return None
    if _signal_number(checker, call.args[0]) is None:
        checker.sink.error(call.args[0].span, "signal() takes a signal number (1-64) or name (\"SIGKILL\", \"KILL\")")
        return None
    if checker.current_probe.context.kind == "none":
        checker.sink.error(call.span, f"signal() in {checker.current_probe.name} would signal kt itself")
        return None
    require_unsafe(checker, call)
    return Void()


def _lower_signal(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.helper(Helper.send_signal, ir.Constant(I64, _signal_number(cg, call.args[0])))
    return None


def _check_exit(checker: "Checker", call: ast.Call) -> Type | None:
    """exit([code]) (the code: bpftrace 0.26): kt's exit status becomes code's low 8 bits."""
    if not check_arity(checker, call, 0, 1):
        return Void()
    if call.args:
        t = checker.check(call.args[0])
        if t is not None and not isinstance(t, Int):
            checker.sink.error(call.args[0].span, f"exit()'s code must be an integer, this is {t}")
    return Void()


def _lower_exit(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.emit_exit(cg.expr(call.args[0]) if call.args else None)
    return None


def whole_map_print(call: ast.Call) -> bool:
    """print(@m[, top, div]) of a whole map, against print(value) of anything else (a map
    element `@m[k]` included, which 0.17 refuses)."""
    target = call.args[0] if call.args else None
    return isinstance(target, ast.MapRef) and not target.keys


def _check_print(checker: "Checker", call: ast.Call) -> Type | None:
    """print(@m[, top[, div]]): print a map now (top keeps the largest entries, div divides);
    print(value): print any value as a map value prints."""
    if not check_arity(checker, call, 1, 3):
        return None
    target = call.args[0]
    if not whole_map_print(call):
        if len(call.args) != 1:
            checker.sink.error(call.span, "print(value) takes one value; top and div are for maps: print(@m, top, div)")
            return None
        t = checker.check(target)
        if t is not None and not printable(t):
            checker.sink.error(target.span, f"{t} cannot be printed")
        return Void()
    if target.name not in checker.maps:
        checker.sink.error(target.span, f"map '{target.name}' is used but never assigned")
        return None
    for arg in call.args[1:]:
        value = literal_int(checker, arg)   # a literal or a positional parameter, as in 0.17
        if value is None or value < 0:
            checker.sink.error(arg.span, "print()'s top and div must be non-negative integer literals")
            return None
    return Void()


def _lower_print(cg: "ProbeCodegen", call: ast.Call) -> None:
    if not whole_map_print(call):
        cg.emit_print_value(call)
        return None
    top, div = ([literal_int(cg, a) for a in call.args[1:]] + [0, 0])[:2]
    cg.emit_map_event("print", call.args[0].name, top, div)
    return None


def _check_time(checker: "Checker", call: ast.Call) -> Type | None:
    """time([fmt]): print the wall-clock time with strftime(3) in user space."""
    if not check_arity(checker, call, 0, 1):
        return None
    if call.args and not isinstance(call.args[0], ast.StrLit):
        checker.sink.error(call.args[0].span, "time() takes a strftime format as a string literal")
        return None
    return Void()


def _lower_time(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.emit_words(EventId.TIME, cg.plan.time_formats[call])
    return None


def _check_join(checker: "Checker", call: ast.Call) -> Type | None:
    """join(argv[, delim]): print a NULL-terminated array of strings (execve's argv)."""
    if not check_arity(checker, call, 1, 2):
        return None
    t = checker.check(call.args[0])
    if t is not None and not isinstance(t, (Int, Ptr)):
        checker.sink.error(call.args[0].span, f"join() needs the address of a char *[] array, this is {t}")
        return None
    if len(call.args) == 2 and not isinstance(call.args[1], ast.StrLit):
        checker.sink.error(call.args[1].span, "join()'s delimiter must be a string literal")
        return None
    return Void()


def _lower_join(cg: "ProbeCodegen", call: ast.Call) -> None:
    cg.emit_join(call, JOIN_ARGS, JOIN_ARG_SIZE)
    return None


def _check_cat(checker: "Checker", call: ast.Call) -> Type | None:
    """cat(fmt, args...): print a file's contents (the path formatted like printf)."""
    return _check_printf(checker, call)


FUNCTIONS = (
    Function("printf", "print formatted text: printf(fmt, args...)", _check_printf, _lower_printf),
    Function("system", "run a shell command (needs --unsafe): system(fmt, args...)", _check_system, _lower_printf),
    Function("cat", "print a file: cat(fmt, args...)", _check_cat, _lower_printf),
    Function("errorf", "print an error with the call's place to stderr: errorf(fmt, args...)", _check_printf,
             _lower_printf),
    Function("warnf", "print a warning with the call's place to stderr (not with --no-warnings): warnf(fmt, args...)",
             _check_printf, _lower_printf),
    Function("signal", "send a signal to the current task (needs --unsafe): signal(SIG)", _check_signal,
             _lower_signal),
    Function("exit", "end the trace: print maps and exit with status code: exit([code])", _check_exit, _lower_exit),
    Function("print", "print a map now: print(@name[, top[, div]]), or any value: print(value)", _check_print,
             _lower_print),
    Function("join", "print an array of strings: join(argv[, delim])", _check_join, _lower_join),
    Function("time", "print the time: time([strftime format]), default \"%H:%M:%S\\n\"", _check_time, _lower_time),
)
