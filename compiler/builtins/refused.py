"""Functions of bpftrace's newer standard library (docs/stdlib.md, 0.20-0.26) that kt does not
provide: a call is a located error naming the function and the release that has it, not
"unknown function". Functions another family provides (FUNCTIONS) are never looked up here.

Releases: the first bpftrace release whose documentation lists the function, as far as kt's
authors could tell ("0.2x" where it is not certain which)."""

from __future__ import annotations

REFUSED_FUNCTIONS: dict[str, tuple[str, str]] = {
    # name: (release, what kt offers instead, or why not)
    "percpu_kaddr": ("0.22", ""),
    "socket_cookie": ("0.23", ""),
    "signal_thread": ("0.23", "signal() signals the whole process"),
    "syscall_name": ("0.24", ""),
    "assert": ("0.24", "write: if (!cond) { errorf(\"...\"); exit(1); }"),
    "static_assert": ("0.25", ""),
    "fail": ("0.25", "compile-time failure"),
    "find": ("0.25", ""),
    "memcmp": ("0.25", "strncmp() compares strings"),
    "has_cpid": ("0.25", "cpid is 0 without -c"),
    "strcap": ("0.26", "strlen() gives a string's length"),
    "globmatch": ("0.26", "strcontains() and strstr() search strings"),
    "default_str_length": ("0.26", ""),
    "assert_str": ("0.26", ""),
    "is_array": ("0.26", ""),
    "is_integer": ("0.26", ""),
    "is_literal": ("0.26", ""),
    "is_ptr": ("0.26", ""),
    "is_str": ("0.26", ""),
    "is_unsigned_integer": ("0.26", ""),
    "kfunc_allowed": ("0.26", ""),
    "kfunc_exist": ("0.26", ""),
}
