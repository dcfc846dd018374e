/* containr-mountd's privileged work: the only code in this helper that
 * uses CAP_SYS_ADMIN.  Every mount is returned as a detached mount fd.
 * Binds, tmpfs and most overlays are built with the new mount API and are
 * never attached anywhere.  An overlay whose lower list is too long for
 * one fsconfig value, on a kernel without `lowerdir+` (before 6.8: Debian
 * 12's 6.1), is built with mount(2) on a scratch dir of mountd's own
 * private mount namespace, cloned with open_tree and unmounted at once:
 * the host's namespace never sees it either. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h> /* mount, umount2, MS_* */
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

#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef FSCONFIG_SET_FD
#define FSCONFIG_SET_FD 5
#endif
#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

static int snaprootfd = -1;
static enum mountd_overlay_mode overlay_mode = MOUNTD_OVERLAY_AUTO;
static bool overlay_mode_given;
static bool have_lowerdir_plus; /* probed at start-up */
static size_t page_size = 4096; /* mount(2) copies at most one page of options */

static const char *const mode_names[] = {
        [MOUNTD_OVERLAY_AUTO] = "auto",
        [MOUNTD_OVERLAY_FSCONFIG] = "fsconfig",
        [MOUNTD_OVERLAY_LEGACY] = "legacy",
};

int
mountd_parse_flag(const char *flag, const char *val, struct cnr_err **err)
{
        if (strcmp(flag, "--overlay-mode") != 0)
                return 0;
        if (overlay_mode_given)
                return cnr_errf(err, EINVAL, "argument `--overlay-mode`: repeated flag");
        for (size_t i = 0; i < CNR_ARRAY_LEN(mode_names); i++)
                if (strcmp(val, mode_names[i]) == 0) {
                        overlay_mode = (enum mountd_overlay_mode)i;
                        overlay_mode_given = true;
                        return 1;
                }
        return cnr_errf(err, EINVAL, "--overlay-mode `%s`: not one of auto, fsconfig, legacy", val);
}

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
        json_object_set_new(r->args, "uid", json_integer(m->uid));
        json_object_set_new(r->args, "gid", json_integer(m->gid));

        /* Policy first: the values themselves, before the kernel sees them. */
        if (m->uid > 0x7fffffff || m->gid > 0x7fffffff) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "tmpfs owner %u:%u: above 2^31-1", m->uid, m->gid);
        }
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
        /* Docker's tmpfs belongs to the container's root, not to us. */
        for (int i = 0; i < 2; i++) {
                snprintf(val, sizeof(val), "%u", i ? m->gid : m->uid);
                if (fsconfig(fsfd, FSCONFIG_SET_STRING, i ? "gid" : "uid", val, 0) < 0) {
                        int e = errno;
                        context_message(fsfd, kmsg, sizeof(kmsg));
                        return cnr_errf(err, e, "tmpfs option %s=`%s` (%s)", i ? "gid" : "uid", val, kmsg);
                }
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

/* Does this kernel's overlayfs take `lowerdir+` (Linux 6.8)?  Run once, at
 * start-up, with the snapshot root as the working directory.  A kernel
 * whose overlayfs has its own fs_context (6.5 and newer) resolves each
 * value as fsconfig passes it: `lowerdir+` with an existing directory
 * succeeds where it is known and fails with EINVAL where it is not.  An
 * older overlayfs (6.1) sits behind the VFS's legacy context, which
 * accepts any key and only fails at FSCONFIG_CMD_CREATE: so a key that no
 * kernel knows must be refused too, or the first success meant nothing.
 * Nothing is created or mounted. */
static bool
probe_lowerdir_plus(void)
{
        _cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
        char kmsg[256];

        if (fsfd < 0) {
                log_warn("lowerdir+ probe: fsopen `overlay`: %s", strerror(errno));
                return false;
        }
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", ".", 0) < 0) {
                int e = errno;
                context_message(fsfd, kmsg, sizeof(kmsg));
                log_debug("lowerdir+ probe: refused: %s (%s)", strerror(e), kmsg);
                return false;
        }
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "containr-no-such-option", "1", 0) == 0) {
                log_debug("lowerdir+ probe: an unknown key was accepted too (legacy fs_context)");
                return false;
        }
        context_message(fsfd, kmsg, sizeof(kmsg)); /* the expected "Unknown parameter" */
        return true;
}

/* A mount namespace of mountd's own, before the sandbox: the legacy
 * overlay path mounts in it, so nothing it does is ever visible in the
 * host's namespace.  Every mount becomes a slave, not private: nothing
 * propagates out, while the host's unmounts still propagate in, so this
 * copy never keeps a host filesystem busy.  scratch_dir() then mounts a
 * tiny tmpfs over MOUNTD_SCRATCH (in this namespace only) holding one
 * empty directory, the target of each legacy mount.  No fd stays open. */
static int
private_namespace(struct cnr_err **err)
{
        if (unshare(CLONE_NEWNS) < 0)
                return cnr_errf(err, errno, "unshare a private mount namespace");
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return cnr_errf(err, errno, "make the mounts of mountd's namespace slaves");
        return 0;
}

/* After the snapshot root is open: a root below MOUNTD_SCRATCH (tests use
 * /tmp) stays reachable through its fd. */
static int
scratch_dir(struct cnr_err **err)
{
        if (mount("containr-mountd", MOUNTD_SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0700,size=16k,nr_inodes=16") < 0)
                return cnr_errf(err, errno, "mount the scratch tmpfs on `%s` in mountd's namespace", MOUNTD_SCRATCH);
        if (mkdir(MOUNTD_SCRATCH_TARGET, 0700) < 0)
                return cnr_errf(err, errno, "create the scratch dir `%s`", MOUNTD_SCRATCH_TARGET);
        return 0;
}

int
mountd_setup(struct cnr_helper_env *env, struct cnr_err **err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;

        /* First the namespace: overlayfs takes its layers only from mounts
         * of the mounter's namespace, so the snapshot root must be opened
         * in the namespace mountd will mount in. */
        if (overlay_mode != MOUNTD_OVERLAY_FSCONFIG && private_namespace(err) < 0)
                return -1;
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
        /* The snapshot root is the working directory between requests. */
        if (fchdir(snaprootfd) < 0)
                return cnr_errf(err, errno, "fchdir to the snapshot root `%s`", env->snapshot_root);
        if (sysconf(_SC_PAGESIZE) > 0)
                page_size = (size_t)sysconf(_SC_PAGESIZE);
        have_lowerdir_plus = probe_lowerdir_plus();
        if (overlay_mode != MOUNTD_OVERLAY_FSCONFIG && scratch_dir(err) < 0)
                return -1;
        switch (overlay_mode) {
        case MOUNTD_OVERLAY_AUTO:
                log_info("overlay mode auto: lower lists up to 255 bytes through fsconfig lowerdir=, longer ones %s",
                         have_lowerdir_plus ? "one layer at a time through fsconfig lowerdir+ (the kernel has it)"
                                            : "through mount(2) in mountd's private mount namespace (the kernel "
                                              "has no lowerdir+)");
                break;
        case MOUNTD_OVERLAY_FSCONFIG:
                log_info("overlay mode fsconfig: lower lists up to 255 bytes through lowerdir=, longer ones through "
                         "lowerdir+ (%s)",
                         have_lowerdir_plus ? "the kernel has it" : "the kernel has not: they will fail");
                break;
        case MOUNTD_OVERLAY_LEGACY:
                log_info("overlay mode legacy: every overlay through mount(2) in mountd's private mount namespace "
                         "(lowerdir+ %s)",
                         have_lowerdir_plus ? "available, not used" : "not available");
                break;
        }
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

/* A detached clone of a snapshot's fs, idmapped with the container's maps
 * (Linux 5.12; ext4, xfs, btrfs, tmpfs 6.3) before anything can see it:
 * read-only, a lower layer of an idmapped overlay; writable, a volume
 * under --userns.  A volume's files are stored with the container's
 * ids: what the container's root writes is 0:0 on disk, and what a
 * container without --userns left as 0:0 is its root's.  The driver dir above it is 0700 root's, so no host user
 * reaches what the container stored (a set-uid file included). */
static int
idmapped_bind(int driverfd, const char *id, bool read_only, int usernsfd, struct cnr_err **err)
{
        _cleanup_close_ int dfd = open_snap_dir(driverfd, id, "fs", err);
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | (read_only ? MOUNT_ATTR_RDONLY : 0),
                                  .userns_fd = (uint64_t)usernsfd};
        int mfd;

        if (dfd < 0)
                return -1;
        mfd = (int)syscall(SYS_open_tree, dfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (mfd < 0)
                return cnr_errf(err, errno, "open_tree `%s/fs`", id);
        if (syscall(SYS_mount_setattr, mfd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
                int e = errno;
                close(mfd);
                return cnr_errf(err, e, "idmap the %s of `%s/fs`%s", read_only ? "read-only clone" : "bind", id,
                                e == EINVAL ? " (idmapped mounts need Linux 5.12, of this filesystem later)" : "");
        }
        return mfd;
}

/* The legacy path: mount(2) takes the whole option string, up to one
 * page, resolving the relative lowerdirs against our working directory
 * (the driver dir).  The mount lands on the scratch dir of mountd's own
 * namespace, open_tree clones it into a detached mount, and the original
 * is unmounted before anything else happens.  Snapshot ids hold no `,`,
 * `:`, `\\` or `=` (name.c), so nothing needs escaping. */
static int
overlay_legacy(const Cnr__Helper__MountSnapshot *m, const char *lower, struct cnr_err **err)
{
        _cleanup_free_ char *data = NULL;
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
        struct statfs sfs;
        int mfd, e;

        if (m->upper[0] != '\0')
                data = xasprintf("lowerdir=%s,upperdir=%s/fs,workdir=%s/work%s", lower, m->upper, m->upper,
                                 m->no_sync ? ",volatile" : "");
        else
                data = xasprintf("lowerdir=%s", lower);
        if (strlen(data) >= page_size)
                return cnr_errf(err, E2BIG,
                                "%zu lower layers: the overlay's mount options take %zu bytes, more than mount(2) "
                                "accepts (%zu, one page), and %s",
                                m->n_lower, strlen(data) + 1, page_size,
                                have_lowerdir_plus ? "overlay mode legacy forbids lowerdir+"
                                                   : "this kernel has no lowerdir+ (Linux 6.8)");
        if (mount("overlay", MOUNTD_SCRATCH_TARGET, "overlay", 0, data) < 0)
                return cnr_errf(err, errno, "mount(2) the overlay of %zu lower layers%s%s", m->n_lower,
                                m->upper[0] ? " and upper " : "", m->upper);
        mfd = (int)syscall(SYS_open_tree, AT_FDCWD, MOUNTD_SCRATCH_TARGET, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        e = errno;
        if (umount2(MOUNTD_SCRATCH_TARGET, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
                /* Left in place, it would sit under the next one: refuse. */
                e = errno;
                if (mfd >= 0)
                        close(mfd);
                return cnr_errf(err, e, "unmount the overlay from the scratch dir `%s`", MOUNTD_SCRATCH_TARGET);
        }
        if (mfd < 0)
                return cnr_errf(err, e, "open_tree the overlay on the scratch dir `%s`", MOUNTD_SCRATCH_TARGET);
        if (fstatfs(mfd, &sfs) < 0 || (unsigned long)sfs.f_type != OVERLAYFS_SUPER_MAGIC) {
                close(mfd);
                return cnr_errf(err, EPROTO, "the clone of the scratch dir `%s` is not the overlay",
                                MOUNTD_SCRATCH_TARGET);
        }
        if (m->read_only && syscall(SYS_mount_setattr, mfd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
                e = errno;
                close(mfd);
                return cnr_errf(err, e, "make the overlay read-only");
        }
        return mfd;
}

/* The new mount API: one lowerdir= when the list fits a value (every
 * kernel), else one lowerdir+ per layer (6.8 and newer). */
static int
overlay_fsconfig(const Cnr__Helper__MountSnapshot *m, const char *lower, size_t len, struct cnr_err **err)
{
        _cleanup_close_ int fsfd = -1;
        _cleanup_free_ char *upper = NULL, *work = NULL;
        char kmsg[256];
        int mfd;

        fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return cnr_errf(err, errno, "fsopen `overlay`");
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
                    fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
                    (m->no_sync && fsconfig(fsfd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0))
                        goto kerr;
        }
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                goto kerr;
        mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, m->read_only ? MOUNT_ATTR_RDONLY : 0);
        if (mfd < 0)
                return cnr_errf(err, errno, "fsmount the overlay");
        return mfd;
kerr : {
        int e = errno;
        context_message(fsfd, kmsg, sizeof(kmsg));
        return cnr_errf(err, e, "overlay of %zu lower layers%s%s (%s%s)", m->n_lower, upper ? " and upper " : "",
                        upper ? m->upper : "", kmsg,
                        len >= MOUNTD_FSCONFIG_VALUE_MAX && !have_lowerdir_plus
                                ? "; lowerdir+ needs Linux 6.8, overlay_mode auto falls back to mount(2)"
                                : "");
}
}

static int
overlay_snapshot(int driverfd, const Cnr__Helper__MountSnapshot *m, const char **method, struct cnr_err **err)
{
        _cleanup_free_ char *lower = NULL;
        size_t len = 0, cap = 0;
        int mfd;

        /* "<l0>/fs:<l1>/fs:...", nearest parent first.  Relative paths,
         * resolved by the kernel against our cwd, the driver dir: short,
         * so 128 layers stay far below a page. */
        for (size_t i = 0; i < m->n_lower; i++)
                cap += strlen(m->lower[i]) + 4;
        lower = xmalloc(cap + 1);
        lower[0] = '\0';
        for (size_t i = 0; i < m->n_lower; i++)
                len += (size_t)snprintf(lower + len, cap + 1 - len, "%s%s/fs", i ? ":" : "", m->lower[i]);
        /* The cheapest path that fits (see mountd.h). */
        if (overlay_mode == MOUNTD_OVERLAY_LEGACY)
                *method = "legacy";
        else if (len < MOUNTD_FSCONFIG_VALUE_MAX)
                *method = "fsconfig";
        else if (overlay_mode == MOUNTD_OVERLAY_FSCONFIG || have_lowerdir_plus)
                *method = "lowerdir+";
        else
                *method = "legacy";
        if (fchdir(driverfd) < 0)
                return cnr_errf(err, errno, "fchdir to the snapshot driver dir");
        if (strcmp(*method, "legacy") == 0)
                mfd = overlay_legacy(m, lower, err);
        else
                mfd = overlay_fsconfig(m, lower, len, err);
        if (fchdir(snaprootfd) < 0) {
                int e = errno;
                if (mfd >= 0)
                        close(mfd);
                if (mfd < 0)
                        cnr_err_free(err);
                return cnr_errf(err, e, "fchdir back to the snapshot root");
        }
        return mfd;
}

/* ---- idmapped layers (--userns) --------------------------------------- */

/* The user namespace of an idmapped mount must be one the monitor made:
 * a user namespace (not another nsfs type) owned by uid 0.  The
 * supervisor can make user namespaces of its own, but those are owned by
 * its uid; and only a privileged writer (the monitor, which refuses it)
 * could have mapped the host's root in one. */
static int
check_userns_fd(int fd, struct cnr_err **err)
{
        struct statfs sfs;
        uid_t owner = (uid_t)-1;
        int type;

        if (fstatfs(fd, &sfs) < 0 || (unsigned long)sfs.f_type != NSFS_MAGIC)
                return cnr_errf(err, EINVAL, "the idmap fd is not a namespace");
        type = ioctl(fd, NS_GET_NSTYPE);
        if (type != CLONE_NEWUSER)
                return cnr_errf(err, EINVAL, "the idmap fd is not a user namespace");
        if (ioctl(fd, NS_GET_OWNER_UID, &owner) < 0)
                return cnr_errf(err, errno, "the idmap fd: its owner");
        if (owner != 0)
                return cnr_errf(err, EPERM, "the idmap user namespace is owned by uid %u, not by the monitor (0)",
                                (unsigned)owner);
        return 0;
}

/* overlayfs refuses MOUNT_ATTR_IDMAP on its own mount but takes idmapped
 * layers (Linux 5.19).  The clones are detached: they reach the overlay
 * as fds (fsconfig FSCONFIG_SET_FD with lowerdir+, 6.13), or else through
 * their /proc/self/fd path (lowerdir+, 6.8).  The upper dir is not
 * idmapped: what the container writes is stored with its host ids. */
static int
overlay_idmapped(int driverfd, const Cnr__Helper__MountSnapshot *m, int usernsfd, struct cnr_err **err)
{
        _cleanup_close_ int fsfd = -1;
        _cleanup_free_ int *layers = xcalloc(m->n_lower + 1, sizeof(int));
        _cleanup_free_ char *upper = NULL, *work = NULL;
        char kmsg[256];
        int mfd = -1, r = -1;

        for (size_t i = 0; i < m->n_lower; i++)
                layers[i] = -1;
        fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0) {
                cnr_errf(err, errno, "fsopen `overlay`");
                goto out;
        }
        for (size_t i = 0; i < m->n_lower; i++) {
                layers[i] = idmapped_bind(driverfd, m->lower[i], true, usernsfd, err);
                if (layers[i] < 0)
                        goto out;
                if (fsconfig(fsfd, FSCONFIG_SET_FD, "lowerdir+", NULL, layers[i]) < 0) {
                        char path[64];
                        snprintf(path, sizeof(path), "/proc/self/fd/%d", layers[i]);
                        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", path, 0) < 0) {
                                int e = errno;
                                context_message(fsfd, kmsg, sizeof(kmsg));
                                cnr_errf(err, e,
                                         "overlay: the idmapped layer `%s` was refused (%s); idmapped layers need "
                                         "Linux 5.19 and lowerdir+ (6.8)",
                                         m->lower[i], kmsg);
                                goto out;
                        }
                }
        }
        if (m->upper[0] != '\0') {
                upper = xasprintf("%s/fs", m->upper);
                work = xasprintf("%s/work", m->upper);
                if (fchdir(driverfd) < 0) {
                        cnr_errf(err, errno, "fchdir to the snapshot driver dir");
                        goto out;
                }
                r = fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
                                    fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
                                    (m->no_sync && fsconfig(fsfd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
                            ? -1
                            : 0;
                if (r < 0) {
                        int e = errno;
                        context_message(fsfd, kmsg, sizeof(kmsg));
                        cnr_errf(err, e, "overlay: upper `%s` (%s)", m->upper, kmsg);
                }
                if (fchdir(snaprootfd) < 0 && r == 0) {
                        r = -1;
                        cnr_errf(err, errno, "fchdir back to the snapshot root");
                }
                if (r < 0)
                        goto out;
        }
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int e = errno;
                context_message(fsfd, kmsg, sizeof(kmsg));
                cnr_errf(err, e, "overlay of %zu idmapped lower layers%s%s (%s)", m->n_lower,
                         upper ? " and upper " : "", upper ? m->upper : "", kmsg);
                goto out;
        }
        mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, m->read_only ? MOUNT_ATTR_RDONLY : 0);
        if (mfd < 0)
                cnr_errf(err, errno, "fsmount the idmapped overlay");
out:
        for (size_t i = 0; i < m->n_lower; i++)
                if (layers[i] >= 0)
                        close(layers[i]);
        return mfd;
}

static int snapshot(struct cnr_helper_req *r, const Cnr__Helper__MountSnapshot *m, int usernsfd,
                    struct cnr_err **err);

int
mountd_snapshot(struct cnr_helper_req *r, struct cnr_err **err)
{
        return snapshot(r, r->req->mount_snapshot, -1, err);
}

int
mountd_snapshot_idmapped(struct cnr_helper_req *r, struct cnr_err **err)
{
        _cleanup_close_ int usernsfd = cnr_frame_take_fd(r->frame, 0);

        json_object_set_new(r->args, "idmapped", json_true());
        if (check_userns_fd(usernsfd, err) < 0) {
                r->deny = true;
                return -1;
        }
        return snapshot(r, r->req->mount_snapshot_idmapped, usernsfd, err);
}

static int
snapshot(struct cnr_helper_req *r, const Cnr__Helper__MountSnapshot *m, int usernsfd, struct cnr_err **err)
{
        _cleanup_close_ int driverfd = -1;
        json_t *lowers = json_array();
        const char *method = "bind";
        int mfd;

        for (size_t i = 0; i < m->n_lower; i++)
                json_array_append_new(lowers, json_string(m->lower[i]));
        json_object_set_new(r->args, "upper", json_string(m->upper));
        json_object_set_new(r->args, "lower", lowers);
        json_object_set_new(r->args, "read_only", json_boolean(m->read_only));
        if (m->no_sync) /* only when asked: the record of every other mount is unchanged */
                json_object_set_new(r->args, "no_sync", json_true());

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
        if (m->no_sync && (m->upper[0] == '\0' || m->n_lower == 0)) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "no_sync is an overlay's: it needs an upper snapshot and lower layers");
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
        if (usernsfd >= 0 && m->n_lower == 0) {
                method = "idmapped-bind";
                mfd = idmapped_bind(driverfd, m->upper, m->read_only, usernsfd, err);
        } else if (usernsfd >= 0) {
                method = "idmapped";
                mfd = overlay_idmapped(driverfd, m, usernsfd, err);
        } else if (m->n_lower == 0)
                mfd = bind_snapshot(driverfd, m->upper, m->read_only, err);
        else if (m->upper[0] == '\0' && m->n_lower == 1)
                mfd = bind_snapshot(driverfd, m->lower[0], true, err);
        else
                mfd = overlay_snapshot(driverfd, m, &method, err);
        /* How it was built, for the audit record (tests read it). */
        json_object_set_new(r->args, "method", json_string(method));
        if (mfd < 0)
                return -1;
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD;
        cnr__helper__mount_fd__init(&r->reply.mount_fd);
        r->fds[0] = mfd;
        r->nfds = 1;
        return 0;
}
