"""What the compiler may ask of this machine, as functions (the CLI's and the API's compiles)."""

from __future__ import annotations


def machine_facts() -> dict:
    """What the compiler may ask of this machine: kprobe wildcard expansion and kernel symbol
    addresses (kaddr). Given as functions so that nothing is read unless a script needs it."""
    def kernel_functions(pattern: str) -> list[str]:
        from .attach.kprobe import expand_kprobe_wildcard
        return expand_kprobe_wildcard(pattern)

    def kernel_symbol(name: str) -> int | None:
        from .symbols import kaddr
        try:
            return kaddr(name)
        except (LookupError, OSError):
            return None

    return {"kernel_functions": kernel_functions, "kernel_symbol": kernel_symbol}
