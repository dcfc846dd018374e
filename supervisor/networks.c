/* Container networks: records, conflists, attachments (see networks.h).
 *
 * Tables (module "networks"):
 *   networks        one row per network: name, id, driver (bridge), subnet,
 *                   gateway, Linux bridge name, options, labels
 *   net_handles     one row per container that has a netns handle; written
 *                   before netd creates the handle
 *   net_attachments one row per (container, network): interface name, port
 *                   mappings, state (adding, attached) and the CNI result
 *                   that DEL and CHECK need; written before CNI ADD
 *
 * Crash ordering: a row always exists before the thing it describes, and
 * goes only after the thing is gone, so start-up finds everything a crash
 * left behind (CNI DEL is idempotent; so is NetnsRemove).
 *
 * Operations on one container are serialised (the CNI spec forbids
 * parallel ADD/DEL for one container): a second one is refused with EBUSY.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/audit.h"
#include "common/cidr.h"
#include "common/log.h"
#include "common/util.h"
#include "ipc/helper.pb-c.h"
#include "supervisor/networks_int.h"
#include "supervisor/sup.h"

#define NET_TIMEOUT_MS 150000 /* a CNI chain: netd gives each plugin 60 s */

static const char *const schema[] = {
        "CREATE TABLE networks ("
        " id TEXT PRIMARY KEY,"
        " name TEXT NOT NULL UNIQUE,"
        " driver TEXT NOT NULL,"
        " subnet TEXT NOT NULL,"
        " gateway TEXT NOT NULL,"
        " bridge TEXT NOT NULL UNIQUE,"
        " options TEXT NOT NULL DEFAULT '{}',"
        " labels TEXT NOT NULL DEFAULT '{}',"
        " created INTEGER NOT NULL)",
        "CREATE TABLE net_handles ("
        " container_id TEXT PRIMARY KEY,"
        " container_name TEXT NOT NULL DEFAULT '',"
        " hostname TEXT NOT NULL DEFAULT '',"
        " created INTEGER NOT NULL)",
        "CREATE TABLE net_attachments ("
        " container_id TEXT NOT NULL REFERENCES net_handles(container_id),"
        " network_id TEXT NOT NULL REFERENCES networks(id),"
        " ifname TEXT NOT NULL,"
        " ports TEXT NOT NULL DEFAULT '',"
        " state TEXT NOT NULL,"
        " result TEXT NOT NULL DEFAULT '',"
        " created INTEGER NOT NULL,"
        " PRIMARY KEY (container_id, network_id))",
        /* dual stack: an IPv6 subnet and gateway, "" for IPv4 only */
        "ALTER TABLE networks ADD COLUMN subnet6 TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE networks ADD COLUMN gateway6 TEXT NOT NULL DEFAULT ''",
};

struct detach_op;

struct busy {
        char *id;
        struct detach_op *detaching; /* a full detach in flight: later ones join it */
        struct busy *next;
};

struct sup_nets_state N;

/* ---- small things ------------------------------------------------------- */

bool
nets_netd_up(void)
{
        return N.s && N.s->h[CNR_HELPER_NETD].hello;
}

void
nets_net_free(struct net *n)
{
        if (n == NULL)
                return;
        free(n->id);
        free(n->name);
        free(n->driver);
        free(n->subnet);
        free(n->gateway);
        free(n->subnet6);
        free(n->gateway6);
        free(n->bridge);
        free(n->options);
        free(n->labels);
        free(n);
}

void
nets_free(struct net **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                nets_net_free(v[i]);
        free(v);
}

bool
nets_valid_name(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > 64 || !isalnum((unsigned char)s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

static bool
is_busy(const char *id)
{
        for (struct busy *b = N.busy; b; b = b->next)
                if (strcmp(b->id, id) == 0)
                        return true;
        return false;
}

int
nets_busy_take(const char *id, struct cnr_err **err)
{
        struct busy *b;

        if (is_busy(id))
                return cnr_errf(err, EBUSY, "container `%.12s`: a network operation is already running", id);
        b = xcalloc(1, sizeof(*b));
        b->id = xstrdup(id);
        b->next = N.busy;
        N.busy = b;
        return 0;
}

void
nets_busy_drop(const char *id)
{
        for (struct busy **p = &N.busy; *p; p = &(*p)->next) {
                if (strcmp((*p)->id, id) == 0) {
                        struct busy *b = *p;
                        *p = b->next;
                        free(b->id);
                        free(b);
                        return;
                }
        }
}

struct cnr_err *
nets_reply_error(ProtobufCMessage *env, struct cnr_err *err, struct cnr_err **own)
{
        Cnr__Helper__FromHelper *m = (Cnr__Helper__FromHelper *)env;

        if (err)
                return err;
        if (m && m->msg_case == CNR__HELPER__FROM_HELPER__MSG_ERROR) {
                cnr_errf(own, m->error->errno_code ? m->error->errno_code : EIO, "%s", m->error->message);
                return *own;
        }
        return NULL;
}

struct cnr_err *
nets_err_copy(const struct cnr_err *e)
{
        struct cnr_err *out = NULL;

        cnr_errf(&out, e->code, "%s", e->msg);
        return out;
}

void
nets_audit(const char *op, json_t *args, struct cnr_err *err)
{
        cnr_audit_event(op, "allow", args, err ? err->code : 0, err ? cnr_err_str(err) : NULL);
        json_decref(args);
}

/* ---- the database ------------------------------------------------------- */

static char *
nets_col(sqlite3_stmt *st, int i)
{
        const unsigned char *t = sqlite3_column_text(st, i);
        return xstrdup(t ? (const char *)t : "");
}

#define NET_COLS "id, name, driver, subnet, gateway, bridge, options, labels, created, subnet6, gateway6"
#define NET_COLS_N                                                                                                     \
        "n.id, n.name, n.driver, n.subnet, n.gateway, n.bridge, n.options, n.labels, n.created, n.subnet6, n.gateway6"

static struct net *
nets_row(sqlite3_stmt *st)
{
        struct net *n = xcalloc(1, sizeof(*n));

        n->id = nets_col(st, 0);
        n->name = nets_col(st, 1);
        n->driver = nets_col(st, 2);
        n->subnet = nets_col(st, 3);
        n->gateway = nets_col(st, 4);
        n->bridge = nets_col(st, 5);
        n->options = nets_col(st, 6);
        n->labels = nets_col(st, 7);
        n->created = sqlite3_column_int64(st, 8);
        n->subnet6 = nets_col(st, 9);
        n->gateway6 = nets_col(st, 10);
        return n;
}

int
nets_all(struct net ***out, size_t *n, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        *out = NULL;
        *n = 0;
        if (cnr_db_prepare(N.s->db, "SELECT " NET_COLS " FROM networks ORDER BY name", &st, err) < 0)
                return -1;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                *out = xrealloc(*out, (*n + 1) * sizeof(**out));
                (*out)[(*n)++] = nets_row(st);
        }
        if (r != SQLITE_DONE)
                return cnr_db_err(N.s->db, err, "read networks");
        return 0;
}

/* By name, by id, by unambiguous id prefix.  NULL with ENOENT/EINVAL. */
struct net *
nets_find(const char *ref, struct cnr_err **err)
{
        struct net **all = NULL, *found = NULL;
        size_t n = 0, hits = 0, rl = strlen(ref);

        if (nets_all(&all, &n, err) < 0)
                return NULL;
        for (size_t i = 0; i < n && !found; i++)
                if (strcmp(all[i]->name, ref) == 0 || strcmp(all[i]->id, ref) == 0)
                        found = all[i];
        if (!found && rl >= 1) {
                for (size_t i = 0; i < n; i++)
                        if (strncmp(all[i]->id, ref, rl) == 0) {
                                found = all[i];
                                hits++;
                        }
                if (hits > 1) {
                        nets_free(all, n);
                        cnr_errf(err, EINVAL, "network `%s`: the id prefix is ambiguous", ref);
                        return NULL;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (all[i] != found)
                        nets_net_free(all[i]);
        free(all);
        if (found == NULL)
                cnr_errf(err, ENOENT, "network `%s` not found", ref);
        return found;
}

int
nets_insert(const struct net *n, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        if (cnr_db_prepare(N.s->db, "INSERT INTO networks (" NET_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
                           &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, n->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, n->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, n->driver, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, n->subnet, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, n->gateway, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, n->bridge, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, n->options, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, n->labels, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, n->created);
        sqlite3_bind_text(st, 10, n->subnet6 ? n->subnet6 : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 11, n->gateway6 ? n->gateway6 : "", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return cnr_db_err(N.s->db, err, "insert network");
        return 0;
}

int
nets_exec(const char *sql, const char *a, const char *b, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        if (cnr_db_prepare(N.s->db, sql, &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        if (b)
                sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return cnr_db_err(N.s->db, err, "update network records");
        return 0;
}

void
nets_atts_free(struct att *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].network_id);
                free(v[i].ifname);
                free(v[i].ports);
                free(v[i].state);
                free(v[i].result);
                nets_net_free(v[i].net);
        }
        free(v);
}

int
nets_atts(const char *cid, struct att **out, size_t *n, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        *out = NULL;
        *n = 0;
        if (cnr_db_prepare(N.s->db,
                           "SELECT a.network_id, a.ifname, a.ports, a.state, a.result, " NET_COLS_N
                           " FROM net_attachments a JOIN networks n ON n.id = a.network_id"
                           " WHERE a.container_id = ?1 ORDER BY a.created, a.ifname",
                           &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                struct att *a;
                struct net *nn = xcalloc(1, sizeof(*nn));

                *out = xrealloc(*out, (*n + 1) * sizeof(**out));
                a = &(*out)[(*n)++];
                a->network_id = nets_col(st, 0);
                a->ifname = nets_col(st, 1);
                a->ports = nets_col(st, 2);
                a->state = nets_col(st, 3);
                a->result = nets_col(st, 4);
                nn->id = nets_col(st, 5);
                nn->name = nets_col(st, 6);
                nn->driver = nets_col(st, 7);
                nn->subnet = nets_col(st, 8);
                nn->gateway = nets_col(st, 9);
                nn->bridge = nets_col(st, 10);
                nn->options = nets_col(st, 11);
                nn->labels = nets_col(st, 12);
                nn->created = sqlite3_column_int64(st, 13);
                nn->subnet6 = nets_col(st, 14);
                nn->gateway6 = nets_col(st, 15);
                a->net = nn;
        }
        if (r != SQLITE_DONE)
                return cnr_db_err(N.s->db, err, "read network attachments");
        return 0;
}

bool
nets_has_handle(const char *cid)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_err *err = NULL;

        if (cnr_db_prepare(N.s->db, "SELECT 1 FROM net_handles WHERE container_id = ?1", &st, &err) < 0) {
                cnr_err_free(&err);
                return false;
        }
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_ROW;
}

/* A container by full id, unambiguous id prefix or the name given at
 * attach time, among the containers that have a handle. */
char *
nets_handle_find(const char *ref, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char *found = NULL;
        size_t rl = strlen(ref);
        int hits = 0, r;

        if (cnr_db_prepare(N.s->db, "SELECT container_id, container_name FROM net_handles", &st, err) < 0)
                return NULL;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                const char *id = (const char *)sqlite3_column_text(st, 0);
                const char *name = (const char *)sqlite3_column_text(st, 1);

                if (strcmp(id, ref) == 0 || (name && strcmp(name, ref) == 0)) {
                        free(found);
                        found = xstrdup(id);
                        hits = 1;
                        break;
                }
                if (rl > 0 && strncmp(id, ref, rl) == 0) {
                        free(found);
                        found = xstrdup(id);
                        hits++;
                }
        }
        if (hits > 1) {
                free(found);
                cnr_errf(err, EINVAL, "container `%s`: the id prefix is ambiguous", ref);
                return NULL;
        }
        if (found == NULL)
                cnr_errf(err, ENOENT,
                         "container `%s`: no network namespace of containr's (not running on a "
                         "network, or --network host)",
                         ref);
        return found;
}

/* ---- conflists ---------------------------------------------------------- */

/* The list netd runs for a network: bridge with host-local IPAM, portmap
 * (-p), firewall.  `lo` needs no plugin: netd brings it up when it makes
 * the namespace. */
char *
nets_conflist(const struct net *n)
{
        json_t *opts = json_loads(n->options, 0, NULL);
        json_t *bridge, *ipam, *c, *ranges, *routes;
        char *s;

        /* one range set per family: host-local gives an address of each */
        ranges = json_pack("[[{s:s, s:s}]]", "subnet", n->subnet, "gateway", n->gateway);
        routes = json_pack("[{s:s}]", "dst", "0.0.0.0/0");
        if (n->subnet6 && n->subnet6[0]) {
                json_array_append_new(ranges, json_pack("[{s:s, s:s}]", "subnet", n->subnet6, "gateway", n->gateway6));
                json_array_append_new(routes, json_pack("{s:s}", "dst", "::/0"));
        }
        ipam = json_pack("{s:s, s:o, s:o}", "type", "host-local", "ranges", ranges, "routes", routes);
        /* ips: --ip/--ip6 reach host-local as runtimeConfig.ips */
        bridge = json_pack("{s:s, s:s, s:b, s:b, s:b, s:{s:b}, s:o}", "type", "bridge", "bridge", n->bridge,
                           "isGateway", 1, "ipMasq", 1, "hairpinMode", 1, "capabilities", "ips", 1, "ipam", ipam);
        if (json_is_object(opts) && json_is_integer(json_object_get(opts, "mtu")))
                json_object_set(bridge, "mtu", json_object_get(opts, "mtu"));
        c = json_pack("{s:s, s:s, s:[o, {s:s, s:{s:b}, s:b}, {s:s}]}", "cniVersion", "1.0.0", "name", n->name,
                      "plugins", bridge, "type", "portmap", "capabilities", "portMappings", 1, "snat", 1, "type",
                      "firewall");
        s = json_dumps(c, JSON_COMPACT);
        json_decref(c);
        json_decref(opts);
        return s;
}

/* ---- netd requests ------------------------------------------------------ */

int
nets_cni(const char *cmd, const char *cid, const char *ifname, const struct net *n, const char *capargs,
         const char *prev, cnr_reply_cb cb, void *arg, struct cnr_err **err)
{
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__CniExec c = CNR__HELPER__CNI_EXEC__INIT;
        _cleanup_free_ char *conf = nets_conflist(n);

        c.command = strcmp(cmd, "ADD") == 0 ? 1 : strcmp(cmd, "DEL") == 0 ? 2 : 3;
        c.id = (char *)cid;
        c.ifname = (char *)ifname;
        c.conflist = conf;
        c.capability_args = (char *)(capargs ? capargs : "");
        c.prev_result = (char *)(prev ? prev : "");
        c.plugin_dir = N.s->d->cfg.net.cni_plugin_dir;
        env.op_case = CNR__HELPER__TO_HELPER__OP_CNI_EXEC;
        env.cni_exec = &c;
        return sup_helper_request_fds(N.s, CNR_HELPER_NETD, env.op_case, &env.base, NULL, 0, NET_TIMEOUT_MS, cb, arg,
                                      err);
}

static int
netd_simple(int op, const char *id, cnr_reply_cb cb, void *arg, struct cnr_err **err)
{
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__NetnsOpen o = CNR__HELPER__NETNS_OPEN__INIT;
        Cnr__Helper__NetnsRemove r = CNR__HELPER__NETNS_REMOVE__INIT;

        env.op_case = op;
        if (op == CNR__HELPER__TO_HELPER__OP_NETNS_OPEN) {
                o.id = (char *)id;
                env.netns_open = &o;
        } else {
                r.id = (char *)id;
                env.netns_remove = &r;
        }
        return sup_helper_request_fds(N.s, CNR_HELPER_NETD, env.op_case, &env.base, NULL, 0, 0, cb, arg, err);
}

/* ---- isolation, bridges -------------------------------------------------- */

static void
on_isolation_synced(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own);

        if (e)
                log_error("isolation between networks: %s", cnr_err_str(e));
        cnr_err_free(&own);
}

void
nets_isolation_sync(void)
{
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__IsolationSync q = CNR__HELPER__ISOLATION_SYNC__INIT;
        struct net **all = NULL;
        size_t n = 0;
        struct cnr_err *err = NULL;

        if (!nets_netd_up())
                return; /* helper_up sends the list */
        if (nets_all(&all, &n, &err) < 0) {
                log_error("isolation between networks: %s", cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        q.n_bridges = n;
        q.bridges = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                q.bridges[i] = all[i]->bridge;
        env.op_case = CNR__HELPER__TO_HELPER__OP_ISOLATION_SYNC;
        env.isolation_sync = &q;
        if (sup_helper_request_fds(N.s, CNR_HELPER_NETD, env.op_case, &env.base, NULL, 0, 0, on_isolation_synced, NULL,
                                   &err) < 0) {
                log_error("isolation between networks: %s", cnr_err_str(err));
                cnr_err_free(&err);
        }
        free(q.bridges);
        nets_free(all, n);
}

bool
nets_bridge_is_verified(const char *bridge)
{
        for (size_t i = 0; i < N.nverified; i++)
                if (strcmp(N.verified[i], bridge) == 0)
                        return true;
        return false;
}

void
nets_bridge_verified(const char *bridge)
{
        if (nets_bridge_is_verified(bridge))
                return;
        N.verified = xrealloc(N.verified, (N.nverified + 1) * sizeof(*N.verified));
        N.verified[N.nverified++] = xstrdup(bridge);
}

void
nets_bridge_forget(const char *bridge)
{
        for (size_t i = 0; i < N.nverified; i++)
                if (strcmp(N.verified[i], bridge) == 0) {
                        free(N.verified[i]);
                        N.verified[i] = N.verified[--N.nverified];
                        return;
                }
}

/* Attachments of any network on this bridge: ours use it. */
static bool
bridge_in_use(const char *bridge)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_err *err = NULL;

        if (cnr_db_prepare(N.s->db,
                           "SELECT 1 FROM net_attachments a JOIN networks n ON n.id = a.network_id"
                           " WHERE n.bridge = ?1 LIMIT 1",
                           &st, &err) < 0) {
                cnr_err_free(&err);
                return true; /* cannot tell: never delete */
        }
        sqlite3_bind_text(st, 1, bridge, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_ROW;
}

int
nets_bridge_check_raw(const char *bridge, char **addrs, size_t naddrs, cnr_reply_cb cb, void *arg, struct cnr_err **err)
{
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__BridgeCheck q = CNR__HELPER__BRIDGE_CHECK__INIT;

        q.name = (char *)bridge;
        q.addresses = addrs;
        q.n_addresses = naddrs;
        q.may_delete = !bridge_in_use(bridge);
        env.op_case = CNR__HELPER__TO_HELPER__OP_BRIDGE_CHECK;
        env.bridge_check = &q;
        return sup_helper_request_fds(N.s, CNR_HELPER_NETD, env.op_case, &env.base, NULL, 0, 0, cb, arg, err);
}

int
nets_bridge_check(const struct net *n, cnr_reply_cb cb, void *arg, struct cnr_err **err)
{
        const char *slash = strchr(n->subnet, '/');
        _cleanup_free_ char *gw = xasprintf("%s/%s", n->gateway, slash ? slash + 1 : "32");
        char *addrs[] = {gw};

        return nets_bridge_check_raw(n->bridge, addrs, 1, cb, arg, err);
}

/* ---- detach ------------------------------------------------------------- */

struct detach_waiter {
        sup_net_done_cb cb;
        void *arg;
        struct detach_waiter *next;
};

struct detach_op {
        char *cid;
        char *only; /* network id: disconnect one network, keep the handle */
        struct att *atts;
        size_t n, next; /* DEL from the last one down */
        struct cnr_err *first;
        sup_net_done_cb cb;
        void *arg;
        struct detach_waiter *joined; /* later detaches of the same container, answered with this one */
};

static struct busy *
busy_of(const char *id)
{
        for (struct busy *b = N.busy; b; b = b->next)
                if (strcmp(b->id, id) == 0)
                        return b;
        return NULL;
}

static void detach_step(struct detach_op *o);

static void
detach_finish(struct detach_op *o)
{
        struct detach_waiter *w = o->joined, *next;

        nets_audit(o->only ? "network_disconnect" : "network_detach",
                   json_pack("{s:s, s:s?, s:i}", "container", o->cid, "network", o->only, "networks", (int)o->n),
                   o->first);
        nets_busy_drop(o->cid);
        if (o->cb)
                o->cb(N.s, o->first, o->arg);
        else if (o->first)
                log_warn("network cleanup of container %.12s: %s", o->cid, cnr_err_str(o->first));
        /* in the order they came; a waiter may start a new operation
         * (an attach after the detach), the busy mark is gone already */
        for (; w; w = next) {
                next = w->next;
                w->cb(N.s, o->first, w->arg);
                free(w);
        }
        cnr_err_free(&o->first);
        nets_atts_free(o->atts, o->n);
        free(o->cid);
        free(o->only);
        free(o);
}

static void
on_handle_removed(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct detach_op *o = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own);
        struct cnr_err *dbe = NULL;

        if (e) {
                if (o->first == NULL) {
                        o->first = nets_err_copy(e);
                        cnr_err_wrap(&o->first, "remove the network namespace handle");
                }
        } else if (nets_exec("DELETE FROM net_handles WHERE container_id = ?1", o->cid, NULL, &dbe) < 0) {
                if (o->first == NULL)
                        o->first = dbe;
                else
                        cnr_err_free(&dbe);
        }
        cnr_err_free(&own);
        detach_finish(o);
}

static void
on_del(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct detach_op *o = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own);
        struct att *a = &o->atts[o->next];
        struct cnr_err *dbe = NULL;

        if (e) {
                /* Kept: start-up cleanup tries again. */
                if (o->first == NULL) {
                        o->first = nets_err_copy(e);
                        cnr_err_wrap(&o->first, "CNI DEL of network `%s`", a->net->name);
                }
        } else if (nets_exec("DELETE FROM net_attachments WHERE container_id = ?1 AND network_id = ?2", o->cid,
                             a->network_id, &dbe) < 0) {
                if (o->first == NULL)
                        o->first = dbe;
                else
                        cnr_err_free(&dbe);
        }
        cnr_err_free(&own);
        detach_step(o);
}

static void
detach_step(struct detach_op *o)
{
        struct cnr_err *err = NULL;

        while (o->next > 0) {
                struct att *a = &o->atts[--o->next];
                _cleanup_free_ char *caps = NULL;

                if (o->only && strcmp(a->network_id, o->only) != 0)
                        continue;
                if (a->ports[0])
                        caps = xasprintf("{\"portMappings\":%s}", a->ports);
                if (nets_cni("DEL", o->cid, a->ifname, a->net, caps, a->result[0] ? a->result : NULL, on_del, o,
                             &err) >= 0)
                        return; /* on_del goes on */
                if (o->first == NULL)
                        o->first = err;
                else
                        cnr_err_free(&err);
        }
        if (o->only || o->first) {
                /* disconnect keeps the namespace; a failed DEL keeps it for the retry */
                detach_finish(o);
                return;
        }
        if (netd_simple(CNR__HELPER__TO_HELPER__OP_NETNS_REMOVE, o->cid, on_handle_removed, o, &err) < 0) {
                o->first = err;
                detach_finish(o);
        }
}

/* Join the full detach of `cid` in flight, if there is one: cb is called
 * when it ends, with its result.  1 joined, 0 nothing to join. */
static int
detach_join(const char *cid, sup_net_done_cb cb, void *arg)
{
        struct busy *b = busy_of(cid);
        struct detach_waiter **p;

        if (b == NULL || b->detaching == NULL || b->detaching->only || cb == NULL)
                return 0;
        for (p = &b->detaching->joined; *p; p = &(*p)->next)
                ;
        *p = xcalloc(1, sizeof(**p));
        (*p)->cb = cb;
        (*p)->arg = arg;
        return 1;
}

bool
nets_detaching(const char *cid)
{
        struct busy *b = busy_of(cid);

        return b && b->detaching && b->detaching->only == NULL;
}

int
nets_detach_wait(const char *cid, sup_net_done_cb cb, void *arg)
{
        return detach_join(cid, cb, arg);
}

int
nets_detach(const char *cid, const char *only, sup_net_done_cb cb, void *arg, struct cnr_err **err)
{
        struct detach_op *o;

        /* A second full detach (the exit, then rm) waits for the first and
         * answers with it: its caller learns when DEL is over. */
        if (only == NULL && detach_join(cid, cb, arg))
                return 0;
        if (nets_busy_take(cid, err) < 0)
                return -1;
        o = xcalloc(1, sizeof(*o));
        o->cid = xstrdup(cid);
        o->only = only ? xstrdup(only) : NULL;
        o->cb = cb;
        o->arg = arg;
        if (nets_atts(cid, &o->atts, &o->n, err) < 0) {
                nets_busy_drop(cid);
                free(o->cid);
                free(o->only);
                free(o);
                return -1;
        }
        o->next = o->n;
        busy_of(cid)->detaching = o;
        /* nothing was ever made (no handle, no row): succeeds, through the
         * same path (callers expect the answer later) */
        detach_step(o);
        return 0;
}

int
sup_network_detach(struct sup *s, const char *container_id, sup_net_done_cb cb, void *arg, struct cnr_err **err)
{
        if (!nets_netd_up() && nets_has_handle(container_id))
                return cnr_errf(err, EAGAIN, "netd is not up yet: try again");
        return nets_detach(container_id, NULL, cb, arg, err);
}

/* ---- attach ------------------------------------------------------------- */

struct attach_op {
        char *cid, *cname, *hostname;
        char **names; /* requested networks */
        size_t nnames;
        struct net **nets;
        size_t nnets, next;
        char *ports;    /* JSON array or NULL */
        char *ip, *ip6; /* --ip, --ip6 on the first network, or NULL */
        int nsfd;
        char **results;
        sup_net_attach_cb cb;
        void *arg;
        struct cnr_err *failed;
};

static void
attach_op_free(struct attach_op *o)
{
        if (o->nsfd >= 0)
                close(o->nsfd);
        for (size_t i = 0; i < o->nnames; i++)
                free(o->names[i]);
        free(o->names);
        for (size_t i = 0; i < o->nnets; i++)
                free(o->results ? o->results[i] : NULL);
        free(o->results);
        nets_free(o->nets, o->nnets);
        free(o->cid);
        free(o->cname);
        free(o->hostname);
        free(o->ports);
        free(o->ip);
        free(o->ip6);
        cnr_err_free(&o->failed);
        free(o);
}

/* The nameservers a container can reach: the host's, minus loopback ones
 * (a resolver on 127.0.0.x is not in the container's namespace). */
static char *
resolv_conf(void)
{
        _cleanup_fclose_ FILE *fp = fopen("/etc/resolv.conf", "re");
        char *line = NULL, *out = NULL;
        size_t cap = 0, n = 0, len = 0;
        bool any = false;
        FILE *mem = open_memstream(&out, &len);

        fputs("# written by containr from the host's /etc/resolv.conf\n", mem);
        while (fp && getline(&line, &cap, fp) > 0 && n++ < 200) {
                char ns[64];

                if (sscanf(line, "nameserver %63s", ns) == 1) {
                        if (strncmp(ns, "127.", 4) == 0 || strcmp(ns, "::1") == 0)
                                continue;
                        fprintf(mem, "nameserver %s\n", ns);
                        any = true;
                } else if (strncmp(line, "search ", 7) == 0 || strncmp(line, "options ", 8) == 0) {
                        fputs(line, mem);
                        if (line[strlen(line) - 1] != '\n')
                                fputc('\n', mem);
                }
        }
        free(line);
        if (!any)
                fputs("# no nameserver of the host is reachable from a container network\n", mem);
        fclose(mem);
        return out;
}

static void
attach_done(struct attach_op *o)
{
        struct sup_net_attachment a = {.netns_fd = o->nsfd};
        FILE *hosts;
        size_t hl = 0;
        const char *host = o->hostname;
        char shorth[13];

        if (host == NULL || host[0] == '\0') {
                snprintf(shorth, sizeof(shorth), "%.12s", o->cid);
                host = shorth;
        }
        a.netns_path = xasprintf("%s/netns/%s", N.s->d->cfg.run_root, o->cid);
        hosts = open_memstream(&a.etc_hosts, &hl);
        fputs("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", hosts);
        for (size_t i = 0; i < o->nnets; i++) {
                json_t *r = json_loads(o->results[i], 0, NULL), *ip, *ifs = json_object_get(r, "interfaces");
                size_t k;

                json_array_foreach(json_object_get(r, "ips"), k, ip)
                {
                        const char *addr = json_string_value(json_object_get(ip, "address"));
                        json_t *ifc = json_array_get(ifs, (size_t)json_integer_value(json_object_get(ip, "interface")));
                        struct sup_net_ip *x;
                        char bare[64];

                        if (addr == NULL)
                                continue;
                        a.ips = xrealloc(a.ips, (a.nips + 1) * sizeof(*a.ips));
                        x = &a.ips[a.nips++];
                        memset(x, 0, sizeof(*x));
                        x->network = xstrdup(o->nets[i]->name);
                        x->ifname = xasprintf("eth%zu", i);
                        x->address = xstrdup(addr);
                        if (json_string_value(json_object_get(ip, "gateway")))
                                x->gateway = xstrdup(json_string_value(json_object_get(ip, "gateway")));
                        if (json_string_value(json_object_get(ifc, "mac")))
                                x->mac = xstrdup(json_string_value(json_object_get(ifc, "mac")));
                        snprintf(bare, sizeof(bare), "%s", addr);
                        if (strchr(bare, '/'))
                                *strchr(bare, '/') = '\0';
                        fprintf(hosts, "%s\t%s%s%s\n", bare, host,
                                o->cname && o->cname[0] && strcmp(o->cname, host) != 0 ? " " : "",
                                o->cname && o->cname[0] && strcmp(o->cname, host) != 0 ? o->cname : "");
                }
                json_decref(r);
        }
        fclose(hosts);
        a.etc_resolv_conf = resolv_conf();
        nets_audit("network_attach",
                   json_pack("{s:s, s:i, s:i, s:s?}", "container", o->cid, "networks", (int)o->nnets, "addresses",
                             (int)a.nips, "ports", o->ports),
                   NULL);
        nets_busy_drop(o->cid);
        o->cb(N.s, &a, NULL, o->arg);
        if (a.netns_fd == o->nsfd)
                a.netns_fd = -1; /* not taken: attach_op_free closes it */
        else
                o->nsfd = -1;
        sup_net_attachment_clear(&a);
        attach_op_free(o);
}

static void
attach_failed_done(struct sup *s, struct cnr_err *err, void *arg)
{
        struct attach_op *o = arg;

        if (err)
                log_warn("undo the network attachment of container %.12s: %s", o->cid, cnr_err_str(err));
        nets_audit("network_attach", json_pack("{s:s}", "container", o->cid), o->failed);
        o->cb(N.s, NULL, o->failed, o->arg);
        attach_op_free(o);
}

/* Undo: DEL what was added, remove the handle, drop the rows. */
static void
attach_fail(struct attach_op *o, struct cnr_err *e)
{
        struct cnr_err *e2 = NULL;

        o->failed = e;
        nets_busy_drop(o->cid);
        if (nets_detach(o->cid, NULL, attach_failed_done, o, &e2) < 0) {
                log_warn("undo the network attachment of container %.12s: %s", o->cid, cnr_err_str(e2));
                cnr_err_free(&e2);
                nets_audit("network_attach", json_pack("{s:s}", "container", o->cid), o->failed);
                o->cb(N.s, NULL, o->failed, o->arg);
                attach_op_free(o);
        }
}

static void attach_next(struct attach_op *o);

static void
on_add(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct attach_op *o = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own);
        Cnr__Helper__FromHelper *m = (Cnr__Helper__FromHelper *)env;
        struct net *n = o->nets[o->next];
        _cleanup_free_ char *ifname = xasprintf("eth%zu", o->next);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_err *dbe = NULL;

        if (e == NULL && m->msg_case != CNR__HELPER__FROM_HELPER__MSG_CNI_RESULT) {
                cnr_errf(&own, EPROTO, "netd answered CniExec with case %d", (int)m->msg_case);
                e = own;
        }
        if (e) {
                struct cnr_err *c = nets_err_copy(e);
                cnr_err_wrap(&c, "network `%s`", n->name);
                cnr_err_free(&own);
                attach_fail(o, c);
                return;
        }
        o->results[o->next] = xstrdup(m->cni_result->result);
        if (cnr_db_prepare(N.s->db,
                           "UPDATE net_attachments SET state = 'attached', result = ?3"
                           " WHERE container_id = ?1 AND network_id = ?2",
                           &st, &dbe) < 0 ||
            (sqlite3_bind_text(st, 1, o->cid, -1, SQLITE_STATIC), sqlite3_bind_text(st, 2, n->id, -1, SQLITE_STATIC),
             sqlite3_bind_text(st, 3, o->results[o->next], -1, SQLITE_STATIC), sqlite3_step(st) != SQLITE_DONE)) {
                if (dbe == NULL)
                        cnr_db_err(N.s->db, &dbe, "record the CNI result");
                attach_fail(o, dbe);
                return;
        }
        o->next++;
        attach_next(o);
}

static void
attach_next(struct attach_op *o)
{
        struct cnr_err *err = NULL;
        _cleanup_free_ char *ifname = NULL, *caps = NULL;

        if (o->next >= o->nnets) {
                attach_done(o);
                return;
        }
        ifname = xasprintf("eth%zu", o->next);
        /* -p publishes through the first network, as Docker does; --ip
         * and --ip6 ask host-local for those addresses there */
        if (o->next == 0 && (o->ports || o->ip || o->ip6)) {
                json_t *c = json_object(), *ips = json_array();

                if (o->ports)
                        json_object_set_new(c, "portMappings", json_loads(o->ports, 0, NULL));
                if (o->ip)
                        json_array_append_new(ips, json_string(o->ip));
                if (o->ip6)
                        json_array_append_new(ips, json_string(o->ip6));
                if (json_array_size(ips))
                        json_object_set(c, "ips", ips);
                json_decref(ips);
                caps = json_dumps(c, JSON_COMPACT);
                json_decref(c);
        }
        if (nets_cni("ADD", o->cid, ifname, o->nets[o->next], caps, NULL, on_add, o, &err) < 0)
                attach_fail(o, err);
}

static void
on_netns(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct attach_op *o = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own);
        Cnr__Helper__FromHelper *m = (Cnr__Helper__FromHelper *)env;

        if (e == NULL && (m->msg_case != CNR__HELPER__FROM_HELPER__MSG_NETNS || f->nfds != 1)) {
                cnr_errf(&own, EPROTO, "netd answered NetnsOpen without a namespace fd");
                e = own;
        }
        if (e) {
                struct cnr_err *c = nets_err_copy(e);
                cnr_err_wrap(&c, "network namespace");
                cnr_err_free(&own);
                attach_fail(o, c);
                return;
        }
        o->nsfd = cnr_frame_take_fd(f, 0);
        attach_next(o);
}

/* Rows first (crash ordering), then the handle. */
static int
attach_record(struct attach_op *o, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        long long now = (long long)time(NULL);

        if (cnr_db_begin(N.s->db, err) < 0)
                return -1;
        if (cnr_db_prepare(N.s->db,
                           "INSERT INTO net_handles (container_id, container_name, hostname, created)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           &st, err) < 0)
                goto fail;
        sqlite3_bind_text(st, 1, o->cid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, o->cname ? o->cname : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, o->hostname ? o->hostname : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        if (sqlite3_step(st) != SQLITE_DONE) {
                cnr_db_err(N.s->db, err, "record the network namespace handle");
                goto fail;
        }
        for (size_t i = 0; i < o->nnets; i++) {
                _cleanup_stmt_ sqlite3_stmt *a = NULL;
                _cleanup_free_ char *ifname = xasprintf("eth%zu", i);

                if (cnr_db_prepare(N.s->db,
                                   "INSERT INTO net_attachments (container_id, network_id, ifname, ports,"
                                   " state, created) VALUES (?1, ?2, ?3, ?4, 'adding', ?5)",
                                   &a, err) < 0)
                        goto fail;
                sqlite3_bind_text(a, 1, o->cid, -1, SQLITE_STATIC);
                sqlite3_bind_text(a, 2, o->nets[i]->id, -1, SQLITE_STATIC);
                sqlite3_bind_text(a, 3, ifname, -1, SQLITE_STATIC);
                sqlite3_bind_text(a, 4, i == 0 && o->ports ? o->ports : "", -1, SQLITE_STATIC);
                sqlite3_bind_int64(a, 5, now);
                if (sqlite3_step(a) != SQLITE_DONE) {
                        cnr_db_err(N.s->db, err, "record a network attachment");
                        goto fail;
                }
        }
        return cnr_db_commit(N.s->db, err);
fail:
        cnr_db_rollback(N.s->db);
        return -1;
}

static void attach_check_next(struct attach_op *o);

static void
attach_start_fail(struct attach_op *o, struct cnr_err *err)
{
        nets_busy_drop(o->cid);
        o->cb(N.s, NULL, err, o->arg);
        cnr_err_free(&err);
        attach_op_free(o);
}

/* Every bridge checked: rows first (crash ordering), then the handle. */
static void
attach_run(struct attach_op *o)
{
        struct cnr_err *err = NULL;

        o->results = xcalloc(o->nnets + 1, sizeof(char *));
        if (attach_record(o, &err) < 0) {
                attach_start_fail(o, err);
                return;
        }
        if (netd_simple(CNR__HELPER__TO_HELPER__OP_NETNS_OPEN, o->cid, on_netns, o, &err) < 0)
                attach_fail(o, err);
}

static void
on_attach_checked(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct attach_op *o = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own);
        struct net *n = o->nets[o->next];

        if (e) {
                struct cnr_err *c = nets_err_copy(e);

                cnr_err_wrap(&c, "network `%s`", n->name);
                cnr_err_free(&own);
                o->next = 0;
                attach_start_fail(o, c);
                return;
        }
        nets_bridge_verified(n->bridge);
        o->next++;
        attach_check_next(o);
}

/* The first use of a bridge since containrd started: a stale one of the
 * same name (another address, from a crashed earlier install) is removed
 * or reported before the bridge plugin trips over it. */
static void
attach_check_next(struct attach_op *o)
{
        struct cnr_err *err = NULL;

        while (o->next < o->nnets && nets_bridge_is_verified(o->nets[o->next]->bridge))
                o->next++;
        if (o->next >= o->nnets) {
                o->next = 0;
                attach_run(o);
                return;
        }
        if (nets_bridge_check(o->nets[o->next], on_attach_checked, o, &err) < 0) {
                o->next = 0;
                attach_start_fail(o, err);
        }
}

static void
attach_go(struct sup *s, struct cnr_err *e, void *arg)
{
        struct attach_op *o = arg;
        struct cnr_err *err = NULL;

        if (e) {
                err = nets_err_copy(e);
                cnr_err_wrap(&err, "the default network");
                attach_start_fail(o, err);
                return;
        }
        o->nets = xcalloc(o->nnames + 1, sizeof(*o->nets));
        for (size_t i = 0; i < o->nnames; i++) {
                o->nets[i] = nets_find(o->names[i], &err);
                if (o->nets[i] == NULL) {
                        attach_start_fail(o, err);
                        return;
                }
                o->nnets++;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(o->nets[j]->id, o->nets[i]->id) == 0) {
                                cnr_errf(&err, EINVAL, "network `%s` is named twice", o->names[i]);
                                attach_start_fail(o, err);
                                return;
                        }
        }
        if (o->ip || o->ip6) {
                char *ip = o->ip, *ip6 = o->ip6;

                /* the addresses as host-local wants them: with the prefix length */
                o->ip = o->ip6 = NULL;
                if (o->nnets == 0 || nets_ips_cidr(o->nets[0], ip, ip6, &o->ip, &o->ip6, &err) < 0) {
                        free(ip);
                        free(ip6);
                        if (err == NULL)
                                cnr_errf(&err, EINVAL, "--ip/--ip6 need a network");
                        attach_start_fail(o, err);
                        return;
                }
                free(ip);
                free(ip6);
        }
        o->next = 0;
        attach_check_next(o);
}

static json_t *
ports_json(const struct sup_port_map *p, size_t n, struct cnr_err **err)
{
        json_t *a = json_array();

        for (size_t i = 0; i < n; i++) {
                unsigned char buf[16];

                if (p[i].host_port == 0 || p[i].container_port == 0) {
                        json_decref(a);
                        cnr_errf(err, EINVAL, "port mapping %u:%u: ports must be 1-65535", p[i].host_port,
                                 p[i].container_port);
                        return NULL;
                }
                if (p[i].host_ip && p[i].host_ip[0] && inet_pton(AF_INET, p[i].host_ip, buf) != 1) {
                        json_decref(a);
                        cnr_errf(err, EINVAL, "port mapping: `%s` is not an IPv4 address", p[i].host_ip);
                        return NULL;
                }
                for (size_t j = 0; j < i; j++)
                        if (p[j].host_port == p[i].host_port && p[j].udp == p[i].udp) {
                                json_decref(a);
                                cnr_errf(err, EINVAL, "host port %u/%s is published twice", p[i].host_port,
                                         p[i].udp ? "udp" : "tcp");
                                return NULL;
                        }
                json_array_append_new(a,
                                      json_pack("{s:i, s:i, s:s, s:s}", "hostPort", (int)p[i].host_port,
                                                "containerPort", (int)p[i].container_port, "protocol",
                                                p[i].udp ? "udp" : "tcp", "hostIP", p[i].host_ip ? p[i].host_ip : ""));
        }
        return a;
}

/* The attach proper, once no detach of the container is in flight. */
static int
attach_begin(struct attach_op *o, bool wants_default, struct cnr_err **err)
{
        if (nets_has_handle(o->cid))
                return cnr_errf(err, EEXIST, "container `%.12s` is already attached (detach it first)", o->cid);
        if (nets_busy_take(o->cid, err) < 0)
                return -1;
        if (wants_default) {
                if (nets_ensure_default(attach_go, o, err) < 0) {
                        nets_busy_drop(o->cid);
                        return -1;
                }
                return 0;
        }
        attach_go(N.s, NULL, o);
        return 0;
}

static bool
attach_wants_default(const struct attach_op *o)
{
        for (size_t i = 0; i < o->nnames; i++)
                if (strcmp(o->names[i], CNR_NET_DEFAULT) == 0)
                        return true;
        return false;
}

/* A restart right after the exit: the exit's detach ends first. */
static void
attach_after_detach(struct sup *s, struct cnr_err *e, void *arg)
{
        struct attach_op *o = arg;
        struct cnr_err *err = NULL;

        if (e) {
                err = nets_err_copy(e);
                cnr_err_wrap(&err, "the container's previous network detach");
        } else if (!nets_netd_up()) {
                cnr_errf(&err, EAGAIN, "netd is not up yet: try again");
        } else if (attach_begin(o, attach_wants_default(o), &err) == 0) {
                return;
        }
        o->cb(N.s, NULL, err, o->arg);
        cnr_err_free(&err);
        attach_op_free(o);
}

int
sup_network_attach(struct sup *s, const struct sup_net_request *req, sup_net_attach_cb cb, void *arg,
                   struct cnr_err **err)
{
        struct attach_op *o;
        json_t *pj = NULL;

        if (req->container_id == NULL || req->container_id[0] == '\0' || !nets_valid_name(req->container_id) ||
            strlen(req->container_id) > 128)
                return cnr_errf(err, EINVAL, "container id `%s`: not a valid CNI container id",
                                req->container_id ? req->container_id : "");
        if (req->nports && req->nnetworks == 0)
                return cnr_errf(err, EINVAL, "-p needs a network (not --network none)");
        if (req->nnetworks > 16)
                return cnr_errf(err, EINVAL, "at most 16 networks per container");
        if (((req->ip && req->ip[0]) || (req->ip6 && req->ip6[0])) && req->nnetworks == 0)
                return cnr_errf(err, EINVAL, "--ip and --ip6 need a network (not --network none)");
        if (!nets_netd_up())
                return cnr_errf(err, EAGAIN, "netd is not up yet: try again");
        if (req->nports) {
                pj = ports_json(req->ports, req->nports, err);
                if (pj == NULL)
                        return -1;
        }
        o = xcalloc(1, sizeof(*o));
        o->nsfd = -1;
        o->cid = xstrdup(req->container_id);
        o->cname = req->container_name ? xstrdup(req->container_name) : NULL;
        o->hostname = req->hostname ? xstrdup(req->hostname) : NULL;
        o->ports = pj ? json_dumps(pj, JSON_COMPACT) : NULL;
        json_decref(pj);
        o->ip = req->ip && req->ip[0] ? xstrdup(req->ip) : NULL;
        o->ip6 = req->ip6 && req->ip6[0] ? xstrdup(req->ip6) : NULL;
        o->cb = cb;
        o->arg = arg;
        o->names = xcalloc(req->nnetworks + 1, sizeof(char *));
        for (size_t i = 0; i < req->nnetworks; i++) {
                o->names[i] = xstrdup(req->networks[i]);
                o->nnames++;
        }
        if (detach_join(o->cid, attach_after_detach, o))
                return 0;
        if (attach_begin(o, attach_wants_default(o), err) < 0) {
                attach_op_free(o);
                return -1;
        }
        return 0;
}

void
sup_net_attachment_clear(struct sup_net_attachment *a)
{
        if (a->netns_fd >= 0)
                close(a->netns_fd);
        a->netns_fd = -1;
        for (size_t i = 0; i < a->nips; i++) {
                free(a->ips[i].network);
                free(a->ips[i].ifname);
                free(a->ips[i].address);
                free(a->ips[i].gateway);
                free(a->ips[i].mac);
        }
        free(a->ips);
        free(a->netns_path);
        free(a->etc_hosts);
        free(a->etc_resolv_conf);
        memset(a, 0, sizeof(*a));
        a->netns_fd = -1;
}

/* ---- start-up ----------------------------------------------------------- */

/* Without the lifecycle's own answer: a container is known while its row
 * in the containers table exists (if there is such a table). */
static bool
known_by_table(struct sup *s, const char *cid, void *arg)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_err *err = NULL;

        if (cnr_db_prepare(s->db, "SELECT 1 FROM containers WHERE id = ?1", &st, &err) < 0) {
                cnr_err_free(&err);
                return true; /* no table: nothing can be judged gone */
        }
        sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_ROW;
}

static void
run_reconcile(void)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_err *err = NULL;
        char **gone = NULL;
        size_t ngone = 0;
        int r;

        if (N.reconciled || !nets_netd_up() || !N.reconcile_wanted)
                return;
        N.reconciled = true;
        if (cnr_db_prepare(N.s->db, "SELECT container_id FROM net_handles", &st, &err) < 0) {
                log_warn("network cleanup: %s", cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                const char *cid = (const char *)sqlite3_column_text(st, 0);
                if (!N.known(N.s, cid, N.known_arg)) {
                        gone = xrealloc(gone, (ngone + 1) * sizeof(*gone));
                        gone[ngone++] = xstrdup(cid);
                }
        }
        for (size_t i = 0; i < ngone; i++) {
                log_info("network cleanup: container %.12s is gone: CNI DEL and handle removal", gone[i]);
                if (nets_detach(gone[i], NULL, NULL, NULL, &err) < 0) {
                        log_warn("network cleanup of %.12s: %s", gone[i], cnr_err_str(err));
                        cnr_err_free(&err);
                }
                free(gone[i]);
        }
        free(gone);
}

void
sup_networks_reconcile(struct sup *s, sup_net_known_fn known, void *arg)
{
        N.known = known;
        N.known_arg = arg;
        N.reconcile_wanted = true;
        run_reconcile();
}

static void
on_default_ready(struct sup *s, struct cnr_err *err, void *arg)
{
        /* logged by on_default_created; attach retries on demand */
}

static void
on_start_checked(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        char *bridge = arg;
        struct cnr_err *own = NULL, *e = nets_reply_error(env, err, &own);

        if (e)
                log_error("default network `%s`: %s (networks.default_bridge in containr.yaml names another bridge)",
                          CNR_NET_DEFAULT, cnr_err_str(e));
        else if (N.s)
                nets_bridge_verified(bridge);
        cnr_err_free(&own);
        free(bridge);
}

void
sup_networks_helper_up(struct sup *s)
{
        struct cnr_err *err = NULL;
        struct net *def;

        if (nets_default_ipv6_follow(&err) < 0) {
                log_warn("default network: %s", cnr_err_str(err));
                cnr_err_free(&err);
        }
        def = nets_find(CNR_NET_DEFAULT, &err);
        cnr_err_free(&err);
        nets_isolation_sync();
        /* the default network's bridge, at once: a stale one is repaired
         * (or reported) before any container needs it */
        if (def && !nets_bridge_is_verified(def->bridge)) {
                char *b = xstrdup(def->bridge);

                if (nets_bridge_check(def, on_start_checked, b, &err) < 0) {
                        log_error("default network `%s`: %s", CNR_NET_DEFAULT, cnr_err_str(err));
                        cnr_err_free(&err);
                        free(b);
                }
        }
        nets_net_free(def);
        if (nets_ensure_default(on_default_ready, NULL, &err) < 0) {
                log_error("default network: %s", cnr_err_str(err));
                cnr_err_free(&err);
        }
        if (!N.reconcile_wanted) {
                /* The lifecycle code may call sup_networks_reconcile with its
                 * own rule; until it does, judge by the containers table. */
                N.known = known_by_table;
                N.reconcile_wanted = true;
        }
        run_reconcile();
}

int
sup_networks_start(struct sup *s, struct cnr_err **err)
{
        N.s = s;
        return cnr_db_migrate(s->db, "networks", schema, CNR_ARRAY_LEN(schema), err);
}

void
sup_networks_stop(struct sup *s)
{
        while (N.busy)
                nets_busy_drop(N.busy->id);
        while (N.nverified)
                free(N.verified[--N.nverified]);
        free(N.verified);
        N.verified = NULL;
        N.s = NULL;
}
