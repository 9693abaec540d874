/* Fixed data for kt's output-format differential tests (tests/e2e/test_formats_differential.py).
 *
 * main() pins itself to the CPU it starts on (events reach either tracer in call order), then
 * calls each noinline function with known data. It prints nothing. The stack functions call
 * each other so that ustack shows a known chain: main -> outer -> middle -> leaf. The arrays
 * are on the stack, so their pages are present when a probe reads them (a .rodata page the
 * process has not touched yet reads as an error, and macaddr() as zeros).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

struct Dev { int32_t id; unsigned char mac[6]; };

NOINLINE int use_mac(const unsigned char *mac) { return mac[0]; }
NOINLINE int use_dev(struct Dev *d) { return d->id; }
NOINLINE int use_errno(int e) { return e; }
NOINLINE long use_nsecs(uint64_t ns) { return (long)ns; }

NOINLINE int leaf(int x) { return x + 1; }
NOINLINE int middle(int x) { return leaf(x) * 2; }
NOINLINE int outer(int x) { return middle(x) + 3; }
NOINLINE void done(void) {}

/* With an argument, main() waits that many seconds after done(): a script that exits on
 * done() prints user stacks while the process (and so its mappings) is still there. */
int main(int argc, char **argv) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu(), &set);
    sched_setaffinity(0, sizeof set, &set);

    unsigned char low[6] = {0x00, 0x1b, 0x21, 0x3a, 0x4b, 0x5c};
    unsigned char high[6] = {0xab, 0xcd, 0xef, 0xff, 0x80, 0x7f};
    use_mac(low);
    use_mac(high);
    struct Dev d = {7, {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02}};
    use_dev(&d);

    static const int errnos[] = {0, 1, 2, 13, 22, 110, 133, 134, 9999, -1};
    for (unsigned i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        use_errno(errnos[i]);

    use_nsecs(0);
    use_nsecs(1500000);
    use_nsecs(999999999);
    use_nsecs(86400ULL * 1000000000ULL + 123456789);

    for (int i = 0; i < 3; i++)
        outer(i);
    getppid();              /* kstack cases: tracepoint:syscalls:sys_enter_getppid */
    done();
    if (argc > 1)
        sleep(atoi(argv[1]));
    return 0;
}
