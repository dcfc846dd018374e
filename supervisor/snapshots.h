/* The snapshotter: containerd's snapshot semantics, metadata in the
 * supervisor's database (module "snapshots"), directories made by snapd,
 * mounts performed by mountd.
 *
 * Lifecycle (the containerd rules):
 *   - a snapshot is Active (writable, from Prepare), View (read-only, from
 *     View) or Committed (from Commit of an Active one);
 *   - keys share one namespace: an active or view key never equals a
 *     committed name, and no two snapshots have the same key;
 *   - Prepare and View take a parent that is Committed, or none ("");
 *   - Commit(name, key) turns Active `key` into Committed `name` with the
 *     same parent; the key is gone afterwards; a View cannot be committed;
 *   - Remove works on any kind but only on leaves: a snapshot that is the
 *     parent of another fails with "cannot remove snapshot with child";
 *   - Update changes labels only (all of them, or labels.<k> one by one);
 *   - Mounts describe, as data, what mountd must build: no parent -> a bind
 *     of the snapshot's own fs (read-only for a view); a view of one parent
 *     -> a read-only bind of the parent; otherwise an overlay with lowers
 *     nearest first and, for an active snapshot, its own upper/work.
 *
 * Each snapshot has a numeric id that names its directory
 * (<snapshot-root>/overlay2/<id>) and survives commit.  Crash safety: an id
 * is allocated (and never reused), snapd makes the directory, then the
 * metadata row is written; Remove deletes the row, then asks snapd to
 * remove the directory.  A crash between the steps leaves a directory
 * without metadata, which cnr_snap_reconcile() (run at start-up) removes;
 * metadata whose directory is gone is deleted when it is a leaf and
 * marked missing otherwise; active snapshots left by an interrupted
 * unpack (keys starting "extract-") are removed.
 *
 * Calls that only read or write metadata are synchronous; those that need
 * snapd or mountd are asynchronous and call back exactly once. */
#ifndef CNR_SNAPSHOTS_H
#define CNR_SNAPSHOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "ipc/peer.h"
#include "supervisor/db.h"

enum cnr_snap_kind {
        CNR_SNAP_UNKNOWN = 0,
        CNR_SNAP_VIEW = 1,
        CNR_SNAP_ACTIVE = 2,
        CNR_SNAP_COMMITTED = 3,
};
const char *cnr_snap_kind_name(enum cnr_snap_kind k); /* "View", "Active", "Committed" */

struct cnr_snap_info {
        char *name;   /* key or committed name */
        char *parent; /* committed parent's name, "" for none */
        enum cnr_snap_kind kind;
        json_t *labels;           /* object of strings; owned */
        int64_t created, updated; /* unix nanoseconds */
        char id[24];              /* directory id */
        bool missing;             /* its directory vanished (reconcile) */
        char diff_id[80];         /* recorded at commit (unpack, import); "" if never */
};
void cnr_snap_info_clear(struct cnr_snap_info *i);

/* What mountd must build (MountSnapshot). */
struct cnr_snap_mounts {
        char upper[24]; /* "" for none */
        char **lower;   /* ids, nearest parent first */
        size_t nlower;
        bool read_only;
};
void cnr_snap_mounts_clear(struct cnr_snap_mounts *m);

/* How the snapshotter reaches snapd and mountd (the supervisor's
 * sup_helper_request_fds, or a test's own channels). */
typedef int (*cnr_snap_request_fn)(void *arg, int helper, uint16_t type, const ProtobufCMessage *msg, const int *fds,
                                   size_t nfds, unsigned timeout_ms, cnr_reply_cb cb, void *cbarg,
                                   struct cnr_err **err);

struct cnr_snapshotter;

int cnr_snapshotter_open(struct cnr_db *db, cnr_snap_request_fn request, void *arg, struct cnr_snapshotter **out,
                         struct cnr_err **err);
void cnr_snapshotter_close(struct cnr_snapshotter *ss); /* NULL is fine */

/* ---- metadata only (synchronous) ---- */
int cnr_snap_stat(struct cnr_snapshotter *ss, const char *key, struct cnr_snap_info *out, struct cnr_err **err);
/* fieldpaths: NULL/0 = replace all labels; "labels" likewise; "labels.K"
 * sets or (absent in info) deletes K; anything else EINVAL. */
int cnr_snap_update(struct cnr_snapshotter *ss, const char *key, json_t *labels, const char *const *fieldpaths,
                    size_t nfieldpaths, struct cnr_snap_info *out, struct cnr_err **err);
/* Filters as containerd's: each string an AND of `field==v`, `field!=v` or
 * `field` (presence), fields name, parent, kind, labels.K (K may be
 * quoted); the strings are OR'ed; none = all.  cb returns < 0 to stop. */
int cnr_snap_walk(struct cnr_snapshotter *ss, const char *const *filters, size_t nfilters,
                  int (*cb)(const struct cnr_snap_info *info, void *arg), void *arg, struct cnr_err **err);
int cnr_snap_mounts(struct cnr_snapshotter *ss, const char *key, struct cnr_snap_mounts *out, struct cnr_err **err);
/* labels: NULL keeps none (containerd: new labels replace the active's). */
int cnr_snap_commit(struct cnr_snapshotter *ss, const char *name, const char *key, json_t *labels,
                    struct cnr_err **err);

/* ---- with snapd / mountd (asynchronous) ---- */
typedef void (*cnr_snap_done_fn)(struct cnr_err *err, void *arg);
int cnr_snap_prepare(struct cnr_snapshotter *ss, const char *key, const char *parent, json_t *labels,
                     cnr_snap_done_fn cb, void *arg, struct cnr_err **err);
int cnr_snap_view(struct cnr_snapshotter *ss, const char *key, const char *parent, json_t *labels, cnr_snap_done_fn cb,
                  void *arg, struct cnr_err **err);
int cnr_snap_remove(struct cnr_snapshotter *ss, const char *key, cnr_snap_done_fn cb, void *arg, struct cnr_err **err);

typedef void (*cnr_snap_usage_fn)(struct cnr_err *err, uint64_t size, uint64_t inodes, void *arg);
int cnr_snap_usage(struct cnr_snapshotter *ss, const char *key, cnr_snap_usage_fn cb, void *arg, struct cnr_err **err);

struct cnr_snap_applied {
        char diff_id[136];
        uint64_t tar_size, entries;
};
typedef void (*cnr_snap_applied_fn)(struct cnr_err *err, const struct cnr_snap_applied *a, void *arg);
/* Apply the layer blob (fd, not consumed) into Active `key`. 0 limits: snapd's defaults. */
int cnr_snap_apply(struct cnr_snapshotter *ss, const char *key, int blobfd, uint64_t max_bytes, uint64_t max_entries,
                   cnr_snap_applied_fn cb, void *arg, struct cnr_err **err);

/* The changes of `key` (Active or Committed) against its parents as an
 * OCI layer tar, made by snapd from the snapshot's upper dir (overlay
 * whiteouts and opaque dirs become OCI markers; the same tree always gives
 * the same bytes).  outfd (not consumed): a regular file or memfd open for
 * writing, compressed with gzip; -1 computes only the diff_id. */
struct cnr_snap_diffed {
        char diff_id[80]; /* sha256 of the uncompressed tar */
        uint64_t tar_size, entries, bytes;
};
typedef void (*cnr_snap_diffed_fn)(struct cnr_err *err, const struct cnr_snap_diffed *d, void *arg);
int cnr_snap_diff(struct cnr_snapshotter *ss, const char *key, int outfd, bool gzip, cnr_snap_diffed_fn cb, void *arg,
                  struct cnr_err **err);
/* Record the diff_id of committed `name` (what cnr_snap_diff gives now). */
int cnr_snap_set_diff_id(struct cnr_snapshotter *ss, const char *name, const char *diff_id, struct cnr_err **err);

/* A detached mount fd of `key` from mountd (the callee owns fd >= 0). */
typedef void (*cnr_snap_mount_fn)(struct cnr_err *err, int fd, void *arg);
int cnr_snap_mount(struct cnr_snapshotter *ss, const char *key, cnr_snap_mount_fn cb, void *arg, struct cnr_err **err);
/* The same without syncs of the upper (overlayfs volatile, mountd's
 * no_sync): what is written does not survive a crash of the host.  For a
 * container that is removed when it exits (run --rm). */
int cnr_snap_mount_no_sync(struct cnr_snapshotter *ss, const char *key, cnr_snap_mount_fn cb, void *arg,
                           struct cnr_err **err);
/* The same with the lower layers idmapped through the user namespace
 * `userns_fd` (the monitor's MakeUserns; not consumed): image files owned
 * by id N show as the host id N maps to.  A snapshot without lower layers
 * (a volume) is an idmapped bind of its directory: what is stored with id
 * N shows as that host id, and what the container writes is stored with
 * its own ids. */
int cnr_snap_mount_idmapped(struct cnr_snapshotter *ss, const char *key, int userns_fd, cnr_snap_mount_fn cb,
                            void *arg, struct cnr_err **err);

/* Start-up: sweep directories without metadata, repair metadata without
 * directories, drop interrupted unpacks.  *report counts (may be NULL). */
struct cnr_snap_reconcile_report {
        unsigned orphan_dirs, missing_deleted, missing_marked, extracts_removed;
};
typedef void (*cnr_snap_reconcile_fn)(struct cnr_err *err, const struct cnr_snap_reconcile_report *r, void *arg);
int cnr_snap_reconcile(struct cnr_snapshotter *ss, cnr_snap_reconcile_fn cb, void *arg, struct cnr_err **err);

/* GC: remove (metadata now, directories asynchronously) every committed
 * snapshot no `keep` name reaches through parents and every leaf that is
 * not Active or View.  keep: names (chain ids) still wanted. */
int cnr_snap_gc(struct cnr_snapshotter *ss, const char *const *keep, size_t nkeep,
                void (*removed)(const char *name, void *arg), void *arg, struct cnr_err **err);

#endif
