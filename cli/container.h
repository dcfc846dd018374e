/* Shared by the container commands (cmd_run.c, cmd_container.c,
 * cmd_volume.c): one connection per command, the stream relay between the
 * operator's stdio and a container's, signal forwarding, JSON answers. */
#ifndef CNR_CLI_CONTAINER_H
#define CNR_CLI_CONTAINER_H

#include <stdbool.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/client.h"

/* Open a connection; prints the error and returns -1. */
int ctr_cli_open(struct cnr_cli *cli, struct cnr_client *cl);
/* One request on a new connection; prints the error and returns -1. */
int ctr_cli_call(struct cnr_cli *cli, Cnr__Api__Request *req, const int *sfds, size_t nsend,
                 Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **rep, int *fds, size_t nfds);
/* The JSON document in fd (closed). */
json_t *ctr_cli_read_json(int fd);

/* The relay: in (the container's stdin: a pipe's write end or a pty
 * master, -1 for none), out and err (read ends, err -1 for a terminal).
 * `pending` is a request on cl whose reply (ContainerWait or ExecWait,
 * case want) ends the session; its exit code is returned (or -1 with an
 * error printed).  tty: the operator's terminal is put in raw mode and
 * SIGWINCH resizes (resize_id names the container, or resize_fd is the
 * exec's pty master).  Without a tty, SIGINT/SIGTERM/SIGHUP are forwarded
 * to kill_id (when set) over another connection. */
struct ctr_relay {
        struct cnr_cli *cli;
        struct cnr_client *cl;
        uint32_t reqid;
        Cnr__Api__Reply__MsgCase want;
        int in, out, err;
        bool stdin_open;
        bool tty;
        const char *kill_id;
        const char *resize_id;
        int resize_fd;
};
int ctr_cli_relay(struct ctr_relay *r);

/* "KILL", "SIGKILL", "9" -> 9; -1 if unknown. */
int ctr_cli_signal(const char *s);
/* "512m", "1g", "100000" -> bytes; -1 if invalid. */
long long ctr_cli_bytes(const char *s);

#endif
