/* Fixed data for kt's type-system differential tests (tests/e2e/test_types_differential.py).
 *
 * main() pins itself to the CPU it starts on, so that the events of its calls reach the tracer
 * in call order (0.17 reads one perf buffer per CPU), then calls each noinline function with
 * known data a known number of times. It prints nothing and never uses time, pids or
 * addresses: every value a script can read here is written below. The test scripts declare the
 * same structs (x86-64 layout, as gcc -O0 lays them out).
 */
#define _GNU_SOURCE
#include "workload.h"
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

struct Point { int16_t x; int16_t y; };

struct Rec {                /* sizeof 104 */
    char name[8];           /* 0 */
    int32_t arr[4];         /* 8 */
    int32_t grid[2][3];     /* 24 */
    uint8_t u8;             /* 48 */
    int8_t i8;              /* 49 */
    uint16_t u16;           /* 50 */
    int16_t i16;            /* 52 */
    uint32_t u32;           /* 56 */
    int32_t i32;            /* 60 */
    uint64_t u64;           /* 64 */
    int64_t i64;            /* 72 */
    struct Point pt;        /* 80 */
    struct Point pts[3];    /* 84 */
    unsigned char raw[3];   /* 96 */
    char tag[4];            /* 99 */
};

struct Bits {               /* sizeof 8 */
    unsigned int a:4, b:8;  /* bits 0-3, 4-11 */
    int s:5;                /* bits 12-16, signed */
    unsigned int c:7;       /* bits 17-23 */
    unsigned int d:9;       /* bits 32-40 (does not fit in the first unit) */
    uint8_t tail;           /* byte 6 */
};

/* The scripts call this one struct Outer. bpftrace 0.17 (built with libdw) looks a script's
 * struct name up in the traced binary's DWARF too, and crashes (std::logic_error) on a DWARF
 * struct with anonymous members; a different tag here keeps the script's definition the only
 * one. The other structs have the same name and layout here and in the scripts. */
struct OuterC {             /* sizeof 24 */
    int32_t k;                                  /* 0 */
    union { int32_t a; uint32_t b; } u;         /* 4: named member of an anonymous union type */
    struct { int16_t p; int16_t q; } s;         /* 8: named member of an anonymous struct type */
    union { int32_t ia; uint8_t ib[4]; };       /* 12: anonymous union member */
    struct { uint8_t m; int8_t n; };            /* 16: anonymous struct member */
    struct Point pt;                            /* 18 */
};

struct Node { int32_t val; struct Node *next; };

struct Pair { int32_t id; struct Rec *rec; struct Node *node; };

struct Rec recs[2] = {
    { "alpha", {1, -2, 3, 40000}, {{1, 2, 3}, {4, 5, 6}}, 200, -100, 60000, -30000,
      4000000000u, -2000000000, 10000000000000000000ull, -9000000000000000000ll,
      {7, -8}, {{1, 2}, {3, 4}, {-5, 6}}, {97, 98, 0}, "xyz" },
    { "be", {10, 20, 30, 40}, {{-1, -2, -3}, {7, 8, 9}}, 1, 2, 3, 4, 5, 6, 7, 8,
      {0, 0}, {{9, 9}, {8, 8}, {7, 7}}, {1, 2, 3}, "ab" },
};
struct Rec *rec_ptrs[2] = { &recs[1], &recs[0] };

struct Bits bits = { 9, 200, -7, 100, 300, 0x5a };
struct OuterC outer = { 1, { .a = -2 }, { 3, -4 }, { .ia = 0x01020304 }, { 250, -6 }, { 11, 12 } };

struct Node n3 = { 30, 0 }, n2 = { 20, &n3 }, n1 = { 10, &n2 };
struct Pair pairs[2] = { { 1, &recs[0], &n1 }, { 2, &recs[1], &n3 } };

int32_t i32s[6] = { 5, -6, 7, -8, 9, 100 };
uint8_t u8s[4] = { 250, 1, 2, 3 };
int16_t i16s[3] = { -1, 300, -300 };
int64_t i64s[2] = { -5000000000ll, 6000000000ll };
const char text[] = "hello world";

NOINLINE int use_rec(struct Rec *r, int n) { return r->arr[0] + n; }
NOINLINE int use_bits(struct Bits *b) { return b->a; }
NOINLINE int use_outer(struct OuterC *o) { return o->k; }
NOINLINE int use_node(struct Node *n) { return n->val; }
NOINLINE int use_pp(struct Rec **pp, int n) { return pp[0]->arr[0] + n; }
NOINLINE int use_pair(struct Pair *p) { return p->id; }
NOINLINE long use_i32s(int32_t *p, int n) { return p[0] + n; }
NOINLINE long use_u8s(uint8_t *p, int n) { return p[0] + n; }
NOINLINE long use_i16s(int16_t *p, int n) { return p[0] + n; }
NOINLINE long use_i64s(int64_t *p, int n) { return p[0] + n; }
NOINLINE long use_str(const char *s, long len) { return s[0] + len; }
NOINLINE int use_nums(int a, long b, unsigned int c, int16_t d) { return a + (int)b + (int)c + d; }

/* BPF cannot fault pages in: a probe reading a global that the program has not touched yet
 * may read nothing (an untouched page of .data or .rodata is not mapped in yet): main()
 * touches them first (workload.h). */

int main(void)
{
    long s = 0;
    pin_to_this_cpu();
    touch(recs, sizeof(recs));
    touch(rec_ptrs, sizeof(rec_ptrs));
    touch(&bits, sizeof(bits));
    touch(&outer, sizeof(outer));
    touch(&n1, sizeof(n1));
    touch(&n2, sizeof(n2));
    touch(&n3, sizeof(n3));
    touch(pairs, sizeof(pairs));
    touch(i32s, sizeof(i32s));
    touch(u8s, sizeof(u8s));
    touch(i16s, sizeof(i16s));
    touch(i64s, sizeof(i64s));
    touch(text, sizeof(text));
    s += use_rec(&recs[0], 0);
    s += use_rec(&recs[1], 1);
    s += use_rec(&recs[0], 2);
    s += use_bits(&bits);
    s += use_outer(&outer);
    s += use_node(&n1);
    s += use_node(&n3);
    s += use_pp(rec_ptrs, 2);
    s += use_pair(&pairs[0]);
    s += use_pair(&pairs[1]);
    s += use_i32s(i32s, 6);
    s += use_u8s(u8s, 4);
    s += use_i16s(i16s, 3);
    s += use_i64s(i64s, 2);
    s += use_str(text, 5);
    s += use_str(text, 11);
    s += use_str(text + 6, 3);
    s += use_nums(-3, 5000000000l, 4000000000u, -2);
    s += use_nums(7, -1, 1, 300);
    /* syscalls with known arguments (all six given, as raw_syscalls records six registers),
     * for the tracepoint cases; they fail harmlessly (EBADF, ECHILD) */
    syscall(SYS_lseek, -1L, 4242L, (long)SEEK_CUR, 0L, 0L, 0L);
    syscall(SYS_close, 424242L, 11L, 22L, 33L, 44L, 55L);
    struct rusage ru;
    syscall(SYS_wait4, -1L, NULL, (long)WNOHANG, NULL, 0L, 0L);
    syscall(SYS_wait4, -1L, NULL, (long)(WNOHANG | WUNTRACED), &ru, 0L, 0L);
    int fd = open("/etc/hostname", O_RDONLY);
    if (fd >= 0)
        close(fd);
    return s == 0x7fffffff;  /* always 0; keeps s alive */
}
