/* Base-image facts (helpers/buildd/frontend/facts.c) and what the plan
 * does with them (plan.c, imgconfig.c):
 *   - the document's shape is checked: bad digests, wrong types, too many
 *     images are refused whole; unknown config keys are dropped;
 *   - lookups normalise the name; another platform of the same name is the
 *     same image; platforms match as the image store matches them;
 *   - a stage on an image inherits its config and history, runs its
 *     ONBUILD triggers first (positions: the FROM line, origin named),
 *     refuses FROM/ONBUILD/MAINTAINER triggers, keys on the config digest
 *     (not the name); a missing image is an error, an unknown one makes
 *     the keys provisional;
 *   - InvalidBaseImagePlatform and InvalidDefaultArgInFrom. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

#define ID1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define MAN "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static char *
doc(const char *id, const char *iplat, const char *extra_cfg)
{
        return xasprintf(
                "{\"images\":[{\"ref\":\"docker.io/library/base:1\",\"platform\":\"linux/amd64\",\"id\":\"%s\","
                "\"manifest\":\"" MAN "\",\"image_platform\":\"%s\",\"config\":{\"Env\":[\"PATH=/x\",\"A=1\"],"
                "\"WorkingDir\":\"/w\",\"User\":\"u\",\"Cmd\":[\"c\"],\"Unknown\":5,\"OnBuild\":[\"RUN on1\","
                "\"LABEL t=1\"]%s},\"history\":[{\"created_by\":\"h1\",\"empty_layer\":true,\"x\":1}]},"
                "{\"ref\":\"gone:2\",\"platform\":\"linux/amd64\",\"missing\":true}]}",
                id, iplat, extra_cfg);
}

static struct cnr_df_plan *
plan_with(const char *df, struct cnr_df_facts *f)
{
        struct cnr_df_opts o = {.file = "Dockerfile", .platform = "linux/amd64"};
        struct cnr_df_plan *p = NULL;
        struct cnr_err *err = NULL;

        if (f) {
                o.image = cnr_df_facts_lookup;
                o.image_arg = f;
        }
        assert_int_equal(cnr_df_plan(df, strlen(df), NULL, &o, &p, &err), 0);
        return p;
}

static struct cnr_df_facts *
facts(const char *id, const char *iplat, const char *extra)
{
        _cleanup_free_ char *d = doc(id, iplat, extra);
        struct cnr_df_facts *f = NULL;
        struct cnr_err *err = NULL;

        assert_int_equal(cnr_df_facts_parse(d, strlen(d), &f, &err), 0);
        return f;
}

static bool
has_diag(const struct cnr_df_plan *p, const char *rule, const char *text)
{
        for (size_t i = 0; i < p->ndiags; i++)
                if ((rule == NULL || (p->diags[i].rule && !strcmp(p->diags[i].rule, rule))) &&
                    strstr(p->diags[i].msg, text))
                        return true;
        return false;
}

static void
test_shape(void **state)
{
        static const char *const bad[] = {
                "[]",
                "{\"images\":{}}",
                "{\"images\":[{\"platform\":\"linux/amd64\"}]}",
                "{\"images\":[{\"ref\":\"a\",\"platform\":\"linux/amd64\",\"id\":\"sha256:12\",\"manifest\":\"" MAN
                "\",\"image_platform\":\"linux/amd64\"}]}",
                "{\"images\":[{\"ref\":\"a\",\"platform\":\"linux/amd64\",\"id\":\"" ID1 "\",\"manifest\":\"" MAN
                "\",\"image_platform\":\"linux/amd64\",\"config\":{\"Env\":[1]}}]}",
                "{\"images\":[{\"ref\":\"a\",\"platform\":\"linux/amd64\",\"id\":\"" ID1 "\",\"manifest\":\"" MAN
                "\",\"image_platform\":\"linux/amd64\",\"config\":{\"User\":{}}}]}",
                "{\"images\":[{\"ref\":\"a\",\"platform\":\"linux/amd64\",\"id\":\"" ID1 "\",\"manifest\":\"" MAN
                "\",\"image_platform\":\"linux/amd64\",\"history\":[{\"created_by\":7}]}]}",
                "{\"images\":[{\"ref\":\"a\\u0001\",\"platform\":\"linux/amd64\",\"missing\":true}]}",
                "{\"images\":[{\"ref\":\"a\",\"platform\":\"linux/amd64\",\"missing\":\"yes\"}]}",
                "not json",
        };
        struct cnr_df_buf many = {0};
        struct cnr_df_facts *f = NULL;
        struct cnr_err *err = NULL;
        struct cnr_df_image_facts out = {0};

        (void)state;
        for (size_t i = 0; i < CNR_ARRAY_LEN(bad); i++) {
                assert_int_equal(cnr_df_facts_parse(bad[i], strlen(bad[i]), &f, &err), -1);
                assert_null(f);
                cnr_err_free(&err);
        }
        cnr_df_buf_adds(&many, "{\"images\":[");
        for (int i = 0; i <= CNR_DF_FACTS_IMAGES; i++)
                cnr_df_buf_addf(&many, "%s{\"ref\":\"a%d\",\"platform\":\"linux/amd64\",\"missing\":true}",
                                i ? "," : "", i);
        cnr_df_buf_adds(&many, "]}");
        assert_int_equal(cnr_df_facts_parse(many.s, many.len, &f, &err), -1);
        cnr_err_free(&err);
        free(many.s);

        /* A good one: unknown config keys dropped, history reduced. */
        f = facts(ID1, "linux/amd64", "");
        assert_int_equal(cnr_df_facts_count(f), 2);
        cnr_df_facts_lookup("base:1", "linux/amd64", &out, f);
        assert_true(out.known);
        assert_false(out.missing);
        assert_string_equal(out.config_digest, ID1);
        assert_null(json_object_get(out.config, "Unknown"));
        assert_string_equal(json_string_value(json_object_get(out.config, "User")), "u");
        assert_int_equal(out.onbuild.n, 2);
        assert_null(json_object_get(json_array_get(out.history, 0), "x"));
        cnr_df_image_facts_clear(&out);
        /* another platform of the same name: the same image */
        cnr_df_facts_lookup("docker.io/library/base:1", "linux/arm64", &out, f);
        assert_true(out.known);
        cnr_df_image_facts_clear(&out);
        cnr_df_facts_lookup("gone:2", "linux/amd64", &out, f);
        assert_true(out.known && out.missing);
        cnr_df_image_facts_clear(&out);
        cnr_df_facts_lookup("other", "linux/amd64", &out, f);
        assert_false(out.known);
        cnr_df_facts_free(f);
}

static void
test_platform_match(void **state)
{
        (void)state;
        assert_true(cnr_df_platform_match("linux/amd64", "linux/amd64"));
        assert_false(cnr_df_platform_match("linux/amd64", "linux/arm64"));
        assert_true(cnr_df_platform_match("linux/arm64", "linux/arm64/v8"));
        assert_true(cnr_df_platform_match("linux/arm64/v8", "linux/arm64"));
        assert_true(cnr_df_platform_match("linux/arm", "linux/arm/v7"));
        assert_false(cnr_df_platform_match("linux/arm/v7", "linux/arm/v6"));
        assert_false(cnr_df_platform_match("windows/amd64", "linux/amd64"));
}

static void
test_plan_inherits(void **state)
{
        struct cnr_df_facts *f = facts(ID1, "linux/amd64", "");
        struct cnr_df_plan *p = plan_with("# c\nFROM base:1\nRUN own\n", f);
        const struct cnr_df_stage *st = &p->stages[0];

        (void)state;
        assert_int_equal(p->nerrors, 0);
        assert_false(st->facts_unknown);
        assert_string_equal(st->image_id, ID1);
        assert_int_equal(st->nsteps, 3);
        assert_true(st->steps[0].onbuild_trigger);
        assert_int_equal(st->steps[0].in->line, 2);
        assert_string_equal(st->steps[0].origin, "ONBUILD from image `docker.io/library/base:1`, trigger 1");
        assert_string_equal(st->steps[1].text, "LABEL t=1");
        assert_false(st->steps[2].onbuild_trigger);
        assert_false(st->steps[2].provisional);
        assert_string_equal(json_string_value(json_object_get(st->config, "WorkingDir")), "/w");
        assert_string_equal(json_string_value(json_object_get(st->config, "User")), "u");
        assert_string_equal(json_string_value(json_array_get(json_object_get(st->config, "Env"), 1)), "A=1");
        assert_null(json_object_get(st->config, "OnBuild"));
        assert_string_equal(json_string_value(json_object_get(json_array_get(st->history, 0), "created_by")), "h1");
        cnr_df_plan_free(p);
        cnr_df_facts_free(f);
}

static void
test_plan_keys(void **state)
{
        struct cnr_df_facts *f1 = facts(ID1, "linux/amd64", ""), *f2 = facts(ID2, "linux/amd64", "");
        struct cnr_df_plan *a = plan_with("FROM base:1\n", f1), *b = plan_with("FROM docker.io/library/base:1\n", f1),
                           *c = plan_with("FROM base:1\n", f2), *u = plan_with("FROM base:1\n", NULL);

        (void)state;
        assert_string_equal(a->stages[0].base_key, b->stages[0].base_key);
        assert_string_not_equal(a->stages[0].base_key, c->stages[0].base_key);
        assert_true(u->stages[0].facts_unknown);
        assert_int_equal(u->nerrors, 0);
        cnr_df_plan_free(a);
        cnr_df_plan_free(b);
        cnr_df_plan_free(c);
        cnr_df_plan_free(u);
        /* COPY --from=<image> keyed by the image */
        a = plan_with("FROM scratch\nCOPY --from=base:1 /a /a\n", f1);
        c = plan_with("FROM scratch\nCOPY --from=base:1 /a /a\n", f2);
        assert_false(a->stages[0].steps[0].provisional);
        assert_string_not_equal(a->stages[0].steps[0].cache_key, c->stages[0].steps[0].cache_key);
        cnr_df_plan_free(a);
        cnr_df_plan_free(c);
        cnr_df_facts_free(f1);
        cnr_df_facts_free(f2);
}

static void
test_plan_errors(void **state)
{
        struct cnr_df_facts *f = facts(ID1, "linux/arm64", ",\"Shell\":[\"/bin/bash\",\"-c\"]");
        struct cnr_df_facts *g = NULL;
        struct cnr_df_plan *p;
        const char *bad = "{\"images\":[{\"ref\":\"t:1\",\"platform\":\"linux/amd64\",\"id\":\"" ID1
                          "\",\"manifest\":\"" MAN "\",\"image_platform\":\"linux/amd64\",\"config\":{\"OnBuild\":["
                          "\"FROM x\",\"MAINTAINER m\",\"RUN ok\"]}}]}";
        struct cnr_err *err = NULL;

        (void)state;
        p = plan_with("FROM gone:2\n", f);
        assert_true(has_diag(p, NULL, "base image `docker.io/library/gone:2` is not in the local store"));
        assert_true(p->stages[0].facts_unknown);
        cnr_df_plan_free(p);
        p = plan_with("FROM scratch\nCOPY --from=gone:2 /a /a\n", f);
        assert_true(has_diag(p, NULL, "image `docker.io/library/gone:2` (COPY --from) is not in the local store"));
        cnr_df_plan_free(p);
        p = plan_with("FROM base:1\n", f);
        assert_true(has_diag(p, "InvalidBaseImagePlatform", "linux/arm64"));
        assert_int_equal(p->nerrors, 0);
        cnr_df_plan_free(p);
        p = plan_with("ARG T\nFROM base:${T}\n", f);
        assert_true(has_diag(p, "InvalidDefaultArgInFrom", "base:${T}"));
        cnr_df_plan_free(p);
        p = plan_with("ARG T=1\nFROM base:${T}\nARG V\nFROM base:1${V}\n", f);
        assert_false(has_diag(p, "InvalidDefaultArgInFrom", ""));
        cnr_df_plan_free(p);

        assert_int_equal(cnr_df_facts_parse(bad, strlen(bad), &g, &err), 0);
        p = plan_with("FROM t:1\n", g);
        assert_true(has_diag(p, NULL, "ONBUILD from image `docker.io/library/t:1`, trigger 1: FROM isn't allowed"));
        assert_true(has_diag(p, NULL, "trigger 2: MAINTAINER isn't allowed"));
        assert_int_equal(p->nerrors, 2);
        assert_int_equal(p->stages[0].nsteps, 1);
        assert_int_equal(p->diags[0].line, 1);
        cnr_df_plan_free(p);
        cnr_df_facts_free(g);
        cnr_df_facts_free(f);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shape),         cmocka_unit_test(test_platform_match),
                cmocka_unit_test(test_plan_inherits), cmocka_unit_test(test_plan_keys),
                cmocka_unit_test(test_plan_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
