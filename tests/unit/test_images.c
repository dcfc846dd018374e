/* Image records (supervisor/images.c): store, lookups, tag, rmi rules,
 * in-use refusal, leases, GC and its hooks. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "supervisor/images.h"

struct fx {
        struct cnr_db *db;
        struct cnr_content *c;
        struct cnr_images *im;
        struct cnr_digest layer, config, manifest;
};

static void
put(struct cnr_content *c, const char *s, struct cnr_digest *d)
{
        struct cnr_err *err = NULL;

        if (cnr_content_put(c, s, strlen(s), NULL, d, &err) < 0)
                fail_msg("put: %s", cnr_err_str(err));
}

/* A one-layer image (the layer is any bytes: records do not unpack). */
static void
make_image(struct fx *f, const char *salt, size_t ndiff)
{
        _cleanup_free_ char *cfg = NULL;
        _cleanup_free_ char *man = NULL;
        _cleanup_free_ char *layer = xasprintf("layer %s", salt);

        put(f->c, layer, &f->layer);
        cfg = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
                        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"%s%s%s]}}",
                        f->layer.str, ndiff > 1 ? ",\"" : "", ndiff > 1 ? f->layer.str : "", ndiff > 1 ? "\"" : "");
        put(f->c, cfg, &f->config);
        man = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\","
                        "\"size\":%zu},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                        "\"digest\":\"%s\",\"size\":%zu}]}",
                        f->config.str, strlen(cfg), f->layer.str, strlen(layer));
        put(f->c, man, &f->manifest);
}

static int
setup(void **state)
{
        char tmpl[] = "/tmp/cnr-images.XXXXXX";
        struct fx *f = xcalloc(1, sizeof(*f));
        _cleanup_free_ char *db = NULL;
        _cleanup_free_ char *content = NULL;

        assert_non_null(mkdtemp(tmpl));
        db = xasprintf("%s/containr.db", tmpl);
        content = xasprintf("%s/content", tmpl);
        assert_int_equal(cnr_db_open(db, &f->db, NULL), 0);
        assert_int_equal(cnr_content_open(content, &f->c, NULL), 0);
        assert_int_equal(cnr_images_open(f->db, f->c, &f->im, NULL), 0);
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        struct fx *f = *state;

        cnr_images_close(f->im);
        cnr_content_close(f->c);
        cnr_db_close(f->db);
        free(f);
        return 0;
}

static void
test_store_get(void **state)
{
        struct fx *f = *state;
        const char *names[] = {"busybox", "localhost:5000/bb:1"};
        struct cnr_image *img = NULL;
        struct cnr_err *err = NULL;
        char prefix[16];

        make_image(f, "a", 1);
        assert_int_equal(cnr_images_store(f->im, &f->manifest, NULL, names, 2, &img, &err), 0);
        assert_true(cnr_digest_equal(&img->id, &f->config));
        assert_int_equal(img->nlayers, 1);
        assert_true(cnr_digest_equal(&img->layers[0].diff_id, &f->layer));
        assert_int_equal(img->nnames, 2);
        assert_string_equal(img->names[0], "docker.io/library/busybox:latest");
        assert_string_equal(img->platform.arch, "amd64");
        cnr_image_free(img);

        assert_int_equal(cnr_images_get(f->im, "busybox:latest", &img, NULL), 0);
        cnr_image_free(img);
        assert_int_equal(cnr_images_get(f->im, f->config.str, &img, NULL), 0);
        cnr_image_free(img);
        snprintf(prefix, sizeof(prefix), "%.12s", cnr_digest_hex(&f->config));
        assert_int_equal(cnr_images_get(f->im, prefix, &img, NULL), 0);
        cnr_image_free(img);
        {
                _cleanup_free_ char *bydigest = xasprintf("localhost:5000/bb@%s", f->manifest.str);
                assert_int_equal(cnr_images_get(f->im, bydigest, &img, NULL), 0);
                cnr_image_free(img);
        }
        assert_int_equal(cnr_images_get(f->im, "nosuch", &img, &err), -1);
        assert_int_equal(err->code, ENOENT);
        assert_non_null(strstr(cnr_err_str(err), "not found"));
        cnr_err_free(&err);
        assert_int_equal(cnr_images_get(f->im, "Bad/Name", &img, &err), -1);
        cnr_err_free(&err);
}

static void
test_store_checks(void **state)
{
        struct fx *f = *state;
        struct cnr_image **v;
        struct cnr_err *err = NULL;
        size_t n;
        const char *bad[] = {"UPPER"};

        make_image(f, "b", 2); /* 2 diff_ids, 1 layer */
        assert_int_equal(cnr_images_store(f->im, &f->manifest, NULL, NULL, 0, NULL, &err), -1);
        assert_non_null(strstr(cnr_err_str(err), "2 layers (diff_ids), the manifest 1"));
        cnr_err_free(&err);
        make_image(f, "c", 1);
        assert_int_equal(cnr_images_store(f->im, &f->manifest, NULL, bad, 1, NULL, &err), -1);
        cnr_err_free(&err);
        /* A missing layer. */
        assert_int_equal(cnr_content_delete(f->c, &f->layer, NULL), 0);
        assert_int_equal(cnr_images_store(f->im, &f->manifest, NULL, NULL, 0, NULL, &err), -1);
        assert_non_null(strstr(cnr_err_str(err), "not in the content store"));
        cnr_err_free(&err);
        assert_int_equal(cnr_images_list(f->im, &v, &n, NULL), 0);
        assert_int_equal(n, 0);
        cnr_image_list_free(v, n);
}

static int
in_use(void *arg, const struct cnr_image *img, char **who)
{
        (void)img;
        if (*(int *)arg) {
                *who = xstrdup("container `c1`");
                return 1;
        }
        return 0;
}

static void
test_tag_remove(void **state)
{
        struct fx *f = *state;
        const char *names[] = {"a:1"};
        char **u = NULL, **d = NULL;
        size_t nu, nd;
        struct cnr_image *img = NULL;
        struct cnr_err *err = NULL;
        int busy = 1;

        make_image(f, "d", 1);
        assert_int_equal(cnr_images_store(f->im, &f->manifest, NULL, names, 1, NULL, NULL), 0);
        assert_int_equal(cnr_images_tag(f->im, "a:1", "b:2", NULL), 0);
        assert_int_equal(cnr_images_tag(f->im, "a:1", "b@sha256:1111111111111111111111111111111111111111111111111111111111111111", &err), -1);
        cnr_err_free(&err);
        /* An id with two names needs force. */
        assert_int_equal(cnr_images_remove(f->im, f->config.str, false, &u, &nu, &d, &nd, &err), -1);
        assert_int_equal(err->code, EBUSY);
        cnr_err_free(&err);
        /* One name of two: only the name goes. */
        assert_int_equal(cnr_images_remove(f->im, "b:2", false, &u, &nu, &d, &nd, NULL), 0);
        assert_int_equal(nu, 1);
        assert_int_equal(nd, 0);
        assert_string_equal(u[0], "docker.io/library/b:2");
        free(u[0]);
        free(u);
        free(d);
        /* In use: refused even with force. */
        cnr_images_set_in_use_hook(f->im, in_use, &busy);
        assert_int_equal(cnr_images_remove(f->im, "a:1", true, &u, &nu, &d, &nd, &err), -1);
        assert_non_null(strstr(cnr_err_str(err), "container `c1`"));
        cnr_err_free(&err);
        busy = 0;
        assert_int_equal(cnr_images_remove(f->im, "a:1", false, &u, &nu, &d, &nd, NULL), 0);
        assert_int_equal(nd, 1);
        assert_string_equal(d[0], f->config.str);
        for (size_t i = 0; i < nu; i++)
                free(u[i]);
        free(u);
        free(d[0]);
        free(d);
        assert_int_equal(cnr_images_get(f->im, f->config.str, &img, &err), -1);
        cnr_err_free(&err);
}

static int hook_calls;

static int
gc_hook(void *arg, struct cnr_images *im, struct cnr_gc_report *rep, struct cnr_err **err)
{
        (void)arg;
        (void)im;
        (void)err;
        hook_calls++;
        cnr_gc_report_add(rep, "snapshot", "sn1", 10);
        return 0;
}

static void
test_gc(void **state)
{
        struct fx *f = *state;
        struct cnr_gc_report rep = {0};
        struct cnr_digest orphan, leased;
        struct cnr_lease *l;
        const char *names[] = {"keep:1"};
        uint64_t size;

        make_image(f, "e", 1);
        assert_int_equal(cnr_images_store(f->im, &f->manifest, NULL, names, 1, NULL, NULL), 0);
        put(f->c, "orphan", &orphan);
        put(f->c, "leased", &leased);
        l = cnr_images_lease(f->im, "test");
        cnr_lease_add(l, &leased);
        cnr_images_add_gc_hook(f->im, "snapshots", gc_hook, NULL);
        assert_int_equal(cnr_images_gc(f->im, &rep, NULL), 0);
        assert_int_equal(hook_calls, 1);
        assert_int_equal(rep.nitems, 2); /* the orphan blob and the hook's snapshot */
        assert_string_equal(rep.items[0].id, orphan.str);
        assert_int_equal(rep.bytes, strlen("orphan") + 10);
        assert_int_equal(cnr_content_stat(f->c, &orphan, &size, NULL), -1);
        assert_int_equal(cnr_content_stat(f->c, &leased, &size, NULL), 0);
        assert_int_equal(cnr_content_stat(f->c, &f->layer, &size, NULL), 0);
        assert_true(cnr_images_blob_in_use(f->im, &leased, NULL));
        assert_false(cnr_images_blob_in_use(f->im, &leased, l));
        assert_true(cnr_images_blob_in_use(f->im, &f->layer, NULL));
        cnr_gc_report_free(&rep);
        cnr_lease_release(l);
        /* prune -a: the image goes, then its blobs. */
        assert_int_equal(cnr_images_prune(f->im, true, &rep, NULL), 0);
        assert_string_equal(rep.items[0].kind, "image");
        assert_int_equal(cnr_content_stat(f->c, &f->layer, &size, NULL), -1);
        assert_int_equal(cnr_content_stat(f->c, &leased, &size, NULL), -1);
        cnr_gc_report_free(&rep);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_store_get, setup, teardown),
                cmocka_unit_test_setup_teardown(test_store_checks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tag_remove, setup, teardown),
                cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
