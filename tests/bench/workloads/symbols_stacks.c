/* The symbolization benchmark's workload: N calls of leaf() through a chain of nested
 * functions whose depth varies (1 to 8 frames between main and leaf), so a ustack has a few
 * distinct shapes; leaf() calls libc (getppid), where a tracepoint takes a kstack.
 * Built with -O0 -fno-omit-frame-pointer: the kernel walks user stacks by frame pointers.
 *
 * It waits for a byte on stdin before the loop (the tracer has attached), calls done() after
 * it (the script's exit() probe) and then waits to be killed, so it is alive, its mappings
 * readable, while the tracer prints the stacks it collected. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) long leaf(long i) { sink += getppid(); return sink + i; }
__attribute__((noinline)) long level(long i, int depth) {
    if (depth <= 0)
        return leaf(i);
    return level(i, depth - 1) + 1;
}
__attribute__((noinline)) long outer(long i) { return level(i, (int)(i % 8)); }
__attribute__((noinline)) void done(void) { sink++; }

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    char go;
    if (read(0, &go, 1) != 1)
        return 1;
    for (long i = 0; i < n; i++)
        outer(i);
    done();
    for (;;)
        pause();
}
