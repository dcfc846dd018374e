/* Reports of a plan: text for people, JSON for tools.  `plan` adds the
 * stage graph, the steps with their cache keys, the target's image config
 * and history (containr build --print-plan); without it the report is the
 * diagnostics and a summary (containr build --check). */
#include "config.h"

#include <string.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

static const char *
rule_slug(const char *rule, char *buf, size_t n)
{
        size_t o = 0;

        /* JSONArgsRecommended -> json-args-recommended */
        for (size_t i = 0; rule[i] && o + 2 < n; i++) {
                char c = rule[i];
                bool up = c >= 'A' && c <= 'Z';
                bool next_low = rule[i + 1] >= 'a' && rule[i + 1] <= 'z';
                bool prev_low = i > 0 && rule[i - 1] >= 'a' && rule[i - 1] <= 'z';
                if (up && i > 0 && (prev_low || next_low))
                        buf[o++] = '-';
                buf[o++] = up ? (char)(c - 'A' + 'a') : c;
        }
        buf[o] = '\0';
        return buf;
}

static const char *
stage_base_kind(const struct cnr_df_stage *st)
{
        if (st->base_stage >= 0)
                return "stage";
        if (st->scratch)
                return "scratch";
        return st->facts_unknown ? "image-unknown" : "image";
}

static const char *
target_name(const struct cnr_df_plan *p)
{
        return p->target >= 0 ? p->stages[p->target].display : "-";
}

static void
text_diags(struct cnr_df_buf *b, const struct cnr_df_plan *p)
{
        for (size_t i = 0; i < p->ndiags; i++) {
                const struct cnr_df_diag *d = &p->diags[i];
                if (d->line > 0)
                        cnr_df_buf_addf(b, "%s:%d: ", p->file, d->line);
                else
                        cnr_df_buf_addf(b, "%s: ", p->file);
                cnr_df_buf_adds(b, d->sev == CNR_DF_ERROR ? "error: " : "warning: ");
                if (d->rule)
                        cnr_df_buf_addf(b, "%s: ", d->rule);
                cnr_df_buf_adds(b, d->msg);
                cnr_df_buf_addc(b, '\n');
        }
}

static void
text_stage(struct cnr_df_buf *b, const struct cnr_df_plan *p, const struct cnr_df_stage *st)
{
        cnr_df_buf_addf(b, "\nstage %d %s: FROM %s (line %d, %s)%s\n", st->index, st->display, st->base, st->line,
                        st->platform, st->needed ? "" : " -- not needed for the target, skipped");
        if (st->base_stage >= 0)
                cnr_df_buf_addf(b, "  base: stage %d %s\n", st->base_stage, p->stages[st->base_stage].display);
        else if (st->scratch)
                cnr_df_buf_adds(b, "  base: scratch (empty filesystem)\n");
        else if (st->facts_unknown && p->have_facts)
                cnr_df_buf_addf(b,
                                "  base: image %s -- external, not in the local image store; its config, ONBUILD "
                                "triggers and digest are not applied and the keys below are provisional\n",
                                st->image_ref);
        else if (st->facts_unknown)
                cnr_df_buf_addf(b,
                                "  base: image %s -- external; no image store was asked, so its config, ONBUILD "
                                "triggers and digest are not applied and the keys below are provisional\n",
                                st->image_ref);
        else
                cnr_df_buf_addf(b, "  base: image %s (id %s, %s)\n", st->image_ref, st->image_id,
                                st->image_platform && st->image_platform[0] ? st->image_platform : "platform unknown");
        if (st->ndeps) {
                cnr_df_buf_adds(b, "  needs stages:");
                for (size_t i = 0; i < st->ndeps; i++)
                        cnr_df_buf_addf(b, " %s", p->stages[st->deps[i]].display);
                cnr_df_buf_addc(b, '\n');
        }
        for (size_t i = 0; i < st->ext_images.n; i++)
                if (!st->image_ref || strcmp(st->ext_images.v[i], st->image_ref) != 0)
                        cnr_df_buf_addf(b, "  needs external image: %s\n", st->ext_images.v[i]);
        cnr_df_buf_addf(b, "  base key  %s\n", st->base_key);
        for (size_t i = 0; i < st->nsteps; i++) {
                const struct cnr_df_step *s = &st->steps[i];
                int line = s->in ? s->in->line : st->line;

                if (s->onbuild_trigger)
                        cnr_df_buf_addf(b, "  %2zu. line %-3d [%s] %s\n", i + 1, line,
                                        s->origin ? s->origin : "ONBUILD trigger", s->text ? s->text : "?");
                else
                        cnr_df_buf_addf(b, "  %2zu. line %-3d %s\n", i + 1, line, s->text ? s->text : "?");
                cnr_df_buf_addf(b, "      %s key %s%s\n", s->layer ? "layer   " : "metadata", s->cache_key,
                                s->provisional ? " (provisional)" : "");
                if (s->sources)
                        cnr_df_buf_addf(b, "      sources %s\n", s->sources);
                if (s->note && s->provisional)
                        cnr_df_buf_addf(b, "      note: %s\n", s->note);
        }
        cnr_df_buf_addf(b, "  final key %s\n", st->final_key);
}

char *
cnr_df_report_text(const struct cnr_df_plan *p, bool plan)
{
        struct cnr_df_buf b = {0};
        int maxlevel = 0;

        if (plan && p->nstages > 0 && p->target >= 0) {
                cnr_df_buf_addf(&b, "%s: %zu instructions, %zu stages, platform %s\n", p->file, p->nins, p->nstages,
                                p->platform);
                cnr_df_buf_addf(&b, "target: %s (stage %d)\n", target_name(p), p->target);
                if (p->meta_args.n) {
                        _cleanup_free_ char *m = NULL;
                        struct cnr_df_buf mb = {0};
                        for (size_t i = 0; i < p->meta_args.n; i++)
                                cnr_df_buf_addf(&mb, "%s%s", i ? " " : "", p->meta_args.v[i]);
                        m = cnr_df_buf_steal(&mb);
                        cnr_df_buf_addf(&b, "global ARGs: %s\n", m);
                }
                for (size_t i = 0; i < p->nstages; i++)
                        if (p->stages[i].needed && p->stages[i].level > maxlevel)
                                maxlevel = p->stages[i].level;
                cnr_df_buf_adds(&b, "build order (stages on one level can run in parallel):\n");
                for (int l = 0; l <= maxlevel; l++) {
                        cnr_df_buf_addf(&b, "  level %d:", l);
                        for (size_t i = 0; i < p->nstages; i++)
                                if (p->stages[i].needed && p->stages[i].level == l)
                                        cnr_df_buf_addf(&b, " %s", p->stages[i].display);
                        cnr_df_buf_addc(&b, '\n');
                }
                for (size_t i = 0; i < p->nstages; i++)
                        text_stage(&b, p, &p->stages[i]);
                {
                        const struct cnr_df_stage *t = &p->stages[p->target];
                        char *cfg = json_dumps(t->config, JSON_INDENT(2) | JSON_SORT_KEYS);
                        size_t i;
                        json_t *h;
                        cnr_df_buf_addf(&b, "\nimage config of the target (%s):\n%s\n", t->display, cfg ? cfg : "{}");
                        free(cfg);
                        cnr_df_buf_adds(&b, "history of the target:\n");
                        json_array_foreach(t->history, i, h)
                        {
                                cnr_df_buf_addf(&b, "  %s%s\n", json_string_value(json_object_get(h, "created_by")),
                                                json_is_true(json_object_get(h, "empty_layer")) ? "  (empty layer)"
                                                                                                : "");
                        }
                }
                cnr_df_buf_addc(&b, '\n');
        }
        text_diags(&b, p);
        cnr_df_buf_addf(&b, "%s: %zu error%s, %zu warning%s", p->file, p->nerrors, p->nerrors == 1 ? "" : "s",
                        p->nwarnings, p->nwarnings == 1 ? "" : "s");
        if (p->nstages > 0 && p->target >= 0)
                cnr_df_buf_addf(&b, "; %zu stage%s, target %s", p->nstages, p->nstages == 1 ? "" : "s", target_name(p));
        if (p->check_error && p->nwarnings > 0)
                cnr_df_buf_adds(&b, " (check=error=true: warnings fail the check)");
        cnr_df_buf_addc(&b, '\n');
        return cnr_df_buf_steal(&b);
}

json_t *
cnr_df_report_json(const struct cnr_df_plan *p, bool plan)
{
        json_t *o = json_object(), *diags = json_array(), *stages = json_array(), *ext = json_array();

        json_object_set_new(o, "file", json_string(p->file));
        json_object_set_new(o, "platform", json_string(p->platform));
        json_object_set_new(o, "errors", json_integer((json_int_t)p->nerrors));
        json_object_set_new(o, "warnings", json_integer((json_int_t)p->nwarnings));
        json_object_set_new(o, "check_error", json_boolean(p->check_error));
        for (size_t i = 0; i < p->ndiags; i++) {
                const struct cnr_df_diag *d = &p->diags[i];
                json_t *j = json_object();
                char slug[96];

                json_object_set_new(j, "file", json_string(p->file));
                json_object_set_new(j, "line", json_integer(d->line));
                json_object_set_new(j, "severity", json_string(d->sev == CNR_DF_ERROR ? "error" : "warning"));
                json_object_set_new(j, "rule", d->rule ? json_string(d->rule) : json_null());
                json_object_set_new(j, "message", json_string(d->msg));
                if (d->rule && strcmp(d->rule, "UnusedBuildArg") != 0)
                        json_object_set_new(j, "url",
                                            json_sprintf("https://docs.docker.com/go/dockerfile/rule/%s/",
                                                         rule_slug(d->rule, slug, sizeof(slug))));
                json_array_append_new(diags, j);
        }
        json_object_set_new(o, "diagnostics", diags);
        if (p->target >= 0)
                json_object_set_new(o, "target", json_string(p->stages[p->target].display));
        else
                json_object_set_new(o, "target", json_null());
        for (size_t i = 0; i < p->nstages; i++) {
                const struct cnr_df_stage *st = &p->stages[i];
                json_t *s = json_object(), *steps = json_array(), *deps = json_array();

                json_object_set_new(s, "index", json_integer(st->index));
                json_object_set_new(s, "name", json_string(st->display));
                json_object_set_new(s, "line", json_integer(st->line));
                json_object_set_new(s, "from", json_string(st->base));
                json_object_set_new(s, "base", json_string(stage_base_kind(st)));
                if (st->image_ref)
                        json_object_set_new(s, "image", json_string(st->image_ref));
                if (st->image_id) {
                        json_object_set_new(s, "image_id", json_string(st->image_id));
                        json_object_set_new(s, "image_platform", json_string(st->image_platform));
                }
                json_object_set_new(s, "platform", json_string(st->platform));
                json_object_set_new(s, "needed", json_boolean(st->needed));
                json_object_set_new(s, "level", json_integer(st->level));
                for (size_t k = 0; k < st->ndeps; k++)
                        json_array_append_new(deps, json_integer(st->deps[k]));
                json_object_set_new(s, "needs_stages", deps);
                json_object_set_new(s, "needs_images", json_array());
                for (size_t k = 0; k < st->ext_images.n; k++) {
                        json_array_append_new(json_object_get(s, "needs_images"), json_string(st->ext_images.v[k]));
                        if (st->needed) {
                                bool dup = false;
                                size_t ii;
                                json_t *v;
                                json_array_foreach(ext, ii, v) dup |=
                                        strcmp(json_string_value(v), st->ext_images.v[k]) == 0;
                                if (!dup)
                                        json_array_append_new(ext, json_string(st->ext_images.v[k]));
                        }
                }
                json_object_set_new(s, "base_key", json_string(st->base_key));
                json_object_set_new(s, "final_key", json_string(st->final_key));
                if (plan) {
                        for (size_t k = 0; k < st->nsteps; k++) {
                                const struct cnr_df_step *sp = &st->steps[k];
                                json_t *j = json_object();
                                json_object_set_new(j, "line", json_integer(sp->in ? sp->in->line : st->line));
                                json_object_set_new(j, "instruction",
                                                    json_string(sp->in ? cnr_df_kind_name(sp->in->kind) : "?"));
                                json_object_set_new(j, "text", json_string(sp->text ? sp->text : ""));
                                json_object_set_new(j, "layer", json_boolean(sp->layer));
                                json_object_set_new(j, "onbuild_trigger", json_boolean(sp->onbuild_trigger));
                                if (sp->origin)
                                        json_object_set_new(j, "origin", json_string(sp->origin));
                                json_object_set_new(j, "definition", json_string(sp->def_digest));
                                json_object_set_new(j, "cache_key", json_string(sp->cache_key));
                                json_object_set_new(j, "provisional", json_boolean(sp->provisional));
                                if (sp->sources)
                                        json_object_set_new(j, "sources", json_string(sp->sources));
                                if (sp->note)
                                        json_object_set_new(j, "note", json_string(sp->note));
                                json_array_append_new(steps, j);
                        }
                        json_object_set_new(s, "steps", steps);
                        json_object_set_new(s, "config", json_incref(st->config));
                        json_object_set_new(s, "history", json_incref(st->history));
                } else {
                        json_decref(steps);
                }
                json_array_append_new(stages, s);
        }
        json_object_set_new(o, "stages", stages);
        json_object_set_new(o, "external_images", ext);
        json_object_set_new(o, "base_image_facts",
                            json_string(p->have_facts ? "local image store"
                                                      : "unknown: no image store was asked; external images are "
                                                        "dependencies whose config, ONBUILD triggers and digest "
                                                        "are not applied"));
        return o;
}
