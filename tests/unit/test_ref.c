/* Image references (common/ref.c) against tests/golden/ref/{ok,bad}.txt,
 * plus the cases a table cannot say (THREATS.md 25 for digests). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/ref.h"
#include "common/util.h"

static FILE *
golden(const char *name)
{
        const char *top = getenv("top_srcdir");
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/tests/golden/ref/%s", top ? top : ".", name);
        f = fopen(path, "re");
        if (f == NULL)
                fail_msg("cannot open %s (set top_srcdir)", path);
        return f;
}

/* Split a line at tabs into at most n fields. */
static size_t
fields(char *line, char **out, size_t n)
{
        size_t k = 0;

        line[strcspn(line, "\n")] = '\0';
        while (k < n) {
                out[k++] = line;
                line = strchr(line, '\t');
                if (line == NULL)
                        break;
                *line++ = '\0';
        }
        return k;
}

static void
test_golden_ok(void **state)
{
        FILE *f = golden("ok.txt");
        char line[1024];
        int cases = 0;

        (void)state;
        while (fgets(line, sizeof(line), f)) {
                char *fl[3] = {0};
                struct cnr_ref r;
                struct cnr_err *err = NULL;
                char fam[sizeof(r.str)];

                if (line[0] == '#' || line[0] == '\n')
                        continue;
                assert_int_equal(fields(line, fl, 3), 3);
                if (cnr_ref_parse(fl[0], &r, &err) < 0)
                        fail_msg("`%s`: %s", fl[0], cnr_err_str(err));
                if (strcmp(r.str, fl[1]) != 0)
                        fail_msg("`%s` -> `%s`, want `%s`", fl[0], r.str, fl[1]);
                cnr_ref_familiar(&r, fam, sizeof(fam));
                if (strcmp(fam, fl[2]) != 0)
                        fail_msg("`%s` familiar `%s`, want `%s`", fl[0], fam, fl[2]);
                /* Normalising is idempotent. */
                {
                        struct cnr_ref again;
                        assert_int_equal(cnr_ref_parse(r.str, &again, NULL), 0);
                        assert_string_equal(again.str, r.str);
                }
                cases++;
        }
        fclose(f);
        assert_true(cases >= 10);
}

static void
test_golden_bad(void **state)
{
        FILE *f = golden("bad.txt");
        char line[1024];
        int cases = 0;

        (void)state;
        while (fgets(line, sizeof(line), f)) {
                char *fl[2] = {0};
                struct cnr_ref r;
                struct cnr_err *err = NULL;

                if (line[0] == '#' || line[0] == '\n')
                        continue;
                assert_int_equal(fields(line, fl, 2), 2);
                if (cnr_ref_parse(fl[0], &r, &err) == 0)
                        fail_msg("`%s` was accepted as `%s`", fl[0], r.str);
                if (strstr(cnr_err_str(err), fl[1]) == NULL)
                        fail_msg("`%s`: error `%s` does not say `%s`", fl[0], cnr_err_str(err), fl[1]);
                cnr_err_free(&err);
                cases++;
        }
        fclose(f);
        assert_true(cases >= 10);
}

static void
test_parse_name_keeps_no_tag(void **state)
{
        struct cnr_ref r;

        (void)state;
        assert_int_equal(cnr_ref_parse_name("busybox", &r, NULL), 0);
        assert_string_equal(r.str, "docker.io/library/busybox");
        assert_string_equal(r.tag, "");
        assert_int_equal(cnr_ref_parse_name("quay.io/a/b:1", &r, NULL), 0);
        assert_string_equal(r.tag, "1");
        assert_string_equal(r.domain, "quay.io");
        assert_string_equal(r.path, "a/b");
}

static void
test_looks_like_id(void **state)
{
        (void)state;
        assert_true(cnr_ref_looks_like_id("a38aa486c276"));
        assert_true(cnr_ref_looks_like_id("sha256:a38a"));
        assert_false(cnr_ref_looks_like_id("busybox"));
        assert_false(cnr_ref_looks_like_id(""));
        assert_false(cnr_ref_looks_like_id("A38AA486"));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden_ok),
                cmocka_unit_test(test_golden_bad),
                cmocka_unit_test(test_parse_name_keeps_no_tag),
                cmocka_unit_test(test_looks_like_id),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
