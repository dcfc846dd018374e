/* The CLI's connection to containrd: one SOCK_SEQPACKET connection, a
 * HELLO exchange, then requests answered in order (blocking, with a
 * timeout).  Errors are worded for the operator: they print as
 * "containr: <cnr_err_str(err)>". */
#ifndef CNR_CLI_CLIENT_H
#define CNR_CLI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "ipc/api.pb-c.h"

#define CNR_DEFAULT_SOCKET RUNSTATEDIR "/containr/containr.sock"
#define CNR_CLIENT_TIMEOUT_MS 30000

struct cnr_client {
        int fd;
        char *path;
        uint32_t next_reqid;
        int timeout_ms;
        Cnr__Hello *server; /* the server's HELLO */
};

/* The socket path named by `host` (unix://PATH or an absolute path; NULL or
 * "" = the default socket).  The path must fit in sun_path. */
int cnr_client_host_path(const char *host, char **path, struct cnr_err **err);

/* Connect to `host` and exchange HELLO. */
int cnr_client_open(struct cnr_client *cl, const char *host, struct cnr_err **err);

/* Send `req` (its op_case is the frame type) and wait for its reply, which
 * must be of case `want` and carry exactly `nfds` fds (stored in fds[],
 * owned by the caller).  An Error reply fails with its message as is.
 * *reply: free with cnr__api__reply__free_unpacked(*reply, NULL). */
int cnr_client_call(struct cnr_client *cl, Cnr__Api__Request *req, Cnr__Api__Reply__MsgCase want,
                    Cnr__Api__Reply **reply, int *fds, size_t nfds, struct cnr_err **err);

/* The same, passing send_fds with the request (the fds stay the caller's). */
int cnr_client_call_fds(struct cnr_client *cl, Cnr__Api__Request *req, const int *send_fds, size_t nsend,
                        Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **reply, int *fds, size_t nfds,
                        struct cnr_err **err);

/* A long request (pull, push): containrd may answer with any number of
 * Progress replies (same request id) before the final one; each goes to
 * cb, and each restarts the timeout. */
typedef void (*cnr_client_progress_cb)(const Cnr__Api__Progress *p, void *arg);
int cnr_client_call_progress(struct cnr_client *cl, Cnr__Api__Request *req, Cnr__Api__Reply__MsgCase want,
                             Cnr__Api__Reply **reply, cnr_client_progress_cb cb, void *arg, struct cnr_err **err);

/* The two halves of a call, for commands that wait on other fds while a
 * request is pending (run, attach, exec: the container's streams): send,
 * poll cl->fd with the rest, then receive (with the client's timeout). */
int cnr_client_send(struct cnr_client *cl, Cnr__Api__Request *req, const int *fds, size_t nfds, uint32_t *reqid,
                    struct cnr_err **err);
int cnr_client_recv(struct cnr_client *cl, uint32_t reqid, Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **reply,
                    int *fds, size_t nfds, struct cnr_err **err);

void cnr_client_close(struct cnr_client *cl);

#endif
