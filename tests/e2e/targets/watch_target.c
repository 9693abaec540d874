/* Workload of tests/e2e/test_watchpoints.py: writes and reads globals a known number of times.
 *   watch_target loop N     writes `counter` (in .data) N times, reads it N times
 *   watch_target bss N      writes `zeroed` (in .bss) N times
 *   watch_target call N     calls tick() N times (an execute watchpoint on tick)
 *   watch_target arm K N    for i < K: arm(&slots[i]), then writes slots[i] N times
 *   watch_target stdin      like `loop`, N read from stdin once it arrives (for -p)
 *   watch_target pstdin     like `arm`, K and N read from stdin (for -p)
 *   watch_target forever    arm(&slots[0]), then writes slots[0] every millisecond until killed
 *   watch_target Slow N     arm(&slots[0]), then writes slots[0] N times, 100 ms apart (unwatch)
 * Built with -O0 -no-pie: the addresses nm prints are the run-time addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

volatile long counter = 1;
volatile long zeroed;
volatile long sink;
volatile long slots[8] = {1, 1, 1, 1, 1, 1, 1, 1};

__attribute__((noinline)) void tick(void) { asm volatile("" ::: "memory"); }
__attribute__((noinline)) void arm(volatile long *p) { asm volatile("" ::: "memory"); }

static void loop(long n) {
  for (long i = 0; i < n; i++) counter = i;      /* one write */
  for (long i = 0; i < n; i++) sink = counter;   /* one read */
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  long n = argc > 2 ? atol(argv[2]) : 0;
  switch (argv[1][0]) {
  case 'l': loop(n); break;
  case 'b': for (long i = 0; i < n; i++) zeroed = i; break;
  case 'c': for (long i = 0; i < n; i++) tick(); break;
  case 'a': {
    long each = argc > 3 ? atol(argv[3]) : 0;
    for (long i = 0; i < n && i < 8; i++) {
      arm(&slots[i]);
      for (long j = 0; j < each; j++) slots[i] = j;
    }
    break;
  }
  case 's': if (scanf("%ld", &n) == 1) loop(n); break;
  case 'p': {
    long k, each;
    if (scanf("%ld %ld", &k, &each) != 2) return 3;
    for (long i = 0; i < k && i < 8; i++) {
      arm(&slots[i]);
      for (long j = 0; j < each; j++) slots[i] = j;
    }
    break;
  }
  case 'S':   /* slow: the tracer has 100 ms to act on each write (unwatch) */
    arm(&slots[0]);
    for (long j = 0; j < n; j++) { slots[0] = j; usleep(100000); }
    break;
  case 'f':   /* forever: arm(&slots[0]), then write it until killed */
    arm(&slots[0]);
    for (long j = 0;; j++) { slots[0] = j; usleep(1000); }
  default: return 2;
  }
  return 0;
}
