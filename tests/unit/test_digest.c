/* Digest strings are parsed strictly before any use (THREATS.md 25). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/digest.h"

#define H64 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void
test_valid(void **state)
{
        struct cnr_digest d;

        assert_int_equal(cnr_digest_parse("sha256:" H64, &d, NULL), 0);
        assert_int_equal(d.alg, CNR_DIGEST_SHA256);
        assert_string_equal(cnr_digest_hex(&d), H64);
        assert_string_equal(d.str, "sha256:" H64);
}

static void
test_invalid(void **state)
{
        static const char *const bad[] = {
                "",
                "sha256",
                "sha256:",
                "sha256:" "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                "sha256:" "a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", /* 63 */
                "sha256:" H64 "0",                                                              /* 65 */
                "sha256:../../x",
                "sha256:" "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001/ad",
                "md5:d41d8cd98f00b204e9800998ecf8427e",
                "SHA256:" H64,
                " sha256:" H64,
                "sha256:" H64 "\n",
                "sha512:" H64,
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct cnr_digest d;
                struct cnr_err *err = NULL;

                assert_int_equal(cnr_digest_parse(bad[i], &d, &err), -1);
                assert_non_null(err);
                assert_non_null(strstr(err->msg, "digest"));
                cnr_err_free(&err);
        }
}

static void
test_hash_vector(void **state)
{
        struct cnr_digest d, copy;

        cnr_digest_buf(CNR_DIGEST_SHA256, "abc", 3, &d);
        assert_string_equal(d.str, "sha256:" H64);
        copy = d; /* copies stay valid */
        assert_string_equal(cnr_digest_hex(&copy), H64);
        assert_true(cnr_digest_equal(&d, &copy));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_hash_vector),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
