/* The workload of tests/e2e/test_new_builtins.py: calls bn_work("hello world", 3) once and
 * opens /etc/hostname, printing nothing. */
#include <fcntl.h>
#include <unistd.h>

__attribute__((noinline)) int bn_work(const char *s, int n)
{
    return s[0] + n;
}

int main(void)
{
    static const char path[] = "/etc/hostname";
    volatile char first = path[0];   /* the page of the name is in memory when the kernel reads it */
    int fd = open(first == '/' ? path : "/", O_RDONLY);
    if (fd >= 0)
        close(fd);
    return bn_work("hello world", 3) == 0;
}
