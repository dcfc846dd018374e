/* Output helpers of the CLI: padded tables and human durations. */
#include "config.h"

#include <string.h>

#include "cli/cli.h"
#include "common/util.h"

struct cnr_table {
        size_t ncols, nrows;
        char **cells; /* (nrows + 1) * ncols, row 0 = headers */
};

struct cnr_table *
cnr_table_new(size_t ncols, const char *const *headers)
{
        struct cnr_table *t = xcalloc(1, sizeof(*t));

        t->ncols = ncols;
        cnr_table_add(t, headers);
        return t;
}

void
cnr_table_add(struct cnr_table *t, const char *const *cells)
{
        t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
        for (size_t i = 0; i < t->ncols; i++)
                t->cells[t->nrows * t->ncols + i] = xstrdup(cells[i] ? cells[i] : "");
        t->nrows++;
}

void
cnr_table_print(const struct cnr_table *t, FILE *f)
{
        _cleanup_free_ size_t *w = xcalloc(t->ncols, sizeof(size_t));

        for (size_t r = 0; r < t->nrows; r++)
                for (size_t i = 0; i < t->ncols; i++)
                        if (strlen(t->cells[r * t->ncols + i]) > w[i])
                                w[i] = strlen(t->cells[r * t->ncols + i]);
        for (size_t r = 0; r < t->nrows; r++) {
                for (size_t i = 0; i < t->ncols; i++) {
                        const char *s = t->cells[r * t->ncols + i];
                        if (i + 1 == t->ncols)
                                fprintf(f, "%s\n", s);
                        else
                                fprintf(f, "%-*s  ", (int)w[i], s);
                }
        }
}

void
cnr_table_free(struct cnr_table *t)
{
        if (t == NULL)
                return;
        for (size_t i = 0; i < t->nrows * t->ncols; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
}

void
cnr_fmt_ms(unsigned long long ms, char *buf, size_t n)
{
        unsigned long long s = ms / 1000;

        if (s < 60)
                snprintf(buf, n, "%llus", s);
        else if (s < 3600)
                snprintf(buf, n, "%llum%02llus", s / 60, s % 60);
        else if (s < 86400)
                snprintf(buf, n, "%lluh%02llum", s / 3600, s % 3600 / 60);
        else
                snprintf(buf, n, "%llud%02lluh", s / 86400, s % 86400 / 3600);
}

void
cnr_fmt_us(unsigned long long us, char *buf, size_t n)
{
        if (us < 1000)
                snprintf(buf, n, "%lluus", us);
        else if (us < 1000000)
                snprintf(buf, n, "%.1fms", (double)us / 1000.0);
        else
                snprintf(buf, n, "%.2fs", (double)us / 1000000.0);
}
