"""The event pump: raw records out of the kernel's rings at once, decoded and written after.

Why two steps: the kernel drops a record only when its ring is full, and Python formats
slower than a tight syscall loop produces. So `take()` walks the record headers (cheap) and
copies every committed record out of the ring in blocks, releasing the space at once; the
blocks wait in a queue in kt's memory, and `process()` decodes one block at a time (a
bounded amount of work) between takes. The ring then only has to hold what arrives while
one block is decoded; the queue holds the rest of a burst, up to `queue_limit` bytes (when
it is full, kt stops taking, the ring fills and the kernel counts what it refuses: every
lost record is counted, in the `kt_lost` map, and reported).

Control records (exit, clear, zero, print of a map, time, unwatch) are written to the main
ring in order with the printf records; when it is full they go to a small ring of their own
(`kt_ctl`, docs/object-format.md), taken after the main ring, so a printf flood never loses
them (bpftrace issue #3924: a dropped clear() printed maps the script had cleared).

Output is gathered per block and written with one write (the output stream's `-B` policy
decides when it reaches the file).
"""

from __future__ import annotations

import struct
from collections import deque
from typing import BinaryIO

from kt.compiler.formats.events import EventId

from .decoders import Decoders
from .events import RingBuffer
from .sys.constants import BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ

DEFAULT_QUEUE_LIMIT = 128 << 20    # bytes of raw records kt holds beyond the kernel's ring
RECORDS_PER_TURN = 8192            # records one process() decodes at most (a few ms)

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_LEN_MASK = (1 << 30) - 1


class EventPump:
    def __init__(self, ring: RingBuffer, control: RingBuffer | None, decoders: Decoders,
                 out: BinaryIO, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        self.ring = ring
        self.control = control
        self.decoders = decoders
        self.out = out
        self.queue_limit = queue_limit
        self.exit_requested = False   # an exit() record was decoded: the rest is dropped
        self._queue: deque[bytes] = deque()
        self._offset = 0              # where decoding stopped in the queue's first block
        self._queued = 0
        self._pending: list[bytes] = []
        self._gather = decoders.output.gather   # bytes: one write; the API's records: a list

    @property
    def queued(self) -> int:
        return self._queued

    def take(self) -> bool:
        """Move what is committed in the rings into the queue (while it has room); True if
        anything was moved."""
        moved = False
        for ring in (self.ring, self.control):
            if ring is None or (ring is self.ring and self._queued >= self.queue_limit):
                continue
            block = ring.take()
            if block:
                self._queue.append(block)
                self._queued += len(block)
                moved = True
        return moved

    def process(self) -> bool:
        """Decode up to RECORDS_PER_TURN queued records and write their output; False when
        the queue was empty."""
        if not self._queue:
            return False
        block = self._queue[0]
        if self.exit_requested:
            end = len(block)
        else:
            end = self._decode(block, self._offset, RECORDS_PER_TURN)
        if end >= len(block):
            self._queue.popleft()
            self._queued -= len(block)
            self._offset = 0
        else:
            self._offset = end
        if self.exit_requested:
            self.drop_queue()
        self.flush()
        return True

    def drain(self) -> None:
        """Everything the rings hold now, decoded and written (after BEGIN, at the end)."""
        while True:
            self.take()
            if not self.process():
                return

    def drop_queue(self) -> None:
        self._queue.clear()
        self._queued = 0
        self._offset = 0

    def flush(self) -> None:
        """Write the output gathered so far, in one write."""
        pending = self._pending
        if pending:
            self.out.write(self._gather(pending))
            pending.clear()
        self.out.flush()

    def _decode(self, block: bytes, off: int, budget: int) -> int:
        """Decode records from `off` until `budget` are done; returns where it stopped. A run
        of records of one fast printf (same length and id, the common flood) is rendered in
        one call over a view of the block (FastPrintf.run)."""
        unpack32, unpack64 = _U32.unpack_from, _U64.unpack_from
        fast, slow = self.decoders.fast, self.decoders.slow
        pending = self._pending
        append = pending.append
        view = memoryview(block)
        end = len(block)
        while off < end and budget > 0:
            hdr = unpack32(block, off)[0]
            start = off + BPF_RINGBUF_HDR_SZ
            length = hdr & _LEN_MASK
            if hdr & BPF_RINGBUF_DISCARD_BIT:
                off = start + ((length + 7) & ~7)
                continue
            event_id = unpack64(block, start)[0]
            render = fast.get(event_id)
            if render is not None:
                if hdr == render.length:
                    n = _run_length(view, off, min(budget, (end - off) // render.stride), render.stride)
                    if n > 1:
                        pending.extend(render.run(view[off:off + n * render.stride]))
                        off += n * render.stride
                        budget -= n
                        continue
                append(render.one(block, start))
                off = start + ((length + 7) & ~7)
                budget -= 1
                continue
            off = start + ((length + 7) & ~7)
            budget -= 1
            if event_id == EventId.EXIT:
                self.exit_requested = True   # records after exit()'s are dropped, as 0.17
                return end
            decoder = slow.get(event_id)
            if decoder is not None:
                text = decoder(block[start:start + length])
                if text:
                    append(text)
        return off


def _run_length(view: memoryview, off: int, most: int, stride: int) -> int:
    """How many records from `off` (at most `most`, each `stride` bytes) repeat the first
    one's header length word and event id: compared as strided views, in C."""
    if most <= 1:
        return most
    lens = bytes(view[off:off + most * stride].cast("I")[::stride // 4])
    n = _leading(lens, lens[:4])
    ids = bytes(view[off + 8:off + n * stride].cast("Q")[::stride // 8])
    return _leading(ids, ids[:8])


def _leading(items: bytes, unit: bytes) -> int:
    """How many items (each len(unit) bytes) at the start of `items` equal `unit`."""
    w = len(unit)
    n = len(items) // w
    if items == unit * n:
        return n
    lo, hi = 1, n            # the first lo items match; the first hi do not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if items[:mid * w] == unit * mid:
            lo = mid
        else:
            hi = mid
    return lo
