/* The image config and history a stage implies (layer 3, beside
 * plan.c).  A stage starts from its base: a stage of the same Dockerfile
 * (its config cloned without OnBuild, its history kept as the prefix), an
 * image whose facts the image store supplied (the same, from the image's
 * config and history: Env, Cmd, Entrypoint, WorkingDir, User, Shell,
 * ExposedPorts, Volumes, Labels, Healthcheck, StopSignal), or scratch / an
 * image without facts (only PATH and, for scratch, WorkingDir "/").  Then each instruction that only changes the
 * config (ENV, LABEL, WORKDIR, USER, VOLUME, EXPOSE, CMD, ENTRYPOINT,
 * SHELL, STOPSIGNAL, HEALTHCHECK, MAINTAINER, ONBUILD) updates it, and
 * every step but ONBUILD appends a history entry: created_by in
 * BuildKit's formats, comment "buildkit.dockerfile.v0", empty_layer for
 * the steps that make no layer.
 *
 * ENTRYPOINT resets an inherited CMD unless the stage set CMD itself;
 * shell-form CMD sets ArgsEscaped; `ENTRYPOINT []` is null. */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "helpers/buildd/frontend/planner.h"

void
cnr_df_config_env(struct sstate *s)
{
        json_t *a = json_array();

        for (size_t i = 0; i < s->env.names.n; i++)
                json_array_append_new(a, json_sprintf("%s=%s", s->env.names.v[i], s->env.values.v[i]));
        json_object_set_new(s->config, "Env", a);
}

static void
env_from_config(struct sstate *s)
{
        json_t *env = json_object_get(s->config, "Env");
        size_t i;
        json_t *v;

        json_array_foreach(env, i, v)
        {
                const char *e = json_string_value(v), *eq = e ? strchr(e, '=') : NULL;
                if (eq) {
                        _cleanup_free_ char *k = xstrndup(e, (size_t)(eq - e));
                        cnr_df_vars_set(&s->env, k, eq + 1);
                }
        }
}

static char *
quoted_list(const struct cnr_df_strv *sv)
{
        struct cnr_df_buf b = {0};

        cnr_df_buf_addc(&b, '[');
        for (size_t i = 0; i < sv->n; i++) {
                if (i)
                        cnr_df_buf_addc(&b, ' ');
                cnr_df_buf_quote(&b, sv->v[i]);
        }
        cnr_df_buf_addc(&b, ']');
        return cnr_df_buf_steal(&b);
}

static bool
valid_signal(const char *s)
{
        static const char *const names[] = {"ABRT", "ALRM",   "BUS",  "CHLD",   "CLD",   "CONT", "FPE",  "HUP",  "ILL",
                                            "INT",  "IO",     "IOT",  "KILL",   "PIPE",  "POLL", "PROF", "PWR",  "QUIT",
                                            "SEGV", "STKFLT", "STOP", "SYS",    "TERM",  "TRAP", "TSTP", "TTIN", "TTOU",
                                            "URG",  "USR1",   "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ"};
        const char *n = s;
        char *end;

        if (isdigit((unsigned char)*s)) {
                unsigned long v = strtoul(s, &end, 10);
                return *end == '\0' && v >= 1 && v <= 64;
        }
        if (strncasecmp(n, "SIG", 3) == 0)
                n += 3;
        for (size_t i = 0; i < CNR_ARRAY_LEN(names); i++)
                if (strcasecmp(n, names[i]) == 0)
                        return true;
        if (strncasecmp(n, "RTMIN", 5) == 0 || strncasecmp(n, "RTMAX", 5) == 0) {
                const char *q = n + 5;
                if (*q == '\0')
                        return true;
                if (*q != '+' && *q != '-')
                        return false;
                unsigned long v = strtoul(q + 1, &end, 10);
                return q[1] != '\0' && *end == '\0' && v <= 30;
        }
        return false;
}

static int
cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
do_expose(struct sstate *s, const struct cnr_df_instr *in, struct cnr_df_step *step, json_t *def)
{
        struct cnr_df_plan *p = s->pl->p;
        struct cnr_df_strv words = {0}, ports = {0};
        struct cnr_err *err = NULL;
        json_t *ep = json_object_get(s->config, "ExposedPorts");
        int rc = -1;

        for (size_t i = 0; i < in->args.n; i++)
                if (cnr_df_sexpand_words(s, in->args.v[i], &words, &err) < 0) {
                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "EXPOSE: %s", err->msg);
                        cnr_err_free(&err);
                        goto out;
                }
        for (size_t i = 0; i < words.n; i++) {
                char *w = words.v[i], *slash = strchr(w, '/'), *dash, *end;
                const char *proto = "tcp";
                unsigned long lo, hi;

                if (slash) {
                        *slash = '\0';
                        proto = slash + 1;
                        if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp")) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "invalid proto: `%s`", proto);
                                goto out;
                        }
                }
                if (strchr(w, ':')) {
                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, "ExposeInvalidFormat",
                                         "EXPOSE `%s`: an IP address or host port does not belong in EXPOSE", w);
                        goto out;
                }
                dash = strchr(w, '-');
                lo = strtoul(w, &end, 10);
                if (end == w || (dash ? end != dash : *end != '\0') || lo == 0 || lo > 65535) {
                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "invalid containerPort: `%s`", w);
                        goto out;
                }
                hi = lo;
                if (dash) {
                        hi = strtoul(dash + 1, &end, 10);
                        if (end == dash + 1 || *end || hi < lo || hi > 65535) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "invalid port range: `%s`", w);
                                goto out;
                        }
                }
                for (unsigned long port = lo; port <= hi; port++) {
                        char key[32], lp[8];
                        size_t k;
                        for (k = 0; proto[k] && k < sizeof(lp) - 1; k++)
                                lp[k] = (char)tolower((unsigned char)proto[k]);
                        lp[k] = '\0';
                        snprintf(key, sizeof(key), "%lu/%s", port, lp);
                        json_object_set_new(ep, key, json_object());
                        if (!cnr_df_strv_has(&ports, key))
                                cnr_df_strv_push(&ports, key);
                }
        }
        json_object_set_new(def, "ports", cnr_df_strv_json(&ports));
        {
                /* History lists every exposed port, sorted. */
                struct cnr_df_strv all = {0};
                const char *k;
                json_t *v;
                _cleanup_free_ char *j = NULL;
                json_object_foreach(ep, k, v) cnr_df_strv_push(&all, k);
                if (all.n > 1)
                        qsort(all.v, all.n, sizeof(char *), cmp_str);
                j = cnr_df_strv_join(&all, " ");
                step->created_by = xasprintf("EXPOSE [%s]", j);
                cnr_df_strv_free(&all);
        }
        {
                _cleanup_free_ char *pj = cnr_df_strv_join(&ports, " ");
                step->text = xasprintf("EXPOSE %s", pj);
        }
        rc = 0;
out:
        cnr_df_strv_free(&words);
        cnr_df_strv_free(&ports);
        return rc;
}

static void
healthcheck(struct sstate *s, const struct cnr_df_instr *in, struct cnr_df_step *step)
{
        json_t *hc = json_object(), *test = json_array();
        struct cnr_df_buf b = {0};
        _cleanup_free_ char *t = NULL;

        if (strcmp(in->hc_type, "NONE") == 0) {
                json_array_append_new(test, json_string("NONE"));
        } else if (in->json) {
                json_array_append_new(test, json_string("CMD"));
                for (size_t i = 1; i < in->args.n; i++)
                        json_array_append_new(test, json_string(in->args.v[i]));
        } else {
                json_array_append_new(test, json_string("CMD-SHELL"));
                json_array_append_new(test, json_string(in->args.v[1]));
        }
        json_object_set_new(hc, "Test", test);
        if (in->hc_interval)
                json_object_set_new(hc, "Interval", json_integer(in->hc_interval));
        if (in->hc_timeout)
                json_object_set_new(hc, "Timeout", json_integer(in->hc_timeout));
        if (in->hc_start_period)
                json_object_set_new(hc, "StartPeriod", json_integer(in->hc_start_period));
        if (in->hc_start_interval)
                json_object_set_new(hc, "StartInterval", json_integer(in->hc_start_interval));
        if (cnr_df_instr_flagv(in, "retries"))
                json_object_set_new(hc, "Retries", json_integer(in->hc_retries));
        t = json_dumps(hc, JSON_COMPACT | JSON_SORT_KEYS);
        cnr_df_buf_addf(&b, "HEALTHCHECK %s", t);
        step->created_by = cnr_df_buf_steal(&b);
        step->text = xstrdup(in->node->original);
        json_object_set_new(s->config, "Healthcheck", hc);
}

void
cnr_df_config_start(struct sstate *s, const struct cnr_df_stage *base, const struct cnr_df_image_facts *facts)
{
        if (base) {
                s->config = json_deep_copy(base->config);
                json_object_del(s->config, "OnBuild");
                s->history = json_deep_copy(base->history);
                cnr_df_vars_copy(&s->env, &base->env);
                cnr_df_vars_copy(&s->args, &base->args);
                for (size_t i = 0; i < base->args.names.n; i++)
                        cnr_df_strv_push(&s->declared, base->args.names.v[i]);
        } else {
                s->config = json_object();
                s->history = json_array();
                if (facts && facts->known) {
                        if (json_is_object(facts->config)) {
                                json_decref(s->config);
                                s->config = json_deep_copy(facts->config);
                                json_object_del(s->config, "OnBuild");
                        }
                        if (json_is_array(facts->history)) {
                                json_decref(s->history);
                                s->history = json_deep_copy(facts->history);
                        }
                        env_from_config(s);
                }
                if (cnr_df_vars_get(&s->env, "PATH") == NULL)
                        cnr_df_vars_set(&s->env, "PATH", CNR_DF_DEFAULT_PATH);
                cnr_df_config_env(s);
                if (s->st->scratch)
                        json_object_set_new(s->config, "WorkingDir", json_string("/"));
        }
        {
                const char *wd = json_string_value(json_object_get(s->config, "WorkingDir"));
                const char *u = json_string_value(json_object_get(s->config, "User"));
                json_t *sh = json_object_get(s->config, "Shell");
                size_t i;
                json_t *v;
                s->workdir = xstrdup(wd && *wd ? wd : "/");
                s->user = u && *u ? xstrdup(u) : NULL;
                json_array_foreach(sh, i, v) cnr_df_strv_push(&s->shell, json_string_value(v));
                if (s->shell.n == 0) {
                        cnr_df_strv_push(&s->shell, "/bin/sh");
                        cnr_df_strv_push(&s->shell, "-c");
                }
        }
}

void
cnr_df_config_history(struct sstate *s, const struct cnr_df_step *step)
{
        json_t *h;

        if (!step->history || step->created_by == NULL)
                return;
        h = json_object();
        json_object_set_new(h, "created_by", json_string(step->created_by));
        json_object_set_new(h, "comment", json_string("buildkit.dockerfile.v0"));
        if (!step->layer)
                json_object_set_new(h, "empty_layer", json_true());
        json_array_append_new(s->history, h);
}

int
cnr_df_config_instr(struct sstate *s, const struct cnr_df_instr *in, struct cnr_df_step *step, json_t *def)
{
        struct cnr_df_plan *p = s->pl->p;
        struct cnr_err *err = NULL;
        struct cnr_df_strv tmp = {0};
        char *x = NULL;

        switch (in->kind) {
        case CNR_DF_ONBUILD: {
                json_t *ob = json_object_get(s->config, "OnBuild");
                if (!json_is_array(ob)) {
                        ob = json_array();
                        json_object_set_new(s->config, "OnBuild", ob);
                }
                json_array_append_new(ob, json_string(in->trigger_text));
                cnr_df_strv_push(&s->st->onbuild, in->trigger_text);
                step->text = xasprintf("ONBUILD %s", in->trigger_text);
                json_object_set_new(def, "trigger", json_string(in->trigger_text));
                break;
        }
        case CNR_DF_ENV:
        case CNR_DF_LABEL: {
                struct cnr_df_strv kv = {0};
                bool env = in->kind == CNR_DF_ENV;
                json_t *labels = json_object_get(s->config, "Labels");

                for (size_t i = 0; i + 1 < in->args.n; i += 2) {
                        char *k, *v;
                        if (cnr_df_sexpand(s, in->args.v[i], &k, &err) < 0) {
                                cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "%s: %s", cnr_df_kind_name(in->kind),
                                                 err->msg);
                                cnr_err_free(&err);
                                cnr_df_strv_free(&kv);
                                goto fail;
                        }
                        if (cnr_df_sexpand(s, in->args.v[i + 1], &v, &err) < 0) {
                                free(k);
                                cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "%s: %s", cnr_df_kind_name(in->kind),
                                                 err->msg);
                                cnr_err_free(&err);
                                cnr_df_strv_free(&kv);
                                goto fail;
                        }
                        cnr_df_strv_take(&kv, k);
                        cnr_df_strv_take(&kv, v);
                }
                /* All pairs saw the old values; now apply. */
                for (size_t i = 0; i + 1 < kv.n; i += 2) {
                        if (env) {
                                cnr_df_vars_set(&s->env, kv.v[i], kv.v[i + 1]);
                        } else {
                                if (!json_is_object(labels)) {
                                        labels = json_object();
                                        json_object_set_new(s->config, "Labels", labels);
                                }
                                json_object_set_new(labels, kv.v[i], json_string(kv.v[i + 1]));
                        }
                        cnr_df_strv_take(&tmp, xasprintf("%s=%s", kv.v[i], kv.v[i + 1]));
                }
                if (env) {
                        /* ENV keeps the order of first definition: rebuild Env in place. */
                        cnr_df_config_env(s);
                }
                x = cnr_df_strv_join(&tmp, " ");
                json_object_set_new(def, "pairs", cnr_df_strv_json(&tmp));
                step->created_by = xasprintf("%s %s", cnr_df_kind_name(in->kind), x);
                step->text = xstrdup(step->created_by);
                cnr_df_strv_free(&kv);
                break;
        }
        case CNR_DF_WORKDIR: {
                char *abs;
                if (cnr_df_sexpand(s, in->args.v[0], &x, &err) < 0)
                        goto experr;
                abs = cnr_df_path_join(s->workdir, x);
                free(s->workdir);
                s->workdir = abs;
                json_object_set_new(s->config, "WorkingDir", json_string(abs));
                json_object_set_new(def, "path", json_string(abs));
                json_object_set_new(def, "user", json_string(s->user ? s->user : ""));
                step->layer = strcmp(abs, "/") != 0;
                step->created_by = xasprintf("WORKDIR %s", abs);
                step->text = xstrdup(step->created_by);
                break;
        }
        case CNR_DF_USER:
                if (cnr_df_sexpand(s, in->args.v[0], &x, &err) < 0)
                        goto experr;
                if (*x == '\0') {
                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "USER: the user is empty");
                        goto fail;
                }
                free(s->user);
                s->user = xstrdup(x);
                json_object_set_new(s->config, "User", json_string(x));
                json_object_set_new(def, "user", json_string(x));
                step->created_by = xasprintf("USER %s", x);
                step->text = xstrdup(step->created_by);
                break;
        case CNR_DF_VOLUME: {
                json_t *vols = json_object_get(s->config, "Volumes");
                if (!json_is_object(vols)) {
                        vols = json_object();
                        json_object_set_new(s->config, "Volumes", vols);
                }
                for (size_t i = 0; i < in->args.n; i++) {
                        char *v;
                        if (cnr_df_sexpand(s, in->args.v[i], &v, &err) < 0)
                                goto experr;
                        if (*v == '\0') {
                                free(v);
                                cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL,
                                                 "VOLUME specified can not be an empty string");
                                goto fail;
                        }
                        json_object_set_new(vols, v, json_object());
                        cnr_df_strv_take(&tmp, v);
                }
                x = cnr_df_strv_join(&tmp, " ");
                json_object_set_new(def, "volumes", cnr_df_strv_json(&tmp));
                step->created_by = xasprintf("VOLUME [%s]", x);
                step->text = xasprintf("VOLUME %s", x);
                break;
        }
        case CNR_DF_EXPOSE:
                if (!json_is_object(json_object_get(s->config, "ExposedPorts")))
                        json_object_set_new(s->config, "ExposedPorts", json_object());
                if (do_expose(s, in, step, def) < 0)
                        goto fail;
                break;
        case CNR_DF_CMD:
        case CNR_DF_ENTRYPOINT: {
                bool cmd = in->kind == CNR_DF_CMD;
                json_t *v;
                cnr_df_command_argv(s, in, 0, &tmp);
                x = quoted_list(&tmp);
                v = (!cmd && in->json && tmp.n == 0) ? json_null() : cnr_df_strv_json(&tmp);
                json_object_set_new(s->config, cmd ? "Cmd" : "Entrypoint", v);
                if (cmd) {
                        s->cmd_set = true;
                        if (!in->json)
                                json_object_set_new(s->config, "ArgsEscaped", json_true());
                } else if (!s->cmd_set) {
                        json_object_set_new(s->config, "Cmd", json_null());
                }
                json_object_set_new(def, "argv", cnr_df_strv_json(&tmp));
                step->created_by = xasprintf("%s %s", cnr_df_kind_name(in->kind), x);
                step->text = xstrdup(step->created_by);
                break;
        }
        case CNR_DF_SHELL:
                cnr_df_strv_free(&s->shell);
                for (size_t i = 0; i < in->args.n; i++)
                        cnr_df_strv_push(&s->shell, in->args.v[i]);
                json_object_set_new(s->config, "Shell", cnr_df_strv_json(&s->shell));
                x = cnr_df_strv_join(&s->shell, " ");
                json_object_set_new(def, "shell", cnr_df_strv_json(&s->shell));
                step->created_by = xasprintf("SHELL [%s]", x);
                step->text = xstrdup(in->node->original);
                break;
        case CNR_DF_STOPSIGNAL:
                if (cnr_df_sexpand(s, in->args.v[0], &x, &err) < 0)
                        goto experr;
                if (!valid_signal(x)) {
                        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "invalid signal: `%s`", x);
                        goto fail;
                }
                json_object_set_new(s->config, "StopSignal", json_string(x));
                json_object_set_new(def, "signal", json_string(x));
                step->created_by = xasprintf("STOPSIGNAL %s", x);
                step->text = xstrdup(step->created_by);
                break;
        case CNR_DF_HEALTHCHECK:
                healthcheck(s, in, step);
                json_object_set_new(def, "healthcheck", json_deep_copy(json_object_get(s->config, "Healthcheck")));
                break;
        case CNR_DF_MAINTAINER:
                json_object_set_new(s->config, "Author", json_string(in->args.v[0]));
                json_object_set_new(def, "author", json_string(in->args.v[0]));
                step->created_by = xasprintf("MAINTAINER %s", in->args.v[0]);
                step->text = xstrdup(step->created_by);
                break;
        default:
                break;
        }
        free(x);
        cnr_df_strv_free(&tmp);
        return 0;
experr:
        cnr_df_plan_diag(p, CNR_DF_ERROR, in->line, NULL, "%s: %s", cnr_df_kind_name(in->kind), err->msg);
        cnr_err_free(&err);
fail:
        free(x);
        cnr_df_strv_free(&tmp);
        return -1;
}
