/* helper-drive: start one containr helper exactly as the monitor does and
 * drive it from the supervisor's side of its channel, for tests.
 *
 *   helper-drive [--uid N] [--gid N] [--audit FILE] [--snapshot-root DIR]
 *                [--run-root DIR] [--overlay-mode MODE] [--log-level LEVEL]
 *                [--timeout SEC] BINARY CMD...
 *
 * --overlay-mode is passed on to the helper (containr-mountd).
 *
 * Commands run in order, one output line each (status prints several):
 *
 *   ping                 Ping, expects Pong
 *   tmpfs [SIZE MODE]    MountTmpfs (default 1048576 01777, nosuid, nodev):
 *                        expects one fd, a detached tmpfs mount (fstatfs
 *                        TMPFS_MAGIC, root mode MODE), and the helper's
 *                        mountinfo unchanged
 *   mkdir NAME           SnapMkdir NAME mode 0755, expects Done
 *   rmdir NAME           SnapRmdir NAME, expects Done
 *   create ID[:PARENT[:work]]  SnapCreate, expects Done
 *   remove ID            SnapRemove, expects Done
 *   usage ID             SnapUsage: "size=N inodes=N"
 *   apply ID[:BYTES:ENTRIES[:LOWER,...]] FILE  SnapApply with FILE's fd:
 *                        "diff_id=... tar_size=N entries=N written=N"
 *   list                 SnapList: expects a sealed memfd, prints "[name,name...]"
 *   mount UPPER:LOWER,...:ro|rw  MountSnapshot: expects one fd, a detached
 *                        overlay or bind ("f_type=overlay|bind ro=0|1 mode= owner="),
 *                        and both the helper's and the driver's mountinfo unchanged
 *   mount-idmap UPPER:LOWER,...:ro|rw:OWNER  MountSnapshotIdmapped with a
 *                        user namespace made by a child of uid OWNER (for
 *                        0, mapping 0 100000 65536); the same checks
 *   netns                NetnsCreate: expects one fd, a network namespace
 *                        (NSFS_MAGIC, NS_GET_NSTYPE) other than ours, with
 *                        lo up inside it
 *   netns-open ID        NetnsOpen (needs --run-root): the same checks
 *   netns-rm ID          NetnsRemove, expects Done
 *   cni CMD ID IFNAME CONFLIST PORTS  CniExec ADD|DEL|CHECK of the conflist
 *                        file; PORTS is a portMappings JSON array or `-`.
 *                        ADD prints the result and keeps it in
 *                        CONFLIST.ID.IFNAME.result, which DEL and CHECK send
 *                        as prev_result (DEL without the file sends none)
 *   routes               RouteList: "N prefix,prefix,..."
 *   bridge-rm NAME[:NETWORK]  BridgeRemove (and NETWORK's IPAM state), expects Done
 *   isolate BR,BR,...|-  IsolationSync with these bridges ("-": none), expects Done
 *   bridge-check NAME ADDR,...|- keep|delete  BridgeCheck, expects Done
 *   status               the helper's Uid, Gid, Cap..., NoNewPrivs, Seccomp lines
 *                        from /proc/<pid>/status, CapEff/CapBnd by name,
 *                        every open fd with its target, and whether its
 *                        mount namespace is the driver's ("mntns same|own")
 *   garbage              a malformed frame: expects the helper to exit 3
 *   foreign              a request type this helper does not serve:
 *                        expects the helper to exit 3
 *   eof                  closes fd 3: expects exit 0
 *
 * A command prefixed with `!` (e.g. `!mkdir ../x`) expects the helper to
 * refuse it with a cnr.Error.  Lines: `ok CMD ...` or `error CMD ARG:
 * ERRNO: message`.  If the helper still runs after the last command, fd 3
 * is closed and it must exit 0 ("ok exit 0").  Exit status 0 iff every
 * command had the expected outcome; the helper's log records go to stderr.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/nsfs.h>
#include <net/if.h>

#include "common/err.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/spawn.h"
#include "common/util.h"
#include "ipc/common.pb-c.h"
#include "ipc/frame.h"
#include "ipc/helper.pb-c.h"

struct drive {
        const char *name; /* "mountd" */
        pid_t pid;
        int pidfd;
        int ipc; /* -1 once closed */
        int log;
        int timeout_ms;
        uint32_t next_reqid;
        bool exited;
        int status; /* waitpid status once exited */
        uint8_t buf[CNR_IPC_HELPER_CAP];
        uint8_t logbuf[CNR_IPC_HELPER_CAP];
};

static const char *
errname(int e)
{
        const char *n = strerrorname_np(e);
        return n ? n : "E?";
}

/* Relay every log record waiting on the log channel to stderr. */
static void
drain_log(struct drive *d)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        int r;

        while (d->log >= 0) {
                ProtobufCMessage *m;

                r = cnr_frame_recv(d->log, d->logbuf, sizeof(d->logbuf), &f, &err);
                if (r == 0) {
                        close(d->log);
                        d->log = -1;
                        return;
                }
                if (r < 0) {
                        if (err->code != EAGAIN)
                                fprintf(stderr, "helper-drive: log channel: %s\n", cnr_err_str(err));
                        cnr_err_free(&err);
                        return;
                }
                m = cnr_frame_decode(&f, &cnr__log_channel__descriptor, &err);
                cnr_frame_close_fds(&f);
                if (m == NULL) {
                        fprintf(stderr, "helper-drive: bad log record: %s\n", cnr_err_str(err));
                        cnr_err_free(&err);
                        continue;
                }
                Cnr__LogChannel *ch = (Cnr__LogChannel *)m;
                cnr_log_relay(d->name, (int)d->pid, (enum cnr_log_level)ch->record->level, ch->record->message);
                protobuf_c_message_free_unpacked(m, NULL);
        }
}

static void
reap(struct drive *d)
{
        if (d->exited)
                return;
        if (waitpid(d->pid, &d->status, 0) == d->pid)
                d->exited = true;
        drain_log(d);
}

/* Wait for the next frame on fd 3, relaying logs meanwhile.  Returns 1
 * with *env (the decoded FromHelper), 0 on EOF, -1 on error/timeout. */
static int
await_frame(struct drive *d, struct cnr_frame *f, Cnr__Helper__FromHelper **env, struct cnr_err **err)
{
        uint64_t deadline = cnr_now_ms() + (uint64_t)d->timeout_ms;

        *env = NULL;
        for (;;) {
                struct pollfd p[2] = {{.fd = d->ipc, .events = POLLIN}, {.fd = d->log, .events = POLLIN}};
                uint64_t now = cnr_now_ms();
                int r;

                if (now >= deadline)
                        return cnr_errf(err, ETIMEDOUT, "no answer from %s within %d ms", d->name, d->timeout_ms);
                r = poll(p, 2, (int)(deadline - now));
                if (r < 0 && errno != EINTR)
                        return cnr_errf(err, errno, "poll");
                if (p[1].revents)
                        drain_log(d);
                if (!p[0].revents)
                        continue;
                r = cnr_frame_recv(d->ipc, d->buf, sizeof(d->buf), f, err);
                if (r == 0)
                        return 0;
                if (r < 0) {
                        if ((*err)->code == EAGAIN) {
                                cnr_err_free(err);
                                continue;
                        }
                        return -1;
                }
                *env = (Cnr__Helper__FromHelper *)cnr_frame_decode(f, &cnr__helper__from_helper__descriptor, err);
                if (*env == NULL) {
                        cnr_frame_close_fds(f);
                        return -1;
                }
                return 1;
        }
}

/* Wait for the helper to exit (after EOF on fd 3 or a closed fd 3). */
static int
await_exit(struct drive *d, struct cnr_err **err)
{
        uint64_t deadline = cnr_now_ms() + (uint64_t)d->timeout_ms;

        while (!d->exited) {
                struct pollfd p[2] = {{.fd = d->pidfd, .events = POLLIN}, {.fd = d->log, .events = POLLIN}};
                uint64_t now = cnr_now_ms();

                if (now >= deadline) {
                        kill(d->pid, SIGKILL);
                        reap(d);
                        return cnr_errf(err, ETIMEDOUT, "%s did not exit within %d ms", d->name, d->timeout_ms);
                }
                if (poll(p, 2, (int)(deadline - now)) < 0 && errno != EINTR)
                        return cnr_errf(err, errno, "poll");
                if (p[1].revents)
                        drain_log(d);
                if (p[0].revents)
                        reap(d);
        }
        return 0;
}

static void
describe_exit(const struct drive *d, char *buf, size_t n)
{
        if (WIFEXITED(d->status))
                snprintf(buf, n, "exit %d", WEXITSTATUS(d->status));
        else if (WIFSIGNALED(d->status))
                snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(d->status), sigabbrev_np(WTERMSIG(d->status)));
        else
                snprintf(buf, n, "status %#x", d->status);
}

static int send_fd = -1; /* passed with the next request (SnapApply's layer), then closed */

static int
send_req(struct drive *d, Cnr__Helper__ToHelper *req, uint32_t *reqid, struct cnr_err **err)
{
        int r;

        *reqid = d->next_reqid++;
        r = cnr_frame_send(d->ipc, (uint16_t)req->op_case, *reqid, &req->base, send_fd >= 0 ? &send_fd : NULL,
                           send_fd >= 0 ? 1 : 0, CNR_IPC_HELPER_CAP, err);
        if (send_fd >= 0) {
                close(send_fd);
                send_fd = -1;
        }
        return r;
}

static Cnr__Helper__FromHelper *last_reply; /* of the last successful roundtrip */
static const char *cni_result_path;         /* where the next CniResult is kept, NULL = not kept */

/* One request/reply.  Returns 1 on the expected result case (fds left in
 * *f), 0 on a cnr.Error reply (*errno_code, msg copied), -1 on a protocol
 * or transport failure (*err). */
static int
roundtrip(struct drive *d, Cnr__Helper__ToHelper *req, uint32_t want_case, size_t want_fds, struct cnr_frame *f,
          int *errno_code, char *msg, size_t msglen, struct cnr_err **err)
{
        Cnr__Helper__FromHelper *env = NULL;
        uint32_t reqid;
        int r;

        if (d->ipc < 0)
                return cnr_errf(err, ENOTCONN, "channel already closed");
        if (send_req(d, req, &reqid, err) < 0)
                return -1;
        r = await_frame(d, f, &env, err);
        if (r == 0)
                return cnr_errf(err, ECONNRESET, "%s closed the channel", d->name);
        if (r < 0)
                return -1;
        r = -1;
        if (f->reqid != reqid) {
                cnr_errf(err, EPROTO, "reply to request %u, expected %u", f->reqid, reqid);
        } else if (env->msg_case == CNR__HELPER__FROM_HELPER__MSG_ERROR) {
                if (f->nfds != 0) {
                        cnr_errf(err, EPROTO, "error reply carries %zu fds", f->nfds);
                } else {
                        *errno_code = env->error->errno_code;
                        snprintf(msg, msglen, "%s", env->error->message);
                        r = 0;
                }
        } else if (env->msg_case != want_case) {
                cnr_errf(err, EPROTO, "reply case %d, expected %u", (int)env->msg_case, want_case);
        } else if (f->nfds != want_fds) {
                cnr_errf(err, EPROTO, "reply carries %zu fds, expected %zu", f->nfds, want_fds);
        } else {
                r = 1;
        }
        if (r == 1) {
                last_reply = env; /* cmd_request reads and frees it */
                return r;
        }
        protobuf_c_message_free_unpacked(&env->base, NULL);
        if (r < 0)
                cnr_frame_close_fds(f);
        return r;
}

static int
count_lines(const char *path)
{
        _cleanup_fclose_ FILE *fp = fopen(path, "re");
        int n = 0, c;

        if (fp == NULL)
                return -1;
        while ((c = fgetc(fp)) != EOF)
                if (c == '\n')
                        n++;
        return n;
}

/* Is lo up inside the namespace nsfd?  Checked in a child so that the
 * driver stays where it is. */
static int
lo_is_up(int nsfd)
{
        pid_t pid = fork();
        int st;

        if (pid < 0)
                return -1;
        if (pid == 0) {
                struct ifreq ifr = {0};
                int s;

                if (setns(nsfd, CLONE_NEWNET) < 0)
                        _exit(2);
                s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
                if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                        _exit(3);
                _exit((ifr.ifr_flags & IFF_UP) ? 0 : 1);
        }
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
                return -1;
        return WEXITSTATUS(st) == 0 ? 1 : WEXITSTATUS(st) == 1 ? 0 : -1;
}

#define SNAPSHOT_MOUNT 0xffffffffU /* cmd_request's tmpfs_mode for MountSnapshot */

/* A snapshot mount: overlay or a bind of a snapshot's fs (ext4, xfs...). */
static int
check_snapshot_fd(int fd, char *desc, size_t n, struct cnr_err **err)
{
        struct statfs sfs;
        struct stat st;

        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "fstatfs the returned fd");
        if (!S_ISDIR(st.st_mode))
                return cnr_errf(err, EPROTO, "the returned mount's root is not a directory");
        snprintf(desc, n, "f_type=%s ro=%d mode=%04o owner=%u:%u",
                 (unsigned long)sfs.f_type == OVERLAYFS_SUPER_MAGIC ? "overlay" : "bind",
                 (sfs.f_flags & ST_RDONLY) ? 1 : 0, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                 (unsigned)st.st_gid);
        return 0;
}

/* The listing memfd of SnapList, names joined by commas. */
static int
read_listing(int fd, char *desc, size_t n, struct cnr_err **err)
{
        char buf[4096];
        ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);
        int seals = fcntl(fd, F_GET_SEALS);

        if (r < 0)
                return cnr_errf(err, errno, "read the listing");
        if (seals < 0 || !(seals & F_SEAL_WRITE))
                return cnr_errf(err, EPROTO, "the listing memfd is not sealed");
        buf[r] = '\0';
        for (ssize_t i = 0; i < r; i++)
                if (buf[i] == '\n')
                        buf[i] = i == r - 1 ? '\0' : ',';
        snprintf(desc, n, "[%s]", buf);
        return 0;
}

/* Check the fd the helper returned; returns 0 and a description, or -1. */
static int
check_tmpfs_fd(int fd, unsigned mode, char *desc, size_t n, struct cnr_err **err)
{
        struct statfs sfs;
        struct stat st;

        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "fstatfs the returned fd");
        if ((unsigned long)sfs.f_type != TMPFS_MAGIC)
                return cnr_errf(err, EPROTO, "returned fd is on f_type %#lx, not tmpfs", (unsigned long)sfs.f_type);
        if (!S_ISDIR(st.st_mode) || (st.st_mode & 07777) != mode)
                return cnr_errf(err, EPROTO, "returned tmpfs root has mode %o, expected %o",
                                (unsigned)(st.st_mode & 07777), mode);
        snprintf(desc, n, "f_type=tmpfs mode=%04o owner=%u:%u", mode, (unsigned)st.st_uid, (unsigned)st.st_gid);
        return 0;
}

static int
check_netns_fd(int fd, char *desc, size_t n, struct cnr_err **err)
{
        struct statfs sfs;
        struct stat st, self;
        int up;

        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "fstatfs the returned fd");
        if ((unsigned long)sfs.f_type != NSFS_MAGIC)
                return cnr_errf(err, EPROTO, "returned fd is on f_type %#lx, not nsfs", (unsigned long)sfs.f_type);
        if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
                return cnr_errf(err, EPROTO, "returned namespace is not a network namespace");
        if (stat("/proc/self/ns/net", &self) < 0)
                return cnr_errf(err, errno, "stat /proc/self/ns/net");
        if (self.st_ino == st.st_ino)
                return cnr_errf(err, EPROTO, "returned namespace is the driver's own");
        up = lo_is_up(fd);
        if (up < 0)
                return cnr_errf(err, EIO, "could not read the flags of lo in the returned namespace");
        if (up == 0)
                return cnr_errf(err, EPROTO, "lo is down in the returned namespace");
        snprintf(desc, n, "f_type=nsfs type=net ino=%lu lo=up", (unsigned long)st.st_ino);
        return 0;
}

static int
cmd_status(struct drive *d)
{
        static const char *const keys[] = {"Uid",    "Gid",    "Groups", "CapInh",     "CapPrm",
                                           "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"};
        _cleanup_free_ char *path = xasprintf("/proc/%d/status", (int)d->pid);
        _cleanup_free_ char *fddir = xasprintf("/proc/%d/fd", (int)d->pid);
        _cleanup_fclose_ FILE *fp = fopen(path, "re");
        _cleanup_closedir_ DIR *dir = NULL;
        char line[512];
        int fds[256], nfds = 0;
        struct dirent *de;

        if (fp == NULL) {
                printf("error status: open `%s`: %s\n", path, strerror(errno));
                return -1;
        }
        while (fgets(line, sizeof(line), fp)) {
                char *colon = strchr(line, ':'), *v;

                if (colon == NULL)
                        continue;
                *colon = '\0';
                for (size_t i = 0; i < CNR_ARRAY_LEN(keys); i++) {
                        if (strcmp(line, keys[i]) != 0)
                                continue;
                        v = colon + 1;
                        for (char *p = v; *p; p++)
                                if (*p == '\t')
                                        *p = ' ';
                        v[strcspn(v, "\n")] = '\0';
                        while (*v == ' ')
                                v++;
                        printf("status %s: %s\n", line, v);
                        if (strcmp(line, "CapEff") == 0 || strcmp(line, "CapBnd") == 0) {
                                _cleanup_free_ char *names = cnr_caps_to_names(strtoull(v, NULL, 16));
                                printf("status %sNames: %s\n", line, names);
                        }
                }
        }
        dir = opendir(fddir);
        if (dir == NULL) {
                printf("error status: open `%s`: %s\n", fddir, strerror(errno));
                return -1;
        }
        while ((de = readdir(dir)) != NULL && nfds < (int)CNR_ARRAY_LEN(fds)) {
                unsigned long long v;
                if (cnr_parse_uint(de->d_name, 1 << 20, &v) == 0)
                        fds[nfds++] = (int)v;
        }
        for (int i = 0; i < nfds; i++) /* small: insertion sort */
                for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
                        int t = fds[j];
                        fds[j] = fds[j - 1];
                        fds[j - 1] = t;
                }
        for (int i = 0; i < nfds; i++) {
                char lpath[64], target[512];
                ssize_t n;

                snprintf(lpath, sizeof(lpath), "%s/%d", fddir, fds[i]);
                n = readlink(lpath, target, sizeof(target) - 1);
                if (n < 0)
                        snprintf(target, sizeof(target), "?(%s)", strerror(errno));
                else
                        target[n] = '\0';
                printf("status fd %d %s\n", fds[i], target);
        }
        {
                /* the mount namespace: the driver's, or one of the helper's own */
                _cleanup_free_ char *ns = xasprintf("/proc/%d/ns/mnt", (int)d->pid);
                struct stat a, b;

                if (stat(ns, &a) == 0 && stat("/proc/self/ns/mnt", &b) == 0)
                        printf("status mntns %s\n", a.st_ino == b.st_ino ? "same" : "own");
        }
        printf("ok status\n");
        return 0;
}

/* Send something the helper must treat as a protocol violation, then
 * expect exit 3. */
static int
cmd_violation(struct drive *d, const char *cmd, const void *buf, size_t len)
{
        struct cnr_err *err = NULL;
        char how[96];

        if (cnr_frame_send_raw(d->ipc, buf, len, NULL, 0, &err) < 0 || await_exit(d, &err) < 0) {
                printf("error %s: %s\n", cmd, cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        describe_exit(d, how, sizeof(how));
        if (!WIFEXITED(d->status) || WEXITSTATUS(d->status) != 3) {
                printf("error %s: helper %s, expected exit 3\n", cmd, how);
                return -1;
        }
        printf("ok %s: %s\n", cmd, how);
        return 0;
}

static int
cmd_garbage(struct drive *d)
{
        /* A valid header for Ping, then bytes that are no protobuf. */
        static const uint8_t frame[] = {
                CNR_IPC_PROTOCOL, 0, CNR__HELPER__TO_HELPER__OP_PING, 0, 99, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff};
        return cmd_violation(d, "garbage", frame, sizeof(frame));
}

static int
cmd_foreign(struct drive *d)
{
        Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__NetnsCreate nc = CNR__HELPER__NETNS_CREATE__INIT;
        Cnr__Helper__MountTmpfs mt = CNR__HELPER__MOUNT_TMPFS__INIT;
        struct cnr_err *err = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;

        if (strcmp(d->name, "netd") == 0) {
                req.op_case = CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS;
                req.mount_tmpfs = &mt;
        } else {
                req.op_case = CNR__HELPER__TO_HELPER__OP_NETNS_CREATE;
                req.netns_create = &nc;
        }
        buf = cnr_frame_encode((uint16_t)req.op_case, d->next_reqid++, &req.base, CNR_IPC_HELPER_CAP, &len, &err);
        if (buf == NULL) {
                printf("error foreign: %s\n", cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        return cmd_violation(d, "foreign", buf, len);
}

static int
cmd_eof(struct drive *d, const char *cmd)
{
        struct cnr_err *err = NULL;
        char how[96];

        if (d->ipc >= 0) {
                close(d->ipc);
                d->ipc = -1;
        }
        if (await_exit(d, &err) < 0) {
                printf("error %s: %s\n", cmd, cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        describe_exit(d, how, sizeof(how));
        if (!WIFEXITED(d->status) || WEXITSTATUS(d->status) != 0) {
                printf("error %s: helper %s, expected exit 0\n", cmd, how);
                return -1;
        }
        printf("ok %s: %s\n", cmd, how);
        return 0;
}

/* A request/reply command.  `expect_refusal` inverts what counts as
 * success.  Returns 0 when the outcome is the expected one. */
static int
cmd_request(struct drive *d, const char *cmd, const char *arg, Cnr__Helper__ToHelper *req, uint32_t want_case,
            size_t want_fds, unsigned tmpfs_mode, bool expect_refusal)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        Cnr__Helper__FromHelper *env = NULL;
        char msg[1024], desc[4200] = "";
        const char *sep = arg ? " " : "";
        int code = 0, r, before = -1, after, own_before = -1;
        _cleanup_free_ char *mi = xasprintf("/proc/%d/mountinfo", (int)d->pid);

        if (!arg)
                arg = "";
        if (want_case == CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD) {
                before = count_lines(mi);
                own_before = count_lines("/proc/self/mountinfo");
        }
        r = roundtrip(d, req, want_case, want_fds, &f, &code, msg, sizeof(msg), &err);
        if (r < 0) {
                printf("error %s%s%s: protocol: %s\n", cmd, sep, arg, cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        if (r == 0) {
                printf("error %s%s%s: %s: %s\n", cmd, sep, arg, errname(code), msg);
                return expect_refusal ? 0 : -1;
        }
        env = last_reply;
        last_reply = NULL;
        if (want_case == CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD && tmpfs_mode == SNAPSHOT_MOUNT) {
                r = check_snapshot_fd(f.fds[0], desc, sizeof(desc), &err);
                after = count_lines(mi);
                if (r == 0 && (before < 0 || after != before))
                        r = cnr_errf(&err, EPROTO, "the helper's mountinfo changed (%d lines, then %d)", before, after);
                after = count_lines("/proc/self/mountinfo");
                if (r == 0 && (own_before < 0 || after != own_before))
                        r = cnr_errf(&err, EPROTO, "the driver's mountinfo changed (%d lines, then %d)", own_before,
                                     after);
        } else if (want_case == CNR__HELPER__FROM_HELPER__MSG_USAGE) {
                snprintf(desc, sizeof(desc), "size=%llu inodes=%llu", (unsigned long long)env->usage->size,
                         (unsigned long long)env->usage->inodes);
                r = 0;
        } else if (want_case == CNR__HELPER__FROM_HELPER__MSG_APPLIED) {
                snprintf(desc, sizeof(desc), "diff_id=%s tar_size=%llu entries=%llu written=%llu",
                         env->applied->diff_id, (unsigned long long)env->applied->tar_size,
                         (unsigned long long)env->applied->entries, (unsigned long long)env->applied->bytes_written);
                r = 0;
        } else if (want_case == CNR__HELPER__FROM_HELPER__MSG_LISTING) {
                r = read_listing(f.fds[0], desc, sizeof(desc), &err);
        } else if (want_case == CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD) {
                r = check_tmpfs_fd(f.fds[0], tmpfs_mode, desc, sizeof(desc), &err);
                after = count_lines(mi);
                if (r == 0 && (before < 0 || after != before))
                        r = cnr_errf(&err, EPROTO, "the helper's mountinfo changed (%d lines, then %d)", before, after);
        } else if (want_case == CNR__HELPER__FROM_HELPER__MSG_NETNS) {
                r = check_netns_fd(f.fds[0], desc, sizeof(desc), &err);
        } else if (want_case == CNR__HELPER__FROM_HELPER__MSG_CNI_RESULT) {
                snprintf(desc, sizeof(desc), "%s", env->cni_result->result);
                r = 0;
                if (cni_result_path && env->cni_result->result[0]) {
                        FILE *fp = fopen(cni_result_path, "we");
                        if (fp == NULL || fputs(env->cni_result->result, fp) < 0)
                                r = cnr_errf(&err, errno, "keep the result in `%s`", cni_result_path);
                        if (fp)
                                fclose(fp);
                }
        } else if (want_case == CNR__HELPER__FROM_HELPER__MSG_ROUTES) {
                size_t off = (size_t)snprintf(desc, sizeof(desc), "%zu ", env->routes->n_prefixes);
                for (size_t k = 0; k < env->routes->n_prefixes && off < sizeof(desc); k++)
                        off += (size_t)snprintf(desc + off, sizeof(desc) - off, "%s%s", k ? "," : "",
                                                env->routes->prefixes[k]);
                r = 0;
        } else {
                r = 0;
        }
        cnr_frame_close_fds(&f);
        if (env)
                protobuf_c_message_free_unpacked(&env->base, NULL);
        if (r < 0) {
                printf("error %s%s%s: check: %s\n", cmd, sep, arg, cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        printf("ok %s%s%s%s%s%s\n", cmd, sep, arg, desc[0] ? " " : "", desc,
               expect_refusal ? " (unexpected success: a refusal was expected)" : "");
        return expect_refusal ? -1 : 0;
}

static int
await_hello(struct drive *d)
{
        Cnr__Helper__FromHelper *env = NULL;
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        int r, ok = -1;

        r = await_frame(d, &f, &env, &err);
        if (r <= 0) {
                char how[96] = "";
                if (r == 0) {
                        await_exit(d, &err);
                        describe_exit(d, how, sizeof(how));
                }
                printf("error hello: %s%s\n", r == 0 ? "channel closed before HELLO, helper " : "",
                       r == 0 ? how : cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        if (env->msg_case != CNR__HELPER__FROM_HELPER__MSG_HELLO || f.reqid != 0 || f.nfds != 0)
                printf("error hello: first frame is case %d reqid %u with %zu fds, not HELLO\n", (int)env->msg_case,
                       f.reqid, f.nfds);
        else if (env->hello->protocol != CNR_IPC_PROTOCOL)
                printf("error hello: protocol %u, expected %u\n", env->hello->protocol, CNR_IPC_PROTOCOL);
        else if (strcmp(env->hello->name, d->name) != 0)
                printf("error hello: name `%s`, expected `%s`\n", env->hello->name, d->name);
        else if (env->hello->pid != (int32_t)d->pid)
                printf("error hello: pid %d, expected %d\n", env->hello->pid, (int)d->pid);
        else {
                printf("ok hello %s pid %d protocol %u version %s\n", env->hello->name, env->hello->pid,
                       env->hello->protocol, env->hello->version);
                ok = 0;
        }
        protobuf_c_message_free_unpacked(&env->base, NULL);
        cnr_frame_close_fds(&f);
        return ok;
}

static int
is_number(const char *s)
{
        unsigned long long v;
        return cnr_parse_uint(s, ~0ULL, &v) == 0;
}

static unsigned long long
parse_num(const char *s)
{
        return strtoull(s, NULL, s[0] == '0' && s[1] ? 8 : 10); /* modes written 01777 are octal */
}

/* A user namespace created by a child running as `owner` (its owner),
 * mapping 0 100000 65536 when owner is 0 (we are root); the child has
 * exited when this returns. */
static int
userns_of(uid_t owner)
{
        int ready[2], done[2], fd = -1;
        char c, path[64];
        pid_t pid;

        if (pipe2(ready, O_CLOEXEC) < 0)
                return -1;
        if (pipe2(done, O_CLOEXEC) < 0) {
                close(ready[0]);
                close(ready[1]);
                return -1;
        }
        pid = fork();
        if (pid == 0) {
                close(ready[0]);
                close(done[1]);
                if ((owner != 0 && (setresgid(owner, owner, owner) < 0 || setresuid(owner, owner, owner) < 0)) ||
                    unshare(CLONE_NEWUSER) < 0)
                        _exit(1);
                (void)!write(ready[1], "r", 1);
                (void)!read(done[0], &c, 1);
                _exit(0);
        }
        close(ready[1]);
        close(done[0]);
        if (pid > 0 && read(ready[0], &c, 1) == 1) {
                int ok = 1;
                if (owner == 0) {
                        static const char *const files[] = {"uid_map", "gid_map"};
                        for (int i = 0; i < 2 && ok; i++) {
                                int m;
                                snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[i]);
                                m = open(path, O_WRONLY | O_CLOEXEC);
                                ok = m >= 0 && write(m, "0 100000 65536\n", 15) == 15;
                                if (m >= 0)
                                        close(m);
                        }
                }
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
                if (ok)
                        fd = open(path, O_RDONLY | O_CLOEXEC);
        }
        close(ready[0]);
        close(done[1]);
        if (pid > 0)
                waitpid(pid, NULL, 0);
        return fd;
}

/* Split s at `sep` into at most n fields (in place); returns the count. */
static int
split(char *s, char sep, char **f, int n)
{
        int k = 0;

        f[k++] = s;
        for (char *p = s; *p && k < n; p++)
                if (*p == sep) {
                        *p = '\0';
                        f[k++] = p + 1;
                }
        return k;
}

/* The snapshot commands (snapd's SnapCreate/Remove/Usage/Apply and
 * mountd's MountSnapshot); see the usage at the top. */
static int
snap_cmd(struct drive *d, const char *cmd, int argc, char **argv, int *i, bool refuse)
{
        Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
        _cleanup_free_ char *spec = NULL;
        char *f[4] = {NULL, NULL, NULL, NULL}, *lowers[256];
        const char *arg;
        int nf;

        if (*i + 1 >= argc || (strcmp(cmd, "apply") == 0 && *i + 2 >= argc)) {
                printf("error %s: missing argument\n", cmd);
                return -1;
        }
        arg = argv[++*i];
        spec = xstrdup(arg);
        nf = split(spec, ':', f, 4);
        if (strcmp(cmd, "create") == 0) {
                Cnr__Helper__SnapCreate m = CNR__HELPER__SNAP_CREATE__INIT;
                m.id = f[0];
                m.parent = nf > 1 ? f[1] : (char *)"";
                m.work = nf > 2 && strcmp(f[2], "work") == 0;
                req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_CREATE;
                req.snap_create = &m;
                return cmd_request(d, cmd, arg, &req, CNR__HELPER__FROM_HELPER__MSG_DONE, 0, 0, refuse);
        }
        if (strcmp(cmd, "remove") == 0) {
                Cnr__Helper__SnapRemove m = CNR__HELPER__SNAP_REMOVE__INIT;
                m.id = f[0];
                req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_REMOVE;
                req.snap_remove = &m;
                return cmd_request(d, cmd, arg, &req, CNR__HELPER__FROM_HELPER__MSG_DONE, 0, 0, refuse);
        }
        if (strcmp(cmd, "usage") == 0) {
                Cnr__Helper__SnapUsage m = CNR__HELPER__SNAP_USAGE__INIT;
                m.id = f[0];
                req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_USAGE;
                req.snap_usage = &m;
                return cmd_request(d, cmd, arg, &req, CNR__HELPER__FROM_HELPER__MSG_USAGE, 0, 0, refuse);
        }
        if (strcmp(cmd, "apply") == 0) {
                Cnr__Helper__SnapApply m = CNR__HELPER__SNAP_APPLY__INIT;
                const char *file = argv[++*i];
                m.id = f[0];
                m.max_bytes = nf > 1 ? strtoull(f[1], NULL, 10) : 0;
                m.max_entries = nf > 2 ? strtoull(f[2], NULL, 10) : 0;
                if (nf > 3 && f[3][0] != '\0') {
                        m.n_lower = (size_t)split(f[3], ',', lowers, (int)CNR_ARRAY_LEN(lowers));
                        m.lower = lowers;
                }
                send_fd = open(file, O_RDONLY | O_CLOEXEC);
                if (send_fd < 0) {
                        printf("error apply %s: open `%s`: %s\n", arg, file, strerror(errno));
                        return -1;
                }
                req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_APPLY;
                req.snap_apply = &m;
                return cmd_request(d, cmd, arg, &req, CNR__HELPER__FROM_HELPER__MSG_APPLIED, 0, 0, refuse);
        }
        {
                /* mount UPPER:LOWER,LOWER...:ro|rw, mount-idmap ...:OWNER */
                Cnr__Helper__MountSnapshot m = CNR__HELPER__MOUNT_SNAPSHOT__INIT;
                m.upper = f[0];
                if (nf > 1 && f[1][0] != '\0')
                        m.n_lower = (size_t)split(f[1], ',', lowers, (int)CNR_ARRAY_LEN(lowers));
                m.lower = lowers;
                m.read_only = nf > 2 && strcmp(f[2], "ro") == 0;
                if (strcmp(cmd, "mount-idmap") == 0) {
                        send_fd = userns_of(nf > 3 ? (uid_t)strtoul(f[3], NULL, 10) : 0);
                        if (send_fd < 0) {
                                printf("error mount-idmap %s: make a user namespace: %s\n", arg, strerror(errno));
                                return -1;
                        }
                        req.op_case = CNR__HELPER__TO_HELPER__OP_MOUNT_SNAPSHOT_IDMAPPED;
                        req.mount_snapshot_idmapped = &m;
                        return cmd_request(d, cmd, arg, &req, CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD, 1, SNAPSHOT_MOUNT,
                                           refuse);
                }
                req.op_case = CNR__HELPER__TO_HELPER__OP_MOUNT_SNAPSHOT;
                req.mount_snapshot = &m;
                return cmd_request(d, cmd, arg, &req, CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD, 1, SNAPSHOT_MOUNT,
                                   refuse);
        }
}

static char *
slurp(const char *path)
{
        FILE *fp = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        if (fp == NULL)
                return NULL;
        if (getdelim(&buf, &len, '\0', fp) < 0) {
                free(buf);
                buf = xstrdup("");
        }
        fclose(fp);
        return buf;
}

/* cni CMD ID IFNAME CONFLIST PORTS */
static int
cni_cmd(struct drive *d, int argc, char **argv, int *i, bool refuse)
{
        Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__CniExec c = CNR__HELPER__CNI_EXEC__INIT;
        _cleanup_free_ char *conf = NULL, *prev = NULL, *caps = NULL, *arg = NULL, *keep = NULL;
        const char *cmd;
        int r;

        if (*i + 5 >= argc) {
                printf("error cni: usage: cni ADD|DEL|CHECK ID IFNAME CONFLIST PORTS\n");
                return -1;
        }
        cmd = argv[*i + 1];
        c.command = strcmp(cmd, "ADD") == 0 ? 1 : strcmp(cmd, "DEL") == 0 ? 2 : strcmp(cmd, "CHECK") == 0 ? 3 : 9;
        c.id = argv[*i + 2];
        c.ifname = argv[*i + 3];
        conf = slurp(argv[*i + 4]);
        if (conf == NULL) {
                printf("error cni: read `%s`: %s\n", argv[*i + 4], strerror(errno));
                return -1;
        }
        c.conflist = conf;
        if (strcmp(argv[*i + 5], "-") != 0) {
                caps = xasprintf("{\"portMappings\":%s}", argv[*i + 5]);
                c.capability_args = caps;
        }
        keep = xasprintf("%s.%s.%s.result", argv[*i + 4], c.id, c.ifname);
        if (c.command != 1) {
                prev = slurp(keep);
                if (prev)
                        c.prev_result = prev;
        }
        if (getenv("CNR_CNI_PLUGIN_DIR"))
                c.plugin_dir = getenv("CNR_CNI_PLUGIN_DIR");
        arg = xasprintf("%s %s %s", cmd, c.id, c.ifname);
        *i += 5;
        req.op_case = CNR__HELPER__TO_HELPER__OP_CNI_EXEC;
        req.cni_exec = &c;
        cni_result_path = c.command == 1 ? keep : NULL;
        r = cmd_request(d, "cni", arg, &req, CNR__HELPER__FROM_HELPER__MSG_CNI_RESULT, 0, 0, refuse);
        cni_result_path = NULL;
        if (r == 0 && c.command == 2 && !refuse)
                unlink(keep);
        return r;
}

static int
run(struct drive *d, int argc, char **argv)
{
        int failed = 0;

        for (int i = 0; i < argc; i++) {
                Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
                bool refuse = argv[i][0] == '!';
                const char *cmd = argv[i] + (refuse ? 1 : 0);
                int r;

                if (d->exited || d->ipc < 0) {
                        printf("error %s: the helper is gone\n", cmd);
                        failed = 1;
                        continue;
                }
                if (strcmp(cmd, "ping") == 0) {
                        Cnr__Helper__Ping p = CNR__HELPER__PING__INIT;
                        req.op_case = CNR__HELPER__TO_HELPER__OP_PING;
                        req.ping = &p;
                        r = cmd_request(d, cmd, NULL, &req, CNR__HELPER__FROM_HELPER__MSG_PONG, 0, 0, refuse);
                } else if (strcmp(cmd, "tmpfs") == 0) {
                        Cnr__Helper__MountTmpfs m = CNR__HELPER__MOUNT_TMPFS__INIT;
                        char arg[64] = "";
                        m.size_bytes = 1 << 20;
                        m.mode = 01777;
                        m.nosuid = m.nodev = true;
                        if (i + 2 < argc && is_number(argv[i + 1]) && is_number(argv[i + 2])) {
                                m.size_bytes = parse_num(argv[i + 1]);
                                m.mode = (uint32_t)parse_num(argv[i + 2]);
                                snprintf(arg, sizeof(arg), "%s %s", argv[i + 1], argv[i + 2]);
                                i += 2;
                        }
                        req.op_case = CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS;
                        req.mount_tmpfs = &m;
                        r = cmd_request(d, cmd, arg[0] ? arg : NULL, &req, CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD, 1,
                                        m.mode, refuse);
                } else if (strcmp(cmd, "mkdir") == 0 || strcmp(cmd, "rmdir") == 0) {
                        Cnr__Helper__SnapMkdir mk = CNR__HELPER__SNAP_MKDIR__INIT;
                        Cnr__Helper__SnapRmdir rm = CNR__HELPER__SNAP_RMDIR__INIT;
                        if (i + 1 >= argc) {
                                printf("error %s: missing NAME\n", cmd);
                                return 1;
                        }
                        if (cmd[0] == 'm') {
                                mk.name = argv[++i];
                                mk.mode = 0755;
                                req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR;
                                req.snap_mkdir = &mk;
                        } else {
                                rm.name = argv[++i];
                                req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_RMDIR;
                                req.snap_rmdir = &rm;
                        }
                        r = cmd_request(d, cmd, argv[i], &req, CNR__HELPER__FROM_HELPER__MSG_DONE, 0, 0, refuse);
                } else if (strcmp(cmd, "create") == 0 || strcmp(cmd, "remove") == 0 || strcmp(cmd, "usage") == 0 ||
                           strcmp(cmd, "apply") == 0 || strcmp(cmd, "mount") == 0 || strcmp(cmd, "mount-idmap") == 0) {
                        r = snap_cmd(d, cmd, argc, argv, &i, refuse);
                } else if (strcmp(cmd, "list") == 0) {
                        Cnr__Helper__SnapList l = CNR__HELPER__SNAP_LIST__INIT;
                        req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_LIST;
                        req.snap_list = &l;
                        r = cmd_request(d, cmd, NULL, &req, CNR__HELPER__FROM_HELPER__MSG_LISTING, 1, 0, refuse);
                } else if (strcmp(cmd, "netns") == 0) {
                        Cnr__Helper__NetnsCreate n = CNR__HELPER__NETNS_CREATE__INIT;
                        req.op_case = CNR__HELPER__TO_HELPER__OP_NETNS_CREATE;
                        req.netns_create = &n;
                        r = cmd_request(d, cmd, NULL, &req, CNR__HELPER__FROM_HELPER__MSG_NETNS, 1, 0, refuse);
                } else if (strcmp(cmd, "netns-open") == 0 || strcmp(cmd, "netns-rm") == 0 ||
                           strcmp(cmd, "bridge-rm") == 0) {
                        Cnr__Helper__NetnsOpen o = CNR__HELPER__NETNS_OPEN__INIT;
                        Cnr__Helper__NetnsRemove rm = CNR__HELPER__NETNS_REMOVE__INIT;
                        Cnr__Helper__BridgeRemove br = CNR__HELPER__BRIDGE_REMOVE__INIT;
                        if (i + 1 >= argc) {
                                printf("error %s: missing argument\n", cmd);
                                return 1;
                        }
                        i++;
                        if (strcmp(cmd, "netns-open") == 0) {
                                o.id = argv[i];
                                req.op_case = CNR__HELPER__TO_HELPER__OP_NETNS_OPEN;
                                req.netns_open = &o;
                                r = cmd_request(d, cmd, argv[i], &req, CNR__HELPER__FROM_HELPER__MSG_NETNS, 1, 0,
                                                refuse);
                        } else if (strcmp(cmd, "netns-rm") == 0) {
                                rm.id = argv[i];
                                req.op_case = CNR__HELPER__TO_HELPER__OP_NETNS_REMOVE;
                                req.netns_remove = &rm;
                                r = cmd_request(d, cmd, argv[i], &req, CNR__HELPER__FROM_HELPER__MSG_DONE, 0, 0,
                                                refuse);
                        } else {
                                char *colon = strchr(argv[i], ':');
                                br.name = argv[i];
                                if (colon) {
                                        *colon = '\0';
                                        br.network = colon + 1;
                                }
                                req.op_case = CNR__HELPER__TO_HELPER__OP_BRIDGE_REMOVE;
                                req.bridge_remove = &br;
                                r = cmd_request(d, cmd, argv[i], &req, CNR__HELPER__FROM_HELPER__MSG_DONE, 0, 0,
                                                refuse);
                        }
                } else if (strcmp(cmd, "isolate") == 0 || strcmp(cmd, "bridge-check") == 0) {
                        Cnr__Helper__IsolationSync is = CNR__HELPER__ISOLATION_SYNC__INIT;
                        Cnr__Helper__BridgeCheck bc = CNR__HELPER__BRIDGE_CHECK__INIT;
                        bool check = cmd[0] == 'b';
                        char *list[17], *save = NULL, *tok;
                        size_t n = 0;

                        if (i + (check ? 3 : 1) >= argc) {
                                printf("error %s: missing arguments\n", cmd);
                                return 1;
                        }
                        if (check)
                                bc.name = argv[++i];
                        i++;
                        if (strcmp(argv[i], "-") != 0)
                                for (tok = strtok_r(argv[i], ",", &save); tok && n < 16;
                                     tok = strtok_r(NULL, ",", &save))
                                        list[n++] = tok;
                        if (check) {
                                bc.addresses = list;
                                bc.n_addresses = n;
                                bc.may_delete = strcmp(argv[++i], "delete") == 0;
                                req.op_case = CNR__HELPER__TO_HELPER__OP_BRIDGE_CHECK;
                                req.bridge_check = &bc;
                        } else {
                                is.bridges = list;
                                is.n_bridges = n;
                                req.op_case = CNR__HELPER__TO_HELPER__OP_ISOLATION_SYNC;
                                req.isolation_sync = &is;
                        }
                        r = cmd_request(d, cmd, check ? bc.name : NULL, &req, CNR__HELPER__FROM_HELPER__MSG_DONE, 0, 0,
                                        refuse);
                } else if (strcmp(cmd, "cni") == 0) {
                        r = cni_cmd(d, argc, argv, &i, refuse);
                } else if (strcmp(cmd, "routes") == 0) {
                        Cnr__Helper__RouteList rl = CNR__HELPER__ROUTE_LIST__INIT;
                        req.op_case = CNR__HELPER__TO_HELPER__OP_ROUTE_LIST;
                        req.route_list = &rl;
                        r = cmd_request(d, cmd, NULL, &req, CNR__HELPER__FROM_HELPER__MSG_ROUTES, 0, 0, refuse);
                } else if (strcmp(cmd, "status") == 0 && !refuse) {
                        r = cmd_status(d);
                } else if (strcmp(cmd, "garbage") == 0 && !refuse) {
                        r = cmd_garbage(d);
                } else if (strcmp(cmd, "foreign") == 0 && !refuse) {
                        r = cmd_foreign(d);
                } else if (strcmp(cmd, "eof") == 0 && !refuse) {
                        r = cmd_eof(d, "eof");
                } else {
                        printf("error %s: unknown command\n", argv[i]);
                        return 1;
                }
                if (r < 0)
                        failed = 1;
        }
        if (!d->exited && cmd_eof(d, "exit") < 0)
                failed = 1;
        return failed;
}

static void
usage(void)
{
        fprintf(stderr, "usage: helper-drive [--uid N] [--gid N] [--audit FILE] [--snapshot-root DIR]\n"
                        "                    [--run-root DIR] [--overlay-mode MODE] [--log-level LEVEL]\n"
                        "                    [--timeout SEC] BINARY CMD...\n"
                        "commands: ping, tmpfs [SIZE MODE], mkdir NAME, rmdir NAME, netns, status,\n"
                        "          create ID[:PARENT[:work]], remove ID, usage ID, list,\n"
                        "          apply ID[:BYTES:ENTRIES[:LOWER,...]] FILE, mount UPPER:LOWER,...:ro|rw,\n"
                        "          netns-open ID, netns-rm ID, cni CMD ID IFNAME CONFLIST PORTS, routes,\n"
                        "          bridge-rm NAME, garbage, foreign, eof; prefix `!` to expect a refusal\n");
        exit(2);
}

int
main(int argc, char **argv)
{
        const char *uid = "65534", *gid = "65534", *audit = "/dev/null", *snaproot = NULL, *level = "debug";
        const char *runroot = NULL, *ovmode = NULL;
        static struct drive d;
        struct cnr_err *err = NULL;
        char *hargv[16];
        int ipc[2], logp[2], fds[3], hn = 0, i, rc, afd;
        const char *base;
        unsigned long long v;

        setvbuf(stdout, NULL, _IOLBF, 0);
        signal(SIGPIPE, SIG_IGN);
        d.timeout_ms = 10000;
        for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
                if (i + 1 >= argc)
                        usage();
                if (strcmp(argv[i], "--uid") == 0)
                        uid = argv[i + 1];
                else if (strcmp(argv[i], "--gid") == 0)
                        gid = argv[i + 1];
                else if (strcmp(argv[i], "--audit") == 0)
                        audit = argv[i + 1];
                else if (strcmp(argv[i], "--snapshot-root") == 0)
                        snaproot = argv[i + 1];
                else if (strcmp(argv[i], "--run-root") == 0)
                        runroot = argv[i + 1];
                else if (strcmp(argv[i], "--overlay-mode") == 0)
                        ovmode = argv[i + 1];
                else if (strcmp(argv[i], "--log-level") == 0)
                        level = argv[i + 1];
                else if (strcmp(argv[i], "--timeout") == 0 && cnr_parse_uint(argv[i + 1], 3600, &v) == 0 && v > 0)
                        d.timeout_ms = (int)v * 1000;
                else
                        usage();
        }
        if (i >= argc)
                usage();
        base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        d.name = strncmp(base, "containr-", 9) == 0 ? base + 9 : base;
        d.next_reqid = 1;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ipc) < 0 ||
            socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, logp) < 0) {
                perror("helper-drive: socketpair");
                return 1;
        }
        afd = open(audit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (afd < 0) {
                fprintf(stderr, "helper-drive: open `%s`: %s\n", audit, strerror(errno));
                return 1;
        }
        hargv[hn++] = argv[i];
        hargv[hn++] = (char *)"--uid";
        hargv[hn++] = (char *)uid;
        hargv[hn++] = (char *)"--gid";
        hargv[hn++] = (char *)gid;
        hargv[hn++] = (char *)"--log-level";
        hargv[hn++] = (char *)level;
        if (snaproot) {
                hargv[hn++] = (char *)"--snapshot-root";
                hargv[hn++] = (char *)snaproot;
        }
        if (runroot) {
                hargv[hn++] = (char *)"--run-root";
                hargv[hn++] = (char *)runroot;
        }
        if (ovmode) {
                hargv[hn++] = (char *)"--overlay-mode";
                hargv[hn++] = (char *)ovmode;
        }
        hargv[hn] = NULL;
        fds[0] = ipc[1];
        fds[1] = logp[1];
        fds[2] = afd;
        d.pid = cnr_spawn(argv[i], hargv, NULL, fds, 3, SIGKILL, &d.pidfd, &err);
        close(ipc[1]);
        close(logp[1]);
        close(afd);
        if (d.pid < 0) {
                fprintf(stderr, "helper-drive: %s\n", cnr_err_str(err));
                return 1;
        }
        d.ipc = ipc[0];
        d.log = logp[0];
        fcntl(d.log, F_SETFL, O_NONBLOCK);
        fcntl(d.ipc, F_SETFL, O_NONBLOCK);
        if (await_hello(&d) < 0) {
                if (!d.exited) {
                        kill(d.pid, SIGKILL);
                        reap(&d);
                }
                return 1;
        }
        rc = run(&d, argc - i - 1, argv + i + 1);
        if (!d.exited) {
                kill(d.pid, SIGKILL);
                reap(&d);
        }
        drain_log(&d);
        return rc;
}
