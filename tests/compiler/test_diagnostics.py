"""What a user sees when a script is wrong: file:line:col, the line, a caret, a hint."""


def test_syntax_error_points_at_the_token(errors):
    out = errors('BEGIN {\n  printf("x" }\n')
    assert out.splitlines() == [
        "t.kt:2:14: error: syntax error: unexpected '}'",
        '  printf("x" }',
        "             ^",
        "hint: a ',' or a ')' is missing before it",
    ]


def test_unknown_builtin_suggests(errors):
    out = errors("BEGIN { $x = pidd; }")
    assert out.splitlines()[0] == "t.kt:1:14: error: unknown builtin 'pidd'"
    assert out.splitlines()[2] == "             ^~~~"
    assert "did you mean 'pid'?" in out


def test_unknown_function_suggests(errors):
    out = errors("BEGIN { prinft(\"x\"); }")
    assert "t.kt:1:9: error: unknown function 'prinft'" in out
    assert "did you mean 'printf'?" in out


def test_unknown_tracepoint_suggests_nearest(errors):
    out = errors("tracepoint:syscalls:sys_enter_opnat { }")
    assert "t.kt:1:1: error: unknown tracepoint 'syscalls:sys_enter_opnat'" in out
    assert "did you mean 'tracepoint:syscalls:sys_enter_openat'?" in out


def test_unknown_field_suggests_nearest(errors):
    out = errors("tracepoint:syscalls:sys_enter_openat { $x = args->filenme; }")
    assert "error: tracepoint syscalls:sys_enter_openat has no field 'filenme'" in out
    assert "did you mean 'filename'?" in out


def test_unknown_probe_type(errors):
    out = errors("tracepont:a:b { }")
    assert "unknown probe type 'tracepont'" in out and "did you mean 'tracepoint'?" in out


def test_printf_argument_count_and_types(errors):
    assert "printf() format has 2 conversions but 1 argument was given" in errors('BEGIN { printf("%d %d", 1); }')
    out = errors('BEGIN { printf("%s\\n", 1); }')
    assert "%s needs a string, this is int64" in out and "use str()" in out


def test_aggregation_only_into_maps(errors):
    assert "count() can only be assigned to a map" in errors("BEGIN { $x = count(); }")
    assert "count() can only be assigned to a map" in errors("BEGIN { count(); }")


def test_map_type_conflict(errors):
    out = errors("BEGIN { @x = count(); } END { @x = 1; }")
    assert "map '@x' holds count() elsewhere; cannot assign int64" in out


def test_map_key_conflict(errors):
    out = errors('BEGIN { @x[1] = 1; } END { @x["a"] = 1; }')
    assert "map '@x' is keyed by [int64] elsewhere; here by [string[2]]" in out


def test_string_arithmetic_is_rejected(errors):
    out = errors("BEGIN { $x = comm + 1; }")
    assert "'+' needs integers, this is string[16]" in out


def test_args_outside_tracepoint(errors):
    assert "'args' is not available in BEGIN" in errors("BEGIN { $x = args->id; }")


def test_variable_before_assignment(errors):
    assert "variable '$y' is used before it is assigned" in errors("BEGIN { $x = $y; $y = 1; }")
    assert "variable '$y' is never assigned in this probe" in errors("BEGIN { $x = $y; }")


def test_several_errors_reported_together(errors):
    out = errors("BEGIN { $a = nope; $b = alsonope; }")
    assert "unknown builtin 'nope'" in out and "unknown builtin 'alsonope'" in out


def test_no_probes(errors):
    assert "no probes in the script" in errors("// nothing\n")


def test_too_much_stack_is_a_diagnostic_not_an_llvm_abort(errors):
    strs = " ".join(f"${v} = str(args->filename);" for v in "abcdefghi")
    out = errors(f"tracepoint:syscalls:sys_enter_openat {{ {strs} @x[$a, $b] = 1; }}")
    # nine 64-byte variables, each str() read straight into its slot, and a 128-byte key
    assert "needs about 704 bytes of BPF stack; the kernel allows 512" in out


def test_delete_needs_an_element_of_an_assigned_map(errors):
    assert "map '@x' is used but never assigned" in errors("BEGIN { delete(@x[1]); }")
    assert "map '@x' is keyed by [int64]; here by nothing" in errors("BEGIN { @x[1] = 1; delete(@x); }")


def test_builtin_called_like_a_function(errors):
    out = errors("BEGIN { @[pid(5)] = count(); }")
    assert "'pid' takes no arguments" in out and "write it as pid" in out


def test_stack_modes_and_depths(errors, analyse):
    from kt.compiler.types import Sym
    _, sema, _ = analyse("BEGIN { @a[kstack(perf, 5)] = count(); @b[ustack(3)] = count(); @c[kstack(raw)] = count(); }")
    assert sema.maps["@a"].key == Sym("kstack", "perf", 5)
    assert sema.maps["@b"].key == Sym("ustack", "bpftrace", 3)
    assert sema.maps["@c"].key == Sym("kstack", "raw", 127)
    assert "unknown stack mode 'perff'" in errors("BEGIN { @[kstack(perff)] = count(); }")
    assert "depth must be an integer literal from 1 to 127" in errors("BEGIN { @[kstack(200)] = count(); }")


def test_loop_mistakes(errors):
    assert "'break' outside of a loop" in errors("BEGIN { break; }")
    assert "unroll count must be from 1 to 100, not 101" in errors("BEGIN { unroll(101) { } }")


# ---- newer bpftrace syntax and type mistakes: located, named, never a bare token ------------

import pytest  # noqa: E402


@pytest.mark.parametrize("script, message", [
    ("BEGIN { $r = 0..5; }", "a range 'a..b' is only the bounds of a for loop: for ($i : a..b)"),
    ("config = { max_strlenn = 128 } BEGIN { }", "unknown config key 'max_strlenn'"),
    ("config = { missing_probes = warn } BEGIN { }", "config 'missing_probes' is not supported by kt"),
    ("let @m = hsah(3); BEGIN { @m[1] = 1; }", "unknown map type 'hsah'"),
    ("struct Foo { int a; } __attribute__((packed)); BEGIN { }", "GCC attributes in C definitions are not supported"),
    ('BEGIN { if (1) printf("x"); }', "an if needs braces"),
    ("#if 1\nBEGIN { }\n#endif", "this preprocessor directive is not supported"),
    ("BEGIN { $x = (foo_t)1; }", "'foo_t' is not a type kt knows, so this is not a cast"),
    ("BEGIN { $a = 08; }", "invalid octal literal '08'"),
])
def test_unsupported_syntax_is_named(errors, script, message):
    out = errors(script)
    assert f"error: {message}" in out.splitlines()[0]


@pytest.mark.parametrize("script, message", [
    ("struct Foo { int a[4]; } BEGIN { $x = (struct Foo *)0; @ = $x->a[4]; }",
     "1:66: error: index 4 is out of bounds for int32[4] (0 to 3)"),
    ("struct Foo { int a; } BEGIN { $x = (struct Foo *)0; @ = $x->b; }",
     "1:61: error: struct Foo has no member 'b'"),
    ("BEGIN { $x = (struct Nope *)0; }",
     "1:15: error: unknown struct 'Nope': not defined in the script nor in the kernel's BTF"),
    ("BEGIN { $p = (int32 *)0; $q = $p - $p; }", "1:31: error: '-' takes a pointer and an integer"),
    ("BEGIN { @x = 1; $y = &@x; }", "1:22: error: '&' takes the address of a scratch variable, or of a struct member or array element"),
    ("BEGIN { $v = (void *)0; $w = *$v; }", "1:30: error: cannot dereference a void *"),
    ("struct Foo { int a; } BEGIN { $f = (struct Foo)0; }", "1:37: error: cannot cast to struct Foo"),
    ("BEGIN { $t = (1, 2); $u = $t.2; }", "1:30: error: index 2 is out of bounds for a tuple of 2 elements"),
    ("struct Foo { int a:3; } BEGIN { $f = (struct Foo *)0; $p = &$f->a; }",
     "error: struct Foo.a is a bitfield: it has no address"),
    ("struct Foo { int a; } BEGIN { @x = offsetof(struct Foo, z); }", "error: struct Foo has no member 'z'"),
    ("struct Foo { struct Bar b; } BEGIN { }", "struct Bar is only declared, not defined"),
    ("BEGIN { print(1, 2); }", "print(value) takes one value"),
])
def test_type_mistakes_are_located(errors, script, message):
    assert message in errors(script)


def _osa_table(a: str, b: str) -> int:
    """Optimal string alignment distance, cell by cell (the reference)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def test_bit_parallel_edit_distance_is_the_table():
    import random

    from kt.compiler.diagnostics import _edit_distance

    rng = random.Random(8)
    for _ in range(3000):
        a = "".join(rng.choice("ab_c") for _ in range(rng.randrange(0, 14)))
        b = "".join(rng.choice("ab_c") for _ in range(rng.randrange(0, 14)))
        assert _edit_distance(a, b) == _osa_table(a, b), (a, b)
    long_name = "ossl_ecdsa_sign_" * 6           # longer than 64 characters
    assert _edit_distance(long_name, long_name[1:]) == 1
    assert _edit_distance("rsa_ossl_public_encrypt", "RSA_public_encrypt") == _osa_table(
        "rsa_ossl_public_encrypt", "RSA_public_encrypt")


def test_letters_bound_never_exceeds_the_distance():
    import random

    from kt.compiler.diagnostics import _edit_distance, _letters_bound

    rng = random.Random(9)
    for _ in range(3000):
        a = "".join(rng.choice("abc_") for _ in range(rng.randrange(0, 12)))
        b = "".join(rng.choice("abcd") for _ in range(rng.randrange(0, 12)))
        assert _letters_bound(a, b) <= _edit_distance(a, b), (a, b)
