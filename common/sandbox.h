/* Privilege dropping and seccomp, in the one order that works:
 *
 *   1. bounding set reduced to `keep` (needs CAP_SETPCAP, so first)
 *   2. PR_SET_KEEPCAPS so the uid change keeps the permitted set
 *   3. setgroups(0 or the listed groups), setresgid, setresuid
 *   4. capset: permitted = effective = keep, inheritable empty, ambient cleared
 *   5. PR_SET_NO_NEW_PRIVS
 *   6. the seccomp allow-list (libseccomp), default action kill-process
 *
 * Each step is checked; a failure leaves the caller to exit.
 */
#ifndef CNR_SANDBOX_H
#define CNR_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <sys/capability.h>

#include "common/err.h"

struct cnr_identity {
        uid_t uid;
        gid_t gid;
};

/* Resolve "name", "uid" or "uid:gid" (numeric or names).  A name is looked
 * up in the host's passwd/group database (containrd only, as root, before
 * any helper exists). */
int cnr_identity_resolve(const char *spec, struct cnr_identity *out, struct cnr_err **err);
/* Resolve a group by name or number. */
int cnr_group_resolve(const char *spec, gid_t *out, struct cnr_err **err);

int cnr_sandbox_drop(const struct cnr_identity *id, const cap_value_t *keep, size_t nkeep, struct cnr_err **err);
int cnr_sandbox_no_new_privs(struct cnr_err **err);

/* Load an allow-list: every named syscall allowed (names unknown to this
 * libseccomp are skipped), everything else kills the process.  `extra`
 * lets a caller add argument-filtered rules before load (may be NULL). */
struct scmp_filter_ctx_opaque;
int cnr_sandbox_seccomp(const char *const *syscalls, size_t n, int (*extra)(void *ctx, struct cnr_err **err),
                        struct cnr_err **err);

/* The syscalls every containr process needs (event loop, IPC, logging). */
extern const char *const cnr_base_syscalls[];
extern const size_t cnr_base_nsyscalls;

/* Names of the capabilities in a 64-bit mask (cap_to_name order). */
char *cnr_caps_to_names(unsigned long long mask);

#endif
