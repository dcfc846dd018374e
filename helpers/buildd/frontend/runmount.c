/* RUN --mount=<csv>: bind, cache, tmpfs, secret and ssh mounts.
 *
 * Fields are comma-separated key=value pairs (a field may be double-quoted
 * to hold a comma); keys are case-insensitive; ro/readonly, rw/readwrite and
 * required may stand alone.  Which keys a type accepts and the defaults
 * (read-only for bind, secret and ssh; read-write for cache and tmpfs) are
 * checked here; values are expanded later, with the stage's environment,
 * except `from`, which names a stage or an image and is never expanded. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

const char *
cnr_df_mount_type_name(enum cnr_df_mount_type t)
{
        static const char *const names[] = {"bind", "cache", "tmpfs", "secret", "ssh"};

        return (unsigned)t < CNR_ARRAY_LEN(names) ? names[t] : "?";
}

void
cnr_df_mount_clear(struct cnr_df_mount *m)
{
        free(m->from);
        free(m->source);
        free(m->target);
        free(m->id);
        free(m->sharing);
        free(m->env);
        memset(m, 0, sizeof(*m));
}

static void
split_csv(const char *s, struct cnr_df_strv *out)
{
        struct cnr_df_buf f = {0};
        bool quoted = false;

        for (const char *p = s;; p++) {
                if (*p == '"') {
                        if (quoted && p[1] == '"') {
                                cnr_df_buf_addc(&f, '"');
                                p++;
                        } else {
                                quoted = !quoted;
                        }
                        continue;
                }
                if (*p == '\0' || (*p == ',' && !quoted)) {
                        cnr_df_strv_take(out, cnr_df_buf_steal(&f));
                        if (*p == '\0')
                                break;
                        continue;
                }
                cnr_df_buf_addc(&f, *p);
        }
}

static int
parse_bool(const char *key, const char *v, bool *out, struct cnr_err **err)
{
        if (v == NULL || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
                *out = true;
        else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
                *out = false;
        else
                return cnr_errf(err, EINVAL, "invalid value `%s` for `%s`: not a boolean", v, key);
        return 0;
}

static int
parse_size(const char *v, unsigned long long *out, struct cnr_err **err)
{
        char *end;
        unsigned long long n, mult = 1;

        errno = 0;
        n = strtoull(v, &end, 10);
        if (errno || end == v || v[0] == '-')
                return cnr_errf(err, EINVAL, "invalid size `%s`", v);
        if (*end) {
                switch (tolower((unsigned char)*end)) {
                case 'b':
                        mult = 1;
                        break;
                case 'k':
                        mult = 1ULL << 10;
                        break;
                case 'm':
                        mult = 1ULL << 20;
                        break;
                case 'g':
                        mult = 1ULL << 30;
                        break;
                case 't':
                        mult = 1ULL << 40;
                        break;
                default:
                        return cnr_errf(err, EINVAL, "invalid size `%s`", v);
                }
                end++;
                if (*end && (strcasecmp(end, "b") != 0 && strcasecmp(end, "ib") != 0))
                        return cnr_errf(err, EINVAL, "invalid size `%s`", v);
        }
        if (n > ~0ULL / mult)
                return cnr_errf(err, ERANGE, "size `%s` is too large", v);
        *out = n * mult;
        return 0;
}

static int
parse_num(const char *key, const char *v, int base, unsigned long long max, unsigned long long *out,
          struct cnr_err **err)
{
        char *end;

        errno = 0;
        if (v == NULL || *v == '\0' || *v == '-')
                return cnr_errf(err, EINVAL, "invalid value for `%s`", key);
        *out = strtoull(v, &end, base);
        if (errno || *end || *out > max)
                return cnr_errf(err, EINVAL, "invalid value `%s` for `%s`", v, key);
        return 0;
}

int
cnr_df_mount_parse(const char *csv, struct cnr_df_mount *m, struct cnr_err **err)
{
        struct cnr_df_strv fields = {0};
        bool ro_set = false, ro = false;
        int rc = -1;

        split_csv(csv, &fields);
        m->type = CNR_DF_MOUNT_BIND;
        for (size_t i = 0; i < fields.n; i++) {
                char *eq = strchr(fields.v[i], '=');
                if (eq && strncasecmp(fields.v[i], "type=", 5) == 0) {
                        const char *t = eq + 1;
                        if (!strcasecmp(t, "bind"))
                                m->type = CNR_DF_MOUNT_BIND;
                        else if (!strcasecmp(t, "cache"))
                                m->type = CNR_DF_MOUNT_CACHE;
                        else if (!strcasecmp(t, "tmpfs"))
                                m->type = CNR_DF_MOUNT_TMPFS;
                        else if (!strcasecmp(t, "secret"))
                                m->type = CNR_DF_MOUNT_SECRET;
                        else if (!strcasecmp(t, "ssh"))
                                m->type = CNR_DF_MOUNT_SSH;
                        else {
                                cnr_errf(err, EINVAL, "unsupported mount type `%s`", t);
                                goto out;
                        }
                }
        }
        for (size_t i = 0; i < fields.n; i++) {
                char *f = fields.v[i], *eq = strchr(f, '='), *v = NULL;
                char key[32];
                size_t kl = eq ? (size_t)(eq - f) : strlen(f);

                if (kl == 0 && eq == NULL)
                        continue; /* an empty field: "type=cache," */
                if (kl >= sizeof(key)) {
                        cnr_errf(err, EINVAL, "unexpected key `%.*s`", (int)kl, f);
                        goto out;
                }
                for (size_t j = 0; j < kl; j++)
                        key[j] = (char)tolower((unsigned char)f[j]);
                key[kl] = '\0';
                if (eq)
                        v = eq + 1;
                if (!strcmp(key, "ro") || !strcmp(key, "readonly") || !strcmp(key, "rw") || !strcmp(key, "readwrite")) {
                        bool b;
                        if (parse_bool(key, v, &b, err) < 0)
                                goto out;
                        ro_set = true;
                        ro = (!strcmp(key, "ro") || !strcmp(key, "readonly")) ? b : !b;
                        continue;
                }
                if (!strcmp(key, "required")) {
                        if (parse_bool(key, v, &m->required, err) < 0)
                                goto out;
                        if (m->type != CNR_DF_MOUNT_SECRET && m->type != CNR_DF_MOUNT_SSH) {
                                cnr_errf(err, EINVAL, "`required` is only for secret and ssh mounts");
                                goto out;
                        }
                        continue;
                }
                if (v == NULL) {
                        cnr_errf(err, EINVAL, "invalid field `%s`: it must be a key=value pair", f);
                        goto out;
                }
                if (!strcmp(key, "type")) {
                        continue;
                } else if (!strcmp(key, "from")) {
                        const char *d = strchr(v, '$');
                        if (d && d[1] != '\0') {
                                cnr_errf(err, EINVAL,
                                         "`from` doesn't support variable expansion, define alias "
                                         "stage instead");
                                goto out;
                        }
                        free(m->from);
                        m->from = xstrdup(v);
                } else if (!strcmp(key, "source") || !strcmp(key, "src")) {
                        free(m->source);
                        m->source = xstrdup(v);
                } else if (!strcmp(key, "target") || !strcmp(key, "dst") || !strcmp(key, "destination")) {
                        free(m->target);
                        m->target = xstrdup(v);
                } else if (!strcmp(key, "id")) {
                        free(m->id);
                        m->id = xstrdup(v);
                } else if (!strcmp(key, "sharing")) {
                        if (m->type != CNR_DF_MOUNT_CACHE) {
                                cnr_errf(err, EINVAL, "`sharing` is only for cache mounts");
                                goto out;
                        }
                        if (strcasecmp(v, "shared") && strcasecmp(v, "private") && strcasecmp(v, "locked")) {
                                cnr_errf(err, EINVAL, "unrecognized sharing `%s` (one of shared, private, locked)", v);
                                goto out;
                        }
                        free(m->sharing);
                        m->sharing = xstrdup(v);
                        for (char *c = m->sharing; *c; c++)
                                *c = (char)tolower((unsigned char)*c);
                } else if (!strcmp(key, "size")) {
                        if (m->type != CNR_DF_MOUNT_TMPFS) {
                                cnr_errf(err, EINVAL, "`size` is only for tmpfs mounts");
                                goto out;
                        }
                        if (parse_size(v, &m->size, err) < 0)
                                goto out;
                        m->has_size = true;
                } else if (!strcmp(key, "mode") || !strcmp(key, "uid") || !strcmp(key, "gid")) {
                        unsigned long long n;
                        if (m->type != CNR_DF_MOUNT_SECRET && m->type != CNR_DF_MOUNT_SSH &&
                            m->type != CNR_DF_MOUNT_CACHE) {
                                cnr_errf(err, EINVAL, "`%s` is only for secret, ssh and cache mounts", key);
                                goto out;
                        }
                        if (key[0] == 'm') {
                                if (parse_num(key, v, 8, 07777, &n, err) < 0)
                                        goto out;
                                m->mode = (unsigned)n;
                                m->has_mode = true;
                        } else if (parse_num(key, v, 10, 0xffffffffULL, &n, err) < 0) {
                                goto out;
                        } else if (key[0] == 'u') {
                                m->uid = n;
                                m->has_uid = true;
                        } else {
                                m->gid = n;
                                m->has_gid = true;
                        }
                } else if (!strcmp(key, "env")) {
                        if (m->type != CNR_DF_MOUNT_SECRET) {
                                cnr_errf(err, EINVAL, "`env` is only for secret mounts");
                                goto out;
                        }
                        free(m->env);
                        m->env = xstrdup(v);
                } else {
                        const char *keys[] = {"type",      "from", "source",  "target",   "readonly",
                                              "readwrite", "id",   "sharing", "required", "size",
                                              "mode",      "uid",  "gid",     "env"};
                        const char *hint = cnr_df_suggest(key, keys, CNR_ARRAY_LEN(keys));
                        if (hint)
                                cnr_errf(err, EINVAL, "unexpected key `%s` (did you mean `%s`?)", key, hint);
                        else
                                cnr_errf(err, EINVAL, "unexpected key `%s`", key);
                        goto out;
                }
        }
        m->readonly = ro_set ? ro
                             : (m->type == CNR_DF_MOUNT_BIND || m->type == CNR_DF_MOUNT_SECRET ||
                                m->type == CNR_DF_MOUNT_SSH);
        switch (m->type) {
        case CNR_DF_MOUNT_BIND:
        case CNR_DF_MOUNT_CACHE:
        case CNR_DF_MOUNT_TMPFS:
                if (m->target == NULL || m->target[0] == '\0') {
                        cnr_errf(err, EINVAL, "a %s mount needs a target", cnr_df_mount_type_name(m->type));
                        goto out;
                }
                if (m->type == CNR_DF_MOUNT_TMPFS && m->from) {
                        cnr_errf(err, EINVAL, "a tmpfs mount takes no `from`");
                        goto out;
                }
                if (m->type == CNR_DF_MOUNT_CACHE && m->id == NULL)
                        m->id = xstrdup(m->target);
                if (m->type == CNR_DF_MOUNT_CACHE && m->sharing == NULL)
                        m->sharing = xstrdup("shared");
                break;
        case CNR_DF_MOUNT_SECRET:
                if (m->from) {
                        cnr_errf(err, EINVAL, "a secret mount takes no `from`");
                        goto out;
                }
                if (m->source && m->id) {
                        cnr_errf(err, EINVAL, "a secret mount takes `id` or `source`, not both");
                        goto out;
                }
                if (m->source) {
                        m->id = steal_ptr(&m->source);
                }
                if (m->id == NULL && m->target == NULL) {
                        cnr_errf(err, EINVAL, "invalid secret mount: one of id, source, target is required");
                        goto out;
                }
                if (m->id == NULL) {
                        const char *b = strrchr(m->target, '/');
                        m->id = xstrdup(b ? b + 1 : m->target);
                }
                if (m->target == NULL && m->env == NULL)
                        m->target = xasprintf("/run/secrets/%s", m->id);
                if (!m->has_mode) {
                        m->mode = 0400;
                        m->has_mode = true;
                }
                break;
        case CNR_DF_MOUNT_SSH:
                if (m->from) {
                        cnr_errf(err, EINVAL, "an ssh mount takes no `from`");
                        goto out;
                }
                if (m->id == NULL)
                        m->id = xstrdup("default");
                if (!m->has_mode) {
                        m->mode = 0600;
                        m->has_mode = true;
                }
                break;
        }
        if (m->type == CNR_DF_MOUNT_CACHE && !m->has_mode) {
                m->mode = 0755;
                m->has_mode = true;
        }
        rc = 0;
out:
        cnr_df_strv_free(&fields);
        return rc;
}
