/* containr build --check / --print-plan, the supervisor's glue.
 *
 * The CLI opened the build context with the operator's credentials and
 * streams it as a tar into a pipe; the read end arrives here with the
 * request.  The supervisor never reads it: it checks that it is a pipe and
 * hands it to containr-buildd, which parses, checks and plans, and answers
 * with the report in a sealed memfd.  The supervisor checks the seals
 * (the report cannot change under the CLI) and passes the memfd on.
 * Nothing is built: executing steps comes with the executor.
 *
 * Base images: buildd cannot read the image store, so the supervisor
 * looks up the images the request names (the CLI's own parse of the
 * Dockerfile lists them: FROM after ARG expansion, COPY --from=<image>,
 * RUN --mount from=<image>, each with its stage's platform) and writes
 * their facts into a second sealed memfd for buildd: manifest and config
 * digests, the image's platform, the config's "config" object and its
 * history, or "missing" for a name the store does not have.  The names
 * are only lookups (what `containr images` would show the same user);
 * buildd plans from the Dockerfile and checks the facts' shape. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/helpers.h"
#include "common/log.h"
#include "common/ref.h"
#include "common/util.h"
#include "ipc/api.pb-c.h"
#include "ipc/helper.pb-c.h"
#include "supervisor/api.h"
#include "supervisor/build.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define BUILD_MAX_ARGS 256
#define BUILD_MAX_IMAGES 64 /* buildd's CNR_DF_FACTS_IMAGES */

struct build_req {
        struct sup *s;
        uint64_t client;
        uint32_t reqid;
        uint64_t started;
        json_t *args;
};

static void
build_req_free(struct build_req *br)
{
        json_decref(br->args);
        free(br);
}

static void
on_buildd_reply(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, struct cnr_err *err, void *arg)
{
        struct build_req *br = arg;
        struct sup_client *c = sup_client_find(br->s, br->client);
        Cnr__Helper__FromHelper *env = (Cnr__Helper__FromHelper *)m;
        _cleanup_free_ char *msg = NULL;
        int code = 0, seals;

        (void)p;
        if (c == NULL)
                goto out; /* the client left; the report fd closes with the frame */
        if (err != NULL) {
                code = err->code;
                msg = xasprintf("build: containr-buildd did not answer: %s", cnr_err_str(err));
        } else if (env->msg_case == CNR__HELPER__FROM_HELPER__MSG_ERROR) {
                code = env->error->errno_code;
                msg = xasprintf("build: %s", env->error->message);
        } else if (env->msg_case != CNR__HELPER__FROM_HELPER__MSG_BUILD_CHECK || f->nfds != 1) {
                code = EPROTO;
                msg = xstrdup("build: containr-buildd answered with something else than a report");
        } else if ((seals = fcntl(f->fds[0], F_GET_SEALS)) < 0 || !(seals & F_SEAL_WRITE) || !(seals & F_SEAL_SHRINK)) {
                /* Re-check what the helper claims: the report must be immutable. */
                code = EPROTO;
                msg = xstrdup("build: containr-buildd's report is not a sealed memfd");
        }
        if (msg) {
                sup_client_error(c, br->reqid, code, msg);
        } else {
                const Cnr__Helper__BuildCheckReply *h = env->build_check;
                Cnr__Api__Reply r = CNR__API__REPLY__INIT;
                Cnr__Api__BuildCheckReply ar = CNR__API__BUILD_CHECK_REPLY__INIT;

                ar.errors = h->errors;
                ar.warnings = h->warnings;
                ar.failed = h->failed;
                ar.report_size = h->report_size;
                ar.context_entries = h->context_entries;
                ar.context_bytes = h->context_bytes;
                r.msg_case = CNR__API__REPLY__MSG_BUILD_CHECK;
                r.build_check = &ar;
                sup_client_reply(c, &r, br->reqid, &f->fds[0], 1);
                json_object_set_new(br->args, "errors", json_integer(h->errors));
                json_object_set_new(br->args, "warnings", json_integer(h->warnings));
                json_object_set_new(br->args, "context_entries", json_integer((json_int_t)h->context_entries));
        }
        sup_client_audit(c, "build_check", br->reqid, json_incref(br->args), code, msg, br->started);
out:
        build_req_free(br);
}

/* One image's facts; 0 with *out NULL when the name is not one (buildd
 * then plans without facts and says so). */
static int
image_facts(struct sup *s, const Cnr__Api__BuildImage *bi, json_t **out, struct cnr_err **err)
{
        struct cnr_ref ref;
        struct cnr_platform want;
        struct cnr_image *img = NULL;
        struct cnr_image_config *cfg = NULL;
        struct cnr_err *e = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        char plat[96];
        json_t *j, *hist;

        *out = NULL;
        if (cnr_ref_parse(bi->ref, &ref, &e) < 0 || cnr_platform_parse(bi->platform, &want, &e) < 0) {
                cnr_err_free(&e);
                return 0;
        }
        j = json_pack("{s:s,s:s}", "ref", ref.str, "platform", bi->platform);
        if (cnr_images_get(s->images, ref.str, &img, &e) < 0) {
                if (e->code != ENOENT) {
                        json_decref(j);
                        *err = e;
                        return cnr_err_wrap(err, "build: look up `%s`", ref.str);
                }
                cnr_err_free(&e);
                json_object_set_new(j, "missing", json_true());
                *out = j;
                return 0;
        }
        if (cnr_content_read(s->content, &img->id, CNR_MANIFEST_MAX, &buf, &len, err) < 0 ||
            cnr_image_config_parse(buf, len, &cfg, err) < 0) {
                cnr_err_wrap(err, "build: the config of `%s` (%s)", ref.str, img->id.str);
                cnr_image_free(img);
                json_decref(j);
                return -1;
        }
        cnr_platform_format(&img->platform, plat, sizeof(plat));
        json_object_set_new(j, "id", json_string(img->id.str));
        json_object_set_new(j, "manifest", json_string(img->manifest.str));
        json_object_set_new(j, "image_platform", json_string(plat));
        json_object_set_new(j, "config", cfg->config ? json_deep_copy(cfg->config) : json_object());
        hist = json_array();
        for (size_t i = 0; i < cfg->nhistory; i++) {
                const struct cnr_history *h = &cfg->history[i];
                json_t *o = json_object();
                if (h->created)
                        json_object_set_new(o, "created", json_string(h->created));
                if (h->created_by)
                        json_object_set_new(o, "created_by", json_string(h->created_by));
                if (h->author)
                        json_object_set_new(o, "author", json_string(h->author));
                if (h->comment)
                        json_object_set_new(o, "comment", json_string(h->comment));
                if (h->empty_layer)
                        json_object_set_new(o, "empty_layer", json_true());
                json_array_append_new(hist, o);
        }
        json_object_set_new(j, "history", hist);
        cnr_image_config_free(cfg);
        cnr_image_free(img);
        *out = j;
        return 0;
}

/* The facts document in a sealed memfd, rewound; names looked up go to
 * the audit record. */
static int
facts_memfd(struct sup *s, const Cnr__Api__BuildCheck *q, json_t *audit, struct cnr_err **err)
{
        json_t *doc = json_object(), *imgs = json_array(), *seen = json_array();
        _cleanup_close_ int fd = -1;
        char *text = NULL;
        int rc = -1;

        json_object_set_new(doc, "images", imgs);
        for (size_t i = 0; i < q->n_images; i++) {
                json_t *j;
                if (image_facts(s, q->images[i], &j, err) < 0)
                        goto out;
                if (j == NULL)
                        continue;
                json_array_append_new(seen, json_pack("{s:O,s:b}", "ref", json_object_get(j, "ref"), "found",
                                                      !json_is_true(json_object_get(j, "missing"))));
                json_array_append_new(imgs, j);
        }
        text = json_dumps(doc, JSON_COMPACT);
        if (text == NULL) {
                cnr_errf(err, ENOMEM, "build: encode the image facts");
                goto out;
        }
        fd = memfd_create("containr-build-facts", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) {
                cnr_errf(err, errno, "build: memfd_create");
                goto out;
        }
        if (cnr_write_all(fd, text, strlen(text)) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
            lseek(fd, 0, SEEK_SET) < 0) {
                cnr_errf(err, errno, "build: write the image facts");
                goto out;
        }
        rc = steal_fd(&fd);
out:
        json_object_set_new(audit, "images", seen);
        free(text);
        json_decref(doc);
        return rc;
}

void
sup_api_build_check(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, void *arg)
{
        struct sup_client *c = arg;
        struct sup *s = sup_client_sup(c);
        const Cnr__Api__BuildCheck *q = ((Cnr__Api__Request *)m)->build_check;
        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
        Cnr__Helper__BuildCheck bc = CNR__HELPER__BUILD_CHECK__INIT;
        struct build_req *br = xcalloc(1, sizeof(*br));
        struct cnr_err *err = NULL;
        json_t *names = json_array();
        struct stat st;
        int fds[2] = {-1, -1};

        (void)p;
        br->s = s;
        br->client = sup_client_id(c);
        br->reqid = f->reqid;
        br->started = cnr_now_us();
        for (size_t i = 0; i < q->n_build_args && i < BUILD_MAX_ARGS; i++) {
                const char *eq = strchr(q->build_args[i], '=');
                json_array_append_new(names, json_stringn(q->build_args[i], eq ? (size_t)(eq - q->build_args[i])
                                                                               : strlen(q->build_args[i])));
        }
        br->args = json_pack("{s:s,s:s,s:b,s:b,s:o}", "dockerfile", q->dockerfile_name, "target", q->target, "plan",
                             q->plan, "json", q->json, "build_arg_names", names);
        if (fstat(f->fds[0], &st) < 0 || !S_ISFIFO(st.st_mode)) {
                cnr_errf(&err, EINVAL, "build: the build context must arrive on a pipe");
                goto fail;
        }
        if (q->n_build_args > BUILD_MAX_ARGS) {
                cnr_errf(&err, E2BIG, "build: %zu build arguments (at most %d)", q->n_build_args, BUILD_MAX_ARGS);
                goto fail;
        }
        if (q->n_images > BUILD_MAX_IMAGES) {
                cnr_errf(&err, E2BIG, "build: %zu images named (at most %d)", q->n_images, BUILD_MAX_IMAGES);
                goto fail;
        }
        fds[0] = f->fds[0];
        fds[1] = facts_memfd(s, q, br->args, &err);
        if (fds[1] < 0)
                goto fail;
        bc.dockerfile_name = q->dockerfile_name;
        bc.build_args = q->build_args;
        bc.n_build_args = q->n_build_args;
        bc.target = q->target;
        bc.platform = q->platform;
        bc.plan = q->plan;
        bc.json = q->json;
        env.op_case = CNR__HELPER__TO_HELPER__OP_BUILD_CHECK;
        env.build_check = &bc;
        if (sup_helper_request_fds(s, CNR_HELPER_BUILDD, env.op_case, &env.base, fds, 2, 0, on_buildd_reply, br, &err) <
            0) {
                close(fds[1]);
                goto fail;
        }
        close(fds[1]); /* sent: buildd holds its copy */
        return;
fail:
        sup_client_error(c, f->reqid, err->code, cnr_err_str(err));
        sup_client_audit(c, "build_check", f->reqid, json_incref(br->args), err->code, cnr_err_str(err), br->started);
        cnr_err_free(&err);
        build_req_free(br);
}
