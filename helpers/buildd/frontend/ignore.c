/* .dockerignore: which context paths are not sent (CLI) and not seen (buildd).
 *
 * One pattern per line; blank lines and lines starting with # are skipped;
 * surrounding blanks trimmed.  A leading ! turns the pattern into an
 * exception that re-includes what it matches.  Patterns are cleaned like
 * paths (a leading / dropped, `.` and `..` folded) and matched segment by
 * segment with glob rules (* ? [...] \x); `**` matches any number of
 * segments, including none.  A path is excluded when it, or any directory
 * above it, matches; the last rule that matches decides. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

struct rule {
        bool exception;
        struct cnr_df_strv segs;
};

struct cnr_df_ignore {
        struct rule *r;
        size_t n;
        bool any_exception;
};

static void
split_segs(const char *p, struct cnr_df_strv *out)
{
        while (*p) {
                const char *e = strchr(p, '/');
                size_t l = e ? (size_t)(e - p) : strlen(p);

                if (l > 0)
                        cnr_df_strv_take(out, xstrndup(p, l));
                if (e == NULL)
                        break;
                p = e + 1;
        }
}

int
cnr_df_ignore_parse(const char *data, size_t len, const char *file, struct cnr_df_ignore **out, struct cnr_err **err)
{
        struct cnr_df_ignore *ig = xcalloc(1, sizeof(*ig));
        _cleanup_free_ char *copy = xstrndup(data, len);
        char *save = NULL, *line;
        int lineno = 0;

        (void)file;
        (void)err;
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *b = line, *e;
                bool exc = false;
                _cleanup_free_ char *clean = NULL;

                lineno++;
                while (*b == ' ' || *b == '\t')
                        b++;
                e = b + strlen(b);
                while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                        *--e = '\0';
                if (*b == '\0' || *b == '#')
                        continue;
                if (*b == '!') {
                        exc = true;
                        b++;
                        while (*b == ' ' || *b == '\t')
                                b++;
                        if (*b == '\0')
                                continue;
                }
                clean = cnr_df_clean_path(b);
                if (*clean == '\0')
                        continue;
                ig->r = xrealloc(ig->r, (ig->n + 1) * sizeof(*ig->r));
                memset(&ig->r[ig->n], 0, sizeof(ig->r[ig->n]));
                ig->r[ig->n].exception = exc;
                split_segs(clean, &ig->r[ig->n].segs);
                ig->any_exception |= exc;
                ig->n++;
        }
        *out = ig;
        return 0;
}

void
cnr_df_ignore_free(struct cnr_df_ignore *ig)
{
        if (ig == NULL)
                return;
        for (size_t i = 0; i < ig->n; i++)
                cnr_df_strv_free(&ig->r[i].segs);
        free(ig->r);
        free(ig);
}

size_t
cnr_df_ignore_count(const struct cnr_df_ignore *ig)
{
        return ig ? ig->n : 0;
}

static bool
match_segs(char *const *pat, size_t np, char *const *path, size_t n)
{
        if (np == 0)
                return n == 0;
        if (strcmp(pat[0], "**") == 0) {
                for (size_t k = 0; k <= n; k++)
                        if (match_segs(pat + 1, np - 1, path + k, n - k))
                                return true;
                return false;
        }
        if (n == 0)
                return false;
        if (fnmatch(pat[0], path[0], 0) != 0)
                return false;
        return match_segs(pat + 1, np - 1, path + 1, n - 1);
}

bool
cnr_df_ignore_match(const struct cnr_df_ignore *ig, const char *path)
{
        struct cnr_df_strv segs = {0};
        bool excluded = false;

        if (ig == NULL || ig->n == 0)
                return false;
        split_segs(path, &segs);
        for (size_t i = 0; i < ig->n; i++) {
                const struct rule *r = &ig->r[i];
                bool hit = false;

                /* The path itself or any directory above it. */
                for (size_t k = 1; k <= segs.n && !hit; k++)
                        hit = match_segs(r->segs.v, r->segs.n, segs.v, k);
                if (hit)
                        excluded = !r->exception;
        }
        cnr_df_strv_free(&segs);
        return excluded;
}

bool
cnr_df_ignore_may_reinclude(const struct cnr_df_ignore *ig, const char *path)
{
        return ig != NULL && ig->any_exception;
}
