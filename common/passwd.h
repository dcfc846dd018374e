/* Container users: "name", "uid", "name:group", "uid:gid" resolved
 * against the IMAGE's /etc/passwd and /etc/group, read under the rootfs
 * fd (openat2 RESOLVE_IN_ROOT) -- never the host's database, never
 * getpwnam inside the image.  Used by the supervisor to fill the shim's
 * spec (ipc/shim.proto User).
 *
 * Bounded (THREATS 28): at most CNR_PASSWD_READ_MAX bytes of each file are
 * read, longer lines are skipped, at most CNR_PASSWD_MAX_GROUPS
 * supplementary groups.  Ids above 2^31-1, and "-1", are refused, numeric
 * or from the files (THREATS 15): such a user never becomes root. */
#ifndef CNR_PASSWD_H
#define CNR_PASSWD_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define CNR_PASSWD_READ_MAX (4 * 1024 * 1024)
#define CNR_PASSWD_MAX_GROUPS 64

struct cnr_user {
        uint32_t uid, gid;
        uint32_t gids[CNR_PASSWD_MAX_GROUPS]; /* supplementary groups */
        size_t ngids;
        char home[256];                       /* "" when unknown */
};

int cnr_user_resolve(int rootfd, const char *spec, struct cnr_user *out, struct cnr_err **err);

#endif
