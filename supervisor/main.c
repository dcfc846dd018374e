/* containrd: starts as root, reads its config, prepares the state
 * directories, and becomes the monitor, which forks the unprivileged
 * supervisor and spawns the helpers (see containrd(8)). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/util.h"
#include "supervisor/containrd.h"

static void
usage(FILE *out)
{
        fprintf(out,
                "Usage: containrd [OPTIONS]\n"
                "\n"
                "The containr daemon: a root monitor, an unprivileged supervisor and its helpers.\n"
                "\n"
                "  -c, --config FILE         config file (default " CNR_DEFAULT_CONFIG ")\n"
                "      --root DIR            state directory\n"
                "      --run-root DIR        runtime directory (API socket, pid file)\n"
                "      --log-dir DIR         logs and audit logs\n"
                "      --helper-dir DIR      where the containr-* helpers are\n"
                "      --user USER           the supervisor's identity (name, uid or uid:gid)\n"
                "      --socket-group GROUP  group allowed to use the API socket\n"
                "      --helper-user NAME=USER  a helper's identity (repeatable)\n"
                "      --log-level LEVEL     error, warn, info or debug\n"
                "  -d, --detach              run in the background once everything is up\n"
                "  -V, --version             print the version\n"
                "  -h, --help                this help\n");
}

static void
set_str(char **dst, const char *v)
{
        free(*dst);
        *dst = xstrdup(v);
}

static int
check_abs(const char *what, const char *p)
{
        if (p[0] != '/') {
                fprintf(stderr, "containrd: %s `%s` must be an absolute path\n", what, p);
                return -1;
        }
        return 0;
}

/* mkdir -p for one directory level and make it exactly owner:group mode. */
static int
prepare_dir(const char *path, uid_t uid, gid_t gid, mode_t mode, struct cnr_err **err)
{
        struct stat st;

        if (mkdir(path, mode) < 0 && errno != EEXIST) {
                /* parents first */
                _cleanup_free_ char *parent = xstrdup(path);
                char *slash = strrchr(parent, '/');
                if (errno != ENOENT || slash == NULL || slash == parent)
                        return cnr_errf(err, errno, "create `%s`", path);
                *slash = '\0';
                if (prepare_dir(parent, 0, 0, 0755, err) < 0)
                        return -1;
                if (mkdir(path, mode) < 0 && errno != EEXIST)
                        return cnr_errf(err, errno, "create `%s`", path);
        }
        if (lstat(path, &st) < 0)
                return cnr_errf(err, errno, "stat `%s`", path);
        if (!S_ISDIR(st.st_mode))
                return cnr_errf(err, ENOTDIR, "`%s` is not a directory", path);
        if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0)
                return cnr_errf(err, errno, "set owner and mode of `%s`", path);
        return 0;
}

/* <parent>/<name>, the supervisor's own (container log files; the boot
 * id that tells a reboot from a restart, on the run root's tmpfs). */
static int
prepare_dir_under(const char *parent, const char *name, const struct cnr_identity *id, mode_t mode,
                  struct cnr_err **err)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", parent, name);

        return prepare_dir(p, id->uid, id->gid, mode, err);
}

static bool
daemon_answers(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return false;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

static int
detach(struct cnr_daemon *d)
{
        int p[2];
        pid_t pid;
        char c;
        _cleanup_free_ char *logpath = xasprintf("%s/containrd.log", d->cfg.log_dir);
        int logfd;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid > 0) {
                close(p[1]);
                /* Wait until the supervisor reports every helper up. */
                if (read(p[0], &c, 1) != 1) {
                        fprintf(stderr, "containrd: failed to start; see %s\n", logpath);
                        _exit(1);
                }
                _exit(0);
        }
        close(p[0]);
        d->ready_fd = p[1];
        setsid();
        logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (logfd >= 0) {
                int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (nul >= 0) {
                        dup2(nul, 0);
                        close(nul);
                }
                dup2(logfd, 1);
                dup2(logfd, 2);
                close(logfd);
        }
        return 0;
}

int
main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},   {"root", required_argument, NULL, 'R'},
                {"run-root", required_argument, NULL, 'r'}, {"log-dir", required_argument, NULL, 'L'},
                {"helper-dir", required_argument, NULL, 'H'}, {"user", required_argument, NULL, 'u'},
                {"socket-group", required_argument, NULL, 'g'}, {"helper-user", required_argument, NULL, 'U'},
                {"log-level", required_argument, NULL, 'l'}, {"detach", no_argument, NULL, 'd'},
                {"version", no_argument, NULL, 'V'},        {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0}};
        struct cnr_daemon d = {.ready_fd = -1};
        struct cnr_err *err = NULL;
        const char *config = CNR_DEFAULT_CONFIG;
        bool config_given = false, do_detach = false;
        /* flags are applied after the file, so they win */
        const char *o_root = NULL, *o_run = NULL, *o_log = NULL, *o_helper = NULL, *o_user = NULL,
                   *o_group = NULL, *o_level = NULL;
        const char *o_huser[CNR_HELPER_COUNT] = {0};
        struct utsname un;
        int c, r;

        /* Nothing inherited from whoever started us reaches the monitor,
         * the supervisor or a helper. */
        syscall(SYS_close_range, 3U, ~0U, 0);
        while ((c = getopt_long(argc, argv, "c:dVh", opts, NULL)) != -1) {
                switch (c) {
                case 'c': config = optarg; config_given = true; break;
                case 'R': o_root = optarg; break;
                case 'r': o_run = optarg; break;
                case 'L': o_log = optarg; break;
                case 'H': o_helper = optarg; break;
                case 'u': o_user = optarg; break;
                case 'g': o_group = optarg; break;
                case 'l': o_level = optarg; break;
                case 'd': do_detach = true; break;
                case 'U': {
                        const char *eq = strchr(optarg, '=');
                        _cleanup_free_ char *name = eq ? xstrndup(optarg, (size_t)(eq - optarg)) : NULL;
                        int id = name ? cnr_helper_lookup(name) : -1;
                        if (id < 0) {
                                fprintf(stderr, "containrd: --helper-user wants NAME=USER with NAME one of "
                                                "mountd, netd, snapd, buildd, crid\n");
                                return 2;
                        }
                        o_huser[id] = eq + 1;
                        break;
                }
                case 'V': printf("containrd %s (protocol %d)\n", PACKAGE_VERSION, 1); return 0;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "containrd: unexpected argument `%s`\n", argv[optind]);
                return 2;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "containrd: must be started as root: it keeps a small root monitor and drops "
                                "every other process to its own user\n");
                return 1;
        }
        cnr_config_init(&d.cfg);
        if (cnr_config_load(&d.cfg, config, config_given, &err) < 0) {
                fprintf(stderr, "containrd: %s\n", cnr_err_str(err));
                return 1;
        }
        if (o_root) set_str(&d.cfg.root, o_root);
        if (o_run) set_str(&d.cfg.run_root, o_run);
        if (o_log) set_str(&d.cfg.log_dir, o_log);
        if (o_helper) set_str(&d.cfg.helper_dir, o_helper);
        if (o_user) set_str(&d.cfg.user, o_user);
        if (o_group) set_str(&d.cfg.socket_group, o_group);
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                if (o_huser[i])
                        set_str(&d.cfg.helper_user[i], o_huser[i]);
        if (o_level && cnr_log_level_parse(o_level, &d.cfg.log_level) < 0) {
                fprintf(stderr, "containrd: --log-level `%s` is not one of error, warn, info, debug\n", o_level);
                return 2;
        }
        if (check_abs("--root", d.cfg.root) < 0 || check_abs("--run-root", d.cfg.run_root) < 0 ||
            check_abs("--log-dir", d.cfg.log_dir) < 0 || check_abs("--helper-dir", d.cfg.helper_dir) < 0)
                return 2;

        /* Identities, resolved once as root from the host's databases. */
        r = cnr_identity_resolve(d.cfg.user, &d.sup_id, &err);
        if (r == 0)
                r = cnr_group_resolve(d.cfg.socket_group, &d.socket_gid, &err);
        for (int i = 0; r == 0 && i < CNR_HELPER_COUNT; i++) {
                r = cnr_identity_resolve(d.cfg.helper_user[i], &d.helper_id[i], &err);
                if (r < 0)
                        cnr_err_wrap(&err, "helper %s", cnr_helpers[i].name);
        }
        if (r < 0) {
                fprintf(stderr, "containrd: %s\n", cnr_err_str(err));
                return 1;
        }
        if (d.sup_id.uid == 0) {
                fprintf(stderr, "containrd: the supervisor must not run as root (user `%s`)\n", d.cfg.user);
                return 1;
        }
        for (int i = 0; i < CNR_HELPER_COUNT; i++) {
                if (d.helper_id[i].uid == 0 || d.helper_id[i].uid == d.sup_id.uid) {
                        fprintf(stderr, "containrd: helper %s needs its own non-root user (got uid %u)\n",
                                cnr_helpers[i].name, (unsigned)d.helper_id[i].uid);
                        return 1;
                }
        }
        d.sock_path = xasprintf("%s/containr.sock", d.cfg.run_root);
        d.pid_path = xasprintf("%s/containrd.pid", d.cfg.run_root);
        d.snap_root = xasprintf("%s/snapshots", d.cfg.root);

        /* State directories: the root belongs to the supervisor, the snapshot
         * tree to snapd, the run and log directories to root. */
        if (prepare_dir(d.cfg.root, d.sup_id.uid, d.sup_id.gid, 0711, &err) < 0 ||
            prepare_dir(d.snap_root, d.helper_id[CNR_HELPER_SNAPD].uid, d.helper_id[CNR_HELPER_SNAPD].gid, 0700,
                        &err) < 0 ||
            prepare_dir(d.cfg.run_root, 0, 0, 0711, &err) < 0 || prepare_dir(d.cfg.log_dir, 0, 0, 0711, &err) < 0 ||
            prepare_dir_under(d.cfg.run_root, "containers", &d.sup_id, 0700, &err) < 0 ||
            prepare_dir_under(d.cfg.log_dir, "containers", &d.sup_id, 0750, &err) < 0) {
                fprintf(stderr, "containrd: %s\n", cnr_err_str(err));
                return 1;
        }
        if (daemon_answers(d.sock_path)) {
                fprintf(stderr, "containrd: another containrd is running on `%s`\n", d.sock_path);
                return 1;
        }
        umask(0077);
        if (do_detach && detach(&d) < 0) {
                fprintf(stderr, "containrd: detach: %s\n", strerror(errno));
                return 1;
        }
        cnr_log_init("containrd", d.cfg.log_level, NULL, NULL);
        uname(&un);
        log_info("containrd %s starting: kernel %s, root %s, run root %s, log dir %s, helpers from %s",
                 PACKAGE_VERSION, un.release, d.cfg.root, d.cfg.run_root, d.cfg.log_dir, d.cfg.helper_dir);
        {
                _cleanup_free_ char *pid = xasprintf("%d\n", (int)getpid());
                int fd = open(d.pid_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (fd >= 0) {
                        cnr_write_all(fd, pid, strlen(pid));
                        close(fd);
                }
        }
        return cnr_monitor_run(&d);
}
