/* containr-shim: start-up, the setup channel, the event loop and the API.
 *
 *   containr-shim --id ID --socket-dir DIR --owner UID:GID [--log-level L] [--snapshot-root DIR]
 *
 *   fd 3  the container spec (ipc/shim.proto ContainerSpec), a sealed memfd
 *   fd 4  the setup channel (SEQPACKET): one Setup.bundle datagram in,
 *         carrying spec.nfds fds; Setup.created or Setup.error out
 *
 * The shim first re-executes itself from a sealed memfd copy of its own
 * binary, so /proc/<pid>/exe of the shim and of every process it forks
 * before exec is that copy, which cannot be written (THREATS 9).  It then
 * runs detached (its own session, a subreaper), creates the container,
 * and serves ipc/shim.proto's ToShim on DIR/sock until Shutdown.  See
 * man/containr-shim.8.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "ipc/frame.h"
#include "ipc/permit.h"
#include "helpers/shim/shim.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

struct attach {
        int in_r;           /* client's stdin, we read */
        int out_w, err_w;   /* we write the container's output */
};

struct client {
        int fd;
        bool hello;
        uint32_t wait_reqid;
        int wait_pid;       /* -1: not waiting */
        bool waiting;
};

struct execd {
        pid_t pid;
        bool exited;
        int code;
};

/* A bind source the CLI opened (O_PATH), kept for the shim's whole life:
 * after a restart containrd has no copy, and asks (op_source). */
struct held {
        int source; /* Mount.source */
        int fd;
};

struct shim {
        const char *id;
        uid_t owner_uid;
        gid_t owner_gid;
        int dirfd;          /* the socket dir */
        int listen;
        int sigfd;
        struct shim_container c;
        struct shim_log *log;
        const char *status; /* created, running, stopped */
        int exit_code;
        bool oom;
        uint64_t started_ms, finished_ms;
        struct client cl[SHIM_MAX_CLIENTS];
        struct attach at[SHIM_MAX_CLIENTS];
        struct execd ex[SHIM_MAX_EXECS];
        struct held held[SHIM_MAX_FDS];
        size_t nheld;
        bool quit;
        uint8_t buf[CNR_IPC_HELPER_CAP];
};

/* ---- start-up ---------------------------------------------------------- */

static void
die(const char *fmt, ...)
{
        va_list ap;
        char msg[512];

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_error("%s", msg);
        _exit(1);
}

/* THREATS 9: run from a sealed copy of ourselves. */
static void
reexec_sealed(char **argv)
{
        _cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        int mfd, seals;
        struct stat st;
        off_t off = 0;

        if (self < 0)
                die("open /proc/self/exe: %s", strerror(errno));
        seals = fcntl(self, F_GET_SEALS);
        if (seals >= 0 && (seals & SEALS) == SEALS)
                return; /* already the copy */
        mfd = memfd_create("containr-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (mfd < 0 && errno == EINVAL) /* kernels before 6.3 know no MFD_EXEC */
                mfd = memfd_create("containr-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0 || fstat(self, &st) < 0)
                die("memfd_create: %s", strerror(errno));
        while (off < st.st_size)
                if (sendfile(mfd, self, &off, (size_t)(st.st_size - off)) <= 0)
                        die("copy the shim binary: %s", strerror(errno));
        if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
                die("seal the shim copy: %s", strerror(errno));
        syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
        die("exec the sealed copy: %s", strerror(errno));
}

static Cnr__Shim__ContainerSpec *
read_spec(int fd, struct cnr_err **err)
{
        struct stat st;
        int seals = fcntl(fd, F_GET_SEALS);
        _cleanup_free_ uint8_t *buf = NULL;
        Cnr__Shim__ContainerSpec *s;
        ssize_t n;

        if (seals < 0 || (seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)) !=
                                 (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)) {
                cnr_errf(err, EPERM, "the spec (fd 3) is not a sealed memfd");
                return NULL;
        }
        if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > SHIM_SPEC_MAX) {
                cnr_errf(err, EMSGSIZE, "the spec is empty or larger than %d bytes", SHIM_SPEC_MAX);
                return NULL;
        }
        buf = xmalloc((size_t)st.st_size);
        n = pread(fd, buf, (size_t)st.st_size, 0);
        if (n != st.st_size) {
                cnr_errf(err, errno ? errno : EIO, "read the spec");
                return NULL;
        }
        s = cnr__shim__container_spec__unpack(NULL, (size_t)n, buf);
        if (!s || !protobuf_c_message_check(&s->base)) {
                if (s)
                        cnr__shim__container_spec__free_unpacked(s, NULL);
                cnr_errf(err, EBADMSG, "the spec does not decode");
                return NULL;
        }
        return s;
}

/* One Setup.bundle datagram with exactly `want` fds. */
static int
read_bundle(int sock, int *fds, size_t want, struct cnr_err **err)
{
        union {
                char buf[CMSG_SPACE(SHIM_MAX_FDS * sizeof(int))];
                struct cmsghdr align;
        } u;
        uint8_t body[256];
        struct iovec iov = {.iov_base = body, .iov_len = sizeof(body)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
        struct cmsghdr *c;
        struct cnr_frame f;
        size_t got = 0;
        ssize_t n;
        ProtobufCMessage *env;

        if (poll(&(struct pollfd){.fd = sock, .events = POLLIN}, 1, 30000) <= 0)
                return cnr_errf(err, ETIMEDOUT, "no fd bundle on the setup channel");
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0)
                return cnr_errf(err, n < 0 ? errno : EPIPE, "read the fd bundle");
        c = CMSG_FIRSTHDR(&mh);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(0)) {
                got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                memcpy(fds, CMSG_DATA(c), got * sizeof(int));
        }
        if ((mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || (c && CMSG_NXTHDR(&mh, c)) || got != want) {
                for (size_t i = 0; i < got; i++)
                        close(fds[i]);
                return cnr_errf(err, EBADMSG, "the fd bundle carries %zu fds, the spec declares %zu", got, want);
        }
        if (cnr_frame_parse(body, (size_t)n, &f, err) < 0)
                goto bad;
        f.nfds = 0;
        env = cnr_frame_decode(&f, &cnr__shim__setup__descriptor, err);
        if (!env)
                goto bad;
        if (((Cnr__Shim__Setup *)env)->msg_case != CNR__SHIM__SETUP__MSG_BUNDLE) {
                protobuf_c_message_free_unpacked(env, NULL);
                cnr_errf(err, EBADMSG, "expected a bundle on the setup channel");
                goto bad;
        }
        protobuf_c_message_free_unpacked(env, NULL);
        return 0;
bad:
        for (size_t i = 0; i < got; i++)
                close(fds[i]);
        return -1;
}

/* Read and drop what the spawner sent and we did not take: unread data
 * on a closed SEQPACKET socket turns our answer into ECONNRESET. */
static void
drain_setup(int sock)
{
        union {
                char buf[CMSG_SPACE(SHIM_MAX_FDS * sizeof(int))];
                struct cmsghdr align;
        } u;
        char body[256];

        for (int i = 0; i < 4; i++) {
                struct iovec iov = {.iov_base = body, .iov_len = sizeof(body)};
                struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                                    .msg_controllen = sizeof(u.buf)};
                struct cmsghdr *c;
                if (recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
                        return;
                for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
                                int fd;
                                memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
                                close(fd);
                        }
                }
        }
}

static void
setup_reply(int sock, struct shim *sh, struct cnr_err *e)
{
        Cnr__Shim__Setup env = CNR__SHIM__SETUP__INIT;
        Cnr__Shim__Created cr = CNR__SHIM__CREATED__INIT;
        Cnr__Error er = CNR__ERROR__INIT;
        struct cnr_err *err = NULL;
        char path[64];

        if (e) {
                er.errno_code = e->code;
                er.message = e->msg;
                env.msg_case = CNR__SHIM__SETUP__MSG_ERROR;
                env.error = &er;
        } else {
                snprintf(path, sizeof(path), "sock");
                cr.pid = sh->c.pid;
                cr.socket = path;
                env.msg_case = CNR__SHIM__SETUP__MSG_CREATED;
                env.created = &cr;
        }
        if (cnr_frame_send(sock, env.msg_case, 0, &env.base, NULL, 0, CNR_IPC_HELPER_CAP, &err) < 0) {
                log_warn("setup channel: %s", cnr_err_str(err));
                cnr_err_free(&err);
        }
}

static void
diag_sink(enum cnr_log_level lvl, const char *msg, void *arg)
{
        int fd = (int)(intptr_t)arg;
        char ts[64];
        _cleanup_free_ char *line = NULL;

        cnr_rfc3339(ts, sizeof(ts));
        line = xasprintf("%s containr-shim[%d]: %s: %s\n", ts, (int)getpid(), cnr_log_level_name(lvl), msg);
        if (fd >= 0)
                (void)!write(fd, line, strlen(line));
}

static int
make_dirs(struct shim *sh, const char *dir, struct cnr_err **err)
{
        int logfd, priv;

        if (mkdir(dir, 0700) < 0)
                return cnr_errf(err, errno, "create the socket dir `%s`", dir);
        sh->dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (sh->dirfd < 0)
                return cnr_errf(err, errno, "open `%s`", dir);
        /* The supervisor may enter it (to reach the socket); what the shim
         * mounts from lives in priv/, root's alone, always used by fd. */
        if (fchown(sh->dirfd, sh->owner_uid, sh->owner_gid) < 0 || fchmod(sh->dirfd, 0700) < 0)
                return cnr_errf(err, errno, "chown `%s`", dir);
        logfd = openat(sh->dirfd, "shim.log", O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (logfd >= 0) {
                if (fchown(logfd, sh->owner_uid, sh->owner_gid) < 0)
                        log_warn("chown shim.log: %s", strerror(errno));
                cnr_log_init("containr-shim", CNR_LOG_INFO, diag_sink, (void *)(intptr_t)logfd);
        }
        if (mkdirat(sh->dirfd, "priv", 0700) < 0)
                return cnr_errf(err, errno, "create `%s/priv`", dir);
        priv = openat(sh->dirfd, "priv", O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (priv < 0 || mkdirat(priv, "rootfs", 0700) < 0 || mkdirat(priv, "etc", 0700) < 0)
                return cnr_errf(err, errno, "create `%s/priv/...`", dir);
        sh->c.privfd = priv;
        return 0;
}

static void
remove_dirs(struct shim *sh)
{
        if (sh->dirfd < 0)
                return;
        if (sh->c.privfd >= 0) {
                unlinkat(sh->c.privfd, "rootfs", AT_REMOVEDIR);
                unlinkat(sh->c.privfd, "etc", AT_REMOVEDIR);
        }
        unlinkat(sh->dirfd, "priv", AT_REMOVEDIR);
        unlinkat(sh->dirfd, "sock", 0);
        unlinkat(sh->dirfd, "shim.log", 0);
        rmdir(sh->c.sockdir);
}

static int
listen_socket(struct shim *sh, struct cnr_err **err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        mode_t old;

        /* A short path whatever the dir's length (THREATS 35). */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/sock", sh->dirfd);
        sh->listen = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (sh->listen < 0)
                return cnr_errf(err, errno, "socket");
        old = umask(0177);
        if (bind(sh->listen, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                umask(old);
                return cnr_errf(err, errno, "bind `%s/sock`", sh->c.sockdir);
        }
        umask(old);
        if (fchownat(sh->dirfd, "sock", sh->owner_uid, sh->owner_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            listen(sh->listen, 16) < 0)
                return cnr_errf(err, errno, "listen on `%s/sock`", sh->c.sockdir);
        return 0;
}

/* ---- the container's life ---------------------------------------------- */

static void
pump(struct shim *sh, int *fd, int stream)
{
        char buf[16384];
        ssize_t n = read(*fd, buf, sizeof(buf));

        if (n > 0) {
                if (sh->log)
                        shim_log_data(sh->log, stream, buf, (size_t)n);
                for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
                        int w = stream == 2 ? sh->at[i].err_w : sh->at[i].out_w;
                        if (w >= 0 && write(w, buf, (size_t)n) < 0 && errno != EAGAIN) {
                                close(w);
                                if (stream == 2)
                                        sh->at[i].err_w = -1;
                                else
                                        sh->at[i].out_w = -1;
                        }
                }
                return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        /* EOF, or EIO on a pty master whose slave is gone. */
        close(*fd);
        *fd = -1;
}

static void
drain(struct shim *sh)
{
        int *fds[] = {&sh->c.stdout_r, &sh->c.stderr_r, &sh->c.pty_master};
        int streams[] = {1, 2, 1};

        for (size_t i = 0; i < 3; i++) {
                if (*fds[i] < 0)
                        continue;
                fcntl(*fds[i], F_SETFL, O_NONBLOCK);
                for (int k = 0; k < 4096 && *fds[i] >= 0; k++) {
                        struct pollfd p = {.fd = *fds[i], .events = POLLIN};
                        if (poll(&p, 1, 0) <= 0)
                                break;
                        pump(sh, fds[i], streams[i]);
                }
        }
        if (sh->log)
                shim_log_flush(sh->log);
}

static void reply_exited(struct shim *sh, struct client *cl, int pid, int code, bool oom);

static void
init_exited(struct shim *sh, int status)
{
        sh->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        sh->oom = shim_cgroup_oom_kills(sh->c.cg) > 0;
        sh->status = "stopped";
        sh->finished_ms = (uint64_t)time(NULL) * 1000;
        log_info("container %s: init %d exited with %d%s", sh->id, (int)sh->c.pid, sh->exit_code,
                 sh->oom ? " (OOM killed)" : "");
        drain(sh);
        if (sh->c.stdin_w >= 0) {
                close(sh->c.stdin_w);
                sh->c.stdin_w = -1;
        }
        for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
                if (sh->at[i].out_w >= 0)
                        close(sh->at[i].out_w);
                if (sh->at[i].err_w >= 0)
                        close(sh->at[i].err_w);
                sh->at[i].out_w = sh->at[i].err_w = -1;
        }
        if (sh->c.pidfd >= 0) {
                close(sh->c.pidfd);
                sh->c.pidfd = -1;
        }
        if (sh->c.sync >= 0) {
                close(sh->c.sync);
                sh->c.sync = -1;
        }
        if (sh->c.cg)
                shim_cgroup_destroy(sh->c.cg);
        for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
                if (sh->cl[i].fd >= 0 && sh->cl[i].waiting && sh->cl[i].wait_pid == 0)
                        reply_exited(sh, &sh->cl[i], sh->c.pid, sh->exit_code, sh->oom);
}

static void
reap(struct shim *sh)
{
        struct signalfd_siginfo si;
        int status;
        pid_t p;

        while (read(sh->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                        sh->quit = true;
        }
        while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
                if (p == sh->c.pid && strcmp(sh->status, "stopped") != 0) {
                        init_exited(sh, status);
                        continue;
                }
                for (int i = 0; i < SHIM_MAX_EXECS; i++) {
                        if (sh->ex[i].pid != p)
                                continue;
                        sh->ex[i].exited = true;
                        sh->ex[i].code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                        for (int k = 0; k < SHIM_MAX_CLIENTS; k++)
                                if (sh->cl[k].fd >= 0 && sh->cl[k].waiting && sh->cl[k].wait_pid == p)
                                        reply_exited(sh, &sh->cl[k], p, sh->ex[i].code, false);
                }
        }
}

/* ---- the API ----------------------------------------------------------- */

static const struct cnr_permit api_permits[] = {
        {CNR__SHIM__TO_SHIM__OP_HELLO, CNR_PERMIT_HELLO, 0, "hello", NULL},
        {CNR__SHIM__TO_SHIM__OP_STATE, 0, 0, "state", NULL},
        {CNR__SHIM__TO_SHIM__OP_START, 0, 0, "start", NULL},
        {CNR__SHIM__TO_SHIM__OP_KILL, 0, 0, "kill", NULL},
        {CNR__SHIM__TO_SHIM__OP_WAIT, 0, 0, "wait", NULL},
        {CNR__SHIM__TO_SHIM__OP_ATTACH, 0, 0, "attach", NULL},
        {CNR__SHIM__TO_SHIM__OP_RESIZE, 0, 0, "resize", NULL},
        {CNR__SHIM__TO_SHIM__OP_EXEC, 0, 3, "exec", NULL},
        {CNR__SHIM__TO_SHIM__OP_EXEC_TTY, 0, 0, "exec_tty", NULL},
        {CNR__SHIM__TO_SHIM__OP_SHUTDOWN, 0, 0, "shutdown", NULL},
        {CNR__SHIM__TO_SHIM__OP_SOURCE, 0, 0, "source", NULL},
};

static void
send_env(struct client *cl, uint32_t reqid, Cnr__Shim__FromShim *env, const int *fds, size_t nfds)
{
        struct cnr_err *err = NULL;

        if (cnr_frame_send(cl->fd, (uint16_t)env->msg_case, reqid, &env->base, fds, nfds, CNR_IPC_HELPER_CAP,
                           &err) < 0) {
                log_warn("reply to a client: %s", cnr_err_str(err));
                cnr_err_free(&err);
        }
}

static void
reply_error(struct client *cl, uint32_t reqid, int code, const char *msg)
{
        Cnr__Shim__FromShim env = CNR__SHIM__FROM_SHIM__INIT;
        Cnr__Error e = CNR__ERROR__INIT;

        e.errno_code = code;
        e.message = (char *)msg;
        env.msg_case = CNR__SHIM__FROM_SHIM__MSG_ERROR;
        env.error = &e;
        send_env(cl, reqid, &env, NULL, 0);
}

static void
reply_err(struct client *cl, uint32_t reqid, struct cnr_err **err)
{
        reply_error(cl, reqid, (*err)->code, (*err)->msg);
        cnr_err_free(err);
}

static void
reply_done(struct client *cl, uint32_t reqid)
{
        Cnr__Shim__FromShim env = CNR__SHIM__FROM_SHIM__INIT;
        Cnr__Shim__Done d = CNR__SHIM__DONE__INIT;

        env.msg_case = CNR__SHIM__FROM_SHIM__MSG_DONE;
        env.done = &d;
        send_env(cl, reqid, &env, NULL, 0);
}

static void
reply_exited(struct shim *sh, struct client *cl, int pid, int code, bool oom)
{
        Cnr__Shim__FromShim env = CNR__SHIM__FROM_SHIM__INIT;
        Cnr__Shim__Exited x = CNR__SHIM__EXITED__INIT;

        x.pid = pid;
        x.exit_code = code;
        x.oom_killed = oom;
        env.msg_case = CNR__SHIM__FROM_SHIM__MSG_EXITED;
        env.exited = &x;
        send_env(cl, cl->wait_reqid, &env, NULL, 0);
        cl->waiting = false;
        (void)sh;
}

static void
op_state(struct shim *sh, struct client *cl, uint32_t reqid)
{
        Cnr__Shim__FromShim env = CNR__SHIM__FROM_SHIM__INIT;
        Cnr__Shim__ContainerState st = CNR__SHIM__CONTAINER_STATE__INIT;

        st.id = (char *)sh->id;
        st.pid = sh->c.pid;
        st.status = (char *)sh->status;
        st.exit_code = sh->exit_code;
        st.oom_killed = sh->oom;
        st.shim_pid = getpid();
        st.started_at_ms = sh->started_ms;
        st.finished_at_ms = sh->finished_ms;
        env.msg_case = CNR__SHIM__FROM_SHIM__MSG_STATE;
        env.state = &st;
        send_env(cl, reqid, &env, NULL, 0);
}

static void
op_start(struct shim *sh, struct client *cl, uint32_t reqid)
{
        struct cnr_err *err = NULL;

        if (strcmp(sh->status, "created") != 0) {
                reply_error(cl, reqid, EALREADY, "the container was already started");
                return;
        }
        if (shim_container_start(&sh->c, &err) < 0) {
                log_warn("start: %s", cnr_err_str(err));
                reply_err(cl, reqid, &err);
                return;
        }
        sh->status = "running";
        sh->started_ms = (uint64_t)time(NULL) * 1000;
        reply_done(cl, reqid);
}

static void
op_kill(struct shim *sh, struct client *cl, uint32_t reqid, Cnr__Shim__Kill *k)
{
        if (k->signal <= 0 || k->signal >= NSIG) {
                reply_error(cl, reqid, EINVAL, "no such signal");
                return;
        }
        if (sh->c.pidfd < 0) {
                reply_error(cl, reqid, ESRCH, "the container is not running");
                return;
        }
        if (k->all && sh->c.cg)
                shim_cgroup_kill(sh->c.cg, k->signal);
        if (syscall(SYS_pidfd_send_signal, sh->c.pidfd, k->signal, NULL, 0) < 0 && errno != ESRCH) {
                reply_error(cl, reqid, errno, "signal the init");
                return;
        }
        reply_done(cl, reqid);
}

static void
op_wait(struct shim *sh, struct client *cl, uint32_t reqid, Cnr__Shim__Wait *w)
{
        if (cl->waiting) {
                reply_error(cl, reqid, EBUSY, "one wait per connection");
                return;
        }
        cl->wait_reqid = reqid;
        cl->wait_pid = w->pid;
        cl->waiting = true;
        if (w->pid == 0) {
                if (strcmp(sh->status, "stopped") == 0)
                        reply_exited(sh, cl, sh->c.pid, sh->exit_code, sh->oom);
                return;
        }
        for (int i = 0; i < SHIM_MAX_EXECS; i++)
                if (sh->ex[i].pid == w->pid) {
                        if (sh->ex[i].exited)
                                reply_exited(sh, cl, w->pid, sh->ex[i].code, false);
                        return;
                }
        cl->waiting = false;
        reply_error(cl, reqid, ESRCH, "no such process of this container");
}

static void
op_attach(struct shim *sh, struct client *cl, uint32_t reqid)
{
        Cnr__Shim__FromShim env = CNR__SHIM__FROM_SHIM__INIT;
        Cnr__Shim__Attached a = CNR__SHIM__ATTACHED__INIT;
        int in[2], out[2], er[2];
        int slot = (int)(cl - sh->cl);

        if (strcmp(sh->status, "stopped") == 0) {
                reply_error(cl, reqid, ESRCH, "the container has stopped");
                return;
        }
        if (sh->at[slot].in_r >= 0 || sh->at[slot].out_w >= 0) {
                reply_error(cl, reqid, EBUSY, "already attached on this connection");
                return;
        }
        if (pipe2(in, O_CLOEXEC | O_NONBLOCK) < 0)
                goto fail;
        if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0) {
                close(in[0]);
                close(in[1]);
                goto fail;
        }
        if (pipe2(er, O_CLOEXEC | O_NONBLOCK) < 0) {
                close(in[0]);
                close(in[1]);
                close(out[0]);
                close(out[1]);
                goto fail;
        }
        sh->at[slot].in_r = in[0];
        sh->at[slot].out_w = out[1];
        sh->at[slot].err_w = er[1];
        if (sh->c.pty_master >= 0) { /* a terminal has one stream */
                close(er[1]);
                sh->at[slot].err_w = -1;
        }
        env.msg_case = CNR__SHIM__FROM_SHIM__MSG_ATTACHED;
        env.attached = &a;
        send_env(cl, reqid, &env, (int[]){in[1], out[0], er[0]}, 3);
        close(in[1]);
        close(out[0]);
        close(er[0]);
        return;
fail:
        reply_error(cl, reqid, errno, "pipe2");
}

static void
op_resize(struct shim *sh, struct client *cl, uint32_t reqid, Cnr__Shim__Resize *r)
{
        struct winsize ws = {.ws_row = (unsigned short)r->rows, .ws_col = (unsigned short)r->cols};

        if (sh->c.pty_master < 0 || r->pid != 0) {
                reply_error(cl, reqid, ENOTTY, "the container has no terminal");
                return;
        }
        if (r->rows > 65535 || r->cols > 65535 || ioctl(sh->c.pty_master, TIOCSWINSZ, &ws) < 0) {
                reply_error(cl, reqid, errno ? errno : EINVAL, "resize");
                return;
        }
        reply_done(cl, reqid);
}

static void
op_exec(struct shim *sh, struct client *cl, struct cnr_frame *f, Cnr__Shim__Exec *x, bool tty)
{
        Cnr__Shim__FromShim env = CNR__SHIM__FROM_SHIM__INIT;
        Cnr__Shim__ExecStarted es = CNR__SHIM__EXEC_STARTED__INIT;
        struct cnr_err *err = NULL;
        int master = -1, slot = -1;
        pid_t pid;

        if (strcmp(sh->status, "running") != 0) {
                reply_error(cl, f->reqid, ESRCH, "the container is not running");
                return;
        }
        if (shim_process_validate(x->process, "exec", &err) < 0) {
                reply_err(cl, f->reqid, &err);
                return;
        }
        if (x->process->terminal != tty) {
                reply_error(cl, f->reqid, EINVAL, "exec_tty is for terminal processes, exec for the others");
                return;
        }
        for (int i = 0; i < SHIM_MAX_EXECS && slot < 0; i++)
                if (sh->ex[i].pid == 0 || sh->ex[i].exited)
                        slot = i;
        if (slot < 0) {
                reply_error(cl, f->reqid, EAGAIN, "too many exec'd processes");
                return;
        }
        pid = shim_container_exec(&sh->c, x->process, tty ? NULL : f->fds, &master, &err);
        if (pid < 0) {
                log_warn("exec: %s", cnr_err_str(err));
                reply_err(cl, f->reqid, &err);
                return;
        }
        sh->ex[slot] = (struct execd){.pid = pid};
        es.pid = pid;
        env.msg_case = CNR__SHIM__FROM_SHIM__MSG_EXEC_STARTED;
        env.exec_started = &es;
        send_env(cl, f->reqid, &env, tty ? &master : NULL, tty ? 1 : 0);
        if (master >= 0)
                close(master);
}

/* Hand a bind source back to containrd (it restarted and lost its copy).
 * The fd is what containrd itself passed in the bundle: an O_PATH fd the
 * CLI opened with the operator's credentials; nothing new is opened. */
static void
op_source(struct shim *sh, struct client *cl, uint32_t reqid, Cnr__Shim__Source *src)
{
        Cnr__Shim__FromShim env = CNR__SHIM__FROM_SHIM__INIT;
        Cnr__Shim__SourceHeld h = CNR__SHIM__SOURCE_HELD__INIT;

        for (size_t i = 0; i < sh->nheld; i++)
                if (sh->held[i].source == src->index) {
                        h.index = src->index;
                        env.msg_case = CNR__SHIM__FROM_SHIM__MSG_SOURCE_HELD;
                        env.source_held = &h;
                        send_env(cl, reqid, &env, &sh->held[i].fd, 1);
                        return;
                }
        reply_error(cl, reqid, ENOENT, "no bind source with that number");
}

static void
client_close(struct shim *sh, int i)
{
        close(sh->cl[i].fd);
        sh->cl[i].fd = -1;
        sh->cl[i].waiting = false;
        if (sh->at[i].in_r >= 0)
                close(sh->at[i].in_r);
        if (sh->at[i].out_w >= 0)
                close(sh->at[i].out_w);
        if (sh->at[i].err_w >= 0)
                close(sh->at[i].err_w);
        sh->at[i] = (struct attach){-1, -1, -1};
}

static void
client_read(struct shim *sh, int i)
{
        struct client *cl = &sh->cl[i];
        struct cnr_err *err = NULL;
        const struct cnr_permit *pm;
        Cnr__Shim__ToShim *env;
        struct cnr_frame f;
        int r = cnr_frame_recv(cl->fd, sh->buf, sizeof(sh->buf), &f, &err);

        if (r == 0) {
                client_close(sh, i);
                return;
        }
        if (r < 0 && err->code == EAGAIN) {
                cnr_err_free(&err);
                return;
        }
        if (r < 0 || cnr_permit_check(api_permits, CNR_ARRAY_LEN(api_permits), cl->hello, &f, &pm, &err) < 0)
                goto bad;
        env = (Cnr__Shim__ToShim *)cnr_frame_decode(&f, &cnr__shim__to_shim__descriptor, &err);
        if (!env)
                goto bad;
        switch (env->op_case) {
        case CNR__SHIM__TO_SHIM__OP_HELLO: {
                Cnr__Shim__FromShim out = CNR__SHIM__FROM_SHIM__INIT;
                Cnr__Hello h = CNR__HELLO__INIT;
                if (env->hello->protocol != CNR_IPC_PROTOCOL) {
                        reply_error(cl, f.reqid, EPROTO, "protocol mismatch");
                        protobuf_c_message_free_unpacked(&env->base, NULL);
                        cnr_frame_close_fds(&f);
                        client_close(sh, i);
                        return;
                }
                cl->hello = true;
                h.protocol = CNR_IPC_PROTOCOL;
                h.name = "containr-shim";
                h.pid = getpid();
                h.version = PACKAGE_VERSION;
                out.msg_case = CNR__SHIM__FROM_SHIM__MSG_HELLO;
                out.hello = &h;
                send_env(cl, f.reqid, &out, NULL, 0);
                break;
        }
        case CNR__SHIM__TO_SHIM__OP_STATE:
                op_state(sh, cl, f.reqid);
                break;
        case CNR__SHIM__TO_SHIM__OP_START:
                op_start(sh, cl, f.reqid);
                break;
        case CNR__SHIM__TO_SHIM__OP_KILL:
                op_kill(sh, cl, f.reqid, env->kill);
                break;
        case CNR__SHIM__TO_SHIM__OP_WAIT:
                op_wait(sh, cl, f.reqid, env->wait);
                break;
        case CNR__SHIM__TO_SHIM__OP_ATTACH:
                op_attach(sh, cl, f.reqid);
                break;
        case CNR__SHIM__TO_SHIM__OP_RESIZE:
                op_resize(sh, cl, f.reqid, env->resize);
                break;
        case CNR__SHIM__TO_SHIM__OP_EXEC:
                op_exec(sh, cl, &f, env->exec, false);
                break;
        case CNR__SHIM__TO_SHIM__OP_EXEC_TTY:
                op_exec(sh, cl, &f, env->exec_tty, true);
                break;
        case CNR__SHIM__TO_SHIM__OP_SOURCE:
                op_source(sh, cl, f.reqid, env->source);
                break;
        case CNR__SHIM__TO_SHIM__OP_SHUTDOWN:
                log_info("shutdown requested");
                sh->quit = true;
                reply_done(cl, f.reqid);
                break;
        default:
                break;
        }
        protobuf_c_message_free_unpacked(&env->base, NULL);
        cnr_frame_close_fds(&f);
        return;
bad:
        if (r > 0)
                cnr_frame_close_fds(&f);
        log_warn("client dropped: %s", cnr_err_str(err));
        reply_error(cl, 0, err->code, cnr_err_str(err));
        cnr_err_free(&err);
        client_close(sh, i);
}

static void
accept_client(struct shim *sh)
{
        struct ucred uc;
        socklen_t len = sizeof(uc);
        int fd = accept4(sh->listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd < 0)
                return;
        /* Only root and the supervisor's user (THREATS 35). */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || (uc.uid != 0 && uc.uid != sh->owner_uid)) {
                log_warn("refused a client with uid %d", (int)uc.uid);
                close(fd);
                return;
        }
        for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
                if (sh->cl[i].fd < 0) {
                        sh->cl[i] = (struct client){.fd = fd, .wait_pid = -1};
                        return;
                }
        close(fd);
}

/* Input from an attached client: to the container's stdin or pty. */
static void
forward_stdin(struct shim *sh, int i)
{
        char buf[4096];
        ssize_t n = read(sh->at[i].in_r, buf, sizeof(buf));
        int to = sh->c.pty_master >= 0 ? sh->c.pty_master : sh->c.stdin_w;

        if (n > 0) {
                if (to >= 0 && cnr_write_all(to, buf, (size_t)n) < 0)
                        log_warn("stdin: %s", strerror(errno));
                return;
        }
        if (n < 0 && errno == EAGAIN)
                return;
        close(sh->at[i].in_r);
        sh->at[i].in_r = -1;
        /* The end of an attached stdin is the end of the container's. */
        if (sh->c.pty_master < 0 && sh->c.stdin_w >= 0) {
                close(sh->c.stdin_w);
                sh->c.stdin_w = -1;
        }
}

static void
loop(struct shim *sh)
{
        enum { K_SIG, K_LISTEN, K_OUT, K_ERR, K_PTY, K_CLIENT, K_STDIN };
        while (!sh->quit) {
                struct pollfd p[8 + 2 * SHIM_MAX_CLIENTS];
                int kind[8 + 2 * SHIM_MAX_CLIENTS], idx[8 + 2 * SHIM_MAX_CLIENTS];
                int n = 0;

#define ADD(f, k, i)                                                \
        do {                                                        \
                p[n] = (struct pollfd){.fd = (f), .events = POLLIN}; \
                kind[n] = (k);                                      \
                idx[n++] = (i);                                     \
        } while (0)
                ADD(sh->sigfd, K_SIG, 0);
                ADD(sh->listen, K_LISTEN, 0);
                if (sh->c.stdout_r >= 0)
                        ADD(sh->c.stdout_r, K_OUT, 0);
                if (sh->c.stderr_r >= 0)
                        ADD(sh->c.stderr_r, K_ERR, 0);
                if (sh->c.pty_master >= 0)
                        ADD(sh->c.pty_master, K_PTY, 0);
                for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
                        if (sh->cl[i].fd >= 0)
                                ADD(sh->cl[i].fd, K_CLIENT, i);
                        if (sh->at[i].in_r >= 0)
                                ADD(sh->at[i].in_r, K_STDIN, i);
                }
#undef ADD
                if (poll(p, (nfds_t)n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error("poll: %s", strerror(errno));
                        return;
                }
                for (int k = 0; k < n; k++) {
                        if (!p[k].revents)
                                continue;
                        switch (kind[k]) {
                        case K_SIG:
                                reap(sh);
                                break;
                        case K_LISTEN:
                                accept_client(sh);
                                break;
                        case K_OUT:
                                if (sh->c.stdout_r >= 0)
                                        pump(sh, &sh->c.stdout_r, 1);
                                break;
                        case K_ERR:
                                if (sh->c.stderr_r >= 0)
                                        pump(sh, &sh->c.stderr_r, 2);
                                break;
                        case K_PTY:
                                if (sh->c.pty_master >= 0 && strcmp(sh->status, "created") != 0)
                                        pump(sh, &sh->c.pty_master, 1);
                                break;
                        case K_CLIENT:
                                if (sh->cl[idx[k]].fd == p[k].fd)
                                        client_read(sh, idx[k]);
                                break;
                        case K_STDIN:
                                if (sh->at[idx[k]].in_r == p[k].fd)
                                        forward_stdin(sh, idx[k]);
                                break;
                        }
                }
        }
}

static void
shutdown_container(struct shim *sh)
{
        if (sh->c.pidfd >= 0 && strcmp(sh->status, "stopped") != 0) {
                siginfo_t si = {0};
                syscall(SYS_pidfd_send_signal, sh->c.pidfd, SIGKILL, NULL, 0);
                if (waitid(P_PIDFD, (id_t)sh->c.pidfd, &si, WEXITED | WNOWAIT) == 0) {
                        int status = 0;
                        waitpid(sh->c.pid, &status, 0);
                        init_exited(sh, status);
                }
        }
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        if (sh->c.cg) {
                shim_cgroup_destroy(sh->c.cg);
                shim_cgroup_free(sh->c.cg);
                sh->c.cg = NULL;
        }
}

static void
usage(void)
{
        fprintf(stderr, "usage: containr-shim --id ID --socket-dir DIR --owner UID:GID [--log-level LEVEL]\n"
                        "                     [--snapshot-root DIR]\n"
                        "(started by containrd's monitor; see containr-shim(8))\n");
        exit(2);
}

int
main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"id", required_argument, NULL, 'i'},        {"socket-dir", required_argument, NULL, 'd'},
                {"owner", required_argument, NULL, 'o'},     {"log-level", required_argument, NULL, 'l'},
                {"snapshot-root", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0},
        };
        static struct shim shim;
        struct shim *sh = &shim;
        const char *dir = NULL, *owner = NULL, *snaproot = NULL;
        enum cnr_log_level lvl = CNR_LOG_INFO;
        struct cnr_err *err = NULL;
        unsigned long long u, g;
        sigset_t mask;
        int o;

        reexec_sealed(argv);
        cnr_log_init("containr-shim", CNR_LOG_INFO, NULL, NULL);
        while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (o) {
                case 'i': sh->id = optarg; break;
                case 'd': dir = optarg; break;
                case 'o': owner = optarg; break;
                case 'r': snaproot = optarg; break;
                case 'l':
                        if (cnr_log_level_parse(optarg, &lvl) < 0)
                                usage();
                        break;
                default: usage();
                }
        }
        if (!sh->id || !dir || !owner || optind != argc)
                usage();
        if (!shim_id_ok(sh->id))
                die("container id `%s`: not 12 to 64 lowercase hex digits", sh->id);
        {
                _cleanup_free_ char *copy = xstrdup(owner);
                char *colon = strchr(copy, ':');
                if (!colon)
                        usage();
                *colon = '\0';
                if (cnr_parse_uint(copy, 0x7fffffff, &u) < 0 || cnr_parse_uint(colon + 1, 0x7fffffff, &g) < 0)
                        die("--owner `%s`: not UID:GID", owner);
        }
        sh->owner_uid = (uid_t)u;
        sh->owner_gid = (gid_t)g;
        sh->status = "created";
        sh->listen = sh->sigfd = sh->dirfd = -1;
        sh->c = (struct shim_container){.sockdir = (char *)dir, .pidfd = -1, .sync = -1, .pty_master = -1,
                                        .stdin_w = -1, .stdout_r = -1, .stderr_r = -1, .privfd = -1,
                                        .sysfd = -1, .snaprootfd = -1, .bpf = -1};
        /* Where mountd's snapshots live (the monitor's word, not the
         * spec's): a volume's root is given to the container's ids only
         * if it is below it (mounts.c: shim_mounts_userns_root). */
        if (snaproot) {
                sh->c.snaprootfd = open(snaproot, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sh->c.snaprootfd < 0)
                        die("--snapshot-root `%s`: %s", snaproot, strerror(errno));
        }
        for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
                sh->cl[i].fd = -1;
                sh->at[i] = (struct attach){-1, -1, -1};
        }
        /* Detached from whoever started us: own session, and the parent of
         * every orphan of the container. */
        setsid();
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        prctl(PR_SET_NAME, "containr-shim", 0, 0, 0);
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sh->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sh->sigfd < 0)
                die("signalfd: %s", strerror(errno));

        sh->c.spec = read_spec(3, &err);
        if (!sh->c.spec || shim_spec_validate(sh->c.spec, sh->id, &err) < 0)
                goto setup_failed;
        sh->c.fds = xcalloc(sh->c.spec->nfds, sizeof(int));
        sh->c.nfds = sh->c.spec->nfds;
        if (read_bundle(4, sh->c.fds, sh->c.nfds, &err) < 0)
                goto setup_failed;
        /* The bind sources stay with us (clone_binds replaces them in the
         * bundle with their clones): containrd may need them back. */
        for (size_t i = 0; i < sh->c.spec->n_mounts; i++) {
                const Cnr__Shim__Mount *mt = sh->c.spec->mounts[i];
                int fd;

                if (!mt->bind)
                        continue;
                fd = fcntl(sh->c.fds[mt->fd], F_DUPFD_CLOEXEC, 3);
                if (fd < 0) {
                        cnr_errf(&err, errno, "bind mount for `%s`: keep its source", mt->destination);
                        goto setup_failed;
                }
                sh->held[sh->nheld++] = (struct held){.source = mt->source, .fd = fd};
        }
        if (shim_mounts_clone_binds(sh->c.spec, sh->c.fds, &err) < 0)
                goto setup_failed;
        close(3);
        if (make_dirs(sh, dir, &err) < 0 || listen_socket(sh, &err) < 0)
                goto setup_failed;
        if (sh->c.spec->log_fd >= 0)
                sh->log = shim_log_new(sh->c.fds[sh->c.spec->log_fd]);
        if (shim_container_create(&sh->c, &err) < 0)
                goto setup_failed;
        /* The child has attached its mounts: ours are no longer needed. */
        for (size_t i = 0; i < sh->c.nfds; i++)
                if ((int)i != sh->c.spec->log_fd)
                        close(sh->c.fds[i]);
        log_info("container %s created: init %d", sh->id, (int)sh->c.pid);
        setup_reply(4, sh, NULL);
        close(4);
        {
                int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
                for (int i = 0; nul >= 0 && i < 3; i++)
                        dup3(nul, i, 0); /* cloexec: not needed, our stdio on /dev/null */
                if (nul > 2)
                        close(nul);
        }
        loop(sh);
        shutdown_container(sh);
        if (sh->log) {
                shim_log_flush(sh->log);
                shim_log_free(sh->log);
        }
        remove_dirs(sh);
        return 0;

setup_failed:
        log_error("container %s: %s", sh->id, cnr_err_str(err));
        drain_setup(4);
        remove_dirs(sh); /* before the answer: the caller may look at once */
        setup_reply(4, sh, err);
        cnr_err_free(&err);
        return 1;
}
