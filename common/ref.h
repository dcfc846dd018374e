/* Image references, parsed and normalised the way Docker does:
 *
 *     busybox                   -> docker.io/library/busybox:latest
 *     user/app:1.0              -> docker.io/user/app:1.0
 *     localhost:5000/x          -> localhost:5000/x:latest
 *     quay.io/a/b@sha256:<hex>  -> quay.io/a/b@sha256:<hex> (no tag added)
 *     index.docker.io/x         -> docker.io/library/x:latest
 *
 * The first path component is a registry host when it contains `.` or
 * `:`, or is `localhost`; otherwise the registry is docker.io.  Repository
 * path components are lowercase ([a-z0-9] separated by `.`, `_`, `__` or
 * runs of `-`); tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digests are
 * parsed strictly by cnr_digest_parse; the whole name (host/path) is at
 * most 255 characters.  Errors name the part that is wrong.
 *
 * Everything lives in fixed buffers: a struct cnr_ref needs no freeing. */
#ifndef CNR_REF_H
#define CNR_REF_H

#include <stdbool.h>
#include <stddef.h>

#include "common/digest.h"
#include "common/err.h"

#define CNR_REF_NAME_MAX 255 /* host/path */
#define CNR_REF_TAG_MAX 128
#define CNR_REF_DEFAULT_DOMAIN "docker.io"
#define CNR_REF_DEFAULT_TAG "latest"

struct cnr_ref {
        char domain[CNR_REF_NAME_MAX + 1]; /* "docker.io", "localhost:5000" */
        char path[CNR_REF_NAME_MAX + 1];   /* "library/busybox" */
        char name[CNR_REF_NAME_MAX + 1];   /* "docker.io/library/busybox" */
        char tag[CNR_REF_TAG_MAX + 1];     /* "" when the reference has only a digest */
        bool has_digest;
        struct cnr_digest digest;
        /* The normalised form: name[:tag][@digest]. */
        char str[CNR_REF_NAME_MAX + 1 + CNR_REF_TAG_MAX + 1 + CNR_DIGEST_MAX];
};

/* Parse and normalise s; a reference without tag and digest gets :latest. */
int cnr_ref_parse(const char *s, struct cnr_ref *out, struct cnr_err **err);
/* Same, but never adds a default tag (for `containr images busybox`-style
 * repository filters and for `rmi` of a name@digest). */
int cnr_ref_parse_name(const char *s, struct cnr_ref *out, struct cnr_err **err);

/* The short form Docker shows: `busybox:latest` for
 * docker.io/library/busybox:latest, `user/app:1` for docker.io/user/app:1,
 * unchanged otherwise.  Into buf (size n, truncated if it must). */
void cnr_ref_familiar(const struct cnr_ref *r, char *buf, size_t n);

/* Recompute r->name and r->str after changing domain/path/tag/digest. */
void cnr_ref_format(struct cnr_ref *r);

/* Helpers used by the parser and by others (tag validation for `tag`,
 * `push`): true when valid. */
bool cnr_ref_valid_tag(const char *tag);
bool cnr_ref_valid_path(const char *path);

/* True for a string that looks like an image id or a prefix of one:
 * "sha256:<hex>" or 1-64 lowercase hex characters. */
bool cnr_ref_looks_like_id(const char *s);

#endif
