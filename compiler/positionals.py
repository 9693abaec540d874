"""Positional parameters in expressions: run-time slots in `.rodata`, or values baked in.

Why a module of its own: an object must run with other arguments than those it was compiled
with (`kt --emit-elf out.o script.kt`, then `kt out.o 5 abc`), so `$N` and `$#` are read from
`.rodata` at run time, as `cpid` is (the loader writes the values before loading and freezes
the map). A use decides what it needs:
- `$N` as an integer: a u64 slot, `kt_argN`; `$#`: a u64 slot, `kt_argc`;
- `str($N)`: a char slot of BPFTRACE_STRLEN bytes, `kt_argN_str` (0.17 cuts the text to
  strlen - 1 bytes, as `str()` of anything);
- a value the verifier or the object's layout needs as a constant (attach points, lhist()'s
  bounds, kstack(N), buf()'s and strncmp()'s lengths, print()'s top and div, the names given
  to kaddr(), uaddr(), reg(), pton(), signal(), `str($N + k)`), and kt's extension, a
  non-numeric `$N` used as a string literal: baked from the compile's arguments and recorded,
  so that running the object with another value there is an error naming the parameter.
The Checker collects the uses (PositionalUses); the frozen PositionalPlan goes to codegen
(the globals) and to `.kt.meta` "positionals" (docs/object-format.md), which the runtime
reads (runtime/positionals.py) to fill the slots and check the baked values.
"""

from __future__ import annotations

from dataclasses import dataclass

from .formats.numbers import parameter_int

__all__ = ["PositionalSlot", "PositionalPlan", "PositionalUses", "COUNT"]

COUNT = 0   # the index of `$#` in slots and baked values ($0 is no parameter)
U64_SIZE = 8


@dataclass(frozen=True, slots=True)
class PositionalSlot:
    index: int    # N of $N; COUNT for $#; 0 for a named argument
    kind: str     # "int" (u64), "str" (char[size]), "count" (u64: $#); getopt(): "opt_int",
                  # "opt_bool" (u64), "opt_str" (char[size])
    size: int
    symbol: str   # the .rodata global's name
    name: str = ""      # getopt()'s name
    default: str = ""   # getopt()'s default, as text ("1"/"0" for a bool)

    def to_meta(self) -> dict:
        d = {"index": self.index, "kind": self.kind, "size": self.size, "symbol": self.symbol}
        if self.kind.startswith("opt_"):
            d.update(name=self.name, default=self.default)
        return d


def slot_symbol(index: int, kind: str) -> str:
    return "kt_argc" if kind == "count" else f"kt_arg{index}" + ("_str" if kind == "str" else "")


@dataclass(frozen=True, slots=True)
class PositionalPlan:
    slots: tuple[PositionalSlot, ...] = ()
    # (index, the compile's text or None when not given); index COUNT: $#, its count as text
    baked: tuple[tuple[int, str | None], ...] = ()

    def slot(self, index: int, kind: str) -> PositionalSlot:
        return next(s for s in self.slots if s.index == index and s.kind == kind)

    def named(self, name: str) -> PositionalSlot:
        return next(s for s in self.slots if s.kind.startswith("opt_") and s.name == name)

    def to_meta(self) -> dict | None:
        """`.kt.meta` "positionals", or None when the script uses no parameter."""
        if not self.slots and not self.baked:
            return None
        return {"slots": [s.to_meta() for s in self.slots],
                "baked": [{"index": i, "value": v} for i, v in self.baked]}


class PositionalUses:
    """What the Checker saw: the slots it read and the parameters it baked in."""

    def __init__(self, args: tuple[str, ...], strlen: int):
        self.args = args
        self.strlen = strlen
        self._slots: dict[tuple[int, str], PositionalSlot] = {}
        self._baked: dict[int, str | None] = {}
        self._named: dict[str, PositionalSlot] = {}

    def text(self, index: int) -> str | None:
        """The compile's argument $index (None when not given)."""
        return self.args[index - 1] if 1 <= index <= len(self.args) else None

    def is_text(self, index: int) -> bool:
        """$index was given and is no number 0.17 takes (kt then takes it as a string literal)."""
        text = self.text(index)
        return text is not None and parameter_int(text) is None

    def slot(self, index: int, kind: str) -> PositionalSlot:
        key = (index, kind)
        if key not in self._slots:
            size = self.strlen if kind == "str" else U64_SIZE
            self._slots[key] = PositionalSlot(index, kind, size, slot_symbol(index, kind))
        return self._slots[key]

    def named(self, name: str, kind: str, default: str, size: int = U64_SIZE) -> PositionalSlot | None:
        """getopt(name, default)'s slot (bpftrace 0.24); None when the name was already taken
        with another type or default."""
        slot = PositionalSlot(0, kind, size, f"kt_opt_{name.replace('-', '_')}", name, default)
        return self._named.setdefault(name, slot) if self._named.get(name, slot) == slot else None

    def bake(self, index: int) -> None:
        """$index's value (COUNT: $#) is compiled into the object."""
        self._baked[index] = str(len(self.args)) if index == COUNT else self.text(index)

    def plan(self) -> PositionalPlan:
        return PositionalPlan(tuple(sorted(self._slots.values(), key=lambda s: (s.index, s.kind)))
                              + tuple(self._named[n] for n in sorted(self._named)),
                              tuple(sorted(self._baked.items())))
