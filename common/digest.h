/* Content digests ("sha256:<64 lowercase hex>").  Parsed strictly before
 * any use: an algorithm we know, exactly the right number of lowercase hex
 * digits, nothing else (no path separators, no uppercase, no padding). */
#ifndef CNR_DIGEST_H
#define CNR_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum cnr_digest_alg { CNR_DIGEST_SHA256 = 1, CNR_DIGEST_SHA512 };

#define CNR_DIGEST_MAX 136 /* "sha512:" + 128 + NUL, rounded up */

struct cnr_digest {
        enum cnr_digest_alg alg;
        char str[CNR_DIGEST_MAX]; /* canonical "alg:hex" */
        unsigned char hexoff;     /* where the hex starts in str (copies stay valid) */
};

static inline const char *
cnr_digest_hex(const struct cnr_digest *d)
{
        return d->str + d->hexoff;
}

int cnr_digest_parse(const char *s, struct cnr_digest *out, struct cnr_err **err);
bool cnr_digest_equal(const struct cnr_digest *a, const struct cnr_digest *b);

/* Streaming hash (OpenSSL EVP). */
struct cnr_hasher;
struct cnr_hasher *cnr_hasher_new(enum cnr_digest_alg alg);
void cnr_hasher_update(struct cnr_hasher *h, const void *buf, size_t len);
/* Finish into out and free the hasher. */
void cnr_hasher_final(struct cnr_hasher *h, struct cnr_digest *out);
void cnr_hasher_free(struct cnr_hasher *h);

/* Digest of a buffer in one call. */
void cnr_digest_buf(enum cnr_digest_alg alg, const void *buf, size_t len, struct cnr_digest *out);

#endif
