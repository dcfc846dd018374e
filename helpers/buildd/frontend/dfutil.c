/* Small containers of the front end: string vectors, growing buffers, a
 * quoting printer and the "did you mean" helper. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

void
cnr_df_strv_take(struct cnr_df_strv *sv, char *s)
{
        if (sv->n + 1 >= sv->cap) {
                sv->cap = sv->cap ? sv->cap * 2 : 8;
                sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
        }
        sv->v[sv->n++] = s;
        sv->v[sv->n] = NULL;
}

void
cnr_df_strv_push(struct cnr_df_strv *sv, const char *s)
{
        cnr_df_strv_take(sv, xstrdup(s));
}

void
cnr_df_strv_free(struct cnr_df_strv *sv)
{
        for (size_t i = 0; i < sv->n; i++)
                free(sv->v[i]);
        free(sv->v);
        memset(sv, 0, sizeof(*sv));
}

bool
cnr_df_strv_has(const struct cnr_df_strv *sv, const char *s)
{
        for (size_t i = 0; i < sv->n; i++)
                if (strcmp(sv->v[i], s) == 0)
                        return true;
        return false;
}

static void
buf_grow(struct cnr_df_buf *b, size_t more)
{
        if (b->len + more + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 32;
                while (b->len + more + 1 > cap)
                        cap *= 2;
                b->s = xrealloc(b->s, cap);
                b->cap = cap;
        }
}

void
cnr_df_buf_add(struct cnr_df_buf *b, const char *s, size_t n)
{
        buf_grow(b, n);
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

void
cnr_df_buf_addc(struct cnr_df_buf *b, char c)
{
        cnr_df_buf_add(b, &c, 1);
}

void
cnr_df_buf_adds(struct cnr_df_buf *b, const char *s)
{
        cnr_df_buf_add(b, s, strlen(s));
}

void
cnr_df_buf_addf(struct cnr_df_buf *b, const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        cnr_df_buf_adds(b, s);
        free(s);
}

char *
cnr_df_buf_steal(struct cnr_df_buf *b)
{
        char *s = b->s ? b->s : xstrdup("");

        memset(b, 0, sizeof(*b));
        return s;
}

void
cnr_df_buf_quote(struct cnr_df_buf *b, const char *s)
{
        cnr_df_buf_addc(b, '"');
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"':
                        cnr_df_buf_adds(b, "\\\"");
                        break;
                case '\\':
                        cnr_df_buf_adds(b, "\\\\");
                        break;
                case '\n':
                        cnr_df_buf_adds(b, "\\n");
                        break;
                case '\t':
                        cnr_df_buf_adds(b, "\\t");
                        break;
                case '\r':
                        cnr_df_buf_adds(b, "\\r");
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                cnr_df_buf_addf(b, "\\x%02x", *p);
                        else
                                cnr_df_buf_addc(b, (char)*p);
                }
        }
        cnr_df_buf_addc(b, '"');
}

/* Case-insensitive edit distance, for short words only. */
static size_t
distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        size_t d[65][65];

        if (la > 64 || lb > 64)
                return (size_t)-1;
        /* Optimal string alignment: a swap of neighbours costs 1. */
        for (size_t i = 0; i <= la; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= la; i++) {
                for (size_t j = 1; j <= lb; j++) {
                        int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
                        size_t best = d[i - 1][j - 1] + (ca != cb);
                        if (d[i - 1][j] + 1 < best)
                                best = d[i - 1][j] + 1;
                        if (d[i][j - 1] + 1 < best)
                                best = d[i][j - 1] + 1;
                        if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                            tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                                best = d[i - 2][j - 2] + 1;
                        d[i][j] = best;
                }
        }
        return d[la][lb];
}

const char *
cnr_df_suggest(const char *word, const char *const *cands, size_t n)
{
        size_t best = (size_t)-1, limit = strlen(word) / 3;
        const char *pick = NULL;

        if (limit < 1)
                limit = 1;
        for (size_t i = 0; i < n; i++) {
                size_t d = distance(word, cands[i]);
                if (d < best) {
                        best = d;
                        pick = cands[i];
                }
        }
        return best <= limit ? pick : NULL;
}
