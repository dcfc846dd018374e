/* Check rules: the build checks users know from BuildKit, by the same
 * names, as warnings with file:line.  The plan itself reports
 * UndefinedVar, UndefinedArgInFrom, DuplicateStageName and
 * NoEmptyContinuation (they need its state); the rest are here.
 *
 * `# check=skip=RuleA,RuleB` (or skip=all) turns rules off;
 * `# check=error=true` makes warnings fail the check. */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

bool
cnr_df_rule_enabled(const char *check, const char *rule)
{
        const char *p;

        if (check == NULL)
                return true;
        for (p = check; (p = strstr(p, "skip=")) != NULL;) {
                const char *v = p + 5, *end = v + strcspn(v, ";");
                while (v < end) {
                        size_t l = strcspn(v, ",;");
                        const char *b = v, *e;
                        if (v + l > end)
                                l = (size_t)(end - v);
                        e = v + l;
                        while (b < e && isspace((unsigned char)*b))
                                b++;
                        while (e > b && isspace((unsigned char)e[-1]))
                                e--;
                        if ((size_t)(e - b) == 3 && strncasecmp(b, "all", 3) == 0)
                                return false;
                        if ((size_t)(e - b) == strlen(rule) && strncasecmp(b, rule, strlen(rule)) == 0)
                                return false;
                        v += l + 1;
                }
                p = end;
        }
        return true;
}

static bool
all_case(const char *s, int (*pred)(int))
{
        for (; *s; s++)
                if (isalpha((unsigned char)*s) && !pred((unsigned char)*s))
                        return false;
        return true;
}

static bool
secret_name(const char *n)
{
        static const char *const words[] = {"apikey",   "auth",  "credential", "credentials", "key",
                                            "password", "pword", "passwd",     "secret",      "token"};
        _cleanup_free_ char *low = xstrdup(n);
        char *save = NULL, *tok;

        for (char *c = low; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        for (tok = strtok_r(low, "_-.", &save); tok; tok = strtok_r(NULL, "_-.", &save))
                for (size_t i = 0; i < CNR_ARRAY_LEN(words); i++)
                        if (strcmp(tok, words[i]) == 0)
                                return true;
        return false;
}

static void
casing(struct cnr_df_plan *p)
{
        size_t upper = 0, lower = 0;
        bool maj_upper;

        for (size_t i = 0; i < p->nins; i++) {
                const char *w = p->ins[i]->node->written;
                if (all_case(w, isupper))
                        upper++;
                else if (all_case(w, islower))
                        lower++;
        }
        maj_upper = upper >= lower;
        for (size_t i = 0; i < p->nins; i++) {
                const char *w = p->ins[i]->node->written;
                if (!all_case(w, maj_upper ? isupper : islower))
                        cnr_df_plan_diag(p, CNR_DF_WARN, p->ins[i]->line, "ConsistentInstructionCasing",
                                         "command `%s` should match the case of the command majority (%s)", w,
                                         maj_upper ? "uppercase" : "lowercase");
        }
}

static void
stage_rules(struct cnr_df_plan *p, struct cnr_df_stage *st)
{
        const struct cnr_df_instr *from = NULL;
        int seen[CNR_DF_NKINDS] = {0};
        bool workdir_abs = st->base_stage >= 0;

        for (size_t i = 0; i < p->nins; i++)
                if (p->ins[i]->kind == CNR_DF_FROM && p->ins[i]->line == st->line)
                        from = p->ins[i];
        if (from) {
                const char *plat = cnr_df_instr_flagv(from, "platform");
                if (from->args.n == 3) {
                        bool fu = all_case(from->node->written, isupper), au = all_case(from->args.v[1], isupper);
                        bool fl = all_case(from->node->written, islower), al = all_case(from->args.v[1], islower);
                        if ((fu && !au) || (fl && !al))
                                cnr_df_plan_diag(p, CNR_DF_WARN, from->line, "FromAsCasing",
                                                 "`%s` and `%s` keywords' casing do not match", from->args.v[1],
                                                 from->node->written);
                        if (!all_case(from->args.v[2], islower))
                                cnr_df_plan_diag(p, CNR_DF_WARN, from->line, "StageNameCasing",
                                                 "stage name `%s` should be lowercase", from->args.v[2]);
                        if (st->name && (!strcmp(st->name, "scratch") || !strcmp(st->name, "context")))
                                cnr_df_plan_diag(p, CNR_DF_WARN, from->line, "ReservedStageName",
                                                 "`%s` is reserved and should not be used as a stage name", st->name);
                }
                if (plat && strchr(plat, '$') == NULL)
                        cnr_df_plan_diag(p, CNR_DF_WARN, from->line, "FromPlatformFlagConstDisallowed",
                                         "FROM --platform flag should not use a constant value `%s`", plat);
                if (plat && (!strcmp(plat, "$TARGETPLATFORM") || !strcmp(plat, "${TARGETPLATFORM}")))
                        cnr_df_plan_diag(p, CNR_DF_WARN, from->line, "RedundantTargetPlatform",
                                         "setting platform to predefined %s in FROM is redundant as this is the "
                                         "default behavior",
                                         plat);
        }
        for (size_t i = 0; i < st->nins; i++) {
                const struct cnr_df_instr *in = st->ins[i];
                const char *k = cnr_df_kind_name(in->kind);

                switch (in->kind) {
                case CNR_DF_CMD:
                case CNR_DF_ENTRYPOINT:
                case CNR_DF_HEALTHCHECK:
                        if (seen[in->kind]++)
                                cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "MultipleInstructionsDisallowed",
                                                 "multiple %s instructions should not be used in the same stage "
                                                 "because only the last one will be used",
                                                 k);
                        if (in->kind != CNR_DF_HEALTHCHECK && !in->json && in->args.n > 0)
                                cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "JSONArgsRecommended",
                                                 "JSON arguments recommended for %s to prevent unintended behavior "
                                                 "related to OS signals",
                                                 k);
                        break;
                case CNR_DF_ENV:
                case CNR_DF_LABEL:
                        if (in->node->legacy_kv)
                                cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "LegacyKeyValueFormat",
                                                 "\"%s key=value\" should be used instead of legacy \"%s key value\" "
                                                 "format",
                                                 k, k);
                        if (in->kind == CNR_DF_ENV)
                                for (size_t a = 0; a < in->args.n; a += 2)
                                        if (secret_name(in->args.v[a]))
                                                cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "SecretsUsedInArgOrEnv",
                                                                 "do not use ARG or ENV instructions for sensitive "
                                                                 "data (ENV `%s`)",
                                                                 in->args.v[a]);
                        break;
                case CNR_DF_ARG:
                        for (size_t a = 0; a < in->args.n; a++)
                                if (secret_name(in->args.v[a]))
                                        cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "SecretsUsedInArgOrEnv",
                                                         "do not use ARG or ENV instructions for sensitive data "
                                                         "(ARG `%s`)",
                                                         in->args.v[a]);
                        break;
                case CNR_DF_MAINTAINER:
                        cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "MaintainerDeprecated",
                                         "the MAINTAINER instruction is deprecated, use a label instead to define "
                                         "an image author");
                        break;
                case CNR_DF_WORKDIR:
                        if (!workdir_abs && in->args.v[0][0] != '/' && in->args.v[0][0] != '$')
                                cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "WorkdirRelativePath",
                                                 "relative workdir `%s` can have unexpected results if the base "
                                                 "image changes",
                                                 in->args.v[0]);
                        workdir_abs = true;
                        break;
                case CNR_DF_EXPOSE:
                        for (size_t a = 0; a < in->args.n; a++) {
                                const char *sl = strchr(in->args.v[a], '/');
                                if (sl && !all_case(sl + 1, islower))
                                        cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "ExposeProtoCasing",
                                                         "defined protocol `%s` in EXPOSE instruction should be "
                                                         "lowercase",
                                                         sl + 1);
                        }
                        break;
                default:
                        break;
                }
        }
}

void
cnr_df_lint(struct cnr_df_plan *p, const struct cnr_df_context *ctx, const struct cnr_df_ignore *ig)
{
        (void)ctx;
        (void)ig;
        casing(p);
        for (size_t i = 0; i < p->nins; i++) {
                const struct cnr_df_instr *in = p->ins[i];
                if (in->kind != CNR_DF_ARG)
                        continue;
                /* Meta ARGs are linted here; stage ARGs in stage_rules. */
                if (p->nstages > 0 && in->line < p->stages[0].line)
                        for (size_t a = 0; a < in->args.n; a++)
                                if (secret_name(in->args.v[a]))
                                        cnr_df_plan_diag(p, CNR_DF_WARN, in->line, "SecretsUsedInArgOrEnv",
                                                         "do not use ARG or ENV instructions for sensitive data "
                                                         "(ARG `%s`)",
                                                         in->args.v[a]);
        }
        for (size_t i = 0; i < p->nstages; i++)
                stage_rules(p, &p->stages[i]);
}
