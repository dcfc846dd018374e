/* Every mount of a container, run by the container's init in its new
 * (private) mount namespace before pivot_root.
 *
 * One rule: a mount target is an O_PATH fd opened under the rootfs fd with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and the mount is
 * attached to that fd with move_mount(T_EMPTY_PATH) -- never to a path
 * string, so a symlink swapped in between check and use cannot send it
 * outside the rootfs (THREATS 5).  The kernel-made mounts (/proc, /dev,
 * /sys and the masks over them) also refuse any symlink on the way
 * (RESOLVE_NO_SYMLINKS): a rootfs whose /proc, /sys or /dev is a symlink
 * is refused (THREATS 1, 2, 4).  Filesystems are made with
 * fsopen/fsconfig/fsmount, so their flags are set before they are
 * visible.  docs/runtime.md gives the argument for each mount.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/util.h"
#include "helpers/shim/shim.h"

#define ORDINARY "must be mounted on ordinary directory"

static int
openat2_in_root(int rootfd, const char *path, int oflags, uint64_t extra)
{
        struct open_how how = {
                .flags = (uint64_t)(oflags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra,
        };

        while (*path == '/')
                path++;
        return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
}

int
shim_resolve_strict(int rootfd, const char *path, struct cnr_err **err)
{
        int fd = openat2_in_root(rootfd, path, O_PATH, RESOLVE_NO_SYMLINKS);

        if (fd < 0)
                return cnr_errf(err, errno, "resolve `%s` in the rootfs", path);
        return fd;
}

/* The parent directory of `path` (created as needed) and the last
 * component.  Each component is opened under the root; a missing one is
 * made with mkdirat on its parent's fd, so no path string ever leaves the
 * root. */
static int
parent_in_root(int rootfd, const char *path, uint64_t extra, char **last, struct cnr_err **err)
{
        _cleanup_free_ char *copy = xstrdup(path);
        char *slash = strrchr(copy, '/');
        _cleanup_close_ int fd = -1;
        char *p;

        *last = xstrdup(slash + 1);
        *slash = '\0';
        fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return cnr_errf(err, errno, "dup");
        for (p = copy + 1; *copy && p && *p;) {
                char *e = strchr(p, '/');
                int next;

                if (e)
                        *e = '\0';
                /* Resolve the prefix so far from the root (symlinks, when
                 * allowed, stay scoped to the root). */
                next = openat2_in_root(rootfd, copy, O_PATH | O_DIRECTORY, extra);
                if (next < 0 && errno == ENOENT) {
                        if (mkdirat(fd, p, 0755) < 0 && errno != EEXIST)
                                return cnr_errf(err, errno, "mkdir `%s` in the rootfs", copy);
                        next = openat2_in_root(rootfd, copy, O_PATH | O_DIRECTORY, extra);
                }
                if (next < 0)
                        return cnr_errf(err, errno, "resolve `%s` in the rootfs", copy);
                close(fd);
                fd = next;
                if (!e)
                        break;
                *e = '/';
                p = e + 1;
        }
        return steal_fd(&fd);
}

/* An O_PATH fd of `path` under the root, created (as a directory or an
 * empty file) if missing.  Type mismatches are refused. */
static int
target_in_root(int rootfd, const char *path, bool dir, uint64_t extra, struct cnr_err **err)
{
        _cleanup_free_ char *last = NULL;
        _cleanup_close_ int parent = -1;
        struct stat st;
        int fd;

        fd = openat2_in_root(rootfd, path, O_PATH, extra);
        if (fd < 0 && errno == ENOENT) {
                parent = parent_in_root(rootfd, path, extra, &last, err);
                if (parent < 0)
                        return -1;
                if (dir) {
                        if (mkdirat(parent, last, 0755) < 0 && errno != EEXIST)
                                return cnr_errf(err, errno, "mkdir `%s` in the rootfs", path);
                } else {
                        int f = openat(parent, last, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                        if (f < 0 && errno != EEXIST)
                                return cnr_errf(err, errno, "create `%s` in the rootfs", path);
                        if (f >= 0)
                                close(f);
                }
                fd = openat2_in_root(rootfd, path, O_PATH, extra);
        }
        if (fd < 0) {
                if (errno == ELOOP && (extra & RESOLVE_NO_SYMLINKS))
                        return cnr_errf(err, ELOOP, "`%s` is a symlink in the rootfs: " ORDINARY, path);
                return cnr_errf(err, errno, "resolve `%s` in the rootfs", path);
        }
        if (fstat(fd, &st) < 0) {
                close(fd);
                return cnr_errf(err, errno, "stat `%s`", path);
        }
        if (dir != !!S_ISDIR(st.st_mode)) {
                close(fd);
                return cnr_errf(err, dir ? ENOTDIR : EISDIR, "`%s` in the rootfs: %s", path,
                                dir ? ORDINARY : "a directory where a file mount goes");
        }
        return fd;
}

static int
attach(int mnt, int target, const char *what, struct cnr_err **err)
{
        if (move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return cnr_errf(err, errno, "attach the mount at `%s`", what);
        return 0;
}

/* A new filesystem as a detached mount; opts: NULL-terminated key/value pairs
 * (a NULL value sets a flag). */
static int
new_fs(const char *type, const char *const *opts, unsigned attrs, struct cnr_err **err)
{
        _cleanup_close_ int fs = fsopen(type, FSOPEN_CLOEXEC);
        int m;

        if (fs < 0)
                return cnr_errf(err, errno, "fsopen `%s`", type);
        for (size_t i = 0; opts && opts[i]; i += 2) {
                int r = opts[i + 1] ? fsconfig(fs, FSCONFIG_SET_STRING, opts[i], opts[i + 1], 0)
                                    : fsconfig(fs, FSCONFIG_SET_FLAG, opts[i], NULL, 0);
                if (r < 0)
                        return cnr_errf(err, errno, "%s: option `%s`", type, opts[i]);
        }
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return cnr_errf(err, errno, "create a `%s` filesystem", type);
        m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
        if (m < 0)
                return cnr_errf(err, errno, "fsmount `%s`", type);
        return m;
}

static int
mount_new_fs(int rootfd, const char *dest, const char *type, const char *const *opts, unsigned attrs,
             struct cnr_err **err)
{
        _cleanup_close_ int t = target_in_root(rootfd, dest, true, RESOLVE_NO_SYMLINKS, err);
        _cleanup_close_ int m = -1;

        if (t < 0)
                return -1;
        m = new_fs(type, opts, attrs, err);
        if (m < 0)
                return cnr_err_wrap(err, "mount %s on `%s`", type, dest);
        return attach(m, t, dest, err);
}

/* ---- /proc and sysctls -------------------------------------------------- */

/* Write each sysctl of the spec through `procfd`, the root of the procfs
 * we just made (THREATS 10, CVE-2025-52881): the fd is checked to be a
 * procfs, the file is opened beneath it with no symlink of any kind on the
 * way, and checked again to be on a procfs.  Nothing in the image is
 * involved (the mount is not attached yet), so no racing container can
 * swap a component; only namespaced keys pass spec.c, so the write lands
 * in this container's namespaces. */
static int
write_sysctl(int procfd, const char *key, const char *val, struct cnr_err **err)
{
        _cleanup_free_ char *path = xasprintf("sys/%s", key);
        struct open_how how = {.flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                                          RESOLVE_NO_XDEV};
        _cleanup_close_ int fd = -1;
        struct statfs sf;

        if (!shim_sysctl_ok(key))
                return cnr_errf(err, EPERM, "sysctl `%s`: not a namespaced sysctl", key);
        for (char *c = path + 4; *c; c++)
                if (*c == '.')
                        *c = '/';
        fd = (int)syscall(SYS_openat2, procfd, path, &how, sizeof(how));
        if (fd < 0)
                return cnr_errf(err, errno, "sysctl `%s`: open /proc/%s", key, path);
        if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
                return cnr_errf(err, EXDEV, "sysctl `%s`: /proc/%s is not on the procfs", key, path);
        if (cnr_write_all(fd, val, strlen(val)) < 0)
                return cnr_errf(err, errno, "sysctl `%s`: write `%s`", key, val);
        return 0;
}

/* A user namespace in netd's network namespace: the container's root does
 * not own that namespace and may not write its sysctls. */
static bool
net_by_shim(const Cnr__Shim__ContainerSpec *s)
{
        return s->namespaces && s->namespaces->user && s->namespaces->net == CNR__SHIM__NAMESPACES__NET__NET_FD;
}

/* Write each sysctl of the spec through `procfd`, the root of the procfs
 * we just made (THREATS 10, CVE-2025-52881): the fd is checked to be a
 * procfs, the file is opened beneath it with no symlink of any kind on the
 * way, and checked again to be on a procfs.  Nothing in the image is
 * involved (the mount is not attached yet), so no racing container can
 * swap a component; only namespaced keys pass spec.c, so the write lands
 * in this container's namespaces.  The net.* keys of net_by_shim()
 * containers were written by the shim (shim_sysctls_net). */
static int
write_sysctls(const Cnr__Shim__ContainerSpec *s, int procfd, struct cnr_err **err)
{
        struct statfs sf;

        if (s->n_sysctls == 0)
                return 0;
        if (fstatfs(procfd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
                return cnr_errf(err, EXDEV, "sysctls: the new /proc is not a procfs");
        for (size_t i = 0; i < s->n_sysctls; i++) {
                if (net_by_shim(s) && strncmp(s->sysctls[i]->key, "net.", 4) == 0)
                        continue;
                if (write_sysctl(procfd, s->sysctls[i]->key, s->sysctls[i]->value, err) < 0)
                        return -1;
        }
        return 0;
}

/* The shim, host root, joined to netd's namespace before clone3: the
 * spec's net.* sysctls, and (as Docker does for every container not on
 * the host's network) ip_unprivileged_port_start 0 and ping_group_range
 * "0 2147483647" unless the spec sets them, since the container's root
 * has no CAP_NET_BIND_SERVICE or CAP_NET_RAW there.  /proc/sys/net shows
 * the namespace of the task that opens it: ours now.  Through the host's
 * procfs, which no container can touch, by the same openat2 rules. */
int
shim_sysctls_net(const Cnr__Shim__ContainerSpec *s, struct cnr_err **err)
{
        static const char *const defaults[][2] = {
                {"net.ipv4.ip_unprivileged_port_start", "0"},
                {"net.ipv4.ping_group_range", "0 2147483647"},
        };
        _cleanup_close_ int procfd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct statfs sf;

        if (procfd < 0 || fstatfs(procfd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
                return cnr_errf(err, EXDEV, "sysctls: the shim's /proc is not a procfs");
        for (size_t k = 0; k < CNR_ARRAY_LEN(defaults); k++) {
                bool given = false;
                for (size_t i = 0; i < s->n_sysctls; i++)
                        given |= strcmp(s->sysctls[i]->key, defaults[k][0]) == 0;
                if (!given && write_sysctl(procfd, defaults[k][0], defaults[k][1], err) < 0)
                        return -1;
        }
        for (size_t i = 0; i < s->n_sysctls; i++)
                if (strncmp(s->sysctls[i]->key, "net.", 4) == 0 &&
                    write_sysctl(procfd, s->sysctls[i]->key, s->sysctls[i]->value, err) < 0)
                        return -1;
        return 0;
}

static int
mount_proc(const Cnr__Shim__ContainerSpec *s, int rootfd, struct cnr_err **err)
{
        _cleanup_close_ int t = target_in_root(rootfd, "/proc", true, RESOLVE_NO_SYMLINKS, err);
        _cleanup_close_ int m = -1;

        if (t < 0)
                return -1;
        m = new_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
        if (m < 0)
                return cnr_err_wrap(err, "mount proc on `/proc`");
        if (write_sysctls(s, m, err) < 0)
                return -1;
        return attach(m, t, "/proc", err);
}

/* ---- /dev -------------------------------------------------------------- */

static const struct {
        const char *name;
        unsigned maj, min;
} devnodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

/* Each standard node is a bind of the host's node, taken from the host's
 * /dev in this (not yet pivoted) mount namespace -- never from the
 * rootfs -- and checked to be the device it must be (THREATS 3).  Binds
 * work in a user namespace too, where mknod does not. */
static int
dev_nodes(int devfd, struct cnr_err **err)
{
        for (size_t i = 0; i < CNR_ARRAY_LEN(devnodes); i++) {
                _cleanup_free_ char *host = xasprintf("/dev/%s", devnodes[i].name);
                _cleanup_close_ int tree = open_tree(AT_FDCWD, host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                _cleanup_close_ int t = -1;
                struct stat st;
                int f;

                if (tree < 0)
                        return cnr_errf(err, errno, "clone the host's `%s`", host);
                if (fstat(tree, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != devnodes[i].maj ||
                    minor(st.st_rdev) != devnodes[i].min)
                        return cnr_errf(err, EINVAL, "the host's `%s` is not the device %u:%u", host,
                                        devnodes[i].maj, devnodes[i].min);
                f = openat(devfd, devnodes[i].name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
                if (f < 0)
                        return cnr_errf(err, errno, "create /dev/%s", devnodes[i].name);
                close(f);
                t = openat(devfd, devnodes[i].name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (t < 0)
                        return cnr_errf(err, errno, "open /dev/%s", devnodes[i].name);
                if (attach(tree, t, devnodes[i].name, err) < 0)
                        return -1;
        }
        return 0;
}

static int
mount_dev(int rootfd, bool userns, struct cnr_err **err)
{
        static const char *const devopts[] = {"mode", "755", "size", "65536k", NULL};
        static const char *const shmopts[] = {"mode", "1777", "size", "65536k", NULL};
        static const char *const ptsopts[] = {"newinstance", NULL, "ptmxmode", "0666", "mode", "0620", "gid", "5",
                                              NULL};
        static const char *const ptsopts_userns[] = {"newinstance", NULL, "ptmxmode", "0666", "mode", "0620", NULL};
        static const struct {
                const char *name, *target;
        } links[] = {
                {"fd", "/proc/self/fd"},          {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
                {"stderr", "/proc/self/fd/2"},    {"ptmx", "pts/ptmx"},         {"core", "/proc/kcore"},
        };
        _cleanup_close_ int devfd = -1;
        _cleanup_close_ int nullfd = -1;
        struct stat st;

        /* THREATS 3: an image whose /dev/null is a symlink or a regular
         * file is refused, not papered over. */
        devfd = openat2_in_root(rootfd, "/dev", O_PATH, RESOLVE_NO_SYMLINKS);
        if (devfd < 0 && errno == ELOOP)
                return cnr_errf(err, ELOOP, "`/dev` is a symlink in the rootfs: " ORDINARY);
        if (devfd >= 0) {
                nullfd = openat(devfd, "null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (nullfd >= 0 && (fstat(nullfd, &st) < 0 || !S_ISCHR(st.st_mode)))
                        return cnr_errf(err, EINVAL, "`/dev/null` in the rootfs is not a device (a symlink or a "
                                        "file): refusing the rootfs");
                close(devfd);
                devfd = -1;
        }
        if (mount_new_fs(rootfd, "/dev", "tmpfs", devopts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME, err) < 0)
                return -1;
        /* The fresh tmpfs: only we have written to it. */
        devfd = openat2_in_root(rootfd, "/dev", O_DIRECTORY | O_RDONLY, RESOLVE_NO_SYMLINKS);
        if (devfd < 0)
                return cnr_errf(err, errno, "open the new /dev");
        if (dev_nodes(devfd, err) < 0)
                return -1;
        for (size_t i = 0; i < CNR_ARRAY_LEN(links); i++)
                if (symlinkat(links[i].target, devfd, links[i].name) < 0)
                        return cnr_errf(err, errno, "symlink /dev/%s", links[i].name);
        if (mount_new_fs(rootfd, "/dev/pts", "devpts", userns ? ptsopts_userns : ptsopts,
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err) < 0)
                return -1;
        if (mount_new_fs(rootfd, "/dev/shm", "tmpfs", shmopts,
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err) < 0)
                return -1;
        if (mount_new_fs(rootfd, "/dev/mqueue", "mqueue", NULL,
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err) < 0)
                return -1;
        return 0;
}

/* ---- /sys -------------------------------------------------------------- */

static int
mount_sys(int rootfd, int sysfd, struct cnr_err **err)
{
        const unsigned ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        _cleanup_close_ int t = target_in_root(rootfd, "/sys", true, RESOLVE_NO_SYMLINKS, err);
        _cleanup_close_ int m = -1;

        if (t < 0)
                return -1;
        /* A user namespace in netd's network namespace: the shim made the
         * sysfs there, read-only (shim_mounts_sysfs). */
        if (sysfd >= 0)
                return attach(sysfd, t, "/sys", err);
        /* Otherwise the container owns its network namespace (a new one
         * in its user namespace, or no user namespace at all). */
        m = new_fs("sysfs", NULL, ro, err);
        if (m < 0)
                return cnr_err_wrap(err, "mount sysfs on /sys");
        return attach(m, t, "/sys", err);
}

/* ---- spec mounts, /etc files, masks ------------------------------------ */

/* ---- copy-up of a fresh volume ----------------------------------------- */

#define COPY_MAX_DEPTH 64

static bool
dir_empty(int dfd)
{
        _cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        struct dirent *e;
        bool empty = true;

        if (fd < 0 || (d = fdopendir(fd)) == NULL)
                return false;
        fd = -1; /* owned by d */
        while ((e = readdir(d)) != NULL)
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && strcmp(e->d_name, "lost+found") != 0) {
                        empty = false;
                        break;
                }
        closedir(d);
        return empty;
}

static int
copy_data(int from, int to)
{
        char buf[65536];
        ssize_t n;

        while ((n = read(from, buf, sizeof(buf))) > 0)
                if (cnr_write_all(to, buf, (size_t)n) < 0)
                        return -1;
        return n < 0 ? -1 : 0;
}

/* Copy the directory `from` into `to` (both directory fds).  Every entry
 * is opened relative to its parent's fd with O_NOFOLLOW: a symlink is
 * copied as a link and never followed, so the image cannot make the shim
 * read or write anything outside the two trees.  Owner and mode kept. */
static int
copy_tree(int from, int to, int depth, const char *dest, struct cnr_err **err)
{
        _cleanup_close_ int dfd = fcntl(from, F_DUPFD_CLOEXEC, 3);
        DIR *d;
        struct dirent *e;
        int r = 0;

        if (depth > COPY_MAX_DEPTH)
                return cnr_errf(err, ELOOP, "volume `%s`: copy-up deeper than %d levels", dest, COPY_MAX_DEPTH);
        if (dfd < 0 || (d = fdopendir(dfd)) == NULL)
                return cnr_errf(err, errno, "volume `%s`: read the image's directory", dest);
        dfd = -1;
        while (r == 0 && (e = readdir(d)) != NULL) {
                struct stat st;

                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = cnr_errf(err, errno, "volume `%s`: stat `%s`", dest, e->d_name);
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = openat(dirfd(d), e->d_name,
                                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int tsub = -1;
                        if (sub < 0 || (mkdirat(to, e->d_name, 0700) < 0 && errno != EEXIST) ||
                            (tsub = openat(to, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                                r = cnr_errf(err, errno, "volume `%s`: copy directory `%s`", dest, e->d_name);
                                break;
                        }
                        r = copy_tree(sub, tsub, depth + 1, dest, err);
                        if (r == 0 && (fchown(tsub, st.st_uid, st.st_gid) < 0 || fchmod(tsub, st.st_mode & 07777) < 0))
                                r = cnr_errf(err, errno, "volume `%s`: owner of `%s`", dest, e->d_name);
                } else if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int src = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int dst = -1;
                        if (src < 0 ||
                            (dst = openat(to, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
                            copy_data(src, dst) < 0 || fchown(dst, st.st_uid, st.st_gid) < 0 ||
                            fchmod(dst, st.st_mode & 07777) < 0)
                                r = cnr_errf(err, errno, "volume `%s`: copy file `%s`", dest, e->d_name);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
                        if (n < 0 || (target[n] = '\0', symlinkat(target, to, e->d_name) < 0) ||
                            fchownat(to, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                                r = cnr_errf(err, errno, "volume `%s`: copy link `%s`", dest, e->d_name);
                }
                /* devices, fifos, sockets: not copied (as with mknod in a
                 * user namespace, a volume carries data only) */
        }
        closedir(d);
        return r;
}

/* Fill the empty volume `mfd` with the rootfs's content at `dest`, if
 * that is a directory.  Resolved under the root (RESOLVE_IN_ROOT): an
 * image VOLUME like `../../etc` or a symlinked component reads the
 * rootfs's own /etc, never the host's (THREATS 28). */
static int
copy_up(int rootfd, const char *dest, int mfd, struct cnr_err **err)
{
        _cleanup_close_ int src = openat2_in_root(rootfd, dest, O_RDONLY | O_DIRECTORY, 0);
        _cleanup_close_ int to = -1;
        struct stat st;

        if (src < 0)
                return 0; /* nothing there (or not a directory): nothing to copy */
        to = openat(mfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (to < 0)
                return cnr_errf(err, errno, "volume `%s`: open its root", dest);
        if (!dir_empty(to))
                return 0; /* used before: its data wins */
        if (copy_tree(src, to, 0, dest, err) < 0)
                return -1;
        if (fstat(src, &st) == 0 && (fchown(to, st.st_uid, st.st_gid) < 0 || fchmod(to, st.st_mode & 07777) < 0))
                return cnr_errf(err, errno, "volume `%s`: owner of its root", dest);
        return 0;
}

static int
spec_mount(int rootfd, const Cnr__Shim__Mount *sm, int mfd, struct cnr_err **err)
{
        const char *dest = sm->destination;
        _cleanup_close_ int t = -1;
        struct stat st;

        if (fstat(mfd, &st) < 0)
                return cnr_errf(err, errno, "mount `%s`: stat its fd", dest);
        if (sm->copy_up && S_ISDIR(st.st_mode) && copy_up(rootfd, dest, mfd, err) < 0)
                return -1;
        /* Symlinks inside the image are followed but stay inside the root
         * (RESOLVE_IN_ROOT); a swapped component cannot lead out. */
        t = target_in_root(rootfd, dest, S_ISDIR(st.st_mode), 0, err);
        if (t < 0)
                return cnr_err_wrap(err, "mount `%s`", dest);
        return attach(mfd, t, dest, err);
}

static int
etc_files(const Cnr__Shim__ContainerSpec *s, int rootfd, int privfd, struct cnr_err **err)
{
        static const char *const opts[] = {"mode", "755", "size", "1m", NULL};
        _cleanup_close_ int m = -1, dir = -1;
        _cleanup_free_ char *hostname = xasprintf("%s\n", s->hostname);
        const struct {
                const char *name;
                const char *content;
        } files[] = {
                {"hosts", s->etc_hosts},
                {"resolv.conf", s->etc_resolv_conf},
                {"hostname", s->etc_hostname ? hostname : ""},
        };

        if (!s->etc_hosts[0] && !s->etc_resolv_conf[0] && !s->etc_hostname)
                return 0;
        /* A small tmpfs holds the files; each is bound over its place in
         * the rootfs.  It is staged in the shim's own directory (this
         * namespace only) and goes away with the old root. */
        m = new_fs("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
        if (m < 0)
                return -1;
        if (move_mount(m, "", privfd, "etc", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return cnr_errf(err, errno, "stage the /etc files");
        dir = openat(privfd, "etc", O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (dir < 0)
                return cnr_errf(err, errno, "open the /etc staging dir");
        for (size_t i = 0; i < CNR_ARRAY_LEN(files); i++) {
                _cleanup_free_ char *dest = xasprintf("/etc/%s", files[i].name);
                _cleanup_close_ int f = -1, tree = -1, t = -1;

                if (!files[i].content[0])
                        continue;
                f = openat(dir, files[i].name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (f < 0 || cnr_write_all(f, files[i].content, strlen(files[i].content)) < 0)
                        return cnr_errf(err, errno, "write %s", dest);
                tree = open_tree(dir, files[i].name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (tree < 0)
                        return cnr_errf(err, errno, "clone %s", dest);
                t = target_in_root(rootfd, dest, false, 0, err);
                if (t < 0 || attach(tree, t, dest, err) < 0)
                        return -1;
        }
        return 0;
}

static int
mask(int rootfd, const char *path, struct cnr_err **err)
{
        static const char *const opts[] = {"size", "0", "mode", "755", NULL};
        _cleanup_close_ int t = openat2_in_root(rootfd, path, O_PATH, RESOLVE_NO_SYMLINKS);
        _cleanup_close_ int m = -1;
        struct stat st;

        if (t < 0 && errno == ENOENT)
                return 0;
        if (t < 0)
                return cnr_errf(err, errno, "masked path `%s`", path);
        if (fstat(t, &st) < 0)
                return cnr_errf(err, errno, "masked path `%s`", path);
        if (S_ISDIR(st.st_mode)) {
                m = new_fs("tmpfs", opts, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                  MOUNT_ATTR_NOEXEC, err);
        } else {
                /* The container's /dev/null: our own bind of the host node,
                 * in the tmpfs we made; nobody else has written there. */
                _cleanup_close_ int dev = openat2_in_root(rootfd, "/dev/null", O_PATH, RESOLVE_NO_SYMLINKS);
                if (dev < 0 || fstat(dev, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
                        return cnr_errf(err, EINVAL, "masked path `%s`: /dev/null is not the null device", path);
                m = open_tree(dev, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (m < 0)
                        return cnr_errf(err, errno, "masked path `%s`: clone /dev/null", path);
        }
        if (m < 0)
                return cnr_err_wrap(err, "masked path `%s`", path);
        return attach(m, t, path, err);
}

static int
readonly(int rootfd, const char *path, struct cnr_err **err)
{
        struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                           MOUNT_ATTR_NOEXEC};
        _cleanup_close_ int t = openat2_in_root(rootfd, path, O_PATH, RESOLVE_NO_SYMLINKS);
        _cleanup_close_ int m = -1;

        if (t < 0 && errno == ENOENT)
                return 0;
        if (t < 0)
                return cnr_errf(err, errno, "read-only path `%s`", path);
        m = open_tree(t, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (m < 0)
                return cnr_errf(err, errno, "read-only path `%s`: clone", path);
        if (mount_setattr(m, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
                return cnr_errf(err, errno, "read-only path `%s`: set read-only", path);
        return attach(m, t, path, err);
}

/* The host id `id` is shown as through `m`: the host id of container id
 * `id`, or `id` itself when it is already a mapped host id or outside
 * every range. */
static uint32_t
to_host(Cnr__Shim__IdMap **m, size_t n, uint32_t id)
{
        for (size_t i = 0; i < n; i++)
                if (id >= m[i]->host_id && (uint64_t)id < (uint64_t)m[i]->host_id + m[i]->size)
                        return id;
        for (size_t i = 0; i < n; i++)
                if (id >= m[i]->container_id && (uint64_t)id < (uint64_t)m[i]->container_id + m[i]->size)
                        return m[i]->host_id + (id - m[i]->container_id);
        return id;
}

/* Is the directory `fd` below the snapshot root (or the root itself)?
 * The fd is the supervisor's (a bind clone from mountd, normally), and a
 * clone's `..` stops at its own root: so the same inode is found again
 * through the snapshot root's filesystem by file handle, which needs no
 * path, and `..` is walked from there on the host's mount until it meets
 * the root (below) or the top (elsewhere).  The inode found must be the
 * fd's (dev and ino): a handle of another filesystem fails or finds
 * another inode. */
static int
below_root(int fd, int rootfd, struct cnr_err **err)
{
        union {
                struct file_handle h;
                char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
        } fh;
        struct stat want, root, cur, up;
        int mnt, c, r = 0;

        fh.h.handle_bytes = MAX_HANDLE_SZ;
        if (fstat(fd, &want) < 0 || fstat(rootfd, &root) < 0)
                return cnr_errf(err, errno, "stat");
        if (name_to_handle_at(fd, "", &fh.h, &mnt, AT_EMPTY_PATH) < 0)
                return cnr_errf(err, errno, "its file handle");
        c = open_by_handle_at(rootfd, &fh.h, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (c < 0)
                return cnr_errf(err, EPERM, "not on the snapshot root's filesystem (%s)", strerror(errno));
        if (fstat(c, &cur) < 0 || cur.st_dev != want.st_dev || cur.st_ino != want.st_ino) {
                close(c);
                return cnr_errf(err, EPERM, "not on the snapshot root's filesystem");
        }
        for (int depth = 0; depth < 4096; depth++) {
                int p;

                if (cur.st_dev == root.st_dev && cur.st_ino == root.st_ino) {
                        r = 1;
                        break;
                }
                p = openat(c, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (p < 0 || fstat(p, &up) < 0) {
                        if (p >= 0)
                                close(p);
                        break;
                }
                close(c);
                c = p;
                if (up.st_dev == cur.st_dev && up.st_ino == cur.st_ino)
                        break; /* the top */
                cur = up;
        }
        close(c);
        return r ? 0 : cnr_errf(err, EPERM, "not below the snapshot root");
}

/* Give the directory `fd` to the host ids its owner maps to, unless they
 * already are mapped host ids.  We are host root and the fd is the
 * supervisor's: it must be an overlay (a chown through it is done on the
 * upper dir with its mounter's credentials, mountd's or else those of
 * whoever mounted it) or a directory below the snapshot root, never any
 * directory of the host's. */
static int
owner_to_host(const Cnr__Shim__Namespaces *ns, int fd, int snaprootfd, const char *what, struct cnr_err **err)
{
        struct statfs sfs;
        struct stat st;
        uint32_t uid, gid;

        if (fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "stat %s", what);
        if (!S_ISDIR(st.st_mode))
                return 0;
        uid = to_host(ns->uid_map, ns->n_uid_map, st.st_uid);
        gid = to_host(ns->gid_map, ns->n_gid_map, st.st_gid);
        if (uid == st.st_uid && gid == st.st_gid)
                return 0;
        if (fstatfs(fd, &sfs) < 0)
                return cnr_errf(err, errno, "statfs %s", what);
        if ((unsigned long)sfs.f_type != OVERLAYFS_SUPER_MAGIC) {
                if (snaprootfd < 0)
                        return cnr_errf(err, EPERM,
                                        "%s is not an overlay and no snapshot root was given: its owner is not changed",
                                        what);
                if (below_root(fd, snaprootfd, err) < 0)
                        return cnr_err_wrap(err, "%s: its owner is not changed", what);
        }
        if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
                return cnr_errf(err, errno, "give %s to the container's ids %u:%u", what, (unsigned)uid,
                                (unsigned)gid);
        return 0;
}

int
shim_mounts_userns_root(const Cnr__Shim__ContainerSpec *s, const int *fds, int snaprootfd, struct cnr_err **err)
{
        /* mountd idmapped the image's layers: what the image's root owns,
         * the container's root owns.  The overlay's root directory is the
         * upper dir's, which snapd made with the image's own ids (0:0,
         * most often) before any map existed: give it the host ids they
         * map to, once, through the overlay (as host root, by fd).
         * Volumes (copy_up: named, anonymous and image volumes) are
         * idmapped by mountd (Mount.idmapped): the root-owned root snapd
         * made already shows as the container's root, and stays 0:0 on
         * disk.  Without the idmap, the root of each volume is given to
         * the container's root the same way.  Binds are the operator's
         * and tmpfs mounts are 1777: left alone. */
        if (owner_to_host(s->namespaces, fds[s->rootfs_fd], snaprootfd, "the rootfs's root directory", err) < 0)
                return -1;
        for (size_t i = 0; i < s->n_mounts; i++)
                if (s->mounts[i]->copy_up && !s->mounts[i]->bind && !s->mounts[i]->idmapped &&
                    owner_to_host(s->namespaces, fds[s->mounts[i]->fd], snaprootfd, "the volume's root directory",
                                  err) < 0)
                        return cnr_err_wrap(err, "volume `%s`", s->mounts[i]->destination);
        return 0;
}

/* The sysfs of the network namespace we are in, as a detached mount
 * (the shim, in the container's netns before clone3: sysfs takes the
 * namespace of the task that opens its context, and only its owner, the
 * host's user namespace, may mount it). */
int
shim_mounts_sysfs(struct cnr_err **err)
{
        int m = new_fs("sysfs", NULL, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);

        if (m < 0)
                return cnr_err_wrap(err, "sysfs of the container's network namespace");
        return m;
}

int
shim_mounts_setup(const Cnr__Shim__ContainerSpec *s, const int *fds, int privfd, int sysfd, struct cnr_err **err)
{
        _cleanup_close_ int rootfd = -1;
        const char *const *masked, *const *ro;
        size_t nmasked, nro;
        bool userns = s->namespaces && s->namespaces->user;

        /* Nothing we mount propagates back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return cnr_errf(err, errno, "make the mount namespace private");
        /* priv/ is root's alone and reached by fd: no path of it can be
         * swapped under us. */
        if (move_mount(fds[s->rootfs_fd], "", privfd, "rootfs", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return cnr_errf(err, errno, "attach the rootfs (is it a detached mount?)");
        rootfd = openat(privfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rootfd < 0)
                return cnr_errf(err, errno, "open the attached rootfs");

        /* /proc: a fresh procfs of this pid namespace, on an ordinary
         * directory of the rootfs (THREATS 1, 6); the sysctls are written
         * through it before it is attached (THREATS 10). */
        if (mount_proc(s, rootfd, err) < 0)
                return -1;
        if (mount_dev(rootfd, userns, err) < 0)
                return -1;
        if (mount_sys(rootfd, sysfd, err) < 0)
                return -1;
        for (size_t i = 0; i < s->n_mounts; i++)
                if (spec_mount(rootfd, s->mounts[i], fds[s->mounts[i]->fd], err) < 0)
                        return -1;
        if (etc_files(s, rootfd, privfd, err) < 0)
                return -1;
        shim_spec_paths(s, &masked, &nmasked, &ro, &nro);
        for (size_t i = 0; i < nmasked; i++)
                if (mask(rootfd, masked[i], err) < 0)
                        return -1;
        for (size_t i = 0; i < s->n_masked_paths; i++)
                if (mask(rootfd, s->masked_paths[i], err) < 0)
                        return -1;
        for (size_t i = 0; i < nro; i++)
                if (readonly(rootfd, ro[i], err) < 0)
                        return -1;
        for (size_t i = 0; i < s->n_readonly_paths; i++)
                if (readonly(rootfd, s->readonly_paths[i], err) < 0)
                        return -1;
        if (s->readonly_rootfs) {
                struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
                if (mount_setattr(rootfd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
                        return cnr_errf(err, errno, "make the rootfs read-only");
        }
        return 0;
}

int
shim_mounts_pivot(int privfd, struct cnr_err **err)
{
        _cleanup_close_ int root = openat(privfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (root < 0 || fchdir(root) < 0)
                return cnr_errf(err, errno, "chdir to the rootfs");
        /* pivot_root(".", "."): the old root ends up stacked on the new one
         * and is detached at once; nothing of the host stays reachable. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return cnr_errf(err, errno, "pivot_root");
        if (umount2(".", MNT_DETACH) < 0)
                return cnr_errf(err, errno, "detach the old root");
        if (chdir("/") < 0)
                return cnr_errf(err, errno, "chdir /");
        return 0;
}

/* Bind sources arrive as O_PATH fds the CLI opened as the operator: clone
 * each into a detached mount here, in the host's mount namespace (a clone
 * needs the source's namespace), before the container exists.  The fd in
 * the bundle is replaced by the clone. */
int
shim_mounts_clone_binds(const Cnr__Shim__ContainerSpec *s, int *fds, struct cnr_err **err)
{
        for (size_t i = 0; i < s->n_mounts; i++) {
                const Cnr__Shim__Mount *mt = s->mounts[i];
                struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
                int m;

                if (!mt->bind)
                        continue;
                m = open_tree(fds[mt->fd], "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
                if (m < 0)
                        return cnr_errf(err, errno, "bind mount for `%s`: clone the source", mt->destination);
                if (mt->read_only && mount_setattr(m, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0) {
                        close(m);
                        return cnr_errf(err, errno, "bind mount for `%s`: make it read-only", mt->destination);
                }
                close(fds[mt->fd]);
                fds[mt->fd] = m;
        }
        return 0;
}
