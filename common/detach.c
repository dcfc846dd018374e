#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/detach.h"
#include "common/spawn.h"
#include "common/util.h"

pid_t
cnr_spawn_detached(const char *path, char *const argv[], const int *fds, int nfds, struct cnr_err **err)
{
        return cnr_spawn_detached_fd(-1, path, argv, fds, nfds, err);
}

pid_t
cnr_spawn_detached_fd(int exec_fd, const char *path, char *const argv[], const int *fds, int nfds,
                      struct cnr_err **err)
{
        int p[2];
        pid_t mid, pid = -1;
        int status = 0;
        ssize_t n;
        int reaper = 0;

        /* The shim of a double fork goes to the nearest child subreaper
         * above its intermediate (the caller itself when it is one), or
         * else to the pid namespace's init.  When the caller's parent is
         * that init (a daemon detached or started by systemd) and the
         * caller is no subreaper, a sibling gets the same parent with one
         * process creation less.  The parent, pid 1, cannot change. */
        if (getppid() == 1 && prctl(PR_GET_CHILD_SUBREAPER, &reaper) == 0 && !reaper) {
                struct cnr_err *e = NULL;

                pid = cnr_spawn_sibling_fd(exec_fd, path, argv, fds, nfds, &e);
                if (pid >= 0 || e->code != EINVAL) {
                        if (pid < 0 && err)
                                *err = e;
                        else
                                cnr_err_free(&e);
                        return pid;
                }
                cnr_err_free(&e);
        }
        if (pipe2(p, O_CLOEXEC) < 0)
                return cnr_errf(err, errno, "pipe2");
        mid = fork();
        if (mid < 0) {
                int e = errno;
                close(p[0]);
                close(p[1]);
                return cnr_errf(err, e, "fork");
        }
        if (mid == 0) {
                /* The intermediate: a new session, then the real child,
                 * whose exec it waits for (cnr_spawn); then it exits and
                 * the child is reparented away from the caller. */
                struct cnr_err *e = NULL;
                pid_t child;
                int code[2];

                close(p[0]);
                setsid();
                child = cnr_spawn_fd(exec_fd, path, argv, NULL, fds, nfds, 0, NULL, &e);
                code[0] = child;
                code[1] = child < 0 ? e->code : 0;
                (void)!write(p[1], code, sizeof(code));
                _exit(child < 0 ? 1 : 0);
        }
        close(p[1]);
        {
                int code[2] = {-1, EIO};
                do
                        n = read(p[0], code, sizeof(code));
                while (n < 0 && errno == EINTR);
                close(p[0]);
                waitpid(mid, &status, 0);
                if (n != (ssize_t)sizeof(code))
                        return cnr_errf(err, EIO, "start `%s`: the intermediate process died", path);
                if (code[0] < 0)
                        return cnr_errf(err, code[1], "exec `%s`", path);
                pid = code[0];
        }
        return pid;
}
