"""The script's `config = { ... }` block (bpftrace 0.20+): each key checked and mapped onto kt's
settings.

Why a module: a config key is either a compile-time setting (string and map sizes, the ring's
pages: they shape the object), a run-time one the session applies (they travel in `.kt.meta`
"config", so `kt out.o` honours them), an unstable-feature switch, or something kt cannot do,
which is a located error naming the key. bpftrace's rule for where a value comes from is kept:
an environment variable for the same setting wins over the block (CompileOptions.env_set for
compile-time keys; the runtime checks its own environment for run-time ones).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from . import ast
from .diagnostics import DiagnosticSink, did_you_mean
from .formats.meta import RUN_CONFIG
from .options import CompileOptions

# bpftrace 0.17 keeps strings on the 512-byte stack and refuses more (runtime/cli_env.py).
STRLEN_MAX = 200
MAP_ENTRIES_MAX = (1 << 32) - 1


@dataclass(frozen=True, slots=True)
class Key:
    name: str           # bpftrace 0.26's name, lower case
    kind: str           # "uint" | "bool" | "word" (one of `words`) | "string"
    where: str          # "compile" | "run" | "unstable" | "ignored"
    words: tuple[str, ...] = ()
    env: tuple[str, ...] = ()   # the variables (without KT_/BPFTRACE_) that win over the block


_KEYS = (
    Key("max_strlen", "uint", "compile", env=("STRLEN",)),
    Key("max_map_keys", "uint", "compile", env=("MAP_KEYS_MAX",)),
    Key("perf_rb_pages", "uint", "compile", env=("PERF_RB_PAGES", "RB_PAGES")),
    # Run-time keys: the session applies them (formats/meta.py RUN_CONFIG names their variables).
    Key("log_size", "uint", "run", env=RUN_CONFIG["log_size"][1]),
    Key("max_probes", "uint", "run", env=RUN_CONFIG["max_probes"][1]),
    Key("max_bpf_progs", "uint", "run", env=RUN_CONFIG["max_bpf_progs"][1]),
    Key("max_cat_bytes", "uint", "run", env=RUN_CONFIG["max_cat_bytes"][1]),
    Key("print_maps_on_exit", "bool", "run", env=RUN_CONFIG["print_maps_on_exit"][1]),
    Key("cpp_demangle", "bool", "run", env=RUN_CONFIG["cpp_demangle"][1]),
    Key("cache_user_symbols", "word", "run", ("PER_PID", "PER_PROGRAM", "NONE"),
        env=RUN_CONFIG["cache_user_symbols"][1]),
    Key("unstable_map_decl", "word", "unstable", ("error", "warn", "enable")),
    Key("unstable_tseries", "word", "unstable", ("error", "warn", "enable")),
    Key("unstable_addr", "word", "unstable", ("error", "warn", "enable")),
    Key("unstable_import", "word", "unstable", ("error", "warn", "enable")),
    # Accepted with no effect: how kt places objects on the BPF stack and when it symbolizes
    # are its own (docs/language.md says so).
    Key("on_stack_limit", "uint", "ignored"),
    Key("lazy_symbolication", "bool", "ignored"),
    # Accepted only with the value that is kt's behaviour.
    Key("stack_mode", "word", "compile", ("bpftrace",)),
    Key("str_trunc_trailer", "string", "compile", ("",)),
    Key("license", "string", "compile", ("GPL",)),
    Key("show_debug_info", "bool", "compile", ("false",)),
)
KEYS: Mapping[str, Key] = MappingProxyType({k.name: k for k in _KEYS})

# Keys of 0.26 kt refuses whatever their value, and why.
_REFUSED = {
    "missing_probes": "kt skips an attach point that cannot attach when its probe names several or "
                      "a wildcard expands to it (with a warning), and fails on a single one, as bpftrace 0.17",
    "symbol_source": "removed from bpftrace itself (0.23)",
}
_TRUE, _FALSE = ("true", "1"), ("false", "0")


@dataclass(frozen=True, slots=True)
class ScriptConfig:
    options: CompileOptions                     # with the block's compile-time keys applied
    run: tuple[tuple[str, int | bool | str], ...]    # .kt.meta "config", in key order
    unstable: Mapping[str, str]                      # "map_decl" -> "error" | "warn" | "enable"
    spans: Mapping[str, ast.ConfigItem]              # key -> where it was set


def canonical_key(written: str) -> str:
    """`BPFTRACE_STACK_MODE`, `STACK_MODE` and `stack_mode` are one key (0.26's docs)."""
    name = written.lower()
    return name.removeprefix("bpftrace_")


def script_config(program: ast.Program, options: CompileOptions, sink: DiagnosticSink) -> ScriptConfig:
    run: dict[str, int | bool | str] = {}
    unstable: dict[str, str] = {}
    spans: dict[str, ast.ConfigItem] = {}
    changes: dict[str, object] = {}
    for item in program.config:
        if not item.key:     # `config = {}`
            continue
        name = canonical_key(item.key)
        if name in _REFUSED:
            sink.error(item.key_span, f"config '{item.key}' is not supported by kt: {_REFUSED[name]}")
            continue
        key = KEYS.get(name)
        if key is None:
            hint = did_you_mean(name, list(KEYS))
            sink.error(item.key_span, f"unknown config key '{item.key}'",
                       hint or "config keys are: " + ", ".join(sorted(KEYS)))
            continue
        if name in spans:
            sink.error(item.key_span, f"config '{name}' is set twice")
            continue
        spans[name] = item
        value = _value(key, item, sink)
        if value is None:
            continue
        if key.where == "ignored":
            continue
        if key.where == "unstable":
            unstable[name.removeprefix("unstable_")] = str(value)
        elif key.words and key.where == "compile":
            if str(value).lower() not in key.words:   # a value kt cannot honour
                sink.error(item.value_span, f"config {name}={_shown(item)} is not supported by kt, which "
                           f"{_KT_DOES[name]}")
        elif key.where == "run":
            if not any(e in options.env_set for e in key.env):
                run[name] = value
        elif not any(e in options.env_set for e in key.env):
            _compile_setting(name, value, item, changes, sink, options)
    return ScriptConfig(dataclasses.replace(options, **changes) if changes else options,
                        tuple(sorted(run.items())), MappingProxyType(unstable), MappingProxyType(spans))


_KT_DOES = {
    "stack_mode": "prints stacks in 'bpftrace' mode unless a call names one: kstack(perf), ustack(raw)",
    "str_trunc_trailer": "marks no truncated string (0.17's output): only \"\" is accepted",
    "license": "loads every program as \"GPL\"",
    "show_debug_info": "shows no file and line in stacks (bpftrace needs blazesym for it)",
}


def _shown(item: ast.ConfigItem) -> str:
    return f'"{item.value}"' if item.quoted else str(item.value)


def _value(key: Key, item: ast.ConfigItem, sink: DiagnosticSink) -> int | bool | str | None:
    v = item.value
    if key.kind == "uint":
        if isinstance(v, int):
            return v
        sink.error(item.value_span, f"config {key.name} takes a number, not {_shown(item)}")
    elif key.kind == "bool":
        text = str(v).lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        sink.error(item.value_span, f"config {key.name} takes true or false, not {_shown(item)}")
    elif key.kind == "word":
        text = str(v)
        allowed = {w.lower(): w for w in key.words} if key.where != "compile" else None
        if allowed is None and not isinstance(v, int):
            return text
        if allowed is not None and text.lower() in allowed:
            return allowed[text.lower()]
        choices = ", ".join(w for w in key.words)
        if allowed is None:
            sink.error(item.value_span, f"config {key.name} takes a word, not {_shown(item)}")
        else:
            sink.error(item.value_span, f"config {key.name} takes one of {choices}, not {_shown(item)}")
    elif key.kind == "string":
        if isinstance(v, str):
            if v not in key.words:
                sink.error(item.value_span, f"config {key.name}={_shown(item)} is not supported by kt, which "
                           f"{_KT_DOES[key.name]}")
                return None
            return v
        sink.error(item.value_span, f"config {key.name} takes a string, not {_shown(item)}")
    return None


def _compile_setting(name: str, value, item: ast.ConfigItem, changes: dict, sink: DiagnosticSink,
                     options: CompileOptions) -> None:
    if name == "max_strlen":
        if not 1 <= value <= STRLEN_MAX:
            sink.error(item.value_span, f"config max_strlen={value}: kt keeps strings on the 512-byte BPF stack "
                       f"and takes 1 to {STRLEN_MAX} bytes")
            return
        changes["strlen"] = value
    elif name == "max_map_keys":
        if not 1 <= value <= MAP_ENTRIES_MAX:
            sink.error(item.value_span, f"config max_map_keys={value}: a BPF map holds 1 to {MAP_ENTRIES_MAX} "
                       "entries (max_entries is 32 bits)")
            return
        changes["map_keys_max"] = value
    elif name == "perf_rb_pages":
        if value < 1 or value & (value - 1):
            sink.error(item.value_span, f"config perf_rb_pages={value} must be a power of two")
            return
        # Per CPU, as BPFTRACE_PERF_RB_PAGES (runtime/cli_env.ring_pages): kt's one ring gets
        # that many times the CPUs, rounded up to a power of two.
        cpus = options.possible_cpus() if options.possible_cpus is not None else 1
        total = value * cpus
        total = 1 << (total - 1).bit_length()
        if total > (1 << 31) // 4096:
            sink.error(item.value_span, f"config perf_rb_pages={value} is too large: the event ring holds at "
                       "most 2 GiB (a ring's size is a 32-bit map max_entries)")
            return
        changes["ringbuf_pages"] = total
