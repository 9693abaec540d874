/* The in-kernel cost benchmark's workload (tests/bench/kernel_cost.py): N getppid() system
 * calls in a tight loop, each one event of sys_enter_getppid/sys_exit_getppid.
 *
 *     kernel_getppid N [EVERY PAUSE_US]
 *
 * With EVERY, it sleeps PAUSE_US microseconds after every EVERY calls, so a tracer that prints
 * per event keeps up and the kernel side measured is the successful output path. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long every = argc > 2 ? atol(argv[2]) : 0;
    long pause = argc > 3 ? atol(argv[3]) : 0;
    for (long i = 1; i <= n; i++) {
        syscall(SYS_getppid);   /* not glibc's getppid(): it must reach the kernel every time */
        if (every && i % every == 0)
            usleep(pause);
    }
    return 0;
}
