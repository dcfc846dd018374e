/* A peer: one end of a SEQPACKET channel on a libevent loop.
 *
 * Reads every datagram, runs it through the frame checks and the permit
 * table, decodes the envelope and calls the permit's handler (or, for a
 * reply, the callback of the request it answers).  Sending never blocks:
 * what the socket cannot take now is queued with dup'd fds.  A protocol
 * violation or EOF calls on_close once; the owner then frees the peer (it
 * may do so from inside any callback).
 */
#ifndef CNR_IPC_PEER_H
#define CNR_IPC_PEER_H

#include <stdbool.h>

#include <event2/event.h>

#include "ipc/permit.h"

struct cnr_peer;

/* err NULL: orderly EOF.  Otherwise what the peer did wrong (code EPROTO,
 * EBADMSG, EMSGSIZE, EPERM) or the transport error. */
typedef void (*cnr_peer_close_cb)(struct cnr_peer *peer, struct cnr_err *err, void *arg);

/* A reply arrived (env set, err NULL), or the request failed (env NULL,
 * err set: ETIMEDOUT, ECONNRESET when the peer went away). */
typedef void (*cnr_reply_cb)(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *env,
                             struct cnr_err *err, void *arg);

struct cnr_peer_ops {
        const ProtobufCMessageDescriptor *in; /* envelope received on this channel */
        const struct cnr_permit *permits;
        size_t npermits;
        size_t cap;
        cnr_peer_close_cb on_close;
};

struct cnr_peer *cnr_peer_new(struct event_base *base, int fd, const char *name, const struct cnr_peer_ops *ops,
                              void *arg);
void cnr_peer_free(struct cnr_peer *p);

const char *cnr_peer_name(const struct cnr_peer *p);
int cnr_peer_fd(const struct cnr_peer *p);
void *cnr_peer_arg(const struct cnr_peer *p);
void cnr_peer_set_hello(struct cnr_peer *p); /* handshake accepted */
bool cnr_peer_hello_done(const struct cnr_peer *p);
size_t cnr_peer_pending(const struct cnr_peer *p);

/* Send a message (a reply: pass the request's id).  fds are not consumed. */
int cnr_peer_send(struct cnr_peer *p, uint16_t type, uint32_t reqid, const ProtobufCMessage *msg, const int *fds,
                  size_t nfds, struct cnr_err **err);
/* Reply with cnr.Error on an envelope whose error case is `type`. */
int cnr_peer_send_error(struct cnr_peer *p, uint16_t type, const ProtobufCMessageDescriptor *out_env,
                        uint32_t reqid, int code, const char *message);

/* Send a request with a fresh id; cb is called exactly once. */
int cnr_peer_request(struct cnr_peer *p, uint16_t type, const ProtobufCMessage *msg, const int *fds, size_t nfds,
                     unsigned timeout_ms, cnr_reply_cb cb, void *arg, struct cnr_err **err);

/* Fail every pending request with code/why (e.g. the helper died). */
void cnr_peer_fail_pending(struct cnr_peer *p, int code, const char *why);

#endif
