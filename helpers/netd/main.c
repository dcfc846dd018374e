/* containr-netd: demote, sandbox, serve.  See man/containr-helpers.7. */
#include "config.h"

#include "helpers/netd/netd.h"

static const struct cnr_helper_op ops[] = {
        {CNR__HELPER__TO_HELPER__OP_NETNS_CREATE, "netns_create", 0, netd_netns_create},
};

static const struct cnr_helper_def def = {
        .id = CNR_HELPER_NETD,
        .ops = ops,
        .nops = CNR_ARRAY_LEN(ops),
        .syscalls = netd_syscalls,
        .seccomp_extra = netd_seccomp_extra,
        .setup = netd_setup, /* keeps the original network namespace */
};

int
main(int argc, char **argv)
{
        cnr_helper_main(&def, argc, argv);
}
