"""numaid, sargN, reg(), strncmp(), strcontains(), pton(), kptr()/uptr(), buf() comparisons and
positional parameters read as literals: their types and the diagnostics of wrong uses
(compiler/builtins/registers.py, strings.py, addresses.py). What they compute and print is
compared with bpftrace 0.17 in tests/e2e/test_builtins_differential.py."""

import pytest

from kt.compiler.builtins.records import c_integer
from kt.compiler.types import Array, Buf, Int, Ptr, U64, Void


@pytest.mark.parametrize("text,value", [
    ("0775", 509), ("0x123", 291), ("0X1f", 31), ("42", 42), ("-5", -5), (" 7", 7), ("0", 0),
    ("08", None), ("1e3", None), ("abc", None), ("", None), ("0x", None),
])
def test_positional_numbers_are_read_as_strtoll_base_0(text, value):
    assert c_integer(text) == value


def test_types(analyse):
    _, sema, _ = analyse('BEGIN { @a = numaid; @b = strncmp("a", "b", 1); @c = strcontains("ab", "b"); '
                         '@d = pton("1.2.3.4"); @e = pton("::1"); @f = kptr(1); @g = uptr(1); '
                         '@h = buf("ab", 2) == buf("ab", 2); @i = lhist(1, $1, $2, $3); exit(); }',
                         positional=("0", "010", "2"))
    types = {name: info.value for name, info in sema.maps.items()}
    assert types["@a"] == U64 and types["@b"] == U64 and types["@c"] == U64
    assert types["@d"] == Array(Int(8, False), 4) and types["@e"] == Array(Int(8, False), 16)
    assert types["@f"] == Ptr(Void(), "kernel") and types["@g"] == Ptr(Void(), "user")
    assert types["@i"].params == (0, 8, 2)


def test_positional_stack_depth(analyse):
    _, sema, _ = analyse('BEGIN { @[kstack($1)] = count(); exit(); }', positional=("3",))
    assert sema.maps["@"].key.limit == 3


def test_buf_is_a_map_key(analyse):
    _, sema, _ = analyse('BEGIN { @m[buf("abc", 3)] = count(); exit(); }')
    assert sema.maps["@m"].key == Buf(3)


@pytest.mark.parametrize("script,message", [
    ('BEGIN { print(reg("ip")); }', 'reg can not be used with "BEGIN" probes'),
    ('tracepoint:syscalls:sys_enter_openat { print(reg("ip")); }', 'reg can not be used with "tracepoint" probes'),
    ('BEGIN { print(sarg0); }', "The sarg0 builtin can only be used with 'kprobes' and 'uprobes' probes"),
    ('BEGIN { print(uaddr("x")); }', 'uaddr can not be used with "BEGIN" probes'),
    ('BEGIN { $n = 1; print(strncmp("a", "b", $n)); }', "strncmp() expects an integer literal"),
    ('BEGIN { print(strncmp("a", "b", -1)); }', "Builtin strncmp requires a non-negative size"),
    ('BEGIN { print(strncmp("a", 1, 1)); }', "strncmp() only supports string arguments (integer provided)"),
    ('BEGIN { print(strncmp("a", "b")); }', "strncmp() requires 3 arguments (2 provided)"),
    ('BEGIN { print(strcontains(1, "b")); }', "strcontains() only supports string arguments (integer provided)"),
    ('BEGIN { print(pton("1.2.3")); }', "pton() expects a valid IPv4/IPv6 address, got 1.2.3"),
    ('BEGIN { $s = "1.2.3.4"; print(pton($s)); }', "pton() expects a string literal"),
    ('BEGIN { print(cgroupid("/nonexistent/kt")); }', "Failed to get `cgroupid` for path"),
    ('BEGIN { print(kptr("a")); }', "kptr() takes a pointer or an integer address"),
    ('BEGIN { print(buf("ab", 2) == 1); }', "'==' needs integers, this is buffer[2]"),
])
def test_wrong_uses_are_diagnostics(errors, script, message):
    assert message in errors(script)
