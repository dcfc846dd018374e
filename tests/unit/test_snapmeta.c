/* snapshot.json of snapshot archives (supervisor/snapmeta.c): the
 * accepted shape, what is dropped or ignored (THREATS.md 23), and the
 * documents refused. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "supervisor/snapmeta.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DID "sha256:" D64

static int
parse(const char *doc, struct cnr_snapmeta *m, int *code)
{
        struct cnr_err *err = NULL;
        int r = cnr_snapmeta_parse(doc, strlen(doc), m, &err);

        *code = err ? err->code : 0;
        if (r < 0) {
                assert_non_null(err);
                assert_non_null(err->msg);
        }
        cnr_err_free(&err);
        return r;
}

static void
test_minimal(void **state)
{
        struct cnr_snapmeta m;
        int code;

        (void)state;
        assert_int_equal(parse("{\"version\":1,\"diff_id\":\"" DID "\"}", &m, &code), 0);
        assert_string_equal(m.diff_id, DID);
        assert_string_equal(m.name, "");
        assert_int_equal(json_object_size(m.labels), 0);
        assert_int_equal(m.nparents, 0);
        cnr_snapmeta_clear(&m);
}

static void
test_hostile_fields_ignored(void **state)
{
        const char *doc = "{\"version\":1,\"diff_id\":\"" DID "\",\"name\":\"x\","
                          "\"image\":\"evil:latest\",\"annotations\":{\"io.kubernetes.cri.devices\":\"/dev/sda\"},"
                          "\"hooks\":{\"prestart\":[{\"path\":\"/bin/sh\"}]},\"devices\":[{\"path\":\"/dev/sda\"}],"
                          "\"labels\":{\"ok\":\"1\",\"io.containr.image\":\"evil\",\"io.containr.x\":\"y\"},"
                          "\"parents\":[{\"name\":\"p\",\"diff_id\":\"\"},{\"name\":\"q\",\"diff_id\":\"" DID "\"}]}";
        struct cnr_snapmeta m;
        int code;
        bool seen[4] = {false};

        (void)state;
        assert_int_equal(parse(doc, &m, &code), 0);
        assert_int_equal(json_object_size(m.labels), 1);
        assert_string_equal(json_string_value(json_object_get(m.labels, "ok")), "1");
        assert_int_equal(m.ndropped, 2);
        assert_int_equal(m.nignored, 4);
        for (size_t i = 0; i < m.nignored; i++) {
                static const char *const want[] = {"image", "annotations", "hooks", "devices"};
                for (size_t k = 0; k < 4; k++)
                        if (strcmp(m.ignored[i], want[k]) == 0)
                                seen[k] = true;
        }
        assert_true(seen[0] && seen[1] && seen[2] && seen[3]);
        assert_int_equal(m.nparents, 2);
        assert_string_equal(m.parents[0].name, "p");
        assert_string_equal(m.parents[1].diff_id, DID);
        cnr_snapmeta_clear(&m);
}

static void
test_refused(void **state)
{
        static const char *const bad[] = {
                "",
                "[]",
                "{\"version\":1}",
                "{\"version\":2,\"diff_id\":\"" DID "\"}",
                "{\"version\":\"1\",\"diff_id\":\"" DID "\"}",
                "{\"diff_id\":\"" DID "\"}",
                "{\"version\":1,\"diff_id\":\"sha256:" D64 "0\"}",
                "{\"version\":1,\"diff_id\":\"sha256:"
                "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"}",
                "{\"version\":1,\"diff_id\":\"sha512:" D64 "\"}",
                "{\"version\":1,\"diff_id\":\"" DID "\",\"diff_id\":\"" DID "\"}",
                "{\"version\":1,\"diff_id\":\"" DID "\",\"labels\":[]}",
                "{\"version\":1,\"diff_id\":\"" DID "\",\"labels\":{\"a\":1}}",
                "{\"version\":1,\"diff_id\":\"" DID "\",\"labels\":{\"a\":\"x\\u0000y\"}}",
                "{\"version\":1,\"diff_id\":\"" DID "\",\"parents\":{}}",
                "{\"version\":1,\"diff_id\":\"" DID "\",\"parents\":[{\"name\":\"\"}]}",
                "{\"version\":1,\"diff_id\":\"" DID "\",\"parents\":[{\"name\":\"p\",\"diff_id\":\"x\"}]}",
                "{\"version\":1,\"diff_id\":\"" DID "\",\"parents\":[\"p\"]}",
                "{\"version\":1,\"diff_id\":\"" DID "\",\"name\":7}",
                "{\"version\":1,\"diff_id\":\"" DID "\"} trailing",
        };
        struct cnr_snapmeta m;
        int code;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (parse(bad[i], &m, &code) == 0)
                        fail_msg("accepted: %s", bad[i]);
                assert_int_equal(code, EINVAL);
        }
}

static void
test_caps(void **state)
{
        size_t n = CNR_SNAPMETA_MAX + 1;
        char *big = malloc(n + 1);
        struct cnr_snapmeta m;
        struct cnr_err *err = NULL;
        json_t *labels = json_object();
        char *doc;
        int code;

        (void)state;
        memset(big, ' ', n);
        big[n] = '\0';
        assert_int_equal(cnr_snapmeta_parse(big, n, &m, &err), -1);
        assert_int_equal(err->code, EFBIG);
        cnr_err_free(&err);
        free(big);
        for (int i = 0; i <= CNR_SNAPMETA_MAX_LABELS; i++) {
                char k[16];
                snprintf(k, sizeof(k), "l%d", i);
                json_object_set_new(labels, k, json_string("v"));
        }
        json_t *j = json_pack("{s:i,s:s,s:o}", "version", 1, "diff_id", DID, "labels", labels);
        doc = json_dumps(j, 0);
        json_decref(j);
        assert_int_equal(parse(doc, &m, &code), -1);
        free(doc);
}

static void
test_build_round_trip(void **state)
{
        struct cnr_snapmeta_parent p[1] = {{(char *)"base", DID}};
        json_t *labels = json_pack("{s:s,s:s}", "a", "b", "io.containr.secret", "x");
        json_t *doc = cnr_snapmeta_build("n", DID, labels, p, 1);
        char *s = json_dumps(doc, 0);
        struct cnr_snapmeta m;
        int code;

        (void)state;
        assert_int_equal(parse(s, &m, &code), 0);
        assert_int_equal(m.ndropped, 0); /* never exported */
        assert_int_equal(json_object_size(m.labels), 1);
        assert_string_equal(m.parents[0].name, "base");
        assert_int_equal(m.nignored, 0);
        cnr_snapmeta_clear(&m);
        free(s);
        json_decref(doc);
        json_decref(labels);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_minimal),          cmocka_unit_test(test_hostile_fields_ignored),
                cmocka_unit_test(test_refused),          cmocka_unit_test(test_caps),
                cmocka_unit_test(test_build_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
