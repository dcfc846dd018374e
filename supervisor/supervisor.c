/* The supervisor: containrd's unprivileged half.
 *
 * Forked by the monitor onto fds 3 (monitor channel), 4 (the listening API
 * socket) and 5 (its audit log).  Before it reads anything it drops to its
 * own user with no capabilities, sets no_new_privs and loads its seccomp
 * filter.  Then one libevent loop serves: the monitor channel (helpers
 * coming up and going down), each helper's IPC and log channels, and the
 * CLI's API socket (api.c).
 *
 * Trust: helpers are less trusted than the supervisor.  A helper frame that
 * breaks the protocol gets that helper killed through the monitor, audited,
 * and restarted; the supervisor itself never exits on bad input.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/util.h"
#include "ipc/common.pb-c.h"
#include "ipc/helper.pb-c.h"
#include "ipc/monitor.pb-c.h"
#include "supervisor/networks.h"
#include "supervisor/containers.h"
#include "supervisor/sup.h"

#define HELPER_TIMEOUT_MS 30000

static struct sup sup;

/* Beyond cnr_base_syscalls: accepting CLI connections, reading /proc for
 * `info`, fstatfs on fds returned by helpers. */
static const char *const sup_syscalls[] = {
        "accept4", "getsockname", "getpeername", "fstatfs", "statfs", "getdents64", "sysinfo", "access",
        "faccessat", "faccessat2", "readlink", "readlinkat", "ioctl", "umask",
        /* SQLite and the content store, under <root> only (it owns nothing else) */
        "fsync", "fdatasync", "ftruncate", "fallocate", "unlink", "unlinkat", "rename", "renameat", "renameat2",
        "mkdir", "mkdirat", "fchmod", "fchmodat", "fchown", "getcwd", "flock", "stat", "lstat", "fstatat64",
        /* image save/load/import: sealed memfd answers, archives on passed fds */
        "memfd_create",
        /* the registry client (libcurl): TCP sockets; name resolution through
         * getaddrinfo (files under /etc, DNS over UDP: sendmmsg/recvfrom) in
         * libcurl's resolver thread (clone/clone3 with thread flags,
         * set_robust_list, rseq, already allowed) */
        "socket", "connect", "setsockopt", "bind", "socketpair", "sendmmsg", "recvmmsg", "clone", "clone3",
        "sched_getaffinity", "getrlimit", "prlimit64", "mprotect",
        /* containers: users read under the rootfs fd (openat2
         * RESOLVE_IN_ROOT), the boot id, /proc for top and stats */
        "openat2", "sysinfo",
};

static void
kill_helper(struct sup *s, int id, const char *reason)
{
        Cnr__Mon__ToMonitor env = CNR__MON__TO_MONITOR__INIT;
        Cnr__Mon__KillHelper k = CNR__MON__KILL_HELPER__INIT;
        struct sup_helper *h = &s->h[id];
        struct cnr_err *err = NULL;

        cnr_audit_event("kill_helper", "allow",
                        json_pack("{s:s,s:i,s:s}", "name", cnr_helpers[id].name, "pid", (int)h->pid, "reason",
                                  reason),
                        0, NULL);
        log_error("helper %s (pid %d): %s; asking the monitor to kill it", cnr_helpers[id].name, (int)h->pid,
                  reason);
        k.name = (char *)cnr_helpers[id].name;
        k.reason = (char *)reason;
        env.op_case = CNR__MON__TO_MONITOR__OP_KILL_HELPER;
        env.kill_helper = &k;
        if (s->mon && cnr_peer_send(s->mon, env.op_case, 0, &env.base, NULL, 0, &err) < 0) {
                log_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
        }
        /* Stop listening to it now: nothing more it says is believed. */
        if (h->peer) {
                _cleanup_free_ char *why = xasprintf("helper killed: %s", reason);
                cnr_peer_fail_pending(h->peer, EPROTO, why);
                cnr_peer_free(h->peer);
                h->peer = NULL;
        }
        if (h->log) {
                cnr_peer_free(h->log);
                h->log = NULL;
        }
        h->hello = false;
}

static int
helper_of(struct cnr_peer *p)
{
        return (int)(intptr_t)cnr_peer_arg(p);
}

/* ---- helper channels --------------------------------------------------- */

static void
maybe_ready(struct sup *s)
{
        Cnr__Mon__ToMonitor env = CNR__MON__TO_MONITOR__INIT;
        Cnr__Mon__Ready r = CNR__MON__READY__INIT;
        struct cnr_err *err = NULL;

        if (s->ready_sent)
                return;
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                if (!s->h[i].hello)
                        return;
        s->ready_sent = true;
        log_info("all helpers up; serving on %s", s->d->sock_path);
        sup_containers_ready(s);
        env.op_case = CNR__MON__TO_MONITOR__OP_READY;
        env.ready = &r;
        if (cnr_peer_send(s->mon, env.op_case, 0, &env.base, NULL, 0, &err) < 0) {
                log_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
        }
}

static void
on_helper_hello(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        Cnr__Helper__FromHelper *env = (Cnr__Helper__FromHelper *)m;
        struct sup *s = &sup;
        int id = helper_of(p);
        struct sup_helper *h = &s->h[id];
        Cnr__Hello *hi = env->hello;

        if (hi->protocol != CNR_IPC_PROTOCOL || strcmp(hi->name, cnr_helpers[id].name) != 0 || hi->pid != h->pid) {
                _cleanup_free_ char *why = xasprintf("bad HELLO (protocol %u, name `%s`, pid %d)", hi->protocol,
                                                     hi->name, hi->pid);
                kill_helper(s, id, why);
                return;
        }
        cnr_peer_set_hello(p);
        h->hello = true;
        log_info("helper %s up (pid %d, version %s)", hi->name, hi->pid, hi->version);
        sup_snapshots_helper_up(s, id);
        if (id == CNR_HELPER_NETD)
                sup_networks_helper_up(s);
        maybe_ready(s);
}

static const struct cnr_permit helper_permits[] = {
        {CNR__HELPER__FROM_HELPER__MSG_HELLO, CNR_PERMIT_HELLO, 0, "hello", on_helper_hello},
        {CNR__HELPER__FROM_HELPER__MSG_ERROR, CNR_PERMIT_REPLY, 0, "error", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_PONG, CNR_PERMIT_REPLY, 0, "pong", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD, CNR_PERMIT_REPLY, 1, "mount_fd", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_DONE, CNR_PERMIT_REPLY, 0, "done", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_NETNS, CNR_PERMIT_REPLY, 1, "netns", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_BUILD_CHECK, CNR_PERMIT_REPLY, 1, "build_check", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_USAGE, CNR_PERMIT_REPLY, 0, "usage", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_APPLIED, CNR_PERMIT_REPLY, 0, "applied", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_LISTING, CNR_PERMIT_REPLY, 1, "listing", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_DIFFED, CNR_PERMIT_REPLY, 0, "diffed", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_CNI_RESULT, CNR_PERMIT_REPLY, 0, "cni_result", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_ROUTES, CNR_PERMIT_REPLY, 0, "routes", NULL},
};

static void
on_helper_close(struct cnr_peer *p, struct cnr_err *err, void *arg)
{
        struct sup *s = &sup;
        int id = helper_of(p);
        struct sup_helper *h = &s->h[id];

        if (err != NULL) {
                cnr_audit_event("helper_protocol_violation", "deny",
                                json_pack("{s:s,s:i}", "name", cnr_helpers[id].name, "pid", (int)h->pid),
                                err->code, cnr_err_str(err));
                kill_helper(s, id, cnr_err_str(err));
                return;
        }
        /* EOF: it died.  The monitor's HelperDown follows and fails the
         * pending requests with the cause (signal, exit code); until then
         * the closed peer only holds them. */
        h->hello = false;
}

static void
on_log_record(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        Cnr__LogChannel *env = (Cnr__LogChannel *)m;
        int id = helper_of(p);
        _cleanup_free_ char *msg = xstrdup(env->record->message);
        unsigned lvl = env->record->level;

        /* A helper must not be able to forge lines in our log. */
        for (char *c = msg; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        *c = '?';
        if (lvl > CNR_LOG_DEBUG)
                lvl = CNR_LOG_DEBUG;
        if (lvl <= (unsigned)sup.d->cfg.log_level)
                cnr_log_relay(cnr_helpers[id].name, (int)sup.h[id].pid, (enum cnr_log_level)lvl, msg);
}

static const struct cnr_permit log_permits[] = {
        {CNR__LOG_CHANNEL__MSG_RECORD, 0, 0, "log", on_log_record},
};

static void
on_log_close(struct cnr_peer *p, struct cnr_err *err, void *arg)
{
        struct sup *s = &sup;
        int id = helper_of(p);

        if (err != NULL) {
                cnr_audit_event("helper_protocol_violation", "deny",
                                json_pack("{s:s,s:s}", "name", cnr_helpers[id].name, "channel", "log"),
                                err->code, cnr_err_str(err));
                kill_helper(s, id, cnr_err_str(err));
                return;
        }
        if (s->h[id].log == p) {
                cnr_peer_free(p);
                s->h[id].log = NULL;
        }
}

int
sup_helper_request(struct sup *s, int id, uint16_t type, const ProtobufCMessage *msg, cnr_reply_cb cb, void *arg,
                   struct cnr_err **err)
{
        struct sup_helper *h = &s->h[id];

        if (h->peer == NULL || !h->hello)
                return cnr_errf(err, EAGAIN, "helper `%s` is not running (it is being restarted)",
                                cnr_helpers[id].name);
        return cnr_peer_request(h->peer, type, msg, NULL, 0, HELPER_TIMEOUT_MS, cb, arg, err);
}

int
sup_helper_request_fds(struct sup *s, int id, uint16_t type, const ProtobufCMessage *msg, const int *fds,
                       size_t nfds, unsigned timeout_ms, cnr_reply_cb cb, void *arg, struct cnr_err **err)
{
        struct sup_helper *h = &s->h[id];

        if (h->peer == NULL || !h->hello)
                return cnr_errf(err, EAGAIN, "helper `%s` is not running (it is being restarted)",
                                cnr_helpers[id].name);
        return cnr_peer_request(h->peer, type, msg, fds, nfds, timeout_ms ? timeout_ms : HELPER_TIMEOUT_MS, cb,
                                arg, err);
}

/* ---- the monitor channel ----------------------------------------------- */

static void
on_helper_up(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        Cnr__Mon__FromMonitor *env = (Cnr__Mon__FromMonitor *)m;
        struct sup *s = &sup;
        int id = cnr_helper_lookup(env->helper_up->name);
        struct sup_helper *h;
        static const struct cnr_peer_ops ipc_ops = {&cnr__helper__from_helper__descriptor, helper_permits,
                                                    CNR_ARRAY_LEN(helper_permits), CNR_IPC_HELPER_CAP,
                                                    on_helper_close};
        static const struct cnr_peer_ops log_ops = {&cnr__log_channel__descriptor, log_permits,
                                                    CNR_ARRAY_LEN(log_permits), CNR_IPC_HELPER_CAP, on_log_close};
        struct cnr_peer *lp;

        if (id < 0) {
                log_error("monitor reported an unknown helper `%s`", env->helper_up->name);
                return;
        }
        h = &s->h[id];
        if (h->peer) {
                cnr_peer_fail_pending(h->peer, ECONNRESET, "replaced by a new instance");
                cnr_peer_free(h->peer);
        }
        if (h->log)
                cnr_peer_free(h->log);
        h->pid = env->helper_up->pid;
        h->restarts = env->helper_up->restarts;
        h->hello = false;
        h->peer = cnr_peer_new(s->base, cnr_frame_take_fd(f, 0), cnr_helpers[id].name, &ipc_ops,
                               (void *)(intptr_t)id);
        h->log = lp = cnr_peer_new(s->base, cnr_frame_take_fd(f, 1), cnr_helpers[id].name, &log_ops,
                                   (void *)(intptr_t)id);
        cnr_peer_set_hello(lp); /* the log channel has no handshake */
        cnr_audit_event(h->restarts ? "helper_restart" : "helper_start", "allow",
                        json_pack("{s:s,s:i,s:i}", "name", cnr_helpers[id].name, "pid", (int)h->pid, "restarts",
                                  (int)h->restarts),
                        0, NULL);
}

static void
on_helper_down(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        Cnr__Mon__FromMonitor *env = (Cnr__Mon__FromMonitor *)m;
        Cnr__Mon__HelperDown *dn = env->helper_down;
        struct sup *s = &sup;
        int id = cnr_helper_lookup(dn->name);
        struct sup_helper *h;
        _cleanup_free_ char *why = NULL;

        if (id < 0)
                return;
        h = &s->h[id];
        if (dn->signal)
                why = xasprintf("helper `%s` (pid %d) was killed by signal %d; restarting in %u ms", dn->name,
                                dn->pid, dn->signal, dn->restart_in_ms);
        else
                why = xasprintf("helper `%s` (pid %d) exited with code %d; restarting in %u ms", dn->name, dn->pid,
                                dn->exit_code, dn->restart_in_ms);
        log_warn("%s", why);
        cnr_audit_event("helper_exit", "allow",
                        json_pack("{s:s,s:i,s:i,s:i,s:i}", "name", dn->name, "pid", dn->pid, "exit_code",
                                  dn->exit_code, "signal", dn->signal, "restart_in_ms", (int)dn->restart_in_ms),
                        0, NULL);
        if (h->peer) {
                /* Requests in flight fail with the cause, not a hang. */
                cnr_peer_fail_pending(h->peer, ECONNRESET, why);
                cnr_peer_free(h->peer);
                h->peer = NULL;
        }
        if (h->log) {
                cnr_peer_free(h->log);
                h->log = NULL;
        }
        h->hello = false;
        h->pid = 0;
}

static void
on_welcome(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        Cnr__Mon__FromMonitor *env = (Cnr__Mon__FromMonitor *)m;

        if (env->welcome->protocol != CNR_IPC_PROTOCOL) {
                log_error("monitor speaks protocol %u, supervisor %u", env->welcome->protocol, CNR_IPC_PROTOCOL);
                exit(1);
        }
        cnr_peer_set_hello(p);
        sup.monitor_pid = env->welcome->monitor_pid;
        sup.restarts = env->welcome->supervisor_restarts;
}

static const struct cnr_permit mon_permits[] = {
        {CNR__MON__FROM_MONITOR__MSG_WELCOME, CNR_PERMIT_HELLO | CNR_PERMIT_REPLY, 0, "welcome", NULL},
        {CNR__MON__FROM_MONITOR__MSG_HELPER_UP, 0, 2, "helper_up", on_helper_up},
        {CNR__MON__FROM_MONITOR__MSG_HELPER_DOWN, 0, 0, "helper_down", on_helper_down},
        {CNR__MON__FROM_MONITOR__MSG_OPENED, CNR_PERMIT_REPLY, 1, "opened", NULL},
        {CNR__MON__FROM_MONITOR__MSG_ERROR, CNR_PERMIT_REPLY, 0, "error", NULL},
        {CNR__MON__FROM_MONITOR__MSG_SHIM_UP, CNR_PERMIT_REPLY, 0, "shim_up", NULL},
        {CNR__MON__FROM_MONITOR__MSG_USERNS, CNR_PERMIT_REPLY, 1, "userns", NULL},
};

static void
on_welcome_reply(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, struct cnr_err *err, void *arg)
{
        if (err != NULL) {
                log_error("monitor handshake: %s", cnr_err_str(err));
                exit(1);
        }
        on_welcome(p, f, m, arg);
}

static void
on_monitor_close(struct cnr_peer *p, struct cnr_err *err, void *arg)
{
        /* Without the monitor nothing can be spawned or reaped: stop. */
        log_error("monitor channel closed%s%s; exiting", err ? ": " : "", err ? cnr_err_str(err) : "");
        exit(err ? 1 : 0);
}

int
sup_monitor_request(struct sup *s, uint16_t type, const ProtobufCMessage *msg, cnr_reply_cb cb, void *arg,
                    struct cnr_err **err)
{
        return cnr_peer_request(s->mon, type, msg, NULL, 0, HELPER_TIMEOUT_MS, cb, arg, err);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
        struct sup *s = arg;

        log_info("signal %d: stopping", (int)sig);
        event_base_loopexit(s->base, NULL);
}

void
cnr_supervisor_main(struct cnr_daemon *d)
{
        static const struct cnr_peer_ops mon_ops = {&cnr__mon__from_monitor__descriptor, mon_permits,
                                                    CNR_ARRAY_LEN(mon_permits), CNR_IPC_HELPER_CAP,
                                                    on_monitor_close};
        struct cnr_err *err = NULL;
        struct sup *s = &sup;
        struct event *sigterm, *sigint;
        const char **list;
        size_t n = 0;

        cnr_log_init("supervisor", d->cfg.log_level, NULL, NULL);
        cnr_audit_init(CNR_SUP_FD_AUDIT, "containrd");
        s->d = d;
        s->next_client_id = 1;
        LIST_INIT(&s->clients);
        signal(SIGPIPE, SIG_IGN);
        s->base = event_base_new();
        if (s->base == NULL) {
                log_error("event_base_new failed");
                _exit(1);
        }
        /* libcurl and OpenSSL initialise before the filter is in place. */
        if (cnr_reg_global_init(&err) < 0) {
                log_warn("registry client: %s", cnr_err_str(err));
                cnr_err_free(&err);
        }
        /* Privileges go before anything from outside is read. */
        list = xcalloc(cnr_base_nsyscalls + CNR_ARRAY_LEN(sup_syscalls), sizeof(*list));
        for (size_t i = 0; i < cnr_base_nsyscalls; i++)
                list[n++] = cnr_base_syscalls[i];
        for (size_t i = 0; i < CNR_ARRAY_LEN(sup_syscalls); i++)
                list[n++] = sup_syscalls[i];
        if (cnr_sandbox_drop(&d->sup_id, NULL, 0, &err) < 0 || cnr_sandbox_no_new_privs(&err) < 0 ||
            cnr_sandbox_seccomp(list, n, NULL, &err) < 0) {
                log_error("dropping privileges: %s", cnr_err_str(err));
                _exit(1);
        }
        free(list);
        sigterm = evsignal_new(s->base, SIGTERM, on_signal, s);
        sigint = evsignal_new(s->base, SIGINT, on_signal, s);
        event_add(sigterm, NULL);
        event_add(sigint, NULL);

        s->mon = cnr_peer_new(s->base, CNR_SUP_FD_MONITOR, "monitor", &mon_ops, s);
        {
                Cnr__Mon__ToMonitor env = CNR__MON__TO_MONITOR__INIT;
                Cnr__Hello hi = CNR__HELLO__INIT;

                hi.protocol = CNR_IPC_PROTOCOL;
                hi.name = "supervisor";
                hi.pid = getpid();
                hi.version = PACKAGE_VERSION;
                env.op_case = CNR__MON__TO_MONITOR__OP_HELLO;
                env.hello = &hi;
                if (cnr_peer_request(s->mon, env.op_case, &env.base, NULL, 0, 10000, on_welcome_reply, s, &err) <
                    0) {
                        log_error("hello to monitor: %s", cnr_err_str(err));
                        _exit(1);
                }
        }
        {
                _cleanup_free_ char *dbpath = xasprintf("%s/containr.db", d->cfg.root);
                _cleanup_free_ char *cpath = xasprintf("%s/content", d->cfg.root);

                if (cnr_db_open(dbpath, &s->db, &err) < 0 || cnr_content_open(cpath, &s->content, &err) < 0 ||
                    cnr_images_open(s->db, s->content, &s->images, &err) < 0 ||
                    sup_snapshots_start(s, &err) < 0 || sup_networks_start(s, &err) < 0 || sup_containers_start(s, &err) < 0) {
                        log_error("%s", cnr_err_str(err));
                        _exit(1);
                }
        }
        if (cnr_reg_new(s->base, s->content, &d->cfg, &s->reg, &err) < 0) {
                log_warn("registry client not available: %s", cnr_err_str(err));
                cnr_err_free(&err);
        }
        sup_containers_reconnect(s);
        sup_api_start(s);
        log_info("supervisor running as uid %u gid %u", (unsigned)getuid(), (unsigned)getgid());
        event_base_dispatch(s->base);
        sup_api_stop(s);
        sup_containers_stop(s);
        cnr_reg_free(s->reg);
        sup_networks_stop(s);
        sup_snapshots_stop(s);
        cnr_images_close(s->images);
        cnr_content_close(s->content);
        cnr_db_close(s->db);
        cnr_audit_event("supervisor_stop", "allow", NULL, 0, NULL);
        _exit(0);
}
