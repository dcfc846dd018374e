/* Image unpack into snapshots: see unpack.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/unpack.h"

void
cnr_chain_ids(const struct cnr_digest *diff_ids, size_t n, struct cnr_digest *out)
{
        for (size_t i = 0; i < n; i++) {
                if (i == 0) {
                        out[0] = diff_ids[0];
                } else {
                        _cleanup_free_ char *s = xasprintf("%s %s", out[i - 1].str, diff_ids[i].str);
                        cnr_digest_buf(CNR_DIGEST_SHA256, s, strlen(s), &out[i]);
                }
        }
}

struct unpack {
        struct cnr_snapshotter *ss;
        struct cnr_content *content;
        struct cnr_digest *blobs, *diff_ids, *chain;
        size_t n, next;
        char key[200];
        int blobfd;
        cnr_unpack_done_fn cb;
        void *arg;
        struct cnr_err *failure; /* kept while the active snapshot is removed */
};

static void step(struct unpack *u);
static void on_diffed(struct cnr_err *err, const struct cnr_snap_diffed *d, void *arg);

static void
finish(struct unpack *u, struct cnr_err *err)
{
        u->cb(err, u->n ? u->chain[u->n - 1].str : "", u->arg);
        if (u->blobfd >= 0)
                close(u->blobfd);
        free(u->blobs);
        free(u->diff_ids);
        free(u->chain);
        cnr_err_free(&u->failure);
        free(u);
}

static void
on_failed_removed(struct cnr_err *err, void *arg)
{
        struct unpack *u = arg;

        finish(u, u->failure);
}

/* Fail the unpack after removing the active snapshot of this step. */
static void
fail(struct unpack *u, struct cnr_err *err)
{
        struct cnr_err *e2 = NULL;

        cnr_errf(&u->failure, err ? err->code : EIO, "unpack layer %zu of %zu (%s): %s", u->next + 1, u->n,
                 u->blobs[u->next].str, err ? err->msg : "failed");
        if (u->blobfd >= 0) {
                close(u->blobfd);
                u->blobfd = -1;
        }
        if (cnr_snap_remove(u->ss, u->key, on_failed_removed, u, &e2) < 0) {
                cnr_err_free(&e2); /* not created, or already gone */
                finish(u, u->failure);
        }
}

static void
on_commit_dup_removed(struct cnr_err *err, void *arg)
{
        struct unpack *u = arg;

        u->next++;
        step(u);
}

static void
on_applied(struct cnr_err *err, const struct cnr_snap_applied *a, void *arg)
{
        struct unpack *u = arg;
        struct cnr_err *e = NULL;

        close(u->blobfd);
        u->blobfd = -1;
        if (err) {
                fail(u, err);
                return;
        }
        if (strcmp(a->diff_id, u->diff_ids[u->next].str) != 0) {
                cnr_errf(&e, EBADMSG, "diff_id mismatch (the config says %s, the layer is %s)",
                         u->diff_ids[u->next].str, a->diff_id);
                fail(u, e);
                cnr_err_free(&e);
                return;
        }
        /* The diff_id of snapd's own diff of what was applied, recorded
         * with the commit: what `containr snapshot verify` recomputes (the
         * layer's own tar is another tool's and rarely byte-identical). */
        if (cnr_snap_diff(u->ss, u->key, -1, false, on_diffed, u, &e) < 0) {
                fail(u, e);
                cnr_err_free(&e);
        }
}

static void
on_diffed(struct cnr_err *err, const struct cnr_snap_diffed *d, void *arg)
{
        struct unpack *u = arg;
        struct cnr_err *e = NULL;
        json_t *labels;

        if (err) {
                fail(u, err);
                return;
        }
        labels = json_pack("{s:s}", "containerd.io/snapshot/diff-id", u->diff_ids[u->next].str);
        if (cnr_snap_commit(u->ss, u->chain[u->next].str, u->key, labels, &e) < 0) {
                json_decref(labels);
                if (e->code == EEXIST) {
                        /* Another unpack committed the same chain first. */
                        cnr_err_free(&e);
                        if (cnr_snap_remove(u->ss, u->key, on_commit_dup_removed, u, &e) < 0) {
                                cnr_err_free(&e);
                                on_commit_dup_removed(NULL, u);
                        }
                        return;
                }
                fail(u, e);
                cnr_err_free(&e);
                return;
        }
        json_decref(labels);
        if (cnr_snap_set_diff_id(u->ss, u->chain[u->next].str, d->diff_id, &e) < 0) {
                /* Committed: verify will say it has nothing to compare. */
                log_warn("unpack: %s", cnr_err_str(e));
                cnr_err_free(&e);
        }
        log_debug("unpacked layer %s as snapshot %s", u->blobs[u->next].str, u->chain[u->next].str);
        u->next++;
        step(u);
}

static void
on_prepared(struct cnr_err *err, void *arg)
{
        struct unpack *u = arg;
        struct cnr_err *e = NULL;

        if (err) {
                cnr_errf(&u->failure, err->code, "unpack layer %zu of %zu: prepare `%s`: %s", u->next + 1, u->n, u->key,
                         cnr_err_str(err));
                finish(u, u->failure);
                return;
        }
        u->blobfd = cnr_content_open_blob(u->content, &u->blobs[u->next], &e);
        if (u->blobfd < 0 || cnr_snap_apply(u->ss, u->key, u->blobfd, 0, 0, on_applied, u, &e) < 0) {
                fail(u, e);
                cnr_err_free(&e);
        }
}

static void
step(struct unpack *u)
{
        struct cnr_snap_info i;
        struct cnr_err *e = NULL;

        /* Skip what is already there. */
        while (u->next < u->n && cnr_snap_stat(u->ss, u->chain[u->next].str, &i, &e) == 0) {
                bool usable = i.kind == CNR_SNAP_COMMITTED && !i.missing;
                cnr_snap_info_clear(&i);
                if (!usable)
                        break;
                u->next++;
        }
        cnr_err_free(&e);
        if (u->next == u->n) {
                finish(u, NULL);
                return;
        }
        snprintf(u->key, sizeof(u->key), "extract-%llu-%.64s", (unsigned long long)cnr_now_us(),
                 cnr_digest_hex(&u->chain[u->next]));
        if (cnr_snap_prepare(u->ss, u->key, u->next ? u->chain[u->next - 1].str : "", NULL, on_prepared, u, &e) < 0) {
                cnr_errf(&u->failure, e->code, "unpack layer %zu of %zu: %s", u->next + 1, u->n, e->msg);
                cnr_err_free(&e);
                finish(u, u->failure);
        }
}

int
cnr_unpack(struct cnr_snapshotter *ss, struct cnr_content *content, const struct cnr_image *img, cnr_unpack_done_fn cb,
           void *arg, struct cnr_err **err)
{
        struct unpack *u;

        if (ss == NULL)
                return cnr_errf(err, ENOTSUP, "no snapshotter");
        u = xcalloc(1, sizeof(*u));
        u->ss = ss;
        u->content = content;
        u->n = img->nlayers;
        u->blobfd = -1;
        u->cb = cb;
        u->arg = arg;
        u->blobs = xcalloc(u->n + 1, sizeof(*u->blobs));
        u->diff_ids = xcalloc(u->n + 1, sizeof(*u->diff_ids));
        u->chain = xcalloc(u->n + 1, sizeof(*u->chain));
        for (size_t i = 0; i < u->n; i++) {
                u->blobs[i] = img->layers[i].digest;
                u->diff_ids[i] = img->layers[i].diff_id;
        }
        cnr_chain_ids(u->diff_ids, u->n, u->chain);
        step(u);
        return 0;
}

static void
gc_removed(const char *name, void *arg)
{
        cnr_gc_report_add(arg, "snapshot", name, 0);
}

int
cnr_unpack_gc_hook(void *arg, struct cnr_images *im, struct cnr_gc_report *rep, struct cnr_err **err)
{
        struct cnr_snapshotter *ss = arg;
        struct cnr_image **imgs = NULL;
        size_t n = 0, nkeep = 0;
        char **keep;
        int r;

        if (ss == NULL)
                return 0;
        if (cnr_images_list(im, &imgs, &n, err) < 0)
                return -1;
        keep = xcalloc(n + 1, sizeof(*keep));
        for (size_t i = 0; i < n; i++) {
                struct cnr_digest *d, *c;
                if (imgs[i]->nlayers == 0)
                        continue;
                d = xcalloc(imgs[i]->nlayers, sizeof(*d));
                c = xcalloc(imgs[i]->nlayers, sizeof(*c));
                for (size_t l = 0; l < imgs[i]->nlayers; l++)
                        d[l] = imgs[i]->layers[l].diff_id;
                cnr_chain_ids(d, imgs[i]->nlayers, c);
                keep[nkeep++] = xstrdup(c[imgs[i]->nlayers - 1].str);
                free(d);
                free(c);
        }
        cnr_image_list_free(imgs, n);
        r = cnr_snap_gc(ss, (const char *const *)keep, nkeep, gc_removed, rep, err);
        for (size_t i = 0; i < nkeep; i++)
                free(keep[i]);
        free(keep);
        return r;
}
