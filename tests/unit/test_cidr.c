/* IPv4 prefixes (common/cidr.c): what the network pool, `network create
 * --subnet` and netd's route list go through. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/cidr.h"

static void
test_parse(void **state)
{
        static const struct {
                const char *in;
                bool strict;
                int rc;
                const char *out; /* formatted back */
        } cases[] = {
                {"10.88.0.0/16", true, 0, "10.88.0.0/16"},
                {"10.88.1.0/24", true, 0, "10.88.1.0/24"},
                {"0.0.0.0/0", true, 0, "0.0.0.0/0"},
                {"192.0.2.7/32", true, 0, "192.0.2.7/32"},
                {"10.88.0.1/16", true, -1, NULL},           /* host bits */
                {"10.88.0.1/16", false, 0, "10.88.0.0/16"}, /* masked (routes) */
                {"10.88.0.0/33", true, -1, NULL},
                {"10.88.0.0/", true, -1, NULL},
                {"10.88.0.0", true, -1, NULL},
                {"10.88.0/16", true, -1, NULL},
                {"10.88.0.0/+16", true, -1, NULL},
                {"10.88.0.0/16 ", true, -1, NULL},
                {"256.0.0.0/8", true, -1, NULL},
                {"fd00::/8", true, -1, NULL},
                {"/16", true, -1, NULL},
                {"", true, -1, NULL},
                {"10.88.0.0.0.0.0.0.0.0/16", true, -1, NULL},
        };
        char buf[32];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cnr_cidr4 c;
                int rc = cnr_cidr4_parse(cases[i].in, cases[i].strict, &c);

                if (rc != cases[i].rc)
                        fail_msg("`%s` (strict %d): %d, want %d", cases[i].in, cases[i].strict, rc, cases[i].rc);
                if (rc == 0)
                        assert_string_equal(cnr_cidr4_format(&c, buf, sizeof(buf)), cases[i].out);
        }
}

static void
test_overlap(void **state)
{
        static const struct {
                const char *a, *b;
                bool overlap;
        } cases[] = {
                {"10.88.0.0/16", "10.88.5.0/24", true},    {"10.88.5.0/24", "10.88.0.0/16", true},
                {"10.88.0.0/24", "10.88.1.0/24", false},   {"10.88.0.0/23", "10.88.1.0/24", true},
                {"10.88.1.0/25", "10.88.1.128/25", false}, {"0.0.0.0/0", "192.0.2.0/24", true},
                {"10.0.0.0/8", "11.0.0.0/8", false},       {"192.0.2.1/32", "192.0.2.0/24", true},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cnr_cidr4 a, b;

                assert_int_equal(cnr_cidr4_parse(cases[i].a, false, &a), 0);
                assert_int_equal(cnr_cidr4_parse(cases[i].b, false, &b), 0);
                if (cnr_cidr4_overlap(&a, &b) != cases[i].overlap)
                        fail_msg("%s vs %s: overlap %d, want %d", cases[i].a, cases[i].b, !cases[i].overlap,
                                 cases[i].overlap);
        }
}

static void
test_mask_and_addresses(void **state)
{
        char buf[16];

        assert_int_equal(cnr_cidr4_mask(0), 0);
        assert_int_equal(cnr_cidr4_mask(8), 0xff000000u);
        assert_int_equal(cnr_cidr4_mask(24), 0xffffff00u);
        assert_int_equal(cnr_cidr4_mask(32), 0xffffffffu);
        assert_string_equal(cnr_ip4_format(0x0a580001u, buf, sizeof(buf)), "10.88.0.1");
        assert_string_equal(cnr_ip4_format(0xffffffffu, buf, sizeof(buf)), "255.255.255.255");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_overlap),
                cmocka_unit_test(test_mask_and_addresses),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
