"""Tracepoint formats from tracefs: the field layout behind `args->field`.

Reads `events/CAT/NAME/format`. The offsets, sizes and signedness come from the format file,
never from the C declaration: syscall arguments are 8 bytes whatever their declared type
(kernel-facts §5). `__data_loc` fields are u32 `len << 16 | offset` locators of a string in
the record.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

_FIELD_RE = re.compile(r"field:(?P<decl>[^;]*);\s*offset:(?P<off>\d+);\s*size:(?P<size>\d+);\s*signed:(?P<signed>\d+);")
_ARRAY_RE = re.compile(r"\[(\d+)\]\s*$")


@dataclass(frozen=True, slots=True)
class TracepointField:
    name: str
    c_decl: str
    offset: int
    size: int
    signed: bool
    data_loc: bool
    char_array: int  # N for `char name[N]`, else 0
    pointer: bool


@dataclass(frozen=True, slots=True)
class TracepointFormat:
    category: str
    name: str
    fields: dict[str, TracepointField]
    common: dict[str, TracepointField]


class TracepointNotFound(LookupError):
    pass


def parse_format(category: str, name: str, text: str) -> TracepointFormat:
    fields: dict[str, TracepointField] = {}
    common: dict[str, TracepointField] = {}
    for m in _FIELD_RE.finditer(text):
        decl = m["decl"].strip()
        data_loc = decl.startswith("__data_loc")
        base = _ARRAY_RE.sub("", decl).strip()
        fname = re.split(r"[\s*]+", base)[-1]
        arr = _ARRAY_RE.search(decl)
        char_array = int(arr.group(1)) if arr and re.match(r"(const\s+)?(unsigned\s+)?char\b", decl) else 0
        f = TracepointField(fname, decl, int(m["off"]), int(m["size"]), m["signed"] == "1", data_loc,
                            0 if data_loc else char_array, "*" in base and not data_loc)
        (common if fname.startswith("common_") else fields)[fname] = f
    return TracepointFormat(category, name, fields, common)


@functools.cache
def read_format(root: str, category: str, name: str) -> TracepointFormat:
    path = Path(root) / "events" / category / name / "format"
    try:
        return parse_format(category, name, path.read_text())
    except FileNotFoundError:
        raise TracepointNotFound(f"{category}:{name}") from None


@functools.cache
def all_tracepoints(root: str) -> tuple[str, ...]:
    """Every "category:name" under tracefs, for suggestions and wildcards."""
    events = Path(root) / "events"
    out = []
    for cat in sorted(p for p in events.iterdir() if p.is_dir()):
        for ev in sorted(p for p in cat.iterdir() if p.is_dir()):
            out.append(f"{cat.name}:{ev.name}")
    return tuple(out)
