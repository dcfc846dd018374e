/* Manifests, indexes, configs and platforms (supervisor/manifest.c):
 * tests/golden/manifest/ok/ must parse, tests/golden/manifest/bad/X.json
 * must fail with an error containing the text of X.err (THREATS.md 25,
 * 26, 28). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "supervisor/manifest.h"

static char *
slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "re");
        char *buf;
        long n;

        if (f == NULL)
                fail_msg("open %s", path);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = xmalloc((size_t)n + 1);
        *len = fread(buf, 1, (size_t)n, f);
        buf[*len] = '\0';
        fclose(f);
        return buf;
}

static void
dir_path(char *out, size_t n, const char *sub)
{
        const char *top = getenv("top_srcdir");
        snprintf(out, n, "%s/tests/golden/manifest/%s", top ? top : ".", sub);
}

static void
test_golden_ok(void **state)
{
        char dir[512];
        DIR *d;
        struct dirent *e;
        int cases = 0;

        (void)state;
        dir_path(dir, sizeof(dir), "ok");
        d = opendir(dir);
        assert_non_null(d);
        while ((e = readdir(d))) {
                char path[1024];
                _cleanup_free_ char *buf = NULL;
                struct cnr_manifest *m = NULL;
                struct cnr_err *err = NULL;
                size_t len;

                if (!strstr(e->d_name, ".json"))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                buf = slurp(path, &len);
                if (cnr_manifest_parse(buf, len, NULL, &m, &err) < 0)
                        fail_msg("%s: %s", e->d_name, cnr_err_str(err));
                assert_false(m->nlayers > 0 && m->nmanifests > 0);
                cnr_manifest_free(m);
                cases++;
        }
        closedir(d);
        assert_true(cases >= 4);
}

static void
test_golden_bad(void **state)
{
        char dir[512];
        DIR *d;
        struct dirent *e;
        int cases = 0;

        (void)state;
        dir_path(dir, sizeof(dir), "bad");
        d = opendir(dir);
        assert_non_null(d);
        while ((e = readdir(d))) {
                char path[1024];
                _cleanup_free_ char *buf = NULL;
                _cleanup_free_ char *want = NULL;
                struct cnr_manifest *m = NULL;
                struct cnr_err *err = NULL;
                size_t len, wlen;
                char *dot;

                if (!strstr(e->d_name, ".json"))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                buf = slurp(path, &len);
                dot = strrchr(path, '.');
                strcpy(dot, ".err");
                want = slurp(path, &wlen);
                want[strcspn(want, "\n")] = '\0';
                if (cnr_manifest_parse(buf, len, NULL, &m, &err) == 0)
                        fail_msg("%s was accepted", e->d_name);
                assert_null(m);
                if (strstr(cnr_err_str(err), want) == NULL)
                        fail_msg("%s: error `%s` does not say `%s`", e->d_name, cnr_err_str(err), want);
                cnr_err_free(&err);
                cases++;
        }
        closedir(d);
        assert_true(cases >= 10);
}

static void
test_size_cap(void **state)
{
        size_t n = CNR_MANIFEST_MAX + 1;
        char *buf = xmalloc(n);
        struct cnr_manifest *m = NULL;
        struct cnr_image_config *c = NULL;
        struct cnr_err *err = NULL;

        (void)state;
        memset(buf, ' ', n);
        buf[0] = '{';
        buf[n - 1] = '}';
        assert_int_equal(cnr_manifest_parse(buf, n, NULL, &m, &err), -1);
        assert_int_equal(err->code, EFBIG);
        cnr_err_free(&err);
        assert_int_equal(cnr_image_config_parse(buf, n, &c, &err), -1);
        assert_int_equal(err->code, EFBIG);
        cnr_err_free(&err);
        free(buf);
}

static void
test_content_type(void **state)
{
        static const char doc[] = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                                  "\"manifests\":[]}";
        struct cnr_manifest *m = NULL;
        struct cnr_err *err = NULL;

        (void)state;
        assert_int_equal(cnr_manifest_parse(doc, strlen(doc), "application/vnd.oci.image.manifest.v1+json", &m, &err),
                         -1);
        assert_non_null(strstr(cnr_err_str(err), "served as"));
        cnr_err_free(&err);
        assert_int_equal(
                cnr_manifest_parse(doc, strlen(doc), "application/vnd.docker.distribution.manifest.v1+prettyjws", &m,
                                   &err),
                -1);
        assert_int_equal(err->code, ENOTSUP);
        cnr_err_free(&err);
        assert_int_equal(cnr_manifest_parse(doc, strlen(doc), "application/vnd.oci.image.index.v1+json", &m, &err), 0);
        assert_int_equal(m->media, CNR_MT_OCI_INDEX);
        cnr_manifest_free(m);
}

static void
test_platforms(void **state)
{
        struct cnr_platform p, have;
        struct cnr_err *err = NULL;
        char buf[96];

        (void)state;
        assert_int_equal(cnr_platform_parse("linux/amd64", &p, NULL), 0);
        cnr_platform_format(&p, buf, sizeof(buf));
        assert_string_equal(buf, "linux/amd64");
        assert_int_equal(cnr_platform_parse("linux/aarch64", &p, NULL), 0);
        assert_string_equal(p.arch, "arm64");
        assert_int_equal(cnr_platform_parse("linux/arm/7", &p, NULL), 0);
        assert_string_equal(p.variant, "v7");
        assert_int_equal(cnr_platform_parse("x86_64", &p, NULL), 0);
        assert_string_equal(p.os, "linux");
        assert_string_equal(p.arch, "amd64");
        assert_int_equal(cnr_platform_parse("linux//v7", &p, &err), -1);
        cnr_err_free(&err);
        assert_int_equal(cnr_platform_parse("a/b/c/d", &p, &err), -1);
        cnr_err_free(&err);
        assert_int_equal(cnr_platform_parse("linux/am d64", &p, &err), -1);
        cnr_err_free(&err);
        /* arm64 without a variant is v8 */
        cnr_platform_parse("linux/arm64/v8", &p, NULL);
        cnr_platform_parse("linux/arm64", &have, NULL);
        assert_true(cnr_platform_match(&p, &have));
        cnr_platform_parse("linux/arm/v6", &p, NULL);
        cnr_platform_parse("linux/arm/v7", &have, NULL);
        assert_false(cnr_platform_match(&p, &have));
        cnr_platform_parse("linux/arm", &p, NULL);
        assert_true(cnr_platform_match(&p, &have));
}

static void
test_select(void **state)
{
        static const char *const doc =
                "{\"schemaVersion\":2,\"manifests\":["
                "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
                "1111111111111111111111111111111111111111111111111111111111111111\",\"size\":1,"
                "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
                "2222222222222222222222222222222222222222222222222222222222222222\",\"size\":1,"
                "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
                "3333333333333333333333333333333333333333333333333333333333333333\",\"size\":1,"
                "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
        struct cnr_manifest *m = NULL;
        const struct cnr_descriptor *d = NULL;
        struct cnr_platform want;
        struct cnr_err *err = NULL;

        (void)state;
        assert_int_equal(cnr_manifest_parse(doc, strlen(doc), NULL, &m, NULL), 0);
        cnr_platform_parse("linux/amd64", &want, NULL);
        assert_int_equal(cnr_manifest_select(m, &want, &d, NULL), 0);
        assert_string_equal(cnr_digest_hex(&d->digest), "2222222222222222222222222222222222222222222222222222222222222222");
        cnr_platform_parse("linux/s390x", &want, NULL);
        assert_int_equal(cnr_manifest_select(m, &want, &d, &err), -1);
        assert_int_equal(err->code, ENOENT);
        assert_non_null(strstr(cnr_err_str(err), "linux/arm64"));
        cnr_err_free(&err);
        cnr_manifest_free(m);
}

static void
test_config(void **state)
{
        static const char good[] =
                "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Volumes\":{\"../../etc\":{}},"
                "\"Labels\":{\"io.containr.x\":\"1\",\"keep\":\"2\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
                "[\"sha256:1cc5a446f735a7ebbb099f6761cfdbdb952385441db4545f0a4bf8950d0146f8\"]},"
                "\"history\":[{\"created_by\":\"a\"},{\"created_by\":\"b\",\"empty_layer\":true}]}";
        static const char *const bad[][2] = {
                {"{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", "architecture"},
                {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"x\",\"diff_ids\":[]}}",
                 "rootfs.type"},
                {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
                 "[\"sha256:ABC\"]}}",
                 "diff_ids[0]"},
                {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
                 "\"history\":[{\"created_by\":\"a\"}]}",
                 "history"},
                {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
                 "\"config\":{\"Env\":[1]}}",
                 "config.Env[0]"},
        };
        struct cnr_image_config *c = NULL;
        struct cnr_err *err = NULL;
        char *out = NULL;
        size_t outlen;
        struct cnr_digest ids[2], chain;

        (void)state;
        assert_int_equal(cnr_image_config_parse(good, strlen(good), &c, NULL), 0);
        assert_int_equal(c->ndiff_ids, 1);
        assert_int_equal(c->nhistory, 2);
        /* VOLUME ../../etc is data: kept verbatim, nothing else. */
        assert_non_null(json_object_get(json_object_get(c->config, "Volumes"), "../../etc"));
        cnr_image_config_free(c);
        for (size_t i = 0; i < CNR_ARRAY_LEN(bad); i++) {
                if (cnr_image_config_parse(bad[i][0], strlen(bad[i][0]), &c, &err) == 0)
                        fail_msg("config %zu accepted", i);
                if (strstr(cnr_err_str(err), bad[i][1]) == NULL)
                        fail_msg("config %zu: `%s` lacks `%s`", i, cnr_err_str(err), bad[i][1]);
                cnr_err_free(&err);
        }
        assert_int_equal(cnr_image_config_strip_reserved(good, strlen(good), &out, &outlen, NULL), 1);
        assert_null(strstr(out, "io.containr.x"));
        assert_non_null(strstr(out, "keep"));
        free(out);
        assert_int_equal(cnr_image_config_strip_reserved("{\"config\":{}}", 13, &out, &outlen, NULL), 0);
        assert_null(out);
        /* ChainID: one layer is its diff_id; two hash "a b". */
        cnr_digest_parse("sha256:1cc5a446f735a7ebbb099f6761cfdbdb952385441db4545f0a4bf8950d0146f8", &ids[0], NULL);
        cnr_digest_parse("sha256:008e6cf8bdd25b2446d3ced05f9ab53042423f9e808546a6e14aa63ab817fce1", &ids[1], NULL);
        cnr_chain_id(ids, 1, &chain);
        assert_true(cnr_digest_equal(&chain, &ids[0]));
        cnr_chain_id(ids, 2, &chain);
        {
                char s[300];
                struct cnr_digest want;
                int n = snprintf(s, sizeof(s), "%s %s", ids[0].str, ids[1].str);
                cnr_digest_buf(CNR_DIGEST_SHA256, s, (size_t)n, &want);
                assert_true(cnr_digest_equal(&chain, &want));
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden_ok),  cmocka_unit_test(test_golden_bad), cmocka_unit_test(test_size_cap),
                cmocka_unit_test(test_content_type), cmocka_unit_test(test_platforms), cmocka_unit_test(test_select),
                cmocka_unit_test(test_config),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
