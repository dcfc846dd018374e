/* The build context's index: paths cleaned, entries sorted, found by
 * path.  The planner and the CLI need only this; reading the tar stream
 * (libarchive, OpenSSL) is context_read.c, so that the CLI does not load
 * those libraries at every start (docs/performance.md). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

char *
cnr_df_clean_path(const char *p)
{
        struct cnr_df_strv segs = {0};
        struct cnr_df_buf b = {0};

        while (*p) {
                const char *e = strchr(p, '/');
                size_t l = e ? (size_t)(e - p) : strlen(p);

                if (l == 0 || (l == 1 && p[0] == '.')) {
                        /* skip */
                } else if (l == 2 && p[0] == '.' && p[1] == '.') {
                        if (segs.n > 0) {
                                free(segs.v[--segs.n]);
                                segs.v[segs.n] = NULL;
                        }
                } else {
                        cnr_df_strv_take(&segs, xstrndup(p, l));
                }
                if (e == NULL)
                        break;
                p = e + 1;
        }
        for (size_t i = 0; i < segs.n; i++) {
                if (i)
                        cnr_df_buf_addc(&b, '/');
                cnr_df_buf_adds(&b, segs.v[i]);
        }
        cnr_df_strv_free(&segs);
        return cnr_df_buf_steal(&b);
}

struct cnr_df_context *
cnr_df_context_new(void)
{
        return xcalloc(1, sizeof(struct cnr_df_context));
}

void
cnr_df_context_free(struct cnr_df_context *c)
{
        if (c == NULL)
                return;
        for (size_t i = 0; i < c->n; i++) {
                free(c->e[i].path);
                free(c->e[i].link);
        }
        free(c->e);
        free(c->dockerfile);
        free(c->ignore);
        free(c);
}

struct cnr_df_entry *
cnr_df_context_entry(struct cnr_df_context *c, const char *path)
{
        struct cnr_df_entry *e;

        if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 64;
                c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
        }
        e = &c->e[c->n++];
        memset(e, 0, sizeof(*e));
        e->path = cnr_df_clean_path(path);
        return e;
}

static int
cmp_entry(const void *a, const void *b)
{
        const struct cnr_df_entry *x = a, *y = b;
        int r = strcmp(x->path, y->path);

        if (r)
                return r;
        return x < y ? -1 : x > y; /* stable: the later duplicate sorts last */
}

void
cnr_df_context_finish(struct cnr_df_context *c)
{
        size_t w = 0;

        if (c->n > 1)
                qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
        /* A path given twice: the later one wins, as tar extraction does. */
        for (size_t i = 0; i < c->n; i++) {
                if (i + 1 < c->n && strcmp(c->e[i].path, c->e[i + 1].path) == 0) {
                        free(c->e[i].path);
                        free(c->e[i].link);
                        continue;
                }
                c->e[w++] = c->e[i];
        }
        c->n = w;
}

const struct cnr_df_entry *
cnr_df_context_find(const struct cnr_df_context *c, const char *path)
{
        size_t lo = 0, hi = c->n;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int r = strcmp(c->e[mid].path, path);
                if (r == 0)
                        return &c->e[mid];
                if (r < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}
