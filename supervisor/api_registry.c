/* API handlers of the registry operations: pull, push, login check.
 *
 * A pull: resolve the reference (manifest or index; an index picks the
 * manifest of the wanted platform), put the manifest(s) in the content
 * store, download config and layers (at most PARALLEL at once, each
 * verified while it streams), and only when every blob is in the store
 * write the image record (images.h) in one transaction.  Until then the
 * blobs are held by a lease so that GC leaves them alone; a failure
 * leaves no image record, and nothing unverified in the store.
 *
 * Credentials come with the request, are copied into the registry
 * session (which zeroes them when it is freed), zeroed in the request
 * right away, and never reach a log line or an audit record.
 *
 * The client may ask for Progress replies; they carry the request's id
 * and come before the final reply (docs/ipc.md). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/ref.h"
#include "common/util.h"
#include "ipc/api.pb-c.h"
#include "supervisor/api.h"
#include "supervisor/api_registry.h"
#include "supervisor/manifest.h"
#include "supervisor/registry.h"

#define PARALLEL 3
#define MAX_INDEX_DEPTH 4
#define PROGRESS_EVERY_MS 200

struct blob {
        struct cnr_digest d;
        int64_t size;
        const char *kind; /* "config", "layer" */
        uint64_t done;
        uint64_t last_sent_ms;
        bool started, finished;
};

struct op {
        struct sup *s;
        uint64_t client;
        uint32_t reqid;
        uint64_t t0;
        bool progress;
        bool push;
        bool finishing;
        const char *opname; /* audit: "pull", "push" */
        struct cnr_ref ref;
        char user[256];
        struct cnr_platform want;
        char platform[128];
        struct cnr_reg_sess *sess;
        struct cnr_lease *lease;
        /* pull */
        int depth;
        bool has_index;
        struct cnr_digest index;
        struct cnr_digest manifest;
        struct cnr_manifest *man;
        /* push */
        struct cnr_image *img;
        char mount_from[CNR_REF_NAME_MAX + 1];
        char *mbuf;
        size_t mlen;
        /* blobs */
        struct blob *blobs;
        size_t nblobs, next, running, nfinished;
        uint64_t bytes;
        unsigned fetched, present, mounted;
};

/* ---- replies ------------------------------------------------------------- */

static struct sup_client *
op_client(struct op *o)
{
        return sup_client_find(o->s, o->client);
}

static void
send_progress(struct op *o, const char *id, const char *what, const char *status, uint64_t cur, uint64_t total)
{
        struct sup_client *c;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__Progress p = CNR__API__PROGRESS__INIT;

        if (!o->progress || (c = op_client(o)) == NULL)
                return;
        p.id = (char *)id;
        p.what = (char *)what;
        p.status = (char *)status;
        p.current = cur;
        p.total = total;
        env.msg_case = CNR__API__REPLY__MSG_PROGRESS;
        env.progress = &p;
        sup_client_reply(c, &env, o->reqid, NULL, 0);
}

static json_t *
op_audit_args(struct op *o)
{
        json_t *a = json_pack("{s:s}", "ref", o->ref.str[0] ? o->ref.str : "");

        if (o->platform[0])
                json_object_set_new(a, "platform", json_string(o->platform));
        /* the user name is who acted at the registry; the password never appears */
        if (o->user[0])
                json_object_set_new(a, "registry_user", json_string(o->user));
        return a;
}

static void
op_free(struct op *o)
{
        o->finishing = true;
        cnr_reg_sess_free(o->sess); /* cancels what is in flight; callbacks see finishing */
        if (o->lease)
                cnr_lease_release(o->lease);
        cnr_manifest_free(o->man);
        if (o->img)
                cnr_image_free(o->img);
        free(o->mbuf);
        free(o->blobs);
        explicit_bzero(o->user, sizeof(o->user));
        free(o);
}

static void
op_fail(struct op *o, struct cnr_err *err)
{
        struct sup_client *c = op_client(o);

        if (o->finishing)
                return;
        cnr_err_wrap(&err, "%s `%s`", o->opname, o->ref.str);
        log_info("%s", cnr_err_str(err));
        if (c) {
                sup_client_error(c, o->reqid, err->code, cnr_err_str(err));
                sup_client_audit(c, o->opname, o->reqid, op_audit_args(o), err->code, cnr_err_str(err), o->t0);
        }
        cnr_err_free(&err);
        op_free(o);
}

/* Errors given to registry callbacks are borrowed: copy to keep. */
static struct cnr_err *
err_dup(const struct cnr_err *e)
{
        struct cnr_err *n = NULL;

        cnr_errf(&n, e->code, "%s", e->msg);
        return n;
}

/* ---- credentials from a request ---------------------------------------- */

static void
take_auth(struct op *o, Cnr__Api__RegistryAuth *a, char **pass)
{
        *pass = NULL;
        if (a == NULL)
                return;
        if (a->username && a->username[0]) {
                snprintf(o->user, sizeof(o->user), "%s", a->username);
                if (a->password)
                        *pass = xstrdup(a->password);
        }
        if (a->password)
                explicit_bzero(a->password, strlen(a->password));
}

static void
put_pass(char **pass)
{
        if (*pass)
                cnr_free_secret(*pass, strlen(*pass));
        *pass = NULL;
}

static struct op *
op_new(struct sup_client *c, uint32_t reqid, const char *opname)
{
        struct op *o = xcalloc(1, sizeof(*o));

        o->s = sup_client_sup(c);
        o->client = sup_client_id(c);
        o->reqid = reqid;
        o->t0 = cnr_now_us();
        o->opname = opname;
        return o;
}

/* ---- blobs, PARALLEL at a time ------------------------------------------ */

static void blobs_pump(struct op *o);
static void pull_store(struct op *o);
static void push_manifest(struct op *o);

static void
add_blob(struct op *o, const struct cnr_digest *d, int64_t size, const char *kind)
{
        for (size_t i = 0; i < o->nblobs; i++)
                if (cnr_digest_equal(&o->blobs[i].d, d))
                        return;
        o->blobs = xrealloc(o->blobs, (o->nblobs + 1) * sizeof(*o->blobs));
        memset(&o->blobs[o->nblobs], 0, sizeof(*o->blobs));
        o->blobs[o->nblobs].d = *d;
        o->blobs[o->nblobs].size = size;
        o->blobs[o->nblobs].kind = kind;
        o->nblobs++;
}

struct blob_ctx {
        struct op *o;
        size_t i;
};

static void
on_blob_progress(uint64_t done, uint64_t total, void *arg)
{
        struct blob_ctx *bc = arg;
        struct op *o = bc->o;
        struct blob *b = &o->blobs[bc->i];
        uint64_t now = cnr_now_ms();

        if (o->finishing)
                return;
        b->done = done;
        if (now - b->last_sent_ms >= PROGRESS_EVERY_MS) {
                b->last_sent_ms = now;
                send_progress(o, b->d.str, b->kind, o->push ? "uploading" : "downloading", done, (uint64_t)b->size);
        }
}

static void
blob_finished(struct blob_ctx *bc, struct cnr_err *err, const char *status)
{
        struct op *o = bc->o;
        struct blob *b = &o->blobs[bc->i];

        free(bc);
        if (o->finishing)
                return;
        o->running--;
        if (err) {
                op_fail(o, err);
                return;
        }
        b->finished = true;
        o->nfinished++;
        send_progress(o, b->d.str, b->kind, status, (uint64_t)b->size, (uint64_t)b->size);
        blobs_pump(o);
}

static void
on_blob_fetched(struct cnr_err *err, void *arg)
{
        struct blob_ctx *bc = arg;
        struct op *o = bc->o;

        if (!o->finishing && err == NULL) {
                o->fetched++;
                o->bytes += (uint64_t)o->blobs[bc->i].size;
        }
        blob_finished(bc, err ? err_dup(err) : NULL, "done");
}

static void
on_blob_pushed(bool mounted, struct cnr_err *err, void *arg)
{
        struct blob_ctx *bc = arg;
        struct op *o = bc->o;

        if (!o->finishing && err == NULL && mounted) {
                o->mounted++;
        } else if (!o->finishing && err == NULL) {
                o->fetched++;
                o->bytes += (uint64_t)o->blobs[bc->i].size;
        }
        blob_finished(bc, err ? err_dup(err) : NULL, mounted ? "mounted" : "pushed");
}

static void
on_blob_exists(bool exists, struct cnr_err *err, void *arg)
{
        struct blob_ctx *bc = arg;
        struct op *o = bc->o;
        struct blob *b;

        if (o->finishing) {
                free(bc);
                return;
        }
        b = &o->blobs[bc->i];
        if (err) {
                blob_finished(bc, err_dup(err), "failed");
                return;
        }
        if (exists) {
                o->present++;
                blob_finished(bc, NULL, "exists");
                return;
        }
        send_progress(o, b->d.str, b->kind, "uploading", 0, (uint64_t)b->size);
        cnr_reg_push_blob(o->sess, &b->d, b->size, o->mount_from[0] ? o->mount_from : NULL, on_blob_progress,
                          on_blob_pushed, bc);
}

static void
blobs_pump(struct op *o)
{
        while (o->running < PARALLEL && o->next < o->nblobs) {
                struct blob_ctx *bc = xcalloc(1, sizeof(*bc));
                struct blob *b = &o->blobs[o->next];
                uint64_t have;
                struct cnr_err *e = NULL;

                bc->o = o;
                bc->i = o->next++;
                b->started = true;
                o->running++;
                if (o->push) {
                        cnr_reg_blob_exists(o->sess, &b->d, on_blob_exists, bc);
                        continue;
                }
                if (o->lease)
                        cnr_lease_add(o->lease, &b->d);
                if (cnr_content_stat(o->s->content, &b->d, &have, &e) == 0 && have == (uint64_t)b->size) {
                        o->present++;
                        b->finished = true;
                        o->nfinished++;
                        o->running--;
                        send_progress(o, b->d.str, b->kind, "exists", have, have);
                        free(bc);
                        continue;
                }
                cnr_err_free(&e);
                send_progress(o, b->d.str, b->kind, "downloading", 0, (uint64_t)b->size);
                cnr_reg_fetch_blob(o->sess, &b->d, b->size, on_blob_progress, on_blob_fetched, bc);
        }
        if (o->running == 0 && o->nfinished == o->nblobs) {
                if (o->push)
                        push_manifest(o);
                else
                        pull_store(o);
        }
}

/* ---- pull ---------------------------------------------------------------- */

static void on_manifest(struct cnr_reg_manifest *m, struct cnr_err *err, void *arg);

static void
pull_store(struct op *o)
{
        struct sup_client *c;
        struct cnr_image *img = NULL;
        struct cnr_err *err = NULL;
        const char *names[1] = {o->ref.str};
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__PullReply pr = CNR__API__PULL_REPLY__INIT;
        char plat[96];

        if (cnr_images_store(o->s->images, &o->manifest, o->has_index ? &o->index : NULL, names, 1, &img, &err) <
            0) {
                op_fail(o, err);
                return;
        }
        cnr_platform_format(&img->platform, plat, sizeof(plat));
        sup_unpack(o->s, img->id.str);
        log_info("pulled %s (%s, %s): %u blobs fetched, %u present, %llu bytes", o->ref.str, img->id.str, plat,
                 o->fetched, o->present, (unsigned long long)o->bytes);
        c = op_client(o);
        if (c) {
                send_progress(o, "", "done", "done", o->bytes, o->bytes);
                pr.ref = o->ref.str;
                pr.id = img->id.str;
                pr.manifest = o->manifest.str;
                pr.platform = plat;
                pr.bytes = o->bytes;
                pr.blobs_fetched = o->fetched;
                pr.blobs_present = o->present;
                env.msg_case = CNR__API__REPLY__MSG_PULL;
                env.pull = &pr;
                sup_client_reply(c, &env, o->reqid, NULL, 0);
                sup_client_audit(c, "pull", o->reqid, op_audit_args(o), 0, NULL, o->t0);
        }
        cnr_image_free(img);
        op_free(o);
}

static void
on_manifest(struct cnr_reg_manifest *m, struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct cnr_manifest *man = NULL;
        struct cnr_digest stored;

        if (o->finishing)
                return;
        if (err) {
                op_fail(o, err_dup(err));
                return;
        }
        if (cnr_manifest_parse(m->body, m->len, m->media_type[0] ? m->media_type : NULL, &man, &err) < 0) {
                cnr_err_wrap(&err, "manifest %s", m->digest.str);
                op_fail(o, steal_ptr(&err));
                return;
        }
        cnr_lease_add(o->lease, &m->digest);
        if (cnr_content_put(o->s->content, m->body, m->len, &m->digest, &stored, &err) < 0) {
                cnr_manifest_free(man);
                op_fail(o, steal_ptr(&err));
                return;
        }
        if (cnr_media_is_index(man->media)) {
                const struct cnr_descriptor *d;
                char ref[CNR_DIGEST_MAX];

                if (++o->depth > MAX_INDEX_DEPTH) {
                        cnr_manifest_free(man);
                        cnr_errf(&err, EBADMSG, "indexes nested deeper than %d", MAX_INDEX_DEPTH);
                        op_fail(o, err);
                        return;
                }
                if (cnr_manifest_select(man, &o->want, &d, &err) < 0) {
                        cnr_manifest_free(man);
                        op_fail(o, steal_ptr(&err));
                        return;
                }
                if (!o->has_index) {
                        o->has_index = true;
                        o->index = m->digest;
                }
                snprintf(ref, sizeof(ref), "%s", d->digest.str);
                send_progress(o, ref, "manifest", "resolved", 0, 0);
                cnr_manifest_free(man);
                cnr_reg_get_manifest(o->sess, ref, on_manifest, o);
                return;
        }
        if (!cnr_media_is_manifest(man->media)) {
                cnr_manifest_free(man);
                cnr_errf(&err, EBADMSG, "manifest %s is neither an image manifest nor an index", m->digest.str);
                op_fail(o, err);
                return;
        }
        o->manifest = m->digest;
        o->man = man;
        add_blob(o, &man->config.digest, man->config.size, "config");
        for (size_t i = 0; i < man->nlayers; i++) {
                if (man->layers[i].nurls > 0 || man->layers[i].media == CNR_MT_DOCKER_LAYER_FOREIGN) {
                        /* never fetched from a URL the manifest names (CVE-2020-15157) */
                        cnr_errf(&err, EPERM, "layer %s is a foreign layer (urls); containr does not follow them",
                                 man->layers[i].digest.str);
                        op_fail(o, err);
                        return;
                }
                add_blob(o, &man->layers[i].digest, man->layers[i].size, "layer");
        }
        blobs_pump(o);
}

void
sup_api_pull(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__Pull *rq = ((Cnr__Api__Request *)m)->pull;
        struct op *o = op_new(c, f->reqid, "pull");
        struct cnr_err *err = NULL;
        char *pass = NULL;

        take_auth(o, rq->auth, &pass);
        o->progress = rq->progress;
        if (cnr_ref_parse(rq->ref, &o->ref, &err) < 0) {
                snprintf(o->ref.str, sizeof(o->ref.str), "%.200s", rq->ref);
                put_pass(&pass);
                op_fail(o, err);
                return;
        }
        if (rq->platform[0]) {
                if (cnr_platform_parse(rq->platform, &o->want, &err) < 0) {
                        put_pass(&pass);
                        op_fail(o, err);
                        return;
                }
        } else {
                cnr_platform_host(&o->want);
        }
        cnr_platform_format(&o->want, o->platform, sizeof(o->platform));
        if (o->s->reg == NULL) {
                put_pass(&pass);
                cnr_errf(&err, ENOTSUP, "the registry client is not available");
                op_fail(o, err);
                return;
        }
        o->sess = cnr_reg_sess_new(o->s->reg, o->ref.domain, o->ref.path, o->user[0] ? o->user : NULL, pass,
                                   false);
        put_pass(&pass);
        cnr_reg_sess_use_mirrors(o->sess, true);
        o->lease = cnr_images_lease(o->s->images, o->ref.str);
        send_progress(o, "", "resolve", o->ref.str, 0, 0);
        cnr_reg_get_manifest(o->sess, o->ref.has_digest ? o->ref.digest.str : o->ref.tag, on_manifest, o);
}

/* ---- push ---------------------------------------------------------------- */

static void
on_manifest_put(struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct sup_client *c;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__PushReply pr = CNR__API__PUSH_REPLY__INIT;

        if (o->finishing)
                return;
        if (err) {
                op_fail(o, err_dup(err));
                return;
        }
        log_info("pushed %s (%s): %u blobs uploaded, %u present", o->ref.str, o->img->manifest.str, o->fetched,
                 o->present);
        c = op_client(o);
        if (c) {
                send_progress(o, "", "done", "done", o->bytes, o->bytes);
                pr.ref = o->ref.str;
                pr.manifest = o->img->manifest.str;
                pr.bytes = o->bytes;
                pr.blobs_pushed = o->fetched;
                pr.blobs_present = o->present;
                pr.blobs_mounted = o->mounted;
                env.msg_case = CNR__API__REPLY__MSG_PUSH;
                env.push = &pr;
                sup_client_reply(c, &env, o->reqid, NULL, 0);
                sup_client_audit(c, "push", o->reqid, op_audit_args(o), 0, NULL, o->t0);
        }
        op_free(o);
}

static void
push_manifest(struct op *o)
{
        struct cnr_err *err = NULL;

        if (cnr_content_read(o->s->content, &o->img->manifest, CNR_MANIFEST_MAX, &o->mbuf, &o->mlen, &err) < 0) {
                op_fail(o, err);
                return;
        }
        send_progress(o, o->img->manifest.str, "manifest", "uploading", 0, o->mlen);
        cnr_reg_put_manifest(o->sess, o->ref.tag[0] ? o->ref.tag : o->img->manifest.str, o->mbuf, o->mlen,
                             o->img->manifest_media_type, on_manifest_put, o);
}

void
sup_api_push(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__Push *rq = ((Cnr__Api__Request *)m)->push;
        struct op *o = op_new(c, f->reqid, "push");
        struct cnr_err *err = NULL;
        char *pass = NULL;

        o->push = true;
        take_auth(o, rq->auth, &pass);
        o->progress = rq->progress;
        if (cnr_ref_parse(rq->ref, &o->ref, &err) < 0) {
                snprintf(o->ref.str, sizeof(o->ref.str), "%.200s", rq->ref);
                put_pass(&pass);
                op_fail(o, err);
                return;
        }
        if (cnr_images_get(o->s->images, o->ref.str, &o->img, &err) < 0) {
                put_pass(&pass);
                op_fail(o, err);
                return;
        }
        if (o->ref.has_digest && !cnr_digest_equal(&o->ref.digest, &o->img->manifest)) {
                put_pass(&pass);
                cnr_errf(&err, EINVAL, "the image's manifest is %s, not the digest named", o->img->manifest.str);
                op_fail(o, err);
                return;
        }
        if (o->s->reg == NULL) {
                put_pass(&pass);
                cnr_errf(&err, ENOTSUP, "the registry client is not available");
                op_fail(o, err);
                return;
        }
        /* Another name of this image on the same registry: mount from it. */
        for (size_t i = 0; i < o->img->nnames; i++) {
                struct cnr_ref other;
                struct cnr_err *e2 = NULL;

                if (cnr_ref_parse(o->img->names[i], &other, &e2) < 0) {
                        cnr_err_free(&e2);
                        continue;
                }
                if (strcmp(other.domain, o->ref.domain) == 0 && strcmp(other.path, o->ref.path) != 0) {
                        snprintf(o->mount_from, sizeof(o->mount_from), "%s", other.path);
                        break;
                }
        }
        o->sess = cnr_reg_sess_new(o->s->reg, o->ref.domain, o->ref.path, o->user[0] ? o->user : NULL, pass, true);
        put_pass(&pass);
        {
                int64_t csize = o->img->config_size;
                add_blob(o, &o->img->id, csize, "config");
        }
        for (size_t i = 0; i < o->img->nlayers; i++)
                add_blob(o, &o->img->layers[i].digest, o->img->layers[i].size, "layer");
        blobs_pump(o);
}

/* ---- login check --------------------------------------------------------- */

static void
on_login_checked(struct cnr_err *err, void *arg)
{
        struct op *o = arg;
        struct sup_client *c;
        Cnr__Api__Reply env = CNR__API__REPLY__INIT;
        Cnr__Api__RegistryLoginReply lr = CNR__API__REGISTRY_LOGIN_REPLY__INIT;

        if (o->finishing)
                return;
        if (err) {
                op_fail(o, err_dup(err));
                return;
        }
        c = op_client(o);
        if (c) {
                lr.registry = o->ref.domain;
                env.msg_case = CNR__API__REPLY__MSG_REGISTRY_LOGIN;
                env.registry_login = &lr;
                sup_client_reply(c, &env, o->reqid, NULL, 0);
                sup_client_audit(c, "login", o->reqid, op_audit_args(o), 0, NULL, o->t0);
        }
        op_free(o);
}

void
sup_api_registry_login(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        Cnr__Api__RegistryLogin *rq = ((Cnr__Api__Request *)m)->registry_login;
        struct op *o = op_new(c, f->reqid, "login");
        struct cnr_ref probe;
        struct cnr_err *err = NULL;
        _cleanup_free_ char *fake = NULL;
        char *pass = NULL;

        take_auth(o, rq->auth, &pass);
        /* Validate the registry name the way references do. */
        fake = xasprintf("%s/x", rq->registry);
        if (strchr(rq->registry, '/') != NULL || cnr_ref_parse(fake, &probe, &err) < 0 ||
            strcmp(probe.domain, rq->registry) != 0) {
                cnr_err_free(&err);
                snprintf(o->ref.str, sizeof(o->ref.str), "%.200s", rq->registry);
                put_pass(&pass);
                cnr_errf(&err, EINVAL, "`%.200s` is not a registry host (host[:port])", rq->registry);
                op_fail(o, err);
                return;
        }
        snprintf(o->ref.domain, sizeof(o->ref.domain), "%s", probe.domain);
        snprintf(o->ref.str, sizeof(o->ref.str), "%s", probe.domain);
        if (o->user[0] == '\0' || pass == NULL) {
                put_pass(&pass);
                cnr_errf(&err, EINVAL, "a user name and a password are needed");
                op_fail(o, err);
                return;
        }
        if (o->s->reg == NULL) {
                put_pass(&pass);
                cnr_errf(&err, ENOTSUP, "the registry client is not available");
                op_fail(o, err);
                return;
        }
        o->sess = cnr_reg_sess_new(o->s->reg, probe.domain, "", o->user, pass, false);
        put_pass(&pass);
        cnr_reg_check_auth(o->sess, on_login_checked, o);
}
