/* containr-netd: network namespaces.  ops.c holds the privileged work,
 * seccomp.c the allow-list, main.c ties them to the framework. */
#ifndef CNR_NETD_H
#define CNR_NETD_H

#include "helpers/common/helper.h"

int netd_setup(struct cnr_helper_env *env, struct cnr_err **err);
int netd_netns_create(struct cnr_helper_req *r, struct cnr_err **err);

extern const char *const netd_syscalls[]; /* NULL-terminated */
int netd_seccomp_extra(void *ctx, struct cnr_err **err);

#endif
