/* Cache keys.
 *
 * A step's definition digest is the SHA-256 of a canonical JSON object
 * (sorted keys, compact) holding what decides its result: the expanded
 * arguments, for RUN the argv, environment (ENV and declared ARGs, never
 * undeclared proxy ARGs), working directory, user, network and security
 * modes and mounts, and for COPY/ADD the content digest of exactly the
 * context paths the sources select.  A step's cache key chains that digest
 * with the key of the filesystem it runs on; steps that change the
 * filesystem (RUN, COPY, ADD, WORKDIR other than /) advance that key, the
 * others do not, so a LABEL does not invalidate the RUN after it while an
 * ENV that the RUN sees does.
 *
 * Content digest of a source set: every selected entry (a directory brings
 * everything under it), in path order, as path, type, mode, uid, gid,
 * size, link target and the SHA-256 of its data.  mtime is not part of it,
 * nor are entries .dockerignore excludes. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"
#include "helpers/buildd/frontend/sha256.h"

static void
hex(const unsigned char *d, size_t n, char out[72])
{
        static const char x[] = "0123456789abcdef";

        memcpy(out, "sha256:", 7);
        for (size_t i = 0; i < n && i < 32; i++) {
                out[7 + 2 * i] = x[d[i] >> 4];
                out[8 + 2 * i] = x[d[i] & 15];
        }
        out[7 + 64] = '\0';
}

void
cnr_df_sha256_hex(const void *data, size_t len, char out[72])
{
        uint8_t d[32];

        cnr_df_sha256_buf(data, len, d);
        hex(d, sizeof(d), out);
}

void
cnr_df_chain_key(const char *parent, const char *def, char out[72])
{
        _cleanup_free_ char *s = xasprintf("%s\n%s", parent, def);

        cnr_df_sha256_hex(s, strlen(s), out);
}

static bool
under(const char *path, const char *dir)
{
        size_t l = strlen(dir);

        if (l == 0)
                return true;
        return strncmp(path, dir, l) == 0 && path[l] == '/';
}

static bool
excluded(const struct cnr_df_strv *ex, const char *root, const char *path)
{
        const char *rel = path, *base = strrchr(path, '/');

        if (ex == NULL)
                return false;
        if (root[0] && under(path, root))
                rel = path + strlen(root) + 1;
        base = base ? base + 1 : path;
        for (size_t i = 0; i < ex->n; i++)
                if (fnmatch(ex->v[i], rel, 0) == 0 || fnmatch(ex->v[i], path, 0) == 0 ||
                    fnmatch(ex->v[i], base, 0) == 0)
                        return true;
        return false;
}

static void
select_tree(const struct cnr_df_context *ctx, const struct cnr_df_ignore *ig, const struct cnr_df_strv *ex,
            const char *root, size_t idx, bool *mark, size_t *n)
{
        const struct cnr_df_entry *e = &ctx->e[idx];

        if (!cnr_df_ignore_match(ig, e->path) && !excluded(ex, root, e->path) && !mark[idx]) {
                mark[idx] = true;
                (*n)++;
        }
        if (e->type != CNR_DF_FT_DIR)
                return;
        for (size_t k = idx + 1; k < ctx->n && (under(ctx->e[k].path, e->path)); k++) {
                if (mark[k] || cnr_df_ignore_match(ig, ctx->e[k].path) || excluded(ex, root, ctx->e[k].path))
                        continue;
                mark[k] = true;
                (*n)++;
        }
}

int
cnr_df_sources_digest(const struct cnr_df_context *ctx, const struct cnr_df_ignore *ig, const struct cnr_df_strv *srcs,
                      const struct cnr_df_strv *excludes, char out[72], size_t *nmatched, struct cnr_err **err)
{
        bool *mark = xcalloc(ctx->n + 1, sizeof(bool));
        struct cnr_df_sha256_ctx *md = NULL;
        uint8_t d[32];
        size_t n = 0;
        int rc = -1;

        for (size_t i = 0; i < srcs->n; i++) {
                _cleanup_free_ char *p = cnr_df_clean_path(srcs->v[i]);

                if (p[0] == '\0') {
                        for (size_t k = 0; k < ctx->n; k++)
                                if (!mark[k] && !cnr_df_ignore_match(ig, ctx->e[k].path) &&
                                    !excluded(excludes, "", ctx->e[k].path)) {
                                        mark[k] = true;
                                        n++;
                                }
                        continue;
                }
                if (strpbrk(p, "*?[")) {
                        for (size_t k = 0; k < ctx->n; k++)
                                if (fnmatch(p, ctx->e[k].path, FNM_PATHNAME) == 0)
                                        select_tree(ctx, ig, excludes, "", k, mark, &n);
                        continue;
                }
                {
                        const struct cnr_df_entry *e = cnr_df_context_find(ctx, p);
                        bool implicit = false;

                        /* A tar need not list a directory before its files. */
                        for (size_t k = 0; e == NULL && k < ctx->n && !implicit; k++)
                                implicit = under(ctx->e[k].path, p) && !cnr_df_ignore_match(ig, ctx->e[k].path);
                        if (implicit) {
                                for (size_t k = 0; k < ctx->n; k++)
                                        if (under(ctx->e[k].path, p))
                                                select_tree(ctx, ig, excludes, p, k, mark, &n);
                                continue;
                        }
                        if (e == NULL || cnr_df_ignore_match(ig, p)) {
                                if (ig && cnr_df_ignore_match(ig, p))
                                        cnr_errf(err, ENOENT,
                                                 "source `%s` is excluded by .dockerignore, so it is not in the "
                                                 "build context",
                                                 srcs->v[i]);
                                else
                                        cnr_errf(err, ENOENT, "source `%s` not found in the build context", srcs->v[i]);
                                goto out;
                        }
                        select_tree(ctx, ig, excludes, p, (size_t)(e - ctx->e), mark, &n);
                }
        }
        if ((md = cnr_df_sha256_new()) == NULL) {
                cnr_errf(err, ENOMEM, "SHA-256 context");
                goto out;
        }
        for (size_t k = 0; k < ctx->n; k++) {
                const struct cnr_df_entry *e = &ctx->e[k];
                char hdr[128];
                int hl;

                if (!mark[k])
                        continue;
                cnr_df_sha256_update(md, e->path, strlen(e->path) + 1);
                hl = snprintf(hdr, sizeof(hdr), "%d %o %llu %llu %llu", (int)e->type, e->mode, e->uid, e->gid, e->size);
                cnr_df_sha256_update(md, hdr, (size_t)hl + 1);
                if (e->link)
                        cnr_df_sha256_update(md, e->link, strlen(e->link));
                cnr_df_sha256_update(md, "", 1);
                if (e->type == CNR_DF_FT_FILE)
                        cnr_df_sha256_update(md, e->sha256, sizeof(e->sha256));
        }
        cnr_df_sha256_final(md, d);
        hex(d, sizeof(d), out);
        *nmatched = n;
        rc = 0;
out:
        cnr_df_sha256_free(md);
        free(mark);
        return rc;
}
