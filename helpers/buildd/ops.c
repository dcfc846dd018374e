/* containr-buildd's work: build_check.
 *
 * The request carries two fds: the read end of a pipe on which the CLI
 * streams the build context as a tar, and a sealed memfd in which the
 * supervisor put the facts of the images the build names, from the local
 * image store (frontend/facts.c checks their shape; buildd has no access
 * to the store itself).  buildd indexes it (bounded: entries, bytes,
 * time; context.c), takes the Dockerfile and .dockerignore the CLI put under
 * .containr-build-meta/, parses, checks and plans (helpers/buildd/frontend),
 * and answers with the report in a sealed memfd: reports can be larger than
 * a frame.  A Dockerfile's problems are the report's content, never a failed
 * request; a bad stream is a failed request.  Nothing here touches a host
 * path. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "helpers/buildd/buildd.h"
#include "helpers/buildd/frontend/df.h"

static bool
printable(const char *s, size_t max)
{
        size_t n = 0;

        for (; *s; s++, n++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f || n >= max)
                        return false;
        return true;
}

/* The facts document, whole: at most CNR_DF_FACTS_MAX bytes. */
static int
read_facts(int fd, struct cnr_df_facts **out, struct cnr_err **err)
{
        struct cnr_df_buf b = {0};
        char chunk[16384];
        ssize_t n;
        int rc;

        while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        free(b.s);
                        return cnr_errf(err, errno, "read the image facts");
                }
                if (b.len + (size_t)n > CNR_DF_FACTS_MAX) {
                        free(b.s);
                        return cnr_errf(err, EFBIG, "the image facts exceed %u bytes", CNR_DF_FACTS_MAX);
                }
                cnr_df_buf_add(&b, chunk, (size_t)n);
        }
        rc = cnr_df_facts_parse(b.s ? b.s : "", b.len, out, err);
        free(b.s);
        return rc;
}

static int
report_memfd(const char *text, size_t len, struct cnr_err **err)
{
        _cleanup_close_ int fd = memfd_create("containr-build-report", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0)
                return cnr_errf(err, errno, "memfd_create");
        if (cnr_write_all(fd, text, len) < 0)
                return cnr_errf(err, errno, "write the report");
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return cnr_errf(err, errno, "seal the report");
        if (lseek(fd, 0, SEEK_SET) < 0)
                return cnr_errf(err, errno, "rewind the report");
        return steal_fd(&fd);
}

int
buildd_check(struct cnr_helper_req *r, struct cnr_err **err)
{
        const Cnr__Helper__BuildCheck *m = r->req->build_check;
        _cleanup_close_ int ctxfd = cnr_frame_take_fd(r->frame, 0);
        _cleanup_close_ int factsfd = cnr_frame_take_fd(r->frame, 1);
        struct cnr_df_facts *facts = NULL;
        struct cnr_df_limits lim = {CNR_DF_CONTEXT_MAX_BYTES, CNR_DF_CONTEXT_MAX_ENTRIES};
        struct cnr_df_context *ctx = NULL;
        struct cnr_df_plan *plan = NULL;
        struct cnr_df_opts opts = {0};
        _cleanup_free_ char *text = NULL;
        json_t *names = json_array();
        const char *file = m->dockerfile_name[0] ? m->dockerfile_name : "Dockerfile";
        int rc = -1, rfd;

        /* Audit: the shape of the request, never build-arg values (they
         * may be secrets). */
        json_object_set_new(r->args, "dockerfile", json_string(file));
        json_object_set_new(r->args, "target", json_string(m->target));
        json_object_set_new(r->args, "platform", json_string(m->platform));
        json_object_set_new(r->args, "plan", json_boolean(m->plan));
        json_object_set_new(r->args, "json", json_boolean(m->json));
        for (size_t i = 0; i < m->n_build_args && i < BUILDD_MAX_BUILD_ARGS; i++) {
                const char *eq = strchr(m->build_args[i], '=');
                json_array_append_new(names, json_stringn(m->build_args[i], eq ? (size_t)(eq - m->build_args[i])
                                                                               : strlen(m->build_args[i])));
        }
        json_object_set_new(r->args, "build_arg_names", names);

        if (ctxfd < 0 || factsfd < 0)
                return cnr_errf(err, EBADF, "build_check: no context fd or no facts fd");
        if (!printable(file, BUILDD_NAME_MAX) || !printable(m->target, BUILDD_NAME_MAX) ||
            !printable(m->platform, BUILDD_NAME_MAX)) {
                r->deny = true;
                return cnr_errf(err, EINVAL, "build_check: a name is too long or holds control characters");
        }
        if (m->n_build_args > BUILDD_MAX_BUILD_ARGS) {
                r->deny = true;
                return cnr_errf(err, E2BIG, "build_check: %zu build arguments (at most %d)", m->n_build_args,
                                BUILDD_MAX_BUILD_ARGS);
        }
        for (size_t i = 0; i < m->n_build_args; i++) {
                const char *a = m->build_args[i], *eq = strchr(a, '=');
                if (eq == NULL || eq == a || strlen(a) > BUILDD_BUILD_ARG_MAX) {
                        r->deny = true;
                        return cnr_errf(err, EINVAL, "build_check: build argument %zu is not KEY=VALUE", i + 1);
                }
        }

        if (read_facts(factsfd, &facts, err) < 0) {
                r->deny = true;
                cnr_err_wrap(err, "build_check");
                return -1;
        }
        json_object_set_new(r->args, "images", json_integer((json_int_t)cnr_df_facts_count(facts)));
        if (cnr_df_context_read_fd(ctxfd, &lim, &ctx, err) < 0) {
                cnr_df_facts_free(facts);
                return -1;
        }
        if (ctx->dockerfile == NULL) {
                cnr_errf(err, ENOENT, "the build context stream carries no Dockerfile (%s)", CNR_DF_META_DOCKERFILE);
                goto out;
        }
        opts.file = file;
        opts.target = m->target[0] ? m->target : NULL;
        opts.platform = m->platform[0] ? m->platform : NULL;
        opts.image = cnr_df_facts_lookup;
        opts.image_arg = facts;
        for (size_t i = 0; i < m->n_build_args; i++) {
                const char *a = m->build_args[i], *eq = strchr(a, '=');
                _cleanup_free_ char *k = strndup(a, (size_t)(eq - a));
                if (k == NULL)
                        abort();
                cnr_df_vars_set(&opts.build_args, k, eq + 1);
        }
        if (cnr_df_plan(ctx->dockerfile, ctx->dockerfile_len, ctx, &opts, &plan, err) < 0)
                goto out;
        if (m->json) {
                json_t *j = cnr_df_report_json(plan, m->plan);
                char *s;
                json_object_set_new(
                        j, "context",
                        json_pack("{s:I,s:I}", "entries", (json_int_t)ctx->n, "bytes", (json_int_t)ctx->bytes));
                s = json_dumps(j, JSON_INDENT(2));
                text = xasprintf("%s\n", s ? s : "{}");
                free(s);
                json_decref(j);
        } else {
                text = cnr_df_report_text(plan, m->plan);
        }
        rfd = report_memfd(text, strlen(text), err);
        if (rfd < 0)
                goto out;
        json_object_set_new(r->args, "errors", json_integer((json_int_t)plan->nerrors));
        json_object_set_new(r->args, "warnings", json_integer((json_int_t)plan->nwarnings));
        json_object_set_new(r->args, "context_entries", json_integer((json_int_t)ctx->n));
        r->reply_case = CNR__HELPER__FROM_HELPER__MSG_BUILD_CHECK;
        cnr__helper__build_check_reply__init(&r->reply.build_check);
        r->reply.build_check.errors = (uint32_t)plan->nerrors;
        r->reply.build_check.warnings = (uint32_t)plan->nwarnings;
        r->reply.build_check.failed = plan->nerrors > 0 || (plan->check_error && plan->nwarnings > 0);
        r->reply.build_check.report_size = strlen(text);
        r->reply.build_check.context_entries = ctx->n;
        r->reply.build_check.context_bytes = ctx->bytes;
        r->fds[0] = rfd;
        r->nfds = 1;
        rc = 0;
out:
        cnr_df_vars_free(&opts.build_args);
        cnr_df_plan_free(plan);
        cnr_df_context_free(ctx);
        cnr_df_facts_free(facts);
        return rc;
}
