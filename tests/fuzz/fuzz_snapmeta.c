/* Fuzz target for snapshot.json of snapshot archives
 * (supervisor/snapmeta.c), the document `containr snapshot import` reads
 * from an archive anyone may have made (THREATS.md 23).
 *
 * Invariants, not just "no crash":
 *   - a failure carries an errno code and a message, and clears the output;
 *   - input over CNR_SNAPMETA_MAX is refused with EFBIG;
 *   - a success has a strict diff_id, at most the label cap, no label in
 *     the reserved io.containr. namespace, string labels only, parents
 *     with names and empty or strict diff_ids;
 *   - what cnr_snapmeta_build makes of the result parses again to the same
 *     diff_id, labels and parent names, with nothing ignored or dropped.
 *
 * Built with --enable-fuzzing as tests/fuzz/fuzz_snapmeta (libFuzzer), and
 * always with replay.c as tests/fuzz/replay_snapmeta for `make check`. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/snapmeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                    \
        do {                                                                                                           \
                if (!(cond)) {                                                                                         \
                        fprintf(stderr, "fuzz_snapmeta: invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);   \
                        abort();                                                                                       \
                }                                                                                                      \
        } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cnr_snapmeta m, again;
        struct cnr_err *err = NULL;
        const char *k;
        json_t *v, *doc;
        char *s;

        if (cnr_snapmeta_parse((const char *)data, size, &m, &err) < 0) {
                CHECK(err != NULL && err->code != 0 && err->msg && err->msg[0]);
                CHECK(size <= CNR_SNAPMETA_MAX || err->code == EFBIG);
                CHECK(m.labels == NULL && m.parents == NULL && m.name == NULL);
                cnr_err_free(&err);
                return 0;
        }
        CHECK(size <= CNR_SNAPMETA_MAX);
        CHECK(cnr_snapmeta_diff_id_valid(m.diff_id));
        CHECK(json_object_size(m.labels) <= CNR_SNAPMETA_MAX_LABELS);
        json_object_foreach(m.labels, k, v)
        {
                CHECK(strncmp(k, CNR_SNAPMETA_RESERVED, strlen(CNR_SNAPMETA_RESERVED)) != 0);
                CHECK(json_is_string(v));
        }
        CHECK(m.nparents <= CNR_SNAPMETA_MAX_PARENTS);
        for (size_t i = 0; i < m.nparents; i++) {
                CHECK(m.parents[i].name && m.parents[i].name[0]);
                CHECK(m.parents[i].diff_id[0] == '\0' || cnr_snapmeta_diff_id_valid(m.parents[i].diff_id));
        }
        doc = cnr_snapmeta_build(m.name, m.diff_id, m.labels, m.parents, m.nparents);
        s = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        CHECK(s != NULL);
        if (strlen(s) <= CNR_SNAPMETA_MAX) {
                CHECK(cnr_snapmeta_parse(s, strlen(s), &again, &err) == 0);
                CHECK(strcmp(again.diff_id, m.diff_id) == 0);
                CHECK(json_equal(again.labels, m.labels));
                CHECK(again.nparents == m.nparents && again.nignored == 0 && again.ndropped == 0);
                for (size_t i = 0; i < m.nparents; i++)
                        CHECK(strcmp(again.parents[i].name, m.parents[i].name) == 0);
                cnr_snapmeta_clear(&again);
        }
        cnr_err_free(&err);
        free(s);
        cnr_snapmeta_clear(&m);
        return 0;
}
