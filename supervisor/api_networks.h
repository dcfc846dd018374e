/* API handlers for networks (request cases 80-85 of ipc/api.proto). */
#ifndef CNR_SUP_API_NETWORKS_H
#define CNR_SUP_API_NETWORKS_H

#include "ipc/permit.h"

void sup_api_network_create(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_network_list(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_network_inspect(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_network_remove(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_network_connect(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_network_disconnect(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);

#endif
