/* containr.yaml parser (see conf.h and containr.yaml(5)).
 *
 * libyaml's document API loads the whole file into a node graph that keeps
 * each node's mark, so every error can name FILE:LINE.  The walk is driven
 * by key tables: a mapping is checked for non-scalar and duplicate keys,
 * each key is looked up in its table (an unknown key gets a "did you mean"),
 * and the key's setter validates the value.  Parsing happens on a copy of
 * the configuration that replaces the caller's only on success. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <yaml.h>

#include "common/cidr.h"
#include "common/conf.h"
#include "common/util.h"

/* The API socket lives at run_root/API_SOCKET_NAME; sun_path bounds it. */
#define API_SOCKET_NAME "/containr.sock"

void
cnr_config_init(struct cnr_config *c)
{
        c->root = xstrdup(LOCALSTATEDIR "/lib/containr");
        c->run_root = xstrdup(RUNSTATEDIR "/containr");
        c->log_dir = xstrdup(LOCALSTATEDIR "/log/containr");
        c->helper_dir = xstrdup(LIBEXECDIR);
        c->user = xstrdup("containr");
        c->socket_group = xstrdup("containr");
        c->log_level = CNR_LOG_INFO;
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                c->helper_user[i] = xstrdup(cnr_helpers[i].default_user);
        c->restart_initial_ms = 100;
        c->restart_max_ms = 30000;
        c->registries = NULL;
        c->nregistries = 0;
        c->net.pool = xcalloc(1, sizeof(char *));
        c->net.pool[0] = xstrdup(CNR_CONFIG_NET_POOL);
        c->net.npool = 1;
        c->net.subnet_prefix = 24;
        c->net.cni_plugin_dir = xstrdup(CNR_CONFIG_CNI_DIR);
        c->net.default_bridge = xstrdup("containr0");
        c->net.default_ipv6_subnet = NULL;
        c->overlay_mode = "auto";
}

void
cnr_config_free(struct cnr_config *c)
{
        free(c->root);
        free(c->run_root);
        free(c->log_dir);
        free(c->helper_dir);
        free(c->user);
        free(c->socket_group);
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                free(c->helper_user[i]);
        for (size_t i = 0; i < c->nregistries; i++) {
                free(c->registries[i].host);
                for (size_t j = 0; j < c->registries[i].nmirrors; j++)
                        free(c->registries[i].mirrors[j]);
                free(c->registries[i].mirrors);
        }
        free(c->registries);
        for (size_t i = 0; i < c->net.npool; i++)
                free(c->net.pool[i]);
        free(c->net.pool);
        free(c->net.cni_plugin_dir);
        free(c->net.default_bridge);
        free(c->net.default_ipv6_subnet);
        memset(c, 0, sizeof(*c));
}

static void
config_copy(struct cnr_config *dst, const struct cnr_config *src)
{
        *dst = *src;
        dst->root = xstrdup(src->root);
        dst->run_root = xstrdup(src->run_root);
        dst->log_dir = xstrdup(src->log_dir);
        dst->helper_dir = xstrdup(src->helper_dir);
        dst->user = xstrdup(src->user);
        dst->socket_group = xstrdup(src->socket_group);
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                dst->helper_user[i] = xstrdup(src->helper_user[i]);
        dst->registries = src->nregistries ? xcalloc(src->nregistries, sizeof(*dst->registries)) : NULL;
        for (size_t i = 0; i < src->nregistries; i++) {
                const struct cnr_config_registry *a = &src->registries[i];
                struct cnr_config_registry *b = &dst->registries[i];

                *b = *a;
                b->host = xstrdup(a->host);
                b->mirrors = a->nmirrors ? xcalloc(a->nmirrors, sizeof(char *)) : NULL;
                for (size_t j = 0; j < a->nmirrors; j++)
                        b->mirrors[j] = xstrdup(a->mirrors[j]);
        }
        dst->net.pool = xcalloc(src->net.npool + 1, sizeof(char *));
        for (size_t i = 0; i < src->net.npool; i++)
                dst->net.pool[i] = xstrdup(src->net.pool[i]);
        dst->net.cni_plugin_dir = xstrdup(src->net.cni_plugin_dir);
        dst->net.default_bridge = xstrdup(src->net.default_bridge);
        dst->net.default_ipv6_subnet = src->net.default_ipv6_subnet ? xstrdup(src->net.default_ipv6_subnet) : NULL;
}

/* ---- value validators ---- */

int
cnr_config_check_path(const char *s, struct cnr_err **err)
{
        if (s[0] != '/')
                return cnr_errf(err, 0, "`%s` is not an absolute path", s);
        if (strlen(s) >= PATH_MAX)
                return cnr_errf(err, 0, "path is longer than %d bytes", PATH_MAX - 1);
        return 0;
}

/* A user or group name as shadow-utils accepts it by default. */
static int
is_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 32)
                return 0;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
                return 0;
        for (size_t i = 1; i < n; i++) {
                char ch = s[i];
                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '-' || ch == '.')
                        continue;
                if (ch == '$' && i == n - 1)
                        continue;
                return 0;
        }
        return 1;
}

/* 0 .. 2^32-2: (uid_t)-1 means "unchanged" to the kernel, never an id. */
static int
is_id(const char *s)
{
        unsigned long long v;

        return cnr_parse_uint(s, 4294967294ULL, &v) == 0;
}

int
cnr_config_check_user(const char *s, struct cnr_err **err)
{
        const char *colon = strchr(s, ':');

        if (colon != NULL) {
                _cleanup_free_ char *uid = xstrndup(s, (size_t)(colon - s));
                if (is_id(uid) && is_id(colon + 1))
                        return 0;
        } else if (is_name(s) || is_id(s)) {
                return 0;
        }
        return cnr_errf(err, 0, "`%s` is not a user name, uid or uid:gid", s);
}

int
cnr_config_check_group(const char *s, struct cnr_err **err)
{
        if (is_name(s) || is_id(s))
                return 0;
        return cnr_errf(err, 0, "`%s` is not a group name or gid", s);
}

/* ---- the walk ---- */

struct ctx {
        const char *name; /* file name for messages */
        yaml_document_t *doc;
        struct cnr_config *c;
        struct cnr_err **err;
};

static unsigned long
line_of(const yaml_node_t *n)
{
        return (unsigned long)n->start_mark.line + 1;
}

static int fail(struct ctx *x, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(struct ctx *x, const yaml_node_t *n, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        return cnr_errf(x->err, 0, "%s:%lu: %s", x->name, line_of(n), msg);
}

static const char *
node_kind(const yaml_node_t *n)
{
        switch (n->type) {
        case YAML_MAPPING_NODE:
                return "a mapping";
        case YAML_SEQUENCE_NODE:
                return "a list";
        default:
                return "a scalar";
        }
}

static int
is_null(const yaml_node_t *n)
{
        static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
        const char *v;

        if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return 0;
        v = (const char *)n->data.scalar.value;
        for (size_t i = 0; i < CNR_ARRAY_LEN(nulls); i++)
                if (strcmp(v, nulls[i]) == 0)
                        return 1;
        return 0;
}

/* The value of `key` as a non-empty string without NUL bytes. */
static int
scalar(struct ctx *x, const char *key, const yaml_node_t *v, const char *what, const char **out)
{
        const char *s;

        if (v->type != YAML_SCALAR_NODE)
                return fail(x, v, "%s: expected %s, not %s", key, what, node_kind(v));
        if (is_null(v))
                return fail(x, v, "%s: expected %s, the value is empty", key, what);
        s = (const char *)v->data.scalar.value;
        if (strlen(s) != v->data.scalar.length)
                return fail(x, v, "%s: the value contains a NUL byte", key);
        if (s[0] == '\0')
                return fail(x, v, "%s: expected %s, the value is empty", key, what);
        *out = s;
        return 0;
}

typedef int (*setter)(struct ctx *x, const char *key, const yaml_node_t *v, size_t off);

struct key {
        const char *name;
        setter set;
        size_t off; /* into struct cnr_config, for the generic setters */
};

static char **
str_field(struct ctx *x, size_t off)
{
        return (char **)((char *)x->c + off);
}

static int
wrap_check(struct ctx *x, const char *key, const yaml_node_t *v, int (*check)(const char *, struct cnr_err **),
           const char *s)
{
        struct cnr_err *e = NULL;
        int r;

        if (check(s, &e) == 0)
                return 0;
        r = fail(x, v, "%s: %s", key, e->msg);
        cnr_err_free(&e);
        return r;
}

static int
set_path(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        const char *s;
        char **dst = str_field(x, off);

        if (scalar(x, key, v, "a path", &s) < 0 || wrap_check(x, key, v, cnr_config_check_path, s) < 0)
                return -1;
        free(*dst);
        *dst = xstrdup(s);
        return 0;
}

static int
set_run_root(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        if (set_path(x, key, v, off) < 0)
                return -1;
        size_t len = strlen(x->c->run_root) + strlen(API_SOCKET_NAME);
        size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

        if (len > max)
                return fail(x, v,
                            "%s: the API socket path `%s" API_SOCKET_NAME "` would be %zu bytes; a unix socket "
                            "path holds at most %zu",
                            key, x->c->run_root, len, max);
        return 0;
}

static int
set_user(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        const char *s;
        char **dst = str_field(x, off);

        if (scalar(x, key, v, "a user", &s) < 0 || wrap_check(x, key, v, cnr_config_check_user, s) < 0)
                return -1;
        free(*dst);
        *dst = xstrdup(s);
        return 0;
}

static int
set_group(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        const char *s;
        char **dst = str_field(x, off);

        if (scalar(x, key, v, "a group", &s) < 0 || wrap_check(x, key, v, cnr_config_check_group, s) < 0)
                return -1;
        free(*dst);
        *dst = xstrdup(s);
        return 0;
}

static int
set_log_level(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        enum cnr_log_level lvl;
        const char *s;

        if (scalar(x, key, v, "a log level", &s) < 0)
                return -1;
        if (cnr_log_level_parse(s, &lvl) < 0)
                return fail(x, v, "%s: `%s` is not one of error, warn, info, debug", key, s);
        x->c->log_level = lvl;
        return 0;
}

/* containr-mountd's --overlay-mode (see containr-helpers(7)). */
static int
set_overlay_mode(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        static const char *const modes[] = {"auto", "fsconfig", "legacy"};
        const char *s;

        if (scalar(x, key, v, "an overlay mode", &s) < 0)
                return -1;
        for (size_t i = 0; i < CNR_ARRAY_LEN(modes); i++)
                if (strcmp(s, modes[i]) == 0) {
                        x->c->overlay_mode = modes[i];
                        return 0;
                }
        return fail(x, v, "%s: `%s` is not one of auto, fsconfig, legacy", key, s);
}

static int
set_ms(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        unsigned *dst = (unsigned *)((char *)x->c + off);
        unsigned long long n;
        const char *s;

        if (v->type != YAML_SCALAR_NODE || is_null(v))
                return fail(x, v, "%s: expected a number", key);
        s = (const char *)v->data.scalar.value;
        if (cnr_parse_uint(s, ULLONG_MAX, &n) < 0)
                return fail(x, v, "%s: expected a number", key);
        if (n < CNR_CONFIG_RESTART_MIN_MS || n > CNR_CONFIG_RESTART_MAX_MS)
                return fail(x, v, "%s: %s is out of range (%u to %u)", key, s, CNR_CONFIG_RESTART_MIN_MS,
                            CNR_CONFIG_RESTART_MAX_MS);
        *dst = (unsigned)n;
        return 0;
}

/* Check a mapping's keys (scalar, unique, known) and run their setters. */
static int
walk_mapping(struct ctx *x, const char *prefix, const yaml_node_t *m, const struct key *keys, size_t nkeys)
{
        const char *names[16];
        size_t nnames = nkeys < CNR_ARRAY_LEN(names) ? nkeys : CNR_ARRAY_LEN(names);
        yaml_node_pair_t *p;

        for (size_t i = 0; i < nnames; i++)
                names[i] = keys[i].name;
        for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
                const yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
                _cleanup_free_ char *full = NULL;
                const struct key *found = NULL;
                const char *ks, *hint;

                if (k->type != YAML_SCALAR_NODE)
                        return fail(x, k, "%s%skeys must be strings, not %s", prefix, *prefix ? ": " : "",
                                    node_kind(k));
                ks = (const char *)k->data.scalar.value;
                for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
                        const yaml_node_t *qk = yaml_document_get_node(x->doc, q->key);
                        if (qk->type == YAML_SCALAR_NODE && strcmp((const char *)qk->data.scalar.value, ks) == 0)
                                return fail(x, k, "duplicate key `%s%s%s` (first given at line %lu)", prefix,
                                            *prefix ? "." : "", ks, line_of(qk));
                }
                for (size_t i = 0; i < nkeys; i++)
                        if (strcmp(keys[i].name, ks) == 0)
                                found = &keys[i];
                if (found == NULL) {
                        hint = cnr_suggest(ks, names, nnames);
                        if (hint != NULL)
                                return fail(x, k, "%s%sunknown key `%s` (did you mean `%s`?)", prefix,
                                            *prefix ? ": " : "", ks, hint);
                        return fail(x, k, "%s%sunknown key `%s`", prefix, *prefix ? ": " : "", ks);
                }
                full = *prefix ? xasprintf("%s.%s", prefix, ks) : xstrdup(ks);
                if (found->set(x, full, v, found->off) < 0)
                        return -1;
        }
        return 0;
}

/* A section that must be a mapping; an empty value keeps the defaults. */
static int
section(struct ctx *x, const char *key, const yaml_node_t *v, const struct key *keys, size_t nkeys)
{
        if (is_null(v))
                return 0;
        if (v->type != YAML_MAPPING_NODE)
                return fail(x, v, "%s: expected a mapping, not %s", key, node_kind(v));
        return walk_mapping(x, key, v, keys, nkeys);
}

static const struct key helper_keys[] = {
        {"user", set_user, 0}, /* off is filled per helper, see set_helpers */
};

static int
set_helpers(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        const char *names[CNR_HELPER_COUNT];
        yaml_node_pair_t *p;

        if (is_null(v))
                return 0;
        if (v->type != YAML_MAPPING_NODE)
                return fail(x, v, "%s: expected a mapping of helper names, not %s", key, node_kind(v));
        for (int i = 0; i < CNR_HELPER_COUNT; i++)
                names[i] = cnr_helpers[i].name;
        for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
                const yaml_node_t *hv = yaml_document_get_node(x->doc, p->value);
                _cleanup_free_ char *full = NULL;
                struct key keys[CNR_ARRAY_LEN(helper_keys)];
                const char *ks, *hint;
                int id;

                if (k->type != YAML_SCALAR_NODE)
                        return fail(x, k, "%s: keys must be helper names, not %s", key, node_kind(k));
                ks = (const char *)k->data.scalar.value;
                for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < p; q++) {
                        const yaml_node_t *qk = yaml_document_get_node(x->doc, q->key);
                        if (qk->type == YAML_SCALAR_NODE && strcmp((const char *)qk->data.scalar.value, ks) == 0)
                                return fail(x, k, "duplicate key `%s.%s` (first given at line %lu)", key, ks,
                                            line_of(qk));
                }
                id = cnr_helper_lookup(ks);
                if (id < 0) {
                        hint = cnr_suggest(ks, names, CNR_HELPER_COUNT);
                        if (hint != NULL)
                                return fail(x, k, "%s: unknown helper `%s` (did you mean `%s`?)", key, ks, hint);
                        return fail(x, k, "%s: unknown helper `%s` (helpers are mountd, netd, snapd, buildd, crid)",
                                    key, ks);
                }
                memcpy(keys, helper_keys, sizeof(keys));
                keys[0].off = offsetof(struct cnr_config, helper_user) + (size_t)id * sizeof(char *);
                full = xasprintf("%s.%s", key, ks);
                if (section(x, full, hv, keys, CNR_ARRAY_LEN(keys)) < 0)
                        return -1;
        }
        return 0;
}

static const struct key restart_keys[] = {
        {"initial_ms", set_ms, offsetof(struct cnr_config, restart_initial_ms)},
        {"max_ms", set_ms, offsetof(struct cnr_config, restart_max_ms)},
};

static int
set_restart(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        const yaml_node_t *at = v;

        if (section(x, key, v, restart_keys, CNR_ARRAY_LEN(restart_keys)) < 0)
                return -1;
        if (x->c->restart_initial_ms <= x->c->restart_max_ms)
                return 0;
        /* Point at the value this file set: max_ms, else initial_ms. */
        if (v->type == YAML_MAPPING_NODE) {
                for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
                        const yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
                        const char *ks = (const char *)k->data.scalar.value;
                        if (strcmp(ks, "max_ms") == 0 || (at == v && strcmp(ks, "initial_ms") == 0))
                                at = yaml_document_get_node(x->doc, p->value);
                }
        }
        return fail(x, at, "%s: initial_ms (%u) is larger than max_ms (%u)", key, x->c->restart_initial_ms,
                    x->c->restart_max_ms);
}

/* ---- registries ---- */

/* A registry host as references name it: DNS name or IPv4 with an optional
 * :port, or [IPv6]:port.  No scheme, no path. */
static bool
valid_registry_host(const char *s)
{
        const char *p = s, *colon;
        size_t n = 0;

        if (strlen(s) > 255 || *s == '\0')
                return false;
        if (*p == '[') {
                const char *end = strchr(p, ']');
                if (end == NULL || end == p + 1)
                        return false;
                for (const char *q = p + 1; q < end; q++)
                        if (!(strchr("0123456789abcdefABCDEF:.", *q)))
                                return false;
                p = end + 1;
                if (*p == '\0')
                        return true;
                colon = p;
        } else {
                colon = strchr(p, ':');
                for (const char *q = p; q < (colon ? colon : p + strlen(p)); q++, n++)
                        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                              *q == '.' || *q == '-'))
                                return false;
                if (n == 0 || *p == '.' || *p == '-')
                        return false;
                if (colon == NULL)
                        return true;
        }
        if (*colon != ':')
                return false;
        {
                unsigned long long port;
                return cnr_parse_uint(colon + 1, 65535, &port) == 0 && port > 0;
        }
}

static int
registry_host_scalar(struct ctx *x, const char *key, const yaml_node_t *v, const char **out)
{
        if (scalar(x, key, v, "a registry host (host[:port])", out) < 0)
                return -1;
        if (!valid_registry_host(*out))
                return fail(x, v, "%s: `%s` is not a registry host (host[:port], no scheme or path)", key, *out);
        return 0;
}

static int
set_registry_entry(struct ctx *x, const char *key, const yaml_node_t *v, struct cnr_config_registry *rc)
{
        static const char *const names[] = {"insecure", "mirrors", "timeout_s"};
        yaml_node_pair_t *p;

        if (is_null(v))
                return 0;
        if (v->type != YAML_MAPPING_NODE)
                return fail(x, v, "%s: expected a mapping, not %s", key, node_kind(v));
        for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
                const yaml_node_t *val = yaml_document_get_node(x->doc, p->value);
                _cleanup_free_ char *full = NULL;
                const char *ks, *hint, *sv;

                if (k->type != YAML_SCALAR_NODE)
                        return fail(x, k, "%s: keys must be strings, not %s", key, node_kind(k));
                ks = (const char *)k->data.scalar.value;
                for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < p; q++) {
                        const yaml_node_t *qk = yaml_document_get_node(x->doc, q->key);
                        if (qk->type == YAML_SCALAR_NODE && strcmp((const char *)qk->data.scalar.value, ks) == 0)
                                return fail(x, k, "duplicate key `%s.%s` (first given at line %lu)", key, ks,
                                            line_of(qk));
                }
                full = xasprintf("%s.%s", key, ks);
                if (strcmp(ks, "insecure") == 0) {
                        if (scalar(x, full, val, "true or false", &sv) < 0)
                                return -1;
                        if (strcmp(sv, "true") == 0)
                                rc->insecure = true;
                        else if (strcmp(sv, "false") == 0)
                                rc->insecure = false;
                        else
                                return fail(x, val, "%s: expected true or false, not `%s`", full, sv);
                } else if (strcmp(ks, "timeout_s") == 0) {
                        unsigned long long n;
                        if (scalar(x, full, val, "a number of seconds", &sv) < 0)
                                return -1;
                        if (cnr_parse_uint(sv, ULLONG_MAX, &n) < 0)
                                return fail(x, val, "%s: expected a number of seconds", full);
                        if (n < 1 || n > CNR_CONFIG_TIMEOUT_MAX)
                                return fail(x, val, "%s: %s is out of range (1 to %u)", full, sv,
                                            CNR_CONFIG_TIMEOUT_MAX);
                        rc->timeout_s = (unsigned)n;
                } else if (strcmp(ks, "mirrors") == 0) {
                        yaml_node_item_t *it;

                        if (is_null(val))
                                continue;
                        if (val->type != YAML_SEQUENCE_NODE)
                                return fail(x, val, "%s: expected a list of registry hosts, not %s", full,
                                            node_kind(val));
                        for (size_t j = 0; j < rc->nmirrors; j++)
                                free(rc->mirrors[j]);
                        free(rc->mirrors);
                        rc->mirrors = NULL;
                        rc->nmirrors = 0;
                        for (it = val->data.sequence.items.start; it < val->data.sequence.items.top; it++) {
                                const yaml_node_t *m = yaml_document_get_node(x->doc, *it);
                                if (rc->nmirrors >= CNR_CONFIG_MIRRORS_MAX)
                                        return fail(x, m, "%s: more than %d mirrors", full, CNR_CONFIG_MIRRORS_MAX);
                                if (registry_host_scalar(x, full, m, &sv) < 0)
                                        return -1;
                                rc->mirrors = xrealloc(rc->mirrors, (rc->nmirrors + 1) * sizeof(char *));
                                rc->mirrors[rc->nmirrors++] = xstrdup(sv);
                        }
                } else {
                        hint = cnr_suggest(ks, names, CNR_ARRAY_LEN(names));
                        if (hint != NULL)
                                return fail(x, k, "%s: unknown key `%s` (did you mean `%s`?)", key, ks, hint);
                        return fail(x, k, "%s: unknown key `%s` (one of insecure, mirrors, timeout_s)", key, ks);
                }
        }
        return 0;
}

static int
set_registries(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        yaml_node_pair_t *p;

        if (is_null(v))
                return 0;
        if (v->type != YAML_MAPPING_NODE)
                return fail(x, v, "%s: expected a mapping of registry hosts, not %s", key, node_kind(v));
        for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
                const yaml_node_t *rv = yaml_document_get_node(x->doc, p->value);
                struct cnr_config_registry *rc = NULL;
                _cleanup_free_ char *full = NULL;
                const char *ks;

                if (k->type != YAML_SCALAR_NODE)
                        return fail(x, k, "%s: keys must be registry hosts, not %s", key, node_kind(k));
                if (registry_host_scalar(x, key, k, &ks) < 0)
                        return -1;
                for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < p; q++) {
                        const yaml_node_t *qk = yaml_document_get_node(x->doc, q->key);
                        if (qk->type == YAML_SCALAR_NODE && strcmp((const char *)qk->data.scalar.value, ks) == 0)
                                return fail(x, k, "duplicate key `%s.%s` (first given at line %lu)", key, ks,
                                            line_of(qk));
                }
                for (size_t i = 0; i < x->c->nregistries; i++)
                        if (strcmp(x->c->registries[i].host, ks) == 0)
                                rc = &x->c->registries[i];
                if (rc == NULL) {
                        x->c->registries =
                                xrealloc(x->c->registries, (x->c->nregistries + 1) * sizeof(*x->c->registries));
                        rc = &x->c->registries[x->c->nregistries++];
                        memset(rc, 0, sizeof(*rc));
                        rc->host = xstrdup(ks);
                }
                full = xasprintf("%s.%s", key, ks);
                if (set_registry_entry(x, full, rv, rc) < 0)
                        return -1;
        }
        return 0;
}

/* ---- networks ---- */

static int
set_pool(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        struct cnr_config_networks *n = &x->c->net;
        yaml_node_item_t *it;
        const char *sv;

        if (v->type != YAML_SEQUENCE_NODE || is_null(v))
                return fail(x, v, "%s: expected a list of IPv4 prefixes (like 10.88.0.0/16), not %s", key,
                            node_kind(v));
        if (v->data.sequence.items.top == v->data.sequence.items.start)
                return fail(x, v, "%s: the pool is empty", key);
        for (size_t i = 0; i < n->npool; i++)
                free(n->pool[i]);
        n->npool = 0;
        for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                const yaml_node_t *e = yaml_document_get_node(x->doc, *it);
                struct cnr_cidr4 c, o;

                if (n->npool >= CNR_CONFIG_POOL_MAX)
                        return fail(x, e, "%s: more than %d prefixes", key, CNR_CONFIG_POOL_MAX);
                if (scalar(x, key, e, "an IPv4 prefix", &sv) < 0)
                        return -1;
                if (cnr_cidr4_parse(sv, true, &c) < 0)
                        return fail(x, e, "%s: `%s` is not an IPv4 prefix with its host bits zero (like 10.88.0.0/16)",
                                    key, sv);
                if (c.len < 8 || c.len > 30)
                        return fail(x, e, "%s: `%s`: the prefix length must be 8 to 30", key, sv);
                for (size_t i = 0; i < n->npool; i++)
                        if (cnr_cidr4_parse(n->pool[i], true, &o) == 0 && cnr_cidr4_overlap(&c, &o))
                                return fail(x, e, "%s: `%s` overlaps `%s`", key, sv, n->pool[i]);
                n->pool = xrealloc(n->pool, (n->npool + 2) * sizeof(char *));
                n->pool[n->npool++] = xstrdup(sv);
                n->pool[n->npool] = NULL;
        }
        return 0;
}

static int
set_subnet_prefix(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        unsigned long long n;
        const char *s;

        if (scalar(x, key, v, "a prefix length", &s) < 0)
                return -1;
        if (cnr_parse_uint(s, 32, &n) < 0 || n < 16 || n > 29)
                return fail(x, v, "%s: `%s`: expected a prefix length from 16 to 29", key, s);
        x->c->net.subnet_prefix = (unsigned)n;
        return 0;
}

/* A Linux interface name netd agrees to manage: containr* or cnr-*. */
static int
set_default_bridge(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        const char *s;
        size_t n;

        if (scalar(x, key, v, "a bridge name", &s) < 0)
                return -1;
        n = strlen(s);
        if (n >= 16 || (strncmp(s, "containr", 8) != 0 && strncmp(s, "cnr-", 4) != 0) ||
            strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
                return fail(x, v, "%s: `%s`: expected containr* or cnr-* (lower case, digits, -; at most 15)", key, s);
        free(x->c->net.default_bridge);
        x->c->net.default_bridge = xstrdup(s);
        return 0;
}

/* The default network's IPv6 subnet: what network create --subnet takes. */
static int
set_default_ipv6_subnet(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        struct cnr_cidr6 c;
        const char *s;

        if (scalar(x, key, v, "an IPv6 prefix", &s) < 0)
                return -1;
        if (cnr_cidr6_parse(s, true, &c) < 0 || c.len < 48 || c.len > 120)
                return fail(x, v, "%s: `%s`: expected an IPv6 prefix /48 to /120 with its host bits zero", key, s);
        free(x->c->net.default_ipv6_subnet);
        x->c->net.default_ipv6_subnet = xstrdup(s);
        return 0;
}

static const struct key network_keys[] = {
        {"pool", set_pool, 0},
        {"subnet_prefix", set_subnet_prefix, 0},
        {"cni_plugin_dir", set_path, offsetof(struct cnr_config, net.cni_plugin_dir)},
        {"default_bridge", set_default_bridge, 0},
        {"default_ipv6_subnet", set_default_ipv6_subnet, 0},
};

static int
set_networks(struct ctx *x, const char *key, const yaml_node_t *v, size_t off)
{
        struct cnr_cidr4 c;

        if (section(x, key, v, network_keys, CNR_ARRAY_LEN(network_keys)) < 0)
                return -1;
        for (size_t i = 0; i < x->c->net.npool; i++)
                if (cnr_cidr4_parse(x->c->net.pool[i], true, &c) == 0 && c.len > x->c->net.subnet_prefix)
                        return fail(x, v, "%s: pool `%s` is smaller than one /%u subnet (subnet_prefix)", key,
                                    x->c->net.pool[i], x->c->net.subnet_prefix);
        return 0;
}

static const struct key top_keys[] = {
        {"root", set_path, offsetof(struct cnr_config, root)},
        {"run_root", set_run_root, offsetof(struct cnr_config, run_root)},
        {"log_dir", set_path, offsetof(struct cnr_config, log_dir)},
        {"helper_dir", set_path, offsetof(struct cnr_config, helper_dir)},
        {"log_level", set_log_level, 0},
        {"user", set_user, offsetof(struct cnr_config, user)},
        {"socket_group", set_group, offsetof(struct cnr_config, socket_group)},
        {"helpers", set_helpers, 0},
        {"restart", set_restart, 0},
        {"registries", set_registries, 0},
        {"networks", set_networks, 0},
        {"overlay_mode", set_overlay_mode, 0},
};

static int
parser_error(const char *name, const yaml_parser_t *p, struct cnr_err **err)
{
        const char *problem = p->problem ? p->problem : "malformed YAML";

        if (p->error == YAML_MEMORY_ERROR)
                abort(); /* allocation failure aborts, as everywhere */
        if (p->context != NULL)
                return cnr_errf(err, 0, "%s:%lu: %s (%s at line %lu)", name, (unsigned long)p->problem_mark.line + 1,
                                problem, p->context, (unsigned long)p->context_mark.line + 1);
        return cnr_errf(err, 0, "%s:%lu: %s", name, (unsigned long)p->problem_mark.line + 1, problem);
}

int
cnr_config_parse(struct cnr_config *c, const char *name, const char *buf, size_t len, struct cnr_err **err)
{
        yaml_parser_t parser;
        yaml_document_t doc, extra;
        struct cnr_config tmp;
        yaml_node_t *top;
        int r = -1;

        if (!yaml_parser_initialize(&parser))
                abort();
        yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
        if (!yaml_parser_load(&parser, &doc)) {
                parser_error(name, &parser, err);
                yaml_parser_delete(&parser);
                return -1;
        }
        /* A second document is an error, not something silently ignored. */
        if (!yaml_parser_load(&parser, &extra)) {
                parser_error(name, &parser, err);
                goto out_doc;
        }
        top = yaml_document_get_root_node(&extra);
        if (top != NULL) {
                cnr_errf(err, 0, "%s:%lu: more than one YAML document (one file holds one configuration)", name,
                         line_of(top));
                yaml_document_delete(&extra);
                goto out_doc;
        }
        yaml_document_delete(&extra);

        config_copy(&tmp, c);
        top = yaml_document_get_root_node(&doc);
        if (top == NULL || is_null(top)) {
                r = 0; /* empty file or only comments: all defaults */
        } else if (top->type != YAML_MAPPING_NODE) {
                cnr_errf(err, 0, "%s:%lu: the top level must be a mapping of keys (like `log_level: info`), not %s",
                         name, line_of(top), node_kind(top));
        } else {
                struct ctx x = {.name = name, .doc = &doc, .c = &tmp, .err = err};
                r = walk_mapping(&x, "", top, top_keys, CNR_ARRAY_LEN(top_keys));
        }
        if (r == 0) {
                cnr_config_free(c);
                *c = tmp;
        } else {
                cnr_config_free(&tmp);
        }
out_doc:
        yaml_document_delete(&doc);
        yaml_parser_delete(&parser);
        return r;
}

int
cnr_config_load(struct cnr_config *c, const char *path, int must_exist, struct cnr_err **err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT && !must_exist)
                        return 0;
                return cnr_errf(err, errno, "read config `%s`", path);
        }
        if (fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "read config `%s`", path);
        if (!S_ISREG(st.st_mode))
                return cnr_errf(err, 0, "read config `%s`: not a regular file", path);
        if (st.st_size > CNR_CONFIG_MAX_SIZE)
                return cnr_errf(err, EFBIG, "read config `%s`: larger than %d bytes", path, CNR_CONFIG_MAX_SIZE);
        buf = xmalloc(CNR_CONFIG_MAX_SIZE + 1);
        for (;;) {
                ssize_t n = read(fd, buf + len, CNR_CONFIG_MAX_SIZE + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return cnr_errf(err, errno, "read config `%s`", path);
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > CNR_CONFIG_MAX_SIZE)
                        return cnr_errf(err, EFBIG, "read config `%s`: larger than %d bytes", path,
                                        CNR_CONFIG_MAX_SIZE);
        }
        if (cnr_config_parse(c, path, buf, len, err) < 0)
                return -1;
        return 1;
}

/* ---- dump ---- */

/* Every value we accept is a plain YAML scalar except that a path may hold
 * characters YAML treats specially; quote anything that is not boring. */
static void
put_scalar(FILE *f, const char *s)
{
        int plain = s[0] != '\0';

        for (const char *p = s; *p && plain; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr("/._-$", *p) != NULL))
                        plain = 0;
        /* uid:gid and ids must stay strings only in our reading; digits are fine plain. */
        if (plain) {
                fputs(s, f);
                return;
        }
        fputc('"', f);
        for (const char *p = s; *p; p++) {
                unsigned char ch = (unsigned char)*p;
                if (ch == '"' || ch == '\\')
                        fprintf(f, "\\%c", ch);
                else if (ch < 0x20 || ch == 0x7f)
                        fprintf(f, "\\x%02x", ch);
                else
                        fputc(ch, f);
        }
        fputc('"', f);
}

void
cnr_config_dump(const struct cnr_config *c, FILE *f)
{
        static const struct {
                const char *name;
                size_t off;
        } strs[] = {
                {"root", offsetof(struct cnr_config, root)},
                {"run_root", offsetof(struct cnr_config, run_root)},
                {"log_dir", offsetof(struct cnr_config, log_dir)},
                {"helper_dir", offsetof(struct cnr_config, helper_dir)},
        };

        for (size_t i = 0; i < CNR_ARRAY_LEN(strs); i++) {
                fprintf(f, "%s: ", strs[i].name);
                put_scalar(f, *(char *const *)((const char *)c + strs[i].off));
                fputc('\n', f);
        }
        fprintf(f, "log_level: %s\n", cnr_log_level_name(c->log_level));
        fputs("user: ", f);
        put_scalar(f, c->user);
        fputs("\nsocket_group: ", f);
        put_scalar(f, c->socket_group);
        fputs("\nhelpers:\n", f);
        for (int i = 0; i < CNR_HELPER_COUNT; i++) {
                fprintf(f, "  %s:\n    user: ", cnr_helpers[i].name);
                put_scalar(f, c->helper_user[i]);
                fputc('\n', f);
        }
        fprintf(f, "restart:\n  initial_ms: %u\n  max_ms: %u\n", c->restart_initial_ms, c->restart_max_ms);
        if (c->overlay_mode && strcmp(c->overlay_mode, "auto") != 0) /* only when set: older dumps stay true */
                fprintf(f, "overlay_mode: %s\n", c->overlay_mode);
        /* networks: only when not the defaults (older golden dumps stay true) */
        if (c->net.npool != 1 || strcmp(c->net.pool[0], CNR_CONFIG_NET_POOL) != 0 || c->net.subnet_prefix != 24 ||
            strcmp(c->net.cni_plugin_dir, CNR_CONFIG_CNI_DIR) != 0 || strcmp(c->net.default_bridge, "containr0") != 0 ||
            c->net.default_ipv6_subnet) {
                fputs("networks:\n  pool:\n", f);
                for (size_t i = 0; i < c->net.npool; i++)
                        fprintf(f, "    - %s\n", c->net.pool[i]);
                fprintf(f, "  subnet_prefix: %u\n  cni_plugin_dir: ", c->net.subnet_prefix);
                put_scalar(f, c->net.cni_plugin_dir);
                fprintf(f, "\n  default_bridge: %s\n", c->net.default_bridge);
                if (c->net.default_ipv6_subnet)
                        fprintf(f, "  default_ipv6_subnet: %s\n", c->net.default_ipv6_subnet);
        }
        if (c->nregistries == 0)
                return;
        fputs("registries:\n", f);
        for (size_t i = 0; i < c->nregistries; i++) {
                const struct cnr_config_registry *rc = &c->registries[i];

                fprintf(f, "  \"%s\":\n    insecure: %s\n", rc->host, rc->insecure ? "true" : "false");
                if (rc->timeout_s)
                        fprintf(f, "    timeout_s: %u\n", rc->timeout_s);
                if (rc->nmirrors) {
                        fputs("    mirrors:\n", f);
                        for (size_t j = 0; j < rc->nmirrors; j++)
                                fprintf(f, "      - \"%s\"\n", rc->mirrors[j]);
                }
        }
}
