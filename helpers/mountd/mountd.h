/* containr-mountd: builds detached mounts.  ops.c holds the privileged
 * work, seccomp.c its allow-list, main.c ties them to the framework. */
#ifndef CNR_MOUNTD_H
#define CNR_MOUNTD_H

#include "helpers/common/helper.h"

#define MOUNTD_TMPFS_MAX_SIZE (64ULL << 30) /* 64 GiB */

#define MOUNTD_MAX_LOWER 256          /* overlay lowers in one mount */
#define MOUNTD_OVERLAY_DATA_MAX 3584  /* lowerdir bytes: under a page with the rest */
#define MOUNTD_FSCONFIG_VALUE_MAX 256 /* fsconfig's limit on a string value, NUL included */

int mountd_tmpfs(struct cnr_helper_req *r, struct cnr_err **err);
int mountd_setup(struct cnr_helper_env *env, struct cnr_err **err);
int mountd_snapshot(struct cnr_helper_req *r, struct cnr_err **err);

extern const char *const mountd_syscalls[]; /* NULL-terminated */

#endif
