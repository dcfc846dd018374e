/* Dockerfile syntax: physical lines -> logical lines -> AST nodes.
 *
 * Line rules:
 *   - a line whose first non-blank character is `#` is a comment, also
 *     inside a continuation (where it neither ends nor continues it);
 *   - the escape character as the last non-blank character of a line, not
 *     itself escaped, continues the line: it and the blanks after it are
 *     dropped, the next line is appended with its leading blanks kept;
 *   - blank lines inside a continuation are skipped with a warning;
 *   - a continuation open at the end of the file simply ends there;
 *   - no physical line may be longer than 65535 bytes.
 * Then the keyword (case-insensitive), the flags (leading `--x[=y]` words,
 * ended by `--`), and the arguments in the form the instruction dictates.
 * RUN, COPY and ADD in shell form may carry heredocs, whose bodies are the
 * physical lines that follow. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

struct parser {
        struct cnr_df_ast *ast;
        char **lines;
        size_t nlines;
        char esc;
};

static bool
is_blank(char c)
{
        return c == ' ' || c == '\t';
}

static bool
is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const char *
skip_space(const char *p)
{
        while (*p && is_space(*p))
                p++;
        return p;
}

static char *
trim_dup(const char *s)
{
        const char *b = skip_space(s), *e = b + strlen(b);

        while (e > b && is_space(e[-1]))
                e--;
        return xstrndup(b, (size_t)(e - b));
}

void
cnr_df_node_free(struct cnr_df_node *n)
{
        if (n == NULL)
                return;
        free(n->keyword);
        free(n->written);
        cnr_df_strv_free(&n->flags);
        cnr_df_strv_free(&n->args);
        for (size_t i = 0; i < n->nheredocs; i++) {
                free(n->heredocs[i].name);
                free(n->heredocs[i].content);
        }
        free(n->heredocs);
        cnr_df_node_free(n->child);
        free(n->original);
        free(n->comment);
        free(n);
}

void
cnr_df_ast_free(struct cnr_df_ast *ast)
{
        if (ast == NULL)
                return;
        for (size_t i = 0; i < ast->nnodes; i++)
                cnr_df_node_free(ast->nodes[i]);
        free(ast->nodes);
        for (size_t i = 0; i < ast->nwarnings; i++) {
                free(ast->warnings[i].rule);
                free(ast->warnings[i].msg);
                free(ast->warnings[i].url);
        }
        free(ast->warnings);
        free(ast->file);
        free(ast->syntax);
        free(ast->check);
        free(ast);
}

static void
warn(struct cnr_df_ast *ast, int line, const char *rule, char *msg)
{
        ast->warnings = xrealloc(ast->warnings, (ast->nwarnings + 1) * sizeof(*ast->warnings));
        ast->warnings[ast->nwarnings++] =
                (struct cnr_df_diag){.sev = CNR_DF_WARN, .line = line, .rule = xstrdup(rule), .msg = msg};
}

/* ---- JSON exec form ------------------------------------------------------ */

int
cnr_df_json_array(const char *s, struct cnr_df_strv *out, struct cnr_err **err)
{
        json_error_t je;
        json_t *a = json_loads(s, JSON_ALLOW_NUL, &je);
        size_t i;
        json_t *v;

        if (a == NULL)
                return 0;
        if (!json_is_array(a)) {
                json_decref(a);
                return 0;
        }
        json_array_foreach(a, i, v)
        {
                if (!json_is_string(v)) {
                        json_decref(a);
                        cnr_df_strv_free(out);
                        return cnr_errf(err, EINVAL,
                                        "when using JSON array syntax, arrays must be comprised of strings only");
                }
                if (strlen(json_string_value(v)) != json_string_length(v)) {
                        json_decref(a);
                        cnr_df_strv_free(out);
                        return cnr_errf(err, EINVAL,
                                        "a JSON string holds a NUL character (\\u0000), which no "
                                        "command line can carry");
                }
                cnr_df_strv_push(out, json_string_value(v));
        }
        json_decref(a);
        return 1;
}

/* ---- word splitting ------------------------------------------------------ */

/* Split on blanks outside quotes; quotes and escapes stay in the words. */
static void
split_words(const char *s, char esc, struct cnr_df_strv *out)
{
        struct cnr_df_buf w = {0};
        char quote = 0;
        bool inword = false;

        for (const char *p = s; *p; p++) {
                if (!quote && is_space(*p)) {
                        if (inword)
                                cnr_df_strv_take(out, cnr_df_buf_steal(&w));
                        inword = false;
                        continue;
                }
                inword = true;
                if (*p == esc && p[1] != '\0') {
                        cnr_df_buf_addc(&w, *p);
                        cnr_df_buf_addc(&w, *++p);
                        continue;
                }
                if (quote && *p == quote)
                        quote = 0;
                else if (!quote && (*p == '"' || *p == '\''))
                        quote = *p;
                cnr_df_buf_addc(&w, *p);
        }
        if (inword)
                cnr_df_strv_take(out, cnr_df_buf_steal(&w));
        free(w.s);
}

/* Split on whitespace only: no quote handling (FROM, EXPOSE, COPY srcs). */
static void
split_blank(const char *s, struct cnr_df_strv *out)
{
        const char *p = s;

        for (;;) {
                const char *b;

                p = skip_space(p);
                if (*p == '\0')
                        break;
                b = p;
                while (*p && !is_space(*p))
                        p++;
                cnr_df_strv_take(out, xstrndup(b, (size_t)(p - b)));
        }
}

/* Leading --flag words; returns where the arguments start. */
static const char *
extract_flags(const char *rest, char esc, struct cnr_df_strv *flags)
{
        const char *p = skip_space(rest);

        while (p[0] == '-' && p[1] == '-') {
                struct cnr_df_buf w = {0};
                char quote = 0;

                while (*p && (quote || !is_space(*p))) {
                        if (*p == esc && p[1] != '\0') {
                                cnr_df_buf_addc(&w, *p++);
                                cnr_df_buf_addc(&w, *p++);
                                continue;
                        }
                        if (quote && *p == quote)
                                quote = 0;
                        else if (!quote && (*p == '"' || *p == '\''))
                                quote = *p;
                        cnr_df_buf_addc(&w, *p++);
                }
                p = skip_space(p);
                if (strcmp(w.s, "--") == 0) {
                        free(w.s);
                        break;
                }
                cnr_df_strv_take(flags, cnr_df_buf_steal(&w));
        }
        return p;
}

/* ---- argument forms ------------------------------------------------------ */

static int
form_maybe_json(struct cnr_df_node *n, const char *rest, bool list, const char *file, int line, struct cnr_err **err)
{
        _cleanup_free_ char *t = trim_dup(rest);
        int r;

        if (*t == '\0') {
                n->form = CNR_DF_FORM_NONE;
                return 0;
        }
        if (t[0] == '[') {
                r = cnr_df_json_array(t, &n->args, err);
                if (r < 0)
                        return cnr_err_wrap(err, "%s:%d", file, line);
                if (r == 1) {
                        n->form = CNR_DF_FORM_JSON;
                        return 0;
                }
        }
        if (list) {
                split_blank(t, &n->args);
                n->form = CNR_DF_FORM_WORDS;
        } else {
                cnr_df_strv_push(&n->args, t);
                n->form = CNR_DF_FORM_SHELL;
        }
        return 0;
}

static int
form_kv(struct cnr_df_node *n, const char *rest, char esc, const char *file, int line, struct cnr_err **err)
{
        struct cnr_df_strv words = {0};
        const char *p, *b;

        split_words(rest, esc, &words);
        if (words.n == 0) {
                n->form = CNR_DF_FORM_NONE;
                return 0;
        }
        n->form = CNR_DF_FORM_KV;
        if (strchr(words.v[0], '=') == NULL) {
                _cleanup_free_ char *val = NULL;

                cnr_df_strv_free(&words);
                n->legacy_kv = true;
                p = skip_space(rest);
                b = p;
                while (*p && !is_space(*p))
                        p++;
                val = trim_dup(p);
                if (*val == '\0') {
                        char up[16];
                        size_t i;
                        for (i = 0; n->keyword[i] && i < sizeof(up) - 1; i++)
                                up[i] = (char)toupper((unsigned char)n->keyword[i]);
                        up[i] = '\0';
                        return cnr_errf(err, EINVAL, "%s:%d: %s must have two arguments", file, line, up);
                }
                cnr_df_strv_take(&n->args, xstrndup(b, (size_t)(p - b)));
                cnr_df_strv_take(&n->args, steal_ptr(&val));
                return 0;
        }
        for (size_t i = 0; i < words.n; i++) {
                char *eq = strchr(words.v[i], '=');
                if (eq == NULL) {
                        cnr_errf(err, EINVAL,
                                 "%s:%d: syntax error - can't find = in `%s`. Must be of the form: name=value", file,
                                 line, words.v[i]);
                        cnr_df_strv_free(&words);
                        return -1;
                }
                cnr_df_strv_take(&n->args, xstrndup(words.v[i], (size_t)(eq - words.v[i])));
                cnr_df_strv_push(&n->args, eq + 1);
        }
        cnr_df_strv_free(&words);
        return 0;
}

static int parse_instruction(struct parser *ps, const char *text, int line, struct cnr_df_node **out,
                             struct cnr_err **err);

static int
parse_args(struct parser *ps, struct cnr_df_node *n, const char *rest, int line, struct cnr_err **err)
{
        const char *k = n->keyword, *file = ps->ast->file;

        if (!strcmp(k, "add") || !strcmp(k, "copy") || !strcmp(k, "volume"))
                return form_maybe_json(n, rest, true, file, line, err);
        if (!strcmp(k, "run") || !strcmp(k, "cmd") || !strcmp(k, "entrypoint") || !strcmp(k, "shell"))
                return form_maybe_json(n, rest, false, file, line, err);
        if (!strcmp(k, "env") || !strcmp(k, "label"))
                return form_kv(n, rest, ps->esc, file, line, err);
        if (!strcmp(k, "arg")) {
                split_words(rest, ps->esc, &n->args);
                n->form = n->args.n ? CNR_DF_FORM_WORDS : CNR_DF_FORM_NONE;
                return 0;
        }
        if (!strcmp(k, "maintainer") || !strcmp(k, "user") || !strcmp(k, "workdir") || !strcmp(k, "stopsignal")) {
                char *t = trim_dup(rest);
                if (*t == '\0') {
                        free(t);
                        n->form = CNR_DF_FORM_NONE;
                } else {
                        cnr_df_strv_take(&n->args, t);
                        n->form = CNR_DF_FORM_SHELL;
                }
                return 0;
        }
        if (!strcmp(k, "healthcheck")) {
                const char *p = skip_space(rest), *b = p;
                struct cnr_df_node tmp = {0};

                if (*p == '\0') {
                        n->form = CNR_DF_FORM_NONE;
                        return 0;
                }
                while (*p && !is_space(*p))
                        p++;
                tmp.keyword = n->keyword;
                if (form_maybe_json(&tmp, p, false, file, line, err) < 0)
                        return -1;
                cnr_df_strv_take(&n->args, xstrndup(b, (size_t)(p - b)));
                for (size_t i = 0; i < tmp.args.n; i++)
                        cnr_df_strv_push(&n->args, tmp.args.v[i]);
                cnr_df_strv_free(&tmp.args);
                n->form = tmp.form == CNR_DF_FORM_NONE ? CNR_DF_FORM_WORDS : tmp.form;
                return 0;
        }
        if (!strcmp(k, "onbuild")) {
                const char *p = skip_space(rest);
                n->form = CNR_DF_FORM_NONE;
                if (*p == '\0')
                        return 0;
                return parse_instruction(ps, p, line, &n->child, err);
        }
        split_blank(rest, &n->args); /* FROM, EXPOSE, and unknown words */
        n->form = n->args.n ? CNR_DF_FORM_WORDS : CNR_DF_FORM_NONE;
        return 0;
}

/* ---- heredocs ------------------------------------------------------------- */

static bool
takes_heredocs(const struct cnr_df_node *n)
{
        return n->form == CNR_DF_FORM_SHELL || n->form == CNR_DF_FORM_WORDS;
}

/* One heredoc word (after "<<" / "<<-"), quotes processed. */
static int
heredoc_word(const char *p, char esc, const char **end, char **name, bool *expand, const char *file, int line,
             struct cnr_err **err)
{
        struct cnr_df_buf w = {0};
        char quote = 0;
        const char *b = p;

        *expand = true;
        while (*p && (quote || !is_space(*p))) {
                if (!quote && *p == esc && p[1] != '\0') {
                        cnr_df_buf_addc(&w, p[1]);
                        p += 2;
                        continue;
                }
                if (quote && *p == quote) {
                        quote = 0;
                } else if (!quote && (*p == '"' || *p == '\'')) {
                        quote = *p;
                        *expand = false;
                } else {
                        cnr_df_buf_addc(&w, *p);
                }
                p++;
        }
        if (quote) {
                free(w.s);
                return cnr_errf(err, EINVAL, "%s:%d: invalid heredoc `%.*s`: unbalanced quotes", file, line,
                                (int)(p - b), b);
        }
        *end = p;
        *name = cnr_df_buf_steal(&w);
        return 0;
}

static int
find_heredocs(struct parser *ps, struct cnr_df_node *n, const char *args, int line, struct cnr_err **err)
{
        char quote = 0;

        for (const char *p = args; *p; p++) {
                const char *q, *end = NULL;
                bool chomp = false, expand = true;
                int fd = -1;
                char *name = NULL;

                if (quote) {
                        if (*p == ps->esc && p[1] != '\0' && quote == '"')
                                p++;
                        else if (*p == quote)
                                quote = 0;
                        continue;
                }
                if (*p == ps->esc && p[1] != '\0') {
                        p++;
                        continue;
                }
                if (*p == '"' || *p == '\'') {
                        quote = *p;
                        continue;
                }
                if (p != args && !is_space(p[-1]))
                        continue;
                q = p;
                if (isdigit((unsigned char)*q)) {
                        fd = 0;
                        while (isdigit((unsigned char)*q) && fd < 100000)
                                fd = fd * 10 + (*q++ - '0');
                }
                if (q[0] != '<' || q[1] != '<' || q[2] == '<')
                        continue;
                q += 2;
                if (*q == '-') {
                        chomp = true;
                        q++;
                }
                while (is_blank(*q))
                        q++;
                if (*q == '\0' || is_space(*q))
                        continue;
                if (heredoc_word(q, ps->esc, &end, &name, &expand, ps->ast->file, line, err) < 0)
                        return -1;
                if (*name == '\0') {
                        free(name);
                        p = end - 1;
                        continue;
                }
                n->heredocs = xrealloc(n->heredocs, (n->nheredocs + 1) * sizeof(*n->heredocs));
                n->heredocs[n->nheredocs++] =
                        (struct cnr_df_heredoc){.name = name, .expand = expand, .chomp = chomp, .fd = fd};
                p = end - 1;
        }
        return 0;
}

/* Read the bodies of n's heredocs from the lines after *i. */
static int
read_heredocs(struct parser *ps, struct cnr_df_node *n, size_t *i, struct cnr_err **err)
{
        for (size_t h = 0; h < n->nheredocs; h++) {
                struct cnr_df_heredoc *hd = &n->heredocs[h];
                struct cnr_df_buf body = {0};
                bool done = false;

                while (*i + 1 < ps->nlines) {
                        const char *l = ps->lines[++*i];
                        if (hd->chomp)
                                while (*l == '\t')
                                        l++;
                        if (strcmp(l, hd->name) == 0) {
                                done = true;
                                break;
                        }
                        cnr_df_buf_adds(&body, l);
                        cnr_df_buf_addc(&body, '\n');
                }
                hd->content = cnr_df_buf_steal(&body);
                if (!done)
                        return cnr_errf(err, EINVAL, "%s:%d: unterminated heredoc `%s`", ps->ast->file, n->start_line,
                                        hd->name);
        }
        return 0;
}

/* ---- instructions --------------------------------------------------------- */

static int
parse_instruction(struct parser *ps, const char *text, int line, struct cnr_df_node **out, struct cnr_err **err)
{
        struct cnr_df_node *n = xcalloc(1, sizeof(*n));
        const char *p = skip_space(text), *b = p, *args;

        while (*p && !is_space(*p))
                p++;
        n->written = xstrndup(b, (size_t)(p - b));
        n->keyword = xstrdup(n->written);
        for (char *c = n->keyword; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        n->original = trim_dup(text);
        n->start_line = n->end_line = line;
        args = extract_flags(p, ps->esc, &n->flags);
        if (parse_args(ps, n, args, line, err) < 0) {
                cnr_df_node_free(n);
                return -1;
        }
        if ((!strcmp(n->keyword, "run") || !strcmp(n->keyword, "copy") || !strcmp(n->keyword, "add")) &&
            takes_heredocs(n) && find_heredocs(ps, n, args, line, err) < 0) {
                cnr_df_node_free(n);
                return -1;
        }
        *out = n;
        return 0;
}

/* The continuation test: the escape character last (blanks after it
 * allowed), not itself escaped.  *keep = bytes of the line to keep. */
static bool
continues(const char *l, char esc, size_t *keep)
{
        size_t e = strlen(l);

        while (e > 0 && is_blank(l[e - 1]))
                e--;
        *keep = e;
        if (e == 0 || l[e - 1] != esc)
                return false;
        if (e >= 2 && l[e - 2] == esc)
                return false;
        *keep = e - 1;
        return true;
}

static void
push_node(struct cnr_df_ast *ast, struct cnr_df_node *n)
{
        ast->nodes = xrealloc(ast->nodes, (ast->nnodes + 1) * sizeof(*ast->nodes));
        ast->nodes[ast->nnodes++] = n;
}

static int
parse_lines(struct parser *ps, struct cnr_err **err)
{
        struct cnr_df_buf comment = {0};

        for (size_t i = 0; i < ps->nlines; i++) {
                const char *l = ps->lines[i], *t = l;
                struct cnr_df_buf logical = {0};
                struct cnr_df_node *n, *hn;
                size_t keep;
                int start = (int)i + 1, nempty = 0;
                bool more;

                while (is_blank(*t))
                        t++;
                if (*t == '\0') {
                        free(comment.s);
                        memset(&comment, 0, sizeof(comment));
                        continue;
                }
                if (*t == '#') {
                        const char *c = t + 1;
                        while (is_blank(*c))
                                c++;
                        if (comment.len)
                                cnr_df_buf_addc(&comment, '\n');
                        cnr_df_buf_adds(&comment, c);
                        continue;
                }
                more = continues(t, ps->esc, &keep);
                cnr_df_buf_add(&logical, t, keep);
                while (more && i + 1 < ps->nlines) {
                        const char *nx = ps->lines[++i], *nt = nx;
                        while (is_blank(*nt))
                                nt++;
                        if (*nt == '#')
                                continue;
                        if (*nt == '\0') {
                                nempty++;
                                continue;
                        }
                        more = continues(nx, ps->esc, &keep);
                        cnr_df_buf_add(&logical, nx, keep);
                }
                if (logical.s == NULL)
                        cnr_df_buf_adds(&logical, "");
                if (nempty > 0)
                        warn(ps->ast, start, "NoEmptyContinuation",
                             xasprintf("empty continuation line%s found in: %s", nempty > 1 ? "s" : "", logical.s));
                if (parse_instruction(ps, logical.s, start, &n, err) < 0) {
                        free(logical.s);
                        free(comment.s);
                        return -1;
                }
                free(logical.s);
                n->end_line = (int)i + 1;
                if (comment.len)
                        n->comment = cnr_df_buf_steal(&comment);
                free(comment.s);
                memset(&comment, 0, sizeof(comment));
                push_node(ps->ast, n);
                hn = n->child ? n->child : n;
                if (hn->nheredocs > 0) {
                        if (read_heredocs(ps, hn, &i, err) < 0)
                                return -1;
                        n->end_line = (int)i + 1;
                        hn->end_line = n->end_line;
                }
                if (n->child)
                        n->child->end_line = n->end_line;
        }
        free(comment.s);
        return 0;
}

int
cnr_df_parse(const char *data, size_t len, const char *file, struct cnr_df_ast **out, struct cnr_err **err)
{
        struct cnr_df_ast *ast = xcalloc(1, sizeof(*ast));
        struct parser ps = {.ast = ast};
        _cleanup_free_ char *copy = NULL;
        size_t first = 0, cap = 0;
        char *p;
        int rc = -1;

        ast->file = xstrdup(file ? file : "Dockerfile");
        ast->escape = '\\';
        if (len > CNR_DF_MAX_SIZE) {
                cnr_errf(err, EFBIG, "%s: %zu bytes: larger than the %u bytes a Dockerfile may have", ast->file, len,
                         CNR_DF_MAX_SIZE);
                goto done;
        }
        if (len == 0) {
                cnr_errf(err, EINVAL, "%s: the Dockerfile cannot be empty", ast->file);
                goto done;
        }
        if (memchr(data, '\0', len) != NULL) {
                size_t at = (size_t)((const char *)memchr(data, '\0', len) - data), line = 1;
                for (size_t i = 0; i < at; i++)
                        line += data[i] == '\n';
                cnr_errf(err, EINVAL, "%s:%zu: a NUL byte: this is not a text file", ast->file, line);
                goto done;
        }
        if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
                data += 3;
                len -= 3;
        }
        copy = xstrndup(data, len);
        p = copy;
        for (;;) {
                char *nl = strchr(p, '\n');
                size_t l;

                if (nl)
                        *nl = '\0';
                l = strlen(p);
                if (l > 0 && p[l - 1] == '\r')
                        p[--l] = '\0';
                if (l > CNR_DF_MAX_LINE) {
                        cnr_errf(err, E2BIG, "%s:%zu: line greater than max allowed size of %d", ast->file,
                                 ps.nlines + 1, CNR_DF_MAX_LINE);
                        goto done;
                }
                if (nl == NULL && *p == '\0')
                        break; /* the last newline ends the file */
                if (ps.nlines + 1 >= cap) {
                        cap = cap ? cap * 2 : 64;
                        ps.lines = xrealloc(ps.lines, cap * sizeof(*ps.lines));
                }
                ps.lines[ps.nlines++] = p;
                if (nl == NULL)
                        break;
                p = nl + 1;
        }
        ast->nlines = (int)ps.nlines;
        if (cnr_df_directives(ps.lines, ps.nlines, ast, &first, err) < 0)
                goto done;
        ps.esc = ast->escape;
        if (parse_lines(&ps, err) < 0)
                goto done;
        if (ast->nnodes == 0) {
                cnr_errf(err, EINVAL, "%s: file with no instructions", ast->file);
                goto done;
        }
        *out = steal_ptr(&ast);
        rc = 0;
done:
        free(ps.lines);
        cnr_df_ast_free(ast);
        return rc;
}
