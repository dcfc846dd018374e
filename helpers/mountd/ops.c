/* containr-mountd's privileged work: the only code in this helper that
 * uses CAP_SYS_ADMIN.  Every mount is built with the new mount API and
 * returned as a detached mount fd; mountd never attaches a mount
 * anywhere, so its own (the host's) mount namespace never changes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#ifdef HAVE_FSOPEN
#include <sys/mount.h> /* glibc >= 2.36: fsopen, fsconfig, fsmount, MOUNT_ATTR_* */
#else
#include <sys/syscall.h>
#include <linux/mount.h>
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

#include "helpers/mountd/mountd.h"

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
