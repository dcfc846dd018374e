/* Word expansion (helpers/buildd/frontend/lex.c): one table row per rule,
 * with the environment PWD=/home SHELL=bash KOREAN=한국어 NULL= (empty)
 * FOO=xxyy STARS=xx** SPACED="abc  def" and the escape character \. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

static const char *
env(const char *name, void *arg)
{
        static const char *const kv[][2] = {{"PWD", "/home"},       {"SHELL", "bash"},   {"KOREAN", "한국어"},
                                            {"NULL", ""},           {"FOO", "xxyy"},     {"STARS", "xx**"},
                                            {"SPACED", "abc  def"}, {"SLASHY", "a/b/c"}, {"NEEDLE", "?"},
                                            {"REPL", "!"},          {"EMPTY", ""}};
        (void)arg;
        for (size_t i = 0; i < CNR_ARRAY_LEN(kv); i++)
                if (strcmp(kv[i][0], name) == 0)
                        return kv[i][1];
        return NULL;
}

struct row {
        const char *in;
        const char *out; /* NULL: an error */
};

static const struct row rows[] = {
        /* quoting and escapes */
        {"he'll'o", "hello"},
        {"he'llo", NULL},
        {"he\\'llo", "he'llo"},
        {"he\\\\'llo", NULL},
        {"abc\\tdef", "abctdef"},
        {"\"abc\\tdef\"", "abc\\tdef"},
        {"'abc\\tdef'", "abc\\tdef"},
        {"hello\\", "hello"},
        {"hello\\\\", "hello\\"},
        {"\"a \\\"q\\\" \\$PWD \\\\\"", "a \"q\" $PWD \\"},
        {"\"unterminated", NULL},
        {"'$PWD'", "$PWD"},
        {"\"$PWD\"", "/home"},
        /* plain variables */
        {"$PWD", "/home"},
        {"${PWD}", "/home"},
        {"$pwd", ""},
        {"he$PWD", "he/home"},
        {"$.", "$."},
        {"he$1x", "hex"},
        {"he$.x", "he$.x"},
        {"he\\$PWD", "he$PWD"},
        {"he\\\\$PWD", "he\\/home"},
        {"\\${}", "${}"},
        {"$", "$"},
        {"${KOREAN}", "한국어"},
        {"$@@@", "@@"},
        {"$#$?$$$!$-$*x", "x"},
        {"${aaa}}", "}"},
        /* defaults and alternatives */
        {"${aaa:-bbb}", "bbb"},
        {"${aaa:-bbb}}", "bbb}"},
        {"${aaa:-bbb {foo}", "bbb {foo"},
        {"${aaa:-bbb ${foo}", NULL},
        {"${NULL:-x}", "x"},
        {"${NULL-x}", ""},
        {"${PWD:-x}", "/home"},
        {"${NULL:+x}", ""},
        {"${NULL+x}", "x"},
        {"${PWD:+x}", "x"},
        {"${aaa+x}", ""},
        {"${PWD:+${PWD}:}", "/home:"},
        {"${XXX:-${YYY:-yyy}}", "yyy"},
        {"${999:-bbb}aaa", "bbbaaa"},
        {"${aaa:-'quoted $PWD'}", "quoted $PWD"},
        {"${aaa:-\"$PWD\"}", "/home"},
        {"${PWD:-${aaa:?never evaluated}}", "/home"},
        /* required */
        {"${aaa:?no aaa}", NULL},
        {"${NULL:?empty}", NULL},
        {"${NULL?x}", ""},
        {"${aaa?x}", NULL},
        {"${PWD:?x}", "/home"},
        /* prefix and suffix */
        {"${FOO#*x*y}", "y"},
        {"${FOO#*}", "xxyy"},
        {"${FOO##*x}", "yy"},
        {"${FOO#x}", "xyy"},
        {"${FOO##x*}", ""},
        {"${FOO%y}", "xxy"},
        {"${FOO%%y*}", "xx"},
        {"${FOO%y*}", "xxy"},
        {"${STARS%%\\**}", "xx"},
        {"${SLASHY##*/}", "c"},
        {"${SLASHY%/*}", "a/b"},
        {"${FOO#[x]}", "xxyy"},
        {"${FOO%?}", "xxy"},
        /* replace */
        {"${FOO/x/z}", "zxyy"},
        {"${FOO//x/z}", "zzyy"},
        {"${FOO/x*/z}", "z"},
        {"${SLASHY//\\//\\/}", "a/b/c"},
        {"${SLASHY//\\//-}", "a-b-c"},
        {"${FOO/$EMPTY/ww}", "wwxxyy"},
        {"${FOO///}", "xxyy"},
        {"${FOO/$NEEDLE/$REPL}", "!xyy"},
        {"${FOO//$NEEDLE/$REPL}", "!!!!"},
        {"${FOO//}", NULL},
        {"${FOO//ww}", NULL},
        /* errors */
        {"${}", NULL},
        {"${.}", NULL},
        {"${:}", NULL},
        {"${:-x}", NULL},
        {"${{x}", NULL},
        {"${PWD", NULL},
        {"${PWD:=x}", NULL},
        {"${PWD=x}", NULL},
        {"${PWD:#}", NULL},
        {"${PWD:%}", NULL},
        {"${PWD:YYY}", NULL},
};

static void
test_rows(void **state)
{
        struct cnr_df_lex lx = {.escape = '\\', .lookup = env};

        (void)state;
        for (size_t i = 0; i < CNR_ARRAY_LEN(rows); i++) {
                struct cnr_err *err = NULL;
                char *out = NULL;
                int r = cnr_df_expand(&lx, rows[i].in, &out, &err);

                if (rows[i].out == NULL) {
                        if (r == 0)
                                fail_msg("`%s`: expected an error, got `%s`", rows[i].in, out);
                        assert_non_null(err);
                        cnr_err_free(&err);
                } else {
                        if (r != 0)
                                fail_msg("`%s`: %s", rows[i].in, err->msg);
                        if (strcmp(out, rows[i].out) != 0)
                                fail_msg("`%s`: want `%s`, got `%s`", rows[i].in, rows[i].out, out);
                }
                free(out);
        }
}

static void
test_required_message(void **state)
{
        struct cnr_df_lex lx = {.escape = '\\', .lookup = env};
        struct cnr_err *err = NULL;
        char *out = NULL;

        (void)state;
        assert_int_equal(cnr_df_expand(&lx, "${aaa:?please set aaa}", &out, &err), -1);
        assert_string_equal(err->msg, "aaa: please set aaa");
        cnr_err_free(&err);
}

static void
test_backtick_escape(void **state)
{
        struct cnr_df_lex lx = {.escape = '`', .lookup = env};
        struct cnr_err *err = NULL;
        char *out = NULL;

        (void)state;
        assert_int_equal(cnr_df_expand(&lx, "c:\\dir`$PWD", &out, &err), 0);
        assert_string_equal(out, "c:\\dir$PWD");
        free(out);
}

struct wrow {
        const char *in;
        const char *words; /* joined by | */
};

static const struct wrow wrows[] = {
        {"hello", "hello"},
        {"hello world", "hello|world"},
        {"hello${SPACED}bye", "helloabc|defbye"},
        {"\"hello${SPACED}bye\"", "helloabc  defbye"},
        {"a '' b", "a||b"},
        {"$EMPTY", ""},
        {"80/tcp $NULL 443", "80/tcp|443"},
        {"x\\ y z", "x y|z"},
        {"'a b'c d", "a bc|d"},
};

static void
test_words(void **state)
{
        struct cnr_df_lex lx = {.escape = '\\', .lookup = env};

        (void)state;
        for (size_t i = 0; i < CNR_ARRAY_LEN(wrows); i++) {
                struct cnr_df_strv w = {0};
                struct cnr_df_buf b = {0};
                struct cnr_err *err = NULL;

                if (cnr_df_expand_words(&lx, wrows[i].in, &w, &err) < 0)
                        fail_msg("`%s`: %s", wrows[i].in, err->msg);
                for (size_t k = 0; k < w.n; k++) {
                        if (k)
                                cnr_df_buf_addc(&b, '|');
                        cnr_df_buf_adds(&b, w.v[k]);
                }
                if (strcmp(b.s ? b.s : "", wrows[i].words) != 0)
                        fail_msg("`%s`: want `%s`, got `%s`", wrows[i].in, wrows[i].words, b.s ? b.s : "");
                free(b.s);
                cnr_df_strv_free(&w);
        }
}

static void
test_unmatched(void **state)
{
        struct cnr_df_strv um = {0};
        struct cnr_df_lex lx = {.escape = '\\', .lookup = env, .unmatched = &um};
        struct cnr_err *err = NULL;
        char *out = NULL;

        (void)state;
        assert_int_equal(cnr_df_expand(&lx, "$PWD $NOPE ${ALSO} ${DEF:-x} $1", &out, &err), 0);
        assert_int_equal(um.n, 2);
        assert_string_equal(um.v[0], "NOPE");
        assert_string_equal(um.v[1], "ALSO");
        free(out);
        cnr_df_strv_free(&um);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rows),
                cmocka_unit_test(test_required_message),
                cmocka_unit_test(test_backtick_escape),
                cmocka_unit_test(test_words),
                cmocka_unit_test(test_unmatched),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
