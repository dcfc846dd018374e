/* The supervisor's side of a containr-shim socket, asynchronous: a
 * cnr_peer on a SOCK_SEQPACKET connection to <run_root>/shims/<id>/sock,
 * the Hello exchange as its first request, then any number of requests
 * whose replies come back through callbacks.  A shim that stops answering
 * fails requests with their timeout; the loop never blocks on it
 * (ipc/shimclient.c is the blocking variant, for tests). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "ipc/frame.h"
#include "ipc/peer.h"
#include "supervisor/containers.h"

struct ctr_shim {
        struct cnr_peer *peer;
        ctr_shim_close_fn on_close;
        void *arg;
};

struct shim_call {
        struct ctr_shim *sh;
        ctr_shim_reply_fn cb;
        void *arg;
};

#define PERMITS(exec_fds)                                                                                              \
        {                                                                                                              \
                {CNR__SHIM__FROM_SHIM__MSG_HELLO, CNR_PERMIT_HELLO | CNR_PERMIT_REPLY, 0, "hello", NULL},              \
                        {CNR__SHIM__FROM_SHIM__MSG_ERROR, CNR_PERMIT_REPLY, 0, "error", NULL},                         \
                        {CNR__SHIM__FROM_SHIM__MSG_STATE, CNR_PERMIT_REPLY, 0, "state", NULL},                         \
                        {CNR__SHIM__FROM_SHIM__MSG_DONE, CNR_PERMIT_REPLY, 0, "done", NULL},                           \
                        {CNR__SHIM__FROM_SHIM__MSG_EXITED, CNR_PERMIT_REPLY, 0, "exited", NULL},                       \
                        {CNR__SHIM__FROM_SHIM__MSG_ATTACHED, CNR_PERMIT_REPLY, 3, "attached", NULL},                   \
                        {CNR__SHIM__FROM_SHIM__MSG_EXEC_STARTED, CNR_PERMIT_REPLY, exec_fds, "exec_started", NULL},    \
                        {CNR__SHIM__FROM_SHIM__MSG_SOURCE_HELD, CNR_PERMIT_REPLY, 1, "source_held", NULL},             \
        }

static const struct cnr_permit permits[] = PERMITS(0);
static const struct cnr_permit permits_tty[] = PERMITS(1);

static void
on_close(struct cnr_peer *p, struct cnr_err *err, void *arg)
{
        struct ctr_shim *sh = arg;

        /* The owner frees the connection (ctr_shim_free), which fails
         * the requests still pending; reply callbacks that get an error
         * must not free it themselves. */
        if (sh->on_close)
                sh->on_close(sh, err, sh->arg);
        else
                cnr_peer_fail_pending(p, ECONNRESET, "the shim closed the connection");
}

static void
on_reply(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, struct cnr_err *err, void *arg)
{
        struct shim_call *call = arg;

        call->cb(call->sh, (Cnr__Shim__FromShim *)m, f, err, call->arg);
        free(call);
}

static void
on_hello(struct ctr_shim *sh, Cnr__Shim__FromShim *env, struct cnr_frame *f, struct cnr_err *err, void *arg)
{
        if (err == NULL && env->msg_case == CNR__SHIM__FROM_SHIM__MSG_HELLO && env->hello->protocol == CNR_IPC_PROTOCOL)
                cnr_peer_set_hello(sh->peer);
        /* Otherwise the following requests are refused by the permit
         * table and the connection closes: the owner hears of it. */
}

int
ctr_shim_open(struct sup *s, const char *dir, bool exec_tty, ctr_shim_close_fn close_cb, void *arg,
              struct ctr_shim **out, struct cnr_err **err)
{
        static const struct cnr_peer_ops ops = {&cnr__shim__from_shim__descriptor, permits, CNR_ARRAY_LEN(permits),
                                                CNR_IPC_HELPER_CAP, on_close};
        static const struct cnr_peer_ops ops_tty = {&cnr__shim__from_shim__descriptor, permits_tty,
                                                    CNR_ARRAY_LEN(permits_tty), CNR_IPC_HELPER_CAP, on_close};
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int d = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int fd = -1;
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Hello hi = CNR__HELLO__INIT;
        struct ctr_shim *sh;

        if (d < 0)
                return cnr_errf(err, errno, "open the shim's directory `%s`", dir);
        /* Through the directory fd: sun_path stays short. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/sock", d);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return cnr_errf(err, errno, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return cnr_errf(err, errno, "connect to the shim at `%s/sock`", dir);
        sh = xcalloc(1, sizeof(*sh));
        sh->on_close = close_cb;
        sh->arg = arg;
        sh->peer = cnr_peer_new(s->base, steal_fd(&fd), "shim", exec_tty ? &ops_tty : &ops, sh);
        hi.protocol = CNR_IPC_PROTOCOL;
        hi.name = "containrd";
        hi.pid = getpid();
        hi.version = PACKAGE_VERSION;
        req.op_case = CNR__SHIM__TO_SHIM__OP_HELLO;
        req.hello = &hi;
        if (ctr_shim_request(sh, &req, NULL, 0, 10000, on_hello, NULL, err) < 0) {
                ctr_shim_free(sh);
                return -1;
        }
        *out = sh;
        return 0;
}

int
ctr_shim_request(struct ctr_shim *sh, Cnr__Shim__ToShim *req, const int *fds, size_t nfds, unsigned timeout_ms,
                 ctr_shim_reply_fn cb, void *arg, struct cnr_err **err)
{
        struct shim_call *call = xcalloc(1, sizeof(*call));

        call->sh = sh;
        call->cb = cb;
        call->arg = arg;
        if (cnr_peer_request(sh->peer, (uint16_t)req->op_case, &req->base, fds, nfds, timeout_ms, on_reply, call, err) <
            0) {
                free(call);
                return -1;
        }
        return 0;
}

void
ctr_shim_free(struct ctr_shim *sh)
{
        if (sh == NULL)
                return;
        sh->on_close = NULL;
        cnr_peer_fail_pending(sh->peer, ECONNABORTED, "connection to the shim closed");
        cnr_peer_free(sh->peer);
        free(sh);
}

int
ctr_shim_reply_err(Cnr__Shim__FromShim *env, struct cnr_err *err, int want, const char *what, struct cnr_err **out)
{
        if (err)
                return cnr_errf(out, err->code, "%s: %s", what, err->msg);
        if (env->msg_case == CNR__SHIM__FROM_SHIM__MSG_ERROR)
                return cnr_errf(out, env->error->errno_code, "%s: %s", what, env->error->message);
        if ((int)env->msg_case != want)
                return cnr_errf(out, EPROTO, "%s: the shim answered with message %d", what, (int)env->msg_case);
        return 0;
}

void *
ctr_shim_arg(struct ctr_shim *sh)
{
        return sh->arg;
}
