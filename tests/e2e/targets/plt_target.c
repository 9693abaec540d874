/* A non-PIE executable (gcc -no-pie -fno-pic) whose code takes the address of malloc: its imported malloc
 * symbol then has the address of its PLT entry, which bcc, bpftrace 0.17 and kt list and
 * attach to (tests/e2e/test_uprobe_paths.py). It calls malloc through the pointer once. */
#include <stdlib.h>

void *(*volatile allocate)(size_t);

int main(void)
{
    allocate = malloc;      /* non-PIC code: an absolute address, the linker's canonical PLT entry */
    free(allocate(4321));
    return 0;
}
