/* Unit tests for ipc/peer.[ch]: two peers on one SOCK_SEQPACKET
 * socketpair in one event_base.  `a` plays the supervisor (sends
 * cnr.helper.ToHelper, receives FromHelper), `b` plays a helper. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "ipc/common.pb-c.h"
#include "ipc/helper.pb-c.h"
#include "ipc/peer.h"

#define MAXREQ 64
#define CAP 4096

struct req {
        struct ctx *c;
        uint32_t id;
        int calls;
        int code;        /* err->code, 0 for a reply */
        int order;       /* when the callback ran (1, 2, ...) */
        uint16_t type;   /* reply case */
        uint64_t served; /* Pong.served */
        bool free_peer;  /* free `a` from inside the callback */
};

struct ctx {
        struct event_base *base;
        struct event *tick;
        struct cnr_peer *a, *b;
        int afd, bfd;
        int ncb; /* callbacks run so far */

        /* what b's handler saw */
        uint32_t got_id[1024];
        uint16_t got_type[1024];
        int got_fd[1024];
        size_t ngot;
        bool b_free_in_handler;

        /* on_close */
        int a_closes, b_closes;
        int a_close_code, b_close_code; /* 0 for EOF */
        bool free_on_close;
};

static void on_b_request(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *env, void *arg);
static void on_a_hello(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *env, void *arg);

/* b receives ToHelper; snap_mkdir carries one fd in these tests. */
static const struct cnr_permit b_permits[] = {
        {CNR__HELPER__TO_HELPER__OP_PING, 0, 0, "ping", on_b_request},
        {CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS, 0, 0, "mount_tmpfs", on_b_request},
        {CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR, 0, 1, "snap_mkdir", on_b_request},
};

/* a receives FromHelper: replies, plus the helper's hello. */
static const struct cnr_permit a_permits[] = {
        {CNR__HELPER__FROM_HELPER__MSG_HELLO, CNR_PERMIT_HELLO, 0, "hello", on_a_hello},
        {CNR__HELPER__FROM_HELPER__MSG_ERROR, CNR_PERMIT_REPLY, 0, "error", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_PONG, CNR_PERMIT_REPLY, 0, "pong", NULL},
        {CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD, CNR_PERMIT_REPLY, 1, "mount_fd", NULL},
};

static bool
fd_open(int fd)
{
        return fcntl(fd, F_GETFD) != -1;
}

static void
on_a_close(struct cnr_peer *peer, struct cnr_err *err, void *arg)
{
        struct ctx *c = arg;

        assert_ptr_equal(peer, c->a);
        c->a_closes++;
        c->a_close_code = err ? err->code : 0;
        if (err)
                assert_true(strlen(cnr_err_str(err)) > 0);
        if (c->free_on_close) {
                cnr_peer_free(c->a);
                c->a = NULL;
        }
}

static void
on_b_close(struct cnr_peer *peer, struct cnr_err *err, void *arg)
{
        struct ctx *c = arg;

        c->b_closes++;
        c->b_close_code = err ? err->code : 0;
}

static void
on_a_hello(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *env, void *arg)
{
        cnr_peer_set_hello(peer);
}

static void
on_b_request(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *env, void *arg)
{
        struct ctx *c = arg;

        assert_ptr_equal(peer, c->b);
        assert_true(c->ngot < CNR_ARRAY_LEN(c->got_id));
        assert_int_equal(cnr_envelope_case(env), f->type);
        c->got_id[c->ngot] = f->reqid;
        c->got_type[c->ngot] = f->type;
        c->got_fd[c->ngot] = f->nfds > 0 ? cnr_frame_take_fd(f, 0) : -1;
        c->ngot++;
        if (c->b_free_in_handler) {
                cnr_peer_free(c->b);
                c->b = NULL;
        }
}

static void
on_reply(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *env, struct cnr_err *err, void *arg)
{
        struct req *r = arg;

        r->calls++;
        r->order = ++r->c->ncb;
        if (err) {
                assert_null(env);
                assert_null(f);
                r->code = err->code;
                assert_true(strlen(cnr_err_str(err)) > 0);
        } else {
                assert_non_null(env);
                assert_non_null(f);
                assert_int_equal(f->reqid, r->id);
                r->type = f->type;
                if (f->type == CNR__HELPER__FROM_HELPER__MSG_PONG)
                        r->served = ((Cnr__Helper__FromHelper *)env)->pong->served;
        }
        if (r->free_peer && r->c->a != NULL) {
                cnr_peer_free(r->c->a);
                r->c->a = NULL;
        }
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
}

static void
ctx_init(struct ctx *c)
{
        static const struct cnr_peer_ops a_ops = {
                .in = &cnr__helper__from_helper__descriptor,
                .permits = a_permits,
                .npermits = CNR_ARRAY_LEN(a_permits),
                .cap = CAP,
                .on_close = on_a_close,
        };
        static const struct cnr_peer_ops b_ops = {
                .in = &cnr__helper__to_helper__descriptor,
                .permits = b_permits,
                .npermits = CNR_ARRAY_LEN(b_permits),
                .cap = CAP,
                .on_close = on_b_close,
        };
        struct timeval tv = {.tv_sec = 0, .tv_usec = 5000};
        int sv[2];

        memset(c, 0, sizeof(*c));
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        c->afd = sv[0];
        c->bfd = sv[1];
        c->base = event_base_new();
        assert_non_null(c->base);
        c->tick = event_new(c->base, -1, EV_PERSIST, tick, NULL);
        event_add(c->tick, &tv);
        c->a = cnr_peer_new(c->base, sv[0], "a", &a_ops, c);
        c->b = cnr_peer_new(c->base, sv[1], "b", &b_ops, c);
        assert_string_equal(cnr_peer_name(c->a), "a");
        assert_int_equal(cnr_peer_fd(c->a), sv[0]);
        assert_ptr_equal(cnr_peer_arg(c->a), c);
        assert_true(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
        cnr_peer_set_hello(c->a);
        cnr_peer_set_hello(c->b);
}

static void
ctx_fini(struct ctx *c)
{
        cnr_peer_free(c->a);
        cnr_peer_free(c->b);
        for (size_t i = 0; i < c->ngot; i++)
                if (c->got_fd[i] >= 0)
                        close(c->got_fd[i]);
        event_free(c->tick);
        event_base_free(c->base);
}

/* Run the loop until cond holds (or fail after 5 s). */
#define RUN_UNTIL(c, cond)                                                                                     \
        do {                                                                                                   \
                uint64_t end_ = cnr_now_ms() + 5000;                                                           \
                while (!(cond)) {                                                                              \
                        if (cnr_now_ms() > end_)                                                               \
                                fail_msg("timed out waiting for %s", #cond);                                   \
                        event_base_loop((c)->base, EVLOOP_ONCE);                                               \
                }                                                                                              \
        } while (0)

/* Run the loop for ms milliseconds. */
static void
run_for(struct ctx *c, unsigned ms)
{
        uint64_t end = cnr_now_ms() + ms;

        while (cnr_now_ms() < end)
                event_base_loop(c->base, EVLOOP_ONCE);
}

static int
ping(struct ctx *c, struct req *r, unsigned timeout_ms)
{
        Cnr__Helper__Ping p = CNR__HELPER__PING__INIT;
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        struct cnr_err *err = NULL;
        int id;

        env.op_case = CNR__HELPER__TO_HELPER__OP_PING;
        env.ping = &p;
        r->c = c;
        id = cnr_peer_request(c->a, CNR__HELPER__TO_HELPER__OP_PING, &env.base, NULL, 0, timeout_ms, on_reply, r,
                              &err);
        if (id < 0)
                fail_msg("request: %s", cnr_err_str(err));
        assert_true(id > 0);
        r->id = (uint32_t)id;
        return id;
}

static void
pong(struct ctx *c, uint32_t reqid, uint64_t served)
{
        Cnr__Helper__Pong p = CNR__HELPER__PONG__INIT;
        Cnr__Helper__FromHelper env = CNR__HELPER__FROM_HELPER__INIT;
        struct cnr_err *err = NULL;

        p.served = served;
        env.msg_case = CNR__HELPER__FROM_HELPER__MSG_PONG;
        env.pong = &p;
        if (cnr_peer_send(c->b, CNR__HELPER__FROM_HELPER__MSG_PONG, reqid, &env.base, NULL, 0, &err) < 0)
                fail_msg("send: %s", cnr_err_str(err));
}

/* ---- request / reply ---- */

static void
test_out_of_order_replies(void **state)
{
        struct ctx c;
        struct req r[8];

        memset(r, 0, sizeof(r));
        ctx_init(&c);
        for (size_t i = 0; i < 8; i++)
                ping(&c, &r[i], 2000);
        assert_int_equal(cnr_peer_pending(c.a), 8);
        RUN_UNTIL(&c, c.ngot == 8);
        for (size_t i = 0; i < 8; i++) {
                assert_int_equal(c.got_id[i], r[i].id);
                assert_int_equal(c.got_type[i], CNR__HELPER__TO_HELPER__OP_PING);
        }
        /* answer in a scrambled order: 5 3 7 0 6 1 4, and 2 with an error */
        static const int order[] = {5, 3, 7, 0, 6, 1, 4};
        for (size_t k = 0; k < CNR_ARRAY_LEN(order); k++)
                pong(&c, c.got_id[order[k]], 1000 + c.got_id[order[k]]);
        assert_int_equal(cnr_peer_send_error(c.b, CNR__HELPER__FROM_HELPER__MSG_ERROR,
                                             &cnr__helper__from_helper__descriptor, c.got_id[2], EACCES, "no"),
                         0);
        RUN_UNTIL(&c, c.ncb == 8);
        for (size_t k = 0; k < CNR_ARRAY_LEN(order); k++) {
                struct req *q = &r[order[k]];
                assert_int_equal(q->calls, 1);
                assert_int_equal(q->code, 0);
                assert_int_equal(q->type, CNR__HELPER__FROM_HELPER__MSG_PONG);
                assert_int_equal(q->served, 1000 + q->id);
                assert_int_equal(q->order, (int)k + 1);
        }
        assert_int_equal(r[2].calls, 1);
        assert_int_equal(r[2].type, CNR__HELPER__FROM_HELPER__MSG_ERROR);
        assert_int_equal(cnr_peer_pending(c.a), 0);
        /* request ids are distinct */
        for (size_t i = 0; i < 8; i++)
                for (size_t j = i + 1; j < 8; j++)
                        assert_int_not_equal(r[i].id, r[j].id);
        /* nothing more happens, no close */
        run_for(&c, 20);
        assert_int_equal(c.ncb, 8);
        assert_int_equal(c.a_closes, 0);
        assert_int_equal(c.b_closes, 0);
        ctx_fini(&c);
}

static void
test_reply_to_unknown_reqid(void **state)
{
        struct ctx c;
        struct req r;

        memset(&r, 0, sizeof(r));
        ctx_init(&c);
        c.free_on_close = true;
        ping(&c, &r, 0);
        pong(&c, r.id + 100, 1);
        RUN_UNTIL(&c, c.a_closes > 0);
        assert_int_equal(c.a_closes, 1);
        assert_int_equal(c.a_close_code, EPROTO);
        assert_null(c.a);
        /* the pending request was failed when a was freed, once */
        assert_int_equal(r.calls, 1);
        assert_int_equal(r.code, ECONNRESET);
        ctx_fini(&c);
}

static void
test_timeout(void **state)
{
        struct ctx c;
        struct req r[2];

        memset(r, 0, sizeof(r));
        ctx_init(&c);
        ping(&c, &r[0], 30);
        ping(&c, &r[1], 0); /* no timeout */
        RUN_UNTIL(&c, r[0].calls > 0);
        assert_int_equal(r[0].code, ETIMEDOUT);
        assert_int_equal(cnr_peer_pending(c.a), 1);
        run_for(&c, 60);
        assert_int_equal(r[0].calls, 1);
        assert_int_equal(r[1].calls, 0);
        /* a late answer to the timed-out request is a protocol error */
        c.free_on_close = true;
        pong(&c, r[0].id, 1);
        RUN_UNTIL(&c, c.a_closes > 0);
        assert_int_equal(c.a_close_code, EPROTO);
        assert_int_equal(r[1].calls, 1);
        assert_int_equal(r[1].code, ECONNRESET);
        ctx_fini(&c);
}

/* A timeout callback that frees its peer. */
static void
test_free_in_timeout(void **state)
{
        struct ctx c;
        struct req r[3];

        memset(r, 0, sizeof(r));
        ctx_init(&c);
        ping(&c, &r[0], 10);
        ping(&c, &r[1], 0);
        ping(&c, &r[2], 5000);
        r[0].free_peer = true;
        RUN_UNTIL(&c, c.a == NULL);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[0].code, ETIMEDOUT);
        assert_int_equal(r[1].code, ECONNRESET);
        assert_int_equal(r[2].code, ECONNRESET);
        assert_false(fd_open(c.afd));
        run_for(&c, 20);
        assert_int_equal(c.a_closes, 0);
        ctx_fini(&c);
}

/* A reply callback that frees its peer, with more replies already
 * queued on the socket behind it. */
static void
test_free_in_reply(void **state)
{
        struct ctx c;
        struct req r[4];

        memset(r, 0, sizeof(r));
        ctx_init(&c);
        for (size_t i = 0; i < 4; i++)
                ping(&c, &r[i], 0);
        r[1].free_peer = true;
        RUN_UNTIL(&c, c.ngot == 4);
        for (size_t i = 0; i < 4; i++)
                pong(&c, c.got_id[i], i);
        RUN_UNTIL(&c, c.a == NULL);
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[0].code, 0);
        assert_int_equal(r[1].code, 0);
        assert_int_equal(r[2].code, ECONNRESET);
        assert_int_equal(r[3].code, ECONNRESET);
        assert_false(fd_open(c.afd));
        assert_int_equal(c.a_closes, 0);
        ctx_fini(&c);
}

/* A handler that frees its peer while more requests wait behind. */
static void
test_free_in_handler(void **state)
{
        struct ctx c;
        struct req r[3];

        memset(r, 0, sizeof(r));
        ctx_init(&c);
        c.b_free_in_handler = true;
        c.free_on_close = true;
        for (size_t i = 0; i < 3; i++)
                ping(&c, &r[i], 0);
        RUN_UNTIL(&c, c.b == NULL);
        assert_int_equal(c.ngot, 1);
        assert_false(fd_open(c.bfd));
        /* b went away with requests unread, which the kernel reports to a
         * as ECONNRESET: the peer treats that as the end of the stream (no
         * protocol error, close code 0); a frees itself from on_close and
         * its requests fail once each with ECONNRESET */
        RUN_UNTIL(&c, c.a == NULL);
        assert_int_equal(c.a_closes, 1);
        assert_int_equal(c.a_close_code, 0);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(r[i].calls, 1);
                assert_int_equal(r[i].code, ECONNRESET);
        }
        ctx_fini(&c);
}

static void
test_fail_pending(void **state)
{
        struct ctx c;
        struct req r[5];

        memset(r, 0, sizeof(r));
        ctx_init(&c);
        for (size_t i = 0; i < 3; i++)
                ping(&c, &r[i], 5000);
        /* the owner fails them (the helper died) */
        cnr_peer_fail_pending(c.a, ECONNRESET, "helper died");
        assert_int_equal(cnr_peer_pending(c.a), 0);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(r[i].calls, 1);
                assert_int_equal(r[i].code, ECONNRESET);
        }
        /* late answers are protocol errors; timers are gone */
        run_for(&c, 20);

        /* new requests, then the peer goes away: freed from on_close,
         * every callback exactly once */
        ping(&c, &r[3], 5000);
        ping(&c, &r[4], 0);
        RUN_UNTIL(&c, c.ngot == 5);
        c.free_on_close = true;
        cnr_peer_free(c.b);
        c.b = NULL;
        RUN_UNTIL(&c, c.a == NULL);
        assert_int_equal(c.a_closes, 1);
        assert_int_equal(c.a_close_code, 0);
        for (size_t i = 0; i < 5; i++) {
                assert_int_equal(r[i].calls, 1);
                assert_int_equal(r[i].code, ECONNRESET);
        }
        run_for(&c, 20);
        for (size_t i = 0; i < 5; i++)
                assert_int_equal(r[i].calls, 1);
        ctx_fini(&c);
}

/* The owner calls fail_pending; a callback frees the peer. */
static void
test_free_in_fail_pending(void **state)
{
        struct ctx c;
        struct req r[3];

        memset(r, 0, sizeof(r));
        ctx_init(&c);
        for (size_t i = 0; i < 3; i++)
                ping(&c, &r[i], 0);
        for (size_t i = 0; i < 3; i++)
                r[i].free_peer = true;
        cnr_peer_fail_pending(c.a, ECONNRESET, "helper died");
        assert_null(c.a);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(r[i].calls, 1);
                assert_int_equal(r[i].code, ECONNRESET);
        }
        /* the peer is gone for real: its socket is closed */
        assert_false(fd_open(c.afd));
        ctx_fini(&c);
}

/* ---- a full socket ---- */

static void
test_full_socket_queues_in_order(void **state)
{
        Cnr__Helper__SnapMkdir mk = CNR__HELPER__SNAP_MKDIR__INIT;
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__Ping p = CNR__HELPER__PING__INIT;
        Cnr__Helper__ToHelper penv = CNR__HELPER__TO_HELPER__INIT;
        struct cnr_err *err = NULL;
        struct ctx c;
        struct stat st, st2;
        size_t nfill = 0, len;
        uint8_t *buf;
        int sz = 4096, memfd, many[CNR_IPC_MAX_FDS + 1];

        ctx_init(&c);
        assert_int_equal(setsockopt(c.afd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
        penv.op_case = CNR__HELPER__TO_HELPER__OP_PING;
        penv.ping = &p;
        buf = cnr_frame_encode(CNR__HELPER__TO_HELPER__OP_PING, 0, &penv.base, CAP, &len, &err);
        assert_non_null(buf);
        /* fill the socket behind the peer's back */
        for (;;) {
                buf[4] = (uint8_t)nfill;
                buf[5] = (uint8_t)(nfill >> 8);
                if (cnr_frame_send_raw(c.afd, buf, len, NULL, 0, &err) < 0)
                        break;
                nfill++;
                assert_true(nfill < 1000);
        }
        assert_true(err->code == EAGAIN || err->code == EWOULDBLOCK);
        cnr_err_free(&err);
        free(buf);
        assert_true(nfill > 0);

        /* these are queued; one carries an fd closed right after the send */
        for (uint32_t i = 0; i < 5; i++)
                assert_int_equal(cnr_peer_send(c.a, CNR__HELPER__TO_HELPER__OP_PING, 5000 + i, &penv.base, NULL, 0,
                                               &err),
                                 0);
        memfd = memfd_create("test_peer", MFD_CLOEXEC);
        assert_true(memfd >= 0);
        assert_int_equal(fstat(memfd, &st), 0);
        mk.name = "x";
        env.op_case = CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR;
        env.snap_mkdir = &mk;
        assert_int_equal(cnr_peer_send(c.a, CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR, 6000, &env.base, &memfd, 1, &err),
                         0);
        close(memfd);
        /* more fds than a frame carries are refused while queueing too */
        for (size_t i = 0; i < CNR_ARRAY_LEN(many); i++)
                many[i] = c.afd;
        assert_int_equal(cnr_peer_send(c.a, CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR, 6001, &env.base, many,
                                       CNR_ARRAY_LEN(many), &err),
                         -1);
        assert_int_equal(err->code, EINVAL);
        cnr_err_free(&err);
        /* and an over-cap message is refused up front */
        {
                char big[CAP];
                memset(big, 'x', sizeof(big) - 1);
                big[sizeof(big) - 1] = '\0';
                mk.name = big;
                assert_int_equal(cnr_peer_send(c.a, CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR, 6002, &env.base, NULL, 0,
                                               &err),
                                 -1);
                assert_int_equal(err->code, EMSGSIZE);
                cnr_err_free(&err);
                mk.name = "x";
        }

        RUN_UNTIL(&c, c.ngot == nfill + 6);
        for (size_t i = 0; i < nfill; i++)
                assert_int_equal(c.got_id[i], i);
        for (uint32_t i = 0; i < 5; i++)
                assert_int_equal(c.got_id[nfill + i], 5000 + i);
        assert_int_equal(c.got_id[nfill + 5], 6000);
        assert_int_equal(c.got_type[nfill + 5], CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR);
        assert_true(c.got_fd[nfill + 5] >= 0);
        assert_int_equal(fstat(c.got_fd[nfill + 5], &st2), 0);
        assert_int_equal(st.st_dev, st2.st_dev);
        assert_int_equal(st.st_ino, st2.st_ino);
        run_for(&c, 20);
        assert_int_equal(c.ngot, nfill + 6);
        assert_int_equal(c.a_closes + c.b_closes, 0);
        ctx_fini(&c);
}

/* Freeing a peer with a non-empty send queue closes the queued fds. */
static void
test_free_with_queue(void **state)
{
        Cnr__Helper__Ping p = CNR__HELPER__PING__INIT;
        Cnr__Helper__ToHelper penv = CNR__HELPER__TO_HELPER__INIT;
        struct cnr_err *err = NULL;
        struct ctx c;
        int sz = 4096, before, memfd;
        size_t len;
        uint8_t *buf;

        ctx_init(&c);
        assert_int_equal(setsockopt(c.afd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
        penv.op_case = CNR__HELPER__TO_HELPER__OP_PING;
        penv.ping = &p;
        buf = cnr_frame_encode(CNR__HELPER__TO_HELPER__OP_PING, 0, &penv.base, CAP, &len, &err);
        while (cnr_frame_send_raw(c.afd, buf, len, NULL, 0, &err) == 0)
                ;
        cnr_err_free(&err);
        free(buf);
        memfd = memfd_create("test_peer", MFD_CLOEXEC);
        before = fcntl(memfd, F_DUPFD_CLOEXEC, 0); /* the lowest free fd */
        close(before);
        assert_int_equal(cnr_peer_send(c.a, CNR__HELPER__TO_HELPER__OP_SNAP_MKDIR, 1, &penv.base, &memfd, 1, &err),
                         0);
        /* the queued dup took the lowest free slot */
        assert_true(fd_open(before));
        cnr_peer_free(c.a);
        c.a = NULL;
        assert_false(fd_open(before));
        close(memfd);
        ctx_fini(&c);
}

/* ---- bad input ---- */

struct garbage {
        const char *what;
        uint8_t bytes[32];
        size_t len;
        int code;
};

static void
test_garbage(void **state)
{
        static const struct garbage cases[] = {
                {"short", {'x', 'y', 'z'}, 3, EPROTO},
                {"bad version", {9, 0, 1, 0, 1, 0, 0, 0}, 8, EPROTO},
                {"type 0", {1, 0, 0, 0, 1, 0, 0, 0}, 8, EPROTO},
                {"type not permitted", {1, 0, 9, 0, 1, 0, 0, 0}, 8, EPERM},
                {"hello after hello", {1, 0, 1, 0, 1, 0, 0, 0, 0x0a, 0x00}, 10, EPERM},
                {"undecodable", {1, 0, 3, 0, 1, 0, 0, 0, 0x1a, 0x09, 0x01}, 11, EBADMSG},
                {"case mismatch", {1, 0, 3, 0, 1, 0, 0, 0, 0x0a, 0x00}, 10, EBADMSG},
                {"unknown field", {1, 0, 3, 0, 1, 0, 0, 0, 0x1a, 0x00, 0x78, 0x01}, 12, EBADMSG},
        };

        for (size_t i = 0; i < CNR_ARRAY_LEN(cases); i++) {
                struct ctx c;

                ctx_init(&c);
                c.free_on_close = true;
                assert_int_equal(send(c.bfd, cases[i].bytes, cases[i].len, 0), (ssize_t)cases[i].len);
                RUN_UNTIL(&c, c.a_closes > 0);
                if (c.a_close_code != cases[i].code)
                        fail_msg("%s: closed with %d, want %d", cases[i].what, c.a_close_code, cases[i].code);
                assert_int_equal(c.a_closes, 1);
                ctx_fini(&c);
        }
}

static void
test_oversized(void **state)
{
        struct ctx c;
        uint8_t *big = xcalloc(1, CAP + 1);

        ctx_init(&c);
        c.free_on_close = true;
        big[0] = 1;
        big[2] = CNR__HELPER__FROM_HELPER__MSG_PONG;
        assert_int_equal(send(c.bfd, big, CAP + 1, 0), CAP + 1);
        RUN_UNTIL(&c, c.a_closes > 0);
        assert_int_equal(c.a_close_code, EMSGSIZE);
        free(big);
        ctx_fini(&c);
}

/* Before the handshake only hello is allowed; hello then opens the rest. */
static void
test_hello(void **state)
{
        Cnr__Hello h = CNR__HELLO__INIT;
        Cnr__Helper__FromHelper env = CNR__HELPER__FROM_HELPER__INIT;
        struct cnr_err *err = NULL;
        struct ctx c;
        struct req r;

        memset(&r, 0, sizeof(r));
        ctx_init(&c);
        /* a fresh a that has not seen the helper's hello */
        {
                struct cnr_peer_ops ops = {
                        .in = &cnr__helper__from_helper__descriptor,
                        .permits = a_permits,
                        .npermits = CNR_ARRAY_LEN(a_permits),
                        .cap = CAP,
                        .on_close = on_a_close,
                };
                int sv[2];

                cnr_peer_free(c.a);
                cnr_peer_free(c.b);
                assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
                c.afd = sv[0];
                c.bfd = sv[1];
                c.a = cnr_peer_new(c.base, sv[0], "a", &ops, &c);
                c.b = NULL;
        }
        assert_false(cnr_peer_hello_done(c.a));
        h.protocol = CNR_IPC_PROTOCOL;
        h.name = "b";
        env.msg_case = CNR__HELPER__FROM_HELPER__MSG_HELLO;
        env.hello = &h;
        assert_int_equal(cnr_frame_send(c.bfd, CNR__HELPER__FROM_HELPER__MSG_HELLO, 0, &env.base, NULL, 0, CAP,
                                        &err),
                         0);
        RUN_UNTIL(&c, cnr_peer_hello_done(c.a));
        assert_int_equal(c.a_closes, 0);
        /* a second hello is refused */
        c.free_on_close = true;
        assert_int_equal(cnr_frame_send(c.bfd, CNR__HELPER__FROM_HELPER__MSG_HELLO, 0, &env.base, NULL, 0, CAP,
                                        &err),
                         0);
        RUN_UNTIL(&c, c.a_closes > 0);
        assert_int_equal(c.a_close_code, EPERM);
        close(c.bfd);
        ctx_fini(&c);
}

static void
test_send_after_close(void **state)
{
        Cnr__Helper__Ping p = CNR__HELPER__PING__INIT;
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        struct cnr_err *err = NULL;
        struct ctx c;
        struct req r;

        memset(&r, 0, sizeof(r));
        ctx_init(&c);
        env.op_case = CNR__HELPER__TO_HELPER__OP_PING;
        env.ping = &p;
        cnr_peer_free(c.b);
        c.b = NULL;
        RUN_UNTIL(&c, c.a_closes > 0);
        assert_int_equal(c.a_close_code, 0);
        assert_int_equal(cnr_peer_send(c.a, 1, 1, &env.base, NULL, 0, &err), -1);
        assert_int_equal(err->code, ECONNRESET);
        cnr_err_free(&err);
        assert_int_equal(cnr_peer_request(c.a, 1, &env.base, NULL, 0, 0, on_reply, &r, &err), -1);
        assert_int_equal(err->code, ECONNRESET);
        cnr_err_free(&err);
        assert_int_equal(r.calls, 0);
        assert_int_equal(cnr_peer_pending(c.a), 0);
        ctx_fini(&c);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_out_of_order_replies),
                cmocka_unit_test(test_reply_to_unknown_reqid),
                cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_free_in_timeout),
                cmocka_unit_test(test_free_in_reply),
                cmocka_unit_test(test_free_in_handler),
                cmocka_unit_test(test_fail_pending),
                cmocka_unit_test(test_free_in_fail_pending),
                cmocka_unit_test(test_full_socket_queues_in_order),
                cmocka_unit_test(test_free_with_queue),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_oversized),
                cmocka_unit_test(test_hello),
                cmocka_unit_test(test_send_after_close),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
