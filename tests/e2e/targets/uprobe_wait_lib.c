/* The shared library of tests/e2e/targets/uprobe_wait.c: a function and a USDT probe. */
#include <stdlib.h>
#include <sys/sdt.h>

__attribute__((noinline)) int lib_func(int x)
{
    STAP_PROBE1(ktlib, libprobe, x);
    free(malloc(100 + x));
    return x + 1;
}
