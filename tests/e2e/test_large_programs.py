"""Programs too large for one BPF function: long bodies run as chains of subprograms
(compiler/codegen/chunks.py); what cannot be built is a located diagnostic naming the limit
(compiler/size_limits.py), never an abort. No assertion here is on time
(tests/bench/compile_size.py measures it)."""

from __future__ import annotations

import shutil

import pytest

from .conftest import run_kt

pytestmark = [pytest.mark.kernel]


def test_ten_joins_in_one_probe(tmp_path):
    """Ten join()s aborted LLVM ("Branch target out of insn range", SIGABRT)."""
    script = tmp_path / "joins.kt"
    script.write_text("tracepoint:syscalls:sys_enter_execve /pid == cpid/ { "
                      + "join(args->argv); " * 10 + "}\n")
    r = run_kt(str(script), "-c", "/bin/echo large programs run", timeout=120)
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert lines.count("/bin/echo large programs run") == 10, r.out
    assert "large programs run" in lines          # the child's own output


def test_3000_printfs_in_begin(tmp_path):
    script = tmp_path / "printfs.kt"
    script.write_text("BEGIN {\n" + "".join(f'printf("%d\\n", {i});\n' for i in range(3000)) + "exit();\n}\n")
    r = run_kt(str(script), timeout=180)
    assert r.rc == 0, r.err
    assert r.out.split() == [str(i) for i in range(3000)]


def test_10000_statements_compile_to_an_object_that_runs(tmp_path):
    """The issue's script, one statement a line (the column limit is another fix's)."""
    script = tmp_path / "big.kt"
    script.write_text("BEGIN {\n$a = 1;\n" + "".join(f"@m{i % 50} = $a + {i};\n" for i in range(10000))
                      + "exit();\n}\n")
    obj = tmp_path / "big.o"
    r = run_kt("--emit-elf", str(obj), str(script), timeout=300)
    assert r.rc == 0, r.err
    assert obj.stat().st_size > 0
    r = run_kt(str(obj), timeout=120)
    assert r.rc == 0, r.err
    values = dict(line.split(": ") for line in r.out.splitlines() if line.startswith("@"))
    assert values == {f"@m{k}": str(1 + 9950 + k) for k in range(50)}


def test_break_continue_return_and_exit_cross_subprograms(tmp_path):
    """Jumps inside a chunk reach the loop or probe of its caller: a chunk's return code."""
    body = "@s = @s + 1;\n" * 250
    tail = "$x = $x + 1;\n" * 300
    script = tmp_path / "jumps.kt"
    script.write_text(f"""BEGIN {{
$i = 0; $n = 0; $x = 0;
while ($i < 5) {{
$i++;
if ($i == 2) {{ continue; }}
{body}if ($i == 4) {{ break; }}
$n++;
}}
printf("i=%d n=%d\\n", $i, $n);
{tail}printf("x=%d\\n", $x);
exit();
printf("not printed\\n");
{tail}}}
END {{ {body}if (@s > 0) {{ printf("end s=%d\\n", @s); return; }} printf("not printed\\n"); }}
""")
    r = run_kt(str(script), timeout=180)
    assert r.rc == 0, r.err
    assert r.out.splitlines()[:3] == ["i=4 n=2", "x=300", "end s=1000"], r.out
    assert "not printed" not in r.out
    assert "@s: 1000" in r.out


def test_unrolled_loops_of_2000_statements(tmp_path):
    script = tmp_path / "unroll.kt"
    script.write_text('BEGIN {\n$i = 0;\nunroll(100) { unroll(20) { printf("%d\\n", $i); $i++; } }\nexit();\n}\n')
    r = run_kt(str(script), timeout=180)
    assert r.rc == 0, r.err
    assert r.out.split() == [str(i) for i in range(2000)]
    if shutil.which("bpftrace"):   # 0.17 prints the same (its own line aside)
        import subprocess
        b = subprocess.run(["bpftrace", str(script)], capture_output=True, text=True, timeout=180)
        assert [x for x in b.stdout.split("\n") if x and not x.startswith("Attaching")] == r.out.split()


def test_beyond_the_kernel_instruction_limit_is_a_diagnostic(tmp_path):
    script = tmp_path / "huge.kt"
    script.write_text('BEGIN { unroll(100) { unroll(100) { unroll(100) { printf("%d\\n", 1); } } } exit(); }\n')
    r = run_kt(str(script), timeout=60)
    assert r.rc == 1
    assert r.err == (
        f"{script}:1:1: error: BEGIN would compile to about 30,060,618 BPF instructions; the kernel loads at "
        "most 1,000,000 in one program (BPF_COMPLEXITY_LIMIT_INSNS)\n"
        'BEGIN { unroll(100) { unroll(100) { unroll(100) { printf("%d\\n", 1); } } } exit(); }\n'
        "^" + "~" * 83 + "\n"
        "hint: move part of the work to other probes, or use smaller unroll counts\n")
