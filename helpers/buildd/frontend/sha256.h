/* SHA-256 for the front end (cache keys, the context index), behind an
 * interface so that each program chooses how libcrypto comes in:
 * sha256_evp.c (libfrontend_evp.la) calls OpenSSL's EVP, linked, for
 * containr-buildd, the tests and the fuzz targets; the CLI brings its own
 * (cli/crypto.c), which loads libcrypto with dlopen when `build` plans, so
 * that its other commands start without it (docs/performance.md).  Both
 * use the same library; there is no SHA-256 of ours. */
#ifndef CNR_DF_SHA256_H
#define CNR_DF_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct cnr_df_sha256_ctx;

/* NULL when there is no memory for the digest context. */
struct cnr_df_sha256_ctx *cnr_df_sha256_new(void);
void cnr_df_sha256_update(struct cnr_df_sha256_ctx *h, const void *data, size_t len);
void cnr_df_sha256_final(struct cnr_df_sha256_ctx *h, uint8_t out[32]);
void cnr_df_sha256_free(struct cnr_df_sha256_ctx *h);
/* One buffer; aborts with a message when the digest cannot be made. */
void cnr_df_sha256_buf(const void *data, size_t len, uint8_t out[32]);

#endif
