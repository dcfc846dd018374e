/* Registry credentials, client-side: the user's own docker-config-format
 * file ($DOCKER_CONFIG/config.json, else ~/.docker/config.json):
 *
 *     {"auths": {"127.0.0.1:5000": {"auth": base64("user:password")}}}
 *
 * docker.io is stored under "https://index.docker.io/v1/" as Docker does.
 * The file is written by the CLI, as the user, mode 0600: a temp file in
 * the same directory (O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC), fsync, rename.
 * Other keys of the file are kept.  Credential helpers (credsStore,
 * credHelpers) are not used. */
#ifndef CNR_CLI_AUTHFILE_H
#define CNR_CLI_AUTHFILE_H

#include <stdbool.h>

#include "common/err.h"

/* The file's path (malloc'd). */
char *cnr_authfile_path(void);
/* Credentials for registry host `domain` ("docker.io", "host:port"):
 * 1 found (*user, *pass malloc'd; free pass with cnr_free_secret), 0 none. */
int cnr_authfile_get(const char *domain, char **user, char **pass, struct cnr_err **err);
int cnr_authfile_set(const char *domain, const char *user, const char *pass, struct cnr_err **err);
/* 1 removed, 0 there was nothing. */
int cnr_authfile_remove(const char *domain, struct cnr_err **err);

#endif
