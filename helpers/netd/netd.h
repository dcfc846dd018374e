/* containr-netd: network namespaces.  ops.c holds the privileged work,
 * seccomp.c the allow-list, main.c ties them to the framework. */
#ifndef CNR_NETD_H
#define CNR_NETD_H

#include "helpers/common/helper.h"

/* Paths under --run-root, NULL without it. */
struct netd_state {
        char *netns_dir; /* <run_root>/netns: the handles */
        char *cni_dir;   /* <run_root>/cni: the xtables lock */
        char *ipam_dir;  /* <run_root>/cni/ipam: host-local's dataDir, always */
};
extern struct netd_state netd;

int netd_setup(struct cnr_helper_env *env, struct cnr_err **err);
int netd_need_run_root(struct cnr_err **err);
bool netd_valid_id(const char *id);
bool netd_valid_bridge(const char *name);

int netd_netns_create(struct cnr_helper_req *r, struct cnr_err **err);
int netd_netns_open(struct cnr_helper_req *r, struct cnr_err **err);
int netd_netns_remove(struct cnr_helper_req *r, struct cnr_err **err);
int netd_route_list(struct cnr_helper_req *r, struct cnr_err **err);
int netd_bridge_remove(struct cnr_helper_req *r, struct cnr_err **err);
int netd_bridge_check(struct cnr_helper_req *r, struct cnr_err **err);
/* cni.c */
int netd_cni_exec(struct cnr_helper_req *r, struct cnr_err **err);
/* A program's output: all of stdout (up to 1 MiB), the end of stderr. */
struct netd_out {
        char *out;
        size_t outlen;
        char err[1024];
        size_t errlen;
        int status;
};
/* Run path with argv and envp, `in` on its stdin, netd's capabilities
 * ambient, killed after timeout_ms; 0 once it exited (see po->status). */
int netd_run(const char *path, char *const argv[], char *const envp[], const char *in, int timeout_ms,
             struct netd_out *po, struct cnr_err **err);
/* isolate.c */
int netd_isolation_sync(struct cnr_helper_req *r, struct cnr_err **err);

extern const char *const netd_syscalls[]; /* NULL-terminated */
int netd_seccomp_extra(void *ctx, struct cnr_err **err);

#endif
