#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/util.h"

static int audit_fd = -1;
static const char *audit_process = "containr";

void
cnr_audit_init(int fd, const char *process)
{
        audit_fd = fd;
        audit_process = process;
}

int
cnr_audit_fd(void)
{
        return audit_fd;
}

int
cnr_audit_write(const struct cnr_audit *a)
{
        char ts[40];
        json_t *o;
        char *line;
        size_t len;
        int r = 0;

        if (audit_fd < 0)
                return 0;
        cnr_rfc3339(ts, sizeof(ts));
        o = json_object();
        json_object_set_new(o, "time", json_string(ts));
        json_object_set_new(o, "process", json_string(audit_process));
        json_object_set_new(o, "pid", json_integer(getpid()));
        json_object_set_new(o, "reqid", json_integer(a->reqid));
        json_object_set_new(o, "op", json_string(a->op));
        json_object_set_new(o, "args", a->args ? json_incref(a->args) : json_object());
        json_object_set_new(o, "decision", json_string(a->decision ? a->decision : "allow"));
        json_object_set_new(o, "result", json_string(a->err_code || a->error ? "error" : "ok"));
        json_object_set_new(o, "errno", json_integer(a->err_code));
        if (a->error)
                json_object_set_new(o, "error", json_string(a->error));
        if (a->started_us)
                json_object_set_new(o, "duration_us", json_integer((json_int_t)(cnr_now_us() - a->started_us)));
        line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        json_decref(o);
        if (line == NULL)
                return -1;
        len = strlen(line);
        line = xrealloc(line, len + 2);
        line[len++] = '\n';
        line[len] = '\0';
        /* One write: O_APPEND makes it atomic with respect to other writers. */
        if (write(audit_fd, line, len) != (ssize_t)len) {
                log_error("audit log write failed: %s", strerror(errno));
                r = -1;
        }
        free(line);
        return r;
}

int
cnr_audit_event(const char *op, const char *decision, json_t *args, int err_code, const char *error)
{
        struct cnr_audit a = {.op = op, .args = args, .decision = decision, .err_code = err_code, .error = error};
        return cnr_audit_write(&a);
}
