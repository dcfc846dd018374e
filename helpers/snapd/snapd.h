/* containr-snapd: snapshot directories under one root fd.  ops.c holds
 * the privileged work, name.c the name policy, seccomp.c the allow-list. */
#ifndef CNR_SNAPD_H
#define CNR_SNAPD_H

#include <stdbool.h>

#include "helpers/common/helper.h"

#define SNAPD_NAME_MAX 128

/* A snapshot name is exactly one path component:
 * [A-Za-z0-9][A-Za-z0-9_.-]{0,127}, never "." or "..".  No slash, no
 * leading dot or dash, nothing to resolve: mkdirat(rootfd, name) cannot
 * leave the root. */
bool snapd_name_valid(const char *name);

int snapd_setup(struct cnr_helper_env *env, struct cnr_err **err);
int snapd_mkdir(struct cnr_helper_req *r, struct cnr_err **err);
int snapd_rmdir(struct cnr_helper_req *r, struct cnr_err **err);

extern const char *const snapd_syscalls[]; /* NULL-terminated */

#endif
