/* containr, the command-line client: command table and shared helpers.
 *
 * A command is one row of a table {name, handler, summary, usage, help}; a
 * row with `sub` is a group (`containr system audit`) whose handler is the
 * dispatcher itself.  Adding a command = one handler in cli/cmd_<x>.c and
 * one row in the table of cli/main.c (or of its group).
 *
 * Exit status: 0 success, 1 the operation failed (containrd unreachable,
 * an error reply, a failed check), 2 the command line was wrong. */
#ifndef CNR_CLI_H
#define CNR_CLI_H

#include <getopt.h>
#include <stdio.h>

/* CNR_EXIT_CLI: Docker's status when the run family (run, create, start,
 * exec) fails in the CLI itself, usage errors included. */
enum { CNR_EXIT_OK = 0, CNR_EXIT_FAIL = 1, CNR_EXIT_USAGE = 2, CNR_EXIT_CLI = 125 };

struct cnr_cli_cmd;

struct cnr_cli {
        const char *host;   /* -H/--host or CONTAINR_HOST; NULL = default socket */
        char path[128];     /* the command being run: "system audit" */
};

typedef int (*cnr_cli_handler)(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);

struct cnr_cli_cmd {
        const char *name;
        cnr_cli_handler run;
        const char *summary; /* one line, for the command list */
        const char *usage;   /* after "Usage: containr <path> " */
        const char *help;    /* the options and a description, or NULL */
        const struct cnr_cli_cmd *sub; /* a group: NULL-terminated table */
};

/* Tables of the groups (cmd_*.c). */
extern const struct cnr_cli_cmd cnr_cmd_system[];
extern const struct cnr_cli_cmd cnr_cmd_image[];
extern const struct cnr_cli_cmd cnr_cmd_network[]; /* cmd_network.c */
extern const struct cnr_cli_cmd cnr_cmd_volume[];
extern const struct cnr_cli_cmd cnr_cmd_snapshot[]; /* cmd_snapshot.c */

/* Handlers. */
int cnr_cmd_version(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_info(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_build(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_system_audit(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_system_check(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_system_prune(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
/* cmd_images.c */
int cnr_cmd_images(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_image_inspect(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_image_prune(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_rmi(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_tag(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_save(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_load(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_import(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_pull(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_push(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_login(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_logout(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);

/* cmd_run.c, cmd_container.c: containers */
int cnr_cmd_run(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_create(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_start(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_attach(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_stop(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_restart(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_kill(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_rm(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_ps(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_inspect(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_wait(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_logs(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_exec(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_top(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);
int cnr_cmd_stats(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);

/* Run argv[0] from `table` (argv[0] is a command word): unknown words get a
 * "did you mean", groups recurse. */
int cnr_cli_dispatch(struct cnr_cli *cli, const struct cnr_cli_cmd *table, int argc, char **argv);
/* The help of a command (or of a group: its subcommands). */
void cnr_cli_help(FILE *f, const struct cnr_cli *cli, const struct cnr_cli_cmd *cmd);

/* getopt_long with the house rules: -h/--help returns 'h', an unknown
 * option or a missing argument prints "containr <path>: ..." and returns
 * '?'.  Call with optind reset by the caller's first call (it resets). */
int cnr_cli_getopt(struct cnr_cli *cli, int argc, char **argv, const char *shortopts,
                   const struct option *longopts);
/* Options then nothing: extra words are a usage error.  Returns 0 or 2. */
int cnr_cli_no_args(struct cnr_cli *cli, int argc, char **argv);

/* "containr: <message>" on stderr. */
void cnr_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "containr <path>: <message> (see containr <path> --help)"; returns 2. */
int cnr_cli_usage_error(const struct cnr_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --format text|json */
enum cnr_cli_format { CNR_FORMAT_TEXT, CNR_FORMAT_JSON };
int cnr_cli_parse_format(struct cnr_cli *cli, const char *s, enum cnr_cli_format *out);
/* The whole command line of a command whose only option is --format:
 * returns -1 to go on, or the exit code (help printed, or a usage error). */
int cnr_cli_format_only(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv,
                        enum cnr_cli_format *out);

/* Plain-text tables: columns padded to their widest cell. */
struct cnr_table;
struct cnr_table *cnr_table_new(size_t ncols, const char *const *headers);
void cnr_table_add(struct cnr_table *t, const char *const *cells);
void cnr_table_print(const struct cnr_table *t, FILE *f);
void cnr_table_free(struct cnr_table *t);

/* Human durations: "45s", "3m12s", "2h05m", "3d04h"; "850us", "1.2ms", "3.40s". */
void cnr_fmt_ms(unsigned long long ms, char *buf, size_t n);
void cnr_fmt_us(unsigned long long us, char *buf, size_t n);

#endif
