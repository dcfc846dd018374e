/* Parsing and comparing digests: no OpenSSL here (hasher.c hashes), so
 * that a program that only parses, like the CLI, does not load libcrypto
 * at every start (docs/performance.md). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "common/digest.h"
#include "common/util.h"

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
