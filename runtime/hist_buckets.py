"""hist(v, k)'s buckets (bpftrace 0.20): their bounds and their text labels.

With N = 2^k, bucket 0 holds v < 0, bucket i for 1 <= i <= 2N the value i - 1, and past that
each power of two is split into N buckets: bucket i starts at start(i - 1) and ends before
start(i), where start(j) = 2^((j >> k) - 1) * (N + (j & (N - 1))) (the inverse of the BPF
side's index, compiler/codegen/maps.py log2k_bucket). 0.17's hist(v) (no k) keeps its own
labels and bounds (runtime/output/text.py hist_label): its BPF search stops at 2^32.

Labels are bpftrace 0.26's: a bound below 2^(k+1) as a number, a higher one as
2^(p mod 10) * (N + sub) with K, M, G, T, P or E for p // 10 (p = (j >> k) - 1), so with k = 2
`[8, 10)`, `[10, 12)`, ... `[1280, 1536)`... and `[4K, 5K)`.
"""

from __future__ import annotations

from ..compiler.formats.meta import hist_k_buckets

__all__ = ["hist_k_buckets", "start", "bounds", "label"]

_SUFFIXES = ("", "K", "M", "G", "T", "P", "E")


def start(j: int, k: int) -> int:
    """The first value of bucket j + 1 (the end of bucket j), for j >= 2^(k+1)."""
    n = 1 << k
    return (1 << ((j >> k) - 1)) * (n + (j & (n - 1)))


def bounds(i: int, k: int) -> tuple[int | None, int | None]:
    """Bucket i as (low, high): low <= v < high; low is None for bucket 0 (v < 0)."""
    if i == 0:
        return None, 0
    if i <= 2 << k:
        return i - 1, i
    return start(i - 1, k), start(i, k)


def _bound_text(j: int, k: int) -> str:
    """bpftrace's label of index j (the end of bucket j)."""
    if j <= 2 << k:
        return str(j)
    n = 1 << k
    power = (j >> k) - 1
    decade = power // 10
    return f"{(1 << (power - 10 * decade)) * (n + (j & (n - 1)))}{_SUFFIXES[decade]}"


def label(i: int, k: int) -> str:
    """The text label of bucket i: `(..., 0)`, `[0]`, ... `[2N - 1]`, `[2N, 2N + 2)`, ..."""
    if i == 0:
        return "(..., 0)"
    if i <= 2 << k:
        return f"[{i - 1}]"
    return f"[{_bound_text(i - 1, k)}, {_bound_text(i, k)})"
