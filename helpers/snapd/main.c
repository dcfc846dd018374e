/* containr-snapd: demote, sandbox, serve.  See man/containr-helpers.7. */
#include "config.h"

#include "helpers/snapd/snapd.h"

static const struct cnr_helper_op ops[] = {
        {CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR, "snap_mkdir", 0, snapd_mkdir},
        {CNR__HELPER__TO_HELPER__OP_SNAP_RMDIR, "snap_rmdir", 0, snapd_rmdir},
};

static const struct cnr_helper_def def = {
        .id = CNR_HELPER_SNAPD,
        .ops = ops,
        .nops = CNR_ARRAY_LEN(ops),
        .syscalls = snapd_syscalls,
        .wants_snapshot_root = true,
        .setup = snapd_setup, /* opens the snapshot root as root */
};

int
main(int argc, char **argv)
{
        cnr_helper_main(&def, argc, argv);
}
