/* The supervisor's part of `containr build`: API handlers that forward to
 * containr-buildd (build.c). */
#ifndef CNR_SUP_BUILD_H
#define CNR_SUP_BUILD_H

#include "ipc/peer.h"

/* BuildCheck: 1 fd in (the context stream), 1 fd out (the report). */
void sup_api_build_check(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);

#endif
