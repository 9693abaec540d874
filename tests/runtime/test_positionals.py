"""runtime/positionals.py: the run's arguments as slot values, checked as bpftrace 0.17 checks them."""

from __future__ import annotations

import pytest

from kt.compiler.formats.meta import Positionals
from kt.runtime.positionals import PositionalError, positional_values


def P(entry: dict) -> Positionals:
    return Positionals.from_json(entry, "positionals")

ENTRY = {"slots": [{"index": 0, "kind": "count", "size": 8, "symbol": "kt_argc"},
                   {"index": 1, "kind": "int", "size": 8, "symbol": "kt_arg1"},
                   {"index": 2, "kind": "str", "size": 8, "symbol": "kt_arg2_str"}],
         "baked": []}


def test_values_of_the_slots():
    assert positional_values(P(ENTRY), ("0x10", "abc")) == {"kt_argc": 2, "kt_arg1": 16,
                                                          "kt_arg2_str": b"abc\0\0\0\0\0"}
    assert positional_values(P(ENTRY), ()) == {"kt_argc": 0, "kt_arg1": 0, "kt_arg2_str": bytes(8)}
    # negative numbers as two's complement u64s; a string cut to size - 1 bytes, as 0.17's str()
    assert positional_values(P(ENTRY), ("-1", "abcdefghij", "x")) == {
        "kt_argc": 3, "kt_arg1": (1 << 64) - 1, "kt_arg2_str": b"abcdefg\0"}
    assert positional_values(None, ("1",)) == {}


@pytest.mark.parametrize("text", ["abc", "08", "1e3", "9223372036854775808", ""])
def test_text_used_as_a_number(text):
    with pytest.raises(PositionalError) as err:
        positional_values(P(ENTRY), (text, "x"))
    why = (" (It is too large for a 64-bit integer: the range is -2^63 to 2^63-1.)"
           if text == "9223372036854775808" else "")
    assert str(err.value) == f'$1 used numerically but given "{text}". Try using str($1).{why}'


def test_baked_values():
    entry = {"slots": [], "baked": [{"index": 0, "value": "2"}, {"index": 1, "value": "10"},
                                    {"index": 2, "value": None}]}
    assert positional_values(P({"slots": [], "baked": entry["baked"][1:]}), ("10",)) == {}
    with pytest.raises(PositionalError, match=r"^\$1 was 10 when this object was compiled and is 20 now: "
                                              r"recompile$"):
        positional_values(P(entry), ("20", "x"))
    with pytest.raises(PositionalError, match=r"^\$# was 2 when .* and is 1 now"):
        positional_values(P(entry), ("10",))
    with pytest.raises(PositionalError, match=r"^\$2 was not given when .* and is \"\" now"):
        positional_values(P({"slots": [], "baked": entry["baked"][2:]}), ("10", ""))
