/* containr-mountd: builds detached mounts.  ops.c holds the privileged
 * work, seccomp.c its allow-list, main.c ties them to the framework. */
#ifndef CNR_MOUNTD_H
#define CNR_MOUNTD_H

#include "helpers/common/helper.h"

#define MOUNTD_TMPFS_MAX_SIZE (64ULL << 30) /* 64 GiB */

int mountd_tmpfs(struct cnr_helper_req *r, struct cnr_err **err);

extern const char *const mountd_syscalls[]; /* NULL-terminated */

#endif
