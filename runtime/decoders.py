"""One decoder per ring buffer record kind, built once from the object's `.kt.meta`.

Why: what a record means is fixed when the object is compiled (docs/object-format.md,
"Events"), so the session builds the table before the first event and the pump only looks up
`record id -> decoder`. Two tables: `fast` holds printf ids whose text is one struct unpack
and one template (runtime/output/printf_fast.py), already wrapped for the output format;
`slow` holds every other kind, each a function of the record's bytes returning the output to
append in event order (or b"" when the record acts instead: clear, zero, unwatch).
`EXIT` is the pump's own (it ends the stream).
"""

from __future__ import annotations

import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from kt.compiler.formats.events import JOIN_HEADER, EventId
from kt.compiler.formats.printf_format import parse_format

from ..compiler.formats.meta import ObjectMeta, PrintfMeta
from .layout import decode, map_entries, printf_args
from .output.cat import read_for_cat
from .output.printf import render_bytes
from .output.printf_fast import FastPrintf, compile_printf
from .output.sink import Output

_ID = struct.Struct("<Q")
_MAP_EVENT = struct.Struct("<QQ")      # id, map index
_PRINT_MAP = struct.Struct("<QQQQ")    # id, map index, top, div
PRINT_VALUE_OFFSET = 16   # print(value) records: {u64 id; u64 index} then the value

Decoder = Callable[[bytes], bytes]


@dataclass
class Decoders:
    """The record tables of one loaded object; `flush` writes the output gathered so far
    (decoders that write elsewhere, or run commands, keep the order with it)."""
    meta: ObjectMeta
    obj: object                     # runtime.loader.LoadedObject: maps by name
    output: Output
    values: object                  # runtime.symbols.ValueContext
    flush: Callable[[], None]
    unwatch: Callable[[int], None] = lambda addr: None
    err: object = sys.stderr
    cat_limit: int = 0
    no_warnings: bool = False       # --no-warnings: warnf() prints nothing
    fast: dict[int, FastPrintf] = field(default_factory=dict)
    slow: dict[int, Decoder] = field(default_factory=dict)

    def __post_init__(self) -> None:
        meta = self.meta
        for pf in meta.printf:
            segments = parse_format(pf.format)
            if pf.action == "system":
                self.slow[pf.id] = self._system(pf, segments)
            elif pf.action == "cat":
                self.slow[pf.id] = self._cat(pf, segments)
            elif pf.action in ("errorf", "warnf"):
                self.slow[pf.id] = self._diagnostic(pf, segments)
            else:
                fast = compile_printf(segments, pf.args, pf.size)
                wrapped = None if fast is None else self.output.printf_fast(fast)
                if wrapped is not None:
                    self.fast[pf.id] = wrapped
                else:   # the generic path, or an output that wants the values (the API's)
                    self.slow[pf.id] = self._printf(pf, segments, fast)
        self.slow[EventId.CLEAR] = self._clear
        self.slow[EventId.ZERO] = self._zero
        self.slow[EventId.PRINT] = self._print_map
        self.slow[EventId.JOIN] = self._join
        self.slow[EventId.PRINT_VALUE] = self._print_value
        self.slow[EventId.UNWATCH] = lambda rec: (self.unwatch(_ID.unpack_from(rec, 8)[0]), b"")[1]
        self.slow[EventId.HELPER_ERROR] = lambda rec: self.output.helper_error(meta.helper_errors, rec)
        self.slow[EventId.TIME] = self._time

    # ---- printf and its actions ------------------------------------------------------------
    def _printf(self, pf: PrintfMeta, segments, fast: FastPrintf | None = None) -> Decoder:
        """The reference path: each value decoded (symbols resolved now, while the process
        lives), the text rendered piece by piece as 0.17 does (by `fast` when it can)."""
        output, values, fmt = self.output, self.values, pf.format
        one = fast.one if fast is not None else None

        def printf(rec: bytes):
            args = printf_args(pf, rec, values)
            return output.printf_record(fmt, args, one(rec, 0) if one else render_bytes(segments, args))
        return printf

    def _system(self, pf: PrintfMeta, segments) -> Decoder:
        """system(): the command runs with the shell, its output in order with the trace's
        (in JSON as one "syscall" object, as 0.17)."""
        def run(rec: bytes) -> bytes:
            command = render_bytes(segments, printf_args(pf, rec, self.values))
            self.flush()
            done = subprocess.run(command.decode("utf-8", "surrogateescape"), shell=True,
                                  stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            return self.output.syscall(done.stdout)
        return run

    def _cat(self, pf: PrintfMeta, segments) -> Decoder:
        """cat(): at most the byte limit of the file (runtime/output/cat.py); when it cannot
        be read, nothing, and bpftrace's error on stderr after the lines before it."""
        def cat(rec: bytes) -> bytes:
            path = render_bytes(segments, printf_args(pf, rec, self.values))
            data, error = read_for_cat(path, self.cat_limit)
            if error is not None:
                self.flush()
                print(error, file=self.err, flush=True)
            return self.output.cat(data)
        return cat

    def _diagnostic(self, pf: PrintfMeta, segments) -> Decoder:
        """errorf()/warnf(): the message (its place and level are in the format) on stderr, in
        order with the output; warnf() prints nothing with --no-warnings."""
        def diagnostic(rec: bytes) -> bytes:
            if pf.action == "warnf" and self.no_warnings:
                return b""
            text = render_bytes(segments, printf_args(pf, rec, self.values))
            self.flush()
            self.err.write(text.decode("utf-8", "surrogateescape"))
            self.err.flush()
            return b""
        return diagnostic

    # ---- map actions, in event order ---------------------------------------------------------
    def _kernel_map(self, index: int):
        return self.obj.maps[self.meta.maps[index].bpf_name]

    def _clear(self, rec: bytes) -> bytes:
        self._kernel_map(_MAP_EVENT.unpack_from(rec, 0)[1]).clear()
        return b""

    def _zero(self, rec: bytes) -> bytes:
        kmap = self._kernel_map(_MAP_EVENT.unpack_from(rec, 0)[1])
        for key, value in kmap.items():
            zeroed = [bytes(len(v)) for v in value] if isinstance(value, list) else bytes(len(value))
            kmap.update(key, zeroed)
        return b""

    def _print_map(self, rec: bytes) -> bytes:
        _, index, top, div = _PRINT_MAP.unpack_from(rec, 0)
        mm = self.meta.maps[index]
        entries = map_entries(mm, self.obj.maps[mm.bpf_name].items(), self.values)
        return self.output.map(mm, entries, top, div or 1)

    # ---- the other records ---------------------------------------------------------------------
    def _join(self, rec: bytes) -> bytes:
        _, delim, count = JOIN_HEADER.unpack_from(rec, 0)
        size = self.meta.join_arg_size
        parts = [rec[JOIN_HEADER.size + i * size:JOIN_HEADER.size + (i + 1) * size].split(b"\0", 1)[0]
                 for i in range(count)]
        return self.output.join(self.meta.join_delims[delim].encode("utf-8", "surrogateescape").join(parts))

    def _print_value(self, rec: bytes) -> bytes:
        """print(value): printed as 0.17 prints it (text as a map value is, then a newline;
        JSON as {"type": "value", "data": ...})."""
        t = self.meta.print_values[_ID.unpack_from(rec, 8)[0]]
        return self.output.value(decode(t, rec, PRINT_VALUE_OFFSET, self.values), t)

    def _time(self, rec: bytes) -> bytes:
        fmt = self.meta.time_formats[_ID.unpack_from(rec, 8)[0]]
        return self.output.time(time.strftime(fmt, time.localtime()))
