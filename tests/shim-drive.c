/* shim-drive: make a container with containr-shim exactly as the monitor
 * does (spec in a sealed memfd at fd 3, setup channel at fd 4, detached
 * with cnr_spawn_detached) and talk to its socket, one command per run --
 * so every command after `create` is also a reconnection.
 *
 *   shim-drive create --shim BIN --id ID --dir DIR --rootfs ROOTFS [options] -- ARGS...
 *       options: --log FILE  --terminal  --cgroup PATH  --memory BYTES
 *                --pids N  --cpu-quota US  --cpu-period US  --cpu-shares N
 *                --seccomp default|unconfined|FILE  --nnp  --user UID:GID[:G1,G2]
 *                --cwd DIR  --hostname NAME  --net new|host  --mount DEST=SRC
 *                --readonly  --ambient CAPNR  --caps MASK  --env K=V
 *                --hosts TEXT  --oom-score N  --uid-raw N  --userns
 *                --netns PATH (a network namespace file, as netd's fd)
 *                --sysctl KEY=VALUE  --volume DEST=SRC (a mount with copy_up)
 *                --snapshot-root DIR (passed on to the shim)
 *       prints "created INIT_PID SHIM_PID"
 *   shim-drive state DIR                 "STATUS PID EXIT_CODE OOM(0|1) SHIM_PID"
 *   shim-drive start DIR
 *   shim-drive kill DIR SIGNAL [all]
 *   shim-drive wait DIR [PID]            "exited CODE oom=0|1"
 *   shim-drive exec DIR [--user U:G] [--cwd D] [--caps MASK] [--ambient N]
 *                        [--stdio-null] -- ARGS   (our stdio, or /dev/null)
 *                                        "pid PID" then "exited CODE ..."
 *   shim-drive attach DIR                copies the container's output to ours until EOF
 *   shim-drive resize DIR ROWS COLS
 *   shim-drive shutdown DIR
 *
 * Errors: "error: ERRNAME: message" on stdout, exit 1.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/detach.h"
#include "common/err.h"
#include "common/util.h"
#include "ipc/shimclient.h"

static int
fail(struct cnr_err *err)
{
        const char *n = strerrorname_np(err->code);
        printf("error: %s: %s\n", n ? n : "0", cnr_err_str(err));
        cnr_err_free(&err);
        return 1;
}

static char *
slurp(const char *path)
{
        FILE *f = fopen(path, "re");
        char *buf = xmalloc(1024 * 1024 + 1);
        size_t n;

        if (!f) {
                perror(path);
                exit(2);
        }
        n = fread(buf, 1, 1024 * 1024, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static Cnr__Shim__User *
parse_user(const char *s)
{
        Cnr__Shim__User *u = xcalloc(1, sizeof(*u));
        char *copy = xstrdup(s), *g, *extra;

        cnr__shim__user__init(u);
        g = strchr(copy, ':');
        if (g)
                *g++ = '\0';
        extra = g ? strchr(g, ':') : NULL;
        if (extra)
                *extra++ = '\0';
        u->uid = (uint32_t)strtoll(copy, NULL, 0);
        u->gid = g ? (uint32_t)strtoll(g, NULL, 0) : u->uid;
        if (extra) {
                u->additional_gids = xcalloc(64, sizeof(uint32_t));
                for (char *t = strtok(extra, ","); t && u->n_additional_gids < 64; t = strtok(NULL, ","))
                        u->additional_gids[u->n_additional_gids++] = (uint32_t)strtoll(t, NULL, 0);
        }
        return u;
}

static int
cmd_create(int argc, char **argv)
{
        static const struct option opts[] = {
                {"shim", 1, NULL, 'S'},      {"id", 1, NULL, 'i'},        {"dir", 1, NULL, 'd'},
                {"rootfs", 1, NULL, 'r'},    {"log", 1, NULL, 'l'},       {"terminal", 0, NULL, 't'},
                {"cgroup", 1, NULL, 'c'},    {"memory", 1, NULL, 'm'},    {"pids", 1, NULL, 'p'},
                {"cpu-quota", 1, NULL, 'q'}, {"cpu-period", 1, NULL, 'P'}, {"cpu-shares", 1, NULL, 's'},
                {"seccomp", 1, NULL, 'x'},   {"nnp", 0, NULL, 'n'},       {"user", 1, NULL, 'u'},
                {"cwd", 1, NULL, 'w'},       {"hostname", 1, NULL, 'h'},  {"net", 1, NULL, 'N'},
                {"mount", 1, NULL, 'M'},     {"readonly", 0, NULL, 'R'},  {"ambient", 1, NULL, 'a'},
                {"caps", 1, NULL, 'C'},      {"env", 1, NULL, 'e'},       {"hosts", 1, NULL, 'H'},
                {"oom-score", 1, NULL, 'o'}, {"userns", 0, NULL, 'U'},
                {"netns", 1, NULL, 'F'},     {"sysctl", 1, NULL, 'Y'},    {"volume", 1, NULL, 'V'},
                {"snapshot-root", 1, NULL, 'Z'}, {NULL, 0, NULL, 0},
        };
        Cnr__Shim__ContainerSpec spec = CNR__SHIM__CONTAINER_SPEC__INIT;
        Cnr__Shim__Process proc = CNR__SHIM__PROCESS__INIT;
        Cnr__Shim__Resources res = CNR__SHIM__RESOURCES__INIT;
        Cnr__Shim__Seccomp sc = CNR__SHIM__SECCOMP__INIT;
        Cnr__Shim__Namespaces ns = CNR__SHIM__NAMESPACES__INIT;
        Cnr__Shim__Capabilities caps = CNR__SHIM__CAPABILITIES__INIT;
        Cnr__Shim__IdMap idm = CNR__SHIM__ID_MAP__INIT;
        Cnr__Shim__IdMap *idmaps[1] = {&idm};
        Cnr__Shim__Mount *mounts[16];
        Cnr__Shim__Sysctl *sysctls[16];
        int netnsfd = -1;
        char *envs[64];
        int fds[32], nfds = 0, setup[2], specfd;
        const char *shim = NULL, *dir = NULL, *rootfs = NULL, *log = NULL, *snaproot = NULL;
        struct cnr_err *err = NULL;
        bool have_caps = false;
        pid_t spid, ipid;
        int o;

        spec.process = &proc;
        spec.log_fd = -1;
        spec.mounts = mounts;
        spec.sysctls = sysctls;
        proc.env = envs;
        envs[proc.n_env++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        caps.bounding = caps.effective = caps.permitted = 0x00000000a80425fbULL;
        optind = 1;
        while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
                switch (o) {
                case 'S': shim = optarg; break;
                case 'i': spec.id = optarg; break;
                case 'd': dir = optarg; break;
                case 'r': rootfs = optarg; break;
                case 'l': log = optarg; break;
                case 't': proc.terminal = true; break;
                case 'c': spec.cgroup_path = optarg; break;
                case 'm': res.memory = strtoll(optarg, NULL, 0); spec.resources = &res; break;
                case 'p': res.pids = strtoll(optarg, NULL, 0); spec.resources = &res; break;
                case 'q': res.cpu_quota = strtoll(optarg, NULL, 0); spec.resources = &res; break;
                case 'P': res.cpu_period = strtoull(optarg, NULL, 0); spec.resources = &res; break;
                case 's': res.cpu_shares = strtoull(optarg, NULL, 0); spec.resources = &res; break;
                case 'x':
                        spec.seccomp = &sc;
                        if (strcmp(optarg, "unconfined") == 0)
                                sc.mode = CNR__SHIM__SECCOMP__MODE__UNCONFINED;
                        else if (strcmp(optarg, "default") != 0) {
                                sc.mode = CNR__SHIM__SECCOMP__MODE__PROFILE;
                                sc.profile_json = slurp(optarg);
                        }
                        break;
                case 'n': proc.no_new_privileges = true; break;
                case 'u': proc.user = parse_user(optarg); break;
                case 'w': proc.cwd = optarg; break;
                case 'h': spec.hostname = optarg; spec.etc_hostname = true; break;
                case 'N':
                        spec.namespaces = &ns;
                        ns.net = strcmp(optarg, "host") == 0 ? CNR__SHIM__NAMESPACES__NET__NET_HOST
                                                             : CNR__SHIM__NAMESPACES__NET__NET_NEW;
                        break;
                case 'Z': snaproot = optarg; break;
                case 'V':
                case 'M': {
                        char *eq = strchr(optarg, '=');
                        Cnr__Shim__Mount *m = xcalloc(1, sizeof(*m));
                        if (!eq)
                                return 2;
                        *eq = '\0';
                        cnr__shim__mount__init(m);
                        m->copy_up = o == 'V';
                        m->destination = optarg;
                        m->fd = (uint32_t)nfds + 2; /* after rootfs and log, fixed below */
                        fds[16 + spec.n_mounts] = open_tree(AT_FDCWD, eq + 1, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                        if (fds[16 + spec.n_mounts] < 0) {
                                perror(eq + 1);
                                return 2;
                        }
                        mounts[spec.n_mounts++] = m;
                        break;
                }
                case 'R': spec.readonly_rootfs = true; break;
                case 'a': caps.inheritable |= 1ULL << atoi(optarg); caps.ambient |= 1ULL << atoi(optarg); caps.bounding |= caps.ambient; caps.permitted |= caps.ambient; caps.effective |= caps.ambient; have_caps = true; break;
                case 'C': caps.bounding = caps.effective = caps.permitted = strtoull(optarg, NULL, 0); have_caps = true; break;
                case 'e': envs[proc.n_env++] = optarg; break;
                case 'H': spec.etc_hosts = optarg; break;
                case 'o': spec.set_oom_score_adj = true; spec.oom_score_adj = atoi(optarg); break;
                case 'U':
                        spec.namespaces = &ns;
                        ns.user = true;
                        idm.container_id = 0;
                        idm.host_id = 100000;
                        idm.size = 65536;
                        ns.uid_map = ns.gid_map = idmaps;
                        ns.n_uid_map = ns.n_gid_map = 1;
                        break;
                case 'F':
                        spec.namespaces = &ns;
                        ns.net = CNR__SHIM__NAMESPACES__NET__NET_FD;
                        netnsfd = open(optarg, O_RDONLY | O_CLOEXEC);
                        if (netnsfd < 0) {
                                perror(optarg);
                                return 2;
                        }
                        break;
                case 'Y': {
                        char *eq = strchr(optarg, '=');
                        Cnr__Shim__Sysctl *y = xcalloc(1, sizeof(*y));
                        if (!eq || spec.n_sysctls >= 16)
                                return 2;
                        *eq = '\0';
                        cnr__shim__sysctl__init(y);
                        y->key = optarg;
                        y->value = eq + 1;
                        sysctls[spec.n_sysctls++] = y;
                        break;
                }
                default: return 2;
                }
        }
        if (!shim || !spec.id || !dir || !rootfs || optind >= argc)
                return 2;
        if (have_caps)
                proc.capabilities = &caps;
        proc.args = argv + optind;
        proc.n_args = (size_t)(argc - optind);
        /* The bundle: [0] rootfs, [1] log (if any), then the mounts. */
        fds[nfds] = open_tree(AT_FDCWD, rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fds[nfds] < 0) {
                perror(rootfs);
                return 2;
        }
        spec.rootfs_fd = (uint32_t)nfds++;
        if (log) {
                fds[nfds] = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
                if (fds[nfds] < 0) {
                        perror(log);
                        return 2;
                }
                spec.log_fd = nfds++;
        }
        for (size_t i = 0; i < spec.n_mounts; i++) {
                mounts[i]->fd = (uint32_t)nfds;
                fds[nfds++] = fds[16 + i];
        }
        if (netnsfd >= 0) {
                ns.net_fd = (uint32_t)nfds;
                fds[nfds++] = netnsfd;
        }
        spec.nfds = (uint32_t)nfds;
        specfd = cnr_shim_spec_memfd(&spec, &err);
        if (specfd < 0)
                return fail(err);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, setup) < 0)
                return 2;
        if (cnr_shim_send_bundle(setup[0], fds, (size_t)nfds, &err) < 0)
                return fail(err);
        for (int i = 0; i < nfds; i++)
                close(fds[i]);
        {
                char *sargv[] = {"containr-shim", "--id",        (char *)spec.id, "--socket-dir",    (char *)dir,
                                 "--owner",       "0:0",         "--log-level",   "debug",
                                 snaproot ? "--snapshot-root" : NULL, (char *)snaproot, NULL};
                spid = cnr_spawn_detached(shim, sargv, (int[]){specfd, setup[1]}, 2, &err);
        }
        close(specfd);
        close(setup[1]);
        if (spid < 0)
                return fail(err);
        if (cnr_shim_created(setup[0], 30000, &ipid, &err) < 0)
                return fail(err);
        printf("created %d %d\n", (int)ipid, (int)spid);
        return 0;
}

static int
call(const char *dir, Cnr__Shim__ToShim *req, const int *fds, size_t nfds, int timeout, Cnr__Shim__FromShim **rep,
     int *rfds, size_t *nrfds, int *sockp)
{
        struct cnr_err *err = NULL;
        int s = sockp && *sockp >= 0 ? *sockp : cnr_shim_connect(dir, &err);

        if (s < 0)
                return fail(err);
        if (cnr_shim_call(s, req, fds, nfds, timeout, rep, rfds, nrfds, &err) < 0) {
                close(s);
                return fail(err);
        }
        if (sockp)
                *sockp = s;
        else
                close(s);
        return 0;
}

static int
wait_for(const char *dir, int pid, int *sockp)
{
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__Wait w = CNR__SHIM__WAIT__INIT;
        Cnr__Shim__FromShim *rep;
        int code;

        w.pid = pid;
        req.op_case = CNR__SHIM__TO_SHIM__OP_WAIT;
        req.wait = &w;
        if (call(dir, &req, NULL, 0, 120000, &rep, NULL, NULL, sockp))
                return 1;
        printf("exited %d oom=%d\n", rep->exited->exit_code, rep->exited->oom_killed);
        code = rep->exited->exit_code;
        protobuf_c_message_free_unpacked(&rep->base, NULL);
        return code;
}

static int
cmd_exec(const char *dir, int argc, char **argv)
{
        static const struct option opts[] = {
                {"user", 1, NULL, 'u'}, {"cwd", 1, NULL, 'w'},       {"caps", 1, NULL, 'C'},
                {"ambient", 1, NULL, 'a'}, {"stdio-null", 0, NULL, 'z'}, {"tty", 0, NULL, 't'},
                {NULL, 0, NULL, 0},
        };
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__Exec x = CNR__SHIM__EXEC__INIT;
        Cnr__Shim__Process proc = CNR__SHIM__PROCESS__INIT;
        Cnr__Shim__Capabilities caps = CNR__SHIM__CAPABILITIES__INIT;
        Cnr__Shim__FromShim *rep;
        char *envs[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
        int stdio[3] = {0, 1, 2}, sock = -1, o, pid;
        bool tty = false;

        caps.bounding = caps.effective = caps.permitted = 0x00000000a80425fbULL;
        proc.env = envs;
        proc.n_env = 1;
        optind = 1;
        while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
                switch (o) {
                case 'u': proc.user = parse_user(optarg); break;
                case 'w': proc.cwd = optarg; break;
                case 'C': caps.bounding = caps.effective = caps.permitted = strtoull(optarg, NULL, 0); proc.capabilities = &caps; break;
                case 'a': caps.inheritable |= 1ULL << atoi(optarg); caps.ambient |= 1ULL << atoi(optarg); caps.bounding |= caps.ambient; caps.permitted |= caps.ambient; caps.effective |= caps.ambient; proc.capabilities = &caps; break;
                case 'z':
                        for (int i = 0; i < 3; i++)
                                stdio[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
                        break;
                case 't': tty = true; break;
                default: return 2;
                }
        }
        if (optind >= argc)
                return 2;
        proc.args = argv + optind;
        proc.n_args = (size_t)(argc - optind);
        proc.terminal = tty;
        x.process = &proc;
        req.op_case = tty ? CNR__SHIM__TO_SHIM__OP_EXEC_TTY : CNR__SHIM__TO_SHIM__OP_EXEC;
        if (tty)
                req.exec_tty = &x;
        else
                req.exec = &x;
        if (call(dir, &req, tty ? NULL : stdio, tty ? 0 : 3, 30000, &rep, NULL, NULL, &sock))
                return 1;
        pid = rep->exec_started->pid;
        printf("pid %d\n", pid);
        fflush(stdout);
        protobuf_c_message_free_unpacked(&rep->base, NULL);
        return wait_for(dir, pid, &sock);
}

int
main(int argc, char **argv)
{
        Cnr__Shim__ToShim req = CNR__SHIM__TO_SHIM__INIT;
        Cnr__Shim__FromShim *rep;
        const char *cmd, *dir;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc < 2)
                return 2;
        cmd = argv[1];
        if (strcmp(cmd, "create") == 0)
                return cmd_create(argc - 1, argv + 1);
        if (argc < 3)
                return 2;
        dir = argv[2];
        if (strcmp(cmd, "state") == 0) {
                Cnr__Shim__State st = CNR__SHIM__STATE__INIT;
                req.op_case = CNR__SHIM__TO_SHIM__OP_STATE;
                req.state = &st;
                if (call(dir, &req, NULL, 0, 5000, &rep, NULL, NULL, NULL))
                        return 1;
                printf("%s %d %d %d %d\n", rep->state->status, rep->state->pid, rep->state->exit_code,
                       rep->state->oom_killed, rep->state->shim_pid);
                return 0;
        }
        if (strcmp(cmd, "start") == 0) {
                Cnr__Shim__Start s = CNR__SHIM__START__INIT;
                req.op_case = CNR__SHIM__TO_SHIM__OP_START;
                req.start = &s;
                return call(dir, &req, NULL, 0, 30000, &rep, NULL, NULL, NULL);
        }
        if (strcmp(cmd, "kill") == 0 && argc >= 4) {
                Cnr__Shim__Kill k = CNR__SHIM__KILL__INIT;
                k.signal = atoi(argv[3]);
                k.all = argc > 4 && strcmp(argv[4], "all") == 0;
                req.op_case = CNR__SHIM__TO_SHIM__OP_KILL;
                req.kill = &k;
                return call(dir, &req, NULL, 0, 5000, &rep, NULL, NULL, NULL);
        }
        if (strcmp(cmd, "wait") == 0)
                return wait_for(dir, argc > 3 ? atoi(argv[3]) : 0, NULL) >= 0 ? 0 : 1;
        if (strcmp(cmd, "exec") == 0)
                return cmd_exec(dir, argc - 2, argv + 2);
        if (strcmp(cmd, "resize") == 0 && argc >= 5) {
                Cnr__Shim__Resize r = CNR__SHIM__RESIZE__INIT;
                r.rows = (uint32_t)atoi(argv[3]);
                r.cols = (uint32_t)atoi(argv[4]);
                req.op_case = CNR__SHIM__TO_SHIM__OP_RESIZE;
                req.resize = &r;
                return call(dir, &req, NULL, 0, 5000, &rep, NULL, NULL, NULL);
        }
        if (strcmp(cmd, "attach") == 0) {
                Cnr__Shim__Attach a = CNR__SHIM__ATTACH__INIT;
                int fds[4], sock = -1;
                size_t n = 0;
                char buf[4096];
                req.op_case = CNR__SHIM__TO_SHIM__OP_ATTACH;
                req.attach = &a;
                if (call(dir, &req, NULL, 0, 5000, &rep, fds, &n, &sock) || n != 3)
                        return 1;
                close(fds[0]);
                for (int open_ = 2; open_ > 0;) {
                        struct pollfd p[2] = {{.fd = fds[1], .events = POLLIN}, {.fd = fds[2], .events = POLLIN}};
                        if (poll(p, 2, 60000) <= 0)
                                return 1;
                        for (int i = 0; i < 2; i++) {
                                ssize_t r;
                                if (p[i].fd < 0 || !p[i].revents)
                                        continue;
                                r = read(p[i].fd, buf, sizeof(buf));
                                if (r <= 0) {
                                        fds[1 + i] = -1;
                                        open_--;
                                        continue;
                                }
                                (void)!write(1 + i, buf, (size_t)r);
                        }
                }
                return 0;
        }
        if (strcmp(cmd, "shutdown") == 0) {
                Cnr__Shim__Shutdown s = CNR__SHIM__SHUTDOWN__INIT;
                req.op_case = CNR__SHIM__TO_SHIM__OP_SHUTDOWN;
                req.shutdown = &s;
                return call(dir, &req, NULL, 0, 10000, &rep, NULL, NULL, NULL);
        }
        return 2;
}
