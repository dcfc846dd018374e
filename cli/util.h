/* Pieces shared by the CLI's commands: one request to containrd with the
 * error printed, JSON answers read from an fd, files the operator names
 * (or stdin/stdout) turned into fds containrd accepts, and the help and
 * usage exits of the option loops.  Errors print as "containr: ...". */
#ifndef CNR_CLI_UTIL_H
#define CNR_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/client.h"

/* Connect, send `req` with send_fds, wait for a reply of case `want` with
 * exactly nfds fds (see cnr_client_call_fds), close.  timeout_ms > 0
 * replaces the client's default.  0, or -1 with the error printed. */
int cnr_cli_call(struct cnr_cli *cli, Cnr__Api__Request *req, const int *send_fds, size_t nsend,
                 Cnr__Api__Reply__MsgCase want, Cnr__Api__Reply **rep, int *fds, size_t nfds, int timeout_ms);

/* The JSON text containrd sent in fd (consumed); NULL with the error
 * printed. */
json_t *cnr_cli_read_json(int fd);

/* --format json: j indented on stdout (jansson's flags added), then
 * released. */
void cnr_cli_print_json(json_t *j, size_t flags);

/* An unlinked temporary file under $TMPDIR (or /tmp), else a memfd
 * called memfd_name; -1 with errno. */
int cnr_cli_tmpfile(const char *memfd_name);

/* Copy from `from` to `to` until end of file; -1 with errno. */
int cnr_cli_copy_fd(int from, int to);

/* An fd containrd will read: `path` opened here, or stdin for NULL or "-"
 * (through a temporary file, called tmp_name if it is a memfd, unless
 * stdin is a regular file).  A terminal is refused, with " (tty_hint)"
 * after the message if tty_hint is not NULL.  Messages start "what: ".
 * -1 with the error printed. */
int cnr_cli_open_input(const char *path, const char *what, const char *tty_hint, const char *tmp_name);

/* Where a tar goes: `path` (created or truncated), or stdout for NULL or
 * "-": dup'ed if it is a regular file, else a temporary file (called
 * tmp_name if it is a memfd) with *via_tmp set, to copy to stdout after.
 * A terminal is refused.  -1 with the error printed (not for a failed
 * dup of stdout: errno only). */
int cnr_cli_open_output(const char *path, const char *what, const char *tmp_name, bool *via_tmp);

/* Docker-style sizes: 1000-based units, 3 significant digits ("532B",
 * "1.23MB"). */
void cnr_cli_fmt_size(uint64_t bytes, char *buf, size_t n);

/* For the default case of an option loop: 'h' prints the help and gives
 * CNR_EXIT_OK, anything else (already reported by cnr_cli_getopt) gives
 * CNR_EXIT_USAGE. */
int cnr_cli_help_or_usage(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int o);

/* The option loop of a command whose only option is -h/--help: 1 after
 * printing the help, -1 on a bad option (reported), 0 to go on. */
int cnr_cli_only_help(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);

#endif
