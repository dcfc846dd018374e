/* API handlers for snapshots (request cases 45-49, 90-91 of
 * ipc/api.proto): `containr snapshot ls/inspect/rm/diff/export/import/
 * verify`.  The rules are the snapshotter's (snapshots.h); snapd makes and
 * reads the directories.  Files come from the CLI as fds it opened with
 * the operator's credentials: containrd never opens a path the operator
 * names.
 *
 * Import (THREATS.md 23): the archive is read with libarchive as a stream
 * of entries and nothing in it is ever written to or resolved on the
 * host.  Only `snapshot.json` (first, a regular file, size-capped, parsed
 * by snapmeta.c) and `layer.tar` (a regular file) are read; every other
 * member -- a `container.log` symlink to /etc/shadow, a config.json, hooks
 * -- is skipped unread and listed in the reply and the audit record.  The
 * layer enters the content store verified against the snapshot.json's
 * diff_id, snapd applies it into a fresh active snapshot with all of its
 * defenses and limits, the diff_id it computed is checked again, and only
 * then is the snapshot committed under the operator's name.  Import never
 * touches the image store: no image, no tag.  A failure removes the
 * active snapshot and a blob the import brought in. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/api.h"
#include "supervisor/api_snapshots.h"
#include "supervisor/snapmeta.h"

#define MAX_IGNORED 32
#define IMPORT_KEY_PREFIX "import-"

struct pending {
        struct sup *s;
        uint64_t client;
        uint32_t reqid;
        const char *op;
        uint64_t t0;
        json_t *args;
        int fd;    /* the client's fd (diff, export), or a staging memfd */
        int outfd; /* export: the client's archive */
        char *key;
        json_t *info; /* inspect: the answer so far */
        /* import */
        struct cnr_snapmeta meta;
        char active[200];
        char *name;
        struct cnr_digest blob;
        bool blob_new;
        int blobfd;
        char own_diff[80];
        struct cnr_err *failure;
};

static struct pending *
pending_new(struct sup_client *c, uint32_t reqid, const char *op, json_t *args)
{
        struct pending *p = xcalloc(1, sizeof(*p));

        p->s = sup_client_sup(c);
        p->client = sup_client_id(c);
        p->reqid = reqid;
        p->op = op;
        p->t0 = cnr_now_us();
        p->args = args ? args : json_object();
        p->fd = p->outfd = p->blobfd = -1;
        return p;
}

static void
pending_free(struct pending *p)
{
        if (p->fd >= 0)
                close(p->fd);
        if (p->outfd >= 0)
                close(p->outfd);
        if (p->blobfd >= 0)
                close(p->blobfd);
        free(p->key);
        free(p->name);
        json_decref(p->info);
        json_decref(p->args);
        cnr_snapmeta_clear(&p->meta);
        cnr_err_free(&p->failure);
        free(p);
}

static void
pending_fail(struct pending *p, struct cnr_err *err)
{
        struct sup_client *c = sup_client_find(p->s, p->client);

        if (c)
                sup_client_fail(c, p->reqid, p->op, json_incref(p->args), err, p->t0);
}

static void
pending_done(struct pending *p, Cnr__Api__Reply *env, const int *fds, size_t nfds)
{
        struct sup_client *c = sup_client_find(p->s, p->client);

        if (c) {
                sup_client_reply(c, env, p->reqid, fds, nfds);
                sup_client_audit(c, p->op, p->reqid, json_incref(p->args), 0, NULL, p->t0);
        }
}

/* The end of a request that failed before its work was under way: answer
 * and audit "what: cause", then free the error and the request. */
static void
pending_abort(struct pending *p, struct cnr_err **err, const char *what)
{
        cnr_err_wrap(err, "%s", what);
        pending_fail(p, *err);
        cnr_err_free(err);
        pending_free(p);
}

/* containrd may run without a snapshotter: true with *err set then. */
static bool
no_snapshotter(struct sup *s, struct cnr_err **err)
{
        if (s->snaps != NULL)
                return false;
        cnr_errf(err, ENOTSUP, "no snapshotter");
        return true;
}

/* A regular file (or memfd) the CLI opened: for writing, or reading. */
static int
check_fd(int fd, bool write, const char *what, struct cnr_err **err)
{
        struct stat st;
        int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;

        if (fl < 0 || fstat(fd, &st) < 0)
                return cnr_errf(err, EBADF, "%s: no usable file descriptor", what);
        if (!S_ISREG(st.st_mode))
                return cnr_errf(err, EINVAL, "%s: the passed file descriptor is not a regular file", what);
        if (write && (fl & O_ACCMODE) == O_RDONLY)
                return cnr_errf(err, EBADF, "%s: the passed file descriptor is not open for writing", what);
        if (!write && (fl & O_ACCMODE) == O_WRONLY)
                return cnr_errf(err, EBADF, "%s: the passed file descriptor is not open for reading", what);
        return 0;
}

static void
rfc3339(int64_t ns, char *buf, size_t n)
{
        time_t t = (time_t)(ns / 1000000000);
        struct tm tm;

        gmtime_r(&t, &tm);
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, ns % 1000000000);
}

static json_t *
info_json(const struct cnr_snap_info *i)
{
        char created[64], updated[64];

        rfc3339(i->created, created, sizeof(created));
        rfc3339(i->updated, updated, sizeof(updated));
        return json_pack("{s:s,s:s,s:s,s:O,s:s,s:s,s:s,s:s,s:b}", "Name", i->name, "Parent", i->parent, "Kind",
                         cnr_snap_kind_name(i->kind), "Labels", i->labels, "Created", created, "Updated", updated, "Id",
                         i->id, "DiffID", i->diff_id, "Missing", i->missing);
}

/* ---- ls ---- */

static int
add_info(const struct cnr_snap_info *i, void *arg)
{
        json_array_append_new(arg, info_json(i));
        return 0;
}

void
sup_api_snapshot_list(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__SnapshotList *q = ((Cnr__Api__Request *)m)->snapshot_list;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__SnapshotJsonReply r = CNR__API__SNAPSHOT_JSON_REPLY__INIT;
        json_t *arr = json_array(), *args = json_pack("{s:[]}", "filters");
        struct cnr_err *err = NULL;
        uint64_t t0 = cnr_now_us();
        int fd;

        (void)peer;
        for (size_t i = 0; i < q->n_filters; i++)
                json_array_append_new(json_object_get(args, "filters"), json_string(q->filters[i]));
        if (s->snaps == NULL) {
                cnr_errf(&err, ENOTSUP, "snapshots: no snapshotter");
        } else if (cnr_snap_walk(s->snaps, (const char *const *)q->filters, q->n_filters, add_info, arr, &err) == 0 &&
                   (fd = sup_client_json_memfd(arr, "containr-snapshots", &err)) >= 0) {
                r.count = (uint32_t)json_array_size(arr);
                env.msg_case = CNR__API__REPLY__MSG_SNAPSHOT_LIST;
                env.snapshot_list = &r;
                sup_client_reply(c, &env, f->reqid, &fd, 1);
                sup_client_audit(c, "snapshot_list", f->reqid, args, 0, NULL, t0);
                close(fd);
                json_decref(arr);
                return;
        }
        cnr_err_wrap(&err, "snapshot ls");
        sup_client_fail(c, f->reqid, "snapshot_list", args, err, cnr_now_us());
        cnr_err_free(&err);
        json_decref(arr);
}

/* ---- inspect ---- */

static void
on_inspect_usage(struct cnr_err *err, uint64_t size, uint64_t inodes, void *arg)
{
        struct pending *p = arg;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__SnapshotJsonReply r = CNR__API__SNAPSHOT_JSON_REPLY__INIT;
        struct cnr_err *e = NULL;
        int fd;

        if (err)
                json_object_set_new(p->info, "Usage", json_pack("{s:s}", "Error", cnr_err_str(err)));
        else
                json_object_set_new(p->info, "Usage",
                                    json_pack("{s:I,s:I}", "Size", (json_int_t)size, "Inodes", (json_int_t)inodes));
        fd = sup_client_json_memfd(p->info, "containr-snapshots", &e);
        if (fd < 0) {
                pending_fail(p, e);
                cnr_err_free(&e);
        } else {
                r.count = 1;
                env.msg_case = CNR__API__REPLY__MSG_SNAPSHOT_INSPECT;
                env.snapshot_inspect = &r;
                pending_done(p, &env, &fd, 1);
                close(fd);
        }
        pending_free(p);
}

void
sup_api_snapshot_inspect(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__SnapshotInspect *q = ((Cnr__Api__Request *)m)->snapshot_inspect;
        struct pending *p = pending_new(c, f->reqid, "snapshot_inspect", json_pack("{s:s}", "key", q->key));
        struct cnr_snap_info i;
        struct cnr_err *err = NULL;

        (void)peer;
        if (no_snapshotter(s, &err))
                goto fail;
        if (cnr_snap_stat(s->snaps, q->key, &i, &err) < 0)
                goto fail;
        p->info = info_json(&i);
        cnr_snap_info_clear(&i);
        /* A view has no tree of its own to count; a missing one none at all. */
        if (json_is_true(json_object_get(p->info, "Missing")) ||
            strcmp(json_string_value(json_object_get(p->info, "Kind")), "View") == 0) {
                on_inspect_usage(NULL, 0, 0, p);
                return;
        }
        if (cnr_snap_usage(s->snaps, q->key, on_inspect_usage, p, &err) < 0)
                goto fail;
        return;
fail:
        pending_abort(p, &err, "snapshot inspect");
}

/* ---- rm ---- */

static void
on_removed(struct cnr_err *err, void *arg)
{
        struct pending *p = arg;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__SnapshotRemoveReply r = CNR__API__SNAPSHOT_REMOVE_REPLY__INIT;

        if (err) {
                pending_fail(p, err);
        } else {
                r.key = p->key;
                env.msg_case = CNR__API__REPLY__MSG_SNAPSHOT_REMOVE;
                env.snapshot_remove = &r;
                pending_done(p, &env, NULL, 0);
        }
        pending_free(p);
}

void
sup_api_snapshot_remove(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__SnapshotRemove *q = ((Cnr__Api__Request *)m)->snapshot_remove;
        struct pending *p = pending_new(c, f->reqid, "snapshot_remove", json_pack("{s:s}", "key", q->key));
        struct cnr_err *err = NULL;

        (void)peer;
        p->key = xstrdup(q->key);
        if (!no_snapshotter(s, &err) && cnr_snap_remove(s->snaps, q->key, on_removed, p, &err) >= 0)
                return;
        pending_abort(p, &err, "snapshot rm");
}

/* ---- diff ---- */

static void
diff_reply(struct pending *p, const struct cnr_snap_diffed *d, bool export, uint64_t bytes)
{
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__SnapshotDiffReply r = CNR__API__SNAPSHOT_DIFF_REPLY__INIT;

        r.diff_id = (char *)d->diff_id;
        r.tar_size = d->tar_size;
        r.entries = d->entries;
        r.bytes = bytes;
        json_object_set_new(p->args, "diff_id", json_string(d->diff_id));
        json_object_set_new(p->args, "entries", json_integer((json_int_t)d->entries));
        if (export) {
                env.msg_case = CNR__API__REPLY__MSG_SNAPSHOT_EXPORT;
                env.snapshot_export = &r;
        } else {
                env.msg_case = CNR__API__REPLY__MSG_SNAPSHOT_DIFF;
                env.snapshot_diff = &r;
        }
        pending_done(p, &env, NULL, 0);
}

static void
on_diffed(struct cnr_err *err, const struct cnr_snap_diffed *d, void *arg)
{
        struct pending *p = arg;

        if (err)
                pending_fail(p, err);
        else
                diff_reply(p, d, false, d->bytes);
        pending_free(p);
}

void
sup_api_snapshot_diff(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__SnapshotDiff *q = ((Cnr__Api__Request *)m)->snapshot_diff;
        struct pending *p =
                pending_new(c, f->reqid, "snapshot_diff", json_pack("{s:s,s:b}", "key", q->key, "gzip", q->gzip));
        struct cnr_err *err = NULL;

        (void)peer;
        p->fd = f->fds[0];
        f->fds[0] = -1;
        if (!no_snapshotter(s, &err) && check_fd(p->fd, true, "diff", &err) == 0 &&
            cnr_snap_diff(s->snaps, q->key, p->fd, q->gzip, on_diffed, p, &err) >= 0)
                return;
        pending_abort(p, &err, "snapshot diff");
}

/* ---- export ---- */

static int
write_member(struct archive *ar, const char *name, int64_t size, struct cnr_err **err)
{
        struct archive_entry *e = archive_entry_new();
        int r;

        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, size);
        archive_entry_set_mtime(e, 0, 0);
        r = archive_write_header(ar, e);
        archive_entry_free(e);
        return r == ARCHIVE_OK ? 0 : cnr_errf(err, EIO, "write `%s`: %s", name, archive_error_string(ar));
}

/* snapshot.json, then layer.tar from the staging fd, into the client's. */
static int
write_export(struct pending *p, const char *json, int64_t layer_size, uint64_t *bytes, struct cnr_err **err)
{
        struct archive *ar = archive_write_new();
        static char buf[1 << 16];
        int64_t left = layer_size;
        struct stat st;
        int ret = -1;

        if (ar == NULL)
                return cnr_errf(err, ENOMEM, "libarchive");
        if (archive_write_set_format_pax_restricted(ar) != ARCHIVE_OK ||
            archive_write_open_fd(ar, p->outfd) != ARCHIVE_OK) {
                cnr_errf(err, EIO, "start the archive: %s", archive_error_string(ar));
                goto out;
        }
        if (write_member(ar, "snapshot.json", (int64_t)strlen(json), err) < 0)
                goto out;
        if (archive_write_data(ar, json, strlen(json)) < 0) {
                cnr_errf(err, EIO, "write snapshot.json: %s", archive_error_string(ar));
                goto out;
        }
        if (write_member(ar, "layer.tar", layer_size, err) < 0)
                goto out;
        if (lseek(p->fd, 0, SEEK_SET) < 0) {
                cnr_errf(err, errno, "rewind the staged layer");
                goto out;
        }
        while (left > 0) {
                ssize_t n = read(p->fd, buf, left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf));
                if (n <= 0) {
                        cnr_errf(err, n < 0 ? errno : EIO, "read the staged layer");
                        goto out;
                }
                if (archive_write_data(ar, buf, (size_t)n) < 0) {
                        cnr_errf(err, EIO, "write layer.tar: %s", archive_error_string(ar));
                        goto out;
                }
                left -= n;
        }
        if (archive_write_close(ar) != ARCHIVE_OK) {
                cnr_errf(err, EIO, "finish the archive: %s", archive_error_string(ar));
                goto out;
        }
        *bytes = fstat(p->outfd, &st) == 0 ? (uint64_t)st.st_size : 0;
        ret = 0;
out:
        archive_write_free(ar);
        return ret;
}

static void
on_export_diffed(struct cnr_err *err, const struct cnr_snap_diffed *d, void *arg)
{
        struct pending *p = arg;
        struct cnr_snap_parent_list {
                struct cnr_snapmeta_parent *v;
                size_t n;
        } pl = {0};
        struct cnr_snap_info i;
        struct cnr_err *e = NULL;
        _cleanup_free_ char *json = NULL;
        json_t *doc = NULL;
        uint64_t bytes = 0;

        if (err) {
                pending_fail(p, err);
                goto out;
        }
        if (p->s->snaps == NULL || cnr_snap_stat(p->s->snaps, p->key, &i, &e) < 0) {
                cnr_errf(&e, ENOENT, "export `%s`: the snapshot went away", p->key);
                goto fail;
        }
        /* The parent chain, nearest first, with the diff_ids recorded. */
        {
                char *parent = xstrdup(i.parent);
                while (parent[0] != '\0' && pl.n < CNR_SNAPMETA_MAX_PARENTS) {
                        struct cnr_snap_info pi;
                        if (cnr_snap_stat(p->s->snaps, parent, &pi, &e) < 0) {
                                free(parent);
                                cnr_snap_info_clear(&i);
                                goto fail;
                        }
                        pl.v = xrealloc(pl.v, (pl.n + 1) * sizeof(*pl.v));
                        pl.v[pl.n].name = parent;
                        snprintf(pl.v[pl.n].diff_id, sizeof(pl.v[pl.n].diff_id), "%s", pi.diff_id);
                        pl.n++;
                        parent = xstrdup(pi.parent);
                        cnr_snap_info_clear(&pi);
                }
                free(parent);
        }
        doc = cnr_snapmeta_build(i.name, d->diff_id, i.labels, pl.v, pl.n);
        cnr_snap_info_clear(&i);
        json = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (json == NULL || strlen(json) > CNR_SNAPMETA_MAX) {
                cnr_errf(&e, EFBIG, "export `%s`: snapshot.json would be larger than %d bytes", p->key,
                         CNR_SNAPMETA_MAX);
                goto fail;
        }
        if (write_export(p, json, (int64_t)d->tar_size, &bytes, &e) < 0)
                goto fail;
        diff_reply(p, d, true, bytes);
        goto out;
fail:
        cnr_err_wrap(&e, "snapshot export");
        pending_fail(p, e);
        cnr_err_free(&e);
out:
        json_decref(doc);
        for (size_t k = 0; k < pl.n; k++)
                free(pl.v[k].name);
        free(pl.v);
        pending_free(p);
}

void
sup_api_snapshot_export(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__SnapshotExport *q = ((Cnr__Api__Request *)m)->snapshot_export;
        struct pending *p = pending_new(c, f->reqid, "snapshot_export", json_pack("{s:s}", "key", q->key));
        struct cnr_snap_info i;
        struct cnr_err *err = NULL;

        (void)peer;
        p->outfd = f->fds[0];
        f->fds[0] = -1;
        p->key = xstrdup(q->key);
        if (no_snapshotter(s, &err))
                goto fail;
        if (check_fd(p->outfd, true, "export", &err) < 0 || cnr_snap_stat(s->snaps, q->key, &i, &err) < 0)
                goto fail;
        if (i.kind != CNR_SNAP_COMMITTED) {
                cnr_errf(&err, EINVAL, "`%s` is a %s snapshot: only committed snapshots are exported", q->key,
                         cnr_snap_kind_name(i.kind));
                cnr_snap_info_clear(&i);
                goto fail;
        }
        cnr_snap_info_clear(&i);
        /* The layer is staged, since the archive's header needs its size
         * before its bytes (docs/snapshots.md: known limits). */
        p->fd = memfd_create("containr-export", MFD_CLOEXEC);
        if (p->fd < 0) {
                cnr_errf(&err, errno, "memfd_create");
                goto fail;
        }
        if (cnr_snap_diff(s->snaps, q->key, p->fd, false, on_export_diffed, p, &err) >= 0)
                return;
fail:
        pending_abort(p, &err, "snapshot export");
}

/* ---- import ---- */

static void import_fail(struct pending *p, struct cnr_err *err);

static void
import_cleanup_done(struct cnr_err *err, void *arg)
{
        struct pending *p = arg;
        struct cnr_err *e = NULL;

        if (err)
                log_warn("snapshot import: removing `%s`: %s", p->active, cnr_err_str(err));
        if (p->blob_new && cnr_content_delete(p->s->content, &p->blob, &e) < 0) {
                log_warn("snapshot import: removing blob %s: %s", p->blob.str, cnr_err_str(e));
                cnr_err_free(&e);
        }
        pending_fail(p, p->failure);
        pending_free(p);
}

/* Undo: the active snapshot (when made), the blob (when new), then answer. */
static void
import_fail(struct pending *p, struct cnr_err *err)
{
        struct cnr_err *e = NULL;

        cnr_errf(&p->failure, err && err->code ? err->code : EIO, "snapshot import `%s`: %s", p->name,
                 err ? err->msg : "failed");
        if (p->blobfd >= 0) {
                close(p->blobfd);
                p->blobfd = -1;
        }
        if (p->active[0] && p->s->snaps && cnr_snap_remove(p->s->snaps, p->active, import_cleanup_done, p, &e) >= 0)
                return;
        cnr_err_free(&e);
        import_cleanup_done(NULL, p);
}

static void
import_reply(struct pending *p)
{
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__SnapshotImportReply r = CNR__API__SNAPSHOT_IMPORT_REPLY__INIT;
        json_t *ig = json_object_get(p->args, "ignored");
        char **names = xcalloc(json_array_size(ig) + 1, sizeof(char *));
        size_t i;
        json_t *v;

        json_array_foreach(ig, i, v) names[i] = (char *)json_string_value(v);
        r.name = p->name;
        r.diff_id = p->meta.diff_id;
        r.ignored = names;
        r.n_ignored = json_array_size(ig);
        r.dropped_labels = p->meta.dropped;
        r.n_dropped_labels = p->meta.ndropped;
        env.msg_case = CNR__API__REPLY__MSG_SNAPSHOT_IMPORT;
        env.snapshot_import = &r;
        pending_done(p, &env, NULL, 0);
        free(names);
}

static void
on_import_diffed(struct cnr_err *err, const struct cnr_snap_diffed *d, void *arg)
{
        struct pending *p = arg;
        struct cnr_err *e = NULL;

        if (err) {
                import_fail(p, err);
                return;
        }
        if (cnr_snap_commit(p->s->snaps, p->name, p->active, p->meta.labels, &e) < 0) {
                import_fail(p, e);
                cnr_err_free(&e);
                return;
        }
        p->active[0] = '\0'; /* committed: nothing to undo but the record */
        if (cnr_snap_set_diff_id(p->s->snaps, p->name, d->diff_id, &e) < 0) {
                log_warn("snapshot import: %s", cnr_err_str(e));
                cnr_err_free(&e);
        }
        json_object_set_new(p->args, "own_diff_id", json_string(d->diff_id));
        import_reply(p);
        pending_free(p);
}

static void
on_import_applied(struct cnr_err *err, const struct cnr_snap_applied *a, void *arg)
{
        struct pending *p = arg;
        struct cnr_err *e = NULL;

        close(p->blobfd);
        p->blobfd = -1;
        if (err) {
                import_fail(p, err);
                return;
        }
        if (strcmp(a->diff_id, p->meta.diff_id) != 0) {
                cnr_errf(&e, EBADMSG, "diff_id mismatch (snapshot.json says %s, the layer is %s)", p->meta.diff_id,
                         a->diff_id);
                import_fail(p, e);
                cnr_err_free(&e);
                return;
        }
        if (cnr_snap_diff(p->s->snaps, p->active, -1, false, on_import_diffed, p, &e) < 0) {
                import_fail(p, e);
                cnr_err_free(&e);
        }
}

static void
on_import_prepared(struct cnr_err *err, void *arg)
{
        struct pending *p = arg;
        struct cnr_err *e = NULL;

        if (err) {
                p->active[0] = '\0'; /* never made */
                import_fail(p, err);
                return;
        }
        p->blobfd = cnr_content_open_blob(p->s->content, &p->blob, &e);
        if (p->blobfd < 0 || cnr_snap_apply(p->s->snaps, p->active, p->blobfd, 0, 0, on_import_applied, p, &e) < 0) {
                import_fail(p, e);
                cnr_err_free(&e);
        }
}

/* snapshot.json, whole, from the current entry. */
static int
read_meta(struct archive *ar, struct archive_entry *e, struct pending *p, struct cnr_err **err)
{
        int64_t size = archive_entry_size(e);
        _cleanup_free_ char *buf = NULL;
        size_t got = 0;

        if (size < 0 || size > CNR_SNAPMETA_MAX)
                return cnr_errf(err, EFBIG, "snapshot.json: %lld bytes, more than %d", (long long)size,
                                CNR_SNAPMETA_MAX);
        buf = xmalloc((size_t)size + 1);
        while (got < (size_t)size) {
                la_ssize_t n = archive_read_data(ar, buf + got, (size_t)size - got);
                if (n < 0)
                        return cnr_errf(err, EINVAL, "read snapshot.json: %s", archive_error_string(ar));
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        if (got != (size_t)size)
                return cnr_errf(err, EINVAL, "snapshot.json: truncated");
        return cnr_snapmeta_parse(buf, got, &p->meta, err);
}

/* layer.tar into the content store, verified against snapshot.json. */
static int
read_layer(struct archive *ar, struct archive_entry *e, struct pending *p, struct cnr_err **err)
{
        int64_t size = archive_entry_size(e);
        struct cnr_ingest *in;
        struct cnr_digest got;
        static char buf[1 << 16];
        uint64_t present;
        bool was_there;
        la_ssize_t n;

        if (cnr_digest_parse(p->meta.diff_id, &p->blob, err) < 0)
                return -1;
        was_there = cnr_content_stat(p->s->content, &p->blob, &present, err) == 0;
        cnr_err_free(err);
        in = cnr_ingest_begin(p->s->content, &p->blob, size, err);
        if (in == NULL)
                return -1;
        while ((n = archive_read_data(ar, buf, sizeof(buf))) > 0) {
                if (cnr_ingest_write(in, buf, (size_t)n, err) < 0) {
                        cnr_ingest_abort(in);
                        return -1;
                }
        }
        if (n < 0) {
                cnr_ingest_abort(in);
                return cnr_errf(err, EINVAL, "read layer.tar: %s", archive_error_string(ar));
        }
        if (cnr_ingest_commit(in, &got, err) < 0)
                return cnr_err_wrap(err, "layer.tar");
        p->blob_new = !was_there;
        return 0;
}

static bool
plain_file(struct archive_entry *e)
{
        return archive_entry_filetype(e) == AE_IFREG && archive_entry_hardlink(e) == NULL &&
               archive_entry_symlink(e) == NULL;
}

/* Read the archive: 0 with meta parsed and the blob stored. */
static int
read_archive(struct pending *p, int fd, struct cnr_err **err)
{
        struct archive *ar = archive_read_new();
        struct archive_entry *e;
        json_t *ignored = json_array();
        bool have_meta = false, have_layer = false;
        int r, ret = -1;

        json_object_set_new(p->args, "ignored", ignored);
        if (ar == NULL)
                return cnr_errf(err, ENOMEM, "libarchive");
        /* tar only, no decompression filter: our archives are plain. */
        if (archive_read_support_format_tar(ar) != ARCHIVE_OK || archive_read_open_fd(ar, fd, 1 << 16) != ARCHIVE_OK) {
                cnr_errf(err, EINVAL, "open the archive: %s", archive_error_string(ar));
                goto out;
        }
        while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                const char *name = archive_entry_pathname(e);

                if (name && strcmp(name, "snapshot.json") == 0) {
                        if (have_meta) {
                                cnr_errf(err, EINVAL, "the archive has snapshot.json twice");
                                goto out;
                        }
                        if (!plain_file(e)) {
                                cnr_errf(err, EINVAL, "snapshot.json is not a regular file");
                                goto out;
                        }
                        if (read_meta(ar, e, p, err) < 0)
                                goto out;
                        have_meta = true;
                } else if (name && strcmp(name, "layer.tar") == 0) {
                        if (have_layer) {
                                cnr_errf(err, EINVAL, "the archive has layer.tar twice");
                                goto out;
                        }
                        if (!have_meta) {
                                cnr_errf(err, EINVAL, "layer.tar comes before snapshot.json");
                                goto out;
                        }
                        if (!plain_file(e)) {
                                cnr_errf(err, EINVAL, "layer.tar is not a regular file");
                                goto out;
                        }
                        if (read_layer(ar, e, p, err) < 0)
                                goto out;
                        have_layer = true;
                } else {
                        /* Skipped unread: never extracted, never followed. */
                        if (json_array_size(ignored) < MAX_IGNORED)
                                json_array_append_new(ignored, json_string(name ? name : "(no name)"));
                        if (archive_read_data_skip(ar) != ARCHIVE_OK) {
                                cnr_errf(err, EINVAL, "read the archive: %s", archive_error_string(ar));
                                goto out;
                        }
                }
        }
        if (r != ARCHIVE_EOF) {
                cnr_errf(err, EINVAL, "read the archive: %s", archive_error_string(ar));
                goto out;
        }
        if (!have_meta || !have_layer) {
                cnr_errf(err, EINVAL, "not a snapshot archive: no %s", have_meta ? "layer.tar" : "snapshot.json");
                goto out;
        }
        ret = 0;
out:
        archive_read_free(ar);
        return ret;
}

void
sup_api_snapshot_import(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__SnapshotImport *q = ((Cnr__Api__Request *)m)->snapshot_import;
        struct pending *p = pending_new(c, f->reqid, "snapshot_import",
                                        json_pack("{s:s,s:s}", "name", q->name, "parent", q->parent));
        struct cnr_snap_info i;
        struct cnr_err *err = NULL;
        const char *parent = q->parent;
        json_t *fields;
        static unsigned long long seq;

        (void)peer;
        p->name = xstrdup(q->name);
        if (no_snapshotter(s, &err))
                goto fail;
        if (q->name[0] == '\0' || strncmp(q->name, "extract-", 8) == 0 ||
            strncmp(q->name, IMPORT_KEY_PREFIX, strlen(IMPORT_KEY_PREFIX)) == 0 || strlen(q->name) > 1024) {
                cnr_errf(&err, EINVAL, "`%s`: not a name for a snapshot (empty, too long or a reserved prefix)",
                         q->name);
                goto fail;
        }
        if (cnr_snap_stat(s->snaps, q->name, &i, &err) == 0) {
                cnr_snap_info_clear(&i);
                cnr_errf(&err, EEXIST, "snapshot `%s` already exists", q->name);
                goto fail;
        }
        cnr_err_free(&err);
        if (check_fd(f->fds[0], false, "import", &err) < 0 || read_archive(p, f->fds[0], &err) < 0)
                goto fail_blob;
        fields = json_array();
        for (size_t k = 0; k < p->meta.nignored; k++)
                json_array_append_new(fields, json_string(p->meta.ignored[k]));
        json_object_set_new(p->args, "ignored_fields", fields);
        fields = json_array();
        for (size_t k = 0; k < p->meta.ndropped; k++)
                json_array_append_new(fields, json_string(p->meta.dropped[k]));
        json_object_set_new(p->args, "dropped_labels", fields);
        json_object_set_new(p->args, "diff_id", json_string(p->meta.diff_id));
        if (parent[0] == '\0' && p->meta.nparents > 0) {
                /* The exporter's parent, looked up by name among ours. */
                parent = p->meta.parents[0].name;
                if (cnr_snap_stat(s->snaps, parent, &i, &err) < 0) {
                        cnr_err_wrap(&err, "the archive's parent (give --parent)");
                        goto fail_blob;
                }
                if (p->meta.parents[0].diff_id[0] && i.diff_id[0] &&
                    strcmp(p->meta.parents[0].diff_id, i.diff_id) != 0) {
                        cnr_errf(&err, EINVAL,
                                 "the archive's parent `%s` had diff_id %s, ours has %s (give --parent to override)",
                                 parent, p->meta.parents[0].diff_id, i.diff_id);
                        cnr_snap_info_clear(&i);
                        goto fail_blob;
                }
                cnr_snap_info_clear(&i);
        }
        json_object_set_new(p->args, "parent", json_string(parent));
        snprintf(p->active, sizeof(p->active), IMPORT_KEY_PREFIX "%llu-%llu", (unsigned long long)cnr_now_us(), ++seq);
        if (cnr_snap_prepare(s->snaps, p->active, parent, NULL, on_import_prepared, p, &err) >= 0)
                return;
        p->active[0] = '\0';
fail_blob:
        import_fail(p, err);
        cnr_err_free(&err);
        return;
fail:
        pending_abort(p, &err, "snapshot import");
}

/* ---- verify ---- */

static void
on_verify_diffed(struct cnr_err *err, const struct cnr_snap_diffed *d, void *arg)
{
        struct pending *p = arg;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__SnapshotVerifyReply r = CNR__API__SNAPSHOT_VERIFY_REPLY__INIT;
        const char *recorded = json_string_value(json_object_get(p->args, "recorded"));

        if (err) {
                pending_fail(p, err);
        } else {
                r.ok = strcmp(recorded, d->diff_id) == 0;
                r.recorded = (char *)recorded;
                r.computed = (char *)d->diff_id;
                json_object_set_new(p->args, "computed", json_string(d->diff_id));
                json_object_set_new(p->args, "ok", json_boolean(r.ok));
                env.msg_case = CNR__API__REPLY__MSG_SNAPSHOT_VERIFY;
                env.snapshot_verify = &r;
                pending_done(p, &env, NULL, 0);
        }
        pending_free(p);
}

void
sup_api_snapshot_verify(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        Cnr__Api__SnapshotVerify *q = ((Cnr__Api__Request *)m)->snapshot_verify;
        struct pending *p = pending_new(c, f->reqid, "snapshot_verify", json_pack("{s:s}", "key", q->key));
        struct cnr_snap_info i;
        struct cnr_err *err = NULL;

        (void)peer;
        if (no_snapshotter(s, &err))
                goto fail;
        if (cnr_snap_stat(s->snaps, q->key, &i, &err) < 0)
                goto fail;
        if (i.kind != CNR_SNAP_COMMITTED || i.diff_id[0] == '\0') {
                cnr_errf(&err, EINVAL, "`%s`: %s", q->key,
                         i.kind != CNR_SNAP_COMMITTED ? "only committed snapshots have a recorded diff_id"
                                                      : "no diff_id was recorded when it was committed");
                cnr_snap_info_clear(&i);
                goto fail;
        }
        json_object_set_new(p->args, "recorded", json_string(i.diff_id));
        cnr_snap_info_clear(&i);
        if (cnr_snap_diff(s->snaps, q->key, -1, false, on_verify_diffed, p, &err) >= 0)
                return;
fail:
        pending_abort(p, &err, "snapshot verify");
}
