/* containr run, create, start, attach: the flags Docker users know,
 * turned into a ContainerConfig.  Host resources are opened here, as the
 * operator: bind sources (O_PATH), --env-file, seccomp profiles and the
 * --init binary; containrd never opens a host path for us. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/container.h"
#include "common/util.h"

#define TINI "/usr/bin/tini-static"

struct run_opts {
        Cnr__Api__ContainerConfig cfg;
        bool detach;
        int fds[16]; /* to stage, in index order */
        size_t nfds;
        /* owned strings and arrays */
        char **strs;
        size_t nstrs;
};

static char *
keep(struct run_opts *o, char *s)
{
        o->strs = xrealloc(o->strs, (o->nstrs + 1) * sizeof(char *));
        o->strs[o->nstrs++] = s;
        return s;
}

static void
push(char ***v, size_t *n, char *s)
{
        *v = xrealloc(*v, (*n + 1) * sizeof(char *));
        (*v)[(*n)++] = s;
}

static int
stage(struct run_opts *o, int fd)
{
        if (o->nfds >= CNR_ARRAY_LEN(o->fds)) {
                close(fd);
                return -1;
        }
        o->fds[o->nfds] = fd;
        return (int)o->nfds++;
}

static void
add_mount(struct run_opts *o, const char *type, const char *src, const char *dst, bool ro, int fd, uint64_t size,
          uint32_t mode)
{
        Cnr__Api__ContainerMount *m = xcalloc(1, sizeof(*m));

        cnr__api__container_mount__init(m);
        m->type = (char *)type;
        m->source = keep(o, xstrdup(src));
        m->destination = keep(o, xstrdup(dst));
        m->read_only = ro;
        m->fd = fd;
        m->tmpfs_size = size;
        m->tmpfs_mode = mode;
        o->cfg.mounts = xrealloc(o->cfg.mounts, (o->cfg.n_mounts + 1) * sizeof(*o->cfg.mounts));
        o->cfg.mounts[o->cfg.n_mounts++] = m;
}

/* mkdir -p, as the operator: -v makes a missing host directory (Docker). */
static int
mkdir_p(const char *path)
{
        _cleanup_free_ char *p = xstrdup(path);

        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -1;
                *s = c;
                if (c == '\0')
                        return 0;
        }
}

static int
bind_source(struct cnr_cli *cli, struct run_opts *o, const char *src, bool make)
{
        int fd = open(src, O_PATH | O_CLOEXEC);

        if (fd < 0 && errno == ENOENT && make && mkdir_p(src) == 0)
                fd = open(src, O_PATH | O_CLOEXEC);
        if (fd < 0) {
                cnr_cli_error("bind source `%s`: %s", src, strerror(errno));
                return -1;
        }
        fd = stage(o, fd);
        if (fd < 0)
                cnr_cli_error("at most 16 bind mounts");
        return fd;
}

/* -v SRC:DST[:ro], NAME:DST[:ro], DST */
static int
opt_volume(struct cnr_cli *cli, struct run_opts *o, const char *arg)
{
        _cleanup_free_ char *copy = xstrdup(arg);
        char *parts[3] = {NULL, NULL, NULL};
        size_t n = 0;
        bool ro = false;

        for (char *p = copy, *tok; n < 3 && (tok = strsep(&p, ":")) != NULL;)
                parts[n++] = tok;
        if (n == 3) {
                if (strcmp(parts[2], "ro") == 0)
                        ro = true;
                else if (strcmp(parts[2], "rw") != 0)
                        return cnr_cli_usage_error(cli, "-v `%s`: mode must be ro or rw", arg);
        }
        if (n == 1) {
                add_mount(o, "volume", "", parts[0], false, -1, 0, 0);
                return 0;
        }
        if (parts[1][0] != '/')
                return cnr_cli_usage_error(cli, "-v `%s`: the destination must be an absolute path", arg);
        if (parts[0][0] == '/' || parts[0][0] == '.') {
                int fd = bind_source(cli, o, parts[0], true);
                if (fd < 0)
                        return CNR_EXIT_FAIL;
                add_mount(o, "bind", parts[0], parts[1], ro, fd, 0, 0);
        } else {
                add_mount(o, "volume", parts[0], parts[1], ro, -1, 0, 0);
        }
        return 0;
}

/* --mount type=bind|volume|tmpfs,source=,target=,readonly,tmpfs-size= */
static int
opt_mount(struct cnr_cli *cli, struct run_opts *o, const char *arg)
{
        _cleanup_free_ char *copy = xstrdup(arg);
        const char *type = "volume", *src = "", *dst = NULL;
        bool ro = false;
        long long size = 0;

        for (char *p = copy, *tok; (tok = strsep(&p, ",")) != NULL;) {
                char *eq = strchr(tok, '=');
                const char *v = eq ? eq + 1 : "";
                if (eq)
                        *eq = '\0';
                if (strcmp(tok, "type") == 0)
                        type = strcmp(v, "bind") == 0 ? "bind" : strcmp(v, "tmpfs") == 0 ? "tmpfs" : "volume";
                else if (strcmp(tok, "source") == 0 || strcmp(tok, "src") == 0)
                        src = v;
                else if (strcmp(tok, "target") == 0 || strcmp(tok, "destination") == 0 || strcmp(tok, "dst") == 0)
                        dst = v;
                else if (strcmp(tok, "readonly") == 0 || strcmp(tok, "ro") == 0)
                        ro = !eq || strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
                else if (strcmp(tok, "tmpfs-size") == 0 && (size = ctr_cli_bytes(v)) < 0)
                        return cnr_cli_usage_error(cli, "--mount: bad tmpfs-size `%s`", v);
        }
        if (!dst || dst[0] != '/')
                return cnr_cli_usage_error(cli, "--mount `%s`: needs an absolute target", arg);
        if (strcmp(type, "bind") == 0) {
                int fd = bind_source(cli, o, src, false); /* --mount: must exist (Docker) */
                if (fd < 0)
                        return CNR_EXIT_FAIL;
                add_mount(o, "bind", src, dst, ro, fd, 0, 0);
        } else {
                add_mount(o, type, src, dst, ro, -1, (uint64_t)size, 0);
        }
        return 0;
}

static int
opt_tmpfs(struct cnr_cli *cli, struct run_opts *o, const char *arg)
{
        _cleanup_free_ char *copy = xstrdup(arg);
        char *opts = strchr(copy, ':');
        long long size = 0;
        unsigned long mode = 0;

        if (opts)
                *opts++ = '\0';
        if (copy[0] != '/')
                return cnr_cli_usage_error(cli, "--tmpfs `%s`: the destination must be absolute", arg);
        for (char *p = opts, *tok; p && (tok = strsep(&p, ",")) != NULL;) {
                if (strncmp(tok, "size=", 5) == 0 && (size = ctr_cli_bytes(tok + 5)) < 0)
                        return cnr_cli_usage_error(cli, "--tmpfs: bad size `%s`", tok + 5);
                if (strncmp(tok, "mode=", 5) == 0)
                        mode = strtoul(tok + 5, NULL, 8);
        }
        add_mount(o, "tmpfs", "", copy, false, -1, (uint64_t)size, (uint32_t)mode);
        return 0;
}

static bool
perms_ok(const char *p)
{
        bool seen[3] = {false, false, false};

        for (; *p; p++) {
                const char *at = strchr("rwm", *p);
                if (*p == '\0' || at == NULL || seen[at - "rwm"])
                        return false;
                seen[at - "rwm"] = true;
        }
        return seen[0] || seen[1] || seen[2];
}

/* --device HOST[:CONTAINER[:PERMS]], or HOST:PERMS (Docker's forms).  The
 * host node is opened here, as the operator (O_PATH, links followed). */
static int
opt_device(struct cnr_cli *cli, struct run_opts *o, const char *arg)
{
        _cleanup_free_ char *copy = xstrdup(arg);
        char *parts[4] = {NULL, NULL, NULL, NULL};
        const char *dst, *perms = "rwm";
        Cnr__Api__ContainerDevice *d;
        struct stat st;
        size_t n = 0;
        int fd;

        for (char *p = copy, *tok; n < 4 && (tok = strsep(&p, ":")) != NULL;)
                parts[n++] = tok;
        if (n > 3)
                return cnr_cli_usage_error(cli, "--device `%s`: want HOST[:CONTAINER[:PERMS]]", arg);
        dst = parts[0];
        if (n == 2 && parts[1][0] != '/')
                perms = parts[1];
        else if (n >= 2)
                dst = parts[1];
        if (n == 3)
                perms = parts[2];
        if (parts[0][0] != '/' || dst[0] != '/')
                return cnr_cli_usage_error(cli, "--device `%s`: both paths must be absolute", arg);
        if (!perms_ok(perms))
                return cnr_cli_usage_error(cli, "--device `%s`: permissions `%s` are not a subset of rwm", arg, perms);
        fd = open(parts[0], O_PATH | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                cnr_cli_error("--device `%s`: %s", parts[0], strerror(errno));
                if (fd >= 0)
                        close(fd);
                return CNR_EXIT_FAIL;
        }
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
                close(fd);
                cnr_cli_error("--device `%s`: not a character or block device", parts[0]);
                return CNR_EXIT_FAIL;
        }
        fd = stage(o, fd);
        if (fd < 0) {
                cnr_cli_error("at most 16 bind mounts and devices");
                return CNR_EXIT_FAIL;
        }
        d = xcalloc(1, sizeof(*d));
        cnr__api__container_device__init(d);
        d->path_on_host = keep(o, xstrdup(parts[0]));
        d->path = keep(o, xstrdup(dst));
        d->permissions = keep(o, xstrdup(perms));
        d->fd = fd;
        o->cfg.devices = xrealloc(o->cfg.devices, (o->cfg.n_devices + 1) * sizeof(*o->cfg.devices));
        o->cfg.devices[o->cfg.n_devices++] = d;
        return 0;
}

static int
opt_env_file(struct run_opts *o, const char *path)
{
        FILE *f = fopen(path, "re");
        char line[8192];

        if (!f) {
                cnr_cli_error("--env-file `%s`: %s", path, strerror(errno));
                return -1;
        }
        while (fgets(line, sizeof(line), f)) {
                char *s = line;
                line[strcspn(line, "\r\n")] = '\0';
                while (*s == ' ' || *s == '\t')
                        s++;
                if (*s == '\0' || *s == '#')
                        continue;
                if (!strchr(s, '=')) {
                        const char *v = getenv(s);
                        if (!v)
                                continue;
                        push(&o->cfg.env, &o->cfg.n_env, keep(o, xasprintf("%s=%s", s, v)));
                } else {
                        push(&o->cfg.env, &o->cfg.n_env, keep(o, xstrdup(s)));
                }
        }
        fclose(f);
        return 0;
}

static char *
read_file(const char *path)
{
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0, cap = 0, n;

        if (!f)
                return NULL;
        do {
                if (len + 4096 > cap)
                        buf = xrealloc(buf, cap = cap ? 2 * cap : 8192);
                n = fread(buf + len, 1, cap - len - 1, f);
                len += n;
        } while (n > 0 && len < 1024 * 1024);
        fclose(f);
        buf[len] = '\0';
        return buf;
}

enum {
        O_RM = 1000,
        O_NAME,
        O_ENVFILE,
        O_ENTRYPOINT,
        O_MOUNT,
        O_TMPFS,
        O_NETWORK,
        O_MEMSWAP,
        O_CPUS,
        O_PIDS,
        O_READONLY,
        O_CAPADD,
        O_CAPDROP,
        O_SECOPT,
        O_PRIV,
        O_ULIMIT,
        O_RESTART,
        O_INIT,
        O_SYSCTL,
        O_USERNS,
        O_DEVICE,
        O_IP,
        O_IP6,
        O_HELP,
};

static const struct option run_longopts[] = {
        {"detach", no_argument, NULL, 'd'},
        {"interactive", no_argument, NULL, 'i'},
        {"tty", no_argument, NULL, 't'},
        {"rm", no_argument, NULL, O_RM},
        {"name", required_argument, NULL, O_NAME},
        {"env", required_argument, NULL, 'e'},
        {"env-file", required_argument, NULL, O_ENVFILE},
        {"workdir", required_argument, NULL, 'w'},
        {"user", required_argument, NULL, 'u'},
        {"entrypoint", required_argument, NULL, O_ENTRYPOINT},
        {"hostname", required_argument, NULL, 'h'},
        {"volume", required_argument, NULL, 'v'},
        {"mount", required_argument, NULL, O_MOUNT},
        {"tmpfs", required_argument, NULL, O_TMPFS},
        {"publish", required_argument, NULL, 'p'},
        {"network", required_argument, NULL, O_NETWORK},
        {"net", required_argument, NULL, O_NETWORK},
        {"ip", required_argument, NULL, O_IP},
        {"ip6", required_argument, NULL, O_IP6},
        {"memory", required_argument, NULL, 'm'},
        {"memory-swap", required_argument, NULL, O_MEMSWAP},
        {"cpus", required_argument, NULL, O_CPUS},
        {"pids-limit", required_argument, NULL, O_PIDS},
        {"read-only", no_argument, NULL, O_READONLY},
        {"cap-add", required_argument, NULL, O_CAPADD},
        {"cap-drop", required_argument, NULL, O_CAPDROP},
        {"security-opt", required_argument, NULL, O_SECOPT},
        {"privileged", no_argument, NULL, O_PRIV},
        {"ulimit", required_argument, NULL, O_ULIMIT},
        {"restart", required_argument, NULL, O_RESTART},
        {"init", no_argument, NULL, O_INIT},
        {"sysctl", required_argument, NULL, O_SYSCTL},
        {"userns", required_argument, NULL, O_USERNS},
        {"device", required_argument, NULL, O_DEVICE},
        {"label", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
};

/* Parse the options and IMAGE [COMMAND [ARG...]].  Returns 0, or an exit
 * code (usage: 2, failure: 1), or -1 for --help (printed). */
static int
parse_run(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv, struct run_opts *o)
{
        Cnr__Api__ContainerConfig *cfg = &o->cfg;
        int opt;

        cnr__api__container_config__init(cfg);
        cfg->init_fd = -1;
        while ((opt = cnr_cli_getopt(cli, argc, argv, "+:dite:w:u:h:v:p:m:l:", run_longopts)) != -1) {
                switch (opt) {
                case 'd':
                        o->detach = true;
                        break;
                case 'i':
                        cfg->stdin_open = true;
                        break;
                case 't':
                        cfg->tty = true;
                        break;
                case O_RM:
                        cfg->auto_remove = true;
                        break;
                case O_NAME:
                        cfg->name = optarg;
                        break;
                case 'e':
                        if (!strchr(optarg, '=')) {
                                const char *v = getenv(optarg);
                                if (v)
                                        push(&cfg->env, &cfg->n_env, keep(o, xasprintf("%s=%s", optarg, v)));
                        } else {
                                push(&cfg->env, &cfg->n_env, optarg);
                        }
                        break;
                case O_ENVFILE:
                        if (opt_env_file(o, optarg) < 0)
                                return CNR_EXIT_FAIL;
                        break;
                case 'w':
                        if (optarg[0] != '/')
                                return cnr_cli_usage_error(cli, "-w `%s`: the working directory must be absolute",
                                                           optarg);
                        cfg->workdir = optarg;
                        break;
                case 'u':
                        cfg->user = optarg;
                        break;
                case O_ENTRYPOINT:
                        cfg->entrypoint_set = true;
                        push(&cfg->entrypoint, &cfg->n_entrypoint, optarg);
                        break;
                case 'h':
                        cfg->hostname = optarg;
                        break;
                case 'v': {
                        int r = opt_volume(cli, o, optarg);
                        if (r)
                                return r;
                        break;
                }
                case O_MOUNT: {
                        int r = opt_mount(cli, o, optarg);
                        if (r)
                                return r;
                        break;
                }
                case O_TMPFS: {
                        int r = opt_tmpfs(cli, o, optarg);
                        if (r)
                                return r;
                        break;
                }
                case 'p':
                        push(&cfg->publish, &cfg->n_publish, optarg);
                        break;
                case O_NETWORK:
                        cfg->network = optarg;
                        break;
                case O_IP:
                        cfg->ip = optarg;
                        break;
                case O_IP6:
                        cfg->ip6 = optarg;
                        break;
                case 'm':
                        if ((cfg->memory = ctr_cli_bytes(optarg)) <= 0)
                                return cnr_cli_usage_error(cli, "--memory `%s`: want a size like 64m", optarg);
                        break;
                case O_MEMSWAP:
                        cfg->memory_swap = strcmp(optarg, "-1") == 0 ? -1 : ctr_cli_bytes(optarg);
                        if (cfg->memory_swap == -1 && strcmp(optarg, "-1") != 0)
                                return cnr_cli_usage_error(cli, "--memory-swap `%s`: want a size", optarg);
                        break;
                case O_CPUS: {
                        char *end;
                        double v = strtod(optarg, &end);
                        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
                        if (end == optarg || *end || v != v)
                                return cnr_cli_usage_error(cli, "--cpus `%s`: want a number like 0.5", optarg);
                        /* Docker's bounds and words: a quota below 1% of a
                         * CPU, or above the CPUs the host has online, is
                         * refused rather than written */
                        if (ncpu < 1)
                                ncpu = 1;
                        if (v < 0.01 || v > (double)ncpu)
                                return cnr_cli_usage_error(cli,
                                                           "--cpus `%s`: range of CPUs is from 0.01 to %ld.00, as "
                                                           "there are only %ld CPUs available",
                                                           optarg, ncpu, ncpu);
                        cfg->nano_cpus = (int64_t)(v * 1e9);
                        break;
                }
                case O_PIDS: {
                        unsigned long long v;
                        if (strcmp(optarg, "-1") == 0) /* Docker: -1 (and 0) is unlimited */
                                v = 0;
                        else if (cnr_parse_uint(optarg, 1ULL << 30, &v) < 0)
                                return cnr_cli_usage_error(cli, "--pids-limit `%s`: want a number", optarg);
                        cfg->pids_limit = (int64_t)v;
                        break;
                }
                case O_READONLY:
                        cfg->read_only = true;
                        break;
                case O_CAPADD:
                        push(&cfg->cap_add, &cfg->n_cap_add, optarg);
                        break;
                case O_CAPDROP:
                        push(&cfg->cap_drop, &cfg->n_cap_drop, optarg);
                        break;
                case O_SECOPT:
                        if (strcmp(optarg, "no-new-privileges") == 0 || strcmp(optarg, "no-new-privileges=true") == 0 ||
                            strcmp(optarg, "no-new-privileges:true") == 0) {
                                cfg->no_new_privileges = true;
                        } else if (strcmp(optarg, "seccomp=unconfined") == 0 ||
                                   strcmp(optarg, "seccomp:unconfined") == 0) {
                                cfg->seccomp = "unconfined";
                        } else if (strncmp(optarg, "seccomp=", 8) == 0 || strncmp(optarg, "seccomp:", 8) == 0) {
                                char *prof = read_file(optarg + 8);
                                if (!prof) {
                                        cnr_cli_error("seccomp profile `%s`: %s", optarg + 8, strerror(errno));
                                        return CNR_EXIT_FAIL;
                                }
                                cfg->seccomp = keep(o, prof);
                        } else {
                                return cnr_cli_usage_error(cli,
                                                           "--security-opt `%s`: supported are seccomp=FILE|"
                                                           "unconfined and no-new-privileges",
                                                           optarg);
                        }
                        break;
                case O_PRIV:
                        cfg->privileged = true;
                        break;
                case O_ULIMIT: {
                        Cnr__Api__Ulimit *u = xcalloc(1, sizeof(*u));
                        char *copy = keep(o, xstrdup(optarg)), *eq = strchr(copy, '='), *colon;
                        unsigned long long soft, hard;

                        cnr__api__ulimit__init(u);
                        if (!eq) {
                                free(u);
                                return cnr_cli_usage_error(cli, "--ulimit `%s`: want NAME=SOFT[:HARD]", optarg);
                        }
                        *eq = '\0';
                        colon = strchr(eq + 1, ':');
                        if (colon)
                                *colon = '\0';
                        if (cnr_parse_uint(eq + 1, ~0ULL, &soft) < 0 ||
                            (colon && cnr_parse_uint(colon + 1, ~0ULL, &hard) < 0)) {
                                free(u);
                                return cnr_cli_usage_error(cli, "--ulimit `%s`: want NAME=SOFT[:HARD]", optarg);
                        }
                        u->name = copy;
                        u->soft = soft;
                        u->hard = colon ? hard : soft;
                        cfg->ulimits = xrealloc(cfg->ulimits, (cfg->n_ulimits + 1) * sizeof(*cfg->ulimits));
                        cfg->ulimits[cfg->n_ulimits++] = u;
                        break;
                }
                case O_RESTART: {
                        unsigned long long max;
                        bool onf = strcmp(optarg, "on-failure") == 0;

                        if (strncmp(optarg, "on-failure:", 11) == 0)
                                onf = cnr_parse_uint(optarg + 11, 1000000, &max) == 0;
                        if (strcmp(optarg, "no") != 0 && strcmp(optarg, "always") != 0 &&
                            strcmp(optarg, "unless-stopped") != 0 && !onf)
                                return cnr_cli_usage_error(cli,
                                                           "--restart `%s`: no, on-failure[:N], always or "
                                                           "unless-stopped",
                                                           optarg);
                        cfg->restart = optarg;
                        break;
                }
                case O_INIT: {
                        int fd = open(TINI, O_PATH | O_CLOEXEC);
                        if (fd < 0) {
                                cnr_cli_error("--init needs Debian's tini-static at %s (apt-get install "
                                              "tini): %s",
                                              TINI, strerror(errno));
                                return CNR_EXIT_FAIL;
                        }
                        cfg->init_fd = stage(o, fd);
                        break;
                }
                case 'l':
                        push(&cfg->labels, &cfg->n_labels, optarg);
                        break;
                case O_SYSCTL: /* the allow-list is containrd's (and the shim's) */
                        if (!strchr(optarg, '=') || optarg[0] == '=')
                                return cnr_cli_usage_error(cli, "--sysctl `%s`: want KEY=VALUE", optarg);
                        push(&cfg->sysctls, &cfg->n_sysctls, optarg);
                        break;
                case O_USERNS:
                        cfg->userns = optarg;
                        break;
                case O_DEVICE: {
                        int r = opt_device(cli, o, optarg);
                        if (r)
                                return r;
                        break;
                }
                case O_HELP:
                        cnr_cli_help(stdout, cli, cmd);
                        return -1;
                default:
                        return CNR_EXIT_USAGE;
                }
        }
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "want IMAGE [COMMAND [ARG...]]");
        cfg->image = argv[optind++];
        cfg->cmd = argv + optind;
        cfg->n_cmd = (size_t)(argc - optind);
        /* Docker refuses the pair: --rm removes what the policy restarts */
        if (cfg->auto_remove && cfg->restart && cfg->restart[0] && strcmp(cfg->restart, "no") != 0)
                return cnr_cli_usage_error(cli, "conflicting options: --restart `%s` and --rm", cfg->restart);
        if (cfg->tty && isatty(STDIN_FILENO)) {
                struct winsize ws;
                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
                        cfg->rows = ws.ws_row;
                        cfg->cols = ws.ws_col;
                }
        }
        return 0;
}

static void
run_opts_free(struct run_opts *o)
{
        for (size_t i = 0; i < o->nstrs; i++)
                free(o->strs[i]);
        free(o->strs);
        for (size_t i = 0; i < o->nfds; i++)
                close(o->fds[i]);
        for (size_t i = 0; i < o->cfg.n_mounts; i++)
                free(o->cfg.mounts[i]);
        free(o->cfg.mounts);
        for (size_t i = 0; i < o->cfg.n_ulimits; i++)
                free(o->cfg.ulimits[i]);
        free(o->cfg.ulimits);
        for (size_t i = 0; i < o->cfg.n_devices; i++)
                free(o->cfg.devices[i]);
        free(o->cfg.devices);
        free(o->cfg.env);
        free(o->cfg.entrypoint);
        free(o->cfg.publish);
        free(o->cfg.cap_add);
        free(o->cfg.cap_drop);
        free(o->cfg.labels);
        free(o->cfg.sysctls);
}

/* Stage the fds and create; *id gets the id (malloc'd). */
static int
create(struct cnr_client *cl, struct run_opts *o, char **id)
{
        struct cnr_err *err = NULL;
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerCreate cc = CNR__API__CONTAINER_CREATE__INIT;
        Cnr__Api__Reply *rep = NULL;

        for (size_t i = 0; i < o->nfds; i++) {
                Cnr__Api__Request sreq = CNR__API__REQUEST__INIT;
                Cnr__Api__StageFd sf = CNR__API__STAGE_FD__INIT;
                sreq.op_case = CNR__API__REQUEST__OP_STAGE_FD;
                sreq.stage_fd = &sf;
                if (cnr_client_call_fds(cl, &sreq, &o->fds[i], 1, CNR__API__REPLY__MSG_STAGE_FD, &rep, NULL, 0, &err) <
                    0)
                        goto fail;
                if (rep->stage_fd->index != i) {
                        cnr__api__reply__free_unpacked(rep, NULL);
                        cnr_cli_error("containrd staged fd %u, expected %zu", rep->stage_fd->index, i);
                        return -1;
                }
                cnr__api__reply__free_unpacked(rep, NULL);
        }
        cc.config = &o->cfg;
        req.op_case = CNR__API__REQUEST__OP_CONTAINER_CREATE;
        req.container_create = &cc;
        cl->timeout_ms = 300000;
        if (cnr_client_call(cl, &req, CNR__API__REPLY__MSG_CONTAINER_CREATE, &rep, NULL, 0, &err) < 0)
                goto fail;
        for (size_t i = 0; i < rep->container_create->n_warnings; i++)
                fprintf(stderr, "containr: warning: %s\n", rep->container_create->warnings[i]);
        *id = xstrdup(rep->container_create->id);
        cnr__api__reply__free_unpacked(rep, NULL);
        return 0;
fail:
        cnr_cli_error("%s", cnr_err_str(err));
        cnr_err_free(&err);
        return -1;
}

static int
simple(struct cnr_client *cl, int opcase, int want, const char *id)
{
        struct cnr_err *err = NULL;
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerRef ref = CNR__API__CONTAINER_REF__INIT;
        Cnr__Api__Reply *rep = NULL;

        ref.id = (char *)id;
        req.op_case = opcase;
        req.container_start = &ref; /* start, attach, logs, top share ContainerRef */
        if (cnr_client_call(cl, &req, want, &rep, NULL, 0, &err) < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        cnr__api__reply__free_unpacked(rep, NULL);
        return 0;
}

/* START for run: 0, or the exit status Docker gives a failed start: 127
 * when the command does not exist, 126 when it cannot be executed, 125
 * for anything else.  With `fds`, the start attaches first (containrd
 * asks the shim for the streams, then releases the init) and the answer
 * carries the streams: one round trip instead of an ATTACH and a START. */
static int
start_for_run(struct cnr_client *cl, const char *id, int fds[3], bool *tty)
{
        struct cnr_err *err = NULL;
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerRef ref = CNR__API__CONTAINER_REF__INIT;
        Cnr__Api__Reply *rep = NULL;
        int rc = 125;

        ref.id = (char *)id;
        ref.attach = fds != NULL;
        req.op_case = CNR__API__REQUEST__OP_CONTAINER_START;
        req.container_start = &ref;
        if (cnr_client_call(cl, &req,
                            fds ? CNR__API__REPLY__MSG_CONTAINER_ATTACH : CNR__API__REPLY__MSG_CONTAINER_START, &rep,
                            fds, fds ? 3 : 0, &err) == 0) {
                if (fds) {
                        *tty = rep->container_attach->tty;
                        for (int i = 0; i < 3; i++)
                                fcntl(fds[i], F_SETFL, O_NONBLOCK);
                }
                cnr__api__reply__free_unpacked(rep, NULL);
                return 0;
        }
        /* the shim's failed step: "...: exec `CMD` ...: <its errno's text>"
         * (the answer carries the text, not the number) */
        if (strstr(cnr_err_str(err), ": exec `")) {
                const char *m = cnr_err_str(err);
                size_t n = strlen(m);
                const int codes[] = {ENOENT, EACCES, ENOEXEC};
                for (size_t i = 0; i < 3; i++) {
                        const char *t = strerror(codes[i]);
                        if (n > strlen(t) && strcmp(m + n - strlen(t), t) == 0)
                                rc = codes[i] == ENOENT ? 127 : 126;
                }
        }
        cnr_cli_error("%s", cnr_err_str(err));
        cnr_err_free(&err);
        return rc;
}

/* The container's streams: ATTACH, or with `start` a START that attaches
 * (start -a, run); either answer carries them. */
static int
attach_fds(struct cnr_client *cl, const char *id, bool start, int fds[3], bool *tty)
{
        struct cnr_err *err = NULL;
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerRef ref = CNR__API__CONTAINER_REF__INIT;
        Cnr__Api__Reply *rep = NULL;

        ref.id = (char *)id;
        if (start) {
                ref.attach = true;
                req.op_case = CNR__API__REQUEST__OP_CONTAINER_START;
                req.container_start = &ref;
        } else {
                req.op_case = CNR__API__REQUEST__OP_CONTAINER_ATTACH;
                req.container_attach = &ref;
        }
        if (cnr_client_call(cl, &req, CNR__API__REPLY__MSG_CONTAINER_ATTACH, &rep, fds, 3, &err) < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        *tty = rep->container_attach->tty;
        cnr__api__reply__free_unpacked(rep, NULL);
        for (int i = 0; i < 3; i++)
                fcntl(fds[i], F_SETFL, O_NONBLOCK);
        return 0;
}

/* Ask for the container's exit (and, with `removed`, for its removal
 * too: `run --rm` is answered once the record is gone, so a `ps -a` right
 * after does not show it, without polling).  `run` sends it before START
 * on the same connection: containrd answers START before any exit of that
 * start, and a container that exits at once cannot be gone before its
 * waiter is registered. */
static int
send_wait(struct cnr_client *cl, const char *id, bool removed, uint32_t *reqid)
{
        Cnr__Api__Request req = CNR__API__REQUEST__INIT;
        Cnr__Api__ContainerWait w = CNR__API__CONTAINER_WAIT__INIT;
        struct cnr_err *err = NULL;

        w.id = (char *)id;
        w.removed = removed;
        req.op_case = CNR__API__REQUEST__OP_CONTAINER_WAIT;
        req.container_wait = &w;
        if (cnr_client_send(cl, &req, NULL, 0, reqid, &err) < 0) {
                cnr_cli_error("%s", cnr_err_str(err));
                cnr_err_free(&err);
                return -1;
        }
        return 0;
}

/* Relay until the answer to the wait `reqid`; returns the exit code. */
static int
session(struct cnr_cli *cli, struct cnr_client *cl, const char *id, int fds[3], bool stdin_open, bool tty,
        uint32_t reqid)
{
        struct ctr_relay r = {.cli = cli,
                              .cl = cl,
                              .want = CNR__API__REPLY__MSG_CONTAINER_WAIT,
                              .reqid = reqid,
                              .in = fds[0],
                              .out = fds[1],
                              .err = fds[2],
                              .stdin_open = stdin_open,
                              .tty = tty,
                              .kill_id = tty ? NULL : id,
                              .resize_id = id,
                              .resize_fd = -1};

        cl->timeout_ms = 30000;
        return ctr_cli_relay(&r);
}

static int
run_or_create(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv, bool run)
{
        struct run_opts o = {0};
        struct cnr_client cl;
        _cleanup_free_ char *id = NULL;
        int r, fds[3] = {-1, -1, -1};
        uint32_t wait_id = 0;
        bool tty = false;

        r = parse_run(cli, cmd, argc, argv, &o);
        if (r != 0) {
                run_opts_free(&o);
                /* Docker: 125 when the CLI itself failed (a usage error keeps 2) */
                return r < 0 ? CNR_EXIT_OK : r == CNR_EXIT_FAIL ? 125 : r;
        }
        if (!run)
                o.detach = true;
        if (ctr_cli_open(cli, &cl) < 0) {
                run_opts_free(&o);
                return 125;
        }
        if (create(&cl, &o, &id) < 0) {
                r = 125;
                goto out;
        }
        if (!run) {
                printf("%s\n", id);
                r = CNR_EXIT_OK;
                goto out;
        }
        cl.timeout_ms = 120000;
        /* The wait goes first (see send_wait), then one START that attaches. */
        if (!o.detach && send_wait(&cl, id, o.cfg.auto_remove, &wait_id) < 0) {
                r = 125;
                goto out;
        }
        if ((r = start_for_run(&cl, id, o.detach ? NULL : fds, &tty)) != 0) {
                /* --rm: the failed container is removed too; as after a
                 * run, return once it is gone (the wait sent before START
                 * answers then; its own result is the start's error). */
                if (!o.detach && o.cfg.auto_remove) {
                        Cnr__Api__Reply *rep = NULL;
                        struct cnr_err *err = NULL;

                        cl.timeout_ms = 10000;
                        if (cnr_client_recv(&cl, wait_id, CNR__API__REPLY__MSG_CONTAINER_WAIT, &rep, NULL, 0, &err) <
                            0)
                                cnr_err_free(&err);
                        else
                                cnr__api__reply__free_unpacked(rep, NULL);
                }
                goto out;
        }
        if (o.detach) {
                printf("%s\n", id);
                r = CNR_EXIT_OK;
                goto out;
        }
        r = session(cli, &cl, id, fds, o.cfg.stdin_open, tty, wait_id);
        if (r < 0)
                r = 125;
out:
        cnr_client_close(&cl);
        run_opts_free(&o);
        return r;
}

int
cnr_cmd_run(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        return run_or_create(cli, cmd, argc, argv, true);
}

int
cnr_cmd_create(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        return run_or_create(cli, cmd, argc, argv, false);
}

/* containr start [-a] [-i] CONTAINER... */
int
cnr_cmd_start(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {{"attach", no_argument, NULL, 'a'},
                                             {"interactive", no_argument, NULL, 'i'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        bool attach = false, interactive = false;
        struct cnr_client cl;
        int o, rc = CNR_EXIT_OK;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":aih", opts)) != -1) {
                switch (o) {
                case 'a':
                        attach = true;
                        break;
                case 'i':
                        interactive = true;
                        break;
                case 'h':
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                default:
                        return CNR_EXIT_USAGE;
                }
        }
        if (optind >= argc)
                return cnr_cli_usage_error(cli, "want CONTAINER...");
        if (attach && argc - optind > 1)
                return cnr_cli_usage_error(cli, "--attach takes one container");
        if (ctr_cli_open(cli, &cl) < 0)
                return CNR_EXIT_FAIL;
        cl.timeout_ms = 300000;
        for (int i = optind; i < argc; i++) {
                int fds[3] = {-1, -1, -1};
                bool tty = false;

                if (attach) {
                        uint32_t wait_id;

                        /* attached before the init is released: nothing is
                         * missed, even from a container that exits at once */
                        if (attach_fds(&cl, argv[i], true, fds, &tty) < 0 ||
                            send_wait(&cl, argv[i], false, &wait_id) < 0) {
                                rc = CNR_EXIT_FAIL;
                                break;
                        }
                        rc = session(cli, &cl, argv[i], fds, interactive, tty, wait_id);
                        if (rc < 0)
                                rc = CNR_EXIT_FAIL;
                        break;
                }
                if (simple(&cl, CNR__API__REQUEST__OP_CONTAINER_START, CNR__API__REPLY__MSG_CONTAINER_START, argv[i]) <
                    0)
                        rc = CNR_EXIT_FAIL;
                else
                        printf("%s\n", argv[i]);
        }
        cnr_client_close(&cl);
        return rc;
}

/* containr attach CONTAINER */
int
cnr_cmd_attach(struct cnr_cli *cli, const struct cnr_cli_cmd *cmd, int argc, char **argv)
{
        static const struct option opts[] = {
                {"no-stdin", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
        bool no_stdin = false, tty = false;
        struct cnr_client cl;
        int o, rc, fds[3] = {-1, -1, -1};
        uint32_t wait_id;

        while ((o = cnr_cli_getopt(cli, argc, argv, ":h", opts)) != -1) {
                switch (o) {
                case 'n':
                        no_stdin = true;
                        break;
                case 'h':
                        cnr_cli_help(stdout, cli, cmd);
                        return CNR_EXIT_OK;
                default:
                        return CNR_EXIT_USAGE;
                }
        }
        if (argc - optind != 1)
                return cnr_cli_usage_error(cli, "want CONTAINER");
        if (ctr_cli_open(cli, &cl) < 0)
                return CNR_EXIT_FAIL;
        if (attach_fds(&cl, argv[optind], false, fds, &tty) < 0 || send_wait(&cl, argv[optind], false, &wait_id) < 0) {
                cnr_client_close(&cl);
                return CNR_EXIT_FAIL;
        }
        rc = session(cli, &cl, argv[optind], fds, !no_stdin, tty, wait_id);
        cnr_client_close(&cl);
        return rc < 0 ? CNR_EXIT_FAIL : rc;
}
