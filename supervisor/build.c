/* containr build --check / --print-plan, the supervisor's glue.
 *
 * The CLI opened the build context with the operator's credentials and
 * streams it as a tar into a pipe; the read end arrives here with the
 * request.  The supervisor never reads it: it checks that it is a pipe and
 * hands it to containr-buildd, which parses, checks and plans, and answers
 * with the report in a sealed memfd.  The supervisor checks the seals
 * (the report cannot change under the CLI) and passes the memfd on.
 * Nothing is built: executing steps comes with the executor. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "common/helpers.h"
#include "common/log.h"
#include "common/util.h"
#include "ipc/api.pb-c.h"
#include "ipc/helper.pb-c.h"
#include "supervisor/api.h"
#include "supervisor/build.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define BUILD_MAX_ARGS 256

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
        bc.dockerfile_name = q->dockerfile_name;
        bc.build_args = q->build_args;
        bc.n_build_args = q->n_build_args;
        bc.target = q->target;
        bc.platform = q->platform;
        bc.plan = q->plan;
        bc.json = q->json;
        env.op_case = CNR__HELPER__TO_HELPER__OP_BUILD_CHECK;
        env.build_check = &bc;
        if (sup_helper_request_fds(s, CNR_HELPER_BUILDD, env.op_case, &env.base, &f->fds[0], 1, 0, on_buildd_reply, br,
                                   &err) < 0)
                goto fail;
        return;
fail:
        sup_client_error(c, f->reqid, err->code, cnr_err_str(err));
        sup_client_audit(c, "build_check", f->reqid, json_incref(br->args), err->code, cnr_err_str(err), br->started);
        cnr_err_free(&err);
        build_req_free(br);
}
