"""A small C program for uprobe and symbol tests, built with gcc into a temporary directory.

Each line "go" on stdin makes it call hidden() -> middle() -> leaf() N times and print the sum;
any other line or EOF ends it. So a test attaches before the calls and symbolizes the stacks
while the process (and its mappings) still exists. Frame pointers are kept so the kernel can walk user stacks.
`hidden` is static: it is only in .symtab, not .dynsym.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int leaf(int x) { asm volatile("" ::: "memory"); return x * 2; }
__attribute__((noinline)) int middle(int x) { int r = leaf(x) + 1; asm volatile("" ::: "memory"); return r; }
__attribute__((noinline)) static int hidden(int x) { int r = middle(x) + 1; asm volatile("" ::: "memory"); return r; }
int other_function(void) { return 7; }

int main(int argc, char **argv) {
    char line[64];
    int n = argc > 1 ? atoi(argv[1]) : 5, s = 0;
    if (argc > 2) {                 /* run without waiting */
        for (int i = 0; i < n; i++) s += hidden(i);
        printf("%d\n", s);
        return 0;
    }
    while (fgets(line, sizeof line, stdin) && line[0] == 'g') {   /* "go": one round */
        s = 0;
        for (int i = 0; i < n; i++) s += hidden(i);
        printf("%d\n", s);
        fflush(stdout);
    }
    return 0;
}
"""


@dataclass(frozen=True)
class Programs:
    pie: Path        # -fPIE -pie (ET_DYN)
    nopie: Path      # -no-pie (ET_EXEC, fixed addresses)
    stripped: Path   # PIE without .symtab


def build(directory: Path) -> Programs:
    """Compile the program three ways into `directory`."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise RuntimeError("gcc is not installed")
    src = directory / "target.c"
    src.write_text(SOURCE)
    out = Programs(directory / "target_pie", directory / "target_nopie", directory / "target_stripped")
    common = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-inline"]
    subprocess.run([gcc, *common, "-fPIE", "-pie", "-o", str(out.pie), str(src)], check=True)
    subprocess.run([gcc, *common, "-fno-pie", "-no-pie", "-o", str(out.nopie), str(src)], check=True)
    subprocess.run([gcc, *common, "-fPIE", "-pie", "-s", "-o", str(out.stripped), str(src)],
                   check=True)
    return out


def expected_sum(n: int) -> int:
    return sum(2 * i + 2 for i in range(n))


class Running:
    """The program started and held at its first read; `go()` runs one round of calls."""

    def __init__(self, path: Path, n: int) -> None:
        self.n = n
        self.proc = subprocess.Popen([str(path), str(n)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.pid = self.proc.pid

    def go(self) -> int:
        """Run one round of calls; returns the printed sum (the program then waits again)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def finish(self) -> int:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("bye\n")   # type: ignore[union-attr]
                self.proc.stdin.close()          # type: ignore[union-attr]
            except BrokenPipeError:
                pass
        return self.proc.wait(timeout=10)

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
