"""kt.compiler.formats.printf_format: bpftrace 0.17's printf conversions (pure).

Facts below were observed with Debian's bpftrace v0.17.0, e.g.
`bpftrace -e 'BEGIN { printf("[%i]\\n", -2); exit(); }'` ->
`ERROR: printf: Too many arguments for format string (1 supplied, 0 expected)`.
"""

import pytest
from hypothesis import given, strategies as st

from kt.compiler.formats.printf_format import (
    Conversion, FormatError, Literal, conversions, parse_format, unparse, unsupported_conversions,
)


def convs(fmt):
    return [s for s in parse_format(fmt) if isinstance(s, Conversion)]


def test_simple_format():
    segs = parse_format("%s %d\n")
    assert segs == [
        Conversion("%s", 0, False, False, None, None, "", "s"),
        Literal(" ", " ", 2),
        Conversion("%d", 3, False, False, None, None, "", "d"),
        Literal("\n", "\n", 5),
    ]
    assert conversions("%s %d\n") == ["str", "int"]


def test_flags_width_precision_length():
    (c,) = convs("%-08.3lld")
    assert (c.left, c.zero, c.width, c.precision, c.length, c.conversion) == (True, True, 8, 3, "ll", "d")
    (c,) = convs("%05x")
    assert (c.zero, c.width) == (True, 5)
    (c,) = convs("%0d")
    assert (c.zero, c.width) == (True, 0)
    (c,) = convs("%.12s")
    assert (c.width, c.precision, c.arg_class) == (None, 12, "str")


# every token 0.17 accepts (printed something for each of these, no error)
ACCEPTED = [l + c for l in ("", "hh", "h", "l", "ll", "j", "z", "t") for c in "duoxXp"] + ["c", "s", "r", "rx", "rh"]


@pytest.mark.parametrize("tok", ACCEPTED)
def test_accepted_tokens(tok):
    (c,) = convs(f"[%{tok}]\n")
    assert c.raw == "%" + tok
    assert c.arg_class == {"s": "str", "r": "buf", "rx": "buf", "rh": "buf"}.get(tok, "int")


# 0.17 said "Too many arguments for format string (1 supplied, 0 expected)" for each:
# `printf("[%TOK]\n", -2)` — they are not conversions; the text after the last conversion is
# printed verbatim (`printf("%f|\n")` printed `%f|`).
NOT_CONVERSIONS = ["i", "D", "lc", "ls", "hs", "hhc", "lls", "hhs", "Lf", "qd", "lf", "+d", "5.2f",
                   ".d", "5.d"]


@pytest.mark.parametrize("tok", NOT_CONVERSIONS)
def test_not_conversions_in_tail(tok):
    fmt = f"[%{tok}]\n"
    assert conversions(fmt) == []
    assert parse_format(fmt) == [Literal(fmt, fmt, 0)]


def test_rx_rh_are_not_r_followed_by_text():
    # printf("[%r][%rx][%rh]\n", buf("ab\n\x01\xff", 5), buf("ab\n", 3), buf("ab\n", 3))
    # printed `[ab\x0a\x01\xff][\x61\x62\x0a][61 62 0a]`
    assert [c.conversion for c in convs("[%r][%rx][%rh]\n")] == ["r", "rx", "rh"]
    assert [c.length for c in convs("%rx%rh%hhx%llX")] == ["", "", "hh", "ll"]


def test_percent_percent_before_and_after_last_conversion():
    # printf("A%%B%dC%%D%sE%%F\n", 5, "x") printed `A%B5C%DxE%%F`
    segs = parse_format("A%%B%dC%%D%sE%%F\n")
    assert [s.text for s in segs if isinstance(s, Literal)] == ["A%B", "C%D", "E%%F\n"]
    # printf("100%%\n") printed `100%%`; printf("%d%%\n", 5) printed `5%%`
    assert parse_format("100%%\n") == [Literal("100%%\n", "100%%\n", 0)]
    assert parse_format("%%%d")[0] == Literal("%", "%%", 0)


def test_lone_percent_in_tail_is_text():
    # printf("%d 50% done\n", 1) printed `1 50% done`; printf("50% done\n") `50% done`
    assert conversions("%d 50% done\n") == ["int"]
    assert parse_format("50% done\n") == [Literal("50% done\n", "50% done\n", 0)]
    assert parse_format("x%")[-1].text == "x%"


@pytest.mark.parametrize("fmt,offset", [
    ("%f %d", 0),          # 0.17 hands "%f %d" to snprintf: %f reads a double that is not there
    ("50% done %d\n", 2),  # "% d" is a C conversion for snprintf
    ("ab%+d %d", 2),
    ("%i%s", 0),
    ("%%d", 0),            # 0.17 wants an argument and prints "%d"
    ("x %%%%d", 4),
    ("%10r", 0),           # 0.17 prints "%10r" itself
    ("%-8rx", 0),
    ("%.2rh", 0),
    ("%d %", None),        # fine: tail
])
def test_format_errors(fmt, offset):
    if offset is None:
        parse_format(fmt)
        return
    with pytest.raises(FormatError) as e:
        parse_format(fmt)
    assert e.value.offset == offset
    assert str(e.value) == e.value.message and e.value.message
    assert isinstance(e.value, ValueError)


def test_error_messages_name_the_spec():
    with pytest.raises(FormatError, match=r"'%5\.2f'"):
        parse_format("%5.2f %d")
    with pytest.raises(FormatError, match="ambiguous"):
        conversions("%%d")


def test_unsupported_conversions_hint():
    assert unsupported_conversions("%d %i %5.2f %+d 50% done %% %y\n") == [(3, "%i"), (6, "%5.2f"), (12, "%+d")]
    assert unsupported_conversions("%d\n") == []
    assert unsupported_conversions("[%lf]") == [(1, "%lf")]


# ---- properties ----------------------------------------------------------------------------

@given(st.text(alphabet=st.sampled_from(list("%-.0123456789dsxXcrhlpuoijzt %\n+#abé")), max_size=30))
def test_round_trip_any_text(fmt):
    try:
        segs = parse_format(fmt)
    except FormatError as e:
        assert 0 <= e.offset < len(fmt)
        return
    assert unparse(segs) == fmt
    # literals are never empty nor adjacent, offsets are positions in fmt
    for a, b in zip(segs, segs[1:]):
        assert not (isinstance(a, Literal) and isinstance(b, Literal))
    for s in segs:
        assert s.raw and fmt[s.offset:s.offset + len(s.raw)] == s.raw
        if isinstance(s, Conversion):
            assert s.arg_class in ("int", "str", "buf")


spec = st.builds(
    lambda left, width, prec, tok: "%" + left + width + prec + tok,
    st.sampled_from(["", "-"]),
    st.sampled_from(["", "0", "7", "05", "12"]),
    st.sampled_from(["", ".0", ".3"]),
    st.sampled_from([t for t in ACCEPTED if t not in ("r", "rx", "rh")]),
) | st.sampled_from(["%r", "%rx", "%rh"])
plain = st.text(alphabet=st.sampled_from(list("ab \n|é")), max_size=4)


@given(st.lists(st.tuples(plain, st.booleans(), spec), max_size=5), plain)
def test_generated_formats_parse_back(parts, tail):
    fmt = "".join(text + ("%%" if pct else "") + s for text, pct, s in parts) + tail
    segs = parse_format(fmt)
    assert [c.raw for c in segs if isinstance(c, Conversion)] == [s for _, _, s in parts]
    lits = [s.text for s in segs if isinstance(s, Literal)]
    expect = [text + ("%" if pct else "") for text, pct, _ in parts if text or pct]
    if tail:
        expect.append(tail)
    assert lits == expect
