"""kt's getopt_long (runtime/cli_flags.py) and environment reading (runtime/cli_env.py): the
parsing rules bpftrace 0.17 inherits from GNU getopt and std::stoull, without running anything.
(tests/e2e/test_cli_differential.py compares whole command lines with 0.17.)"""

from __future__ import annotations

import pytest

from kt.runtime.cli_env import Environment, EnvError, read_environment, ring_pages
from kt.runtime.cli_flags import UsageError, parse_args


def test_options_anywhere_until_double_dash():
    a = parse_args(["script.bt", "-q", "5", "--", "-x", "-q"])
    assert a.quiet and a.args == ["script.bt", "5", "-x", "-q"]


def test_short_options_combine_and_take_attached_arguments():
    a = parse_args(["-qkke", "BEGIN {}", "-I/usr/include", "-B", "none"])
    assert a.quiet and a.helper_checks == 2 and a.program == "BEGIN {}"
    assert a.include_dirs == ["/usr/include"] and a.buffering == "none"


def test_long_options_with_values_and_prefixes():
    a = parse_args(["--include=a.h", "--include", "b.h", "--emit-llvm=out", "--no-w", "--dry"])
    assert a.include_files == ["a.h", "b.h"] and a.emit_llvm == "out"
    assert a.no_warnings and a.dry_run


def test_debug_takes_a_stage_only_as_the_next_word():
    assert parse_args(["-d", "ir", "-e", "x"]).debug_stage == "ir"
    a = parse_args(["-d", "script.bt"])
    assert a.debug == 1 and a.debug_stage is None and a.args == ["script.bt"]
    assert parse_args(["-dd", "-e", "x"]).debug == 2


@pytest.mark.parametrize("argv, message", [
    (["--bogus"], "kt: unrecognized option '--bogus'"),
    (["-Z"], "kt: invalid option -- 'Z'"),
    (["-e"], "kt: option requires an argument -- 'e'"),
    (["--include"], "kt: option '--include' requires an argument"),
    (["--info=1"], "kt: option '--info' doesn't allow an argument"),
    (["--u"], "kt: option '--u' is ambiguous; possibilities: '--usdt-file-activation' '--unsafe'"),
])
def test_getopt_messages(argv, message):
    with pytest.raises(UsageError) as e:
        parse_args(argv)
    assert str(e.value) == message


def test_help_and_version_stop_parsing():
    assert parse_args(["-V", "--bogus"]).version
    assert parse_args(["-h", "-Z"]).help


def test_environment_defaults_and_kt_spelling():
    assert read_environment({}) == Environment()
    env = read_environment({"BPFTRACE_STRLEN": "100", "KT_STRLEN": "32", "BPFTRACE_MAP_KEYS_MAX": " 12abc"})
    assert env.strlen == 32 and env.map_keys_max == 12


@pytest.mark.parametrize("env, message", [
    ({"BPFTRACE_STRLEN": "abc"}, "Env var 'BPFTRACE_STRLEN' did not contain a valid uint64_t, or was zero-valued."),
    ({"KT_MAP_KEYS_MAX": "0"}, "Env var 'KT_MAP_KEYS_MAX' did not contain a valid uint64_t, or was zero-valued."),
    ({"BPFTRACE_NO_CPP_DEMANGLE": "yes"}, "Env var 'BPFTRACE_NO_CPP_DEMANGLE' did not contain a valid value (0 or 1)."),
    ({"BPFTRACE_PERF_RB_PAGES": "6"}, "Env var 'BPFTRACE_PERF_RB_PAGES' must be a power of two, not 6."),
])
def test_environment_refusals(env, message):
    with pytest.raises(EnvError) as e:
        read_environment(env)
    assert str(e.value) == message


def test_negative_numbers_wrap_as_stoull():
    with pytest.raises(EnvError) as e:
        read_environment({"BPFTRACE_STRLEN": "-3"})
    assert str(e.value).startswith("'BPFTRACE_STRLEN' 18446744073709551613 exceeds the current maximum of 200 bytes.")


def test_ring_pages():
    assert ring_pages(Environment(), None) is None
    assert ring_pages(Environment(), "64") == 64
    per_cpu = ring_pages(Environment(perf_rb_pages=4), None)
    assert per_cpu >= 4 and per_cpu & (per_cpu - 1) == 0
    with pytest.raises(EnvError):
        ring_pages(Environment(), "3")
