/* Facts about external images, as the supervisor hands them to buildd.
 *
 * buildd cannot read the image store (no access, no privilege): the
 * supervisor looks up the images the build names and writes what it found
 * into a document that buildd parses here.  The supervisor is the more
 * trusted side, but buildd takes nothing on trust beyond the document's
 * shape: every field is checked for type and size, digests must be
 * sha256:<64 hex>, only the config keys the planner uses are kept (each
 * with its JSON type checked), history entries are reduced to their string
 * fields and empty_layer.  A document that breaks any rule is refused as
 * a whole.
 *
 *     {"images": [
 *        {"ref": "docker.io/library/busybox:latest", "platform": "linux/amd64",
 *         "missing": true},
 *        {"ref": ..., "platform": ..., "id": "sha256:...", "manifest": "sha256:...",
 *         "image_platform": "linux/amd64", "config": {...}, "history": [...]}]} */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "helpers/buildd/frontend/df.h"

#define REF_MAX 512
#define PLATFORM_MAX 96
#define STRING_MAX (64u * 1024)
#define LIST_MAX 4096
#define HISTORY_MAX 10000

struct fact {
        char *ref, *platform; /* as asked */
        struct cnr_df_image_facts f;
};

struct cnr_df_facts {
        struct fact *v;
        size_t n;
};

void
cnr_df_image_facts_clear(struct cnr_df_image_facts *f)
{
        free(f->digest);
        free(f->config_digest);
        free(f->platform);
        json_decref(f->config);
        json_decref(f->history);
        cnr_df_strv_free(&f->onbuild);
        memset(f, 0, sizeof(*f));
}

void
cnr_df_facts_free(struct cnr_df_facts *f)
{
        if (f == NULL)
                return;
        for (size_t i = 0; i < f->n; i++) {
                free(f->v[i].ref);
                free(f->v[i].platform);
                cnr_df_image_facts_clear(&f->v[i].f);
        }
        free(f->v);
        free(f);
}

size_t
cnr_df_facts_count(const struct cnr_df_facts *f)
{
        return f ? f->n : 0;
}

static bool
text_ok(const char *s, size_t max)
{
        size_t n = 0;

        for (; *s; s++, n++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f || n >= max)
                        return false;
        return true;
}

static bool
digest_ok(const char *s)
{
        if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
                return false;
        for (s += 7; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

/* A JSON string under the cap, else NULL. */
static const char *
jstr(json_t *o, const char *key, size_t max)
{
        json_t *v = json_object_get(o, key);
        const char *s = json_string_value(v);

        if (s == NULL || json_string_length(v) != strlen(s) || strlen(s) > max)
                return NULL;
        return s;
}

static bool
strings_ok(json_t *a, size_t max_items)
{
        size_t i;
        json_t *v;

        if (!json_is_array(a) || json_array_size(a) > max_items)
                return false;
        json_array_foreach(a, i, v) if (!json_is_string(v) || json_string_length(v) > STRING_MAX ||
                                        strlen(json_string_value(v)) != json_string_length(v)) return false;
        return true;
}

/* The config keys the planner reads, with their types checked. */
static int
take_config(json_t *in, json_t **out, struct cnr_df_strv *onbuild, struct cnr_err **err)
{
        static const char *const strings[] = {"WorkingDir", "User", "StopSignal", "Author"};
        static const char *const lists[] = {"Env", "Shell"};
        static const char *const cmds[] = {"Cmd", "Entrypoint"};
        static const char *const sets[] = {"ExposedPorts", "Volumes"};
        json_t *c = json_object(), *v;
        const char *k, *what = "?";

        for (size_t i = 0; i < CNR_ARRAY_LEN(strings); i++)
                if ((v = json_object_get(in, what = strings[i])) != NULL) {
                        if (!jstr(in, strings[i], STRING_MAX))
                                goto bad;
                        json_object_set(c, strings[i], v);
                }
        for (size_t i = 0; i < CNR_ARRAY_LEN(lists); i++)
                if ((v = json_object_get(in, what = lists[i])) != NULL && !json_is_null(v)) {
                        if (!strings_ok(v, LIST_MAX))
                                goto bad;
                        json_object_set_new(c, lists[i], json_deep_copy(v));
                }
        for (size_t i = 0; i < CNR_ARRAY_LEN(cmds); i++)
                if ((v = json_object_get(in, what = cmds[i])) != NULL) {
                        if (!json_is_null(v) && !strings_ok(v, LIST_MAX))
                                goto bad;
                        json_object_set_new(c, cmds[i], json_deep_copy(v));
                }
        for (size_t i = 0; i < CNR_ARRAY_LEN(sets); i++)
                if ((v = json_object_get(in, what = sets[i])) != NULL && !json_is_null(v)) {
                        json_t *set = json_object(), *x;
                        if (!json_is_object(v) || json_object_size(v) > LIST_MAX) {
                                json_decref(set);
                                goto bad;
                        }
                        json_object_foreach(v, k, x) json_object_set_new(set, k, json_object());
                        json_object_set_new(c, sets[i], set);
                }
        if ((v = json_object_get(in, what = "Labels")) != NULL && !json_is_null(v)) {
                json_t *x;
                if (!json_is_object(v) || json_object_size(v) > LIST_MAX)
                        goto bad;
                json_object_foreach(v, k, x) if (!json_is_string(x) || json_string_length(x) > STRING_MAX) goto bad;
                json_object_set_new(c, "Labels", json_deep_copy(v));
        }
        if ((v = json_object_get(in, what = "ArgsEscaped")) != NULL) {
                if (!json_is_boolean(v))
                        goto bad;
                json_object_set(c, "ArgsEscaped", v);
        }
        if ((v = json_object_get(in, what = "Healthcheck")) != NULL && !json_is_null(v)) {
                static const char *const durs[] = {"Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"};
                json_t *hc = json_object();
                if (!json_is_object(v) || !strings_ok(json_object_get(v, "Test"), 256)) {
                        json_decref(hc);
                        goto bad;
                }
                json_object_set_new(hc, "Test", json_deep_copy(json_object_get(v, "Test")));
                for (size_t i = 0; i < CNR_ARRAY_LEN(durs); i++) {
                        json_t *d = json_object_get(v, durs[i]);
                        if (d == NULL)
                                continue;
                        if (!json_is_integer(d) || json_integer_value(d) < 0) {
                                json_decref(hc);
                                goto bad;
                        }
                        json_object_set(hc, durs[i], d);
                }
                json_object_set_new(c, "Healthcheck", hc);
        }
        if ((v = json_object_get(in, what = "OnBuild")) != NULL && !json_is_null(v)) {
                size_t i;
                json_t *x;
                if (!strings_ok(v, 256))
                        goto bad;
                json_array_foreach(v, i, x) cnr_df_strv_push(onbuild, json_string_value(x));
        }
        *out = c;
        return 0;
bad:
        json_decref(c);
        return cnr_errf(err, EINVAL, "config key `%s` has the wrong type or size", what);
}

static int
take_history(json_t *in, json_t **out, struct cnr_err **err)
{
        static const char *const keys[] = {"created", "created_by", "author", "comment"};
        json_t *h = json_array(), *e;
        size_t i;

        if (!json_is_array(in) || json_array_size(in) > HISTORY_MAX) {
                json_decref(h);
                return cnr_errf(err, EINVAL, "history is not an array of at most %d entries", HISTORY_MAX);
        }
        json_array_foreach(in, i, e)
        {
                json_t *o = json_object(), *el = json_object_get(e, "empty_layer");
                if (!json_is_object(e) || (el && !json_is_boolean(el))) {
                        json_decref(o);
                        json_decref(h);
                        return cnr_errf(err, EINVAL, "history entry %zu is malformed", i);
                }
                for (size_t k = 0; k < CNR_ARRAY_LEN(keys); k++) {
                        json_t *v = json_object_get(e, keys[k]);
                        if (v == NULL)
                                continue;
                        if (!jstr(e, keys[k], STRING_MAX)) {
                                json_decref(o);
                                json_decref(h);
                                return cnr_errf(err, EINVAL, "history entry %zu: `%s` is not a string", i, keys[k]);
                        }
                        json_object_set(o, keys[k], v);
                }
                if (json_is_true(el))
                        json_object_set_new(o, "empty_layer", json_true());
                json_array_append_new(h, o);
        }
        *out = h;
        return 0;
}

static int
take_image(json_t *j, struct fact *fa, struct cnr_err **err)
{
        const char *ref = jstr(j, "ref", REF_MAX), *plat = jstr(j, "platform", PLATFORM_MAX);
        json_t *missing = json_object_get(j, "missing");
        const char *id, *man, *iplat;
        json_t *cfg, *hist;

        if (!json_is_object(j) || ref == NULL || plat == NULL || !text_ok(ref, REF_MAX) ||
            !text_ok(plat, PLATFORM_MAX) || ref[0] == '\0')
                return cnr_errf(err, EINVAL, "an image needs `ref` and `platform` strings");
        fa->ref = cnr_df_image_normalize(ref);
        fa->platform = xstrdup(plat);
        fa->f.known = true;
        if (missing && !json_is_boolean(missing))
                return cnr_errf(err, EINVAL, "image `%s`: `missing` is not a boolean", ref);
        if (json_is_true(missing)) {
                fa->f.missing = true;
                return 0;
        }
        id = jstr(j, "id", 80);
        man = jstr(j, "manifest", 80);
        iplat = jstr(j, "image_platform", PLATFORM_MAX);
        if (id == NULL || !digest_ok(id) || man == NULL || !digest_ok(man))
                return cnr_errf(err, EINVAL, "image `%s`: `id` and `manifest` must be sha256 digests", ref);
        if (iplat == NULL || !text_ok(iplat, PLATFORM_MAX))
                return cnr_errf(err, EINVAL, "image `%s`: `image_platform` is not a platform", ref);
        fa->f.config_digest = xstrdup(id);
        fa->f.digest = xstrdup(man);
        fa->f.platform = xstrdup(iplat);
        cfg = json_object_get(j, "config");
        if (cfg && !json_is_null(cfg)) {
                if (!json_is_object(cfg))
                        return cnr_errf(err, EINVAL, "image `%s`: `config` is not an object", ref);
                if (take_config(cfg, &fa->f.config, &fa->f.onbuild, err) < 0) {
                        cnr_err_wrap(err, "image `%s`", ref);
                        return -1;
                }
        }
        hist = json_object_get(j, "history");
        if (hist && !json_is_null(hist) && take_history(hist, &fa->f.history, err) < 0) {
                cnr_err_wrap(err, "image `%s`", ref);
                return -1;
        }
        return 0;
}

int
cnr_df_facts_parse(const char *data, size_t len, struct cnr_df_facts **out, struct cnr_err **err)
{
        struct cnr_df_facts *f = xcalloc(1, sizeof(*f));
        json_error_t je;
        json_t *doc, *imgs, *j;
        size_t i;
        int rc = -1;

        *out = NULL;
        if (len > CNR_DF_FACTS_MAX) {
                cnr_errf(err, EFBIG, "image facts: %zu bytes (at most %u)", len, CNR_DF_FACTS_MAX);
                cnr_df_facts_free(f);
                return -1;
        }
        doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
        if (doc == NULL) {
                cnr_errf(err, EINVAL, "image facts: not JSON (%s)", je.text);
                cnr_df_facts_free(f);
                return -1;
        }
        imgs = json_object_get(doc, "images");
        if (!json_is_object(doc) || !json_is_array(imgs) || json_array_size(imgs) > CNR_DF_FACTS_IMAGES) {
                cnr_errf(err, EINVAL, "image facts: `images` must be an array of at most %d", CNR_DF_FACTS_IMAGES);
                goto out;
        }
        f->v = xcalloc(json_array_size(imgs) + 1, sizeof(*f->v));
        json_array_foreach(imgs, i, j)
        {
                f->n++;
                if (take_image(j, &f->v[i], err) < 0) {
                        cnr_err_wrap(err, "image facts, entry %zu", i + 1);
                        goto out;
                }
        }
        *out = f;
        f = NULL;
        rc = 0;
out:
        json_decref(doc);
        cnr_df_facts_free(f);
        return rc;
}

static void
copy_facts(const struct cnr_df_image_facts *in, struct cnr_df_image_facts *out)
{
        out->known = in->known;
        out->missing = in->missing;
        out->digest = in->digest ? xstrdup(in->digest) : NULL;
        out->config_digest = in->config_digest ? xstrdup(in->config_digest) : NULL;
        out->platform = in->platform ? xstrdup(in->platform) : NULL;
        out->config = in->config ? json_deep_copy(in->config) : NULL;
        out->history = in->history ? json_deep_copy(in->history) : NULL;
        for (size_t i = 0; i < in->onbuild.n; i++)
                cnr_df_strv_push(&out->onbuild, in->onbuild.v[i]);
}

int
cnr_df_facts_lookup(const char *ref, const char *platform, struct cnr_df_image_facts *out, void *arg)
{
        const struct cnr_df_facts *f = arg;
        _cleanup_free_ char *norm = cnr_df_image_normalize(ref);
        const struct fact *any = NULL;

        for (size_t i = 0; f && i < f->n; i++) {
                if (strcmp(f->v[i].ref, norm) != 0)
                        continue;
                if (strcmp(f->v[i].platform, platform) == 0) {
                        copy_facts(&f->v[i].f, out);
                        return 0;
                }
                if (any == NULL)
                        any = &f->v[i];
        }
        /* A name points at one image: asked for another platform, it is
         * the same image. */
        if (any)
                copy_facts(&any->f, out);
        return 0;
}

static void
split_platform(const char *s, char os[32], char arch[32], char variant[32])
{
        const char *a = strchr(s, '/'), *v = a ? strchr(a + 1, '/') : NULL;

        snprintf(os, 32, "%.*s", (int)(a ? (size_t)(a - s) : strlen(s)), s);
        if (a)
                snprintf(arch, 32, "%.*s", (int)(v ? (size_t)(v - a - 1) : strlen(a + 1)), a + 1);
        else
                arch[0] = '\0';
        snprintf(variant, 32, "%s", v ? v + 1 : "");
        if (!strcmp(arch, "arm64") && variant[0] == '\0')
                snprintf(variant, 32, "v8");
}

bool
cnr_df_platform_match(const char *want, const char *have)
{
        char wo[32], wa[32], wv[32], ho[32], ha[32], hv[32];

        split_platform(want, wo, wa, wv);
        split_platform(have, ho, ha, hv);
        if (strcmp(wo, ho) != 0 || strcmp(wa, ha) != 0)
                return false;
        return wv[0] == '\0' || strcmp(wv, hv) == 0;
}
