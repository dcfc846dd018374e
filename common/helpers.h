/* The fixed table of helpers: the monitor spawns only these, the
 * supervisor reports them, the tests check them against
 * man/containr-helpers.7.  Index = enum cnr_helper_id. */
#ifndef CNR_HELPERS_H
#define CNR_HELPERS_H

#include <stddef.h>
#include <sys/capability.h>

enum cnr_helper_id {
        CNR_HELPER_MOUNTD = 0,
        CNR_HELPER_NETD,
        CNR_HELPER_SNAPD,
        CNR_HELPER_BUILDD,
        CNR_HELPER_CRID,
        CNR_HELPER_COUNT
};

struct cnr_helper_desc {
        const char *name;         /* "mountd" */
        const char *binary;       /* "containr-mountd", in the helper directory */
        const char *default_user; /* identity when the config names none */
        const char *role;         /* one line, for `containr info` */
        const cap_value_t *caps;  /* exactly what it keeps */
        size_t ncaps;
};

extern const struct cnr_helper_desc cnr_helpers[CNR_HELPER_COUNT];

/* -1 if `name` is not a helper. */
int cnr_helper_lookup(const char *name);
/* The 64-bit capability mask of a helper (what /proc/<pid>/status CapEff shows). */
unsigned long long cnr_helper_capmask(const struct cnr_helper_desc *h);

#endif
