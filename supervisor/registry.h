/* The registry client: the OCI distribution spec over libcurl, driven by
 * the supervisor's libevent loop (curl's multi-socket API; nothing here
 * ever blocks the loop).
 *
 * Two objects:
 *
 *   struct cnr_reg       one per supervisor: the curl multi handle, the
 *                        table of blob downloads in flight (a blob wanted
 *                        by two pulls at once is downloaded once), the
 *                        per-host settings from containr.yaml.
 *   struct cnr_reg_sess  one operation (a pull, a push, a login check)
 *                        against one repository of one registry: the
 *                        credentials the CLI sent for it, the tokens
 *                        obtained for it.  Freeing it zeroes both.
 *
 * Every request takes a callback that is called exactly once, never from
 * inside the call that started the request.
 *
 * Transport rules (THREATS.md 24-27):
 * - https, except for registries that are insecure: localhost, 127.0.0.0/8,
 *   ::1 (as Docker does) and those marked `insecure` in containr.yaml.
 * - Redirects are followed here, not by libcurl: at most 10; https -> http
 *   refused; only http(s); a target on another origin (scheme, host, port)
 *   than the registry gets no Authorization header.
 * - Credentials (Basic, or Basic to the token endpoint) are sent only in
 *   answer to a 401 from the registry itself, never to a host reached by
 *   redirect or to a mirror.  A Bearer realm on another host than the
 *   registry gets them only over https.
 * - Manifests are capped at CNR_MANIFEST_MAX; a manifest fetched by digest
 *   must hash to it, and a Docker-Content-Digest header must agree with the
 *   bytes.  Blobs stream into a content-store ingest that checks size and
 *   digest: nothing unverified is ever visible.
 * - Transient failures (connection refused or reset, 5xx, 429, truncated
 *   bodies, stalls) are retried with backoff, 4 attempts in all; a digest
 *   or size mismatch never is. */
#ifndef CNR_REGISTRY_H
#define CNR_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/digest.h"
#include "common/err.h"
#include "supervisor/content.h"

struct cnr_config;
struct cnr_reg;
struct cnr_reg_sess;

/* Error codes a caller can tell apart (err->code), besides errno values:
 * ENOENT not found, EACCES unauthorized/denied, EBADMSG digest or size
 * mismatch / malformed answer, ETIMEDOUT, EPROTO TLS or protocol, ELOOP
 * too many redirects, EPERM redirect refused. */

/* Once, before the sandbox is in place (libcurl and OpenSSL set up). */
int cnr_reg_global_init(struct cnr_err **err);
int cnr_reg_new(struct event_base *base, struct cnr_content *content, const struct cnr_config *cfg,
                struct cnr_reg **out, struct cnr_err **err);
/* Fails every transfer in flight (callbacks run with ECANCELED). */
void cnr_reg_free(struct cnr_reg *r);

/* The registry host named by a reference's domain: "docker.io" is
 * registry-1.docker.io.  Static storage. */
const char *cnr_reg_api_host(const char *domain);
/* Plain http allowed for this host? (localhost, 127/8, ::1, or config). */
bool cnr_reg_host_insecure(const struct cnr_reg *r, const char *host);

/* A session for `repo` (path, e.g. "library/busybox") at registry `domain`
 * (as in a reference: "docker.io", "127.0.0.1:5000").  user/password may
 * be NULL (anonymous); they are copied.  push: ask for pull,push tokens. */
struct cnr_reg_sess *cnr_reg_sess_new(struct cnr_reg *r, const char *domain, const char *repo, const char *user,
                                      const char *password, bool push);
/* Cancel what is in flight (callbacks run with ECANCELED), zero the
 * credentials and tokens, free. */
void cnr_reg_sess_free(struct cnr_reg_sess *s);
/* Use mirrors (pulls only; tried in order, then the registry). */
void cnr_reg_sess_use_mirrors(struct cnr_reg_sess *s, bool on);

/* GET /v2/ with the session's credentials: 0 when the registry accepts
 * them (or needs none), EACCES when it refuses them. */
typedef void (*cnr_reg_done_cb)(struct cnr_err *err, void *arg);
void cnr_reg_check_auth(struct cnr_reg_sess *s, cnr_reg_done_cb cb, void *arg);

/* A manifest or index by tag or digest ("sha256:..."): the bytes (malloc'd,
 * owned by the callee's caller after the callback: take them with
 * steal_ptr), the Content-Type and the digest of the bytes. */
struct cnr_reg_manifest {
        char *body;
        size_t len;
        char *media_type;
        struct cnr_digest digest;
};
typedef void (*cnr_reg_manifest_cb)(struct cnr_reg_manifest *m, struct cnr_err *err, void *arg);
void cnr_reg_get_manifest(struct cnr_reg_sess *s, const char *reference, cnr_reg_manifest_cb cb, void *arg);

/* Download blob `d` of `size` bytes into the content store (or find it
 * there already).  progress (may be NULL) gets the bytes so far. */
typedef void (*cnr_reg_progress_cb)(uint64_t done, uint64_t total, void *arg);
void cnr_reg_fetch_blob(struct cnr_reg_sess *s, const struct cnr_digest *d, int64_t size,
                        cnr_reg_progress_cb progress, cnr_reg_done_cb cb, void *arg);

/* Push side. */
typedef void (*cnr_reg_exists_cb)(bool exists, struct cnr_err *err, void *arg);
void cnr_reg_blob_exists(struct cnr_reg_sess *s, const struct cnr_digest *d, cnr_reg_exists_cb cb, void *arg);
/* Upload blob d (size bytes) from the content store.  mount_from: another
 * repository of the same registry that has it (tries a cross-repository
 * mount first), or NULL.  Monolithic POST+PUT up to the chunk threshold,
 * chunked PATCHes above it. */
/* cb's bool: the registry mounted it (nothing was uploaded). */
void cnr_reg_push_blob(struct cnr_reg_sess *s, const struct cnr_digest *d, int64_t size, const char *mount_from,
                       cnr_reg_progress_cb progress, cnr_reg_exists_cb cb, void *arg);
/* PUT the exact bytes as `reference` (a tag or the digest). */
void cnr_reg_put_manifest(struct cnr_reg_sess *s, const char *reference, const void *buf, size_t len,
                          const char *media_type, cnr_reg_done_cb cb, void *arg);

/* Blobs above this many bytes are pushed in chunks of this size. */
#define CNR_REG_CHUNK (32u << 20)

/* ---- pure helpers (unit-tested) ---- */

struct cnr_reg_challenge {
        char scheme[16]; /* "bearer" or "basic", lowercased */
        char *realm;
        char *service;
        char *scope;
};
/* Parse a WWW-Authenticate value (RFC 7235 auth-params, quoted strings
 * with escapes).  The first Bearer or Basic challenge wins. */
int cnr_reg_parse_challenge(const char *hdr, struct cnr_reg_challenge *out, struct cnr_err **err);
void cnr_reg_challenge_clear(struct cnr_reg_challenge *c);

/* Resolve `location` against `from` (relative or absolute), refuse
 * anything but http(s) and https -> http.  *out: malloc'd absolute URL. */
int cnr_reg_redirect_target(const char *from, const char *location, char **out, struct cnr_err **err);
/* Same scheme, host and port? */
bool cnr_reg_same_origin(const char *a, const char *b);

/* The message of a registry's JSON error body ({"errors":[{code,message}]}),
 * "CODE: message; ...", or NULL. */
char *cnr_reg_error_body(const char *body, size_t len);

#endif
