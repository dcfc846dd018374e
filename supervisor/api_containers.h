/* API handlers for containers (request cases 50-67 of ipc/api.proto) and
 * volumes (70-74, volumes.c). */
#ifndef CNR_SUP_API_CONTAINERS_H
#define CNR_SUP_API_CONTAINERS_H

#include "ipc/permit.h"

struct sup;
void sup_api_containers_client_gone(struct sup *s, uint64_t client);

void sup_api_stage_fd(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_create(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_start(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_stop(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_restart(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_kill(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_remove(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_wait(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_list(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_inspect(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_logs(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_attach(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_exec(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_exec_tty(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_exec_wait(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_resize(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_top(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_container_stats(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_volume_create(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_volume_list(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_volume_remove(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_volume_inspect(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_volume_prune(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);

#endif
