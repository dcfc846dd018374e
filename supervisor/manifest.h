/* OCI and Docker image documents: manifests, indexes / manifest lists, and
 * image configs, parsed and validated before anything trusts them.
 *
 * - Documents are capped at CNR_MANIFEST_MAX (4 MiB) before parsing.
 * - A document with both `layers` and `manifests` is refused whatever its
 *   media type says (THREATS.md 26, CVE-2021-41190); so is a media type in
 *   the body that contradicts the one the transport announced.
 * - Docker schema 1 (`schemaVersion: 1`, `...manifest.v1+json`,
 *   `...v1+prettyjws`) is refused with a clear error.
 * - Every descriptor's digest goes through cnr_digest_parse (strict), its
 *   size must be a non-negative integer, its media type a string.
 * - Known media types are typed; an unknown one inside an index is kept as
 *   CNR_MT_UNKNOWN (the spec says skip it, not fail); an unknown layer
 *   type in a manifest is refused when the image is stored.
 *
 * The parsers keep nothing of the input buffer; the results own their
 * strings. */
#ifndef CNR_MANIFEST_H
#define CNR_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/digest.h"
#include "common/err.h"

#define CNR_MANIFEST_MAX (4u << 20) /* manifests, indexes, configs */

enum cnr_media {
        CNR_MT_UNKNOWN = 0,
        CNR_MT_OCI_MANIFEST,        /* application/vnd.oci.image.manifest.v1+json */
        CNR_MT_OCI_INDEX,           /* application/vnd.oci.image.index.v1+json */
        CNR_MT_OCI_CONFIG,          /* application/vnd.oci.image.config.v1+json */
        CNR_MT_OCI_LAYER,           /* application/vnd.oci.image.layer.v1.tar */
        CNR_MT_OCI_LAYER_GZIP,      /* ...tar+gzip */
        CNR_MT_OCI_LAYER_ZSTD,      /* ...tar+zstd */
        CNR_MT_OCI_LAYER_ND,        /* nondistributable.v1.tar (deprecated) */
        CNR_MT_OCI_LAYER_ND_GZIP,
        CNR_MT_OCI_LAYER_ND_ZSTD,
        CNR_MT_OCI_EMPTY,           /* application/vnd.oci.empty.v1+json */
        CNR_MT_DOCKER_MANIFEST,     /* application/vnd.docker.distribution.manifest.v2+json */
        CNR_MT_DOCKER_LIST,         /* application/vnd.docker.distribution.manifest.list.v2+json */
        CNR_MT_DOCKER_CONFIG,       /* application/vnd.docker.container.image.v1+json */
        CNR_MT_DOCKER_LAYER,        /* application/vnd.docker.image.rootfs.diff.tar */
        CNR_MT_DOCKER_LAYER_GZIP,   /* application/vnd.docker.image.rootfs.diff.tar.gzip */
        CNR_MT_DOCKER_LAYER_FOREIGN,/* application/vnd.docker.image.rootfs.foreign.diff.tar.gzip */
        CNR_MT_DOCKER_SCHEMA1,      /* refused everywhere */
        CNR_MT_DOCKER_SCHEMA1_SIGNED,
};

enum cnr_compression { CNR_COMP_NONE, CNR_COMP_GZIP, CNR_COMP_ZSTD };

enum cnr_media cnr_media_parse(const char *s);
/* The canonical string; NULL for CNR_MT_UNKNOWN. */
const char *cnr_media_string(enum cnr_media m);
bool cnr_media_is_manifest(enum cnr_media m); /* OCI or Docker single-image manifest */
bool cnr_media_is_index(enum cnr_media m);    /* OCI index or Docker list */
bool cnr_media_is_layer(enum cnr_media m);
bool cnr_media_is_config(enum cnr_media m);
enum cnr_compression cnr_media_compression(enum cnr_media m);
/* The Accept header value a registry client sends for manifests. */
#define CNR_MANIFEST_ACCEPT                                                                                          \
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "                     \
        "application/vnd.docker.distribution.manifest.list.v2+json, "                                                \
        "application/vnd.docker.distribution.manifest.v2+json"

/* Platforms: "os/arch[/variant]", or "arch" alone (os linux).  Aliases are
 * normalised: x86_64 -> amd64, aarch64 -> arm64 (variant v8), armhf ->
 * arm/v7, armel -> arm/v6, i386/i686 -> 386. */
#define CNR_PLATFORM_FIELD 32
struct cnr_platform {
        char os[CNR_PLATFORM_FIELD];
        char arch[CNR_PLATFORM_FIELD];
        char variant[CNR_PLATFORM_FIELD]; /* "" if none */
        char os_version[CNR_PLATFORM_FIELD * 2];
};
int cnr_platform_parse(const char *s, struct cnr_platform *out, struct cnr_err **err);
void cnr_platform_host(struct cnr_platform *out);
void cnr_platform_normalise(struct cnr_platform *p);
/* "linux/arm64/v8" */
void cnr_platform_format(const struct cnr_platform *p, char *buf, size_t n);
/* Does an index entry's (or config's) platform `have` satisfy `want`?
 * os and arch must be equal; a wanted variant must equal have's variant,
 * where an absent variant on arm64 means v8; no wanted variant matches any. */
bool cnr_platform_match(const struct cnr_platform *want, const struct cnr_platform *have);

struct cnr_descriptor {
        char *media_type; /* as written */
        enum cnr_media media;
        struct cnr_digest digest;
        int64_t size;
        bool has_platform;
        struct cnr_platform platform;
        char *ref_name; /* annotation org.opencontainers.image.ref.name, or NULL */
        char *image_name; /* annotation io.containerd.image.name, or NULL */
        size_t nurls;     /* urls present (foreign layers) */
};

struct cnr_manifest {
        enum cnr_media media; /* CNR_MT_OCI_MANIFEST/_INDEX or CNR_MT_DOCKER_MANIFEST/_LIST */
        /* manifests: */
        struct cnr_descriptor config;
        struct cnr_descriptor *layers;
        size_t nlayers;
        /* indexes: */
        struct cnr_descriptor *manifests;
        size_t nmanifests;
        char *artifact_type; /* or NULL */
        bool has_subject;
        struct cnr_descriptor subject;
};

/* Parse a manifest or an index.  content_type is what the transport said
 * (HTTP Content-Type, the index entry's mediaType) or NULL. */
int cnr_manifest_parse(const void *buf, size_t len, const char *content_type, struct cnr_manifest **out,
                       struct cnr_err **err);
void cnr_manifest_free(struct cnr_manifest *m);
/* Pick the first entry of an index that is an image manifest (or nested
 * index) matching want.  Entries without a platform match nothing unless
 * the index has exactly one manifest.  ENOENT with the platforms on offer
 * listed in the message when none matches. */
int cnr_manifest_select(const struct cnr_manifest *index, const struct cnr_platform *want,
                        const struct cnr_descriptor **out, struct cnr_err **err);

/* Image configuration (OCI config / Docker image JSON). */
struct cnr_history {
        char *created;
        char *created_by;
        char *author;
        char *comment;
        bool empty_layer;
};

struct cnr_image_config {
        struct cnr_platform platform; /* os, architecture, variant, os.version */
        char *created;                /* RFC 3339 or NULL */
        char *author;
        struct cnr_digest *diff_ids;
        size_t ndiff_ids;
        struct cnr_history *history;
        size_t nhistory;
        json_t *config; /* the "config" object (User, Env, Cmd, Volumes...), owned; NULL if absent */
        json_t *doc;    /* the whole document, owned */
};

/* Validates: a JSON object under the cap; os and architecture present;
 * rootfs.type == "layers"; diff_ids strict digests; history entries
 * objects; non-empty history entries, when history is given, number as
 * many as the diff_ids. config.Volumes and config.Labels are kept as data
 * (a VOLUME "../../etc" is a string, nothing more). */
int cnr_image_config_parse(const void *buf, size_t len, struct cnr_image_config **out, struct cnr_err **err);
void cnr_image_config_free(struct cnr_image_config *c);

/* Labels under this prefix belong to containr; images may not set them. */
#define CNR_RESERVED_LABEL_PREFIX "io.containr."
/* If the config in buf carries reserved labels, write a copy without them
 * to *out (malloc'd, compact JSON) and return the number removed (> 0);
 * return 0 and leave *out NULL when there is nothing to remove. */
int cnr_image_config_strip_reserved(const void *buf, size_t len, char **out, size_t *outlen, struct cnr_err **err);

/* ChainID of diff_ids[0..n-1] (config.md): the id of the snapshot of the
 * first n layers. */
void cnr_chain_id(const struct cnr_digest *diff_ids, size_t n, struct cnr_digest *out);

#endif
