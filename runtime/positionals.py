"""The run's positional parameters as the object's `.rodata` slots want them.

Why here, and checked here: an object does not know the arguments it will run with
(`kt out.o 5 abc`), so 0.17's checks of a parameter used as a number happen when the slots are
filled, with 0.17's words; a value the compiler baked in (an attach point, lhist()'s bounds,
...) must be what it was then. `.kt.meta` "positionals" (docs/object-format.md) is read by
`positional_values` alone.
"""

from __future__ import annotations

from ..compiler.formats.meta import Positionals
from ..compiler.formats.named_args import bool_value, split_args
from ..compiler.formats.numbers import c_integer, parameter_int

__all__ = ["PositionalError", "positional_values"]


class PositionalError(Exception):
    """The run's arguments do not fit the object: the message says which and why."""


def _shown(index: int) -> str:
    return "$#" if index == 0 else f"${index}"


def positional_values(entry: Positionals | None, args: tuple[str, ...]) -> dict[str, int | bytes]:
    """The value of each slot (global name -> u64 or the bytes of a char slot) for `args`,
    from the object's "positionals" entry (kt.compiler.formats.meta.Positionals; None: the
    script uses no parameter). Raises PositionalError when a baked value differs or an integer
    slot is given text."""
    args, named = split_args(args)
    options = {s.name: s for s in (entry.slots if entry is not None else ()) if s.kind.startswith("opt_")}
    for name in named:
        if name not in options:
            known = ", ".join(f"--{n}" for n in sorted(options)) or "none"
            raise PositionalError(f"unknown named argument --{name}: the script's getopt() options are {known}")
    if entry is None:
        return {}
    for index, then in entry.baked:
        now = str(len(args)) if index == 0 else (args[index - 1] if index <= len(args) else None)
        if now != then:
            raise PositionalError(
                f"{_shown(index)} was {_described(then)} when this object was compiled and is "
                f"{_described(now)} now: recompile")
    values: dict[str, int | bytes] = {}
    for slot in entry.slots:
        index, kind, symbol = slot.index, slot.kind, slot.symbol
        text = args[index - 1] if 1 <= index <= len(args) else None
        if kind.startswith("opt_"):
            values[symbol] = _option_value(slot, named)
        elif kind == "count":
            values[symbol] = len(args)
        elif kind == "str":   # cut to size - 1 bytes and NUL-terminated, as 0.17's str($N)
            data = (text or "").encode("utf-8", "surrogateescape")[:slot.size - 1]
            values[symbol] = data + bytes(slot.size - len(data))
        else:
            number = 0 if text is None else parameter_int(text)
            if number is None and c_integer(text) is not None:
                raise PositionalError(f'${index} used numerically but given "{text}". Try using str(${index}). '
                                      "(It is too large for a 64-bit integer: the range is -2^63 to 2^63-1.)")
            if number is None:
                raise PositionalError(f'${index} used numerically but given "{text}". Try using str(${index}).')
            values[symbol] = number & 0xFFFFFFFFFFFFFFFF
    return values


def _described(value: str | None) -> str:
    return "not given" if value is None else value or '""'


def _option_value(slot, named: dict[str, str | None]) -> int | bytes:
    """getopt()'s value (bpftrace 0.24): the named argument's, else the default; typed by the
    default (an integer, a string, a bool: `--flag`, `--flag=true|1|false|0`)."""
    given = slot.name in named
    text = named.get(slot.name) if given else slot.default
    if slot.kind == "opt_bool":
        value = bool_value(text)
        if value is None:
            raise PositionalError(f"--{slot.name}={text}: a boolean option takes true, 1, false or 0")
        return int(value)
    if text is None:
        raise PositionalError(f"--{slot.name} needs a value: --{slot.name}=VALUE")
    if slot.kind == "opt_int":
        number = parameter_int(text)
        if number is None:
            raise PositionalError(f"--{slot.name}={text}: the option is an integer (its default is {slot.default})")
        return number & 0xFFFFFFFFFFFFFFFF
    data = text.encode("utf-8", "surrogateescape")[:slot.size - 1]
    return data + bytes(slot.size - len(data))
