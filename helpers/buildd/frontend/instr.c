/* Layer 2: AST nodes -> typed instructions.
 *
 * One row per instruction in `keywords`: the flags it accepts (bool,
 * string, or list that may repeat) and its argument check.  Any flag not in
 * the row is refused, also for instructions that take none.  Nothing is
 * expanded here: that needs a stage's environment (plan.c). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

enum ftype { F_BOOL, F_STRING, F_LIST };

struct fspec {
        const char *name;
        enum ftype type;
};

struct keyword {
        const char *name; /* lower case */
        enum cnr_df_kind kind;
        struct fspec flags[8];
        int (*check)(struct cnr_df_instr *in, const char *file, struct cnr_err **err);
};

#define ERR(fmt, ...) cnr_errf(err, EINVAL, "%s:%d: " fmt, file, in->line, ##__VA_ARGS__)

static const char *
upper(enum cnr_df_kind k)
{
        return cnr_df_kind_name(k);
}

static int
need_args(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        if (in->args.n == 0)
                return ERR("%s requires at least one argument", upper(in->kind));
        return 0;
}

static int
need_one(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        if (in->args.n != 1)
                return ERR("%s requires exactly one argument", upper(in->kind));
        return 0;
}

static int
any_args(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        return 0;
}

static bool
valid_stage_name(const char *s)
{
        if (!islower((unsigned char)s[0]))
                return false;
        for (const char *p = s; *p; p++)
                if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("-_.", *p))
                        return false;
        return true;
}

static int
check_from(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        if (in->args.n != 1 && in->args.n != 3)
                return ERR("FROM requires either one or three arguments");
        if (in->args.n == 3) {
                if (strcasecmp(in->args.v[1], "as") != 0)
                        return ERR("FROM requires either one or three arguments: expected `AS <name>`, got `%s`",
                                   in->args.v[1]);
                in->stage_name = xstrdup(in->args.v[2]);
                for (char *c = in->stage_name; *c; c++)
                        *c = (char)tolower((unsigned char)*c);
                if (!valid_stage_name(in->stage_name))
                        return ERR("invalid name for build stage: `%s`, name can't start with a number or "
                                   "contain symbols",
                                   in->args.v[2]);
        }
        return 0;
}

static int
check_run(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        const struct cnr_df_flag *m = cnr_df_instr_flag(in, "mount");
        const char *net = cnr_df_instr_flagv(in, "network"), *sec = cnr_df_instr_flagv(in, "security");

        if (in->args.n == 0 || (in->json == false && in->args.v[0][0] == '\0'))
                return ERR("RUN requires at least one argument");
        if (net && strcmp(net, "default") && strcmp(net, "none") && strcmp(net, "host"))
                return ERR("invalid network mode `%s` (one of default, none, host)", net);
        if (sec && strcmp(sec, "sandbox") && strcmp(sec, "insecure"))
                return ERR("invalid security mode `%s` (one of sandbox, insecure)", sec);
        if (m && m->set) {
                in->mounts = xcalloc(m->list.n, sizeof(*in->mounts));
                for (size_t i = 0; i < m->list.n; i++) {
                        in->nmounts++;
                        if (cnr_df_mount_parse(m->list.v[i], &in->mounts[i], err) < 0)
                                return cnr_err_wrap(err, "%s:%d: --mount=%s", file, in->line, m->list.v[i]);
                }
        }
        return 0;
}

static int
check_shell(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        if (in->node->form != CNR_DF_FORM_NONE && !in->json)
                return ERR("SHELL requires the arguments to be in JSON form");
        if (in->args.n == 0)
                return ERR("SHELL requires at least one argument");
        return 0;
}

static int
check_kv(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        if (in->args.n == 0)
                return ERR("%s requires at least one argument", upper(in->kind));
        for (size_t i = 0; i < in->args.n; i += 2)
                if (in->args.v[i][0] == '\0')
                        return ERR("%s names can not be blank", upper(in->kind));
        return 0;
}

static int
check_arg(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        if (in->args.n == 0)
                return ERR("ARG requires at least one argument");
        in->has_default = xcalloc(in->args.n, sizeof(bool));
        for (size_t i = 0; i < in->args.n; i++) {
                char *eq = strchr(in->args.v[i], '=');
                if (eq) {
                        cnr_df_strv_push(&in->defaults, eq + 1);
                        *eq = '\0';
                        in->has_default[i] = true;
                } else {
                        cnr_df_strv_push(&in->defaults, "");
                }
                if (in->args.v[i][0] == '\0')
                        return ERR("ARG names can not be blank");
        }
        return 0;
}

static int
check_volume(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        if (in->args.n == 0)
                return ERR("VOLUME requires at least one argument");
        for (size_t i = 0; i < in->args.n; i++)
                if (in->args.v[i][0] == '\0')
                        return ERR("VOLUME specified can not be an empty string");
        return 0;
}

static bool
is_url(const char *s)
{
        return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static bool
is_git(const char *s)
{
        size_t l = strlen(s);
        return strncmp(s, "git@", 4) == 0 || strncmp(s, "git://", 6) == 0 ||
               (is_url(s) && (strstr(s, ".git#") || (l > 4 && strcmp(s + l - 4, ".git") == 0)));
}

static bool
is_heredoc_word(const char *s)
{
        while (isdigit((unsigned char)*s))
                s++;
        return s[0] == '<' && s[1] == '<' && s[2] != '<' && s[2] != '\0';
}

static int
check_copy(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        const char *from = cnr_df_instr_flagv(in, "from"), *sum = cnr_df_instr_flagv(in, "checksum");
        const char *name = upper(in->kind);

        if (in->args.n < 2)
                return ERR("%s requires at least two arguments, but only one was provided. Destination could "
                           "not be determined",
                           name);
        if (!in->json && is_heredoc_word(in->args.v[in->args.n - 1]))
                return ERR("%s cannot accept a heredoc as a destination", name);
        if (from && strchr(from, '$'))
                return ERR("variable expansion is not supported for --from, define a new stage with FROM using "
                           "ARG from global scope as a workaround");
        for (size_t i = 0; i + 1 < in->args.n && in->kind == CNR_DF_COPY; i++) {
                if (is_git(in->args.v[i]))
                        return ERR("source can't be a git ref for COPY");
                if (is_url(in->args.v[i]))
                        return ERR("source can't be a URL for COPY");
        }
        if (sum) {
                if (in->args.n > 2)
                        return ERR("checksum can't be specified for multiple sources");
                if (!is_url(in->args.v[0]) && !is_git(in->args.v[0]))
                        return ERR("checksum requires HTTP(S) or Git sources");
        }
        if (cnr_df_instr_flagv(in, "keep-git-dir") && !is_git(in->args.v[0]) && cnr_df_instr_flagb(in, "keep-git-dir"))
                return ERR("--keep-git-dir is only for Git sources");
        return 0;
}

static int
hc_duration(struct cnr_df_instr *in, const char *flag, const char *label, long long *out, const char *file,
            struct cnr_err **err)
{
        const char *v = cnr_df_instr_flagv(in, flag);

        *out = 0;
        if (v == NULL)
                return 0;
        if (cnr_df_duration(v, out, err) < 0)
                return cnr_err_wrap(err, "%s:%d: --%s", file, in->line, flag);
        if (*out < 0)
                return ERR("%s `%s` cannot be negative", label, v);
        if (*out != 0 && *out < 1000000)
                return ERR("%s `%s` cannot be less than 1ms", label, v);
        return 0;
}

static int
check_healthcheck(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        const char *r;
        char type[16];
        size_t i;

        if (in->args.n == 0)
                return ERR("HEALTHCHECK requires at least one argument");
        for (i = 0; in->args.v[0][i] && i < sizeof(type) - 1; i++)
                type[i] = (char)toupper((unsigned char)in->args.v[0][i]);
        type[i] = '\0';
        if (strcmp(type, "NONE") == 0) {
                if (in->args.n > 1)
                        return ERR("HEALTHCHECK NONE takes no arguments");
        } else if (strcmp(type, "CMD") == 0) {
                if (in->args.n < 2 || (!in->json && in->args.v[1][0] == '\0'))
                        return ERR("Missing command after HEALTHCHECK CMD");
        } else {
                return ERR("Unknown type `%s` in HEALTHCHECK (try CMD)", in->args.v[0]);
        }
        strcpy(in->hc_type, strcmp(type, "NONE") == 0 ? "NONE" : "CMD");
        if (hc_duration(in, "interval", "Interval", &in->hc_interval, file, err) < 0 ||
            hc_duration(in, "timeout", "Timeout", &in->hc_timeout, file, err) < 0 ||
            hc_duration(in, "start-period", "StartPeriod", &in->hc_start_period, file, err) < 0 ||
            hc_duration(in, "start-interval", "StartInterval", &in->hc_start_interval, file, err) < 0)
                return -1;
        r = cnr_df_instr_flagv(in, "retries");
        if (r) {
                char *end;
                errno = 0;
                in->hc_retries = strtoll(r, &end, 10);
                if (errno || end == r || *end)
                        return ERR("--retries: `%s` is not an integer", r);
                if (in->hc_retries < 0)
                        return ERR("--retries cannot be negative (%lld)", in->hc_retries);
        }
        return 0;
}

static int check_onbuild(struct cnr_df_instr *in, const char *file, struct cnr_err **err);

static const struct keyword keywords[] = {
        {"add",
         CNR_DF_ADD,
         {{"chown", F_STRING},
          {"chmod", F_STRING},
          {"link", F_BOOL},
          {"keep-git-dir", F_BOOL},
          {"checksum", F_STRING},
          {"unpack", F_BOOL},
          {"exclude", F_LIST}},
         check_copy},
        {"arg", CNR_DF_ARG, {{0}}, check_arg},
        {"cmd", CNR_DF_CMD, {{0}}, any_args},
        {"copy",
         CNR_DF_COPY,
         {{"from", F_STRING},
          {"chown", F_STRING},
          {"chmod", F_STRING},
          {"link", F_BOOL},
          {"parents", F_BOOL},
          {"exclude", F_LIST}},
         check_copy},
        {"entrypoint", CNR_DF_ENTRYPOINT, {{0}}, any_args},
        {"env", CNR_DF_ENV, {{0}}, check_kv},
        {"expose", CNR_DF_EXPOSE, {{0}}, need_args},
        {"from", CNR_DF_FROM, {{"platform", F_STRING}}, check_from},
        {"healthcheck",
         CNR_DF_HEALTHCHECK,
         {{"interval", F_STRING},
          {"timeout", F_STRING},
          {"start-period", F_STRING},
          {"start-interval", F_STRING},
          {"retries", F_STRING}},
         check_healthcheck},
        {"label", CNR_DF_LABEL, {{0}}, check_kv},
        {"maintainer", CNR_DF_MAINTAINER, {{0}}, need_one},
        {"onbuild", CNR_DF_ONBUILD, {{0}}, check_onbuild},
        {"run",
         CNR_DF_RUN,
         {{"mount", F_LIST}, {"network", F_STRING}, {"security", F_STRING}, {"device", F_LIST}},
         check_run},
        {"shell", CNR_DF_SHELL, {{0}}, check_shell},
        {"stopsignal", CNR_DF_STOPSIGNAL, {{0}}, need_one},
        {"user", CNR_DF_USER, {{0}}, need_one},
        {"volume", CNR_DF_VOLUME, {{0}}, check_volume},
        {"workdir", CNR_DF_WORKDIR, {{0}}, need_one},
};

static const char *const kind_names[CNR_DF_NKINDS] = {
        [CNR_DF_ADD] = "ADD",
        [CNR_DF_ARG] = "ARG",
        [CNR_DF_CMD] = "CMD",
        [CNR_DF_COPY] = "COPY",
        [CNR_DF_ENTRYPOINT] = "ENTRYPOINT",
        [CNR_DF_ENV] = "ENV",
        [CNR_DF_EXPOSE] = "EXPOSE",
        [CNR_DF_FROM] = "FROM",
        [CNR_DF_HEALTHCHECK] = "HEALTHCHECK",
        [CNR_DF_LABEL] = "LABEL",
        [CNR_DF_MAINTAINER] = "MAINTAINER",
        [CNR_DF_ONBUILD] = "ONBUILD",
        [CNR_DF_RUN] = "RUN",
        [CNR_DF_SHELL] = "SHELL",
        [CNR_DF_STOPSIGNAL] = "STOPSIGNAL",
        [CNR_DF_USER] = "USER",
        [CNR_DF_VOLUME] = "VOLUME",
        [CNR_DF_WORKDIR] = "WORKDIR",
};

const char *
cnr_df_kind_name(enum cnr_df_kind k)
{
        return (unsigned)k < CNR_DF_NKINDS ? kind_names[k] : "?";
}

static int
check_onbuild(struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        const struct cnr_df_node *c = in->node->child;
        struct cnr_df_buf t = {0};

        if (c == NULL)
                return ERR("ONBUILD requires at least one argument");
        if (!strcmp(c->keyword, "onbuild"))
                return ERR("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (!strcmp(c->keyword, "from") || !strcmp(c->keyword, "maintainer"))
                return ERR("%s isn't allowed as an ONBUILD trigger", c->written);
        if (cnr_df_instr_build(c, file, &in->trigger, err) < 0)
                return -1;
        cnr_df_buf_adds(&t, c->original);
        for (size_t i = 0; i < c->nheredocs; i++) {
                cnr_df_buf_addc(&t, '\n');
                cnr_df_buf_adds(&t, c->heredocs[i].content);
                cnr_df_buf_adds(&t, c->heredocs[i].name);
        }
        in->trigger_text = cnr_df_buf_steal(&t);
        return 0;
}

static const struct keyword *
find_keyword(const char *kw)
{
        for (size_t i = 0; i < CNR_ARRAY_LEN(keywords); i++)
                if (strcmp(keywords[i].name, kw) == 0)
                        return &keywords[i];
        return NULL;
}

static int
parse_flags(const struct keyword *k, struct cnr_df_instr *in, const char *file, struct cnr_err **err)
{
        size_t nf = 0;

        while (nf < CNR_ARRAY_LEN(k->flags) && k->flags[nf].name)
                nf++;
        in->flags = xcalloc(nf ? nf : 1, sizeof(*in->flags));
        in->nflags = nf;
        for (size_t i = 0; i < nf; i++)
                in->flags[i].name = k->flags[i].name;
        for (size_t i = 0; i < in->node->flags.n; i++) {
                const char *raw = in->node->flags.v[i] + 2, *eq = strchr(raw, '=');
                size_t nl = eq ? (size_t)(eq - raw) : strlen(raw);
                const char *names[8];
                struct cnr_df_flag *f = NULL;
                enum ftype ft = F_BOOL;

                for (size_t j = 0; j < nf; j++) {
                        names[j] = k->flags[j].name;
                        if (strlen(k->flags[j].name) == nl && strncmp(k->flags[j].name, raw, nl) == 0) {
                                f = &in->flags[j];
                                ft = k->flags[j].type;
                        }
                }
                if (f == NULL) {
                        _cleanup_free_ char *name = xstrndup(raw, nl);
                        const char *hint = cnr_df_suggest(name, names, nf);
                        if (hint)
                                return ERR("unknown flag: --%s (did you mean --%s?)", name, hint);
                        return ERR("unknown flag: --%s", name);
                }
                if (f->set && ft != F_LIST)
                        return ERR("duplicate flag specified: --%s", f->name);
                f->set = true;
                if (ft == F_BOOL) {
                        if (eq == NULL || strcasecmp(eq + 1, "true") == 0)
                                f->value = xstrdup("true");
                        else if (strcasecmp(eq + 1, "false") == 0)
                                f->value = xstrdup("false");
                        else
                                return ERR("expecting boolean value for flag --%s, not: %s", f->name, eq + 1);
                        continue;
                }
                if (eq == NULL)
                        return ERR("missing a value on flag: --%s", f->name);
                if (ft == F_LIST)
                        cnr_df_strv_push(&f->list, eq + 1);
                else
                        f->value = xstrdup(eq + 1);
        }
        return 0;
}

int
cnr_df_instr_build(const struct cnr_df_node *node, const char *file, struct cnr_df_instr **out, struct cnr_err **err)
{
        const struct keyword *k = find_keyword(node->keyword);
        struct cnr_df_instr *in;

        if (k == NULL) {
                const char *names[CNR_DF_NKINDS];
                const char *hint;

                for (size_t i = 0; i < CNR_DF_NKINDS; i++)
                        names[i] = kind_names[i];
                hint = cnr_df_suggest(node->keyword, names, CNR_DF_NKINDS);
                if (hint)
                        return cnr_errf(err, EINVAL, "%s:%d: unknown instruction: %s (did you mean %s?)", file,
                                        node->start_line, node->written, hint);
                return cnr_errf(err, EINVAL, "%s:%d: unknown instruction: %s", file, node->start_line, node->written);
        }
        in = xcalloc(1, sizeof(*in));
        in->kind = k->kind;
        in->node = node;
        in->line = node->start_line;
        in->json = node->form == CNR_DF_FORM_JSON;
        for (size_t i = 0; i < node->args.n; i++)
                cnr_df_strv_push(&in->args, node->args.v[i]);
        if (parse_flags(k, in, file, err) < 0 || k->check(in, file, err) < 0) {
                cnr_df_instr_free(in);
                return -1;
        }
        *out = in;
        return 0;
}

void
cnr_df_instr_free(struct cnr_df_instr *in)
{
        if (in == NULL)
                return;
        for (size_t i = 0; i < in->nflags; i++) {
                free(in->flags[i].value);
                cnr_df_strv_free(&in->flags[i].list);
        }
        free(in->flags);
        cnr_df_strv_free(&in->args);
        cnr_df_strv_free(&in->defaults);
        free(in->has_default);
        free(in->stage_name);
        for (size_t i = 0; i < in->nmounts; i++)
                cnr_df_mount_clear(&in->mounts[i]);
        free(in->mounts);
        cnr_df_instr_free(in->trigger);
        free(in->trigger_text);
        free(in);
}

const struct cnr_df_flag *
cnr_df_instr_flag(const struct cnr_df_instr *in, const char *name)
{
        for (size_t i = 0; i < in->nflags; i++)
                if (strcmp(in->flags[i].name, name) == 0)
                        return &in->flags[i];
        return NULL;
}

const char *
cnr_df_instr_flagv(const struct cnr_df_instr *in, const char *name)
{
        const struct cnr_df_flag *f = cnr_df_instr_flag(in, name);

        return f && f->set ? f->value : NULL;
}

bool
cnr_df_instr_flagb(const struct cnr_df_instr *in, const char *name)
{
        const char *v = cnr_df_instr_flagv(in, name);

        return v && strcmp(v, "true") == 0;
}

/* Go's duration syntax: [-]N[.F]unit..., units ns us µs ms s m h; "0". */
int
cnr_df_duration(const char *s, long long *ns, struct cnr_err **err)
{
        static const struct {
                const char *u;
                long long mult;
        } units[] = {{"ns", 1},           {"us", 1000},         {"\xc2\xb5s", 1000},   {"ms", 1000000},
                     {"s", 1000000000LL}, {"m", 60000000000LL}, {"h", 3600000000000LL}};
        const char *p = s;
        long double total = 0;
        bool neg = false;

        if (*p == '-' || *p == '+')
                neg = *p++ == '-';
        if (strcmp(p, "0") == 0) {
                *ns = 0;
                return 0;
        }
        if (*p == '\0')
                return cnr_errf(err, EINVAL, "invalid duration `%s`", s);
        while (*p) {
                long double v = 0, frac = 0, scale = 1;
                bool digits = false;
                size_t best = 0, bl = 0;

                while (isdigit((unsigned char)*p)) {
                        v = v * 10 + (*p++ - '0');
                        digits = true;
                }
                if (*p == '.') {
                        p++;
                        while (isdigit((unsigned char)*p)) {
                                frac = frac * 10 + (*p++ - '0');
                                scale *= 10;
                                digits = true;
                        }
                }
                if (!digits)
                        return cnr_errf(err, EINVAL, "invalid duration `%s`", s);
                for (size_t i = 0; i < CNR_ARRAY_LEN(units); i++) {
                        size_t l = strlen(units[i].u);
                        if (strncmp(p, units[i].u, l) == 0 && l > bl) {
                                best = i;
                                bl = l;
                        }
                }
                if (bl == 0)
                        return cnr_errf(err, EINVAL, "invalid duration `%s`: missing or unknown unit", s);
                p += bl;
                total += (v + frac / scale) * (long double)units[best].mult;
                if (total > 9.2e18L)
                        return cnr_errf(err, ERANGE, "invalid duration `%s`: too long", s);
        }
        *ns = (long long)total * (neg ? -1 : 1);
        return 0;
}
