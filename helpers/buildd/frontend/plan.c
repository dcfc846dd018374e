/* Layer 3: the plan.  Instructions -> stages (split at FROM), ARG scoping,
 * expansion with each stage's environment, the stage graph (FROM <stage>,
 * COPY --from, RUN --mount from=) pruned to the target and per-step cache
 * keys; the image config and history each stage implies are imgconfig.c's.
 *
 * Scopes: ARGs before the first FROM (meta ARGs) and the automatic platform
 * ARGs are visible in FROM lines only; inside a stage an ARG is visible from
 * its line on, taking its value from --build-arg, else its default, else
 * the meta ARG of the same name.  ENV wins over an ARG of the same name.
 * Stages built on a stage inherit its ENV, ARGs, config and history, and
 * run its ONBUILD triggers first.
 *
 * Base images: facts about them (config, ONBUILD triggers, digest) come
 * from opts->image; without it (today: no image store yet) a stage on an
 * image starts from what is certain (PATH), its triggers are unknown, and
 * its cache keys are marked provisional. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "common/ref.h"
#include "common/util.h"
#include "helpers/buildd/frontend/planner.h"

static const char *const proxy_args[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                         "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};

/* ---- diagnostics -------------------------------------------------------- */

static bool
rule_skipped(const struct cnr_df_plan *p, const char *rule)
{
        return rule != NULL && p->ast != NULL && !cnr_df_rule_enabled(p->ast->check, rule);
}

void
cnr_df_plan_diag(struct cnr_df_plan *p, enum cnr_df_severity sev, int line, const char *rule, const char *fmt, ...)
{
        va_list ap;
        struct cnr_df_diag *d;

        if (rule_skipped(p, rule))
                return;
        p->diags = xrealloc(p->diags, (p->ndiags + 1) * sizeof(*p->diags));
        d = &p->diags[p->ndiags++];
        memset(d, 0, sizeof(*d));
        d->sev = sev;
        d->line = line;
        d->rule = rule ? xstrdup(rule) : NULL;
        va_start(ap, fmt);
        d->msg = xvasprintf(fmt, ap);
        va_end(ap);
        if (sev == CNR_DF_ERROR)
                p->nerrors++;
        else
                p->nwarnings++;
}

/* An error whose message starts "FILE:LINE: " becomes a diagnostic at LINE. */
static void
diag_err(struct cnr_df_plan *p, int line, struct cnr_err **err)
{
        const char *m = (*err)->msg;
        size_t fl = strlen(p->file);

        if (strncmp(m, p->file, fl) == 0 && m[fl] == ':') {
                const char *q = m + fl + 1;
                char *end;
                long l = strtol(q, &end, 10);
                if (end != q && end[0] == ':' && end[1] == ' ') {
                        line = (int)l;
                        m = end + 2;
                } else if (q[0] == ' ') {
                        m = q + 1;
                }
        }
        cnr_df_plan_diag(p, CNR_DF_ERROR, line, NULL, "%s", m);
        cnr_err_free(err);
}

/* ---- platform and images ----------------------------------------------- */

char *
cnr_df_host_platform(void)
{
        struct utsname u;
        const char *arch = "amd64", *variant = NULL;

        if (uname(&u) == 0) {
                if (!strcmp(u.machine, "x86_64"))
                        arch = "amd64";
                else if (!strcmp(u.machine, "aarch64") || !strcmp(u.machine, "arm64"))
                        arch = "arm64";
                else if (!strncmp(u.machine, "armv7", 5)) {
                        arch = "arm";
                        variant = "v7";
                } else if (!strncmp(u.machine, "armv6", 5)) {
                        arch = "arm";
                        variant = "v6";
                } else if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i386"))
                        arch = "386";
                else if (!strcmp(u.machine, "ppc64le"))
                        arch = "ppc64le";
                else if (!strcmp(u.machine, "s390x"))
                        arch = "s390x";
                else if (!strcmp(u.machine, "riscv64"))
                        arch = "riscv64";
        }
        return variant ? xasprintf("linux/%s/%s", arch, variant) : xasprintf("linux/%s", arch);
}

char *
cnr_df_image_normalize(const char *ref)
{
        const char *at = strchr(ref, '@'), *slash = strchr(ref, '/'), *last;
        _cleanup_free_ char *name = at ? xstrndup(ref, (size_t)(at - ref)) : xstrdup(ref);
        struct cnr_df_buf b = {0};
        bool has_domain = false;

        if (slash) {
                size_t l = (size_t)(slash - ref);
                if (memchr(ref, '.', l) || memchr(ref, ':', l) || (l == 9 && !strncmp(ref, "localhost", 9)))
                        has_domain = true;
        }
        if (!has_domain) {
                cnr_df_buf_adds(&b, "docker.io/");
                if (strchr(name, '/') == NULL)
                        cnr_df_buf_adds(&b, "library/");
        }
        cnr_df_buf_adds(&b, name);
        last = strrchr(b.s, '/');
        if (at == NULL && strchr(last ? last : b.s, ':') == NULL)
                cnr_df_buf_adds(&b, ":latest");
        if (at)
                cnr_df_buf_adds(&b, at);
        return cnr_df_buf_steal(&b);
}

static void
platform_vars(struct planner *pl, const char *target, const char *build)
{
        const char *names[2] = {"TARGET", "BUILD"};
        const char *vals[2] = {target, build};

        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *copy = xstrdup(vals[i]);
                char *os = copy, *arch = strchr(copy, '/'), *variant = NULL;
                char k[32];

                if (arch) {
                        *arch++ = '\0';
                        variant = strchr(arch, '/');
                        if (variant)
                                *variant++ = '\0';
                }
                snprintf(k, sizeof(k), "%sPLATFORM", names[i]);
                cnr_df_vars_set(&pl->platform, k, vals[i]);
                snprintf(k, sizeof(k), "%sOS", names[i]);
                cnr_df_vars_set(&pl->platform, k, os);
                snprintf(k, sizeof(k), "%sARCH", names[i]);
                cnr_df_vars_set(&pl->platform, k, arch ? arch : "");
                snprintf(k, sizeof(k), "%sVARIANT", names[i]);
                cnr_df_vars_set(&pl->platform, k, variant ? variant : "");
                snprintf(k, sizeof(k), "%sOSVERSION", names[i]);
                cnr_df_vars_set(&pl->platform, k, "");
        }
}

static bool
is_proxy_arg(const char *n)
{
        for (size_t i = 0; i < CNR_ARRAY_LEN(proxy_args); i++)
                if (strcmp(proxy_args[i], n) == 0)
                        return true;
        return false;
}

/* ---- expansion ------------------------------------------------------------ */

static const char *
meta_lookup(const char *name, void *arg)
{
        struct planner *pl = arg;
        const char *v = cnr_df_vars_get(&pl->meta, name);

        if (v == NULL && !cnr_df_strv_has(&pl->meta_declared, name))
                v = cnr_df_vars_get(&pl->platform, name);
        return v;
}

/* Meta ARGs with their defaults only, as if no --build-arg were given. */
static const char *
meta_default_lookup(const char *name, void *arg)
{
        struct planner *pl = arg;
        const char *v = cnr_df_vars_get(&pl->meta_defaults, name);

        if (v == NULL && !cnr_df_strv_has(&pl->meta_declared, name))
                v = cnr_df_vars_get(&pl->platform, name);
        return v;
}

/* InvalidDefaultArgInFrom: a FROM that uses ARGs must name a valid image
 * with the ARGs' defaults alone; a build should not need --build-arg. */
static void
lint_default_from(struct planner *pl, const struct cnr_df_instr *in)
{
        struct cnr_df_plan *p = pl->p;
        struct cnr_df_lex lx = {.escape = p->ast->escape, .lookup = meta_default_lookup, .arg = pl};
        _cleanup_free_ char *name = NULL;
        struct cnr_err *err = NULL;
        struct cnr_ref ref;

        if (strchr(in->args.v[0], '$') == NULL)
                return;
        if (cnr_df_expand(&lx, in->args.v[0], &name, &err) < 0) {
                cnr_err_free(&err);
                return; /* the real expansion reports it */
        }
        if (name[0] == '\0' || cnr_ref_parse(name, &ref, &err) < 0) {
                cnr_err_free(&err);
                cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "InvalidDefaultArgInFrom",
                                 "default value for ARG %s results in empty or invalid base image name", in->args.v[0]);
        }
}

static const char *
stage_lookup(const char *name, void *arg)
{
        struct sstate *s = arg;
        const char *v = cnr_df_vars_get(&s->env, name);

        return v ? v : cnr_df_vars_get(&s->args, name);
}

int
cnr_df_sexpand(struct sstate *s, const char *w, char **out, struct cnr_err **err)
{
        struct cnr_df_lex lx = {
                .escape = s->pl->p->ast->escape, .lookup = stage_lookup, .arg = s, .unmatched = &s->unmatched};
        return cnr_df_expand(&lx, w, out, err);
}

int
cnr_df_sexpand_words(struct sstate *s, const char *w, struct cnr_df_strv *out, struct cnr_err **err)
{
        struct cnr_df_lex lx = {
                .escape = s->pl->p->ast->escape, .lookup = stage_lookup, .arg = s, .unmatched = &s->unmatched};
        return cnr_df_expand_words(&lx, w, out, err);
}

/* ---- small helpers ------------------------------------------------------ */

json_t *
cnr_df_strv_json(const struct cnr_df_strv *sv)
{
        json_t *a = json_array();

        for (size_t i = 0; i < sv->n; i++)
                json_array_append_new(a, json_string(sv->v[i]));
        return a;
}

void
cnr_df_command_argv(struct sstate *s, const struct cnr_df_instr *in, size_t skip, struct cnr_df_strv *argv)
{
        if (in->json) {
                for (size_t i = skip; i < in->args.n; i++)
                        cnr_df_strv_push(argv, in->args.v[i]);
                return;
        }
        for (size_t i = 0; i < s->shell.n; i++)
                cnr_df_strv_push(argv, s->shell.v[i]);
        if (in->args.n > skip)
                cnr_df_strv_push(argv, in->args.v[skip]);
}

char *
cnr_df_strv_join(const struct cnr_df_strv *sv, const char *sep)
{
        struct cnr_df_buf b = {0};

        for (size_t i = 0; i < sv->n; i++) {
                if (i)
                        cnr_df_buf_adds(&b, sep);
                cnr_df_buf_adds(&b, sv->v[i]);
        }
        return cnr_df_buf_steal(&b);
}

char *
cnr_df_path_join(const char *base, const char *rel)
{
        _cleanup_free_ char *j = NULL;
        char *clean;

        if (rel[0] == '/')
                j = xstrdup(rel);
        else
                j = xasprintf("%s/%s", base, rel);
        clean = cnr_df_clean_path(j);
        free(j);
        j = xasprintf("/%s", clean);
        free(clean);
        return steal_ptr(&j);
}

static bool
valid_chmod(const char *m)
{
        const char *p = m;

        if (*m == '\0')
                return false;
        if (isdigit((unsigned char)*m)) {
                char *end;
                unsigned long v = strtoul(m, &end, 8);
                return *end == '\0' && v <= 07777;
        }
        /* symbolic: [ugoa]*[-+=][rwxXst]* (, ...)* */
        for (;;) {
                while (*p && strchr("ugoa", *p))
                        p++;
                if (!*p || !strchr("+-=", *p))
                        return false;
                while (*p && strchr("+-=", *p)) {
                        p++;
                        while (*p && strchr("rwxXstugo", *p))
                                p++;
                }
                if (*p == '\0')
                        return true;
                if (*p != ',')
                        return false;
                p++;
        }
}

/* ---- steps ---------------------------------------------------------------- */

static struct cnr_df_step *
new_step(struct sstate *s, const struct cnr_df_instr *in, bool trigger)
{
        struct cnr_df_stage *st = s->st;
        struct cnr_df_step *step;

        st->steps = xrealloc(st->steps, (st->nsteps + 1) * sizeof(*st->steps));
        step = &st->steps[st->nsteps++];
        memset(step, 0, sizeof(*step));
        step->in = in;
        step->onbuild_trigger = trigger;
        return step;
}

/* Seal a step: digest its definition, chain its key, record history. */
static void
seal(struct sstate *s, struct cnr_df_step *step, json_t *def)
{
        char *txt;

        json_object_set_new(def, "platform", json_string(s->st->platform));
        txt = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
        cnr_df_sha256_hex(txt, strlen(txt), step->def_digest);
        free(txt);
        json_decref(def);
        cnr_df_chain_key(s->fs_key, step->def_digest, step->cache_key);
        if (step->layer)
                memcpy(s->fs_key, step->cache_key, sizeof(s->fs_key));
        if (s->st->facts_unknown && !step->provisional) {
                step->provisional = true;
                if (step->note == NULL)
                        step->note = xstrdup("base image facts unknown");
        }
        cnr_df_config_history(s, step);
}

static int
resolve_from(struct sstate *s, const char *ref, int line, int *stage, char **image)
{
        struct cnr_df_plan *p = s->pl->p;
        char *end;
        unsigned long idx;

        *stage = -1;
        *image = NULL;
        if (isdigit((unsigned char)ref[0])) {
                idx = strtoul(ref, &end, 10);
                if (*end == '\0') {
                        if (idx >= (unsigned long)s->st->index) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, line, NULL, "invalid stage index %lu", idx);
                                return -1;
                        }
                        *stage = (int)idx;
                        return 0;
                }
        }
        for (size_t i = 0; i < p->nstages; i++) {
                if (p->stages[i].name && strcasecmp(p->stages[i].name, ref) == 0) {
                        if ((int)i >= s->st->index) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, line, NULL,
                                                 "cannot copy from stage `%s`, it needs to be defined before "
                                                 "current stage `%s`",
                                                 ref, s->st->display);
                                return -1;
                        }
                        *stage = (int)i;
                        return 0;
                }
        }
        *image = cnr_df_image_normalize(ref);
        return 0;
}

static void
add_dep(struct cnr_df_stage *st, int dep)
{
        for (size_t i = 0; i < st->ndeps; i++)
                if (st->deps[i] == dep)
                        return;
        st->deps = xrealloc(st->deps, (st->ndeps + 1) * sizeof(int));
        st->deps[st->ndeps++] = dep;
}

static void
add_ext(struct cnr_df_stage *st, const char *img)
{
        if (!cnr_df_strv_has(&st->ext_images, img)) {
                cnr_df_strv_push(&st->ext_images, img);
                cnr_df_strv_push(&st->ext_platforms, st->platform);
        }
}

/* COPY --from=<image> / RUN --mount from=<image>: the image's facts key
 * the step (its config digest), or the step is provisional; an image the
 * store does not have is an error.  -1 after a diagnostic. */
static int
ext_image(struct sstate *s, const char *img, int line, const char *what, struct cnr_df_step *step, json_t *obj)
{
        struct cnr_df_plan *p = s->pl->p;
        struct cnr_df_image_facts f = {0};

        add_ext(s->st, img);
        json_object_set_new(obj, "from_image", json_string(img));
        if (s->pl->o->image)
                s->pl->o->image(img, s->st->platform, &f, s->pl->o->image_arg);
        if (f.known && f.missing) {
                cnr_df_plan_diag(p, CNR_DF_ERROR, line, NULL,
                                 "image `%s` (%s) is not in the local store: pull it first (containr pull %s)", img,
                                 what, img);
                cnr_df_image_facts_clear(&f);
                return -1;
        }
        if (f.known && f.config_digest) {
                json_object_set_new(obj, "from_image_id", json_string(f.config_digest));
                json_object_set_new(obj, "from_image_platform", json_string(f.platform ? f.platform : ""));
        } else {
                step->provisional = true;
                free(step->note);
                step->note = xasprintf("%s image %s, whose facts are unknown", what, img);
        }
        cnr_df_image_facts_clear(&f);
        return 0;
}

/* An environment for RUN: ENV, then declared ARGs ENV does not shadow. */
static json_t *
run_env(struct sstate *s, struct cnr_df_strv *argdesc)
{
        json_t *a = json_array();

        for (size_t i = 0; i < s->env.names.n; i++)
                json_array_append_new(a, json_sprintf("%s=%s", s->env.names.v[i], s->env.values.v[i]));
        for (size_t i = 0; i < s->args.names.n; i++) {
                const char *n = s->args.names.v[i];
                if (argdesc)
                        cnr_df_strv_take(argdesc, xasprintf("%s=%s", n, s->args.values.v[i]));
                if (cnr_df_vars_get(&s->env, n) == NULL)
                        json_array_append_new(a, json_sprintf("%s=%s", n, s->args.values.v[i]));
        }
        return a;
}

static int do_instr(struct sstate *s, const struct cnr_df_instr *in, bool trigger);

static int
do_run(struct sstate *s, const struct cnr_df_instr *in, struct cnr_df_step *step, json_t *def)
{
        struct cnr_df_plan *p = s->pl->p;
        struct cnr_df_strv argv = {0}, argdesc = {0};
        json_t *mounts = json_array(), *hd = json_array();
        struct cnr_err *err = NULL;
        struct cnr_df_buf cb = {0};
        _cleanup_free_ char *cmd = NULL;
        const char *net = cnr_df_instr_flagv(in, "network"), *sec = cnr_df_instr_flagv(in, "security");

        cnr_df_command_argv(s, in, 0, &argv);
        json_object_set_new(def, "argv", cnr_df_strv_json(&argv));
        json_object_set_new(def, "env", run_env(s, &argdesc));
        json_object_set_new(def, "cwd", json_string(s->workdir));
        json_object_set_new(def, "user", json_string(s->user ? s->user : ""));
        json_object_set_new(def, "network", json_string(net ? net : "default"));
        json_object_set_new(def, "security", json_string(sec ? sec : "sandbox"));
        for (size_t i = 0; i < in->nmounts; i++) {
                const struct cnr_df_mount *m = &in->mounts[i];
                json_t *jm = json_object();
                const char *keys[] = {"source", "target", "id", "env"};
                const char *vals[] = {m->source, m->target, m->id, m->env};

                json_object_set_new(jm, "type", json_string(cnr_df_mount_type_name(m->type)));
                for (size_t k = 0; k < CNR_ARRAY_LEN(keys); k++) {
                        char *x = NULL;
                        if (vals[k] == NULL)
                                continue;
                        if (cnr_df_sexpand(s, vals[k], &x, &err) < 0) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "--mount %s: %s", keys[k], err->msg);
                                cnr_err_free(&err);
                                continue;
                        }
                        json_object_set_new(jm, keys[k], json_string(x));
                        free(x);
                }
                json_object_set_new(jm, "readonly", json_boolean(m->readonly));
                if (m->sharing)
                        json_object_set_new(jm, "sharing", json_string(m->sharing));
                if (m->has_mode)
                        json_object_set_new(jm, "mode", json_integer(m->mode));
                if (m->has_size)
                        json_object_set_new(jm, "size", json_integer((json_int_t)m->size));
                if (m->from) {
                        int dep;
                        char *img;
                        if (resolve_from(s, m->from, in->line, &dep, &img) == 0) {
                                if (dep >= 0) {
                                        add_dep(s->st, dep);
                                        json_object_set_new(jm, "from_stage", json_string(p->stages[dep].final_key));
                                } else {
                                        ext_image(s, img, in->line, "RUN --mount from", step, jm);
                                }
                                free(img);
                        }
                } else if (m->type == CNR_DF_MOUNT_BIND && s->pl->ctx) {
                        /* A bind of the context: its content is an input. */
                        struct cnr_df_strv src = {0};
                        char dg[72];
                        size_t nm = 0;
                        cnr_df_strv_push(&src, m->source ? m->source : ".");
                        if (cnr_df_sources_digest(s->pl->ctx, s->pl->ig, &src, NULL, dg, &nm, &err) == 0)
                                json_object_set_new(jm, "content", json_string(dg));
                        else
                                cnr_err_free(&err);
                        cnr_df_strv_free(&src);
                }
                json_array_append_new(mounts, jm);
        }
        json_object_set_new(def, "mounts", mounts);
        for (size_t i = 0; i < in->node->nheredocs; i++)
                json_array_append_new(hd, json_string(in->node->heredocs[i].content));
        json_object_set_new(def, "heredocs", hd);
        cmd = cnr_df_strv_join(&argv, " ");
        cnr_df_buf_adds(&cb, "RUN ");
        if (argdesc.n) {
                _cleanup_free_ char *a = cnr_df_strv_join(&argdesc, " ");
                cnr_df_buf_addf(&cb, "|%zu %s ", argdesc.n, a);
        }
        cnr_df_buf_adds(&cb, cmd);
        cnr_df_buf_adds(&cb, " # buildkit");
        step->created_by = cnr_df_buf_steal(&cb);
        if (in->json)
                step->text = xasprintf("RUN %s", cmd);
        else
                step->text = xasprintf("RUN %s", in->args.v[0]);
        step->layer = true;
        step->history = true;
        cnr_df_strv_free(&argv);
        cnr_df_strv_free(&argdesc);
        return 0;
}

static int
do_copy(struct sstate *s, const struct cnr_df_instr *in, struct cnr_df_step *step, json_t *def)
{
        struct cnr_df_plan *p = s->pl->p;
        struct cnr_df_strv srcs = {0}, excl = {0};
        struct cnr_err *err = NULL;
        struct cnr_df_buf cb = {0};
        const char *from = cnr_df_instr_flagv(in, "from");
        const char *chown = cnr_df_instr_flagv(in, "chown"), *chmod = cnr_df_instr_flagv(in, "chmod");
        const char *sum = cnr_df_instr_flagv(in, "checksum");
        const struct cnr_df_flag *ex = cnr_df_instr_flag(in, "exclude");
        _cleanup_free_ char *dest = NULL, *xchown = NULL, *xchmod = NULL, *destabs = NULL, *sl = NULL, *dl = NULL;
        bool wildcard = false, remote = false;
        const char *kw = cnr_df_kind_name(in->kind);
        int dep = -1, rc = -1;
        char *img = NULL;

        for (size_t i = 0; i + 1 < in->args.n; i++) {
                char *x;
                if (!in->json && in->args.v[i][0] == '<' && in->args.v[i][1] == '<') {
                        cnr_df_strv_push(&srcs, in->args.v[i]);
                        continue;
                }
                if (cnr_df_sexpand(s, in->args.v[i], &x, &err) < 0)
                        goto experr;
                if (!strncmp(x, "http://", 7) || !strncmp(x, "https://", 8) || !strncmp(x, "git@", 4))
                        remote = true;
                else if (strpbrk(x, "*?["))
                        wildcard = true;
                cnr_df_strv_take(&srcs, x);
        }
        if (cnr_df_sexpand(s, in->args.v[in->args.n - 1], &dest, &err) < 0)
                goto experr;
        if (chown && cnr_df_sexpand(s, chown, &xchown, &err) < 0)
                goto experr;
        if (chmod) {
                if (cnr_df_sexpand(s, chmod, &xchmod, &err) < 0)
                        goto experr;
                if (!valid_chmod(xchmod)) {
                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL,
                                         "invalid chmod parameter: `%s`. it should be octal string and between 0 "
                                         "and 07777, or a symbolic mode",
                                         xchmod);
                        goto out;
                }
        }
        if ((srcs.n > 1 || wildcard) && dest[0] && dest[strlen(dest) - 1] != '/') {
                cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL,
                                 "When using %s with more than one source file, the destination must be a directory "
                                 "and end with a /",
                                 kw);
                goto out;
        }
        destabs = cnr_df_path_join(s->workdir, dest);
        if (dest[0] && dest[strlen(dest) - 1] == '/' && strcmp(destabs, "/") != 0) {
                char *t = xasprintf("%s/", destabs);
                free(destabs);
                destabs = t;
        }
        if (ex)
                for (size_t i = 0; i < ex->list.n; i++) {
                        char *x;
                        if (cnr_df_sexpand(s, ex->list.v[i], &x, &err) < 0)
                                goto experr;
                        cnr_df_strv_take(&excl, x);
                }
        if (from && resolve_from(s, from, in->line, &dep, &img) < 0)
                goto out;
        json_object_set_new(def, "srcs", cnr_df_strv_json(&srcs));
        json_object_set_new(def, "dest", json_string(destabs));
        json_object_set_new(def, "chown", json_string(xchown ? xchown : ""));
        json_object_set_new(def, "chmod", json_string(xchmod ? xchmod : ""));
        json_object_set_new(def, "exclude", cnr_df_strv_json(&excl));
        json_object_set_new(def, "link", json_boolean(cnr_df_instr_flagb(in, "link")));
        json_object_set_new(def, "parents", json_boolean(cnr_df_instr_flagb(in, "parents")));
        if (in->kind == CNR_DF_ADD) {
                const char *unpack = cnr_df_instr_flagv(in, "unpack");
                json_object_set_new(def, "unpack", json_string(unpack ? unpack : "auto"));
                json_object_set_new(def, "keep_git_dir", json_boolean(cnr_df_instr_flagb(in, "keep-git-dir")));
                json_object_set_new(def, "checksum", json_string(sum ? sum : ""));
        }
        if (dep >= 0) {
                add_dep(s->st, dep);
                json_object_set_new(def, "from_stage", json_string(p->stages[dep].final_key));
                if (p->stages[dep].facts_unknown) {
                        step->provisional = true;
                        step->note = xasprintf("copies from stage %s, whose base image facts are unknown",
                                               p->stages[dep].display);
                }
        } else if (img) {
                if (ext_image(s, img, in->line, "COPY --from", step, def) < 0)
                        goto out;
        } else {
                json_t *hds = json_array();
                for (size_t i = 0; i < in->node->nheredocs; i++)
                        json_array_append_new(hds, json_string(in->node->heredocs[i].content));
                json_object_set_new(def, "heredocs", hds);
                if (remote) {
                        step->provisional = sum == NULL;
                        if (step->provisional)
                                step->note = xstrdup("remote source: content not known before it is fetched");
                } else if (s->pl->ctx) {
                        struct cnr_df_strv local = {0};
                        char dg[72];
                        size_t nm = 0;
                        for (size_t i = 0; i < srcs.n; i++) {
                                _cleanup_free_ char *cp = NULL;
                                if (srcs.v[i][0] == '<')
                                        continue;
                                cp = cnr_df_clean_path(srcs.v[i]);
                                /* .dockerignore keeps it out of the context: BuildKit's
                                 * CopyIgnoredFile; the executor will not find it. */
                                if (s->pl->ig && cp[0] && !strpbrk(cp, "*?[") && cnr_df_ignore_match(s->pl->ig, cp) &&
                                    cnr_df_context_find(s->pl->ctx, cp) == NULL) {
                                        cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "CopyIgnoredFile",
                                                         "attempting to %s file `%s` that is excluded by "
                                                         ".dockerignore",
                                                         in->kind == CNR_DF_ADD ? "Add" : "Copy", srcs.v[i]);
                                        step->provisional = true;
                                        free(step->note);
                                        step->note = xasprintf("source `%s` is excluded by .dockerignore: it is "
                                                               "not in the build context",
                                                               srcs.v[i]);
                                        continue;
                                }
                                cnr_df_strv_push(&local, srcs.v[i]);
                        }
                        if (local.n > 0) {
                                if (cnr_df_sources_digest(s->pl->ctx, s->pl->ig, &local, &excl, dg, &nm, &err) < 0) {
                                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "%s: %s", kw, err->msg);
                                        cnr_err_free(&err);
                                        cnr_df_strv_free(&local);
                                        goto out;
                                }
                                step->sources = xstrdup(dg);
                                json_object_set_new(def, "content", json_string(dg));
                        }
                        cnr_df_strv_free(&local);
                }
        }
        /* history: COPY [--parents] [--chown=x] [--chmod=y] srcs dest */
        cnr_df_buf_adds(&cb, kw);
        if (cnr_df_instr_flagb(in, "parents"))
                cnr_df_buf_adds(&cb, " --parents");
        if (xchown)
                cnr_df_buf_addf(&cb, " --chown=%s", xchown);
        if (xchmod)
                cnr_df_buf_addf(&cb, " --chmod=%s", xchmod);
        sl = cnr_df_strv_join(&srcs, " ");
        cnr_df_buf_addf(&cb, " %s %s", sl, dest);
        step->text = xstrdup(cb.s);
        if (from)
                dl = xasprintf("%s --from=%s", kw, from);
        if (dl) {
                free(step->text);
                step->text = xasprintf("%s%s", dl, cb.s + strlen(kw));
        }
        cnr_df_buf_adds(&cb, " # buildkit");
        step->created_by = cnr_df_buf_steal(&cb);
        step->layer = true;
        step->history = true;
        rc = 0;
        goto out;
experr:
        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "%s: %s", kw, err->msg);
        cnr_err_free(&err);
out:
        free(img);
        free(cb.s);
        cnr_df_strv_free(&srcs);
        cnr_df_strv_free(&excl);
        return rc;
}

static int
do_arg(struct sstate *s, const struct cnr_df_instr *in, struct cnr_df_step *step, json_t *def)
{
        struct cnr_df_plan *p = s->pl->p;
        struct cnr_df_strv shown = {0};
        struct cnr_err *err = NULL;
        _cleanup_free_ char *x = NULL;

        for (size_t i = 0; i < in->args.n; i++) {
                const char *name = in->args.v[i];
                const char *ba = cnr_df_vars_get(&s->pl->o->build_args, name);
                _cleanup_free_ char *val = NULL;

                if (!cnr_df_strv_has(&s->pl->consumed, name))
                        cnr_df_strv_push(&s->pl->consumed, name);
                if (in->has_default[i] && cnr_df_sexpand(s, in->defaults.v[i], &val, &err) < 0) {
                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "ARG %s: %s", name, err->msg);
                        cnr_err_free(&err);
                        continue;
                }
                if (ba) {
                        free(val);
                        val = xstrdup(ba);
                } else if (!in->has_default[i]) {
                        const char *mv = cnr_df_vars_get(&s->pl->meta, name);
                        if (mv == NULL && !cnr_df_strv_has(&s->pl->meta_declared, name))
                                mv = cnr_df_vars_get(&s->pl->platform, name);
                        if (mv)
                                val = xstrdup(mv);
                }
                if (!cnr_df_strv_has(&s->declared, name))
                        cnr_df_strv_push(&s->declared, name);
                if (val) {
                        cnr_df_vars_set(&s->args, name, val);
                        cnr_df_strv_take(&shown, xasprintf("%s=%s", name, val));
                } else {
                        cnr_df_vars_unset(&s->args, name);
                        cnr_df_strv_push(&shown, name);
                }
        }
        x = cnr_df_strv_join(&shown, " ");
        json_object_set_new(def, "args", cnr_df_strv_json(&shown));
        step->created_by = xasprintf("ARG %s", x);
        step->text = xasprintf("ARG %s", x);
        cnr_df_strv_free(&shown);
        return 0;
}

static int
do_instr(struct sstate *s, const struct cnr_df_instr *in, bool trigger)
{
        struct cnr_df_step *step = new_step(s, in, trigger);
        json_t *def = json_object();
        int rc;

        json_object_set_new(def, "op",
                            json_string(in->kind == CNR_DF_ONBUILD ? "onbuild" : cnr_df_kind_name(in->kind)));
        step->history = in->kind != CNR_DF_ONBUILD;
        switch (in->kind) {
        case CNR_DF_RUN:
                rc = do_run(s, in, step, def);
                break;
        case CNR_DF_COPY:
        case CNR_DF_ADD:
                rc = do_copy(s, in, step, def);
                break;
        case CNR_DF_ARG:
                rc = do_arg(s, in, step, def);
                break;
        default:
                rc = cnr_df_config_instr(s, in, step, def);
                break;
        }
        if (rc == 0) {
                seal(s, step, def);
                return 0;
        }
        json_decref(def);
        /* Drop the half-made step. */
        s->st->nsteps--;
        free(step->text);
        free(step->created_by);
        free(step->note);
        free(step->sources);
        return -1;
}

/* ---- stages --------------------------------------------------------------- */

static void
sstate_free(struct sstate *s)
{
        cnr_df_vars_free(&s->env);
        cnr_df_vars_free(&s->args);
        cnr_df_strv_free(&s->declared);
        cnr_df_strv_free(&s->shell);
        cnr_df_strv_free(&s->unmatched);
        free(s->workdir);
        free(s->user);
        json_decref(s->config);
        json_decref(s->history);
}

/* An error of a trigger's own text: drop its "FILE:LINE: " (the line is
 * the trigger's, not the Dockerfile's). */
static const char *
trigger_msg(const struct cnr_df_plan *p, const char *m)
{
        size_t fl = strlen(p->file);
        const char *q;

        if (strncmp(m, p->file, fl) == 0 && m[fl] == ':') {
                q = m + fl + 1;
                while (*q >= '0' && *q <= '9')
                        q++;
                if (q[0] == ':' && q[1] == ' ')
                        return q + 2;
        }
        return m;
}

/* The base's ONBUILD triggers, in registration order, before the stage's
 * own instructions; each step says where it came from, its position is
 * the FROM line.  ONBUILD, FROM and MAINTAINER may not be triggers. */
static void
run_triggers(struct sstate *s, const struct cnr_df_strv *triggers, const char *origin)
{
        struct cnr_df_plan *p = s->pl->p;
        struct cnr_df_stage *st = s->st;

        for (size_t i = 0; i < triggers->n; i++) {
                struct cnr_df_ast *ast = NULL;
                struct cnr_err *err = NULL;

                if (cnr_df_parse(triggers->v[i], strlen(triggers->v[i]), p->file, &ast, &err) < 0) {
                        cnr_df_plan_diag(p, CNR_DF_ERROR, st->line, NULL, "%s, trigger %zu: %s", origin, i + 1,
                                         trigger_msg(p, err->msg));
                        cnr_err_free(&err);
                        continue;
                }
                p->trigger_asts = xrealloc(p->trigger_asts, (p->ntrigger_asts + 1) * sizeof(*p->trigger_asts));
                p->trigger_asts[p->ntrigger_asts++] = ast;
                for (size_t k = 0; k < ast->nnodes; k++) {
                        struct cnr_df_instr *in;
                        size_t before;
                        if (cnr_df_instr_build(ast->nodes[k], p->file, &in, &err) < 0) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, st->line, NULL, "%s, trigger %zu: %s", origin, i + 1,
                                                 trigger_msg(p, err->msg));
                                cnr_err_free(&err);
                                continue;
                        }
                        in->line = st->line;
                        p->trigger_ins = xrealloc(p->trigger_ins, (p->ntrigger_ins + 1) * sizeof(*p->trigger_ins));
                        p->trigger_ins[p->ntrigger_ins++] = in;
                        if (in->kind == CNR_DF_ONBUILD || in->kind == CNR_DF_FROM || in->kind == CNR_DF_MAINTAINER) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, st->line, NULL,
                                                 "%s, trigger %zu: %s isn't allowed as an ONBUILD trigger", origin,
                                                 i + 1, cnr_df_kind_name(in->kind));
                                continue;
                        }
                        before = st->nsteps;
                        do_instr(s, in, true);
                        if (st->nsteps > before)
                                st->steps[st->nsteps - 1].origin = xasprintf("%s, trigger %zu", origin, i + 1);
                }
        }
}

static void
dispatch_stage(struct planner *pl, struct cnr_df_stage *st)
{
        struct cnr_df_plan *p = pl->p;
        struct sstate s = {.pl = pl, .st = st};
        struct cnr_df_strv triggers = {0};
        struct cnr_df_image_facts facts = {0};
        _cleanup_free_ char *origin = NULL;

        if (st->base_stage >= 0) {
                const struct cnr_df_stage *b = &p->stages[st->base_stage];
                cnr_df_config_start(&s, b, NULL);
                memcpy(st->base_key, b->final_key, sizeof(st->base_key));
                st->facts_unknown = b->facts_unknown;
                for (size_t i = 0; i < b->onbuild.n; i++)
                        cnr_df_strv_push(&triggers, b->onbuild.v[i]);
                origin = xasprintf("ONBUILD from stage `%s`", b->display);
        } else {
                _cleanup_free_ char *src = NULL;

                if (!st->scratch && pl->o->image)
                        pl->o->image(st->image_ref, st->platform, &facts, pl->o->image_arg);
                if (st->scratch) {
                        src = xasprintf("scratch\n%s", st->platform);
                } else if (facts.known && !facts.missing && facts.config_digest) {
                        /* The content decides: the config digest names the
                         * layers (diff_ids) and the config, whatever the tag. */
                        for (size_t i = 0; i < facts.onbuild.n; i++)
                                cnr_df_strv_push(&triggers, facts.onbuild.v[i]);
                        src = xasprintf("image\n%s\n%s", facts.config_digest, st->platform);
                        st->image_id = xstrdup(facts.config_digest);
                        st->image_platform = xstrdup(facts.platform ? facts.platform : "");
                        if (facts.platform && !cnr_df_platform_match(st->platform, facts.platform))
                                cnr_df_plan_diag(p, CNR_DF_WARN, st->line, "InvalidBaseImagePlatform",
                                                 "base image `%s` was pulled with platform `%s`, expected `%s` for "
                                                 "current build",
                                                 st->image_ref, facts.platform, st->platform);
                        origin = xasprintf("ONBUILD from image `%s`", st->image_ref);
                } else {
                        if (facts.known && facts.missing)
                                cnr_df_plan_diag(p, CNR_DF_ERROR, st->line, NULL,
                                                 "base image `%s` is not in the local store: pull it first "
                                                 "(containr pull %s)",
                                                 st->image_ref, st->image_ref);
                        st->facts_unknown = true;
                        facts.known = false;
                        src = xasprintf("image\n%s\nunresolved\n%s", st->image_ref, st->platform);
                }
                cnr_df_sha256_hex(src, strlen(src), st->base_key);
                cnr_df_config_start(&s, NULL, &facts);
                cnr_df_image_facts_clear(&facts);
        }
        memcpy(s.fs_key, st->base_key, sizeof(s.fs_key));
        run_triggers(&s, &triggers, origin);
        cnr_df_strv_free(&triggers);
        for (size_t i = 0; i < st->nins; i++)
                do_instr(&s, st->ins[i], false);
        memcpy(st->final_key, s.fs_key, sizeof(st->final_key));
        /* What stages built on this one inherit. */
        cnr_df_vars_copy(&st->env, &s.env);
        cnr_df_vars_copy(&st->args, &s.args);
        st->config = json_incref(s.config);
        st->history = json_incref(s.history);
        for (size_t i = 0; i < s.unmatched.n; i++)
                if (!cnr_df_strv_has(&s.declared, s.unmatched.v[i]))
                        cnr_df_plan_diag(p, CNR_DF_WARN, st->line, "UndefinedVar",
                                         "usage of undefined variable `$%s` in stage `%s`", s.unmatched.v[i],
                                         st->display);
        sstate_free(&s);
}

static int
make_stages(struct planner *pl)
{
        struct cnr_df_plan *p = pl->p;
        struct cnr_err *err = NULL;
        size_t i = 0;

        /* Meta ARGs. */
        for (; i < p->nins && p->ins[i]->kind != CNR_DF_FROM; i++) {
                const struct cnr_df_instr *in = p->ins[i];
                struct cnr_df_lex lx = {.escape = p->ast->escape, .lookup = meta_lookup, .arg = pl};

                if (in->kind != CNR_DF_ARG) {
                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL,
                                         "no build stage in current context: %s comes before the first FROM",
                                         cnr_df_kind_name(in->kind));
                        continue;
                }
                for (size_t k = 0; k < in->args.n; k++) {
                        const char *name = in->args.v[k];
                        const char *ba = cnr_df_vars_get(&pl->o->build_args, name);
                        char *val = NULL;

                        if (!cnr_df_strv_has(&pl->consumed, name))
                                cnr_df_strv_push(&pl->consumed, name);
                        if (in->has_default[k] && cnr_df_expand(&lx, in->defaults.v[k], &val, &err) < 0) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "ARG %s: %s", name, err->msg);
                                cnr_err_free(&err);
                                continue;
                        }
                        if (val)
                                cnr_df_vars_set(&pl->meta_defaults, name, val);
                        else
                                cnr_df_vars_unset(&pl->meta_defaults, name);
                        if (ba) {
                                free(val);
                                val = xstrdup(ba);
                        }
                        if (!cnr_df_strv_has(&pl->meta_declared, name))
                                cnr_df_strv_push(&pl->meta_declared, name);
                        if (val) {
                                cnr_df_vars_set(&pl->meta, name, val);
                                cnr_df_strv_take(&p->meta_args, xasprintf("%s=%s", name, val));
                        } else {
                                cnr_df_vars_unset(&pl->meta, name);
                                cnr_df_strv_push(&p->meta_args, name);
                        }
                        free(val);
                }
        }
        if (i == p->nins) {
                cnr_df_plan_diag(p, CNR_DF_ERROR, 0, NULL, "dockerfile contains no stages to build");
                return -1;
        }
        for (; i < p->nins; i++) {
                const struct cnr_df_instr *in = p->ins[i];
                struct cnr_df_stage *st;
                struct cnr_df_lex lx = {.escape = p->ast->escape, .lookup = meta_lookup, .arg = pl};
                struct cnr_df_strv unmatched = {0};
                const char *plat = cnr_df_instr_flagv(in, "platform");

                if (in->kind != CNR_DF_FROM) {
                        st = &p->stages[p->nstages - 1];
                        st->ins = xrealloc(st->ins, (st->nins + 1) * sizeof(*st->ins));
                        st->ins[st->nins++] = in;
                        continue;
                }
                p->stages = xrealloc(p->stages, (p->nstages + 1) * sizeof(*p->stages));
                st = &p->stages[p->nstages];
                memset(st, 0, sizeof(*st));
                st->index = (int)p->nstages++;
                st->base_stage = -1;
                st->line = in->line;
                st->level = 0;
                lx.unmatched = &unmatched;
                if (cnr_df_expand(&lx, in->args.v[0], &st->base, &err) < 0) {
                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "FROM: %s", err->msg);
                        cnr_err_free(&err);
                        st->base = xstrdup("scratch");
                }
                for (size_t k = 0; k < unmatched.n; k++)
                        cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "UndefinedArgInFrom",
                                         "FROM argument `%s` is not declared", unmatched.v[k]);
                lint_default_from(pl, in);
                cnr_df_strv_free(&unmatched);
                if (st->base[0] == '\0')
                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "base name (%s) should not be blank",
                                         in->args.v[0]);
                if (plat) {
                        if (cnr_df_expand(&lx, plat, &st->platform, &err) < 0) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "FROM --platform: %s", err->msg);
                                cnr_err_free(&err);
                        } else if (st->platform[0] == '\0' || strncmp(st->platform, "linux", 5) != 0) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL,
                                                 "FROM --platform=`%s`: only linux platforms are supported",
                                                 st->platform);
                        }
                }
                if (st->platform == NULL || st->platform[0] == '\0') {
                        free(st->platform);
                        st->platform = xstrdup(p->platform);
                }
                if (in->stage_name) {
                        st->name = xstrdup(in->stage_name);
                        for (size_t k = 0; k + 1 < p->nstages; k++)
                                if (p->stages[k].name && strcmp(p->stages[k].name, st->name) == 0)
                                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, "DuplicateStageName",
                                                         "duplicate stage name `%s` (first defined on line %d)",
                                                         st->name, p->stages[k].line);
                }
                st->display = st->name ? xstrdup(st->name) : xasprintf("stage-%d", st->index);
                for (size_t k = 0; k + 1 < p->nstages; k++) {
                        if (p->stages[k].name && strcasecmp(p->stages[k].name, st->base) == 0) {
                                st->base_stage = (int)k;
                        }
                }
                if (st->base_stage >= 0) {
                        add_dep(st, st->base_stage);
                } else if (strcasecmp(st->base, "scratch") == 0) {
                        st->scratch = true;
                } else if (st->base[0]) {
                        st->image_ref = cnr_df_image_normalize(st->base);
                        add_ext(st, st->image_ref);
                }
        }
        return 0;
}

static void
mark_needed(struct cnr_df_plan *p, int i)
{
        struct cnr_df_stage *st = &p->stages[i];

        if (st->needed)
                return;
        st->needed = true;
        for (size_t k = 0; k < st->ndeps; k++)
                mark_needed(p, st->deps[k]);
}

void
cnr_df_plan_images(const struct cnr_df_plan *p, struct cnr_df_strv *refs, struct cnr_df_strv *platforms)
{
        for (size_t i = 0; i < p->nstages; i++) {
                const struct cnr_df_stage *st = &p->stages[i];
                if (!st->needed)
                        continue;
                for (size_t k = 0; k < st->ext_images.n; k++) {
                        bool seen = false;
                        for (size_t j = 0; j < refs->n && !seen; j++)
                                seen = !strcmp(refs->v[j], st->ext_images.v[k]) &&
                                       !strcmp(platforms->v[j], st->ext_platforms.v[k]);
                        if (seen)
                                continue;
                        cnr_df_strv_push(refs, st->ext_images.v[k]);
                        cnr_df_strv_push(platforms, st->ext_platforms.v[k]);
                }
        }
}

void
cnr_df_plan_free(struct cnr_df_plan *p)
{
        if (p == NULL)
                return;
        for (size_t i = 0; i < p->nstages; i++) {
                struct cnr_df_stage *st = &p->stages[i];
                free(st->name);
                free(st->display);
                free(st->base);
                free(st->image_ref);
                free(st->platform);
                free(st->deps);
                cnr_df_strv_free(&st->ext_images);
                cnr_df_strv_free(&st->ext_platforms);
                free(st->image_id);
                free(st->image_platform);
                for (size_t k = 0; k < st->nsteps; k++) {
                        free(st->steps[k].text);
                        free(st->steps[k].sources);
                        free(st->steps[k].note);
                        free(st->steps[k].created_by);
                        free(st->steps[k].origin);
                }
                free(st->steps);
                json_decref(st->config);
                json_decref(st->history);
                cnr_df_vars_free(&st->env);
                cnr_df_vars_free(&st->args);
                cnr_df_strv_free(&st->onbuild);
                free(st->ins);
        }
        free(p->stages);
        for (size_t i = 0; i < p->ntrigger_ins; i++)
                cnr_df_instr_free(p->trigger_ins[i]);
        free(p->trigger_ins);
        for (size_t i = 0; i < p->ntrigger_asts; i++)
                cnr_df_ast_free(p->trigger_asts[i]);
        free(p->trigger_asts);
        for (size_t i = 0; i < p->nins; i++)
                cnr_df_instr_free(p->ins[i]);
        free(p->ins);
        for (size_t i = 0; i < p->ndiags; i++) {
                free(p->diags[i].rule);
                free(p->diags[i].msg);
                free(p->diags[i].url);
        }
        free(p->diags);
        cnr_df_strv_free(&p->meta_args);
        cnr_df_strv_free(&p->unused_build_args);
        cnr_df_ast_free(p->ast);
        free(p->platform);
        free(p->file);
        free(p);
}

static int
cmp_diag(const void *a, const void *b)
{
        const struct cnr_df_diag *x = a, *y = b;

        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        if (x->sev != y->sev)
                return x->sev == CNR_DF_ERROR ? -1 : 1;
        return x < y ? -1 : x > y;
}

int
cnr_df_plan(const char *data, size_t len, const struct cnr_df_context *ctx, const struct cnr_df_opts *opts,
            struct cnr_df_plan **out, struct cnr_err **err)
{
        struct cnr_df_plan *p = xcalloc(1, sizeof(*p));
        struct planner pl = {.p = p, .o = opts, .ctx = ctx};
        struct cnr_err *e = NULL;
        _cleanup_free_ char *build = cnr_df_host_platform();

        p->file = xstrdup(opts->file ? opts->file : "Dockerfile");
        p->platform = xstrdup(opts->platform ? opts->platform : build);
        p->target = -1;
        p->have_facts = opts->image != NULL;
        platform_vars(&pl, p->platform, build);
        if (ctx && ctx->have_ignore &&
            cnr_df_ignore_parse(ctx->ignore, ctx->ignore_len, ".dockerignore", &pl.ig, &e) < 0) {
                diag_err(p, 0, &e);
                goto done;
        }
        if (cnr_df_parse(data, len, p->file, &p->ast, &e) < 0) {
                diag_err(p, 0, &e);
                goto done;
        }
        for (size_t i = 0; i < p->ast->nwarnings; i++) {
                const struct cnr_df_diag *w = &p->ast->warnings[i];
                cnr_df_plan_diag(p, CNR_DF_WARN, w->line, w->rule, "%s", w->msg);
        }
        if (p->ast->check && strstr(p->ast->check, "error=true"))
                p->check_error = true;
        p->ins = xcalloc(p->ast->nnodes, sizeof(*p->ins));
        for (size_t i = 0; i < p->ast->nnodes; i++) {
                struct cnr_df_instr *in;
                if (cnr_df_instr_build(p->ast->nodes[i], p->file, &in, &e) < 0) {
                        diag_err(p, p->ast->nodes[i]->start_line, &e);
                        continue;
                }
                p->ins[p->nins++] = in;
        }
        if (p->nerrors > 0)
                goto done;
        if (make_stages(&pl) < 0 || p->nerrors > 0)
                goto done;
        for (size_t i = 0; i < p->nstages; i++)
                dispatch_stage(&pl, &p->stages[i]);
        /* The target and what it needs. */
        if (opts->target && opts->target[0]) {
                for (size_t i = 0; i < p->nstages; i++)
                        if (p->stages[i].name && strcasecmp(p->stages[i].name, opts->target) == 0)
                                p->target = (int)i;
                if (p->target < 0) {
                        const char **names = xcalloc(p->nstages + 1, sizeof(char *));
                        size_t nn = 0;
                        const char *hint;
                        for (size_t i = 0; i < p->nstages; i++)
                                if (p->stages[i].name)
                                        names[nn++] = p->stages[i].name;
                        hint = cnr_df_suggest(opts->target, names, nn);
                        if (hint)
                                cnr_df_plan_diag(p, CNR_DF_ERROR, 0, NULL,
                                                 "target stage `%s` could not be found (did you mean `%s`?)",
                                                 opts->target, hint);
                        else
                                cnr_df_plan_diag(p, CNR_DF_ERROR, 0, NULL, "target stage `%s` could not be found",
                                                 opts->target);
                        free(names);
                        goto done;
                }
        } else {
                p->target = (int)p->nstages - 1;
        }
        mark_needed(p, p->target);
        for (size_t i = 0; i < p->nstages; i++) {
                struct cnr_df_stage *st = &p->stages[i];
                st->level = 0;
                for (size_t k = 0; k < st->ndeps; k++)
                        if (p->stages[st->deps[k]].level + 1 > st->level)
                                st->level = p->stages[st->deps[k]].level + 1;
        }
        for (size_t i = 0; i < opts->build_args.names.n; i++) {
                const char *n = opts->build_args.names.v[i];
                if (!cnr_df_strv_has(&pl.consumed, n) && !is_proxy_arg(n) && !cnr_df_vars_get(&pl.platform, n)) {
                        cnr_df_strv_push(&p->unused_build_args, n);
                        cnr_df_plan_diag(p, CNR_DF_WARN, 0, "UnusedBuildArg",
                                         "build argument `%s` was given but no ARG declares it", n);
                }
        }
        cnr_df_lint(p, ctx, pl.ig);
done:
        if (p->ndiags > 1)
                qsort(p->diags, p->ndiags, sizeof(*p->diags), cmp_diag);
        cnr_df_ignore_free(pl.ig);
        cnr_df_vars_free(&pl.platform);
        cnr_df_vars_free(&pl.meta);
        cnr_df_vars_free(&pl.meta_defaults);
        cnr_df_strv_free(&pl.meta_declared);
        cnr_df_strv_free(&pl.consumed);
        (void)err;
        *out = p;
        return 0;
}
