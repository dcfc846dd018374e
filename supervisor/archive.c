/* Image archives: save, load, import (see archive.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "common/log.h"
#include "common/ref.h"
#include "common/util.h"
#include "supervisor/archive.h"
#include "supervisor/manifest.h"

#define BUFSZ (128 * 1024)
#define MAX_ENTRIES 100000
#define MAX_PATH_LEN 1024

int
cnr_archive_format_parse(const char *s, enum cnr_archive_format *out, struct cnr_err **err)
{
        if (s == NULL || *s == '\0' || strcmp(s, "docker-archive") == 0 || strcmp(s, "docker") == 0)
                *out = CNR_ARCHIVE_DOCKER;
        else if (strcmp(s, "oci-archive") == 0 || strcmp(s, "oci") == 0)
                *out = CNR_ARCHIVE_OCI;
        else
                return cnr_errf(err, EINVAL, "archive format `%s` is not one of docker-archive, oci-archive", s);
        return 0;
}

static void
archive_freep(struct archive **a)
{
        if (*a)
                archive_free(*a);
}
#define _cleanup_archive_ __attribute__((cleanup(archive_freep)))

static void
jdecrefp(json_t **j)
{
        json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(jdecrefp)))

static int
aerr(struct cnr_err **err, struct archive *a, const char *what)
{
        int e = archive_errno(a);
        return cnr_errf(err, e > 0 ? e : EIO, "%s: %s", what, archive_error_string(a) ? archive_error_string(a) : "error");
}

/* ---- uncompressed views of a blob ---- */

/* Open a blob through libarchive's decompressors (raw format). */
static struct archive *
open_decompressed(int fd, struct cnr_err **err)
{
        struct archive *a = archive_read_new();

        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        if (archive_read_open_fd(a, fd, BUFSZ) != ARCHIVE_OK) {
                aerr(err, a, "open layer");
                archive_read_free(a);
                return NULL;
        }
        return a;
}

/* Digest and size of the uncompressed bytes of blob d; the compression
 * found is reported in *comp. */
static int
uncompressed_digest(struct cnr_content *c, const struct cnr_digest *d, struct cnr_digest *out, uint64_t *size,
                    enum cnr_compression *comp, struct cnr_err **err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_archive_ struct archive *a = NULL;
        _cleanup_free_ char *buf = NULL;
        struct archive_entry *e;
        struct cnr_hasher *h;
        la_ssize_t n;
        int f;

        fd = cnr_content_open_blob(c, d, err);
        if (fd < 0)
                return -1;
        a = open_decompressed(fd, err);
        if (a == NULL)
                return -1;
        if (archive_read_next_header(a, &e) != ARCHIVE_OK)
                return aerr(err, a, "read layer");
        f = archive_filter_code(a, 0);
        *comp = f == ARCHIVE_FILTER_GZIP ? CNR_COMP_GZIP : f == ARCHIVE_FILTER_ZSTD ? CNR_COMP_ZSTD : CNR_COMP_NONE;
        if (f != ARCHIVE_FILTER_NONE && f != ARCHIVE_FILTER_GZIP && f != ARCHIVE_FILTER_ZSTD)
                return cnr_errf(err, ENOTSUP, "layer `%s`: compression `%s` is not gzip or zstd", d->str,
                                archive_filter_name(a, 0));
        buf = xmalloc(BUFSZ);
        h = cnr_hasher_new(CNR_DIGEST_SHA256);
        *size = 0;
        while ((n = archive_read_data(a, buf, BUFSZ)) > 0) {
                cnr_hasher_update(h, buf, (size_t)n);
                *size += (uint64_t)n;
        }
        if (n < 0) {
                cnr_hasher_free(h);
                return aerr(err, a, "decompress layer");
        }
        cnr_hasher_final(h, out);
        return 0;
}

/* ---- save ---- */

struct writer {
        struct archive *a;
        char **written; /* entry names already in the archive */
        size_t nwritten;
};

static bool
already_written(struct writer *w, const char *name)
{
        for (size_t i = 0; i < w->nwritten; i++)
                if (strcmp(w->written[i], name) == 0)
                        return true;
        w->written = xrealloc(w->written, (w->nwritten + 1) * sizeof(*w->written));
        w->written[w->nwritten++] = xstrdup(name);
        return false;
}

static int
write_header(struct writer *w, const char *name, int64_t size, struct cnr_err **err)
{
        struct archive_entry *e = archive_entry_new();
        int r;

        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, size);
        archive_entry_set_mtime(e, 0, 0);
        r = archive_write_header(w->a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
                return aerr(err, w->a, "write archive");
        return 0;
}

static int
write_dir(struct writer *w, const char *name, struct cnr_err **err)
{
        struct archive_entry *e;
        int r;

        if (already_written(w, name))
                return 0;
        e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_mtime(e, 0, 0);
        r = archive_write_header(w->a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
                return aerr(err, w->a, "write archive");
        return 0;
}

static int
write_data(struct writer *w, const void *buf, size_t len, struct cnr_err **err)
{
        if (len > 0 && archive_write_data(w->a, buf, len) != (la_ssize_t)len)
                return aerr(err, w->a, "write archive");
        return 0;
}

static int
write_buf(struct writer *w, const char *name, const void *buf, size_t len, struct cnr_err **err)
{
        if (write_header(w, name, (int64_t)len, err) < 0)
                return -1;
        return write_data(w, buf, len, err);
}

static int
write_blob(struct writer *w, struct cnr_content *c, const struct cnr_digest *d, struct cnr_err **err)
{
        _cleanup_free_ char *name = xasprintf("blobs/sha256/%s", cnr_digest_hex(d));
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;

        if (already_written(w, name))
                return 0;
        fd = cnr_content_open_blob(c, d, err);
        if (fd < 0)
                return -1;
        if (fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "stat blob `%s`", d->str);
        if (write_header(w, name, st.st_size, err) < 0)
                return -1;
        buf = xmalloc(BUFSZ);
        while ((n = read(fd, buf, BUFSZ)) > 0)
                if (write_data(w, buf, (size_t)n, err) < 0)
                        return -1;
        if (n < 0)
                return cnr_errf(err, errno, "read blob `%s`", d->str);
        return 0;
}

/* docker-archive layers are uncompressed tars named by their diff_id. */
static int
write_layer_uncompressed(struct writer *w, struct cnr_content *c, const struct cnr_image_layer *l,
                         struct cnr_err **err)
{
        _cleanup_free_ char *name = xasprintf("blobs/sha256/%s", cnr_digest_hex(&l->diff_id));
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        _cleanup_archive_ struct archive *a = NULL;
        struct archive_entry *e;
        struct cnr_digest got;
        enum cnr_compression comp;
        uint64_t size, done = 0;
        la_ssize_t n;

        if (already_written(w, name))
                return 0;
        if (cnr_media_compression(cnr_media_parse(l->media_type)) == CNR_COMP_NONE &&
            cnr_digest_equal(&l->digest, &l->diff_id)) {
                w->nwritten--; /* let write_blob record it */
                free(w->written[w->nwritten]);
                return write_blob(w, c, &l->digest, err);
        }
        /* Two passes: the tar header needs the size before the data. */
        if (uncompressed_digest(c, &l->digest, &got, &size, &comp, err) < 0)
                return -1;
        if (!cnr_digest_equal(&got, &l->diff_id))
                return cnr_errf(err, EIO, "layer `%s` uncompresses to `%s`, not its diff_id `%s`", l->digest.str,
                                got.str, l->diff_id.str);
        if (write_header(w, name, (int64_t)size, err) < 0)
                return -1;
        fd = cnr_content_open_blob(c, &l->digest, err);
        if (fd < 0)
                return -1;
        a = open_decompressed(fd, err);
        if (a == NULL)
                return -1;
        if (archive_read_next_header(a, &e) != ARCHIVE_OK)
                return aerr(err, a, "read layer");
        buf = xmalloc(BUFSZ);
        while ((n = archive_read_data(a, buf, BUFSZ)) > 0) {
                if (done + (uint64_t)n > size)
                        return cnr_errf(err, EIO, "layer `%s` changed while saving", l->digest.str);
                if (write_data(w, buf, (size_t)n, err) < 0)
                        return -1;
                done += (uint64_t)n;
        }
        if (n < 0)
                return aerr(err, a, "decompress layer");
        if (done != size)
                return cnr_errf(err, EIO, "layer `%s` changed while saving", l->digest.str);
        return 0;
}

static int
save_docker(struct writer *w, struct cnr_images *im, const struct cnr_save_item *items, size_t n,
            struct cnr_err **err)
{
        struct cnr_content *c = cnr_images_content(im);
        _cleanup_json_ json_t *manifest = json_array();
        _cleanup_free_ char *dump = NULL;

        if (write_dir(w, "blobs/", err) < 0 || write_dir(w, "blobs/sha256/", err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                const struct cnr_image *img = items[i].img;
                json_t *layers = json_array(), *tags = json_array();
                json_t *entry;

                if (write_blob(w, c, &img->id, err) < 0) {
                        json_decref(layers);
                        json_decref(tags);
                        return -1;
                }
                for (size_t j = 0; j < img->nlayers; j++) {
                        if (write_layer_uncompressed(w, c, &img->layers[j], err) < 0) {
                                json_decref(layers);
                                json_decref(tags);
                                return cnr_err_wrap(err, "image `%s`", img->id.str);
                        }
                        json_array_append_new(
                                layers, json_string_nocheck(xasprintf("blobs/sha256/%s",
                                                                      cnr_digest_hex(&img->layers[j].diff_id))));
                }
                for (size_t j = 0; j < items[i].nnames; j++) {
                        struct cnr_ref r;
                        char fam[sizeof(r.str)];

                        if (cnr_ref_parse(items[i].names[j], &r, NULL) < 0 || !r.tag[0])
                                continue;
                        r.has_digest = false;
                        cnr_ref_format(&r);
                        cnr_ref_familiar(&r, fam, sizeof(fam));
                        json_array_append_new(tags, json_string(fam));
                }
                entry = json_pack("{s:s+,s:o,s:o}", "Config", "blobs/sha256/", cnr_digest_hex(&img->id), "RepoTags",
                                  tags, "Layers", layers);
                json_array_append_new(manifest, entry);
        }
        dump = json_dumps(manifest, JSON_COMPACT);
        return write_buf(w, "manifest.json", dump, strlen(dump), err);
}

static int
save_oci(struct writer *w, struct cnr_images *im, const struct cnr_save_item *items, size_t n,
         struct cnr_err **err)
{
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        struct cnr_content *c = cnr_images_content(im);
        _cleanup_json_ json_t *manifests = json_array();
        _cleanup_json_ json_t *index = NULL;
        _cleanup_free_ char *dump = NULL;

        if (write_buf(w, "oci-layout", layout, sizeof(layout) - 1, err) < 0)
                return -1;
        if (write_dir(w, "blobs/", err) < 0 || write_dir(w, "blobs/sha256/", err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                const struct cnr_image *img = items[i].img;
                json_t *platform;
                size_t named = 0;

                if (write_blob(w, c, &img->manifest, err) < 0 || write_blob(w, c, &img->id, err) < 0)
                        return cnr_err_wrap(err, "image `%s`", img->id.str);
                for (size_t j = 0; j < img->nlayers; j++)
                        if (write_blob(w, c, &img->layers[j].digest, err) < 0)
                                return cnr_err_wrap(err, "image `%s`", img->id.str);
                platform = json_pack("{s:s,s:s}", "os", img->platform.os, "architecture", img->platform.arch);
                if (img->platform.variant[0])
                        json_object_set_new(platform, "variant", json_string(img->platform.variant));
                /* One index entry per name (skopeo and umoci find images
                 * by org.opencontainers.image.ref.name), or one unnamed. */
                for (size_t j = 0; j <= items[i].nnames; j++) {
                        struct cnr_ref r;
                        json_t *d;

                        if (j == items[i].nnames && named > 0)
                                break;
                        d = json_pack("{s:s,s:s,s:I,s:O}", "mediaType", img->manifest_media_type, "digest",
                                      img->manifest.str, "size", (json_int_t)img->manifest_size, "platform",
                                      platform);
                        if (j < items[i].nnames) {
                                if (cnr_ref_parse(items[i].names[j], &r, NULL) < 0 || !r.tag[0]) {
                                        json_decref(d);
                                        continue;
                                }
                                r.has_digest = false;
                                cnr_ref_format(&r);
                                json_object_set_new(d, "annotations",
                                                    json_pack("{s:s,s:s}", "io.containerd.image.name", r.str,
                                                              "org.opencontainers.image.ref.name", r.tag));
                                named++;
                        }
                        json_array_append_new(manifests, d);
                }
                json_decref(platform);
        }
        index = json_pack("{s:i,s:s,s:O}", "schemaVersion", 2, "mediaType", cnr_media_string(CNR_MT_OCI_INDEX),
                          "manifests", manifests);
        dump = json_dumps(index, JSON_COMPACT);
        return write_buf(w, "index.json", dump, strlen(dump), err);
}

int
cnr_archive_save(struct cnr_images *im, const struct cnr_save_item *items, size_t n, enum cnr_archive_format fmt,
                 int fd, uint64_t *bytes, struct cnr_err **err)
{
        struct writer w = {0};
        int ret;

        *bytes = 0;
        w.a = archive_write_new();
        archive_write_set_format_pax_restricted(w.a);
        archive_write_add_filter_none(w.a);
        if (archive_write_open_fd(w.a, fd) != ARCHIVE_OK) {
                ret = aerr(err, w.a, "open output");
                goto out;
        }
        ret = fmt == CNR_ARCHIVE_OCI ? save_oci(&w, im, items, n, err) : save_docker(&w, im, items, n, err);
        if (ret == 0 && archive_write_close(w.a) != ARCHIVE_OK)
                ret = aerr(err, w.a, "finish archive");
        if (ret == 0)
                *bytes = (uint64_t)archive_filter_bytes(w.a, -1);
out:
        archive_write_free(w.a);
        for (size_t i = 0; i < w.nwritten; i++)
                free(w.written[i]);
        free(w.written);
        return ret;
}

/* ---- load ---- */

struct staged {
        char *path;
        char *link; /* alias target path (in-archive), or NULL */
        struct cnr_digest d;
        uint64_t size;
        bool is_new;
        char *small; /* manifest.json, index.json, oci-layout, repositories */
        size_t small_len;
};

struct loader {
        struct cnr_images *im;
        struct cnr_content *c;
        struct cnr_lease *lease;
        struct staged *st;
        size_t nst;
        struct cnr_load_result *res;
};

static void
warn(struct loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
warn(struct loader *L, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        L->res->warnings = xrealloc(L->res->warnings, (L->res->nwarnings + 1) * sizeof(char *));
        L->res->warnings[L->res->nwarnings++] = xvasprintf(fmt, ap);
        va_end(ap);
}

/* Normalise an entry name: strip leading "./", refuse absolute names, `..`,
 * `.` and empty components.  A trailing `/` (directories) is dropped. */
static int
clean_path(const char *in, char *out, size_t n, struct cnr_err **err)
{
        const char *p = in;
        size_t len;

        if (in == NULL)
                return cnr_errf(err, EINVAL, "hostile archive: an entry has no name");
        while (p[0] == '.' && p[1] == '/')
                p += 2;
        len = strlen(p);
        if (len >= n || len > MAX_PATH_LEN)
                return cnr_errf(err, EINVAL, "hostile archive: entry name `%.80s...` is too long", in);
        if (p[0] == '/')
                return cnr_errf(err, EINVAL, "hostile archive: entry `%.200s` has an absolute path", in);
        memcpy(out, p, len + 1);
        if (len > 0 && out[len - 1] == '/')
                out[--len] = '\0';
        if (len == 0 || strcmp(out, ".") == 0)
                return 0;
        for (char *c = out;;) {
                char *slash = strchr(c, '/');
                size_t cl = slash ? (size_t)(slash - c) : strlen(c);

                if (cl == 0 || (cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.'))
                        return cnr_errf(err, EINVAL, "hostile archive: entry `%.200s` has a `%.*s` path component",
                                        in, (int)cl, cl ? c : "empty");
                if (!slash)
                        break;
                c = slash + 1;
        }
        return 0;
}

/* Resolve a link target relative to the link's directory, lexically,
 * staying inside the archive. */
static int
resolve_link(const char *path, const char *target, char *out, size_t n, struct cnr_err **err)
{
        char buf[2 * MAX_PATH_LEN + 4];
        char *parts[512];
        size_t np = 0;
        char *save = NULL, *tok;
        size_t used = 0;

        if (target == NULL || target[0] == '\0')
                return cnr_errf(err, EINVAL, "hostile archive: link `%.200s` has no target", path);
        if (target[0] == '/')
                return cnr_errf(err, EINVAL, "hostile archive: link `%.200s` points at absolute path `%.200s`", path,
                                target);
        if (strlen(path) + strlen(target) + 2 > sizeof(buf))
                return cnr_errf(err, EINVAL, "hostile archive: link `%.200s` target too long", path);
        snprintf(buf, sizeof(buf), "%s", path);
        {
                char *slash = strrchr(buf, '/');
                if (slash)
                        slash[1] = '\0';
                else
                        buf[0] = '\0';
        }
        strcat(buf, target);
        for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
                if (strcmp(tok, ".") == 0)
                        continue;
                if (strcmp(tok, "..") == 0) {
                        if (np == 0)
                                return cnr_errf(err, EINVAL,
                                                "hostile archive: link `%.200s` -> `%.200s` leaves the archive", path,
                                                target);
                        np--;
                        continue;
                }
                if (np == CNR_ARRAY_LEN(parts))
                        return cnr_errf(err, EINVAL, "hostile archive: link `%.200s` target too deep", path);
                parts[np++] = tok;
        }
        out[0] = '\0';
        for (size_t i = 0; i < np; i++) {
                int w = snprintf(out + used, n - used, "%s%s", i ? "/" : "", parts[i]);
                if (w < 0 || (size_t)w >= n - used)
                        return cnr_errf(err, EINVAL, "hostile archive: link `%.200s` target too long", path);
                used += (size_t)w;
        }
        return 0;
}

static struct staged *
find_staged(struct loader *L, const char *path)
{
        for (int hops = 0; hops < 8; hops++) {
                struct staged *s = NULL;

                for (size_t i = 0; i < L->nst; i++)
                        if (strcmp(L->st[i].path, path) == 0)
                                s = &L->st[i];
                if (s == NULL || s->link == NULL)
                        return s;
                path = s->link;
        }
        return NULL;
}

/* blobs/<alg>/<hex> or <hex>.json promise a digest. */
static int
promised_digest(const char *path, struct cnr_digest *d, bool *has, struct cnr_err **err)
{
        char buf[CNR_DIGEST_MAX + 8];
        const char *hex;

        *has = false;
        if (strncmp(path, "blobs/", 6) == 0) {
                const char *alg = path + 6;
                const char *slash = strchr(alg, '/');

                if (slash == NULL || strchr(slash + 1, '/'))
                        return 0;
                if ((size_t)(slash - alg) + 1 + strlen(slash + 1) >= sizeof(buf))
                        return cnr_errf(err, EINVAL, "hostile archive: blob name `%.200s` is not a digest", path);
                snprintf(buf, sizeof(buf), "%.*s:%s", (int)(slash - alg), alg, slash + 1);
                if (cnr_digest_parse(buf, d, err) < 0)
                        return cnr_err_wrap(err, "archive entry `%.200s`", path);
                *has = true;
                return 0;
        }
        hex = path;
        if (strchr(hex, '/') == NULL && strlen(hex) == 64 + 5 && strcmp(hex + 64, ".json") == 0) {
                snprintf(buf, sizeof(buf), "sha256:%.64s", hex);
                if (cnr_digest_parse(buf, d, NULL) == 0)
                        *has = true;
        }
        return 0;
}

static bool
is_small_doc(const char *path)
{
        return strcmp(path, "manifest.json") == 0 || strcmp(path, "index.json") == 0 ||
               strcmp(path, "oci-layout") == 0 || strcmp(path, "repositories") == 0;
}

static bool
is_legacy_aux(const char *path)
{
        const char *slash = strchr(path, '/');
        return slash && strchr(slash + 1, '/') == NULL &&
               (strcmp(slash + 1, "json") == 0 || strcmp(slash + 1, "VERSION") == 0);
}

static int
stage_entry(struct loader *L, struct archive *a, struct archive_entry *e, const char *path, struct cnr_err **err)
{
        struct staged s = {0};
        struct cnr_digest promised;
        bool has_promise;
        int64_t size;

        if (!archive_entry_size_is_set(e))
                return cnr_errf(err, EINVAL, "archive entry `%.200s` has no size", path);
        size = archive_entry_size(e);
        if (size < 0)
                return cnr_errf(err, EINVAL, "archive entry `%.200s` has a negative size", path);
        if (is_small_doc(path)) {
                la_ssize_t n;
                size_t got = 0;

                if ((uint64_t)size > CNR_MANIFEST_MAX)
                        return cnr_errf(err, EFBIG, "archive entry `%s` is %lld bytes, more than the %u-byte limit",
                                        path, (long long)size, CNR_MANIFEST_MAX);
                s.small = xmalloc((size_t)size + 1);
                while (got < (size_t)size &&
                       (n = archive_read_data(a, s.small + got, (size_t)size - got)) > 0)
                        got += (size_t)n;
                if (got != (size_t)size) {
                        free(s.small);
                        return aerr(err, a, "read archive");
                }
                s.small[got] = '\0';
                s.small_len = got;
        } else if (is_legacy_aux(path)) {
                return 0;
        } else {
                struct cnr_ingest *in;
                _cleanup_free_ char *buf = NULL;
                uint64_t have;
                la_ssize_t n;

                if (promised_digest(path, &promised, &has_promise, err) < 0)
                        return -1;
                if (has_promise && cnr_content_stat(L->c, &promised, &have, NULL) == 0 && have == (uint64_t)size) {
                        /* Already stored (and verified when it was). */
                        s.d = promised;
                        s.size = have;
                } else {
                        in = cnr_ingest_begin(L->c, has_promise ? &promised : NULL, size, err);
                        if (in == NULL)
                                return cnr_err_wrap(err, "archive entry `%.200s`", path);
                        buf = xmalloc(BUFSZ);
                        while ((n = archive_read_data(a, buf, BUFSZ)) > 0) {
                                if (cnr_ingest_write(in, buf, (size_t)n, err) < 0) {
                                        cnr_ingest_abort(in);
                                        return cnr_err_wrap(err, "archive entry `%.200s`", path);
                                }
                        }
                        if (n < 0) {
                                cnr_ingest_abort(in);
                                return aerr(err, a, "read archive");
                        }
                        /* Was it there before?  Then a failed load must not
                         * delete it (unpromised blobs: the rollback asks
                         * whether anything else uses them). */
                        s.is_new = !(has_promise && cnr_content_stat(L->c, &promised, &have, NULL) == 0);
                        if (cnr_ingest_commit(in, &s.d, err) < 0)
                                return cnr_err_wrap(err, "archive entry `%.200s`", path);
                        s.size = (uint64_t)size;
                }
                cnr_lease_add(L->lease, &s.d);
        }
        s.path = xstrdup(path);
        L->st = xrealloc(L->st, (L->nst + 1) * sizeof(*L->st));
        L->st[L->nst++] = s;
        return 0;
}

static int
read_archive(struct loader *L, int fd, struct cnr_err **err)
{
        _cleanup_archive_ struct archive *a = archive_read_new();
        struct archive_entry *e;
        size_t count = 0;
        int r;

        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        if (archive_read_open_fd(a, fd, BUFSZ) != ARCHIVE_OK)
                return aerr(err, a, "not a tar archive");
        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                char path[MAX_PATH_LEN + 2];
                const char *hl = archive_entry_hardlink(e);
                mode_t type = archive_entry_filetype(e);

                if (++count > MAX_ENTRIES)
                        return cnr_errf(err, E2BIG, "hostile archive: more than %d entries", MAX_ENTRIES);
                if (clean_path(archive_entry_pathname(e), path, sizeof(path), err) < 0)
                        return -1;
                if (path[0] == '\0' || strcmp(path, ".") == 0)
                        continue;
                for (size_t i = 0; i < L->nst; i++)
                        if (strcmp(L->st[i].path, path) == 0)
                                return cnr_errf(err, EINVAL, "hostile archive: entry `%.200s` appears twice", path);
                if (hl || type == AE_IFLNK) {
                        char target[MAX_PATH_LEN + 2];
                        struct staged s = {0};

                        if (hl) {
                                if (clean_path(hl, target, sizeof(target), err) < 0)
                                        return -1;
                        } else if (resolve_link(path, archive_entry_symlink(e), target, sizeof(target), err) < 0) {
                                return -1;
                        }
                        s.path = xstrdup(path);
                        s.link = xstrdup(target);
                        L->st = xrealloc(L->st, (L->nst + 1) * sizeof(*L->st));
                        L->st[L->nst++] = s;
                        continue;
                }
                if (type == AE_IFDIR)
                        continue;
                if (type != AE_IFREG)
                        return cnr_errf(err, EINVAL,
                                        "hostile archive: entry `%.200s` is a device, fifo or socket, not a file", path);
                if (stage_entry(L, a, e, path, err) < 0)
                        return -1;
        }
        if (r != ARCHIVE_EOF)
                return aerr(err, a, "read archive");
        if (count == 0)
                return cnr_errf(err, EINVAL, "the archive is empty");
        return 0;
}

/* The bytes of a staged file: small docs from memory, others from the
 * store (capped). */
static int
staged_read(struct loader *L, const char *path, char **buf, size_t *len, struct cnr_digest *d, struct cnr_err **err)
{
        struct staged *s = find_staged(L, path);

        if (s == NULL)
                return cnr_errf(err, ENOENT, "archive has no entry `%.200s`", path);
        if (s->small) {
                *buf = xmalloc(s->small_len + 1);
                memcpy(*buf, s->small, s->small_len + 1);
                *len = s->small_len;
                if (d)
                        cnr_digest_buf(CNR_DIGEST_SHA256, *buf, *len, d);
                return 0;
        }
        if (d)
                *d = s->d;
        return cnr_content_read(L->c, &s->d, CNR_MANIFEST_MAX, buf, len, err);
}

static int
put_blob(struct loader *L, const void *buf, size_t len, struct cnr_digest *out, struct cnr_err **err)
{
        uint64_t have;
        struct cnr_digest d;
        struct staged s = {0};

        cnr_digest_buf(CNR_DIGEST_SHA256, buf, len, &d);
        s.is_new = cnr_content_stat(L->c, &d, &have, NULL) < 0;
        if (cnr_content_put(L->c, buf, len, &d, out, err) < 0)
                return -1;
        cnr_lease_add(L->lease, out);
        s.path = xasprintf("(generated)/%s", out->str);
        s.d = *out;
        s.size = len;
        L->st = xrealloc(L->st, (L->nst + 1) * sizeof(*L->st));
        L->st[L->nst++] = s;
        return 0;
}

/* Drop reserved labels from the config; returns the config digest to use
 * (unchanged or a new blob). */
static int
filter_config(struct loader *L, const char *cbuf, size_t clen, const struct cnr_digest *cd, struct cnr_digest *out,
              int64_t *outsize, struct cnr_err **err)
{
        _cleanup_free_ char *nbuf = NULL;
        size_t nlen;
        int removed;

        removed = cnr_image_config_strip_reserved(cbuf, clen, &nbuf, &nlen, err);
        if (removed < 0)
                return -1;
        if (removed == 0) {
                *out = *cd;
                *outsize = (int64_t)clen;
                return 0;
        }
        warn(L, "image config `%s`: dropped %d label(s) in the reserved namespace `%s*`", cd->str, removed,
             CNR_RESERVED_LABEL_PREFIX);
        if (put_blob(L, nbuf, nlen, out, err) < 0)
                return -1;
        *outsize = (int64_t)nlen;
        return 0;
}

static void
add_loaded(struct loader *L, const struct cnr_digest *id, char **names, size_t n)
{
        struct cnr_loaded *l;

        L->res->images = xrealloc(L->res->images, (L->res->nimages + 1) * sizeof(*L->res->images));
        l = &L->res->images[L->res->nimages++];
        l->id = *id;
        l->names = xcalloc(n + 1, sizeof(char *));
        l->nnames = n;
        for (size_t i = 0; i < n; i++)
                l->names[i] = xstrdup(names[i]);
}

static void
strv_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static int
load_docker(struct loader *L, struct staged *mj, struct cnr_err **err)
{
        _cleanup_json_ json_t *doc = NULL;
        json_error_t je;
        size_t i;
        json_t *ent;

        doc = json_loadb(mj->small, mj->small_len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_array(doc))
                return cnr_errf(err, EINVAL, "manifest.json is not a JSON array%s%s", doc ? "" : ": ",
                                doc ? "" : je.text);
        if (json_array_size(doc) == 0)
                return cnr_errf(err, EINVAL, "manifest.json lists no images");
        json_array_foreach(doc, i, ent)
        {
                json_t *cfgp = json_object_get(ent, "Config"), *tags = json_object_get(ent, "RepoTags");
                json_t *layers = json_object_get(ent, "Layers");
                _cleanup_free_ char *cbuf = NULL;
                _cleanup_free_ char *mbuf = NULL;
                struct cnr_image_config *cfg = NULL;
                struct cnr_digest cd, promised, cfgd, md;
                int64_t cfgsize;
                bool has_promise;
                size_t clen;
                json_t *mlayers, *m;
                char **names = NULL;
                size_t nnames = 0;
                struct cnr_image *img = NULL;
                int rc;

                if (!json_is_object(ent) || !json_is_string(cfgp) || !json_is_array(layers) ||
                    (tags && !json_is_null(tags) && !json_is_array(tags)))
                        return cnr_errf(err, EINVAL, "manifest.json[%zu] needs Config (string) and Layers (array)",
                                        i);
                if (staged_read(L, json_string_value(cfgp), &cbuf, &clen, &cd, err) < 0)
                        return cnr_err_wrap(err, "manifest.json[%zu] Config", i);
                if (promised_digest(json_string_value(cfgp), &promised, &has_promise, NULL) == 0 && has_promise &&
                    !cnr_digest_equal(&promised, &cd))
                        return cnr_errf(err, EINVAL, "config `%.200s`: wrong digest (want %s, got %s)",
                                        json_string_value(cfgp), promised.str, cd.str);
                if (cnr_image_config_parse(cbuf, clen, &cfg, err) < 0)
                        return cnr_err_wrap(err, "manifest.json[%zu] Config `%.200s`", i, json_string_value(cfgp));
                if (cfg->ndiff_ids != json_array_size(layers)) {
                        size_t nd = cfg->ndiff_ids;
                        cnr_image_config_free(cfg);
                        return cnr_errf(err, EINVAL, "manifest.json[%zu]: %zu layers but the config has %zu diff_ids",
                                        i, json_array_size(layers), nd);
                }
                mlayers = json_array();
                for (size_t j = 0; j < json_array_size(layers); j++) {
                        json_t *lp = json_array_get(layers, j);
                        struct staged *s;
                        struct cnr_digest ud;
                        uint64_t usize;
                        enum cnr_compression comp = CNR_COMP_NONE;
                        enum cnr_media mt;

                        if (!json_is_string(lp) || (s = find_staged(L, json_string_value(lp))) == NULL || s->small) {
                                cnr_image_config_free(cfg);
                                json_decref(mlayers);
                                return cnr_errf(err, ENOENT, "manifest.json[%zu]: layer %zu `%.200s` is not in the archive",
                                                i, j, json_is_string(lp) ? json_string_value(lp) : "?");
                        }
                        if (!cnr_digest_equal(&s->d, &cfg->diff_ids[j])) {
                                if (uncompressed_digest(L->c, &s->d, &ud, &usize, &comp, err) < 0 ||
                                    !cnr_digest_equal(&ud, &cfg->diff_ids[j])) {
                                        if (*err == NULL)
                                                cnr_errf(err, EINVAL,
                                                         "layer `%.200s`: wrong digest (the config wants diff_id %s, "
                                                         "the file has %s)",
                                                         json_string_value(lp), cfg->diff_ids[j].str, ud.str);
                                        cnr_image_config_free(cfg);
                                        json_decref(mlayers);
                                        return -1;
                                }
                        }
                        mt = comp == CNR_COMP_GZIP   ? CNR_MT_OCI_LAYER_GZIP
                             : comp == CNR_COMP_ZSTD ? CNR_MT_OCI_LAYER_ZSTD
                                                     : CNR_MT_OCI_LAYER;
                        json_array_append_new(mlayers, json_pack("{s:s,s:s,s:I}", "mediaType", cnr_media_string(mt),
                                                                 "digest", s->d.str, "size", (json_int_t)s->size));
                }
                cnr_image_config_free(cfg);
                if (filter_config(L, cbuf, clen, &cd, &cfgd, &cfgsize, err) < 0) {
                        json_decref(mlayers);
                        return -1;
                }
                m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
                              cnr_media_string(CNR_MT_OCI_MANIFEST), "config", "mediaType",
                              cnr_media_string(CNR_MT_OCI_CONFIG), "digest", cfgd.str, "size", (json_int_t)cfgsize,
                              "layers", mlayers);
                mbuf = json_dumps(m, JSON_COMPACT);
                json_decref(m);
                if (put_blob(L, mbuf, strlen(mbuf), &md, err) < 0)
                        return -1;
                if (tags && json_is_array(tags)) {
                        size_t k;
                        json_t *t;
                        json_array_foreach(tags, k, t)
                        {
                                struct cnr_ref r;
                                struct cnr_err *e = NULL;

                                if (!json_is_string(t) || cnr_ref_parse(json_string_value(t), &r, &e) < 0) {
                                        warn(L, "RepoTags: %s", e ? cnr_err_str(e) : "not a string");
                                        cnr_err_free(&e);
                                        continue;
                                }
                                names = xrealloc(names, (nnames + 1) * sizeof(*names));
                                names[nnames++] = xstrdup(r.str);
                        }
                }
                rc = cnr_images_store(L->im, &md, NULL, (const char *const *)names, nnames, &img, err);
                if (rc == 0)
                        add_loaded(L, &img->id, names, nnames);
                strv_free(names, nnames);
                cnr_image_free(img);
                if (rc < 0)
                        return cnr_err_wrap(err, "manifest.json[%zu]", i);
        }
        return 0;
}

/* Replace the config descriptor of a manifest (reserved labels dropped). */
static int
rewrite_manifest(struct loader *L, const char *mbuf, size_t mlen, const struct cnr_digest *cfgd, int64_t cfgsize,
                 struct cnr_digest *out, struct cnr_err **err)
{
        _cleanup_json_ json_t *doc = json_loadb(mbuf, mlen, 0, NULL);
        _cleanup_free_ char *dump = NULL;
        json_t *cfg = json_object_get(doc, "config");

        if (!json_is_object(cfg))
                return cnr_errf(err, EINVAL, "manifest has no config");
        json_object_set_new(cfg, "digest", json_string(cfgd->str));
        json_object_set_new(cfg, "size", json_integer(cfgsize));
        dump = json_dumps(doc, JSON_COMPACT);
        return put_blob(L, dump, strlen(dump), out, err);
}

static int
load_oci_manifest(struct loader *L, const struct cnr_descriptor *d, const struct cnr_digest *index, char **names,
                  size_t nnames, int depth, struct cnr_err **err)
{
        _cleanup_free_ char *mbuf = NULL;
        _cleanup_free_ char *cbuf = NULL;
        struct cnr_manifest *m = NULL;
        struct cnr_digest md = d->digest, cfgd;
        struct cnr_image *img = NULL;
        size_t mlen, clen;
        int64_t cfgsize;
        int rc = -1;

        if (cnr_content_read(L->c, &d->digest, CNR_MANIFEST_MAX, &mbuf, &mlen, err) < 0)
                return cnr_err_wrap(err, "index.json entry `%s`", d->digest.str);
        if ((int64_t)mlen != d->size)
                return cnr_errf(err, EINVAL, "manifest `%s`: %zu bytes, its descriptor says %lld", d->digest.str,
                                mlen, (long long)d->size);
        if (cnr_manifest_parse(mbuf, mlen, d->media_type, &m, err) < 0)
                return cnr_err_wrap(err, "manifest `%s`", d->digest.str);
        if (cnr_media_is_index(m->media)) {
                struct cnr_platform host;
                const struct cnr_descriptor *sel;

                if (depth > 4) {
                        cnr_manifest_free(m);
                        return cnr_errf(err, ELOOP, "indexes nested too deep");
                }
                cnr_platform_host(&host);
                if (cnr_manifest_select(m, &host, &sel, err) < 0) {
                        cnr_manifest_free(m);
                        return cnr_err_wrap(err, "index `%s`", d->digest.str);
                }
                rc = load_oci_manifest(L, sel, &d->digest, names, nnames, depth + 1, err);
                cnr_manifest_free(m);
                return rc;
        }
        if (cnr_content_read(L->c, &m->config.digest, CNR_MANIFEST_MAX, &cbuf, &clen, err) < 0) {
                cnr_err_wrap(err, "manifest `%s`: config", d->digest.str);
                goto out;
        }
        if (filter_config(L, cbuf, clen, &m->config.digest, &cfgd, &cfgsize, err) < 0)
                goto out;
        if (!cnr_digest_equal(&cfgd, &m->config.digest) &&
            rewrite_manifest(L, mbuf, mlen, &cfgd, cfgsize, &md, err) < 0)
                goto out;
        if (cnr_images_store(L->im, &md, index, (const char *const *)names, nnames, &img, err) < 0) {
                cnr_err_wrap(err, "manifest `%s`", d->digest.str);
                goto out;
        }
        add_loaded(L, &img->id, names, nnames);
        rc = 0;
out:
        cnr_image_free(img);
        cnr_manifest_free(m);
        return rc;
}

static int
load_oci(struct loader *L, struct staged *ij, struct cnr_err **err)
{
        struct cnr_manifest *idx = NULL;
        struct staged *layout = find_staged(L, "oci-layout");
        int rc = 0;

        if (layout == NULL || layout->small == NULL) {
                warn(L, "archive has no oci-layout file; reading index.json anyway");
        } else {
                _cleanup_json_ json_t *lj = json_loadb(layout->small, layout->small_len, 0, NULL);
                json_t *v = json_object_get(lj, "imageLayoutVersion");
                if (!json_is_string(v))
                        return cnr_errf(err, EINVAL, "oci-layout has no imageLayoutVersion");
                if (strncmp(json_string_value(v), "1.", 2) != 0)
                        return cnr_errf(err, ENOTSUP, "OCI layout version `%.20s` is not supported",
                                        json_string_value(v));
        }
        if (cnr_manifest_parse(ij->small, ij->small_len, NULL, &idx, err) < 0)
                return cnr_err_wrap(err, "index.json");
        if (!cnr_media_is_index(idx->media)) {
                cnr_manifest_free(idx);
                return cnr_errf(err, EINVAL, "index.json is not an image index");
        }
        if (idx->nmanifests == 0)
                warn(L, "index.json lists no images");
        for (size_t i = 0; i < idx->nmanifests && rc == 0; i++) {
                const struct cnr_descriptor *d = &idx->manifests[i];
                char *name = NULL;
                struct cnr_ref r;
                struct cnr_err *e = NULL;

                if (!cnr_media_is_manifest(d->media) && !cnr_media_is_index(d->media)) {
                        warn(L, "index.json entry %zu: media type `%.100s` skipped", i, d->media_type);
                        continue;
                }
                if (d->image_name && cnr_ref_parse(d->image_name, &r, &e) == 0) {
                        name = r.str;
                } else if (d->ref_name && (strchr(d->ref_name, ':') || strchr(d->ref_name, '/')) &&
                           cnr_ref_parse(d->ref_name, &r, &e) == 0) {
                        name = r.str;
                } else if (d->ref_name) {
                        warn(L, "index.json entry %zu: ref.name `%.100s` is a bare tag with no repository; "
                                "the image is loaded without a name",
                             i, d->ref_name);
                }
                if (e) {
                        warn(L, "index.json entry %zu: %s", i, cnr_err_str(e));
                        cnr_err_free(&e);
                }
                rc = load_oci_manifest(L, d, NULL, name ? &name : NULL, name ? 1 : 0, 0, err);
        }
        cnr_manifest_free(idx);
        return rc;
}

void
cnr_load_result_free(struct cnr_load_result *res)
{
        for (size_t i = 0; i < res->nimages; i++)
                strv_free(res->images[i].names, res->images[i].nnames);
        free(res->images);
        strv_free(res->warnings, res->nwarnings);
        memset(res, 0, sizeof(*res));
}

static void
loader_rollback(struct loader *L)
{
        for (size_t i = 0; i < L->nst; i++) {
                struct cnr_err *e = NULL;

                if (!L->st[i].is_new || L->st[i].small || L->st[i].link)
                        continue;
                /* Only blobs nothing else uses (the records were rolled
                 * back; another operation may hold or own one). */
                if (cnr_images_blob_in_use(L->im, &L->st[i].d, L->lease))
                        continue;
                if (cnr_content_delete(L->c, &L->st[i].d, &e) < 0) {
                        log_warn("load rollback: %s", cnr_err_str(e));
                        cnr_err_free(&e);
                }
        }
}

int
cnr_archive_load(struct cnr_images *im, int fd, struct cnr_load_result *res, struct cnr_err **err)
{
        struct loader L = {0};
        struct staged *mj, *ij;
        int rc = -1;

        memset(res, 0, sizeof(*res));
        L.im = im;
        L.c = cnr_images_content(im);
        L.res = res;
        L.lease = cnr_images_lease(im, "load");
        if (read_archive(&L, fd, err) < 0)
                goto out;
        mj = find_staged(&L, "manifest.json");
        ij = find_staged(&L, "index.json");
        if (mj && mj->small) {
                snprintf(res->format, sizeof(res->format), "docker-archive");
        } else if (ij && ij->small) {
                snprintf(res->format, sizeof(res->format), "oci-archive");
        } else {
                cnr_errf(err, EINVAL,
                         "not an image archive: neither manifest.json (docker-archive) nor index.json (OCI archive)");
                goto out;
        }
        if (cnr_images_begin(im, err) < 0)
                goto out;
        rc = (mj && mj->small) ? load_docker(&L, mj, err) : load_oci(&L, ij, err);
        if (rc == 0)
                rc = cnr_images_commit(im, err);
        else
                cnr_images_rollback(im);
out:
        if (rc < 0) {
                loader_rollback(&L);
                cnr_load_result_free(res);
        }
        cnr_lease_release(L.lease);
        for (size_t i = 0; i < L.nst; i++) {
                free(L.st[i].path);
                free(L.st[i].link);
                free(L.st[i].small);
        }
        free(L.st);
        return rc;
}

/* ---- import ---- */

struct import_sink {
        struct cnr_ingest *in;
        struct cnr_err *err;
};

static la_ssize_t
import_write(struct archive *a, void *arg, const void *buf, size_t len)
{
        struct import_sink *s = arg;

        (void)a;
        if (s->err == NULL && cnr_ingest_write(s->in, buf, len, &s->err) < 0)
                return -1;
        return (la_ssize_t)len;
}

static bool
tar_magic(const unsigned char *b, size_t n)
{
        return n >= 263 && memcmp(b + 257, "ustar", 5) == 0;
}

int
cnr_archive_import(struct cnr_images *im, int fd, const char *ref, const char *comment, struct cnr_image **out,
                   struct cnr_err **err)
{
        struct cnr_content *c = cnr_images_content(im);
        _cleanup_archive_ struct archive *r = NULL;
        _cleanup_archive_ struct archive *w = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ char *cfgjson = NULL;
        _cleanup_free_ char *mjson = NULL;
        struct import_sink sink = {0};
        struct archive_entry *e, *we;
        struct cnr_hasher *h;
        struct cnr_digest diff_id, layer, cfgd, md;
        struct cnr_platform host;
        struct cnr_lease *lease = NULL;
        struct cnr_ref rf;
        char created[64];
        uint64_t usize = 0;
        la_ssize_t n;
        bool first = true;
        json_t *j;
        int rc = -1;

        *out = NULL;
        if (ref && *ref && cnr_ref_parse(ref, &rf, err) < 0)
                return -1;
        r = open_decompressed(fd, err);
        if (r == NULL)
                return -1;
        if (archive_read_next_header(r, &e) != ARCHIVE_OK)
                return aerr(err, r, "read rootfs tarball");
        sink.in = cnr_ingest_begin(c, NULL, -1, err);
        if (sink.in == NULL)
                return -1;
        w = archive_write_new();
        archive_write_add_filter_gzip(w);
        archive_write_set_filter_option(w, "gzip", "timestamp", NULL);
        archive_write_set_format_raw(w);
        archive_write_set_bytes_in_last_block(w, 1);
        if (archive_write_open2(w, &sink, NULL, import_write, NULL, NULL) != ARCHIVE_OK) {
                aerr(err, w, "gzip");
                cnr_ingest_abort(sink.in);
                return -1;
        }
        we = archive_entry_new();
        archive_entry_set_pathname(we, "layer.tar");
        archive_entry_set_filetype(we, AE_IFREG);
        if (archive_write_header(w, we) != ARCHIVE_OK) {
                archive_entry_free(we);
                aerr(err, w, "gzip");
                cnr_ingest_abort(sink.in);
                return -1;
        }
        archive_entry_free(we);
        buf = xmalloc(BUFSZ);
        h = cnr_hasher_new(CNR_DIGEST_SHA256);
        while ((n = archive_read_data(r, buf, BUFSZ)) > 0) {
                if (first && !tar_magic((unsigned char *)buf, (size_t)n)) {
                        cnr_hasher_free(h);
                        cnr_ingest_abort(sink.in);
                        return cnr_errf(err, EINVAL, "import: the input is not a tar archive (no ustar header)");
                }
                first = false;
                cnr_hasher_update(h, buf, (size_t)n);
                usize += (uint64_t)n;
                if (archive_write_data(w, buf, (size_t)n) != n) {
                        cnr_hasher_free(h);
                        if (sink.err)
                                *err = steal_ptr(&sink.err);
                        else
                                aerr(err, w, "gzip");
                        cnr_ingest_abort(sink.in);
                        return -1;
                }
        }
        if (n < 0 || first) {
                cnr_hasher_free(h);
                cnr_ingest_abort(sink.in);
                if (first)
                        return cnr_errf(err, EINVAL, "import: the input is empty");
                return aerr(err, r, "read rootfs tarball");
        }
        cnr_hasher_final(h, &diff_id);
        if (archive_write_close(w) != ARCHIVE_OK || sink.err) {
                if (sink.err)
                        *err = steal_ptr(&sink.err);
                else
                        aerr(err, w, "gzip");
                cnr_ingest_abort(sink.in);
                return -1;
        }
        lease = cnr_images_lease(im, "import");
        {
                uint64_t lsize = cnr_ingest_written(sink.in);
                struct cnr_image_config *chk = NULL;
                time_t now = time(NULL);
                struct tm tm;

                if (cnr_ingest_commit(sink.in, &layer, err) < 0)
                        goto out;
                cnr_lease_add(lease, &layer);
                gmtime_r(&now, &tm);
                strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
                cnr_platform_host(&host);
                j = json_pack("{s:s,s:s,s:s,s:{},s:{s:s,s:[s]},s:[{s:s,s:s,s:s}]}", "created", created, "architecture",
                              host.arch, "os", host.os, "config", "rootfs", "type", "layers", "diff_ids", diff_id.str,
                              "history", "created", created, "created_by", "containr import", "comment",
                              comment && *comment ? comment : "imported from a tarball");
                if (host.variant[0])
                        json_object_set_new(j, "variant", json_string(host.variant));
                cfgjson = json_dumps(j, JSON_COMPACT);
                json_decref(j);
                if (cnr_image_config_parse(cfgjson, strlen(cfgjson), &chk, err) < 0)
                        goto out;
                cnr_image_config_free(chk);
                if (cnr_content_put(c, cfgjson, strlen(cfgjson), NULL, &cfgd, err) < 0)
                        goto out;
                cnr_lease_add(lease, &cfgd);
                j = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:[{s:s,s:s,s:I}]}", "schemaVersion", 2, "mediaType",
                              cnr_media_string(CNR_MT_OCI_MANIFEST), "config", "mediaType",
                              cnr_media_string(CNR_MT_OCI_CONFIG), "digest", cfgd.str, "size",
                              (json_int_t)strlen(cfgjson), "layers", "mediaType",
                              cnr_media_string(CNR_MT_OCI_LAYER_GZIP), "digest", layer.str, "size", (json_int_t)lsize);
                mjson = json_dumps(j, JSON_COMPACT);
                json_decref(j);
                if (cnr_content_put(c, mjson, strlen(mjson), NULL, &md, err) < 0)
                        goto out;
                cnr_lease_add(lease, &md);
        }
        {
                const char *names[1] = {rf.str};
                rc = cnr_images_store(im, &md, NULL, names, ref && *ref ? 1 : 0, out, err);
        }
        log_info("import: %llu bytes of tar, layer %s, image %s", (unsigned long long)usize, layer.str,
                 rc == 0 ? (*out)->id.str : "-");
out:
        cnr_lease_release(lease);
        return rc;
}
