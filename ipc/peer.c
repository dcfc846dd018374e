#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "ipc/common.pb-c.h"
#include "ipc/peer.h"

struct outmsg {
        TAILQ_ENTRY(outmsg) entry;
        uint8_t *buf;
        size_t len;
        int fds[CNR_IPC_MAX_FDS];
        size_t nfds;
};

struct pending {
        LIST_ENTRY(pending) entry;
        struct cnr_peer *peer;
        uint32_t reqid;
        cnr_reply_cb cb;
        void *arg;
        struct event *timer;
};

struct cnr_peer {
        int fd;
        char *name;
        struct cnr_peer_ops ops;
        void *arg;
        struct event_base *base;
        struct event *rev, *wev;
        TAILQ_HEAD(, outmsg) outq;
        LIST_HEAD(, pending) pending;
        size_t npending;
        uint32_t next_reqid;
        bool hello;
        bool closed; /* on_close was called */
        int busy;    /* > 0 while dispatching: free is deferred */
        bool dead;   /* freed while busy */
        uint8_t *rbuf;
};

static void peer_read(evutil_socket_t fd, short what, void *arg);
static void peer_write(evutil_socket_t fd, short what, void *arg);

struct cnr_peer *
cnr_peer_new(struct event_base *base, int fd, const char *name, const struct cnr_peer_ops *ops, void *arg)
{
        struct cnr_peer *p = xcalloc(1, sizeof(*p));
        int fl = fcntl(fd, F_GETFL);

        if (fl >= 0)
                fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        p->fd = fd;
        p->name = xstrdup(name);
        p->ops = *ops;
        p->arg = arg;
        p->base = base;
        p->next_reqid = 1;
        p->rbuf = xmalloc(ops->cap);
        TAILQ_INIT(&p->outq);
        LIST_INIT(&p->pending);
        p->rev = event_new(base, fd, EV_READ | EV_PERSIST, peer_read, p);
        p->wev = event_new(base, fd, EV_WRITE, peer_write, p);
        event_add(p->rev, NULL);
        return p;
}

static void
pending_free(struct pending *pd)
{
        LIST_REMOVE(pd, entry);
        pd->peer->npending--;
        event_free(pd->timer);
        free(pd);
}

static void
peer_destroy(struct cnr_peer *p)
{
        struct outmsg *m;

        /* Callbacks run below may call cnr_peer_free again or send: keep
         * busy raised so that nothing destroys twice, and dead set so that
         * no new request joins the list being failed. */
        p->busy++;
        p->dead = true;
        cnr_peer_fail_pending(p, ECONNRESET, "channel closed");
        while ((m = TAILQ_FIRST(&p->outq)) != NULL) {
                TAILQ_REMOVE(&p->outq, m, entry);
                for (size_t i = 0; i < m->nfds; i++)
                        close(m->fds[i]);
                free(m->buf);
                free(m);
        }
        event_free(p->rev);
        event_free(p->wev);
        close(p->fd);
        free(p->rbuf);
        free(p->name);
        free(p);
}

void
cnr_peer_free(struct cnr_peer *p)
{
        if (p == NULL)
                return;
        if (p->busy > 0) {
                p->dead = true;
                event_del(p->rev);
                event_del(p->wev);
                return;
        }
        peer_destroy(p);
}

const char *
cnr_peer_name(const struct cnr_peer *p)
{
        return p->name;
}

int
cnr_peer_fd(const struct cnr_peer *p)
{
        return p->fd;
}

void *
cnr_peer_arg(const struct cnr_peer *p)
{
        return p->arg;
}

void
cnr_peer_set_hello(struct cnr_peer *p)
{
        p->hello = true;
}

bool
cnr_peer_hello_done(const struct cnr_peer *p)
{
        return p->hello;
}

size_t
cnr_peer_pending(const struct cnr_peer *p)
{
        return p->npending;
}

static void
peer_fail(struct cnr_peer *p, struct cnr_err *err)
{
        if (p->closed || p->dead)
                return;
        p->closed = true;
        event_del(p->rev);
        event_del(p->wev);
        if (p->ops.on_close)
                p->ops.on_close(p, err, p->arg);
}

static int
flush_queue(struct cnr_peer *p, struct cnr_err **err)
{
        struct outmsg *m;

        while ((m = TAILQ_FIRST(&p->outq)) != NULL) {
                if (cnr_frame_send_raw(p->fd, m->buf, m->len, m->fds, m->nfds, err) < 0) {
                        if ((*err)->code == EAGAIN || (*err)->code == EWOULDBLOCK) {
                                cnr_err_free(err);
                                event_add(p->wev, NULL);
                                return 0;
                        }
                        return -1;
                }
                TAILQ_REMOVE(&p->outq, m, entry);
                for (size_t i = 0; i < m->nfds; i++)
                        close(m->fds[i]);
                free(m->buf);
                free(m);
        }
        return 0;
}

static void
peer_write(evutil_socket_t fd, short what, void *arg)
{
        struct cnr_peer *p = arg;
        struct cnr_err *err = NULL;

        p->busy++;
        if (flush_queue(p, &err) < 0) {
                cnr_err_wrap(&err, "send to %s", p->name);
                peer_fail(p, err);
                cnr_err_free(&err);
        }
        p->busy--;
        if (p->dead && p->busy == 0)
                peer_destroy(p);
}

int
cnr_peer_send(struct cnr_peer *p, uint16_t type, uint32_t reqid, const ProtobufCMessage *msg, const int *fds,
              size_t nfds, struct cnr_err **err)
{
        struct outmsg *m;
        size_t len;
        uint8_t *buf;

        if (p->closed || p->dead)
                return cnr_errf(err, ECONNRESET, "%s: channel closed", p->name);
        if (nfds > CNR_IPC_MAX_FDS)
                return cnr_errf(err, EINVAL, "%s: too many fds (%zu) for one message", p->name, nfds);
        buf = cnr_frame_encode(type, reqid, msg, p->ops.cap, &len, err);
        if (buf == NULL)
                return -1;
        if (TAILQ_EMPTY(&p->outq)) {
                if (cnr_frame_send_raw(p->fd, buf, len, fds, nfds, err) == 0) {
                        free(buf);
                        return 0;
                }
                if ((*err)->code != EAGAIN && (*err)->code != EWOULDBLOCK) {
                        free(buf);
                        return cnr_err_wrap(err, "send to %s", p->name);
                }
                cnr_err_free(err);
        }
        m = xcalloc(1, sizeof(*m));
        m->buf = buf;
        m->len = len;
        for (size_t i = 0; i < nfds; i++) {
                m->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                if (m->fds[i] < 0) {
                        int e = errno;
                        for (size_t j = 0; j < i; j++)
                                close(m->fds[j]);
                        free(m->buf);
                        free(m);
                        return cnr_errf(err, e, "queue fd for %s", p->name);
                }
                m->nfds++;
        }
        TAILQ_INSERT_TAIL(&p->outq, m, entry);
        event_add(p->wev, NULL);
        return 0;
}

int
cnr_peer_send_error(struct cnr_peer *p, uint16_t type, const ProtobufCMessageDescriptor *out_env, uint32_t reqid,
                    int code, const char *message)
{
        /* The envelope's error member is a cnr.Error at field `type`: build
         * the envelope generically so every channel shares this path. */
        Cnr__Error e = CNR__ERROR__INIT;
        ProtobufCMessage *env;
        const ProtobufCFieldDescriptor *fd;
        struct cnr_err *err = NULL;
        int r;

        fd = protobuf_c_message_descriptor_get_field(out_env, type);
        if (fd == NULL || fd->type != PROTOBUF_C_TYPE_MESSAGE || fd->descriptor != &cnr__error__descriptor)
                return -1;
        e.errno_code = code;
        e.message = (char *)message;
        env = xcalloc(1, out_env->sizeof_message);
        protobuf_c_message_init(out_env, env);
        *(uint32_t *)((char *)env + fd->quantifier_offset) = type;
        *(ProtobufCMessage **)((char *)env + fd->offset) = &e.base;
        r = cnr_peer_send(p, type, reqid, env, NULL, 0, &err);
        free(env);
        if (r < 0) {
                log_warn("%s", cnr_err_str(err));
                cnr_err_free(&err);
        }
        return r;
}

static void
pending_timeout(evutil_socket_t fd, short what, void *arg)
{
        struct pending *pd = arg;
        struct cnr_peer *p = pd->peer;
        struct cnr_err *err = NULL;
        cnr_reply_cb cb = pd->cb;
        void *cbarg = pd->arg;

        cnr_errf(&err, ETIMEDOUT, "%s did not answer request %u", p->name, pd->reqid);
        pending_free(pd);
        p->busy++;
        cb(p, NULL, NULL, err, cbarg);
        p->busy--;
        cnr_err_free(&err);
        if (p->dead && p->busy == 0)
                peer_destroy(p);
}

int
cnr_peer_request(struct cnr_peer *p, uint16_t type, const ProtobufCMessage *msg, const int *fds, size_t nfds,
                 unsigned timeout_ms, cnr_reply_cb cb, void *arg, struct cnr_err **err)
{
        struct pending *pd;
        uint32_t id = p->next_reqid++;

        if (p->next_reqid == 0)
                p->next_reqid = 1;
        if (cnr_peer_send(p, type, id, msg, fds, nfds, err) < 0)
                return -1;
        pd = xcalloc(1, sizeof(*pd));
        pd->peer = p;
        pd->reqid = id;
        pd->cb = cb;
        pd->arg = arg;
        pd->timer = evtimer_new(p->base, pending_timeout, pd);
        if (timeout_ms > 0) {
                struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
                evtimer_add(pd->timer, &tv);
        }
        LIST_INSERT_HEAD(&p->pending, pd, entry);
        p->npending++;
        return (int)id;
}

void
cnr_peer_fail_pending(struct cnr_peer *p, int code, const char *why)
{
        struct pending *pd;

        p->busy++;
        while ((pd = LIST_FIRST(&p->pending)) != NULL) {
                struct cnr_err *err = NULL;
                cnr_reply_cb cb = pd->cb;
                void *cbarg = pd->arg;

                cnr_errf(&err, code, "%s: %s", p->name, why);
                pending_free(pd);
                cb(p, NULL, NULL, err, cbarg);
                cnr_err_free(&err);
        }
        p->busy--;
        if (p->dead && p->busy == 0)
                peer_destroy(p);
}

static struct pending *
pending_find(struct cnr_peer *p, uint32_t reqid)
{
        struct pending *pd;

        LIST_FOREACH(pd, &p->pending, entry)
                if (pd->reqid == reqid)
                        return pd;
        return NULL;
}

/* One datagram.  Returns 0 to go on reading, 1 when nothing is left, -1
 * when the peer was failed. */
static int
dispatch_one(struct cnr_peer *p)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        const struct cnr_permit *pm;
        ProtobufCMessage *env = NULL;
        int r;

        r = cnr_frame_recv(p->fd, p->rbuf, p->ops.cap, &f, &err);
        if (r == 0) {
                peer_fail(p, NULL);
                return -1;
        }
        if (r < 0) {
                if (err->code == EAGAIN || err->code == EWOULDBLOCK) {
                        cnr_err_free(&err);
                        return 1;
                }
                if (err->code == ECONNRESET) {
                        /* The other end went away with our data unread (it
                         * died): an end of stream, not a protocol error. */
                        cnr_err_free(&err);
                        peer_fail(p, NULL);
                        return -1;
                }
                goto bad;
        }
        if (cnr_permit_check(p->ops.permits, p->ops.npermits, p->hello, &f, &pm, &err) < 0)
                goto bad;
        env = cnr_frame_decode(&f, p->ops.in, &err);
        if (env == NULL)
                goto bad;
        if (pm->flags & CNR_PERMIT_REPLY) {
                struct pending *pd = pending_find(p, f.reqid);
                cnr_reply_cb cb;
                void *cbarg;

                if (pd == NULL) {
                        cnr_errf(&err, EPROTO, "`%s` answers request %u, which is not pending", pm->name,
                                 f.reqid);
                        goto bad;
                }
                cb = pd->cb;
                cbarg = pd->arg;
                pending_free(pd);
                cb(p, &f, env, NULL, cbarg);
        } else {
                pm->handler(p, &f, env, p->arg);
        }
        protobuf_c_message_free_unpacked(env, NULL);
        cnr_frame_close_fds(&f);
        return 0;
bad:
        if (env)
                protobuf_c_message_free_unpacked(env, NULL);
        if (r > 0)
                cnr_frame_close_fds(&f);
        cnr_err_wrap(&err, "%s", p->name);
        peer_fail(p, err);
        cnr_err_free(&err);
        return -1;
}

static void
peer_read(evutil_socket_t fd, short what, void *arg)
{
        struct cnr_peer *p = arg;

        p->busy++;
        /* Bounded batch so one chatty peer cannot starve the loop. */
        for (int i = 0; i < 64 && !p->dead && !p->closed; i++)
                if (dispatch_one(p) != 0)
                        break;
        p->busy--;
        if (p->dead && p->busy == 0)
                peer_destroy(p);
}
