/* Parser directives: `# syntax=`, `# escape=`, `# check=` at the very top
 * of a Dockerfile.  Keys are case-insensitive, each may appear once, and
 * scanning stops at the first line that is not a directive (a plain
 * comment, a blank line, an instruction, an unknown key).  A `#!` line
 * first is skipped.  The UTF-8 BOM is stripped by the caller. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

/* "# key = value" -> key, value (trimmed); false when not of that shape. */
static bool
split_directive(const char *line, char *key, size_t keysz, const char **val, size_t *vlen)
{
        const char *p = line, *k, *e;
        size_t kl;

        if (*p != '#')
                return false;
        p++;
        while (*p == ' ' || *p == '\t')
                p++;
        if (!isalpha((unsigned char)*p))
                return false;
        k = p;
        while (isalnum((unsigned char)*p))
                p++;
        kl = (size_t)(p - k);
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p != '=')
                return false;
        p++;
        while (*p == ' ' || *p == '\t')
                p++;
        e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
        if (e == p || kl >= keysz)
                return false;
        memcpy(key, k, kl);
        key[kl] = '\0';
        *val = p;
        *vlen = (size_t)(e - p);
        return true;
}

int
cnr_df_directives(char **lines, size_t nlines, struct cnr_df_ast *ast, size_t *first, struct cnr_err **err)
{
        size_t i = 0;

        ast->escape = '\\';
        if (nlines > 0 && strncmp(lines[0], "#!", 2) == 0)
                i = 1;
        for (; i < nlines; i++) {
                char key[32];
                const char *val;
                size_t vlen;
                char **slot;
                int *lineno;

                if (!split_directive(lines[i], key, sizeof(key), &val, &vlen))
                        break;
                if (strcasecmp(key, "syntax") == 0) {
                        slot = &ast->syntax;
                        lineno = &ast->syntax_line;
                } else if (strcasecmp(key, "escape") == 0) {
                        slot = NULL;
                        lineno = &ast->escape_line;
                } else if (strcasecmp(key, "check") == 0) {
                        slot = &ast->check;
                        lineno = &ast->check_line;
                } else {
                        break; /* an unknown key ends the directives: it is a comment */
                }
                for (char *c = key; *c; c++)
                        *c = (char)tolower((unsigned char)*c);
                if (*lineno != 0)
                        return cnr_errf(err, EINVAL, "%s:%zu: only one `%s` parser directive can be used", ast->file,
                                        i + 1, key);
                *lineno = (int)i + 1;
                if (slot != NULL) {
                        *slot = xstrndup(val, vlen);
                        continue;
                }
                if (vlen != 1 || (val[0] != '\\' && val[0] != '`'))
                        return cnr_errf(err, EINVAL, "%s:%zu: invalid escape token `%.*s`: it must be ` or \\",
                                        ast->file, i + 1, (int)vlen, val);
                ast->escape = val[0];
        }
        *first = i;
        return 0;
}
