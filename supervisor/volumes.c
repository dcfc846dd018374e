/* Named volumes: an Active snapshot without a parent, key "volume-<name>",
 * label containr.volume=<name>.  snapd makes and removes its directory,
 * mountd builds its mount (a bind of the snapshot's fs), the snapshot GC
 * keeps it (it is Active), start-up reconciliation knows it (it is in the
 * metadata).  An anonymous volume (-v /path, or a VOLUME of the image) is
 * named after its container and destination and has the label
 * containr.anonymous=<container id>; `rm -v` and --rm remove it, a plain
 * `rm` leaves it dangling (Docker), for `volume prune` or `volume rm`. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/util.h"
#include "supervisor/api.h"
#include "supervisor/api_containers.h"
#include "supervisor/containers.h"

#define VOL_PREFIX "volume-"

static bool
vol_name_ok(const char *n)
{
        size_t len = strlen(n);

        if (len == 0 || len > 64)
                return false;
        if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') || (n[0] >= '0' && n[0] <= '9')))
                return false;
        for (const char *p = n; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                      *p == '.' || *p == '-'))
                        return false;
        return true;
}

int
sup_volumes_start(struct sup *s, struct cnr_err **err)
{
        return 0;
}

struct vol_op {
        struct sup *s;
        char *key;
        int userns_fd; /* ours, -1 without --userns */
        ctr_fd_fn cb;
        void *arg;
};

static void
vol_op_free(struct vol_op *op)
{
        if (op->userns_fd >= 0)
                close(op->userns_fd);
        free(op->key);
        free(op);
}

static void
on_vol_mount(struct cnr_err *err, int fd, void *arg)
{
        struct vol_op *op = arg;

        op->cb(err, fd, op->arg);
        vol_op_free(op);
}

static void
on_vol_prepared(struct cnr_err *err, void *arg)
{
        struct vol_op *op = arg;
        struct cnr_err *e = NULL;

        if (err) {
                op->cb(err, -1, op->arg);
                vol_op_free(op);
                return;
        }
        if ((op->userns_fd >= 0 ? cnr_snap_mount_idmapped(op->s->snaps, op->key, op->userns_fd, on_vol_mount, op, &e)
                                : cnr_snap_mount(op->s->snaps, op->key, on_vol_mount, op, &e)) < 0) {
                op->cb(e, -1, op->arg);
                cnr_err_free(&e);
                vol_op_free(op);
        }
}

static int
vol_ensure(struct sup *s, const char *name, json_t *labels, cnr_snap_done_fn cb, void *arg, struct cnr_err **err)
{
        _cleanup_free_ char *key = xasprintf(VOL_PREFIX "%s", name);
        struct cnr_snap_info info;
        struct cnr_err *e = NULL;

        if (cnr_snap_stat(s->snaps, key, &info, &e) == 0) {
                cnr_snap_info_clear(&info);
                cb(NULL, arg);
                return 0;
        }
        cnr_err_free(&e);
        return cnr_snap_prepare(s->snaps, key, "", labels, cb, arg, err);
}

int
ctr_volume_mount(struct sup *s, const char *name, const char *container_id, const char *dest, int userns_fd,
                 ctr_fd_fn cb, void *arg, struct cnr_err **err)
{
        struct vol_op *op;
        char anon[65];
        json_t *labels;
        int r;

        if (s->snaps == NULL)
                return cnr_errf(err, EAGAIN, "the snapshotter is not available");
        if (name[0] == '\0') {
                /* The same name for the same container and destination
                 * (FNV-1a of the destination): a restart finds its
                 * volume again instead of making a new one. */
                uint64_t h = 0xcbf29ce484222325ULL;
                for (const char *p = dest; *p; p++)
                        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
                snprintf(anon, sizeof(anon), "%.32s-%016llx", container_id, (unsigned long long)h);
                name = anon;
                labels = json_pack("{s:s,s:s}", "containr.volume", name, "containr.anonymous", container_id);
        } else {
                if (!vol_name_ok(name))
                        return cnr_errf(err, EINVAL, "volume name `%s`: use [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64",
                                        name);
                labels = json_pack("{s:s}", "containr.volume", name);
        }
        op = xcalloc(1, sizeof(*op));
        op->s = s;
        op->key = xasprintf(VOL_PREFIX "%s", name);
        op->userns_fd = -1;
        if (userns_fd >= 0 && (op->userns_fd = fcntl(userns_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
                json_decref(labels);
                vol_op_free(op);
                return cnr_errf(err, errno, "volume `%s`: keep the user namespace fd", name);
        }
        op->cb = cb;
        op->arg = arg;
        r = vol_ensure(s, name, labels, on_vol_prepared, op, err);
        json_decref(labels);
        if (r < 0)
                vol_op_free(op);
        return r;
}

/* ---- listing ---- */

static int
collect(const struct cnr_snap_info *info, void *arg)
{
        json_t *a = arg;
        const char *name = json_string_value(json_object_get(info->labels, "containr.volume"));

        time_t t = (time_t)(info->created / 1000000000);
        struct tm tm;
        char when[32] = "";

        if (!name || strncmp(info->name, VOL_PREFIX, strlen(VOL_PREFIX)) != 0)
                return 0;
        /* Docker's shape: CreatedAt as RFC 3339, Scope local */
        if (gmtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:O}", "Name", name, "Driver", "local", "CreatedAt",
                                           when, "Scope", "local", "SnapshotDir", info->id, "Labels", info->labels));
        return 0;
}

static json_t *
vol_list(struct sup *s, struct cnr_err **err)
{
        json_t *a = json_array();
        const char *filter = "labels.\"containr.volume\"";

        if (cnr_snap_walk(s->snaps, &filter, 1, collect, a, err) < 0) {
                json_decref(a);
                return NULL;
        }
        {
                size_t i;
                json_t *v;
                json_array_foreach(a, i, v)
                {
                        _cleanup_free_ char *mp = xasprintf("%s/overlay2/%s/fs", s->d->snap_root,
                                                            json_string_value(json_object_get(v, "SnapshotDir")));
                        json_object_set_new(v, "Mountpoint", json_string(mp));
                        json_object_del(v, "SnapshotDir");
                }
        }
        return a;
}

/* The container that uses a volume, or NULL: a named volume is used by
 * every container that names it, an anonymous one (label
 * containr.anonymous) by the container it was made for while that
 * container exists.  A volume nobody uses is dangling. */
static const char *
vol_user(struct sup *s, const char *name, json_t *labels)
{
        const char *owner = json_string_value(json_object_get(labels, "containr.anonymous"));
        struct ctr **all;
        size_t n = ctr_all(s, &all);
        const char *who = NULL;

        for (size_t i = 0; i < n && !who; i++) {
                if (owner && strcmp(all[i]->id, owner) == 0)
                        who = all[i]->name;
                for (size_t k = 0; k < all[i]->cfg->n_mounts && !who; k++)
                        if (strcmp(all[i]->cfg->mounts[k]->type, "volume") == 0 &&
                            strcmp(all[i]->cfg->mounts[k]->source, name) == 0)
                                who = all[i]->name;
        }
        free(all);
        return who;
}

/* Docker's `volume ls --filter`: dangling=true|false, name=SUBSTRING,
 * label=KEY or label=KEY=VALUE; filters of different keys must all
 * match, several of one key any of them (Docker's rule). */
static int
filters_check(char **f, size_t n, struct cnr_err **err)
{
        for (size_t i = 0; i < n; i++) {
                const char *v = strchr(f[i], '=');
                if (v && strncmp(f[i], "dangling=", 9) == 0 &&
                    (strcmp(v + 1, "true") == 0 || strcmp(v + 1, "false") == 0 || strcmp(v + 1, "1") == 0 ||
                     strcmp(v + 1, "0") == 0))
                        continue;
                if (v && (strncmp(f[i], "name=", 5) == 0 || (strncmp(f[i], "label=", 6) == 0 && v[1])))
                        continue;
                return cnr_errf(err, EINVAL, "filter `%s`: want dangling=true|false, name=NAME or label=KEY[=VALUE]",
                                f[i]);
        }
        return 0;
}

static bool
filter_one(struct sup *s, json_t *v, const char *f)
{
        const char *name = json_string_value(json_object_get(v, "Name"));
        json_t *labels = json_object_get(v, "Labels");

        if (strncmp(f, "dangling=", 9) == 0) {
                bool want = strcmp(f + 9, "true") == 0 || strcmp(f + 9, "1") == 0;
                return (vol_user(s, name, labels) == NULL) == want;
        }
        if (strncmp(f, "name=", 5) == 0)
                return strstr(name, f + 5) != NULL;
        {
                const char *kv = f + 6, *eq = strchr(kv, '=');
                _cleanup_free_ char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
                const char *have = json_string_value(json_object_get(labels, k));
                return have && (!eq || strcmp(have, eq + 1) == 0);
        }
}

static bool
filters_match(struct sup *s, json_t *v, char **f, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                size_t klen = (size_t)(strchr(f[i], '=') - f[i]);
                bool any = false, seen = false;
                for (size_t k = 0; k < n; k++) {
                        if (strncmp(f[k], f[i], klen + 1) != 0)
                                continue;
                        seen = true;
                        any = any || filter_one(s, v, f[k]);
                }
                if (seen && !any)
                        return false;
        }
        return true;
}

/* vol_list narrowed by filters (already checked). */
static json_t *
vol_list_filtered(struct sup *s, char **f, size_t n, struct cnr_err **err)
{
        json_t *a = vol_list(s, err), *out;
        size_t i;
        json_t *v;

        if (!a || n == 0)
                return a;
        out = json_array();
        json_array_foreach(a, i, v) if (filters_match(s, v, f, n)) json_array_append(out, v);
        json_decref(a);
        return out;
}

/* ---- API ---- */

struct api_vol {
        struct sup *s;
        uint64_t client;
        uint32_t reqid;
        uint64_t t0;
        char *name;
        json_t *pending; /* prune/remove: names left */
        json_t *removed;
        json_t *errors;
        int op;
};

static void
on_created_vol(struct cnr_err *err, void *arg)
{
        struct api_vol *av = arg;
        struct sup_client *c = sup_client_find(av->s, av->client);

        if (c) {
                if (err) {
                        sup_client_error(c, av->reqid, err->code, cnr_err_str(err));
                } else {
                        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                        Cnr__Api__VolumeReply vr = CNR__API__VOLUME_REPLY__INIT;
                        vr.name = av->name;
                        env.msg_case = CNR__API__REPLY__MSG_VOLUME_CREATE;
                        env.volume_create = &vr;
                        sup_client_reply(c, &env, av->reqid, NULL, 0);
                }
                sup_client_audit(c, "volume_create", av->reqid, json_pack("{s:s}", "name", av->name),
                                 err ? err->code : 0, err ? cnr_err_str(err) : NULL, av->t0);
        }
        free(av->name);
        free(av);
}

void
sup_api_volume_create(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__VolumeCreate *vc = ((Cnr__Api__Request *)m)->volume_create;
        struct api_vol *av;
        struct cnr_err *err = NULL;
        char name[65];
        json_t *labels;

        if (vc->name[0] == '\0') {
                uint8_t b[32];
                if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
                        abort();
                for (size_t i = 0; i < sizeof(b); i++)
                        snprintf(name + 2 * i, 3, "%02x", b[i]);
        } else {
                snprintf(name, sizeof(name), "%s", vc->name);
        }
        if (!vol_name_ok(vc->name[0] ? vc->name : name) || s->snaps == NULL) {
                sup_client_error(c, f->reqid, EINVAL,
                                 s->snaps ? "volume name: use [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters"
                                          : "the snapshotter is not available");
                return;
        }
        labels = json_pack("{s:s}", "containr.volume", name);
        for (size_t i = 0; i < vc->n_labels; i++) {
                const char *eq = strchr(vc->labels[i], '=');
                _cleanup_free_ char *k =
                        eq ? xstrndup(vc->labels[i], (size_t)(eq - vc->labels[i])) : xstrdup(vc->labels[i]);
                if (strncmp(k, "containr.", 9) != 0)
                        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
        }
        av = xcalloc(1, sizeof(*av));
        av->s = s;
        av->client = sup_client_id(c);
        av->reqid = f->reqid;
        av->t0 = cnr_now_us();
        av->name = xstrdup(name);
        if (vol_ensure(s, name, labels, on_created_vol, av, &err) < 0) {
                on_created_vol(err, av);
                cnr_err_free(&err);
        }
        json_decref(labels);
}

static void
reply_json(struct sup_client *c, uint32_t reqid, int msgcase, json_t *j)
{
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ContainerJsonReply jr = CNR__API__CONTAINER_JSON_REPLY__INIT;
        struct cnr_err *err = NULL;
        int fd = ctr_json_memfd(j, &err);

        if (fd < 0) {
                sup_client_error(c, reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        jr.count = (uint32_t)json_array_size(j);
        env.msg_case = msgcase;
        if (msgcase == CNR__API__REPLY__MSG_VOLUME_LIST)
                env.volume_list = &jr;
        else
                env.volume_inspect = &jr;
        sup_client_reply(c, &env, reqid, &fd, 1);
        close(fd);
}

void
sup_api_volume_list(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__VolumeList *vl = ((Cnr__Api__Request *)m)->volume_list;
        struct sup *s = sup_client_sup(c);
        struct cnr_err *err = NULL;
        json_t *a = NULL;

        if (filters_check(vl->filters, vl->n_filters, &err) == 0)
                a = s->snaps ? vol_list_filtered(s, vl->filters, vl->n_filters, &err) : json_array();
        if (!a) {
                sup_client_error(c, f->reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        reply_json(c, f->reqid, CNR__API__REPLY__MSG_VOLUME_LIST, a);
        json_decref(a);
}

void
sup_api_volume_inspect(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__VolumeInspect *vi = ((Cnr__Api__Request *)m)->volume_inspect;
        struct cnr_err *err = NULL;
        json_t *a = sup_client_sup(c)->snaps ? vol_list(sup_client_sup(c), &err) : json_array(), *out;

        if (!a) {
                sup_client_error(c, f->reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        out = json_array();
        for (size_t i = 0; i < vi->n_names; i++) {
                size_t k;
                json_t *v;
                bool found = false;
                json_array_foreach(a, k,
                                   v) if (strcmp(json_string_value(json_object_get(v, "Name")), vi->names[i]) == 0)
                {
                        json_array_append(out, v);
                        found = true;
                }
                if (!found) {
                        _cleanup_free_ char *msg = xasprintf("no such volume: `%s`", vi->names[i]);
                        sup_client_error(c, f->reqid, ENOENT, msg);
                        json_decref(a);
                        json_decref(out);
                        return;
                }
        }
        reply_json(c, f->reqid, CNR__API__REPLY__MSG_VOLUME_INSPECT, out);
        json_decref(out);
        json_decref(a);
}

static void vol_remove_next(struct api_vol *av);

static void
on_vol_removed(struct cnr_err *err, void *arg)
{
        struct api_vol *av = arg;

        if (err) {
                _cleanup_free_ char *msg = xasprintf("%s: %s", av->name, cnr_err_str(err));
                json_array_append_new(av->errors, json_string(msg));
        } else {
                json_array_append_new(av->removed, json_string(av->name));
        }
        vol_remove_next(av);
}

static void
vol_remove_next(struct api_vol *av)
{
        struct sup_client *c;
        struct cnr_err *err = NULL;

        while (json_array_size(av->pending) > 0) {
                const char *who;
                _cleanup_free_ char *key = NULL;
                struct cnr_snap_info info;

                free(av->name);
                av->name = xstrdup(json_string_value(json_array_get(av->pending, 0)));
                json_array_remove(av->pending, 0);
                key = xasprintf(VOL_PREFIX "%s", av->name);
                if (cnr_snap_stat(av->s->snaps, key, &info, &err) < 0) {
                        _cleanup_free_ char *msg = err->code == ENOENT
                                                           ? xasprintf("no such volume: `%s`", av->name)
                                                           : xasprintf("%s: %s", av->name, cnr_err_str(err));
                        json_array_append_new(av->errors, json_string(msg));
                        cnr_err_free(&err);
                        continue;
                }
                who = vol_user(av->s, av->name, info.labels);
                cnr_snap_info_clear(&info);
                if (who) {
                        if (av->op == 0) { /* rm reports it; prune skips it */
                                _cleanup_free_ char *msg =
                                        xasprintf("%s: volume is in use by container `%s`", av->name, who);
                                json_array_append_new(av->errors, json_string(msg));
                        }
                        continue;
                }
                if (cnr_snap_remove(av->s->snaps, key, on_vol_removed, av, &err) == 0)
                        return;
                {
                        _cleanup_free_ char *msg = xasprintf("%s: %s", av->name, cnr_err_str(err));
                        json_array_append_new(av->errors, json_string(msg));
                }
                cnr_err_free(&err);
        }
        c = sup_client_find(av->s, av->client);
        if (c) {
                Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                size_t nr = json_array_size(av->removed), ne = json_array_size(av->errors);
                char **removed = xcalloc(nr + 1, sizeof(char *)), **errors = xcalloc(ne + 1, sizeof(char *));

                for (size_t i = 0; i < nr; i++)
                        removed[i] = (char *)json_string_value(json_array_get(av->removed, i));
                for (size_t i = 0; i < ne; i++)
                        errors[i] = (char *)json_string_value(json_array_get(av->errors, i));
                if (av->op == 0) {
                        Cnr__Api__VolumeRemoveReply rr = CNR__API__VOLUME_REMOVE_REPLY__INIT;
                        rr.removed = removed;
                        rr.n_removed = nr;
                        rr.errors = errors;
                        rr.n_errors = ne;
                        env.msg_case = CNR__API__REPLY__MSG_VOLUME_REMOVE;
                        env.volume_remove = &rr;
                        sup_client_reply(c, &env, av->reqid, NULL, 0);
                } else {
                        Cnr__Api__PruneReply pr = CNR__API__PRUNE_REPLY__INIT;
                        Cnr__Api__PruneItem *items = xcalloc(nr + 1, sizeof(*items));
                        Cnr__Api__PruneItem **pitems = xcalloc(nr + 1, sizeof(*pitems));
                        for (size_t i = 0; i < nr; i++) {
                                cnr__api__prune_item__init(&items[i]);
                                items[i].kind = "volume";
                                items[i].id = removed[i];
                                pitems[i] = &items[i];
                        }
                        pr.items = pitems;
                        pr.n_items = nr;
                        env.msg_case = CNR__API__REPLY__MSG_VOLUME_PRUNE;
                        env.volume_prune = &pr;
                        sup_client_reply(c, &env, av->reqid, NULL, 0);
                        free(items);
                        free(pitems);
                }
                sup_client_audit(c, av->op == 0 ? "volume_remove" : "volume_prune", av->reqid,
                                 json_pack("{s:O,s:O}", "removed", av->removed, "errors", av->errors), 0, NULL, av->t0);
                free(removed);
                free(errors);
        }
        json_decref(av->pending);
        json_decref(av->removed);
        json_decref(av->errors);
        free(av->name);
        free(av);
}

static void
vol_remove_start(struct sup_client *c, uint32_t reqid, json_t *names, int op)
{
        struct api_vol *av = xcalloc(1, sizeof(*av));

        av->s = sup_client_sup(c);
        av->client = sup_client_id(c);
        av->reqid = reqid;
        av->t0 = cnr_now_us();
        av->pending = names;
        av->removed = json_array();
        av->errors = json_array();
        av->op = op;
        vol_remove_next(av);
}

void
sup_api_volume_remove(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__VolumeRemove *vr = ((Cnr__Api__Request *)m)->volume_remove;
        json_t *names = json_array();

        if (sup_client_sup(c)->snaps == NULL) {
                sup_client_error(c, f->reqid, EAGAIN, "the snapshotter is not available");
                json_decref(names);
                return;
        }
        for (size_t i = 0; i < vr->n_names; i++)
                json_array_append_new(names, json_string(vr->names[i]));
        vol_remove_start(c, f->reqid, names, 0);
}

void
sup_api_volume_prune(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__VolumeList *vl = ((Cnr__Api__Request *)m)->volume_prune;
        struct cnr_err *err = NULL;
        json_t *a = NULL, *names = json_array(), *v;
        size_t i;

        if (sup_client_sup(c)->snaps == NULL) {
                sup_client_error(c, f->reqid, EAGAIN, "the snapshotter is not available");
                json_decref(names);
                return;
        }
        if (filters_check(vl->filters, vl->n_filters, &err) == 0)
                a = vol_list_filtered(sup_client_sup(c), vl->filters, vl->n_filters, &err);
        if (!a) {
                sup_client_error(c, f->reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                json_decref(names);
                return;
        }
        /* the volumes in use are skipped by vol_remove_next */
        json_array_foreach(a, i, v) json_array_append(names, json_object_get(v, "Name"));
        json_decref(a);
        vol_remove_start(c, f->reqid, names, 1);
}

static void
on_anon_removed(struct cnr_err *err, void *arg)
{
        if (err)
                log_warn("remove an anonymous volume: %s", cnr_err_str(err));
}

/* Anonymous volumes of a removed container (rm -v, --rm, a failed create). */
void
ctr_volumes_remove_anonymous(struct sup *s, const char *container_id)
{
        struct cnr_err *err = NULL;
        json_t *a = s->snaps ? vol_list(s, &err) : NULL, *v;
        size_t i;

        if (!a) {
                cnr_err_free(&err);
                return;
        }
        json_array_foreach(a, i, v)
        {
                const char *owner =
                        json_string_value(json_object_get(json_object_get(v, "Labels"), "containr.anonymous"));
                if (owner && strcmp(owner, container_id) == 0) {
                        _cleanup_free_ char *key =
                                xasprintf(VOL_PREFIX "%s", json_string_value(json_object_get(v, "Name")));
                        if (cnr_snap_remove(s->snaps, key, on_anon_removed, NULL, &err) < 0)
                                cnr_err_free(&err);
                }
        }
        json_decref(a);
}
