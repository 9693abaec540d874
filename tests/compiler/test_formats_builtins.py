"""username, strerror(), macaddr(), strftime(), cgroup_path(): their types, the meta lists the
runtime formats them with, and the diagnostics of wrong arguments (compiler/builtins/formats.py).
What they print is tested against bpftrace 0.17 in tests/e2e/test_formats_differential.py."""

import pytest

from kt.runtime.spec import parse_object


def test_types_and_meta_lists(compile_text):
    obj = compile_text('BEGIN { @a = strftime("%H", nsecs); @b = strftime("%Y %f", 0); '
                       '@c = cgroup_path(cgroup); @d = cgroup_path(cgroup, "cpu*"); @e = strerror(2); '
                       '@u[username] = count(); @m = macaddr(curtask); exit(); }')
    meta = parse_object(obj.elf).meta.to_json()
    assert meta["strftime_formats"] == ["%H", "%Y %f"]
    assert meta["cgroup_path_filters"] == ["*", "cpu*"]
    kinds = {m["name"]: (m["key"] or m["value"])["kind"] for m in meta["maps"]}
    assert kinds == {"@a": "strftime", "@b": "strftime", "@c": "cgroup_path", "@d": "cgroup_path",
                     "@e": "strerror", "@u": "username", "@m": "macaddr"}


@pytest.mark.parametrize("script,message", [
    ('BEGIN { print(macaddr("abc")); }', "macaddr() needs at least 6 bytes, this is string[4]"),
    ('BEGIN { print(macaddr((1, 2))); }', "macaddr() needs an array of 6 bytes or their address"),
    ('BEGIN { $f = "%Y"; print(strftime($f, 1)); }', "strftime()'s format must be a string literal"),
    ('BEGIN { print(strftime("%Y", "x")); }', "strftime() needs a timestamp in nanoseconds"),
    ('BEGIN { print(strftime("%Y")); }', "strftime() takes 2 arguments, got 1"),
    ('BEGIN { $x = "u"; print(cgroup_path(1, $x)); }', "cgroup_path()'s filter must be a string literal"),
    ('BEGIN { print(cgroup_path("a")); }', "cgroup_path() needs a cgroup id (an integer)"),
    ('BEGIN { print(strerror("x")); }', "strerror() needs an error number (an integer), this is string[2]"),
    ('BEGIN { printf("%d\\n", strerror(1)); }', "%d needs an integer, this is strerror"),
])
def test_wrong_arguments_are_diagnostics(errors, script, message):
    assert message in errors(script)
