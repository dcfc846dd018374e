/* The monitor: containrd's root process.
 *
 * It is deliberately small.  It parses no user data and opens no network
 * socket.  It holds only its channel to the supervisor and one pidfd per
 * child.  It answers a closed set of typed requests from the supervisor
 * (ipc/monitor.proto) and does four things:
 *
 *   - fork the supervisor (which drops to its own user at once),
 *   - spawn the helpers from the fixed table, onto fds 3/4/5,
 *   - SIGKILL a helper the supervisor reports as misbehaving,
 *   - open a helper's audit log read-only for `containr system audit`,
 *   - start a containr-shim per container (SpawnShim), detached and
 *     without helper restrictions, passing its spec fd unread,
 *   - make a user namespace with a validated id map (MakeUserns), for
 *     mountd's idmapped layers,
 *
 * and it restarts any child that dies, with exponential backoff.  Every
 * request it serves and every child's death goes to monitor.audit.jsonl,
 * opened per record so no extra fd stays open.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/detach.h"
#include "common/helpers.h"
#include "common/idmap.h"
#include "common/log.h"
#include "common/spawn.h"
#include "common/util.h"
#include "ipc/frame.h"
#include "ipc/monitor.pb-c.h"
#include "ipc/permit.h"
#include "supervisor/containrd.h"

#define SUPERVISOR (CNR_HELPER_COUNT) /* index of the supervisor in children[] */
#define NCHILD (CNR_HELPER_COUNT + 1)
#define STABLE_MS 10000 /* a child that lived this long resets its backoff */

struct child {
        const char *name;
        pid_t pid;
        int pidfd;
        unsigned restarts;    /* times it was restarted after dying */
        unsigned failures;    /* consecutive short lives: drives the backoff */
        uint64_t started_ms;
        uint64_t restart_at;  /* 0 = not scheduled */
};

struct monitor {
        struct cnr_daemon *d;
        struct child ch[NCHILD];
        int chan;             /* to the supervisor, -1 when it is down */
        int shim_fd;          /* sealed memfd copy of containr-shim, -1 until the first SpawnShim */
        struct stat shim_st;  /* the installed binary it was copied from */
        bool hello;           /* supervisor handshake done */
        bool stopping;
        uint8_t buf[CNR_IPC_HELPER_CAP];
};

static volatile sig_atomic_t got_term;

static void
on_term(int sig)
{
        got_term = 1;
}

static void
mon_audit(struct monitor *m, const char *op, json_t *args, int code, const char *error)
{
        _cleanup_free_ char *path = xasprintf("%s/monitor.audit.jsonl", m->d->cfg.log_dir);
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0) {
                log_error("open `%s`: %s", path, strerror(errno));
                json_decref(args);
                return;
        }
        cnr_audit_init(fd, "monitor");
        cnr_audit_event(op, code ? "deny" : "allow", args, code, error);
        cnr_audit_init(-1, "monitor");
        close(fd);
        json_decref(args);
}

static int
send_sup(struct monitor *m, uint16_t type, const ProtobufCMessage *msg, uint32_t reqid, const int *fds,
         size_t nfds)
{
        struct cnr_err *err = NULL;

        if (m->chan < 0)
                return -1;
        for (int tries = 0; tries < 50; tries++) {
                if (cnr_frame_send(m->chan, type, reqid, msg, fds, nfds, CNR_IPC_HELPER_CAP, &err) == 0)
                        return 0;
                if (err->code != EAGAIN) {
                        log_warn("to supervisor: %s", cnr_err_str(err));
                        cnr_err_free(&err);
                        return -1;
                }
                cnr_err_free(&err);
                poll(&(struct pollfd){.fd = m->chan, .events = POLLOUT}, 1, 100);
        }
        log_error("supervisor does not read its monitor channel; killing it");
        if (m->ch[SUPERVISOR].pidfd >= 0)
                syscall(SYS_pidfd_send_signal, m->ch[SUPERVISOR].pidfd, SIGKILL, NULL, 0);
        return -1;
}

static int
open_audit_file(struct monitor *m, const char *name, int flags)
{
        _cleanup_free_ char *path = xasprintf("%s/%s.audit.jsonl", m->d->cfg.log_dir, name);

        return open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
}

/* ---- helpers ---------------------------------------------------------- */

/* A binary the monitor runs as root (every helper starts as root, every
 * shim stays root) must not be writable by anyone it does not trust more
 * than itself: not by others, not by the supervisor's or a helper's user,
 * not by their groups or the API socket's group. */
static int
binary_trusted(const struct monitor *m, const struct stat *st, const char *path, struct cnr_err **err)
{
        const char *who = NULL;

        if (!S_ISREG(st->st_mode))
                return cnr_errf(err, EINVAL, "`%s` is not a regular file", path);
        if (st->st_mode & S_IWOTH)
                who = "anyone";
        else if (st->st_uid != 0 && st->st_uid == m->d->sup_id.uid)
                who = "the supervisor's user (its owner)";
        else if ((st->st_mode & S_IWGRP) && st->st_gid != 0 &&
                 (st->st_gid == m->d->sup_id.gid || st->st_gid == m->d->socket_gid))
                who = "the supervisor's or the API socket's group";
        for (size_t i = 0; i < CNR_HELPER_COUNT && !who; i++) {
                if (st->st_uid != 0 && st->st_uid == m->d->helper_id[i].uid)
                        who = "a helper's user (its owner)";
                else if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && st->st_gid == m->d->helper_id[i].gid)
                        who = "a helper's group";
        }
        if (who)
                return cnr_errf(err, EPERM, "`%s` (uid %u, gid %u, mode %04o) is writable by %s: the monitor runs it "
                                            "as root, refused",
                                path, (unsigned)st->st_uid, (unsigned)st->st_gid, (unsigned)(st->st_mode & 07777),
                                who);
        return 0;
}

static void
spawn_helper(struct monitor *m, int id)
{
        const struct cnr_helper_desc *h = &cnr_helpers[id];
        struct child *c = &m->ch[id];
        struct cnr_err *err = NULL;
        int sv[2] = {-1, -1}, lg[2] = {-1, -1}, audit = -1, pidfd = -1;
        char uid[16], gid[16];
        _cleanup_free_ char *path = xasprintf("%s/%s", m->d->cfg.helper_dir, h->binary);
        char *argv[14];
        int argc = 0;
        pid_t pid;

        c->restart_at = 0;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
            socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lg) < 0) {
                log_error("helper %s: socketpair: %s", h->name, strerror(errno));
                goto retry;
        }
        audit = open_audit_file(m, h->name, O_WRONLY | O_APPEND | O_CREAT);
        if (audit < 0) {
                log_error("helper %s: open audit log: %s", h->name, strerror(errno));
                goto retry;
        }
        snprintf(uid, sizeof(uid), "%u", (unsigned)m->d->helper_id[id].uid);
        snprintf(gid, sizeof(gid), "%u", (unsigned)m->d->helper_id[id].gid);
        argv[argc++] = (char *)h->binary;
        argv[argc++] = "--uid";
        argv[argc++] = uid;
        argv[argc++] = "--gid";
        argv[argc++] = gid;
        argv[argc++] = "--log-level";
        argv[argc++] = (char *)cnr_log_level_name(m->d->cfg.log_level);
        if (id == CNR_HELPER_SNAPD || id == CNR_HELPER_MOUNTD) {
                argv[argc++] = "--snapshot-root";
                argv[argc++] = m->d->snap_root;
        }
        if (id == CNR_HELPER_MOUNTD) {
                argv[argc++] = "--overlay-mode";
                argv[argc++] = (char *)(m->d->cfg.overlay_mode ? m->d->cfg.overlay_mode : "auto");
        }
        if (id == CNR_HELPER_NETD) {
                argv[argc++] = "--run-root";
                argv[argc++] = m->d->cfg.run_root;
        }
        argv[argc] = NULL;
        {
                _cleanup_close_ int bin = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                struct stat st;

                if (bin < 0 || fstat(bin, &st) < 0)
                        pid = cnr_errf(&err, errno, "open `%s`", path);
                else if (binary_trusted(m, &st, path, &err) < 0)
                        pid = -1;
                else
                        pid = cnr_spawn(path, argv, NULL, (int[]){sv[1], lg[1], audit}, 3, SIGKILL, &pidfd, &err);
        }
        if (pid < 0) {
                log_error("helper %s: %s", h->name, cnr_err_str(err));
                mon_audit(m, "spawn_helper", json_pack("{s:s}", "name", h->name), err->code, cnr_err_str(err));
                cnr_err_free(&err);
                goto retry;
        }
        close(sv[1]);
        close(lg[1]);
        close(audit);
        c->pid = pid;
        c->pidfd = pidfd;
        c->started_ms = cnr_now_ms();
        mon_audit(m, "spawn_helper",
                  json_pack("{s:s,s:i,s:i,s:i,s:i}", "name", h->name, "pid", (int)pid, "uid",
                            (int)m->d->helper_id[id].uid, "gid", (int)m->d->helper_id[id].gid, "restarts",
                            (int)c->restarts),
                  0, NULL);
        {
                Cnr__Mon__FromMonitor env = CNR__MON__FROM_MONITOR__INIT;
                Cnr__Mon__HelperUp up = CNR__MON__HELPER_UP__INIT;

                up.name = (char *)h->name;
                up.pid = pid;
                up.restarts = c->restarts;
                env.msg_case = CNR__MON__FROM_MONITOR__MSG_HELPER_UP;
                env.helper_up = &up;
                send_sup(m, env.msg_case, &env.base, 0, (int[]){sv[0], lg[0]}, 2);
        }
        close(sv[0]);
        close(lg[0]);
        return;
retry:
        for (int i = 0; i < 2; i++) {
                if (sv[i] >= 0)
                        close(sv[i]);
                if (lg[i] >= 0)
                        close(lg[i]);
        }
        if (audit >= 0)
                close(audit);
        c->failures++;
        c->restart_at = cnr_now_ms() + m->d->cfg.restart_max_ms;
}

static unsigned
backoff_ms(struct monitor *m, struct child *c)
{
        unsigned ms = m->d->cfg.restart_initial_ms;

        for (unsigned i = 1; i < c->failures && ms < m->d->cfg.restart_max_ms; i++)
                ms *= 2;
        return ms > m->d->cfg.restart_max_ms ? m->d->cfg.restart_max_ms : ms;
}

/* ---- the supervisor ----------------------------------------------------- */

static int
make_api_socket(struct monitor *m)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd, probe;

        if (strlen(m->d->sock_path) >= sizeof(sa.sun_path)) {
                log_error("socket path `%s` is longer than %zu bytes", m->d->sock_path, sizeof(sa.sun_path) - 1);
                return -1;
        }
        strcpy(sa.sun_path, m->d->sock_path);
        /* A socket file that still answers belongs to a live daemon. */
        probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                close(probe);
                log_error("another containrd answers on `%s`", m->d->sock_path);
                return -1;
        }
        if (probe >= 0)
                close(probe);
        unlink(m->d->sock_path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        /* Create it private, then open it to the group: no window where it is
         * reachable with the wrong owner. */
        mode_t old = umask(0177);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                umask(old);
                log_error("bind `%s`: %s", m->d->sock_path, strerror(errno));
                close(fd);
                return -1;
        }
        umask(old);
        if (chown(m->d->sock_path, 0, m->d->socket_gid) < 0 || chmod(m->d->sock_path, 0660) < 0 ||
            listen(fd, 64) < 0) {
                log_error("set up `%s`: %s", m->d->sock_path, strerror(errno));
                close(fd);
                return -1;
        }
        return fd;
}

static void
spawn_supervisor(struct monitor *m)
{
        struct child *c = &m->ch[SUPERVISOR];
        int sv[2], api, audit;
        pid_t pid;

        c->restart_at = 0;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                log_error("socketpair: %s", strerror(errno));
                goto retry;
        }
        api = make_api_socket(m);
        if (api < 0) {
                close(sv[0]);
                close(sv[1]);
                goto retry;
        }
        audit = open_audit_file(m, "containrd", O_WRONLY | O_APPEND | O_CREAT);
        if (audit < 0) {
                log_error("open containrd audit log: %s", strerror(errno));
                close(sv[0]);
                close(sv[1]);
                close(api);
                goto retry;
        }
        pid = fork();
        if (pid < 0) {
                log_error("fork: %s", strerror(errno));
                close(sv[0]);
                close(sv[1]);
                close(api);
                close(audit);
                goto retry;
        }
        if (pid == 0) {
                int fds[3] = {sv[1], api, audit};

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                signal(SIGHUP, SIG_DFL);
                sigprocmask(SIG_SETMASK, &(sigset_t){0}, NULL);
                /* Onto the fixed slots, then nothing else of the monitor's. */
                for (int i = 0; i < 3; i++)
                        fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
                for (int i = 0; i < 3; i++)
                        if (fds[i] < 0 || dup3(fds[i], 3 + i, O_CLOEXEC) < 0)
                                _exit(127);
                syscall(SYS_close_range, 6U, ~0U, 0);
                cnr_supervisor_main(m->d);
        }
        close(sv[1]);
        close(api);
        close(audit);
        m->chan = sv[0];
        m->hello = false;
        c->pid = pid;
        c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        c->started_ms = cnr_now_ms();
        mon_audit(m, "spawn_supervisor",
                  json_pack("{s:i,s:i,s:i,s:i}", "pid", (int)pid, "uid", (int)m->d->sup_id.uid, "gid",
                            (int)m->d->sup_id.gid, "restarts", (int)c->restarts),
                  0, NULL);
        return;
retry:
        c->failures++;
        c->restart_at = cnr_now_ms() + backoff_ms(m, c);
}

static void
kill_child(struct child *c, int sig)
{
        if (c->pidfd >= 0)
                syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0);
}

/* Wait for a child to exit, up to ms; SIGKILL it after that. */
static void
reap_child(struct child *c, int ms)
{
        siginfo_t si;

        if (c->pidfd < 0)
                return;
        if (poll(&(struct pollfd){.fd = c->pidfd, .events = POLLIN}, 1, ms) <= 0) {
                kill_child(c, SIGKILL);
                poll(&(struct pollfd){.fd = c->pidfd, .events = POLLIN}, 1, -1);
        }
        memset(&si, 0, sizeof(si));
        waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED);
        close(c->pidfd);
        c->pidfd = -1;
        c->pid = 0;
}

/* ---- requests from the supervisor ------------------------------------- */

static const struct cnr_permit mon_permits[] = {
        {CNR__MON__TO_MONITOR__OP_HELLO, CNR_PERMIT_HELLO, 0, "hello", NULL},
        {CNR__MON__TO_MONITOR__OP_KILL_HELPER, 0, 0, "kill_helper", NULL},
        {CNR__MON__TO_MONITOR__OP_OPEN_AUDIT, 0, 0, "open_audit", NULL},
        {CNR__MON__TO_MONITOR__OP_SHUTDOWN, 0, 0, "shutdown", NULL},
        {CNR__MON__TO_MONITOR__OP_READY, 0, 0, "ready", NULL},
        {CNR__MON__TO_MONITOR__OP_SPAWN_SHIM, 0, 2, "spawn_shim", NULL},
        {CNR__MON__TO_MONITOR__OP_MAKE_USERNS, 0, 0, "make_userns", NULL},
};

static void
reply_error(struct monitor *m, uint32_t reqid, int code, const char *msg)
{
        Cnr__Mon__FromMonitor env = CNR__MON__FROM_MONITOR__INIT;
        Cnr__Error e = CNR__ERROR__INIT;

        e.errno_code = code;
        e.message = (char *)msg;
        env.msg_case = CNR__MON__FROM_MONITOR__MSG_ERROR;
        env.error = &e;
        send_sup(m, env.msg_case, &env.base, reqid, NULL, 0);
}

static void
handle_hello(struct monitor *m, uint32_t reqid, Cnr__Hello *h)
{
        Cnr__Mon__FromMonitor env = CNR__MON__FROM_MONITOR__INIT;
        Cnr__Mon__Welcome w = CNR__MON__WELCOME__INIT;

        if (h->protocol != CNR_IPC_PROTOCOL) {
                log_error("supervisor speaks protocol %u, monitor %u", h->protocol, CNR_IPC_PROTOCOL);
                kill_child(&m->ch[SUPERVISOR], SIGKILL);
                return;
        }
        m->hello = true;
        w.protocol = CNR_IPC_PROTOCOL;
        w.monitor_pid = getpid();
        w.supervisor_restarts = m->ch[SUPERVISOR].restarts;
        env.msg_case = CNR__MON__FROM_MONITOR__MSG_WELCOME;
        env.welcome = &w;
        send_sup(m, env.msg_case, &env.base, reqid, NULL, 0);
        /* The new supervisor gets a fresh set of helpers. */
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                if (m->ch[i].pid == 0)
                        spawn_helper(m, i);
}

static void
handle_kill(struct monitor *m, uint32_t reqid, Cnr__Mon__KillHelper *k)
{
        int id = cnr_helper_lookup(k->name);

        if (id < 0) {
                mon_audit(m, "kill_helper", json_pack("{s:s}", "name", k->name), EINVAL, "no such helper");
                reply_error(m, reqid, EINVAL, "no such helper");
                return;
        }
        mon_audit(m, "kill_helper",
                  json_pack("{s:s,s:i,s:s}", "name", k->name, "pid", (int)m->ch[id].pid, "reason", k->reason),
                  0, NULL);
        log_warn("killing helper %s (pid %d): %s", k->name, (int)m->ch[id].pid, k->reason);
        kill_child(&m->ch[id], SIGKILL);
}

static void
handle_open_audit(struct monitor *m, uint32_t reqid, Cnr__Mon__OpenAudit *o)
{
        Cnr__Mon__FromMonitor env = CNR__MON__FROM_MONITOR__INIT;
        Cnr__Mon__Opened op = CNR__MON__OPENED__INIT;
        int fd;

        /* Only names from the fixed table: never a path from the request. */
        if (cnr_helper_lookup(o->name) < 0 && strcmp(o->name, "containrd") != 0 &&
            strcmp(o->name, "monitor") != 0) {
                mon_audit(m, "open_audit", json_pack("{s:s}", "name", o->name), EINVAL, "unknown audit log");
                reply_error(m, reqid, EINVAL, "unknown audit log");
                return;
        }
        fd = open_audit_file(m, o->name, O_RDONLY);
        if (fd < 0) {
                int e = errno;
                mon_audit(m, "open_audit", json_pack("{s:s}", "name", o->name), e, strerror(e));
                reply_error(m, reqid, e, e == ENOENT ? "the audit log does not exist yet" : strerror(e));
                return;
        }
        mon_audit(m, "open_audit", json_pack("{s:s}", "name", o->name), 0, NULL);
        env.msg_case = CNR__MON__FROM_MONITOR__MSG_OPENED;
        env.opened = &op;
        send_sup(m, env.msg_case, &env.base, reqid, &fd, 1);
        close(fd);
}

static bool
container_id_ok(const char *id)
{
        size_t n = strlen(id);

        if (n < 12 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
                        return false;
        return true;
}

/* A shim killed with SIGKILL leaves its socket dir (THREATS 37); a new
 * shim for the same container needs the name.  Removed only when nothing
 * answers on its socket, entry by entry under the dir's fd, never
 * following a link. */
static void
remove_stale_shim_dir(const char *dir)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int d = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int s = -1, priv = -1, rd = -1;

        if (d < 0)
                return;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/sock", d);
        s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                return; /* a live shim: leave it, the spawn fails with EEXIST */
        rd = openat(d, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rd < 0)
                return;
        priv = openat(rd, "priv", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (priv >= 0) {
                unlinkat(priv, "rootfs", AT_REMOVEDIR);
                unlinkat(priv, "etc", AT_REMOVEDIR);
        }
        unlinkat(rd, "priv", AT_REMOVEDIR);
        unlinkat(rd, "sock", 0);
        unlinkat(rd, "shim.log", 0);
        if (rmdir(dir) == 0)
                log_info("removed the socket dir `%s` of a dead shim", dir);
}

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#define SHIM_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Every shim runs from one sealed memfd copy of containr-shim, made at the
 * first SpawnShim and again when the installed binary changes (another
 * inode, size, mtime or ctime).  The shim finds itself sealed and skips
 * its own copy and re-exec (1.6-2 ms of every start, docs/performance.md);
 * THREATS 9 holds as before: /proc/<shim>/exe is a sealed copy that
 * nobody can write, never the installed binary. */
static int
shim_binary(struct monitor *m, const char *path, struct cnr_err **err)
{
        _cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        off_t off = 0;
        int mfd;

        if (src < 0 || fstat(src, &st) < 0)
                return cnr_errf(err, errno, "open `%s`", path);
        if (m->shim_fd >= 0 && st.st_dev == m->shim_st.st_dev && st.st_ino == m->shim_st.st_ino &&
            st.st_size == m->shim_st.st_size && st.st_mtim.tv_sec == m->shim_st.st_mtim.tv_sec &&
            st.st_mtim.tv_nsec == m->shim_st.st_mtim.tv_nsec && st.st_ctim.tv_sec == m->shim_st.st_ctim.tv_sec &&
            st.st_ctim.tv_nsec == m->shim_st.st_ctim.tv_nsec)
                return m->shim_fd;
        if (binary_trusted(m, &st, path, err) < 0)
                return -1;
        mfd = memfd_create("containr-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (mfd < 0 && errno == EINVAL) /* kernels before 6.3 know no MFD_EXEC */
                mfd = memfd_create("containr-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return cnr_errf(err, errno, "memfd_create");
        while (off < st.st_size) {
                if (sendfile(mfd, src, &off, (size_t)(st.st_size - off)) <= 0) {
                        int e = errno ? errno : EIO;
                        close(mfd);
                        return cnr_errf(err, e, "copy `%s` into a memfd", path);
                }
        }
        if (fcntl(mfd, F_ADD_SEALS, SHIM_SEALS) < 0) {
                int e = errno;
                close(mfd);
                return cnr_errf(err, e, "seal the copy of `%s`", path);
        }
        if (m->shim_fd >= 0)
                close(m->shim_fd);
        m->shim_fd = mfd;
        m->shim_st = st;
        return mfd;
}

/* A containr-shim for one container: from the helper dir, WITHOUT helper
 * restrictions (it must be able to grant the container what its spec
 * says), detached so that containers outlive containrd.  The monitor does
 * not read the spec (fd 0 of the frame); the socket dir is its own choice
 * under the run root, never a path from the request. */
static void
handle_spawn_shim(struct monitor *m, struct cnr_frame *f, Cnr__Mon__SpawnShim *s)
{
        Cnr__Mon__FromMonitor env = CNR__MON__FROM_MONITOR__INIT;
        Cnr__Mon__ShimUp up = CNR__MON__SHIM_UP__INIT;
        struct cnr_err *err = NULL;
        _cleanup_free_ char *shims = NULL, *dir = NULL, *path = NULL;
        char owner[32];
        pid_t pid;

        if (!container_id_ok(s->container_id)) {
                mon_audit(m, "spawn_shim", json_pack("{s:s}", "id", s->container_id), EINVAL, "bad container id");
                reply_error(m, f->reqid, EINVAL, "container id: 12 to 64 lowercase hex digits");
                return;
        }
        shims = xasprintf("%s/shims", m->d->cfg.run_root);
        dir = xasprintf("%s/%s", shims, s->container_id);
        path = xasprintf("%s/containr-shim", m->d->cfg.helper_dir);
        /* 0711: the supervisor reaches its shims' dirs but cannot list or
         * plant anything here. */
        if ((mkdir(shims, 0711) < 0 && errno != EEXIST) || chmod(shims, 0711) < 0) { /* umask: 077 */
                int e = errno;
                mon_audit(m, "spawn_shim", json_pack("{s:s}", "id", s->container_id), e, strerror(e));
                reply_error(m, f->reqid, e, "create the shims directory");
                return;
        }
        remove_stale_shim_dir(dir);
        snprintf(owner, sizeof(owner), "%u:%u", (unsigned)m->d->sup_id.uid, (unsigned)m->d->sup_id.gid);
        {
                char *argv[] = {"containr-shim",
                                "--id",
                                s->container_id,
                                "--socket-dir",
                                dir,
                                "--owner",
                                owner,
                                "--log-level",
                                (char *)cnr_log_level_name(m->d->cfg.log_level),
                                "--snapshot-root",
                                m->d->snap_root,
                                NULL};
                int exe = shim_binary(m, path, &err);
                pid = exe < 0 ? -1 : cnr_spawn_detached_fd(exe, path, argv, f->fds, 2, &err);
        }
        if (pid < 0) {
                mon_audit(m, "spawn_shim", json_pack("{s:s}", "id", s->container_id), err->code, cnr_err_str(err));
                reply_error(m, f->reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        mon_audit(m, "spawn_shim", json_pack("{s:s,s:i,s:s}", "id", s->container_id, "pid", (int)pid, "dir", dir),
                  0, NULL);
        up.pid = pid;
        up.socket_dir = dir;
        env.msg_case = CNR__MON__FROM_MONITOR__MSG_SHIM_UP;
        env.shim_up = &up;
        send_sup(m, env.msg_case, &env.base, f->reqid, NULL, 0);
}

/* ---- user namespaces for idmapped mounts ------------------------------ */

static int
copy_map(Cnr__Mon__IdMap **in, size_t n, struct cnr_idmap *out, size_t *nout, const char *what, struct cnr_err **err)
{
        if (n > CNR_IDMAP_MAX_RANGES)
                return cnr_errf(err, EINVAL, "%s: %zu ranges, want 1 to %d", what, n, CNR_IDMAP_MAX_RANGES);
        for (size_t i = 0; i < n; i++)
                out[i] = (struct cnr_idmap){in[i]->container_id, in[i]->host_id, in[i]->size};
        *nout = n;
        return cnr_idmap_check(what, out, n, err);
}

static int
write_proc_map(pid_t pid, const char *file, const struct cnr_idmap *m, size_t n, struct cnr_err **err)
{
        _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
        _cleanup_close_ int fd = -1;
        char buf[CNR_IDMAP_MAX_RANGES * 40];
        int len = cnr_idmap_format(m, n, buf, sizeof(buf));

        if (len < 0)
                return cnr_errf(err, E2BIG, "%s: too long", file);
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || write(fd, buf, (size_t)len) != len)
                return cnr_errf(err, errno, "write `%s`", path);
        return 0;
}

/* A child in a new user namespace (clone3, so no unshare and no sync is
 * needed: the namespace exists when clone3 returns).  It only waits for
 * EOF on a pipe and exits; it runs no code of ours beyond that and never
 * execs.  The maps are written by us, root in the initial namespace; the
 * namespace's fd outlives the child. */
static int
make_userns(const struct cnr_idmap *uid, size_t nuid, const struct cnr_idmap *gid, size_t ngid, struct cnr_err **err)
{
        struct clone_args ca = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
        _cleanup_free_ char *nspath = NULL;
        int p[2], fd = -1, r = 0;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return cnr_errf(err, errno, "pipe2");
        pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
        if (pid < 0) {
                r = cnr_errf(err, errno, "clone3 a user namespace");
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                char c;
                close(p[1]);
                while (read(p[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        close(p[0]);
        if (write_proc_map(pid, "uid_map", uid, nuid, err) < 0 || write_proc_map(pid, "gid_map", gid, ngid, err) < 0)
                r = -1;
        if (r == 0) {
                nspath = xasprintf("/proc/%d/ns/user", (int)pid);
                fd = open(nspath, O_RDONLY | O_CLOEXEC); /* a magic link: followed */
                if (fd < 0)
                        r = cnr_errf(err, errno, "open `%s`", nspath);
        }
        close(p[1]); /* the child's EOF: it exits */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return r < 0 ? r : fd;
}

static void
handle_make_userns(struct monitor *m, struct cnr_frame *f, Cnr__Mon__MakeUserns *u)
{
        Cnr__Mon__FromMonitor env = CNR__MON__FROM_MONITOR__INIT;
        Cnr__Mon__Userns reply = CNR__MON__USERNS__INIT;
        struct cnr_idmap uid[CNR_IDMAP_MAX_RANGES], gid[CNR_IDMAP_MAX_RANGES];
        size_t nuid = 0, ngid = 0;
        struct cnr_err *err = NULL;
        json_t *args = json_pack("{s:s,s:[],s:[]}", "id", u->container_id, "uid_map", "gid_map");
        int fd;

        for (size_t i = 0; i < u->n_uid_map && i < CNR_IDMAP_MAX_RANGES; i++)
                json_array_append_new(json_object_get(args, "uid_map"),
                                      json_pack("[I,I,I]", (json_int_t)u->uid_map[i]->container_id,
                                                (json_int_t)u->uid_map[i]->host_id, (json_int_t)u->uid_map[i]->size));
        for (size_t i = 0; i < u->n_gid_map && i < CNR_IDMAP_MAX_RANGES; i++)
                json_array_append_new(json_object_get(args, "gid_map"),
                                      json_pack("[I,I,I]", (json_int_t)u->gid_map[i]->container_id,
                                                (json_int_t)u->gid_map[i]->host_id, (json_int_t)u->gid_map[i]->size));
        /* Policy first, from the request's numbers alone. */
        if (!container_id_ok(u->container_id))
                cnr_errf(&err, EINVAL, "container id: 12 to 64 lowercase hex digits");
        else if (copy_map(u->uid_map, u->n_uid_map, uid, &nuid, "uid_map", &err) == 0)
                copy_map(u->gid_map, u->n_gid_map, gid, &ngid, "gid_map", &err);
        if (err) {
                mon_audit(m, "make_userns", args, err->code, cnr_err_str(err));
                reply_error(m, f->reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        fd = make_userns(uid, nuid, gid, ngid, &err);
        if (fd < 0) {
                mon_audit(m, "make_userns", args, err->code, cnr_err_str(err));
                reply_error(m, f->reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        mon_audit(m, "make_userns", args, 0, NULL);
        env.msg_case = CNR__MON__FROM_MONITOR__MSG_USERNS;
        env.userns = &reply;
        send_sup(m, env.msg_case, &env.base, f->reqid, &fd, 1);
        close(fd);
}

static void
supervisor_gone(struct monitor *m, const char *why)
{
        if (m->chan >= 0) {
                close(m->chan);
                m->chan = -1;
        }
        m->hello = false;
        (void)why;
}

static void
read_supervisor(struct monitor *m)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        const struct cnr_permit *pm;
        Cnr__Mon__ToMonitor *env;
        int r;

        r = cnr_frame_recv(m->chan, m->buf, sizeof(m->buf), &f, &err);
        if (r == 0) {
                supervisor_gone(m, "eof");
                return;
        }
        if (r < 0 && err->code == EAGAIN) {
                cnr_err_free(&err);
                return;
        }
        if (r < 0 || cnr_permit_check(mon_permits, CNR_ARRAY_LEN(mon_permits), m->hello, &f, &pm, &err) < 0)
                goto bad;
        env = (Cnr__Mon__ToMonitor *)cnr_frame_decode(&f, &cnr__mon__to_monitor__descriptor, &err);
        if (env == NULL)
                goto bad;
        switch (env->op_case) {
        case CNR__MON__TO_MONITOR__OP_HELLO:
                handle_hello(m, f.reqid, env->hello);
                break;
        case CNR__MON__TO_MONITOR__OP_KILL_HELPER:
                handle_kill(m, f.reqid, env->kill_helper);
                break;
        case CNR__MON__TO_MONITOR__OP_OPEN_AUDIT:
                handle_open_audit(m, f.reqid, env->open_audit);
                break;
        case CNR__MON__TO_MONITOR__OP_SHUTDOWN:
                mon_audit(m, "shutdown", NULL, 0, NULL);
                got_term = 1;
                break;
        case CNR__MON__TO_MONITOR__OP_SPAWN_SHIM:
                handle_spawn_shim(m, &f, env->spawn_shim);
                break;
        case CNR__MON__TO_MONITOR__OP_MAKE_USERNS:
                handle_make_userns(m, &f, env->make_userns);
                break;
        case CNR__MON__TO_MONITOR__OP_READY:
                if (m->d->ready_fd >= 0) {
                        (void)!write(m->d->ready_fd, "1", 1);
                        close(m->d->ready_fd);
                        m->d->ready_fd = -1;
                }
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
        /* The supervisor is the unprivileged side: a bad frame means it is
         * broken or compromised.  Kill it; it is restarted clean. */
        log_error("bad frame from the supervisor: %s; killing it", cnr_err_str(err));
        mon_audit(m, "supervisor_protocol_violation", NULL, err->code, cnr_err_str(err));
        cnr_err_free(&err);
        kill_child(&m->ch[SUPERVISOR], SIGKILL);
        supervisor_gone(m, "protocol violation");
}

/* ---- children's deaths ------------------------------------------------- */

static void
child_exited(struct monitor *m, int idx)
{
        struct child *c = &m->ch[idx];
        siginfo_t si;
        int code = -1, sig = 0;
        uint64_t lived;

        memset(&si, 0, sizeof(si));
        if (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return;
        if (si.si_code == CLD_EXITED)
                code = si.si_status;
        else
                sig = si.si_status;
        close(c->pidfd);
        c->pidfd = -1;
        lived = cnr_now_ms() - c->started_ms;
        c->failures = lived >= STABLE_MS ? 1 : c->failures + 1;
        mon_audit(m, idx == SUPERVISOR ? "supervisor_exit" : "helper_exit",
                  json_pack("{s:s,s:i,s:i,s:i,s:I}", "name", c->name, "pid", (int)c->pid, "exit_code", code,
                            "signal", sig, "lived_ms", (json_int_t)lived),
                  0, NULL);
        if (!m->stopping)
                log_warn("%s (pid %d) %s %d", c->name, (int)c->pid, sig ? "killed by signal" : "exited with",
                         sig ? sig : code);
        c->pid = 0;
        if (m->stopping)
                return;
        c->restarts++;
        c->restart_at = cnr_now_ms() + backoff_ms(m, c);
        if (idx == SUPERVISOR) {
                /* Helpers belong to one supervisor: their channels died with
                 * it.  Stop them; the next supervisor gets fresh ones. */
                supervisor_gone(m, "exited");
                for (int i = 0; i < CNR_HELPER_COUNT; i++) {
                        kill_child(&m->ch[i], SIGKILL);
                        reap_child(&m->ch[i], 1000);
                        m->ch[i].restart_at = 0;
                }
        } else {
                Cnr__Mon__FromMonitor env = CNR__MON__FROM_MONITOR__INIT;
                Cnr__Mon__HelperDown down = CNR__MON__HELPER_DOWN__INIT;

                down.name = (char *)c->name;
                down.pid = si.si_pid;
                down.exit_code = code;
                down.signal = sig;
                down.restart_in_ms = (uint32_t)(c->restart_at - cnr_now_ms());
                env.msg_case = CNR__MON__FROM_MONITOR__MSG_HELPER_DOWN;
                env.helper_down = &down;
                send_sup(m, env.msg_case, &env.base, 0, NULL, 0);
                /* Helpers wait for a supervisor that can take their channel. */
                if (!m->hello)
                        c->restart_at = 0;
        }
}

static void
shutdown_all(struct monitor *m)
{
        m->stopping = true;
        kill_child(&m->ch[SUPERVISOR], SIGTERM);
        reap_child(&m->ch[SUPERVISOR], 5000);
        supervisor_gone(m, "shutdown");
        /* Helpers see EOF on their channel and exit; give them a moment. */
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                kill_child(&m->ch[i], SIGTERM);
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                reap_child(&m->ch[i], 2000);
        unlink(m->d->sock_path);
        unlink(m->d->pid_path);
        mon_audit(m, "monitor_stop", NULL, 0, NULL);
        log_info("stopped");
}

int
cnr_monitor_run(struct cnr_daemon *d)
{
        static struct monitor mon;
        struct monitor *m = &mon;
        struct sigaction sa = {.sa_handler = on_term};
        sigset_t block, waitmask;

        m->d = d;
        m->chan = -1;
        m->shim_fd = -1;
        for (int i = 0; i < NCHILD; i++) {
                m->ch[i].name = i == SUPERVISOR ? "supervisor" : cnr_helpers[i].name;
                m->ch[i].pidfd = -1;
        }
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGHUP);
        sigprocmask(SIG_BLOCK, &block, &waitmask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        mon_audit(m, "monitor_start", json_pack("{s:s,s:s,s:s}", "root", d->cfg.root, "run_root", d->cfg.run_root,
                                               "helper_dir", d->cfg.helper_dir),
                  0, NULL);
        spawn_supervisor(m);
        while (!got_term) {
                struct pollfd pfd[NCHILD + 1];
                int idx[NCHILD + 1];
                int n = 0, timeout = -1;
                uint64_t now = cnr_now_ms();
                struct timespec ts, *tsp = NULL;

                for (int i = 0; i < NCHILD; i++) {
                        struct child *c = &m->ch[i];
                        if (c->restart_at && c->restart_at <= now) {
                                if (i == SUPERVISOR)
                                        spawn_supervisor(m);
                                else if (m->hello)
                                        spawn_helper(m, i);
                                else
                                        c->restart_at = 0;
                        }
                        if (c->restart_at) {
                                int left = (int)(c->restart_at - now);
                                if (timeout < 0 || left < timeout)
                                        timeout = left;
                        }
                        if (c->pidfd >= 0) {
                                pfd[n] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
                                idx[n++] = i;
                        }
                }
                if (m->chan >= 0) {
                        pfd[n] = (struct pollfd){.fd = m->chan, .events = POLLIN};
                        idx[n++] = -1;
                }
                if (timeout >= 0) {
                        ts.tv_sec = timeout / 1000;
                        ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
                        tsp = &ts;
                }
                if (ppoll(pfd, (nfds_t)n, tsp, &waitmask) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error("ppoll: %s", strerror(errno));
                        break;
                }
                for (int i = 0; i < n; i++) {
                        if (!pfd[i].revents)
                                continue;
                        if (idx[i] < 0) {
                                if (m->chan >= 0)
                                        read_supervisor(m);
                        }
                        else
                                child_exited(m, idx[i]);
                }
        }
        shutdown_all(m);
        return 0;
}
