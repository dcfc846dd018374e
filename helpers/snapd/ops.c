/* containr-snapd's privileged work.  Everything happens relative to the
 * snapshot root fd opened before the privilege drop; a request names a
 * single checked path component under it, never a path. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/snapd/snapd.h"

int snapd_rootfd = -1;
#define rootfd snapd_rootfd

int
snapd_setup(struct cnr_helper_env *env, struct cnr_err **err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = open(env->snapshot_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return cnr_errf(err, errno, "open snapshot root `%s`", env->snapshot_root);
        if (fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "stat snapshot root `%s`", env->snapshot_root);
        /* The root must be snapd's own and closed to others: anyone else
         * who could write there could plant what snapd later trusts. */
        if (st.st_uid != env->uid)
                return cnr_errf(err, EPERM, "snapshot root `%s` is owned by uid %u, not snapd's uid %u",
                                env->snapshot_root, (unsigned)st.st_uid, (unsigned)env->uid);
        if (st.st_mode & 022)
                return cnr_errf(err, EPERM, "snapshot root `%s` is writable by group or others (mode %04o)",
                                env->snapshot_root, (unsigned)(st.st_mode & 07777));
        /* Requests carry the mode they want; the monitor's umask is not
         * part of the contract. */
        umask(0);
        rootfd = steal_fd(&fd);
        /* Trees as deep as paths allow are walked one fd at a time, but
         * libarchive and the event loop want some headroom too. */
        {
                struct rlimit rl;
                if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                        rl.rlim_cur = rl.rlim_max;
                        setrlimit(RLIMIT_NOFILE, &rl);
                }
        }
        return snapd_dirs_setup(rootfd, env, err);
}

static int
check_name(struct cnr_helper_req *r, const char *name, struct cnr_err **err)
{
        if (snapd_name_valid(name))
                return 0;
        r->deny = true;
        return cnr_errf(err, EPERM,
                        "snapshot name `%s`: not a single path component matching [A-Za-z0-9][A-Za-z0-9_.-]{0,127}",
                        name);
}

int
snapd_mkdir(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__SnapMkdir *m = r->req->snap_mkdir;

        json_object_set_new(r->args, "name", json_string(m->name));
        json_object_set_new(r->args, "mode", cnr_helper_json_mode(m->mode));
        if (check_name(r, m->name, err) < 0)
                return -1;
        /* Only permission bits: no setuid, setgid or sticky snapshot dirs.
         * Safe: rootfd is the snapshot root and name is one component with
         * no slash and no dot-dot, so nothing is resolved outside it. */
        if (mkdirat(rootfd, m->name, m->mode & 0777) < 0)
                return cnr_errf(err, errno, "mkdir `%s` in the snapshot root", m->name);
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_DONE;
        cnr__helper__done__init(&r->reply.done);
        return 0;
}

int
snapd_rmdir(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__SnapRmdir *m = r->req->snap_rmdir;

        json_object_set_new(r->args, "name", json_string(m->name));
        if (check_name(r, m->name, err) < 0)
                return -1;
        /* AT_REMOVEDIR on a symlink fails with ENOTDIR: only a directory
         * directly under the root can go. */
        if (unlinkat(rootfd, m->name, AT_REMOVEDIR) < 0)
                return cnr_errf(err, errno, "rmdir `%s` in the snapshot root", m->name);
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_DONE;
        cnr__helper__done__init(&r->reply.done);
        return 0;
}
