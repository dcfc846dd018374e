/* Word expansion: the shell-like lexer the builder runs over the arguments
 * of ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME,
 * WORKDIR, ARG and RUN --mount values (never over RUN/CMD/ENTRYPOINT
 * command text: the shell does that).
 *
 *   'single'   literal up to the next '
 *   "double"   only <esc>" <esc>$ <esc><esc> are escapes; $ expands
 *   <esc>c     c, literally (a trailing escape is dropped)
 *   $name ${name}                      the value ("" when unset)
 *   ${n:-w} ${n-w} ${n:+w} ${n+w}      defaults / alternatives
 *   ${n:?m} ${n?m}                     error "n: m" when unset (or empty)
 *   ${n#p} ${n##p} ${n%p} ${n%%p}      strip shortest/longest prefix/suffix
 *   ${n/p/r} ${n//p/r}                 replace first / every match
 * Patterns are globs with * ? and \-escapes ([ is literal); the words
 * after a modifier are themselves expanded, lazily (an unused default
 * raises no error).  $0-$9, $@ $* $# $? $- $$ $! are always empty; a $
 * before anything else is literal. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

struct st {
        const struct cnr_df_lex *o;
        const char *s;
        size_t i;
        int dry; /* > 0: evaluating a word whose value is not used */
        int depth;
};

#define MAX_DEPTH 64

static bool
is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool
glob_special(char c)
{
        return c == '*' || c == '?' || c == '\\';
}

static void
add_lit(struct cnr_df_buf *b, char c, bool glob)
{
        if (glob && glob_special(c))
                cnr_df_buf_addc(b, '\\');
        cnr_df_buf_addc(b, c);
}

static int dollar(struct st *st, struct cnr_df_buf *out, struct cnr_err **err);

/* Characters up to an unquoted, unescaped one of `stop` (not consumed).
 * glob: literal characters are escaped for the pattern matcher. */
static int
word_until(struct st *st, const char *stop, bool glob, struct cnr_df_buf *out, struct cnr_err **err)
{
        char esc = st->o->escape;

        for (;;) {
                char c = st->s[st->i];

                if (c == '\0' || strchr(stop, c))
                        return 0;
                if (c == '\'') {
                        st->i++;
                        while (st->s[st->i] && st->s[st->i] != '\'')
                                add_lit(out, st->s[st->i++], glob);
                        if (st->s[st->i] == '\0')
                                return cnr_errf(err, EINVAL,
                                                "unexpected end of statement while looking for matching single-quote");
                        st->i++;
                } else if (c == '"') {
                        st->i++;
                        for (;;) {
                                char d = st->s[st->i];
                                if (d == '\0')
                                        return cnr_errf(err, EINVAL,
                                                        "unexpected end of statement while looking "
                                                        "for matching double-quote");
                                if (d == '"') {
                                        st->i++;
                                        break;
                                }
                                if (d == esc &&
                                    (st->s[st->i + 1] == '"' || st->s[st->i + 1] == '$' || st->s[st->i + 1] == esc)) {
                                        add_lit(out, st->s[st->i + 1], glob);
                                        st->i += 2;
                                } else if (d == '$') {
                                        struct cnr_df_buf v = {0};
                                        if (dollar(st, &v, err) < 0) {
                                                free(v.s);
                                                return -1;
                                        }
                                        for (size_t k = 0; k < v.len; k++)
                                                add_lit(out, v.s[k], glob);
                                        free(v.s);
                                } else {
                                        add_lit(out, d, glob);
                                        st->i++;
                                }
                        }
                } else if (c == esc) {
                        st->i++;
                        if (st->s[st->i])
                                add_lit(out, st->s[st->i++], glob);
                } else if (c == '$') {
                        if (dollar(st, out, err) < 0)
                                return -1;
                } else {
                        cnr_df_buf_addc(out, c);
                        st->i++;
                }
        }
}

static const char *
lookup(struct st *st, const char *name, bool record)
{
        const char *v;

        if (isdigit((unsigned char)name[0]) || strchr("@*#?-$!", name[0]))
                return NULL; /* positional and special parameters: never set */
        v = st->o->lookup ? st->o->lookup(name, st->o->arg) : NULL;
        if (v == NULL && record && st->dry == 0 && st->o->unmatched && !cnr_df_strv_has(st->o->unmatched, name))
                cnr_df_strv_push(st->o->unmatched, name);
        return v;
}

bool
cnr_df_glob_match(const char *pat, const char *s, size_t slen)
{
        size_t si = 0;
        const char *star = NULL;
        size_t star_si = 0;

        for (;;) {
                if (*pat == '*') {
                        star = ++pat;
                        star_si = si;
                        continue;
                }
                if (*pat == '\0' && si == slen)
                        return true;
                if (si < slen && *pat != '\0') {
                        const char *p = pat;
                        bool ok;
                        if (*p == '?') {
                                ok = true;
                        } else if (*p == '\\' && p[1] != '\0') {
                                p++;
                                ok = *p == s[si];
                        } else {
                                ok = *p == s[si];
                        }
                        if (ok) {
                                pat = p + 1;
                                si++;
                                continue;
                        }
                }
                if (star == NULL || star_si >= slen)
                        return false;
                pat = star;
                si = ++star_si;
        }
}

static void
apply_strip(const char *v, const char *pat, char op, bool longest, struct cnr_df_buf *out)
{
        size_t n = strlen(v);

        if (op == '#') {
                for (size_t k = 0; k <= n; k++) {
                        size_t len = longest ? n - k : k;
                        if (cnr_df_glob_match(pat, v, len)) {
                                cnr_df_buf_adds(out, v + len);
                                return;
                        }
                }
        } else {
                for (size_t k = 0; k <= n; k++) {
                        size_t start = longest ? k : n - k;
                        if (cnr_df_glob_match(pat, v + start, n - start)) {
                                cnr_df_buf_add(out, v, start);
                                return;
                        }
                }
        }
        cnr_df_buf_adds(out, v);
}

static void
apply_replace(const char *v, const char *pat, const char *repl, bool all, struct cnr_df_buf *out)
{
        size_t n = strlen(v), i = 0;
        bool done = false;

        if (*pat == '\0') {
                cnr_df_buf_adds(out, repl);
                cnr_df_buf_adds(out, v);
                return;
        }
        while (i < n) {
                size_t end = 0;
                bool hit = false;

                if (!done) {
                        for (size_t e = n; e > i; e--) {
                                if (cnr_df_glob_match(pat, v + i, e - i)) {
                                        end = e;
                                        hit = true;
                                        break;
                                }
                        }
                }
                if (hit) {
                        cnr_df_buf_adds(out, repl);
                        i = end;
                        if (!all)
                                done = true;
                } else {
                        cnr_df_buf_addc(out, v[i++]);
                }
        }
}

static int
brace(struct st *st, struct cnr_df_buf *out, struct cnr_err **err)
{
        const char *s = st->s;
        _cleanup_free_ char *name = NULL;
        struct cnr_df_buf w = {0}, r = {0};
        const char *val;
        size_t b = st->i;
        char op, c;
        bool colon = false, twice = false;
        int rc = -1;

        if (isdigit((unsigned char)s[st->i])) {
                while (isdigit((unsigned char)s[st->i]))
                        st->i++;
        } else if (s[st->i] && strchr("@*#?-$!", s[st->i])) {
                st->i++;
        } else if (isalpha((unsigned char)s[st->i]) || s[st->i] == '_') {
                while (isalnum((unsigned char)s[st->i]) || s[st->i] == '_')
                        st->i++;
        } else {
                return cnr_errf(err, EINVAL, "bad substitution: `${%.*s`", (int)strcspn(s + b, "}") + 1, s + b);
        }
        name = xstrndup(s + b, st->i - b);
        c = s[st->i];
        if (c == '}') {
                st->i++;
                val = lookup(st, name, true);
                if (val)
                        cnr_df_buf_adds(out, val);
                return 0;
        }
        if (c == '\0')
                return cnr_errf(err, EINVAL, "missing '}' in `${%s`", name);
        if (c == ':') {
                char m = s[st->i + 1];
                if (m != '-' && m != '+' && m != '?')
                        return cnr_errf(err, EINVAL, "unsupported modifier (:%c) in substitution of `%s`", m ? m : ' ',
                                        name);
                colon = true;
                st->i++;
                c = m;
        }
        op = c;
        st->i++;
        if ((op == '#' || op == '%' || op == '/') && s[st->i] == op) {
                twice = true;
                st->i++;
        }
        val = lookup(st, name, false);
        switch (op) {
        case '-':
        case '+':
        case '?': {
                bool set = val != NULL && (!colon || val[0] != '\0');
                bool use = op == '+' ? set : !set;
                if (!use)
                        st->dry++;
                rc = word_until(st, "}", false, &w, err);
                if (!use)
                        st->dry--;
                if (rc < 0)
                        goto out;
                rc = -1;
                if (s[st->i] != '}') {
                        cnr_errf(err, EINVAL, "missing '}' in `${%s%s%c`", name, colon ? ":" : "", op);
                        goto out;
                }
                st->i++;
                if (op == '-')
                        cnr_df_buf_adds(out, set ? val : (w.s ? w.s : ""));
                else if (op == '+')
                        cnr_df_buf_adds(out, set ? (w.s ? w.s : "") : "");
                else if (!set && st->dry == 0) {
                        if (w.len)
                                cnr_errf(err, EINVAL, "%s: %s", name, w.s);
                        else
                                cnr_errf(err, EINVAL, "%s: is not allowed to be %s", name,
                                         val == NULL ? "unset" : "empty");
                        goto out;
                } else if (set) {
                        cnr_df_buf_adds(out, val);
                }
                break;
        }
        case '#':
        case '%':
                if (word_until(st, "}", true, &w, err) < 0)
                        goto out;
                if (s[st->i] != '}') {
                        cnr_errf(err, EINVAL, "missing '}' in `${%s%c`", name, op);
                        goto out;
                }
                st->i++;
                apply_strip(val ? val : "", w.s ? w.s : "", op, twice, out);
                break;
        case '/':
                if (word_until(st, "/}", true, &w, err) < 0)
                        goto out;
                if (s[st->i] != '/') {
                        cnr_errf(err, EINVAL, "missing '/' in substitution of `%s`", name);
                        goto out;
                }
                st->i++;
                if (word_until(st, "}", false, &r, err) < 0)
                        goto out;
                if (s[st->i] != '}') {
                        cnr_errf(err, EINVAL, "missing '}' in substitution of `%s`", name);
                        goto out;
                }
                st->i++;
                apply_replace(val ? val : "", w.s ? w.s : "", r.s ? r.s : "", twice, out);
                break;
        default:
                cnr_errf(err, EINVAL, "unsupported modifier (%c) in substitution of `%s`", op, name);
                goto out;
        }
        rc = 0;
out:
        free(w.s);
        free(r.s);
        return rc;
}

static int
dollar(struct st *st, struct cnr_df_buf *out, struct cnr_err **err)
{
        const char *s = st->s;
        char c;
        int rc;

        st->i++; /* the $ */
        c = s[st->i];
        if (c == '{') {
                if (++st->depth > MAX_DEPTH)
                        return cnr_errf(err, EINVAL, "substitutions nested deeper than %d", MAX_DEPTH);
                st->i++;
                rc = brace(st, out, err);
                st->depth--;
                return rc;
        }
        if (isalpha((unsigned char)c) || c == '_') {
                size_t b = st->i;
                _cleanup_free_ char *name = NULL;
                const char *v;

                while (isalnum((unsigned char)s[st->i]) || s[st->i] == '_')
                        st->i++;
                name = xstrndup(s + b, st->i - b);
                v = lookup(st, name, true);
                if (v)
                        cnr_df_buf_adds(out, v);
                return 0;
        }
        if (isdigit((unsigned char)c) || (c && strchr("@*#?-$!", c))) {
                st->i++; /* positional or special: empty */
                return 0;
        }
        cnr_df_buf_addc(out, '$');
        return 0;
}

int
cnr_df_expand(const struct cnr_df_lex *lx, const char *word, char **out, struct cnr_err **err)
{
        struct st st = {.o = lx, .s = word};
        struct cnr_df_buf b = {0};

        if (word_until(&st, "", false, &b, err) < 0) {
                free(b.s);
                return -1;
        }
        *out = cnr_df_buf_steal(&b);
        return 0;
}

/* Word splitting: the same walk, but unquoted blanks and blanks inside
 * unquoted expansions separate words. */
int
cnr_df_expand_words(const struct cnr_df_lex *lx, const char *word, struct cnr_df_strv *out, struct cnr_err **err)
{
        struct st st = {.o = lx, .s = word};
        struct cnr_df_buf cur = {0};
        bool inword = false;
        for (;;) {
                char c = word[st.i];

                if (c == '\0')
                        break;
                if (is_space(c)) {
                        if (inword)
                                cnr_df_strv_take(out, cnr_df_buf_steal(&cur));
                        inword = false;
                        st.i++;
                        continue;
                }
                if (c == '$') {
                        struct cnr_df_buf v = {0};
                        if (dollar(&st, &v, err) < 0) {
                                free(v.s);
                                free(cur.s);
                                return -1;
                        }
                        for (size_t k = 0; k < v.len; k++) {
                                if (is_space(v.s[k])) {
                                        if (inword)
                                                cnr_df_strv_take(out, cnr_df_buf_steal(&cur));
                                        inword = false;
                                } else {
                                        cnr_df_buf_addc(&cur, v.s[k]);
                                        inword = true;
                                }
                        }
                        free(v.s);
                        continue;
                }
                /* Quotes, escapes and literals up to the next blank or unquoted $. */
                {
                        struct cnr_df_buf q = {0};

                        inword = true;
                        if (word_until(&st, " \t\n\r\v\f$", false, &q, err) < 0) {
                                free(q.s);
                                free(cur.s);
                                return -1;
                        }
                        if (q.len)
                                cnr_df_buf_add(&cur, q.s, q.len);
                        free(q.s);
                }
        }
        if (inword)
                cnr_df_strv_take(out, cnr_df_buf_steal(&cur));
        free(cur.s);
        return 0;
}

/* ---- variable scopes ------------------------------------------------------- */

void
cnr_df_vars_set(struct cnr_df_vars *v, const char *name, const char *value)
{
        for (size_t i = 0; i < v->names.n; i++) {
                if (strcmp(v->names.v[i], name) == 0) {
                        free(v->values.v[i]);
                        v->values.v[i] = xstrdup(value);
                        return;
                }
        }
        cnr_df_strv_push(&v->names, name);
        cnr_df_strv_push(&v->values, value);
}

const char *
cnr_df_vars_get(const struct cnr_df_vars *v, const char *name)
{
        for (size_t i = 0; i < v->names.n; i++)
                if (strcmp(v->names.v[i], name) == 0)
                        return v->values.v[i];
        return NULL;
}

void
cnr_df_vars_unset(struct cnr_df_vars *v, const char *name)
{
        for (size_t i = 0; i < v->names.n; i++) {
                if (strcmp(v->names.v[i], name) == 0) {
                        free(v->names.v[i]);
                        free(v->values.v[i]);
                        memmove(&v->names.v[i], &v->names.v[i + 1], (v->names.n - i) * sizeof(char *));
                        memmove(&v->values.v[i], &v->values.v[i + 1], (v->values.n - i) * sizeof(char *));
                        v->names.n--;
                        v->values.n--;
                        return;
                }
        }
}

void
cnr_df_vars_free(struct cnr_df_vars *v)
{
        cnr_df_strv_free(&v->names);
        cnr_df_strv_free(&v->values);
}

void
cnr_df_vars_copy(struct cnr_df_vars *dst, const struct cnr_df_vars *src)
{
        for (size_t i = 0; i < src->names.n; i++)
                cnr_df_vars_set(dst, src->names.v[i], src->values.v[i]);
}
