/* containr-mountd: builds detached mounts.  ops.c holds the privileged
 * work, seccomp.c its allow-list, main.c ties them to the framework. */
#ifndef CNR_MOUNTD_H
#define CNR_MOUNTD_H

#include "helpers/common/helper.h"

#define MOUNTD_TMPFS_MAX_SIZE (64ULL << 30) /* 64 GiB */

#define MOUNTD_MAX_LOWER 256          /* overlay lowers in one mount */
#define MOUNTD_FSCONFIG_VALUE_MAX 256 /* fsconfig's limit on a string value, NUL included */

/* The legacy overlay path mounts on this directory, inside a tmpfs that
 * mountd mounts on MOUNTD_SCRATCH in its own private mount namespace. */
#define MOUNTD_SCRATCH "/tmp"
#define MOUNTD_SCRATCH_TARGET MOUNTD_SCRATCH "/overlay"

/* How an overlay is built (--overlay-mode, containr.yaml's overlay_mode):
 *   auto      the cheapest path that fits: one fsconfig lowerdir= when the
 *             list fits 255 bytes, else lowerdir+ when the kernel has it
 *             (6.8+, probed at start-up), else mount(2) (legacy)
 *   fsconfig  the new mount API only (long lists need lowerdir+)
 *   legacy    mount(2) in mountd's private namespace for every overlay,
 *             as a 6.1 kernel does for long lists (tests force it) */
enum mountd_overlay_mode {
        MOUNTD_OVERLAY_AUTO,
        MOUNTD_OVERLAY_FSCONFIG,
        MOUNTD_OVERLAY_LEGACY,
};

int mountd_tmpfs(struct cnr_helper_req *r, struct cnr_err **err);
int mountd_setup(struct cnr_helper_env *env, struct cnr_err **err);
int mountd_parse_flag(const char *flag, const char *val, struct cnr_err **err);
int mountd_snapshot(struct cnr_helper_req *r, struct cnr_err **err);
int mountd_snapshot_idmapped(struct cnr_helper_req *r, struct cnr_err **err); /* 1 fd: a user namespace */

extern const char *const mountd_syscalls[]; /* NULL-terminated */
int mountd_seccomp_extra(void *ctx, struct cnr_err **err);

#endif
