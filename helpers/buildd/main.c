/* containr-buildd: demote, sandbox, serve.  It keeps no capability: it
 * reads build contexts from fds it is handed and answers with reports in
 * memfds; it never opens a host path for a user.  See man/containr-helpers.7. */
#include "config.h"

#include "helpers/buildd/buildd.h"

static const struct cnr_helper_op ops[] = {
        {CNR__HELPER__TO_HELPER__OP_BUILD_CHECK, "build_check", 2, buildd_check},
};

static const struct cnr_helper_def def = {
        .id = CNR_HELPER_BUILDD,
        .ops = ops,
        .nops = CNR_ARRAY_LEN(ops),
        .syscalls = buildd_syscalls,
};

int
main(int argc, char **argv)
{
        cnr_helper_main(&def, argc, argv);
}
