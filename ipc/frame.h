/* Framing for every containr channel.
 *
 * One message per SOCK_SEQPACKET datagram:
 *
 *     u16 version | u16 type | u32 request id | protobuf-c body
 *
 * all little-endian.  `type` is the case number of the envelope's oneof;
 * the decoder checks that the body agrees.  File descriptors ride along as
 * one SCM_RIGHTS control message.
 *
 * The receive path, in order: MSG_TRUNC / MSG_CTRUNC, exact cmsg level,
 * type and length, header length and version; the caller then looks the
 * type up in its permit table (permit.h), which says how many fds the type
 * carries, and only then is the body unpacked and checked
 * (cnr_frame_decode): protobuf_c_message_check, no unknown fields, oneof
 * case == header type.
 */
#ifndef CNR_IPC_FRAME_H
#define CNR_IPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/err.h"

#define CNR_IPC_PROTOCOL 1
#define CNR_IPC_HDR_LEN 8
#define CNR_IPC_MAX_FDS 4
#define CNR_IPC_HELPER_CAP (64 * 1024) /* helper and monitor channels */
#define CNR_IPC_API_CAP (64 * 1024)    /* CLI channel; bulk data goes by fd */

struct cnr_frame {
        uint16_t version;
        uint16_t type;
        uint32_t reqid;
        const uint8_t *body; /* points into the caller's buffer */
        size_t len;
        int fds[CNR_IPC_MAX_FDS];
        size_t nfds;
};

/* Encode and send one message with nfds fds.  Returns 0, or -1 with *err
 * (err->code EAGAIN when the socket is full: the caller queues). */
int cnr_frame_send(int sock, uint16_t type, uint32_t reqid, const ProtobufCMessage *msg, const int *fds,
                   size_t nfds, size_t cap, struct cnr_err **err);

/* Send an already encoded datagram (header included). */
int cnr_frame_send_raw(int sock, const void *buf, size_t len, const int *fds, size_t nfds,
                       struct cnr_err **err);

/* Encode a message into a freshly allocated datagram; *out_len set. */
uint8_t *cnr_frame_encode(uint16_t type, uint32_t reqid, const ProtobufCMessage *msg, size_t cap,
                          size_t *out_len, struct cnr_err **err);

/* Receive one datagram into buf (cap bytes; messages larger than cap are a
 * protocol error).  Returns 1 with *f filled, 0 on orderly EOF, -1 with
 * *err: EAGAIN (nothing to read), EMSGSIZE (truncated or oversized), EPROTO
 * (short header, wrong version), EBADMSG (bad control message).  On error
 * no fd is left open. */
int cnr_frame_recv(int sock, uint8_t *buf, size_t cap, struct cnr_frame *f, struct cnr_err **err);

/* Parse the header of a datagram already in memory (recv and the fuzz
 * target share this); leaves f->fds and f->nfds alone. */
int cnr_frame_parse(const uint8_t *buf, size_t len, struct cnr_frame *f, struct cnr_err **err);

/* Unpack f's body as `desc` and check it: required content, no unknown
 * fields anywhere, oneof case == f->type.  Returns the message (free with
 * protobuf_c_message_free_unpacked) or NULL with *err (EBADMSG). */
ProtobufCMessage *cnr_frame_decode(const struct cnr_frame *f, const ProtobufCMessageDescriptor *desc,
                                   struct cnr_err **err);

/* The oneof case of an envelope (its first oneof), 0 if unset. */
uint32_t cnr_envelope_case(const ProtobufCMessage *msg);

/* Close every fd still held by the frame (those not taken with -1). */
void cnr_frame_close_fds(struct cnr_frame *f);

/* Take fd i out of the frame: the caller owns it afterwards. */
int cnr_frame_take_fd(struct cnr_frame *f, size_t i);

#endif
