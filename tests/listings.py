"""Helpers for tests that compare kt's probe listings with bpftrace 0.17's."""
from __future__ import annotations


def without_task_vma(listing: str) -> str:
    """A listing without iter:task_vma and its -lv member lines (bpftrace 0.21; 0.17 does not
    know it)."""
    out, skipping = [], False
    for line in listing.splitlines(keepends=True):
        if not line.startswith(" "):
            skipping = line.strip() == "iter:task_vma"
        if not skipping:
            out.append(line)
    return "".join(out)
