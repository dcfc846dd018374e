#include "config.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/digest.h"
#include "common/util.h"

struct cnr_hasher {
        enum cnr_digest_alg alg;
        EVP_MD_CTX *ctx;
};

static const struct {
        enum cnr_digest_alg alg;
        const char *name;
        size_t hexlen;
} algs[] = {
        {CNR_DIGEST_SHA256, "sha256", 64},
        {CNR_DIGEST_SHA512, "sha512", 128},
};

int
cnr_digest_parse(const char *s, struct cnr_digest *out, struct cnr_err **err)
{
        const char *colon;
        size_t alen;

        if (s == NULL)
                return cnr_errf(err, EINVAL, "missing digest");
        colon = strchr(s, ':');
        if (colon == NULL)
                return cnr_errf(err, EINVAL, "digest `%.80s` has no algorithm (want sha256:<hex>)", s);
        alen = (size_t)(colon - s);
        for (size_t i = 0; i < CNR_ARRAY_LEN(algs); i++) {
                const char *hex = colon + 1;
                size_t n = strlen(hex);

                if (strlen(algs[i].name) != alen || strncmp(s, algs[i].name, alen) != 0)
                        continue;
                if (n != algs[i].hexlen)
                        return cnr_errf(err, EINVAL, "digest `%.80s`: %s wants %zu hex digits, got %zu", s,
                                        algs[i].name, algs[i].hexlen, n);
                for (size_t j = 0; j < n; j++) {
                        char c = hex[j];
                        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                                return cnr_errf(err, EINVAL,
                                                "digest `%.80s`: character %zu is not a lowercase hex digit", s,
                                                alen + 1 + j);
                }
                out->alg = algs[i].alg;
                memcpy(out->str, s, alen + 1 + n + 1);
                out->hexoff = (unsigned char)(alen + 1);
                return 0;
        }
        return cnr_errf(err, EINVAL, "digest `%.80s`: unsupported algorithm `%.*s`", s, (int)(alen > 16 ? 16 : alen),
                        s);
}

bool
cnr_digest_equal(const struct cnr_digest *a, const struct cnr_digest *b)
{
        return a->alg == b->alg && strcmp(a->str, b->str) == 0;
}

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
