/* .dockerignore (helpers/buildd/frontend/ignore.c): patterns, `**`, `!`
 * exceptions and their order, parents, cleaning, comments. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

struct row {
        const char *rules; /* the .dockerignore */
        const char *path;
        bool excluded;
};

static const struct row rows[] = {
        {"", "a", false},
        {"a", "a", true},
        {"a", "a/b/c", true}, /* a directory excludes what is under it */
        {"a", "ab", false},
        {"a", "b/a", false},     /* patterns are anchored at the root */
        {"/a", "a", true},       /* a leading slash changes nothing */
        {"./a/../b", "b", true}, /* cleaned like a path */
        {"*.md", "README.md", true},
        {"*.md", "docs/README.md", false},
        {"*/*.md", "docs/README.md", true},
        {"**/*.md", "docs/README.md", true},
        {"**/*.md", "README.md", true}, /* ** matches no directory too */
        {"**/*.md", "a/b/c/README.md", true},
        {"docs/**", "docs/a/b", true},
        {"a/**/z", "a/z", true},
        {"a/**/z", "a/b/c/z", true},
        {"a/**/z", "a/b/c/y", false},
        {"?.txt", "a.txt", true},
        {"?.txt", "ab.txt", false},
        {"[ab].txt", "b.txt", true},
        {"[!ab].txt", "c.txt", true},
        {"*.md\n!README.md", "README.md", false},
        {"*.md\n!README.md", "NOTES.md", true},
        {"!README.md\n*.md", "README.md", true}, /* the last matching rule decides */
        {"docs\n!docs/keep", "docs/keep", false},
        {"docs\n!docs/keep", "docs/keep/x", false},
        {"docs\n!docs/keep", "docs/other", true},
        {"# a comment\n\n  secret  \n", "secret", true},
        {"# secret", "# secret", false},
        {"\\#hash", "#hash", true},
        {"a\r\n", "a", true}, /* CRLF files */
        {"!", "a", false},    /* an empty exception is nothing */
        {".git\n*.log", ".git/config", true},
        {".git\n*.log", "x.log", true},
        {".git\n*.log", "logs/x.log", false},
};

static void
test_rows(void **state)
{
        (void)state;
        for (size_t i = 0; i < CNR_ARRAY_LEN(rows); i++) {
                struct cnr_df_ignore *ig = NULL;
                struct cnr_err *err = NULL;

                assert_int_equal(cnr_df_ignore_parse(rows[i].rules, strlen(rows[i].rules), ".dockerignore", &ig, &err),
                                 0);
                if (cnr_df_ignore_match(ig, rows[i].path) != rows[i].excluded)
                        fail_msg("rules `%s`, path `%s`: want %s", rows[i].rules, rows[i].path,
                                 rows[i].excluded ? "excluded" : "included");
                cnr_df_ignore_free(ig);
        }
}

static void
test_counts(void **state)
{
        struct cnr_df_ignore *ig = NULL;
        struct cnr_err *err = NULL;
        const char *r = "# c\na\n\n!b\n";

        (void)state;
        assert_int_equal(cnr_df_ignore_parse(r, strlen(r), ".dockerignore", &ig, &err), 0);
        assert_int_equal(cnr_df_ignore_count(ig), 2);
        assert_true(cnr_df_ignore_may_reinclude(ig, "a"));
        cnr_df_ignore_free(ig);
        assert_false(cnr_df_ignore_match(NULL, "a"));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rows),
                cmocka_unit_test(test_counts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
