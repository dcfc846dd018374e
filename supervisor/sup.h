/* The supervisor's internal state, shared by supervisor.c (monitor and
 * helper channels) and api.c (the CLI's API socket). */
#ifndef CNR_SUP_H
#define CNR_SUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>

#include "common/helpers.h"
#include "ipc/peer.h"
#include "supervisor/containrd.h"
#include "supervisor/content.h"
#include "supervisor/db.h"
#include "supervisor/images.h"
#include "supervisor/snapshots.h"
#include "supervisor/registry.h"

struct sup_helper {
        pid_t pid;           /* 0 while down */
        unsigned restarts;
        bool hello;          /* HELLO accepted from this instance */
        struct cnr_peer *peer; /* IPC channel, fd 3 on the helper's side */
        struct cnr_peer *log;  /* log channel, fd 4 on the helper's side */
};

struct sup_client;

struct sup {
        struct cnr_daemon *d;
        struct event_base *base;
        struct cnr_peer *mon;
        struct cnr_db *db;           /* <root>/containr.db */
        struct cnr_content *content; /* <root>/content */
        struct cnr_images *images;
        struct cnr_snapshotter *snaps; /* sup_snapshots.c */
        struct sup_containers *ctrs;   /* containers.c */
        bool snaps_reconciled;   /* image records over db + content */
        struct cnr_reg *reg;         /* registry client (registry.h); NULL if it failed to start */
        pid_t monitor_pid;
        unsigned restarts; /* of the supervisor, as the monitor counts them */
        struct sup_helper h[CNR_HELPER_COUNT];
        bool ready_sent;
        struct event *accept_ev;
        LIST_HEAD(, sup_client) clients;
        uint64_t next_client_id;
};

/* Send a request to helper `id`; cb gets the reply or the error (also when
 * the helper is down or dies before answering). */
int sup_helper_request(struct sup *s, int id, uint16_t type, const ProtobufCMessage *msg, cnr_reply_cb cb,
                       void *arg, struct cnr_err **err);
/* Same, passing fds (not consumed) and a timeout (0 = the default). */
int sup_helper_request_fds(struct sup *s, int id, uint16_t type, const ProtobufCMessage *msg, const int *fds,
                           size_t nfds, unsigned timeout_ms, cnr_reply_cb cb, void *arg, struct cnr_err **err);
/* Ask the monitor; same contract. */
int sup_monitor_request(struct sup *s, uint16_t type, const ProtobufCMessage *msg, cnr_reply_cb cb, void *arg,
                        struct cnr_err **err);

/* sup_snapshots.c: the snapshotter over snapd and mountd */
int sup_snapshots_start(struct sup *s, struct cnr_err **err);
void sup_snapshots_stop(struct sup *s);
/* A helper said HELLO: the first snapd HELLO runs start-up reconciliation. */
void sup_snapshots_helper_up(struct sup *s, int id);
/* Unpack a stored image into snapshots in the background (after pull,
 * load, import); the result is logged and audited ("image_unpack"). */
void sup_unpack(struct sup *s, const char *ref_or_id);

/* api.c */
void sup_api_start(struct sup *s);
void sup_api_stop(struct sup *s);

#endif
