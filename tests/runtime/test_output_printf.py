"""kt.runtime.output.printf against what bpftrace 0.17 printed (pure, no kernel).

Each case gives the one-liner it came from; all ran as
`bpftrace -e 'BEGIN { <printf>; exit(); }' | cat -A` with Debian's bpftrace v0.17.0.
"""

import ctypes
import ctypes.util
import platform

import pytest
from hypothesis import given, settings, strategies as st

from kt.compiler.formats.printf_format import parse_format
from kt.runtime.output.printf import format_buffer, render, render_bytes

M1 = -1


@pytest.mark.parametrize("fmt,args,out", [
    # printf("%d|%u|%x|%X|%o|%p|%c|%s|%%|\n", -1, -1, -1, -1, -1, -1, 65, "str")
    ("%d|%u|%x|%X|%o|%p|%c|%s|%%|\n", [M1, M1, M1, M1, M1, M1, 65, b"str"],
     "-1|4294967295|ffffffff|FFFFFFFF|37777777777|0xffffffffffffffff|A|str|%%|\n"),
    # printf("%d|%u|%x|%ld|%lu|%lx|%llu|%lld|%hhd|%hd|%zd|%hhu|%hu|%jd|%td|%zu\n", 0x1ffffffff,
    #   0x1ffffffff, 0x1ffffffff, 0x1ffffffff, -1, -1, -1, -5, 0x1ff, 0x1ffff, -7, 0x1ff, 0x1ffff, -2, -3, -4)
    ("%d|%u|%x|%ld|%lu|%lx|%llu|%lld|%hhd|%hd|%zd|%hhu|%hu|%jd|%td|%zu\n",
     [0x1ffffffff, 0x1ffffffff, 0x1ffffffff, 0x1ffffffff, M1, M1, M1, -5, 0x1ff, 0x1ffff, -7, 0x1ff, 0x1ffff, -2, -3, -4],
     "-1|4294967295|ffffffff|8589934591|18446744073709551615|ffffffffffffffff|18446744073709551615|-5|-1|-1|-7|255|65535|-2|-3|18446744073709551612\n"),
    # printf("a%%b %d %%\n", 5); printf("100%%\n"); printf("%% %s\n", "x")
    ("a%%b %d %%\n", [5], "a%b 5 %%\n"),
    ("100%%\n", [], "100%%\n"),
    ("%% %s\n", [b"x"], "% x\n"),
    # printf("A%%B%dC%%D%sE%%F\n", 5, "x")
    ("A%%B%dC%%D%sE%%F\n", [5, b"x"], "A%B5C%DxE%%F\n"),
    # printf("%d%%\n", 5); printf("%d 50% done\n", 1); printf("%f|\n"); printf("%y %d|\n", 3) is rejected by kt
    ("%d%%\n", [5], "5%%\n"),
    ("%d 50% done\n", [1], "1 50% done\n"),
    ("%f|\n", [], "%f|\n"),
    # printf("%05d|\n", 1); printf("%.3d|\n", 1); printf("%5.3d|\n", 1)
    ("%05d|\n", [1], "00001|\n"),
    ("%.3d|\n", [1], "001|\n"),
    ("%5.3d|\n", [1], "  001|\n"),
    # printf("%-5d|%5d|%-8s|%8s|%.2s|%5.2s|%-5.1s|\n", 1, 2, "ab", "cd", "xyz", "xyz", "xyz")
    ("%-5d|%5d|%-8s|%8s|%.2s|%5.2s|%-5.1s|\n", [1, 2, b"ab", b"cd", b"xyz", b"xyz", b"xyz"],
     "1    |    2|ab      |      cd|xy|   xy|x    |\n"),
    # printf("[%p][%5p][%-20p][%p]\n", 0, 0, 255, 1)
    ("[%p][%5p][%-20p][%p]\n", [0, 0, 255, 1], "[(nil)][(nil)][0xff                ][0x1]\n"),
    # printf("[%c][%c][%5c][%-3c]\n", 0, 321, 66, 67)  (%c of 0 prints nothing at all)
    ("[%c][%c][%5c][%-3c]\n", [0, 321, 66, 67], "[][A][    B][C  ]\n"),
    # printf("[%3.2c]\n", 0); printf("[%.2c]\n", 0); printf("[%.0d]\n", 0); printf("[%.0x]\n", 0)
    ("[%3.2c]\n", [0], "[  ]\n"),
    ("[%.2c]\n", [0], "[]\n"),
    ("[%.0d]\n", [0], "[]\n"),
    ("[%.0x]\n", [0], "[]\n"),
    # printf("[%-08d]\n", 0); printf("[%-010d]\n", 0); printf("[%08.3d]\n", 0)
    ("[%-08d]\n", [0], "[0       ]\n"),
    ("[%-010d]\n", [0], "[0         ]\n"),
    ("[%08.3d]\n", [0], "[     000]\n"),
    # printf("[%.3p]\n", 0); printf("[%20.3p]\n", 0)
    ("[%.3p]\n", [0], "[(nil)]\n"),
    ("[%20.3p]\n", [0], "[               (nil)]\n"),
    # printf("[%x][%.5x][%8.3X][%-8o]\n", 255, 255, 255, 8)
    ("[%x][%.5x][%8.3X][%-8o]\n", [255, 255, 255, 8], "[ff][000ff][     0FF][10      ]\n"),
    # printf("[%d][%u][%ld][%lu]\n", -2147483648, 2147483648, -9223372036854775807 - 1, 9223372036854775808)
    ("[%d][%u][%ld][%lu]\n", [-2147483648, 2147483648, -2**63, 2**63],
     "[-2147483648][2147483648][-9223372036854775808][9223372036854775808]\n"),
    # printf("[%.0s][%.10s][%10.3s]\n", "abc", "abc", "abcdef")
    ("[%.0s][%.10s][%10.3s]\n", [b"abc", b"abc", b"abcdef"], "[][abc][       abc]\n"),
    # the length is ignored for %p: printf("[%hhp]\n", -2) ... printf("[%zp]\n", -2)
    ("[%hhp][%hp][%lp][%llp][%jp][%tp][%zp]\n", [-2] * 7, "[0xfffffffffffffffe]" * 7 + "\n"),
    # printf("[%hhx][%hhX][%hho][%hhu]\n", -2, ...) and the 64-bit ones
    ("[%hhx][%hhX][%hho][%hhu]\n", [-2] * 4, "[fe][FE][376][254]\n"),
    ("[%jx][%tx][%zx][%zu][%zo][%llX][%llo][%lo][%lX]\n", [-2] * 9,
     "[fffffffffffffffe][fffffffffffffffe][fffffffffffffffe][18446744073709551614]"
     "[1777777777777777777776][FFFFFFFFFFFFFFFE][1777777777777777777776][1777777777777777777776]"
     "[FFFFFFFFFFFFFFFE]\n"),
    # small signed ints arrive sign-extended to 64 bits:
    # printf("%d %d %d %ld %ld %u %lu %x|%d %lu\n", (int8)-1, (int16)-2, (int32)-3, (int32)-4,
    #   (int8)-5, (int8)-6, (int16)-7, (int8)-8, (uint8)200, (uint32)4000000000)
    ("%d %d %d %ld %ld %u %lu %x|%d %lu\n", [-1, -2, -3, -4, -5, -6, -7, -8, 200, 4000000000],
     "-1 -2 -3 -4 -5 4294967290 18446744073709551609 fffffff8|200 4000000000\n"),
])
def test_observed(fmt, args, out):
    assert render(fmt, args) == out
    assert render(parse_format(fmt), args) == out


def test_buffers():
    # printf("[%r][%rx][%rh]\n", buf("ab\n\x01\xff", 5), buf("ab\n", 3), buf("ab\n", 3))
    assert render("[%r][%rx][%rh]\n", [b"ab\n\x01\xff", b"ab\n", b"ab\n"]) == \
        "[ab\\x0a\\x01\\xff][\\x61\\x62\\x0a][61 62 0a]\n"
    # printf("[%r]\n", buf("a b\\\x7f~\x00z\"", 9)): NULs are kept, backslash is not escaped
    assert render("[%r]\n", [b'a b\\\x7f~\x00z"']) == '[a b\\\\x7f~\\x00z"]\n'
    assert format_buffer(b"", "rh") == b""


def test_strings_stop_at_nul_and_raw_bytes_survive():
    # printf("[%s]\n", "a\tb\x01\x7f\xc3\xa9") printed the bytes raw (cat -A: [a^Ib^A^?M-CM-)])
    assert render_bytes("[%s]\n", [b"a\tb\x01\x7f\xc3\xa9"]) == b"[a\tb\x01\x7f\xc3\xa9]\n"
    assert render("[%s]", [b"ls\0garbage"]) == "[ls]"
    raw = render("%s", [b"\xff\xfe"])
    assert raw.encode("utf-8", "surrogateescape") == b"\xff\xfe"


def test_wide_output_is_not_truncated():
    # printf("[%2000d]\n", 1) printed 2002 characters and the newline
    assert render("[%2000d]\n", [1]) == "[" + " " * 1999 + "1]\n"


def test_argument_errors():
    with pytest.raises(ValueError):
        render("%d %d", [1])
    with pytest.raises(TypeError):
        render("%d", [b"x"])
    with pytest.raises(TypeError):
        render("%s", [1])


# ---- against glibc, which 0.17 calls for each piece --------------------------------------------

def _libc():
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64") \
            or platform.libc_ver()[0] != "glibc":
        return None
    return ctypes.CDLL(ctypes.util.find_library("c"))


LIBC = _libc()

int_spec = st.builds(
    lambda left, width, prec, length, conv: "%" + left + width + prec + length + conv,
    st.sampled_from(["", "-"]), st.sampled_from(["", "0", "1", "5", "05", "012", "00003", "21"]),
    st.sampled_from(["", ".0", ".1", ".3", ".12", ".25"]),
    st.sampled_from(["", "hh", "h", "l", "ll", "j", "z", "t"]), st.sampled_from(list("duoxXpc")))
int_value = st.integers(-2**63, 2**64 - 1) | st.sampled_from(
    [0, 1, -1, 255, 256, 2**31, 2**31 - 1, -2**31, 2**32, 2**63, 2**64 - 1, 0x41])


@pytest.mark.skipif(LIBC is None, reason="needs glibc on a 64-bit Linux to compare with snprintf")
@settings(max_examples=3000)
@given(st.text(alphabet="ab %", max_size=3).map(lambda s: s.replace("%", "%%")), int_spec, int_value)
def test_ints_match_glibc_snprintf(lead, spec, value):
    if spec.endswith("c") and any(ch in spec for ch in "hljzt"):
        return                              # not a 0.17 conversion
    buf = ctypes.create_string_buffer(256)
    LIBC.snprintf(buf, 256, (lead + spec).encode(), ctypes.c_uint64(value & (2**64 - 1)))
    assert render_bytes(lead + spec, [value]) == buf.value


@pytest.mark.skipif(LIBC is None, reason="needs glibc on a 64-bit Linux to compare with snprintf")
@given(st.sampled_from(["%s", "%5s", "%-5s", "%.2s", "%7.3s", "%-7.0s", "%05s"]),
       st.binary(max_size=10).map(lambda b: b.replace(b"\0", b"")))
def test_strings_match_glibc_snprintf(spec, value):
    buf = ctypes.create_string_buffer(256)
    LIBC.snprintf(buf, 256, spec.encode(), ctypes.c_char_p(value))
    assert render_bytes(spec, [value]) == buf.value
