#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/client.h"
#include "common/util.h"
#include "ipc/frame.h"

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

int
cnr_client_host_path(const char *host, char **path, struct cnr_err **err)
{
        const char *p;

        if (host == NULL || *host == '\0')
                p = CNR_DEFAULT_SOCKET;
        else if (strncmp(host, "unix://", 7) == 0)
                p = host + 7;
        else if (host[0] == '/')
                p = host;
        else if (strstr(host, "://") != NULL)
                return cnr_errf(err, 0, "unsupported host `%s`: containrd listens on a unix socket (unix://PATH)",
                                host);
        else
                return cnr_errf(err, 0, "host `%s` is not of the form unix://PATH", host);
        if (*p == '\0')
                return cnr_errf(err, 0, "host `%s` names no socket path (unix://PATH)", host);
        if (strlen(p) > SUN_PATH_MAX)
                return cnr_errf(err, 0, "socket path `%s` is %zu bytes long; a unix socket path holds at most %zu",
                                p, strlen(p), SUN_PATH_MAX);
        *path = xstrdup(p);
        return 0;
}

static int
connect_error(const char *path, int e, struct cnr_err **err)
{
        switch (e) {
        case ENOENT:
        case ENOTDIR:
        case ECONNREFUSED:
                return cnr_errf(err, 0,
                                "cannot reach containrd at %s: is containrd running? (start it with: containrd "
                                "--detach)",
                                path);
        case EACCES:
        case EPERM:
                return cnr_errf(err, 0, "permission denied on %s: you need root or membership in the containr group",
                                path);
        case EPROTOTYPE:
                return cnr_errf(err, 0, "%s is not containrd's socket (it is not a SOCK_SEQPACKET socket)", path);
        default:
                return cnr_errf(err, e, "connect to containrd at %s", path);
        }
}

/* Wait until fd is ready for `events` or the deadline passes. */
static int
wait_fd(struct cnr_client *cl, short events, uint64_t deadline, struct cnr_err **err)
{
        for (;;) {
                struct pollfd pfd = {.fd = cl->fd, .events = events};
                uint64_t now = cnr_now_ms();
                int r;

                if (now >= deadline)
                        return cnr_errf(err, 0, "containrd at %s did not answer within %d s", cl->path,
                                        cl->timeout_ms / 1000);
                r = poll(&pfd, 1, (int)(deadline - now));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return cnr_errf(err, errno, "poll");
                if (r > 0)
                        return 0;
        }
}

static int
send_req(struct cnr_client *cl, Cnr__Api__Request *req, uint32_t reqid, const int *fds, size_t nfds,
         struct cnr_err **err)
{
        uint64_t deadline = cnr_now_ms() + (uint64_t)cl->timeout_ms;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;

        buf = cnr_frame_encode((uint16_t)req->op_case, reqid, &req->base, CNR_IPC_API_CAP, &len, err);
        if (buf == NULL)
                return -1;
        for (;;) {
                struct cnr_err *e = NULL;

                if (cnr_frame_send_raw(cl->fd, buf, len, fds, nfds, &e) == 0)
                        return 0;
                if (e->code != EAGAIN) {
                        int code = e->code;
                        cnr_err_free(&e);
                        if (code == EPIPE || code == ECONNRESET)
                                return cnr_errf(err, 0, "containrd at %s closed the connection", cl->path);
                        return cnr_errf(err, code, "send to containrd at %s", cl->path);
                }
                cnr_err_free(&e);
                if (wait_fd(cl, POLLOUT, deadline, err) < 0)
                        return -1;
        }
}

/* An intermediate Progress reply for this request: hand it over and keep
 * waiting (the deadline restarts).  1 handled, 0 not a progress frame. */
static int
take_progress(struct cnr_client *cl, struct cnr_frame *f, uint32_t reqid, cnr_client_progress_cb cb, void *arg,
              struct cnr_err **err)
{
        Cnr__Api__Reply *rep;

        if (cb == NULL || f->reqid != reqid || f->type != CNR__API__REPLY__MSG_PROGRESS)
                return 0;
        if (f->nfds != 0) {
                cnr_frame_close_fds(f);
                return cnr_errf(err, EPROTO, "containrd passed file descriptors with a progress reply");
        }
        rep = (Cnr__Api__Reply *)cnr_frame_decode(f, &cnr__api__reply__descriptor, err);
        if (rep == NULL)
                return cnr_err_wrap(err, "bad progress reply from containrd at %s", cl->path);
        cb(rep->progress, arg);
        cnr__api__reply__free_unpacked(rep, NULL);
        return 1;
}

static int
recv_reply_cb(struct cnr_client *cl, uint32_t reqid, Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **out,
              int *fds, size_t nfds, cnr_client_progress_cb cb, void *cbarg, struct cnr_err **err);

static int
recv_reply(struct cnr_client *cl, uint32_t reqid, Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **out, int *fds,
           size_t nfds, struct cnr_err **err)
{
        return recv_reply_cb(cl, reqid, want, out, fds, nfds, NULL, NULL, err);
}

static int
recv_reply_cb(struct cnr_client *cl, uint32_t reqid, Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **out,
              int *fds, size_t nfds, cnr_client_progress_cb cb, void *cbarg, struct cnr_err **err)
{
        uint64_t deadline = cnr_now_ms() + (uint64_t)cl->timeout_ms;
        _cleanup_free_ uint8_t *buf = xmalloc(CNR_IPC_API_CAP);
        struct cnr_frame f;
        Cnr__Api__Reply *rep;
        int r;

        for (;;) {
                if (wait_fd(cl, POLLIN, deadline, err) < 0)
                        return -1;
                r = cnr_frame_recv(cl->fd, buf, CNR_IPC_API_CAP, &f, err);
                if (r < 0 && (*err)->code == EAGAIN) {
                        cnr_err_free(err);
                        continue;
                }
                if (r < 0 && (*err)->code == ECONNRESET) {
                        cnr_err_free(err);
                        r = 0;
                }
                if (r < 0)
                        return cnr_err_wrap(err, "bad answer from containrd at %s", cl->path);
                if (r == 0)
                        return cnr_errf(err, 0, "containrd at %s closed the connection without answering",
                                        cl->path);
                r = take_progress(cl, &f, reqid, cb, cbarg, err);
                if (r < 0)
                        return -1;
                if (r > 0) {
                        deadline = cnr_now_ms() + (uint64_t)cl->timeout_ms;
                        continue;
                }
                break;
        }
        if (f.reqid != reqid) {
                cnr_frame_close_fds(&f);
                return cnr_errf(err, EPROTO, "containrd answered request %u while this was request %u", f.reqid,
                                reqid);
        }
        if (f.type != (uint16_t)want && f.type != CNR__API__REPLY__MSG_ERROR) {
                cnr_frame_close_fds(&f);
                return cnr_errf(err, EPROTO, "containrd answered with reply type %u, expected %u", f.type,
                                (unsigned)want);
        }
        rep = (Cnr__Api__Reply *)cnr_frame_decode(&f, &cnr__api__reply__descriptor, err);
        if (rep == NULL) {
                cnr_frame_close_fds(&f);
                return cnr_err_wrap(err, "bad answer from containrd at %s", cl->path);
        }
        if (rep->msg_case == CNR__API__REPLY__MSG_ERROR) {
                cnr_frame_close_fds(&f);
                if (rep->error->message[0] != '\0')
                        cnr_errf(err, 0, "%s", rep->error->message);
                else
                        cnr_errf(err, rep->error->errno_code, "containrd refused the request");
                cnr__api__reply__free_unpacked(rep, NULL);
                return -1;
        }
        if (f.nfds != nfds) {
                cnr_frame_close_fds(&f);
                cnr__api__reply__free_unpacked(rep, NULL);
                return cnr_errf(err, EPROTO, "containrd passed %zu file descriptors with reply type %u, expected %zu",
                                f.nfds, f.type, nfds);
        }
        for (size_t i = 0; i < nfds; i++)
                fds[i] = cnr_frame_take_fd(&f, i);
        *out = rep;
        return 0;
}

int
cnr_client_call(struct cnr_client *cl, Cnr__Api__Request *req, Cnr__Api__Reply__MsgCase want,
                Cnr__Api__Reply **reply, int *fds, size_t nfds, struct cnr_err **err)
{
        uint32_t reqid = cl->next_reqid++;

        if (send_req(cl, req, reqid, NULL, 0, err) < 0)
                return -1;
        return recv_reply(cl, reqid, want, reply, fds, nfds, err);
}

int
cnr_client_call_fds(struct cnr_client *cl, Cnr__Api__Request *req, const int *send_fds, size_t nsend,
                    Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **reply, int *fds, size_t nfds,
                    struct cnr_err **err)
{
        uint32_t reqid = cl->next_reqid++;

        if (send_req(cl, req, reqid, send_fds, nsend, err) < 0)
                return -1;
        return recv_reply(cl, reqid, want, reply, fds, nfds, err);
}

int
cnr_client_open(struct cnr_client *cl, const char *host, struct cnr_err **err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Hello hello = CNR__HELLO__INIT;
        Cnr__Api__Reply *rep = NULL;

        memset(cl, 0, sizeof(*cl));
        cl->fd = -1;
        cl->next_reqid = 1;
        cl->timeout_ms = CNR_CLIENT_TIMEOUT_MS;
        if (cnr_client_host_path(host, &cl->path, err) < 0)
                return -1;
        memcpy(sa.sun_path, cl->path, strlen(cl->path) + 1); /* length checked above */
        cl->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (cl->fd < 0)
                return cnr_errf(err, errno, "socket");
        if (connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return connect_error(cl->path, errno, err);

        hello.protocol = CNR_IPC_PROTOCOL;
        hello.name = "containr";
        hello.pid = (int32_t)getpid();
        hello.version = PACKAGE_VERSION;
        req.op_case = CNR__API__REQUEST__OP_HELLO;
        req.hello = &hello;
        if (cnr_client_call(cl, &req, CNR__API__REPLY__MSG_HELLO, &rep, NULL, 0, err) < 0)
                return -1;
        if (rep->hello->protocol != CNR_IPC_PROTOCOL) {
                cnr_errf(err, 0, "containrd at %s speaks protocol %u, this containr speaks %u: use the containr of "
                                 "the same release as containrd (%s)",
                         cl->path, rep->hello->protocol, CNR_IPC_PROTOCOL, rep->hello->version);
                cnr__api__reply__free_unpacked(rep, NULL);
                return -1;
        }
        /* Keep the server's HELLO; the reply envelope owns it, so keep both. */
        cl->server = (Cnr__Hello *)steal_ptr(&rep->hello);
        rep->msg_case = CNR__API__REPLY__MSG__NOT_SET;
        cnr__api__reply__free_unpacked(rep, NULL);
        return 0;
}

int
cnr_client_call_progress(struct cnr_client *cl, Cnr__Api__Request *req, Cnr__Api__Reply__MsgCase want,
                         Cnr__Api__Reply **reply, cnr_client_progress_cb cb, void *arg, struct cnr_err **err)
{
        uint32_t reqid = cl->next_reqid++;

        if (send_req(cl, req, reqid, NULL, 0, err) < 0)
                return -1;
        return recv_reply_cb(cl, reqid, want, reply, NULL, 0, cb, arg, err);
}

void
cnr_client_close(struct cnr_client *cl)
{
        if (cl->server != NULL)
                cnr__hello__free_unpacked(cl->server, NULL);
        cl->server = NULL;
        if (cl->fd >= 0)
                close(cl->fd);
        cl->fd = -1;
        free(cl->path);
        cl->path = NULL;
}

int
cnr_client_send(struct cnr_client *cl, Cnr__Api__Request *req, const int *fds, size_t nfds, uint32_t *reqid,
                struct cnr_err **err)
{
        *reqid = cl->next_reqid++;
        return send_req(cl, req, *reqid, fds, nfds, err);
}

int
cnr_client_recv(struct cnr_client *cl, uint32_t reqid, Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **reply,
                int *fds, size_t nfds, struct cnr_err **err)
{
        return recv_reply(cl, reqid, want, reply, fds, nfds, err);
}
