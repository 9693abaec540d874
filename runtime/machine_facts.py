"""What the compiler may ask of this machine, as functions (the CLI's and the API's compiles)."""

from __future__ import annotations


def machine_facts() -> dict:
    """What the compiler may ask of this machine: kprobe wildcard expansion and kernel symbol
    addresses (kaddr), the possible CPUs (a config block's perf_rb_pages). Given as functions so that nothing is read unless a script needs it."""
    def kernel_functions(pattern: str) -> list[str]:
        from .attach.kprobe import expand_kprobe_wildcard
        return expand_kprobe_wildcard(pattern)

    def kernel_symbol(name: str) -> int | None:
        from .symbols import kaddr
        try:
            return kaddr(name)
        except (LookupError, OSError):
            return None

    def possible_cpus() -> int:
        from .sys.cpus import num_possible_cpus
        return num_possible_cpus()

    return {"kernel_functions": kernel_functions, "kernel_symbol": kernel_symbol,
            "possible_cpus": possible_cpus}
