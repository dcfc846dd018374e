/* The registry client's pure parts: WWW-Authenticate parsing, the redirect
 * policy (THREATS.md 27), origins, registry error bodies, insecure hosts. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/conf.h"
#include "supervisor/registry.h"

static void
test_challenge_bearer(void **state)
{
        struct cnr_reg_challenge c;

        assert_int_equal(cnr_reg_parse_challenge("Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
                                                 "docker.io\",scope=\"repository:samalba/my-app:pull,push\"",
                                                 &c, NULL),
                         0);
        assert_string_equal(c.scheme, "bearer");
        assert_string_equal(c.realm, "https://auth.docker.io/token");
        assert_string_equal(c.service, "registry.docker.io");
        assert_string_equal(c.scope, "repository:samalba/my-app:pull,push");
        cnr_reg_challenge_clear(&c);
        /* case-insensitive scheme and names, spaces, escapes, no scope */
        assert_int_equal(cnr_reg_parse_challenge("BEARER  Realm = \"https://r/t?a=\\\"b\\\"\" , SERVICE=svc", &c, NULL),
                         0);
        assert_string_equal(c.realm, "https://r/t?a=\"b\"");
        assert_string_equal(c.service, "svc");
        assert_null(c.scope);
        cnr_reg_challenge_clear(&c);
        /* a resource name with a port is kept whole */
        assert_int_equal(cnr_reg_parse_challenge("Bearer realm=\"https://a/t\",scope=\"repository:h:5000/x:pull\"", &c,
                                                 NULL),
                         0);
        assert_string_equal(c.scope, "repository:h:5000/x:pull");
        cnr_reg_challenge_clear(&c);
}

static void
test_challenge_basic_and_bad(void **state)
{
        struct cnr_reg_challenge c;
        struct cnr_err *err = NULL;

        assert_int_equal(cnr_reg_parse_challenge("Basic realm=\"registry\"", &c, NULL), 0);
        assert_string_equal(c.scheme, "basic");
        assert_string_equal(c.realm, "registry");
        cnr_reg_challenge_clear(&c);
        /* an unknown scheme first, then one we speak */
        assert_int_equal(cnr_reg_parse_challenge("Negotiate abc==, Basic realm=\"x\"", &c, NULL), 0);
        assert_string_equal(c.scheme, "basic");
        cnr_reg_challenge_clear(&c);
        assert_int_equal(cnr_reg_parse_challenge("Bearer service=\"x\"", &c, &err), -1); /* no realm */
        cnr_err_free(&err);
        assert_int_equal(cnr_reg_parse_challenge("Bearer realm=\"unterminated", &c, &err), -1);
        cnr_err_free(&err);
        assert_int_equal(cnr_reg_parse_challenge("Negotiate", &c, &err), -1);
        cnr_err_free(&err);
        assert_int_equal(cnr_reg_parse_challenge("", &c, &err), -1);
        cnr_err_free(&err);
}

static void
test_redirects(void **state)
{
        struct cnr_err *err = NULL;
        char *to = NULL;

        assert_int_equal(cnr_reg_redirect_target("https://r.io/v2/x/blobs/sha256:1", "/storage/abc", &to, NULL), 0);
        assert_string_equal(to, "https://r.io/storage/abc");
        free(to);
        assert_int_equal(cnr_reg_redirect_target("https://r.io/v2/x/blobs/a", "https://cdn.example/b?sig=1", &to, NULL),
                         0);
        assert_string_equal(to, "https://cdn.example/b?sig=1");
        free(to);
        assert_int_equal(cnr_reg_redirect_target("http://127.0.0.1:5000/v2/", "http://127.0.0.2:9/x", &to, NULL), 0);
        free(to);
        /* https -> http refused; other schemes refused */
        assert_int_equal(cnr_reg_redirect_target("https://r.io/v2/x", "http://r.io/v2/x", &to, &err), -1);
        assert_non_null(strstr(err->msg, "plain http"));
        cnr_err_free(&err);
        assert_int_equal(cnr_reg_redirect_target("https://r.io/v2/x", "file:///etc/passwd", &to, &err), -1);
        cnr_err_free(&err);
        assert_int_equal(cnr_reg_redirect_target("https://r.io/v2/x", "ftp://r.io/x", &to, &err), -1);
        cnr_err_free(&err);
}

static void
test_origin(void **state)
{
        assert_true(cnr_reg_same_origin("https://r.io/a", "https://R.IO:443/b"));
        assert_false(cnr_reg_same_origin("https://r.io/a", "http://r.io/a"));
        assert_false(cnr_reg_same_origin("https://r.io/a", "https://r.io:444/a"));
        assert_false(cnr_reg_same_origin("http://127.0.0.1:5000/", "http://127.0.0.2:5000/"));
        assert_false(cnr_reg_same_origin("https://r.io/", "https://r.io.evil.com/"));
        assert_false(cnr_reg_same_origin("https://r.io/", "https://evil.com/r.io"));
}

static void
test_error_body(void **state)
{
        char *m = cnr_reg_error_body("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"},"
                                     "{\"code\":\"X\",\"message\":\"a\\nb\"}]}",
                                     99);

        assert_non_null(m);
        assert_string_equal(m, "MANIFEST_UNKNOWN: manifest unknown; X: a?b");
        free(m);
        assert_null(cnr_reg_error_body("not json", 8));
        assert_null(cnr_reg_error_body(NULL, 0));
}

static void
test_insecure(void **state)
{
        struct cnr_config_registry rc = {.host = "reg.local:5000", .insecure = true};
        struct cnr_config cfg = {.registries = &rc, .nregistries = 1};
        struct cnr_reg *r = NULL;

        assert_true(cnr_reg_host_insecure(NULL, "localhost:5000"));
        assert_true(cnr_reg_host_insecure(NULL, "127.0.0.1:5000"));
        assert_true(cnr_reg_host_insecure(NULL, "127.1.2.3"));
        assert_true(cnr_reg_host_insecure(NULL, "[::1]:5000"));
        assert_false(cnr_reg_host_insecure(NULL, "128.0.0.1:5000"));
        assert_false(cnr_reg_host_insecure(NULL, "docker.io"));
        assert_false(cnr_reg_host_insecure(NULL, "localhost.evil.com"));
        assert_false(cnr_reg_host_insecure(NULL, "reg.local:5000"));
        struct event_base *base = event_base_new();
        assert_int_equal(cnr_reg_new(base, NULL, &cfg, &r, NULL), 0);
        assert_true(cnr_reg_host_insecure(r, "reg.local:5000"));
        assert_false(cnr_reg_host_insecure(r, "reg.local:5001"));
        assert_string_equal(cnr_reg_api_host("docker.io"), "registry-1.docker.io");
        assert_string_equal(cnr_reg_api_host("quay.io"), "quay.io");
        cnr_reg_free(r);
        event_base_free(base);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_challenge_bearer), cmocka_unit_test(test_challenge_basic_and_bad),
                cmocka_unit_test(test_redirects),        cmocka_unit_test(test_origin),
                cmocka_unit_test(test_error_body),       cmocka_unit_test(test_insecure),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
