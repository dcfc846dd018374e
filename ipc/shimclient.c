#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "ipc/frame.h"
#include "ipc/shimclient.h"

int
cnr_shim_spec_memfd(const Cnr__Shim__ContainerSpec *spec, struct cnr_err **err)
{
        size_t len = cnr__shim__container_spec__get_packed_size(spec);
        _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
        _cleanup_close_ int fd = memfd_create("containr-spec", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0)
                return cnr_errf(err, errno, "memfd_create");
        cnr__shim__container_spec__pack(spec, buf);
        if (cnr_write_all(fd, buf, len) < 0)
                return cnr_errf(err, errno, "write the spec");
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                return cnr_errf(err, errno, "seal the spec");
        return steal_fd(&fd);
}

int
cnr_shim_send_bundle(int setup, const int *fds, size_t n, struct cnr_err **err)
{
        Cnr__Shim__Setup env = CNR__SHIM__SETUP__INIT;
        Cnr__Shim__Bundle b = CNR__SHIM__BUNDLE__INIT;
        _cleanup_free_ uint8_t *dgram = NULL;
        size_t len;
        union {
                char buf[CMSG_SPACE(64 * sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        struct cmsghdr *c;

        if (n == 0 || n > 64)
                return cnr_errf(err, EINVAL, "a bundle carries 1 to 64 fds");
        env.msg_case = CNR__SHIM__SETUP__MSG_BUNDLE;
        env.bundle = &b;
        dgram = cnr_frame_encode(env.msg_case, 0, &env.base, CNR_IPC_HELPER_CAP, &len, err);
        if (!dgram)
                return -1;
        iov = (struct iovec){.iov_base = dgram, .iov_len = len};
        memset(&u, 0, sizeof(u));
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n * sizeof(int));
        if (sendmsg(setup, &mh, MSG_NOSIGNAL) != (ssize_t)len)
                return cnr_errf(err, errno, "send the fd bundle");
        return 0;
}

int
cnr_shim_created(int setup, int timeout_ms, pid_t *pid, struct cnr_err **err)
{
        uint8_t buf[CNR_IPC_HELPER_CAP];
        struct cnr_frame f;
        Cnr__Shim__Setup *env;
        int r;

        r = poll(&(struct pollfd){.fd = setup, .events = POLLIN}, 1, timeout_ms);
        if (r <= 0)
                return cnr_errf(err, r == 0 ? ETIMEDOUT : errno, "no answer from the shim");
        r = cnr_frame_recv(setup, buf, sizeof(buf), &f, err);
        if (r == 0)
                return cnr_errf(err, EPIPE, "the shim closed its setup channel without an answer");
        if (r < 0)
                return -1;
        if (f.nfds) {
                cnr_frame_close_fds(&f);
                return cnr_errf(err, EBADMSG, "unexpected fds on the setup channel");
        }
        env = (Cnr__Shim__Setup *)cnr_frame_decode(&f, &cnr__shim__setup__descriptor, err);
        if (!env)
                return -1;
        if (env->msg_case == CNR__SHIM__SETUP__MSG_CREATED) {
                *pid = env->created->pid;
                r = 0;
        } else if (env->msg_case == CNR__SHIM__SETUP__MSG_ERROR) {
                r = cnr_errf(err, env->error->errno_code, "%s", env->error->message);
        } else {
                r = cnr_errf(err, EBADMSG, "unexpected message on the setup channel");
        }
        protobuf_c_message_free_unpacked(&env->base, NULL);
        return r;
}

int
cnr_shim_call(int sock, Cnr__Shim__ToShim *req, const int *fds, size_t nfds, int timeout_ms,
              Cnr__Shim__FromShim **reply, int *rfds, size_t *nrfds, struct cnr_err **err)
{
        static uint32_t next = 1;
        uint8_t buf[CNR_IPC_HELPER_CAP];
        struct cnr_frame f;
        uint32_t id = next++;
        Cnr__Shim__FromShim *env;
        int r;

        if (cnr_frame_send(sock, (uint16_t)req->op_case, id, &req->base, fds, nfds, CNR_IPC_HELPER_CAP, err) < 0)
                return -1;
        r = poll(&(struct pollfd){.fd = sock, .events = POLLIN}, 1, timeout_ms);
        if (r <= 0)
                return cnr_errf(err, r == 0 ? ETIMEDOUT : errno, "no reply from the shim");
        r = cnr_frame_recv(sock, buf, sizeof(buf), &f, err);
        if (r == 0)
                return cnr_errf(err, EPIPE, "the shim closed the connection");
        if (r < 0)
                return -1;
        env = (Cnr__Shim__FromShim *)cnr_frame_decode(&f, &cnr__shim__from_shim__descriptor, err);
        if (!env) {
                cnr_frame_close_fds(&f);
                return -1;
        }
        if (env->msg_case == CNR__SHIM__FROM_SHIM__MSG_ERROR) {
                r = cnr_errf(err, env->error->errno_code, "%s", env->error->message);
                protobuf_c_message_free_unpacked(&env->base, NULL);
                cnr_frame_close_fds(&f);
                return r;
        }
        if (f.reqid != id && f.reqid != 0) {
                protobuf_c_message_free_unpacked(&env->base, NULL);
                cnr_frame_close_fds(&f);
                return cnr_errf(err, EPROTO, "reply to request %u, expected %u", f.reqid, id);
        }
        if (nrfds) {
                *nrfds = f.nfds;
                for (size_t i = 0; i < f.nfds; i++)
                        rfds[i] = cnr_frame_take_fd(&f, i);
        }
        cnr_frame_close_fds(&f);
        *reply = env;
        return 0;
}

int
cnr_shim_connect(const char *dir, struct cnr_err **err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int s = -1;
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Hello h = CNR__HELLO__INIT;
        Cnr__Shim__FromShim *rep = NULL;

        if (d < 0)
                return cnr_errf(err, errno, "open `%s`", dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/sock", d);
        s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (s < 0)
                return cnr_errf(err, errno, "socket");
        if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return cnr_errf(err, errno, "connect to `%s/sock`", dir);
        h.protocol = CNR_IPC_PROTOCOL;
        h.name = "client";
        h.pid = getpid();
        req.op_case = CNR__SHIM__TO_SHIM__OP_HELLO;
        req.hello = &h;
        if (cnr_shim_call(s, &req, NULL, 0, 5000, &rep, NULL, NULL, err) < 0)
                return cnr_err_wrap(err, "hello to the shim at `%s`", dir);
        if (rep->msg_case != CNR__SHIM__FROM_SHIM__MSG_HELLO || rep->hello->protocol != CNR_IPC_PROTOCOL) {
                protobuf_c_message_free_unpacked(&rep->base, NULL);
                return cnr_errf(err, EPROTO, "the shim at `%s` speaks another protocol", dir);
        }
        protobuf_c_message_free_unpacked(&rep->base, NULL);
        return steal_fd(&s);
}
