/* What the C workloads of the differential tests share (included by builtins_target.c and
 * types_target.c). */
#ifndef KT_TEST_WORKLOAD_H
#define KT_TEST_WORKLOAD_H
#define _GNU_SOURCE
#include <sched.h>
#include <stddef.h>

/* BPF cannot fault pages in: read what the probes will read, so its pages are mapped. */
static void touch(const volatile void *p, size_t n)
{
    const volatile unsigned char *b = p;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += b[i];
    (void)sum;
}

/* Stay on the CPU main() starts on, so events reach the tracer in call order. */
static void pin_to_this_cpu(void)
{
    cpu_set_t set;
    int cpu = sched_getcpu();
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}
#endif
