/* The snapshotter: see snapshots.h for the rules and the crash ordering. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/helpers.h"
#include "common/log.h"
#include "common/util.h"
#include "ipc/helper.pb-c.h"
#include "supervisor/snapshots.h"

#define EXTRACT_PREFIX "extract-"
#define APPLY_TIMEOUT_MS (30U * 60U * 1000U) /* a large layer on a slow disk */
#define LISTING_MAX (16U << 20)

struct cnr_snapshotter {
        struct cnr_db *db;
        cnr_snap_request_fn request;
        void *arg;
        /* ids whose directory is being made and whose row is not written
         * yet: never swept as orphans */
        int64_t *inflight;
        size_t ninflight;
};

static void
inflight_add(struct cnr_snapshotter *ss, int64_t id)
{
        ss->inflight = xrealloc(ss->inflight, (ss->ninflight + 1) * sizeof(*ss->inflight));
        ss->inflight[ss->ninflight++] = id;
}

static void
inflight_del(struct cnr_snapshotter *ss, int64_t id)
{
        for (size_t i = 0; i < ss->ninflight; i++)
                if (ss->inflight[i] == id) {
                        ss->inflight[i] = ss->inflight[--ss->ninflight];
                        return;
                }
}

static const char *const schema[] = {
        "CREATE TABLE snapshots ("
        " id INTEGER PRIMARY KEY,"
        " key TEXT NOT NULL UNIQUE,"
        " kind INTEGER NOT NULL,"
        " parent INTEGER REFERENCES snapshots(id),"
        " labels TEXT NOT NULL DEFAULT '{}',"
        " created INTEGER NOT NULL,"
        " updated INTEGER NOT NULL,"
        " missing INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX snapshots_parent ON snapshots(parent)",
        /* ids are never reused: a directory left by a crash never names a
         * new snapshot */
        "CREATE TABLE snapshot_ids (id INTEGER PRIMARY KEY AUTOINCREMENT)",
        /* the diff_id of snapd's own diff of a committed snapshot, recorded
         * when it is committed by unpack or import (what verify recomputes) */
        "ALTER TABLE snapshots ADD COLUMN diff_id TEXT NOT NULL DEFAULT ''",
};

const char *
cnr_snap_kind_name(enum cnr_snap_kind k)
{
        switch (k) {
        case CNR_SNAP_VIEW:
                return "View";
        case CNR_SNAP_ACTIVE:
                return "Active";
        case CNR_SNAP_COMMITTED:
                return "Committed";
        default:
                return "Unknown";
        }
}

void
cnr_snap_info_clear(struct cnr_snap_info *i)
{
        free(i->name);
        free(i->parent);
        json_decref(i->labels);
        memset(i, 0, sizeof(*i));
}

void
cnr_snap_mounts_clear(struct cnr_snap_mounts *m)
{
        for (size_t i = 0; i < m->nlower; i++)
                free(m->lower[i]);
        free(m->lower);
        memset(m, 0, sizeof(*m));
}

static int64_t
now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
cnr_snapshotter_open(struct cnr_db *db, cnr_snap_request_fn request, void *arg, struct cnr_snapshotter **out,
                     struct cnr_err **err)
{
        struct cnr_snapshotter *ss;

        if (cnr_db_migrate(db, "snapshots", schema, CNR_ARRAY_LEN(schema), err) < 0)
                return cnr_err_wrap(err, "snapshots");
        ss = xcalloc(1, sizeof(*ss));
        ss->db = db;
        ss->request = request;
        ss->arg = arg;
        *out = ss;
        return 0;
}

void
cnr_snapshotter_close(struct cnr_snapshotter *ss)
{
        if (ss)
                free(ss->inflight);
        free(ss);
}

/* ---- metadata ----------------------------------------------------------- */

#define INFO_COLS                                                                                                      \
        "s.id, s.key, s.kind, COALESCE(p.key, ''), s.labels, s.created, s.updated, s.missing, COALESCE(s.parent, 0), "      \
        "s.diff_id"
#define INFO_FROM " FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent"

static void
row_info(sqlite3_stmt *st, struct cnr_snap_info *i, int64_t *parent_id)
{
        json_error_t je;

        memset(i, 0, sizeof(*i));
        snprintf(i->id, sizeof(i->id), "%" PRId64, (int64_t)sqlite3_column_int64(st, 0));
        i->name = xstrdup((const char *)sqlite3_column_text(st, 1));
        i->kind = (enum cnr_snap_kind)sqlite3_column_int(st, 2);
        i->parent = xstrdup((const char *)sqlite3_column_text(st, 3));
        i->labels = json_loads((const char *)sqlite3_column_text(st, 4), 0, &je);
        if (!json_is_object(i->labels)) {
                json_decref(i->labels);
                i->labels = json_object();
        }
        i->created = sqlite3_column_int64(st, 5);
        i->updated = sqlite3_column_int64(st, 6);
        i->missing = sqlite3_column_int(st, 7) != 0;
        if (parent_id)
                *parent_id = sqlite3_column_int64(st, 8);
        snprintf(i->diff_id, sizeof(i->diff_id), "%s", (const char *)sqlite3_column_text(st, 9));
}

/* 0 found, -1 ENOENT or a database error. */
static int
get(struct cnr_snapshotter *ss, const char *key, struct cnr_snap_info *out, int64_t *parent_id, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (cnr_db_prepare(ss->db, "SELECT " INFO_COLS INFO_FROM " WHERE s.key = ?", &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return cnr_errf(err, ENOENT, "snapshot `%s` does not exist", key);
        if (r != SQLITE_ROW)
                return cnr_db_err(ss->db, err, "read snapshot");
        row_info(st, out, parent_id);
        return 0;
}

int
cnr_snap_stat(struct cnr_snapshotter *ss, const char *key, struct cnr_snap_info *out, struct cnr_err **err)
{
        int64_t pid;
        return get(ss, key, out, &pid, err);
}

static int
write_labels(struct cnr_snapshotter *ss, const char *key, json_t *labels, int64_t updated, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *js = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);

        if (cnr_db_prepare(ss->db, "UPDATE snapshots SET labels = ?, updated = ? WHERE key = ?", &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, js, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, updated);
        sqlite3_bind_text(st, 3, key, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
                return cnr_db_err(ss->db, err, "update snapshot labels");
        return 0;
}

static int
check_labels(json_t *labels, struct cnr_err **err)
{
        const char *k;
        json_t *v;

        if (labels == NULL)
                return 0;
        if (!json_is_object(labels))
                return cnr_errf(err, EINVAL, "labels must be an object of strings");
        json_object_foreach(labels, k,
                            v) if (!json_is_string(v) || strlen(k) == 0 || strlen(k) > 4096 ||
                                   json_string_length(v) >
                                           4096) return cnr_errf(err, EINVAL,
                                                                 "label `%s`: not a string of at most 4096 bytes", k);
        return 0;
}

int
cnr_snap_update(struct cnr_snapshotter *ss, const char *key, json_t *labels, const char *const *fieldpaths,
                size_t nfieldpaths, struct cnr_snap_info *out, struct cnr_err **err)
{
        struct cnr_snap_info cur;
        json_t *nl;

        if (check_labels(labels, err) < 0)
                return -1;
        if (cnr_snap_stat(ss, key, &cur, err) < 0)
                return -1;
        if (nfieldpaths == 0) {
                nl = labels ? json_deep_copy(labels) : json_object();
        } else {
                nl = json_deep_copy(cur.labels);
                for (size_t i = 0; i < nfieldpaths; i++) {
                        const char *fp = fieldpaths[i];
                        if (strcmp(fp, "labels") == 0) {
                                json_decref(nl);
                                nl = labels ? json_deep_copy(labels) : json_object();
                        } else if (strncmp(fp, "labels.", 7) == 0 && fp[7] != '\0') {
                                json_t *v = labels ? json_object_get(labels, fp + 7) : NULL;
                                if (v)
                                        json_object_set(nl, fp + 7, v);
                                else
                                        json_object_del(nl, fp + 7);
                        } else {
                                json_decref(nl);
                                cnr_snap_info_clear(&cur);
                                return cnr_errf(err, EINVAL, "cannot update field `%s` of snapshot `%s`", fp, key);
                        }
                }
        }
        cnr_snap_info_clear(&cur);
        if (write_labels(ss, key, nl, now_ns(), err) < 0) {
                json_decref(nl);
                return -1;
        }
        json_decref(nl);
        return out ? cnr_snap_stat(ss, key, out, err) : 0;
}

/* ---- walk filters --------------------------------------------------------- */

/* One condition: field, op ("==", "!=" or "" for presence), value. */
static bool
match_cond(const struct cnr_snap_info *i, const char *field, const char *op, const char *value)
{
        const char *have = NULL;
        char kind[16];

        if (strcmp(field, "name") == 0) {
                have = i->name;
        } else if (strcmp(field, "parent") == 0) {
                have = i->parent;
        } else if (strcmp(field, "kind") == 0) {
                snprintf(kind, sizeof(kind), "%s", cnr_snap_kind_name(i->kind));
                for (char *c = kind; *c; c++)
                        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
                have = kind;
        } else if (strncmp(field, "labels.", 7) == 0) {
                json_t *v = json_object_get(i->labels, field + 7);
                have = v ? json_string_value(v) : NULL;
        } else {
                return false;
        }
        if (op[0] == '\0')
                return have != NULL && have[0] != '\0';
        if (strcmp(op, "==") == 0)
                return have != NULL && strcmp(have, value) == 0;
        return have == NULL || strcmp(have, value) != 0;
}

/* Copy a possibly quoted token from *p up to a stop character. */
static char *
token(const char **p, const char *stops)
{
        char buf[4200];
        size_t n = 0;
        const char *s = *p;

        while (*s && !strchr(stops, *s) && n + 1 < sizeof(buf)) {
                if (*s == '"') {
                        s++;
                        while (*s && *s != '"' && n + 1 < sizeof(buf))
                                buf[n++] = *s++;
                        if (*s == '"')
                                s++;
                } else {
                        buf[n++] = *s++;
                }
        }
        buf[n] = '\0';
        *p = s;
        return xstrdup(buf);
}

static int
match_filter(const struct cnr_snap_info *i, const char *filter, struct cnr_err **err)
{
        const char *p = filter;
        bool ok = true;

        while (*p) {
                _cleanup_free_ char *field = token(&p, "=!,"), *value = NULL;
                char op[3] = "";

                if (p[0] == '=' && p[1] == '=')
                        strcpy(op, "==");
                else if (p[0] == '!' && p[1] == '=')
                        strcpy(op, "!=");
                else if (p[0] != ',' && p[0] != '\0')
                        return cnr_errf(err, EINVAL, "filter `%s`: expected == or !=", filter);
                if (op[0]) {
                        p += 2;
                        value = token(&p, ",");
                }
                if (strcmp(field, "name") != 0 && strcmp(field, "parent") != 0 && strcmp(field, "kind") != 0 &&
                    strncmp(field, "labels.", 7) != 0)
                        return cnr_errf(err, EINVAL, "filter `%s`: unknown field `%s`", filter, field);
                if (!match_cond(i, field, op, value ? value : ""))
                        ok = false;
                if (*p == ',')
                        p++;
        }
        return ok ? 1 : 0;
}

int
cnr_snap_walk(struct cnr_snapshotter *ss, const char *const *filters, size_t nfilters,
              int (*cb)(const struct cnr_snap_info *info, void *arg), void *arg, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_snap_info *all = NULL;
        size_t n = 0, cap = 0;
        int r, ret = 0;

        /* Read everything first: cb may call back into the snapshotter. */
        if (cnr_db_prepare(ss->db, "SELECT " INFO_COLS INFO_FROM " ORDER BY s.id", &st, err) < 0)
                return -1;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                if (n == cap) {
                        cap = cap ? cap * 2 : 16;
                        all = xrealloc(all, cap * sizeof(*all));
                }
                row_info(st, &all[n++], NULL);
        }
        if (r != SQLITE_DONE)
                ret = cnr_db_err(ss->db, err, "walk snapshots");
        for (size_t i = 0; ret == 0 && i < n; i++) {
                bool want = nfilters == 0;
                for (size_t f = 0; !want && f < nfilters; f++) {
                        int m = match_filter(&all[i], filters[f], err);
                        if (m < 0) {
                                ret = -1;
                                break;
                        }
                        want = m == 1;
                }
                if (ret == 0 && want && cb(&all[i], arg) < 0)
                        break;
        }
        for (size_t i = 0; i < n; i++)
                cnr_snap_info_clear(&all[i]);
        free(all);
        return ret;
}

/* Parent ids of snapshot `id`, nearest first. */
static int
chain(struct cnr_snapshotter *ss, int64_t parent, char ***ids, size_t *n, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        *ids = NULL;
        *n = 0;
        if (cnr_db_prepare(ss->db, "SELECT COALESCE(parent, 0), missing FROM snapshots WHERE id = ?", &st, err) < 0)
                return -1;
        while (parent != 0) {
                int r;
                if (*n >= 4096)
                        return cnr_errf(err, ELOOP, "snapshot chain longer than 4096");
                *ids = xrealloc(*ids, (*n + 1) * sizeof(**ids));
                (*ids)[(*n)++] = xasprintf("%" PRId64, parent);
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, parent);
                r = sqlite3_step(st);
                if (r != SQLITE_ROW)
                        return cnr_db_err(ss->db, err, "read a parent snapshot");
                if (sqlite3_column_int(st, 1))
                        return cnr_errf(err, ENOENT, "parent snapshot %" PRId64 " lost its directory", parent);
                parent = sqlite3_column_int64(st, 0);
        }
        return 0;
}

int
cnr_snap_mounts(struct cnr_snapshotter *ss, const char *key, struct cnr_snap_mounts *out, struct cnr_err **err)
{
        struct cnr_snap_info i;
        int64_t parent;
        int r;

        memset(out, 0, sizeof(*out));
        if (get(ss, key, &i, &parent, err) < 0)
                return -1;
        if (i.kind == CNR_SNAP_COMMITTED || i.missing) {
                r = cnr_errf(err, EINVAL, "snapshot `%s`: %s", key,
                             i.missing ? "its directory is missing" : "a committed snapshot has no mounts");
                cnr_snap_info_clear(&i);
                return r;
        }
        r = chain(ss, parent, &out->lower, &out->nlower, err);
        if (r < 0) {
                cnr_snap_info_clear(&i);
                cnr_snap_mounts_clear(out);
                return -1;
        }
        out->read_only = i.kind == CNR_SNAP_VIEW;
        if (i.kind == CNR_SNAP_ACTIVE || out->nlower == 0)
                snprintf(out->upper, sizeof(out->upper), "%s", i.id);
        cnr_snap_info_clear(&i);
        return 0;
}

int
cnr_snap_commit(struct cnr_snapshotter *ss, const char *name, const char *key, json_t *labels, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_snap_info i, other;
        _cleanup_free_ char *js = NULL;
        int64_t now = now_ns(), pid;

        if (check_labels(labels, err) < 0)
                return -1;
        if (name == NULL || name[0] == '\0')
                return cnr_errf(err, EINVAL, "commit `%s`: an empty name", key);
        if (get(ss, key, &i, &pid, err) < 0)
                return cnr_err_wrap(err, "commit");
        if (i.kind != CNR_SNAP_ACTIVE) {
                int r = cnr_errf(err, EINVAL, "commit `%s`: a %s snapshot cannot be committed", key,
                                 cnr_snap_kind_name(i.kind));
                cnr_snap_info_clear(&i);
                return r;
        }
        cnr_snap_info_clear(&i);
        if (strcmp(name, key) != 0 && get(ss, name, &other, &pid, err) == 0) {
                cnr_snap_info_clear(&other);
                return cnr_errf(err, EEXIST, "commit `%s` as `%s`: snapshot `%s` already exists", key, name, name);
        }
        cnr_err_free(err);
        js = json_dumps(labels ? labels : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
        if (cnr_db_prepare(ss->db,
                           "UPDATE snapshots SET key = ?, kind = ?, labels = ?, created = ?, updated = ? "
                           "WHERE key = ? AND kind = ?",
                           &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, CNR_SNAP_COMMITTED);
        sqlite3_bind_text(st, 3, js, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, now);
        sqlite3_bind_int64(st, 5, now);
        sqlite3_bind_text(st, 6, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 7, CNR_SNAP_ACTIVE);
        if (sqlite3_step(st) != SQLITE_DONE)
                return cnr_db_err(ss->db, err, "commit snapshot");
        return 0;
}

/* ---- helper calls --------------------------------------------------------- */

struct op {
        struct cnr_snapshotter *ss;
        char *key, *id;
        int64_t parent_id;
        enum cnr_snap_kind kind;
        json_t *labels;
        cnr_snap_done_fn done;
        cnr_snap_usage_fn usage;
        cnr_snap_applied_fn applied;
        cnr_snap_diffed_fn diffed;
        cnr_snap_mount_fn mounted;
        cnr_snap_reconcile_fn reconciled;
        void *arg;
        struct cnr_snap_reconcile_report rep;
        unsigned pending; /* reconcile: removals in flight */
};

static void
op_free(struct op *o)
{
        free(o->key);
        free(o->id);
        json_decref(o->labels);
        free(o);
}

/* The reply's error, or NULL: either the transport failed or snapd said no. */
static struct cnr_err *
reply_error(ProtobufCMessage *env, struct cnr_err *err, struct cnr_err **own)
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

static int
send_op(struct cnr_snapshotter *ss, int helper, Cnr__Helper__ToHelper *req, const int *fds, size_t nfds,
        unsigned timeout, cnr_reply_cb cb, void *arg, struct cnr_err **err)
{
        return ss->request(ss->arg, helper, (uint16_t)req->op_case, &req->base, fds, nfds, timeout, cb, arg, err);
}

static int
snapd_remove_dir(struct cnr_snapshotter *ss, const char *id, cnr_reply_cb cb, void *arg, struct cnr_err **err)
{
        Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__SnapRemove m = CNR__HELPER__SNAP_REMOVE__INIT;

        m.id = (char *)id;
        req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_REMOVE;
        req.snap_remove = &m;
        return send_op(ss, CNR_HELPER_SNAPD, &req, NULL, 0, 0, cb, arg, err);
}

static void
on_cleanup_removed(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        char *id = arg;
        struct cnr_err *own = NULL, *e = reply_error(env, err, &own);

        if (e && e->code != ENOENT)
                log_warn("snapshot directory %s: %s (start-up will sweep it)", id, cnr_err_str(e));
        cnr_err_free(&own);
        free(id);
}

/* Fire and forget: a directory whose metadata is gone. */
static void
remove_dir_later(struct cnr_snapshotter *ss, const char *id)
{
        struct cnr_err *err = NULL;
        char *copy = xstrdup(id);

        if (snapd_remove_dir(ss, id, on_cleanup_removed, copy, &err) < 0) {
                log_warn("snapshot directory %s: %s (start-up will sweep it)", id, cnr_err_str(err));
                cnr_err_free(&err);
                free(copy);
        }
}

static void
on_created(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct cnr_snapshotter *ss = o->ss;
        struct cnr_err *own = NULL, *e = reply_error(env, err, &own);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        _cleanup_free_ char *js = NULL;
        int64_t now = now_ns();

        inflight_del(ss, strtoll(o->id, NULL, 10));
        if (e) {
                cnr_err_wrap(&e, "make the directory of snapshot `%s`", o->key);
                o->done(e, o->arg);
                goto out;
        }
        /* The directory exists: now the metadata.  A crash before this
         * leaves an orphan directory that reconcile sweeps. */
        js = json_dumps(o->labels ? o->labels : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
        if (cnr_db_prepare(ss->db,
                           "INSERT INTO snapshots (id, key, kind, parent, labels, created, updated) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           &st, &own) == 0) {
                sqlite3_bind_int64(st, 1, strtoll(o->id, NULL, 10));
                sqlite3_bind_text(st, 2, o->key, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int(st, 3, o->kind);
                if (o->parent_id)
                        sqlite3_bind_int64(st, 4, o->parent_id);
                else
                        sqlite3_bind_null(st, 4);
                sqlite3_bind_text(st, 5, js, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 6, now);
                sqlite3_bind_int64(st, 7, now);
                if (sqlite3_step(st) != SQLITE_DONE) {
                        if (sqlite3_extended_errcode(cnr_db_sqlite(ss->db)) == SQLITE_CONSTRAINT_UNIQUE)
                                cnr_errf(&own, EEXIST, "snapshot `%s` already exists", o->key);
                        else
                                cnr_db_err(ss->db, &own, "record snapshot");
                }
        }
        if (own) {
                remove_dir_later(ss, o->id);
                o->done(own, o->arg);
                goto out;
        }
        o->done(NULL, o->arg);
out:
        cnr_err_free(&own);
        op_free(o);
}

static int
alloc_id(struct cnr_snapshotter *ss, char *out, size_t n, struct cnr_err **err)
{
        sqlite3_int64 id;

        if (cnr_db_exec(ss->db, "INSERT INTO snapshot_ids DEFAULT VALUES", err) < 0)
                return -1;
        id = sqlite3_last_insert_rowid(cnr_db_sqlite(ss->db));
        if (cnr_db_exec(ss->db, "DELETE FROM snapshot_ids", err) < 0)
                return -1;
        snprintf(out, n, "%lld", (long long)id);
        return 0;
}

static int
create(struct cnr_snapshotter *ss, enum cnr_snap_kind kind, const char *key, const char *parent, json_t *labels,
       cnr_snap_done_fn cb, void *arg, struct cnr_err **err)
{
        Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__SnapCreate m = CNR__HELPER__SNAP_CREATE__INIT;
        struct cnr_snap_info pi, ki;
        int64_t pid = 0, gp;
        char id[24], pidstr[24] = "";
        struct op *o;

        if (key == NULL || key[0] == '\0' || strlen(key) > 4096)
                return cnr_errf(err, EINVAL, "a snapshot key must be 1 to 4096 bytes");
        if (check_labels(labels, err) < 0)
                return -1;
        if (get(ss, key, &ki, &gp, err) == 0) {
                cnr_snap_info_clear(&ki);
                return cnr_errf(err, EEXIST, "snapshot `%s` already exists", key);
        }
        cnr_err_free(err);
        if (parent && parent[0]) {
                if (get(ss, parent, &pi, &gp, err) < 0)
                        return cnr_err_wrap(err, "parent of `%s`", key);
                if (pi.kind != CNR_SNAP_COMMITTED || pi.missing) {
                        int r = cnr_errf(err, EINVAL, "parent `%s` is not a committed snapshot%s", parent,
                                         pi.missing ? " with a directory" : "");
                        cnr_snap_info_clear(&pi);
                        return r;
                }
                pid = strtoll(pi.id, NULL, 10);
                snprintf(pidstr, sizeof(pidstr), "%s", pi.id);
                cnr_snap_info_clear(&pi);
        }
        if (alloc_id(ss, id, sizeof(id), err) < 0)
                return -1;
        inflight_add(ss, strtoll(id, NULL, 10));
        o = xcalloc(1, sizeof(*o));
        o->ss = ss;
        o->key = xstrdup(key);
        o->id = xstrdup(id);
        o->parent_id = pid;
        o->kind = kind;
        o->labels = labels ? json_deep_copy(labels) : NULL;
        o->done = cb;
        o->arg = arg;
        m.id = id;
        m.parent = pidstr;
        m.work = kind == CNR_SNAP_ACTIVE;
        req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_CREATE;
        req.snap_create = &m;
        if (send_op(ss, CNR_HELPER_SNAPD, &req, NULL, 0, 0, on_created, o, err) < 0) {
                inflight_del(ss, strtoll(id, NULL, 10));
                op_free(o);
                return -1;
        }
        return 0;
}

int
cnr_snap_prepare(struct cnr_snapshotter *ss, const char *key, const char *parent, json_t *labels, cnr_snap_done_fn cb,
                 void *arg, struct cnr_err **err)
{
        return create(ss, CNR_SNAP_ACTIVE, key, parent, labels, cb, arg, err);
}

int
cnr_snap_view(struct cnr_snapshotter *ss, const char *key, const char *parent, json_t *labels, cnr_snap_done_fn cb,
              void *arg, struct cnr_err **err)
{
        return create(ss, CNR_SNAP_VIEW, key, parent, labels, cb, arg, err);
}

static void
on_removed(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct cnr_err *own = NULL, *e = reply_error(env, err, &own);

        /* The metadata is already gone: the snapshot is removed whatever
         * snapd says; a directory left behind is an orphan for reconcile. */
        if (e && e->code != ENOENT)
                log_warn("snapshot `%s` removed; its directory %s stays until start-up: %s", o->key, o->id,
                         cnr_err_str(e));
        cnr_err_free(&own);
        if (o->done)
                o->done(NULL, o->arg);
        op_free(o);
}

int
cnr_snap_remove(struct cnr_snapshotter *ss, const char *key, cnr_snap_done_fn cb, void *arg, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_snap_info i;
        int64_t pid;
        struct op *o;
        int r;

        if (get(ss, key, &i, &pid, err) < 0)
                return cnr_err_wrap(err, "remove");
        if (cnr_db_prepare(ss->db, "SELECT count(*) FROM snapshots WHERE parent = ?", &st, err) < 0) {
                cnr_snap_info_clear(&i);
                return -1;
        }
        sqlite3_bind_int64(st, 1, strtoll(i.id, NULL, 10));
        r = sqlite3_step(st);
        if (r != SQLITE_ROW || sqlite3_column_int(st, 0) != 0) {
                r = r != SQLITE_ROW ? cnr_db_err(ss->db, err, "count children")
                                    : cnr_errf(err, EBUSY, "cannot remove snapshot `%s` with child", key);
                cnr_snap_info_clear(&i);
                return r;
        }
        sqlite3_finalize(st);
        st = NULL;
        /* Metadata first: a crash after this leaves an orphan directory. */
        if (cnr_db_prepare(ss->db, "DELETE FROM snapshots WHERE key = ?", &st, err) < 0) {
                cnr_snap_info_clear(&i);
                return -1;
        }
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) {
                cnr_snap_info_clear(&i);
                return cnr_db_err(ss->db, err, "delete snapshot");
        }
        o = xcalloc(1, sizeof(*o));
        o->ss = ss;
        o->key = xstrdup(key);
        o->id = xstrdup(i.id);
        o->done = cb;
        o->arg = arg;
        cnr_snap_info_clear(&i);
        if (snapd_remove_dir(ss, o->id, on_removed, o, err) < 0) {
                log_warn("snapshot `%s` removed; its directory %s stays until start-up: %s", key, o->id,
                         cnr_err_str(*err));
                cnr_err_free(err);
                /* Still answered asynchronously, as promised. */
                on_removed(NULL, NULL, NULL, NULL, o);
        }
        return 0;
}

static void
on_usage(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct cnr_err *own = NULL, *e = reply_error(env, err, &own);
        Cnr__Helper__FromHelper *m = (Cnr__Helper__FromHelper *)env;

        if (e)
                o->usage(e, 0, 0, o->arg);
        else
                o->usage(NULL, m->usage->size, m->usage->inodes, o->arg);
        cnr_err_free(&own);
        op_free(o);
}

static struct op *
op_for(struct cnr_snapshotter *ss, const char *key, struct cnr_snap_info *i, struct cnr_err **err)
{
        struct op *o;
        int64_t pid;

        if (get(ss, key, i, &pid, err) < 0)
                return NULL;
        o = xcalloc(1, sizeof(*o));
        o->ss = ss;
        o->key = xstrdup(key);
        o->id = xstrdup(i->id);
        return o;
}

int
cnr_snap_usage(struct cnr_snapshotter *ss, const char *key, cnr_snap_usage_fn cb, void *arg, struct cnr_err **err)
{
        Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__SnapUsage m = CNR__HELPER__SNAP_USAGE__INIT;
        struct cnr_snap_info i;
        struct op *o = op_for(ss, key, &i, err);

        if (o == NULL)
                return -1;
        cnr_snap_info_clear(&i);
        o->usage = cb;
        o->arg = arg;
        m.id = o->id;
        req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_USAGE;
        req.snap_usage = &m;
        if (send_op(ss, CNR_HELPER_SNAPD, &req, NULL, 0, 0, on_usage, o, err) < 0) {
                op_free(o);
                return -1;
        }
        return 0;
}

static void
on_applied(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct cnr_err *own = NULL, *e = reply_error(env, err, &own);
        Cnr__Helper__FromHelper *m = (Cnr__Helper__FromHelper *)env;
        struct cnr_snap_applied a = {0};

        if (e) {
                o->applied(e, NULL, o->arg);
        } else {
                snprintf(a.diff_id, sizeof(a.diff_id), "%s", m->applied->diff_id);
                a.tar_size = m->applied->tar_size;
                a.entries = m->applied->entries;
                o->applied(NULL, &a, o->arg);
        }
        cnr_err_free(&own);
        op_free(o);
}

int
cnr_snap_apply(struct cnr_snapshotter *ss, const char *key, int blobfd, uint64_t max_bytes, uint64_t max_entries,
               cnr_snap_applied_fn cb, void *arg, struct cnr_err **err)
{
        Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__SnapApply m = CNR__HELPER__SNAP_APPLY__INIT;
        struct cnr_snap_mounts d;
        struct cnr_snap_info i;
        struct op *o = op_for(ss, key, &i, err);
        int r;

        if (o == NULL)
                return -1;
        if (i.kind != CNR_SNAP_ACTIVE) {
                cnr_snap_info_clear(&i);
                op_free(o);
                return cnr_errf(err, EINVAL, "apply to `%s`: not an active snapshot", key);
        }
        cnr_snap_info_clear(&i);
        /* The parents, so snapd can give implied directories the lower
         * layers' owners and modes. */
        if (cnr_snap_mounts(ss, key, &d, err) < 0) {
                op_free(o);
                return -1;
        }
        o->applied = cb;
        o->arg = arg;
        m.id = o->id;
        m.max_bytes = max_bytes;
        m.max_entries = max_entries;
        m.lower = d.lower;
        m.n_lower = d.nlower;
        req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_APPLY;
        req.snap_apply = &m;
        r = send_op(ss, CNR_HELPER_SNAPD, &req, &blobfd, 1, APPLY_TIMEOUT_MS, on_applied, o, err);
        cnr_snap_mounts_clear(&d);
        if (r < 0) {
                op_free(o);
                return -1;
        }
        return 0;
}

int
cnr_snap_set_diff_id(struct cnr_snapshotter *ss, const char *name, const char *diff_id, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        if (cnr_db_prepare(ss->db, "UPDATE snapshots SET diff_id = ? WHERE key = ? AND kind = ?", &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, diff_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, CNR_SNAP_COMMITTED);
        if (sqlite3_step(st) != SQLITE_DONE)
                return cnr_db_err(ss->db, err, "record a diff_id");
        if (sqlite3_changes(cnr_db_sqlite(ss->db)) != 1)
                return cnr_errf(err, ENOENT, "record the diff_id: no committed snapshot `%s`", name);
        return 0;
}

static void
on_diffed(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct cnr_err *own = NULL, *e = reply_error(env, err, &own);
        Cnr__Helper__FromHelper *m = (Cnr__Helper__FromHelper *)env;
        struct cnr_snap_diffed d = {0};

        if (e == NULL && (strncmp(m->diffed->diff_id, "sha256:", 7) != 0 || strlen(m->diffed->diff_id) != 71)) {
                cnr_errf(&own, EPROTO, "snapd answered a diff_id of the wrong shape");
                e = own;
        }
        if (e) {
                o->diffed(e, NULL, o->arg);
        } else {
                snprintf(d.diff_id, sizeof(d.diff_id), "%s", m->diffed->diff_id);
                d.tar_size = m->diffed->tar_size;
                d.entries = m->diffed->entries;
                d.bytes = m->diffed->bytes;
                o->diffed(NULL, &d, o->arg);
        }
        cnr_err_free(&own);
        op_free(o);
}

int
cnr_snap_diff(struct cnr_snapshotter *ss, const char *key, int outfd, bool gzip, cnr_snap_diffed_fn cb, void *arg,
              struct cnr_err **err)
{
        Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__SnapDiff m = CNR__HELPER__SNAP_DIFF__INIT;
        struct cnr_snap_info i;
        struct op *o = op_for(ss, key, &i, err);
        int r = 0;

        if (o == NULL)
                return cnr_err_wrap(err, "diff");
        if (i.kind == CNR_SNAP_VIEW)
                r = cnr_errf(err, EINVAL, "diff `%s`: a view has no changes of its own", key);
        else if (i.missing)
                r = cnr_errf(err, ENOENT, "diff `%s`: its directory is missing", key);
        cnr_snap_info_clear(&i);
        if (r < 0) {
                op_free(o);
                return -1;
        }
        o->diffed = cb;
        o->arg = arg;
        m.id = o->id;
        m.gzip = gzip;
        if (outfd >= 0) {
                req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_DIFF;
                req.snap_diff = &m;
                r = send_op(ss, CNR_HELPER_SNAPD, &req, &outfd, 1, APPLY_TIMEOUT_MS, on_diffed, o, err);
        } else {
                req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_DIFF_ID;
                req.snap_diff_id = &m;
                r = send_op(ss, CNR_HELPER_SNAPD, &req, NULL, 0, APPLY_TIMEOUT_MS, on_diffed, o, err);
        }
        if (r < 0) {
                op_free(o);
                return -1;
        }
        return 0;
}

static void
on_mounted(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct cnr_err *own = NULL, *e = reply_error(env, err, &own);

        if (e)
                o->mounted(e, -1, o->arg);
        else
                o->mounted(NULL, cnr_frame_take_fd(f, 0), o->arg);
        cnr_err_free(&own);
        op_free(o);
}

static int
snap_mount(struct cnr_snapshotter *ss, const char *key, int userns_fd, bool no_sync, cnr_snap_mount_fn cb, void *arg,
           struct cnr_err **err)
{
        Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__MountSnapshot m = CNR__HELPER__MOUNT_SNAPSHOT__INIT;
        struct cnr_snap_mounts d;
        struct op *o;
        int r;

        if (cnr_snap_mounts(ss, key, &d, err) < 0)
                return -1;
        o = xcalloc(1, sizeof(*o));
        o->ss = ss;
        o->key = xstrdup(key);
        o->mounted = cb;
        o->arg = arg;
        m.upper = d.upper;
        m.lower = d.lower;
        m.n_lower = d.nlower;
        m.read_only = d.read_only;
        m.no_sync = no_sync && d.upper[0] && d.nlower > 0;
        if (userns_fd >= 0) {
                /* lower layers: an overlay of idmapped layers; none (a
                 * volume): an idmapped bind of the upper */
                req.op_case = CNR__HELPER__TO_HELPER__OP_MOUNT_SNAPSHOT_IDMAPPED;
                req.mount_snapshot_idmapped = &m;
                r = send_op(ss, CNR_HELPER_MOUNTD, &req, &userns_fd, 1, 0, on_mounted, o, err);
        } else {
                req.op_case = CNR__HELPER__TO_HELPER__OP_MOUNT_SNAPSHOT;
                req.mount_snapshot = &m;
                r = send_op(ss, CNR_HELPER_MOUNTD, &req, NULL, 0, 0, on_mounted, o, err);
        }
        cnr_snap_mounts_clear(&d);
        if (r < 0)
                op_free(o);
        return r;
}

int
cnr_snap_mount(struct cnr_snapshotter *ss, const char *key, cnr_snap_mount_fn cb, void *arg, struct cnr_err **err)
{
        return snap_mount(ss, key, -1, false, cb, arg, err);
}

int
cnr_snap_mount_no_sync(struct cnr_snapshotter *ss, const char *key, cnr_snap_mount_fn cb, void *arg,
                       struct cnr_err **err)
{
        return snap_mount(ss, key, -1, true, cb, arg, err);
}

int
cnr_snap_mount_idmapped(struct cnr_snapshotter *ss, const char *key, int userns_fd, cnr_snap_mount_fn cb,
                        void *arg, struct cnr_err **err)
{
        return snap_mount(ss, key, userns_fd, false, cb, arg, err);
}

/* ---- reconcile ----------------------------------------------------------- */

static bool
known_id(struct cnr_snapshotter *ss, const char *name)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_err *err = NULL;
        unsigned long long v;

        if (cnr_parse_uint(name, INT64_MAX, &v) < 0 || v == 0)
                return false;
        for (size_t i = 0; i < ss->ninflight; i++)
                if (ss->inflight[i] == (int64_t)v)
                        return true;
        if (cnr_db_prepare(ss->db, "SELECT 1 FROM snapshots WHERE id = ?", &st, &err) < 0) {
                cnr_err_free(&err);
                return true; /* when in doubt, keep */
        }
        sqlite3_bind_int64(st, 1, (sqlite3_int64)v);
        return sqlite3_step(st) == SQLITE_ROW;
}

static bool
valid_dir_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 120)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (i > 0 && (s[i] == '-' || s[i] == '_' || s[i] == '.'))))
                        return false;
        return true;
}

static void reconcile_finish(struct op *o);

static void
on_swept(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct cnr_err *own = NULL, *e = reply_error(env, err, &own);

        if (e && e->code != ENOENT)
                log_warn("start-up sweep: %s", cnr_err_str(e));
        cnr_err_free(&own);
        if (--o->pending == 0)
                reconcile_finish(o);
}

static void
reconcile_finish(struct op *o)
{
        o->reconciled(NULL, &o->rep, o->arg);
        op_free(o);
}

/* Metadata whose directory is gone: leaves deleted (repeatedly: their
 * parents may become leaves), the rest marked missing. */
static int
repair_missing(struct cnr_snapshotter *ss, char **present, size_t npresent, struct cnr_snap_reconcile_report *rep,
               struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int64_t *gone = NULL;
        size_t ngone = 0;
        int r;

        if (cnr_db_prepare(ss->db, "SELECT id FROM snapshots", &st, err) < 0)
                return -1;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                char id[24];
                bool found = false;
                snprintf(id, sizeof(id), "%lld", (long long)sqlite3_column_int64(st, 0));
                for (size_t i = 0; i < npresent && !found; i++)
                        found = strcmp(present[i], id) == 0;
                if (!found) {
                        gone = xrealloc(gone, (ngone + 1) * sizeof(*gone));
                        gone[ngone++] = sqlite3_column_int64(st, 0);
                }
        }
        sqlite3_finalize(st);
        st = NULL;
        if (r != SQLITE_DONE) {
                free(gone);
                return cnr_db_err(ss->db, err, "reconcile");
        }
        for (size_t i = 0; i < ngone; i++) {
                _cleanup_stmt_ sqlite3_stmt *d = NULL;
                if (cnr_db_prepare(ss->db, "UPDATE snapshots SET missing = 1 WHERE id = ?1 AND missing = 0", &d, err) <
                    0)
                        break;
                sqlite3_bind_int64(d, 1, gone[i]);
                sqlite3_step(d);
                log_warn("snapshot %lld: its directory is missing", (long long)gone[i]);
        }
        /* Delete missing leaves until none is left. */
        for (;;) {
                int changes;
                if (cnr_db_exec(ss->db,
                                "DELETE FROM snapshots WHERE missing = 1 AND "
                                "NOT EXISTS (SELECT 1 FROM snapshots c WHERE c.parent = snapshots.id)",
                                err) < 0) {
                        free(gone);
                        return -1;
                }
                changes = sqlite3_changes(cnr_db_sqlite(ss->db));
                if (changes == 0)
                        break;
                rep->missing_deleted += (unsigned)changes;
        }
        {
                _cleanup_stmt_ sqlite3_stmt *c = NULL;
                if (cnr_db_prepare(ss->db, "SELECT count(*) FROM snapshots WHERE missing = 1", &c, err) == 0 &&
                    sqlite3_step(c) == SQLITE_ROW)
                        rep->missing_marked = (unsigned)sqlite3_column_int(c, 0);
        }
        free(gone);
        return 0;
}

static void
on_listing(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct cnr_snapshotter *ss = o->ss;
        struct cnr_err *own = NULL, *e = reply_error(env, err, &own);
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        char **names = NULL, **extracts = NULL;
        size_t n = 0, nextract = 0;
        struct stat st;

        if (e) {
                cnr_err_wrap(&e, "list the snapshot directories");
                o->reconciled(e, NULL, o->arg);
                cnr_err_free(&own);
                op_free(o);
                return;
        }
        fd = cnr_frame_take_fd(f, 0);
        /* snapd's listing is data: bounded, and each name checked. */
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > LISTING_MAX) {
                cnr_errf(&own, EPROTO, "snapd's listing is not a file of at most %u bytes", LISTING_MAX);
                o->reconciled(own, NULL, o->arg);
                cnr_err_free(&own);
                op_free(o);
                return;
        }
        buf = xmalloc((size_t)st.st_size + 1);
        if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
                cnr_errf(&own, EIO, "read snapd's listing");
                o->reconciled(own, NULL, o->arg);
                cnr_err_free(&own);
                op_free(o);
                return;
        }
        buf[st.st_size] = '\0';
        for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                if (!valid_dir_name(l)) {
                        log_warn("start-up sweep: snapd listed `%.64s`, not a snapshot directory name; ignored", l);
                        continue;
                }
                names = xrealloc(names, (n + 1) * sizeof(*names));
                names[n++] = l;
        }
        if (repair_missing(ss, names, n, &o->rep, &own) < 0) {
                o->reconciled(own, NULL, o->arg);
                cnr_err_free(&own);
                free(names);
                op_free(o);
                return;
        }
        /* Interrupted unpacks: their active snapshots go (leaves only). */
        {
                _cleanup_stmt_ sqlite3_stmt *q = NULL;
                if (cnr_db_prepare(ss->db, "SELECT key FROM snapshots WHERE kind = 2 AND key LIKE 'extract-%'", &q,
                                   &own) == 0)
                        while (sqlite3_step(q) == SQLITE_ROW) {
                                extracts = xrealloc(extracts, (nextract + 1) * sizeof(*extracts));
                                extracts[nextract++] = xstrdup((const char *)sqlite3_column_text(q, 0));
                        }
                cnr_err_free(&own);
        }
        o->pending = 1;
        for (size_t i = 0; i < n; i++) {
                if (known_id(ss, names[i]))
                        continue;
                /* <id> with no metadata, or snapd's rm-<id> / tmp-<id> of a
                 * crash: SnapRemove of the id removes whichever exists. */
                const char *id = names[i];
                if (strncmp(id, "tmp-", 4) == 0 || strncmp(id, "rm-", 3) == 0) {
                        id = strchr(id, '-') + 1;
                        if (!valid_dir_name(id) || known_id(ss, id))
                                continue;
                }
                o->rep.orphan_dirs++;
                log_info("start-up sweep: removing orphan snapshot directory `%s`", names[i]);
                if (snapd_remove_dir(ss, id, on_swept, o, &own) == 0)
                        o->pending++;
                cnr_err_free(&own);
                continue;
                if (snapd_remove_dir(ss, names[i], on_swept, o, &own) == 0)
                        o->pending++;
                cnr_err_free(&own);
        }
        free(names);
        for (size_t i = 0; i < nextract; i++) {
                if (cnr_snap_remove(ss, extracts[i], (cnr_snap_done_fn)NULL, NULL, &own) == 0)
                        o->rep.extracts_removed++;
                cnr_err_free(&own);
                free(extracts[i]);
        }
        free(extracts);
        if (--o->pending == 0)
                reconcile_finish(o);
}

int
cnr_snap_reconcile(struct cnr_snapshotter *ss, cnr_snap_reconcile_fn cb, void *arg, struct cnr_err **err)
{
        Cnr__Helper__ToHelper req = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__SnapList m = CNR__HELPER__SNAP_LIST__INIT;
        struct op *o = xcalloc(1, sizeof(*o));

        o->ss = ss;
        o->reconciled = cb;
        o->arg = arg;
        req.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_LIST;
        req.snap_list = &m;
        if (send_op(ss, CNR_HELPER_SNAPD, &req, NULL, 0, 0, on_listing, o, err) < 0) {
                op_free(o);
                return -1;
        }
        return 0;
}

/* ---- GC -------------------------------------------------------------------- */

int
cnr_snap_gc(struct cnr_snapshotter *ss, const char *const *keep, size_t nkeep,
            void (*removed)(const char *name, void *arg), void *arg, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        /* Mark: what keep names, every Active and View, and their parents. */
        if (cnr_db_exec(ss->db, "CREATE TEMP TABLE IF NOT EXISTS snap_keep (id INTEGER PRIMARY KEY)", err) < 0 ||
            cnr_db_exec(ss->db, "DELETE FROM snap_keep", err) < 0 || cnr_db_begin(ss->db, err) < 0)
                return -1;
        if (cnr_db_exec(ss->db, "INSERT OR IGNORE INTO snap_keep SELECT id FROM snapshots WHERE kind != 3", err) < 0)
                goto fail;
        if (cnr_db_prepare(ss->db, "INSERT OR IGNORE INTO snap_keep SELECT id FROM snapshots WHERE key = ?", &st, err) <
            0)
                goto fail;
        for (size_t i = 0; i < nkeep; i++) {
                sqlite3_reset(st);
                sqlite3_bind_text(st, 1, keep[i], -1, SQLITE_TRANSIENT);
                if (sqlite3_step(st) != SQLITE_DONE) {
                        cnr_db_err(ss->db, err, "gc mark");
                        goto fail;
                }
        }
        sqlite3_finalize(st);
        st = NULL;
        if (cnr_db_exec(ss->db,
                        "WITH RECURSIVE up(id) AS (SELECT id FROM snap_keep UNION "
                        "SELECT s.parent FROM snapshots s JOIN up ON s.id = up.id WHERE s.parent IS NOT NULL) "
                        "INSERT OR IGNORE INTO snap_keep SELECT id FROM up",
                        err) < 0)
                goto fail;
        /* Sweep: children before parents is not needed inside one
         * transaction; the directories go after the commit. */
        if (cnr_db_prepare(ss->db, "SELECT id, key FROM snapshots WHERE id NOT IN (SELECT id FROM snap_keep)", &st,
                           err) < 0)
                goto fail;
        {
                char **ids = NULL, **names = NULL;
                size_t n = 0;
                while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                        ids = xrealloc(ids, (n + 1) * sizeof(*ids));
                        names = xrealloc(names, (n + 1) * sizeof(*names));
                        ids[n] = xasprintf("%lld", (long long)sqlite3_column_int64(st, 0));
                        names[n++] = xstrdup((const char *)sqlite3_column_text(st, 1));
                }
                sqlite3_finalize(st);
                st = NULL;
                if (r != SQLITE_DONE ||
                    cnr_db_exec(ss->db, "DELETE FROM snapshots WHERE id NOT IN (SELECT id FROM snap_keep)", err) < 0 ||
                    cnr_db_commit(ss->db, err) < 0) {
                        if (r != SQLITE_DONE)
                                cnr_db_err(ss->db, err, "gc sweep");
                        for (size_t i = 0; i < n; i++) {
                                free(ids[i]);
                                free(names[i]);
                        }
                        free(ids);
                        free(names);
                        cnr_db_rollback(ss->db);
                        return -1;
                }
                for (size_t i = 0; i < n; i++) {
                        if (removed)
                                removed(names[i], arg);
                        remove_dir_later(ss, ids[i]);
                        free(ids[i]);
                        free(names[i]);
                }
                free(ids);
                free(names);
        }
        return 0;
fail:
        cnr_db_rollback(ss->db);
        return -1;
}
