"""Deeply nested scripts: the compiler's stages recurse over the tree (lark's Transformer, the
passes, codegen), a few Python frames per level, so a script nested a few hundred deep (`if`
in `if`, a 10,000-term `a + a + ... + a`) exceeded Python's recursion limit of 1,000.

The stages therefore run in a thread with a large stack and a raised recursion limit, and the
parser refuses trees deeper than MAX_DEPTH levels with a located diagnostic (compiler/parse.py),
so the recursion stays far inside the stack: measured on x86-64 with Python 3.11, 64 MiB
held 100,000 levels; the thread has 256 MiB (address space; only touched pages are memory).
bpftrace 0.17 segfaults on the 10,000-term chain.
"""

from __future__ import annotations

import functools
import sys
import threading

__all__ = ["MAX_DEPTH", "deep_stack"]

MAX_DEPTH = 20_000          # levels of the parse tree (each expression and block is one or more)
_STACK_BYTES = 256 << 20
_FRAMES_PER_LEVEL = 10      # Python frames per tree level, with room (measured: 3 to 6)
_RECURSION_LIMIT = MAX_DEPTH * _FRAMES_PER_LEVEL + 10_000

_local = threading.local()
_limit_lock = threading.Lock()
_raised = 0                 # how many deep-stack calls run now (the limit is process-wide)
_saved_limit = 0


def deep_stack(fn):
    """Run fn in a thread with a large stack and a raised recursion limit, returning its
    result or raising its exception; a call from inside such a thread runs directly."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if getattr(_local, "deep", False):
            return fn(*args, **kwargs)
        outcome: list = []

        def run() -> None:
            _local.deep = True
            try:
                outcome.append((True, fn(*args, **kwargs)))
            except BaseException as err:   # re-raised in the caller's thread
                outcome.append((False, err))

        _raise_limit()
        try:
            old = threading.stack_size(_STACK_BYTES)
            try:
                # a daemon: Ctrl-C in join() ends kt without waiting for the compile
                thread = threading.Thread(target=run, name=f"kt-{fn.__name__}", daemon=True)
            finally:
                threading.stack_size(old)
            thread.start()
            thread.join()
        finally:
            _restore_limit()
        ok, value = outcome[0]
        if ok:
            return value
        raise value.with_traceback(value.__traceback__)

    return wrapper


def _raise_limit() -> None:
    global _raised, _saved_limit
    with _limit_lock:
        if _raised == 0:
            _saved_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_saved_limit, _RECURSION_LIMIT))
        _raised += 1


def _restore_limit() -> None:
    global _raised
    with _limit_lock:
        _raised -= 1
        if _raised == 0:
            sys.setrecursionlimit(_saved_limit)
