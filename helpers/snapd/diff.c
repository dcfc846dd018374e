/* containr-snapd: layer diff (SnapDiff).
 *
 * The fs directory of an overlay snapshot is its upper dir, and the upper
 * dir IS the diff against the parents: what the snapshot added or changed
 * is there, what it deleted is an overlay whiteout (a char 0/0 device) and
 * a directory it replaced carries trusted.overlay.opaque=y.  So the diff
 * is a walk of <id>/fs alone, written as an OCI layer tar:
 *
 *   - a whiteout NAME becomes an empty regular file `.wh.NAME` (times 0,
 *     owner of the device node), an opaque directory gets a
 *     `.wh..wh..opq` entry right after its own;
 *   - directories first, then their entries in byte order: the same tree
 *     always gives the same tar, so the diff_id can be recomputed (verify);
 *   - owner, mode, mtime (with nanoseconds, as PAX), symlink targets,
 *     devices, hardlinks (a later name of a file with several links is a
 *     link to the first), user.* and security.capability xattrs of files
 *     and directories: exactly what apply.c keeps, so that applying the
 *     diff onto the parent and diffing again gives the same bytes;
 *   - no uname/gname, atime or ctime; sockets are skipped;
 *   - refused: overlay redirects and metacopy files (their data or name
 *     lives in a lower layer), names that would read as whiteouts
 *     (`.wh.` prefix), paths longer than the layer path limit.
 *
 * The walk opens each directory with O_NOFOLLOW | O_DIRECTORY relative to
 * its parent's fd and every file with O_NOFOLLOW, compares what it opened
 * with what it stat'ed, and refuses a mount point inside the tree: nothing
 * outside <id>/fs is ever read.  The tar goes through libarchive (PAX) to
 * the fd the supervisor passed, gzip-compressed on request; the diff_id
 * is the sha256 of the uncompressed tar. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
#define OVL_REDIRECT "trusted.overlay.redirect"
#define OVL_METACOPY "trusted.overlay.metacopy"
#define DIFF_MAX_DEPTH 1024
#define XATTR_LIST_MAX_ 65536

struct link {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct diff {
        struct archive *tar; /* entries -> tar bytes (write_cb) */
        struct archive *gz;  /* tar bytes -> gzip -> outfd, or NULL */
        struct cnr_hasher *hash;
        int outfd; /* -1: digest only */
        dev_t dev; /* of the fs root: no crossing */
        unsigned long long tar_size, entries, bytes;
        struct cnr_err *out_err;
        struct link *links;
        size_t nlinks, caplinks;
        unsigned char buf[1 << 16];
};

static int
write_out(struct diff *d, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t w = write(d->outfd, p, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        cnr_errf(&d->out_err, errno, "write the layer");
                        return -1;
                }
                p += w;
                len -= (size_t)w;
                d->bytes += (unsigned long long)w;
        }
        return 0;
}

static la_ssize_t
gz_write(struct archive *ar, void *arg, const void *buf, size_t len)
{
        struct diff *d = arg;

        if (write_out(d, buf, len) < 0) {
                archive_set_error(ar, d->out_err->code, "%s", d->out_err->msg);
                return -1;
        }
        return (la_ssize_t)len;
}

static la_ssize_t
tar_write(struct archive *ar, void *arg, const void *buf, size_t len)
{
        struct diff *d = arg;

        cnr_hasher_update(d->hash, buf, len);
        d->tar_size += len;
        if (d->outfd < 0)
                return (la_ssize_t)len;
        if (d->gz) {
                if (archive_write_data(d->gz, buf, len) < 0) {
                        if (d->out_err == NULL)
                                cnr_errf(&d->out_err, EIO, "compress the layer: %s", archive_error_string(d->gz));
                        archive_set_error(ar, d->out_err->code, "%s", d->out_err->msg);
                        return -1;
                }
                return (la_ssize_t)len;
        }
        if (write_out(d, buf, len) < 0) {
                archive_set_error(ar, d->out_err->code, "%s", d->out_err->msg);
                return -1;
        }
        return (la_ssize_t)len;
}

static int
lib_err(struct diff *d, struct archive *ar, const char *what, struct cnr_err **err)
{
        if (d->out_err)
                return cnr_errf(err, d->out_err->code, "%s", d->out_err->msg);
        return cnr_errf(err, EIO, "%s: %s", what, archive_error_string(ar));
}

static int
open_writers(struct diff *d, bool gzip, struct cnr_err **err)
{
        d->tar = archive_write_new();
        if (d->tar == NULL)
                return cnr_errf(err, ENOMEM, "libarchive");
        if (archive_write_set_format_pax(d->tar) != ARCHIVE_OK)
                return cnr_errf(err, ENOTSUP, "libarchive: %s", archive_error_string(d->tar));
        if (gzip && d->outfd >= 0) {
                struct archive_entry *e;
                int r;

                d->gz = archive_write_new();
                if (d->gz == NULL)
                        return cnr_errf(err, ENOMEM, "libarchive");
                /* Built-in gzip only (never an external program). */
                if (archive_write_add_filter_gzip(d->gz) != ARCHIVE_OK ||
                    archive_write_set_format_raw(d->gz) != ARCHIVE_OK ||
                    archive_write_set_bytes_in_last_block(d->gz, 1) != ARCHIVE_OK)
                        return cnr_errf(err, ENOTSUP, "libarchive gzip: %s", archive_error_string(d->gz));
                if (archive_write_open2(d->gz, d, NULL, gz_write, NULL, NULL) != ARCHIVE_OK)
                        return lib_err(d, d->gz, "start the gzip stream", err);
                e = archive_entry_new();
                archive_entry_set_pathname(e, "layer.tar");
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                r = archive_write_header(d->gz, e);
                archive_entry_free(e);
                if (r != ARCHIVE_OK)
                        return lib_err(d, d->gz, "start the gzip stream", err);
        }
        if (archive_write_open2(d->tar, d, NULL, tar_write, NULL, NULL) != ARCHIVE_OK)
                return lib_err(d, d->tar, "start the tar", err);
        return 0;
}

static void
free_names(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

/* An xattr of fd; 1 with val (NUL-terminated copy) when present, 0 when
 * absent, -1 on error. */
static int
get_xattr(int fd, const char *name, char *val, size_t cap, ssize_t *len)
{
        ssize_t n = fgetxattr(fd, name, val, cap - 1);

        if (n < 0)
                return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
        val[n] = '\0';
        if (len)
                *len = n;
        return 1;
}

static bool
xattr_kept(const char *name)
{
        return strncmp(name, "user.", 5) == 0 || strcmp(name, "security.capability") == 0;
}

/* The xattrs apply.c keeps, in name order; and the overlay ones that
 * matter here. */
static int
add_xattrs(struct diff *d, int fd, struct archive_entry *e, const char *path, bool *opaque, struct cnr_err **err)
{
        static char list[XATTR_LIST_MAX_];
        static unsigned char val[XATTR_LIST_MAX_];
        char *names[512];
        size_t n = 0;
        ssize_t len = flistxattr(fd, list, sizeof(list));
        char flag[8];

        (void)d;
        if (opaque)
                *opaque = false;
        if (len < 0) {
                if (errno == ENOTSUP)
                        return 0;
                return cnr_errf(err, errno, "list the xattrs of `%s`", path);
        }
        for (char *p = list; p < list + len; p += strlen(p) + 1) {
                if (strcmp(p, OVL_REDIRECT) == 0)
                        return cnr_errf(err, ENOTSUP,
                                        "`%s` is an overlay redirect (renamed lower directory): not "
                                        "representable as a layer",
                                        path);
                if (strcmp(p, OVL_METACOPY) == 0)
                        return cnr_errf(err, ENOTSUP, "`%s` is an overlay metacopy (its data is in a lower layer)",
                                        path);
                if (strcmp(p, OVL_OPAQUE) == 0 && opaque) {
                        int r = get_xattr(fd, OVL_OPAQUE, flag, sizeof(flag), NULL);
                        if (r < 0)
                                return cnr_errf(err, errno, "read `%s` of `%s`", OVL_OPAQUE, path);
                        *opaque = r == 1 && strcmp(flag, "y") == 0;
                }
                if (xattr_kept(p) && e != NULL) {
                        if (n == CNR_ARRAY_LEN(names))
                                return cnr_errf(err, E2BIG, "`%s`: too many xattrs", path);
                        names[n++] = p;
                }
        }
        qsort(names, n, sizeof(*names), snapd_cmp_names);
        for (size_t i = 0; i < n; i++) {
                ssize_t vl = fgetxattr(fd, names[i], val, sizeof(val));
                if (vl < 0) {
                        if (errno == ENODATA)
                                continue;
                        return cnr_errf(err, errno, "read xattr `%s` of `%s`", names[i], path);
                }
                archive_entry_xattr_add_entry(e, names[i], val, (size_t)vl);
        }
        return 0;
}

static int
write_entry(struct diff *d, struct archive_entry *e, const char *path, struct cnr_err **err)
{
        int r = archive_write_header(d->tar, e);

        if (r == ARCHIVE_WARN)
                log_debug("diff: `%s`: %s", path, archive_error_string(d->tar));
        else if (r != ARCHIVE_OK)
                return lib_err(d, d->tar, path, err);
        d->entries++;
        return 0;
}

/* An empty marker file: `.wh.NAME` or `.wh..wh..opq`. */
static int
write_marker(struct diff *d, const char *path, uid_t uid, gid_t gid, struct cnr_err **err)
{
        struct archive_entry *e = archive_entry_new();
        int r;

        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0);
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        archive_entry_set_size(e, 0);
        archive_entry_set_mtime(e, 0, 0);
        r = write_entry(d, e, path, err);
        archive_entry_free(e);
        return r;
}

static void
set_common(struct archive_entry *e, const char *path, const struct stat *st)
{
        archive_entry_set_pathname(e, path);
        archive_entry_set_perm(e, st->st_mode & 07777);
        archive_entry_set_uid(e, st->st_uid);
        archive_entry_set_gid(e, st->st_gid);
        archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

static const char *
first_link(struct diff *d, const struct stat *st, const char *path)
{
        for (size_t i = 0; i < d->nlinks; i++)
                if (d->links[i].dev == st->st_dev && d->links[i].ino == st->st_ino)
                        return d->links[i].path;
        if (d->nlinks == d->caplinks) {
                d->caplinks = d->caplinks ? d->caplinks * 2 : 32;
                d->links = xrealloc(d->links, d->caplinks * sizeof(*d->links));
        }
        d->links[d->nlinks].dev = st->st_dev;
        d->links[d->nlinks].ino = st->st_ino;
        d->links[d->nlinks].path = xstrdup(path);
        d->nlinks++;
        return NULL;
}

static int
emit_regular(struct diff *d, int dirfd, const char *name, const char *path, const struct stat *st, struct cnr_err **err)
{
        _cleanup_close_ int fd = -1;
        struct archive_entry *e;
        struct stat fst;
        const char *target = NULL;
        unsigned long long left;
        int r = -1;

        if (st->st_nlink > 1 && (target = first_link(d, st, path)) != NULL) {
                e = archive_entry_new();
                set_common(e, path, st);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_hardlink(e, target);
                archive_entry_set_size(e, 0);
                r = write_entry(d, e, path, err);
                archive_entry_free(e);
                return r;
        }
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return cnr_errf(err, errno, "open `%s`", path);
        if (fstat(fd, &fst) < 0)
                return cnr_errf(err, errno, "stat `%s`", path);
        if (!same_file(st, &fst) || fst.st_size != st->st_size)
                return cnr_errf(err, ESTALE, "`%s` changed during the diff", path);
        e = archive_entry_new();
        set_common(e, path, st);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, st->st_size);
        if (add_xattrs(d, fd, e, path, NULL, err) < 0 || write_entry(d, e, path, err) < 0)
                goto out;
        left = (unsigned long long)st->st_size;
        while (left > 0) {
                ssize_t n = read(fd, d->buf, left < sizeof(d->buf) ? left : sizeof(d->buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        cnr_errf(err, errno, "read `%s`", path);
                        goto out;
                }
                if (n == 0) {
                        cnr_errf(err, ESTALE, "`%s` shrank during the diff", path);
                        goto out;
                }
                if (archive_write_data(d->tar, d->buf, (size_t)n) < 0) {
                        lib_err(d, d->tar, path, err);
                        goto out;
                }
                left -= (unsigned long long)n;
        }
        r = 0;
out:
        archive_entry_free(e);
        return r;
}

static int
emit_special(struct diff *d, int dirfd, const char *name, const char *path, const struct stat *st, struct cnr_err **err)
{
        struct archive_entry *e = archive_entry_new();
        char target[SNAPD_TARPATH_MAX];
        int r = -1;

        set_common(e, path, st);
        if (S_ISLNK(st->st_mode)) {
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target));
                if (n < 0) {
                        cnr_errf(err, errno, "read the link `%s`", path);
                        goto out;
                }
                if ((size_t)n >= sizeof(target)) {
                        cnr_errf(err, ENAMETOOLONG, "the target of `%s` is too long", path);
                        goto out;
                }
                target[n] = '\0';
                archive_entry_set_filetype(e, AE_IFLNK);
                archive_entry_set_symlink(e, target);
        } else {
                archive_entry_set_filetype(e, S_ISCHR(st->st_mode)   ? AE_IFCHR
                                              : S_ISBLK(st->st_mode) ? AE_IFBLK
                                                                     : AE_IFIFO);
                if (!S_ISFIFO(st->st_mode)) {
                        archive_entry_set_rdevmajor(e, major(st->st_rdev));
                        archive_entry_set_rdevminor(e, minor(st->st_rdev));
                }
        }
        r = write_entry(d, e, path, err);
out:
        archive_entry_free(e);
        return r;
}

struct level {
        int fd;
        char **names;
        size_t i;
        size_t pathlen; /* of this directory's prefix, "a/b/" */
};

/* The entries of the directory at the top of the stack, with prefix. */
static int
walk(struct diff *d, int rootfd, struct cnr_err **err)
{
        static char path[SNAPD_TARPATH_MAX + 8];
        struct level *stack = xcalloc(DIFF_MAX_DEPTH + 1, sizeof(*stack));
        size_t depth = 0, n;
        struct stat rst;
        bool opaque = false;
        int ret = -1;

        if (fstat(rootfd, &rst) < 0) {
                cnr_errf(err, errno, "stat the snapshot's fs");
                goto done;
        }
        d->dev = rst.st_dev;
        if (add_xattrs(d, rootfd, NULL, "/", &opaque, err) < 0)
                goto done;
        if (opaque && write_marker(d, SNAPD_WH_OPAQUE, 0, 0, err) < 0)
                goto done;
        stack[0].fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (stack[0].fd < 0) {
                cnr_errf(err, errno, "dup the fs fd");
                goto done;
        }
        stack[0].names = snapd_list_dir(stack[0].fd, true, &n, err);
        if (stack[0].names == NULL)
                goto done;
        path[0] = '\0';
        for (;;) {
                struct level *l = &stack[depth];
                const char *name = l->names[l->i];
                struct stat st;
                size_t nl;

                if (name == NULL) {
                        close(l->fd);
                        free_names(l->names);
                        l->fd = -1;
                        l->names = NULL;
                        if (depth == 0)
                                break;
                        depth--;
                        path[stack[depth].pathlen] = '\0';
                        continue;
                }
                l->i++;
                nl = strlen(name);
                if (l->pathlen + nl + 2 + strlen(SNAPD_WH_OPAQUE) >= SNAPD_TARPATH_MAX) {
                        cnr_errf(err, ENAMETOOLONG, "`%s%s`: the path is too long for a layer", path, name);
                        goto done;
                }
                memcpy(path + l->pathlen, name, nl + 1);
                if (fstatat(l->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        cnr_errf(err, errno, "stat `%s`", path);
                        goto done;
                }
                if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                        /* An overlay whiteout: the snapshot deleted `name`. */
                        memmove(path + l->pathlen + strlen(SNAPD_WH_PREFIX), path + l->pathlen, nl + 1);
                        memcpy(path + l->pathlen, SNAPD_WH_PREFIX, strlen(SNAPD_WH_PREFIX));
                        if (write_marker(d, path, st.st_uid, st.st_gid, err) < 0)
                                goto done;
                        continue;
                }
                if (strncmp(name, SNAPD_WH_PREFIX, strlen(SNAPD_WH_PREFIX)) == 0) {
                        cnr_errf(err, EINVAL, "`%s`: a name starting `.wh.` would read as a whiteout in a layer", path);
                        goto done;
                }
                if (S_ISSOCK(st.st_mode))
                        continue;
                if (S_ISREG(st.st_mode)) {
                        if (emit_regular(d, l->fd, name, path, &st, err) < 0)
                                goto done;
                } else if (S_ISDIR(st.st_mode)) {
                        struct archive_entry *e;
                        struct level *c;
                        struct stat cst;
                        int cfd;

                        if (st.st_dev != d->dev) {
                                cnr_errf(err, EXDEV, "`%s` is a mount point inside the snapshot", path);
                                goto done;
                        }
                        if (depth + 1 >= DIFF_MAX_DEPTH) {
                                cnr_errf(err, ELOOP, "`%s`: deeper than %d directories", path, DIFF_MAX_DEPTH);
                                goto done;
                        }
                        cfd = openat(l->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd < 0) {
                                cnr_errf(err, errno, "open `%s`", path);
                                goto done;
                        }
                        c = &stack[depth + 1];
                        c->fd = cfd;
                        c->i = 0;
                        if (fstat(cfd, &cst) < 0 || !same_file(&st, &cst)) {
                                cnr_errf(err, ESTALE, "`%s` changed during the diff", path);
                                goto done;
                        }
                        path[l->pathlen + nl] = '/';
                        path[l->pathlen + nl + 1] = '\0';
                        c->pathlen = l->pathlen + nl + 1;
                        e = archive_entry_new();
                        set_common(e, path, &st);
                        archive_entry_set_filetype(e, AE_IFDIR);
                        if (add_xattrs(d, cfd, e, path, &opaque, err) < 0 || write_entry(d, e, path, err) < 0) {
                                archive_entry_free(e);
                                goto done;
                        }
                        archive_entry_free(e);
                        if (opaque) {
                                memcpy(path + c->pathlen, SNAPD_WH_OPAQUE, strlen(SNAPD_WH_OPAQUE) + 1);
                                if (write_marker(d, path, 0, 0, err) < 0)
                                        goto done;
                                path[c->pathlen] = '\0';
                        }
                        c->names = snapd_list_dir(cfd, true, &n, err);
                        if (c->names == NULL)
                                goto done;
                        depth++;
                        continue; /* path now holds the child's prefix */
                } else {
                        if (emit_special(d, l->fd, name, path, &st, err) < 0)
                                goto done;
                }
                path[l->pathlen] = '\0';
        }
        ret = 0;
done:
        for (size_t i = 0; i <= DIFF_MAX_DEPTH; i++) {
                if (stack[i].names)
                        free_names(stack[i].names);
                if (stack[i].fd > 0)
                        close(stack[i].fd);
        }
        free(stack);
        return ret;
}

int
snapd_diff_tree(int fsfd, int outfd, bool gzip, struct snapd_diff_stats *st, struct cnr_err **err)
{
        struct diff *d = xcalloc(1, sizeof(*d));
        struct cnr_digest dg;
        int ret = -1;

        d->outfd = outfd;
        d->hash = cnr_hasher_new(CNR_DIGEST_SHA256);
        if (open_writers(d, gzip, err) < 0 || walk(d, fsfd, err) < 0)
                goto out;
        if (archive_write_close(d->tar) != ARCHIVE_OK) {
                lib_err(d, d->tar, "finish the tar", err);
                goto out;
        }
        if (d->gz && archive_write_close(d->gz) != ARCHIVE_OK) {
                lib_err(d, d->gz, "finish the gzip stream", err);
                goto out;
        }
        cnr_hasher_final(d->hash, &dg);
        d->hash = NULL;
        snprintf(st->diff_id, sizeof(st->diff_id), "%s", dg.str);
        st->tar_size = d->tar_size;
        st->entries = d->entries;
        st->bytes = d->bytes;
        ret = 0;
out:
        if (d->hash)
                cnr_hasher_free(d->hash);
        if (d->tar)
                archive_write_free(d->tar);
        if (d->gz)
                archive_write_free(d->gz);
        for (size_t i = 0; i < d->nlinks; i++)
                free(d->links[i].path);
        free(d->links);
        cnr_err_free(&d->out_err);
        free(d);
        return ret;
}

static int
diff_common(struct cnr_helper_req *r, const Cnr__Helper__SnapDiff *m, int outfd, struct cnr_err **err)
{
        _cleanup_close_ int driverfd = -1, fsfd = -1;
        _cleanup_free_ char *fs = NULL;
        struct snapd_diff_stats st = {0};
        struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV};
        static char diff_id[CNR_DIGEST_MAX]; /* lives until the reply is sent */

        json_object_set_new(r->args, "id", json_string(m->id));
        json_object_set_new(r->args, "gzip", json_boolean(m->gzip));
        if (snapd_check_id(r, "snapshot id", m->id, err) < 0)
                return -1;
        driverfd = snapd_open_driver(err);
        if (driverfd < 0)
                return -1;
        fs = xasprintf("%s/fs", m->id);
        fsfd = (int)syscall(SYS_openat2, driverfd, fs, &how, sizeof(how));
        if (fsfd < 0)
                return cnr_errf(err, errno, "open snapshot `%s`", fs);
        if (snapd_diff_tree(fsfd, outfd, m->gzip, &st, err) < 0)
                return cnr_err_wrap(err, "diff snapshot `%s`", m->id);
        json_object_set_new(r->args, "diff_id", json_string(st.diff_id));
        json_object_set_new(r->args, "entries", json_integer((json_int_t)st.entries));
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_DIFFED;
        cnr__helper__diffed__init(&r->reply.diffed);
        memcpy(diff_id, st.diff_id, sizeof(diff_id));
        r->reply.diffed.diff_id = diff_id;
        r->reply.diffed.tar_size = st.tar_size;
        r->reply.diffed.entries = st.entries;
        r->reply.diffed.bytes = st.bytes;
        return 0;
}

int
snapd_diff(struct cnr_helper_req *r, struct cnr_err **err)
{
        _cleanup_close_ int out = cnr_frame_take_fd(r->frame, 0);
        struct stat ost;
        int fl = out >= 0 ? fcntl(out, F_GETFL) : -1;

        /* Only a regular file (or memfd) open for writing: snapd never
         * waits on a slow reader, and never writes where it was not told. */
        if (out < 0 || fl < 0 || fstat(out, &ost) < 0 || (fl & O_ACCMODE) == O_RDONLY || !S_ISREG(ost.st_mode)) {
                r->deny = true;
                json_object_set_new(r->args, "id", json_string(r->req->snap_diff->id));
                return cnr_errf(err, EBADF, "the diff fd is not a regular file open for writing");
        }
        return diff_common(r, r->req->snap_diff, out, err);
}

int
snapd_diff_id(struct cnr_helper_req *r, struct cnr_err **err)
{
        return diff_common(r, r->req->snap_diff_id, -1, err);
}
