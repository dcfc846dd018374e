/* The API socket: what the containr CLI talks to.
 *
 * The listening socket (fd 4) was bound by the monitor as
 * <run_root>/containr.sock, mode 0660 root:<socket group>.  On top of the
 * file mode, every connection's SO_PEERCRED / SO_PEERGROUPS is checked here:
 * root or a member of the socket group, nobody else; a refusal is answered
 * with "permission denied", audited, and the connection closed.  A client
 * that breaks the protocol loses its connection, alone.  Every request is
 * audited in containrd.audit.jsonl.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <seccomp.h>
#include <yaml.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/util.h"
#include "ipc/api.pb-c.h"
#include "ipc/helper.pb-c.h"
#include "ipc/monitor.pb-c.h"
#include "supervisor/api.h"
#include "supervisor/api_registry.h"
#include "supervisor/api_containers.h"
#include "supervisor/api_images.h"
#include "supervisor/api_networks.h"
#include "supervisor/api_snapshots.h"
#include "supervisor/build.h"
#include "supervisor/sup.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

struct sup_client {
        LIST_ENTRY(sup_client) entry;
        uint64_t id;
        struct sup *s;
        struct cnr_peer *peer;
        uid_t uid;
        gid_t gid;
        pid_t pid;
};

static struct sup_client *
client_by_id(struct sup *s, uint64_t id)
{
        struct sup_client *c;

        LIST_FOREACH(c, &s->clients, entry)
                if (c->id == id)
                        return c;
        return NULL;
}

static void
client_free(struct sup_client *c)
{
        char junk[64];

        /* Closing a unix socket with unread input resets the peer, which
         * would then never read our last answer: drain a little first. */
        for (int i = 0; i < 16 && recv(cnr_peer_fd(c->peer), junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
                ;
        LIST_REMOVE(c, entry);
        sup_api_containers_client_gone(c->s, c->id);
        cnr_peer_free(c->peer);
        free(c);
}

static json_t *
client_args(struct sup_client *c)
{
        return json_pack("{s:i,s:i,s:i}", "client_uid", (int)c->uid, "client_gid", (int)c->gid, "client_pid",
                         (int)c->pid);
}

static void
audit_req(struct sup_client *c, const char *op, uint32_t reqid, json_t *extra, int code, const char *error,
          uint64_t started)
{
        json_t *args = client_args(c);
        struct cnr_audit a = {.op = op, .reqid = reqid, .args = args, .decision = "allow", .err_code = code,
                              .error = error, .started_us = started};

        if (extra) {
                json_object_update(args, extra);
                json_decref(extra);
        }
        cnr_audit_write(&a);
        json_decref(args);
}

static void
reply(struct sup_client *c, Cnr__Api__Reply *env, uint32_t reqid, const int *fds, size_t nfds)
{
        struct cnr_err *err = NULL;

        if (cnr_peer_send(c->peer, env->msg_case, reqid, &env->base, fds, nfds, &err) < 0) {
                log_warn("reply to client pid %d: %s", (int)c->pid, cnr_err_str(err));
                cnr_err_free(&err);
        }
}

static void
reply_error(struct sup_client *c, uint32_t reqid, int code, const char *msg)
{
        cnr_peer_send_error(c->peer, CNR__API__REPLY__MSG_ERROR, &cnr__api__reply__descriptor, reqid, code, msg);
}

/* ---- for handler modules in other files (api.h) -------------------------- */

struct sup *
sup_client_sup(struct sup_client *c)
{
        return c->s;
}

uint64_t
sup_client_id(struct sup_client *c)
{
        return c->id;
}

struct sup_client *
sup_client_find(struct sup *s, uint64_t id)
{
        return client_by_id(s, id);
}

uid_t
sup_client_uid(struct sup_client *c)
{
        return c->uid;
}

void
sup_client_reply(struct sup_client *c, Cnr__Api__Reply *env, uint32_t reqid, const int *fds, size_t nfds)
{
        reply(c, env, reqid, fds, nfds);
}

void
sup_client_error(struct sup_client *c, uint32_t reqid, int code, const char *msg)
{
        reply_error(c, reqid, code, msg);
}

void
sup_client_audit(struct sup_client *c, const char *op, uint32_t reqid, json_t *extra, int code, const char *error,
                 uint64_t started_us)
{
        audit_req(c, op, reqid, extra, code, error, started_us);
}

void
sup_client_fail(struct sup_client *c, uint32_t reqid, const char *op, json_t *args, struct cnr_err *err,
                uint64_t started_us)
{
        reply_error(c, reqid, err->code ? err->code : EIO, cnr_err_str(err));
        audit_req(c, op, reqid, args, err->code, cnr_err_str(err), started_us);
}

int
sup_client_json_memfd(json_t *j, const char *memfd_name, struct cnr_err **err)
{
        _cleanup_free_ char *dump = json_dumps(j, JSON_INDENT(2));
        _cleanup_close_ int fd = -1;

        if (dump == NULL)
                return cnr_errf(err, ENOMEM, "encode JSON");
        fd = memfd_create(memfd_name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return cnr_errf(err, errno, "memfd_create");
        if (cnr_write_all(fd, dump, strlen(dump)) < 0 || cnr_write_all(fd, "\n", 1) < 0)
                return cnr_errf(err, errno, "write memfd");
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return cnr_errf(err, errno, "seal memfd");
        if (lseek(fd, 0, SEEK_SET) < 0)
                return cnr_errf(err, errno, "rewind memfd");
        return steal_fd(&fd);
}

/* ---- hello, version ------------------------------------------------------ */

static void
on_hello(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__Request *req = (Cnr__Api__Request *)m;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Hello hi = CNR__HELLO__INIT;

        if (req->hello->protocol != CNR_IPC_PROTOCOL) {
                _cleanup_free_ char *msg = xasprintf("protocol %u is not supported (containrd speaks %u)",
                                                     req->hello->protocol, CNR_IPC_PROTOCOL);
                reply_error(c, f->reqid, EPROTONOSUPPORT, msg);
                return;
        }
        cnr_peer_set_hello(p);
        hi.protocol = CNR_IPC_PROTOCOL;
        hi.name = "containrd";
        hi.pid = getpid();
        hi.version = PACKAGE_VERSION;
        env.msg_case = CNR__API__REPLY__MSG_HELLO;
        env.hello = &hi;
        reply(c, &env, f->reqid, NULL, 0);
}

static void
on_version(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__VersionReply v = CNR__API__VERSION_REPLY__INIT;
        const struct scmp_version *sv = seccomp_version();
        struct utsname un;
        char *libs[5];
        uint64_t t0 = cnr_now_us();

        uname(&un);
        libs[0] = xasprintf("libevent %s", event_get_version());
        libs[1] = xasprintf("protobuf-c %s", protobuf_c_version());
        libs[2] = xasprintf("libseccomp %u.%u.%u", sv->major, sv->minor, sv->micro);
        libs[3] = xasprintf("jansson %s", jansson_version_str());
        libs[4] = xasprintf("libyaml %s", yaml_get_version_string());
        v.version = PACKAGE_VERSION;
        v.protocol = CNR_IPC_PROTOCOL;
        v.kernel = un.release;
        v.n_libraries = CNR_ARRAY_LEN(libs);
        v.libraries = libs;
        env.msg_case = CNR__API__REPLY__MSG_VERSION;
        env.version = &v;
        reply(c, &env, f->reqid, NULL, 0);
        for (size_t i = 0; i < CNR_ARRAY_LEN(libs); i++)
                free(libs[i]);
        audit_req(c, "version", f->reqid, NULL, 0, NULL, t0);
}

/* ---- info ---------------------------------------------------------------- */

static void
fill_proc(Cnr__Api__ProcessInfo *pi, const char *name, const char *role, pid_t pid, unsigned restarts,
          const char *state)
{
        struct cnr_procinfo info;

        pi->name = xstrdup(name);
        pi->role = xstrdup(role);
        pi->pid = pid;
        pi->restarts = restarts;
        pi->state = xstrdup(state);
        pi->cap_eff = xstrdup("");
        if (pid > 0 && cnr_procinfo_read(pid, &info) == 0) {
                _cleanup_free_ char *names = cnr_caps_to_names(info.cap_eff);
                char *save = NULL, *tok;

                pi->uid = info.uid;
                pi->gid = info.gid;
                free(pi->cap_eff);
                pi->cap_eff = xasprintf("%016llx", info.cap_eff);
                pi->seccomp = info.seccomp;
                pi->no_new_privs = info.no_new_privs;
                pi->uptime_ms = info.uptime_ms;
                for (tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                        pi->caps = xrealloc(pi->caps, (pi->n_caps + 1) * sizeof(char *));
                        pi->caps[pi->n_caps++] = xstrdup(tok);
                }
        }
}

static void
free_proc(Cnr__Api__ProcessInfo *pi)
{
        free(pi->name);
        free(pi->role);
        free(pi->state);
        free(pi->cap_eff);
        for (size_t i = 0; i < pi->n_caps; i++)
                free(pi->caps[i]);
        free(pi->caps);
}

static void
on_info(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = c->s;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__InfoReply ir = CNR__API__INFO_REPLY__INIT;
        Cnr__Api__ProcessInfo procs[CNR_HELPER_COUNT + 2];
        Cnr__Api__ProcessInfo *pp[CNR_HELPER_COUNT + 2];
        struct utsname un;
        size_t n = 0;
        uint64_t t0 = cnr_now_us();

        for (size_t i = 0; i < CNR_ARRAY_LEN(procs); i++) {
                cnr__api__process_info__init(&procs[i]);
                pp[i] = &procs[i];
        }
        fill_proc(&procs[n++], "monitor", "root monitor: spawns, signals and reaps every other process",
                  s->monitor_pid, 0, "running");
        fill_proc(&procs[n++], "supervisor", "state, API, scheduling (unprivileged)", getpid(), s->restarts,
                  "running");
        for (int i = 0; i < CNR_HELPER_COUNT; i++) {
                struct sup_helper *h = &s->h[i];
                fill_proc(&procs[n++], cnr_helpers[i].name, cnr_helpers[i].role, h->pid, h->restarts,
                          h->pid == 0 ? "restarting" : h->hello ? "running" : "starting");
        }
        uname(&un);
        ir.version = PACKAGE_VERSION;
        ir.root = s->d->cfg.root;
        ir.run_root = s->d->cfg.run_root;
        ir.log_dir = s->d->cfg.log_dir;
        ir.kernel = un.release;
        ir.n_processes = n;
        ir.processes = pp;
        env.msg_case = CNR__API__REPLY__MSG_INFO;
        env.info = &ir;
        reply(c, &env, f->reqid, NULL, 0);
        for (size_t i = 0; i < n; i++)
                free_proc(&procs[i]);
        audit_req(c, "info", f->reqid, NULL, 0, NULL, t0);
}

/* ---- system audit -------------------------------------------------------- */

struct pending_req {
        struct sup *s;
        uint64_t client;
        uint32_t reqid;
        uint64_t started;
        char *name;
};

static void
on_audit_opened(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, struct cnr_err *err, void *arg)
{
        struct pending_req *pr = arg;
        struct sup_client *c = client_by_id(pr->s, pr->client);
        Cnr__Mon__FromMonitor *env = (Cnr__Mon__FromMonitor *)m;
        _cleanup_free_ char *msg = NULL;
        int code = 0;

        if (c == NULL)
                goto out; /* the client left; the fd is closed with the frame */
        if (err != NULL) {
                code = err->code;
                msg = xstrdup(cnr_err_str(err));
        } else if (env->msg_case == CNR__MON__FROM_MONITOR__MSG_ERROR) {
                code = env->error->errno_code;
                msg = xasprintf("audit log `%s`: %s", pr->name, env->error->message);
        }
        if (msg) {
                reply_error(c, pr->reqid, code, msg);
        } else {
                Cnr__Api__Reply r = CNR__API__REPLY__INIT;
                Cnr__Api__SystemAuditReply ar = CNR__API__SYSTEM_AUDIT_REPLY__INIT;
                _cleanup_free_ char *path = xasprintf("%s/%s.audit.jsonl", pr->s->d->cfg.log_dir, pr->name);

                ar.path = path;
                r.msg_case = CNR__API__REPLY__MSG_SYSTEM_AUDIT;
                r.system_audit = &ar;
                reply(c, &r, pr->reqid, &f->fds[0], 1);
        }
        audit_req(c, "system_audit", pr->reqid, json_pack("{s:s}", "helper", pr->name), code, msg, pr->started);
out:
        free(pr->name);
        free(pr);
}

static void
on_system_audit(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__Request *req = (Cnr__Api__Request *)m;
        const char *name = req->system_audit->helper[0] ? req->system_audit->helper : "containrd";
        Cnr__Mon__ToMonitor env = CNR__MON__TO_MONITOR__INIT;
        Cnr__Mon__OpenAudit oa = CNR__MON__OPEN_AUDIT__INIT;
        struct cnr_err *err = NULL;
        struct pending_req *pr;

        if (cnr_helper_lookup(name) < 0 && strcmp(name, "containrd") != 0 && strcmp(name, "monitor") != 0) {
                _cleanup_free_ char *msg = xasprintf(
                        "unknown audit log `%s` (one of containrd, monitor, mountd, netd, snapd, buildd, crid)", name);
                reply_error(c, f->reqid, EINVAL, msg);
                audit_req(c, "system_audit", f->reqid, json_pack("{s:s}", "helper", name), EINVAL, msg, 0);
                return;
        }
        pr = xcalloc(1, sizeof(*pr));
        pr->s = c->s;
        pr->client = c->id;
        pr->reqid = f->reqid;
        pr->started = cnr_now_us();
        pr->name = xstrdup(name);
        oa.name = pr->name;
        env.op_case = CNR__MON__TO_MONITOR__OP_OPEN_AUDIT;
        env.open_audit = &oa;
        if (sup_monitor_request(c->s, env.op_case, &env.base, on_audit_opened, pr, &err) < 0) {
                reply_error(c, f->reqid, err->code, cnr_err_str(err));
                cnr_err_free(&err);
                free(pr->name);
                free(pr);
        }
}

/* ---- system check: one real operation through every helper --------------- */

struct check {
        struct sup *s;
        uint64_t client;
        uint32_t reqid;
        int outstanding;
        Cnr__Api__CheckResult res[CNR_HELPER_COUNT];
        uint64_t t0[CNR_HELPER_COUNT];
        char probe[64];
};

static void check_done(struct check *ck);

static int
helper_of_peer_arg(struct cnr_peer *p)
{
        return (int)(intptr_t)cnr_peer_arg(p);
}

static void
check_result_release(struct check *ck)
{
        if (--ck->outstanding == 0)
                check_done(ck);
}

static void
check_result(struct check *ck, int id, bool ok, char *detail)
{
        ck->res[id].ok = ok;
        ck->res[id].detail = detail;
        ck->res[id].duration_us = cnr_now_us() - ck->t0[id];
        if (--ck->outstanding == 0)
                check_done(ck);
}

static char *
reply_failure(ProtobufCMessage *m, struct cnr_err *err, int want_case)
{
        Cnr__Helper__FromHelper *env = (Cnr__Helper__FromHelper *)m;

        if (err)
                return xstrdup(cnr_err_str(err));
        if (env->msg_case == CNR__HELPER__FROM_HELPER__MSG_ERROR)
                return xasprintf("%s (errno %d)", env->error->message, env->error->errno_code);
        if ((int)env->msg_case != want_case)
                return xasprintf("unexpected reply type %d", (int)env->msg_case);
        return NULL;
}

static void
on_check_simple(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, struct cnr_err *err, void *arg)
{
        struct check *ck = arg;
        int id = helper_of_peer_arg(p);
        char *fail;

        switch (id) {
        case CNR_HELPER_MOUNTD: {
                struct statfs sf;
                fail = reply_failure(m, err, CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD);
                if (fail)
                        break;
                if (fstatfs(f->fds[0], &sf) < 0)
                        fail = xasprintf("fstatfs on the returned fd: %s", strerror(errno));
                else if (sf.f_type != TMPFS_MAGIC)
                        fail = xasprintf("returned fd is not a tmpfs (f_type %#lx)", (unsigned long)sf.f_type);
                else
                        check_result(ck, id, true, xstrdup("detached tmpfs mount fd received"));
                break;
        }
        case CNR_HELPER_NETD: {
                struct statfs sf;
                fail = reply_failure(m, err, CNR__HELPER__FROM_HELPER__MSG_NETNS);
                if (fail)
                        break;
                if (fstatfs(f->fds[0], &sf) < 0 || sf.f_type != NSFS_MAGIC)
                        fail = xstrdup("returned fd is not a namespace");
                else
                        check_result(ck, id, true, xstrdup("new network namespace fd received"));
                break;
        }
        default: {
                fail = reply_failure(m, err, CNR__HELPER__FROM_HELPER__MSG_PONG);
                if (fail)
                        break;
                Cnr__Helper__FromHelper *env = (Cnr__Helper__FromHelper *)m;
                check_result(ck, id, true,
                             xasprintf("pong (up %llu ms, %llu requests served)",
                                       (unsigned long long)env->pong->uptime_ms,
                                       (unsigned long long)env->pong->served));
                break;
        }
        }
        if (fail)
                check_result(ck, id, false, fail);
}

static void
on_check_rmdir(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, struct cnr_err *err, void *arg)
{
        struct check *ck = arg;
        char *fail = reply_failure(m, err, CNR__HELPER__FROM_HELPER__MSG_DONE);

        if (fail)
                check_result(ck, CNR_HELPER_SNAPD, false, fail);
        else
                check_result(ck, CNR_HELPER_SNAPD, true,
                             xasprintf("created and removed `%s` under the snapshot root", ck->probe));
}

static void
on_check_mkdir(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, struct cnr_err *err, void *arg)
{
        struct check *ck = arg;
        char *fail = reply_failure(m, err, CNR__HELPER__FROM_HELPER__MSG_DONE);
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__SnapRmdir rm = CNR__HELPER__SNAP_RMDIR__INIT;
        struct cnr_err *e2 = NULL;

        if (fail) {
                check_result(ck, CNR_HELPER_SNAPD, false, fail);
                return;
        }
        rm.name = ck->probe;
        env.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_RMDIR;
        env.snap_rmdir = &rm;
        if (sup_helper_request(ck->s, CNR_HELPER_SNAPD, env.op_case, &env.base, on_check_rmdir, ck, &e2) < 0) {
                check_result(ck, CNR_HELPER_SNAPD, false, xstrdup(cnr_err_str(e2)));
                cnr_err_free(&e2);
        }
}

static void
check_done(struct check *ck)
{
        struct sup_client *c = client_by_id(ck->s, ck->client);
        Cnr__Api__CheckResult *rp[CNR_HELPER_COUNT];
        bool all = true;

        for (int i = 0; i < CNR_HELPER_COUNT; i++) {
                rp[i] = &ck->res[i];
                all = all && ck->res[i].ok;
        }
        if (c) {
                Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                Cnr__Api__SystemCheckReply cr = CNR__API__SYSTEM_CHECK_REPLY__INIT;

                cr.n_results = CNR_HELPER_COUNT;
                cr.results = rp;
                env.msg_case = CNR__API__REPLY__MSG_SYSTEM_CHECK;
                env.system_check = &cr;
                reply(c, &env, ck->reqid, NULL, 0);
                audit_req(c, "system_check", ck->reqid, NULL, all ? 0 : EIO, all ? NULL : "a helper check failed",
                          0);
        }
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                free(ck->res[i].detail);
        free(ck);
}

static void
on_system_check(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        static unsigned seq;
        struct sup_client *c = arg;
        struct check *ck = xcalloc(1, sizeof(*ck));

        ck->s = c->s;
        ck->client = c->id;
        ck->reqid = f->reqid;
        ck->outstanding = CNR_HELPER_COUNT + 1; /* +1: held until every request is sent */
        snprintf(ck->probe, sizeof(ck->probe), "check-%d-%u", (int)getpid(), ++seq);
        for (int i = 0; i < CNR_HELPER_COUNT; i++) {
                Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
                Cnr__Helper__Ping ping = CNR__HELPER__PING__INIT;
                Cnr__Helper__MountTmpfs mt = CNR__HELPER__MOUNT_TMPFS__INIT;
                Cnr__Helper__SnapMkdir mk = CNR__HELPER__SNAP_MKDIR__INIT;
                Cnr__Helper__NetnsCreate nc = CNR__HELPER__NETNS_CREATE__INIT;
                struct cnr_err *err = NULL;
                cnr_reply_cb cb = on_check_simple;

                cnr__api__check_result__init(&ck->res[i]);
                ck->res[i].helper = (char *)cnr_helpers[i].name;
                ck->t0[i] = cnr_now_us();
                switch (i) {
                case CNR_HELPER_MOUNTD:
                        mt.size_bytes = 1 << 20;
                        mt.mode = 0755;
                        mt.nosuid = mt.nodev = mt.noexec = true;
                        env.op_case = CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS;
                        env.mount_tmpfs = &mt;
                        ck->res[i].op = "mount_tmpfs";
                        break;
                case CNR_HELPER_SNAPD:
                        mk.name = ck->probe;
                        mk.mode = 0700;
                        env.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR;
                        env.snap_mkdir = &mk;
                        ck->res[i].op = "snap_mkdir+snap_rmdir";
                        cb = on_check_mkdir;
                        break;
                case CNR_HELPER_NETD:
                        env.op_case = CNR__HELPER__TO_HELPER__OP_NETNS_CREATE;
                        env.netns_create = &nc;
                        ck->res[i].op = "netns_create";
                        break;
                default:
                        env.op_case = CNR__HELPER__TO_HELPER__OP_PING;
                        env.ping = &ping;
                        ck->res[i].op = "ping";
                        break;
                }
                if (sup_helper_request(c->s, i, env.op_case, &env.base, cb, ck, &err) < 0) {
                        check_result(ck, i, false, xstrdup(cnr_err_str(err)));
                        cnr_err_free(&err);
                }
        }
        check_result_release(ck);
}

/* ---- connections -------------------------------------------------------- */

static const struct cnr_permit api_permits[] = {
        {CNR__API__REQUEST__OP_HELLO, CNR_PERMIT_HELLO, 0, "hello", on_hello},
        {CNR__API__REQUEST__OP_VERSION, 0, 0, "version", on_version},
        {CNR__API__REQUEST__OP_INFO, 0, 0, "info", on_info},
        {CNR__API__REQUEST__OP_SYSTEM_AUDIT, 0, 0, "system_audit", on_system_audit},
        {CNR__API__REQUEST__OP_SYSTEM_CHECK, 0, 0, "system_check", on_system_check},
        {CNR__API__REQUEST__OP_IMAGE_LIST, 0, 0, "image_list", sup_api_image_list},
        {CNR__API__REQUEST__OP_IMAGE_INSPECT, 0, 0, "image_inspect", sup_api_image_inspect},
        {CNR__API__REQUEST__OP_IMAGE_REMOVE, 0, 0, "image_remove", sup_api_image_remove},
        {CNR__API__REQUEST__OP_IMAGE_TAG, 0, 0, "image_tag", sup_api_image_tag},
        {CNR__API__REQUEST__OP_IMAGE_PRUNE, 0, 0, "image_prune", sup_api_image_prune},
        {CNR__API__REQUEST__OP_SYSTEM_PRUNE, 0, 0, "system_prune", sup_api_system_prune},
        {CNR__API__REQUEST__OP_IMAGE_SAVE, 0, 1, "image_save", sup_api_image_save},
        {CNR__API__REQUEST__OP_IMAGE_LOAD, 0, 1, "image_load", sup_api_image_load},
        {CNR__API__REQUEST__OP_IMAGE_IMPORT, 0, 1, "image_import", sup_api_image_import},
        {CNR__API__REQUEST__OP_BUILD_CHECK, 0, 1, "build_check", sup_api_build_check},
        {CNR__API__REQUEST__OP_PULL, 0, 0, "pull", sup_api_pull},
        {CNR__API__REQUEST__OP_PUSH, 0, 0, "push", sup_api_push},
        {CNR__API__REQUEST__OP_REGISTRY_LOGIN, 0, 0, "registry_login", sup_api_registry_login},
        {CNR__API__REQUEST__OP_NETWORK_CREATE, 0, 0, "network_create", sup_api_network_create},
        {CNR__API__REQUEST__OP_NETWORK_LIST, 0, 0, "network_list", sup_api_network_list},
        {CNR__API__REQUEST__OP_NETWORK_INSPECT, 0, 0, "network_inspect", sup_api_network_inspect},
        {CNR__API__REQUEST__OP_NETWORK_REMOVE, 0, 0, "network_remove", sup_api_network_remove},
        {CNR__API__REQUEST__OP_NETWORK_CONNECT, 0, 0, "network_connect", sup_api_network_connect},
        {CNR__API__REQUEST__OP_NETWORK_DISCONNECT, 0, 0, "network_disconnect", sup_api_network_disconnect},
        {CNR__API__REQUEST__OP_SNAPSHOT_LIST, 0, 0, "snapshot_list", sup_api_snapshot_list},
        {CNR__API__REQUEST__OP_SNAPSHOT_INSPECT, 0, 0, "snapshot_inspect", sup_api_snapshot_inspect},
        {CNR__API__REQUEST__OP_SNAPSHOT_REMOVE, 0, 0, "snapshot_remove", sup_api_snapshot_remove},
        {CNR__API__REQUEST__OP_SNAPSHOT_DIFF, 0, 1, "snapshot_diff", sup_api_snapshot_diff},
        {CNR__API__REQUEST__OP_SNAPSHOT_EXPORT, 0, 1, "snapshot_export", sup_api_snapshot_export},
        {CNR__API__REQUEST__OP_SNAPSHOT_IMPORT, 0, 1, "snapshot_import", sup_api_snapshot_import},
        {CNR__API__REQUEST__OP_SNAPSHOT_VERIFY, 0, 0, "snapshot_verify", sup_api_snapshot_verify},
        {CNR__API__REQUEST__OP_STAGE_FD, 0, 1, "stage_fd", sup_api_stage_fd},
        {CNR__API__REQUEST__OP_CONTAINER_CREATE, 0, 0, "container_create", sup_api_container_create},
        {CNR__API__REQUEST__OP_CONTAINER_START, 0, 0, "container_start", sup_api_container_start},
        {CNR__API__REQUEST__OP_CONTAINER_STOP, 0, 0, "container_stop", sup_api_container_stop},
        {CNR__API__REQUEST__OP_CONTAINER_KILL, 0, 0, "container_kill", sup_api_container_kill},
        {CNR__API__REQUEST__OP_CONTAINER_RESTART, 0, 0, "container_restart", sup_api_container_restart},
        {CNR__API__REQUEST__OP_CONTAINER_REMOVE, 0, 0, "container_remove", sup_api_container_remove},
        {CNR__API__REQUEST__OP_CONTAINER_WAIT, 0, 0, "container_wait", sup_api_container_wait},
        {CNR__API__REQUEST__OP_CONTAINER_LIST, 0, 0, "container_list", sup_api_container_list},
        {CNR__API__REQUEST__OP_CONTAINER_INSPECT, 0, 0, "container_inspect", sup_api_container_inspect},
        {CNR__API__REQUEST__OP_CONTAINER_LOGS, 0, 0, "container_logs", sup_api_container_logs},
        {CNR__API__REQUEST__OP_CONTAINER_ATTACH, 0, 0, "container_attach", sup_api_container_attach},
        {CNR__API__REQUEST__OP_CONTAINER_EXEC, 0, 3, "container_exec", sup_api_container_exec},
        {CNR__API__REQUEST__OP_CONTAINER_EXEC_TTY, 0, 0, "container_exec_tty", sup_api_container_exec_tty},
        {CNR__API__REQUEST__OP_CONTAINER_EXEC_WAIT, 0, 0, "container_exec_wait", sup_api_container_exec_wait},
        {CNR__API__REQUEST__OP_CONTAINER_RESIZE, 0, 0, "container_resize", sup_api_container_resize},
        {CNR__API__REQUEST__OP_CONTAINER_TOP, 0, 0, "container_top", sup_api_container_top},
        {CNR__API__REQUEST__OP_CONTAINER_STATS, 0, 0, "container_stats", sup_api_container_stats},
        {CNR__API__REQUEST__OP_VOLUME_CREATE, 0, 0, "volume_create", sup_api_volume_create},
        {CNR__API__REQUEST__OP_VOLUME_LIST, 0, 0, "volume_list", sup_api_volume_list},
        {CNR__API__REQUEST__OP_VOLUME_REMOVE, 0, 0, "volume_remove", sup_api_volume_remove},
        {CNR__API__REQUEST__OP_VOLUME_INSPECT, 0, 0, "volume_inspect", sup_api_volume_inspect},
        {CNR__API__REQUEST__OP_VOLUME_PRUNE, 0, 0, "volume_prune", sup_api_volume_prune},
};

static void
on_client_close(struct cnr_peer *p, struct cnr_err *err, void *arg)
{
        struct sup_client *c = arg;

        if (err != NULL) {
                /* Tell it why, then drop it; other clients carry on.  The
                 * peer is closed for sending: write the frame directly. */
                Cnr__Api__Reply env = CNR__API__REPLY__INIT;
                Cnr__Error e = CNR__ERROR__INIT;

                e.errno_code = err->code;
                e.message = (char *)cnr_err_str(err);
                env.msg_case = CNR__API__REPLY__MSG_ERROR;
                env.error = &e;
                cnr_frame_send(cnr_peer_fd(p), env.msg_case, 0, &env.base, NULL, 0, CNR_IPC_API_CAP, NULL);
                audit_req(c, "client_protocol_violation", 0, NULL, err->code, cnr_err_str(err), 0);
                log_warn("dropping client pid %d uid %d: %s", (int)c->pid, (int)c->uid, cnr_err_str(err));
        }
        client_free(c);
}

static void
on_refused_hello(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        _cleanup_free_ char *msg = xasprintf(
                "permission denied: uid %u is neither root nor a member of the containr socket group (gid %u)",
                (unsigned)c->uid, (unsigned)c->s->d->socket_gid);

        reply_error(c, f->reqid, EACCES, msg);
        client_free(c);
}

static void
on_refused_close(struct cnr_peer *p, struct cnr_err *err, void *arg)
{
        client_free(arg);
}

static const struct cnr_permit refused_permits[] = {
        {CNR__API__REQUEST__OP_HELLO, CNR_PERMIT_HELLO, 0, "hello", on_refused_hello},
};
static const struct cnr_peer_ops refused_ops = {&cnr__api__request__descriptor, refused_permits,
                                                CNR_ARRAY_LEN(refused_permits), CNR_IPC_API_CAP,
                                                on_refused_close};

static bool
peer_allowed(struct sup *s, int fd, struct ucred *cr)
{
        gid_t groups[256];
        socklen_t len = sizeof(groups);

        if (cr->uid == 0 || cr->gid == s->d->socket_gid)
                return true;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
                for (size_t i = 0; i < len / sizeof(gid_t); i++)
                        if (groups[i] == s->d->socket_gid)
                                return true;
        }
        return false;
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
        static const struct cnr_peer_ops ops = {&cnr__api__request__descriptor, api_permits,
                                                CNR_ARRAY_LEN(api_permits), CNR_IPC_API_CAP, on_client_close};
        struct sup *s = arg;
        struct ucred cr;
        socklen_t len = sizeof(cr);
        struct sup_client *c;
        int fd;

        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
                return;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
                close(fd);
                return;
        }
        c = xcalloc(1, sizeof(*c));
        c->id = s->next_client_id++;
        c->s = s;
        c->uid = cr.uid;
        c->gid = cr.gid;
        c->pid = cr.pid;
        LIST_INSERT_HEAD(&s->clients, c, entry);
        if (!peer_allowed(s, fd, &cr)) {
                /* Answer its hello with the refusal, so that it reads the
                 * reason instead of a reset connection. */
                cnr_audit_event("api_refused", "deny",
                                json_pack("{s:i,s:i,s:i}", "client_uid", (int)cr.uid, "client_gid", (int)cr.gid,
                                          "client_pid", (int)cr.pid),
                                EACCES, "not root and not in the socket group");
                log_warn("refused API client pid %d uid %u: not root and not in the socket group", (int)cr.pid,
                         (unsigned)cr.uid);
                c->peer = cnr_peer_new(s->base, fd, "refused client", &refused_ops, c);
                return;
        }
        c->peer = cnr_peer_new(s->base, fd, "client", &ops, c);
}
void
sup_api_start(struct sup *s)
{
        s->accept_ev = event_new(s->base, CNR_SUP_FD_API, EV_READ | EV_PERSIST, on_accept, s);
        event_add(s->accept_ev, NULL);
}

void
sup_api_stop(struct sup *s)
{
        struct sup_client *c;

        if (s->accept_ev)
                event_free(s->accept_ev);
        s->accept_ev = NULL;
        while ((c = LIST_FIRST(&s->clients)) != NULL)
                client_free(c);
}
