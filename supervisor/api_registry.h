/* API handlers of the registry operations (api_registry.c): cases 35-37. */
#ifndef CNR_SUP_API_REGISTRY_H
#define CNR_SUP_API_REGISTRY_H

#include "ipc/peer.h"

void sup_api_pull(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_push(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_registry_login(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);

#endif
