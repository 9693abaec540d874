"""BPF helper ids and helper flags as codegen uses them (the ids are shared with the runtime:
compiler/formats/bpf_helpers.py)."""

from .formats.bpf_helpers import Helper  # noqa: F401  (re-exported: codegen names it helpers.Helper)

# map_update_elem flags
BPF_ANY = 0
BPF_NOEXIST = 1
DEFAULT_TIME_FORMAT = "%H:%M:%S\n"

# get_stackid flags
BPF_F_USER_STACK = 1 << 8
