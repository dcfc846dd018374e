/* Image records (see images.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/ref.h"
#include "common/util.h"
#include "supervisor/images.h"

static const char *const images_schema[] = {
        /* version 1 */
        "CREATE TABLE images ("
        " id TEXT PRIMARY KEY,"
        " manifest TEXT NOT NULL,"
        " manifest_media_type TEXT NOT NULL,"
        " manifest_size INTEGER NOT NULL,"
        " index_digest TEXT,"
        " config_size INTEGER NOT NULL,"
        " size INTEGER NOT NULL,"
        " os TEXT NOT NULL, arch TEXT NOT NULL, variant TEXT NOT NULL, os_version TEXT NOT NULL,"
        " created TEXT,"
        " added INTEGER NOT NULL);"
        "CREATE TABLE image_layers ("
        " image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
        " idx INTEGER NOT NULL,"
        " digest TEXT NOT NULL,"
        " media_type TEXT NOT NULL,"
        " size INTEGER NOT NULL,"
        " diff_id TEXT NOT NULL,"
        " PRIMARY KEY (image_id, idx));"
        "CREATE INDEX image_layers_digest ON image_layers(digest);"
        "CREATE TABLE image_names ("
        " name TEXT PRIMARY KEY,"
        " image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);"
        "CREATE INDEX image_names_image ON image_names(image_id);",
};

struct gc_hook {
        char *name;
        cnr_gc_hook_fn fn;
        void *arg;
};

struct keep_hook {
        cnr_gc_keep_fn fn;
        void *arg;
};

struct cnr_lease {
        struct cnr_images *im;
        char *what;
        struct cnr_digest *d;
        size_t n;
        struct cnr_lease *next, **prevp;
};

struct cnr_images {
        struct cnr_db *db;
        struct cnr_content *content;
        cnr_images_in_use_fn in_use;
        void *in_use_arg;
        struct gc_hook *hooks;
        size_t nhooks;
        struct keep_hook *keeps;
        size_t nkeeps;
        struct cnr_lease *leases;
};

void
cnr_image_free(struct cnr_image *img)
{
        if (img == NULL)
                return;
        free(img->manifest_media_type);
        free(img->created);
        for (size_t i = 0; i < img->nlayers; i++)
                free(img->layers[i].media_type);
        free(img->layers);
        for (size_t i = 0; i < img->nnames; i++)
                free(img->names[i]);
        free(img->names);
        free(img);
}

void
cnr_image_list_free(struct cnr_image **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                cnr_image_free(v[i]);
        free(v);
}

int
cnr_images_open(struct cnr_db *db, struct cnr_content *content, struct cnr_images **out, struct cnr_err **err)
{
        struct cnr_images *im;

        if (cnr_db_migrate(db, "images", images_schema, CNR_ARRAY_LEN(images_schema), err) < 0)
                return -1;
        im = xcalloc(1, sizeof(*im));
        im->db = db;
        im->content = content;
        *out = im;
        return 0;
}

void
cnr_images_close(struct cnr_images *im)
{
        if (im == NULL)
                return;
        for (size_t i = 0; i < im->nhooks; i++)
                free(im->hooks[i].name);
        free(im->hooks);
        free(im->keeps);
        while (im->leases)
                cnr_lease_release(im->leases);
        free(im);
}

struct cnr_content *
cnr_images_content(struct cnr_images *im)
{
        return im->content;
}

/* ---- reading records ---- */

static const char *
col_text(sqlite3_stmt *st, int i)
{
        const unsigned char *t = sqlite3_column_text(st, i);
        return t ? (const char *)t : "";
}

static void
col_digest(sqlite3_stmt *st, int i, struct cnr_digest *d)
{
        /* What we wrote was parsed strictly; a row that no longer parses
         * is left zeroed (and shows as such) rather than trusted. */
        if (cnr_digest_parse(col_text(st, i), d, NULL) < 0)
                memset(d, 0, sizeof(*d));
}

static int
load_image(struct cnr_images *im, const char *id, struct cnr_image **out, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_image *img;
        int rc;

        if (cnr_db_prepare(im->db,
                           "SELECT id, manifest, manifest_media_type, manifest_size, index_digest, config_size, "
                           "size, os, arch, variant, os_version, created, added FROM images WHERE id = ?1",
                           &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return cnr_errf(err, ENOENT, "image `%s` not found", id);
        if (rc != SQLITE_ROW)
                return cnr_db_err(im->db, err, "read image");
        img = xcalloc(1, sizeof(*img));
        col_digest(st, 0, &img->id);
        col_digest(st, 1, &img->manifest);
        img->manifest_media_type = xstrdup(col_text(st, 2));
        img->manifest_size = sqlite3_column_int64(st, 3);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
                col_digest(st, 4, &img->index);
                img->has_index = true;
        }
        img->config_size = sqlite3_column_int64(st, 5);
        img->size = sqlite3_column_int64(st, 6);
        snprintf(img->platform.os, sizeof(img->platform.os), "%s", col_text(st, 7));
        snprintf(img->platform.arch, sizeof(img->platform.arch), "%s", col_text(st, 8));
        snprintf(img->platform.variant, sizeof(img->platform.variant), "%s", col_text(st, 9));
        snprintf(img->platform.os_version, sizeof(img->platform.os_version), "%s", col_text(st, 10));
        if (sqlite3_column_type(st, 11) != SQLITE_NULL)
                img->created = xstrdup(col_text(st, 11));
        img->added = sqlite3_column_int64(st, 12);
        sqlite3_finalize(st);
        st = NULL;

        if (cnr_db_prepare(im->db,
                           "SELECT digest, media_type, size, diff_id FROM image_layers WHERE image_id = ?1 "
                           "ORDER BY idx",
                           &st, err) < 0)
                goto fail;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct cnr_image_layer *l;

                img->layers = xrealloc(img->layers, (img->nlayers + 1) * sizeof(*img->layers));
                l = &img->layers[img->nlayers++];
                col_digest(st, 0, &l->digest);
                l->media_type = xstrdup(col_text(st, 1));
                l->size = sqlite3_column_int64(st, 2);
                col_digest(st, 3, &l->diff_id);
        }
        if (rc != SQLITE_DONE) {
                cnr_db_err(im->db, err, "read image layers");
                goto fail;
        }
        sqlite3_finalize(st);
        st = NULL;

        if (cnr_db_prepare(im->db, "SELECT name FROM image_names WHERE image_id = ?1 ORDER BY name", &st, err) < 0)
                goto fail;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                img->names = xrealloc(img->names, (img->nnames + 1) * sizeof(*img->names));
                img->names[img->nnames++] = xstrdup(col_text(st, 0));
        }
        if (rc != SQLITE_DONE) {
                cnr_db_err(im->db, err, "read image names");
                goto fail;
        }
        *out = img;
        return 0;
fail:
        cnr_image_free(img);
        return -1;
}

/* Resolve a reference, an id or an id prefix to the full id. */
static int
resolve(struct cnr_images *im, const char *s, char *id, size_t idlen, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_ref ref;
        struct cnr_err *perr = NULL;
        int rc;

        if (s == NULL || *s == '\0')
                return cnr_errf(err, EINVAL, "empty image name");
        if (cnr_ref_looks_like_id(s)) {
                const char *hex = strncmp(s, "sha256:", 7) == 0 ? s + 7 : s;
                char pattern[80];
                int found = 0;

                if (strlen(hex) == 64 || strlen(hex) >= 4) {
                        snprintf(pattern, sizeof(pattern), "sha256:%s*", hex);
                        if (cnr_db_prepare(im->db, "SELECT id FROM images WHERE id GLOB ?1 LIMIT 2", &st, err) < 0)
                                return -1;
                        sqlite3_bind_text(st, 1, pattern, -1, SQLITE_STATIC);
                        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                                if (found++ == 0)
                                        snprintf(id, idlen, "%s", col_text(st, 0));
                        }
                        if (rc != SQLITE_DONE)
                                return cnr_db_err(im->db, err, "find image");
                        if (found > 1)
                                return cnr_errf(err, EINVAL, "image id prefix `%s` is ambiguous", s);
                        if (found == 1)
                                return 0;
                        sqlite3_finalize(st);
                        st = NULL;
                }
                /* A short hex string may also be a name ("cafe"): fall through. */
        }
        if (cnr_ref_parse(s, &ref, &perr) < 0) {
                if (cnr_ref_looks_like_id(s)) {
                        cnr_err_free(&perr);
                        return cnr_errf(err, ENOENT, "image `%s` not found", s);
                }
                *err = perr;
                return -1;
        }
        if (cnr_db_prepare(im->db, "SELECT image_id FROM image_names WHERE name = ?1", &st, err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, ref.str, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                snprintf(id, idlen, "%s", col_text(st, 0));
                return 0;
        }
        if (rc != SQLITE_DONE)
                return cnr_db_err(im->db, err, "find image");
        if (ref.has_digest) {
                /* name@digest: any image of that repository with that
                 * manifest (or index) digest. */
                char like[CNR_REF_NAME_MAX + 4];

                sqlite3_finalize(st);
                st = NULL;
                snprintf(like, sizeof(like), "%s", ref.name);
                if (cnr_db_prepare(im->db,
                                   "SELECT i.id FROM images i JOIN image_names n ON n.image_id = i.id "
                                   "WHERE (i.manifest = ?1 OR i.index_digest = ?1) AND "
                                   "(substr(n.name, 1, length(?2) + 1) IN (?2 || ':', ?2 || '@')) LIMIT 1",
                                   &st, err) < 0)
                        return -1;
                sqlite3_bind_text(st, 1, ref.digest.str, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, like, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                if (rc == SQLITE_ROW) {
                        snprintf(id, idlen, "%s", col_text(st, 0));
                        return 0;
                }
                if (rc != SQLITE_DONE)
                        return cnr_db_err(im->db, err, "find image");
        }
        return cnr_errf(err, ENOENT, "image `%s` not found", s);
}

int
cnr_images_get(struct cnr_images *im, const char *ref_or_id, struct cnr_image **out, struct cnr_err **err)
{
        char id[CNR_DIGEST_MAX];

        *out = NULL;
        if (resolve(im, ref_or_id, id, sizeof(id), err) < 0)
                return -1;
        return load_image(im, id, out, err);
}

int
cnr_images_list(struct cnr_images *im, struct cnr_image ***out, size_t *n, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char **ids = NULL;
        size_t nids = 0;
        struct cnr_image **v;
        int rc;

        *out = NULL;
        *n = 0;
        if (cnr_db_prepare(im->db, "SELECT id FROM images ORDER BY added DESC, id", &st, err) < 0)
                return -1;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                ids = xrealloc(ids, (nids + 1) * sizeof(*ids));
                ids[nids++] = xstrdup(col_text(st, 0));
        }
        if (rc != SQLITE_DONE) {
                for (size_t i = 0; i < nids; i++)
                        free(ids[i]);
                free(ids);
                return cnr_db_err(im->db, err, "list images");
        }
        v = xcalloc(nids ? nids : 1, sizeof(*v));
        for (size_t i = 0; i < nids; i++) {
                if (load_image(im, ids[i], &v[i], err) < 0) {
                        cnr_image_list_free(v, i);
                        for (size_t j = 0; j < nids; j++)
                                free(ids[j]);
                        free(ids);
                        return -1;
                }
        }
        for (size_t i = 0; i < nids; i++)
                free(ids[i]);
        free(ids);
        *out = v;
        *n = nids;
        return 0;
}

/* ---- storing ---- */

static int
step_done(struct cnr_images *im, sqlite3_stmt *st, const char *what, struct cnr_err **err)
{
        if (sqlite3_step(st) != SQLITE_DONE)
                return cnr_db_err(im->db, err, what);
        return 0;
}

static int
set_name(struct cnr_images *im, const char *name, const char *id, struct cnr_err **err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;

        if (cnr_db_prepare(im->db, "INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?1, ?2)", &st,
                           err) < 0)
                return -1;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        return step_done(im, st, "record image name", err);
}

static int
check_blob(struct cnr_images *im, const struct cnr_digest *d, int64_t want, const char *what, struct cnr_err **err)
{
        uint64_t size;

        if (cnr_content_stat(im->content, d, &size, err) < 0)
                return cnr_err_wrap(err, "%s `%s` is not in the content store", what, d->str);
        if (want >= 0 && size != (uint64_t)want)
                return cnr_errf(err, EINVAL, "%s `%s`: stored size %llu, manifest says %lld", what, d->str,
                                (unsigned long long)size, (long long)want);
        return 0;
}

int
cnr_images_store(struct cnr_images *im, const struct cnr_digest *manifest, const struct cnr_digest *index,
                 const char *const *names, size_t nnames, struct cnr_image **out, struct cnr_err **err)
{
        _cleanup_free_ char *mbuf = NULL;
        _cleanup_free_ char *cbuf = NULL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct cnr_manifest *m = NULL;
        struct cnr_image_config *cfg = NULL;
        struct cnr_ref *refs = NULL;
        size_t mlen, clen;
        int64_t total;
        int ret = -1;

        if (out)
                *out = NULL;
        refs = xcalloc(nnames ? nnames : 1, sizeof(*refs));
        for (size_t i = 0; i < nnames; i++)
                if (cnr_ref_parse(names[i], &refs[i], err) < 0)
                        goto out;
        if (cnr_content_read(im->content, manifest, CNR_MANIFEST_MAX, &mbuf, &mlen, err) < 0) {
                cnr_err_wrap(err, "manifest `%s`", manifest->str);
                goto out;
        }
        if (cnr_manifest_parse(mbuf, mlen, NULL, &m, err) < 0) {
                cnr_err_wrap(err, "manifest `%s`", manifest->str);
                goto out;
        }
        if (!cnr_media_is_manifest(m->media)) {
                cnr_errf(err, EINVAL, "`%s` is an index, not an image manifest", manifest->str);
                goto out;
        }
        if (!cnr_media_is_config(m->config.media)) {
                cnr_errf(err, ENOTSUP, "manifest `%s`: config media type `%.200s` is not an image config%s",
                         manifest->str, m->config.media_type,
                         m->artifact_type ? " (this is an artifact, not an image)" : "");
                goto out;
        }
        for (size_t i = 0; i < m->nlayers; i++) {
                if (!cnr_media_is_layer(m->layers[i].media)) {
                        cnr_errf(err, ENOTSUP, "manifest `%s`: layer %zu has unsupported media type `%.200s`",
                                 manifest->str, i, m->layers[i].media_type);
                        goto out;
                }
        }
        if (check_blob(im, &m->config.digest, m->config.size, "config", err) < 0)
                goto out;
        if (cnr_content_read(im->content, &m->config.digest, CNR_MANIFEST_MAX, &cbuf, &clen, err) < 0 ||
            cnr_image_config_parse(cbuf, clen, &cfg, err) < 0) {
                cnr_err_wrap(err, "config `%s`", m->config.digest.str);
                goto out;
        }
        if (cfg->ndiff_ids != m->nlayers) {
                cnr_errf(err, EINVAL, "image `%s`: the config lists %zu layers (diff_ids), the manifest %zu",
                         m->config.digest.str, cfg->ndiff_ids, m->nlayers);
                goto out;
        }
        total = m->config.size;
        for (size_t i = 0; i < m->nlayers; i++) {
                char what[32];

                snprintf(what, sizeof(what), "layer %zu", i);
                if (check_blob(im, &m->layers[i].digest, m->layers[i].size, what, err) < 0)
                        goto out;
                total += m->layers[i].size;
        }

        if (cnr_db_begin(im->db, err) < 0)
                goto out;
        /* A re-store of the same config replaces manifest and layers (the
         * diff_ids, and so the unpacked content, are the same). */
        if (cnr_db_prepare(im->db, "DELETE FROM image_layers WHERE image_id = ?1", &st, err) < 0)
                goto rollback;
        sqlite3_bind_text(st, 1, m->config.digest.str, -1, SQLITE_STATIC);
        if (step_done(im, st, "replace image layers", err) < 0)
                goto rollback;
        sqlite3_finalize(st);
        st = NULL;
        if (cnr_db_prepare(im->db,
                           "INSERT INTO images (id, manifest, manifest_media_type, manifest_size, index_digest, "
                           "config_size, size, os, arch, variant, os_version, created, added) VALUES "
                           "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                           "ON CONFLICT(id) DO UPDATE SET manifest = ?2, manifest_media_type = ?3, "
                           "manifest_size = ?4, index_digest = ?5, config_size = ?6, size = ?7, added = ?13",
                           &st, err) < 0)
                goto rollback;
        sqlite3_bind_text(st, 1, m->config.digest.str, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, manifest->str, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, cnr_media_string(m->media), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)mlen);
        if (index)
                sqlite3_bind_text(st, 5, index->str, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, 5);
        sqlite3_bind_int64(st, 6, m->config.size);
        sqlite3_bind_int64(st, 7, total);
        sqlite3_bind_text(st, 8, cfg->platform.os, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, cfg->platform.arch, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, cfg->platform.variant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 11, cfg->platform.os_version, -1, SQLITE_STATIC);
        if (cfg->created)
                sqlite3_bind_text(st, 12, cfg->created, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, 12);
        sqlite3_bind_int64(st, 13, (sqlite3_int64)time(NULL));
        if (step_done(im, st, "record image", err) < 0)
                goto rollback;
        sqlite3_finalize(st);
        st = NULL;
        if (cnr_db_prepare(im->db,
                           "INSERT INTO image_layers (image_id, idx, digest, media_type, size, diff_id) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           &st, err) < 0)
                goto rollback;
        for (size_t i = 0; i < m->nlayers; i++) {
                sqlite3_reset(st);
                sqlite3_bind_text(st, 1, m->config.digest.str, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
                sqlite3_bind_text(st, 3, m->layers[i].digest.str, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 4, m->layers[i].media_type, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 5, m->layers[i].size);
                sqlite3_bind_text(st, 6, cfg->diff_ids[i].str, -1, SQLITE_STATIC);
                if (step_done(im, st, "record image layer", err) < 0)
                        goto rollback;
        }
        sqlite3_finalize(st);
        st = NULL;
        for (size_t i = 0; i < nnames; i++)
                if (set_name(im, refs[i].str, m->config.digest.str, err) < 0)
                        goto rollback;
        if (cnr_db_commit(im->db, err) < 0)
                goto out;
        if (out && load_image(im, m->config.digest.str, out, err) < 0)
                goto out;
        ret = 0;
        goto out;
rollback:
        cnr_db_rollback(im->db);
out:
        free(refs);
        cnr_manifest_free(m);
        cnr_image_config_free(cfg);
        return ret;
}

int
cnr_images_tag(struct cnr_images *im, const char *src, const char *ref, struct cnr_err **err)
{
        char id[CNR_DIGEST_MAX];
        struct cnr_ref r;

        if (resolve(im, src, id, sizeof(id), err) < 0)
                return -1;
        if (cnr_ref_parse(ref, &r, err) < 0)
                return -1;
        if (r.has_digest)
                return cnr_errf(err, EINVAL, "tag `%s`: a tag cannot carry a digest", ref);
        return set_name(im, r.str, id, err);
}

/* ---- in use, leases ---- */

void
cnr_images_set_in_use_hook(struct cnr_images *im, cnr_images_in_use_fn fn, void *arg)
{
        im->in_use = fn;
        im->in_use_arg = arg;
}

int
cnr_images_in_use(struct cnr_images *im, const struct cnr_image *img, char **who)
{
        *who = NULL;
        if (im->in_use == NULL)
                return 0;
        return im->in_use(im->in_use_arg, img, who) > 0 ? 1 : 0;
}

struct cnr_lease *
cnr_images_lease(struct cnr_images *im, const char *what)
{
        struct cnr_lease *l = xcalloc(1, sizeof(*l));

        l->im = im;
        l->what = xstrdup(what ? what : "");
        l->next = im->leases;
        if (im->leases)
                im->leases->prevp = &l->next;
        l->prevp = &im->leases;
        im->leases = l;
        return l;
}

void
cnr_lease_add(struct cnr_lease *l, const struct cnr_digest *d)
{
        l->d = xrealloc(l->d, (l->n + 1) * sizeof(*l->d));
        l->d[l->n++] = *d;
}

void
cnr_lease_release(struct cnr_lease *l)
{
        if (l == NULL)
                return;
        *l->prevp = l->next;
        if (l->next)
                l->next->prevp = l->prevp;
        free(l->what);
        free(l->d);
        free(l);
}

/* ---- removal ---- */

static void
strv_add(char ***v, size_t *n, const char *s)
{
        if (v == NULL)
                return;
        *v = xrealloc(*v, (*n + 1) * sizeof(**v));
        (*v)[(*n)++] = xstrdup(s);
}

static int
delete_image_row(struct cnr_images *im, const char *id, struct cnr_err **err)
{
        static const char *const sql[] = {
                "DELETE FROM image_names WHERE image_id = ?1",
                "DELETE FROM image_layers WHERE image_id = ?1",
                "DELETE FROM images WHERE id = ?1",
        };

        for (size_t i = 0; i < CNR_ARRAY_LEN(sql); i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;

                if (cnr_db_prepare(im->db, sql[i], &st, err) < 0)
                        return -1;
                sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
                if (step_done(im, st, "delete image", err) < 0)
                        return -1;
        }
        return 0;
}

int
cnr_images_remove(struct cnr_images *im, const char *ref_or_id, bool force, char ***untagged, size_t *nuntagged,
                  char ***deleted, size_t *ndeleted, struct cnr_err **err)
{
        char id[CNR_DIGEST_MAX];
        struct cnr_image *img = NULL;
        _cleanup_free_ char *who = NULL;
        bool by_name = false;
        const char *name = NULL;
        struct cnr_ref r;
        int ret = -1;

        if (untagged) {
                *untagged = NULL;
                *nuntagged = 0;
        }
        if (deleted) {
                *deleted = NULL;
                *ndeleted = 0;
        }
        if (resolve(im, ref_or_id, id, sizeof(id), err) < 0)
                return -1;
        if (load_image(im, id, &img, err) < 0)
                return -1;
        if (cnr_ref_parse(ref_or_id, &r, NULL) == 0) {
                for (size_t i = 0; i < img->nnames; i++)
                        if (strcmp(img->names[i], r.str) == 0) {
                                by_name = true;
                                name = img->names[i];
                        }
        }
        if (by_name && img->nnames > 1 && !force) {
                /* Only the name goes. */
                _cleanup_stmt_ sqlite3_stmt *st = NULL;

                if (cnr_db_prepare(im->db, "DELETE FROM image_names WHERE name = ?1", &st, err) < 0)
                        goto out;
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
                if (step_done(im, st, "remove image name", err) < 0)
                        goto out;
                strv_add(untagged, nuntagged, name);
                ret = 0;
                goto out;
        }
        if (!by_name && img->nnames > 1 && !force) {
                cnr_errf(err, EBUSY, "image `%s` has %zu names; remove them one by one or use --force", ref_or_id,
                         img->nnames);
                goto out;
        }
        if (cnr_images_in_use(im, img, &who)) {
                cnr_errf(err, EBUSY, "image `%s` is in use by %s", ref_or_id, who ? who : "a container");
                goto out;
        }
        if (cnr_db_begin(im->db, err) < 0)
                goto out;
        if (delete_image_row(im, id, err) < 0) {
                cnr_db_rollback(im->db);
                goto out;
        }
        if (cnr_db_commit(im->db, err) < 0)
                goto out;
        for (size_t i = 0; i < img->nnames; i++)
                strv_add(untagged, nuntagged, img->names[i]);
        strv_add(deleted, ndeleted, id);
        ret = 0;
out:
        cnr_image_free(img);
        return ret;
}

/* ---- garbage collection ---- */

void
cnr_gc_report_add(struct cnr_gc_report *r, const char *kind, const char *id, uint64_t bytes)
{
        struct cnr_gc_item *it;

        r->items = xrealloc(r->items, (r->nitems + 1) * sizeof(*r->items));
        it = &r->items[r->nitems++];
        memset(it, 0, sizeof(*it));
        snprintf(it->kind, sizeof(it->kind), "%s", kind);
        it->id = xstrdup(id);
        it->bytes = bytes;
        r->bytes += bytes;
}

void
cnr_gc_report_free(struct cnr_gc_report *r)
{
        for (size_t i = 0; i < r->nitems; i++)
                free(r->items[i].id);
        free(r->items);
        memset(r, 0, sizeof(*r));
}

void
cnr_images_add_keep_hook(struct cnr_images *im, cnr_gc_keep_fn fn, void *arg)
{
        im->keeps = xrealloc(im->keeps, (im->nkeeps + 1) * sizeof(*im->keeps));
        im->keeps[im->nkeeps].fn = fn;
        im->keeps[im->nkeeps++].arg = arg;
}

void
cnr_images_add_gc_hook(struct cnr_images *im, const char *name, cnr_gc_hook_fn fn, void *arg)
{
        im->hooks = xrealloc(im->hooks, (im->nhooks + 1) * sizeof(*im->hooks));
        im->hooks[im->nhooks].name = xstrdup(name);
        im->hooks[im->nhooks].fn = fn;
        im->hooks[im->nhooks++].arg = arg;
}

struct keepset {
        char **v;
        size_t n;
};

static void
keep_add(void *kctx, const struct cnr_digest *d)
{
        struct keepset *k = kctx;

        k->v = xrealloc(k->v, (k->n + 1) * sizeof(*k->v));
        k->v[k->n++] = xstrdup(d->str);
}

static int
cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

struct sweep {
        struct cnr_images *im;
        struct keepset *keep;
        struct cnr_digest *doomed;
        uint64_t *sizes;
        size_t n;
};

static int
sweep_cb(const struct cnr_digest *d, uint64_t size, void *arg)
{
        struct sweep *s = arg;
        const char *key = d->str;

        if (s->keep->n > 0 && bsearch(&key, s->keep->v, s->keep->n, sizeof(char *), cmp_str))
                return 0;
        s->doomed = xrealloc(s->doomed, (s->n + 1) * sizeof(*s->doomed));
        s->sizes = xrealloc(s->sizes, (s->n + 1) * sizeof(*s->sizes));
        s->doomed[s->n] = *d;
        s->sizes[s->n++] = size;
        return 0;
}

int
cnr_images_gc(struct cnr_images *im, struct cnr_gc_report *rep, struct cnr_err **err)
{
        static const char *const sql = "SELECT manifest FROM images UNION SELECT index_digest FROM images "
                                       "WHERE index_digest IS NOT NULL UNION SELECT id FROM images "
                                       "UNION SELECT digest FROM image_layers";
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct keepset keep = {0};
        struct sweep sw = {0};
        int rc, ret = -1;

        if (cnr_db_prepare(im->db, sql, &st, err) < 0)
                return -1;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                keep.v = xrealloc(keep.v, (keep.n + 1) * sizeof(*keep.v));
                keep.v[keep.n++] = xstrdup(col_text(st, 0));
        }
        if (rc != SQLITE_DONE) {
                cnr_db_err(im->db, err, "list referenced blobs");
                goto out;
        }
        for (struct cnr_lease *l = im->leases; l; l = l->next)
                for (size_t i = 0; i < l->n; i++)
                        keep_add(&keep, &l->d[i]);
        for (size_t i = 0; i < im->nkeeps; i++)
                if (im->keeps[i].fn(im->keeps[i].arg, keep_add, &keep, err) < 0)
                        goto out;
        if (keep.n > 0)
                qsort(keep.v, keep.n, sizeof(*keep.v), cmp_str);
        sw.im = im;
        sw.keep = &keep;
        if (cnr_content_walk(im->content, sweep_cb, &sw, err) < 0)
                goto out;
        for (size_t i = 0; i < sw.n; i++) {
                struct cnr_err *e = NULL;

                if (cnr_content_delete(im->content, &sw.doomed[i], &e) < 0) {
                        log_warn("gc: %s", cnr_err_str(e));
                        cnr_err_free(&e);
                        continue;
                }
                cnr_gc_report_add(rep, "blob", sw.doomed[i].str, sw.sizes[i]);
        }
        for (size_t i = 0; i < im->nhooks; i++)
                if (im->hooks[i].fn(im->hooks[i].arg, im, rep, err) < 0) {
                        cnr_err_wrap(err, "gc `%s`", im->hooks[i].name);
                        goto out;
                }
        ret = 0;
out:
        for (size_t i = 0; i < keep.n; i++)
                free(keep.v[i]);
        free(keep.v);
        free(sw.doomed);
        free(sw.sizes);
        return ret;
}

int
cnr_images_prune(struct cnr_images *im, bool all, struct cnr_gc_report *rep, struct cnr_err **err)
{
        struct cnr_image **v;
        size_t n;

        if (cnr_images_list(im, &v, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *who = NULL;

                if (v[i]->nnames > 0 && !all)
                        continue;
                if (cnr_images_in_use(im, v[i], &who))
                        continue;
                if (cnr_db_begin(im->db, err) < 0)
                        goto fail;
                if (delete_image_row(im, v[i]->id.str, err) < 0) {
                        cnr_db_rollback(im->db);
                        goto fail;
                }
                if (cnr_db_commit(im->db, err) < 0)
                        goto fail;
                cnr_gc_report_add(rep, "image", v[i]->id.str, 0);
        }
        cnr_image_list_free(v, n);
        return cnr_images_gc(im, rep, err);
fail:
        cnr_image_list_free(v, n);
        return -1;
}

int
cnr_images_begin(struct cnr_images *im, struct cnr_err **err)
{
        return cnr_db_begin(im->db, err);
}

int
cnr_images_commit(struct cnr_images *im, struct cnr_err **err)
{
        return cnr_db_commit(im->db, err);
}

void
cnr_images_rollback(struct cnr_images *im)
{
        cnr_db_rollback(im->db);
}

bool
cnr_images_blob_in_use(struct cnr_images *im, const struct cnr_digest *d, const struct cnr_lease *except)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc;

        for (struct cnr_lease *l = im->leases; l; l = l->next) {
                if (l == except)
                        continue;
                for (size_t i = 0; i < l->n; i++)
                        if (cnr_digest_equal(&l->d[i], d))
                                return true;
        }
        if (cnr_db_prepare(im->db,
                           "SELECT 1 FROM images WHERE id = ?1 OR manifest = ?1 OR index_digest = ?1 "
                           "UNION ALL SELECT 1 FROM image_layers WHERE digest = ?1 LIMIT 1",
                           &st, NULL) < 0)
                return true; /* when in doubt, keep it */
        sqlite3_bind_text(st, 1, d->str, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        return rc != SQLITE_DONE;
}
