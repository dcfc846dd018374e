/* containr-mountd's system calls beyond cnr_base_syscalls. */
#include "config.h"

#include <linux/nsfs.h>
#include <stddef.h>
#include <sys/mount.h>

#include <seccomp.h>

#include "helpers/mountd/mountd.h"

const char *const mountd_syscalls[] = {
        "fsopen",   /* a new filesystem context (tmpfs, overlay) */
        "fsconfig", /* its options, then FSCONFIG_CMD_CREATE */
        "fsmount",  /* the detached mount fd handed to the supervisor */
        /* MountSnapshot: snapshot dirs checked under the root fd, lowerdirs
         * relative to the driver dir (fchdir), binds cloned with open_tree
         * (and the legacy overlay, cloned off the scratch dir) */
        "openat2",
        "fchdir",
        "open_tree",
        "mount_setattr",
        "fstatfs", /* the legacy overlay's clone is checked to be the overlay */
        NULL,
};

/* The legacy overlay path (ops.c): mount(2) of an overlay with no flags
 * on the scratch dir of mountd's private mount namespace, and its lazy
 * unmount once cloned.  unshare(CLONE_NEWNS) and the namespace's set-up
 * happen before the filter is loaded, so neither is allowed here; a
 * mount(2) with any flag (MS_BIND, MS_MOVE, MS_REMOUNT, propagation
 * changes) kills mountd. */
int
mountd_seccomp_extra(void *ctx, struct cnr_err **err)
{
        int r;

        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mount), 1, SCMP_A3(SCMP_CMP_EQ, 0));
        if (r < 0)
                return cnr_errf(err, -r, "seccomp: allow `mount` without flags");
        /* mount_snapshot_idmapped checks its user namespace fd: its type
         * and its owner, nothing else of ioctl. */
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, NS_GET_NSTYPE));
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, NS_GET_OWNER_UID));
        if (r < 0)
                return cnr_errf(err, -r, "seccomp: allow `ioctl(NS_GET_NSTYPE, NS_GET_OWNER_UID)`");
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(umount2), 1,
                             SCMP_A1(SCMP_CMP_EQ, MNT_DETACH | UMOUNT_NOFOLLOW));
        if (r < 0)
                return cnr_errf(err, -r, "seccomp: allow `umount2(MNT_DETACH|UMOUNT_NOFOLLOW)`");
        return 0;
}
