/* Unit tests for ipc/frame.[ch]: encoding, header parsing, body decoding
 * and the receive path over a real SOCK_SEQPACKET socketpair (fd passing,
 * control message checks, no fd ever leaked on an error path). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "ipc/api.pb-c.h"
#include "ipc/common.pb-c.h"
#include "ipc/frame.h"
#include "ipc/helper.pb-c.h"
#include "ipc/monitor.pb-c.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif

/* Number of open fds of this process (the directory's own fd included,
 * which is the same for every call). */
static int
count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        assert_non_null(d);
        while ((e = readdir(d)) != NULL)
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static bool
fd_open(int fd)
{
        return fcntl(fd, F_GETFD) != -1;
}

static void
seqpacket(int sv[2])
{
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* A file with a known identity to pass around; CLOEXEC deliberately
 * cleared so that the receiver's FD_CLOEXEC can only come from
 * MSG_CMSG_CLOEXEC. */
static int
plain_fd(void)
{
        int fd = memfd_create("test_frame", MFD_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(fcntl(fd, F_SETFD, 0), 0);
        return fd;
}

static void
same_file(int a, int b)
{
        struct stat sa, sb;

        assert_int_equal(fstat(a, &sa), 0);
        assert_int_equal(fstat(b, &sb), 0);
        assert_int_equal(sa.st_dev, sb.st_dev);
        assert_int_equal(sa.st_ino, sb.st_ino);
}

/* sendmsg with any number of fds and optional explicit extra cmsg space:
 * the test's own sender, free of frame.c's limits. */
static void
raw_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
        struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        char *ctl = NULL;

        if (nfds > 0) {
                struct cmsghdr *c;

                ctl = xcalloc(1, CMSG_SPACE(sizeof(int) * nfds));
                mh.msg_control = ctl;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
        }
        assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
        free(ctl);
}

/* A valid ToHelper{ping} datagram. */
static uint8_t *
ping_frame(uint32_t reqid, size_t *len)
{
        Cnr__Helper__Ping ping = CNR__HELPER__PING__INIT;
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        struct cnr_err *err = NULL;
        uint8_t *buf;

        env.op_case = CNR__HELPER__TO_HELPER__OP_PING;
        env.ping = &ping;
        buf = cnr_frame_encode(CNR__HELPER__TO_HELPER__OP_PING, reqid, &env.base, CNR_IPC_HELPER_CAP, len, &err);
        assert_non_null(buf);
        assert_null(err);
        return buf;
}

/* Header + hand-made body, ready for cnr_frame_parse. */
static uint8_t *
frame_with_body(uint16_t type, const uint8_t *body, size_t blen, size_t *len)
{
        uint8_t *buf = xmalloc(CNR_IPC_HDR_LEN + blen);

        buf[0] = CNR_IPC_PROTOCOL;
        buf[1] = 0;
        buf[2] = (uint8_t)type;
        buf[3] = (uint8_t)(type >> 8);
        buf[4] = 7;
        buf[5] = buf[6] = buf[7] = 0;
        memcpy(buf + CNR_IPC_HDR_LEN, body, blen);
        *len = CNR_IPC_HDR_LEN + blen;
        return buf;
}

/* Decode a hand-made body as desc with header type `type`; expect failure
 * with `code`. */
static void
expect_decode_fails(const ProtobufCMessageDescriptor *desc, uint16_t type, const uint8_t *body, size_t blen)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        size_t len;
        uint8_t *buf = frame_with_body(type, body, blen, &len);

        assert_int_equal(cnr_frame_parse(buf, len, &f, &err), 0);
        assert_null(cnr_frame_decode(&f, desc, &err));
        assert_non_null(err);
        assert_int_equal(err->code, EBADMSG);
        assert_true(strlen(err->msg) > 0);
        cnr_err_free(&err);
        free(buf);
}

/* ---- encode / decode round trips ---- */

struct roundtrip {
        const char *what;
        const ProtobufCMessageDescriptor *desc;
        const ProtobufCMessage *msg;
        uint16_t type;
};

static void
check_roundtrip(const struct roundtrip *rt)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        ProtobufCMessage *back;
        size_t len, plen, blen;
        uint8_t *buf, *orig, *again;

        buf = cnr_frame_encode(rt->type, 0x01020304u, rt->msg, CNR_IPC_HELPER_CAP, &len, &err);
        assert_non_null(buf);
        plen = protobuf_c_message_get_packed_size(rt->msg);
        assert_int_equal(len, CNR_IPC_HDR_LEN + plen);
        assert_int_equal(cnr_frame_parse(buf, len, &f, &err), 0);
        assert_int_equal(f.version, CNR_IPC_PROTOCOL);
        assert_int_equal(f.type, rt->type);
        assert_int_equal(f.reqid, 0x01020304u);
        assert_ptr_equal(f.body, buf + CNR_IPC_HDR_LEN);
        assert_int_equal(f.len, plen);

        back = cnr_frame_decode(&f, rt->desc, &err);
        if (back == NULL)
                fail_msg("%s: %s", rt->what, cnr_err_str(err));
        assert_ptr_equal(back->descriptor, rt->desc);
        assert_int_equal(cnr_envelope_case(back), rt->type);

        orig = xmalloc(plen ? plen : 1);
        protobuf_c_message_pack(rt->msg, orig);
        blen = protobuf_c_message_get_packed_size(back);
        assert_int_equal(blen, plen);
        again = xmalloc(blen ? blen : 1);
        protobuf_c_message_pack(back, again);
        assert_memory_equal(orig, again, plen);

        free(again);
        free(orig);
        protobuf_c_message_free_unpacked(back, NULL);
        free(buf);
}

static void
test_roundtrip_envelopes(void **state)
{
        /* cnr.api.Request{hello} and cnr.api.Reply{info} with a repeated
         * nested message. */
        Cnr__Hello hello = CNR__HELLO__INIT;
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ProcessInfo pi[2] = {CNR__API__PROCESS_INFO__INIT, CNR__API__PROCESS_INFO__INIT};
        Cnr__Api__ProcessInfo *pis[2] = {&pi[0], &pi[1]};
        Cnr__Api__InfoReply info = CNR__API__INFO_REPLY__INIT;
        Cnr__Api__Reply rep = CNR__API__REPLY__INIT;
        /* cnr.helper.ToHelper{mount_tmpfs}, FromHelper{error} */
        Cnr__Helper__MountTmpfs mt = CNR__HELPER__MOUNT_TMPFS__INIT;
        Cnr__Helper__ToHelper th = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Error e = CNR__ERROR__INIT;
        Cnr__Helper__FromHelper fh = CNR__HELPER__FROM_HELPER__INIT;
        /* cnr.mon.ToMonitor{kill_helper}, FromMonitor{helper_down} */
        Cnr__Mon__KillHelper kh = CNR__MON__KILL_HELPER__INIT;
        Cnr__Mon__ToMonitor tm = CNR__MON__TO_MONITOR__INIT;
        Cnr__Mon__HelperDown hd = CNR__MON__HELPER_DOWN__INIT;
        Cnr__Mon__FromMonitor fm = CNR__MON__FROM_MONITOR__INIT;
        /* cnr.LogChannel{record} */
        Cnr__LogRecord lr = CNR__LOG_RECORD__INIT;
        Cnr__LogChannel lc = CNR__LOG_CHANNEL__INIT;

        hello.protocol = CNR_IPC_PROTOCOL;
        hello.name = "containr";
        hello.pid = 4242;
        hello.version = "0.1.0";
        req.op_case = CNR__API__REQUEST__OP_HELLO;
        req.hello = &hello;

        pi[0].name = "monitor";
        pi[0].pid = 1;
        pi[0].caps = NULL;
        pi[1].name = "mountd";
        pi[1].uid = 990;
        pi[1].no_new_privs = true;
        info.version = "0.1.0";
        info.n_processes = 2;
        info.processes = pis;
        rep.msg_case = CNR__API__REPLY__MSG_INFO;
        rep.info = &info;

        mt.size_bytes = 1 << 20;
        mt.mode = 01777;
        mt.nosuid = true;
        th.op_case = CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS;
        th.mount_tmpfs = &mt;

        e.errno_code = EPERM;
        e.message = "mount `x`: not permitted";
        fh.msg_case = CNR__HELPER__FROM_HELPER__MSG_ERROR;
        fh.error = &e;

        kh.name = "snapd";
        kh.reason = "bad message";
        tm.op_case = CNR__MON__TO_MONITOR__OP_KILL_HELPER;
        tm.kill_helper = &kh;

        hd.name = "netd";
        hd.pid = 99;
        hd.exit_code = -1;
        hd.signal = 9;
        fm.msg_case = CNR__MON__FROM_MONITOR__MSG_HELPER_DOWN;
        fm.helper_down = &hd;

        lr.level = 2;
        lr.message = "hello from a helper";
        lc.msg_case = CNR__LOG_CHANNEL__MSG_RECORD;
        lc.record = &lr;

        const struct roundtrip cases[] = {
                {"api.Request", &cnr__api__request__descriptor, &req.base, CNR__API__REQUEST__OP_HELLO},
                {"api.Reply", &cnr__api__reply__descriptor, &rep.base, CNR__API__REPLY__MSG_INFO},
                {"helper.ToHelper", &cnr__helper__to_helper__descriptor, &th.base,
                 CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS},
                {"helper.FromHelper", &cnr__helper__from_helper__descriptor, &fh.base,
                 CNR__HELPER__FROM_HELPER__MSG_ERROR},
                {"mon.ToMonitor", &cnr__mon__to_monitor__descriptor, &tm.base,
                 CNR__MON__TO_MONITOR__OP_KILL_HELPER},
                {"mon.FromMonitor", &cnr__mon__from_monitor__descriptor, &fm.base,
                 CNR__MON__FROM_MONITOR__MSG_HELPER_DOWN},
                {"LogChannel", &cnr__log_channel__descriptor, &lc.base, CNR__LOG_CHANNEL__MSG_RECORD},
        };

        for (size_t i = 0; i < CNR_ARRAY_LEN(cases); i++)
                check_roundtrip(&cases[i]);
}

/* An empty oneof member (Ping{}) still encodes its case. */
static void
test_roundtrip_empty_member(void **state)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        ProtobufCMessage *m;
        size_t len;
        uint8_t *buf = ping_frame(9, &len);

        assert_int_equal(cnr_frame_parse(buf, len, &f, &err), 0);
        m = cnr_frame_decode(&f, &cnr__helper__to_helper__descriptor, &err);
        assert_non_null(m);
        assert_int_equal(cnr_envelope_case(m), CNR__HELPER__TO_HELPER__OP_PING);
        assert_non_null(((Cnr__Helper__ToHelper *)m)->ping);
        protobuf_c_message_free_unpacked(m, NULL);
        free(buf);
}

/* ---- header ---- */

static void
test_header_little_endian(void **state)
{
        static const uint8_t want[CNR_IPC_HDR_LEN] = {CNR_IPC_PROTOCOL, 0x00, 0x02, 0x01, 0xd4, 0xc3, 0xb2, 0xa1};
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        size_t len = 0;
        uint8_t *buf;

        buf = cnr_frame_encode(0x0102, 0xa1b2c3d4u, NULL, CNR_IPC_HELPER_CAP, &len, &err);
        assert_non_null(buf);
        assert_int_equal(len, CNR_IPC_HDR_LEN);
        assert_memory_equal(buf, want, CNR_IPC_HDR_LEN);
        free(buf);

        /* and the parser reads the same offsets back */
        assert_int_equal(cnr_frame_parse(want, sizeof(want), &f, &err), 0);
        assert_int_equal(f.version, CNR_IPC_PROTOCOL);
        assert_int_equal(f.type, 0x0102);
        assert_int_equal(f.reqid, 0xa1b2c3d4u);
        assert_int_equal(f.len, 0);
        assert_null(err);
}

static void
expect_parse_fails(const uint8_t *buf, size_t len, int code)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;

        assert_int_equal(cnr_frame_parse(buf, len, &f, &err), -1);
        assert_non_null(err);
        assert_int_equal(err->code, code);
        assert_true(strlen(err->msg) > 0);
        cnr_err_free(&err);
}

static void
test_header_errors(void **state)
{
        static const uint8_t v0[] = {0, 0, 1, 0, 1, 0, 0, 0};
        static const uint8_t v2[] = {2, 0, 1, 0, 1, 0, 0, 0};
        static const uint8_t v256[] = {0, 1, 1, 0, 1, 0, 0, 0}; /* version read as big-endian would be 1 */
        static const uint8_t type0[] = {1, 0, 0, 0, 1, 0, 0, 0};
        static const uint8_t ok[] = {1, 0, 1, 0, 0, 0, 0, 0};

        expect_parse_fails(v0, sizeof(v0), EPROTO);
        expect_parse_fails(v2, sizeof(v2), EPROTO);
        expect_parse_fails(v256, sizeof(v256), EPROTO);
        expect_parse_fails(type0, sizeof(type0), EPROTO);
        for (size_t n = 0; n < CNR_IPC_HDR_LEN; n++)
                expect_parse_fails(ok, n, EPROTO);
}

/* ---- body checks ---- */

static void
test_decode_undecodable(void **state)
{
        /* field 1 (ping, length-delimited) claiming 5 bytes, 1 present */
        static const uint8_t truncated[] = {0x0a, 0x05, 0x01};
        /* a varint that never ends */
        static const uint8_t endless[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        /* field number 0 is invalid */
        static const uint8_t field0[] = {0x00, 0x01};
        /* field 1 (a message) sent as a varint: wrong wire type */
        static const uint8_t wiretype[] = {0x08, 0x01};

        expect_decode_fails(&cnr__helper__to_helper__descriptor, 1, truncated, sizeof(truncated));
        expect_decode_fails(&cnr__helper__to_helper__descriptor, 1, endless, sizeof(endless));
        expect_decode_fails(&cnr__helper__to_helper__descriptor, 1, field0, sizeof(field0));
        expect_decode_fails(&cnr__helper__to_helper__descriptor, 1, wiretype, sizeof(wiretype));
}

static void
test_decode_case_mismatch(void **state)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        size_t len;
        uint8_t *buf = ping_frame(1, &len);

        /* ping (case 1) under a header that says mount_tmpfs (2) */
        buf[2] = CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS;
        assert_int_equal(cnr_frame_parse(buf, len, &f, &err), 0);
        assert_null(cnr_frame_decode(&f, &cnr__helper__to_helper__descriptor, &err));
        assert_int_equal(err->code, EBADMSG);
        cnr_err_free(&err);

        /* an empty body (case unset) under any type */
        assert_int_equal(cnr_frame_parse(buf, CNR_IPC_HDR_LEN, &f, &err), 0);
        assert_null(cnr_frame_decode(&f, &cnr__helper__to_helper__descriptor, &err));
        assert_int_equal(err->code, EBADMSG);
        cnr_err_free(&err);

        /* a type beyond every case of the envelope */
        buf[2] = 0xff;
        buf[3] = 0x7f;
        assert_int_equal(cnr_frame_parse(buf, len, &f, &err), 0);
        assert_null(cnr_frame_decode(&f, &cnr__helper__to_helper__descriptor, &err));
        assert_int_equal(err->code, EBADMSG);
        cnr_err_free(&err);
        free(buf);
}

static void
test_decode_unknown_fields(void **state)
{
        /* ToHelper{ping{}} + field 15 varint 1 at the top level */
        static const uint8_t top[] = {0x0a, 0x00, 0x78, 0x01};
        /* ToHelper{mount_tmpfs{size_bytes: 16, field 15: 1}} */
        static const uint8_t nested[] = {0x12, 0x04, 0x08, 0x10, 0x78, 0x01};
        /* ToHelper{mount_tmpfs{field 7 (fixed32)}}: unknown in a known member */
        static const uint8_t nested32[] = {0x12, 0x05, 0x3d, 0x01, 0x02, 0x03, 0x04};
        /* api.Reply{info{processes[1]{name: "a", field 99 varint 1}}}: in a
         * repeated message two levels down */
        static const uint8_t deep[] = {0x22, 0x08, 0x2a, 0x06, 0x0a, 0x01, 'a', 0x98, 0x06, 0x01};
        /* api.Request{hello{field 5 string "x"}}: in a shared cnr.Hello */
        static const uint8_t hello[] = {0x0a, 0x03, 0x2a, 0x01, 'x'};

        expect_decode_fails(&cnr__helper__to_helper__descriptor, CNR__HELPER__TO_HELPER__OP_PING, top,
                            sizeof(top));
        expect_decode_fails(&cnr__helper__to_helper__descriptor, CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS, nested,
                            sizeof(nested));
        expect_decode_fails(&cnr__helper__to_helper__descriptor, CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS,
                            nested32, sizeof(nested32));
        expect_decode_fails(&cnr__api__reply__descriptor, CNR__API__REPLY__MSG_INFO, deep, sizeof(deep));
        expect_decode_fails(&cnr__api__request__descriptor, CNR__API__REQUEST__OP_HELLO, hello, sizeof(hello));

        /* control: the same bodies without the extra field decode */
        {
                static const uint8_t ok_nested[] = {0x12, 0x02, 0x08, 0x10};
                static const uint8_t ok_deep[] = {0x22, 0x05, 0x2a, 0x03, 0x0a, 0x01, 'a'};
                struct cnr_err *err = NULL;
                struct cnr_frame f;
                ProtobufCMessage *m;
                size_t len;
                uint8_t *buf;

                buf = frame_with_body(CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS, ok_nested, sizeof(ok_nested), &len);
                assert_int_equal(cnr_frame_parse(buf, len, &f, &err), 0);
                m = cnr_frame_decode(&f, &cnr__helper__to_helper__descriptor, &err);
                assert_non_null(m);
                assert_int_equal(((Cnr__Helper__ToHelper *)m)->mount_tmpfs->size_bytes, 16);
                protobuf_c_message_free_unpacked(m, NULL);
                free(buf);

                buf = frame_with_body(CNR__API__REPLY__MSG_INFO, ok_deep, sizeof(ok_deep), &len);
                assert_int_equal(cnr_frame_parse(buf, len, &f, &err), 0);
                m = cnr_frame_decode(&f, &cnr__api__reply__descriptor, &err);
                assert_non_null(m);
                assert_string_equal(((Cnr__Api__Reply *)m)->info->processes[0]->name, "a");
                protobuf_c_message_free_unpacked(m, NULL);
                free(buf);
        }
}

/* ---- send / receive over a socketpair ---- */

static void
test_fd_passing(void **state)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        uint8_t rbuf[CNR_IPC_HELPER_CAP];
        Cnr__Helper__MountFd mfd = CNR__HELPER__MOUNT_FD__INIT;
        Cnr__Helper__FromHelper env = CNR__HELPER__FROM_HELPER__INIT;
        int sv[2], fds[2], got0, got1;

        seqpacket(sv);
        fds[0] = plain_fd();
        fds[1] = plain_fd();
        env.msg_case = CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD;
        env.mount_fd = &mfd;
        assert_int_equal(cnr_frame_send(sv[0], CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD, 77, &env.base, fds, 2,
                                        CNR_IPC_HELPER_CAP, &err),
                         0);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), 1);
        assert_null(err);
        assert_int_equal(f.type, CNR__HELPER__FROM_HELPER__MSG_MOUNT_FD);
        assert_int_equal(f.reqid, 77);
        assert_int_equal(f.nfds, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_true(f.fds[i] >= 0);
                assert_int_not_equal(f.fds[i], fds[i]);
                assert_true(fcntl(f.fds[i], F_GETFD) & FD_CLOEXEC);
                same_file(f.fds[i], fds[i]);
        }
        for (size_t i = 2; i < CNR_IPC_MAX_FDS; i++)
                assert_int_equal(f.fds[i], -1);

        /* take one, close the rest */
        got0 = cnr_frame_take_fd(&f, 0);
        got1 = f.fds[1];
        assert_int_equal(f.fds[0], -1);
        assert_int_equal(cnr_frame_take_fd(&f, 2), -1);
        cnr_frame_close_fds(&f);
        assert_true(fd_open(got0));
        assert_false(fd_open(got1));
        assert_int_equal(f.nfds, 0);
        close(got0);

        /* nothing else queued */
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), -1);
        assert_int_equal(err->code, EAGAIN);
        cnr_err_free(&err);

        close(fds[0]);
        close(fds[1]);
        close(sv[0]);
        close(sv[1]);
}

static void
test_send_too_many_fds_refused(void **state)
{
        struct cnr_err *err = NULL;
        int fds[CNR_IPC_MAX_FDS + 1];
        int sv[2];
        size_t len;
        uint8_t *buf = ping_frame(1, &len);

        seqpacket(sv);
        for (size_t i = 0; i < CNR_ARRAY_LEN(fds); i++)
                fds[i] = sv[0];
        assert_int_equal(cnr_frame_send_raw(sv[0], buf, len, fds, CNR_ARRAY_LEN(fds), &err), -1);
        assert_int_equal(err->code, EINVAL);
        cnr_err_free(&err);
        free(buf);
        close(sv[0]);
        close(sv[1]);
}

/* Received fds beyond CNR_IPC_MAX_FDS: an error, and every one of them
 * closed, whether or not they fit the control buffer. */
static void
check_too_many_fds(size_t nfds, int code)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        uint8_t rbuf[256];
        int sv[2], *fds = xcalloc(nfds, sizeof(int));
        int before;
        size_t len;
        uint8_t *buf = ping_frame(1, &len);

        seqpacket(sv);
        for (size_t i = 0; i < nfds; i++)
                fds[i] = plain_fd();
        before = count_fds();
        raw_send(sv[0], buf, len, fds, nfds);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), -1);
        assert_non_null(err);
        assert_int_equal(err->code, code);
        assert_int_equal(count_fds(), before);
        assert_int_equal(f.nfds, 0);
        cnr_err_free(&err);
        for (size_t i = 0; i < nfds; i++)
                close(fds[i]);
        free(fds);
        free(buf);
        close(sv[0]);
        close(sv[1]);
}

static void
test_recv_too_many_fds(void **state)
{
        check_too_many_fds(CNR_IPC_MAX_FDS + 1, EBADMSG);
        check_too_many_fds(CNR_IPC_MAX_FDS * 2, EBADMSG);
        /* more than the control buffer holds: MSG_CTRUNC */
        check_too_many_fds(CNR_IPC_MAX_FDS * 4 + 1, EMSGSIZE);
        check_too_many_fds(200, EMSGSIZE);
}

static void
test_recv_oversized(void **state)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        uint8_t big[200], rbuf[64];
        int sv[2], fds[3], before;

        seqpacket(sv);
        memset(big, 0, sizeof(big));
        big[0] = CNR_IPC_PROTOCOL;
        big[2] = 1;
        for (size_t i = 0; i < 3; i++)
                fds[i] = plain_fd();
        before = count_fds();
        raw_send(sv[0], big, sizeof(big), fds, 3);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), -1);
        assert_int_equal(err->code, EMSGSIZE);
        assert_int_equal(count_fds(), before);
        assert_int_equal(f.nfds, 0);
        for (size_t i = 0; i < CNR_IPC_MAX_FDS; i++)
                assert_int_equal(f.fds[i], -1);
        cnr_err_free(&err);

        /* exactly cap bytes is fine */
        raw_send(sv[0], big, sizeof(rbuf), NULL, 0);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), 1);
        assert_int_equal(f.len, sizeof(rbuf) - CNR_IPC_HDR_LEN);

        for (size_t i = 0; i < 3; i++)
                close(fds[i]);
        close(sv[0]);
        close(sv[1]);
}

/* A bad header on a datagram that carries fds: the fds are closed. */
static void
test_recv_bad_header_closes_fds(void **state)
{
        static const uint8_t bad[] = {9, 0, 1, 0, 0, 0, 0, 0};
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        uint8_t rbuf[64];
        int sv[2], fds[2], before;

        seqpacket(sv);
        fds[0] = plain_fd();
        fds[1] = plain_fd();
        before = count_fds();
        raw_send(sv[0], bad, sizeof(bad), fds, 2);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), -1);
        assert_int_equal(err->code, EPROTO);
        assert_int_equal(count_fds(), before);
        cnr_err_free(&err);

        /* a short datagram with fds */
        raw_send(sv[0], bad, 3, fds, 1);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), -1);
        assert_int_equal(err->code, EPROTO);
        assert_int_equal(count_fds(), before);
        cnr_err_free(&err);

        close(fds[0]);
        close(fds[1]);
        close(sv[0]);
        close(sv[1]);
}

/* SO_PASSCRED on the receiver makes the kernel add SCM_CREDENTIALS to
 * every datagram: a control message the frame does not allow. */
static void
test_recv_credentials_refused(void **state)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        uint8_t rbuf[64];
        int one = 1, sv[2], fds[2], before;
        size_t len;
        uint8_t *buf = ping_frame(3, &len);

        seqpacket(sv);
        assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
        fds[0] = plain_fd();
        fds[1] = plain_fd();
        before = count_fds();

        /* credentials alone */
        raw_send(sv[0], buf, len, NULL, 0);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), -1);
        assert_int_equal(err->code, EBADMSG);
        cnr_err_free(&err);

        /* two control messages: credentials and rights */
        raw_send(sv[0], buf, len, fds, 2);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), -1);
        assert_int_equal(err->code, EBADMSG);
        assert_int_equal(count_fds(), before);
        assert_int_equal(f.nfds, 0);
        for (size_t i = 0; i < CNR_IPC_MAX_FDS; i++)
                assert_int_equal(f.fds[i], -1);
        cnr_err_free(&err);

        for (size_t i = 0; i < 2; i++)
                close(fds[i]);
        free(buf);
        close(sv[0]);
        close(sv[1]);
}

/* SO_PASSPIDFD (Linux 6.5) makes the kernel install a pidfd as its own
 * control message: refused like any other, and the pidfd closed too. */
static void
test_recv_pidfd_refused(void **state)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        uint8_t rbuf[64];
        int one = 1, sv[2], before;
        size_t len;
        uint8_t *buf = ping_frame(3, &len);

        seqpacket(sv);
        if (setsockopt(sv[1], SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)) < 0) {
                free(buf);
                close(sv[0]);
                close(sv[1]);
                skip();
        }
        before = count_fds();
        raw_send(sv[0], buf, len, NULL, 0);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), -1);
        assert_int_equal(err->code, EBADMSG);
        assert_int_equal(count_fds(), before);
        cnr_err_free(&err);
        free(buf);
        close(sv[0]);
        close(sv[1]);
}

static void
test_send_over_cap(void **state)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        uint8_t rbuf[64];
        Cnr__LogRecord lr = CNR__LOG_RECORD__INIT;
        Cnr__LogChannel lc = CNR__LOG_CHANNEL__INIT;
        char text[200];
        int sv[2];
        size_t len;

        memset(text, 'x', sizeof(text) - 1);
        text[sizeof(text) - 1] = '\0';
        lr.message = text;
        lc.msg_case = CNR__LOG_CHANNEL__MSG_RECORD;
        lc.record = &lr;
        seqpacket(sv);
        assert_int_equal(cnr_frame_send(sv[0], 1, 1, &lc.base, NULL, 0, 64, &err), -1);
        assert_int_equal(err->code, EMSGSIZE);
        cnr_err_free(&err);
        assert_null(cnr_frame_encode(1, 1, &lc.base, 64, &len, &err));
        assert_int_equal(err->code, EMSGSIZE);
        cnr_err_free(&err);
        /* a cap smaller than the header refuses everything */
        assert_null(cnr_frame_encode(1, 1, NULL, CNR_IPC_HDR_LEN - 1, &len, &err));
        assert_int_equal(err->code, EMSGSIZE);
        cnr_err_free(&err);
        /* nothing went out */
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), -1);
        assert_int_equal(err->code, EAGAIN);
        cnr_err_free(&err);
        close(sv[0]);
        close(sv[1]);
}

static void
test_recv_eof(void **state)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        uint8_t rbuf[64];
        int sv[2];
        size_t len;
        uint8_t *buf = ping_frame(5, &len);

        seqpacket(sv);
        assert_int_equal(cnr_frame_send_raw(sv[0], buf, len, NULL, 0, &err), 0);
        close(sv[0]);
        /* the queued datagram first, then EOF, repeatedly */
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), 1);
        assert_int_equal(f.reqid, 5);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), 0);
        assert_int_equal(cnr_frame_recv(sv[1], rbuf, sizeof(rbuf), &f, &err), 0);
        assert_null(err);
        free(buf);
        close(sv[1]);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip_envelopes),
                cmocka_unit_test(test_roundtrip_empty_member),
                cmocka_unit_test(test_header_little_endian),
                cmocka_unit_test(test_header_errors),
                cmocka_unit_test(test_decode_undecodable),
                cmocka_unit_test(test_decode_case_mismatch),
                cmocka_unit_test(test_decode_unknown_fields),
                cmocka_unit_test(test_fd_passing),
                cmocka_unit_test(test_send_too_many_fds_refused),
                cmocka_unit_test(test_recv_too_many_fds),
                cmocka_unit_test(test_recv_oversized),
                cmocka_unit_test(test_recv_bad_header_closes_fds),
                cmocka_unit_test(test_recv_credentials_refused),
                cmocka_unit_test(test_recv_pidfd_refused),
                cmocka_unit_test(test_send_over_cap),
                cmocka_unit_test(test_recv_eof),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
