/* Fuzz target: the Dockerfile front end (parser, instructions, expansion,
 * plan, reports) on arbitrary bytes.  Invariants, not just "no crash":
 *   - parse succeeds xor fails with a message naming the file;
 *   - a parsed AST has at least one node, every node's lines within the
 *     file and start <= end, and its dump is deterministic;
 *   - planning never fails (problems are diagnostics), counts agree with
 *     the diagnostics, every diagnostic's line is within the file, and both
 *     reports render;
 *   - the expander, given the bytes as one word, yields a string or an
 *     error, never both. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                                       \
        do {                                                                                                           \
                if (!(c))                                                                                              \
                        abort();                                                                                       \
        } while (0)

static const char *
lookup(const char *name, void *arg)
{
        (void)arg;
        if (strcmp(name, "A") == 0)
                return "a b";
        if (strcmp(name, "E") == 0)
                return "";
        return NULL;
}

static void
check_node(const struct cnr_df_node *n, int nlines)
{
        CHECK(n->start_line >= 1 && n->start_line <= n->end_line && n->end_line <= nlines);
        CHECK(n->keyword != NULL && n->original != NULL);
        if (n->form == CNR_DF_FORM_KV)
                CHECK(n->args.n % 2 == 0);
        for (size_t i = 0; i < n->nheredocs; i++)
                CHECK(n->heredocs[i].name[0] != '\0' && n->heredocs[i].content != NULL);
        if (n->child)
                check_node(n->child, nlines);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        struct cnr_df_ast *ast = NULL;
        struct cnr_df_plan *plan = NULL;
        struct cnr_df_opts opts = {.file = "Dockerfile", .platform = "linux/arm64/v8"};
        struct cnr_err *err = NULL;
        size_t nerr = 0, nwarn = 0;

        if (size > CNR_DF_MAX_SIZE)
                return 0;
        if (cnr_df_parse(s, size, "Dockerfile", &ast, &err) == 0) {
                char *d1, *d2;

                CHECK(err == NULL && ast->nnodes >= 1);
                for (size_t i = 0; i < ast->nnodes; i++)
                        check_node(ast->nodes[i], ast->nlines);
                d1 = cnr_df_ast_dump(ast);
                d2 = cnr_df_ast_dump(ast);
                CHECK(strcmp(d1, d2) == 0);
                free(d1);
                free(d2);
                cnr_df_ast_free(ast);
        } else {
                CHECK(err != NULL && strncmp(err->msg, "Dockerfile", 10) == 0);
                cnr_err_free(&err);
        }

        cnr_df_vars_set(&opts.build_args, "A", "x");
        opts.target = size > 0 && data[0] == 't' ? "t" : NULL;
        CHECK(cnr_df_plan(s, size, NULL, &opts, &plan, &err) == 0);
        for (size_t i = 0; i < plan->ndiags; i++) {
                CHECK(plan->diags[i].msg != NULL && plan->diags[i].line >= 0);
                if (plan->ast)
                        CHECK(plan->diags[i].line <= plan->ast->nlines);
                if (plan->diags[i].sev == CNR_DF_ERROR)
                        nerr++;
                else
                        nwarn++;
        }
        CHECK(nerr == plan->nerrors && nwarn == plan->nwarnings);
        if (plan->nerrors == 0)
                CHECK(plan->target >= 0 && (size_t)plan->target < plan->nstages);
        {
                char *t = cnr_df_report_text(plan, true);
                json_t *j = cnr_df_report_json(plan, true);
                CHECK(t != NULL && j != NULL);
                free(t);
                json_decref(j);
        }
        cnr_df_plan_free(plan);
        cnr_df_vars_free(&opts.build_args);

        /* The bytes as one word (NUL-free prefix). */
        {
                struct cnr_df_lex lx = {.escape = size > 1 && data[1] == '`' ? '`' : '\\', .lookup = lookup};
                char *w = xstrndup(s, size < 4096 ? size : 4096), *out = NULL;
                struct cnr_df_strv words = {0};

                if (cnr_df_expand(&lx, w, &out, &err) == 0) {
                        CHECK(out != NULL && err == NULL);
                        free(out);
                } else {
                        CHECK(err != NULL);
                        cnr_err_free(&err);
                }
                if (cnr_df_expand_words(&lx, w, &words, &err) < 0)
                        cnr_err_free(&err);
                cnr_df_strv_free(&words);
                free(w);
        }
        return 0;
}
