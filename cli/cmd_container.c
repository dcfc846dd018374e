/* containr stop, kill, restart, rm, ps, logs, exec, wait, inspect, top,
 * stats. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/container.h"
#include "cli/util.h"
#include "common/util.h"

static int
help_or_usage(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int o)
{
        if (o == 'h') {
                cnr_cli_help(stdout, cli, cmd);
                return CNR_EXIT_OK;
        }
        return CNR_EXIT_USAGE;
}

/* ---- stop, kill, restart, rm: one request per container ---- */

static int
each(struct cnr_cli *cli, int argc, char **argv, int opcase, int want, int timeout, bool has_timeout, int sig,
     bool force, bool volumes)
{
        struct cnr_client cl;
        int rc = CNR_EXIT_OK;

        if (optind >= argc)
                return cnr_cli_usage_error(cli, "want CONTAINER...");
        if (ctr_cli_open(cli, &cl) < 0)
                return CNR_EXIT_FAIL;
        cl.timeout_ms = (timeout > 0 ? timeout : 10) * 1000 + 60000;
        for (int i = optind; i < argc; i++) {
                Cnr__Api__Request req = CNR__API__REQUEST__INIT;
                Cnr__Api__ContainerStop st = CNR__API__CONTAINER_STOP__INIT;
                Cnr__Api__ContainerKill k = CNR__API__CONTAINER_KILL__INIT;
                Cnr__Api__ContainerRemove rm = CNR__API__CONTAINER_REMOVE__INIT;
                Cnr__Api__Reply *rep = NULL;
                struct cnr_err *err = NULL;

                req.op_case = opcase;
                switch (opcase) {
                case CNR__API__REQUEST__OP_CONTAINER_STOP:
                case CNR__API__REQUEST__OP_CONTAINER_RESTART:
                        st.id = argv[i];
                        st.timeout = timeout;
                        st.has_timeout = has_timeout;
                        req.container_stop = &st; /* restart shares the layout */
                        break;
                case CNR__API__REQUEST__OP_CONTAINER_KILL:
                        k.id = argv[i];
                        k.signal = sig;
                        req.container_kill = &k;
                        break;
                default:
                        rm.id = argv[i];
                        rm.force = force;
                        rm.volumes = volumes;
                        req.container_remove = &rm;
                        break;
                }
                if (cnr_client_call(&cl, &req, want, &rep, NULL, 0, &err) < 0) {
                        cnr_cli_error("%s", cnr_err_str(err));
                        cnr_err_free(&err);
                        rc = CNR_EXIT_FAIL;
                        continue;
                }
                cnr__api__reply__free_unpacked(rep, NULL);
                printf("%s\n", argv[i]);
        }
        cnr_client_close(&cl);
        return rc;
}

static int
stop_like(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv, int opcase, int want)
{
        static const struct option opts[] = {{"time", required_argument, NULL, 't'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        unsigned long long t = 10;
        bool has = false;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":t:h", opts)) != -1) {
                if (o != 't')
                        return help_or_usage(cli, cmd, o);
                if (cnr_parse_uint(optarg, 3600, &t) < 0)
                        return cnr_cli_usage_error(cli, "--time `%s`: want seconds", optarg);
                has = true;
        }
        return each(cli, argc, argv, opcase, want, (int)t, has, 0, false, false);
}

int
cnr_cmd_stop(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        return stop_like(cli, cmd, argc, argv, CNR__API__REQUEST__OP_CONTAINER_STOP,
                         CNR__API__REPLY__MSG_CONTAINER_STOP);
}

int
cnr_cmd_restart(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        return stop_like(cli, cmd, argc, argv, CNR__API__REQUEST__OP_CONTAINER_RESTART,
                         CNR__API__REPLY__MSG_CONTAINER_RESTART);
}

int
cnr_cmd_kill(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"signal", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        int o, sig = SIGKILL;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":s:h", opts)) != -1) {
                if (o != 's')
                        return help_or_usage(cli, cmd, o);
                if ((sig = ctr_cli_signal(optarg)) < 0)
                        return cnr_cli_usage_error(cli, "--signal `%s`: unknown signal", optarg);
        }
        return each(cli, argc, argv, CNR__API__REQUEST__OP_CONTAINER_KILL, CNR__API__REPLY__MSG_CONTAINER_KILL, 0,
                    false, sig, false, false);
}

int
cnr_cmd_rm(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                             {"volumes", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        bool force = false, volumes = false;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":fvh", opts)) != -1) {
                if (o == 'f')
                        force = true;
                else if (o == 'v')
                        volumes = true;
                else
                        return help_or_usage(cli, cmd, o);
        }
        return each(cli, argc, argv, CNR__API__REQUEST__OP_CONTAINER_REMOVE, CNR__API__REPLY__MSG_CONTAINER_REMOVE, 0,
                    false, 0, force, volumes);
}

/* ---- ps ---- */

static void
ago(long long ms, char *buf, size_t n)
{
        char d[32];
        struct timespec ts;
        long long now;

        clock_gettime(CLOCK_REALTIME, &ts);
        now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        cnr_fmt_ms((unsigned long long)(now > ms ? now - ms : 0), d, sizeof(d));
        snprintf(buf, n, "%s", d);
}

static json_t *
list(struct cnr_cli *cli, bool all)
{
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerList l = CNR__API__CONTAINER_LIST__INIT;
        Cnr__Api__Reply *rep = NULL;
        int fd = -1;

        l.all = all;
        req.op_case = CNR__API__REQUEST__OP_CONTAINER_LIST;
        req.container_list = &l;
        if (ctr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_CONTAINER_LIST, &rep, &fd, 1) < 0)
                return NULL;
        cnr__api__reply__free_unpacked(rep, NULL);
        return ctr_cli_read_json(fd);
}

/* -p values ([IP:]HOSTPORT:PORT[/PROTO], or PORT alone) as Docker's ps
 * shows them: 127.0.0.1:8080->80/tcp, 0.0.0.0:8080->80/tcp, 80/tcp. */
static void
ports_cell(json_t *ports, char *buf, size_t n)
{
        size_t i, len = 0;
        json_t *p;

        buf[0] = '\0';
        json_array_foreach(ports, i, p)
        {
                _cleanup_free_ char *v = xstrdup(json_string_value(p) ? json_string_value(p) : "");
                char *proto = strchr(v, '/'), *cport = strrchr(v, ':');
                int w;

                if (proto)
                        *proto++ = '\0';
                if (cport) {
                        *cport++ = '\0';
                        w = snprintf(buf + len, n - len, "%s%s%s->%s/%s", len ? ", " : "",
                                     strchr(v, ':') ? "" : "0.0.0.0:", v, cport, proto ? proto : "tcp");
                } else {
                        w = snprintf(buf + len, n - len, "%s%s/%s", len ? ", " : "", v, proto ? proto : "tcp");
                }
                if (w < 0 || (size_t)w >= n - len)
                        break;
                len += (size_t)w;
        }
}

int
cnr_cmd_ps(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"all", no_argument, NULL, 'a'},          {"quiet", no_argument, NULL, 'q'},
                {"format", required_argument, NULL, 'f'}, {"no-trunc", no_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
        static const char *const headers[] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                              "STATUS",       "PORTS", "NAMES"};
        bool all = false, quiet = false, notrunc = false;
        enum cnr_cli_format fmt = CNR_FORMAT_TEXT;
        struct cnr_table *t;
        json_t *a, *c;
        size_t i;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":aqh", opts)) != -1) {
                switch (o) {
                case 'a':
                        all = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'n':
                        notrunc = true;
                        break;
                case 'f':
                        if (strcmp(optarg, "table") != 0 && cnr_cli_parse_format(cli, optarg, &fmt) != 0)
                                return CNR_EXIT_USAGE;
                        break;
                default:
                        return help_or_usage(cli, cmd, o);
                }
        }
        if (cnr_cli_no_args(cli, argc, argv))
                return CNR_EXIT_USAGE;
        a = list(cli, all);
        if (!a)
                return CNR_EXIT_FAIL;
        if (fmt == CNR_FORMAT_JSON) {
                cnr_cli_print_json(a, 0);
                return CNR_EXIT_OK;
        }
        t = cnr_table_new(7, headers);
        json_array_foreach(a, i, c)
        {
                const char *id = json_string_value(json_object_get(c, "Id"));
                json_t *st = json_object_get(c, "State");
                const char *state = json_string_value(json_object_get(st, "Status"));
                char idb[80], created[64], status[128], cmdline[256] = "", d[32];
                size_t k, len = 0;
                json_t *arg;

                snprintf(idb, sizeof(idb), notrunc ? "%s" : "%.12s", id);
                if (quiet) {
                        printf("%s\n", idb);
                        continue;
                }
                json_array_foreach(json_object_get(c, "Args"), k, arg)
                {
                        int w = snprintf(cmdline + len, sizeof(cmdline) - len, "%s%s", k ? " " : "",
                                         json_string_value(arg));
                        if (w < 0 || (size_t)w >= sizeof(cmdline) - len)
                                break;
                        len += (size_t)w;
                }
                if (!notrunc && strlen(cmdline) > 20)
                        strcpy(cmdline + 17, "...");
                ago(json_integer_value(json_object_get(c, "CreatedMs")), d, sizeof(d));
                snprintf(created, sizeof(created), "%s ago", d);
                if (strcmp(state, "running") == 0) {
                        ago(json_integer_value(json_object_get(st, "StartedMs")), d, sizeof(d));
                        snprintf(status, sizeof(status), "Up %s", d);
                } else if (strcmp(state, "exited") == 0) {
                        ago(json_integer_value(json_object_get(st, "FinishedMs")), d, sizeof(d));
                        snprintf(status, sizeof(status), "%sExited (%d) %s ago",
                                 json_is_true(json_object_get(st, "Restarting")) ? "Restarting, " : "",
                                 (int)json_integer_value(json_object_get(st, "ExitCode")), d);
                } else {
                        snprintf(status, sizeof(status), "Created");
                }
                {
                        char ports[256];
                        const char *cells[] = {
                                idb,   json_string_value(json_object_get(c, "Image")), cmdline, created, status,
                                ports, json_string_value(json_object_get(c, "Name"))};
                        ports_cell(json_object_get(c, "Ports"), ports, sizeof(ports));
                        cnr_table_add(t, cells);
                }
        }
        if (!quiet)
                cnr_table_print(t, stdout);
        cnr_table_free(t);
        json_decref(a);
        return CNR_EXIT_OK;
}

/* ---- inspect, wait ---- */

int
cnr_cmd_inspect(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerInspect ci = CNR__API__CONTAINER_INSPECT__INIT;
        Cnr__Api__Reply *rep = NULL;
        int o, fd = -1, rc = CNR_EXIT_OK;
        json_t *a;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1)
                return help_or_usage(cli, cmd, o);
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "want CONTAINER...");
        ci.names = argv + optind;
        ci.n_names = (size_t)(argc - optind);
        req.op_case = CNR__API__REQUEST__OP_CONTAINER_INSPECT;
        req.container_inspect = &ci;
        if (ctr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_CONTAINER_INSPECT, &rep, &fd, 1) < 0)
                return CNR_EXIT_FAIL;
        for (size_t i = 0; i < rep->container_inspect->n_missing; i++) {
                cnr_cli_error("no such container: `%s`", rep->container_inspect->missing[i]);
                rc = CNR_EXIT_FAIL;
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        a = ctr_cli_read_json(fd);
        if (!a)
                return CNR_EXIT_FAIL;
        json_dumpf(a, stdout, JSON_INDENT(4));
        putchar('\n');
        json_decref(a);
        return rc;
}

int
cnr_cmd_wait(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        struct cnr_client cl;
        int o, rc = CNR_EXIT_OK;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1)
                return help_or_usage(cli, cmd, o);
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "want CONTAINER...");
        if (ctr_cli_open(cli, &cl) < 0)
                return CNR_EXIT_FAIL;
        cl.timeout_ms = 0x7fffffff;
        for (int i = optind; i < argc; i++) {
                Cnr__Api__Request req = CNR__API__REQUEST__INIT;
                Cnr__Api__ContainerWait w = CNR__API__CONTAINER_WAIT__INIT;
                Cnr__Api__Reply *rep = NULL;
                struct cnr_err *err = NULL;

                w.id = argv[i];
                req.op_case = CNR__API__REQUEST__OP_CONTAINER_WAIT;
                req.container_wait = &w;
                if (cnr_client_call(&cl, &req, CNR__API__REPLY__MSG_CONTAINER_WAIT, &rep, NULL, 0, &err) < 0) {
                        cnr_cli_error("%s", cnr_err_str(err));
                        cnr_err_free(&err);
                        rc = CNR_EXIT_FAIL;
                        continue;
                }
                printf("%d\n", rep->container_wait->exit_code);
                cnr__api__reply__free_unpacked(rep, NULL);
        }
        cnr_client_close(&cl);
        return rc;
}

/* ---- logs ---- */

static void
print_entry(const char *line, bool timestamps)
{
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        const char *stream, *log, *time;

        if (!j)
                return;
        stream = json_string_value(json_object_get(j, "stream"));
        log = json_string_value(json_object_get(j, "log"));
        time = json_string_value(json_object_get(j, "time"));
        if (log) {
                FILE *out = stream && strcmp(stream, "stderr") == 0 ? stderr : stdout;
                if (timestamps && time)
                        fprintf(out, "%s ", time);
                fputs(log, out);
                fflush(out);
        }
        json_decref(j);
}

static bool
still_running(struct cnr_cli *cli, const char *id)
{
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerInspect ci = CNR__API__CONTAINER_INSPECT__INIT;
        Cnr__Api__Reply *rep = NULL;
        char *names[1] = {(char *)id};
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        int fd = -1;
        bool running = false;
        json_t *a;

        ci.names = names;
        ci.n_names = 1;
        req.op_case = CNR__API__REQUEST__OP_CONTAINER_INSPECT;
        req.container_inspect = &ci;
        if (cnr_client_open(&cl, cli->host, &err) < 0 ||
            cnr_client_call(&cl, &req, CNR__API__REPLY__MSG_CONTAINER_INSPECT, &rep, &fd, 1, &err) < 0) {
                cnr_err_free(&err);
                cnr_client_close(&cl);
                return false;
        }
        cnr_client_close(&cl);
        cnr__api__reply__free_unpacked(rep, NULL);
        a = ctr_cli_read_json(fd);
        running = json_is_true(json_object_get(json_object_get(json_array_get(a, 0), "State"), "Running")) ||
                  json_is_true(json_object_get(json_object_get(json_array_get(a, 0), "State"), "Restarting"));
        json_decref(a);
        return running;
}

int
cnr_cmd_logs(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                             {"tail", required_argument, NULL, 'n'},
                                             {"timestamps", no_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerRef ref = CNR__API__CONTAINER_REF__INIT;
        Cnr__Api__Reply *rep = NULL;
        bool follow = false, ts = false, running;
        long long tail = -1;
        char **lines = NULL, *id;
        size_t nlines = 0;
        FILE *f;
        char *buf = NULL;
        size_t cap = 0;
        int o, fd = -1;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":fn:th", opts)) != -1) {
                switch (o) {
                case 'f':
                        follow = true;
                        break;
                case 't':
                        ts = true;
                        break;
                case 'n': {
                        unsigned long long v;
                        if (strcmp(optarg, "all") == 0)
                                tail = -1;
                        else if (cnr_parse_uint(optarg, 1ULL << 40, &v) < 0)
                                return cnr_cli_usage_error(cli, "--tail `%s`: want a number or all", optarg);
                        else
                                tail = (long long)v;
                        break;
                }
                default:
                        return help_or_usage(cli, cmd, o);
                }
        }
        if (argc - optind != 1)
                return cnr_cli_usage_error(cli, "want CONTAINER");
        ref.id = argv[optind];
        req.op_case = CNR__API__REQUEST__OP_CONTAINER_LOGS;
        req.container_logs = &ref;
        if (ctr_cli_call(cli, &req, NULL, 0, CNR__API__REPLY__MSG_CONTAINER_LOGS, &rep, &fd, 1) < 0)
                return CNR_EXIT_FAIL;
        running = rep->container_logs->running;
        id = xstrdup(rep->container_logs->id);
        cnr__api__reply__free_unpacked(rep, NULL);
        f = fdopen(fd, "r");
        if (!f) {
                close(fd);
                free(id);
                return CNR_EXIT_FAIL;
        }
        /* What is there now (the last --tail lines of it)... */
        for (ssize_t n; (n = getline(&buf, &cap, f)) > 0;) {
                if (buf[n - 1] != '\n') { /* a partial line: re-read it later */
                        fseeko(f, -(off_t)n, SEEK_CUR);
                        break;
                }
                if (tail < 0) {
                        print_entry(buf, ts);
                        continue;
                }
                lines = xrealloc(lines, (nlines + 1) * sizeof(char *));
                lines[nlines++] = xstrdup(buf);
                if (tail >= 0 && nlines > (size_t)tail) {
                        free(lines[0]);
                        memmove(lines, lines + 1, --nlines * sizeof(char *));
                }
        }
        for (size_t i = 0; i < nlines; i++) {
                print_entry(lines[i], ts);
                free(lines[i]);
        }
        free(lines);
        /* ...then what comes while the container runs. */
        for (int idle = 0; follow && running;) {
                ssize_t n;
                clearerr(f);
                n = getline(&buf, &cap, f);
                if (n > 0 && buf[n - 1] == '\n') {
                        print_entry(buf, ts);
                        idle = 0;
                        continue;
                }
                if (n > 0)
                        fseeko(f, -(off_t)n, SEEK_CUR);
                usleep(100000);
                if (++idle % 5 == 0)
                        running = still_running(cli, id);
                if (!running) { /* the last lines written before the exit */
                        clearerr(f);
                        while ((n = getline(&buf, &cap, f)) > 0 && buf[n - 1] == '\n')
                                print_entry(buf, ts);
                }
        }
        free(buf);
        free(id);
        fclose(f);
        return CNR_EXIT_OK;
}

/* ---- exec ---- */

int
cnr_cmd_exec(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"interactive", no_argument, NULL, 'i'},
                                             {"tty", no_argument, NULL, 't'},
                                             {"env", required_argument, NULL, 'e'},
                                             {"user", required_argument, NULL, 'u'},
                                             {"workdir", required_argument, NULL, 'w'},
                                             {"detach", no_argument, NULL, 'd'},
                                             {"privileged", no_argument, NULL, 'P'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ExecConfig x = CNR__API__EXEC_CONFIG__INIT;
        Cnr__Api__Reply *rep = NULL;
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        bool interactive = false, detach = false;
        char **env = NULL;
        size_t nenv = 0;
        int o, rc, in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, master = -1;
        struct ctr_relay r = {.cli = cli, .want = CNR__API__REPLY__MSG_CONTAINER_EXEC_WAIT, .resize_fd = -1};

        while ((o = cnr_cli_getopt(cli, argc, argv, "+:ite:u:w:dh", opts)) != -1) {
                switch (o) {
                case 'i':
                        interactive = true;
                        break;
                case 't':
                        x.tty = true;
                        break;
                case 'd':
                        detach = true;
                        break;
                case 'P':
                        x.privileged = true;
                        break;
                case 'e':
                        env = xrealloc(env, (nenv + 1) * sizeof(char *));
                        env[nenv++] = optarg;
                        break;
                case 'u':
                        x.user = optarg;
                        break;
                case 'w':
                        if (optarg[0] != '/') {
                                free(env);
                                return cnr_cli_usage_error(cli, "-w `%s`: the working directory must be absolute",
                                                           optarg);
                        }
                        x.workdir = optarg;
                        break;
                default:
                        free(env);
                        return help_or_usage(cli, cmd, o);
                }
        }
        if (argc - optind < 2) {
                free(env);
                return cnr_cli_usage_error(cli, "want CONTAINER COMMAND [ARG...]");
        }
        x.id = argv[optind];
        x.cmd = argv + optind + 1;
        x.n_cmd = (size_t)(argc - optind - 1);
        x.env = env;
        x.n_env = nenv;
        if (x.tty && isatty(STDIN_FILENO)) {
                struct winsize ws;
                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
                        x.rows = ws.ws_row;
                        x.cols = ws.ws_col;
                }
        }
        if (ctr_cli_open(cli, &cl) < 0) {
                free(env);
                return 126;
        }
        cl.timeout_ms = 60000;
        if (x.tty) {
                req.op_case = CNR__API__REQUEST__OP_CONTAINER_EXEC_TTY;
                req.container_exec_tty = &x;
                rc = cnr_client_call(&cl, &req, CNR__API__REPLY__MSG_CONTAINER_EXEC_TTY, &rep, &master, 1, &err);
        } else {
                int devnull = -1, sfds[3];
                if (interactive && !detach) {
                        if (pipe2(in, O_CLOEXEC) < 0)
                                goto pipes;
                } else {
                        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                }
                if (!detach && (pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0))
                        goto pipes;
                if (detach) {
                        out[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
                        er[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
                }
                sfds[0] = devnull >= 0 ? devnull : in[0];
                sfds[1] = out[1];
                sfds[2] = er[1];
                req.op_case = CNR__API__REQUEST__OP_CONTAINER_EXEC;
                req.container_exec = &x;
                rc = cnr_client_call_fds(&cl, &req, sfds, 3, CNR__API__REPLY__MSG_CONTAINER_EXEC, &rep, NULL, 0, &err);
                for (int i = 0; i < 3; i++)
                        close(sfds[i]);
                in[0] = out[1] = er[1] = -1;
                goto called;
        pipes:
                cnr_cli_error("pipe2: %s", strerror(errno));
                free(env);
                cnr_client_close(&cl);
                return 126;
        }
called:
        free(env);
        if (rc < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                cnr_client_close(&cl);
                if (in[1] >= 0)
                        close(in[1]);
                if (out[0] >= 0)
                        close(out[0]);
                if (er[0] >= 0)
                        close(er[0]);
                return 126;
        }
        {
                Cnr__Api__ContainerExecWait w = CNR__API__CONTAINER_EXEC_WAIT__INIT;
                Cnr__Api__Request wr = CNR__API__REQUEST__INIT;
                int pid = x.tty ? rep->container_exec_tty->pid : rep->container_exec->pid;

                cnr__api__reply__free_unpacked(rep, NULL);
                if (detach) {
                        if (master >= 0)
                                close(master);
                        cnr_client_close(&cl);
                        return CNR_EXIT_OK;
                }
                w.id = x.id;
                w.pid = pid;
                wr.op_case = CNR__API__REQUEST__OP_CONTAINER_EXEC_WAIT;
                wr.container_exec_wait = &w;
                if (cnr_client_send(&cl, &wr, NULL, 0, &r.reqid, &err) < 0) {
                        cnr_cli_error("%s", cnr_err_str(err));
                        cnr_err_free(&err);
                        cnr_client_close(&cl);
                        return 126;
                }
        }
        r.cl = &cl;
        r.tty = x.tty;
        r.stdin_open = interactive;
        if (x.tty) {
                int m2 = fcntl(master, F_DUPFD_CLOEXEC, 3);
                fcntl(master, F_SETFL, O_NONBLOCK);
                r.in = m2;
                r.out = master;
                r.err = -1;
                r.resize_fd = master;
        } else {
                fcntl(out[0], F_SETFL, O_NONBLOCK);
                fcntl(er[0], F_SETFL, O_NONBLOCK);
                r.in = in[1];
                r.out = out[0];
                r.err = er[0];
        }
        rc = ctr_cli_relay(&r);
        cnr_client_close(&cl);
        return rc < 0 ? 126 : rc;
}

/* ---- top, stats ---- */

static json_t *
json_call(struct cnr_cli *cli, Cnr__Api__Request *req, int want)
{
        Cnr__Api__Reply *rep = NULL;
        int fd = -1;

        if (ctr_cli_call(cli, req, NULL, 0, want, &rep, &fd, 1) < 0)
                return NULL;
        cnr__api__reply__free_unpacked(rep, NULL);
        return ctr_cli_read_json(fd);
}

int
cnr_cmd_top(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        static const char *const headers[] = {"PID", "PPID", "UID", "TIME", "CMD"};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerRef ref = CNR__API__CONTAINER_REF__INIT;
        struct cnr_table *t;
        json_t *a, *p;
        size_t i;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1)
                return help_or_usage(cli, cmd, o);
        if (argc - optind != 1)
                return cnr_cli_usage_error(cli, "want CONTAINER");
        ref.id = argv[optind];
        req.op_case = CNR__API__REQUEST__OP_CONTAINER_TOP;
        req.container_top = &ref;
        a = json_call(cli, &req, CNR__API__REPLY__MSG_CONTAINER_TOP);
        if (!a)
                return CNR_EXIT_FAIL;
        t = cnr_table_new(5, headers);
        json_array_foreach(a, i, p)
        {
                char pid[16], ppid[16], uid[16], tm[32];
                snprintf(pid, sizeof(pid), "%d", (int)json_integer_value(json_object_get(p, "PID")));
                snprintf(ppid, sizeof(ppid), "%d", (int)json_integer_value(json_object_get(p, "PPID")));
                snprintf(uid, sizeof(uid), "%d", (int)json_integer_value(json_object_get(p, "UID")));
                cnr_fmt_ms((unsigned long long)json_integer_value(json_object_get(p, "TimeMs")), tm, sizeof(tm));
                {
                        const char *cells[] = {pid, ppid, uid, tm, json_string_value(json_object_get(p, "CMD"))};
                        cnr_table_add(t, cells);
                }
        }
        cnr_table_print(t, stdout);
        cnr_table_free(t);
        json_decref(a);
        return CNR_EXIT_OK;
}

/* Docker's sizes: memory in binary units with 4 significant digits
 * ("1.5MiB"), I/O in decimal units with 3 ("1.2kB"). */
static void
fmt_size(double v, bool binary, char *buf, size_t n)
{
        static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        static const char *const dec[] = {"B", "kB", "MB", "GB", "TB", "PB"};
        double base = binary ? 1024.0 : 1000.0;
        size_t i = 0;

        while (v >= base && i < 5) {
                v /= base;
                i++;
        }
        snprintf(buf, n, "%.*g%s", binary ? 4 : 3, v, binary ? bin[i] : dec[i]);
}

static long long
jnum(json_t *o, const char *k)
{
        return (long long)json_integer_value(json_object_get(o, k));
}

/* Docker's CPU %: the container's CPU time over the host's CPU time
 * between two samples, times the online CPUs. */
static double
cpu_percent(json_t *prev, json_t *cur)
{
        long long dc, ds;

        if (!prev || !json_is_true(json_object_get(cur, "Running")))
                return 0.0;
        dc = jnum(cur, "CpuNs") - jnum(prev, "CpuNs");
        ds = jnum(cur, "SystemCpuNs") - jnum(prev, "SystemCpuNs");
        if (dc <= 0 || ds <= 0)
                return 0.0;
        return (double)dc / (double)ds * (double)jnum(cur, "OnlineCpus") * 100.0;
}

static json_t *
find_by_id(json_t *a, const char *id)
{
        json_t *s;
        size_t i;

        json_array_foreach(a, i, s)
        {
                if (strcmp(json_string_value(json_object_get(s, "Id")), id) == 0)
                        return s;
        }
        return NULL;
}

static void
stats_print(json_t *prev, json_t *a, char **names, size_t n_names, enum cnr_cli_format fmt)
{
        static const char *const headers[] = {"CONTAINER ID", "NAME",    "CPU %",     "MEM USAGE / LIMIT",
                                              "MEM %",        "NET I/O", "BLOCK I/O", "PIDS"};
        struct cnr_table *t = fmt == CNR_FORMAT_JSON ? NULL : cnr_table_new(8, headers);
        json_t *s;
        size_t i;

        json_array_foreach(a, i, s)
        {
                char id[16], cpu[32], mem[64], memp[32], net[64], blk[64], pids[24], x[24], y[24];
                long long lim = jnum(s, "MemLimit"), use = jnum(s, "MemUsage");

                snprintf(id, sizeof(id), "%.12s", json_string_value(json_object_get(s, "Id")));
                snprintf(cpu, sizeof(cpu), "%.2f%%",
                         cpu_percent(find_by_id(prev, json_string_value(json_object_get(s, "Id"))), s));
                fmt_size((double)use, true, x, sizeof(x));
                fmt_size((double)lim, true, y, sizeof(y));
                snprintf(mem, sizeof(mem), "%s / %s", x, y);
                snprintf(memp, sizeof(memp), "%.2f%%", lim > 0 ? (double)use / (double)lim * 100.0 : 0.0);
                fmt_size((double)jnum(s, "NetRx"), false, x, sizeof(x));
                fmt_size((double)jnum(s, "NetTx"), false, y, sizeof(y));
                snprintf(net, sizeof(net), "%s / %s", x, y);
                fmt_size((double)jnum(s, "BlockRead"), false, x, sizeof(x));
                fmt_size((double)jnum(s, "BlockWrite"), false, y, sizeof(y));
                snprintf(blk, sizeof(blk), "%s / %s", x, y);
                snprintf(pids, sizeof(pids), "%lld", jnum(s, "Pids"));
                if (t) {
                        const char *cells[] = {
                                id, json_string_value(json_object_get(s, "Name")), cpu, mem, memp, net, blk, pids};
                        cnr_table_add(t, cells);
                } else {
                        /* Docker's keys; Container is the name as asked, else the short ID */
                        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "BlockIO", blk, "CPUPerc", cpu,
                                              "Container", i < n_names ? names[i] : id, "ID", id, "MemPerc", memp,
                                              "MemUsage", mem, "Name", json_string_value(json_object_get(s, "Name")),
                                              "NetIO", net, "PIDs", pids);
                        json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
                        putchar('\n');
                        json_decref(o);
                }
        }
        if (t) {
                cnr_table_print(t, stdout);
                cnr_table_free(t);
        }
}

/* CPU % needs two samples: each line compares with the sample a second
 * before it, so even --no-stream waits a second (Docker's does too). */
int
cnr_cmd_stats(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"no-stream", no_argument, NULL, 'n'},
                                             {"all", no_argument, NULL, 'a'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerStats st = CNR__API__CONTAINER_STATS__INIT;
        bool stream = true;
        enum cnr_cli_format fmt = CNR_FORMAT_TEXT;
        json_t *prev;
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":ah", opts)) != -1) {
                switch (o) {
                case 'n':
                        stream = false;
                        break;
                case 'a':
                        st.all = true;
                        break;
                case 'f':
                        if (cnr_cli_parse_format(cli, optarg, &fmt) != 0)
                                return CNR_EXIT_USAGE;
                        break;
                default:
                        return help_or_usage(cli, cmd, o);
                }
        }
        st.names = argv + optind;
        st.n_names = (size_t)(argc - optind);
        req.op_case = CNR__API__REQUEST__OP_CONTAINER_STATS;
        req.container_stats = &st;
        prev = json_call(cli, &req, CNR__API__REPLY__MSG_CONTAINER_STATS);
        if (!prev)
                return CNR_EXIT_FAIL;
        for (;;) {
                json_t *a;

                sleep(1);
                a = json_call(cli, &req, CNR__API__REPLY__MSG_CONTAINER_STATS);
                if (!a) {
                        json_decref(prev);
                        return CNR_EXIT_FAIL;
                }
                stats_print(prev, a, st.names, st.n_names, fmt);
                fflush(stdout);
                json_decref(prev);
                prev = a;
                if (!stream) {
                        json_decref(prev);
                        return CNR_EXIT_OK;
                }
        }
}
