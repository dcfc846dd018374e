/* API handlers for networks (request cases 80-85 of ipc/api.proto): the
 * CLI's `containr network create/ls/inspect/rm/connect/disconnect`.  The
 * work is in networks.c; these translate and answer.  ls and inspect
 * answer with JSON in a sealed memfd. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/api.h"
#include "supervisor/api_networks.h"
#include "supervisor/networks.h"

/* Long operations keep the client's id: it may leave before they end. */
struct pending {
        struct sup *s;
        uint64_t client;
        uint32_t reqid;
        const char *op;
        uint64_t t0;
        json_t *args;
        /* rm: the names still to remove, and what went */
        char **names;
        size_t nnames, next;
        char **removed;
        size_t nremoved;
};

static struct pending *
pending_new(struct sup_client *c, uint32_t reqid, const char *op, json_t *args)
{
        struct pending *p = xcalloc(1, sizeof(*p));

        p->s = sup_client_sup(c);
        p->client = sup_client_id(c);
        p->reqid = reqid;
        p->op = op;
        p->t0 = cnr_now_us();
        p->args = args;
        return p;
}

static void
pending_free(struct pending *p)
{
        for (size_t i = 0; i < p->nnames; i++)
                free(p->names[i]);
        free(p->names);
        for (size_t i = 0; i < p->nremoved; i++)
                free(p->removed[i]);
        free(p->removed);
        json_decref(p->args);
        free(p);
}

/* Answer an error (if the client is still there) and audit it. */
static void
pending_fail(struct pending *p, struct cnr_err *err)
{
        struct sup_client *c = sup_client_find(p->s, p->client);

        if (c)
                sup_client_fail(c, p->reqid, p->op, json_incref(p->args), err, p->t0);
}

/* ---- create ---- */

static void
on_created(struct sup *s, const char *id, const char *subnet, const char *gateway, const char *subnet6,
           struct cnr_err *err, void *arg)
{
        struct pending *p = arg;
        struct sup_client *c = sup_client_find(p->s, p->client);
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__NetworkCreateReply r = CNR__API__NETWORK_CREATE_REPLY__INIT;

        if (err) {
                pending_fail(p, err);
        } else if (c) {
                r.id = (char *)id;
                r.name = (char *)json_string_value(json_object_get(p->args, "name"));
                r.subnet = (char *)subnet;
                r.gateway = (char *)gateway;
                r.subnet6 = (char *)(subnet6 ? subnet6 : "");
                env.msg_case = CNR__API__REPLY__MSG_NETWORK_CREATE;
                env.network_create = &r;
                sup_client_reply(c, &env, p->reqid, NULL, 0);
                json_object_set_new(p->args, "id", json_string(id));
                json_object_set_new(p->args, "subnet", json_string(subnet));
                if (subnet6 && subnet6[0])
                        json_object_set_new(p->args, "subnet6", json_string(subnet6));
                sup_client_audit(c, p->op, p->reqid, json_incref(p->args), 0, NULL, p->t0);
        }
        pending_free(p);
}

void
sup_api_network_create(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__NetworkCreate *q = ((Cnr__Api__Request *)m)->network_create;
        struct sup_net_create req = {.name = q->name,
                                     .subnet = q->subnet,
                                     .gateway = q->gateway,
                                     .ipv6 = q->ipv6,
                                     .subnet6 = q->subnet6,
                                     .gateway6 = q->gateway6,
                                     .labels = q->labels,
                                     .nlabels = q->n_labels,
                                     .options = q->options,
                                     .noptions = q->n_options};
        json_t *args = json_pack("{s:s, s:s}", "name", q->name, "subnet", q->subnet);
        struct pending *p = pending_new(c, f->reqid, "network_create", args);
        struct cnr_err *err = NULL;

        if (sup_network_create(sup_client_sup(c), &req, on_created, p, &err) < 0) {
                sup_client_fail(c, f->reqid, "network_create", json_incref(args), err, cnr_now_us());
                cnr_err_free(&err);
                pending_free(p);
        }
}

/* ---- ls, inspect ---- */

static void
json_reply(struct sup_client *c, uint32_t reqid, const char *op, char *const *names, size_t n, bool inspect)
{
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__NetworkJsonReply r = CNR__API__NETWORK_JSON_REPLY__INIT;
        json_t *missing = inspect ? json_array() : NULL, *arr, *v;
        _cleanup_free_ char **miss = NULL;
        struct cnr_err *err = NULL;
        _cleanup_close_ int fd = -1;
        size_t i;

        arr = sup_networks_json(sup_client_sup(c), names, n, missing, &err);
        if (arr == NULL || (fd = sup_client_json_memfd(arr, "containr-networks", &err)) < 0) {
                sup_client_fail(c, reqid, op, NULL, err, cnr_now_us());
                cnr_err_free(&err);
                json_decref(arr);
                json_decref(missing);
                return;
        }
        r.count = (uint32_t)json_array_size(arr);
        if (missing && json_array_size(missing)) {
                miss = xcalloc(json_array_size(missing), sizeof(char *));
                json_array_foreach(missing, i, v) miss[i] = (char *)json_string_value(v);
                r.n_missing = json_array_size(missing);
                r.missing = miss;
        }
        env.msg_case = inspect ? CNR__API__REPLY__MSG_NETWORK_INSPECT : CNR__API__REPLY__MSG_NETWORK_LIST;
        if (inspect)
                env.network_inspect = &r;
        else
                env.network_list = &r;
        sup_client_reply(c, &env, reqid, &fd, 1);
        sup_client_audit(c, op, reqid, NULL, 0, NULL, cnr_now_us());
        json_decref(arr);
        json_decref(missing);
}

void
sup_api_network_list(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        json_reply(arg, f->reqid, "network_list", NULL, 0, false);
}

void
sup_api_network_inspect(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        Cnr__Api__NetworkInspect *q = ((Cnr__Api__Request *)m)->network_inspect;

        if (q->n_names == 0) {
                struct cnr_err *err = NULL;
                cnr_errf(&err, EINVAL, "network inspect: name at least one network");
                sup_client_fail(arg, f->reqid, "network_inspect", NULL, err, cnr_now_us());
                cnr_err_free(&err);
                return;
        }
        json_reply(arg, f->reqid, "network_inspect", q->names, q->n_names, true);
}

/* ---- rm ---- */

static void rm_next(struct pending *p);

static void
on_removed(struct sup *s, struct cnr_err *err, void *arg)
{
        struct pending *p = arg;

        if (err) {
                pending_fail(p, err);
                pending_free(p);
                return;
        }
        p->removed = xrealloc(p->removed, (p->nremoved + 1) * sizeof(char *));
        p->removed[p->nremoved++] = xstrdup(p->names[p->next]);
        p->next++;
        rm_next(p);
}

static void
rm_next(struct pending *p)
{
        struct sup_client *c;
        struct cnr_err *err = NULL;

        if (p->next < p->nnames) {
                if (sup_network_remove(p->s, p->names[p->next], on_removed, p, &err) < 0) {
                        pending_fail(p, err);
                        cnr_err_free(&err);
                        pending_free(p);
                }
                return;
        }
        c = sup_client_find(p->s, p->client);
        if (c) {
                Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                Cnr__Api__NetworkRemoveReply r = CNR__API__NETWORK_REMOVE_REPLY__INIT;

                r.removed = p->removed;
                r.n_removed = p->nremoved;
                env.msg_case = CNR__API__REPLY__MSG_NETWORK_REMOVE;
                env.network_remove = &r;
                sup_client_reply(c, &env, p->reqid, NULL, 0);
                sup_client_audit(c, p->op, p->reqid, json_incref(p->args), 0, NULL, p->t0);
        }
        pending_free(p);
}

void
sup_api_network_remove(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__NetworkRemove *q = ((Cnr__Api__Request *)m)->network_remove;
        json_t *names = json_array();
        struct pending *p;

        for (size_t i = 0; i < q->n_names; i++)
                json_array_append_new(names, json_string(q->names[i]));
        p = pending_new(c, f->reqid, "network_remove", json_pack("{s:o}", "names", names));
        p->names = xcalloc(q->n_names + 1, sizeof(char *));
        for (size_t i = 0; i < q->n_names; i++)
                p->names[p->nnames++] = xstrdup(q->names[i]);
        rm_next(p);
}

/* ---- connect, disconnect ---- */

static void
on_connected(struct sup *s, const char *cid, const char *ifname, const char *address, struct cnr_err *err, void *arg)
{
        struct pending *p = arg;
        struct sup_client *c = sup_client_find(p->s, p->client);
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__NetworkConnectReply r = CNR__API__NETWORK_CONNECT_REPLY__INIT;
        Cnr__Api__NetworkDisconnectReply d = CNR__API__NETWORK_DISCONNECT_REPLY__INIT;

        if (err) {
                pending_fail(p, err);
        } else if (c) {
                if (strcmp(p->op, "network_connect") == 0) {
                        r.container_id = (char *)cid;
                        r.ifname = (char *)(ifname ? ifname : "");
                        r.address = (char *)(address ? address : "");
                        env.msg_case = CNR__API__REPLY__MSG_NETWORK_CONNECT;
                        env.network_connect = &r;
                } else {
                        d.container_id = (char *)cid;
                        env.msg_case = CNR__API__REPLY__MSG_NETWORK_DISCONNECT;
                        env.network_disconnect = &d;
                }
                sup_client_reply(c, &env, p->reqid, NULL, 0);
                sup_client_audit(c, p->op, p->reqid, json_incref(p->args), 0, NULL, p->t0);
        }
        pending_free(p);
}

void
sup_api_network_connect(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__NetworkConnect *q = ((Cnr__Api__Request *)m)->network_connect;
        json_t *args = json_pack("{s:s, s:s}", "network", q->network, "container", q->container);
        struct pending *p = pending_new(c, f->reqid, "network_connect", args);
        struct cnr_err *err = NULL;

        if (sup_network_connect(sup_client_sup(c), q->network, q->container, on_connected, p, &err) < 0) {
                sup_client_fail(c, f->reqid, "network_connect", json_incref(args), err, cnr_now_us());
                cnr_err_free(&err);
                pending_free(p);
        }
}

void
sup_api_network_disconnect(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__NetworkDisconnect *q = ((Cnr__Api__Request *)m)->network_disconnect;
        json_t *args = json_pack("{s:s, s:s}", "network", q->network, "container", q->container);
        struct pending *p = pending_new(c, f->reqid, "network_disconnect", args);
        struct cnr_err *err = NULL;

        if (sup_network_disconnect(sup_client_sup(c), q->network, q->container, on_connected, p, &err) < 0) {
                sup_client_fail(c, f->reqid, "network_disconnect", json_incref(args), err, cnr_now_us());
                cnr_err_free(&err);
                pending_free(p);
        }
}
