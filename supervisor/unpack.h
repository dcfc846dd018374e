/* Unpack a stored image into snapshots (the containerd unpack workflow).
 *
 * For layer i (base first) the snapshot name is the OCI chainID:
 * ChainID(L0) = DiffID(L0), ChainID(L0..i) = sha256(ChainID(L0..i-1) + " " +
 * DiffID(Li)).  A chain already committed is skipped; otherwise
 * Prepare("extract-<n>-<chainID hex>", parent chainID), snapd applies the
 * layer blob (an fd from the content store), the diff_id it computed must
 * equal the config's (a mismatch, EBADMSG, fails the unpack and the active snapshot
 * is removed), then Commit(chainID).  Two unpacks racing on the same chain
 * both succeed: the second commit finds the name taken and drops its copy.
 * An unpack interrupted by a crash leaves an `extract-` active snapshot,
 * which start-up reconciliation removes; nothing partial is ever
 * committed.
 *
 * Called by the image code after cnr_images_store (pull, load, import). */
#ifndef CNR_UNPACK_H
#define CNR_UNPACK_H

#include "common/digest.h"
#include "common/err.h"
#include "supervisor/content.h"
#include "supervisor/images.h"
#include "supervisor/snapshots.h"

/* out[i] = ChainID of layers 0..i. */
void cnr_chain_ids(const struct cnr_digest *diff_ids, size_t n, struct cnr_digest *out);

/* top: the chainID of the image's top layer ("" for an image without
 * layers), valid during the callback only. */
typedef void (*cnr_unpack_done_fn)(struct cnr_err *err, const char *top, void *arg);

/* Copies what it needs from img; cb is called exactly once (possibly
 * before this returns 0 when every layer is already unpacked). */
int cnr_unpack(struct cnr_snapshotter *ss, struct cnr_content *content, const struct cnr_image *img,
               cnr_unpack_done_fn cb, void *arg, struct cnr_err **err);

/* The GC hook for cnr_images_add_gc_hook: keeps every image's chain (and,
 * through parents, the layers under it) and every active snapshot and
 * view; arg is the snapshotter. */
int cnr_unpack_gc_hook(void *arg, struct cnr_images *im, struct cnr_gc_report *rep, struct cnr_err **err);

#endif
