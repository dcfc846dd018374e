/* probe: runs inside a test container (static: the busybox rootfs has no
 * libc) and reports what the kernel answered, one word per check.
 *
 *   probe clone3          errno name of clone3(NULL, 0) ("ENOSYS" under
 *                         the default seccomp policy; "EINVAL" unfiltered)
 *   probe unshare         errno name of unshare(CLONE_NEWNS)
 *   probe writeexe PATH   open PATH for writing and write one byte:
 *                         "written" or the errno name
 *   probe fds             every fd of this process, with its target
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>

static const char *
ename(int e)
{
        const char *n = strerrorname_np(e);
        return n ? n : "?";
}

int
main(int argc, char **argv)
{
        if (argc >= 2 && strcmp(argv[1], "clone3") == 0) {
                long r = syscall(SYS_clone3, NULL, 0);
                printf("%s\n", r < 0 ? ename(errno) : "ok");
                return 0;
        }
        if (argc >= 2 && strcmp(argv[1], "unshare") == 0) {
                printf("%s\n", unshare(CLONE_NEWNS) < 0 ? ename(errno) : "ok");
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "writeexe") == 0) {
                int fd = open(argv[2], O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                        printf("%s\n", ename(errno));
                        return 0;
                }
                printf("%s\n", write(fd, "x", 1) == 1 ? "written" : ename(errno));
                return 0;
        }
        if (argc >= 2 && strcmp(argv[1], "fds") == 0) {
                DIR *d = opendir("/proc/self/fd");
                struct dirent *e;
                int me = d ? dirfd(d) : -1;
                while (d && (e = readdir(d))) {
                        char p[300], t[256];
                        ssize_t n;
                        if (e->d_name[0] == '.' || atoi(e->d_name) == me)
                                continue;
                        snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
                        n = readlink(p, t, sizeof(t) - 1);
                        t[n > 0 ? n : 0] = '\0';
                        printf("%s %s\n", e->d_name, t);
                }
                return 0;
        }
        return 2;
}
