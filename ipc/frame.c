#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "ipc/frame.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04 /* Linux 6.5: an fd the kernel installs for SO_PASSPIDFD */
#endif

static void
put_le16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void
put_le32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

static uint16_t
get_le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
get_le32(const uint8_t *p)
{
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint8_t *
cnr_frame_encode(uint16_t type, uint32_t reqid, const ProtobufCMessage *msg, size_t cap, size_t *out_len,
                 struct cnr_err **err)
{
        size_t body = msg ? protobuf_c_message_get_packed_size(msg) : 0;
        uint8_t *buf;

        if (cap < CNR_IPC_HDR_LEN || body > cap - CNR_IPC_HDR_LEN) {
                cnr_errf(err, EMSGSIZE, "message type %u is %zu bytes, over the channel cap of %zu", type,
                         body + CNR_IPC_HDR_LEN, cap);
                return NULL;
        }
        buf = xmalloc(CNR_IPC_HDR_LEN + body);
        put_le16(buf, CNR_IPC_PROTOCOL);
        put_le16(buf + 2, type);
        put_le32(buf + 4, reqid);
        if (msg)
                protobuf_c_message_pack(msg, buf + CNR_IPC_HDR_LEN);
        *out_len = CNR_IPC_HDR_LEN + body;
        return buf;
}

int
cnr_frame_send_raw(int sock, const void *buf, size_t len, const int *fds, size_t nfds, struct cnr_err **err)
{
        struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * CNR_IPC_MAX_FDS)];
        } ctl;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n;

        if (nfds > CNR_IPC_MAX_FDS)
                return cnr_errf(err, EINVAL, "too many fds (%zu) for one message", nfds);
        if (nfds > 0) {
                struct cmsghdr *c;

                memset(&ctl, 0, sizeof(ctl));
                mh.msg_control = ctl.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
        }
        do
                n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return cnr_errf(err, errno, "send");
        if ((size_t)n != len)
                return cnr_errf(err, EMSGSIZE, "short send (%zd of %zu bytes)", n, len);
        return 0;
}

int
cnr_frame_send(int sock, uint16_t type, uint32_t reqid, const ProtobufCMessage *msg, const int *fds, size_t nfds,
               size_t cap, struct cnr_err **err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;

        buf = cnr_frame_encode(type, reqid, msg, cap, &len, err);
        if (buf == NULL)
                return -1;
        return cnr_frame_send_raw(sock, buf, len, fds, nfds, err);
}

int
cnr_frame_parse(const uint8_t *buf, size_t len, struct cnr_frame *f, struct cnr_err **err)
{
        if (len < CNR_IPC_HDR_LEN)
                return cnr_errf(err, EPROTO, "short frame (%zu bytes, header is %d)", len, CNR_IPC_HDR_LEN);
        f->version = get_le16(buf);
        f->type = get_le16(buf + 2);
        f->reqid = get_le32(buf + 4);
        f->body = buf + CNR_IPC_HDR_LEN;
        f->len = len - CNR_IPC_HDR_LEN;
        if (f->version != CNR_IPC_PROTOCOL)
                return cnr_errf(err, EPROTO, "frame version %u, expected %u", f->version, CNR_IPC_PROTOCOL);
        if (f->type == 0)
                return cnr_errf(err, EPROTO, "frame type 0");
        return 0;
}

/* Close every fd the kernel installed while receiving: those of
 * SCM_RIGHTS, and the pidfd of SCM_PIDFD (only sent when SO_PASSPIDFD is
 * set on our socket, which we never do, but an fd must never leak). */
static void
close_cmsg_fds(struct msghdr *mh)
{
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level == SOL_SOCKET && (c->cmsg_type == SCM_RIGHTS || c->cmsg_type == SCM_PIDFD) &&
                    c->cmsg_len >= CMSG_LEN(0)) {
                        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int *fds = (int *)CMSG_DATA(c);
                        for (size_t i = 0; i < n; i++)
                                close(fds[i]);
                }
        }
}

int
cnr_frame_recv(int sock, uint8_t *buf, size_t cap, struct cnr_frame *f, struct cnr_err **err)
{
        struct iovec iov = {.iov_base = buf, .iov_len = cap};
        union {
                struct cmsghdr h;
                /* Room for more fds than we accept, so that an excess is
                 * seen (and closed) rather than silently truncated. */
                char buf[CMSG_SPACE(sizeof(int) * (CNR_IPC_MAX_FDS * 4))];
        } ctl;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        struct cmsghdr *c;
        ssize_t n;
        int ncmsg = 0;

        memset(f, 0, sizeof(*f));
        for (size_t i = 0; i < CNR_IPC_MAX_FDS; i++)
                f->fds[i] = -1;
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return cnr_errf(err, errno, "receive");
        if (n == 0 && mh.msg_controllen == 0)
                return 0;
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                close_cmsg_fds(&mh);
                return cnr_errf(err, EMSGSIZE, "%s (cap %zu bytes)",
                                (mh.msg_flags & MSG_TRUNC) ? "oversized message" : "truncated control data",
                                cap);
        }
        for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
                size_t nfd;

                ncmsg++;
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || ncmsg > 1 ||
                    c->cmsg_len < CMSG_LEN(sizeof(int)) || (c->cmsg_len - CMSG_LEN(0)) % sizeof(int) != 0) {
                        close_cmsg_fds(&mh);
                        for (size_t i = 0; i < f->nfds; i++)
                                f->fds[i] = -1; /* closed above */
                        f->nfds = 0;
                        return cnr_errf(err, EBADMSG, "unexpected control message (level %d type %d len %zu)",
                                        c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
                }
                nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                if (nfd > CNR_IPC_MAX_FDS) {
                        close_cmsg_fds(&mh);
                        return cnr_errf(err, EBADMSG, "%zu fds in one message (at most %d)", nfd,
                                        CNR_IPC_MAX_FDS);
                }
                memcpy(f->fds, CMSG_DATA(c), nfd * sizeof(int));
                f->nfds = nfd;
        }
        if (cnr_frame_parse(buf, (size_t)n, f, err) < 0) {
                cnr_frame_close_fds(f);
                return -1;
        }
        return 1;
}

void
cnr_frame_close_fds(struct cnr_frame *f)
{
        for (size_t i = 0; i < CNR_IPC_MAX_FDS; i++) {
                if (i < f->nfds && f->fds[i] >= 0)
                        close(f->fds[i]);
                f->fds[i] = -1;
        }
        f->nfds = 0;
}

int
cnr_frame_take_fd(struct cnr_frame *f, size_t i)
{
        int fd;

        if (i >= f->nfds)
                return -1;
        fd = f->fds[i];
        f->fds[i] = -1;
        return fd;
}

static int
has_unknown_fields(const ProtobufCMessage *m, int depth)
{
        const ProtobufCMessageDescriptor *d = m->descriptor;

        if (depth > 16 || m->n_unknown_fields > 0)
                return 1;
        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *fd = &d->fields[i];
                const char *base = (const char *)m;

                if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
                        continue;
                if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                        uint32_t which = *(const uint32_t *)(base + fd->quantifier_offset);
                        if (which != fd->id)
                                continue;
                }
                if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
                        size_t n = *(const size_t *)(base + fd->quantifier_offset);
                        ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + fd->offset);
                        for (size_t j = 0; j < n; j++)
                                if (arr[j] && has_unknown_fields(arr[j], depth + 1))
                                        return 1;
                } else {
                        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + fd->offset);
                        if (sub && has_unknown_fields(sub, depth + 1))
                                return 1;
                }
        }
        return 0;
}

uint32_t
cnr_envelope_case(const ProtobufCMessage *msg)
{
        const ProtobufCMessageDescriptor *d = msg->descriptor;

        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *fd = &d->fields[i];
                if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                        return *(const uint32_t *)((const char *)msg + fd->quantifier_offset);
        }
        return 0;
}

ProtobufCMessage *
cnr_frame_decode(const struct cnr_frame *f, const ProtobufCMessageDescriptor *desc, struct cnr_err **err)
{
        ProtobufCMessage *m;
        uint32_t which;

        m = protobuf_c_message_unpack(desc, NULL, f->len, f->body);
        if (m == NULL) {
                cnr_errf(err, EBADMSG, "undecodable %s body (%zu bytes)", desc->short_name, f->len);
                return NULL;
        }
        if (!protobuf_c_message_check(m)) {
                cnr_errf(err, EBADMSG, "invalid %s message", desc->short_name);
                goto fail;
        }
        if (has_unknown_fields(m, 0)) {
                cnr_errf(err, EBADMSG, "%s message with unknown fields", desc->short_name);
                goto fail;
        }
        which = cnr_envelope_case(m);
        if (which != f->type) {
                cnr_errf(err, EBADMSG, "%s body holds case %u but the header says type %u", desc->short_name,
                         which, f->type);
                goto fail;
        }
        return m;
fail:
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
}
