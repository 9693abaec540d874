/* The workload of tests/e2e/test_builtins_differential.py: fixed data handed to noinline
 * functions, for uprobes that read stack arguments, registers, strings, byte buffers and
 * addresses. Built with `gcc -g -O0` (a PIE) and `-no-pie` (uaddr() as 0.17 resolves it).
 * main() pins itself to the CPU it starts on, so events reach the tracer in call order; it
 * prints nothing.
 *
 * The data (what the tests' expected outputs are derived from):
 *   many(1, 2, 3, 4, 5, 6, 7, -8): the 7th and 8th arguments are on the stack (sarg0 = 7,
 *     sarg1 = -8 as a u64: 18446744073709551608)
 *   use_strs("hello world", "hello there", 5), then use_strs("abc", "abd", 2)
 *   use_buf({0x01, 0x02, 'a', 'b', 0x00, 0xff}, 6), then use_buf("abab", 4) twice
 *   use_addr(&addr): v6 = fe80::1:2, v4 = 192.168.1.20, ip = 10.0.0.1 (network order)
 *   globals: g_int = 42, g_u64 = 0x1122334455667788, g_short = -3, g_name = "target"
 */
#define _GNU_SOURCE
#include "workload.h"
#include <sched.h>
#include <stdint.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

struct Addr {
    uint8_t v6[16];
    uint8_t v4[4];
    uint32_t ip;
};

int32_t g_int = 42;
uint64_t g_u64 = 0x1122334455667788ULL;
int16_t g_short = -3;
char g_name[] = "target";

static const uint8_t bytes[6] = {0x01, 0x02, 'a', 'b', 0x00, 0xff};

struct Addr addr = {
    {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2},
    {192, 168, 1, 20},
    0x0100000a,   /* 10.0.0.1 as it lies in memory (network order), on little-endian x86-64 */
};

NOINLINE long many(long a, long b, long c, long d, long e, long f, long g, long h)
{
    return a + b + c + d + e + f + g + h;
}

NOINLINE int use_strs(const char *a, const char *b, int n) { return a[0] + b[0] + n; }
NOINLINE int use_buf(const uint8_t *p, int n) { return p[0] + n; }
NOINLINE int use_addr(struct Addr *a) { return a->v4[0]; }

int main(void)
{
    long s = 0;
    pin_to_this_cpu();
    /* BPF cannot fault pages in: touch what the probes read. */
    touch(&g_int, sizeof(g_int));
    touch(&g_u64, sizeof(g_u64));
    touch(&g_short, sizeof(g_short));
    touch(g_name, sizeof(g_name));
    touch(bytes, sizeof(bytes));
    touch(&addr, sizeof(addr));
    s += many(1, 2, 3, 4, 5, 6, 7, -8);
    s += use_strs("hello world", "hello there", 5);
    s += use_strs("abc", "abd", 2);
    s += use_buf(bytes, 6);
    s += use_buf((const uint8_t *)"abab", 4);
    s += use_buf((const uint8_t *)"abab", 4);
    s += use_addr(&addr);
    return (int)(s & 1);
}
