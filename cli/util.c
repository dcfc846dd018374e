/* Pieces shared by the CLI's commands (cli/util.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/util.h"
#include "common/util.h"

int
cnr_cli_call(struct cnr_cli *cli, Cnr__Api__Request *req, const int *send_fds, size_t nsend,
             Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **rep, int *fds, size_t nfds, int timeout_ms)
{
        struct cnr_client cl;
        struct cnr_err *err = NULL;
        int r;

        r = cnr_client_open(&cl, cli->host, &err);
        if (r == 0) {
                if (timeout_ms > 0)
                        cl.timeout_ms = timeout_ms;
                r = cnr_client_call_fds(&cl, req, send_fds, nsend, want, rep, fds, nfds, &err);
        }
        cnr_client_close(&cl);
        if (r < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        return 0;
}

json_t *
cnr_cli_read_json(int fd)
{
        json_error_t je;
        FILE *f = fdopen(fd, "r");
        json_t *j;

        if (f == NULL) {
                close(fd);
                cnr_cli_error("reading containrd's answer: %s", strerror(errno));
                return NULL;
        }
        j = json_loadf(f, 0, &je);
        fclose(f);
        if (j == NULL)
                cnr_cli_error("containrd's answer is not JSON: %s", je.text);
        return j;
}

void
cnr_cli_print_json(json_t *j, size_t flags)
{
        json_dumpf(j, stdout, JSON_INDENT(2) | flags);
        putchar('\n');
        json_decref(j);
}

int
cnr_cli_tmpfile(const char *memfd_name)
{
        const char *dir = getenv("TMPDIR");
        int fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

        if (fd < 0)
                fd = memfd_create(memfd_name, MFD_CLOEXEC);
        return fd;
}

int
cnr_cli_copy_fd(int from, int to)
{
        char buf[65536];
        ssize_t n;

        while ((n = read(from, buf, sizeof(buf))) > 0)
                if (cnr_write_all(to, buf, (size_t)n) < 0)
                        return -1;
        return n < 0 ? -1 : 0;
}

static bool
is_std(const char *path)
{
        return path == NULL || strcmp(path, "-") == 0;
}

int
cnr_cli_open_input(const char *path, const char *what, const char *tty_hint, const char *tmp_name)
{
        struct stat st;
        int fd;

        if (!is_std(path)) {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        cnr_cli_error("%s: open `%s`: %s", what, path, strerror(errno));
                return fd;
        }
        if (isatty(0)) {
                cnr_cli_error("%s: refusing to read an archive from a terminal%s%s%s", what, tty_hint ? " (" : "",
                              tty_hint ? tty_hint : "", tty_hint ? ")" : "");
                return -1;
        }
        if (fstat(0, &st) == 0 && S_ISREG(st.st_mode))
                return fcntl(0, F_DUPFD_CLOEXEC, 3);
        fd = cnr_cli_tmpfile(tmp_name);
        if (fd < 0 || cnr_cli_copy_fd(0, fd) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
                cnr_cli_error("%s: buffering stdin: %s", what, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        return fd;
}

int
cnr_cli_open_output(const char *path, const char *what, const char *tmp_name, bool *via_tmp)
{
        struct stat st;
        int fd;

        *via_tmp = false;
        if (!is_std(path)) {
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
                if (fd < 0)
                        cnr_cli_error("%s: open `%s`: %s", what, path, strerror(errno));
                return fd;
        }
        if (isatty(1)) {
                cnr_cli_error("%s: refusing to write a tar to a terminal (use -o FILE or redirect)", what);
                return -1;
        }
        if (fstat(1, &st) == 0 && S_ISREG(st.st_mode))
                return fcntl(1, F_DUPFD_CLOEXEC, 3);
        *via_tmp = true;
        fd = cnr_cli_tmpfile(tmp_name);
        if (fd < 0)
                cnr_cli_error("%s: a temporary file: %s", what, strerror(errno));
        return fd;
}

void
cnr_cli_fmt_size(uint64_t bytes, char *buf, size_t n)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
        double v = (double)bytes;
        size_t u = 0;

        while (v >= 1000 && u < CNR_ARRAY_LEN(units) - 1) {
                v /= 1000;
                u++;
        }
        if (u == 0)
                snprintf(buf, n, "%lluB", (unsigned long long)bytes);
        else
                snprintf(buf, n, "%.3g%s", v, units[u]);
}

int
cnr_cli_help_or_usage(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int o)
{
        if (o == 'h') {
                cnr_cli_help(stdout, cli, cmd);
                return CNR_EXIT_OK;
        }
        return CNR_EXIT_USAGE;
}

int
cnr_cli_only_help(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        int o;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1) {
                if (o == 'h') {
                        cnr_cli_help(stdout, cli, cmd);
                        return 1;
                }
                return -1;
        }
        return 0;
}
