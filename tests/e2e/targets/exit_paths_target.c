/* The workload of tests/e2e/test_exit_paths.py: N calls of tick() and getppid(), then it
 * writes its pid to READY (N calls made: tests/e2e/fifos.py), then it waits until the test
 * opens GO; then, by MODE: "finish" calls finish() (the script's exit()),
 * "return" exits (the -c child's exit ends the trace), "pause" waits for kt to kill it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) void tick(int i) { __asm__ volatile("" : : "r"(i) : "memory"); }
__attribute__((noinline)) void finish(void) { __asm__ volatile("" : : : "memory"); }

int main(int argc, char **argv) {
    if (argc != 5)
        return 2;
    int n = atoi(argv[3]);
    for (int i = 0; i < n; i++) {
        tick(i);
        getppid();
    }
    FILE *ready = fopen(argv[1], "w");
    if (!ready || fprintf(ready, "%d\n", (int)getpid()) < 0 || fclose(ready))
        return 3;
    char c;
    int go = open(argv[2], O_RDONLY);
    if (go >= 0) {
        read(go, &c, 1);
        close(go);
    }
    if (!strcmp(argv[4], "finish"))
        finish();
    if (!strcmp(argv[4], "return"))
        return 0;
    for (;;)
        pause();
}
