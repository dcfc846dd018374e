/* Golden tests of the Dockerfile front end.
 *
 *   tests/golden/dockerfile/ok/<case>/Dockerfile   must parse, pass the
 *       instruction checks and plan without errors; the AST dump must equal
 *       ok/<case>/expected byte for byte.
 *   tests/golden/dockerfile/bad/<case>/Dockerfile  must fail; the first
 *       error must equal the first line of bad/<case>/error.
 *
 * Usage: dockerfile-golden [--update] [CASE-DIR...]
 *   With no CASE-DIR, every case under $top_srcdir/tests/golden/dockerfile.
 *   --update rewrites expected/error files from what the code produces
 *   (review every diff before committing it: the files are the spec).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

static bool update;

static char *
slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rbe");
        struct cnr_df_buf b = {0};
        char chunk[4096];
        size_t n;

        if (f == NULL)
                return NULL;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                cnr_df_buf_add(&b, chunk, n);
        fclose(f);
        *len = b.len;
        return cnr_df_buf_steal(&b);
}

static int
spit(const char *path, const char *s)
{
        FILE *f = fopen(path, "we");

        if (f == NULL || fputs(s, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "write %s: %s\n", path, strerror(errno));
                return -1;
        }
        return 0;
}

/* Everything the front end says about a Dockerfile: the dump, or the first
 * error.  Returns 0 ok, 1 error. */
static int
run_case(const char *data, size_t len, char **out)
{
        struct cnr_df_ast *ast = NULL;
        struct cnr_df_plan *plan = NULL;
        struct cnr_df_opts opts = {.file = "Dockerfile", .platform = "linux/amd64"};
        struct cnr_err *err = NULL;

        if (cnr_df_parse(data, len, "Dockerfile", &ast, &err) < 0)
                goto fail;
        if (cnr_df_plan(data, len, NULL, &opts, &plan, &err) < 0)
                goto fail;
        for (size_t i = 0; i < plan->ndiags; i++) {
                if (plan->diags[i].sev == CNR_DF_ERROR) {
                        if (plan->diags[i].line > 0)
                                *out = xasprintf("Dockerfile:%d: %s\n", plan->diags[i].line, plan->diags[i].msg);
                        else
                                *out = xasprintf("Dockerfile: %s\n", plan->diags[i].msg);
                        cnr_df_plan_free(plan);
                        cnr_df_ast_free(ast);
                        return 1;
                }
        }
        cnr_df_plan_free(plan);
        *out = cnr_df_ast_dump(ast);
        cnr_df_ast_free(ast);
        return 0;
fail:
        *out = xasprintf("%s\n", err->msg);
        cnr_err_free(&err);
        cnr_df_ast_free(ast);
        return 1;
}

static int
check_case(const char *dir)
{
        _cleanup_free_ char *df = xasprintf("%s/Dockerfile", dir);
        _cleanup_free_ char *data = NULL, *got = NULL, *want = NULL, *wantpath = NULL;
        bool bad = strstr(dir, "/bad/") != NULL;
        size_t len, wl;
        int rc;

        data = slurp(df, &len);
        if (data == NULL) {
                fprintf(stderr, "FAIL %s: %s: %s\n", dir, df, strerror(errno));
                return 1;
        }
        rc = run_case(data, len, &got);
        wantpath = xasprintf("%s/%s", dir, bad ? "error" : "expected");
        if (update) {
                if ((rc == 1) != bad) {
                        fprintf(stderr, "FAIL %s: %s\n%s", dir, bad ? "parsed, but is a bad case" : "failed", got);
                        return 1;
                }
                return spit(wantpath, got) < 0;
        }
        want = slurp(wantpath, &wl);
        if (want == NULL) {
                fprintf(stderr, "FAIL %s: %s: %s\n", dir, wantpath, strerror(errno));
                return 1;
        }
        if (bad) {
                char *nl = strchr(want, '\n');
                if (nl)
                        nl[1] = '\0';
        }
        if ((rc == 1) != bad || strcmp(got, want) != 0) {
                fprintf(stderr, "FAIL %s\n--- want\n%s--- got\n%s", dir, want, got);
                return 1;
        }
        printf("ok %s\n", dir);
        return 0;
}

static int
cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *root, const char *kind, size_t *count)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", root, kind);
        DIR *d = opendir(path);
        struct dirent *e;
        struct cnr_df_strv names = {0};
        int fails = 0;

        if (d == NULL) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return 1;
        }
        while ((e = readdir(d)) != NULL)
                if (e->d_name[0] != '.')
                        cnr_df_strv_push(&names, e->d_name);
        closedir(d);
        if (names.n)
                qsort(names.v, names.n, sizeof(char *), cmp);
        for (size_t i = 0; i < names.n; i++) {
                _cleanup_free_ char *c = xasprintf("%s/%s", path, names.v[i]);
                fails += check_case(c);
                (*count)++;
        }
        cnr_df_strv_free(&names);
        return fails;
}

int
main(int argc, char **argv)
{
        const char *top = getenv("top_srcdir");
        _cleanup_free_ char *root = NULL;
        size_t count = 0;
        int fails = 0, i = 1;

        if (i < argc && strcmp(argv[i], "--update") == 0) {
                update = true;
                i++;
        }
        if (i < argc) {
                for (; i < argc; i++, count++)
                        fails += check_case(argv[i]);
        } else {
                root = xasprintf("%s/tests/golden/dockerfile", top ? top : ".");
                fails += run_dir(root, "ok", &count);
                fails += run_dir(root, "bad", &count);
        }
        printf("%zu cases, %d failed\n", count, fails);
        if (count == 0)
                return 1;
        return fails ? 1 : 0;
}
