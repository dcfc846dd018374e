/* Container networks: records in the database, CNI conflists, and the
 * attachments of containers to networks.  The supervisor decides, netd
 * does (ipc/helper.proto cases 50-59): it creates the network namespace
 * (a persistent handle, bind-mounted at <run_root>/netns/<container id>),
 * runs the CNI plugins of a network's conflist (ADD, DEL, CHECK) and
 * removes the handle.
 *
 * Lifecycle of a container's networking, for supervisor/containers*.c:
 *
 *   create/start:  sup_network_attach(s, &req, cb, arg)
 *                    -> cb(netns fd, IPs, /etc/hosts and /etc/resolv.conf
 *                       contents); pass the netns fd to the shim
 *                       (CNR_SHIM_NET_FD) and the two files in the spec.
 *   stop / exit:   sup_network_detach(s, id, cb, arg): CNI DEL in reverse
 *                    order for every network, then the handle is removed.
 *                    Idempotent: detaching a container with no attachment
 *                    succeeds.
 *   rm:            the same detach (nothing to do if stop did it).
 *   --network host: no call at all (the shim keeps the host's netns).
 *   --network none: sup_network_attach with nnetworks = 0: a namespace
 *                    with only `lo`, no CNI.
 *
 * Every attachment is recorded in the database before CNI ADD runs, so a
 * crash at any point leaves a record that start-up cleanup finds: CNI DEL
 * for each network (DEL is idempotent) and the handle removed, for every
 * attachment whose container is gone (sup_networks_reconcile).
 */
#ifndef CNR_SUP_NETWORKS_H
#define CNR_SUP_NETWORKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct sup;

/* The default network: Docker's name for it. */
#define CNR_NET_DEFAULT "bridge"
/* Its bridge: networks.default_bridge in containr.yaml (default containr0). */

/* -p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp] */
struct sup_port_map {
        uint16_t host_port;
        uint16_t container_port;
        bool udp;            /* false: tcp */
        const char *host_ip; /* NULL or "" = every address */
};

struct sup_net_request {
        const char *container_id;    /* [A-Za-z0-9][A-Za-z0-9_.-]*, the CNI container id */
        const char *container_name;  /* for inspect; may be NULL */
        const char *hostname;        /* for /etc/hosts; NULL = container_id's first 12 */
        const char *const *networks; /* names (CNR_NET_DEFAULT for --network bridge) */
        size_t nnetworks;            /* 0: --network none (lo only) */
        const struct sup_port_map *ports;
        size_t nports;
        const char *ip;  /* --ip: IPv4 address on networks[0]; NULL/"" = host-local's choice */
        const char *ip6; /* --ip6: IPv6 address on networks[0] (a dual-stack network) */
};

/* One interface of an attached container, from the CNI result. */
struct sup_net_ip {
        char *network; /* network name */
        char *ifname;  /* eth0, eth1, ... */
        char *address; /* CIDR, e.g. 10.88.0.5/24 */
        char *gateway; /* may be NULL */
        char *mac;     /* may be NULL */
};

struct sup_net_attachment {
        int netns_fd;     /* the namespace; the callback may take it (set -1), else it is closed after */
        char *netns_path; /* <run_root>/netns/<id>, the persistent handle */
        struct sup_net_ip *ips;
        size_t nips;
        char *etc_hosts;       /* contents for the container's /etc/hosts */
        char *etc_resolv_conf; /* contents for its /etc/resolv.conf */
};

/* a is NULL when err is set; either is valid only during the call. */
typedef void (*sup_net_attach_cb)(struct sup *s, struct sup_net_attachment *a, struct cnr_err *err, void *arg);
typedef void (*sup_net_done_cb)(struct sup *s, struct cnr_err *err, void *arg);

/* Start-up: tables, the default network (created on first start with a
 * subnet from the configured pool), cleanup of handles without a record. */
int sup_networks_start(struct sup *s, struct cnr_err **err);
void sup_networks_stop(struct sup *s);
/* netd said HELLO (the first one runs the start-up cleanup of dead attachments). */
void sup_networks_helper_up(struct sup *s);

/* Attach a container (see above).  On failure nothing stays behind: the
 * networks already added are deleted again before cb reports the error.
 * Returns < 0 (and no cb) when the request is refused at once (unknown
 * network, bad id, already attached). */
int sup_network_attach(struct sup *s, const struct sup_net_request *req, sup_net_attach_cb cb, void *arg,
                       struct cnr_err **err);
/* --ip / --ip6 for a container on `network` (its --network): only a
 * network made with `network create` (as Docker), an address of its
 * subnet that is neither the subnet's own, its broadcast nor the gateway;
 * --ip6 only on a dual-stack one.  0, or -1 with EINVAL/ENOENT. */
int sup_network_check_ips(struct sup *s, const char *network, const char *ip, const char *ip6, struct cnr_err **err);
/* CNI DEL for every network of the container, then its handle. */
int sup_network_detach(struct sup *s, const char *container_id, sup_net_done_cb cb, void *arg, struct cnr_err **err);

/* Start-up cleanup of attachments whose container is gone: `known` says
 * whether a container id still has a record.  The lifecycle code calls it
 * once its records are loaded; until then nothing is removed (a running
 * container keeps its network across a supervisor restart). */
typedef bool (*sup_net_known_fn)(struct sup *s, const char *container_id, void *arg);
void sup_networks_reconcile(struct sup *s, sup_net_known_fn known, void *arg);

void sup_net_attachment_clear(struct sup_net_attachment *a);

/* Parse -p as typed: [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp].  A host IP
 * is copied into ipbuf (out->host_ip points there). */
int sup_port_map_parse(const char *s, struct sup_port_map *out, char *ipbuf, size_t ipbuflen, struct cnr_err **err);

/* ---- the `network` commands (api_networks.c) ---- */

struct sup_net_create {
        const char *name;
        const char *subnet;   /* NULL/"" = from the pool */
        const char *gateway;  /* NULL/"" = the subnet's first address */
        bool ipv6;            /* dual stack (implied by subnet6) */
        const char *subnet6;  /* NULL/"" with ipv6: a random ULA /64 (fdXX:XXXX:XXXX::/64) */
        const char *gateway6; /* NULL/"" = the subnet's ::1 */
        char *const *labels;  /* "K=V" */
        size_t nlabels;
        char *const *options; /* "mtu=N", "bridge=cnr-NAME" */
        size_t noptions;
};
typedef void (*sup_net_create_cb)(struct sup *s, const char *id, const char *subnet, const char *gateway,
                                  const char *subnet6, struct cnr_err *err, void *arg);
int sup_network_create(struct sup *s, const struct sup_net_create *req, sup_net_create_cb cb, void *arg,
                       struct cnr_err **err);
/* Refused (EBUSY) while containers are attached; removes the bridge and
 * the network's IPAM state. */
int sup_network_remove(struct sup *s, const char *ref, sup_net_done_cb cb, void *arg, struct cnr_err **err);
typedef void (*sup_net_connect_cb)(struct sup *s, const char *container_id, const char *ifname, const char *address,
                                   struct cnr_err *err, void *arg);
int sup_network_connect(struct sup *s, const char *network, const char *container, sup_net_connect_cb cb, void *arg,
                        struct cnr_err **err);
int sup_network_disconnect(struct sup *s, const char *network, const char *container, sup_net_connect_cb cb, void *arg,
                           struct cnr_err **err);
/* ls (names empty, missing NULL: the summary) and inspect (full records;
 * names not found are appended to missing). */
#include <jansson.h>
json_t *sup_networks_json(struct sup *s, char *const *names, size_t n, json_t *missing, struct cnr_err **err);

#endif
