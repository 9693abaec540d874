/* The workload of tests/e2e/test_dwarf_args.py, built with `gcc -g -O0`: main() calls each
 * noinline function once with the fixed values below, which the tests' expected outputs are
 * written from. Strings live in stack buffers: a uprobe cannot fault in a page (.rodata of a
 * freshly started process may not be resident yet), the stack is. */
#include <string.h>

struct Point { int x; int y; };
struct Box { struct Point a; struct Point *p; const char *label; unsigned char tag[4]; long n; };
union U { int i; char c[4]; };
enum Color { RED, GREEN = 5, BLUE };
typedef unsigned int myuint;
struct Wide { long a; int b; };          /* 16 bytes: two registers when passed by value */
struct Big { long a, b, c; };            /* 24 bytes: passed by value on the stack */
struct Bits { unsigned int a:4, b:8; int s:5; unsigned int c:7; unsigned char tail; };
struct Anon { int k; union { int ia; unsigned char ib[4]; }; struct { short p; short q; }; };

__attribute__((noinline)) int takes_ints(int a, unsigned short b, long c, char d, myuint e)
{ return a + b + (int)c + d + (int)e; }
__attribute__((noinline)) int takes_str(const char *s, int len) { return len + s[0]; }
__attribute__((noinline)) int takes_ptr(struct Box *box, struct Point *pt) { return (int)box->n + pt->x; }
__attribute__((noinline)) int takes_struct(struct Point pt, enum Color c, union U *u) { return pt.x + (int)c + u->i; }
__attribute__((noinline)) int takes_ptrs(int *arr, char **names, void *v) { return arr[0] + (v != 0) + names[0][0]; }
__attribute__((noinline)) int takes_many(long a, long b, long c, long d, long e, long f, long g)
{ return (int)(a + b + c + d + e + f + g); }
__attribute__((noinline)) int takes_by_value(struct Wide w, struct Big big, int after)
{ return (int)(w.a + w.b + big.a + big.b + big.c) + after; }
__attribute__((noinline)) int takes_bits(struct Bits *b) { return (int)b->a + b->s; }
__attribute__((noinline)) int takes_anon(struct Anon *o) { return o->k + o->p; }
__attribute__((noinline)) void no_args(void) {}

int main(int argc, char **argv)
{
    char text[16], label[16], name0[8], name1[8];
    strcpy(text, "hello world");
    strcpy(label, "boxlabel");
    strcpy(name0, "first");
    strcpy(name1, "second");
    char *names[2] = { name0, name1 };
    struct Point p = { 3, 4 };
    struct Box b = { { 1, 2 }, &p, label, { 9, 8, 7, 6 }, 42 };
    union U u = { .i = 77 };
    int arr[3] = { 10, 20, 30 };
    int r = 0;
    for (int i = 0; i < 2; i++)
        r += takes_ints(-5 + i, 65535, -123456789012L, 'z', 4000000000u);
    r += takes_str(text, 11);
    r += takes_ptr(&b, &p);
    r += takes_struct(p, BLUE, &u);
    r += takes_ptrs(arr, names, &p);
    r += takes_many(1, 2, 3, 4, 5, 6, 7);
    struct Wide w = { -7000000000L, 12 };
    struct Big big = { 100, 200, 300 };
    r += takes_by_value(w, big, 99);
    struct Bits bits = { 9, 200, -7, 100, 42 };
    struct Anon anon = { 5, { .ia = 0x01020304 }, { -3, 4 } };
    r += takes_bits(&bits);
    r += takes_anon(&anon);
    no_args();
    return r == 12345 ? 1 : 0 + argc * 0 + (argv == 0);
}
