/* containr-snapd: layer apply (SnapApply).
 *
 * The blob fd the supervisor passes (read-only, from its content store) is
 * decompressed by libarchive (gzip, zstd or none, detected from the bytes;
 * never an external program) into a raw stream that is hashed (the diff_id)
 * and counted, and that stream is read as a tar by a second libarchive
 * reader.  Each entry is then written into the snapshot's fs directory,
 * which is the overlay upper dir of the layer:
 *
 *   - its name goes through the tarpath policy (tarpath.h): no `..`, no
 *     malformed whiteouts;
 *   - its parent directory is opened with openat2(RESOLVE_IN_ROOT |
 *     RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) under the fs fd, missing
 *     components made with mkdirat one at a time: a symlink in the layer
 *     resolves inside the layer, never outside (THREATS.md 17);
 *   - the last component is only ever used with *at() calls that do not
 *     follow it (O_NOFOLLOW | O_EXCL, AT_SYMLINK_NOFOLLOW, linkat without
 *     AT_SYMLINK_FOLLOW): a symlink planted earlier is replaced, never
 *     written through (THREATS.md 19);
 *   - a hardlink's target goes through the same policy and resolution, so
 *     it names a file of this layer or nothing (THREATS.md 18);
 *   - `.wh.NAME` becomes an overlay whiteout (char 0/0, owner from the
 *     header) unless this layer itself put NAME there; `.wh..wh..opq` sets
 *     trusted.overlay.opaque=y on its directory; a directory that replaces
 *     a whiteout of the same layer is made opaque too;
 *   - owners, modes (setuid/setgid/sticky kept: fchmod after fchown),
 *     times (directories at the end), user.* and security.capability
 *     xattrs are kept; trusted.* and other namespaces are dropped (a layer
 *     must not forge overlay metadata);
 *   - devices: majors up to 4095, minors up to 2^20-1 (THREATS.md 21); a
 *     char 0/0 device in a layer is refused (it would be a whiteout);
 *   - limits: uncompressed bytes and entries (THREATS.md 22).
 * A failed apply leaves a partial fs tree; the supervisor removes the
 * snapshot, so nothing is committed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <linux/openat2.h>

#include "common/digest.h"
#include "common/log.h"
#include "helpers/snapd/snapd.h"
#include "helpers/snapd/tarpath.h"

#define OVL_OPAQUE "trusted.overlay.opaque"
#define MAJOR_MAX 0xfffU
#define MINOR_MAX 0xfffffU

struct dirtime {
        char *path;
        struct timespec ts[2];
};

struct apply {
        int fsfd;
        const int *lowerfds; /* the parents' fs dirs, nearest first */
        size_t nlower;
        struct archive *raw; /* blob -> uncompressed stream */
        struct archive *tar; /* uncompressed stream -> entries */
        struct cnr_hasher *hash;
        unsigned long long tar_size, max_bytes, entries, max_entries, written;
        struct cnr_err *src_err; /* why the stream stopped, set in the read callback */
        bool refused;            /* the layer broke a rule (vs. the system failed) */
        struct dirtime *dirs;
        size_t ndirs, capdirs;
        unsigned char buf[1 << 16];
        unsigned char data[1 << 16];
};

/* The layer broke a rule: "WHAT `NAME`: WHY", audited deny. */
static int
refuse(struct apply *a, struct cnr_err **err, const char *what, const char *name, const char *why)
{
        a->refused = true;
        return cnr_errf(err, EINVAL, "%s `%s`: %s", what, name, why);
}

static int
open_in_root(int fsfd, const char *path)
{
        struct open_how how = {
                .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        return (int)syscall(SYS_openat2, fsfd, path, &how, sizeof(how));
}

/* Owner and mode of directory `path` in the nearest lower layer that has
 * it (resolved there under the same rules); st unchanged when none does.
 * A directory the layer implies without listing it must not shadow the
 * lower one's attributes (a /tmp of 1777 staying 1777). */
static void
lower_attrs(struct apply *a, const char *path, struct stat *st)
{
        for (size_t i = 0; i < a->nlower; i++) {
                int fd = open_in_root(a->lowerfds[i], path);
                struct stat ls;

                if (fd < 0)
                        continue;
                if (fstat(fd, &ls) == 0 && S_ISDIR(ls.st_mode))
                        *st = ls;
                close(fd);
                return;
        }
}

/* The directory path[0..dirlen) under the fs root, made when missing and
 * `create`; a fresh fd, or -1. */
static int
open_parent(struct apply *a, const char *path, size_t dirlen, bool create, struct cnr_err **err)
{
        char dir[SNAPD_TARPATH_MAX];
        int cur, fd;

        if (dirlen == 0) {
                fd = fcntl(a->fsfd, F_DUPFD_CLOEXEC, 3);
                return fd < 0 ? cnr_errf(err, errno, "dup the layer root fd") : fd;
        }
        memcpy(dir, path, dirlen);
        dir[dirlen] = '\0';
        fd = open_in_root(a->fsfd, dir);
        if (fd >= 0)
                return fd;
        if (errno != ENOENT || !create)
                return cnr_errf(err, errno, "open directory `%s` in the layer", dir);
        cur = fcntl(a->fsfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return cnr_errf(err, errno, "dup the layer root fd");
        for (size_t e = 0, s = 0; e <= dirlen; e++) {
                char save;
                int next;

                if (e < dirlen && dir[e] != '/')
                        continue;
                save = dir[e];
                dir[e] = '\0';
                next = open_in_root(a->fsfd, dir);
                if (next < 0 && errno == ENOENT) {
                        /* One component, made in the directory resolved so
                         * far: mkdirat never follows its last component. */
                        if (mkdirat(cur, dir + s, 0755) == 0) {
                                struct stat ls = {.st_mode = S_IFDIR | 0755};
                                lower_attrs(a, dir, &ls);
                                if (fchownat(cur, dir + s, ls.st_uid, ls.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                                    fchmodat(cur, dir + s, ls.st_mode & 07777, 0) < 0) {
                                        int en = errno;
                                        close(cur);
                                        return cnr_errf(err, en, "set the owner and mode of directory `%s`", dir);
                                }
                        } else if (errno != EEXIST) {
                                int en = errno;
                                close(cur);
                                return cnr_errf(err, en, "mkdir `%s` in the layer", dir);
                        }
                        next = open_in_root(a->fsfd, dir);
                }
                if (next < 0) {
                        int en = errno;
                        close(cur);
                        return cnr_errf(err, en, "parent directory `%s` in the layer", dir);
                }
                close(cur);
                cur = next;
                dir[e] = save;
                s = e + 1;
        }
        return cur;
}

static bool
is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Make room for a new entry `base` in pfd.  Returns 1 when an existing
 * directory is kept (dir over dir merges), 0 when the name is free. */
static int
clear_target(int pfd, const char *base, const char *path, bool want_dir, bool *was_whiteout, struct cnr_err **err)
{
        struct stat st;

        if (was_whiteout)
                *was_whiteout = false;
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return cnr_errf(err, errno, "stat `%s`", path);
        }
        if (want_dir && S_ISDIR(st.st_mode))
                return 1;
        if (was_whiteout && is_whiteout(&st))
                *was_whiteout = true;
        if (S_ISDIR(st.st_mode))
                return snapd_remove_tree(pfd, base, err) < 0 ? cnr_err_wrap(err, "replace `%s`", path) : 0;
        if (unlinkat(pfd, base, 0) < 0)
                return cnr_errf(err, errno, "replace `%s`", path);
        return 0;
}

static bool
xattr_allowed(const char *name)
{
        return strncmp(name, "user.", 5) == 0 || strcmp(name, "security.capability") == 0;
}

static int
set_xattrs(int fd, struct archive_entry *e, const char *path, bool regular_or_dir, struct cnr_err **err)
{
        const char *name;
        const void *val;
        size_t size;

        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
                if (!xattr_allowed(name)) {
                        log_debug("`%s`: xattr `%s` dropped", path, name);
                        continue;
                }
                if (fsetxattr(fd, name, val, size, 0) < 0) {
                        if (errno == ENOTSUP || (errno == EPERM && !regular_or_dir))
                                continue;
                        return cnr_errf(err, errno, "set xattr `%s` on `%s`", name, path);
                }
        }
        return 0;
}

static int
owner_of(struct apply *a, struct archive_entry *e, const char *path, uid_t *uid, gid_t *gid, struct cnr_err **err)
{
        la_int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);

        if (u < 0 || u > 0xfffffffeLL || g < 0 || g > 0xfffffffeLL) {
                a->refused = true;
                return cnr_errf(err, EINVAL, "entry `%s`: owner %lld:%lld out of range", path, (long long)u,
                                (long long)g);
        }
        *uid = (uid_t)u;
        *gid = (gid_t)g;
        return 0;
}

static void
entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[1].tv_sec = archive_entry_mtime(e);
        ts[1].tv_nsec = archive_entry_mtime_nsec(e);
        if (archive_entry_atime_is_set(e)) {
                ts[0].tv_sec = archive_entry_atime(e);
                ts[0].tv_nsec = archive_entry_atime_nsec(e);
        } else {
                ts[0] = ts[1];
        }
        if (ts[0].tv_nsec < 0 || ts[0].tv_nsec > 999999999)
                ts[0].tv_nsec = 0;
        if (ts[1].tv_nsec < 0 || ts[1].tv_nsec > 999999999)
                ts[1].tv_nsec = 0;
}

/* Owner, then mode (chown clears setuid), then xattrs (after chown,
 * which clears security.capability). */
static int
set_meta(struct apply *a, int fd, struct archive_entry *e, const char *path, struct cnr_err **err)
{
        uid_t uid;
        gid_t gid;

        if (owner_of(a, e, path, &uid, &gid, err) < 0)
                return -1;
        if (fchown(fd, uid, gid) < 0)
                return cnr_errf(err, errno, "chown `%s` to %u:%u", path, (unsigned)uid, (unsigned)gid);
        if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
                return cnr_errf(err, errno, "chmod `%s`", path);
        return set_xattrs(fd, e, path, true, err);
}

static int
write_data(struct apply *a, int fd, struct archive_entry *e, const char *path, struct cnr_err **err)
{
        la_int64_t size = archive_entry_size(e);
        const void *buf;
        size_t len;
        la_int64_t off;
        int r;

        if (size < 0 || (unsigned long long)size > a->max_bytes) {
                a->refused = true;
                return cnr_errf(err, EFBIG, "entry `%s`: size %lld above the limit of %llu bytes", path,
                                (long long)size, a->max_bytes);
        }
        while ((r = archive_read_data_block(a->tar, &buf, &len, &off)) == ARCHIVE_OK) {
                if (off < 0 || (unsigned long long)off + len > (unsigned long long)size) {
                        a->refused = true;
                        return cnr_errf(err, EINVAL, "entry `%s`: data beyond its size", path);
                }
                a->written += len;
                if (a->written > a->max_bytes) {
                        a->refused = true;
                        return cnr_errf(err, EFBIG, "layer writes more than the limit of %llu bytes", a->max_bytes);
                }
                for (size_t done = 0; done < len;) {
                        ssize_t w = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                return cnr_errf(err, errno, "write `%s`", path);
                        }
                        done += (size_t)w;
                }
        }
        if (r != ARCHIVE_EOF) {
                if (a->src_err)
                        return cnr_errf(err, a->src_err->code, "%s", a->src_err->msg);
                a->refused = true;
                return cnr_errf(err, EINVAL, "entry `%s`: %s", path, archive_error_string(a->tar));
        }
        if (ftruncate(fd, size) < 0) /* a trailing hole of a sparse file */
                return cnr_errf(err, errno, "size `%s`", path);
        return 0;
}

static int
apply_regular(struct apply *a, int pfd, const struct snapd_tarpath *tp, struct archive_entry *e, struct cnr_err **err)
{
        _cleanup_close_ int fd = -1;
        struct timespec ts[2];

        if (clear_target(pfd, tp->base, tp->path, false, NULL, err) < 0)
                return -1;
        fd = openat(pfd, tp->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return cnr_errf(err, errno, "create `%s`", tp->path);
        if (write_data(a, fd, e, tp->path, err) < 0 || set_meta(a, fd, e, tp->path, err) < 0)
                return -1;
        entry_times(e, ts);
        if (futimens(fd, ts) < 0)
                return cnr_errf(err, errno, "set the times of `%s`", tp->path);
        return 0;
}

static int
apply_dir(struct apply *a, int pfd, const struct snapd_tarpath *tp, struct archive_entry *e, struct cnr_err **err)
{
        _cleanup_close_ int fd = -1;
        bool was_whiteout = false;
        int r;

        r = clear_target(pfd, tp->base, tp->path, true, &was_whiteout, err);
        if (r < 0)
                return -1;
        if (r == 0 && mkdirat(pfd, tp->base, 0700) < 0)
                return cnr_errf(err, errno, "mkdir `%s`", tp->path);
        fd = openat(pfd, tp->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return cnr_errf(err, errno, "open directory `%s`", tp->path);
        /* This layer deleted the lower `path` and makes a new one: none of
         * the lower children may show through. */
        if (was_whiteout && fsetxattr(fd, OVL_OPAQUE, "y", 1, 0) < 0)
                return cnr_errf(err, errno, "make `%s` opaque", tp->path);
        if (set_meta(a, fd, e, tp->path, err) < 0)
                return -1;
        if (a->ndirs == a->capdirs) {
                a->capdirs = a->capdirs ? a->capdirs * 2 : 64;
                a->dirs = xrealloc(a->dirs, a->capdirs * sizeof(*a->dirs));
        }
        a->dirs[a->ndirs].path = xstrdup(tp->path);
        entry_times(e, a->dirs[a->ndirs].ts);
        a->ndirs++;
        return 0;
}

static int
apply_special(struct apply *a, int pfd, const struct snapd_tarpath *tp, struct archive_entry *e, mode_t type,
              struct cnr_err **err)
{
        struct timespec ts[2];
        uid_t uid;
        gid_t gid;
        dev_t dev = 0;

        if (owner_of(a, e, tp->path, &uid, &gid, err) < 0)
                return -1;
        if (type == S_IFCHR || type == S_IFBLK) {
                unsigned long long maj = (unsigned long long)archive_entry_rdevmajor(e);
                unsigned long long min = (unsigned long long)archive_entry_rdevminor(e);

                if (maj > MAJOR_MAX || min > MINOR_MAX) {
                        a->refused = true;
                        return cnr_errf(err, EINVAL, "entry `%s`: device %llu:%llu out of range", tp->path, maj, min);
                }
                if (type == S_IFCHR && maj == 0 && min == 0) {
                        a->refused = true;
                        return cnr_errf(err, EINVAL,
                                        "entry `%s`: a 0/0 character device (an overlay whiteout) in a layer",
                                        tp->path);
                }
                dev = makedev((unsigned)maj, (unsigned)min);
        }
        if (clear_target(pfd, tp->base, tp->path, false, NULL, err) < 0)
                return -1;
        if (type == S_IFLNK) {
                const char *target = archive_entry_symlink(e);
                if (target == NULL || target[0] == '\0') {
                        a->refused = true;
                        return cnr_errf(err, EINVAL, "entry `%s`: a symlink without a target", tp->path);
                }
                /* The target is data: never resolved here. */
                if (symlinkat(target, pfd, tp->base) < 0)
                        return cnr_errf(err, errno, "symlink `%s`", tp->path);
        } else if (mknodat(pfd, tp->base, type | (archive_entry_perm(e) & 0777), dev) < 0) {
                return cnr_errf(err, errno, "mknod `%s`", tp->path);
        }
        if (fchownat(pfd, tp->base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return cnr_errf(err, errno, "chown `%s`", tp->path);
        entry_times(e, ts);
        if (utimensat(pfd, tp->base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return cnr_errf(err, errno, "set the times of `%s`", tp->path);
        return 0;
}

static int
apply_hardlink(struct apply *a, int pfd, const struct snapd_tarpath *tp, const char *target, struct cnr_err **err)
{
        static struct snapd_tarpath tt; /* large: not on the stack */
        _cleanup_close_ int tpfd = -1;
        struct stat tst, st;
        const char *why = NULL;

        if (snapd_tarpath_parse(target, &tt, &why) < 0)
                return refuse(a, err, "hardlink target", target, why);
        if (tt.kind != SNAPD_TARPATH_PLAIN)
                return refuse(a, err, "hardlink target", target, "not a plain file of the layer");
        tpfd = open_parent(a, tt.path, tt.dirlen, false, err);
        if (tpfd < 0)
                return cnr_err_wrap(err, "hardlink `%s` to `%s`", tp->path, target);
        if (fstatat(tpfd, tt.base, &tst, AT_SYMLINK_NOFOLLOW) < 0)
                return cnr_errf(err, errno, "hardlink `%s` to `%s`", tp->path, target);
        if (S_ISDIR(tst.st_mode) || is_whiteout(&tst))
                return refuse(a, err, "hardlink target", target, "a directory or a whiteout");
        if (fstatat(pfd, tp->base, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == tst.st_ino && st.st_dev == tst.st_dev)
                return 0; /* already that file */
        if (clear_target(pfd, tp->base, tp->path, false, NULL, err) < 0)
                return -1;
        /* No AT_SYMLINK_FOLLOW: a link to a symlink is a link to the
         * symlink itself (THREATS.md 19). */
        if (linkat(tpfd, tt.base, pfd, tp->base, 0) < 0)
                return cnr_errf(err, errno, "hardlink `%s` to `%s`", tp->path, target);
        return 0;
}

static int
apply_whiteout(struct apply *a, int pfd, const struct snapd_tarpath *tp, struct archive_entry *e, struct cnr_err **err)
{
        struct stat st;
        uid_t uid;
        gid_t gid;

        if (owner_of(a, e, tp->path, &uid, &gid, err) < 0)
                return -1;
        if (fstatat(pfd, tp->base, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0; /* this layer's own entry already hides the lower one */
        if (errno != ENOENT)
                return cnr_errf(err, errno, "stat `%s`", tp->path);
        if (mknodat(pfd, tp->base, S_IFCHR | 0, makedev(0, 0)) < 0)
                return cnr_errf(err, errno, "whiteout `%s`", tp->path);
        if (fchownat(pfd, tp->base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return cnr_errf(err, errno, "chown whiteout `%s`", tp->path);
        return 0;
}

static int
apply_opaque(struct apply *a, const struct snapd_tarpath *tp, struct cnr_err **err)
{
        _cleanup_close_ int pfd = -1, fd = -1;

        if (tp->path[0] == '\0') {
                fd = fcntl(a->fsfd, F_DUPFD_CLOEXEC, 3);
        } else {
                pfd = open_parent(a, tp->path, tp->dirlen, true, err);
                if (pfd < 0)
                        return -1;
                if (mkdirat(pfd, tp->base, 0755) == 0) {
                        struct stat ls = {.st_mode = S_IFDIR | 0755};
                        lower_attrs(a, tp->path, &ls);
                        if (fchownat(pfd, tp->base, ls.st_uid, ls.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                            fchmodat(pfd, tp->base, ls.st_mode & 07777, 0) < 0)
                                return cnr_errf(err, errno, "set the owner and mode of `%s`", tp->path);
                } else if (errno != EEXIST) {
                        return cnr_errf(err, errno, "mkdir `%s`", tp->path);
                }
                fd = openat(pfd, tp->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0) {
                if (errno == ENOTDIR || errno == ELOOP)
                        return refuse(a, err, "opaque marker in", tp->path, "not a directory");
                return cnr_errf(err, errno, "open `%s`", tp->path);
        }
        if (fsetxattr(fd, OVL_OPAQUE, "y", 1, 0) < 0)
                return cnr_errf(err, errno, "make `%s` opaque", tp->path[0] ? tp->path : "/");
        return 0;
}

static int
apply_entry(struct apply *a, struct archive_entry *e, struct cnr_err **err)
{
        static struct snapd_tarpath tp;
        const char *name = archive_entry_pathname(e), *why = NULL, *link;
        _cleanup_close_ int pfd = -1;
        mode_t type = archive_entry_filetype(e);

        if (name == NULL)
                return refuse(a, err, "entry", "?", "no name");
        if (snapd_tarpath_parse(name, &tp, &why) < 0)
                return refuse(a, err, "entry", name, why);
        if (tp.kind == SNAPD_TARPATH_ROOT)
                return 0; /* the layer root is the snapshot's fs dir itself */
        if (tp.kind == SNAPD_TARPATH_OPAQUE)
                return apply_opaque(a, &tp, err);
        pfd = open_parent(a, tp.path, tp.dirlen, true, err);
        if (pfd < 0)
                return cnr_err_wrap(err, "entry `%s`", name);
        if (tp.kind == SNAPD_TARPATH_WHITEOUT)
                return apply_whiteout(a, pfd, &tp, e, err);
        link = archive_entry_hardlink(e);
        if (link != NULL)
                return apply_hardlink(a, pfd, &tp, link, err);
        switch (type) {
        case AE_IFREG:
                return apply_regular(a, pfd, &tp, e, err);
        case AE_IFDIR:
                return apply_dir(a, pfd, &tp, e, err);
        case AE_IFLNK:
                return apply_special(a, pfd, &tp, e, S_IFLNK, err);
        case AE_IFCHR:
                return apply_special(a, pfd, &tp, e, S_IFCHR, err);
        case AE_IFBLK:
                return apply_special(a, pfd, &tp, e, S_IFBLK, err);
        case AE_IFIFO:
                return apply_special(a, pfd, &tp, e, S_IFIFO, err);
        case AE_IFSOCK:
                return 0; /* sockets are not layer content */
        default:
                return refuse(a, err, "entry", name, "unknown file type");
        }
}

/* The tar reader's source: the raw reader's uncompressed bytes, hashed
 * and counted on the way. */
static la_ssize_t
tar_read(struct archive *ar, void *arg, const void **buf)
{
        struct apply *a = arg;
        la_ssize_t n = archive_read_data(a->raw, a->buf, sizeof(a->buf));

        if (n < 0) {
                cnr_errf(&a->src_err, EINVAL, "decompress the layer: %s", archive_error_string(a->raw));
                archive_set_error(ar, EINVAL, "%s", a->src_err->msg);
                return -1;
        }
        a->tar_size += (unsigned long long)n;
        if (a->tar_size > a->max_bytes) {
                a->refused = true;
                cnr_errf(&a->src_err, EFBIG, "the uncompressed layer is larger than the limit of %llu bytes",
                         a->max_bytes);
                archive_set_error(ar, EFBIG, "%s", a->src_err->msg);
                return -1;
        }
        cnr_hasher_update(a->hash, a->buf, (size_t)n);
        *buf = a->buf;
        return n;
}

static int
finish_dirs(struct apply *a, struct cnr_err **err)
{
        static struct snapd_tarpath tp;
        const char *why;

        /* Deepest last-created first is not needed: setting a directory's
         * times does not change its parent's. */
        for (size_t i = 0; i < a->ndirs; i++) {
                _cleanup_close_ int pfd = -1, fd = -1;

                if (snapd_tarpath_parse(a->dirs[i].path, &tp, &why) < 0)
                        continue;
                pfd = open_parent(a, tp.path, tp.dirlen, false, err);
                if (pfd < 0) {
                        /* Removed by a later entry of the layer. */
                        cnr_err_free(err);
                        continue;
                }
                fd = openat(pfd, tp.base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (futimens(fd, a->dirs[i].ts) < 0)
                        return cnr_errf(err, errno, "set the times of `%s`", tp.path);
        }
        return 0;
}

static int
open_readers(struct apply *a, int blobfd, struct cnr_err **err)
{
        struct archive_entry *re;
        int r;

        a->raw = archive_read_new();
        a->tar = archive_read_new();
        if (a->raw == NULL || a->tar == NULL)
                return cnr_errf(err, ENOMEM, "libarchive");
        /* Only what a layer may be, and only built-in decoders: a filter
         * libarchive would run as an external program answers WARN. */
        if (archive_read_support_filter_gzip(a->raw) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(a->raw) != ARCHIVE_OK)
                return cnr_errf(err, ENOTSUP, "this libarchive has no built-in gzip or zstd decoder");
        if (archive_read_support_format_raw(a->raw) != ARCHIVE_OK ||
            archive_read_support_format_tar(a->tar) != ARCHIVE_OK)
                return cnr_errf(err, ENOTSUP, "libarchive: %s", archive_error_string(a->raw));
        if (archive_read_open_fd(a->raw, blobfd, sizeof(a->buf)) != ARCHIVE_OK)
                return cnr_errf(err, EINVAL, "open the layer: %s", archive_error_string(a->raw));
        r = archive_read_next_header(a->raw, &re);
        if (r == ARCHIVE_EOF) {
                a->refused = true;
                return cnr_errf(err, EINVAL, "the layer blob is empty");
        }
        if (r != ARCHIVE_OK)
                return cnr_errf(err, EINVAL, "read the layer: %s", archive_error_string(a->raw));
        if (archive_read_open(a->tar, a, NULL, tar_read, NULL) != ARCHIVE_OK) {
                if (a->src_err)
                        return cnr_errf(err, a->src_err->code, "%s", a->src_err->msg);
                a->refused = true;
                return cnr_errf(err, EINVAL, "the layer is not a tar: %s", archive_error_string(a->tar));
        }
        return 0;
}

static int
run(struct apply *a, int blobfd, struct cnr_err **err)
{
        struct archive_entry *e;
        int r;

        if (open_readers(a, blobfd, err) < 0)
                return -1;
        for (;;) {
                r = archive_read_next_header(a->tar, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r == ARCHIVE_WARN) {
                        log_debug("layer: %s", archive_error_string(a->tar));
                } else if (r != ARCHIVE_OK) {
                        if (a->src_err)
                                return cnr_errf(err, a->src_err->code, "%s", a->src_err->msg);
                        a->refused = true;
                        return cnr_errf(err, EINVAL, "invalid layer tar after %llu entries: %s", a->entries,
                                        archive_error_string(a->tar));
                }
                if (++a->entries > a->max_entries) {
                        a->refused = true;
                        return cnr_errf(err, E2BIG, "the layer has more than the limit of %llu entries",
                                        a->max_entries);
                }
                if (apply_entry(a, e, err) < 0)
                        return -1;
        }
        /* The diff_id covers the whole stream: drain what follows the
         * end-of-archive blocks. */
        for (;;) {
                const void *buf;
                la_ssize_t n = tar_read(a->tar, a, &buf);
                if (n < 0)
                        return cnr_errf(err, a->src_err->code, "%s", a->src_err->msg);
                if (n == 0)
                        break;
        }
        return finish_dirs(a, err);
}

int
snapd_apply_layer(int fsfd, const int *lowerfds, size_t nlower, int blobfd, unsigned long long max_bytes,
                  unsigned long long max_entries, struct snapd_apply_stats *st, struct cnr_err **err)
{
        struct apply *a = xcalloc(1, sizeof(*a));
        struct cnr_digest d;
        int ret;

        a->fsfd = fsfd;
        a->lowerfds = lowerfds;
        a->nlower = nlower;
        a->max_bytes = max_bytes;
        a->max_entries = max_entries;
        a->hash = cnr_hasher_new(CNR_DIGEST_SHA256);
        ret = run(a, blobfd, err);
        if (ret == 0) {
                cnr_hasher_final(a->hash, &d);
                a->hash = NULL;
                snprintf(st->diff_id, sizeof(st->diff_id), "%s", d.str);
                st->tar_size = a->tar_size;
                st->entries = a->entries;
                st->bytes_written = a->written;
        } else if (a->refused && *err) {
                (*err)->code = (*err)->code ? (*err)->code : EINVAL;
        }
        if (a->hash)
                cnr_hasher_free(a->hash);
        if (a->tar)
                archive_read_free(a->tar);
        if (a->raw)
                archive_read_free(a->raw);
        for (size_t i = 0; i < a->ndirs; i++)
                free(a->dirs[i].path);
        free(a->dirs);
        cnr_err_free(&a->src_err);
        st->refused = a->refused;
        free(a);
        return ret;
}

int
snapd_apply(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__SnapApply *m = r->req->snap_apply;
        _cleanup_close_ int blob = cnr_frame_take_fd(r->frame, 0);
        _cleanup_close_ int fsfd = -1, driverfd = -1;
        _cleanup_free_ char *fs = NULL;
        unsigned long long maxb = m->max_bytes ? m->max_bytes : SNAPD_APPLY_DEFAULT_BYTES;
        unsigned long long maxe = m->max_entries ? m->max_entries : SNAPD_APPLY_DEFAULT_ENTRIES;
        struct snapd_apply_stats st = {0};
        struct stat bst;
        int fl, rc = -1;
        int lowerfds[SNAPD_APPLY_MAX_LOWER];
        size_t nlower = 0;

        json_object_set_new(r->args, "id", json_string(m->id));
        json_object_set_new(r->args, "max_bytes", json_integer((json_int_t)maxb));
        json_object_set_new(r->args, "max_entries", json_integer((json_int_t)maxe));
        if (snapd_check_id(r, "snapshot id", m->id, err) < 0)
                return -1;
        {
                json_t *lj = json_array();
                for (size_t i = 0; i < m->n_lower; i++)
                        json_array_append_new(lj, json_string(m->lower[i]));
                json_object_set_new(r->args, "lower", lj);
        }
        for (size_t i = 0; i < m->n_lower; i++)
                if (snapd_check_id(r, "lower snapshot id", m->lower[i], err) < 0)
                        return -1;
        if (m->n_lower > SNAPD_APPLY_MAX_LOWER) {
                r->deny = true;
                return cnr_errf(err, E2BIG, "%zu lower snapshots: more than %d", m->n_lower, SNAPD_APPLY_MAX_LOWER);
        }
        if (maxb > SNAPD_APPLY_MAX_BYTES || maxe > SNAPD_APPLY_MAX_ENTRIES) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "apply limits %llu bytes / %llu entries: above %llu / %llu", maxb, maxe,
                                SNAPD_APPLY_MAX_BYTES, SNAPD_APPLY_MAX_ENTRIES);
        }
        /* The blob: a regular file or a pipe, opened for reading only. */
        fl = fcntl(blob, F_GETFL);
        if (blob < 0 || fl < 0 || fstat(blob, &bst) < 0 || (fl & O_ACCMODE) != O_RDONLY ||
            !(S_ISREG(bst.st_mode) || S_ISFIFO(bst.st_mode))) {
                r->deny = true;
                return cnr_errf(err, EBADF, "the layer fd is not a read-only regular file or pipe");
        }
        driverfd = snapd_open_driver(err);
        if (driverfd < 0)
                return -1;
        fs = xasprintf("%s/fs", m->id);
        {
                struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                                       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV};
                fsfd = (int)syscall(SYS_openat2, driverfd, fs, &how, sizeof(how));
        }
        if (fsfd < 0)
                return cnr_errf(err, errno, "open snapshot `%s`", fs);
        for (size_t i = 0; i < m->n_lower; i++) {
                _cleanup_free_ char *lfs = xasprintf("%s/fs", m->lower[i]);
                struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                                       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV};
                lowerfds[i] = (int)syscall(SYS_openat2, driverfd, lfs, &how, sizeof(how));
                nlower = i + 1;
                if (lowerfds[i] < 0) {
                        rc = cnr_errf(err, errno, "open lower snapshot `%s`", lfs);
                        goto out;
                }
        }
        if (snapd_apply_layer(fsfd, lowerfds, nlower, blob, maxb, maxe, &st, err) < 0) {
                r->deny = st.refused;
                rc = cnr_err_wrap(err, "apply the layer to snapshot `%s`", m->id);
                goto out;
        }
        json_object_set_new(r->args, "diff_id", json_string(st.diff_id));
        json_object_set_new(r->args, "entries", json_integer((json_int_t)st.entries));
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_APPLIED;
        cnr__helper__applied__init(&r->reply.applied);
        {
                static char diff_id[sizeof(st.diff_id)]; /* lives until the reply is sent */
                memcpy(diff_id, st.diff_id, sizeof(diff_id));
                r->reply.applied.diff_id = diff_id;
        }
        r->reply.applied.tar_size = st.tar_size;
        r->reply.applied.entries = st.entries;
        r->reply.applied.bytes_written = st.bytes_written;
        rc = 0;
out:
        for (size_t i = 0; i < nlower; i++)
                if (lowerfds[i] >= 0)
                        close(lowerfds[i]);
        return rc;
}
