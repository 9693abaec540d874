"""`kt --info`: the system, kt's own build, and what this kernel offers kt, in bpftrace 0.17's
layout (System, Build, Kernel helpers, Kernel features, Map types, Probe types), on stderr.

Helpers and map types are read from the kernel's BTF (the enumerators of `enum bpf_func_id`
and `enum bpf_map_type`: what this kernel was built with), not by loading a test program per
item as bpftrace does; probe kinds use the checks kt's own attach code makes.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# (0.17's label, the helper's name in enum bpf_func_id)
_HELPERS = tuple((h, h) for h in ("probe_read", "probe_read_str", "probe_read_user", "probe_read_user_str",
                                  "probe_read_kernel", "probe_read_kernel_str", "get_current_cgroup_id",
                                  "send_signal", "override_return")) + (
    ("get_boot_ns", "ktime_get_boot_ns"), ("dpath", "d_path"), ("skboutput", "skb_output"),
    ("ringbuf_output", "ringbuf_output"), ("get_func_ip", "get_func_ip"), ("get_attach_cookie", "get_attach_cookie"))
_MAP_TYPES = (("hash", "HASH"), ("percpu hash", "PERCPU_HASH"), ("array", "ARRAY"),
              ("percpu array", "PERCPU_ARRAY"), ("stack_trace", "STACK_TRACE"), ("ringbuf", "RINGBUF"),
              ("perf_event_array", "PERF_EVENT_ARRAY"))


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _enumerator(btf, name: str) -> bool:
    return btf is not None and btf.enumerator(name) is not None


def _llvm() -> str:
    """The compiler's LLVM, when the compiler is installed: --info reports the installation, and
    a host that only runs objects has no llvmlite (the one runtime import of it, guarded)."""
    try:
        from llvmlite import binding as llvm
    except ImportError:
        return "not installed (this kt runs compiled objects only)"
    return f"{'.'.join(map(str, llvm.llvm_version_info))} (llvmlite {_package('llvmlite')})"


def info_report(kt_version: str) -> str:
    from ..compiler.formats.btf import BtfError, Kind, vmlinux_btf
    try:
        btf = vmlinux_btf()
    except (BtfError, OSError):
        btf = None
    u = os.uname()
    lines = ["System", f"  OS: {u.sysname} {u.release} {u.version}", f"  Arch: {u.machine}", "",
             "Build", f"  version: v{kt_version}",
             f"  Python: {platform.python_version()}",
             f"  LLVM: {_llvm()}",
             f"  lark: {_package('lark')}",
             f"  pyelftools (DWARF support): {_package('pyelftools')}",
             "  unsafe uprobe: no", "",
             "Kernel helpers"]
    lines += [f"  {label}: {_yes(_enumerator(btf, 'BPF_FUNC_' + h))}" for label, h in _HELPERS]
    lines += ["", "Kernel features",
              f"  btf: {_yes(btf is not None)}",
              f"  map batch: {_yes(_enumerator(btf, 'BPF_MAP_LOOKUP_BATCH'))}",
              f"  bpf links: {_yes(_enumerator(btf, 'BPF_LINK_CREATE'))}",
              "", "Map types"]
    lines += [f"  {label}: {_yes(_enumerator(btf, 'BPF_MAP_TYPE_' + name))}" for label, name in _MAP_TYPES]
    lines += ["", "Probe types"] + [f"  {k}: {v}" for k, v in _probe_types(btf, Kind)]
    return "\n".join(lines) + "\n\n"


def _probe_types(btf, kind) -> list[tuple[str, str]]:
    from .attach.kprobe import kprobe_multi_supported
    from .attach.tracing import fentry_unsupported_reason
    from .tracefs import TracefsError, tracefs_root

    try:
        tracefs = tracefs_root()
    except (TracefsError, OSError):
        tracefs = None
    devices = Path("/sys/bus/event_source/devices")
    kprobes = (devices / "kprobe").exists() or (tracefs is not None and (tracefs / "kprobe_events").exists())
    uprobes = (devices / "uprobe").exists() or (tracefs is not None and (tracefs / "uprobe_events").exists())
    has_func = (lambda name: btf is not None and btf.find(name, kind.FUNC) is not None)
    return [
        ("kprobe", _yes(kprobes)),
        ("uprobe", _yes(uprobes)),
        ("tracepoint", _yes(tracefs is not None and (tracefs / "events").is_dir())),
        ("perf_event", _yes(Path("/proc/sys/kernel/perf_event_paranoid").exists())),
        ("kfunc", _yes(btf is not None and fentry_unsupported_reason() is None)),
        ("iter:task", _yes(has_func("bpf_iter_task"))),
        ("iter:task_file", _yes(has_func("bpf_iter_task_file"))),
        ("kprobe_multi", _yes(kprobes and kprobe_multi_supported())),
        ("raw_tp_special", _yes(_enumerator(btf, "BPF_PROG_TYPE_RAW_TRACEPOINT"))),
    ]


if __name__ == "__main__":
    sys.stderr.write(info_report("0"))
