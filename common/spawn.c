#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/spawn.h"
#include "common/util.h"

static _Noreturn void
child_fail(int errpipe, int e)
{
        (void)!write(errpipe, &e, sizeof(e));
        _exit(127);
}

pid_t
cnr_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds, int pdeathsig,
          int *pidfd, struct cnr_err **err)
{
        return cnr_spawn_fd(-1, path, argv, envp, fds, nfds, pdeathsig, pidfd, err);
}

/* The child's side, after fork or clone3: the slots, then the exec.  It
 * runs only system calls (a raw clone3 leaves libc's own state as the
 * parent's), and reports a failure on the error pipe. */
static _Noreturn void
child_exec(int exec_fd, const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
           int pdeathsig, bool new_session, int errpipe)
{
        static char *const default_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        int tmp[16], devnull, ep = errpipe;
        sigset_t all;

        /* The error pipe (and the program's fd) first go above every
         * slot we fill. */
        ep = fcntl(ep, F_DUPFD_CLOEXEC, 64);
        if (ep < 0)
                _exit(127);
        if (new_session && setsid() < 0)
                child_fail(ep, errno);
        if (exec_fd >= 0 && (exec_fd = fcntl(exec_fd, F_DUPFD_CLOEXEC, 64)) < 0)
                child_fail(ep, errno);
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int s = 1; s < NSIG; s++)
                signal(s, SIG_DFL);
        if (pdeathsig && prctl(PR_SET_PDEATHSIG, pdeathsig) < 0)
                child_fail(ep, errno);
        /* Move the passed fds out of the way of 0..nfds+2 first. */
        for (int i = 0; i < nfds; i++) {
                tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
                if (tmp[i] < 0)
                        child_fail(ep, errno);
        }
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
                child_fail(ep, errno);
        for (int i = 0; i < 3; i++)
                if (dup2(devnull, i) < 0)
                        child_fail(ep, errno);
        for (int i = 0; i < nfds; i++)
                if (dup2(tmp[i], 3 + i) < 0) /* dup2 clears CLOEXEC on the copy */
                        child_fail(ep, errno);
        /* Keep only the error pipe above the slots (and the program's fd
         * after it), close-on-exec. */
        if (dup3(ep, 3 + nfds, O_CLOEXEC) < 0)
                child_fail(ep, errno);
        ep = 3 + nfds;
        if (exec_fd >= 0) {
                if (dup3(exec_fd, 4 + nfds, O_CLOEXEC) < 0)
                        child_fail(ep, errno);
                exec_fd = 4 + nfds;
        }
        if (syscall(SYS_close_range, (unsigned)(exec_fd >= 0 ? 5 + nfds : 4 + nfds), ~0U, 0) < 0)
                child_fail(ep, errno);
        if (exec_fd >= 0)
                syscall(SYS_execveat, exec_fd, "", argv, envp ? envp : default_env, AT_EMPTY_PATH);
        else
                execve(path, argv, envp ? envp : default_env);
        child_fail(ep, errno);
}

/* Wait for the child's exec: EOF on the error pipe, or its errno. */
static int
wait_exec(int ep0, pid_t pid, bool ours, const char *path, struct cnr_err **err)
{
        ssize_t n;
        int e = 0;

        do
                n = read(ep0, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        close(ep0);
        if (n == (ssize_t)sizeof(e)) {
                if (ours) /* otherwise its parent, ours, reaps it */
                        waitpid(pid, NULL, 0);
                return cnr_errf(err, e, "exec `%s`", path);
        }
        return 0;
}

pid_t
cnr_spawn_fd(int exec_fd, const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
             int pdeathsig, int *pidfd, struct cnr_err **err)
{
        int ep[2];
        pid_t pid;
        int e = 0;

        if (nfds > 16)
                return cnr_errf(err, EINVAL, "too many fds to pass");
        if (pipe2(ep, O_CLOEXEC) < 0)
                return cnr_errf(err, errno, "pipe2");
        pid = fork();
        if (pid < 0) {
                e = errno;
                close(ep[0]);
                close(ep[1]);
                return cnr_errf(err, e, "fork");
        }
        if (pid == 0)
                child_exec(exec_fd, path, argv, envp, fds, nfds, pdeathsig, false, ep[1]);
        close(ep[1]);
        if (wait_exec(ep[0], pid, true, path, err) < 0)
                return -1;
        if (pidfd) {
                *pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
                if (*pidfd < 0) {
                        e = errno;
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        return cnr_errf(err, e, "pidfd_open");
                }
                /* pidfds are always close-on-exec. */
        }
        return pid;
}

pid_t
cnr_spawn_sibling_fd(int exec_fd, const char *path, char *const argv[], const int *fds, int nfds, struct cnr_err **err)
{
        /* exit_signal must be 0: the child gets ours (our parent sees its exit
         * as it sees ours) */
        struct clone_args ca = {.flags = CLONE_PARENT, .exit_signal = 0};
        int ep[2];
        pid_t pid;
        int e;

        if (nfds > 16)
                return cnr_errf(err, EINVAL, "too many fds to pass");
        if (pipe2(ep, O_CLOEXEC) < 0)
                return cnr_errf(err, errno, "pipe2");
        pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
        if (pid < 0) {
                e = errno;
                close(ep[0]);
                close(ep[1]);
                return cnr_errf(err, e, "clone3 CLONE_PARENT");
        }
        if (pid == 0)
                child_exec(exec_fd, path, argv, NULL, fds, nfds, 0, true, ep[1]);
        close(ep[1]);
        if (wait_exec(ep[0], pid, false, path, err) < 0)
                return -1;
        return pid;
}
