// A C++ workload of tests/e2e/test_dwarf_args.py (g++ -g -O0): functions whose symbols are
// mangled names, a member function (its `this`) and one in a namespace, each called once.
#include <cstring>

struct Obj {
    int v;
    __attribute__((noinline)) int get(int add) { return v + add; }
};

__attribute__((noinline)) int plain(int a, long b) { return a + (int)b; }

namespace ns {
__attribute__((noinline)) int inner(const char *s) { return s[0]; }
}

int main()
{
    Obj o{5};
    char buf[8];
    std::strcpy(buf, "cpp");
    return o.get(2) + plain(-1, 2000000000000L) + ns::inner(buf) == 0;
}
