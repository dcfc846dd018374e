/* containr-netd: demote, sandbox, serve.  See man/containr-helpers.7. */
#include "config.h"

#include "helpers/netd/netd.h"

static const struct cnr_helper_op ops[] = {
        {CNR__HELPER__TO_HELPER__OP_NETNS_CREATE, "netns_create", 0, netd_netns_create},
        {CNR__HELPER__TO_HELPER__OP_NETNS_OPEN, "netns_open", 0, netd_netns_open},
        {CNR__HELPER__TO_HELPER__OP_NETNS_REMOVE, "netns_remove", 0, netd_netns_remove},
        {CNR__HELPER__TO_HELPER__OP_CNI_EXEC, "cni_exec", 0, netd_cni_exec},
        {CNR__HELPER__TO_HELPER__OP_ROUTE_LIST, "route_list", 0, netd_route_list},
        {CNR__HELPER__TO_HELPER__OP_BRIDGE_REMOVE, "bridge_remove", 0, netd_bridge_remove},
        {CNR__HELPER__TO_HELPER__OP_ISOLATION_SYNC, "isolation_sync", 0, netd_isolation_sync},
        {CNR__HELPER__TO_HELPER__OP_BRIDGE_CHECK, "bridge_check", 0, netd_bridge_check},
};

static const struct cnr_helper_def def = {
        .id = CNR_HELPER_NETD,
        .ops = ops,
        .nops = CNR_ARRAY_LEN(ops),
        .syscalls = netd_syscalls,
        .seccomp_extra = netd_seccomp_extra,
        .setup = netd_setup, /* keeps the original network namespace, makes its run-root dirs */
        .wants_run_root = true,
};

int
main(int argc, char **argv)
{
        cnr_helper_main(&def, argc, argv);
}
