/* Hashing into digests (OpenSSL EVP); parsing is digest.c's. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "common/digest.h"
#include "common/util.h"

struct cnr_hasher {
        enum cnr_digest_alg alg;
        EVP_MD_CTX *ctx;
};

struct cnr_hasher *
cnr_hasher_new(enum cnr_digest_alg alg)
{
        struct cnr_hasher *h = xcalloc(1, sizeof(*h));

        h->alg = alg;
        h->ctx = EVP_MD_CTX_new();
        if (h->ctx == NULL ||
            EVP_DigestInit_ex(h->ctx, alg == CNR_DIGEST_SHA512 ? EVP_sha512() : EVP_sha256(), NULL) != 1)
                abort();
        return h;
}

void
cnr_hasher_update(struct cnr_hasher *h, const void *buf, size_t len)
{
        if (len > 0 && EVP_DigestUpdate(h->ctx, buf, len) != 1)
                abort();
}

void
cnr_hasher_final(struct cnr_hasher *h, struct cnr_digest *out)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        static const char hx[] = "0123456789abcdef";
        const char *name = h->alg == CNR_DIGEST_SHA512 ? "sha512" : "sha256";
        size_t off;

        if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1)
                abort();
        out->alg = h->alg;
        off = (size_t)snprintf(out->str, sizeof(out->str), "%s:", name);
        for (unsigned i = 0; i < n; i++) {
                out->str[off + 2 * i] = hx[md[i] >> 4];
                out->str[off + 2 * i + 1] = hx[md[i] & 15];
        }
        out->str[off + 2 * n] = '\0';
        out->hexoff = (unsigned char)off;
        cnr_hasher_free(h);
}

void
cnr_hasher_free(struct cnr_hasher *h)
{
        if (h == NULL)
                return;
        EVP_MD_CTX_free(h->ctx);
        free(h);
}

void
cnr_digest_buf(enum cnr_digest_alg alg, const void *buf, size_t len, struct cnr_digest *out)
{
        struct cnr_hasher *h = cnr_hasher_new(alg);
        cnr_hasher_update(h, buf, len);
        cnr_hasher_final(h, out);
}
