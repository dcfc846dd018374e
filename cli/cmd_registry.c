/* containr pull, push, login, logout.
 *
 * Credentials are read here, from the user's own file (authfile.h), and
 * sent with the one request that needs them.  Progress: on a terminal one
 * line per blob, redrawn in place (bytes, rate); otherwise one plain line
 * per change of state; -q prints only the result. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/authfile.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "common/ref.h"
#include "common/util.h"

#define LONG_TIMEOUT_MS (10 * 60 * 1000) /* between two messages of a pull or push */
#define MAX_ROWS 128

struct row {
        char id[80];
        char what[16];
        char status[24];
        uint64_t cur, total;
        uint64_t t0_ms;
};

struct display {
        bool tty, quiet;
        struct row rows[MAX_ROWS];
        size_t nrows;
        size_t drawn; /* lines on screen to move back over */
};

static void
fmt_bytes(uint64_t n, char *buf, size_t len)
{
        if (n >= 1000ull * 1000 * 1000)
                snprintf(buf, len, "%.2f GB", (double)n / 1e9);
        else if (n >= 1000ull * 1000)
                snprintf(buf, len, "%.1f MB", (double)n / 1e6);
        else if (n >= 1000)
                snprintf(buf, len, "%.1f kB", (double)n / 1e3);
        else
                snprintf(buf, len, "%llu B", (unsigned long long)n);
}

static const char *
short_id(const char *id)
{
        const char *c = strchr(id, ':');

        return c ? c + 1 : id;
}

static void
draw(struct display *d)
{
        uint64_t now = cnr_now_ms();

        if (d->drawn)
                printf("\033[%zuA", d->drawn);
        for (size_t i = 0; i < d->nrows; i++) {
                struct row *r = &d->rows[i];
                char cur[32], tot[32], rate[48] = "";

                fmt_bytes(r->cur, cur, sizeof(cur));
                fmt_bytes(r->total, tot, sizeof(tot));
                if (strcmp(r->status, "downloading") == 0 || strcmp(r->status, "uploading") == 0) {
                        uint64_t ms = now - r->t0_ms;
                        char rb[32];
                        fmt_bytes(ms ? r->cur * 1000 / ms : 0, rb, sizeof(rb));
                        snprintf(rate, sizeof(rate), "  %s/s", rb);
                }
                printf("\033[K%.12s  %-8s %-12s %s / %s%s\n", short_id(r->id), r->what, r->status, cur, tot, rate);
        }
        d->drawn = d->nrows;
        fflush(stdout);
}

static void
on_progress(const Cnr__Api__Progress *p, void *arg)
{
        struct display *d = arg;
        struct row *r = NULL;
        bool changed;

        if (d->quiet)
                return;
        if (p->id[0] == '\0') {
                if (!d->tty && strcmp(p->what, "resolve") == 0)
                        printf("resolving %s\n", p->status);
                return;
        }
        for (size_t i = 0; i < d->nrows; i++)
                if (strcmp(d->rows[i].id, p->id) == 0)
                        r = &d->rows[i];
        if (r == NULL) {
                if (d->nrows >= MAX_ROWS)
                        return;
                r = &d->rows[d->nrows++];
                memset(r, 0, sizeof(*r));
                snprintf(r->id, sizeof(r->id), "%s", p->id);
                r->t0_ms = cnr_now_ms();
        }
        changed = strcmp(r->status, p->status) != 0;
        snprintf(r->what, sizeof(r->what), "%s", p->what);
        snprintf(r->status, sizeof(r->status), "%s", p->status);
        r->cur = p->current;
        r->total = p->total;
        if (d->tty) {
                draw(d);
        } else if (changed) {
                char tot[32];
                fmt_bytes(r->total, tot, sizeof(tot));
                printf("%.12s: %s %s (%s)\n", short_id(r->id), r->what, r->status, tot);
                fflush(stdout);
        }
}

/* Credentials for the reference's registry, if the user stored some. */
static int
auth_for(const char *domain, Cnr__Api__RegistryAuth *a, char **user, char **pass)
{
        struct cnr_err *err = NULL;
        int r = cnr_authfile_get(domain, user, pass, &err);

        if (r < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        if (r > 0) {
                a->username = *user;
                a->password = *pass;
        }
        return r;
}

static void
secret_clear(char **user, char **pass)
{
        free(*user);
        *user = NULL;
        if (*pass)
                cnr_free_secret(*pass, strlen(*pass));
        *pass = NULL;
}

static int
run_call(struct cnr_cli *cli, Cnr__Api__Request *req, Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **rep,
         struct display *d)
{
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        int r;

        if (cnr_client_open(&cl, cli->host, &err) < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                cnr_client_close(&cl);
                return -1;
        }
        cl.timeout_ms = LONG_TIMEOUT_MS;
        r = cnr_client_call_progress(&cl, req, want, rep, d ? on_progress : NULL, d, &err);
        cnr_client_close(&cl);
        if (r < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
        }
        return r;
}

/* ---- pull ---------------------------------------------------------------- */

int
cnr_cmd_pull(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"platform", required_argument, NULL, 'P'},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__Pull pull = CNR__API__PULL__INIT;
        Cnr__Api__RegistryAuth auth = CNR__API__REGISTRY_AUTH__INIT;
        Cnr__Api__Reply *rep = NULL;
        struct display d = {0};
        struct cnr_ref ref;
        struct cnr_err *err = NULL;
        char *user = NULL, *pass = NULL;
        const char *platform = "";
        int o, r;

        while ((o = cnr_cli_getopt(cli, argc, argv, "+:qh", opts)) != -1) {
                switch (o) {
                case 'P':
                        platform = optarg;
                        break;
                case 'q':
                        d.quiet = true;
                        break;
                case 'h':
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                default:
                        return CNR_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc)
                return cnr_cli_usage_error(cli, optind >= argc ? "an image reference is needed"
                                                               : "exactly one image reference, please");
        if (cnr_ref_parse(argv[optind], &ref, &err) < 0) {
                cnr_cli_error("pull `%s`: %s", argv[optind], cnr_err_str(err));
                cnr_err_free(&err);
                return CNR_EXIT_FAIL;
        }
        d.tty = isatty(STDOUT_FILENO) == 1;
        if (auth_for(ref.domain, &auth, &user, &pass) < 0)
                return CNR_EXIT_FAIL;
        pull.ref = argv[optind];
        pull.platform = (char *)platform;
        pull.auth = user ? &auth : NULL;
        pull.progress = true; /* also keeps the connection's timeout fed */
        req.op_case = CNR__API__REQUEST__OP_PULL;
        req.pull = &pull;
        r = run_call(cli, &req, CNR__API__REPLY__MSG_PULL, &rep, &d);
        secret_clear(&user, &pass);
        if (r < 0)
                return CNR_EXIT_FAIL;
        if (!d.quiet)
                printf("Digest: %s\nImage: %s (%s)\nFetched %u blobs (%llu bytes), %u already present\n",
                       rep->pull->manifest, rep->pull->id, rep->pull->platform, rep->pull->blobs_fetched,
                       (unsigned long long)rep->pull->bytes, rep->pull->blobs_present);
        printf("%s\n", rep->pull->ref);
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

/* ---- push ---------------------------------------------------------------- */

int
cnr_cmd_push(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__Push push = CNR__API__PUSH__INIT;
        Cnr__Api__RegistryAuth auth = CNR__API__REGISTRY_AUTH__INIT;
        Cnr__Api__Reply *rep = NULL;
        struct display d = {0};
        struct cnr_ref ref;
        struct cnr_err *err = NULL;
        char *user = NULL, *pass = NULL;
        int o, r;

        while ((o = cnr_cli_getopt(cli, argc, argv, "+:qh", opts)) != -1) {
                switch (o) {
                case 'q':
                        d.quiet = true;
                        break;
                case 'h':
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                default:
                        return CNR_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc)
                return cnr_cli_usage_error(cli, optind >= argc ? "an image reference is needed"
                                                               : "exactly one image reference, please");
        if (cnr_ref_parse(argv[optind], &ref, &err) < 0) {
                cnr_cli_error("push `%s`: %s", argv[optind], cnr_err_str(err));
                cnr_err_free(&err);
                return CNR_EXIT_FAIL;
        }
        d.tty = isatty(STDOUT_FILENO) == 1;
        if (auth_for(ref.domain, &auth, &user, &pass) < 0)
                return CNR_EXIT_FAIL;
        push.ref = argv[optind];
        push.auth = user ? &auth : NULL;
        push.progress = true;
        req.op_case = CNR__API__REQUEST__OP_PUSH;
        req.push = &push;
        r = run_call(cli, &req, CNR__API__REPLY__MSG_PUSH, &rep, &d);
        secret_clear(&user, &pass);
        if (r < 0)
                return CNR_EXIT_FAIL;
        if (!d.quiet)
                printf("Pushed %u blobs (%llu bytes); %u already there, %u mounted\n", rep->push->blobs_pushed,
                       (unsigned long long)rep->push->bytes, rep->push->blobs_present, rep->push->blobs_mounted);
        printf("%s@%s\n", rep->push->ref, rep->push->manifest);
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

/* ---- login / logout ------------------------------------------------------ */

/* A line from fd (no trailing newline); echo off on a terminal. */
static char *
read_line(FILE *in, bool secret)
{
        struct termios old, quiet;
        bool restore = false;
        size_t cap = 0;
        char *line = NULL;
        ssize_t n;

        if (secret && isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0) {
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t)ECHO;
                restore = tcsetattr(fileno(in), TCSAFLUSH, &quiet) == 0;
        }
        n = getline(&line, &cap, in);
        if (restore) {
                tcsetattr(fileno(in), TCSAFLUSH, &old);
                fputc('\n', stderr);
        }
        if (n < 0) {
                free(line);
                return NULL;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
        return line;
}

static int
registry_arg(struct cnr_cli *cli, int argc, char **argv, const char **out)
{
        if (optind + 1 < argc)
                return cnr_cli_usage_error(cli, "one registry, please");
        *out = optind < argc ? argv[optind] : "docker.io";
        if (strstr(*out, "://") != NULL || strchr(*out, '/') != NULL)
                return cnr_cli_usage_error(cli, "`%s`: name the registry as host[:port], without scheme or path",
                                           *out);
        return 0;
}

int
cnr_cmd_login(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"username", required_argument, NULL, 'u'},
                {"password-stdin", no_argument, NULL, 'S'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__RegistryLogin lg = CNR__API__REGISTRY_LOGIN__INIT;
        Cnr__Api__RegistryAuth auth = CNR__API__REGISTRY_AUTH__INIT;
        Cnr__Api__Reply *rep = NULL;
        struct cnr_err *err = NULL;
        const char *registry;
        char *user = NULL, *pass = NULL;
        bool from_stdin = false;
        int o, r;

        while ((o = cnr_cli_getopt(cli, argc, argv, "+:u:h", opts)) != -1) {
                switch (o) {
                case 'u':
                        free(user);
                        user = xstrdup(optarg);
                        break;
                case 'S':
                        from_stdin = true;
                        break;
                case 'h':
                        cnr_cli_help(stdout, cli, cmd);
                        free(user);
                        return CNR_EXIT_OK;
                default:
                        free(user);
                        return CNR_EXIT_USAGE;
                }
        }
        if ((r = registry_arg(cli, argc, argv, &registry)) != 0) {
                free(user);
                return r;
        }
        if (user == NULL) {
                if (from_stdin || !isatty(STDIN_FILENO)) {
                        cnr_cli_error("login: give the user name with -u when the password comes from stdin");
                        return CNR_EXIT_USAGE;
                }
                fprintf(stderr, "Username: ");
                user = read_line(stdin, false);
        }
        if (from_stdin) {
                pass = read_line(stdin, false);
        } else {
                if (!isatty(STDIN_FILENO)) {
                        cnr_cli_error("login: stdin is not a terminal; use --password-stdin");
                        free(user);
                        return CNR_EXIT_USAGE;
                }
                fprintf(stderr, "Password: ");
                pass = read_line(stdin, true);
        }
        if (user == NULL || *user == '\0' || pass == NULL || *pass == '\0') {
                cnr_cli_error("login: a user name and a password are needed");
                secret_clear(&user, &pass);
                return CNR_EXIT_FAIL;
        }
        auth.username = user;
        auth.password = pass;
        lg.registry = (char *)registry;
        lg.auth = &auth;
        req.op_case = CNR__API__REQUEST__OP_REGISTRY_LOGIN;
        req.registry_login = &lg;
        r = run_call(cli, &req, CNR__API__REPLY__MSG_REGISTRY_LOGIN, &rep, NULL);
        if (r < 0) {
                secret_clear(&user, &pass);
                return CNR_EXIT_FAIL;
        }
        /* The registry accepted them: keep them in the user's file. */
        if (cnr_authfile_set(rep->registry_login->registry, user, pass, &err) < 0) {
                cnr_cli_error("login: %s", cnr_err_str(err));
                cnr_err_free(&err);
                secret_clear(&user, &pass);
                cnr__api__reply__free_unpacked(rep, NULL);
                return CNR_EXIT_FAIL;
        }
        secret_clear(&user, &pass);
        {
                _cleanup_free_ char *path = cnr_authfile_path();
                printf("Login succeeded (%s; credentials stored in %s)\n", rep->registry_login->registry, path);
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        return CNR_EXIT_OK;
}

int
cnr_cmd_logout(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        struct cnr_err *err = NULL;
        const char *registry;
        int o, r;

        while ((o = cnr_cli_getopt(cli, argc, argv, "+:h", opts)) != -1) {
                if (o == 'h') {
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                }
                return CNR_EXIT_USAGE;
        }
        if ((r = registry_arg(cli, argc, argv, &registry)) != 0)
                return r;
        r = cnr_authfile_remove(registry, &err);
        if (r < 0) {
                cnr_cli_error("logout: %s", cnr_err_str(err));
                cnr_err_free(&err);
                return CNR_EXIT_FAIL;
        }
        if (r == 0)
                printf("Not logged in to %s\n", registry);
        else
                printf("Removed the credentials for %s\n", registry);
        return CNR_EXIT_OK;
}
