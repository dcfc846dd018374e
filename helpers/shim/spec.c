/* The container spec, checked field by field before anything is created.
 * The monitor passed it through unread; whoever wrote it (the supervisor)
 * is less privileged than the shim, so nothing in it is trusted. */
#include "config.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>

#include "common/idmap.h"
#include "common/util.h"
#include "helpers/shim/devices.h"
#include "helpers/shim/shim.h"

#define B(c) (1ULL << (c))
const uint64_t shim_default_caps = B(CAP_CHOWN) | B(CAP_DAC_OVERRIDE) | B(CAP_FSETID) | B(CAP_FOWNER) |
                                   B(CAP_MKNOD) | B(CAP_NET_RAW) | B(CAP_SETGID) | B(CAP_SETUID) |
                                   B(CAP_SETFCAP) | B(CAP_SETPCAP) | B(CAP_NET_BIND_SERVICE) |
                                   B(CAP_SYS_CHROOT) | B(CAP_KILL) | B(CAP_AUDIT_WRITE);
#undef B

/* Docker's masked paths: files get /dev/null bound over them, directories
 * an empty read-only tmpfs. */
static const char *const default_masked[] = {
        "/proc/asound",        "/proc/acpi",         "/proc/interrupts", "/proc/kcore",
        "/proc/keys",          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
        "/proc/sched_debug",   "/proc/scsi",         "/sys/firmware",    "/sys/devices/virtual/powercap",
};
static const char *const default_ro[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
/* lxcfs's files: the only mount destinations allowed under /proc
 * (THREATS 6). */
static const char *const proc_allowed[] = {
        "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
        "/proc/swaps",   "/proc/uptime",    "/proc/loadavg", "/proc/slabinfo",
};

/* Sysctls a container may set: those of the namespaces it owns (net,
 * ipc, and mqueue's), as Docker allows.  Everything else is the host's. */
static const struct {
        const char *key;
        bool prefix;
} sysctl_allowed[] = {
        {"net.", true},   {"kernel.shm", true}, {"kernel.msg", true},
        {"kernel.sem", false}, {"fs.mqueue.", true},
};

bool
shim_sysctl_ok(const char *key)
{
        size_t n = strlen(key), comp = 0;
        bool ok = false;

        if (n == 0 || n > 255)
                return false;
        for (size_t i = 0; i <= n; i++) {
                char c = key[i];
                if (c == '.' || c == '\0') {
                        if (comp == 0)
                                return false;
                        comp = 0;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-'))
                        return false;
                comp++;
        }
        for (size_t i = 0; i < CNR_ARRAY_LEN(sysctl_allowed); i++)
                ok |= sysctl_allowed[i].prefix ? strncmp(key, sysctl_allowed[i].key, strlen(sysctl_allowed[i].key)) == 0
                                               : strcmp(key, sysctl_allowed[i].key) == 0;
        return ok;
}

bool
shim_id_ok(const char *id)
{
        size_t n = strlen(id);

        if (n < 12 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
                        return false;
        return true;
}

/* Relative, components of [A-Za-z0-9_.-] other than "." and ".." (THREATS 14). */
bool
shim_cgroup_path_ok(const char *p)
{
        size_t n = strlen(p), comp = 0;

        if (n == 0 || n > 255 || p[0] == '/')
                return false;
        for (size_t i = 0; i <= n; i++) {
                char c = p[i];
                if (c == '/' || c == '\0') {
                        if (comp == 0)
                                return false;
                        if ((comp == 1 && p[i - 1] == '.') || (comp == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
                                return false;
                        comp = 0;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || c == '.'))
                        return false;
                comp++;
        }
        return true;
}

/* Absolute, normalised: no empty, "." or ".." component, no trailing slash. */
static bool
abs_path_ok(const char *p)
{
        size_t n = strlen(p);

        if (n == 0 || n > 4096 || p[0] != '/')
                return false;
        if (n == 1)
                return true;
        for (const char *c = p + 1;;) {
                const char *e = strchr(c, '/');
                size_t len = e ? (size_t)(e - c) : strlen(c);
                if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!e)
                        break;
                c = e + 1;
        }
        return true;
}

static bool
under(const char *p, const char *dir)
{
        size_t n = strlen(dir);

        return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

int
shim_process_validate(Cnr__Shim__Process *p, const char *what, struct cnr_err **err)
{
        uint64_t all = (CAP_LAST_CAP >= 63) ? ~0ULL : ((1ULL << (CAP_LAST_CAP + 1)) - 1);

        if (p == NULL)
                return cnr_errf(err, EINVAL, "%s: no process", what);
        if (p->n_args == 0 || p->n_args > 4096 || p->args[0][0] == '\0')
                return cnr_errf(err, EINVAL, "%s: args: need a program", what);
        if (p->n_env > 4096)
                return cnr_errf(err, EINVAL, "%s: env: too many entries (%zu)", what, p->n_env);
        for (size_t i = 0; i < p->n_env; i++)
                if (strchr(p->env[i], '=') == NULL || p->env[i][0] == '=')
                        return cnr_errf(err, EINVAL, "%s: env `%s`: not KEY=VALUE", what, p->env[i]);
        if (p->cwd[0] != '\0' && !abs_path_ok(p->cwd))
                return cnr_errf(err, EINVAL, "%s: cwd `%s`: not an absolute normalised path", what, p->cwd);
        if (under(p->cwd, "/proc/self/fd") || under(p->cwd, "/proc/thread-self/fd"))
                return cnr_errf(err, EPERM, "%s: cwd `%s` names an inherited fd: refusing (possible breakout)",
                                what, p->cwd);
        if (p->user) {
                /* THREATS 15: ids above 2^31-1 (and -1, "no change") never reach setresuid. */
                if (p->user->uid > 0x7fffffffU)
                        return cnr_errf(err, EINVAL, "%s: uid %u out of range (max 2147483647)", what, p->user->uid);
                if (p->user->gid > 0x7fffffffU)
                        return cnr_errf(err, EINVAL, "%s: gid %u out of range (max 2147483647)", what, p->user->gid);
                if (p->user->n_additional_gids > 64)
                        return cnr_errf(err, EINVAL, "%s: more than 64 additional groups", what);
                for (size_t i = 0; i < p->user->n_additional_gids; i++)
                        if (p->user->additional_gids[i] > 0x7fffffffU)
                                return cnr_errf(err, EINVAL, "%s: additional gid %u out of range", what,
                                                p->user->additional_gids[i]);
        }
        if (p->console && (p->console->rows > 65535 || p->console->cols > 65535))
                return cnr_errf(err, EINVAL, "%s: console size out of range", what);
        if (p->n_rlimits > 16)
                return cnr_errf(err, EINVAL, "%s: too many rlimits", what);
        for (size_t i = 0; i < p->n_rlimits; i++)
                if (p->rlimits[i]->soft > p->rlimits[i]->hard)
                        return cnr_errf(err, EINVAL, "%s: rlimit `%s`: soft above hard", what, p->rlimits[i]->type);
        if (p->capabilities) {
                Cnr__Shim__Capabilities *c = p->capabilities;
                if ((c->bounding | c->effective | c->permitted | c->inheritable | c->ambient) & ~all)
                        return cnr_errf(err, EINVAL, "%s: capabilities: unknown capability bits", what);
                if ((c->effective & ~c->permitted) || (c->permitted & ~c->bounding))
                        return cnr_errf(err, EINVAL, "%s: capabilities: effective must be within permitted, "
                                        "permitted within bounding", what);
                /* THREATS 12: ambient needs the cap in permitted and inheritable. */
                if (c->ambient & ~(c->permitted & c->inheritable))
                        return cnr_errf(err, EINVAL, "%s: capabilities: ambient must be within permitted and "
                                        "inheritable", what);
        }
        return 0;
}

static int
idmap_ok(Cnr__Shim__IdMap **m, size_t n, const char *what, struct cnr_err **err)
{
        struct cnr_idmap r[CNR_IDMAP_MAX_RANGES];

        if (n > CNR_IDMAP_MAX_RANGES)
                return cnr_errf(err, EINVAL, "namespaces: %s: 1 to %d ranges", what, CNR_IDMAP_MAX_RANGES);
        for (size_t i = 0; i < n; i++)
                r[i] = (struct cnr_idmap){m[i]->container_id, m[i]->host_id, m[i]->size};
        if (cnr_idmap_check(what, r, n, err) < 0)
                return cnr_err_wrap(err, "namespaces");
        return 0;
}

static int
fd_index_ok(const Cnr__Shim__ContainerSpec *s, uint32_t idx, const char *what, struct cnr_err **err)
{
        if (idx >= s->nfds)
                return cnr_errf(err, EINVAL, "%s: fd index %u beyond the bundle (%u fds)", what, idx, s->nfds);
        return 0;
}

int
shim_spec_validate(Cnr__Shim__ContainerSpec *s, const char *id, struct cnr_err **err)
{
        uint64_t used = 0;

        if (strcmp(s->id, id) != 0)
                return cnr_errf(err, EINVAL, "spec is for container `%s`, the shim for `%s`", s->id, id);
        if (s->nfds == 0 || s->nfds > SHIM_MAX_FDS)
                return cnr_errf(err, EINVAL, "nfds %u out of range (1..%d)", s->nfds, SHIM_MAX_FDS);
        if (shim_process_validate(s->process, "process", err) < 0)
                return -1;
        if (strlen(s->hostname) > 64)
                return cnr_errf(err, EINVAL, "hostname `%s`: longer than 64 bytes", s->hostname);
        for (const char *c = s->hostname; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      *c == '-' || *c == '.'))
                        return cnr_errf(err, EINVAL, "hostname `%s`: not a host name", s->hostname);
        if (fd_index_ok(s, s->rootfs_fd, "rootfs", err) < 0)
                return -1;
        used |= 1ULL << s->rootfs_fd;
        if (s->log_fd >= 0) {
                if (fd_index_ok(s, (uint32_t)s->log_fd, "log", err) < 0)
                        return -1;
                if (used & (1ULL << s->log_fd))
                        return cnr_errf(err, EINVAL, "log: fd %d used twice", s->log_fd);
                used |= 1ULL << s->log_fd;
        }
        if (s->n_mounts > 64)
                return cnr_errf(err, EINVAL, "more than 64 mounts");
        for (size_t i = 0; i < s->n_mounts; i++) {
                const char *d = s->mounts[i]->destination;
                bool allowed = false;

                if (!abs_path_ok(d) || strcmp(d, "/") == 0)
                        return cnr_errf(err, EINVAL, "mount `%s`: destination must be an absolute normalised path "
                                        "other than /", d);
                /* THREATS 6: nothing over /proc but the lxcfs files; /proc
                 * itself is always a fresh procfs of the shim's making. */
                if (under(d, "/proc")) {
                        for (size_t k = 0; k < CNR_ARRAY_LEN(proc_allowed); k++)
                                allowed |= strcmp(d, proc_allowed[k]) == 0;
                        if (!allowed)
                                return cnr_errf(err, EPERM, "mount `%s`: destinations under /proc are refused "
                                                "(only the lxcfs files)", d);
                }
                if (strcmp(d, "/dev") == 0 || strcmp(d, "/sys") == 0 || strcmp(d, "/dev/pts") == 0)
                        return cnr_errf(err, EPERM, "mount `%s`: the shim mounts this itself", d);
                if (fd_index_ok(s, s->mounts[i]->fd, d, err) < 0)
                        return -1;
                if (used & (1ULL << s->mounts[i]->fd))
                        return cnr_errf(err, EINVAL, "mount `%s`: fd %u used twice", d, s->mounts[i]->fd);
                used |= 1ULL << s->mounts[i]->fd;
                if (s->mounts[i]->device_access[0] &&
                    (!s->mounts[i]->bind || shim_devices_access(s->mounts[i]->device_access) < 0))
                        return cnr_errf(err, EINVAL, "device `%s`: access `%s` refused (a bind with a subset of rwm)",
                                        d, s->mounts[i]->device_access);
                /* the supervisor's number of a bind source, handed back
                 * by the Source op; unique, so that the answer is one fd */
                if (s->mounts[i]->source < 0 || s->mounts[i]->source > 1023 ||
                    (!s->mounts[i]->bind && s->mounts[i]->source != 0))
                        return cnr_errf(err, EINVAL, "mount `%s`: source number %d out of range", d,
                                        s->mounts[i]->source);
                for (size_t k = 0; k < i && s->mounts[i]->bind; k++)
                        if (s->mounts[k]->bind && s->mounts[k]->source == s->mounts[i]->source)
                                return cnr_errf(err, EINVAL, "mount `%s`: source number %d used twice", d,
                                                s->mounts[i]->source);
        }
        if (s->namespaces) {
                Cnr__Shim__Namespaces *ns = s->namespaces;
                if (ns->net == CNR__SHIM__NAMESPACES__NET__NET_FD) {
                        if (fd_index_ok(s, ns->net_fd, "netns", err) < 0)
                                return -1;
                        if (used & (1ULL << ns->net_fd))
                                return cnr_errf(err, EINVAL, "netns: fd %u used twice", ns->net_fd);
                        used |= 1ULL << ns->net_fd;
                } else if (ns->net != CNR__SHIM__NAMESPACES__NET__NET_NEW &&
                           ns->net != CNR__SHIM__NAMESPACES__NET__NET_HOST) {
                        return cnr_errf(err, EINVAL, "namespaces: unknown net mode %d", (int)ns->net);
                }
                if (ns->user) {
                        if (idmap_ok(ns->uid_map, ns->n_uid_map, "uid_map", err) < 0 ||
                            idmap_ok(ns->gid_map, ns->n_gid_map, "gid_map", err) < 0)
                                return -1;
                } else if (ns->n_uid_map || ns->n_gid_map) {
                        return cnr_errf(err, EINVAL, "namespaces: id maps without a user namespace");
                }
        }
        if (used != (s->nfds == 64 ? ~0ULL : (1ULL << s->nfds) - 1))
                return cnr_errf(err, EINVAL, "the bundle's %u fds are not each used exactly once", s->nfds);
        if (s->cgroup_path[0] != '\0' && !shim_cgroup_path_ok(s->cgroup_path))
                return cnr_errf(err, EINVAL, "cgroup path `%s`: must be relative, without `..`, `.` or empty "
                                "components", s->cgroup_path);
        if (s->resources) {
                Cnr__Shim__Resources *r = s->resources;
                if (r->memory < 0 || (r->memory > 0 && r->memory < 4 * 1024 * 1024))
                        return cnr_errf(err, EINVAL, "memory %lld: at least 4 MiB", (long long)r->memory);
                if (r->memory_swap < -1 || (r->memory_swap > 0 && r->memory_swap < r->memory))
                        return cnr_errf(err, EINVAL, "memory_swap %lld: -1, 0 or at least memory",
                                        (long long)r->memory_swap);
                if (r->cpu_quota < 0 || (r->cpu_quota > 0 && r->cpu_quota < 1000))
                        return cnr_errf(err, EINVAL, "cpu_quota %lld: at least 1000", (long long)r->cpu_quota);
                if (r->cpu_period && (r->cpu_period < 1000 || r->cpu_period > 1000000))
                        return cnr_errf(err, EINVAL, "cpu_period %llu: 1000..1000000",
                                        (unsigned long long)r->cpu_period);
                if (r->cpu_shares && (r->cpu_shares < 2 || r->cpu_shares > 262144))
                        return cnr_errf(err, EINVAL, "cpu_shares %llu: 2..262144", (unsigned long long)r->cpu_shares);
                if (r->pids < 0)
                        return cnr_errf(err, EINVAL, "pids %lld: negative", (long long)r->pids);
                if ((r->memory || r->cpu_quota || r->cpu_shares || r->pids) && s->cgroup_path[0] == '\0')
                        return cnr_errf(err, EINVAL, "resource limits need a cgroup path");
        }
        if (s->set_oom_score_adj && (s->oom_score_adj < -1000 || s->oom_score_adj > 1000))
                return cnr_errf(err, EINVAL, "oom_score_adj %d: -1000..1000", s->oom_score_adj);
        if (s->seccomp && s->seccomp->mode == CNR__SHIM__SECCOMP__MODE__PROFILE && s->seccomp->profile_json[0] == '\0')
                return cnr_errf(err, EINVAL, "seccomp: a profile mode without a profile");
        if (s->n_masked_paths > 64 || s->n_readonly_paths > 64)
                return cnr_errf(err, EINVAL, "more than 64 masked or read-only paths");
        for (size_t i = 0; i < s->n_masked_paths; i++)
                if (!abs_path_ok(s->masked_paths[i]) || strcmp(s->masked_paths[i], "/") == 0)
                        return cnr_errf(err, EINVAL, "masked path `%s`: not an absolute normalised path",
                                        s->masked_paths[i]);
        for (size_t i = 0; i < s->n_readonly_paths; i++)
                if (!abs_path_ok(s->readonly_paths[i]) || strcmp(s->readonly_paths[i], "/") == 0)
                        return cnr_errf(err, EINVAL, "read-only path `%s`: not an absolute normalised path",
                                        s->readonly_paths[i]);
        if (s->n_sysctls > 64)
                return cnr_errf(err, EINVAL, "more than 64 sysctls");
        for (size_t i = 0; i < s->n_sysctls; i++) {
                const char *k = s->sysctls[i]->key, *v = s->sysctls[i]->value;
                if (!shim_sysctl_ok(k))
                        return cnr_errf(err, EPERM, "sysctl `%s`: not a namespaced sysctl a container may set", k);
                if (strlen(v) > 4096 || strchr(v, '\n'))
                        return cnr_errf(err, EINVAL, "sysctl `%s`: value longer than 4096 bytes or with a newline", k);
                if (strncmp(k, "net.", 4) == 0 && s->namespaces && s->namespaces->net == CNR__SHIM__NAMESPACES__NET__NET_HOST)
                        return cnr_errf(err, EPERM, "sysctl `%s`: the container shares the host's network namespace", k);
        }
        if (strlen(s->etc_hosts) > 65536 || strlen(s->etc_resolv_conf) > 65536)
                return cnr_errf(err, EINVAL, "/etc/hosts or /etc/resolv.conf longer than 64 KiB");
        return 0;
}

void
shim_spec_paths(const Cnr__Shim__ContainerSpec *s, const char *const **masked, size_t *nmasked,
                const char *const **ro, size_t *nro)
{
        /* The spec's own lists come on top of these. */
        if (s->no_default_masks) {
                *masked = *ro = NULL;
                *nmasked = *nro = 0;
                return;
        }
        *masked = default_masked;
        *nmasked = CNR_ARRAY_LEN(default_masked);
        *ro = default_ro;
        *nro = CNR_ARRAY_LEN(default_ro);
}
