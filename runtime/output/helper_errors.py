"""-k/-kk: a helper call that failed at run time, reported as bpftrace 0.17 reports it.

Text (on the trace's output, in event order):
    stdin:1:17-23: WARNING: Failed to map_update_elem: Argument list too long (-7)
    BEGIN{ @a[1]=1; @a[2]=2; exit()}
                    ~~~~~~
JSON: {"type": "helper_error", "helper": ..., "retcode": ..., "line": ..., "col": ...}.
-k's counted reads (kt's), on stderr: `kt: warning: stdin:1:17-23: probe_read_kernel failed 3
times (...)` when first seen, `... failed 9 times in total` at the end if more failed since;
JSON: {"type": "failed_reads", "data": {"helper", "line", "col", "count", "total"}}.
The site (helper, file, line, columns, the source line) is in `.kt.meta` "helper_errors".
"""

from __future__ import annotations

import json
import os
import struct

_RECORD = struct.Struct("<QQq")   # id, site index, the helper's result
# The read helpers -k counts instead of reporting each failure (compiler/codegen/probe.py)
READ_HELPERS = frozenset({"probe_read", "probe_read_str", "probe_read_user", "probe_read_kernel",
                          "probe_read_user_str", "probe_read_kernel_str"})


def failed_reads_text(site, count: int, total: bool) -> str:
    """-k: kt's line for the failed reads counted at a site (once when first seen, and the
    total at the end if more failed since); bpftrace 0.17 reports reads only with -kk."""
    width = max(1, site.end_col - site.col)
    when = "in total" if total else "(a failed read gives zeros; -kk reports each)"
    return (f"kt: warning: {site.file}:{site.line}:{site.col}-{site.col + width}: {site.helper} failed "
            f"{count} time{'s' if count != 1 else ''} {when}")


def failed_reads_json(site, count: int, total: bool) -> str:
    return (json.dumps({"type": "failed_reads", "data": {"helper": site.helper, "line": site.line,
                                                          "col": site.col, "count": count, "total": total}})
            + "\n")


def helper_error(sites, rec: bytes, as_json: bool) -> bytes:
    """`sites`: the object's HelperErrorSite records (kt.compiler.formats.meta)."""
    _, index, code = _RECORD.unpack_from(rec, 0)
    site = sites[index]
    if as_json:
        return (json.dumps({"type": "helper_error", "helper": site.helper, "retcode": code,
                            "line": site.line, "col": site.col}) + "\n").encode()
    # A NULL from map_lookup_elem is reported as 0.17 does: "Failed to map_lookup_elem: 0".
    why = f"{os.strerror(-code)} ({code})" if code < 0 else str(code)
    width = max(1, site.end_col - site.col)
    text = (f"{site.file}:{site.line}:{site.col}-{site.col + width}: WARNING: "
            f"Failed to {site.helper}: {why}\n{site.text}\n{' ' * (site.col - 1)}{'~' * width}\n")
    return text.encode("utf-8", "surrogateescape")
