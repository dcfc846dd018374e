/* probe: runs inside a test container (static: the busybox rootfs has no
 * libc) and reports what the kernel answered, one word per check.
 *
 *   probe clone3          errno name of clone3(NULL, 0) ("ENOSYS" under
 *                         the default seccomp policy; "EINVAL" unfiltered)
 *   probe unshare         errno name of unshare(CLONE_NEWNS)
 *   probe writeexe PATH   open PATH for writing and write one byte:
 *                         "written" or the errno name
 *   probe fds             every fd of this process, with its target
 *   probe fdrace FILE     until FILE exists: watch each new process of the
 *                         pid namespace (ns_last_pid + 1) and open what its
 *                         fds point to through /proc/<pid>/fd (as a
 *                         CAP_SYS_PTRACE holder may); prints "dirs=N seen=M"
 *                         (N fds that were directories outside our root:
 *                         their `..` chain never meets it; M processes
 *                         seen) and the first such directories' targets
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>

static const char *
ename(int e)
{
        const char *n = strerrorname_np(e);
        return n ? n : "?";
}

/* Is the directory fd outside our root?  Walk `..` from it (which is
 * what an escape would do): meeting our root means inside, reaching the
 * top of a tree without meeting it means outside. */
static int
outside(int fd)
{
        struct stat root, cur, up;
        int c = fcntl(fd, F_DUPFD_CLOEXEC, 0), r = 0;

        if (c < 0 || stat("/", &root) < 0) {
                if (c >= 0)
                        close(c);
                return 0;
        }
        for (int i = 0; i < 256; i++) {
                int p;
                if (fstat(c, &cur) < 0)
                        break;
                if (cur.st_dev == root.st_dev && cur.st_ino == root.st_ino)
                        break;
                p = openat(c, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (p < 0 || fstat(p, &up) < 0) {
                        if (p >= 0)
                                close(p);
                        break;
                }
                close(c);
                c = p;
                if (up.st_dev == cur.st_dev && up.st_ino == cur.st_ino) {
                        r = 1;
                        break;
                }
        }
        close(c);
        return r;
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
        if (argc >= 3 && strcmp(argv[1], "fdrace") == 0) {
                long dirs = 0, seen = 0, last = -1;
                for (unsigned long i = 0;; i++) {
                        char buf[32] = "";
                        int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
                        long next;
                        DIR *d;
                        struct dirent *e;
                        if ((i & 1023) == 0 && access(argv[2], F_OK) == 0)
                                break;
                        if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0) {
                                printf("error: ns_last_pid: %s\n", ename(errno));
                                return 1;
                        }
                        close(fd);
                        next = atol(buf);
                        if (next == (long)getpid())
                                continue;
                        snprintf(buf, sizeof(buf), "/proc/%ld/fd", next);
                        d = opendir(buf);
                        if (!d)
                                continue;
                        if (next != last)
                                seen++;
                        last = next;
                        while ((e = readdir(d))) {
                                char p[300], t[256];
                                struct stat st;
                                ssize_t n;
                                int f;
                                if (e->d_name[0] == '.')
                                        continue;
                                snprintf(p, sizeof(p), "/proc/%ld/fd/%s", next, e->d_name);
                                f = open(p, O_PATH | O_CLOEXEC);
                                if (f < 0)
                                        continue;
                                if (fstat(f, &st) == 0 && S_ISDIR(st.st_mode) && outside(f)) {
                                        n = readlink(p, t, sizeof(t) - 1);
                                        t[n > 0 ? n : 0] = '\0';
                                        if (dirs++ < 5)
                                                printf("dir %ld/%s %s\n", next, e->d_name, t);
                                }
                                close(f);
                        }
                        closedir(d);
                }
                printf("dirs=%ld seen=%ld\n", dirs, seen);
                return 0;
        }
        return 2;
}
