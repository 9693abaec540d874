"""The `.kt.meta` schema (compiler/formats/meta.py): what the compiler writes reads back equal,
every malformed field is one MetaError naming it, newer formats are refused. (That formats/
imports nothing of the compiler is tests/runtime/test_boundary.py's.)"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from kt.compiler.driver import compile_source
from kt.compiler.formats import meta as schema
from kt.compiler.formats.meta import FORMAT_VERSION, KT_VERSION, MetaError, ObjectMeta
from kt.compiler.options import CompileOptions
from kt.compiler.source import SourceFile
from kt.runtime.spec import parse_object

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
BEGIN { printf("%s %d\n", "a", 1); @h = hist(3); @l = lhist(4, 0, 10, 2); @s[1, "x"] = sum(2);
        print((1, "two")); time("%H\n"); @k = kstack(3); join(@argv); system("true"); exit(); }
tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @c[comm] = count(); printf("%s\n", strftime("%H", nsecs)); }
interval:ms:10 { @m = max(5); }
END { clear(@c); }
"""


@pytest.fixture(scope="module")
def written() -> dict:
    src = SourceFile.of("t.kt", SCRIPT.replace("join(@argv); ", ""))
    elf = compile_source(src, CompileOptions(source_name="t.kt", unsafe=True, helper_checks=1)).elf
    return parse_object(elf).meta.to_json()


def test_what_the_compiler_writes_reads_back_equal(written):
    m = ObjectMeta.from_json(written)
    assert m.to_json() == written
    assert ObjectMeta.from_json(copy.deepcopy(written)) == m
    assert (m.version, m.kt_version, m.source) == (FORMAT_VERSION, KT_VERSION, "t.kt")
    kinds = [p.kind for p in m.probes]
    assert kinds == ["begin", "tracepoint", "interval", "end"]
    tp = m.probes[1].attach
    assert (tp.category, tp.name) == ("syscalls", "sys_enter_openat")
    assert m.probes[2].attach.period is not None and m.probes[2].attach.cpus == "one"
    assert {mm.name: mm.agg for mm in m.maps} == {"@c": "count", "@h": "hist", "@k": "none", "@l": "lhist",
                                                   "@m": "max", "@s": "sum"}
    assert m.maps[[mm.name for mm in m.maps].index("@l")].lhist == schema.Lhist(0, 10, 2)
    sizes = [p.size for p in m.printf]
    assert all(s % 8 == 0 and s >= 8 for s in sizes)
    assert [p.action for p in m.printf] == ["printf", "system", "printf"]
    assert m.time_formats == ("%H\n",) and m.strftime_formats == ("%H",)
    assert m.stack_maps() == {3: "kt_stacks_3"}
    # the keyed hash maps, each with a slot counting the new keys it refused when full
    assert (m.events.full, m.events.full_maps) == ("kt_full", ("@c", "@s"))
    assert m.events.read_errors == "kt_read_errors"    # -k: failed reads counted per site
    assert m.helper_errors and all(s.file == "t.kt" for s in m.helper_errors)
    assert dict(m.tracepoint_layouts).keys() == {"syscalls:sys_enter_openat"}
    assert m.kernel_btf is not None and len(m.kernel_btf.sha256) == 64   # comm reads task_struct


def _set(d: dict, path: str, value) -> dict:
    d = copy.deepcopy(d)
    *keys, last = re.findall(r"[^.\[\]]+", path)
    node = d
    for k in keys:
        node = node[int(k) if isinstance(node, list) else k]
    last = int(last) if isinstance(node, list) else last
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return d


@pytest.mark.parametrize("path,value,message", [
    ("maps.0.agg", "foo", r"^\.kt\.meta: maps\[0\]\.agg: unknown aggregation 'foo'$"),
    ("maps.0.name", 7, r"^\.kt\.meta: maps\[0\]\.name: must be a string, not an integer$"),
    ("maps.0.bpf_name", KeyError, r"^\.kt\.meta: maps\[0\]: missing 'bpf_name'$"),
    ("maps.0.value", {"kind": "int", "size": 3, "signed": True}, r"^\.kt\.meta: maps\[0\]\.value: integer size"),
    ("maps.0.colour", "red", r"^\.kt\.meta: maps\[0\]\.colour: unknown field$"),
    ("probes.1.kind", "kprobez", r"^\.kt\.meta: probes\[1\]\.kind: unknown probe kind 'kprobez'$"),
    ("probes.1.attach.category", None, r"^\.kt\.meta: probes\[1\]\.attach\.category: must be a string, not null$"),
    ("probes.2.attach.cpus", "some", r"^\.kt\.meta: probes\[2\]\.attach: cpus must be 'one' or 'all'"),
    ("probes.0.optional", 1, r"^\.kt\.meta: probes\[0\]\.optional: must be a boolean, not an integer$"),
    ("printf.0.id", 5, r"^\.kt\.meta: printf\[0\]\.id: must be 0"),
    ("printf.0.size", 12, r"^\.kt\.meta: printf\[0\]: record size 12 must be a multiple of 8"),
    ("printf.0.args.0.type", {"kind": "strange"}, r"^\.kt\.meta: printf\[0\]\.args\[0\]\.type: unknown type kind"),
    ("printf.1.action", "launch", r"^\.kt\.meta: printf\[1\]: unknown action 'launch'$"),
    ("events", KeyError, None),   # optional: hand-made objects have none (the session says so)
    ("events.ringbuf", KeyError, r"^\.kt\.meta: events: missing 'ringbuf'$"),
    ("events.full", KeyError, r"^\.kt\.meta: events\.full_maps: needs the 'full' map that counts them$"),
    ("events.full_maps.0", 5, r"^\.kt\.meta: events\.full_maps\[0\]: must be a string, not an integer$"),
    ("stacks.3", 4, r"^\.kt\.meta: stacks\.3: must be a string"),
    ("stacks.0", "kt_stacks_0", r"^\.kt\.meta: stacks\.0: a stack map's key is its frame limit"),
    ("helper_errors.0.line", "1", r"^\.kt\.meta: helper_errors\[0\]\.line: must be an integer, not a string$"),
    ("kernel_btf.sha256", KeyError, r"^\.kt\.meta: kernel_btf: missing 'sha256'$"),
    ("tracepoint_layouts.syscalls:sys_enter_openat", 1, r"^\.kt\.meta: tracepoint_layouts\.syscalls:sys_enter_openat: must be a string"),
    ("probe_names", ["BEGIN"], r"^\.kt\.meta: probes\[1\]\.probe_base: 1 is not an index of probe_names"),
    ("version", 0, r"^\.kt\.meta: version: unknown object format 0$"),
    ("version", "2", r"^\.kt\.meta: version: must be an integer, not a string$"),
    ("flavour", "x", r"^\.kt\.meta: flavour: unknown field$"),
])
def test_a_bad_field_is_one_error_naming_it(written, path, value, message):
    bad = _set(written, path, value)
    if message is None:
        ObjectMeta.from_json(bad)
        return
    with pytest.raises(MetaError, match=message):
        ObjectMeta.from_json(bad)


def test_a_newer_format_is_refused_before_anything_else():
    with pytest.raises(MetaError, match=rf"object format {FORMAT_VERSION + 1} is newer than this kt reads "
                                        rf"\({FORMAT_VERSION}\): rebuild with this kt or upgrade kt"):
        ObjectMeta.from_json({"version": FORMAT_VERSION + 1, "maps": "anything"})


def test_format_1_objects_still_read():
    m = ObjectMeta.from_json({"version": 1, "source": "old.kt", "printf": [
        {"id": 0, "format": "%d\n", "args": [{"offset": 8, "type": {"kind": "int", "size": 4, "signed": True}}]}]})
    assert m.printf[0].size == 16 and m.kt_version == "" and m.kernel_btf is None


def test_positionals_and_program_names_round_trip():
    d = {"version": 2, "probes": [{"section": "raw_tp", "program": "BEGIN", "kind": "begin", "name": "BEGIN",
                                   "target": "", "attach": {}, "probe_base": 0, "optional": False}],
         "positionals": {"slots": [{"index": 0, "kind": "count", "size": 8, "symbol": "kt_argc"},
                                   {"index": 2, "kind": "str", "size": 64, "symbol": "kt_arg2_str"}],
                         "baked": [{"index": 3, "value": "10"}, {"index": 4, "value": None}]}}
    m = ObjectMeta.from_json(d)
    assert m.probes[0].program == "BEGIN" and m.positionals.baked == ((3, "10"), (4, None))
    assert {k: v for k, v in m.to_json().items() if k in d} == d
    bad = _set(d, "positionals.slots.1.kind", "float")
    with pytest.raises(MetaError, match=r"^\.kt\.meta: positionals\.slots\[1\]: unknown slot kind 'float'$"):
        ObjectMeta.from_json(bad)


def test_kt_version_is_the_package_version():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', text, re.M).group(1) == KT_VERSION


def test_an_object_that_reads_no_kernel_btf_records_none():
    src = SourceFile.of("t.kt", 'BEGIN { printf("%d\\n", 1); exit(); }')
    m = parse_object(compile_source(src, CompileOptions(source_name="t.kt")).elf).meta
    assert m.kernel_btf is None and m.tracepoint_layouts == ()
