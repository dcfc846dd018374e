/* snapshot.json of snapshot archives: see snapmeta.h. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "supervisor/snapmeta.h"

static void
jdecrefp(json_t **j)
{
        json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(jdecrefp)))

bool
cnr_snapmeta_diff_id_valid(const char *s)
{
        if (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
                return false;
        for (const char *p = s + 7; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

void
cnr_snapmeta_clear(struct cnr_snapmeta *m)
{
        free(m->name);
        json_decref(m->labels);
        for (size_t i = 0; i < m->nparents; i++)
                free(m->parents[i].name);
        free(m->parents);
        for (size_t i = 0; i < m->nignored; i++)
                free(m->ignored[i]);
        free(m->ignored);
        for (size_t i = 0; i < m->ndropped; i++)
                free(m->dropped[i]);
        free(m->dropped);
        memset(m, 0, sizeof(*m));
}

static void
push(char ***v, size_t *n, const char *s)
{
        *v = xrealloc(*v, (*n + 1) * sizeof(**v));
        (*v)[(*n)++] = xstrdup(s);
}

/* A string of at most CNR_SNAPMETA_MAX_STR bytes without NUL. */
static const char *
bounded(json_t *v)
{
        const char *s = json_string_value(v);

        if (s == NULL || json_string_length(v) > CNR_SNAPMETA_MAX_STR || strlen(s) != json_string_length(v))
                return NULL;
        return s;
}

static int
parse_labels(json_t *in, struct cnr_snapmeta *m, struct cnr_err **err)
{
        const char *k;
        json_t *v;

        if (!json_is_object(in))
                return cnr_errf(err, EINVAL, "snapshot.json: `labels` is not an object");
        if (json_object_size(in) > CNR_SNAPMETA_MAX_LABELS)
                return cnr_errf(err, EINVAL, "snapshot.json: more than %d labels", CNR_SNAPMETA_MAX_LABELS);
        json_object_foreach(in, k, v)
        {
                const char *s = bounded(v);

                if (k[0] == '\0' || strlen(k) > CNR_SNAPMETA_MAX_STR)
                        return cnr_errf(err, EINVAL, "snapshot.json: a label key is empty or too long");
                if (s == NULL)
                        return cnr_errf(err, EINVAL, "snapshot.json: label `%.64s` is not a string of at most %d bytes",
                                        k, CNR_SNAPMETA_MAX_STR);
                if (strncmp(k, CNR_SNAPMETA_RESERVED, strlen(CNR_SNAPMETA_RESERVED)) == 0) {
                        push(&m->dropped, &m->ndropped, k);
                        continue;
                }
                json_object_set_new(m->labels, k, json_string(s));
        }
        return 0;
}

static int
parse_parents(json_t *in, struct cnr_snapmeta *m, struct cnr_err **err)
{
        size_t i;
        json_t *p;

        if (!json_is_array(in))
                return cnr_errf(err, EINVAL, "snapshot.json: `parents` is not an array");
        if (json_array_size(in) > CNR_SNAPMETA_MAX_PARENTS)
                return cnr_errf(err, EINVAL, "snapshot.json: more than %d parents", CNR_SNAPMETA_MAX_PARENTS);
        m->parents = xcalloc(json_array_size(in) + 1, sizeof(*m->parents));
        json_array_foreach(in, i, p)
        {
                const char *name = bounded(json_object_get(p, "name"));
                json_t *dj = json_object_get(p, "diff_id");
                const char *d = dj ? json_string_value(dj) : "";

                if (!json_is_object(p) || name == NULL || name[0] == '\0')
                        return cnr_errf(err, EINVAL, "snapshot.json: parent %zu has no valid `name`", i);
                if (d == NULL || (d[0] != '\0' && !cnr_snapmeta_diff_id_valid(d)))
                        return cnr_errf(err, EINVAL, "snapshot.json: parent %zu: `diff_id` is not sha256:<64 hex>", i);
                m->parents[i].name = xstrdup(name);
                snprintf(m->parents[i].diff_id, sizeof(m->parents[i].diff_id), "%s", d);
                m->nparents = i + 1;
        }
        return 0;
}

int
cnr_snapmeta_parse(const char *buf, size_t len, struct cnr_snapmeta *out, struct cnr_err **err)
{
        _cleanup_json_ json_t *doc = NULL;
        json_error_t je;
        const char *k;
        json_t *v;
        int r = -1;

        memset(out, 0, sizeof(*out));
        if (len > CNR_SNAPMETA_MAX)
                return cnr_errf(err, EFBIG, "snapshot.json: %zu bytes, more than %d", len, CNR_SNAPMETA_MAX);
        doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
        if (doc == NULL)
                return cnr_errf(err, EINVAL, "snapshot.json: line %d: %s", je.line, je.text);
        if (!json_is_object(doc))
                return cnr_errf(err, EINVAL, "snapshot.json: not a JSON object");
        v = json_object_get(doc, "version");
        if (!json_is_integer(v) || json_integer_value(v) != CNR_SNAPMETA_VERSION)
                return cnr_errf(err, EINVAL, "snapshot.json: `version` is not %d", CNR_SNAPMETA_VERSION);
        out->labels = json_object();
        out->name = xstrdup("");
        json_object_foreach(doc, k, v)
        {
                if (strcmp(k, "version") == 0)
                        continue;
                if (strcmp(k, "diff_id") == 0) {
                        const char *d = json_string_value(v);
                        if (!cnr_snapmeta_diff_id_valid(d))
                                goto bad_diff;
                        snprintf(out->diff_id, sizeof(out->diff_id), "%s", d);
                } else if (strcmp(k, "name") == 0) {
                        const char *s = bounded(v);
                        if (s == NULL) {
                                cnr_errf(err, EINVAL, "snapshot.json: `name` is not a string of at most %d bytes",
                                         CNR_SNAPMETA_MAX_STR);
                                goto out;
                        }
                        free(out->name);
                        out->name = xstrdup(s);
                } else if (strcmp(k, "labels") == 0) {
                        if (parse_labels(v, out, err) < 0)
                                goto out;
                } else if (strcmp(k, "parents") == 0) {
                        if (parse_parents(v, out, err) < 0)
                                goto out;
                } else {
                        /* Never acted on: annotations, devices, hooks,
                         * an image or tag, anything else. */
                        push(&out->ignored, &out->nignored, strlen(k) > 64 ? "(a long field name)" : k);
                }
        }
        if (out->diff_id[0] == '\0') {
        bad_diff:
                cnr_errf(err, EINVAL, "snapshot.json: `diff_id` is missing or not sha256:<64 lowercase hex>");
                goto out;
        }
        r = 0;
out:
        if (r < 0)
                cnr_snapmeta_clear(out);
        return r;
}

json_t *
cnr_snapmeta_build(const char *name, const char *diff_id, json_t *labels, const struct cnr_snapmeta_parent *parents,
                   size_t nparents)
{
        json_t *doc = json_object(), *pa = json_array(), *lb = json_object();
        const char *k;
        json_t *v;

        json_object_set_new(doc, "version", json_integer(CNR_SNAPMETA_VERSION));
        json_object_set_new(doc, "name", json_string(name));
        json_object_set_new(doc, "diff_id", json_string(diff_id));
        if (labels)
                json_object_foreach(labels, k,
                                    v) if (strncmp(k, CNR_SNAPMETA_RESERVED, strlen(CNR_SNAPMETA_RESERVED)) != 0)
                        json_object_set(lb, k, v);
        json_object_set_new(doc, "labels", lb);
        for (size_t i = 0; i < nparents; i++)
                json_array_append_new(pa,
                                      json_pack("{s:s,s:s}", "name", parents[i].name, "diff_id", parents[i].diff_id));
        json_object_set_new(doc, "parents", pa);
        return doc;
}
