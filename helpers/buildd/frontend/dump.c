/* The AST in our golden-file format (tests/golden/dockerfile/README.md):
 *
 *   escape "\\"                       directives that were given
 *   3 from words["alpine" "AS" "b"]   LINE[-END] keyword [flags[...]] form
 *   4-6 run shell "make &&  make install"
 *   7 env kv["A"="1" "B"="2"]
 *   8 onbuild                         the trigger follows, indented
 *     8 copy words["a" "/b"]
 *   9-12 run shell "cat <<EOF"
 *     heredoc "EOF" chomp=no expand=yes fd=- "hello\n"
 *   warning 4: NoEmptyContinuation: ...
 */
#include "config.h"

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

static void
list(struct cnr_df_buf *b, const char *tag, const struct cnr_df_strv *sv)
{
        cnr_df_buf_adds(b, tag);
        cnr_df_buf_addc(b, '[');
        for (size_t i = 0; i < sv->n; i++) {
                if (i)
                        cnr_df_buf_addc(b, ' ');
                cnr_df_buf_quote(b, sv->v[i]);
        }
        cnr_df_buf_addc(b, ']');
}

static void
node(struct cnr_df_buf *b, const struct cnr_df_node *n, int depth)
{
        for (int i = 0; i < depth; i++)
                cnr_df_buf_adds(b, "  ");
        if (n->end_line != n->start_line)
                cnr_df_buf_addf(b, "%d-%d %s", n->start_line, n->end_line, n->keyword);
        else
                cnr_df_buf_addf(b, "%d %s", n->start_line, n->keyword);
        if (n->flags.n) {
                cnr_df_buf_addc(b, ' ');
                list(b, "flags", &n->flags);
        }
        switch (n->form) {
        case CNR_DF_FORM_NONE:
                break;
        case CNR_DF_FORM_JSON:
                cnr_df_buf_addc(b, ' ');
                list(b, "json", &n->args);
                break;
        case CNR_DF_FORM_SHELL:
                cnr_df_buf_adds(b, " shell");
                for (size_t i = 0; i < n->args.n; i++) {
                        cnr_df_buf_addc(b, ' ');
                        cnr_df_buf_quote(b, n->args.v[i]);
                }
                break;
        case CNR_DF_FORM_WORDS:
                cnr_df_buf_addc(b, ' ');
                list(b, "words", &n->args);
                break;
        case CNR_DF_FORM_KV:
                cnr_df_buf_adds(b, n->legacy_kv ? " legacy-kv[" : " kv[");
                for (size_t i = 0; i + 1 < n->args.n; i += 2) {
                        if (i)
                                cnr_df_buf_addc(b, ' ');
                        cnr_df_buf_quote(b, n->args.v[i]);
                        cnr_df_buf_addc(b, '=');
                        cnr_df_buf_quote(b, n->args.v[i + 1]);
                }
                cnr_df_buf_addc(b, ']');
                break;
        }
        cnr_df_buf_addc(b, '\n');
        if (n->child)
                node(b, n->child, depth + 1);
        for (size_t h = 0; h < n->nheredocs; h++) {
                const struct cnr_df_heredoc *hd = &n->heredocs[h];

                for (int i = 0; i <= depth; i++)
                        cnr_df_buf_adds(b, "  ");
                cnr_df_buf_adds(b, "heredoc ");
                cnr_df_buf_quote(b, hd->name);
                cnr_df_buf_addf(b, " chomp=%s expand=%s fd=", hd->chomp ? "yes" : "no", hd->expand ? "yes" : "no");
                if (hd->fd >= 0)
                        cnr_df_buf_addf(b, "%d ", hd->fd);
                else
                        cnr_df_buf_adds(b, "- ");
                cnr_df_buf_quote(b, hd->content);
                cnr_df_buf_addc(b, '\n');
        }
}

char *
cnr_df_ast_dump(const struct cnr_df_ast *ast)
{
        struct cnr_df_buf b = {0};

        if (ast->syntax) {
                cnr_df_buf_adds(&b, "syntax ");
                cnr_df_buf_quote(&b, ast->syntax);
                cnr_df_buf_addc(&b, '\n');
        }
        if (ast->escape_line) {
                char e[2] = {ast->escape, '\0'};
                cnr_df_buf_adds(&b, "escape ");
                cnr_df_buf_quote(&b, e);
                cnr_df_buf_addc(&b, '\n');
        }
        if (ast->check) {
                cnr_df_buf_adds(&b, "check ");
                cnr_df_buf_quote(&b, ast->check);
                cnr_df_buf_addc(&b, '\n');
        }
        for (size_t i = 0; i < ast->nnodes; i++)
                node(&b, ast->nodes[i], 0);
        for (size_t i = 0; i < ast->nwarnings; i++)
                cnr_df_buf_addf(&b, "warning %d: %s: %s\n", ast->warnings[i].line, ast->warnings[i].rule,
                                ast->warnings[i].msg);
        return cnr_df_buf_steal(&b);
}
