/* containr-mountd: demote, sandbox, serve.  See man/containr-helpers.7. */
#include "config.h"

#include "helpers/mountd/mountd.h"

static const struct cnr_helper_op ops[] = {
        {CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS, "mount_tmpfs", 0, mountd_tmpfs},
};

static const struct cnr_helper_def def = {
        .id = CNR_HELPER_MOUNTD,
        .ops = ops,
        .nops = CNR_ARRAY_LEN(ops),
        .syscalls = mountd_syscalls,
        .setup = NULL, /* nothing to open as root: fsopen needs no host path */
};

int
main(int argc, char **argv)
{
        cnr_helper_main(&def, argc, argv);
}
