/* IPv4 prefixes (common/cidr.c): what the network pool, `network create
 * --subnet` and netd's route list go through. */
#include "config.h"

#include <arpa/inet.h>

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

static void
test_ipv6(void **state)
{
        static const struct {
                const char *in;
                bool strict;
                int rc;
                const char *out;
        } parse[] = {
                {"fd00:1234::/64", true, 0, "fd00:1234::/64"},
                {"FD00:1234:0:0::/64", true, 0, "fd00:1234::/64"},
                {"fd00:1234::1/64", true, -1, NULL},
                {"fd00:1234::1/64", false, 0, "fd00:1234::/64"},
                {"fd00:1234:5678:9abc::/61", false, 0, "fd00:1234:5678:9ab8::/61"},
                {"::/0", true, 0, "::/0"},
                {"fd00::/129", false, -1, NULL},
                {"fd00::", false, -1, NULL},
                {"10.0.0.0/8", false, -1, NULL},
                {"fd00::/", false, -1, NULL},
        };
        static const struct {
                const char *a, *b;
                bool overlap;
        } ov[] = {
                {"fd00::/64", "fd00::/48", true},
                {"fd00::/48", "fd00:0:0:1::/64", true},
                {"fd00:0:0:1::/64", "fd00:0:0:2::/64", false},
                {"::/0", "fd00::/8", true},
                {"fd00::/8", "fe80::/10", false},
                {"fd00::1/128", "fd00::/127", true},
        };
        struct cnr_cidr6 c, d;
        uint8_t a[16];
        char buf[64];

        for (size_t i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
                int rc = cnr_cidr6_parse(parse[i].in, parse[i].strict, &c);

                if (rc != parse[i].rc)
                        fail_msg("%s (strict %d): rc %d, want %d", parse[i].in, parse[i].strict, rc, parse[i].rc);
                if (rc == 0)
                        assert_string_equal(cnr_cidr6_format(&c, buf, sizeof(buf)), parse[i].out);
        }
        for (size_t i = 0; i < sizeof(ov) / sizeof(ov[0]); i++) {
                assert_int_equal(cnr_cidr6_parse(ov[i].a, false, &c), 0);
                assert_int_equal(cnr_cidr6_parse(ov[i].b, false, &d), 0);
                if (cnr_cidr6_overlap(&c, &d) != ov[i].overlap || cnr_cidr6_overlap(&d, &c) != ov[i].overlap)
                        fail_msg("%s vs %s: want overlap %d", ov[i].a, ov[i].b, ov[i].overlap);
        }
        assert_int_equal(cnr_cidr6_parse("fd00:1::/64", true, &c), 0);
        assert_int_equal(inet_pton(AF_INET6, "fd00:1::ffff", a), 1);
        assert_true(cnr_cidr6_contains(&c, a));
        assert_int_equal(inet_pton(AF_INET6, "fd00:2::1", a), 1);
        assert_false(cnr_cidr6_contains(&c, a));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_overlap),
                cmocka_unit_test(test_mask_and_addresses),
                cmocka_unit_test(test_ipv6),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
