/* containr-mountd: demote, sandbox, serve.  See man/containr-helpers.7. */
#include "config.h"

#include "helpers/mountd/mountd.h"

static const struct cnr_helper_op ops[] = {
        {CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS, "mount_tmpfs", 0, mountd_tmpfs},
        {CNR__HELPER__TO_HELPER__OP_MOUNT_SNAPSHOT, "mount_snapshot", 0, mountd_snapshot},
        {CNR__HELPER__TO_HELPER__OP_MOUNT_SNAPSHOT_IDMAPPED, "mount_snapshot_idmapped", 1, mountd_snapshot_idmapped},
};

static const struct cnr_helper_def def = {
        .id = CNR_HELPER_MOUNTD,
        .ops = ops,
        .nops = CNR_ARRAY_LEN(ops),
        .syscalls = mountd_syscalls,
        .seccomp_extra = mountd_seccomp_extra, /* mount(2), umount2 with fixed flags */
        .wants_snapshot_root = true,
        .parse_flag = mountd_parse_flag, /* --overlay-mode */
        .setup = mountd_setup,           /* a mount namespace of its own, the snapshot root */
};

int
main(int argc, char **argv)
{
        cnr_helper_main(&def, argc, argv);
}
