/* API handlers for images (request cases 20-28 of ipc/api.proto). */
#ifndef CNR_SUP_API_IMAGES_H
#define CNR_SUP_API_IMAGES_H

#include "ipc/permit.h"

void sup_api_image_list(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_image_inspect(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_image_remove(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_image_tag(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_image_prune(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_system_prune(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_image_save(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_image_load(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);
void sup_api_image_import(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg);

#endif
