/* Networks: the subnet choice, network create (and the default network),
 * connect, disconnect, remove, the JSON of ls and inspect, and -p parsing.
 * The records and the attach/detach machinery are in networks.c. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cidr.h"
#include "common/log.h"
#include "common/util.h"
#include "ipc/helper.pb-c.h"
#include "supervisor/networks_int.h"
#include "supervisor/sup.h"

/* ---- subnets ------------------------------------------------------------ */

static bool
overlaps_any(const struct cnr_cidr4 *c, struct cnr_cidr4 *v, size_t n, size_t *which)
{
        for (size_t i = 0; i < n; i++)
                if (cnr_cidr4_overlap(c, &v[i])) {
                        if (which)
                                *which = i;
                        return true;
                }
        return false;
}

/* The first subnet of the configured size in the pool that overlaps
 * neither a host route nor another network. */
static int
pick_subnet(struct cnr_cidr4 *routes, size_t nroutes, struct cnr_cidr4 *taken, size_t ntaken, struct cnr_cidr4 *out,
            struct cnr_err **err)
{
        const struct cnr_config_networks *cfg = &N.s->d->cfg.net;
        unsigned len = cfg->subnet_prefix;

        for (size_t i = 0; i < cfg->npool; i++) {
                struct cnr_cidr4 pool;
                uint64_t count, step;

                if (cnr_cidr4_parse(cfg->pool[i], true, &pool) < 0 || pool.len > len)
                        continue;
                count = 1ULL << (len - pool.len);
                step = 1ULL << (32 - len);
                for (uint64_t k = 0; k < count; k++) {
                        struct cnr_cidr4 c = {.addr = pool.addr + (uint32_t)(k * step), .len = len};

                        if (!overlaps_any(&c, routes, nroutes, NULL) && !overlaps_any(&c, taken, ntaken, NULL)) {
                                *out = c;
                                return 0;
                        }
                }
        }
        return cnr_errf(err, ENOSPC,
                        "no free /%u subnet left in the pool (networks.pool in containr.yaml): every "
                        "one overlaps a route on the host or another network",
                        len);
}

static size_t
taken_subnets(struct net **all, size_t n, struct cnr_cidr4 **out)
{
        size_t k = 0;

        *out = xcalloc(n + 1, sizeof(**out));
        for (size_t i = 0; i < n; i++)
                if (cnr_cidr4_parse(all[i]->subnet, false, &(*out)[k]) == 0)
                        k++;
        return k;
}

static void
random_hex(char *out, size_t bytes)
{
        unsigned char b[32];

        if (bytes > sizeof(b) || getrandom(b, bytes, 0) != (ssize_t)bytes)
                abort();
        for (size_t i = 0; i < bytes; i++)
                snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ---- network create ----------------------------------------------------- */

struct create_op {
        char *name, *subnet, *gateway, *options, *labels, *bridge;
        bool ipv6;
        char *subnet6, *gateway6;
        sup_net_create_cb cb;
        void *arg;
};

static void
create_op_free(struct create_op *o)
{
        free(o->name);
        free(o->subnet);
        free(o->gateway);
        free(o->subnet6);
        free(o->gateway6);
        free(o->options);
        free(o->labels);
        free(o->bridge);
        free(o);
}

/* The IPv6 half of a dual-stack network: the subnet given (a prefix of
 * /48 to /120, host bits zero) or a random unique local /64 (RFC 4193),
 * overlapping neither another network's nor a route of the host; the
 * gateway given (inside, not the subnet's own address) or its ::1. */
static int
pick_subnet6(struct create_op *o, struct net **all, size_t nall, struct cnr_cidr6 *routes6, size_t nroutes6, char *sbuf,
             size_t slen, char *gbuf, size_t glen, struct cnr_err **err)
{
        struct cnr_cidr6 sub, other;
        uint8_t g[16];

        if (o->subnet6) {
                if (cnr_cidr6_parse(o->subnet6, true, &sub) < 0 || sub.len < 48 || sub.len > 120)
                        return cnr_errf(err, EINVAL,
                                        "subnet `%s`: not an IPv6 prefix /48 to /120 with its host bits zero",
                                        o->subnet6);
        } else {
                for (int tries = 0;; tries++) {
                        bool clash = false;

                        memset(&sub, 0, sizeof(sub));
                        sub.addr[0] = 0xfd;
                        if (getrandom(sub.addr + 1, 5, 0) != 5)
                                abort();
                        sub.len = 64;
                        for (size_t i = 0; i < nroutes6 && !clash; i++)
                                clash = cnr_cidr6_overlap(&sub, &routes6[i]);
                        for (size_t i = 0; i < nall && !clash; i++)
                                clash = cnr_cidr6_parse(all[i]->subnet6, false, &other) == 0 &&
                                        cnr_cidr6_overlap(&sub, &other);
                        if (!clash)
                                break;
                        if (tries > 16)
                                return cnr_errf(err, ENOSPC, "no free unique local IPv6 /64 found: give --subnet");
                }
        }
        cnr_cidr6_format(&sub, sbuf, slen);
        for (size_t i = 0; i < nall; i++)
                if (cnr_cidr6_parse(all[i]->subnet6, false, &other) == 0 && cnr_cidr6_overlap(&sub, &other))
                        return cnr_errf(err, EEXIST, "subnet %s overlaps network `%s` (%s)", sbuf, all[i]->name,
                                        all[i]->subnet6);
        for (size_t i = 0; i < nroutes6; i++)
                if (cnr_cidr6_overlap(&sub, &routes6[i])) {
                        char rbuf[64];
                        return cnr_errf(err, EEXIST, "subnet %s overlaps %s, routed on the host", sbuf,
                                        cnr_cidr6_format(&routes6[i], rbuf, sizeof(rbuf)));
                }
        if (o->gateway6) {
                if (inet_pton(AF_INET6, o->gateway6, g) != 1)
                        return cnr_errf(err, EINVAL, "gateway `%s`: not an IPv6 address", o->gateway6);
                if (!cnr_cidr6_contains(&sub, g) || memcmp(g, sub.addr, 16) == 0)
                        return cnr_errf(err, EINVAL, "gateway %s is not a host address of %s", o->gateway6, sbuf);
        } else {
                memcpy(g, sub.addr, 16);
                g[15] |= 1;
        }
        if (inet_ntop(AF_INET6, g, gbuf, (socklen_t)glen) == NULL)
                return cnr_errf(err, EINVAL, "gateway of %s: cannot format it", sbuf);
        return 0;
}

static int
do_create(struct create_op *o, struct cnr_cidr4 *routes, size_t nroutes, struct cnr_cidr6 *routes6, size_t nroutes6,
          struct net **out, struct cnr_err **err)
{
        struct net **all = NULL, n = {0};
        struct cnr_cidr4 sub, *taken = NULL;
        size_t nall = 0, ntaken, which;
        char id[65], sbuf[32], gbuf[INET_ADDRSTRLEN], s6buf[64], g6buf[INET6_ADDRSTRLEN];
        int rc = -1;

        if (nets_all(&all, &nall, err) < 0)
                return -1;
        for (size_t i = 0; i < nall; i++)
                if (strcmp(all[i]->name, o->name) == 0) {
                        cnr_errf(err, EEXIST, "network `%s` already exists", o->name);
                        goto out;
                }
        ntaken = taken_subnets(all, nall, &taken);
        if (o->subnet) {
                if (cnr_cidr4_parse(o->subnet, true, &sub) < 0 || sub.len < 8 || sub.len > 30) {
                        cnr_errf(err, EINVAL, "subnet `%s`: not an IPv4 prefix /8 to /30 with its host bits zero",
                                 o->subnet);
                        goto out;
                }
                if (overlaps_any(&sub, taken, ntaken, &which)) {
                        cnr_errf(err, EEXIST, "subnet %s overlaps network `%s` (%s)", o->subnet, all[which]->name,
                                 all[which]->subnet);
                        goto out;
                }
                if (overlaps_any(&sub, routes, nroutes, &which)) {
                        cnr_errf(err, EEXIST, "subnet %s overlaps %s, routed on the host", o->subnet,
                                 cnr_cidr4_format(&routes[which], sbuf, sizeof(sbuf)));
                        goto out;
                }
        } else if (pick_subnet(routes, nroutes, taken, ntaken, &sub, err) < 0) {
                goto out;
        }
        cnr_cidr4_format(&sub, sbuf, sizeof(sbuf));
        if (o->gateway) {
                struct in_addr ga;
                uint32_t g;

                if (inet_pton(AF_INET, o->gateway, &ga) != 1) {
                        cnr_errf(err, EINVAL, "gateway `%s`: not an IPv4 address", o->gateway);
                        goto out;
                }
                g = ntohl(ga.s_addr);
                if ((g & cnr_cidr4_mask(sub.len)) != sub.addr || g == sub.addr ||
                    g == (sub.addr | ~cnr_cidr4_mask(sub.len))) {
                        cnr_errf(err, EINVAL, "gateway %s is not a host address of %s", o->gateway, sbuf);
                        goto out;
                }
                snprintf(gbuf, sizeof(gbuf), "%s", o->gateway);
        } else {
                cnr_ip4_format(sub.addr + 1, gbuf, sizeof(gbuf));
        }
        s6buf[0] = g6buf[0] = '\0';
        if (o->ipv6 &&
            pick_subnet6(o, all, nall, routes6, nroutes6, s6buf, sizeof(s6buf), g6buf, sizeof(g6buf), err) < 0)
                goto out;
        random_hex(id, 32);
        n.id = id;
        n.name = o->name;
        n.driver = (char *)"bridge";
        n.subnet = sbuf;
        n.gateway = gbuf;
        n.subnet6 = s6buf;
        n.gateway6 = g6buf;
        n.options = o->options ? o->options : (char *)"{}";
        n.labels = o->labels ? o->labels : (char *)"{}";
        n.created = (long long)time(NULL);
        if (o->bridge) {
                n.bridge = o->bridge;
        } else {
                n.bridge = xasprintf("cnr-%.8s", id);
        }
        for (size_t i = 0; i < nall; i++)
                if (strcmp(all[i]->bridge, n.bridge) == 0) {
                        cnr_errf(err, EEXIST, "bridge `%s` is already network `%s`'s", n.bridge, all[i]->name);
                        goto out2;
                }
        if (nets_insert(&n, err) < 0)
                goto out2;
        *out = nets_find(n.id, err);
        rc = *out ? 0 : -1;
out2:
        if (n.bridge != o->bridge)
                free(n.bridge);
out:
        free(taken);
        nets_free(all, nall);
        return rc;
}

static void
on_routes(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct create_op *o = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own);
        Cnr__Helper__FromHelper *m = (Cnr__Helper__FromHelper *)env;
        struct cnr_cidr4 *routes = NULL;
        struct cnr_cidr6 *routes6 = NULL;
        size_t nr = 0, nr6 = 0;
        struct net *n = NULL;

        if (e == NULL && m->msg_case != CNR__HELPER__FROM_HELPER__MSG_ROUTES) {
                cnr_errf(&own, EPROTO, "netd answered RouteList with case %d", (int)m->msg_case);
                e = own;
        }
        if (e == NULL) {
                routes = xcalloc(m->routes->n_prefixes + 1, sizeof(*routes));
                for (size_t i = 0; i < m->routes->n_prefixes; i++)
                        if (cnr_cidr4_parse(m->routes->prefixes[i], false, &routes[nr]) == 0)
                                nr++;
                routes6 = xcalloc(m->routes->n_prefixes6 + 1, sizeof(*routes6));
                for (size_t i = 0; i < m->routes->n_prefixes6; i++)
                        if (cnr_cidr6_parse(m->routes->prefixes6[i], false, &routes6[nr6]) == 0)
                                nr6++;
                if (do_create(o, routes, nr, routes6, nr6, &n, &own) < 0)
                        e = own;
        } else {
                if (e != own)
                        own = nets_err_copy(e);
                cnr_err_wrap(&own, "list the host's routes (netd)");
                e = own;
        }
        nets_audit("network_create",
                   json_pack("{s:s, s:s?, s:s?, s:s?}", "name", o->name, "subnet", n ? n->subnet : o->subnet, "subnet6",
                             n ? n->subnet6 : o->subnet6, "id", n ? n->id : NULL),
                   e);
        if (e == NULL) {
                log_info("network `%s` created: %s%s%s, gateway %s, bridge %s", n->name, n->subnet,
                         n->subnet6[0] ? " " : "", n->subnet6, n->gateway, n->bridge);
                nets_bridge_verified(n->bridge);
                nets_isolation_sync();
        }
        o->cb(N.s, n ? n->id : NULL, n ? n->subnet : NULL, n ? n->gateway : NULL, n ? n->subnet6 : NULL, e, o->arg);
        nets_net_free(n);
        free(routes);
        free(routes6);
        cnr_err_free(&own);
        create_op_free(o);
}

static int
create_routes(struct create_op *o, struct cnr_err **err)
{
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__RouteList rl = CNR__HELPER__ROUTE_LIST__INIT;

        env.op_case = CNR__HELPER__TO_HELPER__OP_ROUTE_LIST;
        env.route_list = &rl;
        return sup_helper_request_fds(N.s, CNR_HELPER_NETD, env.op_case, &env.base, NULL, 0, 0, on_routes, o, err);
}

static void
on_create_checked(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct create_op *o = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own), *e2 = NULL;

        if (e == NULL && create_routes(o, &e2) >= 0) {
                cnr_err_free(&own);
                return;
        }
        if (e2 == NULL)
                e2 = nets_err_copy(e);
        cnr_err_wrap(&e2, "network `%s`", o->name);
        nets_audit("network_create", json_pack("{s:s, s:s}", "name", o->name, "bridge", o->bridge), e2);
        o->cb(N.s, NULL, NULL, NULL, NULL, e2, o->arg);
        cnr_err_free(&e2);
        cnr_err_free(&own);
        create_op_free(o);
}

/* A bridge named by the caller (the default network's, bridge=) may
 * exist already: one with an address (a crashed earlier install) would
 * also claim its route, so it is removed (or reported) before the subnet
 * is chosen.  A cnr-<id> bridge is new by construction. */
static int
create_send(struct create_op *o, struct cnr_err **err)
{
        struct net **all = NULL;
        size_t n = 0;
        bool ours = false;

        if (o->bridge == NULL)
                return create_routes(o, err);
        if (nets_all(&all, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                ours = ours || strcmp(all[i]->bridge, o->bridge) == 0;
        nets_free(all, n);
        if (ours) /* another network's: do_create says so */
                return create_routes(o, err);
        return nets_bridge_check_raw(o->bridge, NULL, 0, on_create_checked, o, err);
}

int
sup_network_create(struct sup *s, const struct sup_net_create *req, sup_net_create_cb cb, void *arg,
                   struct cnr_err **err)
{
        struct create_op *o;
        json_t *opts = json_object(), *labels = json_object();
        const char *bridge = NULL;

        if (!nets_valid_name(req->name))
                return cnr_errf(err, EINVAL, "network name `%s`: not [A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
                                req->name ? req->name : "");
        if (strcmp(req->name, "host") == 0 || strcmp(req->name, "none") == 0)
                return cnr_errf(err, EINVAL, "network name `%s` is reserved (--network %s)", req->name, req->name);
        for (size_t i = 0; i < req->nlabels; i++) {
                const char *eq = strchr(req->labels[i], '=');
                _cleanup_free_ char *k = eq ? xstrndup(req->labels[i], (size_t)(eq - req->labels[i])) : NULL;

                if (k == NULL || k[0] == '\0') {
                        json_decref(opts);
                        json_decref(labels);
                        return cnr_errf(err, EINVAL, "label `%s`: expected KEY=VALUE", req->labels[i]);
                }
                json_object_set_new(labels, k, json_string(eq + 1));
        }
        for (size_t i = 0; i < req->noptions; i++) {
                const char *opt = req->options[i];
                unsigned long long v;

                if (strncmp(opt, "mtu=", 4) == 0 && cnr_parse_uint(opt + 4, 65535, &v) == 0 && v >= 576) {
                        json_object_set_new(opts, "mtu", json_integer((json_int_t)v));
                } else if (strncmp(opt, "bridge=", 7) == 0 && strncmp(opt + 7, "cnr-", 4) == 0 &&
                           strlen(opt + 7) < 16 && strlen(opt + 7) > 4 &&
                           strspn(opt + 7, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(opt + 7)) {
                        bridge = opt + 7;
                        json_object_set_new(opts, "bridge", json_string(bridge));
                } else {
                        json_decref(opts);
                        json_decref(labels);
                        return cnr_errf(err, EINVAL,
                                        "option `%s`: expected mtu=576..65535 or bridge=cnr-NAME (at most "
                                        "15 characters, lower case, digits, -)",
                                        opt);
                }
        }
        if (!nets_netd_up()) {
                json_decref(opts);
                json_decref(labels);
                return cnr_errf(err, EAGAIN, "netd is not up yet: try again");
        }
        o = xcalloc(1, sizeof(*o));
        o->name = xstrdup(req->name);
        o->subnet = req->subnet && req->subnet[0] ? xstrdup(req->subnet) : NULL;
        o->gateway = req->gateway && req->gateway[0] ? xstrdup(req->gateway) : NULL;
        o->subnet6 = req->subnet6 && req->subnet6[0] ? xstrdup(req->subnet6) : NULL;
        o->gateway6 = req->gateway6 && req->gateway6[0] ? xstrdup(req->gateway6) : NULL;
        o->ipv6 = req->ipv6 || o->subnet6 || o->gateway6;
        o->bridge = bridge ? xstrdup(bridge) : NULL;
        o->options = json_dumps(opts, JSON_COMPACT | JSON_SORT_KEYS);
        o->labels = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
        o->cb = cb;
        o->arg = arg;
        json_decref(opts);
        json_decref(labels);
        if (create_send(o, err) < 0) {
                create_op_free(o);
                return -1;
        }
        return 0;
}

/* ---- the default network ----------------------------------------------- */

static int sup_network_create_bridge(struct sup *s, const struct sup_net_create *req, const char *bridge,
                                     sup_net_create_cb cb, void *arg, struct cnr_err **err);

static void
on_default_created(struct sup *s, const char *id, const char *subnet, const char *gateway, const char *subnet6,
                   struct cnr_err *err, void *arg)
{
        struct waiter *w = N.waiters;

        N.ensuring = false;
        N.waiters = NULL;
        if (err)
                log_error("default network `%s`: %s", CNR_NET_DEFAULT, cnr_err_str(err));
        while (w) {
                struct waiter *next = w->next;
                w->fn(s, err, w->arg);
                free(w);
                w = next;
        }
}

/* Calls fn once the default network exists (at once if it does). */
int
nets_ensure_default(void (*fn)(struct sup *s, struct cnr_err *err, void *arg), void *arg, struct cnr_err **err)
{
        struct net *n;
        struct cnr_err *e = NULL;
        struct waiter *w;

        n = nets_find(CNR_NET_DEFAULT, &e);
        if (n) {
                nets_net_free(n);
                fn(N.s, NULL, arg);
                return 0;
        }
        if (e->code != ENOENT) {
                *err = e;
                return -1;
        }
        cnr_err_free(&e);
        w = xcalloc(1, sizeof(*w));
        w->fn = fn;
        w->arg = arg;
        w->next = N.waiters;
        N.waiters = w;
        if (!N.ensuring) {
                struct sup_net_create req = {.name = CNR_NET_DEFAULT};

                N.ensuring = true;
                if (sup_network_create_bridge(N.s, &req, N.s->d->cfg.net.default_bridge, on_default_created, NULL,
                                              err) < 0) {
                        N.ensuring = false;
                        N.waiters = w->next;
                        free(w);
                        return -1;
                }
        }
        return 0;
}

/* networks.default_ipv6_subnet changed since the default network was
 * made: its record follows while no container is attached to it (the
 * conflist is generated from the record at every attach); otherwise the
 * change waits for a start without attachments.  0, or -1 with err. */
int
nets_default_ipv6_follow(struct cnr_err **err)
{
        const char *want = N.s->d->cfg.net.default_ipv6_subnet;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct net *def = nets_find(CNR_NET_DEFAULT, err), **all = NULL;
        struct cnr_cidr6 w, have, other;
        char sbuf[64] = "", gbuf[INET6_ADDRSTRLEN] = "";
        size_t nall = 0;
        int rc = -1;

        if (def == NULL)
                return (*err)->code == ENOENT ? (cnr_err_free(err), 0) : -1;
        if (want == NULL && def->subnet6[0] == '\0')
                goto ok;
        if (want && cnr_cidr6_parse(want, true, &w) == 0 && cnr_cidr6_parse(def->subnet6, true, &have) == 0 &&
            cnr_cidr6_overlap(&w, &have) && w.len == have.len)
                goto ok;
        if (cnr_db_prepare(N.s->db, "SELECT 1 FROM net_attachments WHERE network_id = ?1 LIMIT 1", &st, err) < 0)
                goto out;
        sqlite3_bind_text(st, 1, def->id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
                cnr_errf(err, EBUSY,
                         "networks.default_ipv6_subnet is `%s` but the default network has `%s`: it changes at a "
                         "start of containrd with no container attached to it",
                         want ? want : "(none)", def->subnet6[0] ? def->subnet6 : "(none)");
                goto out;
        }
        if (want) {
                if (cnr_cidr6_parse(want, true, &w) < 0) {
                        cnr_errf(err, EINVAL, "networks.default_ipv6_subnet `%s`: not an IPv6 prefix", want);
                        goto out;
                }
                if (nets_all(&all, &nall, err) < 0)
                        goto out;
                for (size_t i = 0; i < nall; i++)
                        if (strcmp(all[i]->id, def->id) != 0 && cnr_cidr6_parse(all[i]->subnet6, false, &other) == 0 &&
                            cnr_cidr6_overlap(&w, &other)) {
                                cnr_errf(err, EEXIST, "networks.default_ipv6_subnet %s overlaps network `%s` (%s)",
                                         want, all[i]->name, all[i]->subnet6);
                                goto out;
                        }
                cnr_cidr6_format(&w, sbuf, sizeof(sbuf));
                w.addr[15] |= 1;
                inet_ntop(AF_INET6, w.addr, gbuf, sizeof(gbuf));
        }
        if (nets_exec("UPDATE networks SET subnet6 = ?1, gateway6 = ?2 WHERE name = 'bridge'", sbuf, gbuf, err) < 0)
                goto out;
        log_info("default network `%s`: IPv6 subnet now %s (networks.default_ipv6_subnet)", CNR_NET_DEFAULT,
                 sbuf[0] ? sbuf : "none");
ok:
        rc = 0;
out:
        nets_free(all, nall);
        nets_net_free(def);
        return rc;
}

/* The default network's bridge is containr0, which the bridge= option
 * (cnr-* only) cannot name. */
static int
sup_network_create_bridge(struct sup *s, const struct sup_net_create *req, const char *bridge, sup_net_create_cb cb,
                          void *arg, struct cnr_err **err)
{
        struct create_op *o;

        if (!nets_netd_up())
                return cnr_errf(err, EAGAIN, "netd is not up yet: try again");
        o = xcalloc(1, sizeof(*o));
        o->name = xstrdup(req->name);
        o->subnet = req->subnet && req->subnet[0] ? xstrdup(req->subnet) : NULL;
        /* IPv4 only unless networks.default_ipv6_subnet says otherwise */
        if (N.s->d->cfg.net.default_ipv6_subnet) {
                o->ipv6 = true;
                o->subnet6 = xstrdup(N.s->d->cfg.net.default_ipv6_subnet);
        }
        o->bridge = xstrdup(bridge);
        o->options = xstrdup("{}");
        o->labels = xstrdup("{}");
        o->cb = cb;
        o->arg = arg;
        if (create_send(o, err) < 0) {
                create_op_free(o);
                return -1;
        }
        return 0;
}

/* ---- connect / disconnect ----------------------------------------------- */

struct connect_op {
        char *cid, *ifname;
        struct net *net;
        sup_net_connect_cb cb;
        void *arg;
};

static void
connect_free(struct connect_op *o)
{
        free(o->cid);
        free(o->ifname);
        nets_net_free(o->net);
        free(o);
}

static void
on_connect_undone(struct sup *s, struct cnr_err *err, void *arg)
{
        /* nothing: the error was reported already */
}

static void
on_connect_add(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct connect_op *o = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own), *dbe = NULL, *e2 = NULL;
        Cnr__Helper__FromHelper *m = (Cnr__Helper__FromHelper *)env;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        const char *addr = NULL;
        json_t *r = NULL;

        if (e == NULL && m->msg_case != CNR__HELPER__FROM_HELPER__MSG_CNI_RESULT) {
                cnr_errf(&own, EPROTO, "netd answered CniExec with case %d", (int)m->msg_case);
                e = own;
        }
        if (e == NULL) {
                if (cnr_db_prepare(N.s->db,
                                   "UPDATE net_attachments SET state = 'attached', result = ?3"
                                   " WHERE container_id = ?1 AND network_id = ?2",
                                   &st, &dbe) == 0) {
                        sqlite3_bind_text(st, 1, o->cid, -1, SQLITE_STATIC);
                        sqlite3_bind_text(st, 2, o->net->id, -1, SQLITE_STATIC);
                        sqlite3_bind_text(st, 3, m->cni_result->result, -1, SQLITE_STATIC);
                        if (sqlite3_step(st) != SQLITE_DONE)
                                cnr_db_err(N.s->db, &dbe, "record the CNI result");
                }
                e = dbe;
                r = json_loads(m->cni_result->result, 0, NULL);
                addr = json_string_value(json_object_get(json_array_get(json_object_get(r, "ips"), 0), "address"));
        }
        nets_audit("network_connect",
                   json_pack("{s:s, s:s, s:s, s:s?}", "container", o->cid, "network", o->net->name, "ifname", o->ifname,
                             "address", addr),
                   e);
        nets_busy_drop(o->cid);
        o->cb(N.s, o->cid, o->ifname, addr, e, o->arg);
        if (e && nets_detach(o->cid, o->net->id, on_connect_undone, NULL, &e2) < 0)
                cnr_err_free(&e2);
        json_decref(r);
        cnr_err_free(&own);
        cnr_err_free(&dbe);
        connect_free(o);
}

/* The row (before ADD: crash ordering), then CNI ADD. */
static int
connect_add(struct connect_op *o, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        if (cnr_db_prepare(N.s->db,
                           "INSERT INTO net_attachments (container_id, network_id, ifname, state, created)"
                           " VALUES (?1, ?2, ?3, 'adding', ?4)",
                           &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, o->cid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, o->net->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, o->ifname, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (long long)time(NULL));
        if (sqlite3_step(st) != SQLITE_DONE)
                return cnr_db_err(N.s->db, err, "record the attachment");
        if (nets_cni("ADD", o->cid, o->ifname, o->net, NULL, NULL, on_connect_add, o, err) < 0) {
                nets_exec("DELETE FROM net_attachments WHERE container_id = ?1 AND network_id = ?2", o->cid, o->net->id,
                          NULL);
                return -1;
        }
        return 0;
}

static void
on_connect_checked(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct connect_op *o = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own), *e2 = NULL;

        if (e == NULL) {
                nets_bridge_verified(o->net->bridge);
                if (connect_add(o, &e2) == 0) {
                        cnr_err_free(&own);
                        return;
                }
        } else {
                e2 = nets_err_copy(e);
        }
        cnr_err_wrap(&e2, "network `%s`", o->net->name);
        nets_audit("network_connect", json_pack("{s:s, s:s}", "container", o->cid, "network", o->net->name), e2);
        nets_busy_drop(o->cid);
        o->cb(N.s, o->cid, NULL, NULL, e2, o->arg);
        cnr_err_free(&e2);
        cnr_err_free(&own);
        connect_free(o);
}

int
sup_network_connect(struct sup *s, const char *network, const char *container, sup_net_connect_cb cb, void *arg,
                    struct cnr_err **err)
{
        struct connect_op *o;
        struct att *atts = NULL;
        size_t n = 0, idx = 0;
        char *cid;
        struct net *net;

        if (!nets_netd_up())
                return cnr_errf(err, EAGAIN, "netd is not up yet: try again");
        net = nets_find(network, err);
        if (net == NULL)
                return -1;
        cid = nets_handle_find(container, err);
        if (cid == NULL) {
                nets_net_free(net);
                return -1;
        }
        if (nets_atts(cid, &atts, &n, err) < 0)
                goto fail;
        for (size_t i = 0; i < n; i++) {
                unsigned long long k;
                if (strcmp(atts[i].network_id, net->id) == 0) {
                        cnr_errf(err, EEXIST, "container `%.12s` is already on network `%s`", cid, net->name);
                        goto fail;
                }
                if (cnr_parse_uint(atts[i].ifname + 3, 99, &k) == 0 && k + 1 > idx)
                        idx = (size_t)k + 1;
        }
        if (idx > 99) {
                cnr_errf(err, ENOSPC, "container `%.12s`: no interface name left", cid);
                goto fail;
        }
        if (nets_busy_take(cid, err) < 0)
                goto fail;
        o = xcalloc(1, sizeof(*o));
        o->cid = cid;
        o->net = net;
        o->ifname = xasprintf("eth%zu", idx);
        o->cb = cb;
        o->arg = arg;
        nets_atts_free(atts, n);
        /* the network's first use since start: its bridge is checked
         * first, before this attachment's row makes it look used */
        if (nets_bridge_is_verified(net->bridge) ? connect_add(o, err) < 0
                                                 : nets_bridge_check(net, on_connect_checked, o, err) < 0) {
                nets_busy_drop(o->cid);
                connect_free(o);
                return -1;
        }
        return 0;
fail:
        nets_atts_free(atts, n);
        free(cid);
        nets_net_free(net);
        return -1;
}

struct disc {
        char *cid;
        sup_net_connect_cb cb;
        void *arg;
};

static void
on_disconnected(struct sup *s, struct cnr_err *err, void *arg)
{
        struct disc *d = arg;

        d->cb(s, d->cid, NULL, NULL, err, d->arg);
        free(d->cid);
        free(d);
}

int
sup_network_disconnect(struct sup *s, const char *network, const char *container, sup_net_connect_cb cb, void *arg,
                       struct cnr_err **err)
{
        struct att *atts = NULL;
        size_t n = 0;
        bool on = false;
        struct disc *d;
        struct net *net;
        char *cid;
        int rc = -1;

        if (!nets_netd_up())
                return cnr_errf(err, EAGAIN, "netd is not up yet: try again");
        net = nets_find(network, err);
        if (net == NULL)
                return -1;
        cid = nets_handle_find(container, err);
        if (cid == NULL)
                goto out;
        if (nets_atts(cid, &atts, &n, err) < 0)
                goto out;
        for (size_t i = 0; i < n; i++)
                on = on || strcmp(atts[i].network_id, net->id) == 0;
        if (!on) {
                cnr_errf(err, ENOENT, "container `%.12s` is not on network `%s`", cid, net->name);
                goto out;
        }
        d = xcalloc(1, sizeof(*d));
        d->cid = xstrdup(cid);
        d->cb = cb;
        d->arg = arg;
        rc = nets_detach(cid, net->id, on_disconnected, d, err);
        if (rc < 0) {
                free(d->cid);
                free(d);
        }
out:
        nets_atts_free(atts, n);
        free(cid);
        nets_net_free(net);
        return rc;
}

/* ---- remove ------------------------------------------------------------- */

struct rm_op {
        struct net *net;
        sup_net_done_cb cb;
        void *arg;
};

static void
on_bridge_removed(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct rm_op *o = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own), *dbe = NULL;

        if (e == NULL && nets_exec("DELETE FROM networks WHERE id = ?1", o->net->id, NULL, &dbe) < 0)
                e = dbe;
        if (e == NULL) {
                nets_bridge_forget(o->net->bridge);
                nets_isolation_sync();
        }
        nets_audit("network_remove",
                   json_pack("{s:s, s:s, s:s}", "name", o->net->name, "id", o->net->id, "bridge", o->net->bridge), e);
        o->cb(N.s, e, o->arg);
        cnr_err_free(&own);
        cnr_err_free(&dbe);
        nets_net_free(o->net);
        free(o);
}

/* rm of a network whose last containers are still being detached (run
 * --rm returns before its CNI DEL): it runs once they are. */
struct rm_wait {
        char *ref;
        size_t pending;
        struct cnr_err *first;
        sup_net_done_cb cb;
        void *arg;
};

static void
on_rm_detached(struct sup *s, struct cnr_err *err, void *arg)
{
        struct rm_wait *w = arg;
        struct cnr_err *e = NULL;

        if (err && w->first == NULL)
                w->first = nets_err_copy(err);
        if (--w->pending > 0)
                return;
        if (w->first) {
                cnr_err_wrap(&w->first, "network `%s`: a container's detach", w->ref);
                w->cb(N.s, w->first, w->arg);
        } else if (N.s == NULL) {
                cnr_errf(&e, ECANCELED, "network `%s`: containrd is stopping", w->ref);
                w->cb(s, e, w->arg);
        } else if (sup_network_remove(N.s, w->ref, w->cb, w->arg, &e) < 0) {
                w->cb(N.s, e, w->arg);
        }
        cnr_err_free(&e);
        cnr_err_free(&w->first);
        free(w->ref);
        free(w);
}

/* 1 when every attachment of the network belongs to a container whose
 * detach is in flight (the removal then waits for them), else 0. */
static int
rm_wait_detaches(const struct net *net, const char *ref, sup_net_done_cb cb, void *arg)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_err *err = NULL;
        char **ids = NULL;
        size_t n = 0;
        bool all = true;
        struct rm_wait *w;

        if (cnr_db_prepare(N.s->db, "SELECT container_id FROM net_attachments WHERE network_id = ?1", &st, &err) < 0) {
                cnr_err_free(&err);
                return 0;
        }
        sqlite3_bind_text(st, 1, net->id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW && all) {
                const char *cid = (const char *)sqlite3_column_text(st, 0);

                all = nets_detaching(cid);
                ids = xrealloc(ids, (n + 1) * sizeof(*ids));
                ids[n++] = xstrdup(cid);
        }
        if (all && n > 0) {
                log_debug("network rm `%s`: waits for the detach of %zu container%s", net->name, n, n == 1 ? "" : "s");
                w = xcalloc(1, sizeof(*w));
                w->ref = xstrdup(ref);
                w->pending = n;
                w->cb = cb;
                w->arg = arg;
                for (size_t i = 0; i < n; i++)
                        nets_detach_wait(ids[i], on_rm_detached, w);
        }
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
        return all && n > 0;
}

int
sup_network_remove(struct sup *s, const char *ref, sup_net_done_cb cb, void *arg, struct cnr_err **err)
{
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__BridgeRemove br = CNR__HELPER__BRIDGE_REMOVE__INIT;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct net *net;
        struct rm_op *o;
        int users = 0;

        net = nets_find(ref, err);
        if (net == NULL)
                return -1;
        if (strcmp(net->name, CNR_NET_DEFAULT) == 0) {
                nets_net_free(net);
                return cnr_errf(err, EPERM, "`%s` is the default network: it cannot be removed", CNR_NET_DEFAULT);
        }
        if (cnr_db_prepare(N.s->db, "SELECT COUNT(*) FROM net_attachments WHERE network_id = ?1", &st, err) < 0) {
                nets_net_free(net);
                return -1;
        }
        sqlite3_bind_text(st, 1, net->id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
                users = sqlite3_column_int(st, 0);
        if (users > 0 && rm_wait_detaches(net, ref, cb, arg)) {
                nets_net_free(net);
                return 0;
        }
        if (users > 0) {
                cnr_errf(err, EBUSY, "network `%s` has %d attached container%s: disconnect or remove them first",
                         net->name, users, users == 1 ? "" : "s");
                nets_net_free(net);
                return -1;
        }
        if (!nets_netd_up()) {
                nets_net_free(net);
                return cnr_errf(err, EAGAIN, "netd is not up yet: try again");
        }
        o = xcalloc(1, sizeof(*o));
        o->net = net;
        o->cb = cb;
        o->arg = arg;
        br.name = net->bridge;
        br.network = net->name;
        env.op_case = CNR__HELPER__TO_HELPER__OP_BRIDGE_REMOVE;
        env.bridge_remove = &br;
        if (sup_helper_request_fds(s, CNR_HELPER_NETD, env.op_case, &env.base, NULL, 0, 0, on_bridge_removed, o, err) <
            0) {
                nets_net_free(net);
                free(o);
                return -1;
        }
        return 0;
}

/* ---- --ip, --ip6 -------------------------------------------------------- */

int
nets_ips_cidr(const struct net *n, const char *ip, const char *ip6, char **out4, char **out6, struct cnr_err **err)
{
        struct cnr_cidr4 c4;
        struct cnr_cidr6 c6;
        struct in_addr a4;
        uint8_t a6[16], g6[16];

        *out4 = *out6 = NULL;
        if (strcmp(n->name, CNR_NET_DEFAULT) == 0)
                return cnr_errf(err, EINVAL,
                                "--ip/--ip6: only on a network made with `network create`, not the default `%s` "
                                "(as Docker)",
                                CNR_NET_DEFAULT);
        if (ip && ip[0]) {
                uint32_t h, g;

                if (inet_pton(AF_INET, ip, &a4) != 1)
                        return cnr_errf(err, EINVAL, "--ip `%s`: not an IPv4 address", ip);
                if (cnr_cidr4_parse(n->subnet, false, &c4) < 0)
                        return cnr_errf(err, EINVAL, "network `%s`: unreadable subnet `%s`", n->name, n->subnet);
                h = ntohl(a4.s_addr);
                g = inet_pton(AF_INET, n->gateway, &a4) == 1 ? ntohl(a4.s_addr) : 0;
                if ((h & cnr_cidr4_mask(c4.len)) != c4.addr || h == c4.addr ||
                    h == (c4.addr | ~cnr_cidr4_mask(c4.len)) || h == g)
                        return cnr_errf(err, EINVAL,
                                        "--ip %s: not a free host address of network `%s` (%s, gateway %s)", ip,
                                        n->name, n->subnet, n->gateway);
                *out4 = xasprintf("%s/%u", ip, c4.len);
        }
        if (ip6 && ip6[0]) {
                if (inet_pton(AF_INET6, ip6, a6) != 1) {
                        free(*out4);
                        *out4 = NULL;
                        return cnr_errf(err, EINVAL, "--ip6 `%s`: not an IPv6 address", ip6);
                }
                if (n->subnet6 == NULL || cnr_cidr6_parse(n->subnet6, false, &c6) < 0) {
                        free(*out4);
                        *out4 = NULL;
                        return cnr_errf(err, EINVAL, "--ip6: network `%s` has no IPv6 subnet (network create --ipv6)",
                                        n->name);
                }
                if (!cnr_cidr6_contains(&c6, a6) || memcmp(a6, c6.addr, 16) == 0 ||
                    (inet_pton(AF_INET6, n->gateway6, g6) == 1 && memcmp(a6, g6, 16) == 0)) {
                        free(*out4);
                        *out4 = NULL;
                        return cnr_errf(err, EINVAL,
                                        "--ip6 %s: not a free host address of network `%s` (%s, gateway %s)", ip6,
                                        n->name, n->subnet6, n->gateway6);
                }
                *out6 = xasprintf("%s/%u", ip6, c6.len);
        }
        return 0;
}

int
sup_network_check_ips(struct sup *s, const char *network, const char *ip, const char *ip6, struct cnr_err **err)
{
        struct net *n;
        char *a = NULL, *b = NULL;
        int rc;

        if ((ip == NULL || ip[0] == '\0') && (ip6 == NULL || ip6[0] == '\0'))
                return 0;
        if (network == NULL || network[0] == '\0')
                network = CNR_NET_DEFAULT;
        if (strcmp(network, "none") == 0 || strcmp(network, "host") == 0)
                return cnr_errf(err, EINVAL, "--ip/--ip6 need a network made with `network create` (not --network %s)",
                                network);
        n = nets_find(network, err);
        if (n == NULL)
                return -1;
        rc = nets_ips_cidr(n, ip, ip6, &a, &b, err);
        free(a);
        free(b);
        nets_net_free(n);
        return rc;
}

/* ---- JSON for ls and inspect --------------------------------------------- */

static json_t *
net_json(const struct net *n, bool full)
{
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "Id", n->id, "Name", n->name, "Driver", n->driver,
                              "Subnet", n->subnet, "Gateway", n->gateway, "Bridge", n->bridge, "Created",
                              (json_int_t)n->created);
        json_t *labels = json_loads(n->labels, 0, NULL), *opts = json_loads(n->options, 0, NULL);

        json_object_set_new(j, "Labels", labels ? labels : json_object());
        json_object_set_new(j, "Options", opts ? opts : json_object());
        json_object_set_new(j, "EnableIPv6", json_boolean(n->subnet6 && n->subnet6[0]));
        if (n->subnet6 && n->subnet6[0]) {
                json_object_set_new(j, "Subnet6", json_string(n->subnet6));
                json_object_set_new(j, "Gateway6", json_string(n->gateway6));
        }
        if (full) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                struct cnr_err *err = NULL;
                json_t *cs = json_object();
                _cleanup_free_ char *conf = nets_conflist(n);

                if (cnr_db_prepare(N.s->db,
                                   "SELECT a.container_id, h.container_name, a.ifname, a.state, a.result, a.ports"
                                   " FROM net_attachments a JOIN net_handles h ON h.container_id = a.container_id"
                                   " WHERE a.network_id = ?1 ORDER BY a.container_id",
                                   &st, &err) == 0) {
                        sqlite3_bind_text(st, 1, n->id, -1, SQLITE_STATIC);
                        while (sqlite3_step(st) == SQLITE_ROW) {
                                json_t *r = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
                                json_t *ports = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
                                const char *v4 = NULL, *v6 = NULL;
                                json_t *ip, *c;
                                size_t k;

                                /* the result's ips: one per family (host-local's ranges) */
                                json_array_foreach(json_object_get(r, "ips"), k, ip)
                                {
                                        const char *a = json_string_value(json_object_get(ip, "address"));

                                        if (a && strchr(a, ':') && v6 == NULL)
                                                v6 = a;
                                        else if (a && !strchr(a, ':') && v4 == NULL)
                                                v4 = a;
                                }
                                c = json_pack("{s:s, s:s, s:s, s:s?}", "Name", (const char *)sqlite3_column_text(st, 1),
                                              "Interface", (const char *)sqlite3_column_text(st, 2), "State",
                                              (const char *)sqlite3_column_text(st, 3), "IPv4Address", v4);
                                if (v6)
                                        json_object_set_new(c, "IPv6Address", json_string(v6));
                                if (ports)
                                        json_object_set_new(c, "Ports", ports);
                                json_object_set_new(cs, (const char *)sqlite3_column_text(st, 0), c);
                                json_decref(r);
                        }
                }
                cnr_err_free(&err);
                json_object_set_new(j, "Containers", cs);
                json_object_set_new(j, "Conflist", json_loads(conf, 0, NULL));
        }
        return j;
}

json_t *
sup_networks_json(struct sup *s, char *const *names, size_t n, json_t *missing, struct cnr_err **err)
{
        json_t *out = json_array();

        if (n == 0) {
                struct net **all = NULL;
                size_t nall = 0;

                if (nets_all(&all, &nall, err) < 0) {
                        json_decref(out);
                        return NULL;
                }
                for (size_t i = 0; i < nall; i++)
                        json_array_append_new(out, net_json(all[i], missing != NULL));
                nets_free(all, nall);
                return out;
        }
        for (size_t i = 0; i < n; i++) {
                struct cnr_err *e = NULL;
                struct net *net = nets_find(names[i], &e);

                if (net == NULL) {
                        if (missing)
                                json_array_append_new(missing, json_string(names[i]));
                        cnr_err_free(&e);
                        continue;
                }
                json_array_append_new(out, net_json(net, true));
                nets_net_free(net);
        }
        return out;
}

/* ---- -p ----------------------------------------------------------------- */

int
sup_port_map_parse(const char *s, struct sup_port_map *out, char *ipbuf, size_t ipbuflen, struct cnr_err **err)
{
        _cleanup_free_ char *dup = xstrdup(s);
        char *proto = strchr(dup, '/'), *parts[3];
        unsigned long long hp, cp;
        size_t n = 0;
        char *p = dup;

        memset(out, 0, sizeof(*out));
        if (proto) {
                *proto++ = '\0';
                if (strcmp(proto, "tcp") == 0)
                        out->udp = false;
                else if (strcmp(proto, "udp") == 0)
                        out->udp = true;
                else
                        return cnr_errf(err, EINVAL, "-p `%s`: protocol `%s` is not tcp or udp", s, proto);
        }
        while (n < 3) {
                char *c = strchr(p, ':');
                parts[n++] = p;
                if (c == NULL)
                        break;
                *c = '\0';
                p = c + 1;
        }
        if (n < 2 || strchr(p, ':'))
                return cnr_errf(err, EINVAL, "-p `%s`: expected [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]", s);
        if (n == 3) {
                unsigned char b[4];
                if (inet_pton(AF_INET, parts[0], b) != 1)
                        return cnr_errf(err, EINVAL, "-p `%s`: `%s` is not an IPv4 address", s, parts[0]);
                snprintf(ipbuf, ipbuflen, "%s", parts[0]);
                out->host_ip = ipbuf;
        }
        if (cnr_parse_uint(parts[n - 2], 65535, &hp) < 0 || hp == 0 || cnr_parse_uint(parts[n - 1], 65535, &cp) < 0 ||
            cp == 0)
                return cnr_errf(err, EINVAL, "-p `%s`: ports must be numbers from 1 to 65535", s);
        out->host_port = (uint16_t)hp;
        out->container_port = (uint16_t)cp;
        return 0;
}
