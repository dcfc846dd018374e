/* Container records and their life: see containers.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/util.h"
#include "ipc/helper.pb-c.h"
#include "ipc/monitor.pb-c.h"
#include "ipc/shimclient.h"
#include "supervisor/containers.h"
#include "supervisor/networks.h"
#include "supervisor/unpack.h"

#define SHIM_TIMEOUT_MS 30000

struct ctr_waiter {
        struct ctr_waiter *next;
        ctr_done_fn cb;
        void *arg;
};

struct sup_containers {
        LIST_HEAD(, ctr) list;
        bool rebooted;
        bool ready; /* every helper is up: restart policies may spawn */
};

static struct sup_containers *
store(struct sup *s)
{
        return s->ctrs;
}

const char *
ctr_state_name(enum ctr_state st)
{
        switch (st) {
        case CTR_CREATED:
                return "created";
        case CTR_RUNNING:
                return "running";
        case CTR_EXITED:
                return "exited";
        }
        return "unknown";
}

static int64_t
wall_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
ctr_log_path(struct sup *s, const char *id)
{
        return xasprintf("%s/containers/%s.log", s->d->cfg.log_dir, id);
}

const char *
ctr_shim_dir(struct sup *s, const char *id, char *buf, size_t n)
{
        snprintf(buf, n, "%s/shims/%s", s->d->cfg.run_root, id);
        return buf;
}

/* ---- the database ---- */

static const char *const schema[] = {
        "CREATE TABLE containers ("
        " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image TEXT NOT NULL, image_id TEXT NOT NULL,"
        " config BLOB NOT NULL, state TEXT NOT NULL, pid INTEGER NOT NULL DEFAULT 0,"
        " shim_pid INTEGER NOT NULL DEFAULT 0, exit_code INTEGER NOT NULL DEFAULT 0,"
        " oom_killed INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, started INTEGER NOT NULL DEFAULT 0,"
        " finished INTEGER NOT NULL DEFAULT 0, restart_count INTEGER NOT NULL DEFAULT 0)",
        /* 2: `stop` or `kill` by the operator (Docker's HasBeenManuallyStopped):
         * unless-stopped and on-failure containers stay down at start-up */
        "ALTER TABLE containers ADD COLUMN stopped_by_user INTEGER NOT NULL DEFAULT 0",
};

int
ctr_save(struct ctr *c, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        size_t len = cnr__api__container_config__get_packed_size(c->cfg);
        _cleanup_free_ uint8_t *blob = xmalloc(len ? len : 1);

        cnr__api__container_config__pack(c->cfg, blob);
        if (cnr_db_prepare(c->s->db,
                           "INSERT OR REPLACE INTO containers (id, name, image, image_id, config, state, pid, shim_pid,"
                           " exit_code, oom_killed, created, started, finished, restart_count, stopped_by_user)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->image, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, c->image_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, blob, (int)len, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, ctr_state_name(c->state), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, c->pid);
        sqlite3_bind_int(st, 8, c->shim_pid);
        sqlite3_bind_int(st, 9, c->exit_code);
        sqlite3_bind_int(st, 10, c->oom_killed);
        sqlite3_bind_int64(st, 11, c->created_ms);
        sqlite3_bind_int64(st, 12, c->started_ms);
        sqlite3_bind_int64(st, 13, c->finished_ms);
        sqlite3_bind_int(st, 14, (int)c->restart_count);
        sqlite3_bind_int(st, 15, c->stopping);
        if (sqlite3_step(st) != SQLITE_DONE)
                return cnr_db_err(c->s->db, err, "save container");
        return 0;
}

void
ctr_save_or_log(struct ctr *c)
{
        struct cnr_err *err = NULL;

        if (ctr_save(c, &err) < 0) {
                log_error("container %.12s: %s", c->id, cnr_err_str(err));
                cnr_err_free(&err);
        }
}

static int
db_delete(struct ctr *c, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        if (cnr_db_prepare(c->s->db, "DELETE FROM containers WHERE id = ?", &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                return cnr_db_err(c->s->db, err, "delete container");
        return 0;
}

static enum ctr_state
state_parse(const char *s)
{
        if (strcmp(s, "running") == 0)
                return CTR_RUNNING;
        if (strcmp(s, "created") == 0)
                return CTR_CREATED;
        return CTR_EXITED;
}

static struct ctr *
ctr_new(struct sup *s)
{
        struct ctr *c = xcalloc(1, sizeof(*c));

        c->s = s;
        return c;
}

static void
ctr_free(struct ctr *c)
{
        for (size_t i = 0; i < c->nbind_fds; i++)
                if (c->bind_fds[i] >= 0)
                        close(c->bind_fds[i]);
        free(c->bind_fds);
        if (c->rootfd >= 0)
                close(c->rootfd);
        if (c->kill_timer)
                event_free(c->kill_timer);
        if (c->restart_timer)
                event_free(c->restart_timer);
        if (c->cfg)
                cnr__api__container_config__free_unpacked(c->cfg, NULL);
        free(c->name);
        free(c->image);
        free(c->image_id);
        free(c->error);
        free(c);
}

static int
load(struct sup *s, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r;

        if (cnr_db_prepare(s->db,
                           "SELECT id, name, image, image_id, config, state, pid, shim_pid, exit_code, oom_killed,"
                           " created, started, finished, restart_count, stopped_by_user"
                           " FROM containers ORDER BY created",
                           &st, err) < 0)
                return -1;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                struct ctr *c = ctr_new(s);
                const void *blob = sqlite3_column_blob(st, 4);

                snprintf(c->id, sizeof(c->id), "%s", (const char *)sqlite3_column_text(st, 0));
                c->name = xstrdup((const char *)sqlite3_column_text(st, 1));
                c->image = xstrdup((const char *)sqlite3_column_text(st, 2));
                c->image_id = xstrdup((const char *)sqlite3_column_text(st, 3));
                c->cfg = cnr__api__container_config__unpack(NULL, (size_t)sqlite3_column_bytes(st, 4), blob);
                c->state = state_parse((const char *)sqlite3_column_text(st, 5));
                c->pid = sqlite3_column_int(st, 6);
                c->shim_pid = sqlite3_column_int(st, 7);
                c->exit_code = sqlite3_column_int(st, 8);
                c->oom_killed = sqlite3_column_int(st, 9);
                c->created_ms = sqlite3_column_int64(st, 10);
                c->started_ms = sqlite3_column_int64(st, 11);
                c->finished_ms = sqlite3_column_int64(st, 12);
                c->restart_count = (unsigned)sqlite3_column_int(st, 13);
                c->stopping = sqlite3_column_int(st, 14) != 0;
                c->rootfd = -1;
                if (c->cfg == NULL) {
                        log_error("container %.12s: unreadable config in the database; skipped", c->id);
                        ctr_free(c);
                        continue;
                }
                /* Bind sources were fds held in memory: gone now. */
                c->nbind_fds = 0;
                for (size_t i = 0; i < c->cfg->n_mounts; i++)
                        if (strcmp(c->cfg->mounts[i]->type, "bind") == 0)
                                c->nbind_fds = c->nbind_fds > (size_t)c->cfg->mounts[i]->fd + 1
                                                       ? c->nbind_fds
                                                       : (size_t)c->cfg->mounts[i]->fd + 1;
                if (c->cfg->init_fd >= 0 && (size_t)c->cfg->init_fd + 1 > c->nbind_fds)
                        c->nbind_fds = (size_t)c->cfg->init_fd + 1;
                for (size_t i = 0; i < c->cfg->n_devices; i++)
                        if (c->cfg->devices[i]->fd >= 0 && (size_t)c->cfg->devices[i]->fd + 1 > c->nbind_fds)
                                c->nbind_fds = (size_t)c->cfg->devices[i]->fd + 1;
                c->bind_fds = xcalloc(c->nbind_fds + 1, sizeof(int));
                for (size_t i = 0; i < c->nbind_fds; i++)
                        c->bind_fds[i] = -1;
                LIST_INSERT_HEAD(&store(s)->list, c, entry);
        }
        if (r != SQLITE_DONE)
                return cnr_db_err(s->db, err, "load containers");
        return 0;
}

/* ---- lookups ---- */

struct ctr *
ctr_find(struct sup *s, const char *ref, struct cnr_err **err)
{
        struct ctr *c, *hit = NULL;
        size_t n = strlen(ref);
        int hits = 0;

        if (n == 0) {
                cnr_errf(err, EINVAL, "empty container name");
                return NULL;
        }
        LIST_FOREACH(c, &store(s)->list, entry) {
                if (strcmp(c->name, ref) == 0 || strcmp(c->id, ref) == 0)
                        return c;
                if (strncmp(c->id, ref, n) == 0) {
                        hit = c;
                        hits++;
                }
        }
        if (hits == 1)
                return hit;
        if (hits > 1)
                cnr_errf(err, EINVAL, "container `%s`: the id prefix is ambiguous", ref);
        else
                cnr_errf(err, ENOENT, "no such container: `%s`", ref);
        return NULL;
}

size_t
ctr_all(struct sup *s, struct ctr ***out)
{
        struct ctr *c;
        size_t n = 0;

        LIST_FOREACH(c, &store(s)->list, entry)
                n++;
        *out = xcalloc(n + 1, sizeof(**out));
        n = 0;
        LIST_FOREACH(c, &store(s)->list, entry)
                (*out)[n++] = c;
        return n;
}

json_t *
ctr_image_config(struct ctr *c)
{
        struct cnr_digest d;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        struct cnr_image_config *ic = NULL;
        struct cnr_err *err = NULL;
        json_t *out = NULL;

        if (cnr_digest_parse(c->image_id, &d, &err) < 0 ||
            cnr_content_read(c->s->content, &d, CNR_MANIFEST_MAX, &buf, &len, &err) < 0 ||
            cnr_image_config_parse(buf, len, &ic, &err) < 0) {
                log_warn("container %.12s: image config %s: %s", c->id, c->image_id, cnr_err_str(err));
                cnr_err_free(&err);
                return NULL;
        }
        if (ic->config)
                out = json_incref(ic->config);
        cnr_image_config_free(ic);
        return out;
}

/* ---- waiters ---- */

static void
wake_waiters(struct ctr *c, struct cnr_err *err)
{
        struct ctr_waiter *w = c->waiters, *next;

        c->waiters = NULL;
        for (; w; w = next) {
                next = w->next;
                w->cb(c, err, w->arg);
                free(w);
        }
}

void
ctr_wait(struct ctr *c, ctr_done_fn cb, void *arg)
{
        struct ctr_waiter *w, **tail = &c->waiters;

        if (c->state == CTR_EXITED) {
                cb(c, NULL, arg);
                return;
        }
        w = xcalloc(1, sizeof(*w));
        w->cb = cb;
        w->arg = arg;
        while (*tail)
                tail = &(*tail)->next;
        *tail = w;
}

/* ---- exit, shim death, shutdown ---- */

static void after_shim_gone(struct ctr *c);
static void after_exit(struct ctr *c);
static void dormant_gone(struct ctr *c);

static void
drop_extra(struct ctr *c)
{
        for (size_t i = 0; i < c->nextra; i++)
                ctr_shim_free(c->extra[i]);
        free(c->extra);
        c->extra = NULL;
        c->nextra = 0;
}

static void
on_shutdown_reply(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f, struct cnr_err *err, void *arg)
{
        /* The shim exits after answering: its close finishes the job. */
}

/* Ask the container's shim to shut down; its close then finishes what the
 * caller started.  A shim that cannot be asked is dropped at once
 * (c->shim NULL): -1, and the caller finishes now. */
static int
shim_shutdown(struct ctr *c)
{
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__Shutdown sd = CNR__SHIM__SHUTDOWN__INIT;
        struct cnr_err *e = NULL;

        req.op_case = CNR__SHIM__TO_SHIM__OP_SHUTDOWN;
        req.shutdown = &sd;
        if (ctr_shim_request(c->shim, &req, NULL, 0, SHIM_TIMEOUT_MS, on_shutdown_reply, c, &e) == 0)
                return 0;
        cnr_err_free(&e);
        ctr_shim_free(c->shim);
        c->shim = NULL;
        return -1;
}

/* Binds, --device and --init: O_PATH fds the CLI opened, which only the
 * container's shim keeps across a restart of containrd. */
static bool
ctr_has_sources(const struct ctr *c)
{
        for (size_t i = 0; i < c->cfg->n_mounts; i++)
                if (strcmp(c->cfg->mounts[i]->type, "bind") == 0)
                        return true;
        return c->cfg->init_fd >= 0 || c->cfg->n_devices > 0;
}

/* Is staged fd number i a source of the container's? */
static bool
source_used(const struct ctr *c, int i)
{
        if (c->cfg->init_fd == i)
                return true;
        for (size_t k = 0; k < c->cfg->n_mounts; k++)
                if (strcmp(c->cfg->mounts[k]->type, "bind") == 0 && c->cfg->mounts[k]->fd == i)
                        return true;
        for (size_t k = 0; k < c->cfg->n_devices; k++)
                if (c->cfg->devices[k]->fd == i)
                        return true;
        return false;
}

struct source_req {
        struct ctr *c;
        int index;
};

static void
on_source(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f, struct cnr_err *err, void *arg)
{
        struct source_req *sr = arg;
        struct ctr *c = sr->c;
        struct cnr_err *e = NULL;
        int fl;

        if (ctr_shim_reply_err(env, err, CNR__SHIM__FROM_SHIM__MSG_SOURCE_HELD, "get a bind source", &e) < 0) {
                if (err == NULL) /* a closing connection says why itself */
                        log_warn("container %.12s: %s", c->id, cnr_err_str(e));
                cnr_err_free(&e);
                free(sr);
                return;
        }
        /* What we passed: an O_PATH fd, for the number we asked. */
        fl = fcntl(f->fds[0], F_GETFL);
        if (env->source_held->index != sr->index || fl < 0 || !(fl & O_PATH)) {
                log_warn("container %.12s: the shim answered bind source %d with something else: ignored", c->id,
                         sr->index);
        } else if ((size_t)sr->index < c->nbind_fds && c->bind_fds[sr->index] < 0) {
                c->bind_fds[sr->index] = fcntl(f->fds[0], F_DUPFD_CLOEXEC, 3);
                log_debug("container %.12s: bind source %d back from its shim", c->id, sr->index);
        }
        free(sr);
}

/* After a restart of containrd: ask the container's shim for every bind
 * source we lost.  The requests go before any later one on the same
 * connection (a Shutdown for a start), so the answers come first. */
static void
ctr_fetch_sources(struct ctr *c)
{
        for (size_t i = 0; i < c->nbind_fds; i++) {
                Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
                Cnr__Shim__Source src = CNR__SHIM__SOURCE__INIT;
                struct source_req *sr;
                struct cnr_err *err = NULL;

                if (!source_used(c, (int)i) || c->bind_fds[i] >= 0)
                        continue;
                sr = xcalloc(1, sizeof(*sr));
                sr->c = c;
                sr->index = (int)i;
                src.index = (int)i;
                req.op_case = CNR__SHIM__TO_SHIM__OP_SOURCE;
                req.source = &src;
                if (ctr_shim_request(c->shim, &req, NULL, 0, SHIM_TIMEOUT_MS, on_source, sr, &err) < 0) {
                        log_warn("container %.12s: %s", c->id, cnr_err_str(err));
                        cnr_err_free(&err);
                        free(sr);
                }
        }
}

static void
exited(struct ctr *c, int code, bool oom, const char *why)
{
        if (c->exit_seen)
                return;
        c->exit_seen = true;
        c->state = CTR_EXITED;
        c->exit_code = code;
        c->oom_killed = oom;
        c->finished_ms = wall_ms();
        c->pid = 0;
        if (c->kill_timer) {
                event_free(c->kill_timer);
                c->kill_timer = NULL;
        }
        if (c->rootfd >= 0) {
                close(c->rootfd);
                c->rootfd = -1;
        }
        ctr_save_or_log(c);
        log_info("container %.12s (%s) exited with %d%s%s%s", c->id, c->name, code, oom ? " (OOM killed)" : "",
                 why ? ": " : "", why ? why : "");
        cnr_audit_event("container_exit", "allow",
                        json_pack("{s:s,s:s,s:i,s:b,s:s?}", "id", c->id, "name", c->name, "exit_code", code,
                                  "oom_killed", oom, "cause", why),
                        0, NULL);
        drop_extra(c);
        if (c->shim && ctr_has_sources(c) && !c->cfg->auto_remove && !c->removing) {
                /* Its shim stays, idle, holding the bind sources the CLI
                 * opened: a containrd that restarts gets them back from it
                 * (ctr_fetch_sources).  A start or rm shuts it down. */
                c->dormant = true;
                wake_waiters(c, NULL);
                after_exit(c);
                return;
        }
        if (c->shim)
                shim_shutdown(c);
        wake_waiters(c, NULL);
        if (c->shim == NULL)
                after_shim_gone(c);
}

static void
on_wait_reply(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f, struct cnr_err *err, void *arg)
{
        struct ctr *c = arg;

        if (err != NULL || env->msg_case != CNR__SHIM__FROM_SHIM__MSG_EXITED)
                return; /* the connection's close says what happened */
        exited(c, env->exited->exit_code, env->exited->oom_killed, NULL);
}

void
ctr_on_main_close(struct ctr_shim *sh, struct cnr_err *err, void *arg)
{
        struct ctr *c = arg;

        c->shim = NULL;
        ctr_shim_free(sh);
        if (!c->exit_seen) {
                /* The shim died with its container (PDEATHSIG): THREATS 37. */
                c->busy = false;
                exited(c, 137, false, "its shim died");
                return;
        }
        after_shim_gone(c);
}

int
ctr_watch(struct ctr *c, struct cnr_err **err)
{
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__Wait w = CNR__SHIM__WAIT__INIT;

        req.op_case = CNR__SHIM__TO_SHIM__OP_WAIT;
        req.wait = &w;
        return ctr_shim_request(c->shim, &req, NULL, 0, 0, on_wait_reply, c, err);
}

/* ---- create ---- */

static void
random_id(char *out)
{
        uint8_t b[32];
        static const char hex[] = "0123456789abcdef";

        if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
                abort();
        for (size_t i = 0; i < sizeof(b); i++) {
                out[2 * i] = hex[b[i] >> 4];
                out[2 * i + 1] = hex[b[i] & 15];
        }
        out[64] = '\0';
}

static bool
name_ok(const char *n)
{
        if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') || (n[0] >= '0' && n[0] <= '9')))
                return false;
        for (const char *p = n; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                      *p == '.' || *p == '-'))
                        return false;
        return strlen(n) <= 128;
}

static void
gen_name(struct sup *s, char *buf, size_t n)
{
        static const char *const adj[] = {"brave", "calm",  "eager", "fond", "keen", "lucid",
                                          "quiet", "sharp", "tidy",  "wise", "bold", "merry"};
        static const char *const noun[] = {"turing",   "hopper", "lovelace", "ritchie",   "thompson", "knuth",
                                           "dijkstra", "liskov", "hamilton", "kernighan", "torvalds", "perlman"};
        struct cnr_err *err = NULL;

        for (int tries = 0;; tries++) {
                uint32_t r;
                struct ctr *c;
                if (getrandom(&r, sizeof(r), 0) != sizeof(r))
                        abort();
                if (tries < 20)
                        snprintf(buf, n, "%s_%s", adj[r % CNR_ARRAY_LEN(adj)], noun[(r >> 8) % CNR_ARRAY_LEN(noun)]);
                else
                        snprintf(buf, n, "%s_%s%u", adj[r % CNR_ARRAY_LEN(adj)], noun[(r >> 8) % CNR_ARRAY_LEN(noun)],
                                 r >> 16);
                c = ctr_find(s, buf, &err);
                cnr_err_free(&err);
                if (c == NULL)
                        return;
        }
}

struct create_op {
        ctr_done_fn cb;
        void *arg;
};

static void
on_removed_quietly(struct ctr *c, struct cnr_err *err, void *arg)
{
}

static void
on_created(struct ctr *c, struct cnr_err *err, void *arg)
{
        struct create_op *op = arg;
        struct cnr_err *e = NULL;

        if (err == NULL) {
                c->state = CTR_CREATED;
                ctr_save_or_log(c);
        }
        op->cb(c, err, op->arg);
        free(op);
        /* A container that could not be created does not stay behind. */
        if (err && ctr_remove(c, true, true, on_removed_quietly, NULL, &e) < 0)
                cnr_err_free(&e);
}

/* --userns auto: the first block of CTR_USERNS_SIZE host ids from
 * CTR_USERNS_BASE up that no container's map (auto or explicit, uid or
 * gid side) touches.  Written into the container's record as
 * UID:GID:COUNT, so it survives a restart of containrd. */
#define CTR_USERNS_BASE 100000U
#define CTR_USERNS_SIZE 65536U

static bool
range_free(struct sup *s, uint32_t base)
{
        struct ctr *o;

        LIST_FOREACH(o, &store(s)->list, entry) {
                struct ctr_idrange r;
                struct cnr_err *e = NULL;
                if (ctr_userns_parse(o->cfg->userns, &r, &e) != CTR_USERNS_MAP) {
                        cnr_err_free(&e);
                        continue;
                }
                if ((uint64_t)r.uid < (uint64_t)base + CTR_USERNS_SIZE && (uint64_t)r.uid + r.count > base)
                        return false;
                if ((uint64_t)r.gid < (uint64_t)base + CTR_USERNS_SIZE && (uint64_t)r.gid + r.count > base)
                        return false;
        }
        return true;
}

static int
userns_prepare(struct sup *s, const Cnr__Api__ContainerConfig *cfg, char **mapped, struct cnr_err **err)
{
        struct ctr_idrange r;
        int k = ctr_userns_parse(cfg->userns, &r, err);

        *mapped = NULL;
        if (k <= CTR_USERNS_HOST)
                return k;
        /* The host's network namespace is the host's: a user namespace
         * with it would give the container's root nothing it could use
         * there but the host's view (Docker refuses the pair too). */
        if (strcmp(cfg->network, "host") == 0)
                return cnr_errf(err, ENOTSUP, "--userns `%s`: not with --network host", cfg->userns);
        if (k == CTR_USERNS_MAP)
                return 0;
        for (uint64_t b = CTR_USERNS_BASE; b + CTR_USERNS_SIZE - 1 <= 0x7fffffff; b += CTR_USERNS_SIZE)
                if (range_free(s, (uint32_t)b)) {
                        *mapped = xasprintf("%u:%u:%u", (unsigned)b, (unsigned)b, CTR_USERNS_SIZE);
                        return 0;
                }
        return cnr_errf(err, ENOSPC, "--userns auto: no free range of %u host ids left", CTR_USERNS_SIZE);
}

/* --device permissions: a non-empty subset of "rwm", each letter once. */
static bool
perms_ok(const char *p)
{
        return p[0] && strspn(p, "rwm") == strlen(p) && strlen(p) <= 3 && !(strchr(p, 'r') != strrchr(p, 'r')) &&
               !(strchr(p, 'w') != strrchr(p, 'w')) && !(strchr(p, 'm') != strrchr(p, 'm'));
}

int
ctr_create(struct sup *s, Cnr__Api__ContainerConfig *cfg, int *staged, size_t nstaged, struct ctr **out, ctr_done_fn cb,
           void *arg, struct cnr_err **err)
{
        struct cnr_image *img = NULL;
        struct ctr *c;
        struct create_op *op;
        char name[160];
        char *mapped;

        if (cfg->name[0]) {
                struct cnr_err *e = NULL;
                struct ctr *other;
                if (!name_ok(cfg->name))
                        return cnr_errf(err, EINVAL,
                                        "container name `%s`: use [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most "
                                        "128 characters",
                                        cfg->name);
                other = ctr_find(s, cfg->name, &e);
                cnr_err_free(&e);
                if (other && strcmp(other->name, cfg->name) == 0)
                        return cnr_errf(err, EEXIST, "the container name `%s` is already in use by container %.12s",
                                        cfg->name, other->id);
                snprintf(name, sizeof(name), "%s", cfg->name);
        } else {
                gen_name(s, name, sizeof(name));
        }
        {
                const char *rp = cfg->restart;
                unsigned long long max;
                bool none = rp[0] == '\0' || strcmp(rp, "no") == 0;
                if (!none && strcmp(rp, "always") != 0 && strcmp(rp, "unless-stopped") != 0 &&
                    strcmp(rp, "on-failure") != 0 &&
                    !(strncmp(rp, "on-failure:", 11) == 0 && cnr_parse_uint(rp + 11, 1000000, &max) == 0))
                        return cnr_errf(err, EINVAL,
                                        "restart policy `%s`: no, on-failure[:N], always or unless-stopped", rp);
                if (!none && cfg->auto_remove)
                        return cnr_errf(err, EINVAL, "restart policy `%s` with auto-remove (--rm): they conflict", rp);
        }
        if (userns_prepare(s, cfg, &mapped, err) < 0)
                return -1;
        if (cnr_images_get(s->images, cfg->image, &img, err) < 0) {
                free(mapped);
                return -1;
        }
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                struct stat st;
                if (strcmp(cfg->mounts[i]->type, "bind") != 0)
                        continue;
                if (cfg->mounts[i]->fd < 0 || (size_t)cfg->mounts[i]->fd >= nstaged) {
                        cnr_image_free(img);
                        free(mapped);
                        return cnr_errf(err, EINVAL, "bind mount `%s`: no source fd was passed",
                                        cfg->mounts[i]->destination);
                }
                if (fstat(staged[cfg->mounts[i]->fd], &st) < 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
                        cnr_image_free(img);
                        free(mapped);
                        return cnr_errf(err, EINVAL,
                                        "bind mount `%s`: the source must be a directory or a regular file "
                                        "(a device: --device)",
                                        cfg->mounts[i]->destination);
                }
        }
        if (cfg->init_fd >= 0 && (size_t)cfg->init_fd >= nstaged) {
                cnr_image_free(img);
                free(mapped);
                return cnr_errf(err, EINVAL, "--init: the init binary's fd was not passed");
        }
        for (size_t i = 0; i < cfg->n_devices; i++) {
                const Cnr__Api__ContainerDevice *cd = cfg->devices[i];
                _cleanup_free_ char *dest = ctr_clean_path(cd->path);
                const char *why = NULL;
                struct stat st;

                if (cd->fd < 0 || (size_t)cd->fd >= nstaged)
                        why = "no fd of the host node was passed";
                else if (dest == NULL || strcmp(dest, "/") == 0)
                        why = "the path in the container must be absolute";
                else if (!perms_ok(cd->permissions))
                        why = "the permissions must be a non-empty subset of rwm";
                else if (fstat(staged[cd->fd], &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
                        why = "the host path is not a character or block device";
                if (why) {
                        cnr_image_free(img);
                        free(mapped);
                        return cnr_errf(err, EINVAL, "--device `%s`: %s", cd->path_on_host, why);
                }
        }
        c = ctr_new(s);
        random_id(c->id);
        c->name = xstrdup(name);
        c->image = xstrdup(cfg->image);
        c->image_id = xstrdup(img->id.str);
        cnr_image_free(img);
        {
                /* our own copy, with the name it got */
                char *asked = cfg->name;
                size_t len;
                uint8_t *buf;

                cfg->name = name;
                len = cnr__api__container_config__get_packed_size(cfg);
                buf = xmalloc(len ? len : 1);
                cnr__api__container_config__pack(cfg, buf);
                cfg->name = asked;
                c->cfg = cnr__api__container_config__unpack(NULL, len, buf);
                free(buf);
        }
        if (mapped) {
                /* the unpacked message's strings are its own: plain free */
                free(c->cfg->userns);
                c->cfg->userns = mapped;
        }
        c->state = CTR_CREATED;
        c->created_ms = wall_ms();
        c->rootfd = -1;
        c->bind_fds = xcalloc(nstaged + 1, sizeof(int));
        for (size_t i = 0; i < nstaged; i++) {
                c->bind_fds[i] = staged[i];
                staged[i] = -1;
        }
        c->nbind_fds = nstaged;
        if (ctr_save(c, err) < 0) {
                ctr_free(c);
                return -1;
        }
        LIST_INSERT_HEAD(&store(s)->list, c, entry);
        op = xcalloc(1, sizeof(*op));
        op->cb = cb;
        op->arg = arg;
        if (ctr_spawn(c, on_created, op, err) < 0) {
                struct cnr_err *e = NULL;
                free(op);
                *out = NULL;
                if (ctr_remove(c, true, true, on_removed_quietly, NULL, &e) < 0)
                        cnr_err_free(&e);
                return -1;
        }
        *out = c;
        return 0;
}

/* ---- start ---- */

struct start_ctx {
        struct ctr *c;
        ctr_done_fn cb;
        ctr_fds_fn fds_cb; /* start -a: attached before the init is released */
        void *arg;
        int fds[3];
};

static int attach_any(struct ctr *c, bool starting, ctr_fds_fn cb, void *arg, struct cnr_err **err);

/* The answer to a start, once: cb, or fds_cb with the attached streams. */
static void
start_done(struct start_ctx *sc, struct cnr_err *err)
{
        if (sc->fds_cb)
                sc->fds_cb(sc->c, err, err ? NULL : sc->fds, err ? 0 : 3, 0, sc->arg);
        else
                sc->cb(sc->c, err, sc->arg);
        for (int i = 0; i < 3; i++)
                if (sc->fds[i] >= 0)
                        close(sc->fds[i]);
        free(sc);
}

static void
start_reply(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f, struct cnr_err *err, void *arg)
{
        struct start_ctx *sc = arg;
        struct ctr *c = sc->c;
        struct cnr_err *e = NULL;

        c->busy = false;
        if (ctr_shim_reply_err(env, err, CNR__SHIM__FROM_SHIM__MSG_DONE, "start", &e) < 0) {
                cnr_err_wrap(&e, "container %.12s", c->id);
                free(c->error);
                c->error = xstrdup(cnr_err_str(e));
                start_done(sc, e);
                cnr_err_free(&e);
                /* the init failed before exec: its exit comes through the wait */
                return;
        }
        c->state = CTR_RUNNING;
        c->started_ms = wall_ms();
        c->finished_ms = 0;
        c->exit_code = 0;
        c->oom_killed = false;
        ctr_save_or_log(c);
        cnr_audit_event("container_start", "allow",
                        json_pack("{s:s,s:s,s:i}", "id", c->id, "name", c->name, "pid", c->pid), 0, NULL);
        start_done(sc, NULL);
}

static int send_start(struct start_ctx *sc, struct cnr_err **err);

static void
on_attached_for_start(struct ctr *c, struct cnr_err *err, const int *fds, size_t nfds, int pid, void *arg)
{
        struct start_ctx *sc = arg;
        struct cnr_err *e = NULL;

        c->busy = false;
        if (err == NULL)
                for (int i = 0; i < 3; i++)
                        sc->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (err == NULL && send_start(sc, &e) == 0)
                return;
        start_done(sc, err ? err : e);
        cnr_err_free(&e);
}

static int
send_start(struct start_ctx *sc, struct cnr_err **err)
{
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__Start st = CNR__SHIM__START__INIT;

        if (sc->fds_cb && sc->fds[0] < 0) {
                /* start -a: the streams first, so that nothing is missed */
                sc->c->busy = true;
                if (attach_any(sc->c, true, on_attached_for_start, sc, err) < 0) {
                        sc->c->busy = false;
                        return -1;
                }
                return 0;
        }
        req.op_case = CNR__SHIM__TO_SHIM__OP_START;
        req.start = &st;
        sc->c->busy = true;
        if (ctr_shim_request(sc->c->shim, &req, NULL, 0, SHIM_TIMEOUT_MS, start_reply, sc, err) < 0) {
                sc->c->busy = false;
                return -1;
        }
        return 0;
}

static void
on_spawned_for_start(struct ctr *c, struct cnr_err *err, void *arg)
{
        struct start_ctx *sc = arg;
        struct cnr_err *e = NULL;

        if (err == NULL && send_start(sc, &e) == 0)
                return;
        start_done(sc, err ? err : e);
        cnr_err_free(&e);
}

static int start_common(struct ctr *c, ctr_done_fn cb, ctr_fds_fn fds_cb, void *arg, struct cnr_err **err);

int
ctr_start(struct ctr *c, ctr_done_fn cb, void *arg, struct cnr_err **err)
{
        return start_common(c, cb, NULL, arg, err);
}

int
ctr_start_attached(struct ctr *c, ctr_fds_fn cb, void *arg, struct cnr_err **err)
{
        return start_common(c, NULL, cb, arg, err);
}

static int
start_common(struct ctr *c, ctr_done_fn cb, ctr_fds_fn fds_cb, void *arg, struct cnr_err **err)
{
        struct start_ctx *sc;

        if (c->removing)
                return cnr_errf(err, EBUSY, "container %.12s is being removed", c->id);
        if (c->busy)
                return cnr_errf(err, EBUSY, "container %.12s is busy (being created, started or stopped)", c->id);
        if (c->state == CTR_RUNNING) {
                if (fds_cb) /* start -a of a running one: Docker attaches */
                        return ctr_attach(c, fds_cb, arg, err);
                cb(c, NULL, arg); /* Docker: starting a running container is not an error */
                return 0;
        }
        if (c->restart_timer) {
                event_free(c->restart_timer);
                c->restart_timer = NULL;
        }
        c->stopping = false;
        sc = xcalloc(1, sizeof(*sc));
        sc->c = c;
        sc->cb = cb;
        sc->fds_cb = fds_cb;
        sc->arg = arg;
        sc->fds[0] = sc->fds[1] = sc->fds[2] = -1;
        if (c->state == CTR_CREATED && c->shim) {
                if (send_start(sc, err) < 0) {
                        free(sc);
                        return -1;
                }
                return 0;
        }
        if (c->shim && c->dormant) {
                /* The exited container's shim, kept for its bind sources
                 * (we hold copies): shut it down, then spawn a new one. */
                if (c->start_after) {
                        free(sc);
                        return cnr_errf(err, EBUSY, "container %.12s is already being started", c->id);
                }
                c->start_after = sc;
                c->busy = true;
                if (shim_shutdown(c) < 0)
                        dormant_gone(c); /* spawns */
                return 0;
        }
        if (c->shim) {
                /* the old shim is still shutting down: start once it is gone */
                if (c->start_after) {
                        free(sc);
                        return cnr_errf(err, EBUSY, "container %.12s is already being started", c->id);
                }
                c->start_after = sc;
                c->busy = true;
                return 0;
        }
        if (ctr_spawn(c, on_spawned_for_start, sc, err) < 0) {
                free(sc);
                return -1;
        }
        return 0;
}

/* ---- restart policy ---- */

static void
on_restarted(struct ctr *c, struct cnr_err *err, void *arg)
{
        if (err)
                log_warn("container %.12s: restart: %s", c->id, cnr_err_str(err));
}

static void
on_restart_timer(evutil_socket_t fd, short what, void *arg)
{
        struct ctr *c = arg;
        struct cnr_err *err = NULL;

        event_free(c->restart_timer);
        c->restart_timer = NULL;
        c->restart_count++;
        ctr_save_or_log(c);
        if (ctr_start(c, on_restarted, NULL, &err) < 0) {
                log_warn("container %.12s: restart: %s", c->id, cnr_err_str(err));
                cnr_err_free(&err);
        }
}

static bool
should_restart(struct ctr *c)
{
        const char *p = c->cfg->restart;

        if (c->stopping || c->removing || c->cfg->auto_remove || p[0] == '\0' || strcmp(p, "no") == 0)
                return false;
        if (strcmp(p, "always") == 0 || strcmp(p, "unless-stopped") == 0)
                return true;
        if (strncmp(p, "on-failure", 10) == 0) {
                unsigned long long max = 0;
                if (c->exit_code == 0)
                        return false;
                if (p[10] == ':' && cnr_parse_uint(p + 11, 1000000, &max) == 0 && max > 0 && c->restart_count >= max)
                        return false;
                return true;
        }
        return false;
}

static void finish_remove(struct ctr *c);

static void
on_net_detached(struct sup *s, struct cnr_err *err, void *arg)
{
        char *id = arg;

        if (err)
                log_warn("container %.12s: detach its networks: %s", id, cnr_err_str(err));
        free(id);
}

bool
ctr_uses_netd(const struct ctr *c)
{
        const char *net = c->cfg->network, *u = c->cfg->userns;

        /* --network host, and none with a user namespace (the shim's own
         * netns, which only a namespace of that user namespace can be) */
        return strcmp(net, "host") != 0 && !(strcmp(net, "none") == 0 && u[0] && strcmp(u, "host") != 0);
}

void
ctr_net_detach(struct ctr *c)
{
        struct cnr_err *err = NULL;
        char *id = xstrdup(c->id);

        if (!ctr_uses_netd(c)) {
                free(id);
                return;
        }
        if (sup_network_detach(c->s, c->id, on_net_detached, id, &err) < 0) {
                log_warn("container %.12s: detach its networks: %s", c->id, cnr_err_str(err));
                cnr_err_free(&err);
                free(id);
        }
}

/* The exit is final: the networks go, the restart policy acts.  Before
 * every helper is up (a restart of containrd), netd may not be there yet:
 * sup_containers_ready detaches, then applies the restart policy. */
static void
after_exit(struct ctr *c)
{
        if (store(c->s)->ready)
                ctr_net_detach(c);
        else
                c->net_pending = true;
        if (c->state == CTR_EXITED && store(c->s)->ready && should_restart(c)) {
                unsigned shift = c->restart_count < 7 ? c->restart_count : 7;
                struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
                uint64_t us = 100000ULL << shift;

                tv.tv_sec = (time_t)(us / 1000000);
                tv.tv_usec = (suseconds_t)(us % 1000000);
                c->restart_timer = evtimer_new(c->s->base, on_restart_timer, c);
                event_add(c->restart_timer, &tv);
        }
}

static void on_spawned_for_start(struct ctr *c, struct cnr_err *err, void *arg);

/* The shim of an exited container that kept its bind sources is gone
 * (shut down for a start or rm, or killed), or one that was shutting
 * down when a start came: the start goes on (or fails for an rm). */
static void
dormant_gone(struct ctr *c)
{
        struct start_ctx *sc = c->start_after;
        struct cnr_err *e = NULL;

        c->dormant = false;
        c->start_after = NULL;
        if (sc)
                c->busy = false;
        if (c->removing) {
                if (sc) {
                        cnr_errf(&e, ECANCELED, "container %.12s is being removed", c->id);
                        start_done(sc, e);
                        cnr_err_free(&e);
                }
                finish_remove(c);
                return;
        }
        if (sc && ctr_spawn(c, on_spawned_for_start, sc, &e) < 0) {
                start_done(sc, e);
                cnr_err_free(&e);
        }
}

static void
after_shim_gone(struct ctr *c)
{
        if (c->start_after && !c->dormant && !c->removing) {
                /* exited, then started again while its shim shut down: its
                 * networks go first (a new attach waits for the detach) */
                if (store(c->s)->ready)
                        ctr_net_detach(c);
                else
                        c->net_pending = true;
        }
        if (c->dormant || c->start_after) {
                dormant_gone(c);
                return;
        }
        /* A removal detaches in finish_remove (rm answers after DEL). */
        if (c->removing) {
                finish_remove(c);
                return;
        }
        if (c->cfg->auto_remove && c->state == CTR_EXITED && !c->busy) {
                c->removing = true;
                finish_remove(c);
                return;
        }
        after_exit(c);
}

/* ---- stop, kill ---- */

struct kill_op {
        struct ctr *c;
        ctr_done_fn cb;
        void *arg;
};

static void
on_kill_reply(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f, struct cnr_err *err, void *arg)
{
        struct kill_op *op = arg;
        struct cnr_err *e = NULL;

        if (ctr_shim_reply_err(env, err, CNR__SHIM__FROM_SHIM__MSG_DONE, "kill", &e) < 0 && e->code == ESRCH)
                cnr_err_free(&e); /* it just exited */
        if (op->cb)
                op->cb(op->c, e, op->arg);
        cnr_err_free(&e);
        free(op);
}

static int
send_kill(struct ctr *c, int sig, bool all, ctr_done_fn cb, void *arg, struct cnr_err **err)
{
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__Kill k = CNR__SHIM__KILL__INIT;
        struct kill_op *op;

        if (c->shim == NULL || c->state != CTR_RUNNING)
                return cnr_errf(err, ESRCH, "container %.12s is not running", c->id);
        op = xcalloc(1, sizeof(*op));
        op->c = c;
        op->cb = cb;
        op->arg = arg;
        k.signal = sig;
        k.all = all;
        req.op_case = CNR__SHIM__TO_SHIM__OP_KILL;
        req.kill = &k;
        if (ctr_shim_request(c->shim, &req, NULL, 0, SHIM_TIMEOUT_MS, on_kill_reply, op, err) < 0) {
                free(op);
                return -1;
        }
        return 0;
}

static int stop_signal(struct ctr *c);

static void
mark_stopped_by_user(struct ctr *c)
{
        c->stopping = true;
        if (c->restart_timer) {
                event_free(c->restart_timer);
                c->restart_timer = NULL;
        }
        ctr_save_or_log(c);
}

int
ctr_kill(struct ctr *c, int sig, ctr_done_fn cb, void *arg, struct cnr_err **err)
{
        if (sig <= 0 || sig >= NSIG)
                return cnr_errf(err, EINVAL, "invalid signal %d", sig);
        if (send_kill(c, sig, false, cb, arg, err) < 0)
                return -1;
        /* A container the operator killed is not restarted by its policy
         * (but `always` at the next start of containrd), as in Docker; a
         * signal that asks for something else (HUP, USR1: reload, rotate)
         * is no stop. */
        if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT || sig == stop_signal(c))
                mark_stopped_by_user(c);
        return 0;
}

static void
on_kill_timer(evutil_socket_t fd, short what, void *arg)
{
        struct ctr *c = arg;
        struct cnr_err *err = NULL;

        event_free(c->kill_timer);
        c->kill_timer = NULL;
        log_info("container %.12s did not stop in time: SIGKILL", c->id);
        if (send_kill(c, SIGKILL, true, NULL, NULL, &err) < 0)
                cnr_err_free(&err);
}

static int
stop_signal(struct ctr *c)
{
        json_t *ic = ctr_image_config(c);
        const char *s = json_string_value(json_object_get(ic, "StopSignal"));
        static const struct {
                const char *n;
                int v;
        } sigs[] = {{"SIGTERM", SIGTERM}, {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT}, {"SIGKILL", SIGKILL},
                    {"SIGHUP", SIGHUP},   {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGWINCH", SIGWINCH}};
        int sig = SIGTERM;

        if (s) {
                unsigned long long v;
                for (size_t i = 0; i < CNR_ARRAY_LEN(sigs); i++)
                        if (strcmp(s, sigs[i].n) == 0 || strcmp(s, sigs[i].n + 3) == 0)
                                sig = sigs[i].v;
                if (cnr_parse_uint(s, NSIG - 1, &v) == 0 && v > 0)
                        sig = (int)v;
        }
        json_decref(ic);
        return sig;
}

int
ctr_stop(struct ctr *c, int timeout_s, ctr_done_fn cb, void *arg, struct cnr_err **err)
{
        struct timeval tv = {.tv_sec = timeout_s < 0 ? 10 : timeout_s};

        mark_stopped_by_user(c);
        if (c->state != CTR_RUNNING) {
                cb(c, NULL, arg);
                return 0;
        }
        if (send_kill(c, timeout_s == 0 ? SIGKILL : stop_signal(c), false, NULL, NULL, err) < 0)
                return -1;
        if (c->kill_timer == NULL && timeout_s != 0) {
                c->kill_timer = evtimer_new(c->s->base, on_kill_timer, c);
                event_add(c->kill_timer, &tv);
        }
        ctr_wait(c, cb, arg);
        return 0;
}

/* ---- remove ---- */

struct remove_op {
        ctr_done_fn cb;
        void *arg;
        struct remove_op *next;
};

static struct remove_op *
removers_of(struct ctr *c)
{
        return c->remove_ops;
}

void
ctr_wait_removed(struct ctr *c, ctr_done_fn cb, void *arg)
{
        struct remove_op *op = xcalloc(1, sizeof(*op));

        op->cb = cb;
        op->arg = arg;
        op->next = c->remove_ops;
        c->remove_ops = op;
}

static void
on_snap_removed(struct cnr_err *err, void *arg)
{
        char *id = arg;

        if (err && err->code != ENOENT)
                log_warn("container %.12s: remove its snapshot: %s", id, cnr_err_str(err));
        free(id);
}

static void finish_remove_rest(struct ctr *c);

/* The network detach of a removal: its CNI DEL and handle removal end
 * before rm answers (a detach still running since the exit is joined). */
static void
on_remove_net_detached(struct sup *s, struct cnr_err *err, void *arg)
{
        char *id = arg;
        struct ctr *c = s->ctrs ? ctr_find(s, id, NULL) : NULL;

        if (err)
                log_warn("container %.12s: detach its networks: %s", id, cnr_err_str(err));
        if (c && strcmp(c->id, id) == 0 && c->removing)
                finish_remove_rest(c);
        free(id);
}

static void
finish_remove(struct ctr *c)
{
        struct cnr_err *err = NULL;
        char *id;

        if (c->remove_detaching)
                return;
        if (!ctr_uses_netd(c)) {
                finish_remove_rest(c);
                return;
        }
        /* run --rm with no `rm` asked: the record goes now and CNI DEL
         * (~100 ms of iptables) runs after, off the critical path of run;
         * its rows stay until DEL is done, so a crash leaves them to the
         * start-up cleanup (the container is gone by then). */
        if (c->cfg->auto_remove && !c->rm_asked) {
                ctr_net_detach(c);
                finish_remove_rest(c);
                return;
        }
        c->remove_detaching = true;
        id = xstrdup(c->id);
        if (sup_network_detach(c->s, c->id, on_remove_net_detached, id, &err) < 0) {
                log_warn("container %.12s: detach its networks: %s", c->id, cnr_err_str(err));
                cnr_err_free(&err);
                free(id);
                finish_remove_rest(c);
        }
}

static void
finish_remove_rest(struct ctr *c)
{
        struct cnr_err *err = NULL;
        _cleanup_free_ char *log = ctr_log_path(c->s, c->id);
        struct remove_op *op = removers_of(c), *next;

        if (c->s->snaps && cnr_snap_remove(c->s->snaps, c->id, on_snap_removed, xstrdup(c->id), &err) < 0) {
                if (err->code != ENOENT)
                        log_warn("container %.12s: remove its snapshot: %s", c->id, cnr_err_str(err));
                cnr_err_free(&err);
        }
        unlink(log);
        if (c->rm_volumes || c->cfg->auto_remove)
                ctr_volumes_remove_anonymous(c->s, c->id);
        if (db_delete(c, &err) < 0) {
                log_error("container %.12s: %s", c->id, cnr_err_str(err));
                cnr_err_free(&err);
        }
        LIST_REMOVE(c, entry);
        cnr_audit_event("container_remove", "allow", json_pack("{s:s,s:s}", "id", c->id, "name", c->name), 0, NULL);
        c->remove_ops = NULL;
        wake_waiters(c, NULL);
        for (; op; op = next) {
                next = op->next;
                op->cb(c, NULL, op->arg);
                free(op);
        }
        ctr_free(c);
}

int
ctr_remove(struct ctr *c, bool force, bool volumes, ctr_done_fn cb, void *arg, struct cnr_err **err)
{
        struct remove_op *op;

        if (c->state == CTR_RUNNING && !force)
                return cnr_errf(err, EBUSY, "container %.12s (%s) is running: stop it first, or use --force", c->id,
                                c->name);
        if (c->busy && !force)
                return cnr_errf(err, EBUSY, "container %.12s is busy: try again, or use --force", c->id);
        op = xcalloc(1, sizeof(*op));
        op->cb = cb;
        op->arg = arg;
        op->next = removers_of(c);
        c->remove_ops = op;
        c->rm_volumes = c->rm_volumes || volumes;
        c->rm_asked = true;
        if (c->removing)
                return 0;
        c->removing = true;
        c->stopping = true;
        if (c->restart_timer) {
                event_free(c->restart_timer);
                c->restart_timer = NULL;
        }
        if (c->shim == NULL) {
                if (!c->busy)
                        finish_remove(c);
                return 0;
        }
        if (c->state == CTR_RUNNING) {
                struct cnr_err *e = NULL;
                if (send_kill(c, SIGKILL, true, NULL, NULL, &e) < 0)
                        cnr_err_free(&e);
                return 0; /* the exit, then the shim's close, finish it */
        }
        /* created: shut the shim down; its close finishes the removal */
        c->exit_seen = true;
        if (shim_shutdown(c) < 0)
                finish_remove(c);
        return 0;
}

int
ctr_resize(struct ctr *c, uint32_t rows, uint32_t cols, struct cnr_err **err)
{
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__Resize r = CNR__SHIM__RESIZE__INIT;

        if (c->shim == NULL)
                return cnr_errf(err, ESRCH, "container %.12s is not running", c->id);
        r.rows = rows;
        r.cols = cols;
        req.op_case = CNR__SHIM__TO_SHIM__OP_RESIZE;
        req.resize = &r;
        return ctr_shim_request(c->shim, &req, NULL, 0, SHIM_TIMEOUT_MS, on_shutdown_reply, c, err);
}

/* ---- attach and exec: connections of their own ---- */

struct extra_op {
        struct ctr *c;
        struct ctr_shim *sh;
        ctr_fds_fn cb;
        ctr_exit_fn exit_cb;
        void *arg;
        int pid;
        bool exited;
        int code;
};

static void
extra_remove(struct ctr *c, struct ctr_shim *sh)
{
        for (size_t i = 0; i < c->nextra; i++)
                if (c->extra[i] == sh) {
                        c->extra[i] = c->extra[--c->nextra];
                        return;
                }
}

static void
on_extra_close(struct ctr_shim *sh, struct cnr_err *err, void *arg)
{
        struct extra_op *op = arg;

        extra_remove(op->c, sh);
        ctr_shim_free(sh);
        if (op->exit_cb) {
                struct cnr_err *e = NULL;
                cnr_errf(&e, ECONNRESET, "the container's shim closed the exec connection");
                op->exit_cb(op->c, e, -1, op->arg);
                cnr_err_free(&e);
        }
        free(op);
}

static int
extra_open(struct ctr *c, bool tty, bool starting, struct extra_op *op, struct cnr_err **err)
{
        char dir[512];

        /* starting: a new shim of an exited container, not released yet */
        if (c->shim == NULL || c->dormant || (c->state == CTR_EXITED && !starting))
                return cnr_errf(err, ESRCH, "container %.12s is not running", c->id);
        if (c->nextra >= 24)
                return cnr_errf(err, EAGAIN, "container %.12s: too many attach and exec sessions", c->id);
        if (ctr_shim_open(c->s, ctr_shim_dir(c->s, c->id, dir, sizeof(dir)), tty, on_extra_close, op, &op->sh, err) < 0)
                return -1;
        c->extra = xrealloc(c->extra, (c->nextra + 1) * sizeof(*c->extra));
        c->extra[c->nextra++] = op->sh;
        return 0;
}

static void
on_attached(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f, struct cnr_err *err, void *arg)
{
        struct extra_op *op = arg;
        struct cnr_err *e = NULL;

        if (ctr_shim_reply_err(env, err, CNR__SHIM__FROM_SHIM__MSG_ATTACHED, "attach", &e) < 0) {
                op->cb(op->c, e, NULL, 0, 0, op->arg);
                cnr_err_free(&e);
                op->cb = NULL;
                return; /* the connection stays until the container exits */
        }
        op->cb(op->c, NULL, f->fds, 3, 0, op->arg);
        op->cb = NULL;
}

int
ctr_attach(struct ctr *c, ctr_fds_fn cb, void *arg, struct cnr_err **err)
{
        return attach_any(c, false, cb, arg, err);
}

static int
attach_any(struct ctr *c, bool starting, ctr_fds_fn cb, void *arg, struct cnr_err **err)
{
        struct extra_op *op = xcalloc(1, sizeof(*op));
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__Attach a = CNR__SHIM__ATTACH__INIT;

        op->c = c;
        op->cb = cb;
        op->arg = arg;
        if (extra_open(c, false, starting, op, err) < 0) {
                free(op);
                return -1;
        }
        req.op_case = CNR__SHIM__TO_SHIM__OP_ATTACH;
        req.attach = &a;
        /* The connection owns op from here: its close frees it. */
        return ctr_shim_request(op->sh, &req, NULL, 0, SHIM_TIMEOUT_MS, on_attached, op, err);
}

static void
on_exec_exited(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f, struct cnr_err *err, void *arg)
{
        struct extra_op *op = arg;

        if (err || env->msg_case != CNR__SHIM__FROM_SHIM__MSG_EXITED)
                return;
        op->exited = true;
        op->code = env->exited->exit_code;
        if (op->exit_cb) {
                ctr_exit_fn cb = op->exit_cb;
                op->exit_cb = NULL;
                cb(op->c, NULL, op->code, op->arg);
        }
}

static void
on_exec_started(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f, struct cnr_err *err, void *arg)
{
        struct extra_op *op = arg;
        struct cnr_err *e = NULL;
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__Wait w = CNR__SHIM__WAIT__INIT;

        if (ctr_shim_reply_err(env, err, CNR__SHIM__FROM_SHIM__MSG_EXEC_STARTED, "exec", &e) < 0) {
                op->cb(op->c, e, NULL, 0, 0, op->arg);
                op->cb = NULL;
                cnr_err_free(&e);
                return;
        }
        op->pid = env->exec_started->pid;
        w.pid = op->pid;
        req.op_case = CNR__SHIM__TO_SHIM__OP_WAIT;
        req.wait = &w;
        if (ctr_shim_request(sh, &req, NULL, 0, 0, on_exec_exited, op, &e) < 0)
                cnr_err_free(&e);
        op->cb(op->c, NULL, f->fds, f->nfds, op->pid, op->arg);
        op->cb = NULL;
}

int
ctr_exec(struct ctr *c, const Cnr__Api__ExecConfig *x, const int *stdio, ctr_fds_fn cb, void *arg, struct cnr_err **err)
{
        struct extra_op *op;
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__Exec ex = CNR__SHIM__EXEC__INIT;
        Cnr__Shim__Process p = CNR__SHIM__PROCESS__INIT;
        int r;

        if (c->state != CTR_RUNNING)
                return cnr_errf(err, ESRCH, "container %.12s (%s) is not running", c->id, c->name);
        if (x->n_cmd == 0)
                return cnr_errf(err, EINVAL, "exec: no command");
        if (ctr_exec_process(c, c->rootfd, x, &p, err) < 0) {
                ctr_process_free(&p);
                return -1;
        }
        op = xcalloc(1, sizeof(*op));
        op->c = c;
        op->cb = cb;
        op->arg = arg;
        if (extra_open(c, stdio == NULL, false, op, err) < 0) {
                ctr_process_free(&p);
                free(op);
                return -1;
        }
        ex.process = &p;
        if (stdio) {
                req.op_case = CNR__SHIM__TO_SHIM__OP_EXEC;
                req.exec = &ex;
        } else {
                req.op_case = CNR__SHIM__TO_SHIM__OP_EXEC_TTY;
                req.exec_tty = &ex;
        }
        r = ctr_shim_request(op->sh, &req, stdio, stdio ? 3 : 0, SHIM_TIMEOUT_MS, on_exec_started, op, err);
        ctr_process_free(&p);
        return r;
}

int
ctr_exec_wait(struct ctr *c, int pid, ctr_exit_fn cb, void *arg, struct cnr_err **err)
{
        for (size_t i = 0; i < c->nextra; i++) {
                struct extra_op *op = ctr_shim_arg(c->extra[i]);
                if (op->pid != pid || pid == 0)
                        continue;
                if (op->exited) {
                        cb(c, NULL, op->code, arg);
                        return 0;
                }
                if (op->exit_cb)
                        return cnr_errf(err, EBUSY, "exec %d is already waited for", pid);
                op->exit_cb = cb;
                op->arg = arg;
                return 0;
        }
        return cnr_errf(err, ESRCH, "no exec'd process %d in container %.12s", pid, c->id);
}

/* ---- start-up: reconnect, reboot detection ---- */

static bool
check_boot(struct sup *s)
{
        _cleanup_free_ char *path = xasprintf("%s/containers/boot-id", s->d->cfg.run_root);
        char now[64] = "", was[64] = "";
        FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
        bool same;

        if (f) {
                if (!fgets(now, sizeof(now), f))
                        now[0] = '\0';
                fclose(f);
        }
        f = fopen(path, "re");
        if (f) {
                if (!fgets(was, sizeof(was), f))
                        was[0] = '\0';
                fclose(f);
        }
        same = was[0] && strcmp(now, was) == 0;
        if (!same) {
                _cleanup_free_ char *tmp = xasprintf("%s.tmp", path);
                f = fopen(tmp, "we");
                if (f) {
                        fputs(now, f);
                        if (fclose(f) == 0 && rename(tmp, path) == 0)
                                return same;
                }
                log_warn("cannot record the boot id in `%s`: %s", path, strerror(errno));
        }
        return same;
}

struct reconnect {
        struct ctr *c;
};

static void
on_reconnect_state(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f, struct cnr_err *err, void *arg)
{
        struct ctr *c = arg;
        struct cnr_err *e = NULL;

        if (ctr_shim_reply_err(env, err, CNR__SHIM__FROM_SHIM__MSG_STATE, "state", &e) < 0) {
                log_warn("container %.12s: %s", c->id, cnr_err_str(e));
                cnr_err_free(&e);
                return; /* the close follows */
        }
        c->pid = env->state->pid;
        c->shim_pid = env->state->shim_pid;
        if (strcmp(env->state->status, "stopped") == 0) {
                exited(c, env->state->exit_code, env->state->oom_killed, "while containrd was away");
                return;
        }
        c->state = strcmp(env->state->status, "running") == 0 ? CTR_RUNNING : CTR_CREATED;
        ctr_save_or_log(c);
        if (ctr_watch(c, &e) < 0) {
                log_warn("container %.12s: %s", c->id, cnr_err_str(e));
                cnr_err_free(&e);
        }
        log_info("container %.12s (%s): reconnected to its shim (pid %d), %s", c->id, c->name, c->shim_pid,
                 ctr_state_name(c->state));
}

void
sup_containers_reconnect(struct sup *s)
{
        struct ctr *c, *tmp;

        for (c = LIST_FIRST(&store(s)->list); c; c = tmp) {
                tmp = LIST_NEXT(c, entry);
                Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
                Cnr__Shim__State st = CNR__SHIM__STATE__INIT;
                struct cnr_err *err = NULL;
                char dir[512];
                struct stat sb;

                if (c->state == CTR_EXITED) {
                        /* Its shim may still be there, idle, holding the bind
                         * sources (exited): take them back. */
                        if (store(s)->rebooted || !ctr_has_sources(c))
                                continue;
                        ctr_shim_dir(s, c->id, dir, sizeof(dir));
                        if (stat(dir, &sb) < 0)
                                continue;
                        if (ctr_shim_open(s, dir, false, ctr_on_main_close, c, &c->shim, &err) < 0) {
                                log_info("container %.12s (%s): %s; its bind sources are lost", c->id, c->name,
                                         cnr_err_str(err));
                                cnr_err_free(&err);
                                c->shim = NULL;
                                continue;
                        }
                        c->dormant = true;
                        c->exit_seen = true;
                        ctr_fetch_sources(c);
                        continue;
                }
                if (store(s)->rebooted) {
                        /* THREATS 40: nothing of the last boot survives */
                        if (c->state == CTR_RUNNING) {
                                c->exit_seen = false;
                                exited(c, 255, false, "the host rebooted");
                        }
                        continue;
                }
                ctr_shim_dir(s, c->id, dir, sizeof(dir));
                if (ctr_shim_open(s, dir, false, ctr_on_main_close, c, &c->shim, &err) < 0) {
                        bool dir_left = stat(dir, &sb) == 0;
                        log_warn("container %.12s (%s): %s", c->id, c->name, cnr_err_str(err));
                        cnr_err_free(&err);
                        c->shim = NULL;
                        if (c->state == CTR_RUNNING || dir_left) {
                                /* A shim that left its directory died (its container
                                 * with it: SIGKILL); one that is gone without a trace
                                 * exited in a way nobody recorded. */
                                c->exit_seen = false;
                                exited(c, dir_left ? 137 : 255, false, "its shim is gone");
                        }
                        continue;
                }
                req.op_case = CNR__SHIM__TO_SHIM__OP_STATE;
                req.state = &st;
                if (ctr_shim_request(c->shim, &req, NULL, 0, SHIM_TIMEOUT_MS, on_reconnect_state, c, &err) < 0) {
                        log_warn("container %.12s: %s", c->id, cnr_err_str(err));
                        cnr_err_free(&err);
                        continue;
                }
                if (ctr_has_sources(c))
                        ctr_fetch_sources(c);
        }
}

/* Every helper is up (once per supervisor).  Restart policies now act on
 * the containers that exited while nobody could start them again: after
 * a reboot, while containrd was away, or before its helpers came up.
 * At the start of containrd itself (not a restart of the supervisor
 * alone) or after a reboot, Docker's rule for a daemon start applies on
 * top: `always` comes back even if the operator had stopped it;
 * unless-stopped and on-failure stay down when the operator stopped
 * them (should_restart). */
static bool
restart_at_ready(struct ctr *c, bool daemon_start)
{
        bool always = strcmp(c->cfg->restart, "always") == 0 && !c->cfg->auto_remove;

        if (c->state != CTR_EXITED || (c->shim && !c->dormant) || c->busy || c->removing || c->restart_timer ||
            c->started_ms == 0)
                return false;
        return should_restart(c) || (daemon_start && always);
}

static void
start_at_ready(struct ctr *c, bool daemon_start)
{
        struct cnr_err *err = NULL;

        log_info("container %.12s (%s): restart policy `%s`: started again (it exited with %d%s)", c->id, c->name,
                 c->cfg->restart, c->exit_code, daemon_start ? "; containrd started" : "");
        if (ctr_start(c, on_restarted, NULL, &err) < 0) {
                log_warn("container %.12s: restart: %s", c->id, cnr_err_str(err));
                cnr_err_free(&err);
        }
}

struct ready_detach {
        char id[CTR_ID_LEN + 1];
        bool daemon_start;
};

static void
on_ready_detached(struct sup *s, struct cnr_err *err, void *arg)
{
        struct ready_detach *rd = arg;
        struct cnr_err *e = NULL;
        struct ctr *c = ctr_find(s, rd->id, &e);

        cnr_err_free(&e);
        if (err)
                log_warn("container %.12s: detach its networks: %s", rd->id, cnr_err_str(err));
        else if (c && restart_at_ready(c, rd->daemon_start))
                start_at_ready(c, rd->daemon_start);
        free(rd);
}

/* Every helper is up (once per supervisor).  Containers that exited
 * before (after a reboot, while containrd was away, before its helpers
 * came up) are detached from their networks, then their restart policy
 * acts.  At the start of containrd itself (not a restart of the
 * supervisor alone) or after a reboot, Docker's rule for a daemon start
 * applies on top: `always` comes back even if the operator had stopped
 * it; unless-stopped and on-failure stay down when the operator stopped
 * or killed them (should_restart). */
void
sup_containers_ready(struct sup *s)
{
        bool daemon_start = s->restarts == 0 || store(s)->rebooted;
        struct ctr *c, *tmp;

        if (store(s)->ready)
                return;
        store(s)->ready = true;
        for (c = LIST_FIRST(&store(s)->list); c; c = tmp) {
                tmp = LIST_NEXT(c, entry);
                if (c->net_pending) {
                        struct ready_detach *rd = xcalloc(1, sizeof(*rd));
                        struct cnr_err *err = NULL;

                        c->net_pending = false;
                        snprintf(rd->id, sizeof(rd->id), "%s", c->id);
                        rd->daemon_start = daemon_start;
                        if (!ctr_uses_netd(c)) {
                                on_ready_detached(s, NULL, rd);
                        } else if (sup_network_detach(s, c->id, on_ready_detached, rd, &err) < 0) {
                                log_warn("container %.12s: detach its networks: %s", c->id, cnr_err_str(err));
                                cnr_err_free(&err);
                                free(rd);
                        }
                        continue;
                }
                if (restart_at_ready(c, daemon_start))
                        start_at_ready(c, daemon_start);
        }
}

static bool
known(struct sup *s, const char *id, void *arg)
{
        struct ctr *c;

        LIST_FOREACH(c, &store(s)->list, entry)
                if (strcmp(c->id, id) == 0)
                        return true;
        return false;
}

static int
in_use(void *arg, const struct cnr_image *img, char **who)
{
        struct sup *s = arg;
        struct ctr *c;

        LIST_FOREACH(c, &store(s)->list, entry)
                if (strcmp(c->image_id, img->id.str) == 0) {
                        *who = xasprintf("container %.12s (%s)", c->id, c->name);
                        return 1;
                }
        return 0;
}

int
sup_containers_start(struct sup *s, struct cnr_err **err)
{
        s->ctrs = xcalloc(1, sizeof(*s->ctrs));
        LIST_INIT(&s->ctrs->list);
        if (cnr_db_migrate(s->db, "containers", schema, CNR_ARRAY_LEN(schema), err) < 0 || load(s, err) < 0)
                return -1;
        s->ctrs->rebooted = !check_boot(s);
        cnr_images_set_in_use_hook(s->images, in_use, s);
        sup_networks_reconcile(s, known, NULL);
        return sup_volumes_start(s, err);
}

void
sup_containers_stop(struct sup *s)
{
        struct ctr *c;

        if (s->ctrs == NULL)
                return;
        /* Containers keep running: only our connections go. */
        while ((c = LIST_FIRST(&s->ctrs->list)) != NULL) {
                LIST_REMOVE(c, entry);
                drop_extra(c);
                if (c->shim) {
                        ctr_shim_free(c->shim);
                        c->shim = NULL;
                }
                ctr_free(c);
        }
        free(s->ctrs);
        s->ctrs = NULL;
}
