"""kt.runtime.output.text against what bpftrace 0.17 printed at exit (pure, no kernel).

Each case names its one-liner, run as `bpftrace -e '<script>' | cat -A` with Debian's
bpftrace v0.17.0; the expected text is everything after the `Attaching N probe(s)...` line.
"""

import pytest
from hypothesis import given, strategies as st

from kt.runtime.layout import Avg, IntType, MapMeta, StrType, TupleType
from kt.runtime.output.text import (
    EXIT_SEPARATOR, format_key, format_map, format_maps, format_value, sort_entries,
)

I64, U64, I8, I16, U32 = IntType(8, True), IntType(8, False), IntType(1, True), IntType(2, True), IntType(4, False)
S64 = StrType(64)


def m(name, agg="none", key=None, value=I64):
    return MapMeta(name, "AT_" + name[1:], agg, key, value)


def test_no_maps():
    # BEGIN { exit(); }  ->  "\n\n"
    assert format_maps([]) == "\n\n" == EXIT_SEPARATOR
    assert format_maps([], separator=False) == ""


def test_scalar_maps_in_name_order():
    # BEGIN { @b = 1; @a = 2; @ = 3; @c["x"] = 4; @A = 5; @_ = 6; @a1 = 7; @B=8; exit(); }
    #   END { printf("end\n"); }   (`end` is printed before the "\n\n")
    maps = [(m("@b"), [(None, 1)]), (m("@a"), [(None, 2)]), (m("@"), [(None, 3)]),
            (m("@c", key=S64), [(b"x", 4)]), (m("@A"), [(None, 5)]), (m("@_"), [(None, 6)]),
            (m("@a1"), [(None, 7)]), (m("@B"), [(None, 8)])]
    assert format_maps(maps) == "\n\n@: 3\n@A: 5\n@B: 8\n@_: 6\n@a: 2\n@a1: 7\n@b: 1\n@c[x]: 4\n"


def test_avg_sum_count():
    # BEGIN { @a = avg(5); @a = avg(-8); @b[1] = avg(3); @b[2]=avg(10); @b[3] = avg(-1);
    #   @b[3] = avg(-2); @c = count(); @d["x"] = sum(-5); @d["y"] = sum(3); exit(); }
    maps = [
        (m("@a", "avg"), [(None, Avg(-3, 2))]),
        (m("@b", "avg", I64), [(1, Avg(3, 1)), (2, Avg(10, 1)), (3, Avg(-3, 2))]),
        (m("@c", "count", value=U64), [(None, 1)]),
        (m("@d", "sum", StrType(16)), [(b"y", 3), (b"x", -5)]),
    ]
    assert format_maps(maps) == ("\n\n@a: -1\n\n@b[3]: -1\n@b[1]: 3\n@b[2]: 10\n\n"
                                 "@c: 1\n@d[x]: -5\n@d[y]: 3\n")


def test_min_max_and_int_values_sorted_by_value():
    # BEGIN { @k[1] = min(5); @k[2] = min(-7); @k[3] = min(2); @m[1] = max(5); @m[3] = max(2);
    #   @i[1] = -5; @i[2] = 7; @i[3] = -10; @i[4] = 0; exit(); }
    # (0.17 also had @m[2] = max(-7), which it never stores: a max() of negatives stays empty
    #  in 0.17 — a BPF-side bug kt does not copy)
    maps = [
        (m("@i", key=I64), [(1, -5), (2, 7), (3, -10), (4, 0)]),
        (m("@k", "min", I64), [(1, 5), (2, -7), (3, 2)]),
        (m("@m", "max", I64), [(1, 5), (3, 2)]),
    ]
    assert format_maps(maps) == ("\n\n@i[3]: -10\n@i[1]: -5\n@i[4]: 0\n@i[2]: 7\n"
                                 "@k[2]: -7\n@k[3]: 2\n@k[1]: 5\n@m[3]: 2\n@m[1]: 5\n")


def test_sorted_by_key_when_values_are_not_ints():
    # BEGIN { @[-1] = "a"; @[2] = "b"; @[0]="c"; @[-5] = "d"; @s["b"] = "x"; @s["a"] = "y";
    #   @s["ab"] = "z"; @s[""] = "e"; @u = (1, "a", -2); @v[(int8)-3] = (uint8)200;
    #   @w[(uint32)7, (int16)-2] = (int16)-9; exit(); }
    tup = TupleType(24, ((0, I64), (8, StrType(2)), (16, I64)))
    maps = [
        (m("@", key=I64, value=S64), [(-1, b"a"), (2, b"b"), (0, b"c"), (-5, b"d")]),
        (m("@s", key=S64, value=S64), [(b"b", b"x"), (b"a", b"y"), (b"ab", b"z"), (b"", b"e")]),
        (m("@u", value=tup), [(None, (1, b"a", -2))]),
        (m("@v", key=I8, value=IntType(1, False)), [(-3, 200)]),
        (m("@w", key=TupleType(8, ((0, U32), (4, I16))), value=I16), [((7, -2), -9)]),
    ]
    # integer keys compare unsigned: 0, 2, then -5, -1
    assert format_maps(maps) == ("\n\n@[0]: c\n@[2]: b\n@[-5]: d\n@[-1]: a\n"
                                 "@s[]: e\n@s[a]: y\n@s[ab]: z\n@s[b]: x\n"
                                 "@u: (1, a, -2)\n@v[-3]: 200\n@w[7, -2]: -9\n")


def test_misc_values():
    # BEGIN { @a = (uint64)-1; @b = sum((uint64)-1); @c = ((1, 2), "a"); @e[(int8)-1] = (int16)-300;
    #   @f = (int8)-3; @g = sum(-3); @g = sum(1); @h = sum((uint32)5); @i[1] = (int8)-3;
    #   @i[2] = (int8)5; @i[3]=(int8)-100; exit(); }
    inner = TupleType(16, ((0, I64), (8, I64)))
    maps = [
        (m("@a", value=U64), [(None, 2**64 - 1)]),
        (m("@b", "sum", value=U64), [(None, 2**64 - 1)]),
        (m("@c", value=TupleType(18, ((0, inner), (16, StrType(2))))), [(None, ((1, 2), b"a"))]),
        (m("@e", key=I8, value=I16), [(-1, -300)]),
        (m("@f", value=I8), [(None, -3)]),
        (m("@g", "sum"), [(None, -2)]),
        (m("@h", "sum", value=U64), [(None, 5)]),
        (m("@i", key=I64, value=I8), [(1, -3), (2, 5), (3, -100)]),
    ]
    assert format_maps(maps) == ("\n\n@a: 18446744073709551615\n@b: 18446744073709551615\n"
                                 "@c: ((1, 2), a)\n@e[-1]: -300\n@f: -3\n@g: -2\n@h: 5\n"
                                 "@i[3]: -100\n@i[1]: -3\n@i[2]: 5\n")


def test_stats_framing_of_empty_maps():
    # BEGIN { exit(); } tracepoint:syscalls:sys_enter_openat /pid == 12345678/ { @u = count();
    #   @k[1] = count(); @x = 5; @s = avg(1); @m = max(3); @n = min(3); @o = sum(3);
    #   @str = comm; @tup = (1, "a"); }       (@t = stats(2) left out: no stats in kt yet)
    # -> every map prints its (empty) list of lines and "\n"; avg maps "\n\n"; the untouched
    #    scalar count() prints "@u: 0".
    maps = [(m("@u", "count", value=U64), []), (m("@k", "count", I64, U64), []),
            (m("@x"), []), (m("@s", "avg"), []), (m("@m", "max"), []), (m("@n", "min"), []),
            (m("@o", "sum"), []), (m("@str", value=StrType(16)), []),
            (m("@tup", value=TupleType(16, ((0, I64), (8, StrType(2))))), [])]
    #                  @k    @m  @n  @o  @s    @str  @tup @u       @x
    assert format_maps(maps) == "\n\n" + "\n" + "\n" + "\n" + "\n" + "\n\n" + "\n" + "\n" + "@u: 0\n" + "\n"


def test_cleared_and_zeroed():
    # BEGIN { @a[1] = count(); delete(@a[1]); @b = 1; exit(); }   (same with clear(@a))
    assert format_maps([(m("@a", "count", I64, U64), []), (m("@b"), [(None, 1)])]) == "\n\n\n@b: 1\n"
    # BEGIN { @a = count(); clear(@a); @b=1; exit(); }            (same with delete(@a))
    assert format_maps([(m("@a", "count", value=U64), []), (m("@b"), [(None, 1)])]) == "\n\n@a: 0\n@b: 1\n"
    # BEGIN { @a[1] = avg(1); clear(@a); @b=1; exit(); }
    assert format_maps([(m("@a", "avg", I64), []), (m("@b"), [(None, 1)])]) == "\n\n\n\n@b: 1\n"
    # BEGIN { @a = min(5); zero(@a); @b = max(5); zero(@b); @c[1] = max(3); zero(@c);
    #   @d = avg(4); zero(@d); @e[1] = avg(3); zero(@e); @f = sum(5); zero(@f); exit(); }
    # (zero() leaves min/max records unset: reduce_percpu gives None, printed 0)
    maps = [(m("@a", "min"), [(None, None)]), (m("@b", "max"), [(None, None)]),
            (m("@c", "max", I64), [(1, None)]), (m("@d", "avg"), [(None, Avg(0, 0))]),
            (m("@e", "avg", I64), [(1, Avg(0, 0))]), (m("@f", "sum"), [(None, 0)])]
    assert format_maps(maps) == "\n\n@a: 0\n@b: 0\n@c[1]: 0\n@d: 0\n\n@e[1]: 0\n\n@f: 0\n"


def test_tuple_keys_from_a_traced_child():
    # bpftrace -c '/usr/bin/ls /' -e 'tracepoint:syscalls:sys_enter_openat /pid == cpid/
    #   { @[comm] = count(); @s[pid, comm] = count(); @t[comm] = avg(args->flags); }'
    comm = StrType(16)
    maps = [(m("@", "count", comm, U64), [(b"ls", 34)]),
            (m("@s", "count", TupleType(24, ((0, U64), (8, comm))), U64), [((5681, b"ls"), 34)]),
            (m("@t", "avg", comm), [(b"ls", Avg(510855 * 34, 34))])]
    assert format_maps(maps) == "\n\n@[ls]: 34\n@s[5681, ls]: 34\n@t[ls]: 510855\n\n"


def test_ties_sorted_by_key_then_value():
    # BEGIN { @[1] = count(); @[2] = count(); @[3] = count(); @[4]=count(); @[5]=count();
    #   @[3]=count(); exit(); }
    # 0.17 printed the four 1s in a different order on each run (@[2] @[1] @[5] @[4], then
    # @[5] @[4] @[1] @[2], ...) and @[3]: 2 last; kt prints one of those orders, always the same.
    meta = m("@", "count", I64, U64)
    out = format_map(meta, [(5, 1), (3, 2), (1, 1), (4, 1), (2, 1)])
    assert out == "@[1]: 1\n@[2]: 1\n@[4]: 1\n@[5]: 1\n@[3]: 2\n"
    smeta = m("@", "count", StrType(8), U64)
    assert format_map(smeta, [(b"e", 1), (b"a", 1), (b"c", 1)]) == "@[a]: 1\n@[c]: 1\n@[e]: 1\n"


def test_print_top_and_div():
    meta = m("@", "count", I64, U64)
    entries = [(1, 10), (2, 30), (3, 20), (4, 5)]
    assert format_map(meta, entries, top=2) == "@[3]: 20\n@[2]: 30\n"
    assert format_map(meta, entries, top=2, div=10) == "@[3]: 2\n@[2]: 3\n"
    assert format_map(m("@s", "sum", I64), [(1, -7)], div=2) == "@s[1]: -3\n"
    assert format_map(m("@a", "avg"), [(None, Avg(-9, 1))], div=2) == "@a: -4\n\n"
    assert format_map(meta, entries, top=10, div=0) == "@[4]: 5\n@[1]: 10\n@[3]: 20\n@[2]: 30\n"


def test_format_value_and_key():
    assert format_value(-3) == "-3"
    assert format_value(b"ls\0xx") == "ls"
    assert format_value((1, (b"a", -2))) == "(1, (a, -2))"
    assert format_value(Avg(-3, 2)) == "-1"
    assert format_value(None) == "0"
    assert format_value(b"\xff").encode("utf-8", "surrogateescape") == b"\xff"
    assert format_key(m("@x"), None) == ""
    assert format_key(m("@x", key=I64), -1) == "[-1]"
    assert format_key(m("@x", key=TupleType(24, ((0, I64), (8, StrType(16))))), (1, b"a")) == "[1, a]"


@given(st.lists(st.tuples(st.integers(-2**63, 2**63 - 1), st.integers(-5, 5)), unique_by=lambda kv: kv[0]))
def test_sort_is_by_value_then_unsigned_key(entries):
    out = sort_entries(m("@", "sum", I64), entries)
    assert sorted(out) == sorted(entries)
    keys = [(v, k & (2**64 - 1)) for k, v in out]
    assert keys == sorted(keys)
    text = format_map(m("@", "sum", I64), entries)
    assert text.count("\n") == max(1, len(entries))
