/* containr-buildd: demote, sandbox, serve.  Only Ping for now; its real work
 * comes later.  It keeps no capability and no syscall beyond the base
 * set.  See man/containr-helpers.7. */
#include "config.h"

#include "helpers/common/helper.h"

static const struct cnr_helper_def def = {
        .id = CNR_HELPER_BUILDD,
        .ops = NULL,
        .nops = 0,
        .syscalls = NULL,
};

int
main(int argc, char **argv)
{
        cnr_helper_main(&def, argc, argv);
}
