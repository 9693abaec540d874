from kt.compiler.types import Agg, Int, Str, Tuple


def test_map_types_are_inferred(analyse):
    _, sema, _ = analyse("tracepoint:raw_syscalls:sys_enter { @[comm] = count(); @s[pid, comm] = sum(1); "
                         "@lo = min(args->id); @a = avg(args->id); @v = comm; @i = 5; }")
    m = sema.maps
    assert m["@"].key == Str(16) and m["@"].value == Agg("count", Int(64, False))
    assert m["@s"].key == Tuple((Int(64, False), Str(16)))
    assert m["@lo"].key is None and m["@lo"].value == Agg("min", Int(64, True))
    assert m["@a"].value == Agg("avg", Int(64, True))
    assert m["@v"].value == Str(16)
    assert m["@i"].value == Int(64, True)


def test_map_read_before_assignment_in_a_later_probe(analyse):
    _, sema, _ = analyse("BEGIN { $x = @later; } END { @later = 1; }")
    assert sema.maps["@later"].value == Int(64, True)


def test_tracepoint_field_types(analyse):
    _, sema, _ = analyse("tracepoint:syscalls:sys_enter_openat { @d = args->dfd; @f = args->filename; }"
                         "tracepoint:sched:sched_switch { @c = args->prev_comm; }"
                         "tracepoint:sched:sched_process_exec { @e = args->filename; }")
    assert sema.maps["@d"].value == Int(64, True)     # 'int dfd' is signed although widened
    assert sema.maps["@f"].value == Int(64, False)    # a pointer: str() reads it
    assert sema.maps["@c"].value == Str(16)           # char prev_comm[16]
    assert sema.maps["@e"].value == Str(64)           # __data_loc char[]


def test_string_keys_unify_to_the_longest(analyse):
    _, sema, _ = analyse('BEGIN { @x["ab"] = 1; @x[comm] = 2; }')
    assert sema.maps["@x"].key == Str(16)


def test_positional_parameters(analyse):
    _, sema, _ = analyse("BEGIN { @n = $1; @s = str($2); @c = $#; }", positional=("42", "hello"))
    assert sema.maps["@n"].value == Int(64, True)
    assert sema.maps["@s"].value == Str(64)   # the slot: BPFTRACE_STRLEN bytes, as 0.17's str($2)
    assert [(s.index, s.kind, s.size, s.symbol) for s in sema.positionals.slots] == [
        (0, "count", 8, "kt_argc"), (1, "int", 8, "kt_arg1"), (2, "str", 64, "kt_arg2_str")]
    assert sema.positionals.baked == ()


def test_positional_parameters_baked(analyse):
    """Values the object's code needs as constants are compiled in and recorded; kt takes a $N
    given as text as a string literal, also baked."""
    _, sema, _ = analyse("BEGIN { @h = lhist(1, $1, $2, 1); @s = $3; @k[kstack($#)] = count(); }",
                         positional=("0", "10", "word"))
    assert sema.maps["@s"].value == Str(5)
    assert sema.positionals.baked == ((0, "3"), (1, "0"), (2, "10"), (3, "word"))


def test_wildcard_tracepoints_expand(analyse):
    _, sema, _ = analyse("tracepoint:sched:sched_* { @[comm] = count(); }")
    names = [r.name for r in sema.probes[0][1]]
    assert names == ["tracepoint:sched:sched_process_exec", "tracepoint:sched:sched_switch"]


def test_a_map_read_in_its_own_assignment(analyse):
    _, sema, _ = analyse("BEGIN { @n = @n + 1; @s = @t; @t = comm; }")
    assert sema.maps["@n"].value == Int(64, True)
    assert sema.maps["@s"].value == Str(16)


def test_histograms_and_stats(analyse, errors):
    from kt.compiler.types import Agg
    _, sema, _ = analyse("BEGIN { @h[comm] = hist(5); @l = lhist(15, 0, 100, 10); @s = stats(3); }")
    assert sema.maps["@h"].value == Agg("hist", Int(64, True))
    assert sema.maps["@l"].value == Agg("lhist", Int(64, True), params=(0, 100, 10))
    assert sema.maps["@s"].value == Agg("stats", Int(64, True))
    assert "lhist()'s step must be an integer literal" in errors("BEGIN { @l = lhist(1, 0, 10, pid); }")
    assert "needs 0 <= min < max and step > 0" in errors("BEGIN { @l = lhist(1, 10, 0, 1); }")
    assert "holds lhist(0, 100, 10) elsewhere" in errors(
        "BEGIN { @l = lhist(1, 0, 100, 10); } END { @l = lhist(1, 0, 50, 10); }")
