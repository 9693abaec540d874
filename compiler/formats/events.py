"""Event ids of the ring buffer records (docs/object-format.md, "Events"): ONE definition for
the code that writes them (compiler/codegen) and the code that reads them (runtime/session).

Every record starts with a u64 id. 0 .. 29999 index `.kt.meta`'s printf table (printf,
system, cat); the ids below are kt's own actions.
"""

from __future__ import annotations

import struct
from enum import IntEnum


class EventId(IntEnum):
    EXIT = 30000     # {id}: end the trace
    CLEAR = 30001    # {id; map index}
    ZERO = 30002     # {id; map index}
    PRINT = 30003    # {id; map index; top; div}
    TIME = 30004     # {id; index into time_formats}
    JOIN = 30005     # {id; index into join_delims; count} then `count` strings
    PRINT_VALUE = 30006  # {id; index into print_values} then the value's bytes at offset 16
    HELPER_ERROR = 30007  # {id; index into helper_errors; the helper's result} (-k, -kk)
    UNWATCH = 30008  # {id; address}: unwatch(addr) detaches the function watchpoints at addr


# The map actions by the name of the function that sends them.
MAP_EVENTS = {"clear": EventId.CLEAR, "zero": EventId.ZERO, "print": EventId.PRINT}

JOIN_HEADER = struct.Struct("<QQQ")   # id, delimiter index, count
JOIN_ARGS = 16        # bpftrace 0.17 joins at most 16 arguments
JOIN_ARG_SIZE = 256   # bytes read of each (0.17 reads 1024; kt keeps events small)
