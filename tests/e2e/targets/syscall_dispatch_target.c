/* The syscall-dispatch differential tests' child (built as kt_sysd): known syscalls with
 * known arguments, and compat (int $0x80) syscalls, which the syscalls:* events never see. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

/* i386's getpid is 20, x86-64's 20 is writev: counted as sys_enter_writev if compat
 * syscalls were not told apart. */
static long compat_getpid(void)
{
    long ret = 20;
    __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
    return ret;
}

int main(void)
{
    char buf[64];
    int p[2];
    int fd = openat(AT_FDCWD, "/dev/zero", O_RDONLY | O_CLOEXEC);
    for (int i = 0; i < 3; i++)
        read(fd, buf, 7 + i);
    pread(fd, buf, 5, 100);
    lseek(fd, 42, SEEK_SET);
    int out = open("/dev/null", O_WRONLY);
    for (int i = 0; i < 4; i++)
        write(out, buf, 11);
    pwrite(out, buf, 3, 0);
    fsync(out);
    fdatasync(out);
    pipe2(p, O_CLOEXEC);
    dup3(p[0], 40, O_CLOEXEC);
    close(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    close(epoll_create1(EPOLL_CLOEXEC));
    close(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    close(memfd_create("kt", MFD_CLOEXEC));
    getrandom(buf, 4, GRND_NONBLOCK);
    for (int i = 0; i < 5; i++)
        compat_getpid();
    for (int i = 0; i < 9; i++)
        getppid();
    close(40);
    close(fd);
    close(out);
    return 0;
}
