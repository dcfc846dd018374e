/* containr-snapd: snapshot directories under one root fd.  ops.c holds
 * the privileged work, name.c the name policy, seccomp.c the allow-list. */
#ifndef CNR_SNAPD_H
#define CNR_SNAPD_H

#include <stdbool.h>

#include "common/digest.h"
#include "helpers/common/helper.h"

#define SNAPD_NAME_MAX 128

/* A snapshot name is exactly one path component:
 * [A-Za-z0-9][A-Za-z0-9_.-]{0,127}, never "." or "..".  No slash, no
 * leading dot or dash, nothing to resolve: mkdirat(rootfd, name) cannot
 * leave the root. */
bool snapd_name_valid(const char *name);

/* The overlay2 driver's directory under the snapshot root. */
#define SNAPD_DRIVER_DIR "overlay2"

/* Layer apply limits: the defaults when a request leaves them 0, and the
 * most a request may ask for. */
#define SNAPD_APPLY_DEFAULT_BYTES (10ULL << 30) /* 10 GiB of uncompressed tar */
#define SNAPD_APPLY_DEFAULT_ENTRIES 1000000ULL
#define SNAPD_APPLY_MAX_BYTES (1ULL << 40) /* 1 TiB */
#define SNAPD_APPLY_MAX_ENTRIES (64ULL << 20)

int snapd_setup(struct cnr_helper_env *env, struct cnr_err **err);
int snapd_mkdir(struct cnr_helper_req *r, struct cnr_err **err);
int snapd_rmdir(struct cnr_helper_req *r, struct cnr_err **err);

/* dirs.c: snapshot directories under <root>/overlay2 (driver fd). */
int snapd_dirs_setup(int rootfd, struct cnr_helper_env *env, struct cnr_err **err);
int snapd_create(struct cnr_helper_req *r, struct cnr_err **err);
int snapd_remove(struct cnr_helper_req *r, struct cnr_err **err);
int snapd_usage(struct cnr_helper_req *r, struct cnr_err **err);
int snapd_list(struct cnr_helper_req *r, struct cnr_err **err);
int snapd_check_id(struct cnr_helper_req *r, const char *what, const char *id, struct cnr_err **err);
/* Remove the tree `name` under dirfd: never follows a symlink, never
 * leaves the filesystem of dirfd (a mount inside is an error). */
int snapd_remove_tree(int dirfd, const char *name, struct cnr_err **err);
/* Names in the directory fd (not consumed; O_PATH is fine), without "." and
 * "..", NULL-terminated, sorted when asked. */
char **snapd_list_dir(int fd, bool sorted, size_t *n, struct cnr_err **err);
/* strcmp order of two `char *` (for qsort). */
int snapd_cmp_names(const void *a, const void *b);
int snapd_open_driver(struct cnr_err **err);
extern int snapd_rootfd; /* the snapshot root, opened at setup */

/* apply.c: SnapApply. */
int snapd_apply(struct cnr_helper_req *r, struct cnr_err **err);
struct snapd_apply_stats {
        char diff_id[CNR_DIGEST_MAX];
        unsigned long long tar_size, entries, bytes_written;
        bool refused; /* on failure: the layer broke a rule (audited deny) */
};
/* The apply itself, on an fs root fd and a blob fd (no IPC): also what the
 * tests and the fuzz-free unit test call. */
/* lowerfds: the parents' fs dirs, nearest first (may be NULL/0). */
int snapd_apply_layer(int fsfd, const int *lowerfds, size_t nlower, int blobfd, unsigned long long max_bytes,
                      unsigned long long max_entries, struct snapd_apply_stats *st, struct cnr_err **err);
#define SNAPD_APPLY_MAX_LOWER 256

/* diff.c: SnapDiff (1 fd: where the tar goes) and its digest-only form. */
int snapd_diff(struct cnr_helper_req *r, struct cnr_err **err);
int snapd_diff_id(struct cnr_helper_req *r, struct cnr_err **err);
struct snapd_diff_stats {
        char diff_id[CNR_DIGEST_MAX];
        unsigned long long tar_size, entries, bytes;
};
/* The diff of the fs dir fsfd as an OCI layer tar written to outfd (-1:
 * only hash it), gzip-compressed with gzip; no IPC (tests call it). */
int snapd_diff_tree(int fsfd, int outfd, bool gzip, struct snapd_diff_stats *st, struct cnr_err **err);

extern const char *const snapd_syscalls[]; /* NULL-terminated */

#endif
