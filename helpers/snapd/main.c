/* containr-snapd: demote, sandbox, serve.  See man/containr-helpers.7. */
#include "config.h"

#include "helpers/snapd/snapd.h"

static const struct cnr_helper_op ops[] = {
        {CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR, "snap_mkdir", 0, snapd_mkdir},
        {CNR__HELPER__TO_HELPER__OP_SNAP_RMDIR, "snap_rmdir", 0, snapd_rmdir},
        {CNR__HELPER__TO_HELPER__OP_SNAP_CREATE, "snap_create", 0, snapd_create},
        {CNR__HELPER__TO_HELPER__OP_SNAP_REMOVE, "snap_remove", 0, snapd_remove},
        {CNR__HELPER__TO_HELPER__OP_SNAP_USAGE, "snap_usage", 0, snapd_usage},
        {CNR__HELPER__TO_HELPER__OP_SNAP_APPLY, "snap_apply", 1, snapd_apply},
        {CNR__HELPER__TO_HELPER__OP_SNAP_LIST, "snap_list", 0, snapd_list},
        {CNR__HELPER__TO_HELPER__OP_SNAP_DIFF, "snap_diff", 1, snapd_diff},
        {CNR__HELPER__TO_HELPER__OP_SNAP_DIFF_ID, "snap_diff_id", 0, snapd_diff_id},
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
