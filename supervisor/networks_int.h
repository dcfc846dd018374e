/* Between networks.c (records, attach, detach, start-up) and
 * networks_cmd.c (subnets, create, connect, disconnect, remove, JSON):
 * the supervisor's network state and the helpers both use.  Nothing else
 * includes this. */
#ifndef CNR_SUP_NETWORKS_INT_H
#define CNR_SUP_NETWORKS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "ipc/peer.h"
#include "supervisor/networks.h"

#define NET_TIMEOUT_MS 150000 /* a CNI chain: netd gives each plugin 60 s */

/* A row of `networks`; subnet6 and gateway6 are "" on an IPv4-only one. */
struct net {
        char *id, *name, *driver, *subnet, *gateway, *bridge, *options, *labels, *subnet6, *gateway6;
        long long created;
};

/* A row of `net_attachments` with its network. */
struct att {
        char *network_id, *ifname, *ports, *state, *result;
        struct net *net;
};

struct busy;
struct waiter {
        void (*fn)(struct sup *s, struct cnr_err *err, void *arg);
        void *arg;
        struct waiter *next;
};

struct sup_nets_state {
        struct sup *s;
        bool ensuring;          /* the default network is being created */
        struct waiter *waiters; /* for the default network */
        struct busy *busy;      /* containers with an operation in flight */
        sup_net_known_fn known; /* set by sup_networks_reconcile */
        void *known_arg;
        bool reconcile_wanted, reconciled;
        char **verified; /* bridges checked since start (BridgeCheck) */
        size_t nverified;
};
extern struct sup_nets_state N;

bool nets_netd_up(void);
void nets_net_free(struct net *n);
void nets_free(struct net **v, size_t n);
bool nets_valid_name(const char *s);
int nets_busy_take(const char *id, struct cnr_err **err);
void nets_busy_drop(const char *id);
/* The reply's error (transport or cnr.Error), or NULL; *own holds a made one. */
struct cnr_err *nets_reply_error(ProtobufCMessage *env, struct cnr_err *err, struct cnr_err **own);
struct cnr_err *nets_err_copy(const struct cnr_err *e);
/* One audit record; takes args. */
void nets_audit(const char *op, json_t *args, struct cnr_err *err);

int nets_all(struct net ***out, size_t *n, struct cnr_err **err);
/* By name, id or unambiguous id prefix; NULL with ENOENT or EINVAL. */
struct net *nets_find(const char *ref, struct cnr_err **err);
int nets_insert(const struct net *n, struct cnr_err **err);
int nets_exec(const char *sql, const char *a, const char *b, struct cnr_err **err);
int nets_atts(const char *cid, struct att **out, size_t *n, struct cnr_err **err);
void nets_atts_free(struct att *v, size_t n);
bool nets_has_handle(const char *cid);
char *nets_handle_find(const char *ref, struct cnr_err **err);

char *nets_conflist(const struct net *n);
int nets_cni(const char *cmd, const char *cid, const char *ifname, const struct net *n, const char *capargs,
             const char *prev, cnr_reply_cb cb, void *arg, struct cnr_err **err);
/* CNI DEL of the container's networks (only that one with `only`), then,
 * without `only`, its handle; serialised per container (EBUSY). */
int nets_detach(const char *cid, const char *only, sup_net_done_cb cb, void *arg, struct cnr_err **err);
/* netd's isolation chains rewritten with every network's bridge (after
 * start, create, rm); errors are logged. */
void nets_isolation_sync(void);
/* BridgeCheck of a network's bridge against its gateway; may delete a
 * stale bridge no attachment uses. */
int nets_bridge_check(const struct net *n, cnr_reply_cb cb, void *arg, struct cnr_err **err);
/* The same with the addresses given (none: any IPv4 address is stale). */
int nets_bridge_check_raw(const char *bridge, char **addrs, size_t naddrs, cnr_reply_cb cb, void *arg,
                          struct cnr_err **err);
bool nets_bridge_is_verified(const char *bridge);
void nets_bridge_verified(const char *bridge);
void nets_bridge_forget(const char *bridge);
/* A full detach of the container is in flight (run --rm's, after the
 * record went); nets_detach_wait: cb when it ends (1), or 0 if none. */
bool nets_detaching(const char *cid);
int nets_detach_wait(const char *cid, sup_net_done_cb cb, void *arg);
/* networks_cmd.c: --ip/--ip6 checked against network n and turned into
 * "addr/len" for host-local (NULL when not given). */
int nets_ips_cidr(const struct net *n, const char *ip, const char *ip6, char **out4, char **out6, struct cnr_err **err);
/* networks_cmd.c: the default network's IPv6 subnet follows the config
 * while nothing is attached to it. */
int nets_default_ipv6_follow(struct cnr_err **err);
/* networks_cmd.c: fn once the default network exists. */
int nets_ensure_default(void (*fn)(struct sup *s, struct cnr_err *err, void *arg), void *arg, struct cnr_err **err);

#endif
