"""BTF's kind numbers, apart from the BTF reader: the runtime's object reader and constants
need only these, and compiler/formats/btf.py (the reader itself) is not cheap to import on every start."""

from __future__ import annotations

import enum


class Kind(enum.IntEnum):
    """BTF_KIND_* (include/uapi/linux/btf.h)."""

    VOID = 0          # BTF_KIND_UNKN; only type id 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19
