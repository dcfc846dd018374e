/* snapshot.json, the metadata member of a snapshot archive (containr
 * snapshot export/import; docs/snapshots.md "Export archives").
 *
 *     {"version": 1, "diff_id": "sha256:<64 hex>",
 *      "name": "...", "labels": {"k": "v", ...},
 *      "parents": [{"name": "...", "diff_id": "sha256:..."|""}, ...]}
 *
 * The parser takes bytes from an archive the operator handed over, so it
 * trusts nothing: at most CNR_SNAPMETA_MAX bytes, one JSON object without
 * duplicate keys, version 1, a strict diff_id, labels strings within
 * bounds.  Labels in containr's reserved namespace (`io.containr.`) are
 * dropped and listed; every other field (annotations, devices, hooks, an
 * image or tag) is ignored and listed: nothing in this file is ever acted
 * on except the diff_id check, the labels and the parent lookup. */
#ifndef CNR_SNAPMETA_H
#define CNR_SNAPMETA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/err.h"

#define CNR_SNAPMETA_MAX (64 * 1024)
#define CNR_SNAPMETA_VERSION 1
#define CNR_SNAPMETA_MAX_LABELS 256
#define CNR_SNAPMETA_MAX_PARENTS 256
#define CNR_SNAPMETA_MAX_STR 4096
#define CNR_SNAPMETA_RESERVED "io.containr."

struct cnr_snapmeta_parent {
        char *name;
        char diff_id[80]; /* "" when the exporter had none */
};

struct cnr_snapmeta {
        char diff_id[80];
        char *name;                          /* informational; "" when absent */
        json_t *labels;                      /* object of strings, reserved ones removed */
        struct cnr_snapmeta_parent *parents; /* nearest first */
        size_t nparents;
        char **ignored; /* top-level fields not understood */
        size_t nignored;
        char **dropped; /* labels dropped (reserved namespace) */
        size_t ndropped;
};

/* 0, or -1 with *err (EFBIG over the cap, EINVAL otherwise). */
int cnr_snapmeta_parse(const char *buf, size_t len, struct cnr_snapmeta *out, struct cnr_err **err);
void cnr_snapmeta_clear(struct cnr_snapmeta *m);
/* A strict "sha256:" + 64 lowercase hex. */
bool cnr_snapmeta_diff_id_valid(const char *s);
/* The document export writes (a new reference). */
json_t *cnr_snapmeta_build(const char *name, const char *diff_id, json_t *labels,
                           const struct cnr_snapmeta_parent *parents, size_t nparents);

#endif
