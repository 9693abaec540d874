"""BPF ring buffer consumer (BPF_MAP_TYPE_RINGBUF, 5.8+).

Why our own: kt has no libbpf. The protocol is small (kernel/bpf/ringbuf.c, kernel-facts §3):
- page 0 of the map's mmap is the consumer page, the only writable one; consumer_pos is a u64
  at offset 0;
- from offset PAGE: the producer page (producer_pos u64 at 0), then the data area of ``size``
  bytes mapped twice in a row, so a record starting anywhere is contiguous in our mapping;
- each record has an 8-byte header {u32 len | BUSY<<31 | DISCARD<<30, u32 pg_off}; the next
  record starts at round_up(len + 8, 8).
The consumer stops at the first BUSY record (still being written), skips DISCARD ones, and
publishes consumer_pos so the producer can reuse the space.
"""

from __future__ import annotations

import ctypes
import mmap
import select
import struct
from collections.abc import Iterator

from .sys.constants import BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ
from .sys.fd import FdLike, raw_fd

# The positions are shared with the kernel, which reads and writes them as whole words, so
# kt does too: through ctypes words over the mappings (one 8-byte load or store). struct's
# pack_into into the mmap wrote consumer_pos in a way the producer could read torn — a
# position up to 16 MiB too small, a full ring: tens of refused records per million with an
# 8 MiB ring while the ring was never fuller than 1.4 MiB, and none with ctypes (6.18.44).
_U64 = struct.Struct("@Q")
_U32 = struct.Struct("@I")
_LEN_MASK = ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT) & 0xFFFFFFFF


class RingBuffer:
    """Consumer side of one RINGBUF map. Borrows ``map_fd`` (the Map keeps owning it); owns
    its two mappings and its epoll instance. ``size`` is the map's max_entries."""

    def __init__(self, map_fd: FdLike, size: int) -> None:
        if size <= 0 or size & (size - 1) or size % mmap.PAGESIZE:
            raise ValueError(f"ring buffer size {size} is not a power of two multiple of the "
                             f"page size ({mmap.PAGESIZE})")
        fd = raw_fd(map_fd)
        self.size = size
        self._mask = size - 1
        self._page = mmap.PAGESIZE
        self._consumer: mmap.mmap | None = None
        self._data: mmap.mmap | None = None
        self._epoll: select.epoll | None = None
        try:
            self._consumer = mmap.mmap(fd, self._page, mmap.MAP_SHARED,
                                       mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
            # Producer page + data area twice; the kernel refuses PROT_WRITE here (EPERM).
            self._data = mmap.mmap(fd, self._page + 2 * size, mmap.MAP_SHARED,
                                   mmap.PROT_READ, offset=self._page)
            self._epoll = select.epoll()
            self._epoll.register(fd, select.EPOLLIN)
        except BaseException:
            self.close()
            raise
        self._view = memoryview(self._data)
        self._cons_word = ctypes.c_uint64.from_buffer(self._consumer)
        # read-only mapping: ctypes needs a writable buffer, so the words are read through a
        # cast memoryview (one aligned 8-byte load each)
        self._prod_words = self._view[:16].cast("Q")

    # --- positions ---------------------------------------------------------------------------

    @property
    def consumer_pos(self) -> int:
        assert self._consumer is not None
        return self._cons_word.value

    @property
    def producer_pos(self) -> int:
        assert self._data is not None
        return self._prod_words[0]

    def pending(self) -> bool:
        """True if the producer is ahead of us (there may be records, busy or not)."""
        return self.producer_pos > self.consumer_pos

    # --- waiting and reading -------------------------------------------------------------------

    def poll(self, timeout_ms: int = -1) -> bool:
        """Wait until data may be available or ``timeout_ms`` passes (-1: forever). Returns
        True when there is something to drain. Checks the positions first: the kernel's
        wakeups are adaptive (no wakeup if the consumer already lagged), so data can be
        there without a new epoll event."""
        if self._epoll is None:
            raise ValueError("ring buffer is closed")
        if self.pending():
            return True
        timeout = -1 if timeout_ms < 0 else timeout_ms / 1000
        try:
            self._epoll.poll(timeout)
        except InterruptedError:
            pass
        return self.pending()

    def records(self, limit: int | None = None) -> Iterator[memoryview]:
        """Yield each committed record's payload as a memoryview *into the ring*; the view is
        only valid until the next record is requested (its space is then released to the
        producer). Use ``drain()`` to get copies."""
        if self._consumer is None:
            raise ValueError("ring buffer is closed")
        view, base, mask = self._view, self._page, self._mask
        cons = self.consumer_pos
        n = 0
        while limit is None or n < limit:
            prod = self.producer_pos
            if cons >= prod:
                break
            while cons < prod and (limit is None or n < limit):
                off = base + (cons & mask)
                (hdr,) = _U32.unpack_from(view, off)
                if hdr & BPF_RINGBUF_BUSY_BIT:
                    # Reserved but not yet submitted/discarded: records after it must wait.
                    self._publish(cons)
                    return
                length = hdr & _LEN_MASK
                start = off + BPF_RINGBUF_HDR_SZ
                cons += (length + BPF_RINGBUF_HDR_SZ + 7) & ~7
                if hdr & BPF_RINGBUF_DISCARD_BIT:
                    self._publish(cons)
                    continue
                n += 1
                record = view[start:start + length]
                try:
                    yield record
                finally:
                    # Runs also when the caller stops early: a delivered record is consumed.
                    try:
                        record.release()  # enforce "valid until the next record"
                    except BufferError:
                        pass  # the caller exported it further; it stays readable
                    # Release the space to the producer (read by the kernel with acquire).
                    if self._consumer is not None:
                        self._publish(cons)

    def take(self) -> bytes:
        """Copy out every committed record from the consumer position on (with their
        headers) and release their space at once: the raw records leave the kernel's ring
        as one block, to be decoded later (kt.runtime.pump). Empty when nothing is committed.

        Linux 6.10+ (and stable kernels with the fix for CVE-2024-41009) keep `pending_pos`
        next to producer_pos: everything before it is committed, so only the records after
        it are walked here (in Python a header costs ~0.4 us, as much as the kernel takes to
        write a record). Older kernels leave that word 0, and every header is walked."""
        if self._consumer is None:
            raise ValueError("ring buffer is closed")
        view, base, mask = self._view, self._page, self._mask
        cons = self._cons_word.value
        words = self._prod_words
        prod, pending = words[0], words[1]
        pos = pending if cons < pending <= prod else cons
        unpack = _U32.unpack_from
        while pos < prod:
            hdr = unpack(view, base + (pos & mask))[0]
            if hdr & BPF_RINGBUF_BUSY_BIT:
                break
            pos += ((hdr & _LEN_MASK) + BPF_RINGBUF_HDR_SZ + 7) & ~7
        if pos == cons:
            return b""
        start = base + (cons & mask)     # contiguous: the data area is mapped twice
        block = bytes(view[start:start + (pos - cons)])
        self._cons_word.value = pos
        return block

    def _publish(self, cons: int) -> None:
        """Release the space before `cons` to the producer (read by the kernel with acquire)."""
        self._cons_word.value = cons

    def drain(self, limit: int | None = None) -> list[bytes]:
        """Copy out all committed records (at most ``limit``) and release their space."""
        return [bytes(r) for r in self.records(limit)]

    # --- ownership -------------------------------------------------------------------------

    def close(self) -> None:
        self._cons_word = None   # ctypes and memoryview exports pin the mappings
        if getattr(self, "_prod_words", None) is not None:
            self._prod_words.release()
            self._prod_words = None
        if getattr(self, "_view", None) is not None:
            self._view.release()
            self._view = None  # type: ignore[assignment]
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        if self._data is not None:
            self._data.close()
            self._data = None
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    @property
    def closed(self) -> bool:
        return self._consumer is None

    def __enter__(self) -> RingBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
