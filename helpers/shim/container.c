/* Creating the container's init, and exec'ing into a running container.
 *
 * The shim and its child talk over a SEQPACKET socketpair ("sync") with
 * fixed-size records, checked for exact length:
 *
 *   shim  -> child  GO      cgroup joined, id maps written
 *   child -> shim   READY   mounts, pivot_root, stdio done; waits (+ pty master fd)
 *   shim  -> child  START   (+ the seccomp filter as a sealed memfd, or none)
 *   child -> shim   ERROR   {errno, message} at any step; or nothing:
 *                           the child's end is close-on-exec, so EOF means
 *                           execve succeeded.
 *
 * The order in the child is the one that works with the kernel's rules:
 * namespaces (clone3) -> private mounts, rootfs, /proc, /dev, /sys,
 * spec mounts, masks -> pivot_root -> hostname -> stdio -> rlimits ->
 * close every fd but 0-2 and sync (THREATS 8) -> READY -> wait START
 * (the shim compiled the filter meanwhile; without it it is compiled
 * now; an exec process uses the shim's program when its capabilities are
 * the init's) -> [seccomp if no_new_privs is off: loading needs
 * CAP_SYS_ADMIN, which the user may not keep] -> bounding set ->
 * groups/gid/uid with KEEPCAPS -> capabilities, ambient -> cwd under the
 * new root, never through a magic link (THREATS 7) -> no_new_privs ->
 * [seccomp] -> execve.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <seccomp.h>

#include "common/log.h"
#include "common/util.h"
#include "helpers/shim/shim.h"

enum { MSG_GO = 1, MSG_READY, MSG_START, MSG_ERROR, MSG_PID };

struct sync_msg {
        int32_t kind;
        int32_t code;
        int32_t pid;
        char text[1500];
};

static int
send_msg(int sock, int kind, int code, int pid, const char *text, int fd)
{
        struct sync_msg m = {.kind = kind, .code = code, .pid = pid};
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

        if (text)
                snprintf(m.text, sizeof(m.text), "%s", text);
        if (fd < 0) /* write(2): what a seccomp profile most surely allows */
                return write(sock, &m, sizeof(m)) == (ssize_t)sizeof(m) ? 0 : -1;
        {
                struct cmsghdr *c;
                memset(&u, 0, sizeof(u));
                mh.msg_control = u.buf;
                mh.msg_controllen = sizeof(u.buf);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

/* 1 with *m (and *fd, -1 if none), 0 on EOF, -1 on error or timeout. */
static int
recv_msg(int sock, struct sync_msg *m, int *fd, int timeout_ms)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
        struct cmsghdr *c;
        ssize_t n;

        if (fd)
                *fd = -1;
        if (timeout_ms >= 0) {
                int r = poll(&(struct pollfd){.fd = sock, .events = POLLIN}, 1, timeout_ms);
                if (r <= 0) {
                        errno = r == 0 ? ETIMEDOUT : errno;
                        return -1;
                }
        }
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n == 0)
                return 0;
        if (n < 0)
                return -1;
        c = CMSG_FIRSTHDR(&mh);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
                int got;
                memcpy(&got, CMSG_DATA(c), sizeof(int));
                if (fd)
                        *fd = got;
                else
                        close(got);
        } else if (c || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || n != (ssize_t)sizeof(*m)) {
                errno = EBADMSG;
                return -1;
        }
        m->text[sizeof(m->text) - 1] = '\0';
        return 1;
}

/* The child reports a failure and dies. */
static __attribute__((noreturn)) void
child_fail(int sync, struct cnr_err *err)
{
        send_msg(sync, MSG_ERROR, err ? err->code : EIO, 0, err ? err->msg : "failed", -1);
        _exit(1);
}

static const Cnr__Shim__Capabilities *
caps_of(const Cnr__Shim__Process *p, const Cnr__Shim__Process *fallback)
{
        if (p->capabilities)
                return p->capabilities;
        if (fallback && fallback->capabilities)
                return fallback->capabilities;
        return NULL;
}

static uint64_t
effective_of(const Cnr__Shim__Capabilities *c)
{
        return c ? c->effective : shim_default_caps;
}

static int
set_rlimits(const Cnr__Shim__Process *p, struct cnr_err **err)
{
        static const struct {
                const char *name;
                int res;
        } names[] = {
                {"AS", RLIMIT_AS},         {"CORE", RLIMIT_CORE},         {"CPU", RLIMIT_CPU},
                {"DATA", RLIMIT_DATA},     {"FSIZE", RLIMIT_FSIZE},       {"LOCKS", RLIMIT_LOCKS},
                {"MEMLOCK", RLIMIT_MEMLOCK}, {"MSGQUEUE", RLIMIT_MSGQUEUE}, {"NICE", RLIMIT_NICE},
                {"NOFILE", RLIMIT_NOFILE}, {"NPROC", RLIMIT_NPROC},       {"RSS", RLIMIT_RSS},
                {"RTPRIO", RLIMIT_RTPRIO}, {"RTTIME", RLIMIT_RTTIME},     {"SIGPENDING", RLIMIT_SIGPENDING},
                {"STACK", RLIMIT_STACK},
        };

        for (size_t i = 0; i < p->n_rlimits; i++) {
                const char *t = p->rlimits[i]->type;
                int res = -1;
                if (strncmp(t, "RLIMIT_", 7) == 0)
                        t += 7;
                for (size_t k = 0; k < CNR_ARRAY_LEN(names); k++)
                        if (strcasecmp(t, names[k].name) == 0)
                                res = names[k].res;
                if (res < 0)
                        return cnr_errf(err, EINVAL, "rlimit `%s`: unknown", p->rlimits[i]->type);
                struct rlimit rl = {.rlim_cur = p->rlimits[i]->soft, .rlim_max = p->rlimits[i]->hard};
                if (setrlimit(res, &rl) < 0)
                        return cnr_errf(err, errno, "rlimit `%s`", p->rlimits[i]->type);
        }
        return 0;
}

/* The shim's own bounding set: what the host lets its root have. */
static uint64_t
own_bounding(void)
{
        uint64_t m = 0;

        for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++)
                if (prctl(PR_CAPBSET_READ, v, 0, 0, 0) == 1)
                        m |= 1ULL << v;
        return m;
}

static int
set_caps(const Cnr__Shim__Capabilities *c, struct cnr_err **err)
{
        uint64_t bnd = c ? c->bounding : shim_default_caps, eff = c ? c->effective : shim_default_caps;
        uint64_t prm = c ? c->permitted : shim_default_caps, inh = c ? c->inheritable : 0;
        uint64_t amb = c ? c->ambient : 0, host = own_bounding(), missing;
        cap_t caps;

        if (c && c->clamp_to_host) {
                eff &= host;
                prm &= host;
                inh &= host;
                amb &= host;
        }
        /* A capability asked for by name (--cap-add) that the host's root
         * lacks: say which, not the kernel's bare EPERM. */
        missing = (eff | prm | inh | amb) & ~host;
        for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++)
                if (missing & (1ULL << v)) {
                        char *name = cap_to_name(v);
                        for (char *q = name; q && *q; q++)
                                *q = (char)toupper((unsigned char)*q);
                        cnr_errf(err, EPERM, "capability %s is not in the host's bounding set (containrd's root "
                                             "lacks it), so no container can have it",
                                 name ? name : "?");
                        cap_free(name);
                        return -1;
                }
        caps = cap_init();
        for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++) {
                cap_value_t one[1] = {v};
                if (eff & (1ULL << v))
                        cap_set_flag(caps, CAP_EFFECTIVE, 1, one, CAP_SET);
                if (prm & (1ULL << v))
                        cap_set_flag(caps, CAP_PERMITTED, 1, one, CAP_SET);
                if (inh & (1ULL << v))
                        cap_set_flag(caps, CAP_INHERITABLE, 1, one, CAP_SET);
        }
        if (cap_set_proc(caps) < 0) {
                int e = errno;
                cap_free(caps);
                return cnr_errf(err, e, "set capabilities");
        }
        cap_free(caps);
        /* THREATS 12: the ambient set starts empty; only what was asked. */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return cnr_errf(err, errno, "clear the ambient set");
        for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++)
                if ((amb & (1ULL << v)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0) < 0)
                        return cnr_errf(err, errno, "raise ambient capability %d", (int)v);
        (void)bnd;
        return 0;
}

static int
drop_bounding(const Cnr__Shim__Capabilities *c, struct cnr_err **err)
{
        uint64_t bnd = c ? c->bounding : shim_default_caps;

        for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++)
                if (!(bnd & (1ULL << v)) && prctl(PR_CAPBSET_DROP, v, 0, 0, 0) < 0 && errno != EINVAL)
                        return cnr_errf(err, errno, "drop capability %d from the bounding set", (int)v);
        return 0;
}

static const char *
env_get(const Cnr__Shim__Process *p, const char *key)
{
        size_t kl = strlen(key);

        for (size_t i = 0; i < p->n_env; i++)
                if (strncmp(p->env[i], key, kl) == 0 && p->env[i][kl] == '=')
                        return p->env[i] + kl + 1;
        return NULL;
}

/* execve args[0], looked up in the process's PATH if it has no slash. */
static int
do_exec(const Cnr__Shim__Process *p, struct cnr_err **err)
{
        const char *path = env_get(p, "PATH");
        char **argv = xcalloc(p->n_args + 1, sizeof(char *));
        char **envp = xcalloc(p->n_env + 1, sizeof(char *));
        int last = ENOENT;
        sigset_t none;

        /* The shim blocks SIGCHLD/SIGTERM/SIGINT for its signalfd and
         * ignores SIGPIPE; both would survive execve into the container
         * (an init that could never be stopped with SIGTERM). */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        /* protobuf-c's repeated fields are not NULL-terminated */
        memcpy(argv, p->args, p->n_args * sizeof(char *));
        memcpy(envp, p->env, p->n_env * sizeof(char *));
        if (strchr(p->args[0], '/')) {
                execve(p->args[0], argv, envp);
                return cnr_errf(err, errno, "exec `%s`", p->args[0]);
        }
        if (!path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (const char *s = path; *s;) {
                const char *e = strchr(s, ':');
                size_t n = e ? (size_t)(e - s) : strlen(s);
                _cleanup_free_ char *full = xasprintf("%.*s/%s", (int)n, n ? s : ".", p->args[0]);
                execve(full, argv, envp);
                if (errno != ENOENT && errno != ENOTDIR)
                        last = errno;
                if (!e)
                        break;
                s = e + 1;
        }
        return cnr_errf(err, last, "exec `%s` (searched PATH `%s`)", p->args[0], path);
}

/* The last steps of every container process, init and exec alike: the
 * identity, then capabilities, cwd, no_new_privs, seccomp and exec.  The
 * filter is compiled here unless `built` (then `filter` is it, NULL for
 * unconfined). */
static int
load_filter(void *filter, const void *prog, size_t prog_len, struct cnr_err **err)
{
        if (prog)
                return shim_seccomp_load_prog(prog, prog_len, err);
        if (seccomp_load(filter) < 0)
                return cnr_errf(err, EPERM, "load the seccomp filter");
        return 0;
}

/* prog: a program the shim compiled (shim_seccomp_map_fd), or NULL: the
 * filter is compiled here. */
static __attribute__((noreturn)) void
finalize(int sync, const Cnr__Shim__Process *p, const Cnr__Shim__Process *initp, const Cnr__Shim__Seccomp *sc,
         const void *prog, size_t prog_len)
{
        const Cnr__Shim__Capabilities *caps = caps_of(p, initp);
        struct cnr_err *err = NULL;
        void *filter = NULL;
        struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                               .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
        uid_t uid = p->user ? p->user->uid : 0;
        gid_t gid = p->user ? p->user->gid : 0;
        int cwd;

        /* THREATS 7: cwd is resolved in the container's root and may not
         * pass through a magic link such as /proc/self/fd/N (resolved
         * before any filter: profiles older than openat2 are common) ... */
        cwd = (int)syscall(SYS_openat2, AT_FDCWD, p->cwd[0] ? p->cwd : "/", &how, sizeof(how));
        if (cwd < 0 && errno == ELOOP)
                child_fail(sync, (cnr_errf(&err, ELOOP, "cwd `%s` resolves through a magic link: refusing (possible "
                                           "breakout)", p->cwd), err));
        if (cwd < 0)
                child_fail(sync, (cnr_errf(&err, errno, "cwd `%s`", p->cwd), err));
        if (!prog && shim_seccomp_build(sc, effective_of(caps), &filter, &err) < 0)
                child_fail(sync, err);
        if ((filter || prog) && !p->no_new_privileges && load_filter(filter, prog, prog_len, &err) < 0)
                child_fail(sync, err);
        if (drop_bounding(caps, &err) < 0)
                child_fail(sync, err);
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "PR_SET_KEEPCAPS"), err));
        if (setgroups(p->user ? p->user->n_additional_gids : 0, p->user ? p->user->additional_gids : NULL) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "setgroups"), err));
        if (setresgid(gid, gid, gid) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "setresgid %u", (unsigned)gid), err));
        if (setresuid(uid, uid, uid) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "setresuid %u", (unsigned)uid), err));
        /* A change of credentials clears the parent-death signal. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (set_caps(caps, &err) < 0)
                child_fail(sync, err);
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        /* ... and entered as the user, so that its permissions apply. */
        if (fchdir(cwd) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "cwd `%s`", p->cwd), err));
        close(cwd);
        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "no_new_privs"), err));
        if ((filter || prog) && p->no_new_privileges && load_filter(filter, prog, prog_len, &err) < 0)
                child_fail(sync, err);
        do_exec(p, &err);
        child_fail(sync, err);
}

/* Make `cwd` exist in the container (as root, before the user switch). */
static void
make_cwd(const char *cwd)
{
        _cleanup_free_ char *p = xstrdup(cwd);

        for (char *s = p + 1;; s++) {
                if (*s == '/' || *s == '\0') {
                        char c = *s;
                        *s = '\0';
                        mkdir(p, 0755);
                        if (c == '\0')
                                break;
                        *s = c;
                }
        }
}

/* A pty from the container's own devpts; the slave becomes stdio and the
 * controlling terminal, the master goes to the shim. */
static int
open_pty(const Cnr__Shim__Process *p, int *master, struct cnr_err **err)
{
        _cleanup_close_ int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        char name[64];
        int s;

        if (m < 0)
                return cnr_errf(err, errno, "open /dev/pts/ptmx");
        if (unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0)
                return cnr_errf(err, errno, "unlock the pty");
        s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (s < 0)
                return cnr_errf(err, errno, "open `%s`", name);
        if (p->user && fchown(s, p->user->uid, (gid_t)-1) < 0) {
                close(s);
                return cnr_errf(err, errno, "chown `%s`", name);
        }
        if (p->console && p->console->rows && p->console->cols) {
                struct winsize ws = {.ws_row = (unsigned short)p->console->rows,
                                     .ws_col = (unsigned short)p->console->cols};
                ioctl(s, TIOCSWINSZ, &ws);
        }
        if (setsid() < 0 || ioctl(s, TIOCSCTTY, 0) < 0) {
                close(s);
                return cnr_errf(err, errno, "make `%s` the controlling terminal", name);
        }
        for (int i = 0; i < 3; i++)
                if (dup2(s, i) < 0) { /* cloexec: not needed, the pty is the process's stdio */
                        close(s);
                        return cnr_errf(err, errno, "dup2");
                }
        close(s);
        *master = steal_fd(&m);
        return 0;
}

static int
stdio_onto(const int *fds, struct cnr_err **err)
{
        /* First above 2, so that a source in 0..2 is not clobbered. */
        int tmp[3];

        for (int i = 0; i < 3; i++) {
                tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                if (tmp[i] < 0)
                        return cnr_errf(err, errno, "dup");
        }
        for (int i = 0; i < 3; i++)
                if (dup2(tmp[i], i) < 0) /* cloexec: not needed, the process's stdio */
                        return cnr_errf(err, errno, "dup2");
        for (int i = 0; i < 3; i++)
                close(tmp[i]);
        return 0;
}

/* THREATS 8: nothing but 0-2, sync (moved to 3) and a pty master (at 4,
 * until it is sent) stays open.  Both are close-on-exec. */
static int
tidy_fds(int *sync, int *master)
{
        int s = fcntl(*sync, F_DUPFD_CLOEXEC, 64), m = -1;

        if (s < 0)
                return -1;
        if (*master >= 0 && (m = fcntl(*master, F_DUPFD_CLOEXEC, 64)) < 0)
                return -1;
        if (dup3(s, 3, O_CLOEXEC) < 0 || (m >= 0 && dup3(m, 4, O_CLOEXEC) < 0))
                return -1;
        *sync = 3;
        *master = m >= 0 ? 4 : -1;
        return (int)syscall(SYS_close_range, m >= 0 ? 5U : 4U, ~0U, 0U);
}

static __attribute__((noreturn)) void
init_child(struct shim_container *c, int sync, const int stdio[3], struct shim_cgroup_entry *cge)
{
        const Cnr__Shim__ContainerSpec *s = c->spec;
        struct cnr_err *err = NULL;
        struct sync_msg m;
        int master = -1, bpf = -1;
        const void *prog = NULL;
        size_t prog_len = 0;

        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        /* Nobody in the container may open our fds via /proc until exec. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (recv_msg(sync, &m, NULL, -1) != 1 || m.kind != MSG_GO)
                _exit(1);
        /* Into the container's cgroups by itself, first (cgroup.c:
         * shim_cgroup_entry_open says why). */
        if (shim_cgroup_entry_join(cge) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "join the container's cgroups"), err));
        shim_cgroup_entry_close(cge);
        if (s->namespaces && s->namespaces->user && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                child_fail(sync, (cnr_errf(&err, errno, "become root in the user namespace"), err));
        /* With a user namespace the shim made us in netd's namespace
         * (clone3 from inside it); we could not join it from here. */
        if (s->namespaces && s->namespaces->net == CNR__SHIM__NAMESPACES__NET__NET_FD && !s->namespaces->user &&
            setns(c->fds[s->namespaces->net_fd], CLONE_NEWNET) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "join the network namespace"), err));
        if (s->cgroup_path[0] && unshare(CLONE_NEWCGROUP) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "new cgroup namespace"), err));
        /* privfd belongs to the host's mount namespace; mounts go on the
         * copy in ours.  The parent made it our cwd before clone3, and the
         * kernel moved the cwd onto the copy of its mount: reopened with
         * no path (nothing to swap, no search of the socket dir, which a
         * user namespace's root may not do).  Its owner and mode were
         * checked by the parent, where host root is not the overflow uid. */
        {
                struct stat a, b;
                int fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &a) < 0 || fstat(c->privfd, &b) < 0 || a.st_dev != b.st_dev ||
                    a.st_ino != b.st_ino)
                        child_fail(sync, (cnr_errf(&err, EPERM, "the shim's private dir was replaced"), err));
                close(c->privfd);
                c->privfd = fd;
        }
        if (shim_mounts_setup(s, c->fds, c->privfd, c->sysfd, &err) < 0)
                child_fail(sync, err);
        if (shim_mounts_pivot(c->privfd, &err) < 0)
                child_fail(sync, err);
        if (s->hostname[0] && sethostname(s->hostname, strlen(s->hostname)) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "sethostname"), err));
        if (s->process->terminal ? open_pty(s->process, &master, &err) < 0 : stdio_onto(stdio, &err) < 0)
                child_fail(sync, err);
        if (set_rlimits(s->process, &err) < 0)
                child_fail(sync, err);
        if (s->process->cwd[0])
                make_cwd(s->process->cwd);
        if (tidy_fds(&sync, &master) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "close the inherited fds"), err));
        if (send_msg(sync, MSG_READY, 0, 0, NULL, master) < 0)
                _exit(1);
        if (master >= 0)
                close(master);
        /* The shim compiles the filter while we set up (docs/performance.md)
         * and sends it with START; without it (unconfined, or the shim's
         * compile failed) we compile it here, and a failure is the answer
         * to START, which the shim waits for. */
        if (recv_msg(sync, &m, &bpf, -1) != 1 || m.kind != MSG_START)
                _exit(1);
        if (bpf >= 0) {
                if (shim_seccomp_map_fd(bpf, &prog, &prog_len, &err) < 0)
                        child_fail(sync, err);
                close(bpf);
        }
        finalize(sync, s->process, NULL, s->seccomp, prog, prog_len);
}

static int
write_map(pid_t pid, const char *file, Cnr__Shim__IdMap **m, size_t n, struct cnr_err **err)
{
        _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
        char buf[512];
        size_t len = 0;
        _cleanup_close_ int fd = -1;

        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i]->container_id, m[i]->host_id,
                                        m[i]->size);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
                return cnr_errf(err, errno, "write `%s`", path);
        return 0;
}

/* The shim's private dir: root's, nobody else's.  With a user namespace
 * its root needs to search it (host root shows as the overflow uid there,
 * so only the other-search bit helps): 0711, the names in it unlisted. */
static int
privdir_ok(int privfd, bool userns, struct cnr_err **err)
{
        struct stat st;

        if (fstat(privfd, &st) < 0)
                return cnr_errf(err, errno, "stat the shim's private dir");
        if (st.st_uid != 0 || (st.st_mode & 066))
                return cnr_errf(err, EPERM, "the shim's private dir is not root's alone (uid %u, mode %04o)",
                                (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        if (userns && (st.st_mode & 07777) != 0711 && fchmod(privfd, 0711) < 0)
                return cnr_errf(err, errno, "chmod the shim's private dir");
        return 0;
}

static void
set_oom_score(pid_t pid, int v)
{
        _cleanup_free_ char *path = xasprintf("/proc/%d/oom_score_adj", (int)pid);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        char buf[16];

        snprintf(buf, sizeof(buf), "%d", v);
        if (fd < 0 || write(fd, buf, strlen(buf)) < 0) {
                /* e.g. below 0 without CAP_SYS_RESOURCE (this project's
                 * machines): as containerd does, keep going. */
                log_warn("oom_score_adj %d for pid %d: %s; left unchanged", v, (int)pid, strerror(errno));
        }
}

static void
cgentry_closep(struct shim_cgroup_entry *e)
{
        shim_cgroup_entry_close(e);
}

/* A network namespace handed over as an fd (netd's) must not be the
 * shim's own, the host's: the shim, host root, writes the spec's net.*
 * sysctls and its defaults (ip_unprivileged_port_start 0, ...) in it and
 * mounts its sysfs, and the spec's checks for the host's network
 * (NET_HOST: no sysctls, no user namespace) would be skipped.  A
 * container on the host's network asks for NET_HOST. */
static int
netns_fd_ok(int fd, struct cnr_err **err)
{
        struct stat ns, own;

        if (fstat(fd, &ns) < 0)
                return cnr_errf(err, errno, "netns: the fd");
        if (stat("/proc/self/ns/net", &own) < 0)
                return cnr_errf(err, errno, "stat `/proc/self/ns/net`");
        if (ns.st_dev == own.st_dev && ns.st_ino == own.st_ino)
                return cnr_errf(err, EPERM,
                                "netns: the fd is the host's network namespace (the shim's own); a container on "
                                "the host's network is asked for as such (NET_HOST)");
        return 0;
}

/* The init's seccomp filter, compiled here while the init mounts its
 * root on the other CPU (2-3 ms of CPU, which the init would otherwise
 * spend after READY, racing containrd's create answer and the START;
 * docs/performance.md), and sent with START as a sealed memfd.  On any
 * failure c->bpf stays -1 and the init compiles the filter itself, so
 * the error is reported as before. */
static void
compile_for_init(struct shim_container *c)
{
        const Cnr__Shim__ContainerSpec *s = c->spec;
        struct cnr_err *e = NULL;
        void *filter = NULL;

        if (shim_seccomp_build(s->seccomp, effective_of(caps_of(s->process, NULL)), &filter, &e) < 0 || !filter) {
                cnr_err_free(&e);
                return;
        }
        c->bpf = shim_seccomp_export(filter, &e);
        if (c->bpf < 0) {
                log_warn("container %s: %s (the init compiles the filter itself)", s->id, cnr_err_str(e));
                cnr_err_free(&e);
        } else if (shim_seccomp_map_fd(c->bpf, &c->prog, &c->prog_len, &e) == 0) {
                c->prog_caps = effective_of(caps_of(s->process, NULL));
        } else {
                log_warn("container %s: %s (exec processes compile the filter themselves)", s->id,
                         cnr_err_str(e));
                cnr_err_free(&e);
        }
        seccomp_release(filter);
}

int
shim_container_create(struct shim_container *c, struct cnr_err **err)
{
        const Cnr__Shim__ContainerSpec *s = c->spec;
        int sv[2], in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
        struct shim_cgroup_entry cge __attribute__((cleanup(cgentry_closep))) = {.v2dir = -1};
        struct clone_args ca = {0};
        struct sync_msg m;
        int pidfd = -1, master = -1, r;
        _cleanup_close_ int cwd = -1;
        uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_PIDFD;
        bool userns = s->namespaces && s->namespaces->user;
        /* A user namespace in netd's network namespace (which belongs to
         * the host's user namespace): the init could not join it once in
         * its own user namespace, so it is born in it.  runc orders it the
         * same way.  The container's root has no CAP_NET_ADMIN there. */
        bool netfirst = userns && s->namespaces->net == CNR__SHIM__NAMESPACES__NET__NET_FD;
        _cleanup_close_ int ownnet = -1;
        pid_t pid;

        if (s->namespaces && s->namespaces->net == CNR__SHIM__NAMESPACES__NET__NET_FD &&
            netns_fd_ok(c->fds[s->namespaces->net_fd], err) < 0)
                return -1;
        if (userns) {
                /* The host's network namespace stays the host's. */
                if (s->namespaces->net == CNR__SHIM__NAMESPACES__NET__NET_HOST)
                        return cnr_errf(err, ENOTSUP, "a user namespace with the host's network namespace");
                flags |= CLONE_NEWUSER;
        }
        if (privdir_ok(c->privfd, userns, err) < 0)
                return -1;
        if (userns && shim_mounts_userns_root(s, c->fds, c->snaprootfd, err) < 0)
                return -1;
        cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0)
                return cnr_errf(err, errno, "open the shim's cwd");
        if (!s->namespaces || s->namespaces->net == CNR__SHIM__NAMESPACES__NET__NET_NEW)
                flags |= CLONE_NEWNET;
        if (s->cgroup_path[0] && shim_cgroup_create(s, c->fds, &c->cg, err) < 0)
                return -1;
        if (c->cg && shim_cgroup_entry_open(c->cg, &cge, err) < 0) {
                shim_cgroup_destroy(c->cg);
                shim_cgroup_free(c->cg);
                c->cg = NULL;
                return -1;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return cnr_errf(err, errno, "socketpair");
        if (!s->process->terminal &&
            (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) {
                r = cnr_errf(err, errno, "pipe2");
                goto fail;
        }
        ca.flags = flags;
        ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
        ca.exit_signal = SIGCHLD;
        if (cge.v2dir >= 0) { /* born in its cgroup2 directory */
                ca.flags |= CLONE_INTO_CGROUP;
                ca.cgroup = (uint64_t)cge.v2dir;
        }
        /* The init finds privfd's copy in its mount namespace as its cwd. */
        if (fchdir(c->privfd) < 0) {
                r = cnr_errf(err, errno, "chdir to the shim's private dir");
                goto fail;
        }
        if (netfirst) {
                ownnet = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
                if (ownnet < 0) {
                        r = cnr_errf(err, errno, "open the shim's network namespace");
                        goto fail_cwd;
                }
                if (setns(c->fds[s->namespaces->net_fd], CLONE_NEWNET) < 0) {
                        r = cnr_errf(err, errno, "join the container's network namespace");
                        goto fail_cwd;
                }
                if (shim_sysctls_net(s, err) >= 0)
                        c->sysfd = shim_mounts_sysfs(err);
                if (c->sysfd < 0) {
                        r = -1;
                        if (setns(ownnet, CLONE_NEWNET) < 0)
                                log_error("back to the shim's network namespace: %s", strerror(errno));
                        goto fail_cwd;
                }
        }
        pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
        r = errno;
        if (pid != 0 && fchdir(cwd) < 0)
                log_warn("chdir back to the shim's cwd: %s", strerror(errno));
        if (pid != 0 && netfirst) {
                close(c->sysfd);
                c->sysfd = -1;
                /* The shim itself never stays in a container's namespace
                 * (exec and the next container start from here). */
                if (setns(ownnet, CLONE_NEWNET) < 0) {
                        int e = errno;
                        log_error("back to the shim's network namespace: %s", strerror(e));
                        if (pid > 0) {
                                kill(pid, SIGKILL);
                                waitpid(pid, NULL, 0);
                                close(pidfd);
                        }
                        r = cnr_errf(err, e, "back to the shim's network namespace");
                        goto fail;
                }
        }
        if (pid < 0) {
                r = cnr_errf(err, r, "clone3 the container's init");
                goto fail;
        }
        if (pid == 0) {
                int stdio[3] = {in[0], out[1], errp[1]};
                close(sv[0]);
                init_child(c, sv[1], stdio, &cge);
        }
        close(sv[1]);
        sv[1] = -1;
        c->pid = pid;
        c->pidfd = pidfd;
        c->sync = sv[0];
        if (!s->process->terminal) {
                close(in[0]);
                close(out[1]);
                close(errp[1]);
                c->stdin_w = in[1];
                c->stdout_r = out[0];
                c->stderr_r = errp[0];
        }
        if (s->namespaces && s->namespaces->user) {
                if (write_map(pid, "uid_map", s->namespaces->uid_map, s->namespaces->n_uid_map, err) < 0 ||
                    write_map(pid, "gid_map", s->namespaces->gid_map, s->namespaces->n_gid_map, err) < 0)
                        goto kill;
        }
        if (s->set_oom_score_adj)
                set_oom_score(pid, s->oom_score_adj);
        if (send_msg(c->sync, MSG_GO, 0, 0, NULL, -1) < 0) {
                cnr_errf(err, errno, "the container's init died before setup");
                goto kill;
        }
        compile_for_init(c);
        r = recv_msg(c->sync, &m, &master, 30000);
        if (r != 1) {
                cnr_errf(err, r == 0 ? EIO : errno, "the container's init %s", r == 0 ? "died during setup"
                                                                                       : "did not answer");
                goto kill;
        }
        if (m.kind == MSG_ERROR) {
                cnr_errf(err, m.code, "%s", m.text);
                goto kill;
        }
        if (m.kind != MSG_READY || (s->process->terminal && master < 0)) {
                cnr_errf(err, EPROTO, "the container's init sent an unexpected message");
                if (master >= 0)
                        close(master);
                goto kill;
        }
        c->pty_master = master;
        return 0;
kill:
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        c->pid = 0;
        close(c->pidfd);
        c->pidfd = -1;
        close(c->sync);
        c->sync = -1;
        if (c->bpf >= 0) {
                close(c->bpf);
                c->bpf = -1;
        }
        if (c->cg) {
                shim_cgroup_destroy(c->cg);
                shim_cgroup_free(c->cg);
                c->cg = NULL;
        }
        return -1;
fail_cwd:
        if (fchdir(cwd) < 0)
                log_warn("chdir back to the shim's cwd: %s", strerror(errno));
fail:
        for (int i = 0; i < 2; i++) {
                if (sv[i] >= 0)
                        close(sv[i]);
                if (in[i] >= 0)
                        close(in[i]);
                if (out[i] >= 0)
                        close(out[i]);
                if (errp[i] >= 0)
                        close(errp[i]);
        }
        if (c->cg) {
                shim_cgroup_destroy(c->cg);
                shim_cgroup_free(c->cg);
                c->cg = NULL;
        }
        return r;
}

int
shim_container_start(struct shim_container *c, struct cnr_err **err)
{
        struct sync_msg m;
        int r;

        if (c->sync < 0)
                return cnr_errf(err, EALREADY, "already started");
        r = send_msg(c->sync, MSG_START, 0, 0, NULL, c->bpf);
        if (c->bpf >= 0) {
                close(c->bpf);
                c->bpf = -1;
        }
        if (r < 0)
                return cnr_errf(err, errno, "release the init");
        r = recv_msg(c->sync, &m, NULL, 30000);
        close(c->sync);
        c->sync = -1;
        if (r == 0)
                return 0; /* the close-on-exec end closed: execve succeeded */
        if (r == 1 && m.kind == MSG_ERROR)
                return cnr_errf(err, m.code, "%s", m.text);
        return cnr_errf(err, r < 0 ? errno : EPROTO, "start: no word from the init");
}

/* Close every fd but 0-2 and those in keep (-1: none).  The exec's
 * intermediate calls it before it joins the container: its child is in
 * the container's pid namespace from clone3 until its execve, and a
 * process of the container with CAP_SYS_PTRACE (not user-namespaced) may
 * open /proc/<child>/fd/N, non-dumpable or not.  Whatever the shim holds
 * (bind sources, its private and socket dirs, clients) must be gone by
 * then, not only close-on-exec. */
static int
close_all_but(const int *keep, size_t n)
{
        unsigned int k[8], lo = 3;
        size_t m = 0;

        for (size_t i = 0; i < n && m < CNR_ARRAY_LEN(k); i++)
                if (keep[i] > 2)
                        k[m++] = (unsigned int)keep[i];
        for (size_t i = 1; i < m; i++) /* insertion sort: a handful */
                for (size_t j = i; j > 0 && k[j - 1] > k[j]; j--) {
                        unsigned int t = k[j];
                        k[j] = k[j - 1];
                        k[j - 1] = t;
                }
        for (size_t i = 0; i < m; i++) {
                if (k[i] > lo && syscall(SYS_close_range, lo, k[i] - 1, 0U) < 0)
                        return -1;
                if (k[i] + 1 > lo)
                        lo = k[i] + 1;
        }
        return (int)syscall(SYS_close_range, lo, ~0U, 0U);
}

static __attribute__((noreturn)) void
exec_child(struct shim_container *c, Cnr__Shim__Process *p, const int *stdio, int sync)
{
        struct cnr_err *err = NULL;
        int master = -1;

        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (stdio ? stdio_onto(stdio, &err) < 0 : open_pty(p, &master, &err) < 0)
                child_fail(sync, err);
        if (set_rlimits(c->spec->process, &err) < 0)
                child_fail(sync, err);
        if (tidy_fds(&sync, &master) < 0)
                child_fail(sync, (cnr_errf(&err, errno, "close the inherited fds"), err));
        if (master >= 0) {
                if (send_msg(sync, MSG_READY, 0, 0, NULL, master) < 0)
                        _exit(1);
                close(master);
        }
        /* The init's program when it was compiled for the same capabilities
         * (the same spec's profile): no compile on the exec's path. */
        if (c->prog && effective_of(caps_of(p, c->spec->process)) == c->prog_caps)
                finalize(sync, p, c->spec->process, c->spec->seccomp, c->prog, c->prog_len);
        finalize(sync, p, c->spec->process, c->spec->seccomp, NULL, 0);
}

pid_t
shim_container_exec(struct shim_container *c, Cnr__Shim__Process *p, const int *stdio, int *pty_master,
                    struct cnr_err **err)
{
        int sv[2];
        pid_t mid, pid = -1;
        struct sync_msg m;
        int r, master = -1;
        struct shim_cgroup_entry cge __attribute__((cleanup(cgentry_closep))) = {.v2dir = -1};
        struct clone_args mca = {.exit_signal = SIGCHLD};

        if (c->pidfd < 0)
                return cnr_errf(err, ESRCH, "the container is not running");
        /* The intermediate enters the cgroups as the init did (born in the
         * cgroup2 directory, then itself into each v1 hierarchy). */
        if (c->cg && shim_cgroup_entry_open(c->cg, &cge, err) < 0)
                return -1;
        if (cge.v2dir >= 0) {
                mca.flags |= CLONE_INTO_CGROUP;
                mca.cgroup = (uint64_t)cge.v2dir;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return cnr_errf(err, errno, "socketpair");
        mid = (pid_t)syscall(SYS_clone3, &mca, sizeof(mca));
        if (mid < 0) {
                r = errno;
                close(sv[0]);
                close(sv[1]);
                return cnr_errf(err, r, "clone3 the exec's intermediate");
        }
        if (mid == 0) {
                /* The intermediate: joins the cgroup and every namespace of
                 * the init, then makes the exec process as a child of the
                 * shim (CLONE_PARENT), inside the container's pid namespace. */
                struct clone_args ca = {.flags = CLONE_PARENT};
                int nsflags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
                pid_t child;
                struct cnr_err *e = NULL;

                close(sv[0]);
                prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                if (shim_cgroup_entry_join(&cge) < 0)
                        child_fail(sv[1], (cnr_errf(&e, errno, "join the container's cgroups"), e));
                shim_cgroup_entry_close(&cge);
                if (close_all_but((int[]){sv[1], c->pidfd, stdio ? stdio[0] : -1, stdio ? stdio[1] : -1,
                                          stdio ? stdio[2] : -1},
                                  5) < 0)
                        child_fail(sv[1], (cnr_errf(&e, errno, "close the shim's fds"), e));
                if (c->spec->cgroup_path[0])
                        nsflags |= CLONE_NEWCGROUP;
                if (c->spec->namespaces && c->spec->namespaces->user)
                        nsflags |= CLONE_NEWUSER;
                if (setns(c->pidfd, nsflags) < 0)
                        child_fail(sv[1], (cnr_errf(&e, errno, "join the container's namespaces"), e));
                close(c->pidfd);
                child = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
                if (child < 0)
                        child_fail(sv[1], (cnr_errf(&e, errno, "clone3 the exec process"), e));
                if (child == 0)
                        exec_child(c, p, stdio, sv[1]);
                send_msg(sv[1], MSG_PID, 0, child, NULL, -1);
                _exit(0);
        }
        close(sv[1]);
        waitpid(mid, NULL, 0);
        /* The intermediate's pid record and the exec process's pty or
         * error come in any order; EOF once both ends are gone (exit, or
         * the close-on-exec end at a successful execve). */
        for (;;) {
                int fd = -1;
                r = recv_msg(sv[0], &m, &fd, 10000);
                if (r == 0)
                        break;
                if (r < 0) {
                        if (!*err)
                                cnr_errf(err, errno, "exec: no word from the exec process");
                        break;
                }
                if (m.kind == MSG_PID)
                        pid = m.pid;
                else if (m.kind == MSG_READY && fd >= 0 && master < 0)
                        master = steal_fd(&fd);
                else if (m.kind == MSG_ERROR && !*err)
                        cnr_errf(err, m.code, "%s", m.text);
                if (fd >= 0)
                        close(fd);
        }
        close(sv[0]);
        if (!*err && pid <= 0)
                cnr_errf(err, EPROTO, "exec: no pid from the intermediate process");
        if (!*err && !stdio && master < 0)
                cnr_errf(err, EPROTO, "exec: no pty from the exec process");
        if (*err) {
                if (master >= 0)
                        close(master);
                if (pid > 0)
                        kill(pid, SIGKILL);
                return -1;
        }
        if (pty_master)
                *pty_master = master;
        return pid;
}
