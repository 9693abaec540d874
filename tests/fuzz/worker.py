"""A fuzzing worker: compiles (and optionally runs) one program per request, in its own process.

The parent (tests/fuzz/harness.py) writes one JSON request a line on stdin and reads one JSON
reply a line on stdout. Running in a separate process is the point: an LLVM abort (SIGABRT),
a segfault or a hang kills or stalls this process only, and the parent records the program
that did it, then starts a new worker. Many programs share one worker, so llvmlite, lark and
the kernel's BTF are loaded once.

Request: {"src": TEXT, "name": "fuzz.kt", "run": bool}
Reply:   {"status": S, "detail": TEXT, "out": TEXT, "rc": N}
  S = "diagnostic" (CompileError: the compiler refused it, as it should refuse bad input),
      "accepted"   (compiled; not run),
      "ran"        (compiled, loaded, verified, attached and ran to its end; out = stdout, rc),
      "load_error" (compiled but the session refused it: a verifier rejection or attach error),
      "exception"  (anything else: a Python traceback, the thing fuzzing looks for).
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import traceback


def _compile(src: str, name: str):
    from kt.compiler.driver import compile_source
    from kt.compiler.options import CompileOptions
    from kt.compiler.preprocess import include_headers
    from kt.compiler.source import SourceFile
    from kt.runtime.machine_facts import machine_facts

    text = include_headers(src, ".")
    source = SourceFile.of(name, text)
    options = CompileOptions(source_name=name, **machine_facts())
    return compile_source(source, options)


def _run(elf: bytes) -> tuple[int, str, str]:
    from kt.runtime.session import Session

    out, err = io.BytesIO(), io.StringIO()
    session = Session(elf, out=out, err=err, quiet=True, no_warnings=True)
    # The generated uprobes are on libc's getpid() in this process: a thread calls it while the
    # trace runs, so they fire (and raw_syscalls fire with it).
    done = threading.Event()
    caller = threading.Thread(target=_call_getpid, args=(done,), daemon=True)
    caller.start()
    try:
        rc = session.run()
    finally:
        done.set()
        caller.join()
    return rc, out.getvalue().decode("utf-8", "backslashreplace"), err.getvalue()


def _call_getpid(done: threading.Event) -> None:
    while not done.wait(0.005):
        os.getpid()


def handle(request: dict) -> dict:
    from kt.compiler.diagnostics import CompileError
    from kt.compiler.preprocess import HeaderError
    from kt.runtime.session import SessionError

    try:
        compiled = _compile(request["src"], request.get("name", "fuzz.kt"))
    except (CompileError, HeaderError) as err:
        return {"status": "diagnostic", "detail": str(err)}
    except Exception:   # noqa: BLE001 -- what fuzzing looks for
        return {"status": "exception", "detail": "compile: " + traceback.format_exc()}
    if not request.get("run"):
        return {"status": "accepted", "detail": ""}
    try:
        rc, out, err = _run(compiled.elf)
    except SessionError as e:
        return {"status": "load_error", "detail": str(e)}
    except Exception:   # noqa: BLE001
        return {"status": "exception", "detail": "run: " + traceback.format_exc()}
    return {"status": "ran", "detail": err, "out": out, "rc": rc}


def main() -> None:
    # Replies go to the real stdout; anything kt prints on its own (it should not) goes to stderr.
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    replies = os.fdopen(reply_fd, "w", buffering=1)
    for line in sys.stdin:
        reply = handle(json.loads(line))
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
