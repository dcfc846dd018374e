/* API handlers for images: list, inspect, rmi, tag, prune, save, load,
 * import.  Lists and inspect answers go back as JSON in a sealed memfd;
 * archives travel on the fd the CLI opened with the operator's
 * credentials, which must be a regular file or a memfd (never a pipe or a
 * socket: the supervisor must not block on a client's reader). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/ref.h"
#include "common/util.h"
#include "supervisor/api.h"
#include "supervisor/api_images.h"
#include "supervisor/archive.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static void
jdecrefp(json_t **j)
{
        json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(jdecrefp)))

/* ---- JSON views ---- */

static json_t *
strv_json(char **v, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

static json_t *
image_json(struct cnr_content *c, const struct cnr_image *img, bool full)
{
        json_t *o, *layers = json_array(), *tags = json_array(), *digests = json_array();

        for (size_t i = 0; i < img->nnames; i++) {
                struct cnr_ref r;
                char fam[sizeof(r.str)];

                if (cnr_ref_parse(img->names[i], &r, NULL) < 0)
                        continue;
                cnr_ref_familiar(&r, fam, sizeof(fam));
                if (r.tag[0] && !r.has_digest)
                        json_array_append_new(tags, json_string(fam));
                {
                        _cleanup_free_ char *rd = xasprintf("%s@%s", r.name, img->manifest.str);
                        bool dup = false;
                        size_t k;
                        json_t *v;
                        json_array_foreach(digests, k, v) if (strcmp(json_string_value(v), rd) == 0) dup = true;
                        if (!dup)
                                json_array_append_new(digests, json_string(rd));
                }
        }
        for (size_t i = 0; i < img->nlayers; i++)
                json_array_append_new(layers, json_pack("{s:s,s:s,s:I,s:s}", "Digest", img->layers[i].digest.str,
                                                        "MediaType", img->layers[i].media_type, "Size",
                                                        (json_int_t)img->layers[i].size, "DiffID",
                                                        img->layers[i].diff_id.str));
        o = json_pack("{s:s,s:o,s:o,s:o,s:s?,s:I,s:I,s:{s:s,s:s,s:s},s:s,s:s,s:I,s:o}", "Id", img->id.str, "Names",
                      strv_json(img->names, img->nnames), "RepoTags", tags, "RepoDigests", digests, "Created",
                      img->created, "Added", (json_int_t)img->added, "Size", (json_int_t)img->size, "Platform", "os",
                      img->platform.os, "architecture", img->platform.arch, "variant", img->platform.variant,
                      "ManifestDigest", img->manifest.str, "ManifestMediaType", img->manifest_media_type,
                      "ManifestSize", (json_int_t)img->manifest_size, "Layers", layers);
        if (img->has_index)
                json_object_set_new(o, "IndexDigest", json_string(img->index.str));
        if (full) {
                const struct cnr_digest *docs[2] = {&img->id, &img->manifest};
                const char *keys[2] = {"Config", "Manifest"};

                for (size_t i = 0; i < 2; i++) {
                        _cleanup_free_ char *buf = NULL;
                        size_t len;
                        struct cnr_err *e = NULL;
                        json_t *doc = NULL;

                        if (cnr_content_read(c, docs[i], CNR_MANIFEST_MAX, &buf, &len, &e) == 0)
                                doc = json_loadb(buf, len, 0, NULL);
                        if (doc == NULL)
                                doc = json_pack("{s:s}", "error", e ? cnr_err_str(e) : "not JSON");
                        cnr_err_free(&e);
                        json_object_set_new(o, keys[i], doc);
                }
        }
        return o;
}

/* The passed fd must be a regular file or memfd. */
static int
check_file_fd(int fd, const char *what, struct cnr_err **err)
{
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return cnr_errf(err, EBADF, "%s: no usable file descriptor", what);
        if (!S_ISREG(st.st_mode))
                return cnr_errf(err, EINVAL, "%s: the passed file descriptor is not a regular file", what);
        return 0;
}

/* ---- list, inspect ---- */

void
sup_api_image_list(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ImageListReply r = CNR__API__IMAGE_LIST_REPLY__INIT;
        _cleanup_json_ json_t *arr = json_array();
        _cleanup_close_ int fd = -1;
        struct cnr_image **v = NULL;
        struct cnr_err *err = NULL;
        uint64_t t0 = cnr_now_us();
        size_t n = 0;

        (void)p;
        (void)m;
        if (cnr_images_list(s->images, &v, &n, &err) < 0) {
                sup_client_fail(c, f->reqid, "image_list", NULL, err, t0);
                cnr_err_free(&err);
                return;
        }
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, image_json(s->content, v[i], false));
        cnr_image_list_free(v, n);
        fd = sup_client_json_memfd(arr, "containr-images", &err);
        if (fd < 0) {
                sup_client_fail(c, f->reqid, "image_list", NULL, err, t0);
                cnr_err_free(&err);
                return;
        }
        r.count = (uint32_t)n;
        env.msg_case = CNR__API__REPLY__MSG_IMAGE_LIST;
        env.image_list = &r;
        sup_client_reply(c, &env, f->reqid, &fd, 1);
        sup_client_audit(c, "image_list", f->reqid, NULL, 0, NULL, t0);
}

void
sup_api_image_inspect(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__Request *req = (Cnr__Api__Request *)m;
        Cnr__Api__ImageInspect *q = req->image_inspect;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ImageInspectReply r = CNR__API__IMAGE_INSPECT_REPLY__INIT;
        _cleanup_json_ json_t *arr = json_array();
        _cleanup_close_ int fd = -1;
        struct cnr_err *err = NULL;
        uint64_t t0 = cnr_now_us();
        char **missing = xcalloc(q->n_names + 1, sizeof(char *));

        (void)p;
        for (size_t i = 0; i < q->n_names; i++) {
                struct cnr_image *img = NULL;
                struct cnr_err *e = NULL;

                if (cnr_images_get(s->images, q->names[i], &img, &e) < 0) {
                        missing[r.n_missing++] = xstrdup(cnr_err_str(e));
                        cnr_err_free(&e);
                        continue;
                }
                json_array_append_new(arr, image_json(s->content, img, true));
                cnr_image_free(img);
        }
        fd = sup_client_json_memfd(arr, "containr-images", &err);
        if (fd < 0) {
                sup_client_fail(c, f->reqid, "image_inspect", NULL, err, t0);
                cnr_err_free(&err);
        } else {
                r.count = (uint32_t)json_array_size(arr);
                r.missing = missing;
                env.msg_case = CNR__API__REPLY__MSG_IMAGE_INSPECT;
                env.image_inspect = &r;
                sup_client_reply(c, &env, f->reqid, &fd, 1);
                sup_client_audit(c, "image_inspect", f->reqid, json_pack("{s:i}", "count", (int)r.count), 0, NULL,
                                 t0);
        }
        for (size_t i = 0; i < r.n_missing; i++)
                free(missing[i]);
        free(missing);
}

/* ---- rmi, tag ---- */

void
sup_api_image_remove(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__Request *req = (Cnr__Api__Request *)m;
        Cnr__Api__ImageRemove *q = req->image_remove;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ImageRemoveReply r = CNR__API__IMAGE_REMOVE_REPLY__INIT;
        Cnr__Api__ImageRemoveResult *res = xcalloc(q->n_names + 1, sizeof(*res));
        Cnr__Api__ImageRemoveResult **resp = xcalloc(q->n_names + 1, sizeof(*resp));
        json_t *audit = json_array();
        uint64_t t0 = cnr_now_us();

        (void)p;
        for (size_t i = 0; i < q->n_names; i++) {
                struct cnr_err *e = NULL;
                size_t nu = 0, nd = 0;

                cnr__api__image_remove_result__init(&res[i]);
                res[i].name = q->names[i];
                res[i].error = (char *)"";
                if (cnr_images_remove(s->images, q->names[i], q->force, &res[i].untagged, &nu, &res[i].deleted,
                                      &nd, &e) < 0) {
                        res[i].errno_code = e->code ? e->code : EIO;
                        res[i].error = xstrdup(cnr_err_str(e));
                        cnr_err_free(&e);
                }
                res[i].n_untagged = nu;
                res[i].n_deleted = nd;
                resp[i] = &res[i];
                json_array_append_new(audit, json_pack("{s:s,s:i}", "name", q->names[i], "errno",
                                                       res[i].errno_code));
        }
        r.n_results = q->n_names;
        r.results = resp;
        env.msg_case = CNR__API__REPLY__MSG_IMAGE_REMOVE;
        env.image_remove = &r;
        sup_client_reply(c, &env, f->reqid, NULL, 0);
        sup_client_audit(c, "image_remove", f->reqid,
                         json_pack("{s:o,s:b}", "names", audit, "force", (int)q->force), 0, NULL, t0);
        for (size_t i = 0; i < q->n_names; i++) {
                for (size_t j = 0; j < res[i].n_untagged; j++)
                        free(res[i].untagged[j]);
                free(res[i].untagged);
                for (size_t j = 0; j < res[i].n_deleted; j++)
                        free(res[i].deleted[j]);
                free(res[i].deleted);
                if (res[i].errno_code)
                        free(res[i].error);
        }
        free(res);
        free(resp);
}

void
sup_api_image_tag(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__Request *req = (Cnr__Api__Request *)m;
        Cnr__Api__ImageTag *q = req->image_tag;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ImageTagReply r = CNR__API__IMAGE_TAG_REPLY__INIT;
        json_t *args = json_pack("{s:s,s:s}", "source", q->source, "target", q->target);
        struct cnr_image *img = NULL;
        struct cnr_err *err = NULL;
        uint64_t t0 = cnr_now_us();
        struct cnr_ref ref;

        (void)p;
        if (cnr_images_tag(s->images, q->source, q->target, &err) < 0 || cnr_ref_parse(q->target, &ref, &err) < 0 ||
            cnr_images_get(s->images, ref.str, &img, &err) < 0) {
                sup_client_fail(c, f->reqid, "image_tag", args, err, t0);
                cnr_err_free(&err);
                return;
        }
        r.target = ref.str;
        r.id = img->id.str;
        env.msg_case = CNR__API__REPLY__MSG_IMAGE_TAG;
        env.image_tag = &r;
        sup_client_reply(c, &env, f->reqid, NULL, 0);
        sup_client_audit(c, "image_tag", f->reqid, args, 0, NULL, t0);
        cnr_image_free(img);
}

/* ---- prune ---- */

static void
prune(struct sup_client *c, uint32_t reqid, bool all, bool system)
{
        struct sup *s = sup_client_sup(c);
        const char *op = system ? "system_prune" : "image_prune";
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__PruneReply r = CNR__API__PRUNE_REPLY__INIT;
        struct cnr_gc_report rep = {0};
        struct cnr_err *err = NULL;
        uint64_t t0 = cnr_now_us();
        Cnr__Api__PruneItem *items, **itemp;

        if (cnr_images_prune(s->images, all, &rep, &err) < 0) {
                sup_client_fail(c, reqid, op, json_pack("{s:b}", "all", (int)all), err, t0);
                cnr_err_free(&err);
                cnr_gc_report_free(&rep);
                return;
        }
        items = xcalloc(rep.nitems + 1, sizeof(*items));
        itemp = xcalloc(rep.nitems + 1, sizeof(*itemp));
        for (size_t i = 0; i < rep.nitems; i++) {
                cnr__api__prune_item__init(&items[i]);
                items[i].kind = rep.items[i].kind;
                items[i].id = rep.items[i].id;
                items[i].bytes = rep.items[i].bytes;
                itemp[i] = &items[i];
        }
        r.n_items = rep.nitems;
        r.items = itemp;
        r.bytes = rep.bytes;
        if (system) {
                env.msg_case = CNR__API__REPLY__MSG_SYSTEM_PRUNE;
                env.system_prune = &r;
        } else {
                env.msg_case = CNR__API__REPLY__MSG_IMAGE_PRUNE;
                env.image_prune = &r;
        }
        sup_client_reply(c, &env, reqid, NULL, 0);
        sup_client_audit(c, op, reqid,
                         json_pack("{s:b,s:i,s:I}", "all", (int)all, "removed", (int)rep.nitems, "bytes",
                                   (json_int_t)rep.bytes),
                         0, NULL, t0);
        free(items);
        free(itemp);
        cnr_gc_report_free(&rep);
}

void
sup_api_image_prune(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        (void)p;
        prune(arg, f->reqid, ((Cnr__Api__Request *)m)->image_prune->all, false);
}

void
sup_api_system_prune(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        (void)p;
        prune(arg, f->reqid, ((Cnr__Api__Request *)m)->system_prune->all, true);
}

/* ---- save, load, import ---- */

void
sup_api_image_save(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__ImageSave *q = ((Cnr__Api__Request *)m)->image_save;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ImageSaveReply r = CNR__API__IMAGE_SAVE_REPLY__INIT;
        struct cnr_save_item *items = xcalloc(q->n_names + 1, sizeof(*items));
        char **ids = xcalloc(q->n_names + 1, sizeof(char *));
        json_t *args = json_pack("{s:o,s:s}", "names", json_array(), "format", q->format);
        enum cnr_archive_format fmt;
        struct cnr_err *err = NULL;
        uint64_t t0 = cnr_now_us(), bytes = 0;
        size_t n = 0;
        int fd = f->fds[0];

        (void)p;
        for (size_t i = 0; i < q->n_names; i++)
                json_array_append_new(json_object_get(args, "names"), json_string(q->names[i]));
        if (q->n_names == 0) {
                cnr_errf(&err, EINVAL, "save: name at least one image");
                goto out;
        }
        if (cnr_archive_format_parse(q->format, &fmt, &err) < 0 || check_file_fd(fd, "save", &err) < 0)
                goto out;
        for (size_t i = 0; i < q->n_names; i++) {
                struct cnr_image *img = NULL;
                struct cnr_ref ref;
                bool by_name = false;

                if (cnr_images_get(s->images, q->names[i], &img, &err) < 0)
                        goto out;
                items[n].img = img;
                if (!cnr_ref_looks_like_id(q->names[i]) && cnr_ref_parse(q->names[i], &ref, NULL) == 0) {
                        for (size_t j = 0; j < img->nnames; j++)
                                if (strcmp(img->names[j], ref.str) == 0)
                                        by_name = true;
                }
                if (by_name) {
                        items[n].names = xcalloc(1, sizeof(char *));
                        items[n].names[0] = xstrdup(ref.str);
                        items[n].nnames = 1;
                } else {
                        items[n].names = xcalloc(img->nnames + 1, sizeof(char *));
                        for (size_t j = 0; j < img->nnames; j++)
                                items[n].names[j] = xstrdup(img->names[j]);
                        items[n].nnames = img->nnames;
                }
                ids[n] = img->id.str;
                n++;
        }
        if (cnr_archive_save(s->images, items, n, fmt, fd, &bytes, &err) < 0)
                goto out;
        r.bytes = bytes;
        r.ids = ids;
        r.n_ids = n;
        env.msg_case = CNR__API__REPLY__MSG_IMAGE_SAVE;
        env.image_save = &r;
        sup_client_reply(c, &env, f->reqid, NULL, 0);
        sup_client_audit(c, "image_save", f->reqid, args, 0, NULL, t0);
        args = NULL;
out:
        if (err) {
                cnr_err_wrap(&err, "save");
                sup_client_fail(c, f->reqid, "image_save", args, err, t0);
                cnr_err_free(&err);
        }
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < items[i].nnames; j++)
                        free(items[i].names[j]);
                free(items[i].names);
                cnr_image_free((struct cnr_image *)items[i].img);
        }
        free(items);
        free(ids);
}

void
sup_api_image_load(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ImageLoadReply r = CNR__API__IMAGE_LOAD_REPLY__INIT;
        Cnr__Api__LoadedImage *li = NULL, **lip = NULL;
        struct cnr_load_result res = {0};
        struct cnr_err *err = NULL;
        uint64_t t0 = cnr_now_us();
        json_t *ids;

        (void)p;
        (void)m;
        if (check_file_fd(f->fds[0], "load", &err) < 0 || cnr_archive_load(s->images, f->fds[0], &res, &err) < 0) {
                cnr_err_wrap(&err, "load");
                log_warn("%s", cnr_err_str(err));
                sup_client_fail(c, f->reqid, "image_load", NULL, err, t0);
                cnr_err_free(&err);
                return;
        }
        li = xcalloc(res.nimages + 1, sizeof(*li));
        lip = xcalloc(res.nimages + 1, sizeof(*lip));
        ids = json_array();
        for (size_t i = 0; i < res.nimages; i++) {
                cnr__api__loaded_image__init(&li[i]);
                li[i].id = res.images[i].id.str;
                li[i].names = res.images[i].names;
                li[i].n_names = res.images[i].nnames;
                lip[i] = &li[i];
                json_array_append_new(ids, json_string(res.images[i].id.str));
                sup_unpack(s, res.images[i].id.str);
        }
        for (size_t i = 0; i < res.nwarnings; i++)
                log_warn("load: %s", res.warnings[i]);
        r.format = res.format;
        r.images = lip;
        r.n_images = res.nimages;
        r.warnings = res.warnings;
        r.n_warnings = res.nwarnings;
        env.msg_case = CNR__API__REPLY__MSG_IMAGE_LOAD;
        env.image_load = &r;
        sup_client_reply(c, &env, f->reqid, NULL, 0);
        sup_client_audit(c, "image_load", f->reqid,
                         json_pack("{s:s,s:o,s:i}", "format", res.format, "images", ids, "warnings",
                                   (int)res.nwarnings),
                         0, NULL, t0);
        free(li);
        free(lip);
        cnr_load_result_free(&res);
}

void
sup_api_image_import(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__ImageImport *q = ((Cnr__Api__Request *)m)->image_import;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__ImageImportReply r = CNR__API__IMAGE_IMPORT_REPLY__INIT;
        json_t *args = json_pack("{s:s}", "ref", q->ref);
        struct cnr_image *img = NULL;
        struct cnr_err *err = NULL;
        uint64_t t0 = cnr_now_us();

        (void)p;
        if (check_file_fd(f->fds[0], "import", &err) < 0 ||
            cnr_archive_import(s->images, f->fds[0], q->ref, q->message, &img, &err) < 0) {
                cnr_err_wrap(&err, "import");
                sup_client_fail(c, f->reqid, "image_import", args, err, t0);
                cnr_err_free(&err);
                return;
        }
        sup_unpack(s, img->id.str);
        r.id = img->id.str;
        r.name = img->nnames ? img->names[0] : (char *)"";
        env.msg_case = CNR__API__REPLY__MSG_IMAGE_IMPORT;
        env.image_import = &r;
        sup_client_reply(c, &env, f->reqid, NULL, 0);
        json_object_set_new(args, "id", json_string(img->id.str));
        sup_client_audit(c, "image_import", f->reqid, args, 0, NULL, t0);
        cnr_image_free(img);
}
