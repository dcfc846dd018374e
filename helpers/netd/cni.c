/* containr-netd: a CNI runtime (spec 1.0.0) for one network
 * configuration list at a time.
 *
 * The supervisor sends the conflist it generated and the capability
 * arguments; netd does not trust either: the list must be a JSON object
 * whose plugins all come from a fixed allow-list, the IPAM plugin is
 * host-local and its dataDir is always netd's own (<run_root>/cni/ipam),
 * the only capability arguments are portMappings with ports in range and
 * ips (--ip, --ip6: an address of each family at most), and
 * the plugin binaries must be root-owned and writable by root only.
 *
 * Plugins run as netd's user with netd's capabilities (made ambient in the
 * child so that they survive execve as a non-root user), under netd's
 * seccomp filter and no_new_privs, with a fixed environment, a deadline
 * and SIGKILL after it.  They exec iptables themselves, which inherits
 * the same.  ADD runs the list in order feeding each plugin the previous
 * result (prevResult) and, when a plugin fails, deletes what the earlier
 * ones did before reporting the error; DEL runs in reverse order, goes on
 * past errors (DEL is idempotent by the spec) and reports the first;
 * CHECK runs in order with the ADD result the supervisor kept.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/capability.h>

#include "common/log.h"
#include "helpers/netd/netd.h"

#define CNI_VERSION "1.0.0"
#define CNI_DEFAULT_DIR "/usr/lib/cni"
#define CNI_TIMEOUT_MS 60000
#define CNI_MAX_OUT (1 << 20)
#define CNI_MAX_RESULT 32768 /* what goes back in one helper frame */
#define CNI_MAX_PLUGINS 8

/* Plugins netd runs; anything else in a conflist is refused. */
static const char *const allowed_plugins[] = {
        "bridge", "portmap", "loopback", "firewall", "tuning", "bandwidth",
};
static const char *const allowed_ipam[] = {"host-local"};

static bool
in_list(const char *s, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(s, list[i]) == 0)
                        return true;
        return false;
}

static bool
valid_ifname(const char *s)
{
        /* eth0 .. eth99: the supervisor's names for a container's interfaces */
        size_t n = strlen(s);

        if (n < 4 || n > 5 || strncmp(s, "eth", 3) != 0)
                return false;
        for (size_t i = 3; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return n == 4 || s[3] != '0';
}

/* The directory and the binary: root-owned, not writable by group or
 * others, a regular file that is executable. */
static int
check_owned(const char *path, bool dir, struct cnr_err **err)
{
        struct stat st;

        if (lstat(path, &st) < 0)
                return cnr_errf(err, errno, "CNI plugin %s `%s`", dir ? "directory" : "binary", path);
        if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
                return cnr_errf(err, EPERM, "`%s`: not a %s", path, dir ? "directory" : "regular file");
        if (st.st_uid != 0 || (st.st_mode & 022))
                return cnr_errf(err, EPERM,
                                "`%s`: owned by uid %u with mode %04o; CNI plugins must be root's, "
                                "writable by root only",
                                path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        return 0;
}

static int
check_plugin_dir(const char *dir, struct cnr_err **err)
{
        if (dir[0] != '/' || strstr(dir, "/../") || strstr(dir, "/./") || strlen(dir) >= PATH_MAX / 2)
                return cnr_errf(err, EINVAL, "CNI plugin directory `%s`: not a normalised absolute path", dir);
        return check_owned(dir, true, err);
}

/* portMappings: [{hostPort, containerPort, protocol, hostIP}], in range. */
static int
check_port_mappings(json_t *pm, struct cnr_err **err)
{
        size_t i;
        json_t *m;

        if (!json_is_array(pm) || json_array_size(pm) > 256)
                return cnr_errf(err, EINVAL, "portMappings: not an array of at most 256 entries");
        json_array_foreach(pm, i, m)
        {
                json_t *hp = json_object_get(m, "hostPort"), *cp = json_object_get(m, "containerPort");
                json_t *pr = json_object_get(m, "protocol"), *ip = json_object_get(m, "hostIP");
                unsigned char buf[16];

                if (!json_is_object(m) || json_object_size(m) > 4)
                        return cnr_errf(err, EINVAL, "portMappings[%zu]: not an object of known fields", i);
                if (!json_is_integer(hp) || json_integer_value(hp) < 1 || json_integer_value(hp) > 65535 ||
                    !json_is_integer(cp) || json_integer_value(cp) < 1 || json_integer_value(cp) > 65535)
                        return cnr_errf(err, EINVAL, "portMappings[%zu]: ports must be 1-65535", i);
                if (!json_is_string(pr) ||
                    (strcmp(json_string_value(pr), "tcp") != 0 && strcmp(json_string_value(pr), "udp") != 0))
                        return cnr_errf(err, EINVAL, "portMappings[%zu]: protocol must be tcp or udp", i);
                if (ip && (!json_is_string(ip) ||
                           (json_string_length(ip) > 0 && inet_pton(AF_INET, json_string_value(ip), buf) != 1 &&
                            inet_pton(AF_INET6, json_string_value(ip), buf) != 1)))
                        return cnr_errf(err, EINVAL, "portMappings[%zu]: hostIP is not an address", i);
        }
        return 0;
}

/* ips (--ip, --ip6): one or two addresses with their prefix length, at
 * most one per family; host-local checks them against its ranges. */
static int
check_ips(json_t *ips, struct cnr_err **err)
{
        int fam[2] = {0, 0};
        size_t i;
        json_t *v;

        if (!json_is_array(ips) || json_array_size(ips) < 1 || json_array_size(ips) > 2)
                return cnr_errf(err, EINVAL, "ips: not an array of one or two addresses");
        json_array_foreach(ips, i, v)
        {
                const char *s = json_string_value(v), *slash = s ? strchr(s, '/') : NULL;
                char addr[INET6_ADDRSTRLEN];
                unsigned char buf[16];
                unsigned long long len;

                if (slash == NULL || (size_t)(slash - s) >= sizeof(addr))
                        return cnr_errf(err, EINVAL, "ips[%zu]: not ADDRESS/LENGTH", i);
                memcpy(addr, s, (size_t)(slash - s));
                addr[slash - s] = '\0';
                if (inet_pton(AF_INET, addr, buf) == 1 && cnr_parse_uint(slash + 1, 32, &len) == 0)
                        fam[i] = 4;
                else if (inet_pton(AF_INET6, addr, buf) == 1 && cnr_parse_uint(slash + 1, 128, &len) == 0)
                        fam[i] = 6;
                else
                        return cnr_errf(err, EINVAL, "ips[%zu] `%s`: not an IPv4 or IPv6 address with its length", i,
                                        s);
        }
        if (fam[0] == fam[1])
                return cnr_errf(err, EINVAL, "ips: at most one address per family");
        return 0;
}

/* Check the conflist and rewrite what netd owns (IPAM dataDir). */
static int
check_conflist(json_t *conf, json_t *args, struct cnr_err **err)
{
        json_t *name = json_object_get(conf, "name"), *ver = json_object_get(conf, "cniVersion");
        json_t *plugins = json_object_get(conf, "plugins"), *p, *types;
        size_t i;

        if (!json_is_object(conf))
                return cnr_errf(err, EINVAL, "conflist: not a JSON object");
        if (!json_is_string(name) || !netd_valid_id(json_string_value(name)) || json_string_length(name) > 64)
                return cnr_errf(err, EINVAL, "conflist: `name` missing or not [A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
        if (!json_is_string(ver) || strcmp(json_string_value(ver), CNI_VERSION) != 0)
                return cnr_errf(err, EINVAL, "conflist `%s`: cniVersion must be " CNI_VERSION, json_string_value(name));
        if (!json_is_array(plugins) || json_array_size(plugins) == 0 || json_array_size(plugins) > CNI_MAX_PLUGINS)
                return cnr_errf(err, EINVAL, "conflist `%s`: `plugins` must list 1 to %d plugins",
                                json_string_value(name), CNI_MAX_PLUGINS);
        json_object_set_new(args, "network", json_string(json_string_value(name)));
        types = json_array();
        json_object_set_new(args, "plugins", types);
        json_array_foreach(plugins, i, p)
        {
                json_t *type = json_object_get(p, "type"), *ipam = json_object_get(p, "ipam");
                json_t *br = json_object_get(p, "bridge");

                if (!json_is_object(p) || !json_is_string(type))
                        return cnr_errf(err, EINVAL, "conflist `%s`: plugins[%zu] has no `type`",
                                        json_string_value(name), i);
                json_array_append_new(types, json_string(json_string_value(type)));
                if (!in_list(json_string_value(type), allowed_plugins, CNR_ARRAY_LEN(allowed_plugins)))
                        return cnr_errf(err, EPERM, "conflist `%s`: plugin `%s` is not one netd runs (%s)",
                                        json_string_value(name), json_string_value(type),
                                        "bridge, portmap, loopback, firewall, tuning, bandwidth; host-local IPAM");
                if (json_object_get(p, "prevResult") || json_object_get(p, "runtimeConfig"))
                        return cnr_errf(err, EINVAL,
                                        "conflist `%s`: plugins[%zu]: prevResult and runtimeConfig "
                                        "are the runtime's to set",
                                        json_string_value(name), i);
                if (br && (!json_is_string(br) || !netd_valid_bridge(json_string_value(br))))
                        return cnr_errf(err, EPERM,
                                        "conflist `%s`: bridge `%s`: netd uses only bridges named "
                                        "cnr-* or containr*",
                                        json_string_value(name), json_is_string(br) ? json_string_value(br) : "?");
                if (strcmp(json_string_value(type), "bridge") == 0 && br == NULL)
                        return cnr_errf(err, EPERM,
                                        "conflist `%s`: the bridge plugin needs an explicit `bridge` "
                                        "(cni0 is not containr's)",
                                        json_string_value(name));
                if (strcmp(json_string_value(type), "tuning") == 0) {
                        /* its backup of the settings it changes: netd's, not /run/cni */
                        _cleanup_free_ char *dir = xasprintf("%s/tuning", netd.cni_dir);
                        json_object_set_new(p, "dataDir", json_string(dir));
                }
                if (ipam) {
                        json_t *it = json_object_get(ipam, "type");

                        if (!json_is_object(ipam) || !json_is_string(it) ||
                            !in_list(json_string_value(it), allowed_ipam, CNR_ARRAY_LEN(allowed_ipam)))
                                return cnr_errf(err, EPERM, "conflist `%s`: IPAM must be host-local",
                                                json_string_value(name));
                        /* Leases live where netd keeps them, whatever the list says. */
                        json_object_set_new(ipam, "dataDir", json_string(netd.ipam_dir));
                }
        }
        return 0;
}

static void
raise_ambient(void)
{
        cap_t c = cap_get_proc();
        cap_value_t v[64];
        int n = 0;

        if (c == NULL)
                return;
        for (cap_value_t i = 0; i <= CAP_LAST_CAP && n < 64; i++) {
                cap_flag_value_t f = CAP_CLEAR;

                if (cap_get_flag(c, i, CAP_PERMITTED, &f) == 0 && f == CAP_SET)
                        v[n++] = i;
        }
        if (n > 0 && cap_set_flag(c, CAP_INHERITABLE, n, v, CAP_SET) == 0 && cap_set_proc(c) == 0)
                for (int i = 0; i < n; i++)
                        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v[i], 0, 0);
        cap_free(c);
}

static void
kill_wait(pid_t pid, int *status)
{
        kill(pid, SIGKILL);
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
}

/* Run one plugin: env, stdin config, stdout result, a deadline. */
static int
run_plugin(const char *dir, const char *type, char *const envp[], const char *in, struct netd_out *po,
           struct cnr_err **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, type);
        char *argv[] = {(char *)type, NULL};

        memset(po, 0, sizeof(*po));
        if (check_owned(path, false, err) < 0)
                return -1;
        return netd_run(path, argv, envp, in, CNI_TIMEOUT_MS, po, err);
}

int
netd_run(const char *path, char *const argv[], char *const envp[], const char *in, int timeout_ms, struct netd_out *po,
         struct cnr_err **err)
{
        const char *type = argv[0];
        int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
        size_t inlen = strlen(in), inoff = 0, cap = 0;
        uint64_t deadline = cnr_now_ms() + (uint64_t)timeout_ms;
        struct pollfd pf[3];
        pid_t pid;

        memset(po, 0, sizeof(*po));
        if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
                int e = errno;
                for (int i = 0; i < 2; i++) {
                        if (pin[i] >= 0)
                                close(pin[i]);
                        if (pout[i] >= 0)
                                close(pout[i]);
                        if (perr[i] >= 0)
                                close(perr[i]);
                }
                return cnr_errf(err, e, "pipe for plugin `%s`", type);
        }
        pid = fork();
        if (pid < 0) {
                int e = errno;
                for (int i = 0; i < 2; i++) {
                        close(pin[i]);
                        close(pout[i]);
                        close(perr[i]);
                }
                return cnr_errf(err, e, "fork plugin `%s`", type);
        }
        if (pid == 0) {
                /* The child: fds 0-2 only, netd's capabilities made ambient. */
                if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0)
                        _exit(127);
                syscall(SYS_close_range, 3, ~0U, 0);
                signal(SIGPIPE, SIG_DFL);
                raise_ambient();
                execve(path, argv, envp);
                dprintf(2, "execve `%s`: %s\n", path, strerror(errno));
                _exit(127);
        }
        close(pin[0]);
        close(pout[1]);
        close(perr[1]);
        fcntl(pin[1], F_SETFL, O_NONBLOCK);
        pf[0] = (struct pollfd){.fd = pin[1], .events = POLLOUT};
        pf[1] = (struct pollfd){.fd = pout[0], .events = POLLIN};
        pf[2] = (struct pollfd){.fd = perr[0], .events = POLLIN};
        if (inlen == 0) {
                close(pin[1]);
                pf[0].fd = -1;
        }
        while (pf[1].fd >= 0 || pf[2].fd >= 0) {
                uint64_t now = cnr_now_ms();
                int r;

                if (now >= deadline) {
                        kill_wait(pid, &po->status);
                        for (int i = 0; i < 3; i++)
                                if (pf[i].fd >= 0)
                                        close(pf[i].fd);
                        return cnr_errf(err, ETIMEDOUT, "`%s`: no answer in %d s, killed", type, timeout_ms / 1000);
                }
                r = poll(pf, 3, (int)(deadline - now));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        break;
                if (pf[0].fd >= 0 && pf[0].revents) {
                        ssize_t w = write(pf[0].fd, in + inoff, inlen - inoff);
                        if (w > 0)
                                inoff += (size_t)w;
                        if (w < 0 && errno != EAGAIN)
                                inoff = inlen; /* EPIPE: it stopped reading */
                        if (inoff >= inlen) {
                                close(pf[0].fd);
                                pf[0].fd = -1;
                        }
                }
                if (pf[1].fd >= 0 && pf[1].revents) {
                        char buf[4096];
                        ssize_t n = read(pf[1].fd, buf, sizeof(buf));
                        if (n <= 0) {
                                close(pf[1].fd);
                                pf[1].fd = -1;
                        } else if (po->outlen + (size_t)n <= CNI_MAX_OUT) {
                                if (po->outlen + (size_t)n + 1 > cap) {
                                        cap = (po->outlen + (size_t)n + 1) * 2;
                                        po->out = xrealloc(po->out, cap);
                                }
                                memcpy(po->out + po->outlen, buf, (size_t)n);
                                po->outlen += (size_t)n;
                                po->out[po->outlen] = '\0';
                        }
                }
                if (pf[2].fd >= 0 && pf[2].revents) {
                        char buf[1024];
                        ssize_t n = read(pf[2].fd, buf, sizeof(buf));
                        if (n <= 0) {
                                close(pf[2].fd);
                                pf[2].fd = -1;
                        } else {
                                /* keep the last bytes: the cause is at the end */
                                size_t keep = sizeof(po->err) - 1;
                                size_t add = (size_t)n > keep ? keep : (size_t)n;
                                if (po->errlen + add > keep) {
                                        size_t drop = po->errlen + add - keep;
                                        memmove(po->err, po->err + drop, po->errlen - drop);
                                        po->errlen -= drop;
                                }
                                memcpy(po->err + po->errlen, buf + (size_t)n - add, add);
                                po->errlen += add;
                                po->err[po->errlen] = '\0';
                        }
                }
        }
        if (pf[0].fd >= 0)
                close(pf[0].fd);
        while (waitpid(pid, &po->status, 0) < 0) {
                if (errno != EINTR)
                        return cnr_errf(err, errno, "wait for plugin `%s`", type);
        }
        return 0;
}

/* The plugin's error as the user should read it: the CNI error object on
 * stdout when there is one, else its stderr. */
static int
plugin_error(const char *type, const char *cmd, struct netd_out *po, struct cnr_err **err)
{
        json_t *j = po->out ? json_loads(po->out, 0, NULL) : NULL;
        const char *msg = NULL, *details = NULL;
        long long code = 0;
        char *nl;
        int r;

        if (json_is_object(j)) {
                msg = json_string_value(json_object_get(j, "msg"));
                details = json_string_value(json_object_get(j, "details"));
                code = json_integer_value(json_object_get(j, "code"));
        }
        while ((nl = strrchr(po->err, '\n')) && nl[1] == '\0')
                *nl = '\0';
        if (msg)
                r = cnr_errf(err, EIO, "plugin `%s` %s: %s%s%s (CNI error %lld)", type, cmd, msg,
                             details && *details ? ": " : "", details && *details ? details : "", code);
        else if (WIFSIGNALED(po->status))
                r = cnr_errf(err, EIO, "plugin `%s` %s: killed by signal %d%s%s", type, cmd, WTERMSIG(po->status),
                             po->errlen ? ": " : "", po->err);
        else
                r = cnr_errf(err, EIO, "plugin `%s` %s: exit %d%s%s", type, cmd, WEXITSTATUS(po->status),
                             po->errlen ? ": " : "", po->errlen ? po->err : "(no message)");
        json_decref(j);
        return r;
}

/* One plugin's stdin: its object from the list, name, cniVersion,
 * prevResult and the runtimeConfig its capabilities ask for. */
static char *
plugin_config(json_t *conf, json_t *p, json_t *capargs, json_t *prev)
{
        json_t *c = json_deep_copy(p), *caps = json_object_get(p, "capabilities"), *rc = json_object();
        const char *k;
        json_t *v;
        char *s;

        json_object_set(c, "name", json_object_get(conf, "name"));
        json_object_set(c, "cniVersion", json_object_get(conf, "cniVersion"));
        if (prev)
                json_object_set(c, "prevResult", prev);
        json_object_foreach(caps, k, v)
        {
                json_t *a = json_object_get(capargs, k);
                if (json_is_true(v) && a)
                        json_object_set(rc, k, a);
        }
        if (json_object_size(rc))
                json_object_set(c, "runtimeConfig", rc);
        json_decref(rc);
        s = json_dumps(c, JSON_COMPACT);
        json_decref(c);
        return s;
}

enum { CMD_ADD = 1, CMD_DEL = 2, CMD_CHECK = 3 };

struct chain {
        const char *dir;
        json_t *conf, *capargs;
        char *envp[10];
};

/* Run plugin i; on success with want_result, *res is its parsed result. */
static int
chain_one(struct chain *ch, size_t i, const char *cmd, json_t *prev, json_t **res, struct cnr_err **err)
{
        json_t *p = json_array_get(json_object_get(ch->conf, "plugins"), i);
        const char *type = json_string_value(json_object_get(p, "type"));
        _cleanup_free_ char *in = plugin_config(ch->conf, p, ch->capargs, prev);
        struct netd_out po;
        char cmdenv[32];
        int rc;

        snprintf(cmdenv, sizeof(cmdenv), "CNI_COMMAND=%s", cmd);
        ch->envp[0] = cmdenv;
        rc = run_plugin(ch->dir, type, ch->envp, in, &po, err);
        if (rc == 0 && (!WIFEXITED(po.status) || WEXITSTATUS(po.status) != 0))
                rc = plugin_error(type, cmd, &po, err);
        if (rc == 0 && res) {
                json_error_t je;
                *res = po.out ? json_loads(po.out, 0, &je) : NULL;
                if (!json_is_object(*res)) {
                        json_decref(*res);
                        *res = NULL;
                        rc = cnr_errf(err, EBADMSG, "plugin `%s` %s: the result is not a JSON object", type, cmd);
                }
        }
        if (rc == 0 && po.errlen)
                log_debug("plugin `%s` %s: %s", type, cmd, po.err);
        free(po.out);
        return rc;
}

/* DEL in reverse order, on past errors; the first error is reported. */
static int
chain_del(struct chain *ch, size_t upto, json_t *prev, struct cnr_err **err)
{
        int rc = 0;

        for (size_t i = upto; i-- > 0;) {
                struct cnr_err *e = NULL;

                if (chain_one(ch, i, "DEL", prev, NULL, &e) < 0) {
                        log_warn("%s", cnr_err_str(e));
                        if (rc == 0) {
                                *err = e;
                                e = NULL;
                                rc = -1;
                        }
                        cnr_err_free(&e);
                }
        }
        return rc;
}

static char last_result[CNI_MAX_RESULT + 1];

int
netd_cni_exec(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__CniExec *q = r->req->cni_exec;
        static const char *const cmds[] = {NULL, "ADD", "DEL", "CHECK"};
        _cleanup_free_ char *netns = NULL, *ifenv = NULL, *idenv = NULL, *nsenv = NULL, *pathenv = NULL,
                            *lockenv = NULL;
        const char *dir = q->plugin_dir && q->plugin_dir[0] ? q->plugin_dir : CNI_DEFAULT_DIR;
        struct chain ch = {.dir = dir};
        json_t *prev = NULL, *res = NULL, *pm;
        json_error_t je;
        size_t n;
        int rc = -1;

        if (q->command >= 1 && q->command <= 3)
                json_object_set_new(r->args, "command", json_string(cmds[q->command]));
        json_object_set_new(r->args, "id", json_string(q->id));
        json_object_set_new(r->args, "ifname", json_string(q->ifname));
        if (q->command < 1 || q->command > 3) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "CNI command %u: not ADD (1), DEL (2) or CHECK (3)", q->command);
        }
        if (!netd_valid_id(q->id) || !valid_ifname(q->ifname)) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "container id `%s` / interface `%s`: not a valid id / eth0..eth99", q->id,
                                q->ifname);
        }
        if (netd_need_run_root(err) < 0)
                return -1;
        if (check_plugin_dir(dir, err) < 0) {
                r->deny = true;
                return -1;
        }
        ch.conf = json_loads(q->conflist, JSON_REJECT_DUPLICATES, &je);
        if (ch.conf == NULL) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "conflist: line %d: %s", je.line, je.text);
        }
        if (check_conflist(ch.conf, r->args, err) < 0) {
                r->deny = true;
                goto out;
        }
        ch.capargs =
                q->capability_args && q->capability_args[0] ? json_loads(q->capability_args, 0, &je) : json_object();
        if (!json_is_object(ch.capargs) ||
            json_object_size(ch.capargs) != (size_t)(json_object_get(ch.capargs, "portMappings") != NULL) +
                                                    (json_object_get(ch.capargs, "ips") != NULL)) {
                r->deny = true;
                cnr_errf(err, EINVAL, "capability args: only {\"portMappings\": [...], \"ips\": [...]} are supported");
                goto out;
        }
        if (json_object_get(ch.capargs, "ips")) {
                if (check_ips(json_object_get(ch.capargs, "ips"), err) < 0) {
                        r->deny = true;
                        goto out;
                }
                json_object_set(r->args, "ips_requested", json_object_get(ch.capargs, "ips"));
        }
        if ((pm = json_object_get(ch.capargs, "portMappings"))) {
                if (check_port_mappings(pm, err) < 0) {
                        r->deny = true;
                        goto out;
                }
                json_object_set_new(r->args, "port_mappings", json_deep_copy(pm));
        }
        if (q->prev_result && q->prev_result[0]) {
                prev = json_loads(q->prev_result, 0, &je);
                if (!json_is_object(prev)) {
                        r->deny = true;
                        cnr_errf(err, EINVAL, "prevResult: not a JSON object");
                        goto out;
                }
        }
        netns = xasprintf("%s/%s", netd.netns_dir, q->id);
        idenv = xasprintf("CNI_CONTAINERID=%s", q->id);
        nsenv = xasprintf("CNI_NETNS=%s", netns);
        ifenv = xasprintf("CNI_IFNAME=%s", q->ifname);
        pathenv = xasprintf("CNI_PATH=%s", dir);
        lockenv = xasprintf("XTABLES_LOCKFILE=%s/xtables.lock", netd.cni_dir);
        ch.envp[0] = NULL; /* CNI_COMMAND, per plugin call */
        ch.envp[1] = idenv;
        ch.envp[2] = nsenv;
        ch.envp[3] = ifenv;
        ch.envp[4] = pathenv;
        ch.envp[5] = lockenv;
        ch.envp[6] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
        ch.envp[7] = NULL;
        n = json_array_size(json_object_get(ch.conf, "plugins"));

        if (q->command == CMD_ADD) {
                struct stat st;

                if (stat(netns, &st) < 0) {
                        cnr_errf(err, errno, "netns handle `%s` (NetnsOpen first)", netns);
                        goto out;
                }
                for (size_t i = 0; i < n; i++) {
                        json_t *next = NULL;

                        if (chain_one(&ch, i, "ADD", res ? res : prev, &next, err) < 0) {
                                struct cnr_err *e2 = NULL;

                                /* Undo what the earlier plugins (and this one) did. */
                                if (chain_del(&ch, i + 1, res, &e2) < 0)
                                        log_warn("cleanup after a failed ADD: %s", cnr_err_str(e2));
                                cnr_err_free(&e2);
                                goto out;
                        }
                        json_decref(res);
                        res = next;
                }
        } else if (q->command == CMD_DEL) {
                if (chain_del(&ch, n, prev, err) < 0)
                        goto out;
        } else if (json_is_true(json_object_get(ch.conf, "disableCheck"))) {
                json_object_set_new(r->args, "check_disabled", json_true());
        } else {
                if (prev == NULL) {
                        r->deny = true;
                        cnr_errf(err, EINVAL, "CHECK needs the ADD result (prev_result)");
                        goto out;
                }
                for (size_t i = 0; i < n; i++)
                        if (chain_one(&ch, i, "CHECK", prev, NULL, err) < 0)
                                goto out;
        }
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_CNI_RESULT;
        cnr__helper__cni_result__init(&r->reply.cni_result);
        last_result[0] = '\0';
        if (res) {
                char *s = json_dumps(res, JSON_COMPACT);
                size_t len = s ? strlen(s) : 0;

                if (s == NULL || len > CNI_MAX_RESULT) {
                        struct cnr_err *e2 = NULL;

                        free(s);
                        cnr_errf(err, EMSGSIZE, "the CNI result is larger than %d bytes", CNI_MAX_RESULT);
                        if (chain_del(&ch, n, res, &e2) < 0)
                                log_warn("cleanup after an oversized result: %s", cnr_err_str(e2));
                        cnr_err_free(&e2);
                        goto out;
                }
                memcpy(last_result, s, len + 1);
                free(s);
                json_object_set(r->args, "ips", json_object_get(res, "ips"));
        }
        r->reply.cni_result.result = last_result;
        rc = 0;
out:
        json_decref(res);
        json_decref(prev);
        json_decref(ch.capargs);
        json_decref(ch.conf);
        return rc;
}
