/* API handlers for snapshots (request cases 45-49 and 90-91 of
 * ipc/api.proto). */
#ifndef CNR_SUP_API_SNAPSHOTS_H
#define CNR_SUP_API_SNAPSHOTS_H

#include "ipc/permit.h"

void sup_api_snapshot_list(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_snapshot_inspect(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_snapshot_remove(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_snapshot_diff(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_snapshot_export(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_snapshot_import(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_snapshot_verify(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);

#endif
