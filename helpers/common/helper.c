/* The shared life of a helper: see helper.h for the order of things and
 * man/containr-helpers.7 for the contract with the monitor. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/event.h>
#include <seccomp.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/util.h"
#include "helpers/common/helper.h"
#include "ipc/common.pb-c.h"
#include "ipc/peer.h"

#define FD_IPC 3
#define FD_LOG 4
#define FD_AUDIT 5

struct helper {
        const struct cnr_helper_def *def;
        struct cnr_helper_env env;
        struct event_base *base;
        struct cnr_peer *peer;
        struct cnr_permit *permits;
        size_t npermits;
        uint64_t started_ms;
        uint64_t served;
        int exit_code;
};

static struct helper H;

static int op_ping(struct cnr_helper_req *r, struct cnr_err **err);

static const struct cnr_helper_op ping_op = {CNR__HELPER__TO_HELPER__OP_PING, "ping", 0, op_ping};

json_t *
cnr_helper_json_mode(unsigned mode)
{
        char buf[16];

        snprintf(buf, sizeof(buf), "%04o", mode);
        return json_string(buf);
}

/* Log sink: one cnr.LogChannel frame per record on fd 4.  Never blocks:
 * a full socket drops the record (the supervisor is slow, the helper is
 * not made to wait for it), and a failure cannot itself be logged. */
static void
log_sink(enum cnr_log_level lvl, const char *msg, void *arg)
{
        Cnr__LogRecord rec = CNR__LOG_RECORD__INIT;
        Cnr__LogChannel ch = CNR__LOG_CHANNEL__INIT;
        struct cnr_err *err = NULL;

        rec.level = (uint32_t)lvl;
        rec.message = (char *)msg;
        ch.msg_case = CNR__LOG_CHANNEL__MSG_RECORD;
        ch.record = &rec;
        if (cnr_frame_send(FD_LOG, CNR__LOG_CHANNEL__MSG_RECORD, 0, &ch.base, NULL, 0, CNR_IPC_HELPER_CAP, &err) < 0)
                cnr_err_free(&err);
}

__attribute__((noreturn, format(printf, 1, 2))) static void
usage_exit(const char *fmt, ...)
{
        va_list ap;
        char buf[512];

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        log_error("%s", buf);
        exit(CNR_HELPER_EXIT_USAGE);
}

static void
parse_args(const struct cnr_helper_def *def, int argc, char **argv, enum cnr_log_level *lvl)
{
        bool have_uid = false, have_gid = false, have_level = false;
        struct cnr_err *err = NULL;
        unsigned long long v;

        for (int i = 1; i < argc; i++) {
                const char *flag = argv[i];
                const char *val = i + 1 < argc ? argv[i + 1] : NULL;
                int own;

                if (val == NULL)
                        usage_exit("argument `%s`: missing value or unknown flag", flag);
                if (strcmp(flag, "--uid") == 0 && !have_uid) {
                        if (cnr_parse_uint(val, 0xfffffffeULL, &v) < 0)
                                usage_exit("--uid `%s`: not a numeric uid", val);
                        H.env.uid = (uid_t)v;
                        have_uid = true;
                } else if (strcmp(flag, "--gid") == 0 && !have_gid) {
                        if (cnr_parse_uint(val, 0xfffffffeULL, &v) < 0)
                                usage_exit("--gid `%s`: not a numeric gid", val);
                        H.env.gid = (gid_t)v;
                        have_gid = true;
                } else if (strcmp(flag, "--log-level") == 0 && !have_level) {
                        if (cnr_log_level_parse(val, lvl) < 0)
                                usage_exit("--log-level `%s`: not one of error, warn, info, debug", val);
                        have_level = true;
                } else if (strcmp(flag, "--snapshot-root") == 0 && def->wants_snapshot_root &&
                           H.env.snapshot_root == NULL) {
                        if (val[0] != '/')
                                usage_exit("--snapshot-root `%s`: not an absolute path", val);
                        H.env.snapshot_root = val;
                } else if (strcmp(flag, "--run-root") == 0 && def->wants_run_root && H.env.run_root == NULL) {
                        if (val[0] != '/')
                                usage_exit("--run-root `%s`: not an absolute path", val);
                        H.env.run_root = val;
                } else if (def->parse_flag && (own = def->parse_flag(flag, val, &err)) != 0) {
                        if (own < 0)
                                usage_exit("%s", cnr_err_str(err));
                } else {
                        usage_exit("argument `%s`: unknown or repeated flag", flag);
                }
                i++;
        }
        if (!have_uid || !have_gid)
                usage_exit("%s: --uid and --gid are required", H.env.desc->binary);
        if (def->wants_snapshot_root && H.env.snapshot_root == NULL)
                usage_exit("%s: --snapshot-root is required", H.env.desc->binary);
        cnr_log_init(H.env.desc->name, *lvl, log_sink, NULL);
}

/* fd 3 and 4 must be SEQPACKET sockets, fd 5 a file open for appending.
 * All three become close-on-exec; anything above 5 is closed: a helper
 * holds only what it was given and what it opens itself. */
static int
check_fds(struct cnr_err **err)
{
        static const int fds[] = {FD_IPC, FD_LOG, FD_AUDIT};
        int fl, type;
        socklen_t len;

        for (size_t i = 0; i < CNR_ARRAY_LEN(fds); i++) {
                fl = fcntl(fds[i], F_GETFD);
                if (fl < 0)
                        return cnr_errf(err, errno, "fd %d is not open", fds[i]);
                if (fcntl(fds[i], F_SETFD, fl | FD_CLOEXEC) < 0)
                        return cnr_errf(err, errno, "fd %d: FD_CLOEXEC", fds[i]);
        }
        for (int fd = FD_IPC; fd <= FD_LOG; fd++) {
                len = sizeof(type);
                if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                        return cnr_errf(err, errno, "fd %d is not a socket", fd);
                if (type != SOCK_SEQPACKET)
                        return cnr_errf(err, EPROTOTYPE, "fd %d is a socket of type %d, not SOCK_SEQPACKET", fd,
                                        type);
        }
        fl = fcntl(FD_AUDIT, F_GETFL);
        if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY || !(fl & O_APPEND))
                return cnr_errf(err, EBADF, "fd %d (audit log) is not open for appending", FD_AUDIT);
        if (syscall(SYS_close_range, FD_AUDIT + 1, ~0U, 0) < 0)
                return cnr_errf(err, errno, "close_range above fd %d", FD_AUDIT);
        return 0;
}

static void
log_versions(void)
{
        const struct scmp_version *sv = seccomp_version();
        struct utsname u;

        if (uname(&u) < 0)
                memset(&u, 0, sizeof(u));
        log_info("%s %s starting (pid %d, uid %u, gid %u): kernel %s, libevent %s, libseccomp %u.%u.%u, "
                 "protobuf-c %s, jansson %s",
                 H.env.desc->binary, PACKAGE_VERSION, (int)getpid(), (unsigned)H.env.uid, (unsigned)H.env.gid,
                 u.release, event_get_version(), sv ? sv->major : 0, sv ? sv->minor : 0, sv ? sv->micro : 0,
                 protobuf_c_version(), JANSSON_VERSION);
}

static int
sandbox(struct cnr_err **err)
{
        const struct cnr_helper_desc *d = H.env.desc;
        struct cnr_identity id = {.uid = H.env.uid, .gid = H.env.gid};
        _cleanup_free_ const char **calls = NULL;
        _cleanup_free_ char *caps = NULL;
        size_t n = 0, nown = 0;

        if (cnr_sandbox_drop(&id, d->caps, d->ncaps, err) < 0)
                return cnr_err_wrap(err, "drop privileges");
        if (cnr_sandbox_no_new_privs(err) < 0)
                return -1;
        while (H.def->syscalls && H.def->syscalls[nown])
                nown++;
        calls = xcalloc(cnr_base_nsyscalls + nown, sizeof(*calls));
        for (size_t i = 0; i < cnr_base_nsyscalls; i++)
                calls[n++] = cnr_base_syscalls[i];
        for (size_t i = 0; i < nown; i++)
                calls[n++] = H.def->syscalls[i];
        if (cnr_sandbox_seccomp(calls, n, H.def->seccomp_extra, err) < 0)
                return cnr_err_wrap(err, "seccomp allow-list");
        caps = cnr_caps_to_names(cnr_helper_capmask(d));
        log_info("sandboxed: uid %u gid %u, capabilities [%s], no_new_privs, seccomp allow-list of %zu syscalls",
                 (unsigned)id.uid, (unsigned)id.gid, caps, n);
        return 0;
}

static int
op_ping(struct cnr_helper_req *r, struct cnr_err **err)
{
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_PONG;
        cnr__helper__pong__init(&r->reply.pong);
        r->reply.pong.uptime_ms = cnr_now_ms() - H.started_ms;
        r->reply.pong.served = H.served;
        return 0;
}

static const struct cnr_helper_op *
find_op(uint16_t type)
{
        if (type == ping_op.type)
                return &ping_op;
        for (size_t i = 0; i < H.def->nops; i++)
                if (H.def->ops[i].type == type)
                        return &H.def->ops[i];
        return NULL;
}

static int
send_reply(struct cnr_helper_req *r, struct cnr_err **err)
{
        Cnr__Helper__FromHelper out = CNR__HELPER__FROM_HELPER__INIT;

        out.msg_case = r->reply_case;
        switch (r->reply_case) {
        case CNR__HELPER__FROM_HELPER__MSG_PONG:
                out.pong = &r->reply.pong;
                break;
        case CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD:
                out.mount_fd = &r->reply.mount_fd;
                break;
        case CNR__HELPER__FROM_HELPER__MSG_DONE:
                out.done = &r->reply.done;
                break;
        case CNR__HELPER__FROM_HELPER__MSG_NETNS:
                out.netns = &r->reply.netns;
                break;
        case CNR__HELPER__FROM_HELPER__MSG_BUILD_CHECK:
                out.build_check = &r->reply.build_check;
                break;
        case CNR__HELPER__FROM_HELPER__MSG_USAGE:
                out.usage = &r->reply.usage;
                break;
        case CNR__HELPER__FROM_HELPER__MSG_APPLIED:
                out.applied = &r->reply.applied;
                break;
        case CNR__HELPER__FROM_HELPER__MSG_LISTING:
                out.listing = &r->reply.listing;
                break;
        case CNR__HELPER__FROM_HELPER__MSG_DIFFED:
                out.diffed = &r->reply.diffed;
                break;
        case CNR__HELPER__FROM_HELPER__MSG_CNI_RESULT:
                out.cni_result = &r->reply.cni_result;
                break;
        case CNR__HELPER__FROM_HELPER__MSG_ROUTES:
                out.routes = &r->reply.routes;
                break;
        default:
                return cnr_errf(err, EINVAL, "reply case %d is not a result", (int)r->reply_case);
        }
        return cnr_peer_send(H.peer, (uint16_t)r->reply_case, r->reqid, &out.base, r->fds, r->nfds, err);
}

/* The permit handler of every op: run it, answer once, audit once. */
static void
serve(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *env, void *arg)
{
        const struct cnr_helper_op *op = find_op(f->type);
        struct cnr_helper_req r = {.env = &H.env, .reqid = f->reqid, .req = (Cnr__Helper__ToHelper *)env};
        struct cnr_audit a = {.reqid = f->reqid, .started_us = cnr_now_us()};
        struct cnr_err *err = NULL;
        int rc;

        /* The permit table was built from the op table: op is never NULL. */
        a.op = op->name;
        r.args = json_object();
        r.frame = f;
        for (size_t i = 0; i < CNR_IPC_MAX_FDS; i++)
                r.fds[i] = -1;
        rc = op->run(&r, &err);
        if (rc == 0) {
                if (send_reply(&r, &err) < 0) {
                        cnr_err_wrap(&err, "`%s` done, but the reply was not sent", op->name);
                        log_warn("request %u: %s", f->reqid, cnr_err_str(err));
                }
        } else {
                if (err == NULL)
                        cnr_errf(&err, EIO, "`%s` failed without a cause (bug)", op->name);
                log_debug("request %u `%s` %s: %s", f->reqid, op->name, r.deny ? "refused" : "failed",
                          cnr_err_str(err));
                cnr_peer_send_error(peer, CNR__HELPER__FROM_HELPER__MSG_ERROR, &cnr__helper__from_helper__descriptor,
                                    f->reqid, err->code ? err->code : EIO, cnr_err_str(err));
        }
        for (size_t i = 0; i < r.nfds; i++)
                if (r.fds[i] >= 0)
                        close(r.fds[i]);
        a.args = r.args;
        a.decision = r.deny ? "deny" : "allow";
        a.err_code = err ? err->code : 0;
        a.error = err ? cnr_err_str(err) : NULL;
        cnr_audit_write(&a);
        json_decref(r.args);
        cnr_err_free(&err);
        H.served++;
}

static void
on_close(struct cnr_peer *peer, struct cnr_err *err, void *arg)
{
        if (err == NULL) {
                log_info("supervisor closed the channel: exiting");
                H.exit_code = CNR_HELPER_EXIT_OK;
        } else {
                json_t *args = json_pack("{s:s}", "error", cnr_err_str(err));

                log_error("protocol violation, exiting: %s", cnr_err_str(err));
                cnr_audit_event("protocol_violation", "deny", args, err->code, cnr_err_str(err));
                json_decref(args);
                H.exit_code = CNR_HELPER_EXIT_PROTOCOL;
        }
        event_base_loopbreak(H.base);
}

static void
build_permits(void)
{
        const struct cnr_helper_def *def = H.def;

        H.permits = xcalloc(def->nops + 1, sizeof(*H.permits));
        H.permits[H.npermits++] = (struct cnr_permit){ping_op.type, 0, ping_op.nfds, ping_op.name, serve};
        for (size_t i = 0; i < def->nops; i++)
                H.permits[H.npermits++] =
                        (struct cnr_permit){def->ops[i].type, 0, def->ops[i].nfds, def->ops[i].name, serve};
}

static int
send_hello(struct cnr_err **err)
{
        Cnr__Hello hello = CNR__HELLO__INIT;
        Cnr__Helper__FromHelper out = CNR__HELPER__FROM_HELPER__INIT;

        hello.protocol = CNR_IPC_PROTOCOL;
        hello.name = (char *)H.env.desc->name;
        hello.pid = (int32_t)getpid();
        hello.version = (char *)PACKAGE_VERSION;
        out.msg_case = CNR__HELPER__FROM_HELPER__MSG_HELLO;
        out.hello = &hello;
        return cnr_peer_send(H.peer, CNR__HELPER__FROM_HELPER__MSG_HELLO, 0, &out.base, NULL, 0, err);
}

void
cnr_helper_main(const struct cnr_helper_def *def, int argc, char **argv)
{
        enum cnr_log_level lvl = CNR_LOG_INFO;
        struct cnr_err *err = NULL;
        struct cnr_peer_ops pops;

        H.def = def;
        H.env.desc = &cnr_helpers[def->id];
        H.started_ms = cnr_now_ms();
        /* Log to fd 4 from the first line on: a usage error is reported
         * there when the channel exists, and dropped when it does not. */
        cnr_log_init(H.env.desc->name, lvl, log_sink, NULL);
        parse_args(def, argc, argv, &lvl);
        if (check_fds(&err) < 0) {
                log_error("fd slots: %s", cnr_err_str(err));
                exit(CNR_HELPER_EXIT_USAGE);
        }
        cnr_audit_init(FD_AUDIT, H.env.desc->name);
        log_versions();
        if (def->setup && def->setup(&H.env, &err) < 0) {
                log_error("setup: %s", cnr_err_str(err));
                exit(CNR_HELPER_EXIT_SETUP);
        }
        H.base = event_base_new();
        if (H.base == NULL) {
                log_error("event_base_new failed");
                exit(CNR_HELPER_EXIT_SETUP);
        }
        if (sandbox(&err) < 0) {
                log_error("%s", cnr_err_str(err));
                exit(CNR_HELPER_EXIT_SETUP);
        }
        build_permits();
        pops = (struct cnr_peer_ops){.in = &cnr__helper__to_helper__descriptor,
                                     .permits = H.permits,
                                     .npermits = H.npermits,
                                     .cap = CNR_IPC_HELPER_CAP,
                                     .on_close = on_close};
        H.peer = cnr_peer_new(H.base, FD_IPC, "supervisor", &pops, NULL);
        /* The supervisor sends no hello to helpers: its first message is
         * already a request. */
        cnr_peer_set_hello(H.peer);
        if (send_hello(&err) < 0) {
                log_error("send HELLO: %s", cnr_err_str(err));
                exit(CNR_HELPER_EXIT_SETUP);
        }
        log_debug("HELLO sent, serving");
        H.exit_code = CNR_HELPER_EXIT_SETUP;
        if (event_base_dispatch(H.base) < 0)
                log_error("event loop failed");
        cnr_peer_free(H.peer);
        event_base_free(H.base);
        free(H.permits);
        exit(H.exit_code);
}
