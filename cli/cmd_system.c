/* containr system audit | check */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "common/conf.h"
#include "common/helpers.h"
#include "common/util.h"

const struct cnr_cli_cmd cnr_cmd_system[] = {
        {"audit", cnr_cmd_system_audit, "Print the audit log of containrd, the monitor or a helper",
         "[OPTIONS]",
         "containrd hands over its audit log (one JSON line per privileged request)\n"
         "as a read-only file; containr prints it.\n"
         "\n"
         "Options:\n"
         "      --helper NAME     whose log: containrd (default), monitor, mountd, netd,\n"
         "                        snapd, buildd, crid\n"
         "  -f, --follow          keep printing new lines until interrupted\n"
         "  -n, --tail N          start with the last N lines (default: all)\n",
         NULL},
        {"check", cnr_cmd_system_check, "Run one real operation through every helper", "[OPTIONS]",
         "Asks containrd to run one real operation through each helper and prints\n"
         "each result.  Exits with status 1 if any check failed.\n"
         "\n"
         "Options:\n",
         NULL},
        {"prune", cnr_cmd_system_prune, "Remove unused data: dangling images, unreferenced blobs and snapshots",
         "[OPTIONS]",
         "Removes images without a name (all unused images with -a), every blob of\n"
         "the content store that no image refers to, and what the other stores'\n"
         "collectors find unreferenced (snapshots); prints what went and the space\n"
         "reclaimed.\n"
         "\n"
         "Options:\n"
         "  -a, --all      remove every image no container uses, not only dangling ones\n"
         "  -f, --force    accepted for compatibility (containr does not ask)\n",
         NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
};

/* ---- audit ---- */

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
        stop = 1;
}

static int
check_log_name(struct cnr_cli *cli, const char *name)
{
        const char *names[CNR_HELPER_COUNT + 2];
        const char *hint;
        size_t n = 0;

        names[n++] = "containrd";
        names[n++] = "monitor";
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                names[n++] = cnr_helpers[i].name;
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], name) == 0)
                        return 0;
        hint = cnr_suggest(name, names, n);
        if (hint)
                return cnr_cli_usage_error(cli, "--helper: unknown audit log `%s` (did you mean `%s`?)", name, hint);
        return cnr_cli_usage_error(cli,
                                   "--helper: unknown audit log `%s` (one of containrd, monitor, mountd, netd, snapd, "
                                   "buildd, crid)",
                                   name);
}

/* Offset where the last `n` lines of fd (size bytes) begin. */
static int
tail_offset(int fd, off_t size, unsigned long long n, off_t *out)
{
        char buf[8192];
        off_t pos = size;
        unsigned long long seen = 0;

        if (n == 0) {
                *out = size;
                return 0;
        }
        while (pos > 0) {
                size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
                ssize_t r;

                pos -= (off_t)chunk;
                r = pread(fd, buf, chunk, pos);
                if (r < 0 && errno == EINTR) {
                        pos += (off_t)chunk;
                        continue;
                }
                if (r < 0)
                        return -1;
                for (ssize_t i = r - 1; i >= 0; i--) {
                        /* The newline that ends the file's last line does not count. */
                        if (buf[i] != '\n' || pos + i == size - 1)
                                continue;
                        if (++seen == n) {
                                *out = pos + i + 1;
                                return 0;
                        }
                }
        }
        *out = 0;
        return 0;
}

/* Copy fd from *off to `end` (-1: to its end); with `whole_lines`, stop
 * after the last newline (the rest is a line still being written). */
static int
copy_out(int fd, off_t *off, off_t end, int whole_lines)
{
        char buf[65536];

        for (;;) {
                size_t want = sizeof(buf);
                ssize_t r;

                if (end >= 0 && end - *off < (off_t)want)
                        want = (size_t)(end - *off);
                if (want == 0)
                        return 0;
                r = pread(fd, buf, want, *off);
                size_t len;

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -1;
                if (r == 0)
                        return 0;
                len = (size_t)r;
                if (whole_lines) {
                        while (len > 0 && buf[len - 1] != '\n')
                                len--;
                        if (len == 0)
                                return 0; /* a partial line longer than buf waits for its end */
                }
                if (fwrite(buf, 1, len, stdout) != len)
                        return -1;
                *off += (off_t)len;
                if (len < (size_t)r)
                        return 0;
        }
}

static int
follow(int fd, off_t off)
{
        struct sigaction sa = {.sa_handler = on_signal};

        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        while (!stop) {
                struct stat st;

                if (fstat(fd, &st) < 0)
                        return -1;
                if (st.st_size < off) {
                        fprintf(stderr, "containr: the audit log was truncated; reading from its start\n");
                        off = 0;
                }
                if (copy_out(fd, &off, -1, 1) < 0)
                        return -1;
                if (fflush(stdout) != 0)
                        return -1;
                poll(NULL, 0, 200); /* returns early (EINTR) on a signal */
        }
        return 0;
}

int
cnr_cmd_system_audit(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"helper", required_argument, NULL, 'H'},
                {"follow", no_argument, NULL, 'f'},
                {"tail", required_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__SystemAudit sa = CNR__API__SYSTEM_AUDIT__INIT;
        Cnr__Api__Reply *rep = NULL;
        const char *helper = "containrd";
        unsigned long long tail = 0;
        int want_tail = 0, do_follow = 0, o, r;
        _cleanup_close_ int fd = -1;
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        struct stat st;
        off_t off = 0;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":fn:h", opts)) != -1) {
                switch (o) {
                case 'H':
                        helper = optarg;
                        break;
                case 'f':
                        do_follow = 1;
                        break;
                case 'n':
                        if (strcmp(optarg, "all") == 0) {
                                want_tail = 0;
                                break;
                        }
                        if (cnr_parse_uint(optarg, 1ULL << 40, &tail) < 0)
                                return cnr_cli_usage_error(cli, "--tail: `%s` is not a number of lines", optarg);
                        want_tail = 1;
                        break;
                case 'h':
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                default:
                        return CNR_EXIT_USAGE;
                }
        }
        if (cnr_cli_no_args(cli, argc, argv) != 0 || check_log_name(cli, helper) != 0)
                return CNR_EXIT_USAGE;

        r = cnr_client_open(&cl, cli->host, &err);
        if (r == 0) {
                sa.helper = (char *)helper;
                req.op_case = CNR__API__REQUEST__OP_SYSTEM_AUDIT;
                req.system_audit = &sa;
                r = cnr_client_call(&cl, &req, CNR__API__REPLY__MSG_SYSTEM_AUDIT, &rep, &fd, 1, &err);
        }
        /* The file is ours now: no need to keep containrd's connection. */
        cnr_client_close(&cl);
        if (r < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                return CNR_EXIT_FAIL;
        }
        cnr__api__reply__free_unpacked(rep, NULL);

        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                cnr_cli_error("containrd passed an audit log that is not a regular file");
                return CNR_EXIT_FAIL;
        }
        if (want_tail && tail_offset(fd, st.st_size, tail, &off) < 0) {
                cnr_cli_error("read the audit log of %s: %s", helper, strerror(errno));
                return CNR_EXIT_FAIL;
        }
        /* The log as it was when handed over (containrd appends the record
         * of this very request right after); --follow picks up the rest. */
        if (copy_out(fd, &off, st.st_size, do_follow) < 0 || (do_follow && follow(fd, off) < 0) || fflush(stdout) != 0) {
                if (errno == EPIPE)
                        return CNR_EXIT_OK;
                cnr_cli_error("print the audit log of %s: %s", helper, strerror(errno));
                return CNR_EXIT_FAIL;
        }
        return CNR_EXIT_OK;
}

/* ---- check ---- */

int
cnr_cmd_system_check(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        static const char *const hdr[] = {"HELPER", "OP", "RESULT", "DURATION", "DETAIL"};
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__SystemCheck sc = CNR__API__SYSTEM_CHECK__INIT;
        Cnr__Api__Reply *rep = NULL;
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        struct cnr_table *t;
        size_t failed = 0, n;
        int o, r;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1) {
                if (o == 'h') {
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                }
                return CNR_EXIT_USAGE;
        }
        if (cnr_cli_no_args(cli, argc, argv) != 0)
                return CNR_EXIT_USAGE;

        r = cnr_client_open(&cl, cli->host, &err);
        if (r == 0) {
                /* A check runs real operations through every helper: allow it time. */
                cl.timeout_ms = 120000;
                req.op_case = CNR__API__REQUEST__OP_SYSTEM_CHECK;
                req.system_check = &sc;
                r = cnr_client_call(&cl, &req, CNR__API__REPLY__MSG_SYSTEM_CHECK, &rep, NULL, 0, &err);
        }
        cnr_client_close(&cl);
        if (r < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                return CNR_EXIT_FAIL;
        }
        n = rep->system_check->n_results;
        t = cnr_table_new(CNR_ARRAY_LEN(hdr), hdr);
        for (size_t i = 0; i < n; i++) {
                const Cnr__Api__CheckResult *c = rep->system_check->results[i];
                char dur[32];
                const char *row[] = {c->helper, c->op, c->ok ? "ok" : "FAILED", dur, c->detail};

                cnr_fmt_us(c->duration_us, dur, sizeof(dur));
                if (!c->ok)
                        failed++;
                cnr_table_add(t, row);
        }
        cnr_table_print(t, stdout);
        cnr_table_free(t);
        printf("\n%zu check%s, %zu failed\n", n, n == 1 ? "" : "s", failed);
        cnr__api__reply__free_unpacked(rep, NULL);
        if (n == 0) {
                cnr_cli_error("containrd ran no checks");
                return CNR_EXIT_FAIL;
        }
        return failed ? CNR_EXIT_FAIL : CNR_EXIT_OK;
}
