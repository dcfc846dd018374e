/* API handlers for containers (request cases 50-67 of ipc/api.proto).
 *
 * Host resources come from the CLI: bind sources and the --init binary as
 * O_PATH fds staged on the connection (StageFd) before ContainerCreate,
 * which takes them all.  Answers that can be long (ps, inspect, top,
 * stats) are JSON in a sealed memfd; logs pass the log file (opened here,
 * read-only: the supervisor's own file); attach and exec pass the ends of
 * the container's streams, so output never flows through containrd. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/api.h"
#include "supervisor/api_containers.h"
#include "supervisor/containers.h"
#include "supervisor/networks.h"

/* ---- staged fds, per connection ---- */

struct staged {
        LIST_ENTRY(staged) entry;
        uint64_t client;
        int fds[CTR_MAX_STAGED];
        size_t n;
};
static LIST_HEAD(, staged) staged_list = LIST_HEAD_INITIALIZER(staged_list);

static struct staged *
staged_of(uint64_t client, bool create)
{
        struct staged *st;

        LIST_FOREACH(st, &staged_list, entry)
                if (st->client == client)
                        return st;
        if (!create)
                return NULL;
        st = xcalloc(1, sizeof(*st));
        st->client = client;
        LIST_INSERT_HEAD(&staged_list, st, entry);
        return st;
}

static void
staged_free(struct staged *st)
{
        for (size_t i = 0; i < st->n; i++)
                if (st->fds[i] >= 0)
                        close(st->fds[i]);
        LIST_REMOVE(st, entry);
        free(st);
}

void
sup_api_containers_client_gone(struct sup *s, uint64_t client)
{
        struct staged *st = staged_of(client, false);

        if (st)
                staged_free(st);
}

void
sup_api_stage_fd(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct staged *st = staged_of(sup_client_id(c), true);
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__StageFdReply r = CNR__API__STAGE_FD_REPLY__INIT;
        struct stat sb;

        if (st->n >= CTR_MAX_STAGED) {
                sup_client_error(c, f->reqid, E2BIG, "at most 16 bind sources per container");
                return;
        }
        /* Devices are --device's only (ctr_create checks which is which). */
        if (fstat(f->fds[0], &sb) < 0 ||
            !(S_ISDIR(sb.st_mode) || S_ISREG(sb.st_mode) || S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode))) {
                sup_client_error(c, f->reqid, EINVAL,
                                 "a bind source must be a directory or a regular file (a device: --device)");
                return;
        }
        st->fds[st->n] = cnr_frame_take_fd(f, 0);
        r.index = (uint32_t)st->n++;
        env.msg_case = CNR__API__REPLY__MSG_STAGE_FD;
        env.stage_fd = &r;
        sup_client_reply(c, &env, f->reqid, NULL, 0);
}

/* ---- helpers ---- */

int
ctr_json_memfd(json_t *j, struct cnr_err **err)
{
        _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
        _cleanup_close_ int fd = memfd_create("containr-json", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0)
                return cnr_errf(err, errno, "memfd_create");
        if (text && cnr_write_all(fd, text, strlen(text)) < 0)
                return cnr_errf(err, errno, "write memfd");
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                return cnr_errf(err, errno, "seal memfd");
        if (lseek(fd, 0, SEEK_SET) < 0)
                return cnr_errf(err, errno, "rewind memfd");
        return steal_fd(&fd);
}

struct api_op {
        struct sup *s;
        uint64_t client;
        uint32_t reqid;
        uint64_t t0;
        const char *what;
        char id[CTR_ID_LEN + 1];
        int timeout;
        int msgcase;
};

static struct api_op *
api_op_new(struct sup_client *c, uint32_t reqid, const char *what, int msgcase)
{
        struct api_op *op = xcalloc(1, sizeof(*op));

        op->s = sup_client_sup(c);
        op->client = sup_client_id(c);
        op->reqid = reqid;
        op->t0 = cnr_now_us();
        op->what = what;
        op->msgcase = msgcase;
        return op;
}

static void
audit(struct sup_client *c, const char *what, uint32_t reqid, const char *id, struct cnr_err *err, uint64_t t0)
{
        sup_client_audit(c, what, reqid, id ? json_pack("{s:s}", "id", id) : NULL, err ? err->code : 0,
                         err ? cnr_err_str(err) : NULL, t0);
}

static void
fail(struct sup_client *c, uint32_t reqid, const char *what, const char *id, struct cnr_err *err)
{
        sup_client_error(c, reqid, err->code, cnr_err_str(err));
        audit(c, what, reqid, id, err, 0);
}

static struct ctr *
find_or_fail(struct sup_client *c, uint32_t reqid, const char *what, const char *ref)
{
        struct cnr_err *err = NULL;
        struct ctr *ct = ctr_find(sup_client_sup(c), ref, &err);

        if (!ct) {
                fail(c, reqid, what, ref, err);
                cnr_err_free(&err);
        }
        return ct;
}

/* Reply ContainerIdReply in the op's case, or the error. */
static void
on_id_done(struct ctr *ct, struct cnr_err *err, void *arg)
{
        struct api_op *op = arg;
        struct sup_client *c = sup_client_find(op->s, op->client);

        if (c) {
                if (err) {
                        sup_client_error(c, op->reqid, err->code, cnr_err_str(err));
                } else {
                        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                        Cnr__Api__ContainerIdReply r = CNR__API__CONTAINER_ID_REPLY__INIT;
                        r.id = op->id;
                        env.msg_case = op->msgcase;
                        env.container_start = &r; /* every case of this type shares the layout */
                        sup_client_reply(c, &env, op->reqid, NULL, 0);
                }
                audit(c, op->what, op->reqid, op->id, err, op->t0);
        }
        free(op);
}

/* ---- create ---- */

struct create_op {
        struct api_op op;
        char **warnings;
        size_t nwarn;
        char *name;
};

static void
on_created(struct ctr *ct, struct cnr_err *err, void *arg)
{
        struct create_op *co = arg;
        struct sup_client *c = sup_client_find(co->op.s, co->op.client);

        if (c) {
                if (err) {
                        sup_client_error(c, co->op.reqid, err->code, cnr_err_str(err));
                } else {
                        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                        Cnr__Api__ContainerCreateReply r = CNR__API__CONTAINER_CREATE_REPLY__INIT;
                        r.id = ct->id;
                        r.name = ct->name;
                        r.warnings = co->warnings;
                        r.n_warnings = co->nwarn;
                        env.msg_case = CNR__API__REPLY__MSG_CONTAINER_CREATE;
                        env.container_create = &r;
                        sup_client_reply(c, &env, co->op.reqid, NULL, 0);
                }
                audit(c, "container_create", co->op.reqid, ct->id, err, co->op.t0);
        }
        for (size_t i = 0; i < co->nwarn; i++)
                free(co->warnings[i]);
        free(co->warnings);
        free(co);
}

void
sup_api_container_create(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerConfig *cfg = ((Cnr__Api__Request *)m)->container_create->config;
        struct staged *st = staged_of(sup_client_id(c), false);
        struct create_op *co;
        struct cnr_err *err = NULL;
        struct ctr *ct = NULL;
        char *net;

        if (cfg == NULL || cfg->image[0] == '\0') {
                sup_client_error(c, f->reqid, EINVAL, "create: no image");
                return;
        }
        co = xcalloc(1, sizeof(*co));
        co->op = *api_op_new(c, f->reqid, "container_create", CNR__API__REPLY__MSG_CONTAINER_CREATE);
        net = cfg->network;
        if (cfg->n_publish > 0 && (strcmp(net, "none") == 0 || strcmp(net, "host") == 0)) {
                sup_client_error(c, f->reqid, EINVAL, "-p/--publish needs a network (not --network none or host)");
                free(co);
                return;
        }
        /* --ip/--ip6: refused now rather than at the start */
        if (sup_network_check_ips(sup_client_sup(c), net, cfg->ip, cfg->ip6, &err) < 0) {
                fail(c, f->reqid, "container_create", cfg->image, err);
                cnr_err_free(&err);
                free(co);
                if (st)
                        staged_free(st);
                return;
        }
        if (ctr_create(sup_client_sup(c), cfg, st ? st->fds : NULL, st ? st->n : 0, &ct, on_created, co, &err) < 0) {
                cfg->network = net;
                fail(c, f->reqid, "container_create", cfg->image, err);
                cnr_err_free(&err);
                for (size_t i = 0; i < co->nwarn; i++)
                        free(co->warnings[i]);
                free(co->warnings);
                free(co);
        } else {
                cfg->network = net;
        }
        if (st)
                staged_free(st);
}

/* ---- start, stop, restart, kill, rm ---- */

struct fds_op {
        struct api_op op;
        bool tty;
};

static void on_fds(struct ctr *ct, struct cnr_err *err, const int *fds, size_t nfds, int pid, void *arg);

void
sup_api_container_start(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerRef *r = ((Cnr__Api__Request *)m)->container_start;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_start", r->id);
        struct api_op *op;
        struct cnr_err *err = NULL;

        if (!ct)
                return;
        if (r->attach) {
                struct fds_op *fo = xcalloc(1, sizeof(*fo));
                struct api_op *o = api_op_new(c, f->reqid, "container_start", CNR__API__REPLY__MSG_CONTAINER_ATTACH);

                fo->op = *o;
                free(o);
                if (ctr_start_attached(ct, on_fds, fo, &err) < 0) {
                        fail(c, f->reqid, "container_start", ct->id, err);
                        cnr_err_free(&err);
                        free(fo);
                }
                return;
        }
        op = api_op_new(c, f->reqid, "container_start", CNR__API__REPLY__MSG_CONTAINER_START);
        snprintf(op->id, sizeof(op->id), "%s", ct->id);
        if (ctr_start(ct, on_id_done, op, &err) < 0) {
                fail(c, f->reqid, "container_start", ct->id, err);
                cnr_err_free(&err);
                free(op);
        }
}

void
sup_api_container_stop(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerStop *r = ((Cnr__Api__Request *)m)->container_stop;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_stop", r->id);
        struct api_op *op;
        struct cnr_err *err = NULL;

        if (!ct)
                return;
        op = api_op_new(c, f->reqid, "container_stop", CNR__API__REPLY__MSG_CONTAINER_STOP);
        snprintf(op->id, sizeof(op->id), "%s", ct->id);
        if (ctr_stop(ct, r->has_timeout ? r->timeout : 10, on_id_done, op, &err) < 0) {
                fail(c, f->reqid, "container_stop", ct->id, err);
                cnr_err_free(&err);
                free(op);
        }
}

static void
restart_retry(evutil_socket_t fd, short what, void *arg)
{
        struct api_op *op = arg;
        struct cnr_err *e = NULL;
        struct ctr *ct = ctr_find(op->s, op->id, &e);
        struct timeval tv = {.tv_usec = 20000};

        if (!ct) {
                on_id_done(NULL, e, op);
                cnr_err_free(&e);
                return;
        }
        /* The old shim shuts down asynchronously: start once it is gone
         * (ctr_start itself shuts down one kept for its bind sources). */
        if (ct->shim && ct->state == CTR_EXITED && !ct->dormant && op->timeout++ < 500) {
                event_base_once(op->s->base, -1, EV_TIMEOUT, restart_retry, op, &tv);
                return;
        }
        if (ctr_start(ct, on_id_done, op, &e) < 0) {
                on_id_done(ct, e, op);
                cnr_err_free(&e);
        }
}

static void
on_restart_stopped(struct ctr *ct, struct cnr_err *err, void *arg)
{
        struct api_op *op = arg;

        if (err) {
                on_id_done(ct, err, op);
                return;
        }
        restart_retry(-1, 0, op);
}

void
sup_api_container_restart(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerStop *r = ((Cnr__Api__Request *)m)->container_restart;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_restart", r->id);
        struct api_op *op;
        struct cnr_err *err = NULL;

        if (!ct)
                return;
        op = api_op_new(c, f->reqid, "container_restart", CNR__API__REPLY__MSG_CONTAINER_RESTART);
        snprintf(op->id, sizeof(op->id), "%s", ct->id);
        if (ctr_stop(ct, r->has_timeout ? r->timeout : 10, on_restart_stopped, op, &err) < 0) {
                fail(c, f->reqid, "container_restart", ct->id, err);
                cnr_err_free(&err);
                free(op);
        }
}

void
sup_api_container_kill(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerKill *r = ((Cnr__Api__Request *)m)->container_kill;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_kill", r->id);
        struct api_op *op;
        struct cnr_err *err = NULL;

        if (!ct)
                return;
        op = api_op_new(c, f->reqid, "container_kill", CNR__API__REPLY__MSG_CONTAINER_KILL);
        snprintf(op->id, sizeof(op->id), "%s", ct->id);
        if (ctr_kill(ct, r->signal ? r->signal : SIGKILL, on_id_done, op, &err) < 0) {
                fail(c, f->reqid, "container_kill", ct->id, err);
                cnr_err_free(&err);
                free(op);
        }
}

void
sup_api_container_remove(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerRemove *r = ((Cnr__Api__Request *)m)->container_remove;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_remove", r->id);
        struct api_op *op;
        struct cnr_err *err = NULL;

        if (!ct)
                return;
        op = api_op_new(c, f->reqid, "container_remove", CNR__API__REPLY__MSG_CONTAINER_REMOVE);
        snprintf(op->id, sizeof(op->id), "%s", ct->id);
        if (ctr_remove(ct, r->force, r->volumes, on_id_done, op, &err) < 0) {
                fail(c, f->reqid, "container_remove", ct->id, err);
                cnr_err_free(&err);
                free(op);
        }
}

/* ---- wait ---- */

static void
on_waited(struct ctr *ct, struct cnr_err *err, void *arg)
{
        struct api_op *op = arg;
        struct sup_client *c = sup_client_find(op->s, op->client);

        if (c) {
                Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                Cnr__Api__ContainerWaitReply r = CNR__API__CONTAINER_WAIT_REPLY__INIT;

                r.exit_code = ct->exit_code;
                r.oom_killed = ct->oom_killed;
                r.error = err ? (char *)cnr_err_str(err) : (char *)"";
                env.msg_case = CNR__API__REPLY__MSG_CONTAINER_WAIT;
                env.container_wait = &r;
                sup_client_reply(c, &env, op->reqid, NULL, 0);
        }
        free(op);
}

void
sup_api_container_wait(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerWait *r = ((Cnr__Api__Request *)m)->container_wait;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_wait", r->id);
        struct api_op *op;

        if (!ct)
                return;
        op = api_op_new(c, f->reqid, "container_wait", CNR__API__REPLY__MSG_CONTAINER_WAIT);
        if (r->removed)
                ctr_wait_removed(ct, on_waited, op);
        else
                ctr_wait(ct, on_waited, op);
}

/* ---- list, inspect ---- */

static void
reply_json(struct sup_client *c, uint32_t reqid, int msgcase, json_t *j, char **missing, size_t nmissing)
{
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ContainerListReply lr = CNR__API__CONTAINER_LIST_REPLY__INIT;
        Cnr__Api__ContainerInspectReply ir = CNR__API__CONTAINER_INSPECT_REPLY__INIT;
        Cnr__Api__ContainerJsonReply jr = CNR__API__CONTAINER_JSON_REPLY__INIT;
        struct cnr_err *err = NULL;
        int fd = ctr_json_memfd(j, &err);

        if (fd < 0) {
                sup_client_error(c, reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        env.msg_case = msgcase;
        switch (msgcase) {
        case CNR__API__REPLY__MSG_CONTAINER_LIST:
                lr.count = (uint32_t)json_array_size(j);
                env.container_list = &lr;
                break;
        case CNR__API__REPLY__MSG_CONTAINER_INSPECT:
                ir.count = (uint32_t)json_array_size(j);
                ir.missing = missing;
                ir.n_missing = nmissing;
                env.container_inspect = &ir;
                break;
        default:
                jr.count = (uint32_t)json_array_size(j);
                env.container_top = &jr; /* top and stats share the type */
                break;
        }
        sup_client_reply(c, &env, reqid, &fd, 1);
        close(fd);
}

void
sup_api_container_list(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerList *r = ((Cnr__Api__Request *)m)->container_list;
        struct ctr **all;
        size_t n = ctr_all(sup_client_sup(c), &all);
        json_t *a = json_array();

        for (size_t i = 0; i < n; i++)
                if (r->all || all[i]->state == CTR_RUNNING)
                        json_array_append_new(a, ctr_json(all[i], false));
        free(all);
        reply_json(c, f->reqid, CNR__API__REPLY__MSG_CONTAINER_LIST, a, NULL, 0);
        json_decref(a);
}

void
sup_api_container_inspect(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerInspect *r = ((Cnr__Api__Request *)m)->container_inspect;
        json_t *a = json_array();
        char **missing = xcalloc(r->n_names + 1, sizeof(char *));
        size_t nmissing = 0;

        for (size_t i = 0; i < r->n_names; i++) {
                struct cnr_err *err = NULL;
                struct ctr *ct = ctr_find(sup_client_sup(c), r->names[i], &err);
                if (ct)
                        json_array_append_new(a, ctr_json(ct, true));
                else
                        missing[nmissing++] = r->names[i];
                cnr_err_free(&err);
        }
        reply_json(c, f->reqid, CNR__API__REPLY__MSG_CONTAINER_INSPECT, a, missing, nmissing);
        free(missing);
        json_decref(a);
}

/* ---- logs ---- */

void
sup_api_container_logs(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerRef *r = ((Cnr__Api__Request *)m)->container_logs;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_logs", r->id);
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ContainerLogsReply lr = CNR__API__CONTAINER_LOGS_REPLY__INIT;

        if (!ct)
                return;
        path = ctr_log_path(sup_client_sup(c), ct->id);
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                _cleanup_free_ char *msg = xasprintf("open the log of container %.12s: %s", ct->id, strerror(errno));
                sup_client_error(c, f->reqid, errno, msg);
                return;
        }
        lr.id = ct->id;
        lr.running = ct->state == CTR_RUNNING || ct->restart_timer != NULL;
        lr.tty = ct->cfg->tty;
        env.msg_case = CNR__API__REPLY__MSG_CONTAINER_LOGS;
        env.container_logs = &lr;
        sup_client_reply(c, &env, f->reqid, &fd, 1);
        audit(c, "container_logs", f->reqid, ct->id, NULL, 0);
}

/* ---- attach, exec ---- */

static void
on_fds(struct ctr *ct, struct cnr_err *err, const int *fds, size_t nfds, int pid, void *arg)
{
        struct fds_op *fo = arg;
        struct sup_client *c = sup_client_find(fo->op.s, fo->op.client);

        if (c) {
                if (err) {
                        sup_client_error(c, fo->op.reqid, err->code, cnr_err_str(err));
                } else if (fo->op.msgcase == CNR__API__REPLY__MSG_CONTAINER_ATTACH) {
                        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                        Cnr__Api__ContainerAttachReply r = CNR__API__CONTAINER_ATTACH_REPLY__INIT;
                        r.id = ct->id;
                        r.tty = ct->cfg->tty;
                        env.msg_case = CNR__API__REPLY__MSG_CONTAINER_ATTACH;
                        env.container_attach = &r;
                        sup_client_reply(c, &env, fo->op.reqid, fds, nfds);
                } else {
                        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                        Cnr__Api__ContainerExecReply r = CNR__API__CONTAINER_EXEC_REPLY__INIT;
                        r.pid = pid;
                        env.msg_case = fo->op.msgcase;
                        env.container_exec = &r;
                        sup_client_reply(c, &env, fo->op.reqid, fds, nfds);
                }
                audit(c, fo->op.what, fo->op.reqid, ct->id, err, fo->op.t0);
        }
        free(fo);
}

void
sup_api_container_attach(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerRef *r = ((Cnr__Api__Request *)m)->container_attach;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_attach", r->id);
        struct fds_op *fo;
        struct cnr_err *err = NULL;

        if (!ct)
                return;
        fo = xcalloc(1, sizeof(*fo));
        fo->op = *api_op_new(c, f->reqid, "container_attach", CNR__API__REPLY__MSG_CONTAINER_ATTACH);
        if (ctr_attach(ct, on_fds, fo, &err) < 0) {
                fail(c, f->reqid, "container_attach", ct->id, err);
                cnr_err_free(&err);
                free(fo);
        }
}

static void
exec_common(struct sup_client *c, struct cnr_frame *f, Cnr__Api__ExecConfig *x, bool tty)
{
        const char *what = tty ? "container_exec_tty" : "container_exec";
        struct ctr *ct = find_or_fail(c, f->reqid, what, x->id);
        struct fds_op *fo;
        struct cnr_err *err = NULL;

        if (!ct)
                return;
        if (x->tty != tty) {
                sup_client_error(c, f->reqid, EINVAL, "exec_tty is for terminal processes, exec for the others");
                return;
        }
        fo = xcalloc(1, sizeof(*fo));
        fo->op = *api_op_new(c, f->reqid, what,
                             tty ? CNR__API__REPLY__MSG_CONTAINER_EXEC_TTY : CNR__API__REPLY__MSG_CONTAINER_EXEC);
        if (ctr_exec(ct, x, tty ? NULL : f->fds, on_fds, fo, &err) < 0) {
                fail(c, f->reqid, what, ct->id, err);
                cnr_err_free(&err);
                free(fo);
        }
}

void
sup_api_container_exec(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        exec_common(arg, f, ((Cnr__Api__Request *)m)->container_exec, false);
}

void
sup_api_container_exec_tty(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        exec_common(arg, f, ((Cnr__Api__Request *)m)->container_exec_tty, true);
}

static void
on_exec_waited(struct ctr *ct, struct cnr_err *err, int code, void *arg)
{
        struct api_op *op = arg;
        struct sup_client *c = sup_client_find(op->s, op->client);

        if (c) {
                Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                Cnr__Api__ContainerWaitReply r = CNR__API__CONTAINER_WAIT_REPLY__INIT;

                r.exit_code = err ? 255 : code;
                r.error = err ? (char *)cnr_err_str(err) : (char *)"";
                env.msg_case = CNR__API__REPLY__MSG_CONTAINER_EXEC_WAIT;
                env.container_exec_wait = &r;
                sup_client_reply(c, &env, op->reqid, NULL, 0);
        }
        free(op);
}

void
sup_api_container_exec_wait(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerExecWait *r = ((Cnr__Api__Request *)m)->container_exec_wait;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_exec_wait", r->id);
        struct api_op *op;
        struct cnr_err *err = NULL;

        if (!ct)
                return;
        op = api_op_new(c, f->reqid, "container_exec_wait", CNR__API__REPLY__MSG_CONTAINER_EXEC_WAIT);
        if (ctr_exec_wait(ct, r->pid, on_exec_waited, op, &err) < 0) {
                sup_client_error(c, f->reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                free(op);
        }
}

void
sup_api_container_resize(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerResize *r = ((Cnr__Api__Request *)m)->container_resize;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_resize", r->id);
        struct cnr_err *err = NULL;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ContainerIdReply ir = CNR__API__CONTAINER_ID_REPLY__INIT;

        if (!ct)
                return;
        if (ctr_resize(ct, r->rows, r->cols, &err) < 0) {
                sup_client_error(c, f->reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        ir.id = ct->id;
        env.msg_case = CNR__API__REPLY__MSG_CONTAINER_RESIZE;
        env.container_resize = &ir;
        sup_client_reply(c, &env, f->reqid, NULL, 0);
}

/* ---- top, stats: read-only looks at /proc and the cgroup files ---- */

struct proc_ent {
        int pid, ppid;
        unsigned long long ticks, rss_pages;
};

static int
read_stat(int pid, struct proc_ent *pe)
{
        char path[64], buf[1024];
        FILE *f;
        char *rp;
        unsigned long long ut = 0, st = 0, rss = 0;
        int ppid = 0;

        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        if (!fgets(buf, sizeof(buf), f)) {
                fclose(f);
                return -1;
        }
        fclose(f);
        rp = strrchr(buf, ')');
        if (!rp || sscanf(rp + 2,
                          "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
                          "%*u %*u %llu",
                          &ppid, &ut, &st, &rss) != 4)
                return -1;
        pe->pid = pid;
        pe->ppid = ppid;
        pe->ticks = ut + st;
        pe->rss_pages = rss;
        return 0;
}

/* Every process below the container's shim (its init, exec'd processes
 * and their children). */
static size_t
container_procs(int shim_pid, struct proc_ent **out)
{
        _cleanup_closedir_ DIR *d = opendir("/proc");
        struct proc_ent *all = NULL;
        size_t n = 0, cap = 0, k = 0;
        struct dirent *de;
        int *keep;

        *out = NULL;
        if (!d || shim_pid <= 0)
                return 0;
        while ((de = readdir(d)) != NULL) {
                unsigned long long v;
                struct proc_ent pe;
                if (cnr_parse_uint(de->d_name, 0x7fffffff, &v) < 0 || read_stat((int)v, &pe) < 0)
                        continue;
                if (n == cap) {
                        cap = cap ? 2 * cap : 256;
                        all = xrealloc(all, cap * sizeof(*all));
                }
                all[n++] = pe;
        }
        keep = xcalloc(n + 1, sizeof(int));
        /* fixed point: a process is ours if its parent is the shim or ours */
        for (bool changed = true; changed;) {
                changed = false;
                for (size_t i = 0; i < n; i++) {
                        if (keep[i])
                                continue;
                        bool mine = all[i].ppid == shim_pid;
                        for (size_t j = 0; j < n && !mine; j++)
                                mine = keep[j] && all[j].pid == all[i].ppid;
                        if (mine)
                                keep[i] = changed = true;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (keep[i])
                        all[k++] = all[i];
        free(keep);
        *out = all;
        return k;
}

static json_t *
top_json(struct ctr *ct)
{
        struct proc_ent *pe;
        size_t n = container_procs(ct->shim_pid, &pe);
        json_t *a = json_array();
        long hz = sysconf(_SC_CLK_TCK);

        for (size_t i = 0; i < n; i++) {
                char path[64], cmd[4096] = "";
                FILE *f;
                unsigned uid = 0;
                char line[256];
                size_t len = 0;

                snprintf(path, sizeof(path), "/proc/%d/cmdline", pe[i].pid);
                if ((f = fopen(path, "re")) != NULL) {
                        len = fread(cmd, 1, sizeof(cmd) - 1, f);
                        fclose(f);
                }
                for (size_t k = 0; k + 1 < len; k++)
                        if (cmd[k] == '\0')
                                cmd[k] = ' ';
                cmd[len] = '\0';
                snprintf(path, sizeof(path), "/proc/%d/status", pe[i].pid);
                if ((f = fopen(path, "re")) != NULL) {
                        while (fgets(line, sizeof(line), f))
                                if (sscanf(line, "Uid: %u", &uid) == 1)
                                        break;
                        fclose(f);
                }
                json_array_append_new(
                        a,
                        json_pack("{s:i,s:i,s:i,s:I,s:s}", "PID", pe[i].pid, "PPID", pe[i].ppid, "UID", (int)uid,
                                  "TimeMs", (json_int_t)(pe[i].ticks * 1000 / (unsigned long long)(hz > 0 ? hz : 100)),
                                  "CMD", cmd));
        }
        free(pe);
        return a;
}

void
sup_api_container_top(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerRef *r = ((Cnr__Api__Request *)m)->container_top;
        struct ctr *ct = find_or_fail(c, f->reqid, "container_top", r->id);
        json_t *a;

        if (!ct)
                return;
        if (ct->state != CTR_RUNNING) {
                _cleanup_free_ char *msg = xasprintf("container %.12s (%s) is not running", ct->id, ct->name);
                sup_client_error(c, f->reqid, ESRCH, msg);
                return;
        }
        a = top_json(ct);
        reply_json(c, f->reqid, CNR__API__REPLY__MSG_CONTAINER_TOP, a, NULL, 0);
        json_decref(a);
}

/* The directory of the container's cgroup for `ctrl` ("memory", "cpuacct",
 * "blkio", "pids"; "" for the v2 unified hierarchy), found through the
 * init's /proc/<pid>/cgroup (read from the host's cgroup namespace: full
 * paths) and this process's mountinfo (where that hierarchy is mounted).
 * Sets *v2 when the controller lives on the unified hierarchy. */
static char *
cgroup_dir(int pid, const char *ctrl, bool *v2)
{
        char path[64];
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL, *cgpath = NULL, *unified = NULL;
        size_t cap = 0;
        bool found = false;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
        if ((f = fopen(path, "re")) == NULL)
                return NULL;
        while (getline(&line, &cap, f) > 0) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *save = NULL;
                if (!c2)
                        continue;
                line[strcspn(line, "\n")] = '\0';
                *c2 = '\0';
                if (c1[1] == '\0') {
                        free(unified);
                        unified = xstrdup(c2 + 1);
                        continue;
                }
                for (char *t = strtok_r(c1 + 1, ",", &save); t && !found; t = strtok_r(NULL, ",", &save))
                        found = strcmp(t, ctrl) == 0;
                if (found) {
                        cgpath = xstrdup(c2 + 1);
                        break;
                }
        }
        fclose(f);
        f = NULL;
        *v2 = !found;
        if (!found && !unified)
                return NULL;
        if (!found)
                cgpath = xstrdup(unified);
        /* the mount of that hierarchy: fstype cgroup with `ctrl` among its
         * super options, or cgroup2 */
        if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
                return NULL;
        while (getline(&line, &cap, f) > 0) {
                char *dash = strstr(line, " - "), *fld[6] = {0}, *save = NULL, *fstype, *opts;
                int nf = 0;
                bool match = false;
                if (!dash)
                        continue;
                *dash = '\0';
                fstype = strtok_r(dash + 3, " ", &save);
                strtok_r(NULL, " ", &save);
                opts = strtok_r(NULL, " \n", &save);
                if (!fstype || !opts)
                        continue;
                if (*v2)
                        match = strcmp(fstype, "cgroup2") == 0;
                else if (strcmp(fstype, "cgroup") == 0)
                        for (char *t = strtok_r(opts, ",", &save); t && !match; t = strtok_r(NULL, ",", &save))
                                match = strcmp(t, ctrl) == 0;
                if (!match)
                        continue;
                save = NULL;
                for (char *t = strtok_r(line, " ", &save); t && nf < 6; t = strtok_r(NULL, " ", &save))
                        fld[nf++] = t;
                if (nf < 5)
                        continue;
                /* a mount of a sub-tree (root field not "/") holds the
                 * paths below that root */
                size_t rl = strcmp(fld[3], "/") == 0 ? 0 : strlen(fld[3]);
                if (rl && strncmp(cgpath, fld[3], rl) != 0)
                        continue;
                return xasprintf("%s%s", fld[4], cgpath + rl);
        }
        return NULL;
}

/* The first number in a file of the cgroup directory, or -1. */
static long long
cg_num(const char *dir, const char *file)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        long long v;

        if (!f || fscanf(f, "%lld", &v) != 1)
                return -1;
        return v;
}

/* The value of `key` in a "key value" file (memory.stat, cpu.stat), or -1. */
static long long
cg_keyed(const char *dir, const char *file, const char *key)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        char k[64];
        long long v;

        if (!f)
                return -1;
        while (fscanf(f, "%63s %lld", k, &v) == 2)
                if (strcmp(k, key) == 0)
                        return v;
        return -1;
}

/* Bytes read and written, summed over devices: v1 blkio's
 * "MAJ:MIN Read N" lines (Total lines skipped), v2 io.stat's rbytes=/wbytes=. */
static void
cg_blkio(int pid, long long *rd, long long *wr)
{
        bool v2;
        _cleanup_free_ char *dir = cgroup_dir(pid, "blkio", &v2), *p = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t cap = 0;

        *rd = *wr = 0;
        if (!dir)
                return;
        p = xasprintf("%s/%s", dir, v2 ? "io.stat" : "blkio.throttle.io_service_bytes");
        if ((f = fopen(p, "re")) == NULL)
                return;
        while (getline(&line, &cap, f) > 0) {
                char op[16];
                long long v;
                if (v2) {
                        char *r = strstr(line, " rbytes="), *w = strstr(line, " wbytes=");
                        if (r)
                                *rd += strtoll(r + 8, NULL, 10);
                        if (w)
                                *wr += strtoll(w + 8, NULL, 10);
                } else if (sscanf(line, "%*u:%*u %15s %lld", op, &v) == 2) {
                        if (strcmp(op, "Read") == 0)
                                *rd += v;
                        else if (strcmp(op, "Write") == 0)
                                *wr += v;
                }
        }
}

/* Bytes received and sent on the interfaces of the init's network
 * namespace but lo (Docker counts the container's interfaces). */
static void
net_io(int pid, long long *rx, long long *tx)
{
        char path[64];
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;

        *rx = *tx = 0;
        snprintf(path, sizeof(path), "/proc/%d/net/dev", pid);
        if ((f = fopen(path, "re")) == NULL)
                return;
        while (getline(&line, &cap, f) > 0) {
                char *c = strchr(line, ':'), *name = line;
                unsigned long long v[9];
                if (!c)
                        continue;
                *c = '\0';
                while (*name == ' ')
                        name++;
                if (strcmp(name, "lo") == 0 ||
                    sscanf(c + 1, "%llu %*u %*u %*u %*u %*u %*u %*u %llu", &v[0], &v[8]) != 2)
                        continue;
                *rx += (long long)v[0];
                *tx += (long long)v[8];
        }
}

/* The host's CPU time in ns, the sum of /proc/stat's cpu line (what
 * Docker calls system_cpu_usage), and the online CPUs. */
static long long
system_cpu_ns(int *online)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/stat", "re");
        unsigned long long v[8] = {0}, sum = 0;
        long hz = sysconf(_SC_CLK_TCK);

        *online = (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                         &v[6], &v[7]) < 4)
                return -1;
        for (int i = 0; i < 8; i++)
                sum += v[i];
        return (long long)(sum * (1000000000ULL / (unsigned long long)(hz > 0 ? hz : 100)));
}

/* Raw counters; the CLI turns two samples into Docker's CPU %. */
static json_t *
stats_json(struct ctr *ct)
{
        struct proc_ent *pe = NULL;
        bool running = ct->state == CTR_RUNNING && ct->pid > 0;
        size_t n = running ? container_procs(ct->shim_pid, &pe) : 0;
        unsigned long long ticks = 0, rss = 0;
        long hz = sysconf(_SC_CLK_TCK);
        long long cpu = -1, mem = -1, lim = -1, pids = -1, rd = 0, wr = 0, rx = 0, tx = 0, sys;
        long long host_mem = (long long)sysconf(_SC_PHYS_PAGES) * (long long)sysconf(_SC_PAGESIZE);
        int online;

        for (size_t i = 0; i < n; i++) {
                ticks += pe[i].ticks;
                rss += pe[i].rss_pages;
        }
        free(pe);
        sys = system_cpu_ns(&online);
        if (running) {
                bool v2;
                _cleanup_free_ char *m = cgroup_dir(ct->pid, "memory", &v2);
                if (m) {
                        mem = cg_num(m, v2 ? "memory.current" : "memory.usage_in_bytes");
                        lim = cg_num(m, v2 ? "memory.max" : "memory.limit_in_bytes");
                        /* Docker's usage leaves out the inactive page cache */
                        long long inact = cg_keyed(m, "memory.stat", v2 ? "inactive_file" : "total_inactive_file");
                        if (mem >= 0 && inact > 0 && inact < mem)
                                mem -= inact;
                }
                _cleanup_free_ char *c = cgroup_dir(ct->pid, "cpuacct", &v2);
                if (c) {
                        long long us;
                        if (!v2)
                                cpu = cg_num(c, "cpuacct.usage");
                        else if ((us = cg_keyed(c, "cpu.stat", "usage_usec")) >= 0)
                                cpu = us * 1000;
                }
                _cleanup_free_ char *pd = cgroup_dir(ct->pid, "pids", &v2);
                if (pd)
                        pids = cg_num(pd, "pids.current");
                cg_blkio(ct->pid, &rd, &wr);
                net_io(ct->pid, &rx, &tx);
        }
        if (cpu < 0)
                cpu = (long long)(ticks * (1000000000ULL / (unsigned long long)(hz > 0 ? hz : 100)));
        if (mem < 0)
                mem = running ? (long long)(rss * (unsigned long long)sysconf(_SC_PAGESIZE)) : 0;
        if (lim <= 0 || lim >= host_mem)
                lim = host_mem; /* no limit: Docker shows the host's memory */
        if (pids < 0)
                pids = (long long)n;
        return json_pack("{s:s,s:s,s:b,s:I,s:I,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "Id", ct->id, "Name", ct->name,
                         "Running", running, "CpuNs", (json_int_t)cpu, "SystemCpuNs", (json_int_t)sys, "OnlineCpus",
                         online, "MemUsage", (json_int_t)mem, "MemLimit", (json_int_t)lim, "NetRx", (json_int_t)rx,
                         "NetTx", (json_int_t)tx, "BlockRead", (json_int_t)rd, "BlockWrite", (json_int_t)wr, "Pids",
                         (json_int_t)(running ? pids : 0));
}

void
sup_api_container_stats(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__ContainerStats *r = ((Cnr__Api__Request *)m)->container_stats;
        json_t *a = json_array();

        if (r->n_names == 0) {
                struct ctr **all;
                size_t n = ctr_all(sup_client_sup(c), &all);
                for (size_t i = 0; i < n; i++)
                        if (r->all || all[i]->state == CTR_RUNNING)
                                json_array_append_new(a, stats_json(all[i]));
                free(all);
        }
        for (size_t i = 0; i < r->n_names; i++) {
                struct ctr *ct = find_or_fail(c, f->reqid, "container_stats", r->names[i]);
                if (!ct) {
                        json_decref(a);
                        return;
                }
                json_array_append_new(a, stats_json(ct));
        }
        reply_json(c, f->reqid, CNR__API__REPLY__MSG_CONTAINER_STATS, a, NULL, 0);
        json_decref(a);
}

/* ---- the JSON view of a container ---- */

static void
rfc3339_ms(int64_t ms, char *buf, size_t n)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;

        if (ms <= 0) {
                snprintf(buf, n, "0001-01-01T00:00:00Z");
                return;
        }
        gmtime_r(&t, &tm);
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static json_t *
strv(char **v, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

json_t *
ctr_json(struct ctr *ct, bool full)
{
        const Cnr__Api__ContainerConfig *cfg = ct->cfg;
        json_t *ic = ctr_image_config(ct), *args = json_array(), *labels = json_object(), *o;
        char created[96], started[96], finished[96];
        size_t i;
        json_t *x;

        if (cfg->entrypoint_set) {
                for (i = 0; i < cfg->n_entrypoint; i++)
                        if (cfg->entrypoint[i][0])
                                json_array_append_new(args, json_string(cfg->entrypoint[i]));
        } else if (json_is_array(json_object_get(ic, "Entrypoint"))) {
                json_array_extend(args, json_object_get(ic, "Entrypoint"));
        }
        if (cfg->n_cmd) {
                json_t *cmd = strv(cfg->cmd, cfg->n_cmd);
                json_array_extend(args, cmd);
                json_decref(cmd);
        } else if (!cfg->entrypoint_set && json_is_array(json_object_get(ic, "Cmd")))
                json_array_extend(args, json_object_get(ic, "Cmd"));
        for (i = 0; i < cfg->n_labels; i++) {
                const char *eq = strchr(cfg->labels[i], '=');
                _cleanup_free_ char *k =
                        eq ? xstrndup(cfg->labels[i], (size_t)(eq - cfg->labels[i])) : xstrdup(cfg->labels[i]);
                json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
        }
        rfc3339_ms(ct->created_ms, created, sizeof(created));
        rfc3339_ms(ct->started_ms, started, sizeof(started));
        rfc3339_ms(ct->finished_ms, finished, sizeof(finished));
        o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:I,s:{s:s,s:b,s:b,s:i,s:i,s:b,s:s,s:s,s:I,s:I,s:s},s:i,s:o}", "Id",
                      ct->id, "Name", ct->name, "Image", ct->image, "ImageID", ct->image_id, "Args", args, "Created",
                      created, "CreatedMs", (json_int_t)ct->created_ms, "State", "Status", ctr_state_name(ct->state),
                      "Running", ct->state == CTR_RUNNING, "Restarting", ct->restart_timer != NULL, "Pid",
                      ct->state == CTR_RUNNING ? ct->pid : 0, "ExitCode", ct->exit_code, "OOMKilled", ct->oom_killed,
                      "StartedAt", started, "FinishedAt", finished, "StartedMs", (json_int_t)ct->started_ms,
                      "FinishedMs", (json_int_t)ct->finished_ms, "Error", ct->error ? ct->error : "", "RestartCount",
                      (int)ct->restart_count, "Labels", labels);
        /* -p as typed ([IP:]HOSTPORT:PORT[/PROTO]): ps shows them */
        json_object_set_new(o, "Ports", strv(cfg->publish, cfg->n_publish));
        if (full) {
                json_t *mounts = json_array(), *ul = json_array();
                _cleanup_free_ char *logpath = ctr_log_path(ct->s, ct->id);

                for (i = 0; i < cfg->n_mounts; i++) {
                        const Cnr__Api__ContainerMount *cm = cfg->mounts[i];
                        json_array_append_new(mounts,
                                              json_pack("{s:s,s:s,s:s,s:b}", "Type", cm->type, "Source", cm->source,
                                                        "Destination", cm->destination, "RW", !cm->read_only));
                }
                for (i = 0; i < cfg->n_ulimits; i++)
                        json_array_append_new(ul, json_pack("{s:s,s:I,s:I}", "Name", cfg->ulimits[i]->name, "Soft",
                                                            (json_int_t)cfg->ulimits[i]->soft, "Hard",
                                                            (json_int_t)cfg->ulimits[i]->hard));
                json_object_set_new(o, "Mounts", mounts);
                json_object_set_new(o, "LogPath", json_string(logpath));
                json_object_set_new(o, "ShimPid", json_integer(ct->state == CTR_RUNNING ? ct->shim_pid : 0));
                json_object_set_new(o, "Config",
                                    json_pack("{s:s,s:s,s:s,s:o,s:o,s:b,s:b,s:O?}", "Hostname",
                                              cfg->hostname[0] ? cfg->hostname : "", "User", cfg->user, "WorkingDir",
                                              cfg->workdir, "Env", strv(cfg->env, cfg->n_env), "Cmd",
                                              strv(cfg->cmd, cfg->n_cmd), "Tty", cfg->tty, "OpenStdin", cfg->stdin_open,
                                              "ImageConfig", ic));
                json_object_set_new(
                        o, "HostConfig",
                        json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:b,s:o,s:o,s:s,s:b,s:b,s:s,s:b,s:o,s:s}", "NetworkMode",
                                  cfg->network[0] ? cfg->network : "bridge", "AutoRemove", cfg->auto_remove, "Memory",
                                  (json_int_t)cfg->memory, "MemorySwap", (json_int_t)cfg->memory_swap, "NanoCpus",
                                  (json_int_t)cfg->nano_cpus, "PidsLimit", (json_int_t)cfg->pids_limit,
                                  "ReadonlyRootfs", cfg->read_only, "CapAdd", strv(cfg->cap_add, cfg->n_cap_add),
                                  "CapDrop", strv(cfg->cap_drop, cfg->n_cap_drop), "Seccomp",
                                  cfg->seccomp[0] == '\0'                   ? "default"
                                  : strcmp(cfg->seccomp, "unconfined") == 0 ? "unconfined"
                                                                            : "profile",
                                  "NoNewPrivileges", cfg->no_new_privileges, "Privileged", cfg->privileged,
                                  "RestartPolicy", cfg->restart[0] ? cfg->restart : "no", "Init", cfg->init_fd >= 0,
                                  "Ulimits", ul, "UsernsMode", cfg->userns[0] ? cfg->userns : "host"));
                json_t *devs = json_array();
                for (i = 0; i < cfg->n_devices; i++)
                        json_array_append_new(devs, json_pack("{s:s,s:s,s:s}", "PathOnHost", cfg->devices[i]->path_on_host,
                                                              "PathInContainer", cfg->devices[i]->path,
                                                              "CgroupPermissions", cfg->devices[i]->permissions));
                json_object_set_new(json_object_get(o, "HostConfig"), "Devices", devs);
        }
        (void)x;
        json_decref(ic);
        return o;
}
