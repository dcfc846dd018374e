/* rawclient SOCKET MODE: a deliberately misbehaving API client.
 *
 *   garbage     send bytes that are no frame at all
 *   badtype     a well-formed header with a type the API does not know
 *   oversized   a datagram larger than the API cap
 *   nohello     a valid `info` request without the handshake
 *   hold        say hello, then keep the connection open until stdin closes
 *
 * Prints what the server did: "reply error: <message>" when it answered
 * with an error, then "closed" when it dropped the connection, or
 * "open" if it still holds it after 3 seconds. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "ipc/api.pb-c.h"
#include "ipc/frame.h"

static int
wait_reply(int fd)
{
        static uint8_t buf[CNR_IPC_API_CAP];
        struct cnr_frame f;
        struct cnr_err *err = NULL;
        int saw = 0;

        for (;;) {
                if (poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 3000) <= 0) {
                        printf("open\n");
                        return saw;
                }
                int r = cnr_frame_recv(fd, buf, sizeof(buf), &f, &err);
                if (r == 0) {
                        printf("closed\n");
                        return saw;
                }
                if (r < 0) {
                        printf("recv error: %s\n", cnr_err_str(err));
                        cnr_err_free(&err);
                        return saw;
                }
                Cnr__Api__Reply *rep = (Cnr__Api__Reply *)cnr_frame_decode(&f, &cnr__api__reply__descriptor, &err);
                if (rep == NULL) {
                        printf("undecodable reply: %s\n", cnr_err_str(err));
                        cnr_err_free(&err);
                } else {
                        if (rep->msg_case == CNR__API__REPLY__MSG_ERROR)
                                printf("reply error: %s\n", rep->error->message);
                        else
                                printf("reply type %d\n", (int)rep->msg_case);
                        protobuf_c_message_free_unpacked(&rep->base, NULL);
                }
                cnr_frame_close_fds(&f);
                saw++;
        }
}

int
main(int argc, char **argv)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct cnr_err *err = NULL;
        int fd;

        if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: rawclient SOCKET garbage|badtype|oversized|nohello|hold\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror("rawclient: connect");
                return 1;
        }
        if (strcmp(argv[2], "garbage") == 0) {
                static const char junk[] = "\xde\xad\xbe\xef this is not a frame";
                send(fd, junk, sizeof(junk), 0);
        } else if (strcmp(argv[2], "badtype") == 0) {
                uint8_t hdr[CNR_IPC_HDR_LEN] = {1, 0, 0x39, 0x05, 1, 0, 0, 0};
                send(fd, hdr, sizeof(hdr), 0);
        } else if (strcmp(argv[2], "oversized") == 0) {
                size_t n = CNR_IPC_API_CAP + 4096;
                uint8_t *big = xcalloc(1, n);
                big[0] = 1;
                big[2] = 2;
                int sz = (int)n * 2;
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
                if (send(fd, big, n, 0) < 0)
                        perror("rawclient: send");
                free(big);
        } else if (strcmp(argv[2], "nohello") == 0 || strcmp(argv[2], "hold") == 0) {
                Cnr__Api__Request req = CNR__API__REQUEST__INIT;
                Cnr__Api__Info info = CNR__API__INFO__INIT;
                Cnr__Hello hi = CNR__HELLO__INIT;

                if (strcmp(argv[2], "hold") == 0) {
                        hi.protocol = CNR_IPC_PROTOCOL;
                        hi.name = "rawclient";
                        hi.pid = getpid();
                        hi.version = PACKAGE_VERSION;
                        req.op_case = CNR__API__REQUEST__OP_HELLO;
                        req.hello = &hi;
                } else {
                        req.op_case = CNR__API__REQUEST__OP_INFO;
                        req.info = &info;
                }
                if (cnr_frame_send(fd, req.op_case, 1, &req.base, NULL, 0, CNR_IPC_API_CAP, &err) < 0) {
                        fprintf(stderr, "rawclient: %s\n", cnr_err_str(err));
                        return 1;
                }
                if (strcmp(argv[2], "hold") == 0) {
                        char c;
                        wait_reply(fd);
                        while (read(0, &c, 1) > 0)
                                ;
                        /* still served after the others misbehaved? */
                        req.op_case = CNR__API__REQUEST__OP_INFO;
                        req.info = &info;
                        cnr_frame_send(fd, req.op_case, 2, &req.base, NULL, 0, CNR_IPC_API_CAP, NULL);
                        return wait_reply(fd) > 0 ? 0 : 1;
                }
        } else {
                fprintf(stderr, "rawclient: unknown mode `%s`\n", argv[2]);
                return 2;
        }
        wait_reply(fd);
        return 0;
}
