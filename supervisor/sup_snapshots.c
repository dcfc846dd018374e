/* The snapshotter in containrd: opened with the database, reached through
 * the helper channels, reconciled when snapd first says HELLO (before that
 * no snapshot work can run), GC'd with the images, and unpacking images
 * after a pull, load or import.  See snapshots.h and unpack.h. */
#include "config.h"

#include <errno.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/util.h"
#include "supervisor/sup.h"
#include "supervisor/unpack.h"

static int
request(void *arg, int helper, uint16_t type, const ProtobufCMessage *msg, const int *fds, size_t nfds,
        unsigned timeout_ms, cnr_reply_cb cb, void *cbarg, struct cnr_err **err)
{
        return sup_helper_request_fds(arg, helper, type, msg, fds, nfds, timeout_ms, cb, cbarg, err);
}

int
sup_snapshots_start(struct sup *s, struct cnr_err **err)
{
        if (cnr_snapshotter_open(s->db, request, s, &s->snaps, err) < 0)
                return -1;
        cnr_images_add_gc_hook(s->images, "snapshots", cnr_unpack_gc_hook, s->snaps);
        return 0;
}

void
sup_snapshots_stop(struct sup *s)
{
        cnr_snapshotter_close(s->snaps);
        s->snaps = NULL;
}

static void
on_reconciled(struct cnr_err *err, const struct cnr_snap_reconcile_report *r, void *arg)
{
        struct sup *s = arg;

        if (err) {
                /* Try again when snapd next comes up. */
                s->snaps_reconciled = false;
                log_warn("snapshot reconciliation: %s", cnr_err_str(err));
                cnr_audit_event("snapshot_reconcile", "allow", NULL, err->code, cnr_err_str(err));
                return;
        }
        log_info("snapshots reconciled: %u orphan directories swept, %u lost snapshots forgotten, %u marked "
                 "missing, %u interrupted unpacks removed",
                 r->orphan_dirs, r->missing_deleted, r->missing_marked, r->extracts_removed);
        cnr_audit_event("snapshot_reconcile", "allow",
                        json_pack("{s:i,s:i,s:i,s:i}", "orphan_dirs", (int)r->orphan_dirs, "missing_deleted",
                                  (int)r->missing_deleted, "missing_marked", (int)r->missing_marked, "extracts_removed",
                                  (int)r->extracts_removed),
                        0, NULL);
}

void
sup_snapshots_helper_up(struct sup *s, int id)
{
        struct cnr_err *err = NULL;

        if (id != CNR_HELPER_SNAPD || s->snaps == NULL || s->snaps_reconciled)
                return;
        s->snaps_reconciled = true;
        if (cnr_snap_reconcile(s->snaps, on_reconciled, s, &err) < 0) {
                s->snaps_reconciled = false;
                log_warn("snapshot reconciliation: %s", cnr_err_str(err));
                cnr_err_free(&err);
        }
}

static void
on_unpacked(struct cnr_err *err, const char *top, void *arg)
{
        char *id = arg;

        if (err) {
                log_warn("unpack image %s: %s", id, cnr_err_str(err));
                cnr_audit_event("image_unpack", "allow", json_pack("{s:s}", "id", id), err->code, cnr_err_str(err));
        } else {
                log_info("image %s unpacked: snapshot %s", id, top[0] ? top : "(no layers)");
                cnr_audit_event("image_unpack", "allow", json_pack("{s:s,s:s}", "id", id, "snapshot", top), 0, NULL);
        }
        free(id);
}

void
sup_unpack(struct sup *s, const char *ref_or_id)
{
        struct cnr_image *img = NULL;
        struct cnr_err *err = NULL;
        char *id;

        if (s->snaps == NULL)
                return;
        if (cnr_images_get(s->images, ref_or_id, &img, &err) < 0) {
                log_warn("unpack `%s`: %s", ref_or_id, cnr_err_str(err));
                cnr_err_free(&err);
                return;
        }
        id = xstrdup(img->id.str);
        if (cnr_unpack(s->snaps, s->content, img, on_unpacked, id, &err) < 0) {
                log_warn("unpack image %s: %s", id, cnr_err_str(err));
                cnr_err_free(&err);
                free(id);
        }
        cnr_image_free(img);
}
