"""kt: bpftrace's language compiled to eBPF, from Python (docs/api.md).

The names are resolved on first use (PEP 562 module `__getattr__`): `import kt` and
`import kt.runtime.cli` stay as cheap as they were, and `kt.load` / `kt.trace` never import
the compiler (llvmlite, lark); only `kt.compile` does, when it is called.
"""

from __future__ import annotations

import importlib

# name -> the module that defines it
_API = {
    "compile": "kt.runtime.api.objects", "load": "kt.runtime.api.objects", "Object": "kt.runtime.api.objects",
    "trace": "kt.runtime.api.trace", "Trace": "kt.runtime.api.trace",
    "Error": "kt.runtime.api.errors", "CompileError": "kt.runtime.api.errors",
    "ObjectError": "kt.runtime.api.errors", "TraceError": "kt.runtime.api.errors",
    "Diagnostic": "kt.runtime.api.errors",
    "Stats": "kt.runtime.api.values", "Bucket": "kt.runtime.api.values",
    "Interval": "kt.runtime.api.values",
    "Printf": "kt.runtime.api.records", "Print": "kt.runtime.api.records",
    "MapPrint": "kt.runtime.api.records", "Time": "kt.runtime.api.records",
    "Join": "kt.runtime.api.records", "Cat": "kt.runtime.api.records",
    "System": "kt.runtime.api.records", "Lost": "kt.runtime.api.records",
    "Notice": "kt.runtime.api.records", "HelperError": "kt.runtime.api.records",
    "Output": "kt.runtime.api.records",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'kt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
