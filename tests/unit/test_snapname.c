/* The snapd name policy, table-driven: what may name a snapshot
 * directory directly under the snapshot root. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "helpers/snapd/snapd.h"

static const char *const good[] = {
        "a", "A", "0", "abc", "layer-1", "sha256.abc_def", "x..y", "a.", "a-", "9_9",
        /* 128 characters: the longest name */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static const char *const bad[] = {
        "", ".", "..", "../escape", "a/b", "/etc", "/tmp/x", "a/", "/", ".hidden", "-rf", "_x",
        "a b", "a\\b", "a\nb", "a:b", "a*", "\xc3\xa9", "a\x7f",
        /* 129 characters: one too many */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static void
test_good(void **state)
{
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                if (!snapd_name_valid(good[i]))
                        fail_msg("`%s` should be a valid name", good[i]);
        }
}

static void
test_bad(void **state)
{
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (snapd_name_valid(bad[i]))
                        fail_msg("`%s` should be refused", bad[i]);
        }
        assert_false(snapd_name_valid(NULL));
}

static void
test_lengths(void **state)
{
        char buf[SNAPD_NAME_MAX + 2];

        memset(buf, 'z', sizeof(buf));
        buf[SNAPD_NAME_MAX] = '\0';
        assert_int_equal(strlen(buf), 128);
        assert_true(snapd_name_valid(buf));
        buf[SNAPD_NAME_MAX] = 'z';
        buf[SNAPD_NAME_MAX + 1] = '\0';
        assert_false(snapd_name_valid(buf));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_lengths),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
