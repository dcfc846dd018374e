/* The OCI content store: <root>/content/blobs/<alg>/<hex>, read-only
 * files whose name is the digest of their bytes.
 *
 * A blob enters only through an ingest: bytes go to a temp file under
 * <root>/content/ingest/, the size and digest are checked against what was
 * expected, the file is fsynced, made read-only and renamed into place
 * (RENAME_NOREPLACE: a blob that is already there wins and the copy is
 * dropped), then the directory is fsynced.  A crash leaves at most a temp
 * file, removed when the store is opened: no blob with a wrong digest is
 * ever visible.  All paths are resolved under the store's directory fd. */
#ifndef CNR_CONTENT_H
#define CNR_CONTENT_H

#include <stdint.h>

#include "common/digest.h"
#include "common/err.h"

struct cnr_content;
struct cnr_ingest;

int cnr_content_open(const char *dir, struct cnr_content **out, struct cnr_err **err);
void cnr_content_close(struct cnr_content *c);

/* 0 and *size if present, -1 with ENOENT in *err if not. */
int cnr_content_stat(struct cnr_content *c, const struct cnr_digest *d, uint64_t *size, struct cnr_err **err);
/* A read-only fd on the blob. */
int cnr_content_open_blob(struct cnr_content *c, const struct cnr_digest *d, struct cnr_err **err);
/* Read a small blob (manifest, config) whole; refuses more than max bytes. */
int cnr_content_read(struct cnr_content *c, const struct cnr_digest *d, size_t max, char **buf, size_t *len,
                     struct cnr_err **err);
int cnr_content_delete(struct cnr_content *c, const struct cnr_digest *d, struct cnr_err **err);
/* Call cb for every blob; cb returns < 0 to stop. */
int cnr_content_walk(struct cnr_content *c, int (*cb)(const struct cnr_digest *d, uint64_t size, void *arg),
                     void *arg, struct cnr_err **err);

/* expected may be NULL (then the digest is whatever the bytes hash to);
 * expected_size < 0 means unknown. */
struct cnr_ingest *cnr_ingest_begin(struct cnr_content *c, const struct cnr_digest *expected,
                                    int64_t expected_size, struct cnr_err **err);
/* Fails (and the ingest must be aborted) when more bytes than expected arrive. */
int cnr_ingest_write(struct cnr_ingest *in, const void *buf, size_t len, struct cnr_err **err);
uint64_t cnr_ingest_written(const struct cnr_ingest *in);
/* Verify and publish; *out gets the digest.  The ingest is freed either way. */
int cnr_ingest_commit(struct cnr_ingest *in, struct cnr_digest *out, struct cnr_err **err);
void cnr_ingest_abort(struct cnr_ingest *in);

/* One-shot: store buf (verified against expected when given). */
int cnr_content_put(struct cnr_content *c, const void *buf, size_t len, const struct cnr_digest *expected,
                    struct cnr_digest *out, struct cnr_err **err);

#endif
