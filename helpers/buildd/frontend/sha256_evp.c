/* The front end's SHA-256 with OpenSSL's EVP linked (sha256.h): what
 * containr-buildd and the tests use.  The CLI links cli/crypto.c instead. */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "helpers/buildd/frontend/sha256.h"

struct cnr_df_sha256_ctx *
cnr_df_sha256_new(void)
{
        EVP_MD_CTX *md = EVP_MD_CTX_new();

        if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(md);
                md = NULL;
        }
        return (struct cnr_df_sha256_ctx *)md;
}

void
cnr_df_sha256_update(struct cnr_df_sha256_ctx *h, const void *data, size_t len)
{
        EVP_DigestUpdate((EVP_MD_CTX *)h, data, len);
}

void
cnr_df_sha256_final(struct cnr_df_sha256_ctx *h, uint8_t out[32])
{
        unsigned int dl = 0;

        EVP_DigestFinal_ex((EVP_MD_CTX *)h, out, &dl);
}

void
cnr_df_sha256_free(struct cnr_df_sha256_ctx *h)
{
        EVP_MD_CTX_free((EVP_MD_CTX *)h);
}

void
cnr_df_sha256_buf(const void *data, size_t len, uint8_t out[32])
{
        unsigned int dl = 0;

        if (EVP_Digest(data, len, out, &dl, EVP_sha256(), NULL) != 1 || dl != 32) {
                static const char msg[] = "containr: SHA-256 (libcrypto) failed\n";
                (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
                abort();
        }
}
