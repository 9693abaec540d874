"""compiler/passes/key_names.py: label names from the expressions that key a map, carried in
.kt.meta's map records (MapMeta.key_names) for the Prometheus exporter."""

import pytest

from kt.compiler.formats.meta import MapMeta, MetaError
from kt.compiler.formats.value_types import IntType, StrType, TupleType
from kt.compiler.passes.key_names import label_name, unique_labels
from kt.runtime.spec import parse_object

TP = "tracepoint:syscalls:sys_enter_openat "


def names(compile_text, body: str) -> dict[str, tuple[str, ...]]:
    c = compile_text(TP + "{ " + body + " }")
    return {m.name: m.key_names for m in parse_object(c.elf).meta.maps}


def test_builtins_fields_variables_and_maps(compile_text):
    got = names(compile_text, '@bytes[comm, pid] = count(); @f[args->flags] = count(); @g[args.mode] = sum(1); '
                              '$x = 1; @v[$x] = count(); @m[@v[1]] = count(); @ = count(); @c[cpu, tid] = max(1);')
    assert got["@bytes"] == ("comm", "pid")
    assert got["@f"] == ("flags",) and got["@g"] == ("mode",)
    assert got["@v"] == ("x",) and got["@m"] == ("v",) and got["@c"] == ("cpu", "tid")
    assert got["@"] == ()      # a scalar map has no labels


def test_calls_name_their_argument_or_themselves(compile_text):
    got = names(compile_text, '@a[str(args->filename)] = count(); @b[ksym(args->mode)] = count(); '
                              '@c[kstack(3)] = count(); @d[str(args->filename, 8), comm] = count();')
    assert got["@a"] == ("filename",) and got["@b"] == ("mode",)
    assert got["@c"] == ("kstack",) and got["@d"] == ("filename", "comm")


def test_casts_see_through_and_others_are_positions(compile_text):
    got = names(compile_text, '$s = 3; @a[(uint32)$s, 1 + 2, "x"] = count(); @b[(comm, pid)] = count(); '
                              '$t = (1, "a"); @c[$t] = count(); @d[(comm, pid), cpu] = count(); @e[$t.1] = count();')
    assert got["@a"] == ("s", "key1", "key2")
    assert got["@b"] == ("comm", "pid")            # a tuple literal as the only key: its elements
    assert got["@c"] == ("t_0", "t_1")             # a tuple value as the only key
    assert got["@d"] == ("key0", "cpu")
    assert got["@e"] == ("t_1",)


def test_repeats_reserved_and_first_use_wins(compile_text):
    got = names(compile_text, '@a[comm, comm, pid] = count(); @le[args->flags] = count(); '
                              '$le = 1; $value = 2; @r[$le, $value] = count(); @k[pid] = count(); @k[tid] = count();')
    assert got["@a"] == ("comm", "comm_2", "pid")
    assert got["@le"] == ("flags",)
    assert got["@r"] == ("le_", "value_")          # histograms' le, summaries' quantile, info's value
    assert got["@k"] == ("pid",)                   # the first keyed use in the program


@pytest.mark.parametrize("raw, name", [
    ("comm", "comm"), ("__x", "_x"), ("___", "key"), ("9lives", "_9lives"), ("a-b.c", "a_b_c"),
    ("le", "le_"), ("quantile", "quantile_"), ("", "key"),
])
def test_label_name_sanitizing(raw, name):
    assert label_name(raw) == name


def test_unique_labels():
    assert unique_labels(["a", None, "a", "a"]) == ("a", "key1", "a_2", "a_3")


def test_meta_round_trip_and_checks():
    key = TupleType(16, ((0, IntType(8, True)), (8, IntType(8, False))))
    m = MapMeta("@x", "AT_x", "count", key, IntType(8, False), key_names=("pid", "cpu"))
    assert MapMeta.from_json(m.to_json()) == m
    assert "key_names" not in MapMeta("@y", "AT_y", "count", StrType(16), IntType(8, False)).to_json()
    bad = dict(m.to_json(), key_names=["pid"])
    with pytest.raises(MetaError, match="key_names"):
        MapMeta.from_json(bad, "maps[0]")
    with pytest.raises(MetaError, match="not a label name"):
        MapMeta.from_json(dict(m.to_json(), key_names=["__pid", "cpu"]), "maps[0]")
    with pytest.raises(MetaError, match="repeat"):
        MapMeta.from_json(dict(m.to_json(), key_names=["pid", "pid"]), "maps[0]")
