"""Positional parameters in attach points (compiler/attach_positionals.py): the parser keeps
`$N` in the attach point, the expansion replaces it as bpftrace 0.17 does."""

import pytest

from kt.compiler.attach_positionals import expand_attach_point, explain_missing
from kt.compiler.diagnostics import DiagnosticSink
from kt.compiler.parse import parse
from kt.compiler.source import SourceFile


def expanded(spec: str, *args: str):
    ap = parse(SourceFile("t.kt", spec + " { }")).probes[0].attach_points[0]
    sink = DiagnosticSink()
    got = expand_attach_point(ap, args, sink)
    return got, [d.message for d in sink.errors]


@pytest.mark.parametrize("spec, args, raw, provider, parts", [
    ("interval:ms:$1", ["100"], "interval:ms:100", "interval", ["ms", "100"]),
    ("BEG$1", ["IN"], "BEGIN", "BEGIN", []),
    ("$1", ["END"], "END", "END", []),
    ("$1", ["tracepoint:syscalls:sys_enter_openat"], "tracepoint:syscalls:sys_enter_openat",
     "tracepoint", ["syscalls", "sys_enter_openat"]),
    ("$1:$2", ["interval", "ms"], "interval:ms", "interval", ["ms"]),
    ("tracepoint:syscalls:sys_enter_$1", ["open*"], "tracepoint:syscalls:sys_enter_open*",
     "tracepoint", ["syscalls", "sys_enter_open*"]),
    ("uprobe:$1:$2", ["/bin/with:colon", "f"], "uprobe:/bin/with:colon:f", "uprobe", ["/bin/with:colon", "f"]),
    ('uprobe:/t:$1"*"', ["leaf"], 'uprobe:/t:leaf"*"', "uprobe", ["/t", "leaf*"]),
    ('uprobe:/t:"$1"', ["leaf"], 'uprobe:/t:"$1"', "uprobe", ["/t", "$1"]),
    ("interval:$1", ["ms:100"], "interval:ms:100", "interval", ["ms:100"]),
    ("interval:ms:$2", ["a"], "interval:ms:", "interval", ["ms", ""]),
    ("kprobe:vfs_read", [], "kprobe:vfs_read", "kprobe", ["vfs_read"]),
])
def test_expansion(spec, args, raw, provider, parts):
    got, errors = expanded(spec, *args)
    assert errors == []
    assert (got.raw, got.provider, got.parts) == (raw, provider, parts)


@pytest.mark.parametrize("spec, message", [
    ("interval:ms:$#", "'$#' in an attach point is not a positional parameter"),
    ("interval:ms:$0", "$0 in an attach point: positional parameters start at $1"),
    ("uprobe:/t:$1*", "text '*' after $1 in an attach point"),
    ("tracepoint:$1$2:x", "text '$2' after $1 in an attach point"),
])
def test_refused(spec, message):
    got, errors = expanded(spec, "a", "b")
    assert got is None and errors == [message]


def test_an_error_names_the_missing_parameter():
    ap = parse(SourceFile("t.kt", "interval:ms:$3 { }")).probes[0].attach_points[0]
    sink = DiagnosticSink()
    sink.error(ap.span, "interval rate must be a positive number, not 0")
    explain_missing(ap, ("a",), sink, 0)
    assert sink.errors[0].hints == ("$3 not given (1 positional parameter), so expanded to nothing here",)
