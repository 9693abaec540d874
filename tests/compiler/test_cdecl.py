"""Script C definitions laid out as the C compiler lays them out: every size, alignment and
member offset (bitfields included) is compared with what gcc computes for the same text."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kt.compiler.cdecl import TypeScope, c_words_type
from kt.compiler.diagnostics import DiagnosticSink
from kt.compiler.parse import parse
from kt.compiler.source import SourceFile
from kt.compiler.types import Array, Int, Ptr, Record, Str

DEFINITIONS = r"""
struct Bar { int x; int y; };
struct Foo { int a; char b[10]; unsigned int c:4, d:8; struct { int x; int y; } inner; long arr[3];
             struct Bar *p; struct Bar bars[2]; short m[2][3]; };
struct Bits { unsigned char a:3, b:6; unsigned short c:9; int d:20, e:20; unsigned long f:40; char g; };
struct Padded { char a; long b; char c; int :3; char d; int :0; char f; };
union Num { int i; unsigned long l; char bytes[3]; };
struct Anon { int k; union { int a; unsigned int b; }; struct { short x, y; }; int z; };
struct Node { int val; struct Node *next; struct Node **pp; void (*cb)(int, char *); };
typedef unsigned long long ull_t;
typedef struct { ull_t big; unsigned char small; } pair_t;
struct UsesTypedef { pair_t p; ull_t q[2]; _Bool flag; signed char sc; unsigned u; };
enum Color { RED, GREEN = 5, BLUE };
struct WithEnum { enum Color c; char tail; };
"""

# (struct, member path) pairs gcc prints offsetof/sizeof of; bitfields by their bit offset.
MEMBERS = {
    "struct Foo": ["a", "b", "inner", "inner.y", "arr", "p", "bars", "m"],
    "struct Padded": ["a", "b", "c", "d", "f"],
    "union Num": ["i", "l", "bytes"],
    "struct Anon": ["k", "a", "b", "x", "y", "z"],
    "struct Node": ["val", "next", "pp", "cb"],
    "struct UsesTypedef": ["p", "q", "flag", "sc", "u"],
    "struct WithEnum": ["c", "tail"],
}
BITFIELDS = {"struct Foo": ["c", "d"], "struct Bits": ["a", "b", "c", "d", "e", "f"]}


def _scope() -> TypeScope:
    program = parse(SourceFile.of("t.kt", DEFINITIONS + "BEGIN { }"))
    sink = DiagnosticSink()
    scope = TypeScope()
    scope.define(program.definitions, sink)
    assert not sink.items, sink.items
    return scope


def _record(scope: TypeScope, name: str) -> Record:
    kind, tag = name.split()
    return Record(scope.struct(kind, tag))


def _member(rec: Record, path: str):
    offset = 0
    t = rec
    for part in path.split("."):
        m = t.member(part)
        offset += m.offset
        t = m.type
    return offset, m


@pytest.fixture(scope="module")
def gcc_layout(tmp_path_factory) -> dict[str, int]:
    """What gcc says: `sizeof S`, `_Alignof S`, `offsetof S.m` and each bitfield's first bit."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to check C layouts")
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <string.h>", DEFINITIONS, "int main(void) {"]
    for name in {*MEMBERS, *BITFIELDS}:
        lines.append(f'printf("size {name} %zu\\n", sizeof({name}));')
        lines.append(f'printf("align {name} %zu\\n", _Alignof({name}));')
    for name, paths in MEMBERS.items():
        for path in paths:
            lines.append(f'printf("offset {name} {path} %zu\\n", offsetof({name}, {path}));')
    for name, fields in BITFIELDS.items():
        for f in fields:
            # set the field to all ones in a zeroed struct and find its lowest set bit
            lines.append(f"{{ {name} s; memset(&s, 0, sizeof s); s.{f} = -1; unsigned char *b = (unsigned char *)&s;"
                         f" for (size_t i = 0; i < sizeof s * 8; i++) if (b[i / 8] >> (i % 8) & 1) "
                         f"{{ printf(\"bit {name} {f} %zu\\n\", i); break; }} }}")
    lines.append("return 0; }")
    src = tmp_path_factory.mktemp("layout") / "layout.c"
    src.write_text("\n".join(lines))
    exe = src.with_suffix("")
    subprocess.run(["gcc", "-o", str(exe), str(src)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return {line.rsplit(" ", 1)[0]: int(line.rsplit(" ", 1)[1]) for line in out.splitlines()}


def test_sizes_and_alignments_are_gccs(gcc_layout):
    scope = _scope()
    for name in {*MEMBERS, *BITFIELDS}:
        rec = _record(scope, name)
        assert rec.size == gcc_layout[f"size {name}"], name
        assert rec.align == gcc_layout[f"align {name}"], name


def test_member_offsets_are_gccs(gcc_layout):
    scope = _scope()
    for name, paths in MEMBERS.items():
        rec = _record(scope, name)
        for path in paths:
            assert _member(rec, path)[0] == gcc_layout[f"offset {name} {path}"], (name, path)


def test_bitfields_sit_where_gcc_puts_them(gcc_layout):
    scope = _scope()
    for name, fields in BITFIELDS.items():
        rec = _record(scope, name)
        for f in fields:
            m = rec.member(f)
            assert m.is_bitfield
            assert m.offset * 8 + m.bit_offset == gcc_layout[f"bit {name} {f}"], (name, f)
            assert m.bit_offset + m.bit_size <= m.type.bits   # inside its storage unit


def test_member_types():
    scope = _scope()
    foo = _record(scope, "struct Foo")
    assert foo.member("b").type == Str(10)                       # char arrays are strings
    assert foo.member("arr").type == Array(Int(64, True), 3)
    assert foo.member("m").type == Array(Array(Int(16, True), 3), 2)
    assert foo.member("c").type == Int(32, False) and foo.member("c").bit_size == 4
    node = _record(scope, "struct Node")
    assert isinstance(node.member("next").type, Ptr) and node.member("next").type.pointee.struct is node.struct
    assert str(node.member("pp").type) == "struct Node **"
    assert str(node.member("cb").type) == "void *"
    uses = _record(scope, "struct UsesTypedef")
    assert uses.member("flag").type == Int(8, False) and uses.member("sc").type == Int(8, True)
    assert scope.constant("BLUE") == 6


@pytest.mark.parametrize("words, bits, signed", [
    ("char", 8, True), ("unsigned char", 8, False), ("short int", 16, True), ("unsigned short", 16, False),
    ("int", 32, True), ("unsigned", 32, False), ("signed", 32, True), ("long", 64, True),
    ("unsigned long int", 64, False), ("long long", 64, True), ("unsigned long long", 64, False),
    ("_Bool", 8, False),
])
def test_c_integer_words(words, bits, signed):
    t = c_words_type(words)
    assert (t.bits, t.signed) == (bits, signed)


@pytest.mark.parametrize("words", ["long char", "unsigned void", "short long", "signed unsigned int"])
def test_nonsense_words_are_not_types(words):
    assert c_words_type(words) is None
