/* For API handler modules outside api.c (api_images.c, ...): a handler
 * gets the client as its `arg`; these answer it and audit the request the
 * same way api.c's own handlers do. */
#ifndef CNR_SUP_API_H
#define CNR_SUP_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "ipc/api.pb-c.h"
#include "supervisor/sup.h"

struct sup *sup_client_sup(struct sup_client *c);
/* Long operations keep the client's id, not the pointer: the client may
 * leave before they end.  find returns NULL once it has left. */
uint64_t sup_client_id(struct sup_client *c);
struct sup_client *sup_client_find(struct sup *s, uint64_t id);
/* The client's credentials, for audit and ownership decisions. */
uid_t sup_client_uid(struct sup_client *c);
void sup_client_reply(struct sup_client *c, Cnr__Api__Reply *env, uint32_t reqid, const int *fds, size_t nfds);
void sup_client_error(struct sup_client *c, uint32_t reqid, int code, const char *msg);
/* One audit line; takes ownership of extra (may be NULL). */
void sup_client_audit(struct sup_client *c, const char *op, uint32_t reqid, json_t *extra, int code,
                      const char *error, uint64_t started_us);
/* Answer err (its code, or EIO if it has none) and audit it as op, started
 * at started_us; takes ownership of args (may be NULL). */
void sup_client_fail(struct sup_client *c, uint32_t reqid, const char *op, json_t *args, struct cnr_err *err,
                     uint64_t started_us);
/* A JSON answer for the client: the indented text of j and a newline in a
 * memfd called memfd_name, sealed against any change and rewound; -1 with
 * *err. */
int sup_client_json_memfd(json_t *j, const char *memfd_name, struct cnr_err **err);

#endif
