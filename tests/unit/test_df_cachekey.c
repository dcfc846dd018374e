/* Cache keys of the plan (helpers/buildd/frontend/cachekey.c, plan.c):
 *   - changing one file changes the sources digest and the definition of
 *     exactly the steps that copy it (and the chained keys from there on);
 *   - a changed mtime changes nothing (it never reaches the index; the tar
 *     reader drops it: checked through a real tar stream);
 *   - a changed build arg changes no key before its ARG, and the keys of
 *     steps after it that see it;
 *   - .dockerignore'd files are not inputs. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

static const char dockerfile[] = "FROM scratch AS base\n" /* 1 */
                                 "COPY a.txt /a.txt\n"    /* step 0 */
                                 "COPY b.txt /b.txt\n"    /* step 1 */
                                 "RUN build\n"            /* step 2 */
                                 "ARG VERSION=1\n"        /* step 3 */
                                 "LABEL l=x\n"            /* step 4 */
                                 "RUN echo $VERSION\n"    /* step 5 */
                                 "COPY dir/ /dir/\n";     /* step 6 */

#define NSTEPS 7

struct keys {
        char def[NSTEPS][72];
        char key[NSTEPS][72];
};

static struct cnr_df_context *
context(const char *a, const char *b, const char *c)
{
        struct cnr_df_context *ctx = cnr_df_context_new();

        cnr_df_context_add(ctx, "a.txt", CNR_DF_FT_FILE, 0644, 0, 0, a, strlen(a), NULL);
        cnr_df_context_add(ctx, "b.txt", CNR_DF_FT_FILE, 0644, 0, 0, b, strlen(b), NULL);
        cnr_df_context_add(ctx, "dir", CNR_DF_FT_DIR, 0755, 0, 0, NULL, 0, NULL);
        cnr_df_context_add(ctx, "dir/c.txt", CNR_DF_FT_FILE, 0644, 0, 0, c, strlen(c), NULL);
        cnr_df_context_finish(ctx);
        return ctx;
}

static void
plan_keys(const struct cnr_df_context *ctx, const char *version, struct keys *k)
{
        struct cnr_df_opts o = {.file = "Dockerfile", .platform = "linux/amd64"};
        struct cnr_df_plan *p = NULL;
        struct cnr_err *err = NULL;

        if (version)
                cnr_df_vars_set(&o.build_args, "VERSION", version);
        assert_int_equal(cnr_df_plan(dockerfile, strlen(dockerfile), ctx, &o, &p, &err), 0);
        if (p->nerrors)
                fail_msg("plan: %s", p->diags[0].msg);
        assert_int_equal(p->nstages, 1);
        assert_int_equal(p->stages[0].nsteps, NSTEPS);
        for (size_t i = 0; i < NSTEPS; i++) {
                memcpy(k->def[i], p->stages[0].steps[i].def_digest, 72);
                memcpy(k->key[i], p->stages[0].steps[i].cache_key, 72);
        }
        cnr_df_plan_free(p);
        cnr_df_vars_free(&o.build_args);
}

/* Which steps' definitions differ, as a bit mask. */
static unsigned
def_diff(const struct keys *x, const struct keys *y)
{
        unsigned m = 0;

        for (size_t i = 0; i < NSTEPS; i++)
                if (strcmp(x->def[i], y->def[i]) != 0)
                        m |= 1u << i;
        return m;
}

static unsigned
key_diff(const struct keys *x, const struct keys *y)
{
        unsigned m = 0;

        for (size_t i = 0; i < NSTEPS; i++)
                if (strcmp(x->key[i], y->key[i]) != 0)
                        m |= 1u << i;
        return m;
}

static void
test_one_file(void **state)
{
        struct cnr_df_context *c1 = context("A", "B", "C"), *c2 = context("A", "B2", "C"),
                              *c3 = context("A", "B", "C3");
        struct keys k1, k2, k3, k1b;

        (void)state;
        plan_keys(c1, NULL, &k1);
        plan_keys(c1, NULL, &k1b);
        assert_int_equal(key_diff(&k1, &k1b), 0); /* deterministic */
        plan_keys(c2, NULL, &k2);
        /* b.txt: only COPY b.txt's own definition changes ... */
        assert_int_equal(def_diff(&k1, &k2), 1u << 1);
        /* ... and the chained keys from there on (not the COPY of a.txt). */
        assert_int_equal(key_diff(&k1, &k2), 0x7eu);
        plan_keys(c3, NULL, &k3);
        /* dir/c.txt: the last COPY (of dir/) only. */
        assert_int_equal(def_diff(&k1, &k3), 1u << 6);
        assert_int_equal(key_diff(&k1, &k3), 1u << 6);
        cnr_df_context_free(c1);
        cnr_df_context_free(c2);
        cnr_df_context_free(c3);
}

static void
test_build_arg(void **state)
{
        struct cnr_df_context *c = context("A", "B", "C");
        struct keys k1, k2;

        (void)state;
        plan_keys(c, NULL, &k1);
        plan_keys(c, "2", &k2);
        /* Nothing before ARG changes; the ARG and the RUN that sees it do;
         * the LABEL (metadata) and the COPY after (no env) keep their
         * definitions, the COPY's key follows the RUN's filesystem. */
        assert_int_equal(key_diff(&k1, &k2) & 0x7u, 0);
        assert_int_equal(def_diff(&k1, &k2), (1u << 3) | (1u << 5));
        assert_true(key_diff(&k1, &k2) & (1u << 5));
        assert_true(key_diff(&k1, &k2) & (1u << 6));
        cnr_df_context_free(c);
}

/* ---- through a real tar stream: mtime is not an input ---- */

static int
tar_context(time_t mtime, const char *data)
{
        int p[2];
        struct archive *a = archive_write_new();
        struct archive_entry *e;
        const char *names[] = {CNR_DF_META_DOCKERFILE, "a.txt", "b.txt", "dir/c.txt"};
        const char *bodies[] = {dockerfile, data, "B", "C"};

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        archive_write_set_format_pax_restricted(a);
        assert_int_equal(archive_write_open_fd(a, p[1]), ARCHIVE_OK);
        for (size_t i = 0; i < CNR_ARRAY_LEN(names); i++) {
                e = archive_entry_new();
                archive_entry_set_pathname(e, names[i]);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_mtime(e, mtime, 0);
                archive_entry_set_size(e, (la_int64_t)strlen(bodies[i]));
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                assert_int_equal(archive_write_data(a, bodies[i], strlen(bodies[i])), (la_ssize_t)strlen(bodies[i]));
                archive_entry_free(e);
        }
        archive_write_close(a);
        archive_write_free(a);
        close(p[1]);
        return p[0]; /* small: fits in the pipe buffer */
}

static void
keys_from_tar(int fd, struct keys *k)
{
        struct cnr_df_limits lim = {1 << 20, 100};
        struct cnr_df_context *ctx = NULL;
        struct cnr_err *err = NULL;

        if (cnr_df_context_read_fd(fd, &lim, &ctx, &err) < 0)
                fail_msg("read tar: %s", cnr_err_str(err));
        close(fd);
        assert_non_null(ctx->dockerfile);
        assert_string_equal(ctx->dockerfile, dockerfile);
        assert_int_equal(ctx->n, 3); /* the meta entry is not context */
        plan_keys(ctx, NULL, k);
        cnr_df_context_free(ctx);
}

static void
test_mtime(void **state)
{
        struct keys k1, k2, k3;

        (void)state;
        keys_from_tar(tar_context(1000000000, "A"), &k1);
        keys_from_tar(tar_context(1700000000, "A"), &k2);
        assert_int_equal(key_diff(&k1, &k2), 0);
        keys_from_tar(tar_context(1000000000, "A changed"), &k3);
        assert_int_equal(def_diff(&k1, &k3), 1u << 0);
}

static void
test_limits(void **state)
{
        struct cnr_df_limits lim = {1, 100}; /* one byte of data */
        struct cnr_df_context *ctx = NULL;
        struct cnr_err *err = NULL;
        int fd = tar_context(0, "A");

        (void)state;
        assert_int_equal(cnr_df_context_read_fd(fd, &lim, &ctx, &err), -1);
        assert_non_null(strstr(err->msg, "bytes of file data"));
        cnr_err_free(&err);
        close(fd);
        lim = (struct cnr_df_limits){1 << 20, 2};
        fd = tar_context(0, "A");
        assert_int_equal(cnr_df_context_read_fd(fd, &lim, &ctx, &err), -1);
        assert_non_null(strstr(err->msg, "entries"));
        cnr_err_free(&err);
        close(fd);
}

static void
test_ignored_and_missing(void **state)
{
        struct cnr_df_context *ctx = context("A", "B", "C");
        struct cnr_df_ignore *ig = NULL;
        struct cnr_df_strv srcs = {0};
        struct cnr_err *err = NULL;
        char d1[72], d2[72];
        size_t n = 0;

        (void)state;
        assert_int_equal(cnr_df_ignore_parse("dir/c.txt", 9, ".dockerignore", &ig, &err), 0);
        cnr_df_strv_push(&srcs, "dir");
        assert_int_equal(cnr_df_sources_digest(ctx, NULL, &srcs, NULL, d1, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_int_equal(cnr_df_sources_digest(ctx, ig, &srcs, NULL, d2, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_string_not_equal(d1, d2);
        cnr_df_strv_free(&srcs);
        cnr_df_strv_push(&srcs, "dir/c.txt");
        assert_int_equal(cnr_df_sources_digest(ctx, ig, &srcs, NULL, d2, &n, &err), -1);
        assert_non_null(strstr(err->msg, "excluded by .dockerignore"));
        cnr_err_free(&err);
        cnr_df_strv_free(&srcs);
        cnr_df_strv_push(&srcs, "nope.txt");
        assert_int_equal(cnr_df_sources_digest(ctx, NULL, &srcs, NULL, d2, &n, &err), -1);
        cnr_err_free(&err);
        cnr_df_strv_free(&srcs);
        cnr_df_strv_push(&srcs, "*.nothing");
        assert_int_equal(cnr_df_sources_digest(ctx, NULL, &srcs, NULL, d2, &n, &err), 0); /* empty wildcard */
        assert_int_equal(n, 0);
        cnr_df_strv_free(&srcs);
        cnr_df_ignore_free(ig);
        cnr_df_context_free(ctx);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one_file),
                cmocka_unit_test(test_build_arg),
                cmocka_unit_test(test_mtime),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_ignored_and_missing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
