"""Named arguments (bpftrace 0.24): `kt script.bt -- --name=value --flag`, read by
`getopt("name", default)`.

Why here: the compiler takes the positional parameters ($1, ...) out of the arguments after
`--`, and the runtime fills getopt()'s `.rodata` slots from the named ones; both split them
the same way. A named argument is one that starts with `--` and a name (`-5` and `--` alone
stay positional)."""

from __future__ import annotations

import re

_NAMED = re.compile(r"--([A-Za-z_][A-Za-z0-9_-]*)(?:=(.*))?", re.S)


def split_args(args) -> tuple[tuple[str, ...], dict[str, str | None]]:
    """(positional parameters, {name: value, None for a bare `--flag`})."""
    positional: list[str] = []
    named: dict[str, str | None] = {}
    for a in args:
        m = _NAMED.fullmatch(a)
        if m is None:
            positional.append(a)
        else:
            named[m.group(1)] = m.group(2)
    return tuple(positional), named


TRUE_WORDS = ("true", "1")
FALSE_WORDS = ("false", "0")


def bool_value(text: str | None) -> bool | None:
    """A boolean option's value: `--flag`, `--flag=true|1|false|0`; None for anything else."""
    if text is None or text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None
