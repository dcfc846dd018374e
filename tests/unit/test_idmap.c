/* User-namespace id maps (common/idmap.c): the check the monitor applies
 * to MakeUserns before it writes a map as root, and the shim to its spec
 * (THREATS 15: the host's root is never mapped, no id reaches 2^31). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/idmap.h"

#define R(c, h, s) {(c), (h), (s)}

static void
test_check(void **state)
{
        static const struct {
                const char *name;
                struct cnr_idmap m[CNR_IDMAP_MAX_RANGES + 1];
                size_t n;
                int code; /* 0 = accepted */
        } cases[] = {
                {"auto range", {R(0, 100000, 65536)}, 1, 0},
                {"one id", {R(0, 1, 1)}, 1, 0},
                {"up to 2^31-1", {R(0, 0x7fffffffU - 65535, 65536)}, 1, 0},
                {"two ranges", {R(0, 100000, 1000), R(1000, 300000, 1000)}, 2, 0},
                {"host root", {R(0, 0, 1)}, 1, EPERM},
                {"host root, wide", {R(0, 0, 65536)}, 1, EPERM},
                {"host root in a second range", {R(0, 100000, 10), R(10, 0, 1)}, 2, EPERM},
                {"host range past 2^31-1", {R(0, 0x7fffffffU, 2)}, 1, EINVAL},
                {"host id 2^31", {R(0, 0x80000000U, 1)}, 1, EINVAL},
                {"host id -1", {R(0, 0xffffffffU, 1)}, 1, EINVAL},
                {"container range past 2^31-1", {R(0x7fffffffU, 100000, 2)}, 1, EINVAL},
                {"container id -1", {R(0xffffffffU, 100000, 1)}, 1, EINVAL},
                {"size wraps", {R(0, 100000, 0xffffffffU)}, 1, EINVAL},
                {"empty range", {R(0, 100000, 0)}, 1, EINVAL},
                {"no range", {R(0, 100000, 1)}, 0, EINVAL},
                {"container sides overlap", {R(0, 100000, 10), R(5, 200000, 10)}, 2, EINVAL},
                {"host sides overlap", {R(0, 100000, 10), R(10, 100005, 10)}, 2, EINVAL},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cnr_err *err = NULL;
                int r = cnr_idmap_check("uid_map", cases[i].m, cases[i].n, &err);

                if (cases[i].code == 0) {
                        if (r != 0)
                                fail_msg("%s: refused: %s", cases[i].name, err ? err->msg : "?");
                } else {
                        if (r != -1 || err == NULL)
                                fail_msg("%s: accepted", cases[i].name);
                        if (err->code != cases[i].code)
                                fail_msg("%s: errno %d, want %d (%s)", cases[i].name, err->code, cases[i].code,
                                         err->msg);
                        assert_non_null(strstr(err->msg, "uid_map"));
                }
                cnr_err_free(&err);
        }
}

static void
test_too_many(void **state)
{
        struct cnr_idmap m[CNR_IDMAP_MAX_RANGES + 1];
        struct cnr_err *err = NULL;

        (void)state;
        for (uint32_t i = 0; i <= CNR_IDMAP_MAX_RANGES; i++)
                m[i] = (struct cnr_idmap){i * 10, 100000 + i * 10, 10};
        assert_int_equal(cnr_idmap_check("gid_map", m, CNR_IDMAP_MAX_RANGES, &err), 0);
        assert_int_equal(cnr_idmap_check("gid_map", m, CNR_IDMAP_MAX_RANGES + 1, &err), -1);
        assert_int_equal(err->code, EINVAL);
        cnr_err_free(&err);
}

static void
test_format(void **state)
{
        struct cnr_idmap m[2] = {R(0, 100000, 65536), R(65536, 300000, 1)};
        char buf[64], tiny[10];

        (void)state;
        assert_int_equal(cnr_idmap_format(m, 2, buf, sizeof(buf)), (int)strlen("0 100000 65536\n65536 300000 1\n"));
        assert_string_equal(buf, "0 100000 65536\n65536 300000 1\n");
        assert_int_equal(cnr_idmap_format(m, 1, tiny, sizeof(tiny)), -1);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_too_many),
                cmocka_unit_test(test_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
