/* containr-snapd: the overlay2 driver's snapshot directories,
 * <snapshot-root>/overlay2/<id>/{fs,work}.  Every request names ids the
 * supervisor chose; each is checked against the name policy (name.c) and
 * used as one component under the driver fd, so nothing is resolved
 * outside it.  Trees are walked with *at() calls on directory fds opened
 * O_NOFOLLOW, one level at a time, without recursion (a container can make
 * its upper dir as deep as it likes). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/snapd/snapd.h"

/* The driver dir, opened per request from the root fd (snapd holds one
 * documented fd: the snapshot root). */
int
snapd_open_driver(struct cnr_err **err)
{
        int fd = openat(snapd_rootfd, SNAPD_DRIVER_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        return fd < 0 ? cnr_errf(err, errno, "open the driver dir `%s`", SNAPD_DRIVER_DIR) : fd;
}

int
snapd_dirs_setup(int rootfd, struct cnr_helper_env *env, struct cnr_err **err)
{
        struct stat st;
        int fd;

        if (mkdirat(rootfd, SNAPD_DRIVER_DIR, 0700) < 0 && errno != EEXIST)
                return cnr_errf(err, errno, "mkdir `%s/%s`", env->snapshot_root, SNAPD_DRIVER_DIR);
        fd = openat(rootfd, SNAPD_DRIVER_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return cnr_errf(err, errno, "open `%s/%s`", env->snapshot_root, SNAPD_DRIVER_DIR);
        /* Still root here: make it ours, closed to others. */
        if (fstat(fd, &st) < 0 || (st.st_uid != env->uid && fchown(fd, env->uid, env->gid) < 0) ||
            ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)) {
                int e = errno;
                close(fd);
                return cnr_errf(err, e, "make `%s/%s` snapd's own", env->snapshot_root, SNAPD_DRIVER_DIR);
        }
        close(fd);
        return 0;
}

int
snapd_check_id(struct cnr_helper_req *r, const char *what, const char *id, struct cnr_err **err)
{
        if (snapd_name_valid(id))
                return 0;
        r->deny = true;
        return cnr_errf(err, EPERM, "%s `%s`: not a single path component matching [A-Za-z0-9][A-Za-z0-9_.-]{0,127}",
                        what, id);
}

int
snapd_cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
snapd_list_dir(int fd, bool sorted, size_t *n, struct cnr_err **err)
{
        DIR *d;
        struct dirent *de;
        char **v = NULL;
        size_t cap = 0;
        /* A fresh open of ".": its own offset, and it works on O_PATH fds. */
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        *n = 0;
        if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
                cnr_errf(err, errno, "read a directory");
                if (dfd >= 0)
                        close(dfd);
                return NULL;
        }
        errno = 0;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (*n + 2 > cap) {
                        cap = cap ? cap * 2 : 16;
                        v = xrealloc(v, cap * sizeof(*v));
                }
                v[(*n)++] = xstrdup(de->d_name);
                errno = 0;
        }
        if (errno != 0) {
                cnr_errf(err, errno, "read a directory");
                closedir(d);
                for (size_t i = 0; i < *n; i++)
                        free(v[i]);
                free(v);
                return NULL;
        }
        closedir(d);
        if (v == NULL)
                v = xcalloc(1, sizeof(*v));
        if (sorted)
                qsort(v, *n, sizeof(*v), snapd_cmp_names);
        v[*n] = NULL;
        return v;
}

static void
free_list(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

struct level {
        char *name; /* of this directory in its parent */
        ino_t parent_ino;
};

/* Walk the tree `name` under dirfd depth first, without recursion and
 * holding one directory fd at a time.  remove: unlink everything (the
 * tree is gone on success).  Otherwise count blocks and inodes. */
static int
walk_tree(int dirfd, const char *name, bool remove, uint64_t *size, uint64_t *inodes, struct cnr_err **err)
{
        _cleanup_close_ int cur = -1;
        struct stat top, st;
        struct level *stack = NULL;
        size_t depth = 0, cap = 0;
        size_t *next = NULL; /* per level: entries already handled (count mode) */
        int ret = -1;

        cur = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cur < 0)
                return cnr_errf(err, errno, "open `%s`", name);
        if (fstat(cur, &top) < 0)
                return cnr_errf(err, errno, "stat `%s`", name);
        if (inodes)
                (*inodes)++;
        if (size)
                *size += (uint64_t)top.st_blocks * 512;
        next = xcalloc(1, sizeof(*next));
        for (;;) {
                size_t n = 0, i;
                char **names = snapd_list_dir(cur, false, &n, err);
                int child = -1;

                if (names == NULL)
                        goto out;
                for (i = remove ? 0 : next[depth]; i < n; i++) {
                        if (fstatat(cur, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                                cnr_errf(err, errno, "stat `%s`", names[i]);
                                free_list(names);
                                goto out;
                        }
                        if (S_ISDIR(st.st_mode)) {
                                if (st.st_dev != top.st_dev) {
                                        cnr_errf(err, EXDEV, "`%s` is a mount point inside the snapshot", names[i]);
                                        free_list(names);
                                        goto out;
                                }
                                child = openat(cur, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                                if (child < 0) {
                                        cnr_errf(err, errno, "open `%s`", names[i]);
                                        free_list(names);
                                        goto out;
                                }
                                if (!remove) {
                                        next[depth] = i + 1;
                                        (*inodes)++;
                                        *size += (uint64_t)st.st_blocks * 512;
                                }
                                break;
                        }
                        if (remove) {
                                if (unlinkat(cur, names[i], 0) < 0) {
                                        cnr_errf(err, errno, "unlink `%s`", names[i]);
                                        free_list(names);
                                        goto out;
                                }
                        } else {
                                /* A file with several links is counted at its first name only. */
                                (*inodes)++;
                                if (st.st_nlink <= 1 || S_ISDIR(st.st_mode))
                                        *size += (uint64_t)st.st_blocks * 512;
                                else
                                        *size += (uint64_t)st.st_blocks * 512 / st.st_nlink;
                        }
                }
                if (child >= 0) {
                        struct stat cs;
                        if (fstat(cur, &cs) < 0) {
                                cnr_errf(err, errno, "stat a directory");
                                close(child);
                                free_list(names);
                                goto out;
                        }
                        if (depth + 1 >= cap) {
                                cap = cap ? cap * 2 : 32;
                                stack = xrealloc(stack, cap * sizeof(*stack));
                                next = xrealloc(next, (cap + 1) * sizeof(*next));
                        }
                        stack[depth].name = xstrdup(names[i]);
                        stack[depth].parent_ino = cs.st_ino;
                        depth++;
                        next[depth] = 0;
                        free_list(names);
                        close(cur);
                        cur = child;
                        continue;
                }
                free_list(names);
                if (depth == 0)
                        break;
                {
                        /* Back up one level; the parent must be the one we came from. */
                        struct level *l = &stack[depth - 1];
                        int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        if (up < 0 || fstat(up, &st) < 0 || st.st_ino != l->parent_ino || st.st_dev != top.st_dev) {
                                cnr_errf(err, up < 0 ? errno : ESTALE, "the tree changed under the walk at `%s`",
                                         l->name);
                                if (up >= 0)
                                        close(up);
                                goto out;
                        }
                        close(cur);
                        cur = up;
                        if (remove && unlinkat(cur, l->name, AT_REMOVEDIR) < 0) {
                                cnr_errf(err, errno, "rmdir `%s`", l->name);
                                goto out;
                        }
                        free(l->name);
                        depth--;
                }
        }
        if (remove && unlinkat(dirfd, name, AT_REMOVEDIR) < 0) {
                cnr_errf(err, errno, "rmdir `%s`", name);
                goto out;
        }
        ret = 0;
out:
        for (size_t i = 0; i < depth; i++)
                free(stack[i].name);
        free(stack);
        free(next);
        return ret;
}

int
snapd_remove_tree(int dirfd, const char *name, struct cnr_err **err)
{
        return walk_tree(dirfd, name, true, NULL, NULL, err);
}

static bool
exists(int dirfd, const char *name)
{
        struct stat st;
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int
snapd_create(struct cnr_helper_req *r, struct cnr_err **err)
{
        _cleanup_close_ int driverfd = -1;
        const Cnr__Helper__SnapCreate *m = r->req->snap_create;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int tfd = -1;
        uid_t uid = 0;
        gid_t gid = 0;
        mode_t mode = 0755;
        struct stat st;

        json_object_set_new(r->args, "id", json_string(m->id));
        json_object_set_new(r->args, "parent", json_string(m->parent));
        json_object_set_new(r->args, "work", json_boolean(m->work));
        if (snapd_check_id(r, "snapshot id", m->id, err) < 0)
                return -1;
        driverfd = snapd_open_driver(err);
        if (driverfd < 0)
                return -1;
        if (m->parent[0] != '\0') {
                _cleanup_free_ char *pfs = NULL;
                if (snapd_check_id(r, "parent id", m->parent, err) < 0)
                        return -1;
                /* Two checked components: nothing to resolve outside the driver dir. */
                pfs = xasprintf("%s/fs", m->parent);
                if (fstatat(driverfd, pfs, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return cnr_errf(err, errno, "stat the parent's `%s`", pfs);
                if (!S_ISDIR(st.st_mode))
                        return cnr_errf(err, ENOTDIR, "the parent's `%s` is not a directory", pfs);
                uid = st.st_uid;
                gid = st.st_gid;
                mode = st.st_mode & 07777;
        }
        if (strlen(m->id) + 4 > SNAPD_NAME_MAX)
                return cnr_errf(err, ENAMETOOLONG, "snapshot id `%s`: too long for its temporary name", m->id);
        tmp = xasprintf("tmp-%s", m->id);
        /* A temporary left by a crash is swept first. */
        if (exists(driverfd, tmp) && snapd_remove_tree(driverfd, tmp, err) < 0)
                return cnr_err_wrap(err, "sweep `%s`", tmp);
        if (exists(driverfd, m->id))
                return cnr_errf(err, EEXIST, "snapshot directory `%s`", m->id);
        if (mkdirat(driverfd, tmp, 0700) < 0)
                return cnr_errf(err, errno, "mkdir `%s`", tmp);
        tfd = openat(driverfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tfd < 0)
                return cnr_errf(err, errno, "open `%s`", tmp);
        if (mkdirat(tfd, "fs", 0700) < 0)
                return cnr_errf(err, errno, "mkdir `%s/fs`", tmp);
        if (fchownat(tfd, "fs", uid, gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(tfd, "fs", mode, 0) < 0)
                return cnr_errf(err, errno, "set the owner and mode of `%s/fs`", tmp);
        if (m->work && mkdirat(tfd, "work", 0711) < 0)
                return cnr_errf(err, errno, "mkdir `%s/work`", tmp);
        if (renameat2(driverfd, tmp, driverfd, m->id, RENAME_NOREPLACE) < 0)
                return cnr_errf(err, errno, "rename `%s` to `%s`", tmp, m->id);
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_DONE;
        cnr__helper__done__init(&r->reply.done);
        return 0;
}

int
snapd_remove(struct cnr_helper_req *r, struct cnr_err **err)
{
        _cleanup_close_ int driverfd = -1;
        const Cnr__Helper__SnapRemove *m = r->req->snap_remove;
        _cleanup_free_ char *rm = NULL;

        json_object_set_new(r->args, "id", json_string(m->id));
        if (snapd_check_id(r, "snapshot id", m->id, err) < 0)
                return -1;
        driverfd = snapd_open_driver(err);
        if (driverfd < 0)
                return -1;
        if (strlen(m->id) + 3 > SNAPD_NAME_MAX)
                return cnr_errf(err, ENAMETOOLONG, "snapshot id `%s`: too long for its removal name", m->id);
        rm = xasprintf("rm-%s", m->id);
        /* Out of the id's place first, so a crash mid-way leaves an rm-
         * tree that start-up sweeps, never a half-empty snapshot. */
        if (renameat2(driverfd, m->id, driverfd, rm, RENAME_NOREPLACE) < 0) {
                if (errno != ENOENT)
                        return cnr_errf(err, errno, "rename `%s` to `%s`", m->id, rm);
                if (!exists(driverfd, rm)) {
                        /* A create that crashed before its rename. */
                        _cleanup_free_ char *tmp = xasprintf("tmp-%s", m->id);
                        if (!exists(driverfd, tmp))
                                return cnr_errf(err, ENOENT, "snapshot directory `%s`", m->id);
                        free(rm);
                        rm = steal_ptr(&tmp);
                }
        }
        if (snapd_remove_tree(driverfd, rm, err) < 0)
                return cnr_err_wrap(err, "remove snapshot `%s`", m->id);
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_DONE;
        cnr__helper__done__init(&r->reply.done);
        return 0;
}

int
snapd_usage(struct cnr_helper_req *r, struct cnr_err **err)
{
        _cleanup_close_ int driverfd = -1;
        const Cnr__Helper__SnapUsage *m = r->req->snap_usage;
        _cleanup_close_ int fd = -1;
        uint64_t size = 0, inodes = 0;

        json_object_set_new(r->args, "id", json_string(m->id));
        if (snapd_check_id(r, "snapshot id", m->id, err) < 0)
                return -1;
        driverfd = snapd_open_driver(err);
        if (driverfd < 0)
                return -1;
        fd = openat(driverfd, m->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return cnr_errf(err, errno, "open snapshot directory `%s`", m->id);
        if (walk_tree(fd, "fs", false, &size, &inodes, err) < 0)
                return cnr_err_wrap(err, "usage of snapshot `%s`", m->id);
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_USAGE;
        cnr__helper__usage__init(&r->reply.usage);
        r->reply.usage.size = size;
        r->reply.usage.inodes = inodes;
        return 0;
}

int
snapd_list(struct cnr_helper_req *r, struct cnr_err **err)
{
        _cleanup_close_ int driverfd = -1;
        _cleanup_close_ int mfd = -1;
        char **names;
        size_t n = 0;

        driverfd = snapd_open_driver(err);
        if (driverfd < 0)
                return -1;
        names = snapd_list_dir(driverfd, false, &n, err);
        if (names == NULL)
                return cnr_err_wrap(err, "list `%s`", SNAPD_DRIVER_DIR);
        mfd = memfd_create("snapd-list", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0) {
                free_list(names);
                return cnr_errf(err, errno, "memfd_create");
        }
        for (size_t i = 0; i < n; i++) {
                /* Names are written as they are; the supervisor checks
                 * each against the same policy before using one. */
                if (cnr_write_all(mfd, names[i], strlen(names[i])) < 0 || cnr_write_all(mfd, "\n", 1) < 0) {
                        free_list(names);
                        return cnr_errf(err, errno, "write the listing");
                }
        }
        free_list(names);
        if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
            lseek(mfd, 0, SEEK_SET) < 0)
                return cnr_errf(err, errno, "seal the listing");
        json_object_set_new(r->args, "count", json_integer((json_int_t)n));
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_LISTING;
        cnr__helper__listing__init(&r->reply.listing);
        r->reply.listing.count = (uint32_t)n;
        r->fds[0] = steal_fd(&mfd);
        r->nfds = 1;
        return 0;
}
