/* cgroups for one container, on v1, v2 and hybrid hosts alike.
 *
 * No layout is assumed: the hierarchies come from /proc/self/mountinfo
 * (cgroup and cgroup2 mounts) and the shim's own place in each from
 * /proc/self/cgroup.  The container's cgroup is `rel` below the shim's
 * cgroup in every mounted hierarchy; limits go to whichever hierarchy
 * holds the controller (v1 first, else v2 if it is enabled there).  On
 * this project's development machines memory, cpu and pids are v1 and the
 * cgroup2 mount holds only hugetlb; on a modern host everything is v2.
 *
 * Devices (devices.c): the v1 devices controller gets deny-all plus the
 * allow-list; the container's directory in every cgroup2 hierarchy gets
 * the same list as a BPF_CGROUP_DEVICE program, whether or not that
 * hierarchy holds any controller (programs attach to any cgroup2
 * directory).  On pure v2 the program is the only device control, so a
 * failure to attach it fails the container; on a hybrid host the v1 list
 * still applies and the program is defence in depth: a failure there is a
 * warning in shim.log.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "helpers/shim/devices.h"
#include "helpers/shim/shim.h"

#define MAX_HIER 16

struct hier {
        char *dir;      /* the container's cgroup directory */
        char *base;     /* the shim's own cgroup directory in this hierarchy */
        char *ctrls;    /* ",memory," style, or ",v2:<controllers>," */
        bool v2;
        bool made;      /* dir was created by us */
};

struct shim_cgroup {
        struct hier h[MAX_HIER];
        size_t n;
        char *rel;
};

static bool
has_ctrl(const struct hier *h, const char *c)
{
        _cleanup_free_ char *needle = xasprintf(",%s,", c);
        return strstr(h->ctrls, needle) != NULL;
}

static struct hier *
find_ctrl(struct shim_cgroup *cg, const char *c)
{
        for (size_t i = 0; i < cg->n; i++)
                if (!cg->h[i].v2 && has_ctrl(&cg->h[i], c))
                        return &cg->h[i];
        for (size_t i = 0; i < cg->n; i++)
                if (cg->h[i].v2 && has_ctrl(&cg->h[i], c))
                        return &cg->h[i];
        return NULL;
}

static int
write_file(const char *dir, const char *file, const char *val, struct cnr_err **err)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0 || write(fd, val, strlen(val)) < 0)
                return cnr_errf(err, errno, "write `%s` to `%s`", val, p);
        return 0;
}

static char *
read_file(const char *dir, const char *file)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        char buf[4096];
        ssize_t n;

        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        return xstrdup(buf);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape(char *s)
{
        char *o = s;

        for (; *s; s++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
                    s[3] <= '7') {
                        *o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
                        s += 3;
                } else {
                        *o++ = *s;
                }
        }
        *o = '\0';
}

/* The shim's path in the hierarchy whose /proc/self/cgroup controller list
 * is `ctrls` ("" for v2). */
static char *
self_path(const char *selfcg, const char *ctrls, bool v2)
{
        _cleanup_free_ char *copy = xstrdup(selfcg);
        char *save = NULL;

        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c1 = *c2 = '\0';
                if (v2 ? (strcmp(line, "0") == 0 && c1[1] == '\0') : strcmp(c1 + 1, ctrls) == 0)
                        return xstrdup(c2 + 1);
        }
        return NULL;
}

static int
discover(struct shim_cgroup *cg, struct cnr_err **err)
{
        _cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *selfcg = NULL, *line = NULL;
        size_t cap = 0;
        char buf[8192];
        ssize_t n;
        _cleanup_close_ int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);

        if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) < 0)
                return cnr_errf(err, errno, "read /proc/self/cgroup");
        buf[n] = '\0';
        selfcg = xstrdup(buf);
        if (mi == NULL)
                return cnr_errf(err, errno, "open /proc/self/mountinfo");
        while (getline(&line, &cap, mi) > 0 && cg->n < MAX_HIER) {
                char *f[12] = {0}, *save = NULL, *dash, *fstype, *superopts, *ctrls = NULL;
                _cleanup_free_ char *path = NULL;
                int nf = 0;
                bool v2;

                line[strcspn(line, "\n")] = '\0';
                dash = strstr(line, " - ");
                if (!dash)
                        continue;
                *dash = '\0';
                fstype = strtok_r(dash + 3, " ", &save);
                strtok_r(NULL, " ", &save); /* source */
                superopts = strtok_r(NULL, " ", &save);
                if (!fstype || !superopts)
                        continue;
                v2 = strcmp(fstype, "cgroup2") == 0;
                if (!v2 && strcmp(fstype, "cgroup") != 0)
                        continue;
                save = NULL;
                for (char *t = strtok_r(line, " ", &save); t && nf < 12; t = strtok_r(NULL, " ", &save))
                        f[nf++] = t;
                if (nf < 5)
                        continue;
                unescape(f[3]);
                unescape(f[4]);
                if (!v2) {
                        /* superopts: rw,memory or rw,cpu,cpuacct or rw,name=systemd:
                         * the same list /proc/self/cgroup shows, minus options. */
                        _cleanup_free_ char *list = NULL;
                        char *s2 = NULL;
                        for (char *o = strtok_r(superopts, ",", &s2); o; o = strtok_r(NULL, ",", &s2)) {
                                if (strcmp(o, "rw") == 0 || strcmp(o, "ro") == 0 || strcmp(o, "nsdelegate") == 0 ||
                                    strcmp(o, "noprefix") == 0 || strcmp(o, "clone_children") == 0 ||
                                    strncmp(o, "release_agent=", 14) == 0 || strcmp(o, "xattr") == 0 ||
                                    strcmp(o, "cpuset_v2_mode") == 0)
                                        continue;
                                char *nl = list ? xasprintf("%s,%s", list, o) : xstrdup(o);
                                free(list);
                                list = nl;
                        }
                        if (!list)
                                continue;
                        path = self_path(selfcg, list, false);
                        ctrls = xasprintf(",%s,", list);
                } else {
                        _cleanup_free_ char *mp = xasprintf("%s", f[4]);
                        _cleanup_free_ char *avail = read_file(mp, "cgroup.controllers");
                        path = self_path(selfcg, "", true);
                        if (avail) {
                                avail[strcspn(avail, "\n")] = '\0';
                                for (char *c = avail; *c; c++)
                                        if (*c == ' ')
                                                *c = ',';
                        }
                        ctrls = xasprintf(",%s,", avail ? avail : "");
                }
                /* Skip a hierarchy mounted twice, or whose mount root does
                 * not contain our cgroup. */
                bool dup = false;
                for (size_t i = 0; i < cg->n; i++)
                        dup |= cg->h[i].v2 == v2 && strcmp(cg->h[i].ctrls, ctrls) == 0;
                size_t rl = strlen(f[3]);
                if (dup || !path || strncmp(path, f[3], rl) != 0 ||
                    (strcmp(f[3], "/") != 0 && path[rl] != '\0' && path[rl] != '/')) {
                        free(ctrls);
                        continue;
                }
                struct hier *h = &cg->h[cg->n++];
                const char *sub = strcmp(f[3], "/") == 0 ? path : path + rl;
                h->v2 = v2;
                h->ctrls = ctrls;
                h->base = xasprintf("%s%s", f[4], strcmp(sub, "/") == 0 ? "" : sub);
                h->dir = xasprintf("%s/%s", h->base, cg->rel);
        }
        if (cg->n == 0)
                return cnr_errf(err, ENOENT, "no cgroup hierarchy is mounted");
        return 0;
}

/* mkdir -p below the base; the last component must be new.  v1 cpuset
 * children start empty and take their parent's cpus and mems. */
static int
make_dir(struct hier *h, const char *rel, struct cnr_err **err)
{
        _cleanup_free_ char *p = xstrdup(h->dir);
        size_t bl = strlen(h->base);

        for (char *s = p + bl + 1;; s++) {
                bool last = *s == '\0';
                if (*s != '/' && !last)
                        continue;
                *s = '\0';
                /* A last component that exists and is empty is the
                 * leftover of a shim killed with its container (THREATS
                 * 37): rmdir succeeds only when no process is in it. */
                bool made = mkdir(p, 0755) == 0;
                if (!made && (errno != EEXIST || last) &&
                    !(errno == EEXIST && last && rmdir(p) == 0 && (made = mkdir(p, 0755) == 0)))
                        return cnr_errf(err, errno, "create cgroup `%s`", p);
                /* 0755 whatever the umask, on directories made here only:
                 * the unprivileged supervisor reads the counters for
                 * `containr stats` (the files are 0644 root, writable by
                 * root only) */
                if (made && chmod(p, 0755) < 0)
                        return cnr_errf(err, errno, "chmod cgroup `%s`", p);
                if (!h->v2 && has_ctrl(h, "cpuset")) {
                        _cleanup_free_ char *parent = xstrndup(p, (size_t)(strrchr(p, '/') - p));
                        const char *files[] = {"cpuset.cpus", "cpuset.mems"};
                        for (size_t i = 0; i < 2; i++) {
                                _cleanup_free_ char *cur = read_file(p, files[i]);
                                _cleanup_free_ char *par = read_file(parent, files[i]);
                                if (cur && cur[0] == '\n' && par)
                                        write_file(p, files[i], par, NULL);
                        }
                }
                if (last)
                        break;
                *s = '/';
        }
        h->made = true;
        (void)rel;
        return 0;
}

/* v2: a controller can be used below a cgroup only when every ancestor
 * from the shim's cgroup down enables it in cgroup.subtree_control. */
static int
v2_enable(struct hier *h, const char *ctrl, struct cnr_err **err)
{
        _cleanup_free_ char *p = xstrdup(h->dir);
        _cleanup_free_ char *val = xasprintf("+%s", ctrl);
        char *end = strrchr(p, '/');

        *end = '\0';
        for (char *s = p + strlen(h->base);;) {
                char save = *s;
                *s = '\0';
                if (write_file(p, "cgroup.subtree_control", val, err) < 0)
                        return cnr_err_wrap(err, "enable the %s controller (on v2 the shim's own cgroup must be "
                                            "able to delegate it)", ctrl);
                *s = save;
                if (save == '\0')
                        break;
                s = strchr(s + 1, '/');
                if (!s)
                        s = p + strlen(p);
        }
        return 0;
}

/* The allow-list: the default one, then a rule per --device (its node's
 * type and numbers read from the bind's fd). */
static int
device_rules(const Cnr__Shim__ContainerSpec *s, const int *fds, struct shim_dev_rule **out, size_t *n,
             struct cnr_err **err)
{
        struct shim_dev_rule *r = xcalloc(shim_devices_ndefault + s->n_mounts, sizeof(*r));
        size_t k = shim_devices_ndefault;

        memcpy(r, shim_devices_default, shim_devices_ndefault * sizeof(*r));
        if (s->all_devices) { /* --privileged */
                r[0] = (struct shim_dev_rule){.type = 'a', .major = SHIM_DEV_ANY, .minor = SHIM_DEV_ANY,
                                              .access = SHIM_DEV_RWM};
                k = 1;
        }
        for (size_t i = 0; i < s->n_mounts; i++) {
                const Cnr__Shim__Mount *m = s->mounts[i];
                if (!m->device_access[0])
                        continue;
                if (shim_devices_rule_fd(fds[m->fd], m->device_access, m->destination, &r[k++], err) < 0) {
                        free(r);
                        return -1;
                }
        }
        *out = r;
        *n = k;
        return 0;
}

/* v1 devices: deny everything, then allow what a container may use. */
static int
v1_devices(struct hier *h, const struct shim_dev_rule *rules, size_t n, struct cnr_err **err)
{
        char buf[48];

        if (write_file(h->dir, "devices.deny", "a", err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (write_file(h->dir, "devices.allow", shim_devices_rule_str(&rules[i], buf, sizeof(buf)), err) < 0)
                        return -1;
        return 0;
}

/* v2 devices: the same list as an eBPF program on each cgroup2 directory,
 * loaded once (it persists as long as one of them is attached). */
static int
v2_devices(struct shim_cgroup *cg, const struct shim_dev_rule *rules, size_t nrules, struct cnr_err **err)
{
        size_t room = SHIM_DEVICES_MAX_INSNS(nrules);
        _cleanup_free_ struct bpf_insn *insns = xcalloc(room, sizeof(*insns));
        _cleanup_close_ int prog = -1;
        int n;

        n = shim_devices_prog(rules, nrules, insns, room, err);
        if (n < 0 || (prog = shim_devices_load(insns, (size_t)n, err)) < 0)
                return -1;
        for (size_t i = 0; i < cg->n; i++)
                if (cg->h[i].v2 && shim_devices_attach(prog, cg->h[i].dir, err) < 0)
                        return -1;
        return 0;
}

static int
limit(struct shim_cgroup *cg, const char *ctrl, const char *v1file, const char *v1val, const char *v2file,
      const char *v2val, struct cnr_err **err)
{
        struct hier *h = find_ctrl(cg, ctrl);

        if (h == NULL)
                return cnr_errf(err, ENOTSUP, "no `%s` cgroup controller on this host", ctrl);
        if (h->v2) {
                if (v2_enable(h, ctrl, err) < 0)
                        return -1;
                return write_file(h->dir, v2file, v2val, err);
        }
        return write_file(h->dir, v1file, v1val, err);
}

static int
apply(struct shim_cgroup *cg, const Cnr__Shim__Resources *r, struct cnr_err **err)
{
        char a[64], b[64];

        if (r->memory) {
                struct hier *h = find_ctrl(cg, "memory");
                int64_t sw = r->memory_swap ? r->memory_swap : r->memory;
                snprintf(a, sizeof(a), "%lld", (long long)r->memory);
                if (limit(cg, "memory", "memory.limit_in_bytes", a, "memory.max", a, err) < 0)
                        return -1;
                if (h && !h->v2) {
                        _cleanup_free_ char *has = read_file(h->dir, "memory.memsw.limit_in_bytes");
                        snprintf(b, sizeof(b), "%lld", (long long)sw);
                        if (has && write_file(h->dir, "memory.memsw.limit_in_bytes", sw < 0 ? "-1" : b, err) < 0)
                                return -1;
                } else if (h) {
                        snprintf(b, sizeof(b), "%lld", (long long)(sw - r->memory));
                        _cleanup_free_ char *has = read_file(h->dir, "memory.swap.max");
                        if (has && write_file(h->dir, "memory.swap.max", sw < 0 ? "max" : b, err) < 0)
                                return -1;
                }
        }
        if (r->cpu_quota || r->cpu_period) {
                unsigned long long period = r->cpu_period ? r->cpu_period : 100000;
                snprintf(a, sizeof(a), "%llu", period);
                struct hier *h = find_ctrl(cg, "cpu");
                if (h && !h->v2 && write_file(h->dir, "cpu.cfs_period_us", a, err) < 0)
                        return -1;
                snprintf(a, sizeof(a), "%lld", r->cpu_quota ? (long long)r->cpu_quota : -1LL);
                if (r->cpu_quota)
                        snprintf(b, sizeof(b), "%lld %llu", (long long)r->cpu_quota, period);
                else
                        snprintf(b, sizeof(b), "max %llu", period);
                if (limit(cg, "cpu", "cpu.cfs_quota_us", a, "cpu.max", b, err) < 0)
                        return -1;
        }
        if (r->cpu_shares) {
                snprintf(a, sizeof(a), "%llu", (unsigned long long)r->cpu_shares);
                /* The usual conversion of v1 shares (2..262144) to v2 weight (1..10000). */
                snprintf(b, sizeof(b), "%llu", 1 + ((unsigned long long)(r->cpu_shares - 2) * 9999) / 262142);
                if (limit(cg, "cpu", "cpu.shares", a, "cpu.weight", b, err) < 0)
                        return -1;
        }
        if (r->pids) {
                snprintf(a, sizeof(a), "%lld", (long long)r->pids);
                if (limit(cg, "pids", "pids.max", a, "pids.max", a, err) < 0)
                        return -1;
        }
        return 0;
}

int
shim_cgroup_create(const Cnr__Shim__ContainerSpec *s, const int *fds, struct shim_cgroup **out, struct cnr_err **err)
{
        struct shim_cgroup *cg = xcalloc(1, sizeof(*cg));
        const char *rel = s->cgroup_path;
        const Cnr__Shim__Resources *r = s->resources;
        _cleanup_free_ struct shim_dev_rule *rules = NULL;
        size_t nrules = 0;
        bool v1dev = false, v2 = false;

        if (!shim_cgroup_path_ok(rel)) {
                free(cg);
                return cnr_errf(err, EINVAL, "cgroup path `%s` refused", rel);
        }
        cg->rel = xstrdup(rel);
        if (device_rules(s, fds, &rules, &nrules, err) < 0 || discover(cg, err) < 0)
                goto fail;
        for (size_t i = 0; i < cg->n; i++) {
                if (make_dir(&cg->h[i], rel, err) < 0)
                        goto fail;
                if (!cg->h[i].v2 && has_ctrl(&cg->h[i], "devices")) {
                        if (v1_devices(&cg->h[i], rules, nrules, err) < 0)
                                goto fail;
                        v1dev = true;
                }
                v2 |= cg->h[i].v2;
        }
        if (v2 && v2_devices(cg, rules, nrules, err) < 0) {
                if (!v1dev)
                        goto fail;
                log_warn("%s (the v1 device list applies)", cnr_err_str(*err));
                cnr_err_free(err);
        }
        if (r && apply(cg, r, err) < 0)
                goto fail;
        *out = cg;
        return 0;
fail:
        shim_cgroup_destroy(cg);
        shim_cgroup_free(cg);
        return -1;
}

/* The init enters its cgroups without being moved by pid.  A move by pid
 * (cgroup.procs) takes the kernel's cgroup_threadgroup_rwsem for writing,
 * and the first writer after a quiet while waits for an RCU grace period
 * holding cgroup_mutex: 5-20 ms of every start on these machines
 * (docs/performance.md).  A single-threaded process that writes "0" into
 * a v1 `tasks` file moves only itself, which the kernel does without that
 * lock; a cgroup2 hierarchy has no such file, so the init is born there
 * instead (clone3 CLONE_INTO_CGROUP, which takes it for reading).  The
 * files are opened here, by the shim: the kernel checks the opener's
 * credentials, so the child can use them in its user namespace too. */
int
shim_cgroup_entry_open(struct shim_cgroup *cg, struct shim_cgroup_entry *e, struct cnr_err **err)
{
        *e = (struct shim_cgroup_entry){.v2dir = -1};
        for (size_t i = 0; cg && i < cg->n; i++) {
                const struct hier *h = &cg->h[i];
                _cleanup_free_ char *p = h->v2 ? xstrdup(h->dir) : xasprintf("%s/tasks", h->dir);
                int fd;

                if (h->v2 && e->v2dir >= 0)
                        return cnr_errf(err, EINVAL, "more than one cgroup2 hierarchy");
                if (!h->v2 && e->ntasks == CNR_ARRAY_LEN(e->tasks))
                        return cnr_errf(err, E2BIG, "more than %zu cgroup hierarchies", CNR_ARRAY_LEN(e->tasks));
                fd = open(p, (h->v2 ? O_RDONLY | O_DIRECTORY : O_WRONLY) | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return cnr_errf(err, errno, "open `%s`", p);
                if (h->v2)
                        e->v2dir = fd;
                else
                        e->tasks[e->ntasks++] = fd;
        }
        return 0;
}

int
shim_cgroup_entry_join(const struct shim_cgroup_entry *e)
{
        for (size_t i = 0; i < e->ntasks; i++)
                if (write(e->tasks[i], "0", 1) != 1)
                        return -1;
        return 0;
}

void
shim_cgroup_entry_close(struct shim_cgroup_entry *e)
{
        for (size_t i = 0; i < e->ntasks; i++)
                close(e->tasks[i]);
        e->ntasks = 0;
        if (e->v2dir >= 0)
                close(e->v2dir);
        e->v2dir = -1;
}

uint64_t
shim_cgroup_oom_kills(struct shim_cgroup *cg)
{
        struct hier *h = cg ? find_ctrl(cg, "memory") : NULL;
        _cleanup_free_ char *s = NULL;
        char *p;

        if (!h)
                return 0;
        s = read_file(h->dir, h->v2 ? "memory.events" : "memory.oom_control");
        if (!s || !(p = strstr(s, "oom_kill ")))
                return 0;
        return strtoull(p + 9, NULL, 10);
}

void
shim_cgroup_kill(struct shim_cgroup *cg, int sig)
{
        for (size_t i = 0; cg && i < cg->n; i++) {
                _cleanup_free_ char *procs = read_file(cg->h[i].dir, "cgroup.procs");
                char *save = NULL;
                if (!procs)
                        continue;
                for (char *t = strtok_r(procs, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
                        kill((pid_t)atoi(t), sig);
                return;
        }
}

void
shim_cgroup_destroy(struct shim_cgroup *cg)
{
        for (size_t i = 0; cg && i < cg->n; i++) {
                struct hier *h = &cg->h[i];

                if (!h->made)
                        continue;
                for (int tries = 0; rmdir(h->dir) < 0 && errno == EBUSY && tries < 200; tries++)
                        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
                /* Intermediate levels stay: another shim may be creating a
                 * sibling below them right now. */
                h->made = false;
        }
}

void
shim_cgroup_free(struct shim_cgroup *cg)
{
        if (!cg)
                return;
        for (size_t i = 0; i < cg->n; i++) {
                free(cg->h[i].dir);
                free(cg->h[i].base);
                free(cg->h[i].ctrls);
        }
        free(cg->rel);
        free(cg);
}
