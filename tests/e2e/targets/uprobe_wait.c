/* The workload of tests/e2e/test_uprobe_paths.py: a process the tests trace with -p. It calls
 * w_work(0) (which calls the library's lib_func), prints "ready", then for each line of stdin:
 * "t" creates three threads running worker_one and one running worker_two (each joined before
 * the next), a number N calls w_work(N); it exits at the end of its input. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

int lib_func(int x);

__attribute__((noinline)) int w_work(int i)
{
    STAP_PROBE1(ktw, tick, i);
    return lib_func(i);
}

static void *worker_one(void *a) { return a; }
static void *worker_two(void *a) { return a; }

int main(void)
{
    char line[64];
    w_work(0);
    printf("ready\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] == 't') {
            pthread_t t;
            for (int i = 0; i < 3; i++) {
                pthread_create(&t, 0, worker_one, 0);
                pthread_join(t, 0);
            }
            pthread_create(&t, 0, worker_two, 0);
            pthread_join(t, 0);
        } else {
            w_work(atoi(line));
        }
    }
    return 0;
}
