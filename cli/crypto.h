/* libcrypto for `containr build` only, loaded on first use with dlopen:
 * the build planner's SHA-256 (helpers/buildd/frontend/sha256.h) is its
 * only use in the CLI, and linked it cost every start of containr about
 * 2 ms (docs/performance.md).  cli/crypto.c implements sha256.h with
 * OpenSSL's EVP functions resolved from the loaded library. */
#ifndef CNR_CLI_CRYPTO_H
#define CNR_CLI_CRYPTO_H

#include "common/err.h"

/* Load libcrypto (once); an error names the library and dlerror's cause. */
int cnr_cli_crypto_load(struct cnr_err **err);

#endif
