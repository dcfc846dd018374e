/* containr-mountd: demote, sandbox, serve.  See man/containr-helpers.7. */
#include "config.h"

#include "helpers/mountd/mountd.h"

static const struct cnr_helper_op ops[] = {
        {CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS, "mount_tmpfs", 0, mountd_tmpfs},
        {CNR__HELPER__TO_HELPER__OP_MOUNT_SNAPSHOT, "mount_snapshot", 0, mountd_snapshot},
};

static const struct cnr_helper_def def = {
        .id = CNR_HELPER_MOUNTD,
        .ops = ops,
        .nops = CNR_ARRAY_LEN(ops),
        .syscalls = mountd_syscalls,
        .wants_snapshot_root = true,
        .setup = mountd_setup, /* opens the snapshot root as root */
};

int
main(int argc, char **argv)
{
        cnr_helper_main(&def, argc, argv);
}
