/* The front end's SHA-256 (helpers/buildd/frontend/sha256.h) for the CLI:
 * OpenSSL's EVP digest functions, resolved with dlsym from libcrypto
 * loaded by dlopen at first use, so that only `build` loads it. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "cli/crypto.h"
#include "helpers/buildd/frontend/sha256.h"

/* The soname of OpenSSL 3's libcrypto (Debian's libssl3), what the linker
 * would have recorded. */
#define LIBCRYPTO_SONAME "libcrypto.so.3"

#define CNR_CLI_CRYPTO_SYMS(X)                                                                                         \
        X(EVP_sha256)                                                                                                  \
        X(EVP_MD_CTX_new)                                                                                              \
        X(EVP_MD_CTX_free)                                                                                             \
        X(EVP_DigestInit_ex)                                                                                           \
        X(EVP_DigestUpdate)                                                                                            \
        X(EVP_DigestFinal_ex)                                                                                          \
        X(EVP_Digest)

#define CNR_CLI_CRYPTO_DEF(name) static __typeof__(name) *sym_##name;
CNR_CLI_CRYPTO_SYMS(CNR_CLI_CRYPTO_DEF)
#undef CNR_CLI_CRYPTO_DEF

static void *lib;

int
cnr_cli_crypto_load(struct cnr_err **err)
{
        void *h;

        if (lib)
                return 0;
        h = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL)
                return cnr_errf(err, ENOENT, "load %s (libssl3, needed for the build plan's SHA-256): %s",
                                LIBCRYPTO_SONAME, dlerror());
#define CNR_CLI_CRYPTO_SYM(name)                                                                                       \
        if ((sym_##name = (__typeof__(name) *)dlsym(h, #name)) == NULL) {                                              \
                cnr_errf(err, ENOENT, "%s has no `%s`: %s", LIBCRYPTO_SONAME, #name, dlerror());                       \
                dlclose(h);                                                                                            \
                return -1;                                                                                             \
        }
        CNR_CLI_CRYPTO_SYMS(CNR_CLI_CRYPTO_SYM)
#undef CNR_CLI_CRYPTO_SYM
        lib = h;
        return 0;
}

/* `build` loads the library before it plans and reports a failure itself;
 * a hash asked for without it is a bug in the caller, or the library went
 * away: say why and stop. */
static void
need(void)
{
        struct cnr_err *err = NULL;

        if (cnr_cli_crypto_load(&err) == 0)
                return;
        fprintf(stderr, "containr: %s\n", cnr_err_str(err));
        abort();
}

struct cnr_df_sha256_ctx *
cnr_df_sha256_new(void)
{
        EVP_MD_CTX *md;

        need();
        md = sym_EVP_MD_CTX_new();
        if (md && sym_EVP_DigestInit_ex(md, sym_EVP_sha256(), NULL) != 1) {
                sym_EVP_MD_CTX_free(md);
                md = NULL;
        }
        return (struct cnr_df_sha256_ctx *)md;
}

void
cnr_df_sha256_update(struct cnr_df_sha256_ctx *h, const void *data, size_t len)
{
        sym_EVP_DigestUpdate((EVP_MD_CTX *)h, data, len);
}

void
cnr_df_sha256_final(struct cnr_df_sha256_ctx *h, uint8_t out[32])
{
        unsigned int dl = 0;

        sym_EVP_DigestFinal_ex((EVP_MD_CTX *)h, out, &dl);
}

void
cnr_df_sha256_free(struct cnr_df_sha256_ctx *h)
{
        if (h)
                sym_EVP_MD_CTX_free((EVP_MD_CTX *)h);
}

void
cnr_df_sha256_buf(const void *data, size_t len, uint8_t out[32])
{
        unsigned int dl = 0;

        need();
        if (sym_EVP_Digest(data, len, out, &dl, sym_EVP_sha256(), NULL) != 1 || dl != 32) {
                fprintf(stderr, "containr: SHA-256 (%s) failed\n", LIBCRYPTO_SONAME);
                abort();
        }
}
