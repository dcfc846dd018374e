/* Image config + the operator's flags -> the shim's ContainerSpec.
 *
 * Docker's rules: args = Entrypoint + Cmd (a --entrypoint drops the
 * image's Cmd unless a command is given); Env of the image, then -e/--env-
 * file by key; WorkingDir; User resolved from the IMAGE's /etc/passwd and
 * /etc/group read under the container's rootfs fd (common/passwd.c, never
 * getpwnam); Docker's default capabilities with --cap-add/--cap-drop;
 * --privileged = every capability, no seccomp, no masked paths; the
 * default seccomp policy unless unconfined or a profile is given. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

#include "common/log.h"
#include "common/passwd.h"
#include "common/util.h"
#include "supervisor/containers.h"

#define B(c) (1ULL << (c))
const uint64_t ctr_default_caps = B(CAP_CHOWN) | B(CAP_DAC_OVERRIDE) | B(CAP_FSETID) | B(CAP_FOWNER) | B(CAP_MKNOD) |
                                  B(CAP_NET_RAW) | B(CAP_SETGID) | B(CAP_SETUID) | B(CAP_SETFCAP) | B(CAP_SETPCAP) |
                                  B(CAP_NET_BIND_SERVICE) | B(CAP_SYS_CHROOT) | B(CAP_KILL) | B(CAP_AUDIT_WRITE);
#undef B

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define INIT_PATH "/sbin/docker-init"

static uint64_t
all_caps(void)
{
        int last = CAP_LAST_CAP;
        FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");

        if (f) {
                if (fscanf(f, "%d", &last) != 1)
                        last = CAP_LAST_CAP;
                fclose(f);
        }
        return last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
}

int
ctr_caps_apply(uint64_t *mask, char **names, size_t n, bool add, struct cnr_err **err)
{
        for (size_t i = 0; i < n; i++) {
                char buf[64];
                cap_value_t v;

                if (strcasecmp(names[i], "ALL") == 0) {
                        *mask = add ? all_caps() : 0;
                        continue;
                }
                snprintf(buf, sizeof(buf), "%s%s", strncasecmp(names[i], "CAP_", 4) == 0 ? "" : "cap_", names[i]);
                for (char *p = buf; *p; p++)
                        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
                if (cap_from_name(buf, &v) < 0 || v < 0 || v > 63)
                        return cnr_errf(err, EINVAL, "unknown capability `%s`", names[i]);
                if (add)
                        *mask |= 1ULL << v;
                else
                        *mask &= ~(1ULL << v);
        }
        return 0;
}

char *
ctr_clean_path(const char *p)
{
        size_t n = strlen(p);
        char *out = xmalloc(n + 2), *copy = xstrdup(p), *save = NULL, *tok;
        size_t len = 0;

        for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
                if (strcmp(tok, ".") == 0)
                        continue;
                if (strcmp(tok, "..") == 0) { /* never above the root */
                        while (len > 0 && out[len - 1] != '/')
                                len--;
                        if (len > 0)
                                len--;
                        continue;
                }
                out[len++] = '/';
                memcpy(out + len, tok, strlen(tok));
                len += strlen(tok);
        }
        free(copy);
        if (len == 0) {
                free(out);
                return NULL;
        }
        out[len] = '\0';
        return out;
}

/* ---- string vectors ---- */

static void
strv_push(char ***v, size_t *n, const char *s)
{
        *v = xrealloc(*v, (*n + 1) * sizeof(char *));
        (*v)[(*n)++] = xstrdup(s);
}

static void
strv_json(char ***v, size_t *n, json_t *a)
{
        size_t i;
        json_t *x;

        if (!json_is_array(a))
                return;
        json_array_foreach(a, i, x) if (json_is_string(x)) strv_push(v, n, json_string_value(x));
}

/* Set K=V in env, replacing an entry with the same key. */
static void
env_set(char ***env, size_t *n, const char *kv)
{
        const char *eq = strchr(kv, '=');
        size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);

        for (size_t i = 0; i < *n; i++)
                if (strncmp((*env)[i], kv, klen) == 0 && ((*env)[i][klen] == '=' || (*env)[i][klen] == '\0')) {
                        free((*env)[i]);
                        (*env)[i] = xstrdup(kv);
                        return;
                }
        strv_push(env, n, kv);
}

static bool
env_has(char **env, size_t n, const char *key)
{
        size_t klen = strlen(key);

        for (size_t i = 0; i < n; i++)
                if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
                        return true;
        return false;
}

static const char *
jstr(json_t *o, const char *k)
{
        const char *v = json_string_value(json_object_get(o, k));
        return v ? v : "";
}

/* ---- users ---- */

static int
resolve_user(int rootfd, const char *spec, Cnr__Shim__User *u, char *home, size_t nhome, struct cnr_err **err)
{
        struct cnr_user cu;
        struct cnr_err *e = NULL;

        if (rootfd < 0 && spec[0]) {
                /* No view of the rootfs (a containrd restarted since the
                 * container started): numeric ids only. */
                unsigned long long uid, gid = 0;
                const char *colon = strchr(spec, ':');
                _cleanup_free_ char *us = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);

                if (cnr_parse_uint(us, 0x7fffffff, &uid) < 0 ||
                    (colon && cnr_parse_uint(colon + 1, 0x7fffffff, &gid) < 0))
                        return cnr_errf(err, EINVAL,
                                        "`%s`: containrd restarted since the container started and resolves only "
                                        "numeric UID[:GID] now",
                                        spec);
                memset(&cu, 0, sizeof(cu));
                cu.uid = (uint32_t)uid;
                cu.gid = (uint32_t)gid;
        } else if (cnr_user_resolve(rootfd, spec[0] ? spec : "0", &cu, &e) < 0) {
                if (spec[0]) {
                        cnr_errf(err, e->code, "%s", e->msg);
                        cnr_err_free(&e);
                        return -1;
                }
                /* root without a passwd file: 0:0, no groups */
                cnr_err_free(&e);
                memset(&cu, 0, sizeof(cu));
        }
        u->uid = cu.uid;
        u->gid = cu.gid;
        u->n_additional_gids = cu.ngids;
        u->additional_gids = xcalloc(cu.ngids ? cu.ngids : 1, sizeof(uint32_t));
        memcpy(u->additional_gids, cu.gids, cu.ngids * sizeof(uint32_t));
        snprintf(home, nhome, "%s", cu.home[0] ? cu.home : "/");
        return 0;
}

/* ---- rlimits ---- */

static const struct {
        const char *name, *rl;
} rlimit_names[] = {
        {"core", "RLIMIT_CORE"},         {"cpu", "RLIMIT_CPU"},
        {"data", "RLIMIT_DATA"},         {"fsize", "RLIMIT_FSIZE"},
        {"locks", "RLIMIT_LOCKS"},       {"memlock", "RLIMIT_MEMLOCK"},
        {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"},
        {"nofile", "RLIMIT_NOFILE"},     {"nproc", "RLIMIT_NPROC"},
        {"rss", "RLIMIT_RSS"},           {"rtprio", "RLIMIT_RTPRIO"},
        {"rttime", "RLIMIT_RTTIME"},     {"sigpending", "RLIMIT_SIGPENDING"},
        {"stack", "RLIMIT_STACK"},       {"as", "RLIMIT_AS"},
};

static int
add_rlimits(Cnr__Shim__Process *p, const Cnr__Api__ContainerConfig *cfg, struct cnr_err **err)
{
        p->rlimits = xcalloc(cfg->n_ulimits + 1, sizeof(*p->rlimits));
        for (size_t i = 0; i < cfg->n_ulimits; i++) {
                const char *rl = NULL;
                Cnr__Shim__Rlimit *r;

                for (size_t k = 0; k < CNR_ARRAY_LEN(rlimit_names); k++)
                        if (strcmp(cfg->ulimits[i]->name, rlimit_names[k].name) == 0)
                                rl = rlimit_names[k].rl;
                if (!rl)
                        return cnr_errf(err, EINVAL, "--ulimit: unknown limit `%s`", cfg->ulimits[i]->name);
                r = xcalloc(1, sizeof(*r));
                cnr__shim__rlimit__init(r);
                r->type = xstrdup(rl);
                r->soft = cfg->ulimits[i]->soft;
                r->hard = cfg->ulimits[i]->hard;
                p->rlimits[p->n_rlimits++] = r;
        }
        return 0;
}

/* ---- the process ---- */

static int
build_process(const struct ctr_spec_in *in, Cnr__Shim__Process *p, const char *hostname, struct cnr_err **err)
{
        const Cnr__Api__ContainerConfig *cfg = in->c->cfg;
        json_t *ic = in->image_config;
        char **args = NULL, **env = NULL;
        size_t nargs = 0, nenv = 0;
        char home[256];
        const char *user = cfg->user[0] ? cfg->user : jstr(ic, "User");
        const char *wd = cfg->workdir[0] ? cfg->workdir : jstr(ic, "WorkingDir");
        uint64_t caps = ctr_default_caps;

        if (cfg->init_fd >= 0) {
                strv_push(&args, &nargs, INIT_PATH);
                strv_push(&args, &nargs, "--");
        }
        if (cfg->entrypoint_set) {
                for (size_t i = 0; i < cfg->n_entrypoint; i++)
                        if (cfg->entrypoint[i][0])
                                strv_push(&args, &nargs, cfg->entrypoint[i]);
        } else {
                strv_json(&args, &nargs, json_object_get(ic, "Entrypoint"));
        }
        if (cfg->n_cmd > 0) {
                for (size_t i = 0; i < cfg->n_cmd; i++)
                        strv_push(&args, &nargs, cfg->cmd[i]);
        } else if (!cfg->entrypoint_set) {
                strv_json(&args, &nargs, json_object_get(ic, "Cmd"));
        }
        if (nargs == (cfg->init_fd >= 0 ? 2u : 0u)) {
                for (size_t i = 0; i < nargs; i++)
                        free(args[i]);
                free(args);
                return cnr_errf(err, EINVAL, "no command specified: the image has no Cmd or Entrypoint");
        }
        p->args = args;
        p->n_args = nargs;

        p->user = xcalloc(1, sizeof(*p->user));
        cnr__shim__user__init(p->user);
        if (resolve_user(in->rootfd, user, p->user, home, sizeof(home), err) < 0)
                return cnr_err_wrap(err, "user `%s`", user);

        strv_json(&env, &nenv, json_object_get(ic, "Env"));
        if (!env_has(env, nenv, "PATH"))
                env_set(&env, &nenv, DEFAULT_PATH);
        {
                _cleanup_free_ char *h = xasprintf("HOSTNAME=%s", hostname);
                env_set(&env, &nenv, h);
        }
        if (cfg->tty && !env_has(env, nenv, "TERM"))
                env_set(&env, &nenv, "TERM=xterm");
        for (size_t i = 0; i < cfg->n_env; i++)
                env_set(&env, &nenv, cfg->env[i]);
        if (!env_has(env, nenv, "HOME")) {
                _cleanup_free_ char *h = xasprintf("HOME=%s", home);
                env_set(&env, &nenv, h);
        }
        p->env = env;
        p->n_env = nenv;

        {
                char *cwd = ctr_clean_path(wd);
                p->cwd = cwd ? cwd : xstrdup("/");
        }
        p->terminal = cfg->tty;
        if (cfg->tty && cfg->rows && cfg->cols) {
                p->console = xcalloc(1, sizeof(*p->console));
                cnr__shim__console_size__init(p->console);
                p->console->rows = cfg->rows;
                p->console->cols = cfg->cols;
        }
        if (add_rlimits(p, cfg, err) < 0)
                return -1;
        if (cfg->privileged)
                caps = all_caps();
        if (ctr_caps_apply(&caps, cfg->cap_add, cfg->n_cap_add, true, err) < 0 ||
            ctr_caps_apply(&caps, cfg->cap_drop, cfg->n_cap_drop, false, err) < 0)
                return -1;
        p->capabilities = xcalloc(1, sizeof(*p->capabilities));
        cnr__shim__capabilities__init(p->capabilities);
        p->capabilities->bounding = caps;
        p->capabilities->clamp_to_host = cfg->privileged;
        /* --cap-add ALL is "every capability" as --privileged's */
        for (size_t i = 0; i < cfg->n_cap_add; i++)
                p->capabilities->clamp_to_host |= strcasecmp(cfg->cap_add[i], "ALL") == 0;
        /* Docker: a non-root user starts with empty effective and
         * permitted sets; the bounding set still limits setuid binaries. */
        p->capabilities->effective = p->user->uid == 0 ? caps : 0;
        p->capabilities->permitted = p->user->uid == 0 ? caps : 0;
        p->no_new_privileges = cfg->no_new_privileges;
        return 0;
}

/* A string field still at protobuf-c's default (init leaves the static
 * empty string there when a build fails half-way) is not ours to free. */
static void
free_str(char *s)
{
        if (s != protobuf_c_empty_string)
                free(s);
}

void
ctr_process_free(Cnr__Shim__Process *p)
{
        for (size_t i = 0; i < p->n_args; i++)
                free(p->args[i]);
        free(p->args);
        for (size_t i = 0; i < p->n_env; i++)
                free(p->env[i]);
        free(p->env);
        free_str(p->cwd);
        if (p->user)
                free(p->user->additional_gids);
        free(p->user);
        free(p->console);
        for (size_t i = 0; i < p->n_rlimits; i++) {
                free(p->rlimits[i]->type);
                free(p->rlimits[i]);
        }
        free(p->rlimits);
        free(p->capabilities);
}

int
ctr_exec_process(struct ctr *c, int rootfd, const Cnr__Api__ExecConfig *x, Cnr__Shim__Process *p, struct cnr_err **err)
{
        struct ctr_spec_in in = {.rootfd = rootfd};
        Cnr__Api__ContainerConfig cfg = *c->cfg;
        char *empty_ep[1] = {NULL};
        int r;

        /* The container's settings with the exec's own command, user,
         * directory, environment additions and terminal. */
        cfg.cmd = x->cmd;
        cfg.n_cmd = x->n_cmd;
        cfg.entrypoint_set = true;
        cfg.entrypoint = empty_ep;
        cfg.n_entrypoint = 0;
        cfg.init_fd = -1;
        cfg.tty = x->tty;
        cfg.rows = x->rows;
        cfg.cols = x->cols;
        if (x->user[0])
                cfg.user = x->user;
        if (x->workdir[0])
                cfg.workdir = x->workdir;
        cfg.privileged = c->cfg->privileged || x->privileged;
        {
                char **env = xcalloc(c->cfg->n_env + x->n_env + 1, sizeof(char *));
                memcpy(env, c->cfg->env, c->cfg->n_env * sizeof(char *));
                memcpy(env + c->cfg->n_env, x->env, x->n_env * sizeof(char *));
                cfg.env = env;
                cfg.n_env = c->cfg->n_env + x->n_env;
        }
        struct ctr copy = *c;
        copy.cfg = &cfg;
        in.c = &copy;
        in.image_config = ctr_image_config(c);
        r = build_process(&in, p, c->id, err);
        json_decref(in.image_config);
        free(cfg.env);
        return r;
}

/* ---- sysctls ---- */

/* The namespaced sysctls, as Docker allows them; the shim checks again. */
static bool
sysctl_namespaced(const char *k)
{
        static const char *const prefixes[] = {"net.", "kernel.shm", "kernel.msg", "fs.mqueue."};

        if (strcmp(k, "kernel.sem") == 0)
                return true;
        for (size_t i = 0; i < CNR_ARRAY_LEN(prefixes); i++)
                if (strncmp(k, prefixes[i], strlen(prefixes[i])) == 0 && k[strlen(prefixes[i])] != '\0')
                        return true;
        return false;
}

static int
add_sysctls(const struct ctr_spec_in *in, Cnr__Shim__ContainerSpec *spec, struct cnr_err **err)
{
        const Cnr__Api__ContainerConfig *cfg = in->c->cfg;

        if (cfg->n_sysctls > 64)
                return cnr_errf(err, EINVAL, "--sysctl: at most 64");
        spec->sysctls = xcalloc(cfg->n_sysctls + 1, sizeof(*spec->sysctls));
        for (size_t i = 0; i < cfg->n_sysctls; i++) {
                const char *kv = cfg->sysctls[i], *eq = strchr(kv, '=');
                _cleanup_free_ char *key = eq ? xstrndup(kv, (size_t)(eq - kv)) : NULL;
                Cnr__Shim__Sysctl *sc;

                if (!key || !key[0])
                        return cnr_errf(err, EINVAL, "--sysctl `%s`: want KEY=VALUE", kv);
                if (!sysctl_namespaced(key))
                        return cnr_errf(err, EPERM,
                                        "--sysctl `%s`: not a namespaced sysctl; a container may set only net.*, "
                                        "kernel.shm*, kernel.msg*, kernel.sem and fs.mqueue.*",
                                        key);
                if (strncmp(key, "net.", 4) == 0 && in->net_host)
                        return cnr_errf(err, EPERM, "--sysctl `%s`: not with --network host (the host's own)", key);
                sc = xcalloc(1, sizeof(*sc));
                cnr__shim__sysctl__init(sc);
                sc->key = steal_ptr(&key);
                sc->value = xstrdup(eq + 1);
                spec->sysctls[spec->n_sysctls++] = sc;
        }
        return 0;
}

/* ---- user namespaces ---- */

/* --userns: `host` (or empty), `auto` (containrd picks a free range, see
 * containers.c), or UID:GID:COUNT, the host ids that container ids
 * 0..COUNT-1 map to.  THREATS 15: decimal digits only (no sign, no -1),
 * every mapped host id within 1..2^31-1, so the container's root is never
 * the host's root and no id wraps to (uid_t)-1. */
int
ctr_userns_parse(const char *v, struct ctr_idrange *r, struct cnr_err **err)
{
        unsigned long long uid, gid, count;
        _cleanup_free_ char *copy = NULL;
        char *a, *b;

        memset(r, 0, sizeof(*r));
        if (!v[0] || strcmp(v, "host") == 0)
                return CTR_USERNS_HOST;
        if (strcmp(v, "auto") == 0)
                return CTR_USERNS_AUTO;
        copy = xstrdup(v);
        a = strchr(copy, ':');
        b = a ? strchr(a + 1, ':') : NULL;
        if (!a || !b)
                return cnr_errf(err, EINVAL, "--userns `%s`: want `host`, `auto` or UID:GID:COUNT", v);
        *a++ = '\0';
        *b++ = '\0';
        if (cnr_parse_uint(copy, 0x7fffffff, &uid) < 0 || cnr_parse_uint(a, 0x7fffffff, &gid) < 0 ||
            cnr_parse_uint(b, 0x7fffffff, &count) < 0)
                return cnr_errf(err, EINVAL,
                                "--userns `%s`: UID, GID and COUNT are decimal numbers up to "
                                "2147483647",
                                v);
        if (uid == 0 || gid == 0)
                return cnr_errf(err, EPERM, "--userns `%s`: the container's root would be the host's root", v);
        if (count == 0 || uid + count - 1 > 0x7fffffff || gid + count - 1 > 0x7fffffff)
                return cnr_errf(err, EINVAL,
                                "--userns `%s`: COUNT must be at least 1 and the host range end "
                                "at or below 2147483647",
                                v);
        r->uid = (uint32_t)uid;
        r->gid = (uint32_t)gid;
        r->count = (uint32_t)count;
        return CTR_USERNS_MAP;
}

static Cnr__Shim__IdMap **
one_map(uint32_t host, uint32_t count)
{
        Cnr__Shim__IdMap **m = xcalloc(1, sizeof(*m));

        m[0] = xcalloc(1, sizeof(**m));
        cnr__shim__id_map__init(m[0]);
        m[0]->container_id = 0;
        m[0]->host_id = host;
        m[0]->size = count;
        return m;
}

static int
add_userns(const Cnr__Api__ContainerConfig *cfg, Cnr__Shim__Namespaces *ns, const Cnr__Shim__User *user,
           struct cnr_err **err)
{
        struct ctr_idrange r;
        int k = ctr_userns_parse(cfg->userns, &r, err);

        if (k < 0 || k == CTR_USERNS_HOST)
                return k;
        if (k == CTR_USERNS_AUTO) /* containers.c records the range at create */
                return cnr_errf(err, EINVAL, "--userns `auto`: no host range was allocated");
        /* The host's network namespace stays the host's (Docker refuses
         * the pair too); netd's is joined by the shim before the user
         * namespace exists (docs/runtime.md). */
        if (ns->net == CNR__SHIM__NAMESPACES__NET__NET_HOST)
                return cnr_errf(err, ENOTSUP, "--userns `%s`: not with --network host", cfg->userns);
        /* The process's ids must be in the map: setresuid would fail with
         * a bare EINVAL in the container. */
        if (user) {
                bool ok = user->uid < r.count && user->gid < r.count;
                for (size_t i = 0; ok && i < user->n_additional_gids; i++)
                        ok = user->additional_gids[i] < r.count;
                if (!ok)
                        return cnr_errf(err, EINVAL,
                                        "--userns `%s`: the user %u:%u (or one of its groups) is not mapped; the "
                                        "container has ids 0..%u",
                                        cfg->userns, user->uid, user->gid, r.count - 1);
        }
        ns->user = true;
        ns->uid_map = one_map(r.uid, r.count);
        ns->n_uid_map = 1;
        ns->gid_map = one_map(r.gid, r.count);
        ns->n_gid_map = 1;
        return 0;
}

/* ---- the spec ---- */

int
ctr_spec_build(const struct ctr_spec_in *in, Cnr__Shim__ContainerSpec *spec, char ***warnings, size_t *nwarn,
               struct cnr_err **err)
{
        const Cnr__Api__ContainerConfig *cfg = in->c->cfg;
        char host12[13];
        const char *hostname;

        cnr__shim__container_spec__init(spec);
        snprintf(host12, sizeof(host12), "%.12s", in->c->id);
        hostname = cfg->hostname[0] ? cfg->hostname : host12;
        spec->id = xstrdup(in->c->id);
        spec->hostname = xstrdup(hostname);
        spec->etc_hostname = true;
        spec->process = xcalloc(1, sizeof(*spec->process));
        cnr__shim__process__init(spec->process);
        if (build_process(in, spec->process, hostname, err) < 0)
                return -1;
        spec->readonly_rootfs = cfg->read_only;
        spec->namespaces = xcalloc(1, sizeof(*spec->namespaces));
        cnr__shim__namespaces__init(spec->namespaces);
        spec->namespaces->net = in->net_host ? CNR__SHIM__NAMESPACES__NET__NET_HOST
                                : in->net_fd ? CNR__SHIM__NAMESPACES__NET__NET_FD
                                             : CNR__SHIM__NAMESPACES__NET__NET_NEW;
        spec->cgroup_path = xasprintf("containr-%.12s", in->c->id);
        spec->resources = xcalloc(1, sizeof(*spec->resources));
        cnr__shim__resources__init(spec->resources);
        spec->resources->memory = cfg->memory;
        spec->resources->memory_swap = cfg->memory_swap;
        if (cfg->nano_cpus > 0) {
                spec->resources->cpu_period = 100000;
                spec->resources->cpu_quota = cfg->nano_cpus / 10000; /* ns per s -> us per 100 ms */
                if (spec->resources->cpu_quota < 1000)
                        spec->resources->cpu_quota = 1000;
        }
        spec->resources->pids = cfg->pids_limit;
        spec->seccomp = xcalloc(1, sizeof(*spec->seccomp));
        cnr__shim__seccomp__init(spec->seccomp);
        spec->seccomp->profile_json = xstrdup("");
        if (cfg->privileged || strcmp(cfg->seccomp, "unconfined") == 0) {
                spec->seccomp->mode = CNR__SHIM__SECCOMP__MODE__UNCONFINED;
        } else if (cfg->seccomp[0]) {
                spec->seccomp->mode = CNR__SHIM__SECCOMP__MODE__PROFILE;
                free(spec->seccomp->profile_json);
                spec->seccomp->profile_json = xstrdup(cfg->seccomp);
        }
        if (cfg->privileged) {
                spec->no_default_masks = true; /* and no masked or read-only paths */
                spec->all_devices = true;
        }
        if (in->etc_hosts) {
                spec->etc_hosts = xstrdup(in->etc_hosts);
        } else if (in->net_host) {
                spec->etc_hosts = xstrdup("");
        } else {
                spec->etc_hosts = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                            "127.0.1.1\t%s\n",
                                            hostname);
        }
        spec->etc_resolv_conf = xstrdup(in->etc_resolv_conf ? in->etc_resolv_conf : "");
        spec->log_fd = -1;
        if (add_userns(cfg, spec->namespaces, spec->process->user, err) < 0)
                return -1;
        if (add_sysctls(in, spec, err) < 0)
                return -1;
        (void)warnings;
        (void)nwarn;
        return 0;
}

void
ctr_spec_free(Cnr__Shim__ContainerSpec *spec)
{
        free_str(spec->id);
        free_str(spec->hostname);
        if (spec->process) {
                ctr_process_free(spec->process);
                free(spec->process);
        }
        if (spec->namespaces) {
                for (size_t i = 0; i < spec->namespaces->n_uid_map; i++)
                        free(spec->namespaces->uid_map[i]);
                free(spec->namespaces->uid_map);
                for (size_t i = 0; i < spec->namespaces->n_gid_map; i++)
                        free(spec->namespaces->gid_map[i]);
                free(spec->namespaces->gid_map);
        }
        free(spec->namespaces);
        free_str(spec->cgroup_path);
        free(spec->resources);
        if (spec->seccomp)
                free_str(spec->seccomp->profile_json);
        free(spec->seccomp);
        free_str(spec->etc_hosts);
        free_str(spec->etc_resolv_conf);
        for (size_t i = 0; i < spec->n_mounts; i++) {
                free(spec->mounts[i]->destination);
                free(spec->mounts[i]);
        }
        free(spec->mounts);
        for (size_t i = 0; i < spec->n_masked_paths; i++)
                free(spec->masked_paths[i]);
        free(spec->masked_paths);
        for (size_t i = 0; i < spec->n_readonly_paths; i++)
                free(spec->readonly_paths[i]);
        free(spec->readonly_paths);
        for (size_t i = 0; i < spec->n_sysctls; i++) {
                free(spec->sysctls[i]->key);
                free(spec->sysctls[i]->value);
                free(spec->sysctls[i]);
        }
        free(spec->sysctls);
}
