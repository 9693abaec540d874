"""Mutations of valid scripts (kt's examples, Debian's /usr/sbin/*.bt) at token and byte level.

A mutant is mostly wrong, which is the point: whatever it is, kt must answer with a diagnostic
or a program, never a traceback, an abort or a hang. `mutants(seeds())` draws a seed script
and applies one to four mutations: delete, duplicate or swap tokens, replace a token with
another of the script's or with a keyword, change a number to a huge, negative or odd one,
insert random characters (NUL, 0xff, non-ASCII, control characters), truncate, duplicate a line,
nest a statement deeply.
"""

from __future__ import annotations

import glob
import os
import re
from functools import cache

from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|0[xX][0-9a-fA-F]+|\d+|[A-Za-z_$@][A-Za-z0-9_]*|->|\+\+|--|[<>=!&|]=?|'
                   r'<<|>>|\s+|.', re.S)
NUMBERS = ["0", "-1", "18446744073709551615", "18446744073709551616", "9223372036854775808",
           "-9223372036854775809", "99999999999999999999999999", "0x", "0xffffffffffffffffff", "010", "08",
           "1e100", "1_", "-0", "4294967296", "65536", "100000", "1e9"]
WORDS = ["BEGIN", "END", "if", "else", "while", "unroll", "return", "break", "continue", "struct", "union",
         "sizeof", "offsetof", "printf", "print", "exit", "count", "hist", "lhist", "str", "buf", "kstack",
         "ustack", "args", "retval", "arg0", "comm", "pid", "@", "$", "$1", "$#", "@x", "$x", "curtask",
         "join", "ntop", "delete", "clear", "zero", "*", "->", ".", ",", ";", ":", "/", "{", "}", "(", ")",
         "[", "]", "?", "\"", "#define", "#include", "//", "/*", "*/", "\\", "'", "kprobe:", "tracepoint:",
         "uprobe:", "interval:s:1", "int", "char", "(uint8)", "(struct task_struct *)", "==", "++", "+=",
         "%", "\"%s %d %lld %r %-08.3x\"", "\"\\x\"", "\"\\777\""]
CHARS = ["\x00", "\xff", "\u00e9", "\u2028", "\x7f", "\x1b", "\t", "\r", "\n", "\ufeff", "\U0001f600", "\\",
         "\ud7ff", "#", "`", "~"]


@cache
def seeds() -> tuple[str, ...]:
    """The scripts mutated: kt's examples and Debian's bpftrace tools (if installed)."""
    paths = sorted(glob.glob(os.path.join(ROOT, "examples", "*.kt"))) + sorted(glob.glob("/usr/sbin/*.bt"))
    texts = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            texts.append(f.read())
    return tuple(texts)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


@st.composite
def mutate(draw, text: str) -> str:
    toks = tokens(text) or [""]
    for _ in range(draw(st.integers(1, 4))):
        toks = toks or [""]   # a truncation may have left nothing
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "word", "number", "chars",
                                   "truncate", "line", "nest", "delete_span"]))
        n = len(toks)
        i = draw(st.integers(0, max(n - 1, 0)))
        if op == "delete" and n > 1:
            del toks[i]
        elif op == "delete_span" and n > 1:
            j = draw(st.integers(i, min(n, i + 20)))
            del toks[i:j]
        elif op == "duplicate":
            toks.insert(i, toks[i] if toks else "")
        elif op == "swap" and n > 1:
            j = draw(st.integers(0, n - 1))
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "replace" and n > 1:
            toks[i] = toks[draw(st.integers(0, n - 1))]
        elif op == "word":
            toks.insert(i, draw(st.sampled_from(WORDS)))
        elif op == "number":
            nums = [k for k, t in enumerate(toks) if t[:1].isdigit()]
            k = draw(st.sampled_from(nums)) if nums else i
            toks[k] = draw(st.sampled_from(NUMBERS))
        elif op == "chars":
            toks.insert(i, draw(st.text(st.sampled_from(CHARS) | st.characters(), min_size=1, max_size=4)))
        elif op == "truncate":
            toks = toks[:i]
        elif op == "line":
            lines = "".join(toks).split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k] * draw(st.integers(1, 3)))
            toks = tokens("\n".join(lines)) or [""]
        elif op == "nest":
            depth = draw(st.sampled_from([2, 10, 60, 300]))
            toks.insert(i, "if (1) { " * depth + "@n = 1;" + " }" * depth)
    return "".join(toks)


def mutants(texts: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(texts).flatmap(mutate)
