/* OCI / Docker manifests, indexes and image configs (see manifest.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/util.h"
#include "supervisor/manifest.h"

static const struct {
        enum cnr_media m;
        const char *s;
} media_names[] = {
        {CNR_MT_OCI_MANIFEST, "application/vnd.oci.image.manifest.v1+json"},
        {CNR_MT_OCI_INDEX, "application/vnd.oci.image.index.v1+json"},
        {CNR_MT_OCI_CONFIG, "application/vnd.oci.image.config.v1+json"},
        {CNR_MT_OCI_LAYER, "application/vnd.oci.image.layer.v1.tar"},
        {CNR_MT_OCI_LAYER_GZIP, "application/vnd.oci.image.layer.v1.tar+gzip"},
        {CNR_MT_OCI_LAYER_ZSTD, "application/vnd.oci.image.layer.v1.tar+zstd"},
        {CNR_MT_OCI_LAYER_ND, "application/vnd.oci.image.layer.nondistributable.v1.tar"},
        {CNR_MT_OCI_LAYER_ND_GZIP, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"},
        {CNR_MT_OCI_LAYER_ND_ZSTD, "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"},
        {CNR_MT_OCI_EMPTY, "application/vnd.oci.empty.v1+json"},
        {CNR_MT_DOCKER_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"},
        {CNR_MT_DOCKER_LIST, "application/vnd.docker.distribution.manifest.list.v2+json"},
        {CNR_MT_DOCKER_CONFIG, "application/vnd.docker.container.image.v1+json"},
        {CNR_MT_DOCKER_LAYER, "application/vnd.docker.image.rootfs.diff.tar"},
        {CNR_MT_DOCKER_LAYER_GZIP, "application/vnd.docker.image.rootfs.diff.tar.gzip"},
        {CNR_MT_DOCKER_LAYER_FOREIGN, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"},
        {CNR_MT_DOCKER_SCHEMA1, "application/vnd.docker.distribution.manifest.v1+json"},
        {CNR_MT_DOCKER_SCHEMA1_SIGNED, "application/vnd.docker.distribution.manifest.v1+prettyjws"},
};

enum cnr_media
cnr_media_parse(const char *s)
{
        if (s == NULL)
                return CNR_MT_UNKNOWN;
        for (size_t i = 0; i < CNR_ARRAY_LEN(media_names); i++)
                if (strcmp(s, media_names[i].s) == 0)
                        return media_names[i].m;
        return CNR_MT_UNKNOWN;
}

const char *
cnr_media_string(enum cnr_media m)
{
        for (size_t i = 0; i < CNR_ARRAY_LEN(media_names); i++)
                if (media_names[i].m == m)
                        return media_names[i].s;
        return NULL;
}

bool
cnr_media_is_manifest(enum cnr_media m)
{
        return m == CNR_MT_OCI_MANIFEST || m == CNR_MT_DOCKER_MANIFEST;
}

bool
cnr_media_is_index(enum cnr_media m)
{
        return m == CNR_MT_OCI_INDEX || m == CNR_MT_DOCKER_LIST;
}

bool
cnr_media_is_layer(enum cnr_media m)
{
        switch (m) {
        case CNR_MT_OCI_LAYER:
        case CNR_MT_OCI_LAYER_GZIP:
        case CNR_MT_OCI_LAYER_ZSTD:
        case CNR_MT_OCI_LAYER_ND:
        case CNR_MT_OCI_LAYER_ND_GZIP:
        case CNR_MT_OCI_LAYER_ND_ZSTD:
        case CNR_MT_DOCKER_LAYER:
        case CNR_MT_DOCKER_LAYER_GZIP:
        case CNR_MT_DOCKER_LAYER_FOREIGN:
                return true;
        default:
                return false;
        }
}

bool
cnr_media_is_config(enum cnr_media m)
{
        return m == CNR_MT_OCI_CONFIG || m == CNR_MT_DOCKER_CONFIG;
}

enum cnr_compression
cnr_media_compression(enum cnr_media m)
{
        switch (m) {
        case CNR_MT_OCI_LAYER_GZIP:
        case CNR_MT_OCI_LAYER_ND_GZIP:
        case CNR_MT_DOCKER_LAYER_GZIP:
        case CNR_MT_DOCKER_LAYER_FOREIGN:
                return CNR_COMP_GZIP;
        case CNR_MT_OCI_LAYER_ZSTD:
        case CNR_MT_OCI_LAYER_ND_ZSTD:
                return CNR_COMP_ZSTD;
        default:
                return CNR_COMP_NONE;
        }
}

/* ---- platforms ---- */

static void
copy_field(char *dst, size_t n, const char *src, size_t len)
{
        if (len >= n)
                len = n - 1;
        memcpy(dst, src, len);
        dst[len] = '\0';
}

void
cnr_platform_normalise(struct cnr_platform *p)
{
        for (char *c = p->os; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char)(*c - 'A' + 'a');
        for (char *c = p->arch; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char)(*c - 'A' + 'a');
        if (strcmp(p->arch, "x86_64") == 0 || strcmp(p->arch, "x86-64") == 0) {
                snprintf(p->arch, sizeof(p->arch), "amd64");
        } else if (strcmp(p->arch, "aarch64") == 0) {
                snprintf(p->arch, sizeof(p->arch), "arm64");
        } else if (strcmp(p->arch, "armhf") == 0) {
                snprintf(p->arch, sizeof(p->arch), "arm");
                snprintf(p->variant, sizeof(p->variant), "v7");
        } else if (strcmp(p->arch, "armel") == 0) {
                snprintf(p->arch, sizeof(p->arch), "arm");
                snprintf(p->variant, sizeof(p->variant), "v6");
        } else if (strcmp(p->arch, "i386") == 0 || strcmp(p->arch, "i686") == 0) {
                snprintf(p->arch, sizeof(p->arch), "386");
        }
        if (strcmp(p->arch, "arm64") == 0 && strcmp(p->variant, "8") == 0)
                snprintf(p->variant, sizeof(p->variant), "v8");
        if (strcmp(p->arch, "arm") == 0 && p->variant[0] >= '5' && p->variant[0] <= '8' && p->variant[1] == '\0') {
                char v = p->variant[0];
                snprintf(p->variant, sizeof(p->variant), "v%c", v);
        }
}

static bool
valid_platform_word(const char *s, size_t n)
{
        if (n == 0 || n >= CNR_PLATFORM_FIELD)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || c == '.'))
                        return false;
        }
        return true;
}

int
cnr_platform_parse(const char *s, struct cnr_platform *out, struct cnr_err **err)
{
        const char *part[3];
        size_t len[3];
        size_t n = 0;
        const char *p = s;

        memset(out, 0, sizeof(*out));
        if (s == NULL || *s == '\0')
                return cnr_errf(err, EINVAL, "empty platform (want os/arch[/variant], e.g. linux/amd64)");
        for (;;) {
                const char *slash = strchr(p, '/');
                size_t l = slash ? (size_t)(slash - p) : strlen(p);

                if (n == 3)
                        return cnr_errf(err, EINVAL, "platform `%.80s`: too many parts (want os/arch[/variant])",
                                        s);
                if (!valid_platform_word(p, l))
                        return cnr_errf(err, EINVAL, "platform `%.80s`: part %zu is empty or has bad characters", s,
                                        n + 1);
                part[n] = p;
                len[n++] = l;
                if (!slash)
                        break;
                p = slash + 1;
        }
        if (n == 1) {
                snprintf(out->os, sizeof(out->os), "linux");
                copy_field(out->arch, sizeof(out->arch), part[0], len[0]);
        } else {
                copy_field(out->os, sizeof(out->os), part[0], len[0]);
                copy_field(out->arch, sizeof(out->arch), part[1], len[1]);
                if (n == 3)
                        copy_field(out->variant, sizeof(out->variant), part[2], len[2]);
        }
        cnr_platform_normalise(out);
        return 0;
}

void
cnr_platform_host(struct cnr_platform *out)
{
        struct utsname u;

        memset(out, 0, sizeof(*out));
        snprintf(out->os, sizeof(out->os), "linux");
        if (uname(&u) == 0)
                snprintf(out->arch, sizeof(out->arch), "%.31s", u.machine);
        else
                snprintf(out->arch, sizeof(out->arch), "amd64");
        if (strncmp(out->arch, "armv7", 5) == 0) {
                snprintf(out->arch, sizeof(out->arch), "arm");
                snprintf(out->variant, sizeof(out->variant), "v7");
        } else if (strncmp(out->arch, "armv6", 5) == 0) {
                snprintf(out->arch, sizeof(out->arch), "arm");
                snprintf(out->variant, sizeof(out->variant), "v6");
        }
        cnr_platform_normalise(out);
}

void
cnr_platform_format(const struct cnr_platform *p, char *buf, size_t n)
{
        snprintf(buf, n, "%s/%s%s%s", p->os[0] ? p->os : "?", p->arch[0] ? p->arch : "?", p->variant[0] ? "/" : "",
                 p->variant);
}

bool
cnr_platform_match(const struct cnr_platform *want, const struct cnr_platform *have)
{
        const char *hv = have->variant;

        if (strcmp(want->os, have->os) != 0 || strcmp(want->arch, have->arch) != 0)
                return false;
        if (want->variant[0] == '\0')
                return true;
        if (hv[0] == '\0' && strcmp(have->arch, "arm64") == 0)
                hv = "v8";
        return strcmp(want->variant, hv) == 0;
}

/* ---- descriptors ---- */

static char *
opt_string(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int
parse_platform(json_t *v, struct cnr_platform *p, const char *what, struct cnr_err **err)
{
        json_t *os = json_object_get(v, "os"), *arch = json_object_get(v, "architecture");
        json_t *variant = json_object_get(v, "variant"), *osv = json_object_get(v, "os.version");

        memset(p, 0, sizeof(*p));
        if (!json_is_object(v))
                return cnr_errf(err, EINVAL, "%s: platform is not an object", what);
        if (!json_is_string(os) || !json_is_string(arch))
                return cnr_errf(err, EINVAL, "%s: platform needs string `os` and `architecture`", what);
        if ((variant && !json_is_string(variant)) || (osv && !json_is_string(osv)))
                return cnr_errf(err, EINVAL, "%s: platform `variant` and `os.version` must be strings", what);
        if (json_string_length(os) >= sizeof(p->os) || json_string_length(arch) >= sizeof(p->arch) ||
            (variant && json_string_length(variant) >= sizeof(p->variant)) ||
            (osv && json_string_length(osv) >= sizeof(p->os_version)))
                return cnr_errf(err, EINVAL, "%s: platform field too long", what);
        snprintf(p->os, sizeof(p->os), "%s", json_string_value(os));
        snprintf(p->arch, sizeof(p->arch), "%s", json_string_value(arch));
        if (variant)
                snprintf(p->variant, sizeof(p->variant), "%s", json_string_value(variant));
        if (osv)
                snprintf(p->os_version, sizeof(p->os_version), "%s", json_string_value(osv));
        cnr_platform_normalise(p);
        return 0;
}

static void
descriptor_clear(struct cnr_descriptor *d)
{
        free(d->media_type);
        free(d->ref_name);
        free(d->image_name);
        memset(d, 0, sizeof(*d));
}

static int
parse_descriptor(json_t *v, struct cnr_descriptor *d, const char *what, struct cnr_err **err)
{
        json_t *mt = json_object_get(v, "mediaType"), *dg = json_object_get(v, "digest");
        json_t *sz = json_object_get(v, "size"), *pl = json_object_get(v, "platform");
        json_t *ann = json_object_get(v, "annotations"), *urls = json_object_get(v, "urls");

        memset(d, 0, sizeof(*d));
        if (!json_is_object(v))
                return cnr_errf(err, EINVAL, "%s is not an object", what);
        if (!json_is_string(mt))
                return cnr_errf(err, EINVAL, "%s: `mediaType` missing or not a string", what);
        if (!json_is_string(dg))
                return cnr_errf(err, EINVAL, "%s: `digest` missing or not a string", what);
        if (cnr_digest_parse(json_string_value(dg), &d->digest, err) < 0)
                return cnr_err_wrap(err, "%s", what);
        if (!json_is_integer(sz))
                return cnr_errf(err, EINVAL, "%s: `size` missing or not an integer", what);
        if (json_integer_value(sz) < 0)
                return cnr_errf(err, EINVAL, "%s: negative size %lld", what, (long long)json_integer_value(sz));
        d->size = (int64_t)json_integer_value(sz);
        if (ann && !json_is_object(ann))
                return cnr_errf(err, EINVAL, "%s: `annotations` is not an object", what);
        if (urls && !json_is_array(urls))
                return cnr_errf(err, EINVAL, "%s: `urls` is not an array", what);
        if (pl) {
                if (parse_platform(pl, &d->platform, what, err) < 0)
                        return -1;
                d->has_platform = true;
        }
        d->media_type = xstrdup(json_string_value(mt));
        d->media = cnr_media_parse(d->media_type);
        d->nurls = urls ? json_array_size(urls) : 0;
        if (ann) {
                json_t *rn = json_object_get(ann, "org.opencontainers.image.ref.name");
                json_t *in = json_object_get(ann, "io.containerd.image.name");
                if (json_is_string(rn))
                        d->ref_name = xstrdup(json_string_value(rn));
                if (json_is_string(in))
                        d->image_name = xstrdup(json_string_value(in));
        }
        return 0;
}

static int
parse_descriptors(json_t *arr, struct cnr_descriptor **out, size_t *n, const char *what, struct cnr_err **err)
{
        size_t count;

        if (!json_is_array(arr))
                return cnr_errf(err, EINVAL, "`%s` is not an array", what);
        count = json_array_size(arr);
        *out = xcalloc(count ? count : 1, sizeof(**out));
        *n = 0;
        for (size_t i = 0; i < count; i++) {
                char w[64];

                snprintf(w, sizeof(w), "%s[%zu]", what, i);
                if (parse_descriptor(json_array_get(arr, i), &(*out)[i], w, err) < 0)
                        return -1;
                *n = i + 1;
        }
        return 0;
}

void
cnr_manifest_free(struct cnr_manifest *m)
{
        if (m == NULL)
                return;
        descriptor_clear(&m->config);
        for (size_t i = 0; i < m->nlayers; i++)
                descriptor_clear(&m->layers[i]);
        free(m->layers);
        for (size_t i = 0; i < m->nmanifests; i++)
                descriptor_clear(&m->manifests[i]);
        free(m->manifests);
        free(m->artifact_type);
        descriptor_clear(&m->subject);
        free(m);
}

static json_t *
load_json(const void *buf, size_t len, const char *what, struct cnr_err **err)
{
        json_error_t je;
        json_t *doc;

        if (len > CNR_MANIFEST_MAX) {
                cnr_errf(err, EFBIG, "%s is %zu bytes, more than the %u-byte limit", what, len, CNR_MANIFEST_MAX);
                return NULL;
        }
        doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
        if (doc == NULL) {
                cnr_errf(err, EINVAL, "%s is not valid JSON: %s at line %d column %d", what, je.text, je.line,
                         je.column);
                return NULL;
        }
        if (!json_is_object(doc)) {
                json_decref(doc);
                cnr_errf(err, EINVAL, "%s is not a JSON object", what);
                return NULL;
        }
        return doc;
}

int
cnr_manifest_parse(const void *buf, size_t len, const char *content_type, struct cnr_manifest **out,
                   struct cnr_err **err)
{
        json_t *doc, *sv, *mt, *layers, *manifests, *config, *at, *subject;
        struct cnr_manifest *m = NULL;
        enum cnr_media body = CNR_MT_UNKNOWN, ct = CNR_MT_UNKNOWN, kind;
        int ret = -1;

        *out = NULL;
        doc = load_json(buf, len, "manifest", err);
        if (doc == NULL)
                return -1;
        sv = json_object_get(doc, "schemaVersion");
        mt = json_object_get(doc, "mediaType");
        layers = json_object_get(doc, "layers");
        manifests = json_object_get(doc, "manifests");
        config = json_object_get(doc, "config");

        if (content_type && *content_type) {
                ct = cnr_media_parse(content_type);
                if (ct == CNR_MT_DOCKER_SCHEMA1 || ct == CNR_MT_DOCKER_SCHEMA1_SIGNED) {
                        cnr_errf(err, ENOTSUP,
                                 "manifest is Docker schema 1 (`%s`), which containr does not support; "
                                 "push the image again with a current client",
                                 content_type);
                        goto out;
                }
        }
        if (json_is_integer(sv) && json_integer_value(sv) == 1) {
                cnr_errf(err, ENOTSUP,
                         "manifest is Docker schema 1, which containr does not support; push the image again "
                         "with a current client");
                goto out;
        }
        if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
                cnr_errf(err, EINVAL, "manifest: `schemaVersion` must be 2");
                goto out;
        }
        if (layers && manifests) {
                cnr_errf(err, EINVAL, "manifest has both `layers` and `manifests`: ambiguous document refused");
                goto out;
        }
        if (mt) {
                if (!json_is_string(mt)) {
                        cnr_errf(err, EINVAL, "manifest: `mediaType` is not a string");
                        goto out;
                }
                body = cnr_media_parse(json_string_value(mt));
                if (body == CNR_MT_DOCKER_SCHEMA1 || body == CNR_MT_DOCKER_SCHEMA1_SIGNED) {
                        cnr_errf(err, ENOTSUP, "manifest is Docker schema 1, which containr does not support");
                        goto out;
                }
                if (!cnr_media_is_manifest(body) && !cnr_media_is_index(body)) {
                        cnr_errf(err, EINVAL, "manifest: unsupported media type `%.200s`", json_string_value(mt));
                        goto out;
                }
        }
        if (ct != CNR_MT_UNKNOWN && !cnr_media_is_manifest(ct) && !cnr_media_is_index(ct)) {
                cnr_errf(err, EINVAL, "manifest: unsupported content type `%.200s`", content_type);
                goto out;
        }
        if (body != CNR_MT_UNKNOWN && ct != CNR_MT_UNKNOWN && body != ct) {
                cnr_errf(err, EINVAL, "manifest says media type `%s` but was served as `%.200s`",
                         cnr_media_string(body), content_type);
                goto out;
        }
        kind = body != CNR_MT_UNKNOWN ? body : ct;
        if (kind == CNR_MT_UNKNOWN) {
                /* OCI allows mediaType to be absent: decide by the fields. */
                if (manifests)
                        kind = CNR_MT_OCI_INDEX;
                else if (config || layers)
                        kind = CNR_MT_OCI_MANIFEST;
                else {
                        cnr_errf(err, EINVAL, "manifest has neither `config`/`layers` nor `manifests`");
                        goto out;
                }
        }
        m = xcalloc(1, sizeof(*m));
        m->media = kind;
        at = json_object_get(doc, "artifactType");
        if (at && !json_is_string(at)) {
                cnr_errf(err, EINVAL, "manifest: `artifactType` is not a string");
                goto out;
        }
        m->artifact_type = at ? xstrdup(json_string_value(at)) : NULL;
        subject = json_object_get(doc, "subject");
        if (subject) {
                if (parse_descriptor(subject, &m->subject, "manifest subject", err) < 0)
                        goto out;
                m->has_subject = true;
        }
        if (cnr_media_is_index(kind)) {
                if (config || layers) {
                        cnr_errf(err, EINVAL, "index has `config` or `layers`: refused");
                        goto out;
                }
                if (!manifests) {
                        cnr_errf(err, EINVAL, "index has no `manifests`");
                        goto out;
                }
                if (parse_descriptors(manifests, &m->manifests, &m->nmanifests, "manifests", err) < 0)
                        goto out;
        } else {
                if (manifests) {
                        cnr_errf(err, EINVAL, "image manifest has `manifests`: refused");
                        goto out;
                }
                if (!config) {
                        cnr_errf(err, EINVAL, "image manifest has no `config`");
                        goto out;
                }
                if (parse_descriptor(config, &m->config, "config descriptor", err) < 0)
                        goto out;
                if (!layers) {
                        cnr_errf(err, EINVAL, "image manifest has no `layers`");
                        goto out;
                }
                if (parse_descriptors(layers, &m->layers, &m->nlayers, "layers", err) < 0)
                        goto out;
        }
        *out = steal_ptr(&m);
        ret = 0;
out:
        cnr_manifest_free(m);
        json_decref(doc);
        return ret;
}

int
cnr_manifest_select(const struct cnr_manifest *index, const struct cnr_platform *want,
                    const struct cnr_descriptor **out, struct cnr_err **err)
{
        char offered[512] = "";
        size_t used = 0;
        char w[96];
        size_t candidates = 0;

        *out = NULL;
        for (size_t i = 0; i < index->nmanifests; i++) {
                const struct cnr_descriptor *d = &index->manifests[i];
                if (cnr_media_is_manifest(d->media) || cnr_media_is_index(d->media))
                        candidates++;
        }
        for (size_t i = 0; i < index->nmanifests; i++) {
                const struct cnr_descriptor *d = &index->manifests[i];

                if (!cnr_media_is_manifest(d->media) && !cnr_media_is_index(d->media))
                        continue;
                if (d->has_platform) {
                        if (cnr_platform_match(want, &d->platform)) {
                                *out = d;
                                return 0;
                        }
                        if (used < sizeof(offered) - 1) {
                                char p[96];
                                cnr_platform_format(&d->platform, p, sizeof(p));
                                used += (size_t)snprintf(offered + used, sizeof(offered) - used, "%s%s",
                                                         used ? ", " : "", p);
                                if (used >= sizeof(offered))
                                        used = sizeof(offered) - 1;
                        }
                } else if (candidates == 1) {
                        *out = d;
                        return 0;
                }
        }
        cnr_platform_format(want, w, sizeof(w));
        return cnr_errf(err, ENOENT, "no manifest for platform `%s` in the index (it has: %s)", w,
                        used ? offered : "none");
}

/* ---- image configs ---- */

void
cnr_image_config_free(struct cnr_image_config *c)
{
        if (c == NULL)
                return;
        free(c->created);
        free(c->author);
        free(c->diff_ids);
        for (size_t i = 0; i < c->nhistory; i++) {
                free(c->history[i].created);
                free(c->history[i].created_by);
                free(c->history[i].author);
                free(c->history[i].comment);
        }
        free(c->history);
        json_decref(c->config);
        json_decref(c->doc);
        free(c);
}

static bool
opt_is(json_t *o, const char *key, json_type type)
{
        json_t *v = json_object_get(o, key);
        return v == NULL || json_is_null(v) || json_typeof(v) == type;
}

int
cnr_image_config_parse(const void *buf, size_t len, struct cnr_image_config **out, struct cnr_err **err)
{
        struct cnr_image_config *c;
        json_t *doc, *rootfs, *diff, *hist, *cfg, *os, *arch, *variant, *osv;
        size_t nonempty = 0;
        int ret = -1;

        *out = NULL;
        doc = load_json(buf, len, "image config", err);
        if (doc == NULL)
                return -1;
        c = xcalloc(1, sizeof(*c));
        c->doc = doc;
        os = json_object_get(doc, "os");
        arch = json_object_get(doc, "architecture");
        variant = json_object_get(doc, "variant");
        osv = json_object_get(doc, "os.version");
        if (!json_is_string(os) || !json_is_string(arch)) {
                cnr_errf(err, EINVAL, "image config: `os` and `architecture` are required strings");
                goto out;
        }
        if (json_string_length(os) >= sizeof(c->platform.os) || json_string_length(arch) >= sizeof(c->platform.arch) ||
            (json_is_string(variant) && json_string_length(variant) >= sizeof(c->platform.variant)) ||
            (json_is_string(osv) && json_string_length(osv) >= sizeof(c->platform.os_version))) {
                cnr_errf(err, EINVAL, "image config: platform field too long");
                goto out;
        }
        snprintf(c->platform.os, sizeof(c->platform.os), "%s", json_string_value(os));
        snprintf(c->platform.arch, sizeof(c->platform.arch), "%s", json_string_value(arch));
        if (json_is_string(variant))
                snprintf(c->platform.variant, sizeof(c->platform.variant), "%s", json_string_value(variant));
        if (json_is_string(osv))
                snprintf(c->platform.os_version, sizeof(c->platform.os_version), "%s", json_string_value(osv));
        cnr_platform_normalise(&c->platform);
        if (!opt_is(doc, "created", JSON_STRING) || !opt_is(doc, "author", JSON_STRING)) {
                cnr_errf(err, EINVAL, "image config: `created` and `author` must be strings");
                goto out;
        }
        c->created = opt_string(doc, "created");
        c->author = opt_string(doc, "author");

        rootfs = json_object_get(doc, "rootfs");
        if (!json_is_object(rootfs)) {
                cnr_errf(err, EINVAL, "image config: `rootfs` missing or not an object");
                goto out;
        }
        if (!json_is_string(json_object_get(rootfs, "type")) ||
            strcmp(json_string_value(json_object_get(rootfs, "type")), "layers") != 0) {
                cnr_errf(err, EINVAL, "image config: `rootfs.type` must be \"layers\"");
                goto out;
        }
        diff = json_object_get(rootfs, "diff_ids");
        if (!json_is_array(diff)) {
                cnr_errf(err, EINVAL, "image config: `rootfs.diff_ids` missing or not an array");
                goto out;
        }
        c->ndiff_ids = json_array_size(diff);
        c->diff_ids = xcalloc(c->ndiff_ids ? c->ndiff_ids : 1, sizeof(*c->diff_ids));
        for (size_t i = 0; i < c->ndiff_ids; i++) {
                json_t *d = json_array_get(diff, i);
                if (!json_is_string(d)) {
                        cnr_errf(err, EINVAL, "image config: `rootfs.diff_ids[%zu]` is not a string", i);
                        goto out;
                }
                if (cnr_digest_parse(json_string_value(d), &c->diff_ids[i], err) < 0) {
                        cnr_err_wrap(err, "image config: `rootfs.diff_ids[%zu]`", i);
                        goto out;
                }
        }
        hist = json_object_get(doc, "history");
        if (hist && !json_is_null(hist)) {
                if (!json_is_array(hist)) {
                        cnr_errf(err, EINVAL, "image config: `history` is not an array");
                        goto out;
                }
                c->history = xcalloc(json_array_size(hist) + 1, sizeof(*c->history));
                for (size_t i = 0; i < json_array_size(hist); i++) {
                        json_t *h = json_array_get(hist, i);
                        json_t *el;
                        struct cnr_history *e = &c->history[i];

                        if (!json_is_object(h)) {
                                cnr_errf(err, EINVAL, "image config: `history[%zu]` is not an object", i);
                                goto out;
                        }
                        c->nhistory = i + 1;
                        el = json_object_get(h, "empty_layer");
                        if (el && !json_is_boolean(el)) {
                                cnr_errf(err, EINVAL, "image config: `history[%zu].empty_layer` is not a boolean", i);
                                goto out;
                        }
                        e->empty_layer = json_is_true(el);
                        e->created = opt_string(h, "created");
                        e->created_by = opt_string(h, "created_by");
                        e->author = opt_string(h, "author");
                        e->comment = opt_string(h, "comment");
                        if (!e->empty_layer)
                                nonempty++;
                }
                if (c->nhistory > 0 && nonempty != c->ndiff_ids) {
                        cnr_errf(err, EINVAL,
                                 "image config: %zu non-empty history entries but %zu layers in `rootfs.diff_ids`",
                                 nonempty, c->ndiff_ids);
                        goto out;
                }
        }
        cfg = json_object_get(doc, "config");
        if (cfg && !json_is_null(cfg)) {
                static const struct {
                        const char *key;
                        json_type type;
                } fields[] = {
                        {"User", JSON_STRING},      {"Env", JSON_ARRAY},         {"Entrypoint", JSON_ARRAY},
                        {"Cmd", JSON_ARRAY},        {"WorkingDir", JSON_STRING}, {"Labels", JSON_OBJECT},
                        {"Volumes", JSON_OBJECT},   {"ExposedPorts", JSON_OBJECT}, {"StopSignal", JSON_STRING},
                };
                if (!json_is_object(cfg)) {
                        cnr_errf(err, EINVAL, "image config: `config` is not an object");
                        goto out;
                }
                for (size_t i = 0; i < CNR_ARRAY_LEN(fields); i++) {
                        json_t *v = json_object_get(cfg, fields[i].key);
                        if (!opt_is(cfg, fields[i].key, fields[i].type)) {
                                cnr_errf(err, EINVAL, "image config: `config.%s` has the wrong type",
                                         fields[i].key);
                                goto out;
                        }
                        if (json_is_array(v)) {
                                size_t j;
                                json_t *s;
                                json_array_foreach(v, j, s) if (!json_is_string(s))
                                {
                                        cnr_errf(err, EINVAL, "image config: `config.%s[%zu]` is not a string",
                                                 fields[i].key, j);
                                        goto out;
                                }
                        }
                        if (json_is_object(v) && strcmp(fields[i].key, "Labels") == 0) {
                                const char *k;
                                json_t *s;
                                json_object_foreach(v, k, s) if (!json_is_string(s))
                                {
                                        cnr_errf(err, EINVAL, "image config: label `%.100s` is not a string", k);
                                        goto out;
                                }
                        }
                }
                c->config = json_incref(cfg);
        }
        *out = c;
        c = NULL;
        ret = 0;
out:
        cnr_image_config_free(c);
        return ret;
}

int
cnr_image_config_strip_reserved(const void *buf, size_t len, char **out, size_t *outlen, struct cnr_err **err)
{
        json_t *doc, *cfg, *labels;
        const char *k;
        json_t *v;
        void *tmp;
        int removed = 0;

        *out = NULL;
        *outlen = 0;
        doc = load_json(buf, len, "image config", err);
        if (doc == NULL)
                return -1;
        cfg = json_object_get(doc, "config");
        labels = json_is_object(cfg) ? json_object_get(cfg, "Labels") : NULL;
        if (json_is_object(labels)) {
                json_object_foreach_safe(labels, tmp, k, v)
                {
                        if (strncmp(k, CNR_RESERVED_LABEL_PREFIX, strlen(CNR_RESERVED_LABEL_PREFIX)) == 0) {
                                json_object_del(labels, k);
                                removed++;
                        }
                }
        }
        if (removed > 0) {
                *out = json_dumps(doc, JSON_COMPACT);
                if (*out == NULL)
                        abort();
                *outlen = strlen(*out);
        }
        json_decref(doc);
        return removed;
}

void
cnr_chain_id(const struct cnr_digest *diff_ids, size_t n, struct cnr_digest *out)
{
        if (n == 0) {
                memset(out, 0, sizeof(*out));
                return;
        }
        *out = diff_ids[0];
        for (size_t i = 1; i < n; i++) {
                char buf[2 * CNR_DIGEST_MAX + 2];
                int l = snprintf(buf, sizeof(buf), "%s %s", out->str, diff_ids[i].str);
                cnr_digest_buf(CNR_DIGEST_SHA256, buf, (size_t)l, out);
        }
}
