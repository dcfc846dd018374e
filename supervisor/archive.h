/* Image archives: `docker save` archives and OCI archives (an OCI image
 * layout in a tar), read and written with libarchive; and `import` of a
 * rootfs tarball as a one-layer image.
 *
 * The fds are the operator's: the CLI opened them with its own
 * credentials and passed them; nothing here opens a path a user named.
 *
 * Load reads every entry once, in archive order.  Entry names are checked
 * (no absolute paths, no `..`, no empty or `.` components); links may only
 * alias another entry of the archive (skopeo writes legacy layer.tar
 * symlinks) and are never followed outside it; every file that is kept
 * goes through the content store's verified ingest, against the digest
 * its name promises (blobs/<alg>/<hex>, <hex>.json) and, for layers,
 * against the config's diff_ids.  The image records of one archive are
 * written in one transaction; on any failure the blobs this load added are
 * deleted again, so a failed load leaves neither a record nor a blob. */
#ifndef CNR_ARCHIVE_H
#define CNR_ARCHIVE_H

#include <stdint.h>

#include "common/err.h"
#include "supervisor/images.h"

enum cnr_archive_format { CNR_ARCHIVE_DOCKER, CNR_ARCHIVE_OCI };

/* "docker-archive" / "oci-archive"; -1 with *err otherwise. */
int cnr_archive_format_parse(const char *s, enum cnr_archive_format *out, struct cnr_err **err);

struct cnr_save_item {
        const struct cnr_image *img;
        /* names to record in the archive (RepoTags / index annotations) */
        char **names;
        size_t nnames;
};

/* Write the images as one archive to fd.  *bytes gets the archive size. */
int cnr_archive_save(struct cnr_images *im, const struct cnr_save_item *items, size_t n,
                     enum cnr_archive_format fmt, int fd, uint64_t *bytes, struct cnr_err **err);

struct cnr_loaded {
        struct cnr_digest id;
        char **names;
        size_t nnames;
};
struct cnr_load_result {
        char format[32]; /* "docker-archive" or "oci-archive" */
        struct cnr_loaded *images;
        size_t nimages;
        char **warnings;
        size_t nwarnings;
};
int cnr_archive_load(struct cnr_images *im, int fd, struct cnr_load_result *res, struct cnr_err **err);
void cnr_load_result_free(struct cnr_load_result *res);

/* A rootfs tar (plain, gzip, zstd, ...) on fd becomes a gzip layer, a
 * config for the host's platform and an OCI manifest; ref ("" or NULL for
 * none) names it.  *out gets the record. */
int cnr_archive_import(struct cnr_images *im, int fd, const char *ref, const char *comment,
                       struct cnr_image **out, struct cnr_err **err);

#endif
