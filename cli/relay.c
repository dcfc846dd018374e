/* The operator's side of a container session (run, start -a, attach,
 * exec): bytes between the CLI's own stdio and the ends of the
 * container's streams that containrd passed us.  containrd is not in the
 * data path; the container never gets the operator's terminal (with -t
 * the shim owns the pty and we hold the other end of a pipe, or the
 * master of an exec's pty). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/container.h"
#include "common/util.h"

static int sigpipe_fds[2] = {-1, -1};

static void
on_signal(int sig)
{
        unsigned char b = (unsigned char)sig;
        int saved = errno;

        if (write(sigpipe_fds[1], &b, 1) < 0) {
                /* full: the signal is dropped, like a coalesced one */
        }
        errno = saved;
}

int
ctr_cli_open(struct cnr_cli *cli, struct cnr_client *cl)
{
        struct cnr_err *err = NULL;

        if (cnr_client_open(cl, cli->host, &err) < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                cnr_client_close(cl);
                return -1;
        }
        return 0;
}

int
ctr_cli_call(struct cnr_cli *cli, Cnr__Api__Request *req, const int *sfds, size_t nsend, Cnr__Api__Reply__MsgCase want,
             Cnr__Api__Reply **rep, int *fds, size_t nfds)
{
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        int r;

        if (ctr_cli_open(cli, &cl) < 0)
                return -1;
        cl.timeout_ms = 120000;
        r = cnr_client_call_fds(&cl, req, sfds, nsend, want, rep, fds, nfds, &err);
        cnr_client_close(&cl);
        if (r < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
        }
        return r;
}

json_t *
ctr_cli_read_json(int fd)
{
        json_error_t je;
        FILE *f = fdopen(fd, "r");
        json_t *j;

        if (!f) {
                close(fd);
                return NULL;
        }
        j = json_loadf(f, 0, &je);
        fclose(f);
        if (!j)
                cnr_cli_error("bad JSON from containrd: %s", je.text);
        return j;
}

int
ctr_cli_signal(const char *s)
{
        static const struct {
                const char *n;
                int v;
        } sigs[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
                    {"USR1", SIGUSR1}, {"USR2", SIGUSR2},   {"TERM", SIGTERM}, {"STOP", SIGSTOP},
                    {"CONT", SIGCONT}, {"WINCH", SIGWINCH}, {"ALRM", SIGALRM}, {"PIPE", SIGPIPE}};
        unsigned long long v;

        if (cnr_parse_uint(s, NSIG - 1, &v) == 0)
                return v > 0 ? (int)v : -1;
        if (strncmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < CNR_ARRAY_LEN(sigs); i++)
                if (strcmp(s, sigs[i].n) == 0)
                        return sigs[i].v;
        return -1;
}

long long
ctr_cli_bytes(const char *s)
{
        char *end;
        double v = strtod(s, &end);
        long long mul = 1;

        if (end == s || v < 0)
                return -1;
        switch (*end) {
        case '\0':
                break;
        case 'b':
        case 'B':
                mul = 1;
                end++;
                break;
        case 'k':
        case 'K':
                mul = 1LL << 10;
                end++;
                break;
        case 'm':
        case 'M':
                mul = 1LL << 20;
                end++;
                break;
        case 'g':
        case 'G':
                mul = 1LL << 30;
                end++;
                break;
        default:
                return -1;
        }
        if (*end == 'b' || *end == 'B')
                end++;
        if (*end != '\0')
                return -1;
        return (long long)(v * (double)mul);
}

/* Another connection for a control request while the main one waits. */
static void
control(struct ctr_relay *r, Cnr__Api__Request *req, Cnr__Api__Reply__MsgCase want)
{
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        Cnr__Api__Reply *rep = NULL;

        if (cnr_client_open(&cl, r->cli->host, &err) == 0 && cnr_client_call(&cl, req, want, &rep, NULL, 0, &err) == 0)
                cnr__api__reply__free_unpacked(rep, NULL);
        cnr_err_free(&err);
        cnr_client_close(&cl);
}

static void
forward_signal(struct ctr_relay *r, int sig)
{
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerKill k = CNR__API__CONTAINER_KILL__INIT;

        if (!r->kill_id)
                return;
        k.id = (char *)r->kill_id;
        k.signal = sig;
        req.op_case = CNR__API__REQUEST__OP_CONTAINER_KILL;
        req.container_kill = &k;
        control(r, &req, CNR__API__REPLY__MSG_CONTAINER_KILL);
}

static void
resize(struct ctr_relay *r)
{
        struct winsize ws;

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        if (r->resize_fd >= 0) {
                ioctl(r->resize_fd, TIOCSWINSZ, &ws);
        } else if (r->resize_id) {
                Cnr__Api__Request req = CNR__API__REQUEST__INIT;
                Cnr__Api__ContainerResize rz = CNR__API__CONTAINER_RESIZE__INIT;
                rz.id = (char *)r->resize_id;
                rz.rows = ws.ws_row;
                rz.cols = ws.ws_col;
                req.op_case = CNR__API__REQUEST__OP_CONTAINER_RESIZE;
                req.container_resize = &rz;
                control(r, &req, CNR__API__REPLY__MSG_CONTAINER_RESIZE);
        }
}

/* Copy what is readable on *from to `to`; close *from at EOF. */
static void
pump(int *from, int to)
{
        char buf[16384];
        ssize_t n = read(*from, buf, sizeof(buf));

        if (n > 0) {
                if (to >= 0 && cnr_write_all(to, buf, (size_t)n) < 0) {
                        /* the operator's side is gone: keep draining */
                }
                return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        close(*from);
        *from = -1;
}

int
ctr_cli_relay(struct ctr_relay *r)
{
        struct termios saved, raw;
        bool restored = true;
        /* Docker's sig-proxy: the signals sent to a process go to the
         * container, but SIGCHLD, SIGPIPE, SIGURG, the job-control ones
         * (the terminal's business), those the kernel raises for our own
         * faults, and SIGWINCH (a resize). */
        const int sigs[] = {SIGINT,  SIGTERM,   SIGHUP,  SIGQUIT, SIGUSR1, SIGUSR2,
                            SIGALRM, SIGVTALRM, SIGPROF, SIGIO,   SIGPWR,  SIGWINCH};
        struct sigaction sa = {.sa_handler = on_signal}, old[CNR_ARRAY_LEN(sigs)];
        int code = -1, in_src = -1;
        bool got_reply = false;
        uint64_t drain_deadline = 0;

        if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) < 0) {
                cnr_cli_error("pipe2: %s", strerror(errno));
                return -1;
        }
        for (size_t i = 0; i < CNR_ARRAY_LEN(sigs); i++)
                sigaction(sigs[i], &sa, &old[i]);
        signal(SIGPIPE, SIG_IGN);
        if (r->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
                raw = saved;
                cfmakeraw(&raw);
                if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
                        restored = false;
                resize(r);
        }
        if (r->stdin_open && r->in >= 0)
                in_src = STDIN_FILENO;
        else if (r->in >= 0 && !r->tty) {
                close(r->in); /* no -i: the container's stdin ends now */
                r->in = -1;
        }
        for (;;) {
                struct pollfd p[5];
                int n = 0, ki = -1, kout = -1, kerr = -1, kcl = -1, ksig;

                if (got_reply && r->out < 0 && r->err < 0)
                        break;
                if (got_reply && cnr_now_ms() > drain_deadline)
                        break;
                p[n] = (struct pollfd){.fd = sigpipe_fds[0], .events = POLLIN};
                ksig = n++;
                if (in_src >= 0 && r->in >= 0) {
                        p[n] = (struct pollfd){.fd = in_src, .events = POLLIN};
                        ki = n++;
                }
                if (r->out >= 0) {
                        p[n] = (struct pollfd){.fd = r->out, .events = POLLIN};
                        kout = n++;
                }
                if (r->err >= 0) {
                        p[n] = (struct pollfd){.fd = r->err, .events = POLLIN};
                        kerr = n++;
                }
                if (!got_reply) {
                        p[n] = (struct pollfd){.fd = r->cl->fd, .events = POLLIN};
                        kcl = n++;
                }
                if (poll(p, (nfds_t)n, got_reply ? 50 : -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[ksig].revents) {
                        unsigned char b;
                        while (read(sigpipe_fds[0], &b, 1) == 1) {
                                if (b == SIGWINCH)
                                        resize(r);
                                else
                                        forward_signal(r, b);
                        }
                }
                if (ki >= 0 && p[ki].revents) {
                        char buf[4096];
                        ssize_t k = read(in_src, buf, sizeof(buf));
                        if (k > 0) {
                                if (cnr_write_all(r->in, buf, (size_t)k) < 0) {
                                        close(r->in);
                                        r->in = -1;
                                }
                        } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                                in_src = -1;
                                if (!r->tty) { /* EOF of ours is the container's */
                                        close(r->in);
                                        r->in = -1;
                                }
                        }
                }
                if (kout >= 0 && p[kout].revents)
                        pump(&r->out, STDOUT_FILENO);
                if (kerr >= 0 && p[kerr].revents)
                        pump(&r->err, STDERR_FILENO);
                if (kcl >= 0 && p[kcl].revents) {
                        Cnr__Api__Reply *rep = NULL;
                        struct cnr_err *err = NULL;

                        got_reply = true;
                        drain_deadline = cnr_now_ms() + 2000;
                        if (cnr_client_recv(r->cl, r->reqid, r->want, &rep, NULL, 0, &err) < 0) {
                                if (!restored)
                                        tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
                                restored = true;
                                cnr_cli_error("%s", cnr_err_str(err));
                                cnr_err_free(&err);
                                code = -1;
                        } else {
                                Cnr__Api__ContainerWaitReply *w = r->want == CNR__API__REPLY__MSG_CONTAINER_WAIT
                                                                          ? rep->container_wait
                                                                          : rep->container_exec_wait;
                                code = w->exit_code;
                                if (w->error[0])
                                        cnr_cli_error("%s", w->error);
                                cnr__api__reply__free_unpacked(rep, NULL);
                        }
                }
        }
        if (!restored)
                tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
        for (size_t i = 0; i < CNR_ARRAY_LEN(sigs); i++)
                sigaction(sigs[i], &old[i], NULL);
        close(sigpipe_fds[0]);
        close(sigpipe_fds[1]);
        sigpipe_fds[0] = sigpipe_fds[1] = -1;
        if (r->in >= 0)
                close(r->in);
        if (r->out >= 0)
                close(r->out);
        if (r->err >= 0)
                close(r->err);
        r->in = r->out = r->err = -1;
        return code;
}
