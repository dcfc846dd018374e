/* containr: the operator's client of containrd.  main() reads the global
 * options and dispatches the first word through `commands`. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "common/conf.h"
#include "common/util.h"
#include "ipc/frame.h"

static int cmd_help(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv);

/* The top-level commands, in the order `containr help` lists them. */
static const struct cnr_cli_cmd commands[] = {
        {"run", cnr_cmd_run, "Create and start a container", "[OPTIONS] IMAGE [COMMAND [ARG...]]",
         "Creates a container from IMAGE and starts it; in the foreground its output\n"
         "is relayed (containrd passes the ends of its streams: it is not in the data\n"
         "path), signals (INT, TERM, HUP, QUIT, USR1, USR2, ...) are forwarded, and\n"
         "the exit status is the container's (125 when containr itself failed).\n"
         "See containr-run(1).\n"
         "\n"
         "Options:\n"
         "  -d, --detach             Print the id and leave it running\n"
         "  -i, --interactive        Keep stdin open and relay it\n"
         "  -t, --tty                A pseudo-terminal (the shim owns it)\n"
         "      --rm                 Remove the container when it exits\n"
         "      --name NAME          Name it\n"
         "  -e, --env K=V            Set an environment variable (K alone: from yours)\n"
         "      --env-file FILE      Read variables from FILE (opened as you)\n"
         "  -w, --workdir DIR        Working directory inside\n"
         "  -u, --user USER[:GROUP]  Resolved from the image's /etc/passwd and /etc/group\n"
         "      --entrypoint CMD     Replace the image's entrypoint\n"
         "  -h, --hostname NAME      Hostname (default: the id's first 12 characters)\n"
         "  -v, --volume SRC:DST[:ro]  Bind (SRC a path, opened by containr as you),\n"
         "                           named volume (SRC a name) or anonymous (DST alone)\n"
         "      --mount type=bind|volume|tmpfs,source=S,target=T[,readonly]\n"
         "      --tmpfs DST[:size=N,mode=M]\n"
         "      --device HOST[:CONTAINER][:PERMS]  A host device node (opened as you),\n"
         "                           with PERMS (default rwm) in the device cgroup\n"
         "  -p, --publish [IP:]H:C[/udp]  Publish a port (CNI portmap)\n"
         "      --network NET        bridge (default), a named network, none, host\n"
         "      --ip ADDR, --ip6 ADDR  The container's address on a named network\n"
         "  -m, --memory SIZE        Memory limit (OOM kill: exit 137, OOMKilled)\n"
         "      --memory-swap SIZE   Memory + swap (default: no swap)\n"
         "      --cpus N             CPU quota\n"
         "      --pids-limit N       Process limit\n"
         "      --read-only          Read-only root filesystem\n"
         "      --cap-add CAP, --cap-drop CAP   Change Docker's default capabilities\n"
         "      --security-opt seccomp=FILE|unconfined, no-new-privileges\n"
         "      --privileged         Every capability, no seccomp, no masked paths\n"
         "      --ulimit NAME=SOFT[:HARD]\n"
         "      --restart no|on-failure[:N]|always|unless-stopped\n"
         "      --init               Run Debian's tini-static as the init\n"
         "      --sysctl KEY=VALUE   A namespaced sysctl (net.*, kernel.shm*, kernel.msg*,\n"
         "                           kernel.sem, fs.mqueue.*)\n"
         "      --userns host|auto|UID:GID:COUNT\n"
         "                           User namespace: the host's, a free range of 65536\n"
         "                           host ids from 100000, or container ids 0..COUNT-1\n"
         "                           as host ids UID.., GID.. (with --network none)\n"
         "  -l, --label K=V          Set a label\n"
         "      --help               Show this help\n",
         NULL},
        {"create", cnr_cmd_create, "Create a container", "[OPTIONS] IMAGE [COMMAND [ARG...]]",
         "Like `containr run -d` without starting it: prints the id.  The options are\n"
         "run's (see containr run --help).\n",
         NULL},
        {"start", cnr_cmd_start, "Start containers", "[OPTIONS] CONTAINER...",
         "Options:\n"
         "  -a, --attach          Relay its output and wait for it (one container)\n"
         "  -i, --interactive     With -a: relay stdin too\n",
         NULL},
        {"stop", cnr_cmd_stop, "Stop containers", "[OPTIONS] CONTAINER...",
         "Sends the image's StopSignal (SIGTERM), then SIGKILL to every process of the\n"
         "container after the timeout.\n"
         "\n"
         "Options:\n"
         "  -t, --time SECONDS    Wait this long before SIGKILL (default 10)\n",
         NULL},
        {"restart", cnr_cmd_restart, "Stop and start containers", "[OPTIONS] CONTAINER...",
         "Options:\n"
         "  -t, --time SECONDS    Stop timeout (default 10)\n",
         NULL},
        {"kill", cnr_cmd_kill, "Signal containers", "[OPTIONS] CONTAINER...",
         "Options:\n"
         "  -s, --signal SIG      Signal name or number (default KILL)\n",
         NULL},
        {"rm", cnr_cmd_rm, "Remove containers", "[OPTIONS] CONTAINER...",
         "Removes the record, the snapshot and the log.  Anonymous volumes stay\n"
         "(dangling: volume ls -f dangling=true, volume prune) unless -v is given\n"
         "or the container was run with --rm.  Named volumes are never removed.\n"
         "\n"
         "Options:\n"
         "  -f, --force           Kill a running container first\n"
         "  -v, --volumes         Also remove its anonymous volumes\n",
         NULL},
        {"ps", cnr_cmd_ps, "List containers", "[OPTIONS]",
         "Options:\n"
         "  -a, --all             Also containers that are not running\n"
         "  -q, --quiet           Print only ids\n"
         "      --format FORMAT   table (default) or json\n"
         "      --no-trunc        Full ids and commands\n",
         NULL},
        {"logs", cnr_cmd_logs, "Show a container's output", "[OPTIONS] CONTAINER",
         "containrd passes the log file (JSON lines the shim writes); containr prints\n"
         "stdout to stdout and stderr to stderr.\n"
         "\n"
         "Options:\n"
         "  -f, --follow          Keep printing while the container runs\n"
         "  -n, --tail N          Only the last N lines\n"
         "  -t, --timestamps      Prefix each line with its time\n",
         NULL},
        {"exec", cnr_cmd_exec, "Run a command in a running container", "[OPTIONS] CONTAINER COMMAND [ARG...]",
         "Options:\n"
         "  -i, --interactive     Relay stdin\n"
         "  -t, --tty             A pseudo-terminal\n"
         "  -d, --detach          Do not wait\n"
         "  -e, --env K=V         Set an environment variable\n"
         "  -u, --user USER[:GROUP]\n"
         "  -w, --workdir DIR\n"
         "      --privileged      Every capability\n",
         NULL},
        {"attach", cnr_cmd_attach, "Attach to a running container's streams", "[OPTIONS] CONTAINER",
         "Options:\n"
         "      --no-stdin        Do not relay stdin\n",
         NULL},
        {"wait", cnr_cmd_wait, "Wait for containers to stop; print exit codes", "CONTAINER...", NULL, NULL},
        {"inspect", cnr_cmd_inspect, "Show containers as JSON", "CONTAINER...", NULL, NULL},
        {"top", cnr_cmd_top, "Show a container's processes", "CONTAINER",
         "Read from /proc: every process below the container's shim.\n", NULL},
        {"stats", cnr_cmd_stats, "Show containers' resource use", "[OPTIONS] [CONTAINER...]",
         "CPU time and processes from /proc, memory from the container's cgroup.\n"
         "\n"
         "Options:\n"
         "  -a, --all             Also containers that are not running\n"
         "      --no-stream       Print once\n"
         "      --format FORMAT   text (default) or json\n",
         NULL},
        {"volume", NULL, "Manage volumes", "COMMAND", NULL, cnr_cmd_volume},
        {"snapshot", NULL, "List, diff, export, import and verify snapshots", "COMMAND", NULL, cnr_cmd_snapshot},
        {"version", cnr_cmd_version, "Show the client's and containrd's versions", "[OPTIONS]",
         "Prints the version and protocol of this client, then asks containrd for its\n"
         "version, protocol, kernel and libraries.\n"
         "\n"
         "Options:\n"
         "      --format FORMAT   text (default) or json\n",
         NULL},
        {"info", cnr_cmd_info, "Show containrd's paths and processes", "[OPTIONS]",
         "Prints containrd's directories, then one line per process of the engine\n"
         "(monitor, supervisor, helpers): pid, uid, gid, effective capabilities,\n"
         "seccomp mode, no_new_privs, restarts, uptime and state.\n"
         "\n"
         "Options:\n"
         "      --format FORMAT   text (default) or json\n",
         NULL},
        {"pull", cnr_cmd_pull, "Download an image from a registry", "[OPTIONS] REF",
         "Fetches the manifest of REF (an index picks the manifest of the platform),\n"
         "its config and layers, each verified against its digest, then records the\n"
         "image.  Credentials stored by `containr login` for the registry are sent\n"
         "with the request.\n"
         "\n"
         "Options:\n"
         "      --platform P      os/arch[/variant] (default: this host's)\n"
         "  -q, --quiet           Print only the reference\n",
         NULL},
        {"push", cnr_cmd_push, "Upload an image to a registry", "[OPTIONS] REF",
         "Uploads the blobs of local image REF that the registry lacks (mounting them\n"
         "from another repository of the registry when it can), then its manifest\n"
         "under REF's tag.\n"
         "\n"
         "Options:\n"
         "  -q, --quiet           Print only the pushed reference and digest\n",
         NULL},
        {"login", cnr_cmd_login, "Check and store credentials for a registry", "[OPTIONS] [REGISTRY]",
         "Asks containrd to try the credentials against REGISTRY (default docker.io),\n"
         "then stores them in your own $DOCKER_CONFIG/config.json (or\n"
         "~/.docker/config.json), mode 0600.  containrd keeps nothing.\n"
         "\n"
         "Options:\n"
         "  -u, --username USER   User name (asked for on a terminal otherwise)\n"
         "      --password-stdin  Read the password from stdin\n",
         NULL},
        {"logout", cnr_cmd_logout, "Remove stored credentials for a registry", "[REGISTRY]",
         "Removes REGISTRY's entry (default docker.io) from your credentials file.\n"
         "\n"
         "Options:\n",
         NULL},
        {"images", cnr_cmd_images, "List images", "[OPTIONS] [REPOSITORY[:TAG]]",
         "One row per name (REPOSITORY, TAG), or <none> for an image without one.\n"
         "\n"
         "Options:\n"
         "  -a, --all             Show all images (containr keeps no intermediate ones)\n"
         "  -q, --quiet           Print only image ids\n"
         "      --format FORMAT   table (default) or json\n"
         "      --no-trunc        Do not shorten image ids\n",
         NULL},
        {"image", NULL, "Manage images", "COMMAND", NULL, cnr_cmd_image},
        {"rmi", cnr_cmd_rmi, "Remove images", "[OPTIONS] IMAGE...",
         "A name removes that name, and the image with it when it was the last one.\n"
         "An id removes the image; with several names that needs --force.  An image\n"
         "a container uses is never removed.\n"
         "\n"
         "Options:\n"
         "  -f, --force           Remove the image and all its names\n",
         NULL},
        {"tag", cnr_cmd_tag, "Give an image another name", "SOURCE TARGET",
         "SOURCE is a name, an id or an id prefix; TARGET a name (`:latest` if no tag).\n", NULL},
        {"save", cnr_cmd_save, "Write images to an archive", "[OPTIONS] IMAGE...",
         "Writes the images to one archive: a `docker save` archive (default) or an\n"
         "OCI archive.  Output goes to FILE or to stdout (not a terminal).\n"
         "\n"
         "Options:\n"
         "  -o, --output FILE     Write to FILE (opened by containr as you)\n"
         "      --format FORMAT   docker-archive (default) or oci-archive\n",
         NULL},
        {"load", cnr_cmd_load, "Read images from an archive", "[OPTIONS]",
         "Reads a `docker save` archive or an OCI archive (detected), verifying every\n"
         "blob against its digest.  A failed load records nothing.\n"
         "\n"
         "Options:\n"
         "  -i, --input FILE      Read FILE instead of stdin\n"
         "  -q, --quiet           Print nothing but warnings\n",
         NULL},
        {"import", cnr_cmd_import, "Make an image from a rootfs tarball", "[OPTIONS] FILE|- [REPOSITORY[:TAG]]",
         "The tarball (plain, gzip, zstd, ...) becomes the single gzip layer of a new\n"
         "image for this host's platform; prints the image id.\n"
         "\n"
         "Options:\n"
         "  -m, --message TEXT    History comment\n",
         NULL},
        {"build", cnr_cmd_build, "Check and plan a Dockerfile (image execution comes later)",
         "--check|--print-plan [OPTIONS] PATH",
         "Streams the build context PATH (minus what .dockerignore excludes) to\n"
         "containr-buildd, which parses, checks and plans the Dockerfile.  Steps are\n"
         "not executed yet: without --check or --print-plan the command fails.\n"
         "\n"
         "Options:\n"
         "      --check              report errors and check warnings (file:line)\n"
         "      --print-plan         also print stages, steps, cache keys, config\n"
         "  -f, --file FILE          the Dockerfile (default: PATH/Dockerfile)\n"
         "      --build-arg K=V      set a build argument (repeatable)\n"
         "      --target STAGE       plan up to this stage (default: the last)\n"
         "      --platform P         target platform (default: the host's)\n"
         "      --format FORMAT      text (default) or json\n"
         "\n"
         "Exit status: 0 no errors, 1 errors (or warnings under check=error=true).\n",
         NULL},
        {"network", NULL, "Manage networks", "COMMAND", NULL, cnr_cmd_network},
        {"system", NULL, "Audit logs and self-checks of the engine", "COMMAND", NULL, cnr_cmd_system},
        {"help", cmd_help, "Show help for a command", "[COMMAND...]", NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
};

static const char global_help[] =
        "Global options:\n"
        "  -H, --host unix://PATH   containrd's API socket; CONTAINR_HOST in the\n"
        "                           environment sets it too (default:\n"
        "                           unix://" CNR_DEFAULT_SOCKET ")\n"
        "  -h, --help               Show this help\n"
        "  -v, --version            Print the client's version\n";

/* ---- messages ---- */

void
cnr_cli_error(const char *fmt, ...)
{
        va_list ap;

        fflush(stdout);
        fputs("containr: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* Set when a usage error was reported, so the dispatcher can tell a
 * usage error's 2 from a container's own exit status 2. */
static bool usage_reported;

int
cnr_cli_usage_error(const struct cnr_cli *cli, const char *fmt, ...)
{
        va_list ap;

        usage_reported = true;

        fflush(stdout);
        fprintf(stderr, "containr%s%s: ", cli->path[0] ? " " : "", cli->path);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, " (see containr%s%s --help)\n", cli->path[0] ? " " : "", cli->path);
        return CNR_EXIT_USAGE;
}

int
cnr_cli_parse_format(struct cnr_cli *cli, const char *s, enum cnr_cli_format *out)
{
        if (strcmp(s, "text") == 0)
                *out = CNR_FORMAT_TEXT;
        else if (strcmp(s, "json") == 0)
                *out = CNR_FORMAT_JSON;
        else
                return cnr_cli_usage_error(cli, "--format: `%s` is not one of text, json", s);
        return 0;
}

int
cnr_cli_format_only(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv,
                    enum cnr_cli_format *out)
{
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        int o;

        *out = CNR_FORMAT_TEXT;
        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1) {
                switch (o) {
                case 'f':
                        if (cnr_cli_parse_format(cli, optarg, out) != 0)
                                return CNR_EXIT_USAGE;
                        break;
                case 'h':
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                default:
                        return CNR_EXIT_USAGE;
                }
        }
        if (cnr_cli_no_args(cli, argc, argv) != 0)
                return CNR_EXIT_USAGE;
        return -1;
}

/* ---- options ---- */

int
cnr_cli_getopt(struct cnr_cli *cli, int argc, char **argv, const char *shortopts, const struct option *longopts)
{
        int o;

        opterr = 0;
        o = getopt_long(argc, argv, shortopts, longopts, NULL);
        if (o == '?') {
                const char *bad = argv[optind - 1];
                if (optopt != 0 && !(bad[0] == '-' && bad[1] == '-'))
                        cnr_cli_usage_error(cli, "unknown option `-%c`", optopt);
                else
                        cnr_cli_usage_error(cli, "unknown option `%s`", bad);
        } else if (o == ':') {
                const char *bad = argv[optind - 1];
                if (optopt != 0 && !(bad[0] == '-' && bad[1] == '-'))
                        cnr_cli_usage_error(cli, "option `-%c` needs a value", optopt);
                else
                        cnr_cli_usage_error(cli, "option `%s` needs a value", bad);
                o = '?';
        }
        return o;
}

int
cnr_cli_no_args(struct cnr_cli *cli, int argc, char **argv)
{
        if (optind < argc)
                return cnr_cli_usage_error(cli, "unexpected argument `%s`", argv[optind]);
        return 0;
}

/* ---- help and dispatch ---- */

static void
list_commands(FILE *f, const struct cnr_cli_cmd *table)
{
        size_t w = 0;

        for (const struct cnr_cli_cmd *c = table; c->name; c++)
                if (strlen(c->name) > w)
                        w = strlen(c->name);
        for (const struct cnr_cli_cmd *c = table; c->name; c++)
                fprintf(f, "  %-*s   %s\n", (int)w, c->name, c->summary);
}

static void
top_help(FILE *f)
{
        fputs("Usage: containr [OPTIONS] COMMAND [ARGS...]\n"
              "\n"
              "containr is the command-line client of containrd, a privilege-separated\n"
              "container engine.\n"
              "\n"
              "Commands:\n",
              f);
        list_commands(f, commands);
        fputc('\n', f);
        fputs(global_help, f);
        fputs("\nRun `containr COMMAND --help` for more about a command; see containr(1).\n", f);
}

void
cnr_cli_help(FILE *f, const struct cnr_cli *cli, const struct cnr_cli_cmd *cmd)
{
        fprintf(f, "Usage: containr %s %s\n\n%s.\n", cli->path, cmd->usage, cmd->summary);
        if (cmd->sub != NULL) {
                fputs("\nCommands:\n", f);
                list_commands(f, cmd->sub);
                fprintf(f, "\nRun `containr %s COMMAND --help` for more about a command.\n", cli->path);
        } else {
                fputc('\n', f);
                if (cmd->help)
                        fputs(cmd->help, f);
                else
                        fputs("Options:\n", f);
                fputs("  -h, --help            Show this help\n", f);
        }
}

static void
path_push(struct cnr_cli *cli, const char *word)
{
        size_t n = strlen(cli->path);

        snprintf(cli->path + n, sizeof(cli->path) - n, "%s%s", n ? " " : "", word);
}

static const struct cnr_cli_cmd *
lookup(const struct cnr_cli_cmd *table, const char *word)
{
        for (const struct cnr_cli_cmd *c = table; c->name; c++)
                if (strcmp(c->name, word) == 0)
                        return c;
        return NULL;
}

static int
unknown_command(const struct cnr_cli *cli, const struct cnr_cli_cmd *table, const char *word)
{
        const char *names[64];
        const char *hint;
        size_t n = 0;

        for (const struct cnr_cli_cmd *c = table; c->name && n < CNR_ARRAY_LEN(names); c++)
                names[n++] = c->name;
        hint = cnr_suggest(word, names, n);
        fflush(stdout);
        if (hint)
                fprintf(stderr, "containr: unknown command `%s%s%s` (did you mean `%s%s%s`? see containr%s%s help)\n",
                        cli->path, cli->path[0] ? " " : "", word, cli->path, cli->path[0] ? " " : "", hint,
                        cli->path[0] ? " " : "", cli->path);
        else
                fprintf(stderr, "containr: unknown command `%s%s%s` (see containr%s%s help)\n", cli->path,
                        cli->path[0] ? " " : "", word, cli->path[0] ? " " : "", cli->path);
        return CNR_EXIT_USAGE;
}

static int is_help_flag(const char *s)
{
        return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0;
}

int
cnr_cli_dispatch(struct cnr_cli *cli, const struct cnr_cli_cmd *table, int argc, char **argv)
{
        const struct cnr_cli_cmd *cmd = lookup(table, argv[0]);

        if (cmd == NULL)
                return unknown_command(cli, table, argv[0]);
        path_push(cli, cmd->name);
        if (cmd->sub == NULL) {
                static const char *const run_family[] = {"run", "create", "start", "exec"};
                int r;
                optind = 0; /* glibc: reinitialise getopt for this argv */
                usage_reported = false;
                r = cmd->run(cli, cmd, argc, argv);
                /* Docker exits 125 when run, create, start or exec fail in
                 * the CLI, a usage error included (126/127 and every other
                 * status stay the command's) */
                if (r == CNR_EXIT_USAGE && usage_reported)
                        for (size_t i = 0; i < CNR_ARRAY_LEN(run_family); i++)
                                if (strcmp(cli->path, run_family[i]) == 0)
                                        return CNR_EXIT_CLI;
                return r;
        }
        if (argc < 2) {
                cnr_cli_help(stderr, cli, cmd);
                return CNR_EXIT_USAGE;
        }
        if (is_help_flag(argv[1])) {
                cnr_cli_help(stdout, cli, cmd);
                return CNR_EXIT_OK;
        }
        if (argv[1][0] == '-')
                return cnr_cli_usage_error(cli, "unknown option `%s`", argv[1]);
        return cnr_cli_dispatch(cli, cmd->sub, argc - 1, argv + 1);
}

/* containr help [COMMAND [SUBCOMMAND...]] */
static int
cmd_help(struct cnr_cli *cli, const struct cnr_cli_cmd *self, int argc, char **argv)
{
        const struct cnr_cli_cmd *table = commands, *cmd = NULL;

        if (argc == 2 && is_help_flag(argv[1])) {
                cnr_cli_help(stdout, cli, self);
                return CNR_EXIT_OK;
        }
        if (argc < 2) {
                top_help(stdout);
                return CNR_EXIT_OK;
        }
        cli->path[0] = '\0';
        for (int i = 1; i < argc; i++) {
                if (table == NULL)
                        return cnr_cli_usage_error(cli, "`%s` has no subcommands", cli->path);
                cmd = lookup(table, argv[i]);
                if (cmd == NULL)
                        return unknown_command(cli, table, argv[i]);
                path_push(cli, cmd->name);
                table = cmd->sub;
        }
        if (cmd->run == cmd_help)
                top_help(stdout);
        else
                cnr_cli_help(stdout, cli, cmd);
        return CNR_EXIT_OK;
}

int
main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"host", required_argument, NULL, 'H'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'v'},
                {NULL, 0, NULL, 0},
        };
        struct cnr_cli cli = {.host = getenv("CONTAINR_HOST")};
        int o;

        while ((o = cnr_cli_getopt(&cli, argc, argv, "+:H:hv", opts)) != -1) {
                switch (o) {
                case 'H':
                        cli.host = optarg;
                        break;
                case 'h':
                        top_help(stdout);
                        return CNR_EXIT_OK;
                case 'v':
                        printf("containr version %s (protocol %d)\n", PACKAGE_VERSION, CNR_IPC_PROTOCOL);
                        return CNR_EXIT_OK;
                default:
                        return CNR_EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                top_help(stderr);
                return CNR_EXIT_USAGE;
        }
        return cnr_cli_dispatch(&cli, commands, argc - optind, argv + optind);
}
