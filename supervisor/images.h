/* Image records in the metadata database (module "images").
 *
 * An image is identified by its config digest (the image id, as Docker
 * shows it).  It records the manifest that brought it (and the index it
 * was picked from, if any), its platform, sizes, creation time, its layers
 * in order (base first: compressed digest, media type, size, diff_id) and
 * the names that point at it (normalised references; a name points at one
 * image, an image has any number of names, zero = dangling).
 *
 * Storing is the last step of a pull, a load or an import: the manifest,
 * the config and every layer must already be in the content store; the
 * record is written in one transaction, after checking that the config's
 * diff_ids are as many as the manifest's layers.  A name already on
 * another image moves (the other image may become dangling).
 *
 * Garbage collection removes content-store blobs that no image refers to
 * (manifest, index, config, layers), except blobs held by a lease (an
 * operation in progress, e.g. a pull whose record is not written yet) or
 * kept by a keep-hook, then runs the GC hooks (snapshots: 3C).
 *
 * Lookups accept a reference (normalised first), a full id `sha256:<hex>`,
 * or an unambiguous prefix of the id's hex (at least 4 characters). */
#ifndef CNR_IMAGES_H
#define CNR_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/err.h"
#include "supervisor/content.h"
#include "supervisor/db.h"
#include "supervisor/manifest.h"

struct cnr_images;

struct cnr_image_layer {
        struct cnr_digest digest; /* the blob in the content store */
        char *media_type;
        int64_t size;
        struct cnr_digest diff_id; /* uncompressed */
};

struct cnr_image {
        struct cnr_digest id;       /* config digest */
        struct cnr_digest manifest; /* manifest digest */
        bool has_index;
        struct cnr_digest index;    /* the index/list it was selected from */
        char *manifest_media_type;
        int64_t manifest_size;
        int64_t config_size;
        int64_t size;       /* config + layers, compressed, as stored */
        struct cnr_platform platform;
        char *created;      /* from the config, RFC 3339, or NULL */
        int64_t added;      /* unix seconds, when the record was written */
        struct cnr_image_layer *layers;
        size_t nlayers;
        char **names;       /* normalised references, sorted */
        size_t nnames;
};

void cnr_image_free(struct cnr_image *img);
void cnr_image_list_free(struct cnr_image **v, size_t n);

/* Migrates the tables; the handle borrows db and content. */
int cnr_images_open(struct cnr_db *db, struct cnr_content *content, struct cnr_images **out, struct cnr_err **err);
void cnr_images_close(struct cnr_images *im);

/* Record the image whose manifest (digest `manifest`, already in the
 * content store) names a config and layers that are in the store too.
 * index may be NULL.  names: normalised references (parsed again here; a
 * bad one fails the whole call).  *out (may be NULL) gets the record. */
int cnr_images_store(struct cnr_images *im, const struct cnr_digest *manifest, const struct cnr_digest *index,
                     const char *const *names, size_t nnames, struct cnr_image **out, struct cnr_err **err);

/* By reference, id or id prefix.  ENOENT: "image `x` not found". */
int cnr_images_get(struct cnr_images *im, const char *ref_or_id, struct cnr_image **out, struct cnr_err **err);
/* Every image, newest first. */
int cnr_images_list(struct cnr_images *im, struct cnr_image ***out, size_t *n, struct cnr_err **err);

/* Give image `src` (ref or id) the name `ref` (normalised; :latest added). */
int cnr_images_tag(struct cnr_images *im, const char *src, const char *ref, struct cnr_err **err);

/* Docker's rmi: a name removes that name, and the image with it when it
 * was the last; an id (or a name with force) removes the image and all its
 * names.  An id with several names needs force.  An image in use (the
 * in-use hook says so) is refused, force or not.  *untagged / *deleted
 * (may be NULL) get malloc'd lists of what went (names; image ids). */
int cnr_images_remove(struct cnr_images *im, const char *ref_or_id, bool force, char ***untagged,
                      size_t *nuntagged, char ***deleted, size_t *ndeleted, struct cnr_err **err);

/* In use: containers (later) say which images they hold.  Return > 0 and a
 * malloc'd description in *who when img is in use, 0 when not. */
typedef int (*cnr_images_in_use_fn)(void *arg, const struct cnr_image *img, char **who);
void cnr_images_set_in_use_hook(struct cnr_images *im, cnr_images_in_use_fn fn, void *arg);
/* 1 in use (with *who), 0 not. */
int cnr_images_in_use(struct cnr_images *im, const struct cnr_image *img, char **who);

/* Leases: blobs an operation in progress needs kept from GC. */
struct cnr_lease;
struct cnr_lease *cnr_images_lease(struct cnr_images *im, const char *what);
void cnr_lease_add(struct cnr_lease *l, const struct cnr_digest *d);
void cnr_lease_release(struct cnr_lease *l);

/* What GC (and prune) removed. */
struct cnr_gc_item {
        char kind[16]; /* "image", "blob", "snapshot" */
        char *id;
        uint64_t bytes;
};
struct cnr_gc_report {
        struct cnr_gc_item *items;
        size_t nitems;
        uint64_t bytes; /* total reclaimed */
};
void cnr_gc_report_add(struct cnr_gc_report *r, const char *kind, const char *id, uint64_t bytes);
void cnr_gc_report_free(struct cnr_gc_report *r);

/* Extra blobs to keep (e.g. the build cache): call keep() for each. */
typedef void (*cnr_gc_keep_cb)(void *kctx, const struct cnr_digest *d);
typedef int (*cnr_gc_keep_fn)(void *arg, cnr_gc_keep_cb keep, void *kctx, struct cnr_err **err);
void cnr_images_add_keep_hook(struct cnr_images *im, cnr_gc_keep_fn fn, void *arg);

/* Runs after the blob sweep (e.g. snapshots referenced by no image or
 * container are removed); adds what it removed to rep. */
typedef int (*cnr_gc_hook_fn)(void *arg, struct cnr_images *im, struct cnr_gc_report *rep, struct cnr_err **err);
void cnr_images_add_gc_hook(struct cnr_images *im, const char *name, cnr_gc_hook_fn fn, void *arg);

/* Remove unreferenced blobs, then run the hooks. */
int cnr_images_gc(struct cnr_images *im, struct cnr_gc_report *rep, struct cnr_err **err);

/* `image prune`: remove dangling images (all with all=true) that are not
 * in use, then GC.  Removed images are reported with kind "image". */
int cnr_images_prune(struct cnr_images *im, bool all, struct cnr_gc_report *rep, struct cnr_err **err);

/* Group several stores (one archive's images) into one transaction;
 * transactions nest, only the outermost commits. */
int cnr_images_begin(struct cnr_images *im, struct cnr_err **err);
int cnr_images_commit(struct cnr_images *im, struct cnr_err **err);
void cnr_images_rollback(struct cnr_images *im);

/* Is blob d referenced by an image record, or held by a lease other than
 * `except` (may be NULL)?  For undoing a failed operation's blobs. */
bool cnr_images_blob_in_use(struct cnr_images *im, const struct cnr_digest *d, const struct cnr_lease *except);

/* The content store this handle records images for. */
struct cnr_content *cnr_images_content(struct cnr_images *im);

#endif
