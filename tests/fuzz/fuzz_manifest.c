/* Fuzz target for the manifest / index / image-config parsers
 * (supervisor/manifest.c).
 *
 * Invariants, not just "no crash":
 *   - every call either succeeds with a result or fails with NULL and an
 *     error carrying an errno code and a non-empty message;
 *   - an input over CNR_MANIFEST_MAX is refused, with EFBIG;
 *   - a parsed manifest never has both layers and manifests; an index has
 *     no layers, an image manifest no index entries;
 *   - every descriptor's digest parses again strictly to itself and its
 *     size is non-negative;
 *   - a parsed config has as many diff_ids as it says, each strict;
 *   - cnr_manifest_select on an index returns an entry of that index or
 *     fails with ENOENT.
 *
 * Built with --enable-fuzzing as tests/fuzz/fuzz_manifest (libFuzzer), and
 * always with replay.c as tests/fuzz/replay_manifest for `make check`. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "supervisor/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                            \
        do {                                                                                                   \
                if (!(cond)) {                                                                                 \
                        fprintf(stderr, "fuzz_manifest: invariant failed: %s (%s:%d)\n", #cond, __FILE__,    \
                                __LINE__);                                                                     \
                        abort();                                                                               \
                }                                                                                              \
        } while (0)

static void
check_err(struct cnr_err *err)
{
        CHECK(err != NULL);
        CHECK(err->code != 0);
        CHECK(err->msg != NULL && err->msg[0] != '\0');
}

static void
check_desc(const struct cnr_descriptor *d)
{
        struct cnr_digest again;
        struct cnr_err *err = NULL;

        CHECK(d->size >= 0);
        CHECK(d->media_type != NULL);
        CHECK(cnr_digest_parse(d->digest.str, &again, &err) == 0);
        CHECK(cnr_digest_equal(&again, &d->digest));
}

static void
one(const uint8_t *data, size_t size, const char *ct)
{
        struct cnr_manifest *m = NULL;
        struct cnr_image_config *c = NULL;
        struct cnr_err *err = NULL;

        if (cnr_manifest_parse(data, size, ct, &m, &err) < 0) {
                CHECK(m == NULL);
                check_err(err);
                if (size > CNR_MANIFEST_MAX)
                        CHECK(err->code == EFBIG);
                cnr_err_free(&err);
        } else {
                CHECK(m != NULL && size <= CNR_MANIFEST_MAX);
                CHECK(!(m->nlayers > 0 && m->nmanifests > 0));
                if (cnr_media_is_index(m->media)) {
                        struct cnr_platform want;
                        const struct cnr_descriptor *sel = NULL;

                        CHECK(m->nlayers == 0);
                        for (size_t i = 0; i < m->nmanifests; i++)
                                check_desc(&m->manifests[i]);
                        cnr_platform_host(&want);
                        if (cnr_manifest_select(m, &want, &sel, &err) == 0) {
                                CHECK(sel >= m->manifests && sel < m->manifests + m->nmanifests);
                        } else {
                                CHECK(sel == NULL && err->code == ENOENT);
                                cnr_err_free(&err);
                        }
                } else {
                        CHECK(cnr_media_is_manifest(m->media));
                        CHECK(m->nmanifests == 0);
                        check_desc(&m->config);
                        for (size_t i = 0; i < m->nlayers; i++)
                                check_desc(&m->layers[i]);
                }
                cnr_manifest_free(m);
        }
        if (cnr_image_config_parse(data, size, &c, &err) < 0) {
                CHECK(c == NULL);
                check_err(err);
                cnr_err_free(&err);
        } else {
                CHECK(c->platform.os[0] && c->platform.arch[0]);
                for (size_t i = 0; i < c->ndiff_ids; i++)
                        CHECK(c->diff_ids[i].str[0] != '\0');
                cnr_image_config_free(c);
        }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        one(data, size, NULL);
        one(data, size, "application/vnd.oci.image.index.v1+json");
        one(data, size, "application/vnd.docker.distribution.manifest.v2+json");
        return 0;
}
