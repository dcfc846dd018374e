/* Permit tables: the receiving side of each channel lists, per message
 * type, when it may arrive and how many fds it carries.  Anything not in
 * the table, or not allowed in the channel's current state, is refused
 * before the body is unpacked (OpenSSH's monitor table, in our terms). */
#ifndef CNR_IPC_PERMIT_H
#define CNR_IPC_PERMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/err.h"
#include "ipc/frame.h"

struct cnr_peer;

enum {
        CNR_PERMIT_HELLO = 1 << 0, /* only as the first message; all others only after it */
        CNR_PERMIT_REPLY = 1 << 2,       /* must answer a request we sent */
};

typedef void (*cnr_permit_handler)(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *env,
                                   void *arg);

struct cnr_permit {
        uint16_t type;
        unsigned flags;
        uint8_t nfds; /* exactly this many fds, no more, no fewer */
        const char *name;
        cnr_permit_handler handler; /* NULL for replies: they go to the request's callback */
};

const struct cnr_permit *cnr_permit_find(const struct cnr_permit *table, size_t n, uint16_t type);

/* May frame f arrive now?  0 yes; -1 with *err (EPERM) naming why not. */
int cnr_permit_check(const struct cnr_permit *table, size_t n, bool hello_done, const struct cnr_frame *f,
                     const struct cnr_permit **out, struct cnr_err **err);

#endif
