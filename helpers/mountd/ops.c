/* containr-mountd's privileged work: the only code in this helper that
 * uses CAP_SYS_ADMIN.  Every mount is built with the new mount API and
 * returned as a detached mount fd; mountd never attaches a mount
 * anywhere, so its own (the host's) mount namespace never changes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_FSOPEN
#include <sys/mount.h> /* glibc >= 2.36: fsopen, fsconfig, fsmount, MOUNT_ATTR_* */
#else
#include <linux/mount.h>
#include <sys/syscall.h>
static int
fsopen(const char *fs, unsigned int flags)
{
        return (int)syscall(SYS_fsopen, fs, flags);
}
static int
fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux)
{
        return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}
static int
fsmount(int fd, unsigned int flags, unsigned int attrs)
{
        return (int)syscall(SYS_fsmount, fd, flags, attrs);
}
#endif

#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/log.h"
#include "helpers/mountd/mountd.h"
#include "helpers/snapd/snapd.h" /* the snapshot-name policy, shared with snapd */

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif

static int snaprootfd = -1;

/* Read the kernel's own words about a failed fsconfig from the context
 * fd ("e tmpfs: Bad value for 'size'"), so the error names the cause. */
static void
context_message(int fsfd, char *buf, size_t n)
{
        ssize_t r;

        buf[0] = '\0';
        r = read(fsfd, buf, n - 1);
        if (r > 0) {
                buf[r] = '\0';
                if (buf[r - 1] == '\n')
                        buf[r - 1] = '\0';
        } else {
                buf[0] = '\0';
        }
}

int
mountd_tmpfs(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__MountTmpfs *m = r->req->mount_tmpfs;
        _cleanup_close_ int fsfd = -1;
        unsigned attrs = 0;
        char val[32], kmsg[256];
        int mfd;

        json_object_set_new(r->args, "size_bytes", json_integer((json_int_t)m->size_bytes));
        json_object_set_new(r->args, "mode", cnr_helper_json_mode(m->mode));
        json_object_set_new(r->args, "read_only", json_boolean(m->read_only));
        json_object_set_new(r->args, "nosuid", json_boolean(m->nosuid));
        json_object_set_new(r->args, "nodev", json_boolean(m->nodev));
        json_object_set_new(r->args, "noexec", json_boolean(m->noexec));

        /* Policy first: the values themselves, before the kernel sees them. */
        if (m->mode > 07777) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "tmpfs mode `0%o`: above 07777", m->mode);
        }
        if (m->size_bytes > MOUNTD_TMPFS_MAX_SIZE) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "tmpfs size `%llu` bytes: above the 64 GiB limit",
                                (unsigned long long)m->size_bytes);
        }

        fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return cnr_errf(err, errno, "fsopen `tmpfs`");
        if (m->size_bytes > 0) {
                snprintf(val, sizeof(val), "%llu", (unsigned long long)m->size_bytes);
                if (fsconfig(fsfd, FSCONFIG_SET_STRING, "size", val, 0) < 0) {
                        int e = errno;
                        context_message(fsfd, kmsg, sizeof(kmsg));
                        return cnr_errf(err, e, "tmpfs option size=`%s` (%s)", val, kmsg);
                }
        }
        snprintf(val, sizeof(val), "%o", m->mode);
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", val, 0) < 0) {
                int e = errno;
                context_message(fsfd, kmsg, sizeof(kmsg));
                return cnr_errf(err, e, "tmpfs option mode=`%s` (%s)", val, kmsg);
        }
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int e = errno;
                context_message(fsfd, kmsg, sizeof(kmsg));
                return cnr_errf(err, e, "create the tmpfs superblock (%s)", kmsg);
        }
        if (m->read_only)
                attrs |= MOUNT_ATTR_RDONLY;
        if (m->nosuid)
                attrs |= MOUNT_ATTR_NOSUID;
        if (m->nodev)
                attrs |= MOUNT_ATTR_NODEV;
        if (m->noexec)
                attrs |= MOUNT_ATTR_NOEXEC;
        mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attrs);
        if (mfd < 0)
                return cnr_errf(err, errno, "fsmount the tmpfs");
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD;
        cnr__helper__mount_fd__init(&r->reply.mount_fd);
        r->fds[0] = mfd;
        r->nfds = 1;
        return 0;
}

/* ---- snapshot mounts --------------------------------------------------- */

int
mountd_setup(struct cnr_helper_env *env, struct cnr_err **err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;

        /* As root, before the drop: the snapshot root belongs to snapd and
         * is closed to others; CAP_DAC_OVERRIDE lets mountd walk it later
         * from this fd. */
        fd = open(env->snapshot_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return cnr_errf(err, errno, "open snapshot root `%s`", env->snapshot_root);
        if (fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "stat snapshot root `%s`", env->snapshot_root);
        if (st.st_mode & 022)
                return cnr_errf(err, EPERM, "snapshot root `%s` is writable by group or others (mode %04o)",
                                env->snapshot_root, (unsigned)(st.st_mode & 07777));
        snaprootfd = steal_fd(&fd);
        return 0;
}

/* <id>/<sub> under the driver dir as an O_PATH fd: no symlink, no mount
 * crossing, nothing outside. */
static int
open_snap_dir(int driverfd, const char *id, const char *sub, struct cnr_err **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", id, sub);
        struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                               .resolve =
                                       RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS};
        int fd = (int)syscall(SYS_openat2, driverfd, path, &how, sizeof(how));

        if (fd < 0)
                return cnr_errf(err, errno, "snapshot directory `%s`", path);
        return fd;
}

static int
bind_snapshot(int driverfd, const char *id, bool read_only, struct cnr_err **err)
{
        _cleanup_close_ int dfd = open_snap_dir(driverfd, id, "fs", err);
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
        int mfd;

        if (dfd < 0)
                return -1;
        mfd = (int)syscall(SYS_open_tree, dfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (mfd < 0)
                return cnr_errf(err, errno, "open_tree `%s/fs`", id);
        if (read_only && syscall(SYS_mount_setattr, mfd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
                int e = errno;
                close(mfd);
                return cnr_errf(err, e, "make the bind of `%s/fs` read-only", id);
        }
        return mfd;
}

static int
overlay_snapshot(int driverfd, const Cnr__Helper__MountSnapshot *m, struct cnr_err **err)
{
        _cleanup_close_ int fsfd = -1;
        _cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL;
        size_t len = 0;
        char kmsg[256];
        int mfd;

        lower = xmalloc(MOUNTD_OVERLAY_DATA_MAX);
        lower[0] = '\0';
        for (size_t i = 0; i < m->n_lower; i++) {
                int n = snprintf(lower + len, MOUNTD_OVERLAY_DATA_MAX - len, "%s%s/fs", i ? ":" : "", m->lower[i]);
                if (n < 0 || (size_t)n >= MOUNTD_OVERLAY_DATA_MAX - len)
                        return cnr_errf(err, E2BIG, "%zu lower layers: lowerdir above %d bytes", m->n_lower,
                                        MOUNTD_OVERLAY_DATA_MAX);
                len += (size_t)n;
        }
        /* Relative paths, resolved by the kernel against our cwd: the
         * driver dir.  Short, so 128 layers stay far below a page. */
        if (fchdir(driverfd) < 0)
                return cnr_errf(err, errno, "fchdir to the snapshot driver dir");
        fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return cnr_errf(err, errno, "fsopen `overlay`");
        /* fsconfig takes string values of at most 255 bytes: a short list
         * goes as one lowerdir= (every kernel); a longer one one layer at
         * a time with lowerdir+ (Linux 6.8 and newer; older kernels refuse
         * it at create time, and the error says so). */
        if (len < MOUNTD_FSCONFIG_VALUE_MAX) {
                if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0)
                        goto kerr;
        } else {
                for (size_t i = 0; i < m->n_lower; i++) {
                        _cleanup_free_ char *one = xasprintf("%s/fs", m->lower[i]);
                        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", one, 0) < 0)
                                goto kerr;
                }
        }
        if (m->upper[0] != '\0') {
                upper = xasprintf("%s/fs", m->upper);
                work = xasprintf("%s/work", m->upper);
                if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
                    fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
                        goto kerr;
        }
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                goto kerr;
        mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, m->read_only ? MOUNT_ATTR_RDONLY : 0);
        if (mfd < 0)
                return cnr_errf(err, errno, "fsmount the overlay");
        if (fchdir(snaprootfd) < 0) {
                close(mfd);
                return cnr_errf(err, errno, "fchdir back to the snapshot root");
        }
        return mfd;
kerr : {
        int e = errno;
        context_message(fsfd, kmsg, sizeof(kmsg));
        if (fchdir(snaprootfd) < 0)
                log_warn("fchdir back to the snapshot root: %s", strerror(errno));
        return cnr_errf(err, e, "overlay of %zu lower layers%s%s (%s)", m->n_lower, upper ? " and upper " : "",
                        upper ? m->upper : "", kmsg);
}
}

int
mountd_snapshot(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__MountSnapshot *m = r->req->mount_snapshot;
        _cleanup_close_ int driverfd = -1;
        json_t *lowers = json_array();
        int mfd;

        for (size_t i = 0; i < m->n_lower; i++)
                json_array_append_new(lowers, json_string(m->lower[i]));
        json_object_set_new(r->args, "upper", json_string(m->upper));
        json_object_set_new(r->args, "lower", lowers);
        json_object_set_new(r->args, "read_only", json_boolean(m->read_only));

        /* Every component is an id under the shared name policy. */
        if (m->upper[0] != '\0' && !snapd_name_valid(m->upper)) {
                r->deny = true;
                return cnr_errf(err, EPERM, "upper snapshot id `%s`: not a snapshot name", m->upper);
        }
        for (size_t i = 0; i < m->n_lower; i++)
                if (!snapd_name_valid(m->lower[i])) {
                        r->deny = true;
                        return cnr_errf(err, EPERM, "lower snapshot id `%s`: not a snapshot name", m->lower[i]);
                }
        if (m->n_lower > MOUNTD_MAX_LOWER) {
                r->deny = true;
                return cnr_errf(err, E2BIG, "%zu lower layers: more than %d", m->n_lower, MOUNTD_MAX_LOWER);
        }
        if (m->upper[0] == '\0' && m->n_lower == 0) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "a snapshot mount needs an upper or a lower snapshot");
        }
        if (m->upper[0] == '\0' && !m->read_only) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "a mount without an upper snapshot must be read-only");
        }
        driverfd = openat(snaprootfd, SNAPD_DRIVER_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (driverfd < 0)
                return cnr_errf(err, errno, "open the snapshot driver dir `%s`", SNAPD_DRIVER_DIR);
        /* Each named directory must exist as a plain directory below the
         * driver dir before its relative path goes to the kernel. */
        for (size_t i = 0; i < m->n_lower; i++) {
                int fd = open_snap_dir(driverfd, m->lower[i], "fs", err);
                if (fd < 0)
                        return -1;
                close(fd);
        }
        if (m->upper[0] != '\0' && m->n_lower > 0) {
                int fd = open_snap_dir(driverfd, m->upper, "work", err);
                if (fd < 0)
                        return -1;
                close(fd);
        }
        if (m->n_lower == 0)
                mfd = bind_snapshot(driverfd, m->upper, m->read_only, err);
        else if (m->upper[0] == '\0' && m->n_lower == 1)
                mfd = bind_snapshot(driverfd, m->lower[0], true, err);
        else
                mfd = overlay_snapshot(driverfd, m, err);
        if (mfd < 0)
                return -1;
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD;
        cnr__helper__mount_fd__init(&r->reply.mount_fd);
        r->fds[0] = mfd;
        r->nfds = 1;
        return 0;
}
