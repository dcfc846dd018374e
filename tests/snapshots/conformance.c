/* The snapshotter conformance suite (DESIGN.md section 8): the containerd
 * testsuite's cases, our own code, run against every driver in `drivers[]`
 * (today overlay2: supervisor/snapshots.c over real containr-snapd and
 * containr-mountd processes, started here as the monitor starts them).
 *
 * Runs as root in a private mount namespace of its own: the detached mount
 * fds mountd returns are attached with move_mount under a temporary dir,
 * the changes of each step are made through the mount and to a plain
 * "flat" directory, and a view of the committed chain must equal the flat
 * tree (type, mode, owner, size, content, link target).  Also: unpack of
 * an image (chain ids, skip, diff_id mismatch), start-up reconciliation
 * (THREATS.md 38) and GC.  Output is TAP; exit 77 when not root.
 *
 * Every case runs twice: with mountd's --overlay-mode auto (the cheapest
 * path: fsconfig, lowerdir+ on Linux 6.8+) and legacy (every overlay by
 * mount(2) in mountd's private namespace, the path a 6.1 kernel takes for
 * long lists).  mountd's audit records say how each mount was built; a
 * comment line after each case prints the count per path, and the paths
 * must be those the mode allows. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <event2/event.h>

#include "common/helpers.h"
#include "common/spawn.h"
#include "common/util.h"
#include "ipc/common.pb-c.h"
#include "ipc/helper.pb-c.h"
#include "supervisor/content.h"
#include "supervisor/snapshots.h"
#include "supervisor/unpack.h"

#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

/* ---- the environment of one test ------------------------------------------ */

struct env {
        char dir[256];  /* temp dir: root/, flat/, mntN/, the db */
        char root[300]; /* the snapshot root */
        char flat[300];
        struct event_base *base;
        struct cnr_peer *peer[CNR_HELPER_COUNT];
        pid_t pid[CNR_HELPER_COUNT];
        int logfd[CNR_HELPER_COUNT];
        bool hello[CNR_HELPER_COUNT];
        struct cnr_db *db;
        struct cnr_snapshotter *ss;
        int nmounts;
        const char *overlay_mode; /* mountd's --overlay-mode */
        char mountd_audit[300];
};

struct driver {
        const char *name;
        int (*setup)(struct env *e);
        void (*teardown)(struct env *e);
};

static const char *helper_dir;
static int failures, testno;
static const char *cur_test;

#define CHECK(cond, ...)                                                                                               \
        do {                                                                                                           \
                if (!(cond)) {                                                                                         \
                        printf("# %s: %s:%d: ", cur_test, __FILE__, __LINE__);                                         \
                        printf(__VA_ARGS__);                                                                           \
                        printf("\n");                                                                                  \
                        return -1;                                                                                     \
                }                                                                                                      \
        } while (0)

static void
on_hello(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct env *e = arg;
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                if (e->peer[i] == p) {
                        e->hello[i] = true;
                        cnr_peer_set_hello(p);
                }
}

static const struct cnr_permit permits[] = {
        {CNR__HELPER__FROM_HELPER__MSG_HELLO, CNR_PERMIT_HELLO, 0, "hello", on_hello},
        {CNR__HELPER__FROM_HELPER__MSG_ERROR, CNR_PERMIT_REPLY, 0, "error", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD, CNR_PERMIT_REPLY, 1, "mount_fd", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_DONE, CNR_PERMIT_REPLY, 0, "done", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_USAGE, CNR_PERMIT_REPLY, 0, "usage", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_APPLIED, CNR_PERMIT_REPLY, 0, "applied", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_DIFFED, CNR_PERMIT_REPLY, 0, "diffed", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_LISTING, CNR_PERMIT_REPLY, 1, "listing", NULL},
};

static void
on_close(struct cnr_peer *p, struct cnr_err *err, void *arg)
{
        printf("# helper channel closed%s%s\n", err ? ": " : "", err ? cnr_err_str(err) : "");
}

static int
request(void *arg, int helper, uint16_t type, const ProtobufCMessage *msg, const int *fds, size_t nfds,
        unsigned timeout_ms, cnr_reply_cb cb, void *cbarg, struct cnr_err **err)
{
        struct env *e = arg;

        if (e->peer[helper] == NULL)
                return cnr_errf(err, EAGAIN, "helper %d not running", helper);
        return cnr_peer_request(e->peer[helper], type, msg, fds, nfds, timeout_ms ? timeout_ms : 60000, cb, cbarg, err);
}

static int
start_helper(struct env *e, int id, unsigned uid, struct cnr_err **err)
{
        static const struct cnr_peer_ops ops = {&cnr__helper__from_helper__descriptor, permits, CNR_ARRAY_LEN(permits),
                                                CNR_IPC_HELPER_CAP, on_close};
        const struct cnr_helper_desc *h = &cnr_helpers[id];
        _cleanup_free_ char *path = xasprintf("%s/%s", helper_dir, h->binary);
        char ustr[16];
        char *argv[12];
        int ipc[2], lg[2], audit, pidfd = -1, n = 9;
        pid_t pid;

        snprintf(ustr, sizeof(ustr), "%u", uid);
        argv[0] = (char *)h->binary;
        argv[1] = "--uid";
        argv[2] = ustr;
        argv[3] = "--gid";
        argv[4] = ustr;
        argv[5] = "--log-level";
        argv[6] = "warn";
        argv[7] = "--snapshot-root";
        argv[8] = e->root;
        if (id == CNR_HELPER_MOUNTD) {
                argv[n++] = "--overlay-mode";
                argv[n++] = (char *)e->overlay_mode;
        }
        argv[n] = NULL;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ipc) < 0 ||
            socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lg) < 0)
                return cnr_errf(err, errno, "socketpair");
        if (id == CNR_HELPER_MOUNTD)
                audit = open(e->mountd_audit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        else
                audit = open("/dev/null", O_WRONLY | O_APPEND | O_CLOEXEC);
        pid = cnr_spawn(path, argv, NULL, (int[]){ipc[1], lg[1], audit}, 3, SIGKILL, &pidfd, err);
        close(ipc[1]);
        close(lg[1]);
        close(audit);
        if (pid < 0)
                return -1;
        if (pidfd >= 0)
                close(pidfd);
        e->pid[id] = pid;
        e->logfd[id] = lg[0]; /* never read: a full log socket drops records */
        e->peer[id] = cnr_peer_new(e->base, ipc[0], h->name, &ops, e);
        while (!e->hello[id])
                if (event_base_loop(e->base, EVLOOP_ONCE) < 0)
                        return cnr_errf(err, EIO, "event loop");
        return 0;
}

static int
overlay2_setup(struct env *e)
{
        struct cnr_err *err = NULL;
        _cleanup_free_ char *db = xasprintf("%s/containr.db", e->dir);

        snprintf(e->root, sizeof(e->root), "%s/root", e->dir);
        if (mkdir(e->root, 0700) < 0 || chown(e->root, 64997, 64997) < 0)
                return -1;
        e->base = event_base_new();
        if (start_helper(e, CNR_HELPER_SNAPD, 64997, &err) < 0 || start_helper(e, CNR_HELPER_MOUNTD, 64998, &err) < 0 ||
            cnr_db_open(db, &e->db, &err) < 0 || cnr_snapshotter_open(e->db, request, e, &e->ss, &err) < 0) {
                printf("# setup: %s\n", cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        return 0;
}

static void
overlay2_teardown(struct env *e)
{
        cnr_snapshotter_close(e->ss);
        if (e->db)
                cnr_db_close(e->db);
        for (int i = 0; i < CNR_HELPER_COUNT; i++) {
                if (e->peer[i])
                        cnr_peer_free(e->peer[i]);
                if (e->pid[i] > 0) {
                        /* EOF on its channel: a helper writes the audit
                         * record of its last request, then exits. */
                        pid_t w = 0;
                        for (int t = 0; t < 200 && (w = waitpid(e->pid[i], NULL, WNOHANG)) == 0; t++)
                                usleep(10000);
                        if (w == 0) {
                                kill(e->pid[i], SIGKILL);
                                waitpid(e->pid[i], NULL, 0);
                        }
                        close(e->logfd[i]);
                }
        }
        if (e->base)
                event_base_free(e->base);
}

static const struct driver drivers[] = {
        {"overlay2", overlay2_setup, overlay2_teardown},
};

/* ---- synchronous wrappers ------------------------------------------------- */

struct wait {
        bool done;
        struct cnr_err *err;
        int fd;
        uint64_t size, inodes;
        struct cnr_snap_applied applied;
        struct cnr_snap_reconcile_report rep;
        char top[160];
};

static void
loop_until(struct env *e, struct wait *w)
{
        while (!w->done)
                event_base_loop(e->base, EVLOOP_ONCE);
}

static void
w_done(struct cnr_err *err, void *arg)
{
        struct wait *w = arg;
        if (err)
                cnr_errf(&w->err, err->code, "%s", err->msg);
        w->done = true;
}

/* 0, or the errno of the failure (its message printed). */
static int
finish_wait(struct env *e, struct wait *w, int r, struct cnr_err *err, bool quiet)
{
        int code;

        if (r < 0) {
                code = err->code ? err->code : EIO;
                if (!quiet)
                        printf("# %s\n", cnr_err_str(err));
                cnr_err_free(&err);
                return code;
        }
        loop_until(e, w);
        if (w->err) {
                code = w->err->code ? w->err->code : EIO;
                if (!quiet)
                        printf("# %s\n", cnr_err_str(w->err));
                cnr_err_free(&w->err);
                return code;
        }
        return 0;
}

static int
prepare_q(struct env *e, const char *key, const char *parent, bool quiet)
{
        struct wait w = {0};
        struct cnr_err *err = NULL;
        int r = cnr_snap_prepare(e->ss, key, parent, NULL, w_done, &w, &err);
        return finish_wait(e, &w, r, err, quiet);
}
static int
prepare(struct env *e, const char *key, const char *parent)
{
        return prepare_q(e, key, parent, false);
}
static int
view_q(struct env *e, const char *key, const char *parent, bool quiet)
{
        struct wait w = {0};
        struct cnr_err *err = NULL;
        int r = cnr_snap_view(e->ss, key, parent, NULL, w_done, &w, &err);
        return finish_wait(e, &w, r, err, quiet);
}
static int
remove_q(struct env *e, const char *key, bool quiet)
{
        struct wait w = {0};
        struct cnr_err *err = NULL;
        int r = cnr_snap_remove(e->ss, key, w_done, &w, &err);
        return finish_wait(e, &w, r, err, quiet);
}
static int
commit(struct env *e, const char *name, const char *key)
{
        struct cnr_err *err = NULL;
        int code;

        if (cnr_snap_commit(e->ss, name, key, NULL, &err) == 0)
                return 0;
        code = err->code;
        printf("# %s\n", cnr_err_str(err));
        cnr_err_free(&err);
        return code ? code : EIO;
}

static void
w_mounted(struct cnr_err *err, int fd, void *arg)
{
        struct wait *w = arg;
        w->fd = fd;
        w_done(err, arg);
}

/* Mount `key` at a fresh directory; returns its path (static per call slot). */
static const char *
mount_snap(struct env *e, const char *key)
{
        static char paths[8][320];
        char *dir = paths[e->nmounts++ % 8];
        struct wait w = {.fd = -1};
        struct cnr_err *err = NULL;
        int r;

        snprintf(dir, 320, "%s/mnt%d", e->dir, e->nmounts);
        mkdir(dir, 0755);
        r = cnr_snap_mount(e->ss, key, w_mounted, &w, &err);
        if (finish_wait(e, &w, r, err, false) != 0)
                return NULL;
        if (syscall(SYS_move_mount, w.fd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                printf("# move_mount %s: %s\n", dir, strerror(errno));
                close(w.fd);
                return NULL;
        }
        close(w.fd);
        return dir;
}

static int
unmount(const char *dir)
{
        /* mountd closes its copy of the mount fd just after sending it:
         * for a moment the mount can still be busy. */
        int r;

        for (int i = 0; (r = umount2(dir, 0)) < 0 && errno == EBUSY && i < 200; i++)
                usleep(10000);
        if (r < 0) {
                printf("# umount %s: %s\n", dir, strerror(errno));
                return -1;
        }
        return 0;
}

static int
stat_snap(struct env *e, const char *key, struct cnr_snap_info *i)
{
        struct cnr_err *err = NULL;
        if (cnr_snap_stat(e->ss, key, i, &err) == 0)
                return 0;
        cnr_err_free(&err);
        return -1;
}

/* ---- file helpers ----------------------------------------------------------- */

static int
wfile(const char *root, const char *rel, const char *content, mode_t mode)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -1;
        if (cnr_write_all(fd, content, strlen(content)) < 0 || fchmod(fd, mode) < 0) {
                close(fd);
                return -1;
        }
        close(fd);
        return 0;
}

static int
wdir(const char *root, const char *rel, mode_t mode)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -1;
        return chmod(p, mode);
}

static int
rm_rf(const char *path)
{
        struct stat st;
        DIR *d;
        struct dirent *de;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -1;
        if (!S_ISDIR(st.st_mode))
                return unlink(path);
        d = opendir(path);
        if (d == NULL)
                return -1;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *c = xasprintf("%s/%s", path, de->d_name);
                rm_rf(c);
        }
        closedir(d);
        return rmdir(path);
}

static int
rrm(const char *root, const char *rel)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
        return rm_rf(p);
}

static int
rchown(const char *root, const char *rel, uid_t u, gid_t g)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
        return lchown(p, u, g);
}

static int
rchmod(const char *root, const char *rel, mode_t m)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
        return chmod(p, m);
}

static int
rlink(const char *root, const char *from, const char *to)
{
        _cleanup_free_ char *a = xasprintf("%s/%s", root, from), *b = xasprintf("%s/%s", root, to);
        return link(a, b);
}

static int
rrename(const char *root, const char *from, const char *to)
{
        _cleanup_free_ char *a = xasprintf("%s/%s", root, from), *b = xasprintf("%s/%s", root, to);
        return rename(a, b);
}

static int
read_all(const char *path, char *buf, size_t n)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t r;
        if (fd < 0)
                return -1;
        r = read(fd, buf, n - 1);
        close(fd);
        if (r < 0)
                return -1;
        buf[r] = '\0';
        return (int)r;
}

/* Trees equal: names, types, modes, owners, sizes, contents, link targets. */
static int
tree_equal(const char *a, const char *b, const char *rel)
{
        DIR *d;
        struct dirent *de;
        int na = 0, nb = 0;

        d = opendir(a);
        if (d == NULL) {
                printf("# open %s: %s\n", a, strerror(errno));
                return -1;
        }
        while ((de = readdir(d)) != NULL) {
                struct stat sa, sb;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                na++;
                _cleanup_free_ char *pa = xasprintf("%s/%s", a, de->d_name);
                _cleanup_free_ char *pb = xasprintf("%s/%s", b, de->d_name);
                _cleanup_free_ char *r = xasprintf("%s/%s", rel, de->d_name);
                if (lstat(pa, &sa) < 0 || lstat(pb, &sb) < 0) {
                        printf("# %s: in one tree only\n", r);
                        closedir(d);
                        return -1;
                }
                if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT) || (sa.st_mode & 07777) != (sb.st_mode & 07777) ||
                    sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid ||
                    (S_ISREG(sa.st_mode) && sa.st_size != sb.st_size)) {
                        printf("# %s: mode %o/%o owner %u:%u/%u:%u size %lld/%lld\n", r, sa.st_mode, sb.st_mode,
                               sa.st_uid, sa.st_gid, sb.st_uid, sb.st_gid, (long long)sa.st_size,
                               (long long)sb.st_size);
                        closedir(d);
                        return -1;
                }
                if (S_ISREG(sa.st_mode)) {
                        char ca[4096], cb[4096];
                        if (read_all(pa, ca, sizeof(ca)) < 0 || read_all(pb, cb, sizeof(cb)) < 0 ||
                            strcmp(ca, cb) != 0) {
                                printf("# %s: contents differ\n", r);
                                closedir(d);
                                return -1;
                        }
                } else if (S_ISLNK(sa.st_mode)) {
                        char la[4096] = "", lb[4096] = "";
                        if (readlink(pa, la, sizeof(la) - 1) < 0 || readlink(pb, lb, sizeof(lb) - 1) < 0 ||
                            strcmp(la, lb) != 0) {
                                printf("# %s: link targets differ\n", r);
                                closedir(d);
                                return -1;
                        }
                } else if (S_ISDIR(sa.st_mode) && tree_equal(pa, pb, r) < 0) {
                        closedir(d);
                        return -1;
                }
        }
        closedir(d);
        d = opendir(b);
        if (d == NULL)
                return -1;
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        nb++;
        closedir(d);
        if (na != nb) {
                printf("# %s: %d entries against %d\n", rel[0] ? rel : "/", na, nb);
                return -1;
        }
        return 0;
}

/* ---- checkSnapshots: a chain of appliers against a flat dir ------------------ */

typedef int (*applier)(const char *root);

static int
check_chain(struct env *e, const applier *steps, size_t n, const char *prefix)
{
        char parent[64] = "", key[64], name[64];
        const char *m;

        mkdir(e->flat, 0755);
        for (size_t i = 0; i < n; i++) {
                snprintf(key, sizeof(key), "%s-prep-%zu", prefix, i);
                snprintf(name, sizeof(name), "%s-c-%zu", prefix, i);
                CHECK(prepare(e, key, parent) == 0, "prepare %s", key);
                m = mount_snap(e, key);
                CHECK(m != NULL, "mount %s", key);
                if (i > 0 && n > 100) /* 128 layers: each prepare equals flat before the step */
                        CHECK(tree_equal(m, e->flat, "") == 0, "layer %zu before apply", i);
                CHECK(steps[i](m) == 0, "apply step %zu: %s", i, strerror(errno));
                CHECK(steps[i](e->flat) == 0, "apply step %zu to flat: %s", i, strerror(errno));
                CHECK(unmount(m) == 0, "unmount");
                CHECK(commit(e, name, key) == 0, "commit %s", name);
                snprintf(parent, sizeof(parent), "%s", name);
        }
        snprintf(key, sizeof(key), "%s-view", prefix);
        CHECK(view_q(e, key, parent, false) == 0, "view");
        m = mount_snap(e, key);
        CHECK(m != NULL, "mount view");
        CHECK(tree_equal(m, e->flat, "") == 0, "the view of the chain differs from the flat tree");
        CHECK(unmount(m) == 0, "unmount view");
        CHECK(remove_q(e, key, false) == 0, "remove view");
        return 0;
}

/* ---- the cases ---------------------------------------------------------------- */

static int
a_base(const char *r)
{
        return wdir(r, "etc", 0755) | wfile(r, "etc/hosts", "127.0.0.1 localhost\n", 0644) |
               wfile(r, "etc/profile", "PATH=/bin\n", 0644) | wdir(r, "a", 0755) | wdir(r, "a/b", 0700) |
               wfile(r, "a/b/c", "c", 0600) | wfile(r, "foobar", "foo", 0644);
}
static int
a_diff(const char *r)
{
        return wfile(r, "bar", "bar", 0644) | wfile(r, "etc/hosts", "::1 localhost\n", 0644) | rrm(r, "a");
}

static int
t_basic(struct env *e)
{
        struct cnr_snap_info i;
        const applier steps[] = {a_base, a_diff};
        const char *m;

        CHECK(check_chain(e, steps, 2, "basic") == 0, "chain");
        CHECK(stat_snap(e, "basic-c-0", &i) == 0 && i.kind == CNR_SNAP_COMMITTED && i.parent[0] == '\0', "stat base");
        cnr_snap_info_clear(&i);
        CHECK(stat_snap(e, "basic-prep-0", &i) < 0, "the active key is gone after commit");
        CHECK(stat_snap(e, "basic-c-1", &i) == 0 && strcmp(i.parent, "basic-c-0") == 0, "stat top");
        cnr_snap_info_clear(&i);
        CHECK(remove_q(e, "basic-c-0", true) == EBUSY, "removing a parent fails");
        CHECK(prepare(e, "basic-act", "basic-c-1") == 0, "prepare on top");
        m = mount_snap(e, "basic-act");
        CHECK(m && access(m, F_OK) == 0, "mount active");
        {
                char buf[64];
                _cleanup_free_ char *p = xasprintf("%s/bar", m);
                CHECK(read_all(p, buf, sizeof(buf)) == 3 && strcmp(buf, "bar") == 0, "top content");
                free(p);
                p = xasprintf("%s/a", m);
                CHECK(access(p, F_OK) < 0, "removed dir hidden");
        }
        CHECK(unmount(m) == 0, "umount");
        CHECK(remove_q(e, "basic-act", false) == 0 && remove_q(e, "basic-c-1", false) == 0 &&
                      remove_q(e, "basic-c-0", false) == 0,
              "remove top then base");
        return 0;
}

static int
t_stat(struct env *e)
{
        struct cnr_snap_info i;

        CHECK(prepare(e, "s-active", "") == 0, "prepare");
        CHECK(stat_snap(e, "s-active", &i) == 0 && strcmp(i.name, "s-active") == 0 && i.kind == CNR_SNAP_ACTIVE &&
                      i.parent[0] == '\0',
              "StatActive");
        cnr_snap_info_clear(&i);
        CHECK(commit(e, "s-committed", "s-active") == 0, "commit");
        CHECK(stat_snap(e, "s-committed", &i) == 0 && i.kind == CNR_SNAP_COMMITTED && i.created == i.updated,
              "StatCommitted");
        cnr_snap_info_clear(&i);
        /* Transitivity */
        CHECK(prepare(e, "s-b", "s-committed") == 0 && commit(e, "s-B", "s-b") == 0, "B");
        CHECK(stat_snap(e, "s-B", &i) == 0 && strcmp(i.parent, "s-committed") == 0, "B.Parent == A");
        cnr_snap_info_clear(&i);
        /* Commit of a view, and of an unknown key, fail */
        CHECK(view_q(e, "s-v", "s-B", false) == 0, "view");
        CHECK(commit(e, "s-v-c", "s-v") == EINVAL, "a view cannot be committed");
        CHECK(commit(e, "s-B", "s-v") != 0, "commit onto an existing name");
        /* Prepare from an active parent fails */
        CHECK(prepare(e, "s-act2", "") == 0, "prepare");
        CHECK(prepare_q(e, "s-child", "s-act2", true) == EINVAL, "an active parent is refused");
        CHECK(prepare_q(e, "s-child", "nothere", true) == ENOENT, "a missing parent is refused");
        return 0;
}

static int
t_dupkeys(struct env *e)
{
        CHECK(prepare(e, "dup", "") == 0, "prepare");
        CHECK(view_q(e, "dup", "", true) == EEXIST, "view with an active's key");
        CHECK(prepare_q(e, "dup", "", true) == EEXIST, "prepare twice");
        CHECK(view_q(e, "dupv", "", false) == 0 && view_q(e, "dupv", "", true) == EEXIST, "view twice");
        CHECK(commit(e, "dupc", "dup") == 0, "commit");
        CHECK(prepare_q(e, "dupc", "", true) == EEXIST, "a key equal to a committed name");
        return 0;
}

static int
t_update(struct env *e)
{
        struct cnr_err *err = NULL;
        struct cnr_snap_info i, j;
        json_t *l = json_pack("{s:s,s:s}", "l1", "v1", "l2", "v2");
        const char *fps[] = {"labels.l1", "labels.l2"};
        const char *bad[] = {"parent"};
        int r;

        CHECK(prepare(e, "u-a", "") == 0, "prepare");
        CHECK(stat_snap(e, "u-a", &i) == 0 && i.created == i.updated, "created == updated");
        r = cnr_snap_update(e->ss, "u-a", l, NULL, 0, &j, &err);
        CHECK(r == 0 && j.created == i.created && j.updated > i.updated && strcmp(j.parent, "") == 0 &&
                      json_equal(j.labels, l),
              "update replaces labels, refreshes updated");
        cnr_snap_info_clear(&j);
        json_decref(l);
        l = json_pack("{s:s,s:s}", "l1", "new", "l4", "x");
        r = cnr_snap_update(e->ss, "u-a", l, fps, 2, &j, &err);
        CHECK(r == 0 && strcmp(json_string_value(json_object_get(j.labels, "l1")), "new") == 0 &&
                      json_object_get(j.labels, "l2") == NULL && json_object_get(j.labels, "l4") == NULL,
              "labels.l1 set, labels.l2 deleted, l4 ignored");
        cnr_snap_info_clear(&j);
        r = cnr_snap_update(e->ss, "u-a", l, bad, 1, NULL, &err);
        CHECK(r < 0 && err->code == EINVAL, "update of parent refused");
        cnr_err_free(&err);
        json_decref(l);
        cnr_snap_info_clear(&i);
        return 0;
}

static int
t_remove(struct env *e)
{
        CHECK(prepare(e, "reuse-1", "") == 0 && remove_q(e, "reuse-1", false) == 0, "prepare, remove");
        CHECK(view_q(e, "reuse-1", "", false) == 0 && remove_q(e, "reuse-1", false) == 0, "view, remove");
        CHECK(prepare(e, "reuse-1", "") == 0, "prepare again");
        CHECK(prepare(e, "tmp-c", "") == 0 && commit(e, "committed-1", "tmp-c") == 0, "a committed one");
        CHECK(remove_q(e, "committed-1", false) == 0, "remove a committed leaf");
        CHECK(commit(e, "committed-1", "reuse-1") == 0, "the name is reusable");
        CHECK(remove_q(e, "nothere", true) == ENOENT, "remove of a missing key");
        return 0;
}

struct walk_acc {
        char names[512];
};

static int
walk_cb(const struct cnr_snap_info *i, void *arg)
{
        struct walk_acc *w = arg;
        strncat(w->names, i->name, sizeof(w->names) - strlen(w->names) - 2);
        strcat(w->names, " ");
        return 0;
}

static int
walk_is(struct env *e, const char *filter, const char *want)
{
        struct walk_acc w = {""};
        struct cnr_err *err = NULL;
        const char *f[1] = {filter};

        if (cnr_snap_walk(e->ss, filter ? f : NULL, filter ? 1 : 0, walk_cb, &w, &err) < 0) {
                printf("# walk `%s`: %s\n", filter, cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        if (strcmp(w.names, want) != 0) {
                printf("# walk `%s`: [%s], want [%s]\n", filter, w.names, want);
                return -1;
        }
        return 0;
}

static int
t_walk(struct env *e)
{
        struct cnr_err *err = NULL;
        json_t *l1 = json_pack("{s:s}", "l", "1"), *l2 = json_pack("{s:s}", "l", "2"),
               *l3 = json_pack("{s:s}", "l", "3");
        struct wait w = {0};
        int r;

        CHECK(prepare(e, "p-tmp", "") == 0 && commit(e, "p", "p-tmp") == 0, "p");
        r = cnr_snap_prepare(e->ss, "a-np-wl", "", l1, w_done, &w, &err);
        CHECK(finish_wait(e, &w, r, err, false) == 0, "a-np-wl");
        memset(&w, 0, sizeof(w));
        r = cnr_snap_prepare(e->ss, "a-wl", "p", l2, w_done, &w, &err);
        CHECK(finish_wait(e, &w, r, err, false) == 0, "a-wl");
        memset(&w, 0, sizeof(w));
        r = cnr_snap_view(e->ss, "v-wl", "p", l3, w_done, &w, &err);
        CHECK(finish_wait(e, &w, r, err, false) == 0, "v-wl");
        CHECK(prepare(e, "a-np", "") == 0 && view_q(e, "v-np", "", false) == 0, "no labels");
        CHECK(walk_is(e, NULL, "p a-np-wl a-wl v-wl a-np v-np ") == 0, "all");
        CHECK(walk_is(e, "labels.l==2", "a-wl ") == 0, "label equality");
        CHECK(walk_is(e, "kind==active", "a-np-wl a-wl a-np ") == 0, "kind active");
        CHECK(walk_is(e, "kind==view", "v-wl v-np ") == 0, "kind view");
        CHECK(walk_is(e, "kind==committed", "p ") == 0, "kind committed");
        {
                struct walk_acc acc = {""};
                const char *f[] = {"name==p", "name==a-np-wl"};
                CHECK(cnr_snap_walk(e->ss, f, 2, walk_cb, &acc, &err) == 0 && strcmp(acc.names, "p a-np-wl ") == 0,
                      "OR of filters: [%s]", acc.names);
        }
        CHECK(walk_is(e, "name==a-wl,labels.l", "a-wl ") == 0, "AND with presence");
        CHECK(walk_is(e, "parent==p", "a-wl v-wl ") == 0, "parent");
        CHECK(walk_is(e, "parent!=\"\"", "a-wl v-wl ") == 0, "parent not empty");
        CHECK(walk_is(e, "labels.l", "a-np-wl a-wl v-wl ") == 0, "presence");
        CHECK(walk_is(e, "labels.\"l\"==3", "v-wl ") == 0, "quoted key");
        CHECK(walk_is(e, "bogus==1", "x") < 0, "unknown field refused");
        json_decref(l1);
        json_decref(l2);
        json_decref(l3);
        return 0;
}

static int
stat_in_walk_cb(const struct cnr_snap_info *i, void *arg)
{
        struct env *e = arg;
        struct cnr_snap_info j;
        int ok;

        if (stat_snap(e, i->name, &j) < 0)
                return -1;
        ok = strcmp(i->name, j.name) == 0 && strcmp(i->parent, j.parent) == 0 && i->kind == j.kind &&
             i->created == j.created && i->updated == j.updated && json_equal(i->labels, j.labels);
        cnr_snap_info_clear(&j);
        return ok ? 0 : -1;
}

static int
t_stat_in_walk(struct env *e)
{
        struct cnr_err *err = NULL;

        CHECK(prepare(e, "siw-a", "") == 0 && commit(e, "siw-c", "siw-a") == 0 && prepare(e, "siw-b", "siw-c") == 0,
              "setup");
        CHECK(cnr_snap_walk(e->ss, NULL, 0, stat_in_walk_cb, e, &err) == 0, "stat inside walk");
        return 0;
}

static int
l_fu1(const char *r)
{
        return wdir(r, "etc", 0755) | wfile(r, "etc/hosts", "mydomain 10.0.0.1", 0644) |
               wfile(r, "etc/profile", "PATH=/usr/bin", 0644);
}
static int
l_fu2(const char *r)
{
        return wfile(r, "etc/hosts", "mydomain 10.0.0.120", 0644) | rchmod(r, "etc/profile", 0666) |
               wdir(r, "root", 0700) | wfile(r, "root/.bashrc", "PATH=/usr/sbin:/usr/bin", 0644);
}
static int
t_layer_fileupdate(struct env *e)
{
        const applier s[] = {l_fu1, l_fu2};
        char p[16];
        for (int i = 0; i < 3; i++) {
                snprintf(p, sizeof(p), "fu%d", i);
                rm_rf(e->flat);
                CHECK(check_chain(e, s, 2, p) == 0, "round %d", i);
        }
        return 0;
}

static int
l_rd1(const char *r)
{
        return wdir(r, "lib", 0700) | wfile(r, "lib/hidden", "hidden", 0644);
}
static int
l_rd2(const char *r)
{
        return rrm(r, "lib") | wdir(r, "lib", 0755) | wfile(r, "lib/not-hidden", "x", 0644);
}
static int
l_rd3(const char *r)
{
        return wfile(r, "lib/newfile", "y", 0644);
}
static int
t_remove_dir_lower(struct env *e)
{
        const applier s[] = {l_rd1, l_rd2, l_rd3};
        return check_chain(e, s, 3, "rd");
}

static int
l_ch1(const char *r)
{
        return wdir(r, "opt", 0755) | wdir(r, "opt/a", 0755) | wdir(r, "opt/a/b", 0755) |
               wfile(r, "opt/a/b/file.txt", "hello", 0644);
}
static int
l_ch2(const char *r)
{
        return rchown(r, "opt", 1, 1) | rchown(r, "opt/a", 1, 1) | rchown(r, "opt/a/b", 1, 1) |
               rchown(r, "opt/a/b/file.txt", 1, 1);
}
static int
t_chown(struct env *e)
{
        const applier s[] = {l_ch1, l_ch2};
        return check_chain(e, s, 2, "ch");
}

static int
l_dp1(const char *r)
{
        return wdir(r, "dir1", 0700) | wdir(r, "dir2", 0700) | wdir(r, "dir3", 0700) | wdir(r, "dir4", 0700) |
               wfile(r, "dir4/f", "x", 0644) | wdir(r, "dir5", 0700) | rchown(r, "dir1", 1, 1) |
               rchown(r, "dir2", 2, 2) | rchown(r, "dir3", 3, 3) | rchown(r, "dir4", 4, 4) | rchown(r, "dir4/f", 4, 4) |
               rchown(r, "dir5", 5, 5);
}
static int
l_dp2(const char *r)
{
        return rchown(r, "dir2", 0, 0) | rrm(r, "dir3") | rchown(r, "dir4", 5, 5) | rchown(r, "dir4/f", 5, 5);
}
static int
l_dp3(const char *r)
{
        return wdir(r, "dir3", 0755) | rchown(r, "dir3", 6, 6) | rrm(r, "dir5") | wdir(r, "dir5", 0711) |
               rchown(r, "dir5", 7, 7);
}
static int
t_dir_perm_commit(struct env *e)
{
        const applier s[] = {l_dp1, l_dp2, l_dp3};
        return check_chain(e, s, 3, "dp");
}

static int
t_remove_intermediate(struct env *e)
{
        CHECK(prepare(e, "ri-b", "") == 0 && commit(e, "ri-base", "ri-b") == 0, "base");
        CHECK(prepare(e, "ri-i", "ri-base") == 0 && commit(e, "ri-inter", "ri-i") == 0, "inter");
        CHECK(prepare(e, "ri-top", "ri-inter") == 0, "top");
        CHECK(remove_q(e, "ri-inter", true) == EBUSY, "intermediate removal fails");
        CHECK(remove_q(e, "ri-top", false) == 0 && remove_q(e, "ri-inter", false) == 0 &&
                      remove_q(e, "ri-base", false) == 0,
              "in order");
        return 0;
}

static int
l_del1(const char *r)
{
        return wfile(r, "foobar", "x", 0644);
}
static int
l_del2(const char *r)
{
        return rrm(r, "foobar");
}
static int
l_empty(const char *r)
{
        return 0;
}
static int
t_deleted_in_child(struct env *e)
{
        const applier s[] = {l_del1, l_del2, l_empty};
        return check_chain(e, s, 3, "del");
}

static int
l_mv1(const char *r)
{
        return wdir(r, "dir1", 0755) | wfile(r, "dir1/f1", "f1", 0644) | wdir(r, "dir2", 0755) |
               wfile(r, "dir2/f2", "f2", 0644);
}
static int
l_mv2(const char *r)
{
        return wdir(r, "dir3", 0755) | wfile(r, "dir3/f1", "f1-new", 0644) | rrm(r, "dir1") |
               rlink(r, "dir2/f2", "dir3/f2") | rrm(r, "dir2/f2");
}
static int
t_move_from_lower(struct env *e)
{
        const applier s[] = {l_mv1, l_mv2};
        return check_chain(e, s, 2, "mv");
}

static int
l_rn1(const char *r)
{
        return wdir(r, "dir1", 0755) | wfile(r, "dir1/f1", "f1", 0644) | wfile(r, "f2", "f2", 0644) |
               wfile(r, "f3", "f3", 0644);
}
static int
l_rn2(const char *r)
{
        return wfile(r, "f3.tmp", "f3-new", 0644) | rrename(r, "f3.tmp", "f3") | rrename(r, "f2", "f4");
}
static int
t_rename(struct env *e)
{
        const applier s[] = {l_rn1, l_rn2};
        return check_chain(e, s, 2, "rn");
}

static int
t_view_readonly(struct env *e)
{
        const char *m;
        _cleanup_free_ char *p = NULL;
        int fd;

        CHECK(prepare(e, "vr-a", "") == 0, "prepare");
        m = mount_snap(e, "vr-a");
        CHECK(m && wfile(m, "f", "x", 0644) == 0 && unmount(m) == 0, "write base");
        CHECK(commit(e, "vr-c", "vr-a") == 0 && view_q(e, "vr-v", "vr-c", false) == 0, "view");
        m = mount_snap(e, "vr-v");
        CHECK(m != NULL, "mount view");
        p = xasprintf("%s/new", m);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK(fd < 0 && errno == EROFS, "writing to a view fails with EROFS (fd %d, %s)", fd, strerror(errno));
        CHECK(unmount(m) == 0, "umount");
        /* and a view with two parents, an overlay */
        CHECK(prepare(e, "vr-b", "vr-c") == 0 && commit(e, "vr-c2", "vr-b") == 0 &&
                      view_q(e, "vr-v2", "vr-c2", false) == 0,
              "second layer");
        m = mount_snap(e, "vr-v2");
        CHECK(m != NULL, "mount overlay view");
        free(p);
        p = xasprintf("%s/new", m);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK(fd < 0 && errno == EROFS, "writing to an overlay view fails with EROFS");
        CHECK(unmount(m) == 0, "umount");
        return 0;
}

static int
t_root_permission(struct env *e)
{
        struct stat st;
        const char *m;

        CHECK(prepare(e, "rp", "") == 0, "prepare");
        m = mount_snap(e, "rp");
        CHECK(m && stat(m, &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_uid == 0, "root 0755 root-owned");
        CHECK(unmount(m) == 0, "umount");
        return 0;
}

static int layer_i;
static int
l_128(const char *r)
{
        char name[32];
        snprintf(name, sizeof(name), "f%d", layer_i);
        return wfile(r, "bottom", name, 0644) | wfile(r, name, "x", 0644) | rrm(r, "dir") | wdir(r, "dir", 0755) |
               wfile(r, "dir/f", name, 0644);
}
static int
t_128_layers(struct env *e)
{
        {
                char parent[64] = "", key[64], name[64];
                const char *m;
                mkdir(e->flat, 0755);
                for (layer_i = 0; layer_i < 128; layer_i++) {
                        snprintf(key, sizeof(key), "l128-p-%d", layer_i);
                        snprintf(name, sizeof(name), "l128-c-%d", layer_i);
                        CHECK(prepare(e, key, parent) == 0, "prepare %d", layer_i);
                        m = mount_snap(e, key);
                        CHECK(m != NULL, "mount %d", layer_i);
                        CHECK(tree_equal(m, e->flat, "") == 0, "layer %d equals flat before apply", layer_i);
                        CHECK(l_128(m) == 0 && l_128(e->flat) == 0, "apply %d", layer_i);
                        CHECK(tree_equal(m, e->flat, "") == 0, "layer %d equals flat after apply", layer_i);
                        CHECK(unmount(m) == 0 && commit(e, name, key) == 0, "commit %d", layer_i);
                        snprintf(parent, sizeof(parent), "%s", name);
                }
                CHECK(view_q(e, "l128-v", parent, false) == 0, "view of 128 layers");
                m = mount_snap(e, "l128-v");
                CHECK(m != NULL && tree_equal(m, e->flat, "") == 0, "the 128-layer view equals flat");
                CHECK(unmount(m) == 0, "umount");
        }
        return 0;
}

/* ---- unpack, reconcile, gc --------------------------------------------------- */

/* A gzip layer tarball into the content store; its diff_id out. */
static int
put_layer(struct cnr_content *c, const char *const *files, size_t n, struct cnr_digest *blob,
          struct cnr_digest *diff_id)
{
        static char raw[1 << 16], gz[1 << 16];
        size_t rawlen = 0, gzlen = 0;
        struct cnr_err *err = NULL;

        for (int pass = 0; pass < 2; pass++) {
                struct archive *a = archive_write_new();
                archive_write_set_format_pax(a);
                if (pass == 1)
                        archive_write_add_filter_gzip(a);
                archive_write_open_memory(a, pass ? gz : raw, sizeof(raw), pass ? &gzlen : &rawlen);
                for (size_t i = 0; i < n; i++) {
                        struct archive_entry *e = archive_entry_new();
                        archive_entry_set_pathname(e, files[i]);
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, 0644);
                        archive_entry_set_size(e, (la_int64_t)strlen(files[i]));
                        archive_entry_set_mtime(e, 1000000000, 0);
                        archive_write_header(a, e);
                        archive_write_data(a, files[i], strlen(files[i]));
                        archive_entry_free(e);
                }
                archive_write_close(a);
                archive_write_free(a);
        }
        cnr_digest_buf(CNR_DIGEST_SHA256, raw, rawlen, diff_id);
        if (cnr_content_put(c, gz, gzlen, NULL, blob, &err) < 0) {
                printf("# content put: %s\n", cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        return 0;
}

static void
w_unpacked(struct cnr_err *err, const char *top, void *arg)
{
        struct wait *w = arg;
        snprintf(w->top, sizeof(w->top), "%s", top);
        w_done(err, arg);
}

static int
count_walk(const struct cnr_snap_info *i, void *arg)
{
        (*(int *)arg)++;
        return 0;
}

static int
n_snapshots(struct env *e, const char *filter)
{
        struct cnr_err *err = NULL;
        const char *f[1] = {filter};
        int n = 0;
        if (cnr_snap_walk(e->ss, filter ? f : NULL, filter ? 1 : 0, count_walk, &n, &err) < 0) {
                cnr_err_free(&err);
                return -1;
        }
        return n;
}

static int
t_unpack(struct env *e)
{
        _cleanup_free_ char *cdir = xasprintf("%s/content", e->dir);
        struct cnr_content *c = NULL;
        struct cnr_err *err = NULL;
        struct cnr_image_layer layers[3];
        struct cnr_image img = {0};
        struct cnr_digest chain[3], diffs[3];
        const char *l0[] = {"etc/one"}, *l1[] = {"etc/two"}, *l2[] = {"etc/three"};
        struct wait w = {0};
        const char *m;
        int r;

        CHECK(cnr_content_open(cdir, &c, &err) == 0, "content store");
        memset(layers, 0, sizeof(layers));
        CHECK(put_layer(c, l0, 1, &layers[0].digest, &layers[0].diff_id) == 0 &&
                      put_layer(c, l1, 1, &layers[1].digest, &layers[1].diff_id) == 0 &&
                      put_layer(c, l2, 1, &layers[2].digest, &layers[2].diff_id) == 0,
              "layers");
        for (int i = 0; i < 3; i++)
                diffs[i] = layers[i].diff_id;
        cnr_chain_ids(diffs, 3, chain);
        {
                /* ChainID(L0..1) = sha256("<chain0> <diff1>") */
                struct cnr_digest want;
                _cleanup_free_ char *s = xasprintf("%s %s", diffs[0].str, diffs[1].str);
                cnr_digest_buf(CNR_DIGEST_SHA256, s, strlen(s), &want);
                CHECK(strcmp(chain[0].str, diffs[0].str) == 0 && cnr_digest_equal(&want, &chain[1]), "chain ids");
        }
        img.layers = layers;
        img.nlayers = 2;
        r = cnr_unpack(e->ss, c, &img, w_unpacked, &w, &err);
        CHECK(finish_wait(e, &w, r, err, false) == 0 && strcmp(w.top, chain[1].str) == 0, "unpack 2 layers");
        CHECK(n_snapshots(e, "kind==committed") == 2 && n_snapshots(e, "kind==active") == 0, "two committed");
        /* 3 layers: the first two are skipped */
        img.nlayers = 3;
        memset(&w, 0, sizeof(w));
        r = cnr_unpack(e->ss, c, &img, w_unpacked, &w, &err);
        CHECK(finish_wait(e, &w, r, err, false) == 0 && strcmp(w.top, chain[2].str) == 0, "unpack 3 layers");
        CHECK(n_snapshots(e, "kind==committed") == 3, "three committed");
        CHECK(view_q(e, "unpacked", chain[2].str, false) == 0, "view of the image");
        m = mount_snap(e, "unpacked");
        {
                _cleanup_free_ char *a = xasprintf("%s/etc/one", m), *b = xasprintf("%s/etc/three", m);
                CHECK(m && access(a, F_OK) == 0 && access(b, F_OK) == 0, "the view holds every layer");
        }
        CHECK(unmount(m) == 0 && remove_q(e, "unpacked", false) == 0, "umount");
        /* diff_id mismatch: nothing committed, the extract snapshot gone */
        {
                struct cnr_image_layer bad[2];
                bad[0] = layers[0];
                bad[1] = layers[2];
                bad[1].diff_id = layers[0].diff_id; /* the config lies: a new chain */
                img.layers = bad;
                img.nlayers = 2;
                memset(&w, 0, sizeof(w));
                r = cnr_unpack(e->ss, c, &img, w_unpacked, &w, &err);
                CHECK(finish_wait(e, &w, r, err, true) == EBADMSG, "a diff_id mismatch fails the unpack");
                CHECK(n_snapshots(e, "kind==committed") == 3 && n_snapshots(e, "kind==active") == 0,
                      "nothing committed, no extract snapshot left");
        }
        /* a blob that is no layer at all (a bomb cut short looks the same
         * to the supervisor): nothing committed, nothing left active */
        {
                struct cnr_image_layer junk[1];
                static const char bytes[] = "this is not a tar, not gzip, not zstd";
                memset(junk, 0, sizeof(junk));
                CHECK(cnr_content_put(c, bytes, sizeof(bytes), NULL, &junk[0].digest, &err) == 0, "junk blob");
                cnr_digest_buf(CNR_DIGEST_SHA256, "x", 1, &junk[0].diff_id);
                img.layers = junk;
                img.nlayers = 1;
                memset(&w, 0, sizeof(w));
                r = cnr_unpack(e->ss, c, &img, w_unpacked, &w, &err);
                CHECK(finish_wait(e, &w, r, err, true) == EINVAL, "a blob that is not a layer fails the unpack");
                CHECK(n_snapshots(e, "kind==committed") == 3 && n_snapshots(e, "kind==active") == 0,
                      "nothing committed, no extract snapshot left after a failed apply");
        }
        /* GC: keep the 2-layer chain only */
        {
                const char *keep[] = {chain[1].str};
                CHECK(cnr_snap_gc(e->ss, keep, 1, NULL, NULL, &err) == 0, "gc");
                CHECK(n_snapshots(e, "kind==committed") == 2, "gc removed the unreferenced top layer");
        }
        cnr_content_close(c);
        return 0;
}

static void
w_reconciled(struct cnr_err *err, const struct cnr_snap_reconcile_report *r, void *arg)
{
        struct wait *w = arg;
        if (r)
                w->rep = *r;
        w_done(err, arg);
}

static int
drain(struct env *e)
{
        /* let fire-and-forget removals finish */
        for (int i = 0; i < 50; i++)
                event_base_loop(e->base, EVLOOP_NONBLOCK);
        usleep(100000);
        for (int i = 0; i < 50; i++)
                event_base_loop(e->base, EVLOOP_NONBLOCK);
        return 0;
}

static int
t_reconcile(struct env *e)
{
        struct cnr_err *err = NULL;
        struct cnr_snap_info i;
        struct wait w = {0};
        _cleanup_free_ char *drv = xasprintf("%s/overlay2", e->root);
        _cleanup_free_ char *p = NULL;
        int r;

        /* THREATS 38, both crash points, made directly on disk and in the
         * database: a directory whose metadata was never written (crash
         * after SnapCreate), an rm-<id> and a tmp-<id> (snapd killed mid-
         * remove / mid-create), a row whose directory is gone (crash after
         * metadata delete... or a lost dir), and an interrupted unpack. */
        CHECK(prepare(e, "keep", "") == 0 && commit(e, "keep-c", "keep") == 0, "a good committed snapshot");
        CHECK(prepare(e, "keep-act", "keep-c") == 0, "a good active snapshot");
        CHECK(prepare(e, "lost", "") == 0 && stat_snap(e, "lost", &i) == 0, "a snapshot whose dir will go");
        p = xasprintf("%s/%s", drv, i.id);
        CHECK(rm_rf(p) == 0, "rm its dir");
        cnr_snap_info_clear(&i);
        CHECK(prepare(e, "lostp", "") == 0 && commit(e, "lostp-c", "lostp") == 0 &&
                      prepare(e, "lostc", "lostp-c") == 0 && stat_snap(e, "lostp-c", &i) == 0,
              "a parent whose dir will go, with a child");
        free(p);
        p = xasprintf("%s/%s", drv, i.id);
        CHECK(rm_rf(p) == 0, "rm the parent's dir");
        cnr_snap_info_clear(&i);
        CHECK(prepare(e, "extract-1-abc", "") == 0, "an interrupted unpack");
        for (const char *const *n = (const char *const[]){"9999", "rm-9998", "tmp-9997", NULL}; *n; n++) {
                free(p);
                p = xasprintf("%s/%s", drv, *n);
                CHECK(mkdir(p, 0700) == 0, "mkdir %s", *n);
                free(p);
                p = xasprintf("%s/%s/fs", drv, *n);
                CHECK(mkdir(p, 0755) == 0 && wfile(p, "file", "x", 0644) == 0, "fill %s", *n);
        }
        r = cnr_snap_reconcile(e->ss, w_reconciled, &w, &err);
        CHECK(finish_wait(e, &w, r, err, false) == 0, "reconcile");
        drain(e);
        CHECK(w.rep.orphan_dirs == 3, "3 orphan dirs swept (got %u)", w.rep.orphan_dirs);
        CHECK(w.rep.missing_deleted == 1 && w.rep.missing_marked == 1, "missing: %u deleted, %u marked",
              w.rep.missing_deleted, w.rep.missing_marked);
        CHECK(w.rep.extracts_removed == 1, "the interrupted unpack removed");
        for (const char *const *n = (const char *const[]){"9999", "rm-9998", "tmp-9997", NULL}; *n; n++) {
                free(p);
                p = xasprintf("%s/%s", drv, *n);
                CHECK(access(p, F_OK) < 0, "%s swept", *n);
        }
        CHECK(stat_snap(e, "lost", &i) < 0, "metadata of a lost leaf deleted");
        CHECK(stat_snap(e, "lostp-c", &i) == 0 && i.missing, "a lost parent with a child is marked missing");
        cnr_snap_info_clear(&i);
        CHECK(prepare_q(e, "from-lost", "lostp-c", true) == EINVAL, "no prepare from a missing parent");
        {
                struct cnr_snap_mounts mm;
                CHECK(cnr_snap_mounts(e->ss, "lostc", &mm, &err) < 0, "no mounts through a missing parent");
                cnr_err_free(&err);
        }
        CHECK(stat_snap(e, "keep-c", &i) == 0, "good snapshots kept");
        cnr_snap_info_clear(&i);
        CHECK(stat_snap(e, "keep-act", &i) == 0, "good active kept");
        free(p);
        p = xasprintf("%s/%s", drv, i.id);
        CHECK(access(p, F_OK) == 0, "its dir kept");
        cnr_snap_info_clear(&i);
        CHECK(stat_snap(e, "extract-1-abc", &i) < 0, "extract- snapshot gone");
        /* a second run finds nothing */
        memset(&w, 0, sizeof(w));
        r = cnr_snap_reconcile(e->ss, w_reconciled, &w, &err);
        CHECK(finish_wait(e, &w, r, err, false) == 0 && w.rep.orphan_dirs == 0 && w.rep.missing_deleted == 0,
              "idempotent");
        return 0;
}

static void
w_usage(struct cnr_err *err, uint64_t size, uint64_t inodes, void *arg)
{
        struct wait *w = arg;
        w->size = size;
        w->inodes = inodes;
        w_done(err, arg);
}

static int
t_usage(struct env *e)
{
        struct wait w = {0};
        struct cnr_err *err = NULL;
        char big[8193];
        const char *m;
        int r;

        CHECK(prepare(e, "us", "") == 0, "prepare");
        m = mount_snap(e, "us");
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        CHECK(m && wdir(m, "d", 0755) == 0 && wfile(m, "d/big", big, 0644) == 0 && unmount(m) == 0, "write");
        r = cnr_snap_usage(e->ss, "us", w_usage, &w, &err);
        CHECK(finish_wait(e, &w, r, err, false) == 0, "usage");
        CHECK(w.size >= 8192 && w.inodes == 3, "usage of the snapshot itself: size %llu, inodes %llu",
              (unsigned long long)w.size, (unsigned long long)w.inodes);
        return 0;
}

/* ---- runner ---------------------------------------------------------------------- */

struct tcase {
        const char *name;
        int (*run)(struct env *e);
};

static const struct tcase cases[] = {
        {"Basic", t_basic},
        {"Stat, StatActive, StatCommitted, Transitivity", t_stat},
        {"PrepareViewFailing (duplicate keys)", t_dupkeys},
        {"Update", t_update},
        {"Remove (key reuse)", t_remove},
        {"Walk", t_walk},
        {"StatInWalk", t_stat_in_walk},
        {"LayerFileupdate", t_layer_fileupdate},
        {"RemoveDirectoryInLowerLayer", t_remove_dir_lower},
        {"Chown", t_chown},
        {"DirectoryPermissionOnCommit", t_dir_perm_commit},
        {"RemoveIntermediateSnapshot", t_remove_intermediate},
        {"DeletedFilesInChildSnapshot", t_deleted_in_child},
        {"MoveFileFromLowerLayer", t_move_from_lower},
        {"Rename", t_rename},
        {"ViewReadonly", t_view_readonly},
        {"RootPermission", t_root_permission},
        {"128LayersMount", t_128_layers},
        {"Unpack (chain ids, skip, diff_id mismatch, gc)", t_unpack},
        {"Reconcile (THREATS 38)", t_reconcile},
        {"Usage", t_usage},
};

/* How mountd built each mount of the case, from its audit records
 * ("method": bind, fsconfig, lowerdir+ or legacy): printed, and checked
 * against what the mode allows.  A mode's own path that a case needs is
 * checked by the case's name: the 128-layer list (about 1 KiB) is past
 * fsconfig's 255 bytes, so auto must take lowerdir+ or mount(2). */
static int
check_paths(const struct env *e, const struct tcase *t)
{
        static const char *const methods[] = {"bind", "fsconfig", "lowerdir+", "legacy"};
        unsigned count[4] = {0}, other = 0;
        _cleanup_fclose_ FILE *f = fopen(e->mountd_audit, "re");
        char line[8192];

        if (f == NULL) {
                printf("# %s: no audit log of mountd: %s\n", t->name, strerror(errno));
                return -1;
        }
        while (fgets(line, sizeof(line), f)) {
                const char *m = strstr(line, "\"method\":\"");
                size_t k;

                if (m == NULL)
                        continue;
                m += strlen("\"method\":\"");
                for (k = 0; k < CNR_ARRAY_LEN(methods); k++)
                        if (strncmp(m, methods[k], strlen(methods[k])) == 0 && m[strlen(methods[k])] == '"')
                                break;
                if (k < CNR_ARRAY_LEN(methods))
                        count[k]++;
                else
                        other++;
        }
        printf("# overlay_mode %s, %s: mounts by path: bind %u, fsconfig %u, lowerdir+ %u, legacy %u\n",
               e->overlay_mode, t->name, count[0], count[1], count[2], count[3]);
        if (other) {
                printf("# %u mounts by an unknown path\n", other);
                return -1;
        }
        if (strcmp(e->overlay_mode, "legacy") == 0 && (count[1] || count[2])) {
                printf("# overlay_mode legacy built an overlay with the new mount API\n");
                return -1;
        }
        if (strcmp(e->overlay_mode, "legacy") == 0 && t->run == t_128_layers && count[3] == 0) {
                printf("# overlay_mode legacy: the 128 layers were not mounted by mount(2)\n");
                return -1;
        }
        if (strcmp(e->overlay_mode, "auto") == 0 && t->run == t_128_layers && count[2] + count[3] == 0) {
                printf("# overlay_mode auto: the 128 layers took neither lowerdir+ nor mount(2)\n");
                return -1;
        }
        return 0;
}

static int
run_case(const struct driver *d, const struct tcase *t, const char *mode)
{
        struct env e = {0};
        int r;

        snprintf(e.dir, sizeof(e.dir), "%s/cnr-conf.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(e.dir) == NULL)
                return -1;
        chmod(e.dir, 0755);
        snprintf(e.flat, sizeof(e.flat), "%s/flat", e.dir);
        snprintf(e.mountd_audit, sizeof(e.mountd_audit), "%s/mountd.audit", e.dir);
        e.overlay_mode = mode;
        cur_test = t->name;
        r = d->setup(&e);
        if (r == 0)
                r = t->run(&e);
        d->teardown(&e);
        if (r == 0)
                r = check_paths(&e, t);
        /* unmount anything a failed case left */
        for (int i = 1; i <= e.nmounts; i++) {
                char p[320];
                snprintf(p, sizeof(p), "%s/mnt%d", e.dir, i);
                umount2(p, MNT_DETACH);
        }
        rm_rf(e.dir);
        return r;
}

int
main(int argc, char **argv)
{
        static const char *const modes[] = {"auto", "legacy"};

        if (getenv("CNR_UNIT_ONLY") != NULL && *getenv("CNR_UNIT_ONLY") != '\0') {
                printf("1..0 # SKIP CNR_UNIT_ONLY: the root suites run in the main pass\n");
                return 77;
        }
        if (getuid() != 0) {
                printf("1..0 # SKIP the conformance suite needs root (mounts, helpers)\n");
                return 77;
        }
        helper_dir = getenv("CNR_HELPER_DIR");
        if (helper_dir == NULL && getenv("top_builddir"))
                helper_dir = xasprintf("%s/helpers", getenv("top_builddir"));
        if (helper_dir == NULL) {
                fprintf(stderr, "conformance: set CNR_HELPER_DIR (or top_builddir) to find the helpers\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        umask(0);
        /* A mount namespace of our own: nothing we mount is seen outside. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                printf("1..0 # SKIP no private mount namespace: %s\n", strerror(errno));
                return 77;
        }
        printf("1..%zu\n", CNR_ARRAY_LEN(modes) * CNR_ARRAY_LEN(drivers) * CNR_ARRAY_LEN(cases));
        for (size_t o = 0; o < CNR_ARRAY_LEN(modes); o++)
                for (size_t d = 0; d < CNR_ARRAY_LEN(drivers); d++)
                        for (size_t i = 0; i < CNR_ARRAY_LEN(cases); i++) {
                                int r = run_case(&drivers[d], &cases[i], modes[o]);
                                testno++;
                                printf("%s %d - %s (overlay_mode %s): %s\n", r == 0 ? "ok" : "not ok", testno,
                                       drivers[d].name, modes[o], cases[i].name);
                                if (r != 0)
                                        failures++;
                        }
        return failures ? 1 : 0;
}
